/* check_chain.c - the invariants of the chain and of the rollups (see
 * check.h).  Each check is one statement, so it reads one consistent
 * snapshot even while movements commit. */
#include "db/check.h"
#include "db/closing.h"
#include "db/collection_sets.h"
#include "db/db.h"
#include "db/rollup.h"

#include <stdio.h>
#include <string.h>

/* A site's stock head is the sum and the count of its movements. */
static const char SQL_STOCK[] =
    "SELECT COALESCE(s.site_id, m.site_id), COALESCE(s.category_id, m.category_id), "
    "COALESCE(s.on_hand, 0), COALESCE(s.seq, 0), COALESCE(m.q, 0), COALESCE(m.n, 0) "
    "FROM site_stock s LEFT JOIN (SELECT site_id, category_id, SUM(delta) AS q, COUNT(*) AS n, "
    "MIN(on_hand_after) AS low FROM stock_movements GROUP BY site_id, category_id) m "
    "ON m.site_id = s.site_id AND m.category_id = s.category_id "
    "WHERE s.on_hand <> COALESCE(m.q, 0) OR s.seq <> COALESCE(m.n, 0) OR s.on_hand < 0 "
    "OR COALESCE(m.low, 0) < 0 "
    "UNION ALL SELECT m.site_id, m.category_id, 0, 0, SUM(m.delta), COUNT(*) "
    "FROM stock_movements m LEFT JOIN site_stock s ON s.site_id = m.site_id "
    "AND s.category_id = m.category_id WHERE s.site_id IS NULL "
    "GROUP BY m.site_id, m.category_id LIMIT 100";

/* The rollups against the rows they sum (differences either way). */
static const char SQL_SITE_DAY[] =
    "WITH raw AS (SELECT site_id, local_day, category_id, SUM(n) AS n, SUM(g) AS g, "
    "SUM(i) AS i, SUM(p) AS p FROM (SELECT d.site_id, d.local_day, 0 AS category_id, 1 AS n, "
    "d.grams AS g, d.items AS i, d.points AS p FROM dropoffs d WHERE d.status = 'ok' "
    "UNION ALL SELECT d.site_id, d.local_day, l.category_id, 1, COALESCE(l.grams, 0), "
    "COALESCE(l.count, 0), l.points FROM dropoffs d JOIN dropoff_lines l ON l.dropoff_id = d.id "
    "WHERE d.status = 'ok') x GROUP BY 1, 2, 3) "
    "SELECT r.site_id, r.local_day, r.category_id FROM raw r LEFT JOIN stat_site_day s "
    "ON s.site_id = r.site_id AND s.local_day = r.local_day AND s.category_id = r.category_id "
    "WHERE s.site_id IS NULL OR s.dropoffs <> r.n OR s.grams <> r.g OR s.items <> r.i "
    "OR s.points <> r.p "
    "UNION ALL SELECT s.site_id, s.local_day, s.category_id FROM stat_site_day s "
    "LEFT JOIN raw r ON s.site_id = r.site_id AND s.local_day = r.local_day "
    "AND s.category_id = r.category_id WHERE r.site_id IS NULL AND (s.dropoffs <> 0 "
    "OR s.grams <> 0 OR s.items <> 0 OR s.points <> 0) LIMIT 100";
static const char SQL_STOCK_DAY[] =
    "WITH raw AS (SELECT site_id, local_day, category_id, kind, SUM(delta) AS q, COUNT(*) AS n "
    "FROM stock_movements GROUP BY 1, 2, 3, 4) "
    "SELECT r.site_id, r.local_day, r.category_id, r.kind FROM raw r LEFT JOIN stat_stock_day s "
    "ON s.site_id = r.site_id AND s.local_day = r.local_day AND s.category_id = r.category_id "
    "AND s.kind = r.kind WHERE s.site_id IS NULL OR s.qty <> r.q OR s.moves <> r.n "
    "UNION ALL SELECT s.site_id, s.local_day, s.category_id, s.kind FROM stat_stock_day s "
    "LEFT JOIN raw r ON s.site_id = r.site_id AND s.local_day = r.local_day "
    "AND s.category_id = r.category_id AND s.kind = r.kind "
    "WHERE r.site_id IS NULL AND (s.qty <> 0 OR s.moves <> 0) LIMIT 100";
