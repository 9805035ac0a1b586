/* report_build.h - the reports of api.md ("Reports") as JSON, the same for
 * the API (api/reports.c) and for `wbctl export`: what a report's query
 * means (report_query_parse), what it answers (report_build), and its CSV
 * columns.  Figures come from db/reports.c.
 *
 * The shared rules live in report_query_parse once: from/to are local
 * days, both included, at most 366 days apart, by default the month of
 * `to` so far; months are YYYY-MM; participation takes month, or
 * from_month and to_month (at most 24 months). */
#ifndef WB_REPORT_BUILD_H
#define WB_REPORT_BUILD_H

#include <stdbool.h>
#include <jansson.h>

#include "db/reports.h"

struct db;

#define REPORT_PERIOD_MAX_DAYS 366
#define REPORT_MONTHS_MAX 24

enum report_kind {
    REPORT_COLLECTION, REPORT_PARTICIPATION, REPORT_LEADERBOARD, REPORT_FLOWS, REPORT_POINTS,
    REPORT_ACCURACY, REPORT_HONOUR_ROLL, REPORT_KINDS
};

/* The region a report is about (the caller resolves region_id to it). */
struct report_scope {
    long long id;                   /* 0: the whole tree */
    char path[256], name[401], level[12];
};

struct report_query {
    struct report_scope s;
    long long region_id;            /* as asked (0: none given) */
    struct report_period p;         /* collection, flows, points */
    enum report_group group;        /* collection */
    long long category_id, site_id;
    char network[16];               /* "" any */
    long long month0, month1;       /* participation, leaderboard (year * 12 + month - 1) */
    int limit;                      /* leaderboard */
};

/* "collection" -> REPORT_COLLECTION; -1 for another name. */
int report_kind(const char *name);

/* The CSV columns of a report (NULL-terminated paths into a row). */
const char *const *report_columns(enum report_kind kind);

/* A query parameter by name (NULL when absent). */
typedef const char *(*report_param_fn)(void *ctx, const char *name);

struct report_refusal {
    const char *field;
    char message[200];
};

/* Read the parameters kind takes through get.  0; 1 refused (400: f says
 * which and why); -1 the catalogue could not be read.  q->s is left for
 * the caller. */
int report_query_parse(struct db *d, enum report_kind kind, report_param_fn get, void *ctx,
                       struct report_query *q, struct report_refusal *f);

/* The report as JSON: {region_id, region_name, ..., rows, totals?}, or
 * NULL (store error, or out of memory). */
json_t *report_build(struct db *d, enum report_kind kind, const struct report_query *q);

/* The flows report (report_flows.c), as report_build gives it. */
json_t *report_flows(struct db *d, const struct report_query *q);

/* Write body as CSV into out (csv_out_init'ed by the caller): a header
 * of the columns (a path's '.' as '_'), the rows of body's `rows`, then
 * those of its `totals` (an object: one row; an array: each). */
struct csv_out;
void report_csv(const char *const *cols, json_t *body, struct csv_out *out);

/* The village programme's reports (report_inspections.c): accuracy and
 * the honour roll of q->month0, as report_build gives them. */
json_t *report_accuracy(struct db *d, const struct report_query *q);
json_t *report_honour_roll(struct db *d, const struct report_query *q);

/* ---- for the builders (report_children.c) ---- */

/* A region's children, and the region itself (for what lies in it
 * directly), sorted by id; the whole tree's provinces for scope id 0. */
struct child {
    long long id;
    char name[401];
};
struct children {
    struct child *c;           /* sorted by id; the caller frees c */
    int n;
};
int report_children_load(struct db *d, const struct report_scope *s, struct children *out);
const char *report_child_name(const struct children *ch, long long id);
int report_child_index(const struct children *ch, long long id);

/* A month value (year * 12 + month - 1) as "YYYY-MM", or "YYYY-MM-01". */
void report_month_text(long long mv, char *out, size_t len, bool first_day);

#endif
