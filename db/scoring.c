/* scoring.c - see scoring.h. */
#include "db/scoring.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCORING_DEPTH_MAX 16          /* levels of a region path */
#define RULE_COLS                                                                         \
    "id, region_id, effective_month, per_pass, per_partial, min_inspections, black_below_bp"

static const char SQL_INSERT[] =
    "INSERT INTO scoring_rules (region_id, effective_month, per_pass, per_partial, "
    "min_inspections, black_below_bp, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_THRESHOLD[] =
    "INSERT INTO scoring_thresholds (rule_id, min_rate_bp, points) VALUES (?, ?, ?)";
static const char SQL_THRESHOLDS[] =
    "SELECT min_rate_bp, points FROM scoring_thresholds WHERE rule_id = ? ORDER BY min_rate_bp";
static const char SQL_HISTORY[] =
    "SELECT " RULE_COLS " FROM scoring_rules WHERE region_id = ? "
    "ORDER BY effective_month DESC, id DESC LIMIT 100";

static int by_rate(const void *a, const void *b)
{
    const struct scoring_threshold *x = a, *y = b;
    return (x->min_rate_bp > y->min_rate_bp) - (x->min_rate_bp < y->min_rate_bp);
}

const char *scoring_rule_check(struct scoring_rule *r, char *why, size_t len)
{
    if (r->per_pass < 0 || r->per_partial < 0) {
        snprintf(why, len, "points per inspection are 0 or more");
        return r->per_pass < 0 ? "per_pass" : "per_partial";
    }
    if (r->min_inspections < 0) {
        snprintf(why, len, "min_inspections is 0 or more");
        return "min_inspections";
    }
    if (r->black_below_bp < 0 || r->black_below_bp > SCORING_BP) {
        snprintf(why, len, "black_below is a rate between 0 and 1");
        return "black_below";
    }
    for (int i = 0; i < r->nthresholds; i++) {
        if (r->t[i].min_rate_bp < 0 || r->t[i].min_rate_bp > SCORING_BP) {
            snprintf(why, len, "monthly[%d].min_rate is a rate between 0 and 1", i);
            return "monthly";
        }
        if (r->t[i].points < 0) {
            snprintf(why, len, "monthly[%d].points is 0 or more", i);
            return "monthly";
        }
    }
    qsort(r->t, (size_t)r->nthresholds, sizeof r->t[0], by_rate);
    for (int i = 1; i < r->nthresholds; i++) {
        if (r->t[i].min_rate_bp == r->t[i - 1].min_rate_bp) {
            snprintf(why, len, "min_rate %.4f is given twice", r->t[i].min_rate_bp / 1e4);
            return "monthly";
        }
        if (r->t[i].points < r->t[i - 1].points) {
            snprintf(why, len, "a higher min_rate (%.4f) may not pay fewer points than a lower one",
                     r->t[i].min_rate_bp / 1e4);
            return "monthly";
        }
    }
    return NULL;
}

int scoring_insert(struct db *d, struct scoring_rule *r, long long staff_id)
{
    if (db_exec(d, SQL_INSERT, "isiiiii", r->region_id, r->effective_month, r->per_pass,
                r->per_partial, (long long)r->min_inspections, (long long)r->black_below_bp,
                staff_id) < 0)
        return -1;
    r->id = (long long)db_insert_id(d);
    for (int i = 0; i < r->nthresholds; i++)
        if (db_exec(d, SQL_THRESHOLD, "iii", r->id, (long long)r->t[i].min_rate_bp,
                    r->t[i].points) < 0)
            return -1;
    return 0;
}

/* Fill a rule from a row of RULE_COLS and its thresholds.  0 or -1. */
static int rule_fill(struct db *d, const struct db_rows *row, struct scoring_rule *out)
{
    memset(out, 0, sizeof *out);
    out->id = db_rows_int(row, 0);
    out->region_id = db_rows_int(row, 1);
    snprintf(out->effective_month, sizeof out->effective_month, "%s", db_rows_str(row, 2, NULL));
    out->per_pass = db_rows_int(row, 3);
    out->per_partial = db_rows_int(row, 4);
    out->min_inspections = (int)db_rows_int(row, 5);
    out->black_below_bp = (int)db_rows_int(row, 6);
    struct db_rows *t = db_query(d, SQL_THRESHOLDS, "i", out->id);
    if (!t)
        return -1;
    while (db_rows_next(t) && out->nthresholds < SCORING_THRESHOLDS_MAX) {
        out->t[out->nthresholds].min_rate_bp = (int)db_rows_int(t, 0);
        out->t[out->nthresholds].points = db_rows_int(t, 1);
        out->nthresholds++;
    }
    db_rows_free(t);
    return 0;
}

int scoring_in_force(struct db *d, const char *path, const char *month,
                     struct scoring_rule *out)
{
    /* the region and its ancestors: the ids of its path, nearest last */
    struct db_param p[SCORING_DEPTH_MAX];
    int n = 0;
    for (const char *c = path; *c && n < SCORING_DEPTH_MAX;) {
        while (*c == '/')
            c++;
        if (!*c)
            break;
        p[n++] = (struct db_param){ 'i', strtoll(c, NULL, 10), NULL, 0 };
        while (*c && *c != '/')
            c++;
    }
    if (n == 0)
        return 0;
    /* one query: the newest version in force of each, the nearest region's
     * first (FIELD lists the ids nearest first) */
    char sql[640];
    int len = snprintf(sql, sizeof sql,
                       "SELECT " RULE_COLS " FROM scoring_rules WHERE effective_month <= ? "
                       "AND region_id IN (");
    for (int i = 0; i < n; i++)
        len += snprintf(sql + len, sizeof sql - (size_t)len, i ? ", ?" : "?");
    len += snprintf(sql + len, sizeof sql - (size_t)len, ") ORDER BY FIELD(region_id");
    for (int i = 0; i < n; i++)
        len += snprintf(sql + len, sizeof sql - (size_t)len, ", ?");
    snprintf(sql + len, sizeof sql - (size_t)len, "), effective_month DESC, id DESC LIMIT 1");
    struct db_param all[2 * SCORING_DEPTH_MAX + 1];
    all[0] = (struct db_param){ 's', 0, month, 0 };
    for (int i = 0; i < n; i++) {
        all[1 + i] = p[i];
        all[1 + n + i] = p[n - 1 - i];
    }
    struct db_rows *r = db_query_built(d, sql, all, 1 + 2 * n);
    if (!r)
        return -1;
    int rc = db_rows_next(r) ? (rule_fill(d, r, out) == 0 ? 1 : -1) : 0;
    db_rows_free(r);
    return rc;
}