static const char SQL_HOUSEHOLD_MONTH[] =
    "WITH raw AS (SELECT household_id, DATE_FORMAT(local_day, '%Y-%m-01') AS month, "
    "COUNT(*) AS n, SUM(points) AS p, SUM(grams) AS g, SUM(items) AS i FROM dropoffs "
    "WHERE status = 'ok' GROUP BY 1, 2) "
    "SELECT r.household_id, r.month FROM raw r LEFT JOIN stat_household_month s "
    "ON s.household_id = r.household_id AND s.month = r.month "
    "WHERE s.household_id IS NULL OR s.dropoffs <> r.n OR s.points <> r.p OR s.grams <> r.g "
    "OR s.items <> r.i "
    "UNION ALL SELECT s.household_id, s.month FROM stat_household_month s "
    "LEFT JOIN raw r ON s.household_id = r.household_id AND s.month = r.month "
    "WHERE r.household_id IS NULL AND (s.dropoffs <> 0 OR s.points <> 0 OR s.grams <> 0 "
    "OR s.items <> 0) LIMIT 100";

/* Each month row is the sum of its days. */
static const char SQL_SITE_MONTH[] =
    "WITH raw AS (SELECT site_id, DATE_FORMAT(local_day, '%Y-%m-01') AS month, category_id, "
    "SUM(dropoffs) AS n, SUM(grams) AS g, SUM(items) AS i, SUM(points) AS p FROM stat_site_day "
    "GROUP BY 1, 2, 3) "
    "SELECT r.site_id, r.month, r.category_id FROM raw r LEFT JOIN stat_site_month s "
    "ON s.site_id = r.site_id AND s.month = r.month AND s.category_id = r.category_id "
    "WHERE COALESCE(s.dropoffs, 0) <> r.n OR COALESCE(s.grams, 0) <> r.g "
    "OR COALESCE(s.items, 0) <> r.i OR COALESCE(s.points, 0) <> r.p "
    "UNION ALL SELECT s.site_id, s.month, s.category_id FROM stat_site_month s "
    "LEFT JOIN raw r ON s.site_id = r.site_id AND s.month = r.month "
    "AND s.category_id = r.category_id WHERE r.site_id IS NULL AND (s.dropoffs <> 0 "
    "OR s.grams <> 0 OR s.items <> 0 OR s.points <> 0) LIMIT 100";
static const char SQL_STOCK_MONTH[] =
    "WITH raw AS (SELECT site_id, DATE_FORMAT(local_day, '%Y-%m-01') AS month, category_id, "
    "kind, SUM(qty) AS q, SUM(moves) AS n FROM stat_stock_day GROUP BY 1, 2, 3, 4) "
    "SELECT r.site_id, r.month, r.category_id, r.kind FROM raw r LEFT JOIN stat_stock_month s "
    "ON s.site_id = r.site_id AND s.month = r.month AND s.category_id = r.category_id "
    "AND s.kind = r.kind WHERE COALESCE(s.qty, 0) <> r.q OR COALESCE(s.moves, 0) <> r.n "
    "UNION ALL SELECT s.site_id, s.month, s.category_id, s.kind FROM stat_stock_month s "
    "LEFT JOIN raw r ON s.site_id = r.site_id AND s.month = r.month "
    "AND s.category_id = r.category_id AND s.kind = r.kind "
    "WHERE r.site_id IS NULL AND (s.qty <> 0 OR s.moves <> 0) LIMIT 100";

/* The closed rollups (db/closing.h): each month row is the sum of its
 * days; the first and last day that have rows. */
static const char SQL_POINTS_MONTH[] =
    "WITH raw AS (SELECT region_id, DATE_FORMAT(local_day, '%Y-%m-01') AS month, kind, "
    "SUM(delta) AS d, SUM(moves) AS n FROM stat_points_day GROUP BY 1, 2, 3) "
    "SELECT r.region_id, r.month, r.kind FROM raw r LEFT JOIN stat_points_month s "
    "ON s.region_id = r.region_id AND s.month = r.month AND s.kind = r.kind "
    "WHERE COALESCE(s.delta, 0) <> r.d OR COALESCE(s.moves, 0) <> r.n "
    "UNION ALL SELECT s.region_id, s.month, s.kind FROM stat_points_month s "
    "LEFT JOIN raw r ON s.region_id = r.region_id AND s.month = r.month AND s.kind = r.kind "
    "WHERE r.region_id IS NULL LIMIT 100";
