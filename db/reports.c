/* reports.c - see reports.h.
 *
 * The SQL is put together from fixed fragments only (the group's key, the
 * filters present); every value is a bound parameter.  Every statement is
 * bounded (BOUNDED): past 8 s MariaDB stops it, and the
 * report is answered 503, before the link's read timeout gives up on it
 * and leaves it running. */
#include "db/reports.h"
#include "server/clock.h"
#include "db/db.h"

#include <stdio.h>
#include <string.h>

/* The child of the region (path ?, id ?) that a row's path lies under:
 * the path's next id after the region's, or the region itself. */
#define CHILD(col)                                                                         \
    "COALESCE(CAST(NULLIF(SUBSTRING_INDEX(SUBSTRING(" col ", LENGTH(?) + 1), '/', 1), '') " \
    "AS UNSIGNED), ?)"

#define MAX_PARAMS 64
#define BOUNDED "SET STATEMENT max_statement_time = 8 FOR "

struct sql {
    char text[6144];
    size_t len;
    struct db_param p[MAX_PARAMS];
    int n;
};

static void sql_add(struct sql *q, const char *text)
{
    int w = snprintf(q->text + q->len, sizeof q->text - q->len, "%s", text);
    if (w > 0)
        q->len += (size_t)w;
}

static void sql_int(struct sql *q, long long v)
{
    if (q->n < MAX_PARAMS)
        q->p[q->n++] = (struct db_param){ 'i', v, NULL, 0 };
}

static void sql_str(struct sql *q, const char *s)
{
    if (q->n < MAX_PARAMS)
        q->p[q->n++] = (struct db_param){ 's', 0, s, 0 };
}

static struct db_rows *sql_run(struct db *d, struct sql *q)
{
    return db_query_built(d, q->text, q->p, q->n);
}

/* ---- days and months ---- */

void report_whole_months(const char *from, const char *to, char wf[11], char wt[11])
{
    int y, m, d;
    snprintf(wf, 11, "9999-12-31");
    snprintf(wt, 11, "1000-01-01");
    if (!clock_parse_day(from, &y, &m, &d))
        return;
    long long first = clock_days_from_civil(y, m, d);
    if (d != 1)
        first = clock_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1);
    if (!clock_parse_day(to, &y, &m, &d))
        return;
    long long last = clock_days_from_civil(y, m, d);
    int ny, nm, nd;
    clock_civil_from_days(last + 1, &ny, &nm, &nd);
    if (nd != 1)                                       /* to is not a month's last day */
        last = clock_days_from_civil(y, m, 1) - 1;
    if (first > last)
        return;
    clock_civil_from_days(first, &y, &m, &d);
    snprintf(wf, 11, "%04d-%02d-%02d", y, m, d);
    clock_civil_from_days(last, &y, &m, &d);
    snprintf(wt, 11, "%04d-%02d-%02d", y, m, d);
}

/* The days from..to as a derived table "k" (k.day), from the Sequence
 * engine: joined before the drop-offs, it lets their (site, day, status)
 * index find a site's rows of each day, where a range on the day after
 * the site would read the site's whole history.  -1 for a bad window. */
static int window_days(struct sql *q, const char *from, const char *to)
{
    int y, m, dd;
    if (!clock_parse_day(from, &y, &m, &dd))
        return -1;
    long long first = clock_days_from_civil(y, m, dd);
    if (!clock_parse_day(to, &y, &m, &dd))
        return -1;
    long long n = clock_days_from_civil(y, m, dd) - first;
    if (n < 0 || n > 400)
        return -1;
    char text[128];
    snprintf(text, sizeof text, "(SELECT CAST(? AS DATE) + INTERVAL seq DAY AS day FROM seq_0_to_%lld) k ", n);
    sql_add(q, text);
    sql_str(q, from);
    return 0;
}

/* A derived table "s" of the day rollup's rows filed on from..to at the
 * sites of the region (path), its whole months read from the month
 * rollup instead: cols are the value columns both have; a month row's day
 * is its 1st.  Each branch finds the region's sites first, so it reads
 * only their rows.  wf and wt hold the whole months (whole_months) and
 * outlive the query. */
