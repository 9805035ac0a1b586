/* staff.c - POST /v1/staff, GET /v1/staff/{id}, GET /v1/staff,
 * PATCH /v1/staff/{id}.
 *
 * Staff are made only downward: an admin makes anyone; a region admin
 * makes attendants, clerks and inspectors inside its subtree and region
 * admins of strictly lower regions, never an admin or a peer (403).
 *
 * Reach is a power like any other, so it is granted downward too: each
 * member's reach (staff.reach_region_id, what its tokens reach) is
 * recorded at creation, never wider than its creator's.  An attendant or
 * clerk reaches its site's or shop's county - or, made by a region admin
 * below the county, that admin's own region; a region admin reaches its
 * region, and so does an inspector (a town, village or community).  A
 * member whose reach is wider than the caller's may be read
 * (its region is in reach) but not changed in any way (403): a reset
 * password or a re-enabled account would hand the caller that reach.
 *
 * Passwords are hashed in the argon2 pool, so create and password changes
 * answer from the pool's callback. */
#include "api/handlers.h"
#include "api/input.h"
#include "api/list.h"
#include "api/reach.h"
#include "server/clock.h"
#include "server/metrics.h"
#include "server/pwpool.h"
#include "server/request.h"
#include "server/server.h"
#include "server/worker.h"
#include "db/cache.h"
#include "db/db.h"
#include "db/regions.h"
#include "db/revoke.h"
#include "db/shops.h"
#include "db/sites.h"
#include "db/staff.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct field create_fields[] = {
    { "username", FT_STR, F_REQUIRED, 1, STAFF_USERNAME_MAX, NULL },
    { "password", FT_STR, F_REQUIRED, 10, 1024, NULL },
    { "role", FT_STR, F_REQUIRED, 1, 16, NULL },
    { "region_id", FT_INT, F_NULLABLE, 1, ID_MAX, NULL },
    { "site_id", FT_INT, F_NULLABLE, 1, ID_MAX, NULL },
    { "shop_id", FT_INT, F_NULLABLE, 1, ID_MAX, NULL },
    { "display_name", FT_STR, 0, 1, 100, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field patch_fields[] = {
    { "status", FT_STR, 0, 1, 16, NULL },
    { "password", FT_STR, 0, 10, 1024, NULL },
    { "display_name", FT_STR, 0, 1, 100, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const char SQL_LIST[] =
    "SELECT s.id FROM staff s LEFT JOIN regions g ON g.id = s.region_id "
    "WHERE (? = '/' OR g.path LIKE CONCAT(?, '%')) AND s.id > ? ORDER BY s.id LIMIT ?";

static json_t *staff_json(const struct staff *s)
{
    char created[40];
    clock_format((time_t)s->created_at, created, sizeof created);
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)s->id,
                          "username", s->username, "role", s->role, "display_name",
                          s->display_name, "status", s->status, "created_at", created);
    if (!o)
        return NULL;
    json_object_set_new(o, "region_id", s->region_id ? json_integer(s->region_id) : json_null());
    json_object_set_new(o, "site_id", s->site_id ? json_integer(s->site_id) : json_null());
    json_object_set_new(o, "shop_id", s->shop_id ? json_integer(s->shop_id) : json_null());
    json_object_set_new(o, "reach_region_id",
                        s->reach_region_id ? json_integer(s->reach_region_id) : json_null());
    return o;
}

/* The field checker counts characters; argon2 takes bytes, and a
 * password cut to fit a buffer would be one no one can type.  Over the
 * limit is refused, never shortened.  ("OrReply": false after a 400.) */
static bool password_fits_or_reply(struct req *r, const char *password)
{
    if (!password || strlen(password) <= STAFF_PASSWORD_MAX_BYTES)
        return true;
    reply_error(r, 400, "invalid_request", "password", "password must be at most %d bytes",
                STAFF_PASSWORD_MAX_BYTES);
    return false;
}

/* Can the caller manage a member with this role in this region (path)?
 * Returns 200 yes, 404 outside reach, 403 inside reach but not below. */
static int may_manage(struct req *r, struct db *d, const char *role, const char *path,
                      const char **why)
{
    if (r->who.role == ROLE_ADMIN)
        return 200;
    const char *root = reach_path(r, d);
    if (!root)
        return -1;
    if (!path[0] || !region_path_within(root, path))
        return 404;
    if (strcmp(role, "admin") == 0) {
        *why = "only an admin makes or changes admins";
        return 403;
    }
    if (strcmp(role, "region_admin") == 0 && strcmp(root, path) == 0) {
        *why = "a region admin manages region admins of strictly lower regions only";
        return 403;
    }
    return 200;
}

struct create_staff {
    struct req *r;
    struct staff s;
    long long place_region;   /* the region of an attendant's site or a clerk's shop */
    char password[STAFF_PASSWORD_MAX_BYTES + 1];
};

static int insert_tx(struct db *d, void *arg)
{
    struct create_staff *c = arg;
    c->s.id = staff_insert(d, &c->s);
    if (c->s.id < 0)
        return -1;
    json_t *detail = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "username", c->s.username,
                               "role", c->s.role, "region_id", (json_int_t)c->s.region_id,
                               "site_id", (json_int_t)c->s.site_id, "shop_id",
                               (json_int_t)c->s.shop_id, "reach_region_id",
                               (json_int_t)c->s.reach_region_id);
    int rc = audit_req(c->r, d, "staff.create", "staff", c->s.id, detail);
    json_decref(detail);
    return rc;
}

