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
#include "db/regions.h"
#include "qr/card.h"

#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAX 999999999999999999LL
#define FUTURE_SLACK (5 * 60)
#define BACKDATE_MAX (30 * 86400)

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

static const char SQL_LIST[] =
    "SELECT d.id FROM dropoffs d JOIN sites s ON s.id = d.site_id "
    "JOIN regions g ON g.id = s.region_id "
    "WHERE g.path LIKE CONCAT(?, '%') AND (? = 0 OR d.site_id = ?) "
    "AND (? = 0 OR d.household_id = ?) AND (? = '' OR d.local_day >= ?) "
    "AND (? = '' OR d.local_day <= ?) AND d.id < ? ORDER BY d.id DESC LIMIT ?";

/* A refusal of one drop-off: for a single request it is the reply, for a
 * batch item it is that item's error. */
struct refusal {
    int status;
    const char *code;
    char field[160];
    char message[320];
};

static int refuse(struct refusal *f, int status, const char *code, const char *field,
                  const char *message)
{
    f->status = status;
    f->code = code;
    snprintf(f->field, sizeof f->field, "%s", field ? field : "");
    snprintf(f->message, sizeof f->message, "%s", message);
    return -1;
}

/* Check a drop-off body and fill in (all but household and key).  0, or
 * -1 with the refusal filled. */
static int parse_dropoff(struct req *r, struct db *d, json_t *body, const struct field *spec,
                         struct dropoff_in *in, struct refusal *f)
{
    char field[160], msg[320];
    if (input_check(body, spec, field, sizeof field, msg, sizeof msg) != 0)
        return refuse(f, 400, "invalid_request", field, msg);
    json_t *items = json_object_get(body, "items");
    size_t i;
    json_t *it;
    in->nlines = 0;
    json_array_foreach(items, i, it) {
        char path[48];
        const char *code = input_str(it, "category");
        const struct category *c = catalog_find(d, code);
        snprintf(path, sizeof path, "items[%zu].category", i);
        if (!c) {
            snprintf(msg, sizeof msg, "unknown category '%s'", code);
            return refuse(f, 400, "invalid_request", path, msg);
        }
        long long grams = 0, count = 0;
        bool has_g = input_int(it, "grams", &grams), has_c = input_int(it, "count", &count);
        if (c->per_item ? (!has_c || has_g) : (!has_g || has_c)) {
            snprintf(path, sizeof path, "items[%zu].%s", i,
                     c->per_item ? (has_g ? "grams" : "count") : (has_c ? "count" : "grams"));
            snprintf(msg, sizeof msg, "%s is counted in %s: send %s only", c->code,
                     c->per_item ? "items" : "grams", c->per_item ? "count" : "grams");
            return refuse(f, 400, "invalid_request", path, msg);
        }
        dropoff_line_set(&in->lines[in->nlines++], c, c->per_item ? count : grams);
    }
    time_t now = clock_now();
    const char *rec = input_str(body, "recorded_at");
    time_t at = now;
    if (rec && !clock_parse_rfc3339(rec, &at))
        return refuse(f, 400, "invalid_request", "recorded_at",
                      "recorded_at must be an RFC 3339 time with an offset");
    /* out of the window: refused in the transaction, after a replay of
     * the same key (kept 35 days) had its chance */
    in->window_error = at > now + FUTURE_SLACK || at < now - BACKDATE_MAX;
    in->recorded_at = (long long)at;
    clock_local_day(at, in->local_day, sizeof in->local_day);
    in->note = input_str(body, "note");
    in->site_id = r->who.site_id;
    in->attendant_id = r->who.staff_id;
    return 0;
}

/* A drop-off ready for the ledger, with the strings it points at. */
struct prepared {
    struct dropoff_in in;
    char scope[32], actor[32];
    struct req *r;              /* a single request, credited by the pool */
    struct ledger_job job;
    struct prepared *next;      /* credited, to be answered this turn */
};

/* Check one drop-off (single or batch item) and fill p.  0, or -1000
 * with f filled for a refusal before the transaction, or -2 for a store
 * error.  The card is only decoded here; whether it is current, and
 * inside the attendant's reach, is checked under the household's lock,
 * after a replay had its chance. */
