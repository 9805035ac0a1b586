-- 0017: what was collected, per wide region and ended day or month, and
-- who brought it: the collection report (api.md "Reports") of a county or
-- more reads its closed days here, so that a province's year is a few
-- hundred rows and not the rows of every site.
--
-- Distinct households cannot be summed: a household that came on two
-- days is one household of the two days together.  So a row keeps, beside
-- its sums, the households themselves, as a Roaring bitmap of their ids
-- (members, in the portable format of CRoaring), and a report unites the
-- rows of its window.  Written by the closer (db/collection_sets.h) for
-- each day once it has ended and, when a month's last day is closed, for
-- the month: rows for every county, city and province on the site's path
-- and for region 0, the whole tree, per network and category (0: the
-- drop-offs themselves).  Towns and villages are small enough to be read
-- from the sites' rollups and the drop-offs.
--
-- A day's figures can still change once it is over: an offline
-- drop-off recorded back into it, or a reversal of one of its drop-offs.
-- Each such movement marks its site and day in collection_late in its
-- own transaction (one row a site, which the site's stock lock already
-- serialises); the closer works each marked day out again.
CREATE TABLE IF NOT EXISTS stat_collection_set (
  region_id    BIGINT UNSIGNED NOT NULL,
  span         ENUM('day','month') NOT NULL,
  period       DATE NOT NULL,        -- the day, or the month's 1st
  network      ENUM('sanitation','recycling','integrated') NOT NULL,
  category_id  INT UNSIGNED NOT NULL,
  dropoffs     BIGINT NOT NULL,      -- credited drop-offs (with a line of the category)
  grams        BIGINT NOT NULL,
  items        BIGINT NOT NULL,
  points       BIGINT NOT NULL,
  households   BIGINT NOT NULL,      -- the members' count
  members      MEDIUMBLOB NOT NULL,
  PRIMARY KEY (region_id, span, period, network, category_id),
  KEY ix_set_period (span, period)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS collection_late (
  site_id    BIGINT UNSIGNED NOT NULL,
  local_day  DATE NOT NULL,
  marks      BIGINT NOT NULL,
  PRIMARY KEY (site_id, local_day),
  KEY ix_late_day (local_day, site_id)
) ENGINE=InnoDB;

INSERT IGNORE INTO rollup_closed (name, through_day) VALUES ('collection', NULL);