static void rollup_rows(struct sql *q, const char *day_table, const char *month_table,
                        const char *cols, const char *path, const char *from, const char *to,
                        char wf[11], char wt[11], bool days_only)
{
    if (days_only) {
        snprintf(wf, 11, "9999-12-31");
        snprintf(wt, 11, "1000-01-01");
    } else {
        report_whole_months(from, to, wf, wt);
    }
    char text[768];
    snprintf(text, sizeof text,
             "(SELECT x.site_id, x.local_day, %s FROM regions r0 STRAIGHT_JOIN sites t0 "
             "ON t0.region_id = r0.id STRAIGHT_JOIN ", cols);
    sql_add(q, text);
    /* a window of days is joined day by day; a history (flows' opening
     * stock) is read as a range */
    bool by_day = window_days(q, from, to) == 0;
    snprintf(text, sizeof text,
             "%s%s x %s ON x.site_id = t0.id %s WHERE r0.path LIKE CONCAT(?, '%%') %s "
             "UNION ALL SELECT x.site_id, x.month, %s FROM regions r0 STRAIGHT_JOIN sites t0 "
             "ON t0.region_id = r0.id STRAIGHT_JOIN %s x ON x.site_id = t0.id "
             "WHERE r0.path LIKE CONCAT(?, '%%') AND x.month BETWEEN ? AND ?) s ",
             by_day ? "STRAIGHT_JOIN " : "", day_table, by_day ? "FORCE INDEX (PRIMARY)" : "",
             by_day ? "AND x.local_day = k.day" : "",
             by_day ? "AND (k.day < ? OR k.day > ?)"
                    : "AND x.local_day BETWEEN ? AND ? AND (x.local_day < ? OR x.local_day > ?)",
             cols, month_table);
    sql_add(q, text);
    sql_str(q, path);
    if (!by_day) {
        sql_str(q, from);
        sql_str(q, to);
    }
    sql_str(q, wf);
    sql_str(q, wt);
    sql_str(q, path);
    sql_str(q, wf);
    sql_str(q, wt);
}

/* ---- collection ---- */

/* The key of a group over drop-off rows (alias d, site t, region g) or
 * over stat_site_day rows (alias s). */
static void collection_key(struct sql *q, const struct collection_query *c, bool raw)
{
    switch (c->group) {
    case GROUP_CATEGORY:
        sql_add(q, raw ? "l.category_id" : "s.category_id");
        break;
    case GROUP_SITE:
        sql_add(q, raw ? "d.site_id" : "s.site_id");
        break;
    case GROUP_REGION:
        sql_add(q, CHILD("g.path"));
        sql_str(q, c->path);
        sql_int(q, c->region_id);
        break;
    case GROUP_DAY:
        sql_add(q, raw ? "d.local_day" : "s.local_day");
        break;
    case GROUP_MONTH:
        sql_add(q, raw ? "DATE_FORMAT(d.local_day, '%Y-%m')" : "DATE_FORMAT(s.local_day, '%Y-%m')");
        break;
    }
}

static void collection_filters(struct sql *q, const struct collection_query *c, const char *site)
{
    if (c->site_id) {
        sql_add(q, site);
        sql_int(q, c->site_id);
    }
    if (c->network) {
        sql_add(q, " AND t.network = ?");
        sql_str(q, c->network);
    }
}

struct db_rows *report_collection(struct db *d, const struct collection_query *c, bool grouped)
{
    struct sql q = { .len = 0 };
    sql_add(&q, BOUNDED "SELECT ");
    if (grouped)
        collection_key(&q, c, false);
    else
        sql_add(&q, "''");
    sql_add(&q, ", COALESCE(SUM(s.dropoffs), 0), COALESCE(SUM(s.grams), 0), "
                "COALESCE(SUM(s.items), 0), COALESCE(SUM(s.points), 0) FROM ");
    char wf[11], wt[11];
    rollup_rows(&q, "stat_site_day", "stat_site_month",
                "x.category_id, x.dropoffs, x.grams, x.items, x.points", c->path, c->p.from,
                c->p.to, wf, wt, grouped && c->group == GROUP_DAY);
    sql_add(&q, "JOIN sites t ON t.id = s.site_id JOIN regions g ON g.id = t.region_id "
                "WHERE g.path LIKE CONCAT(?, '%')");
    sql_str(&q, c->path);
    if (grouped && c->group == GROUP_CATEGORY && !c->category_id) {
        sql_add(&q, " AND s.category_id <> 0");
    } else {
        /* the drop-offs themselves (row 0), or those of one category */
        sql_add(&q, " AND s.category_id = ?");
        sql_int(&q, c->category_id);
    }
    collection_filters(&q, c, " AND s.site_id = ?");
    if (grouped)
        sql_add(&q, " GROUP BY 1 ORDER BY 1");
    return sql_run(d, &q);
}

