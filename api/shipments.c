/* shipments.c - loads moving up the chain: POST /v1/shipments,
 * POST /v1/shipments/{id}/receive, POST /v1/shipments/{id}/cancel,
 * GET /v1/shipments[/{id}].
 *
 * An attendant sends from its own site to a site of a higher tier in the
 * same county; the receiving site's attendant weighs what arrived.  The
 * shape of a request is checked here (400 at once); what depends on the
 * store - the catalogue, the destination, the tiers - is a refusal the
 * engine gives only when the key holds no stored answer; what depends on
 * the stock or the shipment's status is decided under the locks
 * (db/chain.c). */
#include "api/goods.h"
#include "api/handlers.h"
#include "api/input.h"
#include "api/list.h"
#include "api/money.h"
#include "api/reach.h"
#include "server/clock.h"
#include "server/ledger_pool.h"
#include "server/request.h"
#include "db/chain.h"
#include "db/db.h"
#include "db/engine.h"
#include "db/regions.h"
#include "db/sites.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct field ship_fields[] = {
    { "to_site_id", FT_INT, F_REQUIRED, 1, ID_MAX, NULL },
    { "lines", FT_ARR, F_REQUIRED, 1, CHAIN_MAX_LINES, goods_line_fields },
    { "vehicle", FT_STR, F_NULLABLE, 0, 100, NULL },
    { "note", FT_STR, F_NULLABLE, 0, 200, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field receive_fields[] = {
    { "lines", FT_ARR, F_REQUIRED, 1, CHAIN_MAX_LINES, goods_line_fields },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field cancel_fields[] = {
    { "reason", FT_STR, F_NULLABLE, 0, 200, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

/* ---- sending ---- */

struct shipping {
    char scope[32];
    struct shipment_in in;
    struct ledger_op op;
    struct movement mv;
    struct ledger_job job;
};

/* Where the load may go, as a refusal for the engine to give unless the
 * key holds a stored answer: a site the sender does not reach or of
 * another county is 404, one not of a higher tier 409 wrong_tier.
 * 0 (f filled when refused) or -1 (store error). */
static int destination_check(struct req *r, struct db *d, const struct site *from,
                             long long to_id, struct ledger_refusal *f)
{
    struct site to;
    int found = site_get(d, to_id, &to);
    const char *root = found == 1 ? reach_path(r, d) : NULL;
    if (found < 0 || (found == 1 && !root))
        return -1;
    long long c1 = 0, c2 = 0;
    if (found == 1 && region_path_within(root, to.region_path) &&
        (region_county_of(d, from->region_id, &c1) != 0 ||
         region_county_of(d, to.region_id, &c2) != 0))
        return -1;
    if (found == 0 || !region_path_within(root, to.region_path) || c1 != c2) {
        ledger_refusal_set(f, 404, "not_found", "to_site_id", "no such site in this county");
        return 0;
    }
    if (chain_tier_rank(to.tier) <= chain_tier_rank(from->tier))
        ledger_refusal_set(f, 409, "wrong_tier",
                           "to_site_id", "a shipment goes up the tiers: drop-off -> transfer "
                                         "-> sorting");
    return 0;
}

void h_shipments_create(struct req *r)
{
    const char *key = idem_key_or_reply(r);
    if (!key || !input_check_or_reply(r, ship_fields))
        return;
    struct db *d = db_or_reply(r);
    struct site from;
    if (!d || !own_site_or_reply(r, d, &from))
        return;
    struct shipping *x = calloc(1, sizeof *x);
    if (!x) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    struct shipment_in *in = &x->in;
    snprintf(x->scope, sizeof x->scope, "site:%lld", from.id);
    in->scope = x->scope;
    in->key = key;
    in->from_site_id = from.id;
    input_int(r->body, "to_site_id", &in->to_site_id);
    in->staff_id = r->who.staff_id;
    in->vehicle = input_str(r->body, "vehicle");
    in->note = input_str(r->body, "note");
    in->now = (long long)clock_now();
    clock_local_day((time_t)in->now, in->local_day, sizeof in->local_day);
    struct ledger_refusal f = { 0 };
    int rc = goods_parse(d, json_object_get(r->body, "lines"), false, in->lines, &in->nlines, &f);
    if (rc == 0 && !f.status)
        rc = destination_check(r, d, &from, in->to_site_id, &f);
    if (rc < 0 || request_fingerprint(r, r->body, in->fp) != 0) {
        free(x);
        reply_db_error(r, d);
        return;
    }
    chain_ship_op(&x->op, in);
    if (f.status)
        ledger_op_refuse(&x->op, f.status, f.code, f.field[0] ? f.field : NULL, f.message);
    movement_submit(r, &x->mv, &x->op, &x->job, NULL, x);
}

/* ---- who sees a shipment ---- */

/* An attendant sees the shipments from or to its site; admins those with
 * an end in their subtree.  1 yes, 0 no, -1 store error. */
static int shipment_visible(struct req *r, struct db *d, const struct shipment_rec *s)
{
    if (r->who.role == ROLE_ATTENDANT)
        return r->who.site_id && (s->from_site == r->who.site_id || s->to_site == r->who.site_id);
    const char *root = reach_path(r, d);
    if (!root)
        return -1;
    return region_path_within(root, s->from_path) || region_path_within(root, s->to_path);
}

/* The shipment of the path, when the caller sees it; else the reply. */
static bool shipment_or_reply(struct req *r, struct db *d, struct shipment_rec *s)
{
    int found = shipment_get(d, r->param[0], s);
    int seen = found == 1 ? shipment_visible(r, d, s) : 0;
    if (found < 0 || seen < 0) {
        reply_db_error(r, d);
        return false;
    }
    if (!seen) {
        reply_error(r, 404, "not_found", NULL, "no such shipment");
        return false;
    }
    return true;
}

/* ---- receiving and cancelling ---- */

struct acting {
    struct shipment_rec rec;
    struct shipment_act in;
    struct ledger_op op;
    struct movement mv;
    struct ledger_job job;
};

static struct acting *acting_new(struct req *r)
{
    struct acting *x = calloc(1, sizeof *x);
    if (!x) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    x->in.rec = &x->rec;
    x->in.staff_id = r->who.staff_id;
    x->in.now = (long long)clock_now();
    clock_local_day((time_t)x->in.now, x->in.local_day, sizeof x->in.local_day);
    return x;
}

/* What arrived, by the shipment's line: every sent category once and
 * nothing else.  0, or 1 after replying. */
static int arrived_or_reply(struct req *r, struct db *d, struct acting *x)
{
    struct chain_line got[CHAIN_MAX_LINES];
    int n;
    struct ledger_refusal f = { 0 };
    int rc = goods_parse(d, json_object_get(r->body, "lines"), true, got, &n, &f);
    if (rc < 0) {
        reply_db_error(r, d);
        return 1;
    }
    if (f.status) {
        reply_error(r, f.status, f.code, f.field[0] ? f.field : NULL, "%s", f.message);
        return 1;
    }
    bool named[CHAIN_MAX_LINES] = { false };
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < x->rec.nlines && x->rec.lines[k].category_id != got[i].category_id)
            k++;
        if (k == x->rec.nlines) {
            char field[32];
            snprintf(field, sizeof field, "lines[%d].category", i);
            reply_error(r, 400, "invalid_request", field, "%s was not sent in this shipment",
                        got[i].code);
            return 1;
        }
        named[k] = true;
        x->in.received[k] = got[i].qty;
    }
    for (int k = 0; k < x->rec.nlines; k++)
        if (!named[k]) {
            reply_error(r, 400, "invalid_request", "lines",
                        "name every sent category once (0 when none of it arrived): %s is "
                        "missing", x->rec.lines[k].code);
            return 1;
        }
    return 0;
}

void h_shipments_receive(struct req *r)
{
    if (!input_check_or_reply(r, receive_fields))
        return;
    struct db *d = db_or_reply(r);
    struct acting *x = d ? acting_new(r) : NULL;
    if (!x)
        return;
    if (!shipment_or_reply(r, d, &x->rec)) {
        free(x);
        return;
    }
    if (x->rec.to_site != r->who.site_id) {
        free(x);
        reply_error(r, 403, "forbidden", NULL, "only the receiving site's attendant receives");
        return;
    }
    if (arrived_or_reply(r, d, x)) {
        free(x);
        return;
    }
    chain_receive_op(&x->op, &x->in);
    movement_submit(r, &x->mv, &x->op, &x->job, NULL, x);
}

void h_shipments_cancel(struct req *r)
{
    if (!input_check_or_reply(r, cancel_fields))
        return;
    struct db *d = db_or_reply(r);
    struct acting *x = d ? acting_new(r) : NULL;
    if (!x)
        return;
    if (!shipment_or_reply(r, d, &x->rec)) {
        free(x);
        return;
    }
    if (r->who.role == ROLE_ATTENDANT && x->rec.from_site != r->who.site_id) {
        free(x);
        reply_error(r, 403, "forbidden",
                    NULL, "only the sending site's attendant, or an admin, cancels");
        return;
    }
    x->in.reason = input_str(r->body, "reason");
    chain_cancel_op(&x->op, &x->in);
    movement_submit(r, &x->mv, &x->op, &x->job, NULL, x);
}

/* ---- reading ---- */

void h_shipments_get(struct req *r)
{
    struct db *d = db_or_reply(r);
    struct shipment_rec *s = d ? malloc(sizeof *s) : NULL;
    if (d && !s) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    if (s && shipment_or_reply(r, d, s))
        reply_json(r, 200, shipment_json(s));
    free(s);
}

static json_t *load_shipment(struct req *r, struct db *d, long long id)
{
    (void)r;
    struct shipment_rec *s = malloc(sizeof *s);
    json_t *o = s && shipment_get(d, id, s) == 1 ? shipment_json(s) : NULL;
    free(s);
    return o;
}

static bool one_of_or_reply(struct req *r, const char *name, const char *const *set,
                            const char **out)
{
    *out = req_query(r, name);
    if (!*out || !**out) {
        *out = NULL;
        return true;
    }
    for (const char *const *v = set; *v; v++)
        if (strcmp(*out, *v) == 0)
            return true;
    reply_error(r, 400, "invalid_request", name, "%s is not one of the allowed values", name);
    return false;
}

void h_shipments_list(struct req *r)
{
    static const char *const directions[] = { "out", "in", NULL };
    static const char *const statuses[] = { "in_transit", "received", "cancelled", NULL };
    int limit;
    long long before, site_id;
    const char *direction, *status;
    char from[11], to[11];
    if (!list_params_or_reply(r, &limit, &before) || !query_id_or_reply(r, "site_id", &site_id) ||
        !one_of_or_reply(r, "direction", directions, &direction) ||
        !one_of_or_reply(r, "status", statuses, &status) ||
        !query_day_or_reply(r, "from", from) || !query_day_or_reply(r, "to", to))
        return;
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    if (r->who.role == ROLE_ATTENDANT) {
        /* an attendant's list is its own site's */
        if (site_id && site_id != r->who.site_id) {
            reply_error(r, 404, "not_found", "site_id", "no such site");
            return;
        }
        site_id = r->who.site_id ? r->who.site_id : -1;
    } else if (site_id) {
        struct site s;
        if (!reach_site_or_reply(r, d, site_id, &s, "site_id"))
            return;
    }
    const char *root = reach_path(r, d);
    if (!root) {
        reply_db_error(r, d);
        return;
    }
    reply_id_page(r, d,
                  shipment_list(d, root, site_id, direction, status, from, to,
                                before ? before : ID_MAX, limit + 1),
                  limit, load_shipment);
}
