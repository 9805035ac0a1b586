/* pins.c - a household's PIN: PUT /v1/households/{id}/pin, changed by
 * the resident (with the old PIN, which counts as an attempt) or reset by
 * an administrator (audited, and the resident's sessions end). */
#include "api/handlers.h"
#include "api/household_view.h"
#include "api/input.h"
#include "api/reach.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/request.h"
#include "server/server.h"
#include "server/worker.h"
#include "db/db.h"
#include "db/households.h"
#include "db/pin.h"
#include "db/revoke.h"

static const struct field pin_fields[] = {
    { "pin", FT_STR, F_REQUIRED, 1, 16, NULL },
    { "old_pin", FT_STR, 0, 1, 16, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

bool pin_acceptable_or_reply(struct req *r, const char *pin, const char *field)
{
    if (pin_acceptable(pin))
        return true;
    reply_error(r, 400, "invalid_request", field,
                "a PIN is 4 to 6 digits, not all the same and not a straight run");
    return false;
}

struct pin_change {
    struct req *r;
    long long id;
    const char *pin, *old_pin;
    bool reset;                 /* by an admin: no old PIN, audited */
    struct pin_result res;
};

/* Committed even when the old PIN was wrong: the failure must count. */
static int pin_tx(struct db *d, void *arg)
{
    struct pin_change *p = arg;
    struct household h;
    int rc = household_get(d, p->id, &h, true);
    if (rc <= 0)
        return rc < 0 ? -1 : 1;
    const unsigned char *key = p->r->w->srv->pin_key;
    if (!p->reset) {
        if (pin_attempt_locked(d, p->id, PIN_AT_SIGNIN, p->old_pin, key, (long long)clock_now(),
                               p->r->w->cfg->pin_lock_seconds, &p->res) != 0)
            return -1;
        if (p->res.outcome != PIN_OK)
            return 0;
    }
    p->res.outcome = PIN_OK;
    if (pin_store(d, p->id, p->pin, key) != 0)
        return -1;
    if (p->reset) {
        if (household_bump_tokens(d, p->id) != 0)
            return -1;
        return audit_req(p->r, d, "household.pin_reset", "household", p->id, NULL);
    }
    return 0;
}

void h_households_pin(struct req *r)
{
    if (!input_check_or_reply(r, pin_fields))
        return;
    struct pin_change p = { .r = r, .id = r->param[0] };
    p.pin = input_str(r->body, "pin");
    p.old_pin = input_str(r->body, "old_pin");
    p.reset = r->who.role != ROLE_RESIDENT;
    if (!pin_acceptable_or_reply(r, p.pin, "pin"))
        return;
    if (p.reset && p.old_pin) {
        reply_error(r, 400, "invalid_request", "old_pin",
                    "an administrator resets a PIN without the old one");
        return;
    }
    struct db *d = db_or_reply(r);
    struct household h;
    if (!d || !household_in_reach_or_reply(r, d, p.id, &h))
        return;
    if (!p.reset && !p.old_pin) {
        reply_error(r, 400, "invalid_request", "old_pin", "old_pin is required");
        return;
    }
    int rc = db_tx(d, pin_tx, &p);
    if (rc != 0) {
        reply_tx_error(r, d, rc);
        return;
    }
    if (!reply_pin_refusal(r, &p.res, "old_pin")) {
        if (p.reset)
            revoke_subject_changed(d, r->w->cache, 'h', p.id);
        if (household_get(d, p.id, &h, false) != 1) {
            reply_db_error(r, d);
            return;
        }
        reply_json(r, 200, household_json(r, &h));
    }
}
