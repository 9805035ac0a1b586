-- The revocation epoch (db/revoke.c).  Token checks cache "live" answers
-- in Redis for 30 s; a logout or a staff/household change that cannot
-- overwrite its entry (Redis down, paused, out of memory or disk) would
-- leave that answer trusted.  Every auth cache key carries this number,
-- and whoever fails such a write moves it on: every instance then stops
-- trusting what was cached before (the one that moved it at once, the
-- others on their next once-a-second poll).
CREATE TABLE IF NOT EXISTS auth_epoch (
  id     TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  epoch  BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB;

INSERT IGNORE INTO auth_epoch (id, epoch) VALUES (1, 1);
