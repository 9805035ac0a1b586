-- 0012: household sorting inspections (入户检查), the scoring rules that
-- turn a month's accuracy into points, and the monthly settlement
-- (api.md, "Household sorting inspections and the honour roll").

ALTER TABLE staff MODIFY role
  ENUM('admin','region_admin','attendant','clerk','inspector') NOT NULL;

-- inspection: points an inspection or a month's settlement paid;
-- inspection_void: what a voided inspection's claw-back took back.
ALTER TABLE ledger MODIFY kind
  ENUM('dropoff','redemption','reversal','void','adjustment','expiry','recovery',
       'inspection','inspection_void') NOT NULL;

-- One visit of an inspector to a household.  region_id is the household's
-- region when it was inspected, so the reports find a region's
-- inspections from the region.  A household has at most one live
-- inspection a local day (live_day is NULL once voided).  Rows are
-- changed only by a void.
CREATE TABLE IF NOT EXISTS inspections (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  household_id  BIGINT UNSIGNED NOT NULL,
  region_id     BIGINT UNSIGNED NOT NULL,
  inspector_id  BIGINT UNSIGNED NOT NULL,
  result        ENUM('pass','partial','fail') NOT NULL,
  streams       VARCHAR(400) NULL,
  note          VARCHAR(800) NULL,
  inspected_at  BIGINT NOT NULL,
  local_day     DATE NOT NULL,
  points        BIGINT NOT NULL DEFAULT 0,
  has_photo     TINYINT(1) NOT NULL DEFAULT 0,
  status        ENUM('recorded','voided') NOT NULL DEFAULT 'recorded',
  live_day      DATE AS (IF(status = 'recorded', local_day, NULL)) PERSISTENT,
  voided_at     DATETIME(6) NULL,
  voided_by     VARCHAR(32) NULL,
  void_reason   VARCHAR(800) NULL,
  clawed_back   BIGINT NULL,
  shortfall     BIGINT NULL,
  created_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uk_inspection_live_day (household_id, live_day),
  KEY ix_inspection_household (household_id, local_day),
  KEY ix_inspection_region_day (region_id, local_day),
  KEY ix_inspection_inspector (inspector_id, id),
  CONSTRAINT fk_inspection_household FOREIGN KEY (household_id) REFERENCES households (id),
  CONSTRAINT fk_inspection_inspector FOREIGN KEY (inspector_id) REFERENCES staff (id)
) ENGINE=InnoDB;

-- The photo of an inspection, a JPEG of at most 512 KiB, kept in the
-- ledger's own store so it survives restarts and every backup holds it.
CREATE TABLE IF NOT EXISTS inspection_photos (
  inspection_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  jpeg          MEDIUMBLOB NOT NULL,
  CONSTRAINT fk_photo_inspection FOREIGN KEY (inspection_id) REFERENCES inspections (id)
) ENGINE=InnoDB;

-- A region's scoring rule, versioned: the version of a month is the one
-- with the latest effective_month not after it (the latest id among
-- equals).  Rates are in basis points (0.8 = 8000) so that the edges
-- compare exactly.  Versions are never changed.
CREATE TABLE IF NOT EXISTS scoring_rules (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  region_id        BIGINT UNSIGNED NOT NULL,
  effective_month  CHAR(7) NOT NULL,
  per_pass         BIGINT NOT NULL,
  per_partial      BIGINT NOT NULL,
  min_inspections  INT NOT NULL,
  black_below_bp   INT NOT NULL,
  created_by       BIGINT UNSIGNED NULL,
  created_at       DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_scoring_region (region_id, effective_month, id),
  CONSTRAINT fk_scoring_region FOREIGN KEY (region_id) REFERENCES regions (id),
  CONSTRAINT ck_scoring_points CHECK (per_pass >= 0 AND per_partial >= 0 AND min_inspections >= 0),
  CONSTRAINT ck_scoring_black CHECK (black_below_bp BETWEEN 0 AND 10000)
) ENGINE=InnoDB;

-- A rule's monthly thresholds: an accuracy of min_rate_bp or more earns
-- points for the month (the highest threshold reached).
CREATE TABLE IF NOT EXISTS scoring_thresholds (
  rule_id      BIGINT UNSIGNED NOT NULL,
  min_rate_bp  INT NOT NULL,
  points       BIGINT NOT NULL,
  PRIMARY KEY (rule_id, min_rate_bp),
  CONSTRAINT fk_threshold_rule FOREIGN KEY (rule_id) REFERENCES scoring_rules (id),
  CONSTRAINT ck_threshold CHECK (min_rate_bp BETWEEN 0 AND 10000 AND points >= 0)
) ENGINE=InnoDB;

-- A household's settled month: written once, in the transaction of its
-- ledger row (kind 'inspection', ref_id = id, memo 'settlement YYYY-MM';
-- none when the month earned 0 points), so a settlement run again, or
-- from two instances at once, credits nobody twice.
CREATE TABLE IF NOT EXISTS inspection_settlements (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  household_id  BIGINT UNSIGNED NOT NULL,
  month         CHAR(7) NOT NULL,
  region_id     BIGINT UNSIGNED NOT NULL,
  inspections   INT NOT NULL,
  accuracy_bp   INT NOT NULL,
  points        BIGINT NOT NULL,
  rule_id       BIGINT UNSIGNED NULL,
  created_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (household_id, month),
  UNIQUE KEY uk_settlement_id (id),
  KEY ix_settlement_region_month (region_id, month),
  CONSTRAINT fk_settlement_household FOREIGN KEY (household_id) REFERENCES households (id)
) ENGINE=InnoDB;
