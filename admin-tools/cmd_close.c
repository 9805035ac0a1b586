/* cmd_close.c - wbctl close-days: close the days that have ended
 * (db/closing.h), as every wastebankd does once a minute; for a store
 * restored or loaded in bulk, before the servers start.  Safe beside the
 * servers: no day is closed twice.  Prints, per closed rollup, {days,
 * through} as one JSON line: {"points": {...}, "chain": {...},
 * "participation": {months, through}, "collection": {...}}. */
#include "admin-tools/wbctl.h"
#include "db/closing.h"
#include "db/collection_sets.h"
#include "db/db.h"
#include "server/clock.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

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
    json_t *out = json_object();
    for (int r = 0; r < CLOSING_N; r++)
        json_object_set_new(out, closing_specs[r].name,
                            json_pack("{s:I, s:s}", "days", (json_int_t)res.days[r], "through",
                                      res.through[r]));
    json_object_set_new(out, "participation",
                        json_pack("{s:I, s:s}", "months", (json_int_t)res.months, "through",
                                  res.months_through));
    json_object_set_new(out, COLLECTION_SETS_NAME,
                        json_pack("{s:I, s:s}", "days", (json_int_t)res.sets_days, "through",
                                  res.sets_through));
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    if (!text)
        die(1, "out of memory");
    printf("%s\n", text);
    free(text);
    return 0;
}
