-- What the security review and the fault test asked of the schema:
-- each staff member's recorded reach, a household's open shortfall (its
-- debt) and the ledger rows that recover it, separate PIN counters for
-- resident sign-in and shops, back-dated drop-offs flagged and capped by
-- the day of arrival, and adjustments countable per admin and day.

-- The subtree a staff member reaches, fixed when it is created and capped
-- at its creator's reach (api/staff.c).  NULL: none recorded (admins reach
-- everything; a region admin its own region).
ALTER TABLE staff ADD COLUMN IF NOT EXISTS reach_region_id BIGINT UNSIGNED NULL AFTER shop_id;

-- Members made before reach was recorded keep what sign-in gave them:
-- an attendant or clerk its site's or shop's county (the region itself
-- when no ancestor is a county), a region admin its own region.
UPDATE staff s
  JOIN sites x ON x.id = s.site_id
  JOIN regions g ON g.id = x.region_id
  LEFT JOIN regions c ON c.level = 'county' AND g.path LIKE CONCAT(c.path, '%')
  SET s.reach_region_id = COALESCE(c.id, g.id)
  WHERE s.role = 'attendant' AND s.reach_region_id IS NULL;
UPDATE staff s
  JOIN shops x ON x.id = s.shop_id
  JOIN regions g ON g.id = x.region_id
  LEFT JOIN regions c ON c.level = 'county' AND g.path LIKE CONCAT(c.path, '%')
  SET s.reach_region_id = COALESCE(c.id, g.id)
  WHERE s.role = 'clerk' AND s.reach_region_id IS NULL;
UPDATE staff SET reach_region_id = region_id
  WHERE role = 'region_admin' AND reach_region_id IS NULL;

-- ... but never wider than the region admin who made them: an attendant
-- or clerk a town or village admin created (the audit log names who)
-- reaches that admin's region, not the county it was given until now.
UPDATE staff s
  JOIN audit_log a ON a.action = 'staff.create' AND a.object_kind = 'staff'
                  AND a.object_id = s.id AND a.role = 'region_admin'
  JOIN staff c ON a.actor = CONCAT('s:', c.id)
  JOIN regions cr ON cr.id = c.region_id
  JOIN regions sr ON sr.id = s.reach_region_id
  SET s.reach_region_id = cr.id
  WHERE s.role IN ('attendant', 'clerk') AND cr.id <> sr.id
    AND cr.path LIKE CONCAT(sr.path, '%');

ALTER TABLE staff
  ADD CONSTRAINT fk_staff_reach FOREIGN KEY IF NOT EXISTS (reach_region_id) REFERENCES regions (id);

-- Usernames are canonical from now on: ASCII [a-z0-9_.-], lower case.
-- The column compares without case, so no two of them collide here.
UPDATE staff SET username = LOWER(username) WHERE username <> LOWER(username) COLLATE utf8mb4_bin;

-- A household's open shortfall: points a reversal could not take back
-- because they were spent.  Points that come back later settle it first,
-- with a ledger row of kind 'recovery'.
ALTER TABLE households ADD COLUMN IF NOT EXISTS debt BIGINT NOT NULL DEFAULT 0 AFTER seq;
ALTER TABLE households ADD CONSTRAINT ck_households_debt CHECK (debt >= 0);
UPDATE households h
  JOIN (SELECT household_id, SUM(shortfall) AS s FROM dropoffs
        WHERE status = 'reversed' AND shortfall > 0 GROUP BY household_id) x
    ON x.household_id = h.id
  SET h.debt = x.s;

-- Resident sign-in keeps its own PIN failure count and lock; the
-- pin_failures / pin_locked_until / pin_lock_count columns are the shops'.
ALTER TABLE households
  ADD COLUMN IF NOT EXISTS signin_failures INT UNSIGNED NOT NULL DEFAULT 0 AFTER pin_lock_count,
  ADD COLUMN IF NOT EXISTS signin_locked_until BIGINT NOT NULL DEFAULT 0 AFTER signin_failures,
  ADD COLUMN IF NOT EXISTS signin_lock_count INT UNSIGNED NOT NULL DEFAULT 0 AFTER signin_locked_until;

ALTER TABLE ledger MODIFY kind
  ENUM('dropoff','redemption','reversal','void','adjustment','expiry','recovery') NOT NULL;

-- Drop-offs recorded more than a few minutes before they arrived (offline
-- uploads) are flagged; arrival_day is the local day the server received
-- it, for the arrival cap (NULL on rows from before it was kept).
ALTER TABLE dropoffs
  ADD COLUMN IF NOT EXISTS backdated TINYINT(1) NOT NULL DEFAULT 0 AFTER local_day,
  ADD COLUMN IF NOT EXISTS arrival_day DATE NULL AFTER backdated;

-- Points earned per household, category and day of arrival: what one
-- day's uploads may add, whatever days they were recorded on, is capped at
-- WB_CAP_ARRIVAL_DAYS daily caps.
CREATE TABLE IF NOT EXISTS arrival_totals (
  household_id  BIGINT UNSIGNED NOT NULL,
  category_id   INT UNSIGNED NOT NULL,
  arrival_day   DATE NOT NULL,
  points        BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (household_id, arrival_day, category_id)
) ENGINE=InnoDB;

-- The rolling daily limit per admin reads its own adjustments.
ALTER TABLE adjustments ADD INDEX IF NOT EXISTS ix_adjustments_staff (staff_id, created_at);
