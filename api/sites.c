/* sites.c - drop-off points, transfer stations, sorting centres, and the
 * partner shops: POST /v1/sites, GET /v1/sites[/{id}], POST /v1/shops,
 * GET /v1/shops/{id}. */
#include "api/handlers.h"
#include "api/input.h"
#include "api/list.h"
#include "api/reach.h"
#include "server/request.h"
#include "db/db.h"
#include "db/regions.h"
#include "db/shops.h"
#include "db/sites.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const struct field site_fields[] = {
    { "region_id", FT_INT, F_REQUIRED, 1, ID_MAX, NULL },
    { "name", FT_STR, F_REQUIRED, 1, 100, NULL },
    { "tier", FT_STR, F_REQUIRED, 1, 12, NULL },
    { "network", FT_STR, F_REQUIRED, 1, 12, NULL },
    { "address", FT_STR, F_REQUIRED, 1, 200, NULL },
    { "lat", FT_NUM, F_NULLABLE, -90, 90, NULL },
    { "lng", FT_NUM, F_NULLABLE, -180, 180, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field shop_fields[] = {
    { "region_id", FT_INT, F_REQUIRED, 1, ID_MAX, NULL },
    { "name", FT_STR, F_REQUIRED, 1, 100, NULL },
    { "address", FT_STR, F_REQUIRED, 1, 200, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const char SQL_SITES[] =
    "SELECT s.id FROM sites s JOIN regions g ON g.id = s.region_id "
    "WHERE g.path LIKE CONCAT(?, '%') AND s.id > ? ORDER BY s.id LIMIT ?";

static bool one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(v, *set) == 0)
            return true;
    return false;
}

json_t *site_json(const struct site *s)
{
    json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)s->id,
                          "region_id", (json_int_t)s->region_id, "name", s->name, "tier",
                          s->tier, "network", s->network, "address", s->address);
    if (o) {
        json_object_set_new(o, "lat", s->has_geo ? json_real((double)s->lat_e6 / 1e6) : json_null());
        json_object_set_new(o, "lng", s->has_geo ? json_real((double)s->lng_e6 / 1e6) : json_null());
    }
    return o;
}

struct create_site {
    struct req *r;
    struct site s;
};

static int create_site_tx(struct db *d, void *arg)
{
    struct create_site *c = arg;
    c->s.id = site_insert(d, &c->s);
    if (c->s.id < 0)
        return -1;
    json_t *detail = json_pack("{s:s, s:s, s:s, s:I}", "name", c->s.name, "tier", c->s.tier,
                               "network", c->s.network, "region_id",
                               (json_int_t)c->s.region_id);
    int rc = audit_req(c->r, d, "site.create", "site", c->s.id, detail);
    json_decref(detail);
    return rc;
}

void h_sites_create(struct req *r)
{
    static const char *const tiers[] = { "dropoff", "transfer", "sorting", NULL };
    static const char *const networks[] = { "sanitation", "recycling", "integrated", NULL };
    if (!input_check_or_reply(r, site_fields))
        return;
    struct create_site c = { .r = r };
    input_int(r->body, "region_id", &c.s.region_id);
    snprintf(c.s.name, sizeof c.s.name, "%s", input_str(r->body, "name"));
    snprintf(c.s.tier, sizeof c.s.tier, "%s", input_str(r->body, "tier"));
    snprintf(c.s.network, sizeof c.s.network, "%s", input_str(r->body, "network"));
    snprintf(c.s.address, sizeof c.s.address, "%s", input_str(r->body, "address"));
    if (!one_of(c.s.tier, tiers)) {
        reply_error(r, 400, "invalid_request", "tier", "tier must be dropoff, transfer or sorting");
        return;
    }
    if (!one_of(c.s.network, networks)) {
        reply_error(r, 400, "invalid_request", "network",
                    "network must be sanitation, recycling or integrated");
        return;
    }
    double lat, lng;
    bool has_lat = input_num(r->body, "lat", &lat), has_lng = input_num(r->body, "lng", &lng);
    if (has_lat != has_lng) {
        reply_error(r, 400, "invalid_request", has_lat ? "lng" : "lat",
                    "lat and lng go together");
        return;
    }
    if (has_lat) {
        c.s.has_geo = true;
        c.s.lat_e6 = llround(lat * 1e6);
        c.s.lng_e6 = llround(lng * 1e6);
    }
    struct db *d = db_or_reply(r);
    if (!d || !reach_region_or_reply(r, d, c.s.region_id, NULL))
        return;
    int rc = db_tx(d, create_site_tx, &c);
    if (rc != 0) {
        reply_tx_error(r, d, rc);
        return;
    }
    reply_json(r, 201, site_json(&c.s));
}

/* An attendant sees the sites of its county (its reach); others by
 * region reach. */
void h_sites_get(struct req *r)
{
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    struct site s;
    int rc = site_get(d, r->param[0], &s);
    const char *root = rc == 1 ? reach_path(r, d) : NULL;
    if (rc < 0 || (rc == 1 && !root)) {
        reply_db_error(r, d);
        return;
    }
    if (rc == 0 || !region_path_within(root, s.region_path)) {
        reply_error(r, 404, "not_found", NULL, "no such site");
        return;
    }
    reply_json(r, 200, site_json(&s));
}

static json_t *load_site(struct req *r, struct db *d, long long id)
{
    (void)r;
    struct site s;
    return site_get(d, id, &s) == 1 ? site_json(&s) : NULL;
}

void h_sites_list(struct req *r)
{
    int limit;
    long long after;
    struct region g;
    struct db *d;
    const char *root;
    if (!list_params_or_reply(r, &limit, &after) || !(d = db_or_reply(r)) ||
        !(root = list_root_or_reply(r, d, "region_id", &g)))
        return;
    reply_id_page(r, d, db_query(d, SQL_SITES, "sii", root, after, (long long)limit + 1), limit,
                  load_site);
}

json_t *shop_json(const struct shop *s)
{
    return json_pack("{s:I, s:I, s:s, s:s}", "id", (json_int_t)s->id, "region_id",
                     (json_int_t)s->region_id, "name", s->name, "address", s->address);
}

struct create_shop {
    struct req *r;
    struct shop s;
};

static int create_shop_tx(struct db *d, void *arg)
{
    struct create_shop *c = arg;
    c->s.id = shop_insert(d, &c->s);
    if (c->s.id < 0)
        return -1;
    json_t *detail = json_pack("{s:s, s:I}", "name", c->s.name, "region_id",
                               (json_int_t)c->s.region_id);
    int rc = audit_req(c->r, d, "shop.create", "shop", c->s.id, detail);
    json_decref(detail);
    return rc;
}

void h_shops_create(struct req *r)
{
    if (!input_check_or_reply(r, shop_fields))
        return;
    struct create_shop c = { .r = r };
    input_int(r->body, "region_id", &c.s.region_id);
    snprintf(c.s.name, sizeof c.s.name, "%s", input_str(r->body, "name"));
    snprintf(c.s.address, sizeof c.s.address, "%s", input_str(r->body, "address"));
    struct db *d = db_or_reply(r);
    if (!d || !reach_region_or_reply(r, d, c.s.region_id, NULL))
        return;
    int rc = db_tx(d, create_shop_tx, &c);
    if (rc != 0) {
        reply_tx_error(r, d, rc);
        return;
    }
    reply_json(r, 201, shop_json(&c.s));
}
