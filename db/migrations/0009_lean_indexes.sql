-- 0009: two indexes that every drop-off paid for and nothing reads.
--
-- dropoffs.ix_dropoffs_site_day (site_id, local_day) is the prefix of
-- ix_dropoffs_site_day_hh (site_id, local_day, status, household_id), which
-- serves every query it served.  stock_movements.ix_stock_site_day: the
-- movement list reads a site's movements by id (ix_stock_site) and the
-- reports read the per-day rollup (stat_stock_day), not the movements.

ALTER TABLE dropoffs DROP INDEX IF EXISTS ix_dropoffs_site_day;
ALTER TABLE stock_movements DROP INDEX IF EXISTS ix_stock_site_day;
