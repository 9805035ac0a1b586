/* reports.c - the programme's statistics: GET /v1/reports/collection,
 * /participation, /leaderboard, /flows and /points (api.md, "Reports"),
 * each JSON or CSV.
 *
 * The rules they share live here once: region_id (required of a region
 * admin, the whole tree for an admin by default, 404 outside reach),
 * from/to (local days, both included, at most 366 days apart; by default
 * this month so far), month (YYYY-MM).  The figures come from db/reports.c;
 * this file shapes them. */
#include "api/handlers.h"
#include "api/list.h"
#include "api/reach.h"
#include "api/report_out.h"
#include "api/report_params.h"
#include "server/clock.h"
#include "server/request.h"
#include "db/catalog.h"
#include "db/db.h"
#include "db/mask.h"
#include "db/regions.h"
#include "db/reports.h"
#include "db/sites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- collection ---- */

static const char *const collection_cols[] = { "key", "label", "dropoffs", "grams", "items",
                                               "points", "households", NULL };

static bool group_or_reply(struct req *r, enum report_group *g)
{
    static const char *const names[] = { "category", "site", "region", "day", "month", NULL };
    const char *v = req_query(r, "group_by");
    if (!v || !*v) {
        *g = GROUP_CATEGORY;
        return true;
    }
    for (int i = 0; names[i]; i++)
        if (strcmp(v, names[i]) == 0) {
            *g = (enum report_group)i;
            return true;
        }
    reply_error(r, 400, "invalid_request", "group_by",
                "group_by is category, site, region, day or month");
    return false;
}

/* A row's key as the answer shows it: a category's code, a site's or
 * region's id, a day or month as text. */
static json_t *collection_key(const struct collection_query *q, const char *raw,
                              const struct category *cats, int ncats)
{
    if (q->group == GROUP_CATEGORY) {
        long long id = atoll(raw);
        for (int i = 0; i < ncats; i++)
            if (cats[i].id == id)
                return json_string(cats[i].code);
        return json_string(raw);
    }
    if (q->group == GROUP_SITE || q->group == GROUP_REGION)
        return json_integer(atoll(raw));
    return json_string(raw);
}

static int key_cmp(const void *a, const void *b)
{
    json_t *x = json_object_get(*(json_t *const *)a, "key");
    json_t *y = json_object_get(*(json_t *const *)b, "key");
    if (json_is_integer(x) && json_is_integer(y)) {
        json_int_t u = json_integer_value(x), v = json_integer_value(y);
        return u < v ? -1 : u > v;
    }
    return strcmp(json_string_value(x) ? json_string_value(x) : "",
                  json_string_value(y) ? json_string_value(y) : "");
}

/* Labels: a category's Chinese name (else its name), a site's or
 * region's name, a day's or month's own text. */
static int collection_label(struct db *d, const struct collection_query *q, json_t *row,
                            const struct category *cats, int ncats, const struct children *ch)
{
    json_t *key = json_object_get(row, "key");
    const char *label = json_string_value(key);
    struct site s;
    if (q->group == GROUP_CATEGORY) {
        for (int i = 0; i < ncats; i++)
            if (label && strcmp(cats[i].code, label) == 0)
                label = cats[i].name_zh[0] ? cats[i].name_zh : cats[i].name;
    } else if (q->group == GROUP_SITE) {
        int found = site_get(d, (long long)json_integer_value(key), &s);
        if (found < 0)
            return -1;
        label = found ? s.name : "";
    } else if (q->group == GROUP_REGION) {
        label = child_name(ch, (long long)json_integer_value(key));
    }
    json_object_set_new(row, "label", json_string(label ? label : ""));
    return 0;
}

static json_t *figures(struct db_rows *rows)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "dropoffs", (json_int_t)db_rows_int(rows, 1),
                     "grams", (json_int_t)db_rows_int(rows, 2), "items",
                     (json_int_t)db_rows_int(rows, 3), "points", (json_int_t)db_rows_int(rows, 4),
                     "households", (json_int_t)0);
}

