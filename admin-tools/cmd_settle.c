/* cmd_settle.c - wbctl settle --region-id N --month YYYY-MM: the monthly
 * settlement of household inspections for a region's subtree, the same
 * as POST /v1/settlements/inspections (db/settle.h).  Safe to run again,
 * or beside the server's own run: nobody is paid twice.  Prints
 * {region_id, month, households_settled, points} as one JSON line. */
#include "admin-tools/wbctl.h"
#include "db/audit.h"
#include "db/db.h"
#include "db/regions.h"
#include "db/inspections.h"
#include "db/settle.h"
#include "server/clock.h"

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
    struct audit_actor who = { "cli", "admin", "local", "wbctl-settle" };
    struct settle_result res;
    if (settle_month(d, g.path, month, &who, &res) != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", db_error(d));
        db_close(d);
        die(1, "settlement stopped (run it again to finish): %s", why);
    }
    db_close(d);
    printf("{\"region_id\": %lld, \"month\": \"%s\", \"households_settled\": %lld, "
           "\"points\": %lld}\n",
           region_id, month, res.households_settled, res.points);
    return 0;
}
