-- 0014: the leaderboard of a wide region (a county or more) reads the
-- month's household rows in its own order, most points first, and stops
-- at the limit instead of sorting every household of the month.  It
-- replaces ix_shm_month_region, which only that report used: a drop-off
-- moves one entry of one index of its household's row either way.

ALTER TABLE stat_household_month
  ADD INDEX IF NOT EXISTS ix_shm_month_points (month, points DESC, household_id),
  DROP INDEX IF EXISTS ix_shm_month_region;
