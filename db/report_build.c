/* report_build.c - the reports as JSON (see report_build.h); flows are
 * report_flows.c's. */
#include "db/report_build.h"
#include "db/closing.h"
#include "db/collection_sets.h"
#include "db/rollup.h"
#include "db/regions.h"
#include "db/catalog.h"
#include "db/db.h"
#include "db/mask.h"
#include "db/sites.h"
#include "server/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const columns[REPORT_KINDS][32] = {
    [REPORT_COLLECTION] = { "key", "label", "dropoffs", "grams", "items", "points", "households",
                            NULL },
    [REPORT_PARTICIPATION] = { "region_id", "name", "month", "households", "active_households",
                               "rate", "by_dropoff", "by_inspection", NULL },
    [REPORT_LEADERBOARD] = { "rank", "household_id", "head_name_masked", "region_name", "points",
                             "dropoffs", NULL },
    [REPORT_FLOWS] = { "category", "unit", "collected", "reversed", "shipped.from_dropoff",
                       "shipped.from_transfer", "received.at_transfer", "received.at_sorting",
                       "transit_loss", "in_transit", "count_difference", "outbound.recycled",
                       "outbound.energy_recovery", "outbound.landfill",
                       "outbound.hazardous_treatment", "on_hand.dropoff", "on_hand.transfer",
                       "on_hand.sorting", "opening.on_hand", "opening.in_transit",
                       "left_region", "entered_region", "reversal_shortfall", "balanced",
                       NULL },
    [REPORT_POINTS] = { "region_id", "name", "issued.dropoffs", "issued.adjustments",
                        "issued.inspections", "reversed", "redeemed", "voided", "recovered", "expired", "outstanding",
                        NULL },
    [REPORT_ACCURACY] = { "region_id", "name", "households", "households_inspected", "coverage",
                          "inspections", "pass", "partial", "fail", "accuracy", NULL },
    [REPORT_HONOUR_ROLL] = { "list", "rank", "household_id", "head_name_masked", "region_name",
                             "inspections", "accuracy", "points", NULL },
};

const char *const *report_columns(enum report_kind kind)
{
    return columns[kind];
}

/* ---- collection ---- */

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
        label = report_child_name(ch, (long long)json_integer_value(key));
    }
    json_object_set_new(row, "label", json_string(label ? label : ""));
    return 0;
}

static json_t *figures(const struct collection_row *r)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "dropoffs", (json_int_t)r->dropoffs, "grams",
                     (json_int_t)r->grams, "items", (json_int_t)r->items, "points",
                     (json_int_t)r->points, "households", (json_int_t)r->households);
}

/* v: households, active by drop-off, active by inspection, active by both */
static json_t *participation_row(long long id, const char *name, const char *month,
                                 const long long *v)
{
    long long active = v[1] + v[2] - v[3];
    double rate = v[0] ? (double)active / (double)v[0] : 0.0;
    rate = (double)(long long)(rate * 10000.0 + 0.5) / 10000.0;
    return json_pack("{s:I, s:s, s:s, s:I, s:I, s:f, s:I, s:I}", "region_id", (json_int_t)id,
                     "name", name, "month", month, "households", (json_int_t)v[0],
                     "active_households", (json_int_t)active, "rate", rate, "by_dropoff",
                     (json_int_t)v[1], "by_inspection", (json_int_t)v[2]);
}

enum { P_DROPOFF, P_ADJUST, P_REVERSED, P_REDEEMED, P_VOIDED, P_RECOVERED, P_EXPIRED,
       P_INSPECTION, P_OUTSTANDING, P_N };

/* A ledger kind's term; an inspection void takes points back as a
 * reversal does. */
static int points_term(const char *kind)
{
    static const struct { const char *kind; int term; } kinds[] = {
        { "dropoff", P_DROPOFF },     { "adjustment", P_ADJUST },
        { "reversal", P_REVERSED },   { "inspection_void", P_REVERSED },
        { "redemption", P_REDEEMED }, { "void", P_VOIDED },
        { "recovery", P_RECOVERED },  { "expiry", P_EXPIRED },
        { "inspection", P_INSPECTION },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind, kinds[i].kind) == 0)
            return kinds[i].term;
    return -1;
}