static void on_create_hashed(bool ok, const char *hash, void *arg)
{
    struct create_staff *c = arg;
    struct req *r = c->r;
    struct db *d = worker_db(r->w);
    if (!ok) {
        reply_error(r, 500, "internal", NULL, "could not hash the password");
    } else if (!d) {
        reply_db_error(r, NULL);
    } else {
        snprintf(c->s.password_hash, sizeof c->s.password_hash, "%s", hash);
        int rc = db_tx(d, insert_tx, c);
        struct staff fresh;
        if (rc == DB_TX_ERROR && db_errkind(d) == DB_DUP)
            reply_error(r, 409, "conflict", "username", "username '%s' is taken", c->s.username);
        else if (rc != 0)
            reply_tx_error(r, d, rc);
        else if (staff_by_id(d, c->s.id, &fresh) != 1)
            reply_db_error(r, d);
        else
            reply_json(r, 201, staff_json(&fresh));
    }
    sodium_memzero(c, sizeof *c);
    free(c);
    req_finish_async(r);
}

/* Check site/shop binding for attendants and clerks. */
static bool binding_ok_or_reply(struct req *r, struct db *d, struct create_staff *c,
                                const struct region *g)
{
    bool attendant = strcmp(c->s.role, "attendant") == 0;
    bool clerk = strcmp(c->s.role, "clerk") == 0;
    if (strcmp(c->s.role, "inspector") == 0 && region_level_rank(g->level) < 3) {
        reply_error(r, 400, "invalid_request", "region_id",
                    "an inspector works in a town, village or community, not a %s", g->level);
        return false;
    }
    if (!attendant && c->s.site_id) {
        reply_error(r, 400, "invalid_request", "site_id", "only attendants are bound to a site");
        return false;
    }
    if (!clerk && c->s.shop_id) {
        reply_error(r, 400, "invalid_request", "shop_id", "only clerks are bound to a shop");
        return false;
    }
    const char *root = reach_path(r, d);
    if (!root) {
        reply_db_error(r, d);
        return false;
    }
    char path[256] = "";
    if (attendant) {
        struct site s;
        int rc = c->s.site_id ? site_get(d, c->s.site_id, &s) : 0;
        if (!c->s.site_id) {
            reply_error(r, 400, "invalid_request", "site_id", "an attendant needs a site_id");
            return false;
        }
        if (rc < 0) {
            reply_db_error(r, d);
            return false;
        }
        if (rc == 0 || !region_path_within(root, s.region_path)) {
            reply_error(r, 404, "not_found", "site_id", "no such site");
            return false;
        }
        snprintf(path, sizeof path, "%s", s.region_path);
        c->place_region = s.region_id;
    } else if (clerk) {
        struct shop s;
        int rc = c->s.shop_id ? shop_get(d, c->s.shop_id, &s) : 0;
        if (!c->s.shop_id) {
            reply_error(r, 400, "invalid_request", "shop_id", "a clerk needs a shop_id");
            return false;
        }
        if (rc < 0) {
            reply_db_error(r, d);
            return false;
        }
        if (rc == 0 || !region_path_within(root, s.region_path)) {
            reply_error(r, 404, "not_found", "shop_id", "no such shop");
            return false;
        }
        snprintf(path, sizeof path, "%s", s.region_path);
        c->place_region = s.region_id;
    }
    if (path[0] && !region_path_within(g->path, path)) {
        reply_error(r, 400, "invalid_request", attendant ? "site_id" : "shop_id",
                    "the %s is not inside region %lld", attendant ? "site" : "shop", g->id);
        return false;
    }
    return true;
}

