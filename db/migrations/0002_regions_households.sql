-- The administrative tree, sites and shops (so staff bindings are real),
-- households with their card generation and PIN lock, and the append-only
-- audit log.

CREATE TABLE IF NOT EXISTS regions (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  parent_id   BIGINT UNSIGNED NULL,
  name        VARCHAR(100) NOT NULL,
  level       ENUM('province','city','county','town','village','community') NOT NULL,
  code        VARCHAR(12)  NOT NULL,
  -- materialised path of ids, '/1/4/9/': a subtree is a prefix match
  path        VARCHAR(255) NOT NULL DEFAULT '',
  created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uk_regions_code (code),
  KEY ix_regions_parent (parent_id),
  KEY ix_regions_path (path),
  CONSTRAINT fk_regions_parent FOREIGN KEY (parent_id) REFERENCES regions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS sites (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  region_id   BIGINT UNSIGNED NOT NULL,
  name        VARCHAR(100) NOT NULL,
  tier        ENUM('dropoff','transfer','sorting') NOT NULL,
  network     ENUM('sanitation','recycling','integrated') NOT NULL,
  address     VARCHAR(200) NOT NULL,
  lat_e6      INT NULL,
  lng_e6      INT NULL,
  created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_sites_region (region_id),
  CONSTRAINT fk_sites_region FOREIGN KEY (region_id) REFERENCES regions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS shops (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  region_id   BIGINT UNSIGNED NOT NULL,
  name        VARCHAR(100) NOT NULL,
  address     VARCHAR(200) NOT NULL,
  created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_shops_region (region_id),
  CONSTRAINT fk_shops_region FOREIGN KEY (region_id) REFERENCES regions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE staff
  ADD CONSTRAINT fk_staff_region FOREIGN KEY IF NOT EXISTS (region_id) REFERENCES regions (id),
  ADD CONSTRAINT fk_staff_site FOREIGN KEY IF NOT EXISTS (site_id) REFERENCES sites (id),
  ADD CONSTRAINT fk_staff_shop FOREIGN KEY IF NOT EXISTS (shop_id) REFERENCES shops (id);

CREATE TABLE IF NOT EXISTS households (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  region_id         BIGINT UNSIGNED NOT NULL,
  head_name         VARCHAR(100) NOT NULL,
  address           VARCHAR(200) NOT NULL,
  phone             VARCHAR(32)  NULL,
  members           INT UNSIGNED NOT NULL DEFAULT 1,
  status            ENUM('active','suspended','closed') NOT NULL DEFAULT 'active',
  -- the ledger's head: balance and seq change only with a ledger row
  balance           BIGINT NOT NULL DEFAULT 0,
  seq               BIGINT UNSIGNED NOT NULL DEFAULT 0,
  -- card generation: reissue bumps it and the old card stops working
  card_gen          INT UNSIGNED NOT NULL DEFAULT 1,
  -- bumped to end every resident session (card reissue, PIN reset, close)
  token_version     INT UNSIGNED NOT NULL DEFAULT 1,
  -- HMAC-SHA256 of the PIN under the server's PIN key; NULL = no PIN
  pin_hash          BINARY(32) NULL,
  pin_failures      INT UNSIGNED NOT NULL DEFAULT 0,
  pin_locked_until  BIGINT NOT NULL DEFAULT 0,
  pin_lock_count    INT UNSIGNED NOT NULL DEFAULT 0,
  created_at        DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at        DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  KEY ix_households_region (region_id),
  KEY ix_households_name (head_name),
  CONSTRAINT fk_households_region FOREIGN KEY (region_id) REFERENCES regions (id),
  CONSTRAINT ck_households_balance CHECK (balance >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS audit_log (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at           DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  actor        VARCHAR(40) NOT NULL,           -- 's:12', 'h:7', 'cli'
  role         VARCHAR(16) NOT NULL,
  action       VARCHAR(64) NOT NULL,           -- 'staff.create', 'household.card_reissue'
  object_kind  VARCHAR(32) NOT NULL,
  object_id    BIGINT UNSIGNED NULL,
  remote       VARCHAR(64) NOT NULL DEFAULT '',
  request_id   VARCHAR(64) NOT NULL DEFAULT '',
  detail       TEXT NULL,                      -- JSON, never secrets
  KEY ix_audit_object (object_kind, object_id),
  KEY ix_audit_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

DROP TRIGGER IF EXISTS audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only';
DROP TRIGGER IF EXISTS audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only';
