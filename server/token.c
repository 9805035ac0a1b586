/* token.c - see token.h. */
#include "server/token.h"
#include "server/request.h"

#include <jansson.h>
#include <jwt.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKEN_LEN 4096
#define CLOCK_SKEW 60          /* seconds an iat may lie in the future */

static void set_id(jwt_t *jwt, const char *name, long long v)
{
    if (v)
        jwt_add_grant_int(jwt, name, (long)v);
}

int token_issue(const char *secret, struct principal *p, long long ttl, time_t now,
                char **out)
{
    unsigned char raw[16];
    char sub[40];
    jwt_t *jwt = NULL;
    int rc = -1;

    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(p->jti, sizeof p->jti, raw, sizeof raw);
    p->iat = (long long)now;
    p->exp = (long long)now + ttl;
    if (p->role == ROLE_RESIDENT)
        snprintf(sub, sizeof sub, "h:%lld", p->household_id);
    else
        snprintf(sub, sizeof sub, "s:%lld", p->staff_id);

    if (jwt_new(&jwt) != 0)
        return -1;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret,
                    (int)strlen(secret)) != 0)
        goto out;
    if (jwt_add_grant(jwt, "iss", "wastebank") || jwt_add_grant(jwt, "sub", sub) ||
        jwt_add_grant(jwt, "role", role_name(p->role)) ||
        jwt_add_grant(jwt, "jti", p->jti) ||
        jwt_add_grant_int(jwt, "iat", (long)p->iat) ||
        jwt_add_grant_int(jwt, "exp", (long)p->exp) ||
        jwt_add_grant_int(jwt, "ver", (long)p->ver))
        goto out;
    set_id(jwt, "region", p->region_id);
    set_id(jwt, "site", p->site_id);
    set_id(jwt, "shop", p->shop_id);
    *out = jwt_encode_str(jwt);     /* malloc'd: the caller free()s it */
    rc = *out ? 0 : -1;
out:
    jwt_free(jwt);
    return rc;
}

/* An integer claim; absent is allowed only when optional. */
static int get_int(json_t *claims, const char *name, int optional, long long *out)
{
    json_t *v = json_object_get(claims, name);
    if (!v) {
        *out = 0;
        return optional ? 0 : -1;
    }
    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static int parse_sub(const char *sub, char kind, long long *id)
{
    if (!sub || sub[0] != kind || sub[1] != ':' || !sub[2])
        return -1;
    char *end;
    long long v = strtoll(sub + 2, &end, 10);
    if (*end || v <= 0)
        return -1;
    *id = v;
    return 0;
}

int token_verify(const char *secret, const char *token, time_t now,
                 struct principal *out)
{
    jwt_t *jwt = NULL;
    json_t *claims = NULL;
    char *text = NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!secret || strlen(secret) < 32 || !token || strlen(token) > MAX_TOKEN_LEN)
        return -1;
    if (jwt_decode(&jwt, token, (const unsigned char *)secret, (int)strlen(secret)) != 0)
        return -1;
    /* The header picks the algorithm in libjwt: pin it. */
    if (jwt_get_alg(jwt) != JWT_ALG_HS256)
        goto out;
    text = jwt_get_grants_json(jwt, NULL);
    if (!text)
        goto out;
    claims = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(claims))
        goto out;

    long long site, shop, region;
    if (get_int(claims, "exp", 0, &out->exp) || get_int(claims, "iat", 0, &out->iat) ||
        get_int(claims, "ver", 0, &out->ver) || get_int(claims, "region", 1, &region) ||
        get_int(claims, "site", 1, &site) || get_int(claims, "shop", 1, &shop))
        goto out;
    if (out->exp <= (long long)now || out->iat > (long long)now + CLOCK_SKEW ||
        out->iat > out->exp)
        goto out;
    const char *jti = json_string_value(json_object_get(claims, "jti"));
    const char *role = json_string_value(json_object_get(claims, "role"));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (!jti || strlen(jti) != 32 || strspn(jti, "0123456789abcdef") != 32 || !role)
        goto out;
    out->role = role_bit(role);
    if (!out->role)
        goto out;
    if (out->role == ROLE_RESIDENT ? parse_sub(sub, 'h', &out->household_id)
                                   : parse_sub(sub, 's', &out->staff_id))
        goto out;
    memcpy(out->jti, jti, 33);
    out->region_id = region;
    out->site_id = site;
    out->shop_id = shop;
    rc = 0;
out:
    if (rc != 0)
        memset(out, 0, sizeof *out);
    json_decref(claims);
    free(text);
    jwt_free(jwt);
    return rc;
}

