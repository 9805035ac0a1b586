/* stock.c - a site's stock ledger (台账): GET /v1/sites/{id}/stock,
 * GET /v1/sites/{id}/stock/movements (JSON or CSV), stock counts
 * (POST /v1/sites/{id}/stock-counts) and what leaves the chain at a
 * sorting centre (POST /v1/outbound).
 *
 * An attendant sees and counts its own site only; admins any site in
 * their subtree.  Counts and outbounds are keyed in the site's namespace
 * and run through the ledger engine like every movement (db/chain.c). */
#include "api/goods.h"
#include "api/handlers.h"
#include "api/input.h"
#include "api/list.h"
#include "api/money.h"
#include "api/reach.h"
#include "server/clock.h"
#include "server/ledger_pool.h"
#include "server/request.h"
#include "db/catalog.h"
#include "db/chain.h"
#include "db/csvout.h"
#include "db/db.h"
#include "db/engine.h"
#include "db/sites.h"
#include "db/stock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A CSV export of movements is one answer; a period with more than this
 * must be asked for in parts. */
#define MOVEMENTS_CSV_MAX 100000

static const struct field count_fields[] = {
    { "lines", FT_ARR, F_REQUIRED, 1, CHAIN_MAX_LINES, goods_line_fields },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field outbound_fields[] = {
    { "buyer", FT_STR, F_REQUIRED, 1, 100, NULL },
    { "disposition", FT_STR, F_REQUIRED, 1, 24, NULL },
    { "lines", FT_ARR, F_REQUIRED, 1, CHAIN_MAX_LINES, goods_line_fields },
    { NULL, 0, 0, 0, 0, NULL },
};

/* The site of the path, when the caller may see its stock: an attendant
 * its own site, admins a site in reach; else 404 (or the store error). */
static bool stock_site_or_reply(struct req *r, struct db *d, struct site *s)
{
    if (r->who.role == ROLE_ATTENDANT && r->param[0] != r->who.site_id) {
        reply_error(r, 404, "not_found", NULL, "no such site");
        return false;
    }
    return reach_site_or_reply(r, d, r->param[0], s, NULL);
}

void h_sites_stock(struct req *r)
{
    struct db *d = db_or_reply(r);
    struct site s;
    if (!d || !stock_site_or_reply(r, d, &s))
        return;
    struct db_rows *rows = stock_on_hand(d, s.id);
    if (!rows) {
        reply_db_error(r, d);
        return;
    }
    json_t *lines = json_array();
    while (db_rows_next(rows))
        json_array_append_new(lines, json_pack("{s:s, s:s, s:I, s:I}", "category",
                                               db_rows_str(rows, 0, NULL), "unit",
                                               db_rows_str(rows, 1, NULL), "on_hand",
                                               (json_int_t)db_rows_int(rows, 2), "shortfall",
                                               (json_int_t)db_rows_int(rows, 3)));
    db_rows_free(rows);
    char now[40];
    clock_format_now(now, sizeof now);
    reply_json(r, 200, json_pack("{s:I, s:s, s:o, s:s}", "site_id", (json_int_t)s.id, "tier",
                                 s.tier, "lines", lines, "as_of", now));
}

/* ---- movements ---- */

static json_t *movement_json(struct db_rows *rows)
{
    char at[40];
    clock_format((time_t)db_rows_int(rows, 6), at, sizeof at);
    return json_pack("{s:I, s:s, s:I, s:I, s:s, s:I, s:s, s:s}", "id",
                     (json_int_t)db_rows_int(rows, 0), "category", db_rows_str(rows, 1, NULL),
                     "delta", (json_int_t)db_rows_int(rows, 2), "on_hand_after",
                     (json_int_t)db_rows_int(rows, 3), "kind", db_rows_str(rows, 4, NULL),
                     "ref_id", (json_int_t)db_rows_int(rows, 5), "local_day",
                     db_rows_str(rows, 7, NULL), "created_at", at);
}

static void reply_movements_csv(struct req *r, struct db *d, long long site_id, long long cat,
                                const char *from, const char *to)
{
    struct db_rows *rows = stock_movements(d, site_id, cat, from, to, ID_MAX,
                                           MOVEMENTS_CSV_MAX + 1);
    if (!rows) {
        reply_db_error(r, d);
        return;
    }
    static const char *const header[] = { "id", "local_day", "created_at", "category", "kind",
                                          "ref_id", "delta", "on_hand_after", NULL };
    struct csv_out out;
    csv_out_init(&out, true);
    csv_out_header(&out, header);
    int n = 0;
    while (db_rows_next(rows) && ++n <= MOVEMENTS_CSV_MAX) {
        char at[40];
        clock_format((time_t)db_rows_int(rows, 6), at, sizeof at);
        csv_out_int(&out, db_rows_int(rows, 0));
        csv_out_text(&out, db_rows_str(rows, 7, NULL));
        csv_out_text(&out, at);
        csv_out_text(&out, db_rows_str(rows, 1, NULL));
        csv_out_text(&out, db_rows_str(rows, 4, NULL));
        csv_out_int(&out, db_rows_int(rows, 5));
        csv_out_int(&out, db_rows_int(rows, 2));
        csv_out_int(&out, db_rows_int(rows, 3));
        csv_out_row_end(&out);
    }
    db_rows_free(rows);
    if (n > MOVEMENTS_CSV_MAX) {
        csv_out_release(&out);
        reply_error(r, 400, "invalid_request", "from",
                    "more than %d movements: export a shorter period", MOVEMENTS_CSV_MAX);
        return;
    }
    reply_csv(r, &out);
}

void h_sites_stock_movements(struct req *r)
{
    int limit;
    long long before;
    char from[11], to[11];
    bool csv;
    if (!list_params_or_reply(r, &limit, &before) || !query_day_or_reply(r, "from", from) ||
        !query_day_or_reply(r, "to", to) || !format_csv_or_reply(r, &csv))
        return;
    struct db *d = db_or_reply(r);
    struct site s;
    if (!d || !stock_site_or_reply(r, d, &s))
        return;
    long long cat = 0;
    const char *code = req_query(r, "category");
    if (code && *code) {
        const struct category *c;
        int found = catalog_find(d, code, &c);
        if (found < 0) {
            reply_db_error(r, d);
            return;
        }
        if (found == 0) {
            reply_error(r, 400, "invalid_request", "category", "unknown category '%s'", code);
            return;
        }
        cat = c->id;
    }
    if (csv) {
        reply_movements_csv(r, d, s.id, cat, from, to);
        return;
    }
    reply_row_page(r, d,
                   stock_movements(d, s.id, cat, from, to, before ? before : ID_MAX, limit + 1),
                   limit, movement_json, 0);
}

/* ---- counts and outbound ---- */

/* A count or an outbound on its way through the ledger pool. */
struct stocking {
    char scope[32];
    union {
        struct count_in count;
        struct outbound_in outbound;
    } in;
    struct ledger_op op;
    struct movement mv;
    struct ledger_job job;
};

void h_sites_stock_counts(struct req *r)
{
    const char *key = idem_key_or_reply(r);
    if (!key || !input_check_or_reply(r, count_fields))
        return;
    struct db *d = db_or_reply(r);
    struct site s;
    if (!d || !stock_site_or_reply(r, d, &s))
        return;
    struct stocking *x = calloc(1, sizeof *x);
    if (!x) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    struct count_in *in = &x->in.count;
    snprintf(x->scope, sizeof x->scope, "site:%lld", s.id);
    *in = (struct count_in){ .scope = x->scope, .key = key, .site_id = s.id,
                             .staff_id = r->who.staff_id, .now = (long long)clock_now() };
    clock_local_day((time_t)in->now, in->local_day, sizeof in->local_day);
    struct ledger_refusal f = { 0 };
    if (goods_parse(d, json_object_get(r->body, "lines"), true, in->lines, &in->nlines, &f) < 0 ||
        request_fingerprint(r, r->body, in->fp) != 0) {
        free(x);
        reply_db_error(r, d);
        return;
    }
    chain_count_op(&x->op, in);
    if (f.status)
        ledger_op_refuse(&x->op, f.status, f.code, f.field[0] ? f.field : NULL, f.message);
    movement_submit(r, &x->mv, &x->op, &x->job, NULL, x);
}

void h_outbound_create(struct req *r)
{
    static const char *const dispositions[] = { "recycled", "energy_recovery", "landfill",
                                                "hazardous_treatment", NULL };
    const char *key = idem_key_or_reply(r);
    if (!key || !input_check_or_reply(r, outbound_fields))
        return;
    const char *disposition = input_str(r->body, "disposition");
    const char *const *v = dispositions;
    while (*v && strcmp(*v, disposition) != 0)
        v++;
    if (!*v) {
        reply_error(r, 400, "invalid_request", "disposition",
                    "disposition is recycled, energy_recovery, landfill or hazardous_treatment");
        return;
    }
    struct db *d = db_or_reply(r);
    struct site s;
    if (!d || !own_site_or_reply(r, d, &s))
        return;
    struct stocking *x = calloc(1, sizeof *x);
    if (!x) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    struct outbound_in *in = &x->in.outbound;
    snprintf(x->scope, sizeof x->scope, "site:%lld", s.id);
    *in = (struct outbound_in){ .scope = x->scope, .key = key, .site_id = s.id,
                                .staff_id = r->who.staff_id,
                                .buyer = input_str(r->body, "buyer"),
                                .disposition = disposition, .now = (long long)clock_now() };
    clock_local_day((time_t)in->now, in->local_day, sizeof in->local_day);
    struct ledger_refusal f = { 0 };
    if (goods_parse(d, json_object_get(r->body, "lines"), false, in->lines, &in->nlines, &f) < 0 ||
        request_fingerprint(r, r->body, in->fp) != 0) {
        free(x);
        reply_db_error(r, d);
        return;
    }
    if (!f.status && strcmp(s.tier, "sorting") != 0)
        ledger_refusal_set(&f, 409, "wrong_tier", NULL,
                           "only a sorting centre sends goods out of the chain");
    chain_outbound_op(&x->op, in);
    if (f.status)
        ledger_op_refuse(&x->op, f.status, f.code, f.field[0] ? f.field : NULL, f.message);
    movement_submit(r, &x->mv, &x->op, &x->job, NULL, x);
}