json_t *scoring_history(struct db *d, long long region_id)
{
    struct db_rows *r = db_query(d, SQL_HISTORY, "i", region_id);
    json_t *a = r ? json_array() : NULL;
    struct scoring_rule rule;
    while (a && db_rows_next(r)) {
        if (rule_fill(d, r, &rule) != 0) {
            json_decref(a);
            a = NULL;
            break;
        }
        json_array_append_new(a, scoring_json(&rule));
    }
    db_rows_free(r);
    return a;
}

json_t *scoring_json(const struct scoring_rule *r)
{
    json_t *monthly = json_array();
    for (int i = r->nthresholds - 1; i >= 0; i--)
        json_array_append_new(monthly, json_pack("{s:f, s:I}", "min_rate",
                                                 r->t[i].min_rate_bp / 1e4, "points",
                                                 (json_int_t)r->t[i].points));
    return json_pack("{s:I, s:I, s:s, s:I, s:I, s:o, s:i, s:f}", "id", (json_int_t)r->id,
                     "region_id", (json_int_t)r->region_id, "effective_month",
                     r->effective_month, "per_pass", (json_int_t)r->per_pass, "per_partial",
                     (json_int_t)r->per_partial, "monthly", monthly, "min_inspections",
                     r->min_inspections, "black_below", r->black_below_bp / 1e4);
}

bool scoring_reaches(long long pass, long long partial, long long n, int rate_bp)
{
    /* (pass + partial / 2) / n >= rate_bp / 10000, in integers */
    return n > 0 && (2 * pass + partial) * SCORING_BP >= (long long)rate_bp * 2 * n;
}

double scoring_accuracy(long long pass, long long partial, long long n)
{
    if (n <= 0)
        return 0.0;
    /* (2 pass + partial) / 2n to the nearest 1/10000, in integers */
    long long num = (2 * pass + partial) * SCORING_BP, den = 2 * n;
    return (double)((num + den / 2) / den) / SCORING_BP;
}

int scoring_accuracy_bp(long long pass, long long partial, long long n)
{
    return n > 0 ? (int)((2 * pass + partial) * SCORING_BP / (2 * n)) : 0;
}

static bool scored(const struct scoring_rule *r, long long n)
{
    return n > 0 && n >= r->min_inspections;
}

long long scoring_monthly_points(const struct scoring_rule *r, long long pass,
                                 long long partial, long long n)
{
    if (!scored(r, n))
        return 0;
    for (int i = r->nthresholds - 1; i >= 0; i--)
        if (scoring_reaches(pass, partial, n, r->t[i].min_rate_bp))
            return r->t[i].points;
    return 0;
}

bool scoring_is_red(const struct scoring_rule *r, long long pass, long long partial, long long n)
{
    return scored(r, n) && r->nthresholds > 0 &&
           scoring_reaches(pass, partial, n, r->t[r->nthresholds - 1].min_rate_bp);
}

bool scoring_is_black(const struct scoring_rule *r, long long pass, long long partial,
                      long long n)
{
    return scored(r, n) && !scoring_reaches(pass, partial, n, r->black_below_bp);
}

long long scoring_per_inspection(const struct scoring_rule *r, const char *result)
{
    if (strcmp(result, "pass") == 0)
        return r->per_pass;
    if (strcmp(result, "partial") == 0)
        return r->per_partial;
    return 0;
}

struct scoring_cache_entry {
    long long region_id;
    int found;
    struct scoring_rule rule;
};

const struct scoring_rule *scoring_cached(struct db *d, struct scoring_cache *rc,
                                          const char *path, const char *month, int *err)
{
    /* the region is the last id of its path */
    const char *end = path + strlen(path);
    while (end > path && end[-1] == '/')
        end--;
    const char *start = end;
    while (start > path && start[-1] != '/')
        start--;
    long long region_id = strtoll(start, NULL, 10);
    for (int i = 0; i < rc->n; i++)
        if (rc->e[i].region_id == region_id)
            return rc->e[i].found ? &rc->e[i].rule : NULL;
    if (rc->n == rc->cap) {
        int cap = rc->cap ? rc->cap * 2 : 16;
        void *m = realloc(rc->e, (size_t)cap * sizeof *rc->e);
        if (!m) {
            *err = 1;
            return NULL;
        }
        rc->e = m;
        rc->cap = cap;
    }
    int k = rc->n;
    rc->e[k].region_id = region_id;
    rc->e[k].found = scoring_in_force(d, path, month, &rc->e[k].rule);
    if (rc->e[k].found < 0) {
        *err = 1;
        return NULL;
    }
    rc->n++;
    return rc->e[k].found ? &rc->e[k].rule : NULL;
}

void scoring_cache_free(struct scoring_cache *c)
{
    free(c->e);
    c->e = NULL;
    c->n = c->cap = 0;
}
