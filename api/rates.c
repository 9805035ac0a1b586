/* rates.c - the history of rate versions: GET /v1/rates.  (A new version
 * is POST /v1/rates, with the categories in points.c.)
 *
 * The history is for one region: the one named by ?region_id= (404
 * outside the caller's reach), else the caller's own (an admin's: the
 * whole tree).  It lists the versions that may apply there - the
 * default's, the region's and its ancestors' - and those set anywhere
 * below it, and marks the ones in force now for the region itself, as
 * db/catalog.c's catalog_rates prices a drop-off. */
#include "api/handlers.h"
#include "api/list.h"
#include "api/reach.h"
#include "server/clock.h"
#include "server/request.h"
#include "db/catalog.h"
#include "db/db.h"
#include "db/regions.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "s:<staff id>" (api/points.c, rate_tx) -> the id; 0 for anything else
 * (the default catalogue's "migration"). */
static long long staff_of_actor(const char *actor)
{
    if (strncmp(actor, "s:", 2) != 0)
        return 0;
    const char *id = actor + 2;
    if (!*id || strspn(id, "0123456789") != strlen(id))
        return 0;
    return strtoll(id, NULL, 10);
}

static json_t *rate_row_json(struct db_rows *rows)
{
    char from[40], at[40];
    clock_format((time_t)db_rows_int(rows, 5), from, sizeof from);
    clock_format((time_t)db_rows_int(rows, 6), at, sizeof at);
    long long region = db_rows_int(rows, 2);
    long long by = staff_of_actor(db_rows_str(rows, 7, NULL));
    json_t *o = json_pack("{s:I, s:s, s:I, s:s, s:s, s:b}", "id",
                          (json_int_t)db_rows_int(rows, 0), "category",
                          db_rows_str(rows, 1, NULL), "points_per_unit",
                          (json_int_t)db_rows_int(rows, 4), "effective_from", from,
                          "created_at", at, "in_force", db_rows_int(rows, 8) != 0);
    if (!o)
        return NULL;
    if (json_object_set_new(o, "region_id", region ? json_integer(region) : json_null()) ||
        json_object_set_new(o, "region_name",
                            region ? json_string(db_rows_str(rows, 3, NULL)) : json_null()) ||
        json_object_set_new(o, "created_by", by ? json_integer(by) : json_null())) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ?in_force=true|false -> 1|2, absent 0; false after replying 400. */
static bool in_force_filter_or_reply(struct req *r, int *only)
{
    const char *v = req_query(r, "in_force");
    *only = 0;
    if (!v)
        return true;
    if (strcmp(v, "true") == 0)
        *only = 1;
    else if (strcmp(v, "false") == 0)
        *only = 2;
    else {
        reply_error(r, 400, "invalid_request", "in_force", "in_force must be true or false");
        return false;
    }
    return true;
}

/* The ids of the versions in force now for the region at path, one per
 * category at most, as "12,40,7" into buf.  0, -1 (error on d), or 1
 * when buf is too short (it is sized for CATALOG_MAX ids: a bug). */
static int in_force_ids(struct db *d, const char *path, char *buf, size_t len)
{
    const struct category *cats;
    struct rate rates[CATALOG_MAX];
    /* fresh, as the categories list is: a category created a moment ago
     * on another worker counts (a missed code is looked up again anyway) */
    int n = catalog_all_fresh(d, &cats);
    if (n < 0 || catalog_rates(d, -1, path, (long long)clock_now(), cats, n, rates) != 0)
        return -1;
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (!rates[i].id)
            continue;
        int w = snprintf(buf + used, len - used, "%s%lld", used ? "," : "", rates[i].id);
        if (w < 0 || (size_t)w >= len - used)
            return 1;
        used += (size_t)w;
    }
    return 0;
}

void h_rates_list(struct req *r)
{
    int limit, only;
    long long after;
    if (!list_params_or_reply(r, &limit, &after) || !in_force_filter_or_reply(r, &only))
        return;
    struct db *d = db_or_reply(r);
    struct region g;
    const char *path;
    if (!d || !(path = list_root_or_reply(r, d, "region_id", &g)))
        return;
    struct rate_query q = { .region_path = path, .only = only, .before_from = LLONG_MAX,
                            .before_id = LLONG_MAX, .limit = limit + 1 };
    const char *code = req_query(r, "category");
    if (code && *code) {
        const struct category *c;
        int found = catalog_find(d, code, &c);
        if (found < 0) {
            reply_db_error(r, d);
            return;
        }
        if (found == 0) {
            reply_error(r, 400, "invalid_request", "category", "unknown category");
            return;
        }
        q.category_id = c->id;
    }
    if (after) {
        int found = rate_effective_from(d, after, &q.before_from);
        if (found < 0) {
            reply_db_error(r, d);
            return;
        }
        if (found == 0) {
            reply_error(r, 400, "invalid_request", "cursor", "cursor is not one this server gave");
            return;
        }
        q.before_id = after;
    }
    char ids[CATALOG_MAX * 20 + 1];   /* ids of 19 digits at most, and commas */
    int rc = in_force_ids(d, path, ids, sizeof ids);
    if (rc < 0) {
        reply_db_error(r, d);
        return;
    }
    if (rc > 0) {
        reply_error(r, 500, "internal", NULL, "the rates in force do not fit their buffer");
        return;
    }
    q.in_force_ids = ids;
    reply_row_page(r, d, rate_history(d, &q), limit, rate_row_json, 0);
}