/* The reach the new member gets: see the top of this file.  The site or
 * shop lies inside both the county and the creator's reach, so one of the
 * two subtrees holds the other and the deeper one is the cap.  0 (with
 * c->s.reach_region_id set) or -1 on a store error. */
static int reach_for_new(struct req *r, struct db *d, struct create_staff *c)
{
    if (strcmp(c->s.role, "region_admin") == 0 || strcmp(c->s.role, "inspector") == 0) {
        c->s.reach_region_id = c->s.region_id;
        return 0;
    }
    if (!c->place_region) {           /* an admin: no region, everything */
        c->s.reach_region_id = 0;
        return 0;
    }
    long long county = 0;
    if (region_county_of(d, c->place_region, &county) != 0)
        return -1;
    c->s.reach_region_id = county;
    if (r->who.role == ROLE_ADMIN)
        return 0;
    const char *root = reach_path(r, d);
    char county_path[256];
    if (!root || region_path_cached(d, county, county_path, sizeof county_path) != 0)
        return -1;
    if (!county_path[0] || !region_path_within(root, county_path))
        c->s.reach_region_id = r->who.region_id;   /* the creator reaches less */
    return 0;
}

void h_staff_create(struct req *r)
{
    if (!input_check_or_reply(r, create_fields))
        return;
    struct create_staff *c = calloc(1, sizeof *c);
    if (!c) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    c->r = r;
    const char *display = input_str(r->body, "display_name");
    const char *password = input_str(r->body, "password");
    bool canonical = staff_username_canon(input_str(r->body, "username"), c->s.username,
                                          sizeof c->s.username);
    snprintf(c->s.role, sizeof c->s.role, "%s", input_str(r->body, "role"));
    snprintf(c->s.display_name, sizeof c->s.display_name, "%s",
             display ? display : c->s.username);
    input_int(r->body, "region_id", &c->s.region_id);
    input_int(r->body, "site_id", &c->s.site_id);
    input_int(r->body, "shop_id", &c->s.shop_id);

    struct db *d = NULL;
    struct region g;
    const char *why = "";
    int rb = role_bit(c->s.role);
    if (!canonical) {
        /* upper-case ASCII was lowered; anything else is refused, not
         * folded (db/staff.h) */
        reply_error(r, 400, "invalid_request", "username",
                    "username may hold ASCII letters, digits, '.', '_' and '-' only");
    } else if (!password_fits_or_reply(r, password)) {
        /* replied */
    } else if (!rb || rb == ROLE_RESIDENT) {
        reply_error(r, 400, "invalid_request", "role",
                    "role must be admin, region_admin, attendant, clerk or inspector");
    } else if (rb == ROLE_ADMIN && c->s.region_id) {
        /* checked before reach so a region admin still learns it is 403 */
        if (r->who.role != ROLE_ADMIN)
            reply_error(r, 403, "forbidden", NULL, "only an admin makes admins");
        else
            reply_error(r, 400, "invalid_request", "region_id", "an admin has no region");
    } else if (rb == ROLE_ADMIN) {
        if (r->who.role != ROLE_ADMIN)
            reply_error(r, 403, "forbidden", NULL, "only an admin makes admins");
        else if (c->s.site_id || c->s.shop_id)
            reply_error(r, 400, "invalid_request", c->s.site_id ? "site_id" : "shop_id",
                        "an admin is bound to no site or shop");
        else
            goto hash;
    } else if (!c->s.region_id) {
        reply_error(r, 400, "invalid_request", "region_id", "a %s needs a region_id", c->s.role);
    } else if ((d = db_or_reply(r)) == NULL) {
        /* replied */
    } else if (reach_region_or_reply(r, d, c->s.region_id, &g)) {
        int m = may_manage(r, d, c->s.role, g.path, &why);
        if (m < 0)
            reply_db_error(r, d);
        else if (m == 404)
            reply_error(r, 404, "not_found", "region_id", "no such region");
        else if (m == 403)
            reply_error(r, 403, "forbidden", NULL, "%s", why);
        else if (!binding_ok_or_reply(r, d, c, &g)) {
            /* replied */
        } else if (reach_for_new(r, d, c) != 0)
            reply_db_error(r, d);
        else
            goto hash;
    }
    sodium_memzero(c, sizeof *c);
    free(c);
    return;
hash:
    snprintf(c->password, sizeof c->password, "%s", password);
    r->async = true;
    if (pwpool_hash(r->w->srv->pw, r->w->base, c->password, on_create_hashed, c) != 0) {
        r->async = false;
        sodium_memzero(c, sizeof *c);
        free(c);
        metrics_event(MET_PWHASH_REJECTED);
        reply_header(r, "Retry-After", "1");
        reply_error(r, 503, "unavailable", NULL, "password hashing is busy; retry in a second");
    }
}

