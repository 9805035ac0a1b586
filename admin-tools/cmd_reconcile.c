/* wbctl reconcile [--fix]: check every ledger invariant; with --fix first
 * rebuild Redis's balances from MariaDB.  Exit 0 when every invariant
 * holds, 1 otherwise (each violation on stdout, one a line). */
#include "admin-tools/wbctl.h"
#include "server/config.h"
#include "db/cache.h"
#include "db/check.h"
#include "db/db.h"

#include <stdio.h>
#include <string.h>

int cmd_reconcile(int argc, char **argv)
{
    bool fix = opt_flag(argc, argv, "--fix");
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--fix") != 0)
            die(2, "usage: wbctl reconcile [--fix]");
    struct db *d = wbctl_db();
    char err[256];
    struct cache *c = cache_new(wbctl_config()->redis_url, err, sizeof err);
    if (!c)
        die(2, "%s", err);
    if (fix) {
        long long n = ledger_rebuild_cache(d, c);
        if (n < 0)
            die(1, "cannot rebuild Redis balances: Redis or MariaDB unavailable");
        printf("rebuilt %lld Redis balances from MariaDB\n", n);
    }
    bool redis_up = cache_ping(c) == 0;
    json_t *v;
    long long checked;
    if (ledger_check(d, redis_up ? c : NULL, &v, &checked) != 0)
        die(1, "check failed: %s", db_error(d));
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
        json_t *hid = json_object_get(x, "household_id");
        if (json_is_integer(hid))
            printf("household %lld: ", (long long)json_integer_value(hid));
        else
            printf("chain: ");
        printf("%s: %s\n", json_string_value(json_object_get(x, "rule")),
               json_string_value(json_object_get(x, "detail")));
    }
    size_t n = json_array_size(v);
    printf("%lld households checked, %zu violations%s\n", checked, n,
           redis_up ? "" : " (Redis unavailable: its balances were not compared)");
    json_decref(v);
    cache_free(c);
    db_close(d);
    return n == 0 ? 0 : 1;
}
