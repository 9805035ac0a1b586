/* closing.c - see closing.h. */
#include "db/closing.h"
#include "db/batch.h"
#include "db/collection_sets.h"
#include "db/db.h"
#include "db/regions.h"
#include "db/rollup.h"
#include "server/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the rollups ---- */

static const struct tally_spec points_day = {
    { "INSERT INTO stat_points_day (region_id, local_day, kind, delta, moves) VALUES ",
      "(?,?,?,?,?)", "", 5 },
    3, 2,
};
static const struct tally_spec points_month = {
    { "INSERT INTO stat_points_month (region_id, month, kind, delta, moves) VALUES ",
      "(?,?,?,?,?)",
      " ON DUPLICATE KEY UPDATE delta = delta + VALUES(delta), moves = moves + VALUES(moves)", 5 },
    3, 2,
};
static const struct tally_spec chain_day = {
    { "INSERT INTO stat_chain_day (region_id, local_day, category_id, tier, kind, qty) VALUES ",
      "(?,?,?,?,?,?)", "", 6 },
    5, 1,
};
static const struct tally_spec chain_month = {
    { "INSERT INTO stat_chain_month (region_id, month, category_id, tier, kind, qty) VALUES ",
      "(?,?,?,?,?,?)", " ON DUPLICATE KEY UPDATE qty = qty + VALUES(qty)", 6 },
    5, 1,
};

const struct closing_spec closing_specs[CLOSING_N] = {
    [CLOSING_POINTS] = {
        "points", &points_day, &points_month,
        "SELECT region_id, DATE_FORMAT(local_day, '%Y%m%d') + 0, kind + 0, delta, moves "
        "FROM stat_points_day WHERE local_day = ? ORDER BY region_id, kind",
    },
    [CLOSING_CHAIN] = {
        "chain", &chain_day, &chain_month,
        "SELECT region_id, DATE_FORMAT(local_day, '%Y%m%d') + 0, category_id, tier + 0, "
        "kind + 0, qty FROM stat_chain_day WHERE local_day = ? "
        "ORDER BY region_id, category_id, tier, kind",
    },
};

/* What a day of each sums, per region it is filed under (path first),
 * then the rest of the key and the counters: [start, end) are the day's
 * bounds in epoch seconds, day the day itself. */
static const char SQL_POINTS_DAY[] =
    "SELECT g.path, l.kind + 0, SUM(l.delta), COUNT(*) FROM ledger l "
    "JOIN households h ON h.id = l.household_id JOIN regions g ON g.id = h.region_id "
    "WHERE l.created_at >= FROM_UNIXTIME(?) AND l.created_at < FROM_UNIXTIME(?) "
    "GROUP BY g.id, g.path, l.kind";
/* the stock kinds keep their positions; transit_loss is the 8th */
static const char SQL_CHAIN_DAY[] =
    "SELECT g.path, s.category_id, t.tier + 0, s.kind + 0, SUM(s.qty) FROM stat_stock_day s "
    "JOIN sites t ON t.id = s.site_id JOIN regions g ON g.id = t.region_id "
    "WHERE s.local_day = ? GROUP BY g.id, g.path, s.category_id, t.tier, s.kind "
    "UNION ALL SELECT g.path, l.category_id, f.tier + 0, 8, SUM(l.sent - l.received) "
    "FROM shipments x JOIN shipment_lines l ON l.shipment_id = x.id "
    "JOIN sites f ON f.id = x.from_site_id JOIN regions g ON g.id = f.region_id "
    "WHERE x.received_at >= FROM_UNIXTIME(?) AND x.received_at < FROM_UNIXTIME(?) "
    "GROUP BY g.id, g.path, l.category_id, f.tier";

static const char SQL_POINTS_FIRST[] =
    "SELECT COALESCE(UNIX_TIMESTAMP(MIN(created_at)), 0) FROM ledger";
