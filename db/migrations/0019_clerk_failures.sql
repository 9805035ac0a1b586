-- 0019: a clerk's failure budget (wrong PINs and pay codes) is counted on
-- the clerk's own staff row, in the redemption's transaction, under that
-- row's lock.  It was a Redis counter read before the transaction and
-- raised after the answer, so redemptions in flight together - one group
-- of the ledger engine holds up to 64 - were all checked against the
-- count from before any of them, and a burst of wrong PINs could pass the
-- budget by as many.  Under the lock each failure is counted before the
-- next redemption of that clerk is decided, on every server at once, and
-- the count does not depend on Redis.
--   fail_window  the budget's window (epoch seconds / its length) the
--                count belongs to; a count of an older window is 0
--   fail_count   wrong PINs and pay codes sent in that window

ALTER TABLE staff
  ADD COLUMN IF NOT EXISTS fail_window BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS fail_count INT NOT NULL DEFAULT 0;
