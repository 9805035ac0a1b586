-- 0015: the chain's flows per region, for the days that have ended (the
-- flows report of a county or more, api.md "Reports"), closed like the
-- points of 0013 and by the same closer (db/closing.h): every stock
-- movement is filed under the day it was made, and a shipment's loss
-- under the day it was received, so a day's sums are final once it is
-- over.  A row per region on the site's path and region 0 (the tree);
-- kind is the stock movement's, or transit_loss: what a receipt found
-- missing (sent - received), at the sending site.  Shipments stay inside
-- one county, so a county or more holds both ends of each.

CREATE TABLE IF NOT EXISTS stat_chain_day (
  region_id    BIGINT UNSIGNED NOT NULL,
  local_day    DATE NOT NULL,
  category_id  INT UNSIGNED NOT NULL,
  tier         ENUM('dropoff','transfer','sorting') NOT NULL,
  kind         ENUM('dropoff','reversal','shipment_out','shipment_in','shipment_cancel',
                    'count','outbound','transit_loss') NOT NULL,
  qty          BIGINT NOT NULL,
  PRIMARY KEY (region_id, local_day, category_id, tier, kind)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS stat_chain_month (
  region_id    BIGINT UNSIGNED NOT NULL,
  month        DATE NOT NULL,
  category_id  INT UNSIGNED NOT NULL,
  tier         ENUM('dropoff','transfer','sorting') NOT NULL,
  kind         ENUM('dropoff','reversal','shipment_out','shipment_in','shipment_cancel',
                    'count','outbound','transit_loss') NOT NULL,
  qty          BIGINT NOT NULL,
  PRIMARY KEY (region_id, month, category_id, tier, kind)
) ENGINE=InnoDB;

-- The closer finds a day's receipts by time.
ALTER TABLE shipments ADD INDEX IF NOT EXISTS ix_shipments_received (received_at);

INSERT IGNORE INTO rollup_closed (name, through_day) VALUES ('chain', NULL);

-- The days after the last closed one are read from the sites' day rows
-- by day: a day's rows of every site, not every day of each site.  The
-- key never changes once a row exists, so a movement adding to its row
-- does not touch this index.
ALTER TABLE stat_stock_day ADD INDEX IF NOT EXISTS ix_stock_day_day (local_day, site_id);
