/* redemptions.c - spending points at partner shops: POST /v1/redemptions,
 * POST /v1/redemptions/{id}/void, GET /v1/redemptions[/{id}],
 * GET /v1/redemptions/summary (also CSV) for settling with shops.
 *
 * (Pay codes, which residents make, are api/paycodes.c.)
 *
 * A clerk redeems at its own shop for households of the shop's county,
 * with the household's consent: its card and PIN, or a one-time pay code
 * from the resident's phone.  Checks run in api.md's order: body (400) ->
 * replay or conflict -> the household (404) -> consent -> status ->
 * items -> points (db/redeem.c).  Each clerk has a budget of wrong PINs
 * and pay codes (WB_CLERK_FAIL_LIMIT in 10 minutes); past it, 429. */
#include "api/handlers.h"
#include "api/input.h"
#include "api/list.h"
#include "api/money.h"
#include "api/reach.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/ratelimit.h"
#include "server/request.h"
#include "server/server.h"
#include "server/worker.h"
#include "db/audit.h"
#include "db/balance.h"
#include "db/cache.h"
#include "db/csvout.h"
#include "db/db.h"
#include "db/ledger.h"
#include "db/engine.h"
#include "server/ledger_pool.h"
#include "db/paycode.h"
#include "db/redeem.h"
#include "db/regions.h"
#include "db/shops.h"
#include "qr/card.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLERK_FAIL_WINDOW 600