static bool collection_filters_or_reply(struct req *r, struct db *d, struct collection_query *q)
{
    const char *code = req_query(r, "category");
    if (code && *code) {
        const struct category *c;
        int found = catalog_find(d, code, &c);
        if (found < 0) {
            reply_db_error(r, d);
            return false;
        }
        if (found == 0) {
            reply_error(r, 400, "invalid_request", "category", "unknown category '%s'", code);
            return false;
        }
        q->category_id = c->id;
    }
    if (!query_id_or_reply(r, "site_id", &q->site_id))
        return false;
    struct site s;
    if (q->site_id && !reach_site_or_reply(r, d, q->site_id, &s, "site_id"))
        return false;
    const char *net = req_query(r, "network");
    if (net && *net) {
        if (strcmp(net, "sanitation") != 0 && strcmp(net, "recycling") != 0 &&
            strcmp(net, "integrated") != 0) {
            reply_error(r, 400, "invalid_request", "network",
                        "network is sanitation, recycling or integrated");
            return false;
        }
        q->network = net;
    }
    return true;
}

/* Put each group's distinct households into its row. */
static int collection_households(struct db *d, const struct collection_query *q, json_t *rows,
                                 const struct category *cats, int ncats, json_t *totals)
{
    struct db_rows *hr = report_collection_households(d, q, true);
    if (!hr)
        return -1;
    while (db_rows_next(hr)) {
        json_t *key = collection_key(q, db_rows_str(hr, 0, NULL), cats, ncats);
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
            json_t *k = json_object_get(row, "key");
            if (json_equal(k, key))
                json_object_set_new(row, "households", json_integer(db_rows_int(hr, 1)));
        }
        json_decref(key);
    }
    db_rows_free(hr);
    if (!(hr = report_collection_households(d, q, false)))
        return -1;
    if (db_rows_next(hr))
        json_object_set_new(totals, "households", json_integer(db_rows_int(hr, 1)));
    db_rows_free(hr);
    return 0;
}

void h_reports_collection(struct req *r)
{
    struct collection_query q = { .path = NULL };
    struct scope s;
    bool csv;
    struct db *d = db_or_reply(r);
    if (!d || !format_csv_or_reply(r, &csv) || !group_or_reply(r, &q.group) ||
        !period_or_reply(r, &q.p) || !scope_or_reply(r, d, &s) ||
        !collection_filters_or_reply(r, d, &q))
        return;
    q.path = s.path;
    q.region_id = s.id;
    const struct category *cats;
    int ncats = catalog_all(d, &cats);
    struct children ch = { NULL, 0 };
    struct db_rows *rows = ncats >= 0 ? report_collection(d, &q, true) : NULL;
    if (!rows || (q.group == GROUP_REGION && children_load(d, &s, &ch) != 0)) {
        db_rows_free(rows);
        free(ch.c);
        reply_db_error(r, d);
        return;
    }
    json_t *items = json_array();
    while (db_rows_next(rows)) {
        if (db_rows_int(rows, 1) == 0)
            continue;           /* every drop-off of it was reversed */
        json_t *row = figures(rows);
        json_object_set_new(row, "key", collection_key(&q, db_rows_str(rows, 0, NULL), cats, ncats));
        json_array_append_new(items, row);
    }
    db_rows_free(rows);
    /* sorted by the key as shown (a category's code, not its id) */
    size_t n = json_array_size(items);
    json_t **v = n ? malloc(n * sizeof *v) : NULL;
    for (size_t i = 0; v && i < n; i++)
        v[i] = json_incref(json_array_get(items, i));
    if (v)
        qsort(v, n, sizeof *v, key_cmp);
    json_array_clear(items);
    int rc = 0;
    for (size_t i = 0; v && i < n; i++) {
        if (rc == 0)
            rc = collection_label(d, &q, v[i], cats, ncats, &ch);
        json_array_append_new(items, v[i]);
    }
    free(v);
    free(ch.c);
    json_t *totals = NULL;
    struct db_rows *tr = rc == 0 ? report_collection(d, &q, false) : NULL;
    if (tr && db_rows_next(tr))
        totals = figures(tr);
    db_rows_free(tr);
    if (!totals || collection_households(d, &q, items, cats, ncats, totals) != 0) {
        json_decref(items);
        json_decref(totals);
        reply_db_error(r, d);
        return;
    }
    json_object_set_new(totals, "key", json_string("total"));
    json_object_set_new(totals, "label", json_string("合计"));
    report_reply(r, csv, collection_cols,
                 json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o}", "region_id", (json_int_t)s.id,
                           "region_name", s.name, "from", q.p.from, "to", q.p.to, "group_by",
                           req_query(r, "group_by") && *req_query(r, "group_by")
                               ? req_query(r, "group_by")
                               : "category",
                           "rows", items, "totals", totals));
}

