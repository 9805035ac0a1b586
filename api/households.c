/* households.c - household accounts: POST/GET/PATCH
 * /v1/households[/{id}], the search GET /v1/households and the CSV import
 * POST /v1/households/import.  Their cards are api/cards.c's, their PINs
 * api/pins.c's. */
#include "api/handlers.h"
#include "api/household_view.h"
#include "api/input.h"
#include "api/list.h"
#include "api/reach.h"
#include "server/request.h"
#include "server/server.h"
#include "server/worker.h"
#include "db/db.h"
#include "db/audit.h"
#include "db/households.h"
#include "db/import.h"
#include "db/pin.h"
#include "db/regions.h"
#include "db/revoke.h"
#include "api/money.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct field create_fields[] = {
    { "region_id", FT_INT, F_REQUIRED, 1, ID_MAX, NULL },
    { "head_name", FT_STR, F_REQUIRED, 1, 100, NULL },
    { "address", FT_STR, F_REQUIRED, 1, 200, NULL },
    { "phone", FT_STR, F_NULLABLE, 3, 32, NULL },
    { "members", FT_INT, 0, 1, 99, NULL },
    { "pin", FT_STR, F_NULLABLE, 1, 16, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field patch_fields[] = {
    { "head_name", FT_STR, 0, 1, 100, NULL },
    { "address", FT_STR, 0, 1, 200, NULL },
    { "phone", FT_STR, F_NULLABLE, 3, 32, NULL },
    { "members", FT_INT, 0, 1, 99, NULL },
    { "status", FT_STR, 0, 1, 12, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const char SQL_SEARCH[] =
    "SELECT h.id FROM households h JOIN regions g ON g.id = h.region_id "
    "WHERE g.path LIKE CONCAT(?, '%') AND (? = '' OR h.head_name LIKE ? OR h.address LIKE ?) "
    "AND h.id > ? ORDER BY h.id LIMIT ?";

static bool valid_phone(const char *p)
{
    return strspn(p, "0123456789+- ") == strlen(p) && strpbrk(p, "0123456789");
}

static bool phone_ok_or_reply(struct req *r)
{
    const char *phone = input_str(r->body, "phone");
    if (phone && !valid_phone(phone)) {
        reply_error(r, 400, "invalid_request", "phone",
                    "phone may hold digits, '+', '-' and spaces only");
        return false;
    }
    return true;
}

struct create_hh {
    struct req *r;
    struct household h;
    const char *pin;
};

static int create_tx(struct db *d, void *arg)
{
    struct create_hh *c = arg;
    c->h.id = household_insert(d, &c->h);
    if (c->h.id < 0)
        return -1;
    if (c->pin && pin_store(d, c->h.id, c->pin, c->r->w->srv->pin_key) != 0)
        return -1;
    json_t *detail = json_pack("{s:I, s:b}", "region_id", (json_int_t)c->h.region_id,
                               "pin_set", c->pin != NULL);
    int rc = audit_req(c->r, d, "household.create", "household", c->h.id, detail);
    json_decref(detail);
    return rc;
}

void h_households_create(struct req *r)
{
    if (!input_check_or_reply(r, create_fields) || !phone_ok_or_reply(r))
        return;
    struct create_hh c = { .r = r };
    input_int(r->body, "region_id", &c.h.region_id);
    snprintf(c.h.head_name, sizeof c.h.head_name, "%s", input_str(r->body, "head_name"));
    snprintf(c.h.address, sizeof c.h.address, "%s", input_str(r->body, "address"));
    const char *phone = input_str(r->body, "phone");
    c.h.has_phone = phone != NULL;
    snprintf(c.h.phone, sizeof c.h.phone, "%s", phone ? phone : "");
    c.h.members = 1;
    input_int(r->body, "members", &c.h.members);
    c.pin = input_str(r->body, "pin");
    if (c.pin && !pin_acceptable_or_reply(r, c.pin, "pin"))
        return;
    struct db *d = db_or_reply(r);
    struct region g;
    if (!d || !reach_region_or_reply(r, d, c.h.region_id, &g))
        return;
    if (strcmp(g.level, "village") != 0 && strcmp(g.level, "community") != 0) {
        reply_error(r, 400, "invalid_request", "region_id",
                    "households belong to a village or community, not a %s", g.level);
        return;
    }
    int rc = db_tx(d, create_tx, &c);
    if (rc != 0) {
        reply_tx_error(r, d, rc);
        return;
    }
    struct household h;
    if (household_get(d, c.h.id, &h, false) != 1) {
        reply_db_error(r, d);
        return;
    }
    reply_json(r, 201, household_json(r, &h));
}

void h_households_get(struct req *r)
{
    struct db *d = db_or_reply(r);
    struct household h;
    if (!d || !household_in_reach_or_reply(r, d, r->param[0], &h))
        return;
    reply_json(r, 200, household_json(r, &h));
}

/* LIKE pattern "%q%" with the wildcards of q escaped. */
static void like_pattern(const char *q, char *out, size_t len)
{
    size_t o = 0;
    out[o++] = '%';
    for (; *q && o + 3 < len; q++) {
        if (*q == '%' || *q == '_' || *q == '\\')
            out[o++] = '\\';
        out[o++] = *q;
    }
    out[o++] = '%';
    out[o] = '\0';
}

static json_t *load_household(struct req *r, struct db *d, long long id)
{
    struct household h;
    return household_get(d, id, &h, false) == 1 ? household_json(r, &h) : NULL;
}

void h_households_search(struct req *r)
{
    int limit;
    long long after;
    if (!list_params_or_reply(r, &limit, &after))
        return;
    const char *q = req_query(r, "q");
    if (q && (strlen(q) > 400 || utf8_chars(q, strlen(q)) > 100)) {
        reply_error(r, 400, "invalid_request", "q", "q must be at most 100 characters");
        return;
    }
    struct region g;
    struct db *d;
    const char *root;
    if (!(d = db_or_reply(r)) || !(root = list_root_or_reply(r, d, "region_id", &g)))
        return;
    char pat[1024];
    like_pattern(q ? q : "", pat, sizeof pat);
    reply_id_page(r, d,
                  db_query(d, SQL_SEARCH, "ssssii", root, q ? q : "", pat, pat, after,
                           (long long)limit + 1),
                  limit, load_household);
}

struct patch_hh {
    struct req *r;
    long long id;
    const char *head_name, *address, *phone, *status;
    bool set_phone;
    long long members;
};

static int patch_tx(struct db *d, void *arg)
{
    struct patch_hh *p = arg;
    struct household h;
    int rc = household_get(d, p->id, &h, true);
    if (rc <= 0)
        return rc < 0 ? -1 : 1;
    if (household_update(d, p->id, p->head_name, p->address, p->set_phone, p->phone,
                         p->members, p->status) < 0)
        return -1;
    /* a status change ends resident sessions and moves the cached state's
     * version on (db/revoke.c) */
    if (p->status && strcmp(p->status, h.status) != 0 && household_bump_tokens(d, p->id) != 0)
        return -1;
    json_t *detail = json_object();
    if (p->head_name)
        json_object_set_new(detail, "head_name", json_string("changed"));
    if (p->address)
        json_object_set_new(detail, "address", json_string("changed"));
    if (p->set_phone)
        json_object_set_new(detail, "phone", json_string("changed"));
    if (p->members >= 0)
        json_object_set_new(detail, "members", json_integer(p->members));
    if (p->status) {
        json_object_set_new(detail, "status", json_string(p->status));
        json_object_set_new(detail, "status_was", json_string(h.status));
    }
    rc = audit_req(p->r, d, "household.update", "household", p->id, detail);
    json_decref(detail);
    return rc;
}

void h_households_patch(struct req *r)
{
    if (!input_check_or_reply(r, patch_fields) || !phone_ok_or_reply(r))
        return;
    struct patch_hh p = { .r = r, .id = r->param[0], .members = -1 };
    p.head_name = input_str(r->body, "head_name");
    p.address = input_str(r->body, "address");
    p.set_phone = json_object_get(r->body, "phone") != NULL;
    p.phone = input_str(r->body, "phone");
    p.status = input_str(r->body, "status");
    input_int(r->body, "members", &p.members);
    if (p.status && strcmp(p.status, "active") != 0 && strcmp(p.status, "suspended") != 0 &&
        strcmp(p.status, "closed") != 0) {
        reply_error(r, 400, "invalid_request", "status",
                    "status must be active, suspended or closed");
        return;
    }
    if (!p.head_name && !p.address && !p.set_phone && p.members < 0 && !p.status) {
        reply_error(r, 400, "invalid_request", "body", "nothing to change");
        return;
    }
    struct db *d = db_or_reply(r);
    struct household h;
    if (!d || !household_in_reach_or_reply(r, d, p.id, &h))
        return;
    int rc = db_tx(d, patch_tx, &p);
    if (rc != 0) {
        reply_tx_error(r, d, rc);
        return;
    }
    if (household_get(d, p.id, &h, false) != 1) {
        reply_db_error(r, d);
        return;
    }
    if (p.status)
        revoke_subject_changed(d, r->w->cache, 'h', p.id);
    reply_json(r, 200, household_json(r, &h));
}

/* charset=gb18030 in the Content-Type picks the legacy encoding. */
static bool wants_gb18030(const char *ct)
{
    const char *p = ct ? strchr(ct, ';') : NULL;
    while (p) {
        p++;
        while (*p == ' ')
            p++;
        if (strncasecmp(p, "charset=", 8) == 0) {
            p += 8;
            if (*p == '"')
                p++;
            return strncasecmp(p, "gb18030", 7) == 0;
        }
        p = strchr(p, ';');
    }
    return false;
}

void h_households_import(struct req *r)
{
    if (!r->raw || r->rawlen == 0) {
        reply_error(r, 400, "invalid_request", "body", "send the CSV file as the body");
        return;
    }
    /* the key is optional here, but checked when sent */
    const char *key = NULL;
    if (req_header(r, "Idempotency-Key") && !(key = idem_key_or_reply(r)))
        return;
    bool gb = wants_gb18030(req_header(r, "Content-Type"));
    unsigned char fp[32];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, r->w->srv->fp_key, 32);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)(gb ? "gb18030\n" : "utf-8\n"),
                                  gb ? 8 : 6);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)r->raw, r->rawlen);
    crypto_auth_hmacsha256_final(&st, fp);
    char scope[32];
    snprintf(scope, sizeof scope, "staff:%lld", r->who.staff_id);
    struct db *d = db_or_reply(r);
    const char *root = d ? reach_path(r, d) : NULL;
    if (!d)
        return;
    if (!root) {
        reply_db_error(r, d);
        return;
    }
    struct import_result *res = malloc(sizeof *res);
    if (!res) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    char actor[48];
    snprintf(actor, sizeof actor, "s:%lld", r->who.staff_id);
    struct audit_actor who = { actor, role_name(r->who.role), r->remote, r->id };
    enum import_rc rc = import_households(d, r->raw, r->rawlen, gb, root, &who, scope, key, fp,
                                          res);
    if (rc == IMPORT_DONE && res->conflict) {
        reply_error(r, 409, "idempotency_conflict", "Idempotency-Key",
                    "this Idempotency-Key was used for a different file");
    } else if (rc == IMPORT_DONE) {
        json_t *o = json_pack("{s:I}", "created", (json_int_t)res->created);
        if (res->replayed)
            json_object_set_new(o, "replayed", json_true());
        reply_json(r, 200, o);
    } else if (rc == IMPORT_REFUSED) {
        json_t *errs = json_array();
        for (int i = 0; i < res->nerrors; i++)
            json_array_append_new(errs, json_pack("{s:I, s:s, s:s}", "line",
                                                  (json_int_t)res->errors[i].line, "field",
                                                  res->errors[i].field, "message",
                                                  res->errors[i].message));
        char msg[160];
        snprintf(msg, sizeof msg, "%ld problems found; nothing was imported", res->total_errors);
        reply_error_ex(r, 400, "invalid_request", res->nerrors ? res->errors[0].field : "body",
                       json_pack("{s:I}", "error_count", (json_int_t)res->total_errors),
                       json_pack("{s:o}", "errors", errs), msg);
    } else if (rc == IMPORT_UNKNOWN) {
        reply_error(r, 503, "outcome_unknown", NULL,
                    "the store failed while committing; check before sending again");
    } else {
        reply_db_error(r, d);
    }
    free(res);
}