/* members: the distinct (key, household) pairs rather than a count a key */
static struct db_rows *households(struct db *d, const struct collection_query *c, bool grouped,
                                  bool members)
{
    bool lines = c->category_id || (grouped && c->group == GROUP_CATEGORY);
    struct sql q = { .len = 0 };
    sql_add(&q, BOUNDED "SELECT ");
    if (grouped)
        collection_key(&q, c, true);
    else
        sql_add(&q, "''");
    sql_add(&q, members ? ", d.household_id" : ", COUNT(DISTINCT d.household_id)");
    sql_add(&q, " FROM regions g "
                "STRAIGHT_JOIN sites t ON t.region_id = g.id STRAIGHT_JOIN ");
    if (window_days(&q, c->p.from, c->p.to) != 0)
        return NULL;
    sql_add(&q, "STRAIGHT_JOIN dropoffs d FORCE INDEX (ix_dropoffs_site_day_hh) "
                "ON d.site_id = t.id AND d.local_day = k.day AND d.status = 'ok' ");
    if (lines)
        sql_add(&q, "JOIN dropoff_lines l ON l.dropoff_id = d.id ");
    sql_add(&q, "WHERE g.path LIKE CONCAT(?, '%')");
    sql_str(&q, c->path);
    if (c->category_id) {
        sql_add(&q, " AND l.category_id = ?");
        sql_int(&q, c->category_id);
    }
    collection_filters(&q, c, " AND d.site_id = ?");
    if (members)
        sql_add(&q, " GROUP BY 1, 2 ORDER BY 1, 2");
    else if (grouped)
        sql_add(&q, " GROUP BY 1");
    return sql_run(d, &q);
}

struct db_rows *report_collection_households(struct db *d, const struct collection_query *c,
                                             bool grouped)
{
    return households(d, c, grouped, false);
}

struct db_rows *report_collection_members(struct db *d, const struct collection_query *c,
                                          bool grouped)
{
    return households(d, c, grouped, true);
}

/* ---- people ---- */

struct db_rows *report_households_open(struct db *d, const char *path, long long region_id,
                                       const long long *at, int n)
{
    /* one pass over the region's households, a sum for each moment;
     * the child's path is worked out once a village, not once a household */
    struct sql q = { .len = 0 };
    if (n < 1 || n > REPORT_OPEN_MAX)
        return NULL;
    sql_add(&q, BOUNDED "SELECT " CHILD("x.path"));
    sql_str(&q, path);
    sql_int(&q, region_id);
    for (int i = 0; i < n; i++) {
        char col[40];
        snprintf(col, sizeof col, ", SUM(x.n%d)", i);
        sql_add(&q, col);
    }
    sql_add(&q, " FROM (SELECT g.path AS path");
    for (int i = 0; i < n; i++) {
        char col[160];
        snprintf(col, sizeof col,
                 ", SUM(h.created_at < FROM_UNIXTIME(?) AND (h.closed_at IS NULL "
                 "OR h.closed_at >= FROM_UNIXTIME(?))) AS n%d", i);
        sql_add(&q, col);
        sql_int(&q, at[i]);
        sql_int(&q, at[i]);
    }
    sql_add(&q, " FROM regions g STRAIGHT_JOIN households h ON h.region_id = g.id "
                "WHERE g.path LIKE CONCAT(?, '%') GROUP BY g.id) x GROUP BY 1");
    sql_str(&q, path);
    return sql_run(d, &q);
}

