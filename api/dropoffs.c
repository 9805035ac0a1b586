/* dropoffs.c - POST /v1/dropoffs, POST /v1/dropoffs/batch,
 * GET /v1/dropoffs[/{id}], POST /v1/dropoffs/{id}/reverse.
 *
 * An attendant records at its own site, for households of its site's
 * county.  Order: body (400) -> idempotency replay or conflict -> the card
 * (404 unknown_code) -> reach (404) -> the ledger transaction, whose
 * outcome (201, or 409 household_inactive) is stored with the key. */
#include "api/handlers.h"
#include "api/household_view.h"
#include "api/input.h"
#include "api/list.h"
#include "api/money.h"
#include "api/reach.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/request.h"
#include "server/server.h"
#include "server/worker.h"
#include "server/ledger_pool.h"
#include "db/audit.h"
#include "db/catalog.h"
#include "db/db.h"
#include "db/households.h"
#include "db/ledger.h"
#include "db/engine.h"
#include "db/stats.h"
#include "db/regions.h"
#include "db/sites.h"
#include "qr/card.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUTURE_SLACK (5 * 60)
#define BACKDATE_MAX_OFFLINE (30 * 86400)

static const struct field line_fields[] = {
    { "category", FT_STR, F_REQUIRED, 1, 32, NULL },
    { "grams", FT_INT, 0, 1, 500000, NULL },
    { "count", FT_INT, 0, 1, 1000, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field dropoff_fields[] = {
    { "code", FT_STR, F_REQUIRED, 1, 128, NULL },
    { "items", FT_ARR, F_REQUIRED, 1, DROPOFF_MAX_LINES, line_fields },
    { "recorded_at", FT_STR, F_NULLABLE, 20, 40, NULL },
    { "note", FT_STR, F_NULLABLE, 0, 200, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

/* A batch item is a drop-off plus its client_ref. */
static const struct field batch_item_fields[] = {
    { "client_ref", FT_STR, F_REQUIRED, 1, 64, NULL },
    { "code", FT_STR, F_REQUIRED, 1, 128, NULL },
    { "items", FT_ARR, F_REQUIRED, 1, DROPOFF_MAX_LINES, line_fields },
    { "recorded_at", FT_STR, F_NULLABLE, 20, 40, NULL },
    { "note", FT_STR, F_NULLABLE, 0, 200, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field reverse_fields[] = {
    { "reason", FT_STR, F_REQUIRED, 1, 200, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

/* What prepare() says of one drop-off. */
enum prep {
    PREP_OK,                    /* ready for the ledger (maybe carrying a refusal) */
    PREP_REFUSED,               /* refused at once: f says why */
    PREP_STORE_ERROR,           /* the catalogue or reach could not be read */
};

/* A refusal of one drop-off: for a single request it is the reply, for a
 * batch item it is that item's error. */
struct refusal {
    int status;
    const char *code;
    char field[160];
    char message[320];
};

static enum prep refuse(struct refusal *f, int status, const char *code, const char *field,
                        const char *message)
{
    f->status = status;
    f->code = code;
    snprintf(f->field, sizeof f->field, "%s", field ? field : "");
    snprintf(f->message, sizeof f->message, "%s", message);
    return PREP_REFUSED;
}

/* Check a drop-off body and fill in (all but household and key).  The
 * shape of the body is checked here (400 at once: a different body is a
 * different request anyway); what depends on the catalogue or the clock
 * becomes in->refusal, given by the ledger only when the key holds no
 * stored answer.  PREP_OK; PREP_REFUSED with f filled; PREP_STORE_ERROR
 * when the catalogue could not be read (never a 400). */
static enum prep parse_dropoff(struct req *r, struct db *d, json_t *body, const struct field *spec,
                         bool offline, struct dropoff_in *in, struct refusal *f)
{
    char field[160], msg[320];
    if (input_check(body, spec, field, sizeof field, msg, sizeof msg) != 0)
        return refuse(f, 400, "invalid_request", field, msg);
    time_t now = clock_now();
    const char *rec = input_str(body, "recorded_at");
    time_t at = now;
    if (rec && !clock_parse_rfc3339(rec, &at))
        return refuse(f, 400, "invalid_request", "recorded_at",
                      "recorded_at must be an RFC 3339 time with an offset");
    json_t *items = json_object_get(body, "items");
    size_t i;
    json_t *it;
    in->nlines = 0;
    json_array_foreach(items, i, it) {
        char path[48];
        const char *code = input_str(it, "category");
        const struct category *c;
        int found = catalog_find(d, code, &c);
        if (found < 0)
            return PREP_STORE_ERROR;
        if (found == 0) {
            snprintf(path, sizeof path, "items[%zu].category", i);
            snprintf(msg, sizeof msg, "unknown category '%s'", code);
            ledger_refusal_set(&in->refusal, 400, "invalid_request", path, msg);
            break;
        }
        long long grams = 0, count = 0;
        bool has_g = input_int(it, "grams", &grams), has_c = input_int(it, "count", &count);
        if (c->per_item ? (!has_c || has_g) : (!has_g || has_c)) {
            snprintf(path, sizeof path, "items[%zu].%s", i,
                     c->per_item ? (has_g ? "grams" : "count") : (has_c ? "count" : "grams"));
            snprintf(msg, sizeof msg, "%s is counted in %s: send %s only", c->code,
                     c->per_item ? "items" : "grams", c->per_item ? "count" : "grams");
            ledger_refusal_set(&in->refusal, 400, "invalid_request", path, msg);
            break;
        }
        dropoff_line_set(&in->lines[in->nlines++], c, c->per_item ? count : grams);
    }
    /* Only an offline upload may be back-dated beyond a few minutes: a
     * drop-off sent live is weighed now. */
    long long back = offline ? BACKDATE_MAX_OFFLINE : DROPOFF_BACKDATE_FLAG_S;
    if (!in->refusal.status && (at > now + FUTURE_SLACK || at < now - back))
        ledger_refusal_set(&in->refusal, 400, "invalid_request", "recorded_at",
                           offline ? "recorded_at may be at most 5 minutes ahead and 30 days back"
                                   : "recorded_at may be at most 5 minutes ahead and 10 minutes "
                                     "back; upload older drop-offs in a batch");
    in->recorded_at = (long long)at;
    in->backdated = at < now - DROPOFF_BACKDATE_FLAG_S;
    clock_local_day(at, in->local_day, sizeof in->local_day);
    clock_local_day(now, in->arrival_day, sizeof in->arrival_day);
    in->arrival_cap_days = r->w->cfg->cap_arrival_days;
    in->note = input_str(body, "note");
    in->site_id = r->who.site_id;
    in->attendant_id = r->who.staff_id;
    return PREP_OK;
}

/* A drop-off ready for the ledger, with the strings it points at. */
struct prepared {
    struct dropoff_in in;
    char scope[32], actor[32];
    struct ledger_op op;
};

/* Check one drop-off (single or batch item) and fill p.  The card is only
 * decoded here; whether it is current, and inside the attendant's reach,
 * is checked under the household's lock, after a replay had its chance. */
static enum prep prepare(struct req *r, struct db *d, json_t *body, const struct field *spec,
                         bool offline, const char *key, struct prepared *p, struct refusal *f)
{
    struct dropoff_in *in = &p->in;
    snprintf(p->scope, sizeof p->scope, "site:%lld", r->who.site_id);
    snprintf(p->actor, sizeof p->actor, "s:%lld", r->who.staff_id);
    in->scope = p->scope;
    in->key = key;
    in->actor = p->actor;
    enum prep rc = parse_dropoff(r, d, body, spec, offline, in, f);
    if (rc != PREP_OK)
        return rc;
    if (request_fingerprint(r, body, in->fp) != 0 || !(in->reach = reach_path(r, d)))
        return PREP_STORE_ERROR;
    if (!card_decode(r->w->cfg->qr_secret, input_str(body, "code"), &in->household_id,
                     &in->card_gen))
        in->household_id = 0;
    ledger_dropoff_op(&p->op, in);
    return PREP_OK;
}

/* A new back-dated drop-off is counted, so that farming shows. */
static void count_backdated(const struct prepared *p)
{
    if (p->in.backdated && p->op.rc == LEDGER_OK && p->op.ans.status == 201 &&
        !p->op.ans.replayed)
        atomic_fetch_add(&wb_stats.dropoffs_backdated, 1);
}

static bool attendant_site_or_reply(struct req *r)
{
    if (r->who.site_id)
        return true;
    reply_error(r, 403, "forbidden", NULL, "this attendant is bound to no site");
    return false;
}

/* A single drop-off: a job of one for the ledger pool, grouped there
 * with whatever else is queued. */
struct single {
    struct prepared p;
    struct movement mv;
    struct ledger_job job;
};

static void before_credited_reply(struct movement *m)
{
    count_backdated(&((struct single *)m->mem)->p);
}

void h_dropoffs_create(struct req *r)
{
    if (!attendant_site_or_reply(r))
        return;
    const char *key = idem_key_or_reply(r);
    if (!key)
        return;
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    struct single *x = calloc(1, sizeof *x);
    if (!x) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    struct refusal f;
    enum prep rc = prepare(r, d, r->body, dropoff_fields, false, key, &x->p, &f);
    if (rc == PREP_OK) {
        movement_submit(r, &x->mv, &x->p.op, &x->job, before_credited_reply, x);
        return;
    }
    ledger_answer_release(&x->p.op.ans);
    free(x);
    if (rc == PREP_REFUSED)
        reply_error(r, f.status, f.code, f.field[0] ? f.field : NULL, "%s", f.message);
    else
        reply_db_error(r, d);
}

static json_t *item_error(const char *code, const char *message, const char *field)
{
    json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (e && field && *field)
        json_object_set_new(e, "field", json_string(field));
    return e;
}

/* A batch is credited by the ledger pool one group at a time, in order
 * (a group is one job, never split, so caps apply in request order), and
 * the worker serves other requests meanwhile: each finished group comes
 * back to it, its balances are published, and the next group goes. */
struct batch {
    struct req *r;
    json_t *list;               /* the request's items (borrowed) */
    size_t n, at;               /* items; the first not yet sent */
    struct prepared *items;
    struct refusal *refusals;
    enum prep *prc;
    struct ledger_op *group[LEDGER_GROUP_MAX];   /* the group in flight */
    struct ledger_job job;
};

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        ledger_answer_release(&b->items[i].op.ans);
    free(b->items);
    free(b->refusals);
    free(b->prc);
    free(b);
}

/* One item's result: {client_ref, status, dropoff | error}. */
static json_t *batch_result(struct req *r, struct batch *b, size_t i)
{
    json_t *it = json_array_get(b->list, i);
    const char *ref = json_string_value(json_object_get(it, "client_ref"));
    struct ledger_op *op = &b->items[i].op;
    struct ledger_answer *ans = &op->ans;
    json_t *res = json_pack("{s:s}", "client_ref", ref);
    if (!res)
        return NULL;
    const char *err_code = NULL, *err_msg = NULL, *err_field = NULL;
    if (b->prc[i] == PREP_REFUSED) {
        err_code = b->refusals[i].code;
        err_msg = b->refusals[i].message;
        err_field = b->refusals[i].field;
    } else if (b->prc[i] == PREP_STORE_ERROR || op->rc == LEDGER_ERR) {
        err_code = "unavailable";
        err_msg = op->errkind == DB_RETRY
                      ? "the store is busy with this household; send it again"
                      : "the store is unavailable; nothing was written, send it again";
    } else if (op->rc == LEDGER_UNKNOWN) {
        if (ans->household_id)
            balance_forget_for(r, ans->household_id);
        err_code = "outcome_unknown";
        err_msg = "the store failed while committing; send it again";
    } else if (ans->conflict) {
        err_code = "idempotency_conflict";
        err_msg = "this client_ref was used for a different drop-off";
        err_field = "client_ref";
    }
    if (err_code) {
        json_object_set_new(res, "status", json_string("error"));
        json_object_set_new(res, "error", item_error(err_code, err_msg, err_field));
        return res;
    }
    count_backdated(&b->items[i]);
    json_t *body = ans->body;
    ans->body = NULL;
    if (ans->status == 201) {
        json_object_set_new(res, "status", json_string(ans->replayed ? "replayed" : "created"));
        json_object_set_new(res, "dropoff", body);
    } else {
        json_t *err = json_incref(json_object_get(body, "error"));
        json_decref(body);
        json_object_set_new(res, "status", json_string("error"));
        json_object_set_new(res, "error", err);
    }
    return res;
}

/* Answer the whole batch and free it; from the pool's callback (async)
 * the request is finished too. */
static void batch_finish(struct batch *b, bool async)
{
    struct req *r = b->r;
    json_t *results = json_array();
    for (size_t i = 0; i < b->n && results; i++) {
        json_t *res = batch_result(r, b, i);
        if (!res || json_array_append_new(results, res) != 0) {
            json_decref(results);
            results = NULL;
        }
    }
    if (results)
        reply_json(r, 200, json_pack("{s:o}", "results", results));
    else
        reply_error(r, 500, "internal", NULL, "out of memory");
    batch_free(b);
    if (async)
        req_finish_async(r);
}

static void on_batch_group(struct ledger_job *job);

/* Send the next group to the pool: true when one went, false when the
 * batch is done (every item credited or refused). */
static bool batch_next(struct batch *b)
{
    while (b->at < b->n) {
        int k = 0;
        for (; b->at < b->n && k < LEDGER_GROUP_MAX; b->at++)
            if (b->prc[b->at] == PREP_OK)
                b->group[k++] = &b->items[b->at].op;
        if (k == 0)
            break;
        b->job = (struct ledger_job){ .ops = b->group, .n = k, .done = on_batch_group };
        if (money_submit(b->r, &b->job) == 0)
            return true;
        for (int j = 0; j < k; j++) {       /* the pool is closing */
            b->group[j]->rc = LEDGER_ERR;
            b->group[j]->errkind = DB_CONN;
        }
    }
    return false;
}

static void on_batch_group(struct ledger_job *job)
{
    struct batch *b = (struct batch *)((char *)job - offsetof(struct batch, job));
    if (!batch_next(b))
        batch_finish(b, true);
}

void h_dropoffs_batch(struct req *r)
{
    if (!attendant_site_or_reply(r))
        return;
    json_t *list = json_object_get(r->body, "dropoffs");
    if (!json_is_object(r->body) || json_object_size(r->body) != 1 || !json_is_array(list) ||
        json_array_size(list) < 1 || json_array_size(list) > 500) {
        reply_error(r, 400, "invalid_request", "dropoffs",
                    "send {\"dropoffs\": [...]} with 1 to 500 drop-offs");
        return;
    }
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it) {
        const char *ref = json_string_value(json_object_get(it, "client_ref"));
        if (!json_is_object(it) || !ref || !idem_key_valid(ref)) {
            char field[48];
            snprintf(field, sizeof field, "dropoffs[%zu].client_ref", i);
            reply_error(r, 400, "invalid_request", field,
                        "every drop-off needs a client_ref of 1 to 64 of A-Z a-z 0-9 _ . : -");
            return;
        }
    }
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    size_t n = json_array_size(list);
    struct batch *b = calloc(1, sizeof *b);
    if (b) {
        b->items = calloc(n, sizeof *b->items);
        b->refusals = calloc(n, sizeof *b->refusals);
        b->prc = calloc(n, sizeof *b->prc);
    }
    if (!b || !b->items || !b->refusals || !b->prc) {
        if (b) {
            free(b->items);
            free(b->refusals);
            free(b->prc);
            free(b);
        }
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    b->r = r;
    b->list = list;
    b->n = n;
    json_array_foreach(list, i, it)
        b->prc[i] = prepare(r, d, it, batch_item_fields, true,
                            json_string_value(json_object_get(it, "client_ref")), &b->items[i],
                            &b->refusals[i]);
    if (batch_next(b)) {
        r->async = true;        /* answered when the last group is credited */
        return;
    }
    batch_finish(b, false);
}

/* Reach to a stored drop-off.  To read it, its site's or its household's
 * region must be in the caller's subtree; to move money with it
 * (money = true: a reversal debits the household), the household's. */
static json_t *dropoff_in_reach_or_reply(struct req *r, struct db *d, long long id, bool money)
{
    char spath[256], hpath[256];
    int found;
    json_t *o = dropoff_load(d, id, &found, spath, hpath);
    if (found < 0) {
        reply_db_error(r, d);
        return NULL;
    }
    const char *root = found ? reach_path(r, d) : NULL;
    if (found && !root) {
        json_decref(o);
        reply_db_error(r, d);
        return NULL;
    }
    bool household = found && region_path_within(root, hpath);
    if (!found || (!household && (money || !region_path_within(root, spath)))) {
        json_decref(o);
        reply_error(r, 404, "not_found", NULL,
                    found ? "the drop-off's household is outside your reach"
                          : "no such drop-off");
        return NULL;
    }
    return o;
}

void h_dropoffs_get(struct req *r)
{
    struct db *d = db_or_reply(r);
    json_t *o = d ? dropoff_in_reach_or_reply(r, d, r->param[0], false) : NULL;
    if (o)
        reply_json(r, 200, o);
}

static json_t *load_dropoff(struct req *r, struct db *d, long long id)
{
    (void)r;
    int found;
    return dropoff_load(d, id, &found, NULL, NULL);
}

/* The list, newest first.  household_only: a resident's own. */
void dropoffs_list(struct req *r, long long household_only)
{
    int limit;
    long long before, site_id, household_id;
    char from[11], to[11];
    if (!list_params_or_reply(r, &limit, &before) ||
        !query_id_or_reply(r, "site_id", &site_id) ||
        !query_id_or_reply(r, "household_id", &household_id) ||
        !query_day_or_reply(r, "from", from) || !query_day_or_reply(r, "to", to))
        return;
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    const char *root = "/";
    struct site site;
    struct household h;
    if (household_only) {
        household_id = household_only;
    } else if (!(root = reach_path(r, d))) {
        reply_db_error(r, d);
        return;
    } else if ((site_id && !reach_site_or_reply(r, d, site_id, &site, "site_id")) ||
               (household_id && !household_in_reach_or_reply(r, d, household_id, &h))) {
        return;     /* a filter naming what the caller cannot see is 404 */
    }
    reply_id_page(r, d,
                  dropoff_list(d, root, site_id, household_id, from, to,
                               before ? before : ID_MAX, limit + 1),
                  limit, load_dropoff);
}

void h_dropoffs_list(struct req *r)
{
    dropoffs_list(r, 0);
}

/* A reversal, run by the ledger pool. */
struct reversal {
    char actor[32];
    struct audit_actor who;
    struct reverse_in in;
    struct ledger_op op;
    struct movement mv;
    struct ledger_job job;
};

void h_dropoffs_reverse(struct req *r)
{
    if (!input_check_or_reply(r, reverse_fields))
        return;
    struct db *d = db_or_reply(r);
    json_t *o = d ? dropoff_in_reach_or_reply(r, d, r->param[0], true) : NULL;
    if (!o)
        return;
    json_decref(o);
    struct reversal *x = calloc(1, sizeof *x);
    if (!x) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    snprintf(x->actor, sizeof x->actor, "s:%lld", r->who.staff_id);
    x->who = (struct audit_actor){ x->actor, role_name(r->who.role), r->remote, r->id };
    x->in = (struct reverse_in){ r->param[0], input_str(r->body, "reason"), x->actor, &x->who };
    ledger_reverse_op(&x->op, &x->in);
    movement_submit(r, &x->mv, &x->op, &x->job, NULL, x);
}
