/* reach.c - see reach.h. */
#include "api/reach.h"
#include "server/request.h"
#include "server/worker.h"
#include "db/db.h"
#include "db/regions.h"
#include "db/audit.h"
#include "db/shops.h"
#include "db/sites.h"

#include <stdio.h>
#include <string.h>

struct db *db_or_reply(struct req *r)
{
    struct db *d = worker_db(r->w);
    if (!d)
        reply_db_error(r, NULL);
    return d;
}

const char *reach_path(struct req *r, struct db *d)
{
    if (r->reach_loaded)
        return r->reach_path;
    if (r->who.role == ROLE_RESIDENT)
        return NULL;
    if (r->who.role == ROLE_ADMIN) {
        snprintf(r->reach_path, sizeof r->reach_path, "/");
    } else {
        /* regions never move: the connection's cache is always right */
        char path[256] = "";
        if (r->who.region_id && region_path_cached(d, r->who.region_id, path, sizeof path) != 0)
            return NULL;
        /* no region (or none any more) reaches nothing: a path no region has */
        snprintf(r->reach_path, sizeof r->reach_path, "%s", path[0] ? path : "/none/");
    }
    r->reach_loaded = true;
    return r->reach_path;
}

int reach_region(struct req *r, struct db *d, long long region_id, struct region *out)
{
    struct region tmp;
    struct region *g = out ? out : &tmp;
    if (r->who.role == ROLE_RESIDENT)
        return 0;
    int rc = region_get(d, region_id, g);
    if (rc <= 0)
        return rc;
    const char *root = reach_path(r, d);
    if (!root)
        return -1;
    return region_path_within(root, g->path) ? 1 : 0;
}

bool reach_region_or_reply(struct req *r, struct db *d, long long region_id,
                           struct region *out)
{
    int rc = reach_region(r, d, region_id, out);
    if (rc < 0) {
        reply_db_error(r, d);
        return false;
    }
    if (rc == 0) {
        reply_error(r, 404, "not_found", NULL, "no such region");
        return false;
    }
    return true;
}

/* found (1/0/-1) and the object's region path -> reach, or the reply. */
static bool path_in_reach_or_reply(struct req *r, struct db *d, int found, const char *path,
                                   const char *field, const char *what)
{
    const char *root = found == 1 ? reach_path(r, d) : NULL;
    if (found < 0 || (found == 1 && !root)) {
        reply_db_error(r, d);
        return false;
    }
    if (found == 0 || !region_path_within(root, path)) {
        reply_error(r, 404, "not_found", field, "no such %s", what);
        return false;
    }
    return true;
}

bool reach_site_or_reply(struct req *r, struct db *d, long long id, struct site *out,
                         const char *field)
{
    int found = site_get(d, id, out);
    return path_in_reach_or_reply(r, d, found, out->region_path, field, "site");
}

bool reach_shop_or_reply(struct req *r, struct db *d, long long id, struct shop *out,
                         const char *field)
{
    int found = shop_get(d, id, out);
    return path_in_reach_or_reply(r, d, found, out->region_path, field, "shop");
}

bool own_site_or_reply(struct req *r, struct db *d, struct site *out)
{
    int found = r->who.site_id ? site_get(d, r->who.site_id, out) : 0;
    if (found < 0) {
        reply_db_error(r, d);
        return false;
    }
    if (found == 0) {
        reply_error(r, 403, "forbidden", NULL, "this attendant is bound to no site");
        return false;
    }
    return true;
}

int audit_req(struct req *r, struct db *d, const char *action, const char *kind,
              long long id, json_t *detail)
{
    char actor[48];
    if (r->who.role == ROLE_RESIDENT)
        snprintf(actor, sizeof actor, "h:%lld", r->who.household_id);
    else
        snprintf(actor, sizeof actor, "s:%lld", r->who.staff_id);
    struct audit_actor a = { actor, role_name(r->who.role), r->remote, r->id };
    return audit_write(d, &a, action, kind, id, detail);
}
