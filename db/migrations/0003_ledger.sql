-- Categories and versioned rates, the points ledger, drop-offs, daily
-- caps, idempotency records and adjustments (design.md, "Consistency").

CREATE TABLE IF NOT EXISTS categories (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code        VARCHAR(32)  NOT NULL,
  name        VARCHAR(100) NOT NULL,
  name_zh     VARCHAR(100) NOT NULL,
  unit        ENUM('g','item') NOT NULL,
  -- most points one household earns in this category per local day
  daily_cap   BIGINT NULL,
  created_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uk_categories_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Points per kg (unit g) or per item.  region_key 0 is the default;
-- otherwise a region whose subtree the version applies to.
CREATE TABLE IF NOT EXISTS rates (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  category_id      INT UNSIGNED NOT NULL,
  region_key       BIGINT UNSIGNED NOT NULL DEFAULT 0,
  points_per_unit  BIGINT NOT NULL,
  effective_from   BIGINT NOT NULL,              -- epoch seconds
  created_by       VARCHAR(40) NOT NULL DEFAULT '',
  created_at       DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_rates_lookup (region_key, category_id, effective_from),
  CONSTRAINT fk_rates_category FOREIGN KEY (category_id) REFERENCES categories (id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS ledger (
  household_id   BIGINT UNSIGNED NOT NULL,
  seq            BIGINT UNSIGNED NOT NULL,
  delta          BIGINT NOT NULL,
  balance_after  BIGINT NOT NULL,
  kind           ENUM('dropoff','redemption','reversal','void','adjustment','expiry') NOT NULL,
  ref_id         BIGINT UNSIGNED NOT NULL,
  actor          VARCHAR(40) NOT NULL,
  memo           VARCHAR(200) NULL,
  created_at     DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (household_id, seq),
  KEY ix_ledger_ref (kind, ref_id),
  CONSTRAINT fk_ledger_household FOREIGN KEY (household_id) REFERENCES households (id),
  CONSTRAINT ck_ledger_balance CHECK (balance_after >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

DROP TRIGGER IF EXISTS ledger_no_update;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ledger rows are never updated';
DROP TRIGGER IF EXISTS ledger_no_delete;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ledger rows are never deleted';

CREATE TABLE IF NOT EXISTS dropoffs (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  site_id        BIGINT UNSIGNED NOT NULL,
  household_id   BIGINT UNSIGNED NOT NULL,
  attendant_id   BIGINT UNSIGNED NOT NULL,
  idem_key       VARCHAR(64) NOT NULL,
  points         BIGINT NOT NULL,
  grams          BIGINT NOT NULL,
  items          BIGINT NOT NULL,
  capped         TINYINT(1) NOT NULL DEFAULT 0,
  recorded_at    BIGINT NOT NULL,               -- epoch seconds
  local_day      DATE NOT NULL,
  note           VARCHAR(200) NULL,
  status         ENUM('ok','reversed') NOT NULL DEFAULT 'ok',
  reversed_at    DATETIME(6) NULL,
  reversed_by    VARCHAR(40) NULL,
  reverse_reason VARCHAR(200) NULL,
  clawed_back    BIGINT NULL,
  shortfall      BIGINT NULL,
  created_at     DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_dropoffs_household (household_id, id),
  KEY ix_dropoffs_site_day (site_id, local_day),
  KEY ix_dropoffs_day (local_day),
  CONSTRAINT fk_dropoffs_site FOREIGN KEY (site_id) REFERENCES sites (id),
  CONSTRAINT fk_dropoffs_household FOREIGN KEY (household_id) REFERENCES households (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS dropoff_lines (
  dropoff_id       BIGINT UNSIGNED NOT NULL,
  line_no          SMALLINT UNSIGNED NOT NULL,
  category_id      INT UNSIGNED NOT NULL,
  grams            BIGINT NULL,
  count            BIGINT NULL,
  rate_id          BIGINT UNSIGNED NOT NULL,
  points_per_unit  BIGINT NOT NULL,
  points           BIGINT NOT NULL,
  capped           TINYINT(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (dropoff_id, line_no),
  KEY ix_lines_category (category_id),
  CONSTRAINT fk_lines_dropoff FOREIGN KEY (dropoff_id) REFERENCES dropoffs (id)
) ENGINE=InnoDB;

-- Points earned per household, category and local day, read under the
-- household's lock to apply daily caps.
CREATE TABLE IF NOT EXISTS daily_totals (
  household_id  BIGINT UNSIGNED NOT NULL,
  category_id   INT UNSIGNED NOT NULL,
  local_day     DATE NOT NULL,
  points        BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (household_id, local_day, category_id)
) ENGINE=InnoDB;

-- Outcomes decided inside a money transaction, replayed for the same key.
-- scope: 'site:<id>' (drop-offs, shipments), 'shop:<id>' (redemptions),
-- 'staff:<id>' (adjustments, imports).
CREATE TABLE IF NOT EXISTS idempotency (
  scope        VARCHAR(32) NOT NULL,
  idem_key     VARCHAR(64) NOT NULL,
  fingerprint  BINARY(32)  NOT NULL,
  status       SMALLINT    NOT NULL,
  response     MEDIUMTEXT  NOT NULL,
  created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (scope, idem_key),
  KEY ix_idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS adjustments (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  household_id  BIGINT UNSIGNED NOT NULL,
  staff_id      BIGINT UNSIGNED NOT NULL,
  points        BIGINT NOT NULL,
  reason        VARCHAR(200) NOT NULL,
  created_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_adjustments_household (household_id),
  CONSTRAINT fk_adjustments_household FOREIGN KEY (household_id) REFERENCES households (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The default catalogue, with default rates in force from the start.
INSERT IGNORE INTO categories (code, name, name_zh, unit, daily_cap) VALUES
  ('paper', 'Paper and cardboard', '废纸及纸板', 'g', 2000),
  ('pet_bottle', 'PET bottles', 'PET饮料瓶', 'item', 500),
  ('plastic', 'Other plastics', '其他塑料', 'g', 1000),
  ('metal', 'Metal', '金属', 'g', 2000),
  ('glass', 'Glass', '玻璃', 'g', 500),
  ('textile', 'Textiles', '废旧纺织物', 'g', 1000),
  ('ewaste', 'Small e-waste', '小型电子废弃物', 'item', 1000),
  ('battery', 'Batteries', '废电池', 'item', 500),
  ('ag_film', 'Agricultural film', '废旧农膜', 'g', 2000),
  ('pesticide_container', 'Pesticide containers', '农药包装废弃物', 'item', 1000),
  ('express_packaging', 'Express packaging', '快递包装', 'g', 500);

INSERT INTO rates (category_id, region_key, points_per_unit, effective_from, created_by)
  SELECT c.id, 0, v.ppu, 0, 'migration'
  FROM categories c JOIN (
    SELECT 'paper' AS code, 40 AS ppu UNION ALL SELECT 'pet_bottle', 2
    UNION ALL SELECT 'plastic', 30 UNION ALL SELECT 'metal', 60
    UNION ALL SELECT 'glass', 10 UNION ALL SELECT 'textile', 20
    UNION ALL SELECT 'ewaste', 50 UNION ALL SELECT 'battery', 5
    UNION ALL SELECT 'ag_film', 30 UNION ALL SELECT 'pesticide_container', 10
    UNION ALL SELECT 'express_packaging', 20
  ) v ON v.code = c.code
  WHERE NOT EXISTS (SELECT 1 FROM rates r WHERE r.category_id = c.id AND r.region_key = 0);