/* Load staff {id} if the caller reaches it (404 otherwise). */
static bool staff_in_reach_or_reply(struct req *r, struct db *d, struct staff *s)
{
    int rc = staff_by_id(d, r->param[0], s);
    if (rc < 0) {
        reply_db_error(r, d);
        return false;
    }
    if (rc == 1 && r->who.role != ROLE_ADMIN) {
        const char *root = reach_path(r, d);
        if (!root) {
            reply_db_error(r, d);
            return false;
        }
        if (!s->region_path[0] || !region_path_within(root, s->region_path))
            rc = 0;
    }
    if (rc == 0) {
        reply_error(r, 404, "not_found", NULL, "no such staff member");
        return false;
    }
    return true;
}

void h_staff_get(struct req *r)
{
    struct db *d = db_or_reply(r);
    struct staff s;
    if (!d || !staff_in_reach_or_reply(r, d, &s))
        return;
    reply_json(r, 200, staff_json(&s));
}

static json_t *load_staff(struct req *r, struct db *d, long long id)
{
    (void)r;
    struct staff s;
    return staff_by_id(d, id, &s) == 1 ? staff_json(&s) : NULL;
}

void h_staff_list(struct req *r)
{
    int limit;
    long long after;
    struct region g;
    struct db *d;
    const char *root;
    if (!list_params_or_reply(r, &limit, &after) || !(d = db_or_reply(r)) ||
        !(root = list_root_or_reply(r, d, "region_id", &g)))
        return;
    reply_id_page(r, d, db_query(d, SQL_LIST, "ssii", root, root, after, (long long)limit + 1),
                  limit, load_staff);
}

struct patch_staff {
    struct req *r;
    long long id;
    char status[16];
    char display_name[401];
    bool has_status, has_display, has_password;
    char hash[256];
    bool bump;
};

static int patch_tx(struct db *d, void *arg)
{
    struct patch_staff *p = arg;
    if (staff_update(d, p->id, p->has_status ? p->status : NULL,
                     p->has_display ? p->display_name : NULL,
                     p->has_password ? p->hash : NULL, p->bump) < 0)
        return -1;
    json_t *detail = json_object();
    if (p->has_status)
        json_object_set_new(detail, "status", json_string(p->status));
    if (p->has_display)
        json_object_set_new(detail, "display_name", json_string(p->display_name));
    if (p->has_password)
        json_object_set_new(detail, "password", json_string("changed"));
    int rc = audit_req(p->r, d, "staff.update", "staff", p->id, detail);
    json_decref(detail);
    return rc;
}