static const char SQL_CHAIN_FIRST[] =
    "SELECT COALESCE(UNIX_TIMESTAMP(LEAST(COALESCE((SELECT MIN(local_day) FROM stat_stock_day), "
    "'9999-12-31'), COALESCE((SELECT MIN(received_at) FROM shipments), '9999-12-31'))), 0)";

static const char SQL_THROUGH_LOCK[] =
    "SELECT COALESCE(DATE_FORMAT(through_day, '%Y%m%d') + 0, 0) FROM rollup_closed "
    "WHERE name = ? FOR UPDATE";
static const char SQL_THROUGH[] =
    "SELECT COALESCE(DATE_FORMAT(through_day, '%Y-%m-%d'), '') FROM rollup_closed "
    "WHERE name = ?";
static const char SQL_SET_THROUGH[] = "UPDATE rollup_closed SET through_day = ? WHERE name = ?";

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

long long closing_prev_day(long long day)
{
    return day_number(day_count(day) - 1);
}

long long closing_last_day(time_t now)
{
    return day_number(day_count(local_day_of(now - CLOSING_LAG_S)) - 1);
}

bool closing_month_ends(long long day)
{
    return day / 100 != closing_next_day(day) / 100;
}

long long closing_upto(long long first, long long last)
{
    long long upto = first;
    while (upto < last && !closing_month_ends(upto))
        upto = closing_next_day(upto);
    return upto;
}

