/* regions.c - POST /v1/regions, GET /v1/regions/{id}, GET /v1/regions. */
#include "api/handlers.h"
#include "api/input.h"
#include "api/list.h"
#include "api/reach.h"
#include "server/request.h"
#include "db/db.h"
#include "db/regions.h"

#include <stdio.h>
#include <string.h>

static const struct field region_fields[] = {
    { "parent_id", FT_INT, F_NULLABLE, 1, ID_MAX, NULL },
    { "name", FT_STR, F_REQUIRED, 1, 100, NULL },
    { "level", FT_STR, F_REQUIRED, 1, 12, NULL },
    { "code", FT_STR, F_REQUIRED, 2, 12, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const char SQL_CHILDREN[] =
    "SELECT id FROM regions WHERE parent_id = ? AND id > ? ORDER BY id LIMIT ?";
static const char SQL_ONE[] = "SELECT id FROM regions WHERE id = ? AND id > ? LIMIT ?";
static const char SQL_ROOTS[] =
    "SELECT id FROM regions WHERE parent_id IS NULL AND id > ? ORDER BY id LIMIT ?";

/* The ancestors from the province down to g itself: [{id,name,level}]. */
static json_t *region_path_json(struct db *d, const struct region *g)
{
    json_t *arr = json_array();
    struct region cur = *g;
    for (int i = 0; arr && i < 8; i++) {
        json_array_insert_new(arr, 0, json_pack("{s:I, s:s, s:s}", "id", (json_int_t)cur.id,
                                                "name", cur.name, "level", cur.level));
        if (!cur.parent_id)
            break;
        if (region_get(d, cur.parent_id, &cur) <= 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Full JSON of a region, or NULL on a store error. */
static json_t *region_json(struct db *d, const struct region *g)
{
    long long n = region_household_count(d, g->path);
    json_t *path = n < 0 ? NULL : region_path_json(d, g);
    if (!path)
        return NULL;
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:o}", "id", (json_int_t)g->id, "name",
                          g->name, "level", g->level, "code", g->code, "households",
                          (json_int_t)n, "path", path);
    if (o)
        json_object_set_new(o, "parent_id",
                            g->parent_id ? json_integer(g->parent_id) : json_null());
    return o;
}

struct create_region {
    struct req *r;
    const struct region *parent;
    const char *name, *level, *code;
    long long id;
};

static int create_tx(struct db *d, void *arg)
{
    struct create_region *c = arg;
    c->id = region_insert(d, c->parent, c->name, c->level, c->code);
    if (c->id < 0)
        return -1;
    json_t *detail = json_pack("{s:s, s:s, s:s}", "name", c->name, "level", c->level,
                               "code", c->code);
    int rc = audit_req(c->r, d, "region.create", "region", c->id, detail);
    json_decref(detail);
    return rc;
}

void h_regions_create(struct req *r)
{
    if (!input_check_or_reply(r, region_fields))
        return;
    const char *name = input_str(r->body, "name");
    const char *level = input_str(r->body, "level");
    const char *code = input_str(r->body, "code");
    long long parent_id = 0;
    input_int(r->body, "parent_id", &parent_id);
    int rank = region_level_rank(level);
    if (rank < 0) {
        reply_error(r, 400, "invalid_request", "level",
                    "level must be province, city, county, town, village or community");
        return;
    }
    if (strspn(code, "0123456789") != strlen(code)) {
        reply_error(r, 400, "invalid_request", "code", "code must be 2 to 12 digits");
        return;
    }
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    struct region parent;
    if (!parent_id) {
        if (rank != 0) {
            reply_error(r, 400, "invalid_request", "parent_id",
                        "only a province has no parent");
            return;
        }
        if (r->who.role != ROLE_ADMIN) {
            reply_error(r, 403, "forbidden", NULL, "only an admin creates provinces");
            return;
        }
    } else {
        if (!reach_region_or_reply(r, d, parent_id, &parent))
            return;
        if (region_level_rank(parent.level) >= rank) {
            reply_error(r, 400, "invalid_request", "level",
                        "a %s cannot be placed under a %s", level, parent.level);
            return;
        }
    }
    struct create_region c = { r, parent_id ? &parent : NULL, name, level, code, 0 };
    int rc = db_tx(d, create_tx, &c);
    if (rc != 0) {
        if (rc == DB_TX_ERROR && db_errkind(d) == DB_DUP) {
            reply_error(r, 409, "conflict", "code", "region code '%s' is taken", code);
            return;
        }
        reply_tx_error(r, d, rc);
        return;
    }
    struct region g;
    json_t *o = region_get(d, c.id, &g) == 1 ? region_json(d, &g) : NULL;
    if (!o) {
        reply_db_error(r, d);
        return;
    }
    reply_json(r, 201, o);
}

void h_regions_get(struct req *r)
{
    struct db *d = db_or_reply(r);
    struct region g;
    if (!d || !reach_region_or_reply(r, d, r->param[0], &g))
        return;
    json_t *o = region_json(d, &g);
    if (!o) {
        reply_db_error(r, d);
        return;
    }
    reply_json(r, 200, o);
}

static json_t *load_region(struct req *r, struct db *d, long long id)
{
    (void)r;
    struct region g;
    return region_get(d, id, &g) == 1 ? region_json(d, &g) : NULL;
}

void h_regions_list(struct req *r)
{
    int limit;
    long long after, parent_id;
    if (!list_params_or_reply(r, &limit, &after) ||
        !query_id_or_reply(r, "parent_id", &parent_id))
        return;
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    struct db_rows *rows;
    if (parent_id) {
        if (!reach_region_or_reply(r, d, parent_id, NULL))
            return;
        rows = db_query(d, SQL_CHILDREN, "iii", parent_id, after, (long long)limit + 1);
    } else if (r->who.role == ROLE_ADMIN) {
        rows = db_query(d, SQL_ROOTS, "ii", after, (long long)limit + 1);
    } else {
        /* the top of the caller's own subtree */
        rows = db_query(d, SQL_ONE, "iii", r->who.region_id, after, (long long)limit + 1);
    }
    reply_id_page(r, d, rows, limit, load_region);
}