static const struct field line_fields[] = {
    { "item_id", FT_INT, F_REQUIRED, 1, ID_MAX, NULL },
    { "qty", FT_INT, F_REQUIRED, 1, 100, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field redeem_fields[] = {
    { "code", FT_STR, 0, 1, 128, NULL },
    { "pin", FT_STR, 0, 1, 16, NULL },
    { "pay_code", FT_STR, 0, 1, 32, NULL },
    { "items", FT_ARR, 0, 1, REDEEM_MAX_LINES, line_fields },
    { "points", FT_INT, 0, 1, 1000000, NULL },
    { "memo", FT_STR, F_NULLABLE, 0, 200, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field void_fields[] = {
    { "reason", FT_STR, F_REQUIRED, 1, 200, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

/* ---- the clerk's failure budget ---- */

/* The budget itself is counted in the redemption's transaction, on the
 * clerk's staff row (db/redeem.h); here are the reply's parts of it. */

/* Retry-After of a clerk over its budget: the end of the window. */
static void clerk_retry_after(struct req *r)
{
    char ra[16];
    long long now = (long long)clock_now();
    snprintf(ra, sizeof ra, "%lld", (now / CLERK_FAIL_WINDOW + 1) * CLERK_FAIL_WINDOW - now);
    reply_header(r, "Retry-After", ra);
}

/* This failure used the budget up: alert (the next request is refused). */
static void clerk_budget_spent(struct req *r, const char *what)
{
    metrics_event(MET_CLERK_FAIL_ALERT);
    json_t *f = json_pack("{s:I, s:I, s:s, s:s}", "staff_id", (json_int_t)r->who.staff_id,
                          "shop_id", (json_int_t)r->who.shop_id, "what", what, "remote", r->remote);
    log_event(LOG_WARN, "clerk failure budget exhausted", f);
    json_decref(f);
}

/* ---- redeeming ---- */

static bool consent_ok_or_reply(struct req *r)
{
    bool card = input_has(r->body, "code"), pin = input_has(r->body, "pin");
    bool pay = input_has(r->body, "pay_code");
    if (card && pay) {
        reply_error(r, 400, "invalid_request", "pay_code",
                    "send either code and pin, or pay_code, not both");
        return false;
    }
    if (!card && !pay) {
        reply_error(r, 400, "invalid_request", pin ? "code" : "pay_code",
                    "the household's consent is needed: code and pin, or pay_code");
        return false;
    }
    if (card && !pin) {
        reply_error(r, 400, "invalid_request", "pin", "a card needs the household's pin");
        return false;
    }
    if (pay && pin) {
        reply_error(r, 400, "invalid_request", "pin", "a pay code needs no pin");
        return false;
    }
    bool items = input_has(r->body, "items"), points = input_has(r->body, "points");
    if (items == points) {
        reply_error(r, 400, "invalid_request", items ? "points" : "items",
                    "send either items or points");
        return false;
    }
    return true;
}

/* A redemption on its way through the ledger pool, with the strings its
 * input points at (the rest point into the request's body). */
struct redeeming {
    char scope[32], actor[32], nonce[17];
    const char *pay;            /* the pay code, to consume after a 201 */
    struct redeem_in in;
    struct ledger_op op;
    struct movement mv;
    struct ledger_job job;
};

/* What a redemption's outcome means beyond its answer: the clerk's
 * failure budget, Retry-After of a lock, the pay code spent. */
static void before_redeemed_reply(struct movement *m)
{
    struct redeeming *x = m->mem;
    struct req *r = m->r;
    struct ledger_answer *ans = &x->op.ans;
    if (x->op.rc == LEDGER_OK && ans->budget_spent)
        clerk_budget_spent(r, ans->pin_failed ? "pin" : "pay_code");
    if (x->op.rc == LEDGER_OK && ans->status == 429 && !ans->replayed)
        clerk_retry_after(r);
    if (x->op.rc == LEDGER_OK && ans->status == 423) {
        char ra[24];
        snprintf(ra, sizeof ra, "%lld",
                 (long long)json_integer_value(json_object_get(json_object_get(ans->body, "error"),
                                                               "retry_after")));
        reply_header(r, "Retry-After", ra);
    }
    if (x->op.rc == LEDGER_OK && ans->status == 201 && !ans->replayed && x->pay)
        paycode_consume(r->w->cache, x->pay, ans->household_id);
}

void h_redemptions_create(struct req *r)
{
    if (!r->who.shop_id) {
        reply_error(r, 403, "forbidden", NULL, "this clerk is bound to no shop");
        return;
    }
    const char *key = idem_key_or_reply(r);
    if (!key || !input_check_or_reply(r, redeem_fields) || !consent_ok_or_reply(r))
        return;
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    struct redeeming *x = calloc(1, sizeof *x);
    if (!x) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    struct redeem_in *in = &x->in;
    snprintf(x->scope, sizeof x->scope, "shop:%lld", r->who.shop_id);
    snprintf(x->actor, sizeof x->actor, "s:%lld", r->who.staff_id);
    in->scope = x->scope;
    in->key = key;
    in->actor = x->actor;
    in->shop_id = r->who.shop_id;
    in->clerk_id = r->who.staff_id;
    in->pin_key = r->w->srv->pin_key;
    in->pin_lock_seconds = r->w->cfg->pin_lock_seconds;
    in->now = (long long)clock_now();
    in->memo = input_str(r->body, "memo");
    json_t *items = json_object_get(r->body, "items");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        input_int(it, "item_id", &in->lines[in->nlines].item_id);
        input_int(it, "qty", &in->lines[in->nlines].qty);
        in->nlines++;
    }
    input_int(r->body, "points", &in->points);
    const char *pay = input_str(r->body, "pay_code");
    if (request_fingerprint(r, r->body, in->fp) != 0 || !(in->reach = reach_path(r, d))) {
        free(x);
        reply_db_error(r, d);
        return;
    }
    in->fail_limit = r->w->cfg->clerk_fail_limit;
    in->fail_window_s = CLERK_FAIL_WINDOW;
    if (pay) {
        /* a code Redis does not know names nobody: the ledger refuses it
         * (unknown_pay_code, counted against the clerk) after the key's
         * stored answer had its say; one Redis cannot say about is a
         * preset 503, which the stored answer comes before too */
        int got = paycode_lookup(r->w->cache, pay, &in->household_id, x->nonce);
        if (got > 0) {
            in->pay_code = pay;
            in->pay_nonce = x->nonce;
            x->pay = pay;
        } else {
            in->household_id = 0;
        }
        ledger_redeem_op(&x->op, in);
        if (got < 0)
            ledger_op_refuse(&x->op, 503, "unavailable", NULL,
                             "pay codes are unavailable right now; use the card and PIN");
    } else {
        in->pin = input_str(r->body, "pin");
        if (!card_decode(r->w->cfg->qr_secret, input_str(r->body, "code"), &in->household_id,
                         &in->card_gen))
            in->household_id = 0;
        ledger_redeem_op(&x->op, in);
    }
    movement_submit(r, &x->mv, &x->op, &x->job, before_redeemed_reply, x);
}

/* ---- voiding ---- */

struct voiding {
    char actor[32];
    struct audit_actor who;
    struct void_in in;
    struct ledger_op op;
    struct movement mv;
    struct ledger_job job;
};

void h_redemptions_void(struct req *r)
{
    if (!input_check_or_reply(r, void_fields))
        return;
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    struct voiding *x = calloc(1, sizeof *x);
    if (!x) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    snprintf(x->actor, sizeof x->actor, "s:%lld", r->who.staff_id);
    x->who = (struct audit_actor){ x->actor, role_name(r->who.role), r->remote, r->id };
    x->in = (struct void_in){
        .redemption_id = r->param[0],
        .reason = input_str(r->body, "reason"),
        .actor = x->actor,
        .clerk_id = r->who.role == ROLE_CLERK ? r->who.staff_id : 0,
        .shop_id = r->who.shop_id,
        .who = &x->who,
        .now = (long long)clock_now(),
    };
    if (!(x->in.reach = reach_path(r, d))) {
        free(x);
        reply_db_error(r, d);
        return;
    }
    ledger_void_op(&x->op, &x->in);
    movement_submit(r, &x->mv, &x->op, &x->job, NULL, x);
}

/* ---- reading ---- */

/* The caller's view: a clerk its own shop, admins their subtree. */
static bool redemption_in_reach(struct req *r, struct db *d, long long shop_id,
                                const char *shop_path, bool *err)
{
    *err = false;
    if (r->who.role == ROLE_CLERK)
        return shop_id == r->who.shop_id;
    const char *root = reach_path(r, d);
    if (!root) {
        *err = true;
        return false;
    }
    return region_path_within(root, shop_path);
}

void h_redemptions_get(struct req *r)
{
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    int found;
    long long shop;
    char path[256];
    json_t *o = redemption_load(d, r->param[0], &found, &shop, path);
    bool err = false;
    if (found < 0 || (found == 1 && !redemption_in_reach(r, d, shop, path, &err) && err)) {
        json_decref(o);
        reply_db_error(r, d);
        return;
    }
    if (found == 0 || !redemption_in_reach(r, d, shop, path, &err)) {
        json_decref(o);
        reply_error(r, 404, "not_found", NULL, "no such redemption");
        return;
    }
    reply_json(r, 200, o);
}

/* from/to days to [start, end) epoch seconds in the local zone (0 = open). */
static bool period_or_reply(struct req *r, long long *start, long long *end)
{
    char from[11], to[11];
    int y, m, dd;
    if (!query_day_or_reply(r, "from", from) || !query_day_or_reply(r, "to", to))
        return false;
    *start = *end = 0;
    if (from[0] && clock_parse_day(from, &y, &m, &dd))
        *start = (long long)clock_local_midnight(y, m, dd);
    if (to[0] && clock_parse_day(to, &y, &m, &dd))
        *end = (long long)clock_local_midnight(y, m, dd) + 86400;   /* days are inclusive */
    return true;
}

/* The shop filter: a clerk is held to its own shop; a shop the caller
 * does not reach is 404, not an empty list. */
static bool shop_filter_or_reply(struct req *r, long long *shop_id)
{
    if (!query_id_or_reply(r, "shop_id", shop_id))
        return false;
    if (r->who.role == ROLE_CLERK) {
        if (*shop_id && *shop_id != r->who.shop_id) {
            reply_error(r, 404, "not_found", "shop_id", "no such shop");
            return false;
        }
        *shop_id = r->who.shop_id;
        return true;
    }
    struct db *d;
    struct shop s;
    return !*shop_id || ((d = db_or_reply(r)) && reach_shop_or_reply(r, d, *shop_id, &s, "shop_id"));
}

static json_t *load_redemption(struct req *r, struct db *d, long long id)
{
    (void)r;
    int found;
    return redemption_load(d, id, &found, NULL, NULL);
}

void h_redemptions_list(struct req *r)
{
    int limit;
    long long before, shop_id, start, end;
    if (!list_params_or_reply(r, &limit, &before) || !shop_filter_or_reply(r, &shop_id) ||
        !period_or_reply(r, &start, &end))
        return;
    struct db *d = db_or_reply(r);
    const char *root = d ? reach_path(r, d) : NULL;
    if (!d)
        return;
    if (!root) {
        reply_db_error(r, d);
        return;
    }
    reply_id_page(r, d,
                  redemption_list(d, root, shop_id, start, end, before ? before : ID_MAX,
                                  limit + 1),
                  limit, load_redemption);
}

void h_redemptions_summary(struct req *r)
{
    long long shop_id, start, end, region_id;
    if (!shop_filter_or_reply(r, &shop_id) || !period_or_reply(r, &start, &end) ||
        !query_id_or_reply(r, "region_id", &region_id))
        return;
    bool csv;
    if (!format_csv_or_reply(r, &csv))
        return;
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    struct region g;
    const char *root;
    if (region_id && r->who.role != ROLE_CLERK) {
        if (!reach_region_or_reply(r, d, region_id, &g))
            return;
        root = g.path;
    } else if (!(root = reach_path(r, d))) {
        reply_db_error(r, d);
        return;
    }
    struct db_rows *rows = redemption_summary(d, root, shop_id, start, end);
    if (!rows) {
        reply_db_error(r, d);
        return;
    }
    static const char *const header[] = { "shop_id", "shop_name", "count", "points", NULL };
    struct csv_out out;
    json_t *items = json_array();
    long long tcount = 0, tpoints = 0;
    if (csv) {
        csv_out_init(&out, true);
        csv_out_header(&out, header);
    }
    while (db_rows_next(rows)) {
        long long id = db_rows_int(rows, 0), count = db_rows_int(rows, 2);
        long long points = db_rows_int(rows, 3);
        const char *name = db_rows_str(rows, 1, NULL);
        tcount += count;
        tpoints += points;
        if (csv) {
            csv_out_int(&out, id);
            csv_out_text(&out, name);
            csv_out_int(&out, count);
            csv_out_int(&out, points);
            csv_out_row_end(&out);
        } else {
            json_array_append_new(items, json_pack("{s:I, s:s, s:I, s:I}", "shop_id",
                                                   (json_int_t)id, "shop_name", name, "count",
                                                   (json_int_t)count, "points",
                                                   (json_int_t)points));
        }
    }
    db_rows_free(rows);
    if (csv) {
        json_decref(items);
        reply_csv(r, &out);
        return;
    }
    reply_json(r, 200, json_pack("{s:o, s:{s:I, s:I}}", "items", items, "totals", "count",
                                 (json_int_t)tcount, "points", (json_int_t)tpoints));
}