/* ---- participation ---- */

static const char *const participation_cols[] = { "region_id", "name", "month", "households",
                                                  "active_households", "rate", NULL };

static json_t *participation_row(long long id, const char *name, const char *month,
                                 long long households, long long active)
{
    double rate = households ? (double)active / (double)households : 0.0;
    rate = (double)(long long)(rate * 10000.0 + 0.5) / 10000.0;
    return json_pack("{s:I, s:s, s:s, s:I, s:I, s:f}", "region_id", (json_int_t)id, "name", name,
                     "month", month, "households", (json_int_t)households, "active_households",
                     (json_int_t)active, "rate", rate);
}

void h_reports_participation(struct req *r)
{
    struct scope s;
    bool csv;
    long long m0, m1, one;
    struct db *d = db_or_reply(r);
    if (!d || !format_csv_or_reply(r, &csv) || !month_or_reply(r, "month", &one, false) ||
        !month_or_reply(r, "from_month", &m0, false) || !month_or_reply(r, "to_month", &m1, false))
        return;
    if (one >= 0) {
        m0 = m1 = one;
    } else if (m0 < 0 || m1 < 0) {
        reply_error(r, 400, "invalid_request", m0 < 0 ? "month" : "to_month",
                    "give month, or from_month and to_month (YYYY-MM)");
        return;
    } else if (m0 > m1) {
        reply_error(r, 400, "invalid_request", "from_month", "from_month is after to_month");
        return;
    } else if (m1 - m0 + 1 > MONTHS_MAX) {
        reply_error(r, 400, "invalid_request", "to_month", "at most %d months", MONTHS_MAX);
        return;
    }
    if (!scope_or_reply(r, d, &s))
        return;
    int nm = (int)(m1 - m0 + 1);
    struct children ch;
    if (children_load(d, &s, &ch) != 0) {
        reply_db_error(r, d);
        return;
    }
    /* households[c][m], active[c][m] over the children, and the totals */
    size_t cells = (size_t)(ch.n + 1) * (size_t)nm;
    long long *hh = calloc(cells, sizeof *hh), *act = calloc(cells, sizeof *act);
    bool ok = hh && act;
    for (int m = 0; ok && m < nm; m++) {
        struct db_rows *rows = report_households_open(d, s.path, s.id, month_start(m0 + m + 1));
        ok = rows != NULL;
        while (ok && db_rows_next(rows)) {
            long long id = db_rows_int(rows, 0);
            for (int c = 0; c < ch.n; c++)
                if (ch.c[c].id == id)
                    hh[(size_t)c * (size_t)nm + (size_t)m] += db_rows_int(rows, 1);
            hh[(size_t)ch.n * (size_t)nm + (size_t)m] += db_rows_int(rows, 1);
        }
        db_rows_free(rows);
    }
    char first[11], last[11];
    month_text(m0, first, sizeof first, true);
    month_text(m1, last, sizeof last, true);
    struct db_rows *rows = ok ? report_active(d, s.path, s.id, first, last) : NULL;
    ok = rows != NULL;
    while (ok && db_rows_next(rows)) {
        long long id = db_rows_int(rows, 0), mv;
        char mt[8];
        snprintf(mt, sizeof mt, "%s", db_rows_str(rows, 1, NULL));
        if (!month_value(mt, &mv) || mv < m0 || mv > m1)
            continue;
        int m = (int)(mv - m0);
        for (int c = 0; c < ch.n; c++)
            if (ch.c[c].id == id)
                act[(size_t)c * (size_t)nm + (size_t)m] += db_rows_int(rows, 2);
        act[(size_t)ch.n * (size_t)nm + (size_t)m] += db_rows_int(rows, 2);
    }
    db_rows_free(rows);
    if (!ok) {
        free(hh);
        free(act);
        free(ch.c);
        reply_db_error(r, d);
        return;
    }
    json_t *items = json_array(), *totals = json_array();
    for (int c = 0; c <= ch.n; c++) {
        for (int m = 0; m < nm; m++) {
            size_t at = (size_t)c * (size_t)nm + (size_t)m;
            char mt[8];
            month_text(m0 + m, mt, sizeof mt, false);
            if (c == ch.n) {
                json_array_append_new(totals, participation_row(s.id, s.name, mt, hh[at], act[at]));
            } else if (ch.c[c].id != s.id || hh[at] || act[at]) {
                /* the region itself is a row only for households directly in it */
                json_array_append_new(items, participation_row(ch.c[c].id, ch.c[c].name, mt,
                                                               hh[at], act[at]));
            }
        }
    }
    free(hh);
    free(act);
    free(ch.c);
    report_reply(r, csv, participation_cols,
                 json_pack("{s:I, s:s, s:o, s:o}", "region_id", (json_int_t)s.id, "region_name",
                           s.name, "rows", items, "totals", totals));
}

