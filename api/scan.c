/* scan.c - a card in the hand: POST /v1/scan (attendant, clerk),
 * POST /v1/auth/resident (card + PIN -> resident token) and
 * GET /v1/residents/me. */
#include "api/handlers.h"
#include "api/household_view.h"
#include "api/input.h"
#include "api/reach.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/ratelimit.h"
#include "server/request.h"
#include "server/server.h"
#include "server/token.h"
#include "server/worker.h"
#include "db/db.h"
#include "db/households.h"
#include "db/pin.h"
#include "db/regions.h"
#include "qr/card.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct field scan_fields[] = {
    { "code", FT_STR, F_REQUIRED, 1, 128, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field resident_fields[] = {
    { "code", FT_STR, F_REQUIRED, 1, 128, NULL },
    { "pin", FT_STR, F_REQUIRED, 1, 16, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

int household_by_code(struct db *d, const char *secret, const char *code,
                      struct household *out, bool for_update)
{
    long long id, gen;
    if (!card_decode(secret, code, &id, &gen))
        return 0;
    int rc = household_get(d, id, out, for_update);
    if (rc <= 0)
        return rc;
    /* a reissued card names a generation the household no longer has */
    return out->card_gen == gen ? 1 : 0;
}

bool household_by_code_or_reply(struct req *r, struct db *d, const char *code,
                                struct household *out)
{
    int rc = household_by_code(d, r->w->cfg->qr_secret, code, out, false);
    const char *root = rc == 1 ? reach_path(r, d) : NULL;
    if (rc < 0 || (rc == 1 && !root)) {
        reply_db_error(r, d);
        return false;
    }
    if (rc == 0) {
        reply_error(r, 404, "unknown_code", "code", "this card is not valid");
        return false;
    }
    if (!region_path_within(root, out->region_path)) {
        reply_error(r, 404, "not_found", NULL, "this household is not served here");
        return false;
    }
    return true;
}

void h_scan(struct req *r)
{
    if (!input_check_or_reply(r, scan_fields))
        return;
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    struct household h;
    if (!household_by_code_or_reply(r, d, input_str(r->body, "code"), &h))
        return;
    char masked[401];
    mask_name(h.head_name, masked, sizeof masked);
    reply_json(r, 200,
               json_pack("{s:I, s:{s:I, s:s}, s:s, s:s, s:I, s:I}", "household_id",
                         (json_int_t)h.id, "region", "id", (json_int_t)h.region_id, "name",
                         h.region_name, "head_name_masked", masked, "status", h.status,
                         "balance", (json_int_t)h.balance, "members", (json_int_t)h.members));
}

struct resident_signin {
    struct req *r;
    const char *code, *pin;
    struct household h;
    int found;
    struct pin_result res;
};

/* Committed whatever the PIN: a wrong one must count. */
static int signin_tx(struct db *d, void *arg)
{
    struct resident_signin *s = arg;
    s->found = household_by_code(d, s->r->w->cfg->qr_secret, s->code, &s->h, true);
    if (s->found <= 0)
        return s->found < 0 ? -1 : 0;
    if (strcmp(s->h.status, "closed") == 0) {
        s->found = 0;
        return 0;
    }
    return pin_attempt_locked(d, s->h.id, PIN_AT_SIGNIN, s->pin, s->r->w->srv->pin_key,
                              (long long)clock_now(), s->r->w->cfg->pin_lock_seconds, &s->res);
}

void h_auth_resident(struct req *r)
{
    if (!input_check_or_reply(r, resident_fields))
        return;
    char key[160];
    snprintf(key, sizeof key, "login:a:%s", r->remote);
    int wait = ratelimit_hit(r->w->srv->rl, r->w->cache, key, r->w->cfg->login_limit_per_min, 60);
    if (wait) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", wait);
        reply_header(r, "Retry-After", ra);
        metrics_event(MET_LOGIN_RATE_LIMITED);
        reply_error(r, 429, "rate_limited", NULL, "too many sign-in attempts; retry in %d s",
                    wait);
        return;
    }
    struct db *d = db_or_reply(r);
    if (!d)
        return;
    struct resident_signin s = { .r = r };
    s.code = input_str(r->body, "code");
    s.pin = input_str(r->body, "pin");
    int rc = db_tx(d, signin_tx, &s);
    if (rc != 0) {
        reply_tx_error(r, d, rc);
        return;
    }
    if (!s.found || s.res.outcome == PIN_WRONG) {
        json_t *extra = s.found ? json_pack("{s:i}", "attempts_left", s.res.attempts_left) : NULL;
        reply_error_ex(r, 401, "bad_credentials", NULL, extra, NULL, "wrong card or PIN");
        return;
    }
    if (reply_pin_refusal(r, &s.res, "pin"))
        return;
    struct principal p = {
        .role = ROLE_RESIDENT,
        .household_id = s.h.id,
        .region_id = s.h.region_id,
        .ver = s.h.token_version,
    };
    char *tok = NULL;
    if (token_issue(r->w->cfg->jwt_secret, &p, r->w->cfg->token_ttl, clock_now(), &tok) != 0) {
        reply_error(r, 500, "internal", NULL, "could not sign a token");
        return;
    }
    char exp[40];
    clock_format((time_t)p.exp, exp, sizeof exp);
    reply_json(r, 200, json_pack("{s:s, s:s, s:I, s:s}", "token", tok, "expires_at", exp,
                                 "household_id", (json_int_t)s.h.id, "role", "resident"));
    free(tok);
}

void h_residents_me(struct req *r)
{
    struct db *d = db_or_reply(r);
    struct household h;
    if (!d || !household_in_reach_or_reply(r, d, r->who.household_id, &h))
        return;
    reply_json(r, 200, household_json(r, &h));
}