static const char SQL_POINTS_DAYS[] =
    "SELECT DATE_FORMAT(MIN(local_day), '%Y%m%d') + 0, DATE_FORMAT(MAX(local_day), '%Y%m%d') + 0 "
    "FROM stat_points_day";

/* The mass balance of the whole chain, per category: what came in at the
 * drop-off sites and stayed (collected - reversed) is on hand, in transit,
 * lost in transit, sent out, or missing at a count.  The movements are
 * summed from their month rollup, which the checks above tie to them. */
static const char SQL_MASS[] =
    "SELECT c.id, c.code, "
    "COALESCE((SELECT SUM(qty) FROM stat_stock_month WHERE category_id = c.id "
    "AND kind IN ('dropoff', 'reversal')), 0), "
    "COALESCE((SELECT SUM(on_hand) FROM site_stock WHERE category_id = c.id), 0) "
    "+ COALESCE((SELECT SUM(l.sent) FROM shipment_lines l JOIN shipments x "
    "ON x.id = l.shipment_id WHERE l.category_id = c.id AND x.status = 'in_transit'), 0) "
    "+ COALESCE((SELECT SUM(l.sent - l.received) FROM shipment_lines l JOIN shipments x "
    "ON x.id = l.shipment_id WHERE l.category_id = c.id AND x.status = 'received'), 0) "
    "+ COALESCE((SELECT SUM(qty) FROM outbound_lines WHERE category_id = c.id), 0) "
    "- COALESCE((SELECT SUM(qty) FROM stat_stock_month WHERE category_id = c.id "
    "AND kind = 'count'), 0) "
    "FROM categories c";

static void add(json_t *v, const char *rule, const char *detail)
{
    if (json_array_size(v) >= CHECK_MAX_VIOLATIONS)
        return;
    json_array_append_new(v, json_pack("{s:n, s:s, s:s}", "household_id", "rule", rule,
                                       "detail", detail));
}

/* A household set of collection that differs from its drop-offs. */
static void sets_bad(void *ctx, const char *what, const char *detail)
{
    add(ctx, strcmp(what, "month") == 0 ? "rollup_collection_month" : "rollup_collection_day",
        detail);
}

/* Rows of a rollup's key (nkeys columns) that disagree. */
static int keys_check(struct db *d, json_t *v, const char *sql, int nkeys, const char *rule,
                      const char *what)
{
    struct db_rows *r = db_query(d, sql, "");
    if (!r)
        return -1;
    char detail[200];
    while (db_rows_next(r)) {
        int n = snprintf(detail, sizeof detail, "the row of %s ", what);
        for (int k = 0; k < nkeys && n > 0 && (size_t)n < sizeof detail; k++)
            n += snprintf(detail + n, sizeof detail - (size_t)n, "%s%s", k ? "/" : "",
                          db_rows_str(r, k, NULL));
        if (n > 0 && (size_t)n < sizeof detail)
            snprintf(detail + n, sizeof detail - (size_t)n, " disagrees with the rows it sums");
        add(v, rule, detail);
    }
    db_rows_free(r);
    return 0;
}

static const char SQL_CHAIN_MONTH[] =
    "WITH raw AS (SELECT region_id, DATE_FORMAT(local_day, '%Y-%m-01') AS month, category_id, "
    "tier, kind, SUM(qty) AS q FROM stat_chain_day GROUP BY 1, 2, 3, 4, 5) "
    "SELECT r.region_id, r.month, r.category_id, r.tier, r.kind FROM raw r "
    "LEFT JOIN stat_chain_month s ON s.region_id = r.region_id AND s.month = r.month "
    "AND s.category_id = r.category_id AND s.tier = r.tier AND s.kind = r.kind "
    "WHERE COALESCE(s.qty, 0) <> r.q "
    "UNION ALL SELECT s.region_id, s.month, s.category_id, s.tier, s.kind FROM stat_chain_month s "
    "LEFT JOIN raw r ON s.region_id = r.region_id AND s.month = r.month "
    "AND s.category_id = r.category_id AND s.tier = r.tier AND s.kind = r.kind "
    "WHERE r.region_id IS NULL LIMIT 100";