static void patch_apply(struct patch_staff *p)
{
    struct req *r = p->r;
    struct db *d = worker_db(r->w);
    struct staff s;
    if (!d) {
        reply_db_error(r, NULL);
        return;
    }
    int rc = db_tx(d, patch_tx, p);
    if (rc != 0) {
        reply_tx_error(r, d, rc);
        return;
    }
    if (staff_by_id(d, p->id, &s) != 1) {
        reply_db_error(r, d);
        return;
    }
    /* MariaDB has the new state; now make every cached answer agree */
    revoke_subject_changed(d, r->w->cache, 's', p->id);
    reply_json(r, 200, staff_json(&s));
}

static void on_patch_hashed(bool ok, const char *hash, void *arg)
{
    struct patch_staff *p = arg;
    struct req *r = p->r;
    if (!ok) {
        reply_error(r, 500, "internal", NULL, "could not hash the password");
    } else {
        snprintf(p->hash, sizeof p->hash, "%s", hash);
        patch_apply(p);
    }
    sodium_memzero(p, sizeof *p);
    free(p);
    req_finish_async(r);
}

void h_staff_patch(struct req *r)
{
    if (!input_check_or_reply(r, patch_fields))
        return;
    const char *status = input_str(r->body, "status");
    const char *display = input_str(r->body, "display_name");
    const char *password = input_str(r->body, "password");
    if (status && strcmp(status, "active") != 0 && strcmp(status, "disabled") != 0) {
        reply_error(r, 400, "invalid_request", "status", "status must be active or disabled");
        return;
    }
    if (!status && !display && !password) {
        reply_error(r, 400, "invalid_request", "body", "nothing to change");
        return;
    }
    if (!password_fits_or_reply(r, password))
        return;
    struct db *d = db_or_reply(r);
    struct staff s;
    if (!d || !staff_in_reach_or_reply(r, d, &s))
        return;
    const char *why = "";
    int m = may_manage(r, d, s.role, s.region_path, &why);
    if (m < 0) {
        reply_db_error(r, d);
        return;
    }
    if (m == 404) {
        reply_error(r, 404, "not_found", NULL, "no such staff member");
        return;
    }
    if (m == 403) {
        reply_error(r, 403, "forbidden", NULL, "%s", why);
        return;
    }
    if (r->who.role != ROLE_ADMIN) {
        /* whoever can set its password or enable it can sign in as it: a
         * member reaching beyond the caller is not the caller's to manage.
         * A member with no recorded reach reaches nothing. */
        const char *root = reach_path(r, d);
        if (!root) {
            reply_db_error(r, d);
            return;
        }
        if (s.reach_region_id && (!s.reach_path[0] || !region_path_within(root, s.reach_path))) {
            reply_error(r, 403, "forbidden", NULL,
                        "this member reaches beyond your own reach; an admin manages it");
            return;
        }
    }
    struct patch_staff *p = calloc(1, sizeof *p);
    if (!p) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    p->r = r;
    p->id = s.id;
    if (status) {
        p->has_status = true;
        snprintf(p->status, sizeof p->status, "%s", status);
        /* every status change moves token_version on: disabling kills the
         * member's tokens, and the cached state's version must grow
         * (db/revoke.c) */
        p->bump = strcmp(status, s.status) != 0;
    }
    if (display) {
        p->has_display = true;
        snprintf(p->display_name, sizeof p->display_name, "%s", display);
    }
    if (!password) {
        patch_apply(p);
        free(p);
        return;
    }
    p->has_password = true;
    p->bump = true;       /* a new password ends every session */
    r->async = true;
    if (pwpool_hash(r->w->srv->pw, r->w->base, password, on_patch_hashed, p) != 0) {
        r->async = false;
        free(p);
        metrics_event(MET_PWHASH_REJECTED);
        reply_header(r, "Retry-After", "1");
        reply_error(r, 503, "unavailable", NULL, "password hashing is busy; retry in a second");
    }
}
