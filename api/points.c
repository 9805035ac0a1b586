/* points.c - categories and rates, the household ledger, adjustments,
 * the resident's own ledger / drop-offs / balance, and the ledger check:
 * GET/POST /v1/categories, POST /v1/rates,
 * GET /v1/households/{id}/ledger, POST /v1/households/{id}/adjustments,
 * GET /v1/residents/me/{ledger,dropoffs,balance},
 * GET /v1/reports/ledger-check. */
#include "api/handlers.h"
#include "api/household_view.h"
#include "api/input.h"
#include "api/list.h"
#include "api/money.h"
#include "api/reach.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/request.h"
#include "server/worker.h"
#include "db/audit.h"
#include "db/balance.h"
#include "db/catalog.h"
#include "db/check.h"
#include "db/db.h"
#include "db/households.h"
#include "db/ledger.h"
#include "db/engine.h"
#include "server/ledger_pool.h"
#include "db/regions.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE_MAX_ADMIN 1000000
#define RATE_MAX_REGION 100000

static const struct field category_fields[] = {
    { "code", FT_STR, F_REQUIRED, 1, 32, NULL },
    { "name", FT_STR, F_REQUIRED, 1, 100, NULL },
    { "name_zh", FT_STR, F_REQUIRED, 1, 100, NULL },
    { "unit", FT_STR, F_REQUIRED, 1, 4, NULL },
    { "daily_cap", FT_INT, F_NULLABLE, 0, 100000000, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field rate_fields[] = {
    { "category", FT_STR, F_REQUIRED, 1, 32, NULL },
    { "region_id", FT_INT, F_NULLABLE, 1, ID_MAX, NULL },
    { "points_per_unit", FT_INT, F_REQUIRED, 0, RATE_MAX_ADMIN, NULL },
    { "effective_from", FT_STR, F_REQUIRED, 20, 40, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field adjust_fields[] = {
    { "points", FT_INT, F_REQUIRED, -1000000, 1000000, NULL },
    { "reason", FT_STR, F_REQUIRED, 1, 200, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const char SQL_LEDGER_PAGE[] =
    "SELECT seq, delta, balance_after, kind, ref_id, UNIX_TIMESTAMP(created_at), memo "
    "FROM ledger WHERE household_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?";

/* The region path whose rates apply to the caller: a resident's
 * household region, a staff member's reach, "/" (the default) for admins. */
static int caller_rate_path(struct req *r, struct db *d, char *out, size_t len)
{
    if (r->who.role == ROLE_RESIDENT) {
        struct household h;
        int rc = household_get(d, r->who.household_id, &h, false);
        if (rc < 0)
            return -1;
        snprintf(out, len, "%s", rc ? h.region_path : "/");
        return 0;
    }
    const char *p = reach_path(r, d);
    if (!p)
        return -1;
    snprintf(out, len, "%s", p);
    return 0;
}

void h_categories_list(struct req *r)
{
    /* the catalogue is one short page, but the list rules still hold */
    int limit;
    long long after;
    if (!list_params_or_reply(r, &limit, &after))
        return;
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    const struct category *cats;
    int n = catalog_all_fresh(d, &cats);   /* a list is read fresh, not from the cache */
    char path[256];
    struct rate rates[CATALOG_MAX];
    if (n < 0 || caller_rate_path(r, d, path, sizeof path) != 0 ||
        catalog_rates(d, -1, path, (long long)clock_now(), cats, n, rates) != 0) {
        reply_db_error(r, d);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        if (cats[i].id <= after)
            continue;
        json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:s}", "id", cats[i].id, "code", cats[i].code,
                              "name", cats[i].name, "name_zh", cats[i].name_zh, "unit",
                              cats[i].per_item ? "item" : "g");
        json_object_set_new(o, "rate", rates[i].id ? json_integer(rates[i].ppu) : json_null());
        json_object_set_new(o, "daily_cap",
                            cats[i].has_cap ? json_integer(cats[i].daily_cap) : json_null());
        json_array_append_new(items, o);
    }
    reply_json(r, 200, list_page(items, false, 0));
}

struct new_category {
    struct req *r;
    struct category c;
    long long id;
};

static int category_tx(struct db *d, void *arg)
{
    struct new_category *x = arg;
    long long n;
    if (catalog_count_locked(d, &n) != 0)
        return -1;
    if (n >= CATALOG_MAX)
        return 1;           /* every thread caches the whole catalogue */
    x->id = category_insert(d, &x->c);
    if (x->id < 0)
        return -1;
    json_t *detail = json_pack("{s:s, s:s}", "code", x->c.code, "unit",
                               x->c.per_item ? "item" : "g");
    int rc = audit_req(x->r, d, "category.create", "category", x->id, detail);
    json_decref(detail);
    return rc;
}

void h_categories_create(struct req *r)
{
    if (!input_check_or_reply(r, category_fields))
        return;
    struct new_category x = { .r = r };
    const char *code = input_str(r->body, "code");
    const char *unit = input_str(r->body, "unit");
    if (strspn(code, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(code)) {
        reply_error(r, 400, "invalid_request", "code", "code must be 1 to 32 of a-z 0-9 _");
        return;
    }
    if (strcmp(unit, "g") != 0 && strcmp(unit, "item") != 0) {
        reply_error(r, 400, "invalid_request", "unit", "unit must be g or item");
        return;
    }
    snprintf(x.c.code, sizeof x.c.code, "%s", code);
    snprintf(x.c.name, sizeof x.c.name, "%s", input_str(r->body, "name"));
    snprintf(x.c.name_zh, sizeof x.c.name_zh, "%s", input_str(r->body, "name_zh"));
    x.c.per_item = strcmp(unit, "item") == 0;
    x.c.has_cap = input_int(r->body, "daily_cap", &x.c.daily_cap);
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    int rc = db_tx(d, category_tx, &x);
    if (rc == 1) {
        reply_error(r, 409, "catalogue_full", NULL, "the catalogue holds at most %d categories",
                    CATALOG_MAX);
        return;
    }
    if (rc == DB_TX_ERROR && db_errkind(d) == DB_DUP) {
        reply_error(r, 409, "conflict", "code", "category '%s' exists", code);
        return;
    }
    if (rc != 0) {
        reply_tx_error(r, d, rc);
        return;
    }
    catalog_invalidate();
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)x.id, "code", x.c.code,
                          "name", x.c.name, "name_zh", x.c.name_zh, "unit", unit);
    json_object_set_new(o, "daily_cap", x.c.has_cap ? json_integer(x.c.daily_cap) : json_null());
    json_object_set_new(o, "rate", json_null());
    reply_json(r, 201, o);
}

struct new_rate {
    struct req *r;
    const struct category *cat;
    long long region_id, ppu, from, id;
};

static int rate_tx(struct db *d, void *arg)
{
    struct new_rate *x = arg;
    char actor[32];
    snprintf(actor, sizeof actor, "s:%lld", x->r->who.staff_id);
    x->id = rate_insert(d, x->cat->id, x->region_id, x->ppu, x->from, actor);
    if (x->id < 0)
        return -1;
    json_t *detail = json_pack("{s:s, s:I, s:I, s:I}", "category", x->cat->code, "region_id",
                               (json_int_t)x->region_id, "points_per_unit", (json_int_t)x->ppu,
                               "effective_from", (json_int_t)x->from);
    int rc = audit_req(x->r, d, "rate.create", "rate", x->id, detail);
    json_decref(detail);
    return rc;
}

void h_rates_create(struct req *r)
{
    if (!input_check_or_reply(r, rate_fields))
        return;
    struct new_rate x = { .r = r };
    input_int(r->body, "region_id", &x.region_id);
    input_int(r->body, "points_per_unit", &x.ppu);
    time_t from;
    if (!clock_parse_rfc3339(input_str(r->body, "effective_from"), &from)) {
        reply_error(r, 400, "invalid_request", "effective_from",
                    "effective_from must be an RFC 3339 time with an offset");
        return;
    }
    x.from = (long long)from;
    if (r->who.role != ROLE_ADMIN) {
        if (!x.region_id) {
            reply_error(r, 403, "forbidden", NULL, "only an admin sets the default rate");
            return;
        }
        if (x.ppu > RATE_MAX_REGION) {
            reply_error(r, 403, "forbidden", NULL,
                        "a region admin sets rates of at most %d points per unit",
                        RATE_MAX_REGION);
            return;
        }
    }
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    int found = catalog_find(d, input_str(r->body, "category"), &x.cat);
    if (found < 0) {
        reply_db_error(r, d);
        return;
    }
    if (found == 0) {
        reply_error(r, 400, "invalid_request", "category", "unknown category");
        return;
    }
    if (x.region_id && !reach_region_or_reply(r, d, x.region_id, NULL))
        return;
    int rc = db_tx(d, rate_tx, &x);
    if (rc != 0) {
        reply_tx_error(r, d, rc);
        return;
    }
    char when[40];
    clock_format((time_t)x.from, when, sizeof when);
    json_t *o = json_pack("{s:I, s:s, s:I, s:s}", "id", (json_int_t)x.id, "category",
                          x.cat->code, "points_per_unit", (json_int_t)x.ppu, "effective_from",
                          when);
    json_object_set_new(o, "region_id", x.region_id ? json_integer(x.region_id) : json_null());
    reply_json(r, 201, o);
}

static json_t *ledger_row_json(struct db_rows *rows)
{
    char at[40];
    clock_format((time_t)db_rows_int(rows, 5), at, sizeof at);
    json_t *o = json_pack("{s:I, s:I, s:I, s:s, s:I, s:s}", "seq",
                          (json_int_t)db_rows_int(rows, 0), "delta",
                          (json_int_t)db_rows_int(rows, 1), "balance_after",
                          (json_int_t)db_rows_int(rows, 2), "kind", db_rows_str(rows, 3, NULL),
                          "ref_id", (json_int_t)db_rows_int(rows, 4), "created_at", at);
    if (o)
        json_object_set_new(o, "memo", db_rows_null(rows, 6)
                                           ? json_null()
                                           : json_string(db_rows_str(rows, 6, NULL)));
    return o;
}

/* Ledger rows of one household, newest first; cursor = seq. */
static void ledger_page(struct req *r, struct db *d, long long household_id)
{
    int limit;
    long long before;
    if (!list_params_or_reply(r, &limit, &before))
        return;
    reply_row_page(r, d,
                   db_query(d, SQL_LEDGER_PAGE, "iii", household_id, before ? before : ID_MAX,
                            (long long)limit + 1),
                   limit, ledger_row_json, 0);
}

void h_households_ledger(struct req *r)
{
    struct db *d = db_or_reply(r);
    struct household h;
    if (d && household_in_reach_or_reply(r, d, r->param[0], &h))
        ledger_page(r, d, h.id);
}

void h_residents_ledger(struct req *r)
{
    struct db *d = db_or_reply(r);
    if (d)
        ledger_page(r, d, r->who.household_id);
}

void h_residents_dropoffs(struct req *r)
{
    dropoffs_list(r, r->who.household_id);
}

/* The cheap read: Redis first (db/balance.h). */
/* The router read the balance entry with the token's (wb_prefetch): a
 * trusted entry answers without MariaDB; otherwise the record does. */
void h_residents_balance(struct req *r)
{
    long long bal = r->cached_balance;
    if (r->cached_rc != 1) {
        struct db *d = db_or_reply(r);
        if (!d)
            return;
        if (balance_read_record(d, r->w->cache, r->who.household_id, r->cached_rc, &bal) != 0) {
            reply_db_error(r, d);
            return;
        }
    }
    reply_json(r, 200, json_pack("{s:I, s:I}", "household_id", (json_int_t)r->who.household_id,
                                 "balance", (json_int_t)bal));
}

/* An adjustment, run by the ledger pool. */
struct adjusting {
    char scope[32], actor[32];
    struct audit_actor who;
    struct adjust_in in;
    struct ledger_op op;
    struct movement mv;
    struct ledger_job job;
};

void h_households_adjust(struct req *r)
{
    const char *key = idem_key_or_reply(r);
    if (!key || !input_check_or_reply(r, adjust_fields))
        return;
    long long points = 0;
    input_int(r->body, "points", &points);
    if (points == 0) {
        reply_error(r, 400, "invalid_request", "points", "points must not be 0");
        return;
    }
    struct db *d = db_or_reply(r);
    struct household h;
    if (!d || !household_in_reach_or_reply(r, d, r->param[0], &h))
        return;
    struct adjusting *x = calloc(1, sizeof *x);
    if (!x) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    snprintf(x->scope, sizeof x->scope, "staff:%lld", r->who.staff_id);
    snprintf(x->actor, sizeof x->actor, "s:%lld", r->who.staff_id);
    x->who = (struct audit_actor){ x->actor, role_name(r->who.role), r->remote, r->id };
    x->in = (struct adjust_in){ .scope = x->scope, .key = key, .household_id = h.id,
                                .staff_id = r->who.staff_id, .points = points,
                                .action_limit = r->who.role == ROLE_ADMIN
                                                    ? 0
                                                    : r->w->cfg->adjust_limit,
                                .daily_limit = r->who.role == ROLE_ADMIN
                                                   ? 0
                                                   : r->w->cfg->adjust_daily_limit,
                                .reason = input_str(r->body, "reason"), .actor = x->actor,
                                .who = &x->who };
    /* the household is part of the request: the same key for another
     * household is another request */
    json_t *fpbody = json_deep_copy(r->body);
    json_object_set_new(fpbody, "household_id", json_integer(h.id));
    int frc = request_fingerprint(r, fpbody, x->in.fp);
    json_decref(fpbody);
    if (frc != 0) {
        free(x);
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    ledger_adjust_op(&x->op, &x->in);
    movement_submit(r, &x->mv, &x->op, &x->job, NULL, x);
}

void h_reports_ledger_check(struct req *r)
{
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    json_t *violations;
    long long checked;
    if (ledger_check(d, r->w->cache, &violations, &checked) != 0) {
        reply_db_error(r, d);
        return;
    }
    reply_json(r, 200, json_pack("{s:b, s:I, s:o}", "ok", json_array_size(violations) == 0,
                                 "households_checked", (json_int_t)checked, "violations",
                                 violations));
}