static const char SQL_CHAIN_DAYS[] =
    "SELECT DATE_FORMAT(MIN(local_day), '%Y%m%d') + 0, DATE_FORMAT(MAX(local_day), '%Y%m%d') + 0 "
    "FROM stat_chain_day";

/* What the check of each closed rollup reads besides its days. */
static const struct {
    const char *day_rule, *month_rule, *month_key, *days, *months;
    int month_nkeys;
} closed_checks[CLOSING_N] = {
    [CLOSING_POINTS] = { "rollup_points_day", "rollup_points_month", "region/month/kind",
                         SQL_POINTS_DAYS, SQL_POINTS_MONTH, 3 },
    [CLOSING_CHAIN] = { "rollup_chain_day", "rollup_chain_month",
                        "region/month/category/tier/kind", SQL_CHAIN_DAYS, SQL_CHAIN_MONTH, 5 },
};

/* The first and the last day (YYYYMMDD) a rollup has rows for (sql:
 * MIN and MAX of its day), 0 when it has none.  0 or -1. */
static int span_of(struct db *d, const char *sql, long long *lo, long long *hi)
{
    struct db_rows *r = db_query(d, sql, "");
    if (!r)
        return -1;
    *lo = *hi = 0;
    if (db_rows_next(r)) {
        *lo = db_rows_int(r, 0);
        *hi = db_rows_int(r, 1);
    }
    db_rows_free(r);
    return 0;
}

/* Are the stored rows r (nkeys keys, then nvals counters, in key order)
 * the rows of t? */
static bool rows_match(const struct tally *t, struct db_rows *r, int nkeys, int nvals)
{
    int i = 0;
    bool same = true;
    while (same && db_rows_next(r)) {
        same = i < t->n;
        for (int k = 0; same && k < nkeys; k++)
            same = t->rows[i].key[k] == db_rows_int(r, k);
        for (int k = 0; same && k < nvals; k++)
            same = t->rows[i].val[k] == db_rows_int(r, nkeys + k);
        i++;
    }
    return same && i == t->n;
}

/* One closed day: its rows against the rows they sum, worked out again. */
static int closed_day_check(struct db *d, json_t *v, enum closing_rollup rl, long long day)
{
    const struct closing_spec *sp = &closing_specs[rl];
    int nkeys = sp->day->nkeys, nvals = sp->day->nvals;
    struct tally t;
    tally_init(&t, sp->day);
    struct db_rows *r = NULL;
    int rc = closing_day_tally(d, rl, day, &t);
    if (rc == 0 && !(r = db_query(d, sp->stored, "i", day)))
        rc = -1;
    if (rc == 0 && !rows_match(&t, r, nkeys, nvals)) {
        char detail[200];
        snprintf(detail, sizeof detail,
                 "the %s rows of day %lld disagree with what they sum", sp->name, day);
        add(v, closed_checks[rl].day_rule, detail);
    }
    db_rows_free(r);
    tally_release(&t);
    return rc;
}

/* Every closed day worked out again (a late row, a row changed by hand),
 * no rows after the last closed day, the months against their days. */
static int closed_check(struct db *d, json_t *v, enum closing_rollup rl)
{
    char through[11];
    long long first, lo, hi;
    if (closing_through(d, closing_specs[rl].name, through) != 0 || closing_first_day(d, rl, &first) != 0 ||
        span_of(d, closed_checks[rl].days, &lo, &hi) != 0)
        return -1;
    long long last = rollup_day(through);
    if (hi > last) {
        char detail[200];
        snprintf(detail, sizeof detail, "%s rows for day %lld, after the last closed day",
                 closing_specs[rl].name, hi);
        add(v, closed_checks[rl].day_rule, detail);
    }
    if (lo && (!first || lo < first))
        first = lo;
    for (long long day = first; day && day <= last; day = closing_next_day(day))
        if (closed_day_check(d, v, rl, day) != 0)
            return -1;
    return keys_check(d, v, closed_checks[rl].months, closed_checks[rl].month_nkeys,
                      closed_checks[rl].month_rule, closed_checks[rl].month_key);
}

static const char SQL_PARTICIPATION_MONTHS[] =
    "SELECT DATE_FORMAT(MIN(month), '%Y%m%d') + 0, DATE_FORMAT(MAX(month), '%Y%m%d') + 0 "
    "FROM stat_participation_month";
