/* closing.c - see closing.h. */
#include "db/closing.h"
#include "db/batch.h"
#include "db/db.h"
#include "db/rollup.h"
#include "server/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct tally_spec closing_day_spec = {
    { "INSERT INTO stat_points_day (region_id, local_day, kind, delta, moves) VALUES ",
      "(?,?,?,?,?)", "", 5 },
    3, 2,
};

static const struct tally_spec month_spec = {
    { "INSERT INTO stat_points_month (region_id, month, kind, delta, moves) VALUES ",
      "(?,?,?,?,?)",
      " ON DUPLICATE KEY UPDATE delta = delta + VALUES(delta), moves = moves + VALUES(moves)", 5 },
    3, 2,
};

static const char SQL_THROUGH_LOCK[] =
    "SELECT COALESCE(DATE_FORMAT(through_day, '%Y%m%d') + 0, 0) FROM rollup_closed "
    "WHERE name = 'points' FOR UPDATE";
static const char SQL_THROUGH[] =
    "SELECT COALESCE(DATE_FORMAT(through_day, '%Y-%m-%d'), '') FROM rollup_closed "
    "WHERE name = 'points'";
static const char SQL_SET_THROUGH[] =
    "UPDATE rollup_closed SET through_day = ? WHERE name = 'points'";
static const char SQL_FIRST_ROW[] =
    "SELECT COALESCE(UNIX_TIMESTAMP(MIN(created_at)), 0) FROM ledger";
/* A day's ledger rows per village and kind (the kind as its position). */
static const char SQL_DAY[] =
    "SELECT g.path, l.kind + 0, SUM(l.delta), COUNT(*) FROM ledger l "
    "JOIN households h ON h.id = l.household_id JOIN regions g ON g.id = h.region_id "
    "WHERE l.created_at >= FROM_UNIXTIME(?) AND l.created_at < FROM_UNIXTIME(?) "
    "GROUP BY g.id, g.path, l.kind";

/* ---- days as YYYYMMDD ---- */

static long long day_number(long long days)          /* days since 1970 -> YYYYMMDD */
{
    int y, m, d;
    clock_civil_from_days(days, &y, &m, &d);
    return (long long)y * 10000 + m * 100 + d;
}

static long long day_count(long long day)            /* YYYYMMDD -> days since 1970 */
{
    return clock_days_from_civil((int)(day / 10000), (int)(day / 100 % 100), (int)(day % 100));
}

static time_t day_start(long long day)
{
    return clock_local_midnight((int)(day / 10000), (int)(day / 100 % 100), (int)(day % 100));
}

static long long local_day_of(time_t t)
{
    char buf[11];
    clock_local_day(t, buf, sizeof buf);
    return rollup_day(buf);
}

long long closing_next_day(long long day)
{
    return day_number(day_count(day) + 1);
}

int closing_first_day(struct db *d, long long *day)
{
    long long t0;
    if (db_query_int(d, &t0, SQL_FIRST_ROW, "") != 1)
        return -1;
    *day = t0 ? local_day_of((time_t)t0) : 0;
    return 0;
}

/* ---- a day's rows ---- */

int closing_spread(struct tally *t, const char *path, long long day, long long kind,
                   long long delta, long long moves)
{
    long long val[2] = { delta, moves };
    long long key[3] = { 0, day, kind };
    if (!path || *path != '/' || tally_append(t, key, val) != 0)
        return -1;
    for (const char *p = path + 1; *p;) {
        char *end;
        long long id = strtoll(p, &end, 10);
        if (end == p || *end != '/' || id <= 0)
            return -1;
        key[0] = id;
        if (tally_append(t, key, val) != 0)
            return -1;
        p = end + 1;
    }
    return 0;
}

int closing_day_tally(struct db *d, long long day, struct tally *t)
{
    long long start = (long long)day_start(day);
    long long end = (long long)day_start(closing_next_day(day));
    struct db_rows *r = db_query(d, SQL_DAY, "ii", start, end);
    if (!r)
        return -1;
    int rc = 0;
    while (rc == 0 && db_rows_next(r))
        rc = closing_spread(t, db_rows_str(r, 0, NULL), day, db_rows_int(r, 1),
                            db_rows_int(r, 2), db_rows_int(r, 3));
    db_rows_free(r);
    int n;
    tally_sorted(t, &n);
    return rc;
}