static json_t *points_row(long long id, const char *name, const long long *v)
{
    /* debits are shown as the amounts they took */
    return json_pack("{s:I, s:s, s:{s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "region_id", (json_int_t)id, "name", name, "issued", "dropoffs",
                     (json_int_t)v[P_DROPOFF], "adjustments", (json_int_t)v[P_ADJUST],
                     "inspections", (json_int_t)v[P_INSPECTION], "reversed",
                     (json_int_t)-v[P_REVERSED], "redeemed", (json_int_t)-v[P_REDEEMED], "voided",
                     (json_int_t)v[P_VOIDED], "recovered", (json_int_t)-v[P_RECOVERED], "expired",
                     (json_int_t)-v[P_EXPIRED], "outstanding", (json_int_t)v[P_OUTSTANDING]);
}


static json_t *build_collection(struct db *d, const struct report_query *rq)
{
    static const char *const group_names[] = { "category", "site", "region", "day", "month" };
    struct collection_query q = { rq->s.path, rq->s.id, rq->p, rq->group, rq->category_id,
                                  rq->site_id, rq->network[0] ? rq->network : NULL,
                                  rq->s.level };
    const struct category *cats;
    int ncats = catalog_all(d, &cats);
    struct children ch = { NULL, 0 };
    struct collection_rows rows = { NULL, 0 };
    struct collection_row total;
    if (ncats < 0 || collection_read(d, &q, &rows, &total) != 0 ||
        (q.group == GROUP_REGION && report_children_load(d, &rq->s, &ch) != 0)) {
        free(rows.v);
        free(ch.c);
        return NULL;
    }
    json_t *items = json_array();
    for (int i = 0; i < rows.n; i++) {
        if (rows.v[i].dropoffs == 0)
            continue;           /* every drop-off of it was reversed */
        json_t *row = figures(&rows.v[i]);
        json_object_set_new(row, "key", collection_key(&q, rows.v[i].key, cats, ncats));
        json_array_append_new(items, row);
    }
    free(rows.v);
    /* sorted by the key as shown (a category's code, not its id) */
    size_t n = json_array_size(items);
    json_t **v = n ? malloc(n * sizeof *v) : NULL;
    for (size_t i = 0; v && i < n; i++)
        v[i] = json_incref(json_array_get(items, i));
    if (v)
        qsort(v, n, sizeof *v, key_cmp);
    json_array_clear(items);
    int rc = n && !v ? -1 : 0;
    for (size_t i = 0; v && i < n; i++) {
        if (rc == 0)
            rc = collection_label(d, &q, v[i], cats, ncats, &ch);
        json_array_append_new(items, v[i]);
    }
    free(v);
    free(ch.c);
    json_t *totals = rc == 0 ? figures(&total) : NULL;
    if (!totals) {
        json_decref(items);
        return NULL;
    }
    json_object_set_new(totals, "key", json_string("total"));
    json_object_set_new(totals, "label", json_string("合计"));
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o}", "region_id", (json_int_t)rq->s.id,
                     "region_name", rq->s.name, "from", q.p.from, "to", q.p.to, "group_by",
                     group_names[q.group], "rows", items, "totals", totals);
}

/* ---- participation ---- */

/* The epoch second a month begins (local time). */
static long long month_start(long long mv)
{
    return (long long)clock_local_midnight((int)(mv / 12), (int)(mv % 12 + 1), 1);
}

/* The cells of participation: per child (the totals last) and month. */
enum { PT_HOUSEHOLDS, PT_DROPOFF, PT_INSPECTION, PT_BOTH, PT_N };

/* Add rows (child, month "YYYY-MM", value...) to the cells: column 2 + k
 * of a row goes to term terms[k]. */
