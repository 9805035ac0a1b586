/* cmd_close.c - wbctl close-days: close the days that have ended
 * (db/closing.h), as every wastebankd does once a minute; for a store
 * restored or loaded in bulk, before the servers start.  Safe beside the
 * servers: no day is closed twice.  Prints {days, through} as one JSON
 * line. */
#include "admin-tools/wbctl.h"
#include "db/closing.h"
#include "db/db.h"
#include "server/clock.h"

#include <stdio.h>

int cmd_close_days(int argc, char **argv)
{
    if (argc > 0)
        die(2, "usage: wbctl close-days");
    (void)argv;
    struct db *d = wbctl_db();
    struct closing_result res;
    if (closing_run(d, clock_now(), &res) != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", db_error(d));
        db_close(d);
        die(1, "closing stopped (run it again to go on): %s", why);
    }
    db_close(d);
    printf("{\"days\": %lld, \"through\": \"%s\"}\n", res.days, res.through);
    return 0;
}