struct db_rows *report_active(struct db *d, const char *path, long long region_id,
                              const char *month)
{
    /* one month: the index (region_id, month) is then read by both parts */
    return db_query(d,
                    BOUNDED "SELECT " CHILD("x.path") ", x.month, SUM(x.n) FROM (SELECT g.path AS path, "
                    "DATE_FORMAT(s.month, '%Y-%m') AS month, COUNT(*) AS n "
                    "FROM regions g STRAIGHT_JOIN stat_household_month s ON s.region_id = g.id "
                    "AND s.month = ? WHERE g.path LIKE CONCAT(?, '%') "
                    "AND s.dropoffs > 0 GROUP BY g.id, s.month) x GROUP BY 1, 2",
                    "siss", path, region_id, month, path);
}

struct db_rows *report_active_inspected(struct db *d, const char *path, long long region_id,
                                        const char *first, const char *last)
{
    return db_query(d,
                    BOUNDED "SELECT " CHILD("x.path") ", x.month, COUNT(*), SUM(x.dropped) FROM "
                    "(SELECT g.path AS path, DATE_FORMAT(i.local_day, '%Y-%m') AS month, "
                    "i.household_id, MAX(COALESCE(s.dropoffs, 0) > 0) AS dropped "
                    "FROM regions g STRAIGHT_JOIN inspections i ON i.region_id = g.id "
                    "LEFT JOIN stat_household_month s ON s.household_id = i.household_id "
                    "AND s.month = DATE_FORMAT(i.local_day, '%Y-%m-01') "
                    "WHERE g.path LIKE CONCAT(?, '%') AND i.local_day BETWEEN ? AND LAST_DAY(?) "
                    "AND i.status = 'recorded' GROUP BY g.path, month, i.household_id) x "
                    "GROUP BY 1, 2",
                    "sisss", path, region_id, path, first, last);
}

struct db_rows *report_inspection_counts(struct db *d, const char *path, long long region_id,
                                         const char *first, const char *last)
{
    return db_query(d,
                    BOUNDED "SELECT " CHILD("g.path") ", COUNT(DISTINCT i.household_id), "
                    "COUNT(*), SUM(i.result = 'pass'), SUM(i.result = 'partial'), "
                    "SUM(i.result = 'fail') FROM regions g STRAIGHT_JOIN inspections i "
                    "ON i.region_id = g.id WHERE g.path LIKE CONCAT(?, '%') "
                    "AND i.local_day BETWEEN ? AND ? AND i.status = 'recorded' GROUP BY 1",
                    "sisss", path, region_id, path, first, last);
}

struct db_rows *report_inspected_households(struct db *d, const char *path, const char *first,
                                            const char *last)
{
    return db_query(d,
                    BOUNDED "SELECT i.household_id, h.head_name, g.name, g.path, COUNT(*), "
                    "SUM(i.result = 'pass'), SUM(i.result = 'partial') "
                    "FROM regions g STRAIGHT_JOIN inspections i ON i.region_id = g.id "
                    "JOIN households h ON h.id = i.household_id "
                    "WHERE g.path LIKE CONCAT(?, '%') AND i.local_day BETWEEN ? AND ? "
                    "AND i.status = 'recorded' GROUP BY i.household_id, h.head_name, g.name, g.path "
                    "ORDER BY i.household_id",
                    "sss", path, first, last);
}

/* The closed months' rows of the region's children (subtree) and of the
 * region's own households. */
struct db_rows *report_participation_closed(struct db *d, long long region_id,
                                            const char *first, const char *last)
{
#define PARTICIPATION_CLOSED(k)                                                             \
    BOUNDED "WITH k AS (" k ") SELECT k.r, DATE_FORMAT(x.month, '%Y-%m'), x.households, "   \
    "x.by_dropoff, x.by_inspection, x.by_both FROM k STRAIGHT_JOIN stat_participation_month x " \
    "ON x.region_id = k.r AND x.scope = k.sc WHERE x.month BETWEEN ? AND ?"
    static const char tree[] = PARTICIPATION_CLOSED(
        "SELECT id AS r, 'subtree' AS sc FROM regions WHERE parent_id IS NULL");
    static const char region[] = PARTICIPATION_CLOSED(
        "SELECT id AS r, 'subtree' AS sc FROM regions WHERE parent_id = ? "
        "UNION ALL SELECT ?, 'own'");
#undef PARTICIPATION_CLOSED
    if (!region_id)
        return db_query(d, tree, "ss", first, last);
    return db_query(d, region, "iiss", region_id, region_id, first, last);
}