long long closing_month_last(long long month)
{
    return closing_prev_day(closing_next_month(month));
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

time_t closing_after(const char *through)
{
    return day_start(closing_next_day(rollup_day(through)));
}

int closing_first_day(struct db *d, enum closing_rollup r, long long *day)
{
    long long t0;
    if (db_query_int(d, &t0, r == CLOSING_POINTS ? SQL_POINTS_FIRST : SQL_CHAIN_FIRST, "") != 1)
        return -1;
    *day = t0 ? local_day_of((time_t)t0) : 0;
    return 0;
}

/* ---- a day's rows ---- */

int closing_spread(struct tally *t, const char *path, const long long *key,
                   const long long *val)
{
    long long k[TALLY_KEYS_MAX];
    memcpy(k, key, sizeof k);
    k[0] = 0;
    if (!path || *path != '/' || tally_append(t, k, val) != 0)
        return -1;
    const char *p = path + 1;
    int more;
    while ((more = region_path_next(&p, &k[0])) == 1)
        if (tally_append(t, k, val) != 0)
            return -1;
    return more;
}

int closing_day_tally(struct db *d, enum closing_rollup r, long long day, struct tally *t)
{
    long long start = (long long)day_start(day);
    long long end = (long long)day_start(closing_next_day(day));
    struct db_rows *rows = r == CLOSING_POINTS
                               ? db_query(d, SQL_POINTS_DAY, "ii", start, end)
                               : db_query(d, SQL_CHAIN_DAY, "iii", day, start, end);
    if (!rows)
        return -1;
    const struct tally_spec *sp = closing_specs[r].day;
    int rc = 0;
    while (rc == 0 && db_rows_next(rows)) {
        /* columns: path, the key after (region, day), the counters */
        long long key[TALLY_KEYS_MAX] = { 0, day }, val[TALLY_VALS_MAX] = { 0 };
        for (int k = 2; k < sp->nkeys; k++)
            key[k] = db_rows_int(rows, k - 1);
        for (int v = 0; v < sp->nvals; v++)
            val[v] = db_rows_int(rows, sp->nkeys - 1 + v);
        rc = closing_spread(t, db_rows_str(rows, 0, NULL), key, val);
    }
    db_rows_free(rows);
    int n;
    tally_sorted(t, &n);
    tally_drop_zeros(t);        /* a receipt without loss is not stored */
    return rc;
}

/* ---- closing ---- */

struct run {
    enum closing_rollup r;
    long long last;            /* the last day that may be closed */
    long long days;            /* closed by this transaction */
    long long through;         /* after it */
};

int closing_flush(struct db *d, struct tally *t)
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
    const struct closing_spec *sp = &closing_specs[run->r];
    long long through, first;
    run->days = 0;
    if (closing_lock(d, sp->name, &through) != 0)
        return -1;
    run->through = through;
    if (through)
        first = closing_next_day(through);
    else if (closing_first_day(d, run->r, &first) != 0)
        return -1;
    if (!first || first > run->last)
        return 0;           /* nothing to sum yet, or nothing ended */
    long long upto = closing_upto(first, run->last);

    struct tally month;
    tally_init(&month, sp->month);
    int rc = 0;
    for (long long day = first; rc == 0; day = closing_next_day(day)) {
        struct tally t;
        tally_init(&t, sp->day);
        rc = closing_day_tally(d, run->r, day, &t);
        if (rc == 0)
            rc = closing_flush(d, &t);
        for (int i = 0; rc == 0 && i < t.n; i++) {
            long long key[TALLY_KEYS_MAX];
            memcpy(key, t.rows[i].key, sizeof key);
            key[1] = day / 100 * 100 + 1;
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
        rc = closing_flush(d, &month);
    tally_release(&month);
    if (rc == 0 && closing_set_through(d, sp->name, upto) != 0)
        rc = -1;
    if (rc == 0)
        run->through = upto;
    return rc;
}

int closing_run(struct db *d, time_t now, struct closing_result *out)
{
    memset(out, 0, sizeof *out);
    long long last = closing_last_day(now);
    for (int r = 0; r < CLOSING_N; r++) {
        struct run run = { .r = (enum closing_rollup)r, .last = last };
        for (;;) {
            if (db_tx(d, close_some, &run) != DB_TX_COMMITTED)
                return -1;
            out->days[r] += run.days;
            closing_day_text(run.through, out->through[r]);
            if (run.days == 0 || run.through >= run.last)
                break;
        }
    }
    if (closing_months_run(d, now, &out->months, out->months_through) != 0)
        return -1;
    return collection_sets_close(d, now, &out->sets_days, out->sets_through);
}

static int reopen(struct db *d, void *arg)
{
    (void)arg;
    static const char *const wipe[] = {
        "DELETE FROM stat_points_day", "DELETE FROM stat_points_month",
        "DELETE FROM stat_chain_day", "DELETE FROM stat_chain_month",
        "DELETE FROM stat_participation_month", "DELETE FROM participation_late",
        "DELETE FROM stat_collection_set", "DELETE FROM collection_late",
        "UPDATE rollup_closed SET through_day = NULL",
    };
    long long through;
    for (int r = 0; r < CLOSING_N; r++)
        if (closing_lock(d, closing_specs[r].name, &through) != 0)
            return -1;
    if (closing_lock(d, CLOSING_MONTHS_NAME, &through) != 0 ||
        closing_lock(d, COLLECTION_SETS_NAME, &through) != 0)
        return -1;
    for (size_t i = 0; i < sizeof wipe / sizeof wipe[0]; i++)
        if (db_exec(d, wipe[i], "") < 0)
            return -1;
    return 0;
}

int closing_reopen(struct db *d)
{
    return db_tx(d, reopen, NULL) == DB_TX_COMMITTED ? 0 : -1;
}

int closing_lock(struct db *d, const char *name, long long *through)
{
    return db_query_int(d, through, SQL_THROUGH_LOCK, "s", name) == 1 ? 0 : -1;
}

int closing_set_through(struct db *d, const char *name, long long day)
{
    return db_exec(d, SQL_SET_THROUGH, "is", day, name) < 0 ? -1 : 0;
}

int closing_through(struct db *d, const char *name, char out[11])
{
    struct db_rows *rows = db_query(d, SQL_THROUGH, "s", name);
    if (!rows)
        return -1;
    out[0] = '\0';
    if (db_rows_next(rows))
        snprintf(out, 11, "%s", db_rows_str(rows, 0, NULL));
    db_rows_free(rows);
    return 0;
}
