/* report_inspections.c - the village programme's reports (api.md,
 * "Household sorting inspections and the honour roll"): accuracy per
 * child region, and the month's red and black lists.  Both read the
 * month's live inspections of the region; a household's accuracy is
 * (pass + partial / 2) / inspections and its rule is its region's
 * (db/scoring.h). */
#include "db/report_build.h"
#include "db/db.h"
#include "db/inspections.h"
#include "db/mask.h"
#include "db/scoring.h"
#include "server/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HONOUR_ROLL_MAX 500          /* households on each list */

/* A rate of a over b, rounded to 4 decimals (0 when b is 0). */
static double rate4(long long a, long long b)
{
    return b ? (double)(long long)((double)a / (double)b * 10000.0 + 0.5) / 10000.0 : 0.0;
}

enum { A_HOUSEHOLDS, A_INSPECTED, A_INSPECTIONS, A_PASS, A_PARTIAL, A_FAIL, A_N };

static json_t *accuracy_row(long long id, const char *name, const long long *v)
{
    json_t *o = json_pack("{s:I, s:s, s:I, s:I, s:f, s:I, s:I, s:I, s:I}", "region_id",
                          (json_int_t)id, "name", name, "households", (json_int_t)v[A_HOUSEHOLDS],
                          "households_inspected", (json_int_t)v[A_INSPECTED], "coverage",
                          rate4(v[A_INSPECTED], v[A_HOUSEHOLDS]), "inspections",
                          (json_int_t)v[A_INSPECTIONS], "pass", (json_int_t)v[A_PASS],
                          "partial", (json_int_t)v[A_PARTIAL], "fail", (json_int_t)v[A_FAIL]);
    json_object_set_new(o, "accuracy",
                        v[A_INSPECTIONS] ? json_real(scoring_accuracy(v[A_PASS], v[A_PARTIAL],
                                                               v[A_INSPECTIONS]))
                                         : json_null());
    return o;
}

json_t *report_accuracy(struct db *d, const struct report_query *q)
{
    const struct report_scope *s = &q->s;
    struct children ch;
    if (report_children_load(d, s, &ch) != 0)
        return NULL;
    char month[8], first[11], last[11];
    report_month_text(q->month0, month, sizeof month, false);
    inspection_month_days(month, first, last);
    long long (*v)[A_N] = calloc((size_t)ch.n + 1, sizeof *v);
    long long end = (long long)clock_local_midnight((int)((q->month0 + 1) / 12),
                                                    (int)((q->month0 + 1) % 12 + 1), 1);
    struct db_rows *open = v ? report_households_open(d, s->path, s->id, &end, 1) : NULL;
    bool ok = open != NULL;
    while (ok && db_rows_next(open)) {
        int c = report_child_index(&ch, db_rows_int(open, 0));
        if (c >= 0)
            v[c][A_HOUSEHOLDS] += db_rows_int(open, 1);
        v[ch.n][A_HOUSEHOLDS] += db_rows_int(open, 1);
    }
    db_rows_free(open);
    struct db_rows *r = ok ? report_inspection_counts(d, s->path, s->id, first, last) : NULL;
    ok = r != NULL;
    while (ok && db_rows_next(r)) {
        int c = report_child_index(&ch, db_rows_int(r, 0));
        for (int k = A_INSPECTED; k < A_N; k++) {
            if (c >= 0)
                v[c][k] += db_rows_int(r, k);
            v[ch.n][k] += db_rows_int(r, k);
        }
    }
    db_rows_free(r);
    json_t *rows = ok ? json_array() : NULL;
    for (int c = 0; ok && c < ch.n; c++) {
        bool any = false;
        for (int k = 0; k < A_N; k++)
            any |= v[c][k] != 0;
        /* the region itself is a row only for households directly in it */
        if (ch.c[c].id != s->id || any)
            json_array_append_new(rows, accuracy_row(ch.c[c].id, ch.c[c].name, v[c]));
    }
    json_t *totals = ok ? accuracy_row(s->id, s->name, v[ch.n]) : NULL;
    free(v);
    free(ch.c);
    if (!ok)
        return NULL;
    return json_pack("{s:I, s:s, s:s, s:o, s:o}", "region_id", (json_int_t)s->id, "region_name",
                     s->name, "month", month, "rows", rows, "totals", totals);
}

/* ---- the honour roll ---- */

struct roll_entry {
    long long household_id, n, pass, partial, points;
    int accuracy_bp;
    char name[401], region[401];
};

struct roll {
    struct roll_entry *e;
    size_t n, cap;
};

static int roll_add(struct roll *l, const struct roll_entry *e)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        struct roll_entry *m = realloc(l->e, cap * sizeof *m);
        if (!m)
            return -1;
        l->e = m;
        l->cap = cap;
    }
    l->e[l->n++] = *e;
    return 0;
}