/* A wide region reads the month's rows most points first (index
 * ix_shm_month_points) until it has limit of its own; a narrow one finds
 * its few households' rows from its villages and sorts them. */
#define LEADERBOARD_COLUMNS "SELECT s.household_id, s.points, s.dropoffs, h.head_name, g.name "
#define LEADERBOARD_ORDER " ORDER BY s.points DESC, s.household_id LIMIT ?"

struct db_rows *report_leaderboard(struct db *d, const char *path, const char *month, int limit,
                                   bool wide)
{
    static const char by_order[] =
        BOUNDED LEADERBOARD_COLUMNS
        "FROM stat_household_month s FORCE INDEX (ix_shm_month_points) "
        "STRAIGHT_JOIN regions g ON g.id = s.region_id "
        "STRAIGHT_JOIN households h ON h.id = s.household_id "
        "WHERE s.month = ? AND g.path LIKE CONCAT(?, '%') AND s.dropoffs > 0" LEADERBOARD_ORDER;
    static const char by_region[] =
        BOUNDED LEADERBOARD_COLUMNS
        "FROM regions g STRAIGHT_JOIN stat_household_month s ON s.region_id = g.id "
        "STRAIGHT_JOIN households h ON h.id = s.household_id "
        "WHERE s.month = ? AND g.path LIKE CONCAT(?, '%') AND s.dropoffs > 0" LEADERBOARD_ORDER;
    return db_query(d, wide ? by_order : by_region, "ssi", month, path, (long long)limit);
}

/* ---- points ---- */

/* The ledger rows of a period at the households of a region, summed per
 * village and kind: over a county or less, read household by household
 * (the region's own history); over more, by time (the period's rows). */
#define POINTS_MOVED(from)                                                                  \
    BOUNDED "SELECT " CHILD("x.path") ", x.kind, SUM(x.s) FROM (SELECT g.path AS path, "   \
    "l.kind AS kind, SUM(l.delta) AS s FROM " from " WHERE g.path LIKE CONCAT(?, '%') "     \
    "AND l.created_at >= FROM_UNIXTIME(?) AND (? = 0 OR l.created_at < FROM_UNIXTIME(?)) " \
    "GROUP BY g.id, l.kind) x GROUP BY 1, 2"

struct db_rows *report_points_moved(struct db *d, const char *path, long long region_id,
                                    long long start, long long end, bool by_household)
{
    static const char by_time[] =
        POINTS_MOVED("ledger l JOIN households h ON h.id = l.household_id "
                     "JOIN regions g ON g.id = h.region_id");
    static const char by_hh[] =
        POINTS_MOVED("regions g STRAIGHT_JOIN households h ON h.region_id = g.id "
                     "STRAIGHT_JOIN ledger l ON l.household_id = h.id");
    return db_query(d, by_household ? by_hh : by_time, "sisiii", path, region_id, path, start,
                    end, end);
}

/* The closed rollup's rows of the children (r, c, sign 1), and of the
 * region itself less its children (the region's own households). */
#define POINTS_CLOSED(k)                                                                    \
    BOUNDED "WITH k AS (" k ") SELECT y.c, y.kind, SUM(y.v) FROM ("                         \
    "SELECT k.c, x.kind, k.sg * x.delta AS v FROM k STRAIGHT_JOIN stat_points_month x "     \
    "ON x.region_id = k.r WHERE x.month BETWEEN ? AND ? "                                   \
    "UNION ALL SELECT k.c, x.kind, k.sg * x.delta FROM k STRAIGHT_JOIN stat_points_day x "  \
    "ON x.region_id = k.r WHERE x.local_day BETWEEN ? AND ? "                               \
    "AND (x.local_day < ? OR x.local_day > ?)) y GROUP BY 1, 2"

