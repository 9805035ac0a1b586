-- Rollups for the reports (api.md, "Reports"), kept in the transaction of
-- every movement and narrow, so that no row is shared beyond what the
-- movement locks already: a site's rows are written under the lock of its
-- stock, a household's under the household's (docs/architecture.md,
-- "Rollups").  Days are local days; a month is its first day.

-- What drop-off sites collected: per site, day of the drop-off and
-- category; category_id 0 is the drop-offs themselves (their count and
-- totals).  A reversal takes its drop-off out again, on the drop-off's day.
CREATE TABLE IF NOT EXISTS stat_site_day (
  site_id      BIGINT UNSIGNED NOT NULL,
  local_day    DATE NOT NULL,
  category_id  INT UNSIGNED NOT NULL,
  dropoffs     BIGINT NOT NULL DEFAULT 0,
  grams        BIGINT NOT NULL DEFAULT 0,
  items        BIGINT NOT NULL DEFAULT 0,
  points       BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (site_id, local_day, category_id)
) ENGINE=InnoDB;

-- Every stock movement summed per site, day of the movement, category and
-- kind (the kinds of stock_movements, in its order).
CREATE TABLE IF NOT EXISTS stat_stock_day (
  site_id      BIGINT UNSIGNED NOT NULL,
  local_day    DATE NOT NULL,
  category_id  INT UNSIGNED NOT NULL,
  kind         ENUM('dropoff','reversal','shipment_out','shipment_in','shipment_cancel',
                    'count','outbound') NOT NULL,
  qty          BIGINT NOT NULL DEFAULT 0,
  moves        BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (site_id, local_day, category_id, kind)
) ENGINE=InnoDB;

-- A household's credited drop-offs per month of the drop-off (a reversal
-- takes its drop-off out of its month): participation and the leaderboard.
CREATE TABLE IF NOT EXISTS stat_household_month (
  household_id  BIGINT UNSIGNED NOT NULL,
  month         DATE NOT NULL,
  region_id     BIGINT UNSIGNED NOT NULL,
  dropoffs      BIGINT NOT NULL DEFAULT 0,
  points        BIGINT NOT NULL DEFAULT 0,
  grams         BIGINT NOT NULL DEFAULT 0,
  items         BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (household_id, month),
  KEY ix_shm_month_region (month, region_id, dropoffs, points)
) ENGINE=InnoDB;

-- Participation counts the accounts not closed at a month's end.
ALTER TABLE households ADD COLUMN IF NOT EXISTS closed_at DATETIME(6) NULL AFTER status;
UPDATE households SET closed_at = updated_at WHERE status = 'closed' AND closed_at IS NULL;

-- The points report reads the ledger by time.
ALTER TABLE ledger ADD INDEX IF NOT EXISTS ix_ledger_time (created_at);
ALTER TABLE dropoffs ADD INDEX IF NOT EXISTS ix_dropoffs_site_day_hh (site_id, local_day, status, household_id);

-- Rows written before the rollups existed.
INSERT INTO stat_site_day (site_id, local_day, category_id, dropoffs, grams, items, points)
  SELECT d.site_id, d.local_day, 0, COUNT(*), SUM(d.grams), SUM(d.items), SUM(d.points)
  FROM dropoffs d WHERE d.status = 'ok' GROUP BY d.site_id, d.local_day
  ON DUPLICATE KEY UPDATE dropoffs = VALUES(dropoffs);
INSERT INTO stat_site_day (site_id, local_day, category_id, dropoffs, grams, items, points)
  SELECT d.site_id, d.local_day, l.category_id, COUNT(*), COALESCE(SUM(l.grams), 0),
         COALESCE(SUM(l.count), 0), SUM(l.points)
  FROM dropoffs d JOIN dropoff_lines l ON l.dropoff_id = d.id WHERE d.status = 'ok'
  GROUP BY d.site_id, d.local_day, l.category_id
  ON DUPLICATE KEY UPDATE dropoffs = VALUES(dropoffs);
INSERT INTO stat_stock_day (site_id, local_day, category_id, kind, qty, moves)
  SELECT site_id, local_day, category_id, kind, SUM(delta), COUNT(*) FROM stock_movements
  GROUP BY site_id, local_day, category_id, kind
  ON DUPLICATE KEY UPDATE qty = VALUES(qty);
INSERT INTO stat_household_month (household_id, month, region_id, dropoffs, points, grams, items)
  SELECT d.household_id, DATE_FORMAT(d.local_day, '%Y-%m-01'), h.region_id, COUNT(*),
         SUM(d.points), SUM(d.grams), SUM(d.items)
  FROM dropoffs d JOIN households h ON h.id = d.household_id WHERE d.status = 'ok'
  GROUP BY d.household_id, DATE_FORMAT(d.local_day, '%Y-%m-01'), h.region_id
  ON DUPLICATE KEY UPDATE dropoffs = VALUES(dropoffs);