static bool participation_add(const struct report_query *q, const struct children *ch,
                              long long (*v)[PT_N], struct db_rows *rows, const int *terms,
                              int nterms)
{
    int nm = (int)(q->month1 - q->month0 + 1);
    while (rows && db_rows_next(rows)) {
        int y, mo;
        if (sscanf(db_rows_str(rows, 1, NULL), "%4d-%2d", &y, &mo) != 2)
            continue;
        long long mv = (long long)y * 12 + mo - 1;
        if (mv < q->month0 || mv > q->month1)
            continue;
        int m = (int)(mv - q->month0), c = report_child_index(ch, db_rows_int(rows, 0));
        for (int k = 0; k < nterms; k++) {
            if (c >= 0)
                v[(size_t)c * (size_t)nm + (size_t)m][terms[k]] += db_rows_int(rows, 2 + k);
            v[(size_t)ch->n * (size_t)nm + (size_t)m][terms[k]] += db_rows_int(rows, 2 + k);
        }
    }
    bool ok = rows != NULL;
    db_rows_free(rows);
    return ok;
}

static json_t *build_participation(struct db *d, const struct report_query *q)
{
    const struct report_scope *s = &q->s;
    long long m0 = q->month0;
    int nm = (int)(q->month1 - q->month0 + 1);
    char through[11];
    struct children ch;
    if (closing_through(d, CLOSING_MONTHS_NAME, through) != 0 || report_children_load(d, s, &ch) != 0)
        return NULL;
    size_t cells = (size_t)(ch.n + 1) * (size_t)nm;
    long long (*v)[PT_N] = calloc(cells, sizeof *v);
    bool ok = v != NULL;
    /* the closed months from their rollup (db/closing.h), the others from
     * the households, their months and the inspections */
    int y, mo;
    long long closed_mv = *through && sscanf(through, "%4d-%2d", &y, &mo) == 2
                              ? (long long)y * 12 + mo - 1
                              : m0 - 1;
    int first_open = closed_mv < m0 ? 0 : (int)(closed_mv - m0 + 1);
    char first[11], last[11];
    if (ok && first_open > 0) {
        static const int closed_terms[] = { PT_HOUSEHOLDS, PT_DROPOFF, PT_INSPECTION, PT_BOTH };
        report_month_text(m0, first, sizeof first, true);
        report_month_text(first_open < nm ? closed_mv : q->month1, last, sizeof last, true);
        ok = participation_add(q, &ch, v, report_participation_closed(d, s->id, first, last),
                               closed_terms, 4);
    }
    int nopen = nm - (first_open < nm ? first_open : nm);
    long long ends[REPORT_OPEN_MAX];
    for (int m = 0; m < nopen && m < REPORT_OPEN_MAX; m++)
        ends[m] = month_start(m0 + first_open + m + 1);
    struct db_rows *spans =
        ok && nopen > 0 ? report_households_open(d, s->path, s->id, ends, nopen) : NULL;
    ok = ok && (nopen == 0 || spans != NULL);
    while (ok && spans && db_rows_next(spans)) {
        int c = report_child_index(&ch, db_rows_int(spans, 0));
        for (int m = 0; m < nopen; m++) {
            size_t at = (size_t)(first_open + m);
            if (c >= 0)
                v[(size_t)c * (size_t)nm + at][PT_HOUSEHOLDS] += db_rows_int(spans, 1 + m);
            v[(size_t)ch.n * (size_t)nm + at][PT_HOUSEHOLDS] += db_rows_int(spans, 1 + m);
        }
    }
    db_rows_free(spans);
    if (ok && nopen > 0) {
        static const int by_dropoff[] = { PT_DROPOFF }, by_inspection[] = { PT_INSPECTION, PT_BOTH };
        report_month_text(m0 + first_open, first, sizeof first, true);
        report_month_text(q->month1, last, sizeof last, true);
        for (int m = first_open; ok && m < nm; m++) {
            char month[11];
            report_month_text(m0 + m, month, sizeof month, true);
            ok = participation_add(q, &ch, v, report_active(d, s->path, s->id, month),
                                   by_dropoff, 1);
        }
        ok = ok && participation_add(q, &ch, v,
                                     report_active_inspected(d, s->path, s->id, first, last),
                                     by_inspection, 2);
    }
    json_t *items = ok ? json_array() : NULL, *totals = ok ? json_array() : NULL;
    for (int c = 0; ok && c <= ch.n; c++) {
        for (int m = 0; m < nm; m++) {
            const long long *cell = v[(size_t)c * (size_t)nm + (size_t)m];
            char mt[8];
            report_month_text(m0 + m, mt, sizeof mt, false);
            if (c == ch.n)
                json_array_append_new(totals, participation_row(s->id, s->name, mt, cell));
            else if (ch.c[c].id != s->id || cell[PT_HOUSEHOLDS] || cell[PT_DROPOFF] ||
                     cell[PT_INSPECTION])
                /* the region itself is a row only for households directly in it */
                json_array_append_new(items,
                                      participation_row(ch.c[c].id, ch.c[c].name, mt, cell));
        }
    }
    free(v);
    free(ch.c);
    if (!ok)
        return NULL;
    return json_pack("{s:I, s:s, s:o, s:o}", "region_id", (json_int_t)s->id, "region_name",
                     s->name, "rows", items, "totals", totals);
}

