/* report_query.c - what a report's parameters mean (see report_build.h). */
#include "db/report_build.h"
#include "db/catalog.h"
#include "server/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[REPORT_KINDS] = {
    "collection", "participation", "leaderboard", "flows", "points", "accuracy", "honour-roll",
};

int report_kind(const char *name)
{
    for (int k = 0; k < REPORT_KINDS; k++)
        if (name && strcmp(name, kind_names[k]) == 0)
            return k;
    return -1;
}

static int refuse(struct report_refusal *f, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(struct report_refusal *f, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    f->field = field;
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
    return 1;
}

/* ---- the calendar ---- */

static long long midnight_of(long long days)
{
    int y, m, d;
    clock_civil_from_days(days, &y, &m, &d);
    return (long long)clock_local_midnight(y, m, d);
}

static bool parse_day(const char *s, long long *days)
{
    int y, m, d;
    if (!clock_parse_day(s, &y, &m, &d))
        return false;
    *days = clock_days_from_civil(y, m, d);
    return true;
}

static int period_parse(report_param_fn get, void *ctx, struct report_period *p,
                        struct report_refusal *f)
{
    const char *from = get(ctx, "from"), *to = get(ctx, "to");
    char now[11];
    clock_local_day(clock_now(), now, sizeof now);
    long long first, last = 0;
    parse_day(now, &last);
    if (to && *to && !parse_day(to, &last))
        return refuse(f, "to", "to must be a day as YYYY-MM-DD");
    if (from && *from) {
        if (!parse_day(from, &first))
            return refuse(f, "from", "from must be a day as YYYY-MM-DD");
    } else {
        int y, m, d;
        clock_civil_from_days(last, &y, &m, &d);      /* the month of `to` so far */
        first = clock_days_from_civil(y, m, 1);
    }
    if (first > last)
        return refuse(f, "from", "from is after to");
    if (last - first + 1 > REPORT_PERIOD_MAX_DAYS)
        return refuse(f, "to", "a period is at most %d days: from and to are too far apart",
                      REPORT_PERIOD_MAX_DAYS);
    int y, m, d;
    clock_civil_from_days(first, &y, &m, &d);
    snprintf(p->from, sizeof p->from, "%04d-%02d-%02d", y, m, d);
    clock_civil_from_days(last, &y, &m, &d);
    snprintf(p->to, sizeof p->to, "%04d-%02d-%02d", y, m, d);
    p->start = midnight_of(first);
    p->end = midnight_of(last + 1);
    return 0;
}

/* YYYY-MM as year * 12 + month - 1. */
static bool month_value(const char *s, long long *out)
{
    int y, m;
    char tail;
    if (!s || strlen(s) != 7 || s[4] != '-' || sscanf(s, "%4d-%2d%c", &y, &m, &tail) != 2 ||
        y < 1970 || y > 9999 || m < 1 || m > 12)
        return false;
    *out = (long long)y * 12 + m - 1;
    return true;
}

/* The month parameter name: -1 when absent; 1 when malformed. */
static int month_parse(report_param_fn get, void *ctx, const char *name, long long *out,
                       struct report_refusal *f)
{
    const char *v = get(ctx, name);
    *out = -1;
    if (!v || !*v)
        return 0;
    return month_value(v, out) ? 0 : refuse(f, name, "%s must be a month as YYYY-MM", name);
}

/* ---- the parameters of each report ---- */

static int id_parse(report_param_fn get, void *ctx, const char *name, long long *out,
                    struct report_refusal *f)
{
    const char *v = get(ctx, name);
    *out = 0;
    if (!v || !*v)
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || n < 1 || strlen(v) > 18 || v[0] == '+' || v[0] == '-')
        return refuse(f, name, "%s must be a positive id", name);
    *out = n;
    return 0;
}

