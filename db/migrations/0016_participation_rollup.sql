-- 0016: participation per region and month, for the months that have
-- ended (the participation report, api.md "Reports"), closed by the
-- closer (db/closing.h) a little after each month's end, from the
-- households, stat_household_month and the inspections.  A row per region
-- on the household's path and region 0 (the tree), like 0013.
--
-- Unlike a ledger row, a month's participation can still change once the
-- month is over: an offline drop-off or inspection may be recorded up to
-- 30 days back, and a reversal or a void takes its drop-off or inspection
-- out of its own month however old.  Every such movement marks its
-- village and month in participation_late, in its own transaction; the
-- closer works each marked village-month out again and adds the
-- difference to the rows of the village's path.

-- scope: 'subtree' rows count the region's whole subtree (a row for
-- every region on the path), 'own' rows only the households of the region
-- itself (one row, at the household's region: what a late movement's
-- village-month is worked out against).
CREATE TABLE IF NOT EXISTS stat_participation_month (
  region_id      BIGINT UNSIGNED NOT NULL,
  month          DATE NOT NULL,
  scope          ENUM('subtree','own') NOT NULL,
  households     BIGINT NOT NULL,     -- accounts not closed at the month's end
  by_dropoff     BIGINT NOT NULL,     -- with a credited drop-off in the month
  by_inspection  BIGINT NOT NULL,     -- with an inspection (not voided) in the month
  by_both        BIGINT NOT NULL,     -- with both
  PRIMARY KEY (region_id, month, scope)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS participation_late (
  region_id  BIGINT UNSIGNED NOT NULL,   -- the household's region
  month      DATE NOT NULL,
  marks      BIGINT NOT NULL,
  PRIMARY KEY (region_id, month)
) ENGINE=InnoDB;

INSERT IGNORE INTO rollup_closed (name, through_day) VALUES ('participation', NULL);

-- The months not closed yet count the households open at their end from
-- the households themselves: an index that holds what they need, read
-- without the rows.  A drop-off changes a household's balance, never
-- these columns, so it does not touch this index.
ALTER TABLE households ADD INDEX IF NOT EXISTS ix_households_region_open
  (region_id, created_at, closed_at);
