/* report_params.h - what every report reads from its query the same way
 * (api.md, "Reports", common rules): the region (region_id: required of a
 * region admin, the whole tree by default for an admin, 404 outside
 * reach), the period (from/to: local days, both included, at most 366
 * days apart, by default the month of `to` so far), months (YYYY-MM); and
 * a region's children, which the reports are broken down by. */
#ifndef WB_REPORT_PARAMS_H
#define WB_REPORT_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

struct req;
struct db;
struct report_period;

#define PERIOD_MAX_DAYS 366
#define MONTHS_MAX 24

struct scope {
    long long id;                   /* 0: the whole tree */
    char path[256], name[401], level[12];
};

/* Each "_or_reply" replies 400/404 (or the store error) and returns false. */
bool scope_or_reply(struct req *r, struct db *d, struct scope *s);
bool period_or_reply(struct req *r, struct report_period *p);

/* A month as an index (year * 12 + month - 1): the query parameter name
 * (absent: -1 unless required). */
bool month_value(const char *s, long long *out);
bool month_or_reply(struct req *r, const char *name, long long *out, bool required);
/* "2026-11" (first_day: "2026-11-01"), and the epoch second it begins. */
void month_text(long long month, char *out, size_t len, bool first_day);
long long month_start(long long month);

struct child {
    long long id;
    char name[401];
};

struct children {
    struct child *c;           /* sorted by id; free() it */
    int n;
};

/* The region's children and the region itself (the whole tree: the
 * provinces).  0 or -1. */
int children_load(struct db *d, const struct scope *s, struct children *out);
const char *child_name(const struct children *ch, long long id);

#endif
