/* token.c - see token.h. */
#include "server/token.h"
#include "server/request.h"

#include <jansson.h>
#include <jwt.h>
#include <sodium.h>
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