/* ---- closing ---- */

struct run {
    long long last;            /* the last day that may be closed */
    long long days;            /* closed by this transaction */
    long long through;         /* after it */
};

static int flush(struct db *d, struct tally *t)
{
    struct db_batch b;
    db_batch_init(&b, d);
    int rc = tally_flush(t, &b);
    if (rc == -2)
        rc = 0;
    else if (rc >= 0)
        rc = db_batch_run(&b);
    db_batch_free(&b);
    return rc < 0 ? -1 : 0;
}

/* One transaction: the next days not yet closed, up to the end of their
 * month. */
static int close_some(struct db *d, void *arg)
{
    struct run *run = arg;
    long long through;
    run->days = 0;
    if (db_query_int(d, &through, SQL_THROUGH_LOCK, "") != 1)
        return -1;
    long long first;
    if (through) {
        first = closing_next_day(through);
    } else {
        if (closing_first_day(d, &first) != 0)
            return -1;
        if (!first)
            return 0;
    }
    run->through = through;
    if (first > run->last)
        return 0;           /* nothing ended yet, or an empty ledger */
    long long upto = first;
    while (upto < run->last && upto / 100 == closing_next_day(upto) / 100)
        upto = closing_next_day(upto);                 /* to the month's end, or last */

    struct tally month;
    tally_init(&month, &month_spec);
    int rc = 0;
    for (long long day = first; rc == 0; day = closing_next_day(day)) {
        struct tally t;
        tally_init(&t, &closing_day_spec);
        rc = closing_day_tally(d, day, &t);
        if (rc == 0)
            rc = flush(d, &t);
        for (int i = 0; rc == 0 && i < t.n; i++) {
            long long key[3] = { t.rows[i].key[0], day / 100 * 100 + 1, t.rows[i].key[2] };
            rc = tally_append(&month, key, t.rows[i].val);
        }
        tally_release(&t);
        if (rc == 0) {
            int n;
            tally_sorted(&month, &n);               /* keep it one row a key */
            run->days++;
        }
        if (day == upto)
            break;
    }
    if (rc == 0)
        rc = flush(d, &month);
    tally_release(&month);
    if (rc == 0 && db_exec(d, SQL_SET_THROUGH, "i", upto) < 0)
        rc = -1;
    if (rc == 0)
        run->through = upto;
    return rc;
}

void closing_day_text(long long day, char out[11])
{
    unsigned y = (unsigned)(day / 10000) % 10000u, m = (unsigned)(day / 100) % 100u,
             d = (unsigned)day % 100u;
    if (day)
        snprintf(out, 11, "%04u-%02u-%02u", y, m, d);
    else
        out[0] = '\0';
}

int closing_run(struct db *d, time_t now, struct closing_result *out)
{
    struct run run = { .last = day_number(day_count(local_day_of(now - CLOSING_LAG_S)) - 1) };
    out->days = 0;
    out->through[0] = '\0';
    for (;;) {
        int rc = db_tx(d, close_some, &run);
        if (rc != DB_TX_COMMITTED)
            return -1;
        out->days += run.days;
        closing_day_text(run.through, out->through);
        if (run.days == 0 || run.through >= run.last)
            return 0;
    }
}

static int reopen(struct db *d, void *arg)
{
    (void)arg;
    if (db_query_int(d, &(long long){ 0 }, SQL_THROUGH_LOCK, "") < 0 ||
        db_exec(d, "DELETE FROM stat_points_day", "") < 0 ||
        db_exec(d, "DELETE FROM stat_points_month", "") < 0 ||
        db_exec(d, "UPDATE rollup_closed SET through_day = NULL WHERE name = 'points'", "") < 0)
        return -1;
    return 0;
}

int closing_reopen(struct db *d)
{
    return db_tx(d, reopen, NULL) == DB_TX_COMMITTED ? 0 : -1;
}

time_t closing_after(const char *through)
{
    return day_start(closing_next_day(rollup_day(through)));
}

int closing_through(struct db *d, char out[11])
{
    struct db_rows *r = db_query(d, SQL_THROUGH, "");
    if (!r)
        return -1;
    out[0] = '\0';
    if (db_rows_next(r))
        snprintf(out, 11, "%s", db_rows_str(r, 0, NULL));
    db_rows_free(r);
    return 0;
}
