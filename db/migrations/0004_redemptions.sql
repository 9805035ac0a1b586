-- Partner shops' catalogues, redemptions and the record of spent pay
-- codes (design.md: a pay code's use is a UNIQUE row written in the
-- redemption's own transaction).

CREATE TABLE IF NOT EXISTS shop_items (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  shop_id     BIGINT UNSIGNED NOT NULL,
  name        VARCHAR(100) NOT NULL,
  points      BIGINT NOT NULL,
  stock       BIGINT NULL,                    -- NULL = unlimited
  active      TINYINT(1) NOT NULL DEFAULT 1,
  created_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  KEY ix_items_shop (shop_id),
  CONSTRAINT fk_items_shop FOREIGN KEY (shop_id) REFERENCES shops (id),
  CONSTRAINT ck_items_stock CHECK (stock IS NULL OR stock >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS redemptions (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  shop_id       BIGINT UNSIGNED NOT NULL,
  household_id  BIGINT UNSIGNED NOT NULL,
  clerk_id      BIGINT UNSIGNED NOT NULL,
  idem_key      VARCHAR(64) NOT NULL,
  points        BIGINT NOT NULL,
  memo          VARCHAR(200) NULL,
  consent       ENUM('pin','pay_code') NOT NULL,
  status        ENUM('ok','voided') NOT NULL DEFAULT 'ok',
  voided_at     DATETIME(6) NULL,
  voided_by     VARCHAR(40) NULL,
  void_reason   VARCHAR(200) NULL,
  created_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_redemptions_shop (shop_id, created_at),
  KEY ix_redemptions_household (household_id),
  CONSTRAINT fk_redemptions_shop FOREIGN KEY (shop_id) REFERENCES shops (id),
  CONSTRAINT fk_redemptions_household FOREIGN KEY (household_id) REFERENCES households (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS redemption_lines (
  redemption_id  BIGINT UNSIGNED NOT NULL,
  line_no        SMALLINT UNSIGNED NOT NULL,
  item_id        BIGINT UNSIGNED NOT NULL,
  name           VARCHAR(100) NOT NULL,
  qty            INT NOT NULL,
  points_each    BIGINT NOT NULL,
  points         BIGINT NOT NULL,
  PRIMARY KEY (redemption_id, line_no),
  CONSTRAINT fk_rlines_redemption FOREIGN KEY (redemption_id) REFERENCES redemptions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per spent pay code.  The nonce is drawn when the code is made,
-- so the same 12 digits drawn again months later are a new code.
CREATE TABLE IF NOT EXISTS pay_code_uses (
  code           CHAR(12) NOT NULL,
  nonce          CHAR(16) NOT NULL,
  household_id   BIGINT UNSIGNED NOT NULL,
  redemption_id  BIGINT UNSIGNED NOT NULL,
  used_at        DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (code, nonce)
) ENGINE=InnoDB;