/* ---- leaderboard ---- */

static json_t *build_leaderboard(struct db *d, const struct report_query *q)
{
    char month[11], mt[8];
    report_month_text(q->month0, month, sizeof month, true);
    report_month_text(q->month0, mt, sizeof mt, false);
    bool wide = !q->s.id || region_level_rank(q->s.level) <= region_level_rank("county");
    struct db_rows *rows = report_leaderboard(d, q->s.path, month, q->limit, wide);
    if (!rows)
        return NULL;
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
    return json_pack("{s:I, s:s, s:s, s:o}", "region_id", (json_int_t)q->s.id, "region_name",
                     q->s.name, "month", mt, "rows", items);
}

/* ---- points ---- */

/* How points_add files rows: by their kind, all into the outstanding
 * (added or taken away), or both by kind and into the outstanding. */
enum { AS_TERMS, TO_OUTSTANDING, FROM_OUTSTANDING, AS_TERMS_AND_OUTSTANDING };

/* Add rows (child, kind, points) to v. */
static int points_add(const struct children *ch, long long (*v)[P_N], struct db_rows *rows,
                      int as)
{
    if (!rows)
        return -1;
    while (db_rows_next(rows)) {
        int c = report_child_index(ch, db_rows_int(rows, 0));
        int term = points_term(db_rows_str(rows, 1, NULL));
        long long x = as == FROM_OUTSTANDING ? -db_rows_int(rows, 2) : db_rows_int(rows, 2);
        if (c < 0)
            continue;
        if ((as == AS_TERMS || as == AS_TERMS_AND_OUTSTANDING) && term >= 0) {
            v[c][term] += x;
            v[ch->n][term] += x;
        }
        if (as != AS_TERMS) {
            v[c][P_OUTSTANDING] += x;
            v[ch->n][P_OUTSTANDING] += x;
        }
    }
    db_rows_free(rows);
    return 0;
}

/* The balances now (child, balance) into the outstanding. */
static int balances_add(const struct children *ch, long long (*v)[P_N], struct db_rows *bal)
{
    if (!bal)
        return -1;
    while (db_rows_next(bal)) {
        int c = report_child_index(ch, db_rows_int(bal, 0));
        if (c >= 0) {
            v[c][P_OUTSTANDING] += db_rows_int(bal, 1);
            v[ch->n][P_OUTSTANDING] += db_rows_int(bal, 1);
        }
    }
    db_rows_free(bal);
    return 0;
}

