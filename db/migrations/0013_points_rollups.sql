-- 0013: the points that moved, per region, local day and kind of ledger
-- row, for the days that have ended (the points report, api.md
-- "Reports").  Unlike the rollups of 0008 these are not written by the
-- movements: a ledger row never changes and is filed under the day it was
-- written, so a day's sums are final once the day is over, and the closer
-- (db/closing.h) writes them once, a little after the day's end, from the
-- ledger.  A row per region on the household's path (its village, town,
-- county, city, province) and region 0 for the whole tree, so a report
-- reads its children's rows and not its villages'.  kind has the values
-- of ledger.kind, in its order.

CREATE TABLE IF NOT EXISTS stat_points_day (
  region_id   BIGINT UNSIGNED NOT NULL,
  local_day   DATE NOT NULL,
  kind        ENUM('dropoff','redemption','reversal','void','adjustment','expiry','recovery',
                   'inspection','inspection_void') NOT NULL,
  delta       BIGINT NOT NULL,
  moves       BIGINT NOT NULL,
  PRIMARY KEY (region_id, local_day, kind)
) ENGINE=InnoDB;

-- The same per month, the sum of its closed days.
CREATE TABLE IF NOT EXISTS stat_points_month (
  region_id   BIGINT UNSIGNED NOT NULL,
  month       DATE NOT NULL,
  kind        ENUM('dropoff','redemption','reversal','void','adjustment','expiry','recovery',
                   'inspection','inspection_void') NOT NULL,
  delta       BIGINT NOT NULL,
  moves       BIGINT NOT NULL,
  PRIMARY KEY (region_id, month, kind)
) ENGINE=InnoDB;

-- How far each closed rollup has got: its last closed local day (NULL:
-- none yet).  The closer locks its row, so two instances never close a
-- day twice.
CREATE TABLE IF NOT EXISTS rollup_closed (
  name         VARCHAR(32) NOT NULL PRIMARY KEY,
  through_day  DATE NULL
) ENGINE=InnoDB;
INSERT IGNORE INTO rollup_closed (name, through_day) VALUES ('points', NULL);
