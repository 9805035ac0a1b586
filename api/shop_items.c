/* shop_items.c - a shop's catalogue: POST/GET /v1/shops/{id}/items,
 * PATCH /v1/shops/{id}/items/{item_id}, and GET /v1/shops (the shops a
 * caller may see: staff by reach, a resident those of its county). */
#include "api/handlers.h"
#include "api/input.h"
#include "api/list.h"
#include "api/reach.h"
#include "server/request.h"
#include "db/db.h"
#include "db/households.h"
#include "db/regions.h"
#include "db/shop_items.h"
#include "db/shops.h"

#include <stdio.h>
#include <string.h>

static const struct field item_fields[] = {
    { "name", FT_STR, F_REQUIRED, 1, 100, NULL },
    { "points", FT_INT, F_REQUIRED, 1, 1000000, NULL },
    { "stock", FT_INT, F_NULLABLE, 0, 1000000, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field patch_fields[] = {
    { "points", FT_INT, 0, 1, 1000000, NULL },
    { "stock", FT_INT, F_NULLABLE, 0, 1000000, NULL },
    { "active", FT_BOOL, 0, 0, 0, NULL },
    { "name", FT_STR, 0, 1, 100, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static json_t *item_json(const struct shop_item *it)
{
    json_t *o = json_pack("{s:I, s:I, s:s, s:I, s:b}", "id", (json_int_t)it->id, "shop_id",
                          (json_int_t)it->shop_id, "name", it->name, "points",
                          (json_int_t)it->points, "active", it->active);
    if (o)
        json_object_set_new(o, "stock", it->has_stock ? json_integer(it->stock) : json_null());
    return o;
}

static json_t *item_row_json(struct db_rows *r)
{
    struct shop_item it;
    shop_item_read(r, &it);
    return item_json(&it);
}

/* The county path a resident's household belongs to ("" when none). */
static int resident_county_path(struct req *r, struct db *d, char *out, size_t len)
{
    struct household h;
    long long county;
    out[0] = '\0';
    int rc = household_get(d, r->who.household_id, &h, false);
    if (rc <= 0)
        return rc;
    if (region_county_of(d, h.region_id, &county) != 0 ||
        region_path_cached(d, county, out, len) != 0)
        return -1;
    return 1;
}

/* Load shop {id} if the caller reaches it (staff: the shop's region in
 * its subtree; resident: the shop in its household's county). */
static bool shop_in_reach_or_reply(struct req *r, struct db *d, long long id, struct shop *s)
{
    int rc = shop_get(d, id, s);
    if (rc == 1) {
        char root[256];
        if (r->who.role == ROLE_RESIDENT) {
            int got = resident_county_path(r, d, root, sizeof root);
            if (got < 0)
                rc = -1;
            else if (got == 0)
                rc = 0;
        } else {
            const char *p = reach_path(r, d);
            if (!p)
                rc = -1;
            else
                snprintf(root, sizeof root, "%s", p);
        }
        if (rc == 1 && !region_path_within(root, s->region_path))
            rc = 0;
    }
    if (rc < 0) {
        reply_db_error(r, d);
        return false;
    }
    if (rc == 0) {
        reply_error(r, 404, "not_found", NULL, "no such shop");
        return false;
    }
    return true;
}

struct new_item {
    struct req *r;
    long long shop_id, points, stock;
    bool has_stock;
    const char *name;
    long long id;
};

static int item_tx(struct db *d, void *arg)
{
    struct new_item *x = arg;
    x->id = shop_item_insert(d, x->shop_id, x->name, x->points, x->has_stock, x->stock);
    if (x->id < 0)
        return -1;
    json_t *detail = json_pack("{s:I, s:s, s:I}", "shop_id", (json_int_t)x->shop_id, "name",
                               x->name, "points", (json_int_t)x->points);
    int rc = audit_req(x->r, d, "shop_item.create", "shop_item", x->id, detail);
    json_decref(detail);
    return rc;
}

static void reply_item(struct req *r, struct db *d, int status, long long item, long long shop)
{
    struct shop_item it;
    int rc = shop_item_get(d, shop, item, &it);
    if (rc < 0)
        reply_db_error(r, d);
    else if (rc == 0)
        reply_error(r, 404, "not_found", NULL, "no such item");
    else
        reply_json(r, status, item_json(&it));
}

void h_shop_items_create(struct req *r)
{
    if (!input_check_or_reply(r, item_fields))
        return;
    struct db *d = db_or_reply(r);
    struct shop s;
    if (!d || !shop_in_reach_or_reply(r, d, r->param[0], &s))
        return;
    struct new_item x = { .r = r, .shop_id = s.id, .name = input_str(r->body, "name") };
    input_int(r->body, "points", &x.points);
    x.has_stock = input_int(r->body, "stock", &x.stock);
    int rc = db_tx(d, item_tx, &x);
    if (rc != 0) {
        reply_tx_error(r, d, rc);
        return;
    }
    reply_item(r, d, 201, x.id, s.id);
}

void h_shop_items_list(struct req *r)
{
    int limit;
    long long after;
    if (!list_params_or_reply(r, &limit, &after))
        return;
    struct db *d = db_or_reply(r);
    struct shop s;
    if (!d || !shop_in_reach_or_reply(r, d, r->param[0], &s))
        return;
    /* residents and clerks see what is on offer; admins everything */
    bool all = r->who.role == ROLE_ADMIN || r->who.role == ROLE_REGION_ADMIN;
    reply_row_page(r, d, shop_items_page(d, s.id, all, after, limit + 1), limit, item_row_json,
                   0);
}

struct patch_item {
    struct req *r;
    long long id, shop_id;
    json_t *body;
};

static int patch_tx(struct db *d, void *arg)
{
    struct patch_item *x = arg;
    struct shop_item_change c = { .name = input_str(x->body, "name") };
    c.set_points = input_int(x->body, "points", &c.points);
    /* "stock": null stops keeping stock; absent keeps it as it is */
    c.set_stock = json_object_get(x->body, "stock") != NULL;
    c.has_stock = input_int(x->body, "stock", &c.stock);
    json_t *active = json_object_get(x->body, "active");
    c.set_active = active != NULL;
    c.active = json_is_true(active);
    if (shop_item_update(d, x->shop_id, x->id, &c) < 0)
        return -1;
    int rc = audit_req(x->r, d, "shop_item.update", "shop_item", x->id, x->body);
    return rc;
}

void h_shop_items_patch(struct req *r)
{
    if (!input_check_or_reply(r, patch_fields))
        return;
    if (json_object_size(r->body) == 0) {
        reply_error(r, 400, "invalid_request", "body", "nothing to change");
        return;
    }
    struct db *d = db_or_reply(r);
    struct shop s;
    if (!d || !shop_in_reach_or_reply(r, d, r->param[0], &s))
        return;
    struct shop_item it;
    int found = shop_item_get(d, s.id, r->param[1], &it);
    if (found < 0) {
        reply_db_error(r, d);
        return;
    }
    if (found == 0) {
        reply_error(r, 404, "not_found", NULL, "no such item");
        return;
    }
    struct patch_item x = { r, r->param[1], s.id, r->body };
    int rc = db_tx(d, patch_tx, &x);
    if (rc != 0) {
        reply_tx_error(r, d, rc);
        return;
    }
    reply_item(r, d, 200, x.id, s.id);
}

static json_t *load_shop(struct req *r, struct db *d, long long id)
{
    (void)r;
    struct shop s;
    return shop_get(d, id, &s) == 1 ? shop_json(&s) : NULL;
}

void h_shops_list(struct req *r)
{
    int limit;
    long long after, region_id;
    if (!list_params_or_reply(r, &limit, &after) ||
        !query_id_or_reply(r, "region_id", &region_id))
        return;
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    char root[256];
    struct region g;
    if (r->who.role == ROLE_RESIDENT) {
        int got = resident_county_path(r, d, root, sizeof root);
        if (got < 0) {
            reply_db_error(r, d);
            return;
        }
        if (got == 0)
            snprintf(root, sizeof root, "/none/");
    } else if (region_id) {
        if (!reach_region_or_reply(r, d, region_id, &g))
            return;
        snprintf(root, sizeof root, "%s", g.path);
    } else {
        const char *p = reach_path(r, d);
        if (!p) {
            reply_db_error(r, d);
            return;
        }
        snprintf(root, sizeof root, "%s", p);
    }
    reply_id_page(r, d, shop_ids_page(d, root, after, limit + 1), limit, load_shop);
}

void h_shops_get(struct req *r)
{
    struct db *d = db_or_reply(r);
    struct shop s;
    if (d && shop_in_reach_or_reply(r, d, r->param[0], &s))
        reply_json(r, 200, shop_json(&s));
}
