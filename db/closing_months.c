/* closing_months.c - the closed months of participation (see closing.h):
 * per region and ended month, the households open at the month's end and
 * those active by drop-off, by inspection and by both, closed once after
 * the month, and worked out again for each village-month a late movement
 * marked (participation_late). */
#include "db/closing.h"
#include "db/db.h"
#include "db/rollup.h"
#include "server/clock.h"

#include <stdio.h>
#include <string.h>

#define SCOPE_SUBTREE 1
#define SCOPE_OWN 2
#define LATE_BATCH 200           /* marks a transaction (SQL_LATE's LIMIT) */

const struct tally_spec closing_participation_spec = {
    { "INSERT INTO stat_participation_month (region_id, month, scope, households, by_dropoff, "
      "by_inspection, by_both) VALUES ", "(?,?,?,?,?,?,?)",
      " ON DUPLICATE KEY UPDATE households = households + VALUES(households), "
      "by_dropoff = by_dropoff + VALUES(by_dropoff), "
      "by_inspection = by_inspection + VALUES(by_inspection), by_both = by_both + VALUES(by_both)",
      7 },
    3, 4,
};

/* A month's figures per household region (its id and path first), of
 * every region or of one (the second variant of each). */
#define HH_SQL(where)                                                                       \
    "SELECT g.id, g.path, SUM(h.created_at < FROM_UNIXTIME(?) AND (h.closed_at IS NULL "           \
    "OR h.closed_at >= FROM_UNIXTIME(?))) FROM households h JOIN regions g "                 \
    "ON g.id = h.region_id " where " GROUP BY g.id, g.path"
#define DROP_SQL(where)                                                                     \
    "SELECT g.id, g.path, COUNT(*) FROM stat_household_month s JOIN regions g ON g.id = s.region_id " \
    "WHERE " where "s.month = ? AND s.dropoffs > 0 GROUP BY g.id, g.path"
#define INSP_SQL(where)                                                                     \
    "SELECT g.id, g.path, COUNT(*), SUM(x.dropped) FROM (SELECT i.region_id, i.household_id, "      \
    "MAX(COALESCE(s.dropoffs, 0) > 0) AS dropped FROM inspections i "                       \
    "LEFT JOIN stat_household_month s ON s.household_id = i.household_id AND s.month = ? "  \
    "WHERE " where "i.local_day BETWEEN ? AND ? AND i.status = 'recorded' "                  \
    "GROUP BY i.region_id, i.household_id) x JOIN regions g ON g.id = x.region_id "         \
    "GROUP BY g.id, g.path"

static const char *const SQL_HH[2] = { HH_SQL(""), HH_SQL("WHERE h.region_id = ?") };
static const char *const SQL_DROP[2] = { DROP_SQL(""), DROP_SQL("s.region_id = ? AND ") };
static const char *const SQL_INSP[2] = { INSP_SQL(""), INSP_SQL("i.region_id = ? AND ") };

static const char SQL_FIRST[] =
    "SELECT COALESCE(UNIX_TIMESTAMP(MIN(created_at)), 0) FROM households";
static const char SQL_LATE[] =
    "SELECT region_id, DATE_FORMAT(month, '%Y%m%d') + 0 FROM participation_late "
    "ORDER BY region_id, month LIMIT 200 FOR UPDATE";
static const char SQL_PATH[] = "SELECT path FROM regions WHERE id = ?";
static const char SQL_LATE_DONE[] =
    "DELETE FROM participation_late WHERE region_id = ? AND month = ?";
static const char SQL_OWN[] =
    "SELECT households, by_dropoff, by_inspection, by_both FROM stat_participation_month "
    "WHERE region_id = ? AND month = ? AND scope = 'own'";

/* ---- months as YYYYMM01 ---- */

long long closing_next_month(long long month)
{
    long long y = month / 10000, m = month / 100 % 100;
    return m == 12 ? (y + 1) * 10000 + 101 : y * 10000 + (m + 1) * 100 + 1;
}


static time_t month_start(long long month)
{
    return clock_local_midnight((int)(month / 10000), (int)(month / 100 % 100), 1);
}

static long long month_of(time_t t)
{
    char buf[11];
    clock_local_day(t, buf, sizeof buf);
    return rollup_month(rollup_day(buf));
}

/* ---- a month's rows ---- */

/* Add val (the 4 counters) for the households of region (path its
 * path): the region's own row and the subtree rows of its path. */
static int spread(struct tally *t, long long region, const char *path, long long month,
                  const long long *val)
{
    long long key[TALLY_KEYS_MAX] = { 0, month, SCOPE_SUBTREE };
    if (closing_spread(t, path, key, val) != 0)
        return -1;
    key[0] = region;
    key[2] = SCOPE_OWN;
    return tally_append(t, key, val);
}

/* Rows (region, path, counters...) of a query into the counters from slot
 * on. */
static int add_rows(struct tally *t, struct db_rows *r, long long month, int slot, int n)
{
    if (!r)
        return -1;
    int rc = 0;
    while (rc == 0 && db_rows_next(r)) {
        long long val[TALLY_VALS_MAX] = { 0 };
        for (int k = 0; k < n; k++)
            val[slot + k] = db_rows_int(r, 2 + k);
        rc = spread(t, db_rows_int(r, 0), db_rows_str(r, 1, NULL), month, val);
    }
    db_rows_free(r);
    return rc;
}

