/* auth.c - staff sign-in, sign-out and "who am I".
 *
 * Login: rate limit per client address -> the canonical username (ASCII
 * letters lowered, db/staff.h) -> look the member up -> rate limit per
 * member (its staff id; an unknown name on the name) -> argon2id verify in
 * the password pool, against a dummy hash when no member can match (an
 * unknown or non-canonical name, a password longer than any that can be
 * set) so timing tells nothing -> token.  Keying the per-member limit on
 * the id, not the spelling, is what stops each of the collation's equal
 * spellings from getting its own tries.  The verify runs off the worker
 * thread; the reply is sent when it returns.
 *
 * The token's region claim is the member's recorded reach
 * (staff.reach_region_id, api/staff.c): every reach check reads it. */
#include "api/handlers.h"
#include "api/input.h"
#include "server/config.h"
#include "server/clock.h"
#include "server/metrics.h"
#include "server/pwpool.h"
#include "server/ratelimit.h"
#include "server/request.h"
#include "server/server.h"
#include "server/token.h"
#include "server/worker.h"
#include "db/db.h"
#include "db/revoke.h"
#include "db/staff.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGIN_USER_LIMIT 20      /* attempts per member (or unknown name) per minute */

/* The password's own limit is in bytes (STAFF_PASSWORD_MAX_BYTES, checked
 * below): the character count here only has to let every such password
 * through; the route's 4 KiB body limit bounds the rest. */
static const struct field login_fields[] = {
    { "username", FT_STR, F_REQUIRED, 1, STAFF_USERNAME_MAX, NULL },
    { "password", FT_STR, F_REQUIRED, 1, 4096, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

struct login {
    struct req *r;
    struct staff s;
    bool found;
};

/* Count one attempt for key; false after answering 429. */
static bool rate_ok_or_reply(struct req *r, const char *key, int limit)
{
    int wait = ratelimit_hit(r->w->srv->rl, r->w->cache, key, limit, 60);
    if (!wait)
        return true;
    char ra[16];
    snprintf(ra, sizeof ra, "%d", wait);
    reply_header(r, "Retry-After", ra);
    metrics_event(MET_LOGIN_RATE_LIMITED);
    reply_error(r, 429, "rate_limited", NULL, "too many sign-in attempts; retry in %d s", wait);
    return false;
}

static void bad_credentials(struct req *r)
{
    reply_error(r, 401, "bad_credentials", NULL, "wrong username or password");
}

/* Sign a token for the principal and answer 200. */
static void reply_token(struct req *r, struct principal *p)
{
    char *tok = NULL;
    if (token_issue(r->w->cfg->jwt_secret, p, r->w->cfg->token_ttl, clock_now(), &tok) != 0) {
        reply_error(r, 500, "internal", NULL, "could not sign a token");
        return;
    }
    char exp[40];
    clock_format((time_t)p->exp, exp, sizeof exp);
    json_t *body = json_pack("{s:s, s:s, s:s}", "token", tok, "expires_at", exp, "role",
                             role_name(p->role));
    free(tok);
    if (body && p->staff_id)
        json_object_set_new(body, "staff_id", json_integer(p->staff_id));
    if (body && p->household_id)
        json_object_set_new(body, "household_id", json_integer(p->household_id));
    reply_json(r, 200, body);
}

static void on_verified(bool ok, const char *hash, void *arg)
{
    (void)hash;
    struct login *l = arg;
    struct req *r = l->r;
    if (!ok || !l->found || strcmp(l->s.status, "active") != 0) {
        bad_credentials(r);
    } else {
        struct principal p = {
            .role = role_bit(l->s.role),
            .staff_id = l->s.id,
            /* the recorded reach; none for an admin (everything) and, for
             * anyone else, reaching nothing (api/reach.c) */
            .region_id = l->s.reach_region_id,
            .site_id = l->s.site_id,
            .shop_id = l->s.shop_id,
            .ver = l->s.token_version,
        };
        reply_token(r, &p);
    }
    sodium_memzero(l->s.password_hash, sizeof l->s.password_hash);
    free(l);
    req_finish_async(r);
}

void h_auth_login(struct req *r)
{
    if (!input_check_or_reply(r, login_fields))
        return;
    const char *password = input_str(r->body, "password");
    char name[STAFF_USERNAME_MAX + 1], key[160];
    snprintf(key, sizeof key, "login:a:%s", r->remote);
    if (!rate_ok_or_reply(r, key, r->w->cfg->login_limit_per_min))
        return;
    /* No member has a non-canonical name, nor a password over the limit
     * (both are refused at creation): such an attempt can never match. */
    bool can_match = staff_username_canon(input_str(r->body, "username"), name, sizeof name) &&
                     strlen(password) <= STAFF_PASSWORD_MAX_BYTES;
    struct db *d = worker_db(r->w);
    if (!d) {
        reply_db_error(r, NULL);
        return;
    }
    struct login *l = calloc(1, sizeof *l);
    if (!l) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    int found = name[0] ? staff_by_username(d, name, &l->s) : 0;
    if (found < 0) {
        free(l);
        reply_db_error(r, d);
        return;
    }
    l->r = r;
    l->found = found == 1 && can_match;
    /* one budget per member however it is spelled; an unknown canonical
     * name has its own, so probing one looks like probing a member.  A
     * non-canonical name names no one: only the address limit holds it. */
    if (found == 1)
        snprintf(key, sizeof key, "login:s:%lld", l->s.id);
    else
        snprintf(key, sizeof key, "login:u:%s", name);
    if (name[0] && !rate_ok_or_reply(r, key, LOGIN_USER_LIMIT)) {
        sodium_memzero(l->s.password_hash, sizeof l->s.password_hash);
        free(l);
        return;
    }
    const char *hash = l->found ? l->s.password_hash : r->w->srv->dummy_hash;
    r->async = true;
    if (pwpool_verify(r->w->srv->pw, r->w->base, hash, password, on_verified, l) != 0) {
        r->async = false;
        sodium_memzero(l->s.password_hash, sizeof l->s.password_hash);
        free(l);
        metrics_event(MET_PWHASH_REJECTED);
        reply_header(r, "Retry-After", "1");
        reply_error(r, 503, "unavailable", NULL, "sign-in is busy; retry in a second");
    }
}

void h_auth_logout(struct req *r)
{
    struct db *d = worker_db(r->w);
    if (!d) {
        reply_db_error(r, NULL);
        return;
    }
    char kind = r->who.role == ROLE_RESIDENT ? 'h' : 's';
    long long id = kind == 'h' ? r->who.household_id : r->who.staff_id;
    if (revoke_jti(d, r->w->cache, r->who.jti, kind, id, r->who.exp) != 0) {
        reply_db_error(r, d);
        return;
    }
    reply_empty(r);
}

static void set_id_or_null(json_t *o, const char *name, long long v)
{
    json_object_set_new(o, name, v ? json_integer(v) : json_null());
}

void h_auth_me(struct req *r)
{
    const struct principal *p = &r->who;
    char exp[40];
    clock_format((time_t)p->exp, exp, sizeof exp);
    json_t *o = json_pack("{s:s, s:s}", "role", role_name(p->role), "expires_at", exp);
    if (!o) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    if (p->role == ROLE_RESIDENT) {
        json_object_set_new(o, "household_id", json_integer(p->household_id));
    } else {
        json_object_set_new(o, "staff_id", json_integer(p->staff_id));
        set_id_or_null(o, "region_id", p->region_id);
        set_id_or_null(o, "site_id", p->site_id);
        set_id_or_null(o, "shop_id", p->shop_id);
    }
    reply_json(r, 200, o);
}
