-- 0010: the per-site rollups again per month.  A report over a long
-- period reads its whole months here and only its first and last partial
-- months from the day rows: a year of a province is a twelfth of the rows.
-- The engine adds to both in the same transaction (db/rollup.h); the
-- ledger check verifies that each month row is the sum of its days.

CREATE TABLE IF NOT EXISTS stat_site_month (
  site_id      BIGINT UNSIGNED NOT NULL,
  month        DATE NOT NULL,              -- the 1st
  category_id  INT UNSIGNED NOT NULL,
  dropoffs     BIGINT NOT NULL DEFAULT 0,
  grams        BIGINT NOT NULL DEFAULT 0,
  items        BIGINT NOT NULL DEFAULT 0,
  points       BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (site_id, month, category_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS stat_stock_month (
  site_id      BIGINT UNSIGNED NOT NULL,
  month        DATE NOT NULL,
  category_id  INT UNSIGNED NOT NULL,
  kind         ENUM('dropoff','reversal','shipment_out','shipment_in','shipment_cancel',
                    'count','outbound') NOT NULL,
  qty          BIGINT NOT NULL DEFAULT 0,
  moves        BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (site_id, month, category_id, kind)
) ENGINE=InnoDB;

DELETE FROM stat_site_month;
INSERT INTO stat_site_month (site_id, month, category_id, dropoffs, grams, items, points)
  SELECT site_id, DATE_FORMAT(local_day, '%Y-%m-01'), category_id, SUM(dropoffs), SUM(grams),
         SUM(items), SUM(points)
  FROM stat_site_day GROUP BY site_id, DATE_FORMAT(local_day, '%Y-%m-01'), category_id;
DELETE FROM stat_stock_month;
INSERT INTO stat_stock_month (site_id, month, category_id, kind, qty, moves)
  SELECT site_id, DATE_FORMAT(local_day, '%Y-%m-01'), category_id, kind, SUM(qty), SUM(moves)
  FROM stat_stock_day GROUP BY site_id, DATE_FORMAT(local_day, '%Y-%m-01'), category_id, kind;
