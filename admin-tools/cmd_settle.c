/* cmd_settle.c - wbctl settle --region-id N --month YYYY-MM: the monthly
 * settlement of household inspections for a region's subtree, the same
 * as POST /v1/settlements/inspections (db/settle.h).  Safe to run again,
 * or beside the server's own run: nobody is paid twice.  Prints
 * {region_id, month, households_settled, points} as one JSON line. */
#include "admin-tools/wbctl.h"
#include "db/audit.h"
#include "db/cache.h"
#include "db/db.h"
#include "db/regions.h"
#include "db/inspections.h"
#include "db/settle.h"
#include "server/clock.h"
#include "server/config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_settle(int argc, char **argv)
{
    const char *rid = opt_value(argc, argv, "--region-id");
    const char *month = opt_value(argc, argv, "--month");
    for (int i = 0; i < argc; i += 2)
        if (strcmp(argv[i], "--region-id") != 0 && strcmp(argv[i], "--month") != 0)
            die(2, "settle: unknown option %s", argv[i]);
    char *end = NULL;
    long long region_id = rid ? strtoll(rid, &end, 10) : 0;
    if (!rid || !month || *end || region_id < 1)
        die(2, "usage: wbctl settle --region-id N --month YYYY-MM");
    char first[11], last[11];
    if (strlen(month) != 7 || !inspection_month_days(month, first, last))
        die(2, "--month: a month is YYYY-MM");
    if (!settle_month_ended(month, (long long)clock_now()))
        die(2, "--month: %s has not ended yet", month);
    struct db *d = wbctl_db();
    struct region g;
    int found = region_get(d, region_id, &g);
    if (found <= 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", found < 0 ? db_error(d) : "no such region");
        db_close(d);
        die(found < 0 ? 1 : 2, "--region-id: %s", why);
    }
    /* the servers read balances from Redis: what this run pays goes there too */
    char err[256];
    struct cache *c = cache_new(wbctl_config()->redis_url, err, sizeof err);
    if (!c) {
        db_close(d);
        die(2, "%s", err);
    }
    struct audit_actor who = { "cli", "admin", "local", "wbctl-settle" };
    struct settle_result res;
    int rc = settle_month(d, c, g.path, month, &who, &res);
    bool behind = cache_writes_behind();
    cache_free(c);
    if (rc != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", db_error(d));
        db_close(d);
        die(1, "settlement stopped (run it again to finish): %s", why);
    }
    db_close(d);
    if (behind)
        fprintf(stderr, "wbctl: Redis did not take every new balance: run wbctl reconcile --fix\n");
    printf("{\"region_id\": %lld, \"month\": \"%s\", \"households_settled\": %lld, "
           "\"points\": %lld}\n",
           region_id, month, res.households_settled, res.points);
    return 0;
}
