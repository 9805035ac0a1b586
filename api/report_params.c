/* report_params.c - see report_params.h. */
#include "api/report_params.h"
#include "api/list.h"
#include "api/reach.h"
#include "server/clock.h"
#include "server/request.h"
#include "db/db.h"
#include "db/regions.h"
#include "db/reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PERIOD_MAX_DAYS 366
#define MONTHS_MAX 24

/* ---- days ---- */

/* Days since 1970-01-01 of a civil date, and back (proleptic Gregorian). */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long long z, int *y, int *m, int *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static long long midnight_of(long long days)
{
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    return (long long)clock_local_midnight(y, m, d);
}

/* ---- the shared parameters ---- */

bool scope_or_reply(struct req *r, struct db *d, struct scope *s)
{
    long long id;
    if (!query_id_or_reply(r, "region_id", &id))
        return false;
    if (!id) {
        if (r->who.role != ROLE_ADMIN) {
            reply_error(r, 400, "invalid_request", "region_id", "region_id is required");
            return false;
        }
        *s = (struct scope){ .id = 0 };
        snprintf(s->path, sizeof s->path, "/");
        snprintf(s->name, sizeof s->name, "全部");
        return true;
    }
    struct region g;
    if (!reach_region_or_reply(r, d, id, &g))
        return false;
    s->id = g.id;
    snprintf(s->path, sizeof s->path, "%s", g.path);
    snprintf(s->name, sizeof s->name, "%s", g.name);
    snprintf(s->level, sizeof s->level, "%s", g.level);
    return true;
}

bool period_or_reply(struct req *r, struct report_period *p)
{
    char from[11], to[11];
    if (!query_day_or_reply(r, "from", from) || !query_day_or_reply(r, "to", to))
        return false;
    int y, m, d;
    long long today;
    char now[11];
    clock_local_day(clock_now(), now, sizeof now);
    clock_parse_day(now, &y, &m, &d);
    today = days_from_civil(y, m, d);
    long long last = today, first;
    if (to[0] && clock_parse_day(to, &y, &m, &d))
        last = days_from_civil(y, m, d);
    if (from[0] && clock_parse_day(from, &y, &m, &d)) {
        first = days_from_civil(y, m, d);
    } else {
        civil_from_days(last, &y, &m, &d);      /* the month of `to` so far */
        first = days_from_civil(y, m, 1);
    }
    if (first > last) {
        reply_error(r, 400, "invalid_request", "from", "from is after to");
        return false;
    }
    if (last - first + 1 > PERIOD_MAX_DAYS) {
        reply_error(r, 400, "invalid_request", "to",
                    "a period is at most %d days: from and to are too far apart", PERIOD_MAX_DAYS);
        return false;
    }
    civil_from_days(first, &y, &m, &d);
    snprintf(p->from, sizeof p->from, "%04d-%02d-%02d", y, m, d);
    civil_from_days(last, &y, &m, &d);
    snprintf(p->to, sizeof p->to, "%04d-%02d-%02d", y, m, d);
    p->start = midnight_of(first);
    p->end = midnight_of(last + 1);
    return true;
}

/* YYYY-MM as a month index (year * 12 + month - 1). */
bool month_value(const char *s, long long *out)
{
    int y, m;
    char tail;
    if (!s || strlen(s) != 7 || s[4] != '-' || sscanf(s, "%4d-%2d%c", &y, &m, &tail) != 2 ||
        y < 1970 || y > 9999 || m < 1 || m > 12)
        return false;
    *out = (long long)y * 12 + m - 1;
    return true;
}

bool month_or_reply(struct req *r, const char *name, long long *out, bool required)
{
    const char *v = req_query(r, name);
    if (!v || !*v) {
        if (required) {
            reply_error(r, 400, "invalid_request", name, "%s is required (YYYY-MM)", name);
            return false;
        }
        *out = -1;
        return true;
    }
    if (!month_value(v, out)) {
        reply_error(r, 400, "invalid_request", name, "%s must be a month as YYYY-MM", name);
        return false;
    }
    return true;
}

void month_text(long long mv, char *out, size_t len, bool first_day)
{
    snprintf(out, len, first_day ? "%04lld-%02lld-01" : "%04lld-%02lld", mv / 12, mv % 12 + 1);
}

/* The epoch second a month begins (local time). */
long long month_start(long long mv)
{
    return (long long)clock_local_midnight((int)(mv / 12), (int)(mv % 12 + 1), 1);
}

/* ---- the children of a region, by id ---- */

static int child_cmp(const void *a, const void *b)
{
    long long x = ((const struct child *)a)->id, y = ((const struct child *)b)->id;
    return x < y ? -1 : x > y;
}

/* The region's children, and the region itself (for what lies in it
 * directly), sorted by id.  0 or -1. */
int children_load(struct db *d, const struct scope *s, struct children *out)
{
    struct db_rows *r = s->id ? db_query(d, "SELECT id, name FROM regions WHERE parent_id = ? "
                                            "UNION ALL SELECT id, name FROM regions WHERE id = ?",
                                         "ii", s->id, s->id)
                              : db_query(d, "SELECT id, name FROM regions WHERE parent_id IS NULL",
                                         "");
    if (!r)
        return -1;
    out->n = 0;
    out->c = NULL;
    int cap = 0;
    while (db_rows_next(r)) {
        if (out->n == cap) {
            cap = cap ? 2 * cap : 32;
            struct child *p = realloc(out->c, (size_t)cap * sizeof *p);
            if (!p) {
                db_rows_free(r);
                return -1;
            }
            out->c = p;
        }
        out->c[out->n].id = db_rows_int(r, 0);
        snprintf(out->c[out->n].name, sizeof out->c[out->n].name, "%s", db_rows_str(r, 1, NULL));
        out->n++;
    }
    db_rows_free(r);
    if (out->n > 1)
        qsort(out->c, (size_t)out->n, sizeof *out->c, child_cmp);
    return 0;
}

const char *child_name(const struct children *ch, long long id)
{
    struct child key = { .id = id };
    struct child *c = ch->n ? bsearch(&key, ch->c, (size_t)ch->n, sizeof *ch->c, child_cmp) : NULL;
    return c ? c->name : "";
}

