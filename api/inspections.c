/* inspections.c - household sorting inspections:
 * POST /v1/inspections (inspector), GET /v1/inspections,
 * GET /v1/inspections/{id}, GET /v1/inspections/{id}/photo.jpg,
 * POST /v1/inspections/{id}/void (admins), and the resident's own,
 * GET /v1/residents/me/inspections.
 *
 * Reach: an inspector reaches its region's subtree, an admin or region
 * admin its own, a resident its own household; anything else is 404.
 * The points an inspection pays come from the household's scoring rule
 * for the inspection's month (db/scoring.h), read before the ledger
 * engine records it (db/inspections.h). */
#include "api/handlers.h"
#include "api/household_view.h"
#include "api/input.h"
#include "api/list.h"
#include "api/money.h"
#include "api/reach.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/ledger_pool.h"
#include "server/request.h"
#include "server/worker.h"
#include "db/audit.h"
#include "db/db.h"
#include "db/engine.h"
#include "db/households.h"
#include "db/inspections.h"
#include "db/regions.h"
#include "db/scoring.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUTURE_SLACK_S (5 * 60)
#define BACKDATE_MAX_S (30LL * 24 * 3600)   /* an inspector's phone offline for a while */
/* The photo's text is bounded by the route's 1 MiB body alone: whatever
 * fits is decoded, and a photo over INSPECTION_PHOTO_MAX is 413 by its
 * decoded size, however its base64 was written. */
#define PHOTO_B64_MAX (1024 * 1024)

