-- Staff who sign in with a password, and the token revocations that
-- must survive a Redis restart (design.md, "Security model").

CREATE TABLE IF NOT EXISTS staff (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  username       VARCHAR(64)  NOT NULL,
  password_hash  VARCHAR(255) NOT NULL,
  role           ENUM('admin','region_admin','attendant','clerk') NOT NULL,
  region_id      BIGINT UNSIGNED NULL,
  site_id        BIGINT UNSIGNED NULL,
  shop_id        BIGINT UNSIGNED NULL,
  display_name   VARCHAR(100) NOT NULL DEFAULT '',
  status         ENUM('active','disabled') NOT NULL DEFAULT 'active',
  -- bumped whenever every live token of this member must die
  token_version  INT UNSIGNED NOT NULL DEFAULT 1,
  created_at     DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at     DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  UNIQUE KEY uk_staff_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per logged-out token; rows past expires_at may be purged.
CREATE TABLE IF NOT EXISTS revoked_tokens (
  jti         CHAR(32)    NOT NULL PRIMARY KEY,
  subject     VARCHAR(40) NOT NULL,
  expires_at  BIGINT      NOT NULL,
  revoked_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_revoked_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii;