/* ---- leaderboard ---- */

static const char *const leaderboard_cols[] = { "rank", "household_id", "head_name_masked",
                                                "region_name", "points", "dropoffs", NULL };

void h_reports_leaderboard(struct req *r)
{
    struct scope s;
    bool csv;
    long long mv;
    long long limit = 10;
    const char *lv = req_query(r, "limit");
    struct db *d = db_or_reply(r);
    if (!d || !format_csv_or_reply(r, &csv) || !month_or_reply(r, "month", &mv, true))
        return;
    if (lv && *lv) {
        char *end;
        limit = strtoll(lv, &end, 10);
        if (*end || limit < 1 || limit > 100 || strlen(lv) > 3) {
            reply_error(r, 400, "invalid_request", "limit", "limit is 1 to 100");
            return;
        }
    }
    if (!scope_or_reply(r, d, &s))
        return;
    char month[11];
    month_text(mv, month, sizeof month, true);
    struct db_rows *rows = report_leaderboard(d, s.path, month, (int)limit);
    if (!rows) {
        reply_db_error(r, d);
        return;
    }
    json_t *items = json_array();
    long long rank = 0, prev = -1, seen = 0;
    while (db_rows_next(rows)) {
        long long points = db_rows_int(rows, 1);
        seen++;
        if (points != prev)
            rank = seen;            /* equal points share a rank: 1, 2, 2, 4 */
        prev = points;
        char masked[401];
        mask_name(db_rows_str(rows, 3, NULL), masked, sizeof masked);
        json_array_append_new(items, json_pack("{s:I, s:I, s:s, s:s, s:I, s:I}", "rank",
                                               (json_int_t)rank, "household_id",
                                               (json_int_t)db_rows_int(rows, 0),
                                               "head_name_masked", masked, "region_name",
                                               db_rows_str(rows, 4, NULL), "points",
                                               (json_int_t)points, "dropoffs",
                                               (json_int_t)db_rows_int(rows, 2)));
    }
    db_rows_free(rows);
    char mt[8];
    month_text(mv, mt, sizeof mt, false);
    report_reply(r, csv, leaderboard_cols,
                 json_pack("{s:I, s:s, s:s, s:o}", "region_id", (json_int_t)s.id, "region_name",
                           s.name, "month", mt, "rows", items));
}

/* ---- points ---- */

static const char *const points_cols[] = { "region_id", "name", "issued.dropoffs",
                                           "issued.adjustments", "reversed", "redeemed", "voided",
                                           "recovered", "expired", "outstanding", NULL };

enum { P_DROPOFF, P_ADJUST, P_REVERSED, P_REDEEMED, P_VOIDED, P_RECOVERED, P_EXPIRED,
       P_OUTSTANDING, P_N };