int closing_month_tally(struct db *d, long long month, long long region_id, struct tally *t)
{
    long long end = (long long)month_start(closing_next_month(month));
    char first[11], last[11];
    closing_day_text(month, first);
    closing_day_text(closing_month_last(month), last);
    int one = region_id != 0;
    struct db_rows *hh = one ? db_query(d, SQL_HH[1], "iii", end, end, region_id)
                             : db_query(d, SQL_HH[0], "ii", end, end);
    if (add_rows(t, hh, month, 0, 1) != 0)
        return -1;
    struct db_rows *dr = one ? db_query(d, SQL_DROP[1], "is", region_id, first)
                             : db_query(d, SQL_DROP[0], "s", first);
    if (add_rows(t, dr, month, 1, 1) != 0)
        return -1;
    struct db_rows *in = one ? db_query(d, SQL_INSP[1], "siss", first, region_id, first, last)
                             : db_query(d, SQL_INSP[0], "sss", first, first, last);
    if (add_rows(t, in, month, 2, 2) != 0)
        return -1;
    int n;
    tally_sorted(t, &n);
    tally_drop_zeros(t);        /* rows of nothing are not stored */
    return 0;
}

/* ---- closing ---- */

struct run {
    long long last;             /* the last month that may be closed */
    long long closed;           /* months closed, marks worked out, by this transaction */
    long long through;          /* the last closed day after it */
};

/* One transaction: the next month not yet closed. */
static int close_month(struct db *d, void *arg)
{
    struct run *run = arg;
    long long through, month;
    run->closed = 0;
    if (closing_lock(d, CLOSING_MONTHS_NAME, &through) != 0)
        return -1;
    run->through = through;
    if (through) {
        month = closing_next_month(rollup_month(through));
    } else {
        long long t0;
        if (db_query_int(d, &t0, SQL_FIRST, "") != 1)
            return -1;
        if (!t0)
            return 0;           /* no household yet */
        month = month_of((time_t)t0);
    }
    if (month > run->last)
        return 0;
    struct tally t;
    tally_init(&t, &closing_participation_spec);
    int rc = closing_month_tally(d, month, 0, &t);
    if (rc == 0)
        rc = closing_flush(d, &t);
    tally_release(&t);
    if (rc == 0 && closing_set_through(d, CLOSING_MONTHS_NAME, closing_month_last(month)) != 0)
        rc = -1;
    if (rc == 0) {
        run->closed = 1;
        run->through = closing_month_last(month);
    }
    return rc;
}

/* One transaction: a batch of marked village-months, each worked out
 * again and the difference added along its path.  Marks of months not
 * closed yet are only taken away: the month is summed afresh when it
 * closes. */
static int work_late(struct db *d, void *arg)
{
    struct run *run = arg;
    long long through;
    run->closed = 0;
    if (closing_lock(d, CLOSING_MONTHS_NAME, &through) != 0)
        return -1;
    struct db_rows *marks = db_query(d, SQL_LATE, "");
    if (!marks)
        return -1;
    struct tally delta;
    tally_init(&delta, &closing_participation_spec);
    int rc = 0;
    while (rc == 0 && db_rows_next(marks)) {
        long long region = db_rows_int(marks, 0), month = db_rows_int(marks, 1);
        run->closed++;
        if (db_exec(d, SQL_LATE_DONE, "ii", region, month) < 0) {
            rc = -1;
            break;
        }
        if (!through || month > rollup_month(through))
            continue;
        char path[256];
        struct db_rows *pr = db_query(d, SQL_PATH, "i", region);
        if (!pr) {
            rc = -1;
            break;
        }
        snprintf(path, sizeof path, "%s", db_rows_next(pr) ? db_rows_str(pr, 0, NULL) : "");
        db_rows_free(pr);
        /* now, less what the rollup holds: the region's own row */
        struct tally now;
        tally_init(&now, &closing_participation_spec);
        long long val[TALLY_VALS_MAX] = { 0 };
        rc = closing_month_tally(d, month, region, &now);
        for (int i = 0; rc == 0 && i < now.n; i++)
            if (now.rows[i].key[0] == region && now.rows[i].key[2] == SCOPE_OWN)
                memcpy(val, now.rows[i].val, sizeof val);
        tally_release(&now);
        struct db_rows *old = rc == 0 ? db_query(d, SQL_OWN, "ii", region, month) : NULL;
        if (rc == 0 && !old)
            rc = -1;
        if (rc == 0 && db_rows_next(old))
            for (int v = 0; v < 4; v++)
                val[v] -= db_rows_int(old, v);
        db_rows_free(old);
        if (rc == 0)
            rc = spread(&delta, region, path, month, val);
    }
    db_rows_free(marks);
    if (rc == 0)
        rc = closing_flush(d, &delta);
    tally_release(&delta);
    run->through = through;
    return rc;
}

int closing_months_run(struct db *d, time_t now, long long *months, char through[11])
{
    struct run run = { .last = rollup_month(closing_prev_day(month_of(now - CLOSING_LAG_S))) };
    *months = 0;
    for (;;) {
        if (db_tx(d, close_month, &run) != DB_TX_COMMITTED)
            return -1;
        *months += run.closed;
        if (!run.closed)
            break;
    }
    closing_day_text(run.through, through);
    do {
        if (db_tx(d, work_late, &run) != DB_TX_COMMITTED)
            return -1;
    } while (run.closed == LATE_BATCH);
    return 0;
}