static int collection_parse(struct db *d, report_param_fn get, void *ctx, struct report_query *q,
                            struct report_refusal *f)
{
    static const char *const groups[] = { "category", "site", "region", "day", "month", NULL };
    const char *g = get(ctx, "group_by");
    q->group = GROUP_CATEGORY;
    if (g && *g) {
        int i = 0;
        while (groups[i] && strcmp(groups[i], g) != 0)
            i++;
        if (!groups[i])
            return refuse(f, "group_by", "group_by is category, site, region, day or month");
        q->group = (enum report_group)i;
    }
    const char *code = get(ctx, "category");
    if (code && *code) {
        const struct category *c;
        int found = catalog_find(d, code, &c);
        if (found < 0)
            return -1;
        if (found == 0)
            return refuse(f, "category", "unknown category '%s'", code);
        q->category_id = c->id;
    }
    const char *net = get(ctx, "network");
    if (net && *net) {
        if (strcmp(net, "sanitation") != 0 && strcmp(net, "recycling") != 0 &&
            strcmp(net, "integrated") != 0)
            return refuse(f, "network", "network is sanitation, recycling or integrated");
        snprintf(q->network, sizeof q->network, "%s", net);
    }
    return id_parse(get, ctx, "site_id", &q->site_id, f);
}

static int participation_parse(report_param_fn get, void *ctx, struct report_query *q,
                               struct report_refusal *f)
{
    long long one;
    int rc = month_parse(get, ctx, "month", &one, f);
    if (!rc)
        rc = month_parse(get, ctx, "from_month", &q->month0, f);
    if (!rc)
        rc = month_parse(get, ctx, "to_month", &q->month1, f);
    if (rc)
        return rc;
    if (one >= 0) {
        q->month0 = q->month1 = one;
        return 0;
    }
    if (q->month0 < 0 || q->month1 < 0)
        return refuse(f, q->month0 < 0 && q->month1 < 0 ? "month"
                         : q->month0 < 0                 ? "from_month"
                                                         : "to_month",
                      "give month, or from_month and to_month (YYYY-MM)");
    if (q->month0 > q->month1)
        return refuse(f, "from_month", "from_month is after to_month");
    if (q->month1 - q->month0 + 1 > REPORT_MONTHS_MAX)
        return refuse(f, "to_month", "at most %d months", REPORT_MONTHS_MAX);
    return 0;
}

static int leaderboard_parse(report_param_fn get, void *ctx, struct report_query *q,
                             struct report_refusal *f)
{
    int rc = month_parse(get, ctx, "month", &q->month0, f);
    if (rc)
        return rc;
    if (q->month0 < 0)
        return refuse(f, "month", "month is required (YYYY-MM)");
    q->month1 = q->month0;
    q->limit = 10;
    const char *v = get(ctx, "limit");
    if (v && *v) {
        char *end;
        long long n = strtoll(v, &end, 10);
        if (*end || n < 1 || n > 100 || strlen(v) > 3)
            return refuse(f, "limit", "limit is 1 to 100");
        q->limit = (int)n;
    }
    return 0;
}

int report_query_parse(struct db *d, enum report_kind kind, report_param_fn get, void *ctx,
                       struct report_query *q, struct report_refusal *f)
{
    memset(q, 0, sizeof *q);
    int rc = id_parse(get, ctx, "region_id", &q->region_id, f);
    if (rc)
        return rc;
    switch (kind) {
    case REPORT_COLLECTION:
        rc = period_parse(get, ctx, &q->p, f);
        return rc ? rc : collection_parse(d, get, ctx, q, f);
    case REPORT_PARTICIPATION:
        return participation_parse(get, ctx, q, f);
    case REPORT_LEADERBOARD:
        return leaderboard_parse(get, ctx, q, f);
    case REPORT_FLOWS:
    case REPORT_POINTS:
        return period_parse(get, ctx, &q->p, f);
    case REPORT_ACCURACY:
    case REPORT_HONOUR_ROLL:
        rc = month_parse(get, ctx, "month", &q->month0, f);
        if (!rc && q->month0 < 0)
            rc = refuse(f, "month", "month is required (YYYY-MM)");
        q->month1 = q->month0;
        return rc;
    default:
        return refuse(f, "report", "no such report");
    }
}