static const struct field stream_fields[] = {
    { "stream", FT_STR, F_REQUIRED, 1, 16, NULL },
    { "correct", FT_BOOL, F_REQUIRED, 0, 0, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field create_fields[] = {
    { "code", FT_STR, F_NULLABLE, 1, 128, NULL },
    { "household_id", FT_INT, F_NULLABLE, 1, ID_MAX, NULL },
    { "inspected_at", FT_STR, F_NULLABLE, 20, 40, NULL },
    { "result", FT_STR, F_REQUIRED, 1, 8, NULL },
    { "streams", FT_ARR, F_NULLABLE, 0, 4, stream_fields },
    { "note", FT_STR, F_NULLABLE, 1, 200, NULL },
    { "photo", FT_STR, F_NULLABLE, 1, PHOTO_B64_MAX, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field void_fields[] = {
    { "reason", FT_STR, F_REQUIRED, 1, 200, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const char *const RESULTS[] = { "pass", "partial", "fail", NULL };
static const char *const STREAMS[] = { "recyclable", "kitchen", "hazardous", "other", NULL };

static bool one_of(const char *s, const char *const *set)
{
    for (int i = 0; s && set[i]; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

/* An inspection on its way through the ledger pool; the photo's bytes
 * follow the struct. */
struct inspecting {
    char scope[40], actor[32], streams[400];
    struct audit_actor who;
    struct inspect_in in;
    struct ledger_op op;
    struct movement mv;
    struct ledger_job job;
    unsigned char photo[];
};

/* The streams as canonical JSON text into out; false after replying 400. */
static bool streams_or_reply(struct req *r, char *out, size_t len)
{
    json_t *a = json_object_get(r->body, "streams");
    out[0] = 0;
    if (!a || json_is_null(a))
        return true;
    size_t i;
    json_t *s;
    json_t *canon = json_array();
    json_array_foreach(a, i, s) {
        const char *name = input_str(s, "stream");
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= strcmp(name, input_str(json_array_get(a, j), "stream")) == 0;
        if (!one_of(name, STREAMS) || dup) {
            char field[48];
            snprintf(field, sizeof field, "streams[%zu].stream", i);
            json_decref(canon);
            reply_error(r, 400, "invalid_request", field,
                        dup ? "each stream is checked once"
                            : "stream must be recyclable, kitchen, hazardous or other");
            return false;
        }
        json_array_append_new(canon, json_pack("{s:s, s:b}", "stream", name, "correct",
                                               json_is_true(json_object_get(s, "correct"))));
    }
    char *text = json_dumps(canon, JSON_COMPACT);
    json_decref(canon);
    if (!text || strlen(text) >= len) {
        free(text);
        reply_error(r, 500, "internal", NULL, "out of memory");
        return false;
    }
    snprintf(out, len, "%s", text);
    free(text);
    return true;
}

/* The photo decoded into a new buffer: true with *jpeg NULL when none;
 * false after replying 400 (not a JPEG) or 413 (too large). */
static bool photo_or_reply(struct req *r, unsigned char **jpeg, size_t *len)
{
    const char *b64 = input_str(r->body, "photo");
    *jpeg = NULL;
    *len = 0;
    if (!b64)
        return true;
    static const char data_url[] = "data:image/jpeg;base64,";
    if (strncmp(b64, data_url, sizeof data_url - 1) == 0)
        b64 += sizeof data_url - 1;
    size_t n = strlen(b64);
    size_t cap = n / 4 * 3 + 3;
    unsigned char *buf = malloc(cap);
    size_t got = 0;
    if (!buf) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return false;
    }
    if (sodium_base642bin(buf, cap, b64, n, "\r\n", &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(buf);
        reply_error(r, 400, "invalid_request", "photo", "photo must be a base64 JPEG");
        return false;
    }
    if (got > INSPECTION_PHOTO_MAX) {
        free(buf);
        reply_error(r, 413, "payload_too_large", "photo", "a photo is at most 512 KiB");
        return false;
    }
    /* a JPEG starts with SOI and a marker and ends with EOI */
    if (got < 4 || buf[0] != 0xFF || buf[1] != 0xD8 || buf[2] != 0xFF ||
        buf[got - 2] != 0xFF || buf[got - 1] != 0xD9) {
        free(buf);
        reply_error(r, 400, "invalid_request", "photo", "photo is not a JPEG image");
        return false;
    }
    *jpeg = buf;
    *len = got;
    return true;
}

/* The household the body names (code or household_id) inside the
 * caller's reach; false after replying. */
static bool target_or_reply(struct req *r, struct db *d, struct household *h)
{
    const char *code = input_str(r->body, "code");
    long long id = 0;
    bool has_id = input_int(r->body, "household_id", &id);
    if ((code != NULL) == has_id) {
        reply_error(r, 400, "invalid_request", "household_id",
                    "send the household's card code or its household_id, one of them");
        return false;
    }
    if (has_id)
        return household_in_reach_or_reply(r, d, id, h);
    return household_by_code_or_reply(r, d, code, h);
}

void h_inspections_create(struct req *r)
{
    const char *key = idem_key_or_reply(r);
    if (!key || !input_check_or_reply(r, create_fields))
        return;
    const char *result = input_str(r->body, "result");
    if (!one_of(result, RESULTS)) {
        reply_error(r, 400, "invalid_request", "result", "result must be pass, partial or fail");
        return;
    }
    time_t now = clock_now(), at = now;
    const char *when = input_str(r->body, "inspected_at");
    if (when && !clock_parse_rfc3339(when, &at)) {
        reply_error(r, 400, "invalid_request", "inspected_at",
                    "inspected_at must be an RFC 3339 time with an offset");
        return;
    }
    if (at > now + FUTURE_SLACK_S || at < now - BACKDATE_MAX_S) {
        reply_error(r, 400, "invalid_request", "inspected_at",
                    "inspected_at may be at most 5 minutes ahead and 30 days back");
        return;
    }
    char streams[400];
    unsigned char *jpeg = NULL;
    size_t jpeg_len = 0;
    if (!streams_or_reply(r, streams, sizeof streams) || !photo_or_reply(r, &jpeg, &jpeg_len))
        return;
    struct db *d = db_or_reply(r);
    struct household h;
    struct inspecting *x = NULL;
    struct scoring_rule rule;
    int found = 0;
    char day[11], month[8];
    clock_local_day(at, day, sizeof day);
    snprintf(month, sizeof month, "%.7s", day);
    if (!d || !target_or_reply(r, d, &h))
        goto out;
    if ((found = scoring_in_force(d, h.region_path, month, &rule)) < 0) {
        reply_db_error(r, d);
        goto out;
    }
    if (!(x = calloc(1, sizeof *x + jpeg_len))) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        goto out;
    }
    snprintf(x->scope, sizeof x->scope, "inspector:%lld", r->who.staff_id);
    snprintf(x->actor, sizeof x->actor, "s:%lld", r->who.staff_id);
    snprintf(x->streams, sizeof x->streams, "%s", streams);
    if (jpeg_len)
        memcpy(x->photo, jpeg, jpeg_len);
    x->who = (struct audit_actor){ x->actor, role_name(r->who.role), r->remote, r->id };
    x->in = (struct inspect_in){
        .scope = x->scope, .key = key, .household_id = h.id, .inspector_id = r->who.staff_id,
        .streams = x->streams[0] ? x->streams : NULL, .note = input_str(r->body, "note"),
        .inspected_at = (long long)at, .backdated = at < now - 10 * 60,
        .points = found ? scoring_per_inspection(&rule, result) : 0,
        .photo = jpeg_len ? x->photo : NULL, .photo_len = jpeg_len, .actor = x->actor,
        .who = &x->who,
    };
    snprintf(x->in.result, sizeof x->in.result, "%s", result);
    snprintf(x->in.local_day, sizeof x->in.local_day, "%s", day);
    snprintf(x->in.month, sizeof x->in.month, "%s", month);
    /* the household is part of the request: a card and its id are one */
    json_t *fpbody = json_deep_copy(r->body);
    json_object_del(fpbody, "code");
    json_object_set_new(fpbody, "household_id", json_integer(h.id));
    int frc = request_fingerprint(r, fpbody, x->in.fp);
    json_decref(fpbody);
    if (frc != 0) {
        free(x);
        reply_error(r, 500, "internal", NULL, "out of memory");
        goto out;
    }
    inspection_op(&x->op, &x->in);
    movement_submit(r, &x->mv, &x->op, &x->job, NULL, x);
out:
    free(jpeg);
}

/* The inspection id when the caller reaches it (loaded into *out when
 * out is not NULL); else reply 404 (or the store error) and return false. */
static bool inspection_in_reach_or_reply(struct req *r, struct db *d, long long id, json_t **out)
{
    char path[256];
    int found;
    json_t *o = inspection_load(d, id, &found, path);
    if (found < 0) {
        reply_db_error(r, d);
        return false;
    }
    bool ok = found == 1;
    if (ok && r->who.role == ROLE_RESIDENT) {
        ok = json_integer_value(json_object_get(o, "household_id")) == r->who.household_id;
    } else if (ok) {
        const char *root = reach_path(r, d);
        if (!root) {
            json_decref(o);
            reply_db_error(r, d);
            return false;
        }
        ok = region_path_within(root, path);
    }
    if (!ok) {
        json_decref(o);
        reply_error(r, 404, "not_found", NULL, "no such inspection");
        return false;
    }
    if (out)
        *out = o;
    else
        json_decref(o);
    return true;
}

void h_inspections_get(struct req *r)
{
    struct db *d = db_or_reply(r);
    json_t *o = NULL;
    if (d && inspection_in_reach_or_reply(r, d, r->param[0], &o))
        reply_json(r, 200, o);
}

void h_inspections_photo(struct req *r)
{
    struct db *d = db_or_reply(r);
    if (!d || !inspection_in_reach_or_reply(r, d, r->param[0], NULL))
        return;
    unsigned char *jpeg = NULL;
    size_t len = 0;
    int rc = inspection_photo(d, r->param[0], &jpeg, &len);
    if (rc < 0) {
        reply_db_error(r, d);
    } else if (rc == 0) {
        reply_error(r, 404, "not_found", NULL, "this inspection has no photo");
    } else {
        reply_header(r, "Cache-Control", "private, max-age=3600");
        reply_raw(r, 200, "image/jpeg", jpeg, len);
    }
    free(jpeg);
}

static json_t *load_inspection(struct req *r, struct db *d, long long id)
{
    (void)r;
    int found;
    return inspection_load(d, id, &found, NULL);
}

/* The list, newest first; household_only: a resident's own; month
 * (may be NULL) bounds the days unless from or to is given; extra
 * (stolen, may be NULL) goes beside the page. */
static void list_inspections(struct req *r, struct db *d, long long household_only,
                             const char *month, json_t *extra)
{
    int limit;
    long long before, household_id, inspector_id;
    char from[11], to[11];
    const char *result = req_query(r, "result");
    if (!list_params_or_reply(r, &limit, &before) ||
        !query_id_or_reply(r, "household_id", &household_id) ||
        !query_id_or_reply(r, "inspector_id", &inspector_id) ||
        !query_day_or_reply(r, "from", from) || !query_day_or_reply(r, "to", to)) {
        json_decref(extra);
        return;
    }
    if (result && !one_of(result, RESULTS)) {
        json_decref(extra);
        reply_error(r, 400, "invalid_request", "result", "result must be pass, partial or fail");
        return;
    }
    if (month && !from[0] && !to[0])
        inspection_month_days(month, from, to);
    const char *root = "/";
    struct region g;
    struct household h;
    if (household_only && household_id && household_id != household_only) {
        json_decref(extra);
        reply_error(r, 404, "not_found", "household_id", "no such household");
        return;
    }
    if (household_only) {
        household_id = household_only;
    } else if (!(root = list_root_or_reply(r, d, "region_id", &g)) ||
               (household_id && !household_in_reach_or_reply(r, d, household_id, &h))) {
        json_decref(extra);
        return;
    }
    reply_id_page_with(r, d,
                       inspection_list(d, root, household_id, inspector_id,
                                       result ? result : "", from, to,
                                       before ? before : ID_MAX, limit + 1),
                       limit, load_inspection, extra);
}

void h_inspections_list(struct req *r)
{
    struct db *d = db_or_reply(r);
    if (d)
        list_inspections(r, d, r->who.role == ROLE_RESIDENT ? r->who.household_id : 0, NULL,
                         NULL);
}

/* The resident's own, with the month's accuracy beside the page
 * (?month=, this month by default; given, it bounds the list too). */
void h_residents_inspections(struct req *r)
{
    char month[8], day[11];
    const char *m = req_query(r, "month");
    char first[11], last[11];
    clock_local_day(clock_now(), day, sizeof day);
    snprintf(month, sizeof month, "%.7s", m ? m : day);
    if (m && !inspection_month_days(m, first, last)) {
        reply_error(r, 400, "invalid_request", "month", "month is YYYY-MM");
        return;
    }
    struct db *d = db_or_reply(r);
    struct inspection_counts c;
    if (!d)
        return;
    if (inspection_month_counts(d, r->who.household_id, month, &c) != 0) {
        reply_db_error(r, d);
        return;
    }
    json_t *summary = json_pack("{s:s, s:I, s:I, s:I, s:I}", "month", month, "inspections",
                                (json_int_t)c.inspections, "pass", (json_int_t)c.pass,
                                "partial", (json_int_t)c.partial, "fail", (json_int_t)c.fail);
    json_object_set_new(summary, "accuracy",
                        c.inspections ? json_real(scoring_accuracy(c.pass, c.partial,
                                                                   c.inspections))
                                      : json_null());
    list_inspections(r, d, r->who.household_id, m ? month : NULL,
                     json_pack("{s:o}", "month", summary));
}

/* A void, run by the ledger pool. */
struct voiding {
    char actor[32];
    struct audit_actor who;
    struct inspection_void_in in;
    struct ledger_op op;
    struct movement mv;
    struct ledger_job job;
};

void h_inspections_void(struct req *r)
{
    if (!input_check_or_reply(r, void_fields))
        return;
    struct db *d = db_or_reply(r);
    if (!d || !inspection_in_reach_or_reply(r, d, r->param[0], NULL))
        return;
    struct voiding *x = calloc(1, sizeof *x);
    if (!x) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    snprintf(x->actor, sizeof x->actor, "s:%lld", r->who.staff_id);
    x->who = (struct audit_actor){ x->actor, role_name(r->who.role), r->remote, r->id };
    x->in = (struct inspection_void_in){ r->param[0], input_str(r->body, "reason"), x->actor,
                                         &x->who };
    inspection_void_op(&x->op, &x->in);
    movement_submit(r, &x->mv, &x->op, &x->job, NULL, x);
}