/* The period's terms and the outstanding at its end.  The closed days
 * come from their rollup (db/closing.h) and the days after them from the
 * ledger: by time, unless nothing is closed yet and the region is a
 * county or less, whose households' own rows are then fewer.  The
 * outstanding is every point moved up to the period's end: with days
 * closed, their months' rows and the open days' ledger rows; with none,
 * the balances now, less what moved after the end. */
static int points_fill(struct db *d, const struct report_query *q, const struct children *ch,
                       long long (*v)[P_N])
{
    const struct report_scope *s = &q->s;
    char through[11];
    if (closing_through(d, closing_specs[CLOSING_POINTS].name, through) != 0)
        return -1;
    if (!*through) {
        bool narrow = s->id && region_level_rank(s->level) >= region_level_rank("county");
        if (points_add(ch, v, report_points_moved(d, s->path, s->id, q->p.start, q->p.end,
                                                  narrow), AS_TERMS) != 0 ||
            balances_add(ch, v, report_balances(d, s->path, s->id)) != 0)
            return -1;
        return points_add(ch, v, report_points_moved(d, s->path, s->id, q->p.end, 0, narrow),
                          FROM_OUTSTANDING);
    }
    long long open = (long long)closing_after(through);
    bool period_closed = strcmp(through, q->p.to) >= 0;
    const char *closed_to = period_closed ? q->p.to : through;
    if (strcmp(through, q->p.from) >= 0 &&
        points_add(ch, v, report_points_closed(d, s->id, q->p.from, closed_to), AS_TERMS) != 0)
        return -1;
    if (points_add(ch, v, report_points_closed(d, s->id, "1970-01-01", closed_to),
                   TO_OUTSTANDING) != 0)
        return -1;
    if (period_closed)
        return 0;
    /* the open days: in the period's terms from its start, in the
     * outstanding all of them (one read when the period holds them all) */
    if (q->p.start > open &&
        points_add(ch, v, report_points_moved(d, s->path, s->id, q->p.start, q->p.end, false),
                   AS_TERMS) != 0)
        return -1;
    return points_add(ch, v, report_points_moved(d, s->path, s->id, open, q->p.end, false),
                      q->p.start > open ? TO_OUTSTANDING : AS_TERMS_AND_OUTSTANDING);
}

static json_t *build_points(struct db *d, const struct report_query *q)
{
    const struct report_scope *s = &q->s;
    struct children ch;
    if (report_children_load(d, s, &ch) != 0)
        return NULL;
    long long (*v)[P_N] = calloc((size_t)ch.n + 1, sizeof *v);
    bool ok = v && points_fill(d, q, &ch, v) == 0;
    json_t *items = ok ? json_array() : NULL;
    for (int c = 0; ok && c < ch.n; c++) {
        bool any = false;
        for (int t = 0; t < P_N; t++)
            any |= v[c][t] != 0;
        if (ch.c[c].id != s->id || any)
            json_array_append_new(items, points_row(ch.c[c].id, ch.c[c].name, v[c]));
    }
    json_t *totals = ok ? points_row(s->id, s->name, v[ch.n]) : NULL;
    free(v);
    free(ch.c);
    if (!ok)
        return NULL;
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o}", "region_id", (json_int_t)s->id,
                     "region_name", s->name, "from", q->p.from, "to", q->p.to, "rows", items,
                     "totals", totals);
}

json_t *report_build(struct db *d, enum report_kind kind, const struct report_query *q)
{
    switch (kind) {
    case REPORT_COLLECTION:
        return build_collection(d, q);
    case REPORT_PARTICIPATION:
        return build_participation(d, q);
    case REPORT_LEADERBOARD:
        return build_leaderboard(d, q);
    case REPORT_FLOWS:
        return report_flows(d, q);
    case REPORT_POINTS:
        return build_points(d, q);
    case REPORT_ACCURACY:
        return report_accuracy(d, q);
    case REPORT_HONOUR_ROLL:
        return report_honour_roll(d, q);
    default:
        return NULL;
    }
}