struct db_rows *report_points_closed(struct db *d, long long region_id, const char *from,
                                     const char *to)
{
    static const char tree[] =
        POINTS_CLOSED("SELECT id AS r, id AS c, 1 AS sg FROM regions WHERE parent_id IS NULL");
    static const char region[] =
        POINTS_CLOSED("SELECT ? AS r, ? AS c, 1 AS sg UNION ALL SELECT id, id, 1 FROM regions "
                      "WHERE parent_id = ? UNION ALL SELECT id, ?, -1 FROM regions "
                      "WHERE parent_id = ?");
    char wf[11], wt[11];
    report_whole_months(from, to, wf, wt);
    if (!region_id)
        return db_query(d, tree, "ssssss", wf, wt, from, to, wf, wt);
    return db_query(d, region, "iiiiissssss", region_id, region_id, region_id, region_id,
                    region_id, wf, wt, from, to, wf, wt);
}

struct db_rows *report_balances(struct db *d, const char *path, long long region_id)
{
    return db_query(d,
                    BOUNDED "SELECT " CHILD("g.path") ", SUM(h.balance) FROM households h "
                    "JOIN regions g ON g.id = h.region_id WHERE g.path LIKE CONCAT(?, '%') "
                    "GROUP BY 1",
                    "sis", path, region_id, path);
}

/* ---- flows ---- */

struct db_rows *report_stock_moved(struct db *d, const char *path, const char *from,
                                   const char *to)
{
    struct sql q = { .len = 0 };
    char wf[11], wt[11];
    sql_add(&q, BOUNDED "SELECT s.category_id, t.tier, s.kind, SUM(s.qty) FROM ");
    rollup_rows(&q, "stat_stock_day", "stat_stock_month", "x.category_id, x.kind, x.qty", path,
                from && *from ? from : "1000-01-01", to, wf, wt, false);
    sql_add(&q, "JOIN sites t ON t.id = s.site_id JOIN regions g ON g.id = t.region_id "
                "WHERE g.path LIKE CONCAT(?, '%') GROUP BY 1, 2, 3");
    sql_str(&q, path);
    return sql_run(d, &q);
}

struct db_rows *report_stock_recent(struct db *d, const char *path, const char *from,
                                    const char *to)
{
    return db_query(d,
                    BOUNDED "SELECT s.category_id, t.tier, s.kind, SUM(s.qty) "
                    "FROM stat_stock_day s FORCE INDEX (ix_stock_day_day) "
                    "JOIN sites t ON t.id = s.site_id JOIN regions g ON g.id = t.region_id "
                    "WHERE s.local_day BETWEEN ? AND ? AND g.path LIKE CONCAT(?, '%') "
                    "GROUP BY 1, 2, 3",
                    "sss", from, to, path);
}

struct db_rows *report_chain_closed(struct db *d, long long region_id, const char *from,
                                    const char *to)
{
    char wf[11], wt[11];
    report_whole_months(from, to, wf, wt);
    return db_query(d,
                    BOUNDED "SELECT y.category_id, y.tier, y.kind, SUM(y.qty) FROM ("
                    "SELECT category_id, tier, kind, qty FROM stat_chain_month "
                    "WHERE region_id = ? AND month BETWEEN ? AND ? "
                    "UNION ALL SELECT category_id, tier, kind, qty FROM stat_chain_day "
                    "WHERE region_id = ? AND local_day BETWEEN ? AND ? "
                    "AND (local_day < ? OR local_day > ?)) y GROUP BY 1, 2, 3",
                    "ississss", region_id, wf, wt, region_id, from, to, wf, wt);
}

struct db_rows *report_stock_now(struct db *d, const char *path)
{
    return db_query(d,
                    BOUNDED "SELECT st.category_id, t.tier, SUM(st.on_hand) FROM site_stock st "
                    "JOIN sites t ON t.id = st.site_id JOIN regions g ON g.id = t.region_id "
                    "WHERE g.path LIKE CONCAT(?, '%') GROUP BY 1, 2",
                    "s", path);
}

struct db_rows *report_stock_after(struct db *d, const char *path, const char *to)
{
    return db_query(d,
                    BOUNDED "SELECT s.category_id, t.tier, SUM(s.qty) FROM regions g "
                    "STRAIGHT_JOIN sites t ON t.region_id = g.id "
                    "STRAIGHT_JOIN stat_stock_day s ON s.site_id = t.id "
                    "WHERE g.path LIKE CONCAT(?, '%') AND s.local_day > ? GROUP BY 1, 2",
                    "ss", path, to);
}

