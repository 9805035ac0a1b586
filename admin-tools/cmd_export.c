/* cmd_export.c - wbctl export REPORT: a report's CSV, the same bytes as
 * GET /v1/reports/REPORT?format=csv gives an admin (db/report_build.h),
 * to stdout or --out FILE.  Options are the query's parameters with
 * dashes: --region-id, --from, --to, --group-by, --category, --site-id,
 * --network, --month, --from-month, --to-month, --limit. */
#include "admin-tools/wbctl.h"
#include "db/csvout.h"
#include "db/db.h"
#include "db/regions.h"
#include "db/report_build.h"
#include "db/sites.h"

#include <stdio.h>
#include <string.h>

static const char *const params[] = { "region_id", "from", "to", "group_by", "category",
                                      "site_id", "network", "month", "from_month", "to_month",
                                      "limit", NULL };

struct args {
    int argc;
    char **argv;
};

/* "--region-id" for "region_id". */
static void option_name(const char *param, char *out, size_t len)
{
    snprintf(out, len, "--%s", param);
    for (char *p = out; *p; p++)
        if (*p == '_')
            *p = '-';
}

static const char *option_param(void *ctx, const char *name)
{
    const struct args *a = ctx;
    char opt[32];
    option_name(name, opt, sizeof opt);
    return opt_value(a->argc, a->argv, opt);
}

/* Every option must be one of the report's parameters, or --out. */
static void check_options(int argc, char **argv)
{
    for (int i = 0; i < argc; i += 2) {
        bool known = strcmp(argv[i], "--out") == 0;
        char opt[32];
        for (int k = 0; params[k] && !known; k++) {
            option_name(params[k], opt, sizeof opt);
            known = strcmp(argv[i], opt) == 0;
        }
        if (!known)
            die(2, "export: unknown option %s", argv[i]);
        if (i + 1 >= argc)
            die(2, "%s needs a value", argv[i]);
    }
}

/* Close the connection first, so that nothing is left open at exit. */
static void quit(struct db *d, int code, const char *what, const char *why)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", why);
    db_close(d);
    die(code, "%s: %s", what, msg);
}

int cmd_export(int argc, char **argv)
{
    int kind = argc > 0 ? report_kind(argv[0]) : -1;
    if (kind < 0)
        die(2, "usage: wbctl export collection|participation|leaderboard|flows|points|accuracy|honour-roll "
               "[--region-id N] [--from DAY --to DAY] [--month YYYY-MM] ... [--out FILE]");
    check_options(argc - 1, argv + 1);
    struct args a = { argc - 1, argv + 1 };
    struct db *d = wbctl_db();
    struct report_query q;
    struct report_refusal f;
    int rc = report_query_parse(d, (enum report_kind)kind, option_param, &a, &q, &f);
    if (rc < 0)
        quit(d, 1, "cannot read the catalogue", db_error(d));
    if (rc > 0) {
        char opt[32];
        option_name(f.field, opt, sizeof opt);
        quit(d, 2, opt, f.message);
    }
    if (q.region_id) {
        struct region g;
        int found = region_get(d, q.region_id, &g);
        if (found <= 0)
            quit(d, found < 0 ? 1 : 2, "--region-id", found < 0 ? db_error(d) : "no such region");
        q.s.id = g.id;
        snprintf(q.s.path, sizeof q.s.path, "%s", g.path);
        snprintf(q.s.name, sizeof q.s.name, "%s", g.name);
        snprintf(q.s.level, sizeof q.s.level, "%s", g.level);
    } else {
        snprintf(q.s.path, sizeof q.s.path, "/");
        snprintf(q.s.name, sizeof q.s.name, "全部");
    }
    struct site s;
    int site = q.site_id ? site_get(d, q.site_id, &s) : 1;
    if (site <= 0)
        quit(d, site < 0 ? 1 : 2, "--site-id", site < 0 ? db_error(d) : "no such site");
    json_t *body = report_build(d, (enum report_kind)kind, &q);
    if (!body)
        quit(d, 1, "the report failed", db_error(d));
    struct csv_out out;
    csv_out_init(&out, true);
    report_csv(report_columns((enum report_kind)kind), body, &out);
    json_decref(body);
    db_close(d);
    size_t len;
    const char *text = csv_out_bytes(&out, &len);
    if (!text) {
        csv_out_release(&out);
        die(1, "out of memory");
    }
    const char *path = opt_value(a.argc, a.argv, "--out");
    FILE *fp = path ? fopen(path, "wb") : stdout;
    if (!fp) {
        csv_out_release(&out);
        die(1, "cannot write %s", path);
    }
    bool ok = fwrite(text, 1, len, fp) == len;
    ok &= (path ? fclose(fp) : fflush(fp)) == 0;
    csv_out_release(&out);
    if (!ok)
        die(1, "cannot write %s", path ? path : "stdout");
    return 0;
}
