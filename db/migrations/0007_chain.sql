-- The three-tier chain (交投点 -> 中转站 -> 分拣中心): every site's stock
-- ledger per category, shipments up the tiers with what arrived, stock
-- counts and outbound disposal at sorting centres (api.md, "The
-- three-tier chain").  Quantities are grams for g categories and items
-- for item categories, integers as everywhere.

-- The head of a site's stock in one category: what is on hand, its
-- movement count, and what reversals could not take back because it had
-- left already (the shortfall, as points have a debt).  Changed only with
-- a stock_movements row, under the ledger engine's lock on this row.
CREATE TABLE IF NOT EXISTS site_stock (
  site_id      BIGINT UNSIGNED NOT NULL,
  category_id  INT UNSIGNED NOT NULL,
  on_hand      BIGINT NOT NULL DEFAULT 0,
  seq          BIGINT UNSIGNED NOT NULL DEFAULT 0,
  shortfall    BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (site_id, category_id),
  CONSTRAINT fk_site_stock_site FOREIGN KEY (site_id) REFERENCES sites (id),
  CONSTRAINT ck_site_stock_on_hand CHECK (on_hand >= 0),
  CONSTRAINT ck_site_stock_shortfall CHECK (shortfall >= 0)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS stock_movements (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  site_id        BIGINT UNSIGNED NOT NULL,
  category_id    INT UNSIGNED NOT NULL,
  seq            BIGINT UNSIGNED NOT NULL,
  delta          BIGINT NOT NULL,
  on_hand_after  BIGINT NOT NULL,
  kind           ENUM('dropoff','reversal','shipment_out','shipment_in','shipment_cancel',
                      'count','outbound') NOT NULL,
  ref_id         BIGINT UNSIGNED NOT NULL,
  local_day      DATE NOT NULL,
  created_at     DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uk_stock_seq (site_id, category_id, seq),
  KEY ix_stock_site (site_id, id),
  KEY ix_stock_site_day (site_id, local_day),
  KEY ix_stock_ref (kind, ref_id),
  CONSTRAINT ck_stock_after CHECK (on_hand_after >= 0)
) ENGINE=InnoDB;

DROP TRIGGER IF EXISTS stock_movements_no_update;
CREATE TRIGGER stock_movements_no_update BEFORE UPDATE ON stock_movements FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'stock movements are never updated';
DROP TRIGGER IF EXISTS stock_movements_no_delete;
CREATE TRIGGER stock_movements_no_delete BEFORE DELETE ON stock_movements FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'stock movements are never deleted';

CREATE TABLE IF NOT EXISTS shipments (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  from_site_id  BIGINT UNSIGNED NOT NULL,
  to_site_id    BIGINT UNSIGNED NOT NULL,
  status        ENUM('in_transit','received','cancelled') NOT NULL DEFAULT 'in_transit',
  idem_key      VARCHAR(64) NOT NULL,
  vehicle       VARCHAR(100) NULL,
  note          VARCHAR(200) NULL,
  sent_at       DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  sent_day      DATE NOT NULL,
  sent_by       BIGINT UNSIGNED NOT NULL,
  received_at   DATETIME(6) NULL,
  received_day  DATE NULL,
  received_by   BIGINT UNSIGNED NULL,
  cancelled_at  DATETIME(6) NULL,
  cancelled_by  BIGINT UNSIGNED NULL,
  cancel_reason VARCHAR(200) NULL,
  KEY ix_shipments_from (from_site_id, id),
  KEY ix_shipments_to (to_site_id, id),
  CONSTRAINT fk_shipments_from FOREIGN KEY (from_site_id) REFERENCES sites (id),
  CONSTRAINT fk_shipments_to FOREIGN KEY (to_site_id) REFERENCES sites (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS shipment_lines (
  shipment_id  BIGINT UNSIGNED NOT NULL,
  line_no      SMALLINT UNSIGNED NOT NULL,
  category_id  INT UNSIGNED NOT NULL,
  sent         BIGINT NOT NULL,
  received     BIGINT NULL,
  PRIMARY KEY (shipment_id, line_no),
  CONSTRAINT fk_shipment_lines FOREIGN KEY (shipment_id) REFERENCES shipments (id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS stock_counts (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  site_id     BIGINT UNSIGNED NOT NULL,
  idem_key    VARCHAR(64) NOT NULL,
  counted_by  BIGINT UNSIGNED NOT NULL,
  local_day   DATE NOT NULL,
  created_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_counts_site (site_id, id),
  CONSTRAINT fk_counts_site FOREIGN KEY (site_id) REFERENCES sites (id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS stock_count_lines (
  count_id     BIGINT UNSIGNED NOT NULL,
  category_id  INT UNSIGNED NOT NULL,
  expected     BIGINT NOT NULL,
  counted      BIGINT NOT NULL,
  PRIMARY KEY (count_id, category_id),
  CONSTRAINT fk_count_lines FOREIGN KEY (count_id) REFERENCES stock_counts (id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS outbounds (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  site_id      BIGINT UNSIGNED NOT NULL,
  idem_key     VARCHAR(64) NOT NULL,
  buyer        VARCHAR(100) NOT NULL,
  disposition  ENUM('recycled','energy_recovery','landfill','hazardous_treatment') NOT NULL,
  created_by   BIGINT UNSIGNED NOT NULL,
  local_day    DATE NOT NULL,
  created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_outbounds_site (site_id, id),
  CONSTRAINT fk_outbounds_site FOREIGN KEY (site_id) REFERENCES sites (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS outbound_lines (
  outbound_id  BIGINT UNSIGNED NOT NULL,
  category_id  INT UNSIGNED NOT NULL,
  qty          BIGINT NOT NULL,
  PRIMARY KEY (outbound_id, category_id),
  CONSTRAINT fk_outbound_lines FOREIGN KEY (outbound_id) REFERENCES outbounds (id)
) ENGINE=InnoDB;