struct db_rows *report_outbound(struct db *d, const char *path, const char *from,
                                const char *to)
{
    return db_query(d,
                    BOUNDED "SELECT l.category_id, o.disposition, SUM(l.qty) FROM outbounds o "
                    "JOIN outbound_lines l ON l.outbound_id = o.id "
                    "JOIN sites t ON t.id = o.site_id JOIN regions g ON g.id = t.region_id "
                    "WHERE g.path LIKE CONCAT(?, '%') AND (? = '' OR o.local_day >= ?) "
                    "AND o.local_day <= ? GROUP BY 1, 2",
                    "ssss", path, from, from, to);
}

/* Shipments with both ends in the region (path, path). */
#define BOTH_ENDS                                                                        \
    "FROM regions gf STRAIGHT_JOIN sites f ON f.region_id = gf.id "                      \
    "STRAIGHT_JOIN shipments x ON x.from_site_id = f.id "                                \
    "JOIN shipment_lines l ON l.shipment_id = x.id "                                     \
    "JOIN sites t ON t.id = x.to_site_id JOIN regions gt ON gt.id = t.region_id "        \
    "WHERE gf.path LIKE CONCAT(?, '%') AND gt.path LIKE CONCAT(?, '%') "

struct db_rows *report_in_transit(struct db *d, const char *path, long long at)
{
    return db_query(d,
                    BOUNDED "SELECT l.category_id, SUM(l.sent) " BOTH_ENDS
                    "AND x.sent_at < FROM_UNIXTIME(?) "
                    "AND (x.received_at IS NULL OR x.received_at >= FROM_UNIXTIME(?)) "
                    "AND (x.cancelled_at IS NULL OR x.cancelled_at >= FROM_UNIXTIME(?)) "
                    "GROUP BY 1",
                    "ssiii", path, path, at, at, at);
}

struct db_rows *report_transit_loss(struct db *d, const char *path, long long start,
                                    long long end)
{
    return db_query(d,
                    BOUNDED "SELECT l.category_id, SUM(l.sent - l.received) " BOTH_ENDS
                    "AND x.received_at >= FROM_UNIXTIME(?) AND x.received_at < FROM_UNIXTIME(?) "
                    "GROUP BY 1",
                    "ssii", path, path, start, end);
}

struct db_rows *report_border(struct db *d, const char *path, long long start, long long end)
{
    return db_query(
        d,
        BOUNDED "SELECT l.category_id, "
        "SUM(IF(fin AND x.sent_at >= FROM_UNIXTIME(?) AND x.sent_at < FROM_UNIXTIME(?), l.sent, 0)) "
        "- SUM(IF(fin AND x.cancelled_at >= FROM_UNIXTIME(?) "
        "AND x.cancelled_at < FROM_UNIXTIME(?), l.sent, 0)), "
        "SUM(IF(NOT fin AND x.received_at >= FROM_UNIXTIME(?) "
        "AND x.received_at < FROM_UNIXTIME(?), l.received, 0)) "
        "FROM (SELECT x.*, gf.path LIKE CONCAT(?, '%') AS fin, gt.path LIKE CONCAT(?, '%') AS tin "
        "FROM shipments x JOIN sites f ON f.id = x.from_site_id "
        "JOIN regions gf ON gf.id = f.region_id JOIN sites t ON t.id = x.to_site_id "
        "JOIN regions gt ON gt.id = t.region_id) x "
        "JOIN shipment_lines l ON l.shipment_id = x.id WHERE x.fin <> x.tin GROUP BY 1",
        "iiiiiiss", start, end, start, end, start, end, path, path);
}

struct db_rows *report_shortfall(struct db *d, const char *path)
{
    return db_query(d,
                    BOUNDED "SELECT st.category_id, SUM(st.shortfall) FROM site_stock st "
                    "JOIN sites t ON t.id = st.site_id JOIN regions g ON g.id = t.region_id "
                    "WHERE g.path LIKE CONCAT(?, '%') GROUP BY 1",
                    "s", path);
}