static const char SQL_PARTICIPATION_ROWS[] =
    "SELECT region_id, DATE_FORMAT(month, '%Y%m%d') + 0, scope + 0, households, by_dropoff, "
    "by_inspection, by_both FROM stat_participation_month WHERE month = ? "
    "AND (households <> 0 OR by_dropoff <> 0 OR by_inspection <> 0 OR by_both <> 0) "
    "ORDER BY region_id, scope";
static const char SQL_PARTICIPATION_LATE[] =
    "SELECT COUNT(*) FROM participation_late WHERE month = ?";

/* Participation's closed months, each worked out again, but for a month
 * with late marks the closer has still to work out (a minute). */
static int participation_check(struct db *d, json_t *v)
{
    char through[11], detail[200];
    long long lo, hi;
    if (closing_through(d, CLOSING_MONTHS_NAME, through) != 0 ||
        span_of(d, SQL_PARTICIPATION_MONTHS, &lo, &hi) != 0)
        return -1;
    long long last = rollup_day(through);
    if (hi > last) {
        snprintf(detail, sizeof detail, "participation rows for month %lld, not closed", hi);
        add(v, "rollup_participation_month", detail);
    }
    for (long long month = lo; month && month <= last;
         month = closing_next_month(month)) {
        long long marks = 0;
        if (db_query_int(d, &marks, SQL_PARTICIPATION_LATE, "i", month) < 0)
            return -1;
        if (marks)
            continue;
        struct tally t;
        tally_init(&t, &closing_participation_spec);
        int rc = closing_month_tally(d, month, 0, &t);
        struct db_rows *rows = rc == 0 ? db_query(d, SQL_PARTICIPATION_ROWS, "i", month) : NULL;
        if (rows && !rows_match(&t, rows, 3, 4)) {
            snprintf(detail, sizeof detail,
                     "the participation rows of month %lld disagree with what they count", month);
            add(v, "rollup_participation_month", detail);
        }
        if (rc == 0 && !rows)
            rc = -1;
        db_rows_free(rows);
        tally_release(&t);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int chain_check(struct db *d, json_t *v)
{
    char detail[200];
    struct db_rows *r = db_query(d, SQL_STOCK, "");
    if (!r)
        return -1;
    while (db_rows_next(r)) {
        snprintf(detail, sizeof detail,
                 "site %lld category %lld: on hand %lld at seq %lld, its movements sum to %lld "
                 "in %lld rows (or one went below 0)",
                 db_rows_int(r, 0), db_rows_int(r, 1), db_rows_int(r, 2), db_rows_int(r, 3),
                 db_rows_int(r, 4), db_rows_int(r, 5));
        add(v, "stock_sum", detail);
    }
    db_rows_free(r);
    if (keys_check(d, v, SQL_SITE_DAY, 3, "rollup_site_day", "site/day/category") != 0 ||
        keys_check(d, v, SQL_STOCK_DAY, 4, "rollup_stock_day", "site/day/category/kind") != 0 ||
        keys_check(d, v, SQL_SITE_MONTH, 3, "rollup_site_month", "site/month/category") != 0 ||
        keys_check(d, v, SQL_STOCK_MONTH, 4, "rollup_stock_month", "site/month/category/kind") !=
            0 ||
        keys_check(d, v, SQL_HOUSEHOLD_MONTH, 2, "rollup_household_month", "household/month") !=
            0)
        return -1;
    for (int rl = 0; rl < CLOSING_N; rl++)
        if (closed_check(d, v, (enum closing_rollup)rl) != 0)
            return -1;
    if (participation_check(d, v) != 0 || collection_sets_verify(d, sets_bad, v) != 0)
        return -1;
    if (!(r = db_query(d, SQL_MASS, "")))
        return -1;
    while (db_rows_next(r)) {
        long long in = db_rows_int(r, 2), out = db_rows_int(r, 3);
        if (in == out)
            continue;
        snprintf(detail, sizeof detail,
                 "%s: collected less reversed is %lld, on hand, in transit, lost, sent out and "
                 "missing come to %lld",
                 db_rows_str(r, 1, NULL), in, out);
        add(v, "mass_balance", detail);
    }
    db_rows_free(r);
    return 0;
}