/* Exact order of accuracies: (2 pass + partial) / 2n compared across. */
static int by_accuracy(const struct roll_entry *a, const struct roll_entry *b)
{
    long long x = (2 * a->pass + a->partial) * (2 * b->n);
    long long y = (2 * b->pass + b->partial) * (2 * a->n);
    return (x > y) - (x < y);
}

static int red_cmp(const void *pa, const void *pb)
{
    const struct roll_entry *a = pa, *b = pb;
    int c = by_accuracy(b, a);             /* best first */
    if (!c)
        c = (a->n < b->n) - (a->n > b->n);  /* more inspections first */
    return c ? c : (a->household_id > b->household_id) - (a->household_id < b->household_id);
}

static int black_cmp(const void *pa, const void *pb)
{
    const struct roll_entry *a = pa, *b = pb;
    int c = by_accuracy(a, b);             /* worst first */
    if (!c)
        c = (a->n < b->n) - (a->n > b->n);
    return c ? c : (a->household_id > b->household_id) - (a->household_id < b->household_id);
}

/* The list as JSON rows, ranked (equal accuracy shares a rank), and the
 * same rows with their list's name into all (for CSV). */
static json_t *roll_json(const struct roll *l, const char *list, json_t *all)
{
    json_t *a = json_array();
    long long rank = 0;
    for (size_t i = 0; a && i < l->n && i < HONOUR_ROLL_MAX; i++) {
        const struct roll_entry *e = &l->e[i];
        if (i == 0 || by_accuracy(e, &l->e[i - 1]) != 0)
            rank = (long long)i + 1;
        char masked[401];
        mask_name(e->name, masked, sizeof masked);
        json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:I, s:f, s:I}", "rank", (json_int_t)rank,
                              "household_id", (json_int_t)e->household_id, "head_name_masked",
                              masked, "region_name", e->region, "inspections", (json_int_t)e->n,
                              "accuracy", scoring_accuracy(e->pass, e->partial, e->n), "points",
                              (json_int_t)e->points);
        json_t *row = json_deep_copy(o);
        json_object_set_new(row, "list", json_string(list));
        json_array_append_new(all, row);
        json_array_append_new(a, o);
    }
    return a;
}

json_t *report_honour_roll(struct db *d, const struct report_query *q)
{
    const struct report_scope *s = &q->s;
    char month[8], first[11], last[11];
    report_month_text(q->month0, month, sizeof month, false);
    inspection_month_days(month, first, last);
    struct db_rows *r = report_inspected_households(d, s->path, first, last);
    if (!r)
        return NULL;
    struct roll red = { NULL, 0, 0 }, black = { NULL, 0, 0 };
    struct scoring_cache cache = { NULL, 0, 0 };
    int err = 0;
    while (!err && db_rows_next(r)) {
        const struct scoring_rule *rule = scoring_cached(d, &cache, db_rows_str(r, 3, NULL),
                                                         month, &err);
        if (!rule)
            continue;                      /* no rule: no lists */
        struct roll_entry e = { .household_id = db_rows_int(r, 0), .n = db_rows_int(r, 4),
                                .pass = db_rows_int(r, 5), .partial = db_rows_int(r, 6) };
        snprintf(e.name, sizeof e.name, "%s", db_rows_str(r, 1, NULL));
        snprintf(e.region, sizeof e.region, "%s", db_rows_str(r, 2, NULL));
        e.accuracy_bp = scoring_accuracy_bp(e.pass, e.partial, e.n);
        e.points = scoring_monthly_points(rule, e.pass, e.partial, e.n);
        if (scoring_is_red(rule, e.pass, e.partial, e.n) && roll_add(&red, &e) != 0)
            err = 1;
        else if (scoring_is_black(rule, e.pass, e.partial, e.n) && roll_add(&black, &e) != 0)
            err = 1;
    }
    db_rows_free(r);
    scoring_cache_free(&cache);
    json_t *out = NULL;
    if (!err) {
        if (red.n > 1)
            qsort(red.e, red.n, sizeof *red.e, red_cmp);
        if (black.n > 1)
            qsort(black.e, black.n, sizeof *black.e, black_cmp);
        json_t *all = json_array();
        json_t *rj = roll_json(&red, "red", all), *bj = roll_json(&black, "black", all);
        out = json_pack("{s:I, s:s, s:s, s:o, s:o, s:o}", "region_id", (json_int_t)s->id,
                        "region_name", s->name, "month", month, "red", rj, "black", bj, "rows",
                        all);
    }
    free(red.e);
    free(black.e);
    return out;
}
