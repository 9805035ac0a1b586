-- 0018: the leaderboard's order index holds what the report filters on
-- (the household's region, and whether it has a credited drop-off), so
-- that walking the month most points first reads the index alone and
-- reaches the table only for the rows it returns.  Without them every
-- entry walked past cost a look-up of its row, and the rows of a big
-- table are the ones least often in memory.  A drop-off moves the entry
-- already (its points change), so the hot path writes no more than before.

ALTER TABLE stat_household_month
  DROP INDEX IF EXISTS ix_shm_month_points,
  ADD INDEX ix_shm_month_points (month, points DESC, household_id, region_id, dropoffs);