static int prepare(struct req *r, struct db *d, json_t *body, const struct field *spec,
                   const char *key, struct prepared *p, struct refusal *f)
{
    struct dropoff_in *in = &p->in;
    snprintf(p->scope, sizeof p->scope, "site:%lld", r->who.site_id);
    snprintf(p->actor, sizeof p->actor, "s:%lld", r->who.staff_id);
    in->scope = p->scope;
    in->key = key;
    in->actor = p->actor;
    if (parse_dropoff(r, d, body, spec, in, f) != 0)
        return -1000;
    if (request_fingerprint(r, body, in->fp) != 0 || !(in->reach = reach_path(r, d)))
        return -2;
    if (!card_decode(r->w->cfg->qr_secret, input_str(body, "code"), &in->household_id,
                     &in->card_gen))
        in->household_id = 0;
    return 0;
}

/* A single drop-off is credited by the ledger threads
 * (server/ledger_pool.c), together with whatever else is queued then.
 * The credited ones come back to their worker; at the end of its turn the
 * worker publishes their balances in one round trip to Redis, then
 * answers each (publish first: a read after the answer sees the new
 * balance). */
struct credited {
    struct prepared *head, *tail;
    struct event *ev;
};

static _Thread_local struct credited credited;

static void answer_credited(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    while (credited.head) {
        struct prepared *ps[LEDGER_GROUP_MAX];
        struct ledger_answer ans[LEDGER_GROUP_MAX];
        int rc[LEDGER_GROUP_MAX], n = 0;
        while (credited.head && n < LEDGER_GROUP_MAX) {
            ps[n] = credited.head;
            ans[n] = ps[n]->job.ans;
            rc[n] = ps[n]->job.rc;
            credited.head = ps[n]->next;
            n++;
        }
        if (!credited.head)
            credited.tail = NULL;
        publish_answers(w, ans, rc, n);
        for (int i = 0; i < n; i++) {
            struct req *r = ps[i]->r;
            reply_ledger_kind(r, rc[i], ps[i]->job.errkind, &ans[i]);
            free(ps[i]);
            req_finish_async(r);
        }
    }
}

static void on_credited(struct ledger_job *job)
{
    struct prepared *p = (struct prepared *)((char *)job - offsetof(struct prepared, job));
    struct worker *w = p->r->w;
    if (!credited.ev && !(credited.ev = event_new(w->base, -1, 0, answer_credited, w))) {
        struct req *r = p->r;       /* no event: answer this one now */
        int rc = job->rc;
        publish_answers(w, &job->ans, &rc, 1);
        reply_ledger_kind(r, rc, job->errkind, &job->ans);
        free(p);
        req_finish_async(r);
        return;
    }
    p->next = NULL;
    if (credited.tail)
        credited.tail->next = p;
    else
        credited.head = p;
    credited.tail = p;
    event_active(credited.ev, EV_TIMEOUT, 0);
}

void dropoffs_thread_end(void)
{
    if (credited.ev)
        event_free(credited.ev);
    credited.ev = NULL;
}