static int points_term(const char *kind)
{
    static const char *const kinds[] = { "dropoff", "adjustment", "reversal", "redemption",
                                         "void", "recovery", "expiry" };
    for (int i = 0; i < 7; i++)
        if (strcmp(kind, kinds[i]) == 0)
            return i;
    return -1;
}

static json_t *points_row(long long id, const char *name, const long long *v)
{
    /* debits are shown as the amounts they took */
    return json_pack("{s:I, s:s, s:{s:I, s:I}, s:I, s:I, s:I, s:I, s:I, s:I}", "region_id",
                     (json_int_t)id, "name", name, "issued", "dropoffs", (json_int_t)v[P_DROPOFF],
                     "adjustments", (json_int_t)v[P_ADJUST], "reversed",
                     (json_int_t)-v[P_REVERSED], "redeemed", (json_int_t)-v[P_REDEEMED], "voided",
                     (json_int_t)v[P_VOIDED], "recovered", (json_int_t)-v[P_RECOVERED], "expired",
                     (json_int_t)-v[P_EXPIRED], "outstanding", (json_int_t)v[P_OUTSTANDING]);
}

static int child_index(const struct children *ch, long long id)
{
    for (int c = 0; c < ch->n; c++)
        if (ch->c[c].id == id)
            return c;
    return -1;
}

void h_reports_points(struct req *r)
{
    struct scope s;
    struct report_period p;
    bool csv;
    struct db *d = db_or_reply(r);
    if (!d || !format_csv_or_reply(r, &csv) || !period_or_reply(r, &p) ||
        !scope_or_reply(r, d, &s))
        return;
    struct children ch;
    if (children_load(d, &s, &ch) != 0) {
        reply_db_error(r, d);
        return;
    }
    long long (*v)[P_N] = calloc((size_t)ch.n + 1, sizeof *v);
    struct db_rows *moved = v ? report_points_moved(d, s.path, s.id, p.start, p.end) : NULL;
    bool ok = moved != NULL;
    while (ok && db_rows_next(moved)) {
        int c = child_index(&ch, db_rows_int(moved, 0)), t = points_term(db_rows_str(moved, 1, NULL));
        if (c >= 0 && t >= 0) {
            v[c][t] += db_rows_int(moved, 2);
            v[ch.n][t] += db_rows_int(moved, 2);
        }
    }
    db_rows_free(moved);
    /* outstanding at to's end: the balances now, less what moved since */
    struct db_rows *bal = ok ? report_balances(d, s.path, s.id) : NULL;
    ok = bal != NULL;
    while (ok && db_rows_next(bal)) {
        int c = child_index(&ch, db_rows_int(bal, 0));
        if (c >= 0) {
            v[c][P_OUTSTANDING] += db_rows_int(bal, 1);
            v[ch.n][P_OUTSTANDING] += db_rows_int(bal, 1);
        }
    }
    db_rows_free(bal);
    struct db_rows *after = ok ? report_points_moved(d, s.path, s.id, p.end, 0) : NULL;
    ok = after != NULL;
    while (ok && db_rows_next(after)) {
        int c = child_index(&ch, db_rows_int(after, 0));
        if (c >= 0) {
            v[c][P_OUTSTANDING] -= db_rows_int(after, 2);
            v[ch.n][P_OUTSTANDING] -= db_rows_int(after, 2);
        }
    }
    db_rows_free(after);
    if (!ok) {
        free(v);
        free(ch.c);
        reply_db_error(r, d);
        return;
    }
    json_t *items = json_array();
    for (int c = 0; c < ch.n; c++) {
        bool any = false;
        for (int t = 0; t < P_N; t++)
            any |= v[c][t] != 0;
        if (ch.c[c].id != s.id || any)
            json_array_append_new(items, points_row(ch.c[c].id, ch.c[c].name, v[c]));
    }
    json_t *totals = points_row(s.id, s.name, v[ch.n]);
    free(v);
    free(ch.c);
    report_reply(r, csv, points_cols,
                 json_pack("{s:I, s:s, s:s, s:s, s:o, s:o}", "region_id", (json_int_t)s.id,
                           "region_name", s.name, "from", p.from, "to", p.to, "rows", items,
                           "totals", totals));
}