/* ---- verified tokens, remembered ----
 *
 * Why: verifying a token (libjwt's decode: base64, two JSON parses, an
 * HMAC through OpenSSL's EVP) costs about 16 us here, as much as the
 * rest of an auth/me, and a client sends the same token on every
 * request.
 *
 * Why it is sound: token_verify's answer depends on (secret, token, now)
 * alone.  The principal it fills is a function of (secret, token), and
 * now enters only as "exp > now and iat <= now + CLOCK_SKEW" (iat <= exp
 * does not depend on now).  So a slot keyed by (secret, token) that holds
 * the principal of a token that verified can decide a later now by
 * checking exp and iat again.  A hit is stricter than token_verify: it
 * wants iat <= now, without the allowance for a future iat (a token is
 * remembered only once its iat has come, and should the clock step back
 * past it the token is verified in full again), so the table accepts a
 * subset of what full verification would, never more.
 *
 * The key is BLAKE2b-128 of the secret, its NUL (a separator: no other
 * split of the same bytes gives the same input) and the token, keyed by
 * the memo's random key: no one without that key can make another
 * (secret, token) that hits a slot, a changed secret (rotation, reload)
 * misses every slot, and the table's layout tells nothing.  Slots are
 * direct-mapped: a newer token takes an older one's slot, which costs
 * only a full verification next time. */

#define MEMO_SLOTS 512                /* a power of two */
#define MEMO_MAX_LEN 2048             /* longer tokens are verified each time */
#define MEMO_MAC_LEN 16

struct memo_slot {
    bool used;
    unsigned char mac[MEMO_MAC_LEN];
    struct principal who;
};

struct token_memo {
    unsigned char key[crypto_generichash_KEYBYTES];
    struct memo_slot slots[MEMO_SLOTS];
};

struct token_memo *token_memo_new(void)
{
    /* sodium_malloc puts the block against a guard page at its end, so it
     * is aligned only when its size is a multiple of the alignment: a
     * struct's sizeof always is */
    struct token_memo *m = sodium_malloc(sizeof *m);
    if (!m)
        return NULL;
    memset(m, 0, sizeof *m);        /* sodium_malloc fills with 0xdb */
    randombytes_buf(m->key, sizeof m->key);
    return m;
}

void token_memo_free(struct token_memo *m)
{
    sodium_free(m);                 /* wipes first; NULL is a no-op */
}

/* The slot that (secret, token[0..len)) maps to, with its hash in mac;
 * NULL when the hash cannot be computed (the token is then verified in
 * full, and not remembered). */
static struct memo_slot *memo_slot(struct token_memo *m, const char *secret, const char *token,
                                   size_t len, unsigned char mac[MEMO_MAC_LEN])
{
    crypto_generichash_state st;
    bool ok = crypto_generichash_init(&st, m->key, sizeof m->key, MEMO_MAC_LEN) == 0 &&
              crypto_generichash_update(&st, (const unsigned char *)secret,
                                        strlen(secret) + 1) == 0 &&
              crypto_generichash_update(&st, (const unsigned char *)token, len) == 0 &&
              crypto_generichash_final(&st, mac, MEMO_MAC_LEN) == 0;
    sodium_memzero(&st, sizeof st);     /* it has absorbed the secret */
    if (!ok)
        return NULL;
    return &m->slots[(mac[0] | (unsigned)mac[1] << 8) & (MEMO_SLOTS - 1)];
}

/* Whether s holds the token hashed to mac, still valid at now. */
static bool memo_hit(const struct memo_slot *s, const unsigned char mac[MEMO_MAC_LEN],
                     long long now)
{
    return s->used && sodium_memcmp(s->mac, mac, MEMO_MAC_LEN) == 0 && s->who.exp > now &&
           s->who.iat <= now;
}

/* Remember in s the principal of a token that has just verified - only
 * once its iat has come, so that a hit needs no clock skew allowance. */
static void memo_put(struct memo_slot *s, const unsigned char mac[MEMO_MAC_LEN],
                     const struct principal *who, long long now)
{
    if (who->iat > now)
        return;
    s->used = true;
    memcpy(s->mac, mac, MEMO_MAC_LEN);
    s->who = *who;
}

int token_verify_cached(struct token_memo *m, const char *secret, const char *token,
                        long long now, struct principal *out)
{
    unsigned char mac[MEMO_MAC_LEN];
    struct memo_slot *s = NULL;
    size_t len = token ? strlen(token) : 0;
    if (m && secret && token && len <= MEMO_MAX_LEN)
        s = memo_slot(m, secret, token, len, mac);
    if (s && memo_hit(s, mac, now)) {
        *out = s->who;
        return 0;
    }
    if (token_verify(secret, token, (time_t)now, out) != 0)
        return -1;
    if (s)
        memo_put(s, mac, out, now);
    return 0;
}