static bool attendant_site_or_reply(struct req *r)
{
    if (r->who.site_id)
        return true;
    reply_error(r, 403, "forbidden", NULL, "this attendant is bound to no site");
    return false;
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
    struct prepared *p = calloc(1, sizeof *p);
    if (!p) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    struct refusal f;
    int rc = prepare(r, d, r->body, dropoff_fields, key, p, &f);
    if (rc == 0) {
        p->r = r;
        p->job.in = &p->in;
        p->job.done = on_credited;
        r->async = true;
        if (ledger_pool_submit(r->w->srv->ledger, r->w->base, &p->job) == 0)
            return;         /* answered when credited */
        r->async = false;
        rc = -2;
    }
    free(p);
    if (rc == -1000)
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
    struct prepared *items = calloc(n, sizeof *items);
    struct refusal *refusals = calloc(n, sizeof *refusals);
    struct ledger_answer *answers = calloc(n, sizeof *answers);
    int *prc = calloc(n, sizeof *prc), *lrc = calloc(n, sizeof *lrc);
    json_t *results = json_array();
    if (!items || !refusals || !answers || !prc || !lrc || !results) {
        free(items);
        free(refusals);
        free(answers);
        free(prc);
        free(lrc);
        json_decref(results);
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    json_array_foreach(list, i, it)
        prc[i] = prepare(r, d, it, batch_item_fields,
                         json_string_value(json_object_get(it, "client_ref")), &items[i],
                         &refusals[i]);
    /* credited in groups, in order: one transaction a group */
    for (size_t at = 0; at < n;) {
        const struct dropoff_in *ins[LEDGER_GROUP_MAX];
        size_t idx[LEDGER_GROUP_MAX];
        int k = 0;
        for (; at < n && k < LEDGER_GROUP_MAX; at++)
            if (prc[at] == 0) {
                idx[k] = at;
                ins[k++] = &items[at].in;
            }
        struct ledger_answer ga[LEDGER_GROUP_MAX];
        int grc[LEDGER_GROUP_MAX];
        if (k > 0) {
            ledger_dropoffs(d, ins, k, ga, grc);
            publish_answers(r->w, ga, grc, k);
        }
        for (int j = 0; j < k; j++) {
            answers[idx[j]] = ga[j];
            lrc[idx[j]] = grc[j];
        }
    }
    json_array_foreach(list, i, it) {
        const char *ref = json_string_value(json_object_get(it, "client_ref"));
        struct ledger_answer ans = answers[i];
        struct refusal f = refusals[i];
        int rc = prc[i] == 0 ? lrc[i] : prc[i];
        json_t *res = json_pack("{s:s}", "client_ref", ref);
        if (rc == -1000) {
            json_object_set_new(res, "status", json_string("error"));
            json_object_set_new(res, "error", item_error(f.code, f.message, f.field));
        } else if (rc == -2 || rc == LEDGER_ERR || rc == LEDGER_UNKNOWN) {
            bool unknown = rc == LEDGER_UNKNOWN;
            if (unknown && ans.household_id)
                balance_forget_for(r, ans.household_id);
            ledger_answer_release(&ans);
            json_object_set_new(res, "status", json_string("error"));
            json_object_set_new(res, "error",
                                unknown ? item_error("outcome_unknown",
                                                     "the store failed while committing; send it again",
                                                     NULL)
                                        : item_error("unavailable",
                                                     "the store is unavailable; send it again", NULL));
        } else if (ans.conflict) {
            json_object_set_new(res, "status", json_string("error"));
            json_object_set_new(res, "error",
                                item_error("idempotency_conflict",
                                           "this client_ref was used for a different drop-off",
                                           "client_ref"));
        } else {
            if (ans.moved)
                publish_answer(r, &ans);
            json_t *body = ans.body;
            ans.body = NULL;
            if (ans.status == 201) {
                json_object_set_new(res, "status", json_string(ans.replayed ? "replayed" : "created"));
                json_object_set_new(res, "dropoff", body);
            } else {
                json_t *err = json_incref(json_object_get(body, "error"));
                json_decref(body);
                json_object_set_new(res, "status", json_string("error"));
                json_object_set_new(res, "error", err);
            }
        }
        ledger_answer_release(&ans);
        json_array_append_new(results, res);
    }
    free(items);
    free(refusals);
    free(answers);
    free(prc);
    free(lrc);
    reply_json(r, 200, json_pack("{s:o}", "results", results));
}

/* Reach to a stored drop-off: its site's or its household's region must
 * be in the caller's subtree. */
static json_t *dropoff_in_reach_or_reply(struct req *r, struct db *d, long long id)
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
    if (!found || (!region_path_within(root, spath) && !region_path_within(root, hpath))) {
        json_decref(o);
        reply_error(r, 404, "not_found", NULL, "no such drop-off");
        return NULL;
    }
    return o;
}

void h_dropoffs_get(struct req *r)
{
    struct db *d = db_or_reply(r);
    json_t *o = d ? dropoff_in_reach_or_reply(r, d, r->param[0]) : NULL;
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
    if (household_only) {
        household_id = household_only;
    } else if (!(root = reach_path(r, d))) {
        reply_db_error(r, d);
        return;
    }
    reply_id_page(r, d,
                  db_query(d, SQL_LIST, "siiiissssii", root, site_id, site_id, household_id,
                           household_id, from, from, to, to, before ? before : ID_MAX,
                           (long long)limit + 1),
                  limit, load_dropoff);
}

void h_dropoffs_list(struct req *r)
{
    dropoffs_list(r, 0);
}

void h_dropoffs_reverse(struct req *r)
{
    if (!input_check_or_reply(r, reverse_fields))
        return;
    struct db *d = db_or_reply(r);
    json_t *o = d ? dropoff_in_reach_or_reply(r, d, r->param[0]) : NULL;
    if (!o)
        return;
    json_decref(o);
    char actor[32];
    snprintf(actor, sizeof actor, "s:%lld", r->who.staff_id);
    struct audit_actor who = { actor, role_name(r->who.role), r->remote, r->id };
    struct reverse_in in = { r->param[0], input_str(r->body, "reason"), actor, &who };
    struct ledger_answer ans;
    int rc = ledger_reverse(d, &in, &ans);
    reply_ledger(r, d, rc, &ans);
}
