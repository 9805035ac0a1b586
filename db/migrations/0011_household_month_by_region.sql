-- 0011: the household months of a region, found from the region.  A
-- county's participation over any months reads its villages' rows by
-- (region_id, month) instead of every row of those months in the
-- province.  The index never changes after a row's first drop-off of the
-- month (region and month are fixed), so the drop-off path does not pay
-- for it.

ALTER TABLE stat_household_month ADD INDEX IF NOT EXISTS ix_shm_region_month (region_id, month);
