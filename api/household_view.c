/* household_view.c - see household_view.h. */
#include "api/household_view.h"
#include "api/reach.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/request.h"
#include "server/worker.h"
#include "db/db.h"
#include "db/households.h"
#include "db/pin.h"
#include "db/regions.h"
#include "qr/card.h"

#include <stdio.h>
#include <string.h>

bool household_in_reach_or_reply(struct req *r, struct db *d, long long id,
                                 struct household *out)
{
    int rc;
    if (r->who.role == ROLE_RESIDENT && r->who.household_id != id) {
        rc = 0;
    } else {
        rc = household_get(d, id, out, false);
        if (rc == 1 && r->who.role != ROLE_RESIDENT) {
            const char *root = reach_path(r, d);
            if (!root)
                rc = -1;
            else if (!region_path_within(root, out->region_path))
                rc = 0;
        }
    }
    if (rc < 0) {
        reply_db_error(r, d);
        return false;
    }
    if (rc == 0) {
        reply_error(r, 404, "not_found", NULL, "no such household");
        return false;
    }
    return true;
}

json_t *household_json(struct req *r, const struct household *h)
{
    char code[CARD_MAX], created[40];
    card_encode(r->w->cfg->qr_secret, h->id, h->card_gen, code);
    clock_format((time_t)h->created_at, created, sizeof created);
    json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:I, s:s, s:I, s:s, s:b, s:s, s:s}",
                          "id", (json_int_t)h->id, "region_id", (json_int_t)h->region_id,
                          "head_name", h->head_name, "address", h->address, "members",
                          (json_int_t)h->members, "status", h->status, "balance",
                          (json_int_t)h->balance, "code", code, "pin_set", h->pin_set,
                          "created_at", created, "region_name", h->region_name);
    if (o) {
        json_object_set_new(o, "phone", h->has_phone ? json_string(h->phone) : json_null());
        json_object_set_new(o, "debt", json_integer(h->debt));
    }
    return o;
}

bool reply_pin_refusal(struct req *r, const struct pin_result *res, const char *field)
{
    char ra[24];
    switch (res->outcome) {
    case PIN_OK:
        return false;
    case PIN_WRONG:
        reply_error_ex(r, 403, "bad_pin", field,
                       json_pack("{s:i}", "attempts_left", res->attempts_left), NULL,
                       "wrong PIN");
        return true;
    case PIN_LOCKED:
        snprintf(ra, sizeof ra, "%lld", res->retry_after);
        reply_header(r, "Retry-After", ra);
        reply_error_ex(r, 423, "pin_locked", NULL,
                       json_pack("{s:I}", "retry_after", (json_int_t)res->retry_after), NULL,
                       "too many wrong PINs; the household's PIN is locked");
        return true;
    case PIN_NOT_SET:
        reply_error(r, 403, "pin_not_set", NULL, "this household has no PIN yet");
        return true;
    }
    return false;
}
