/* paycode.c - see paycode.h. */
#include "db/paycode.h"
#include "db/cache.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cache_script issue_script = {
    "paycode_issue",
    "if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', tonumber(ARGV[2])) then return 0 end\n"
    "local old = redis.call('GET', KEYS[2])\n"
    "if old and old ~= ARGV[3] then redis.call('DEL', 'pc:' .. old) end\n"
    "redis.call('SET', KEYS[2], ARGV[3], 'EX', tonumber(ARGV[2]))\n"
    "return 1\n",
};

static const struct cache_script consume_script = {
    "paycode_consume",
    "redis.call('DEL', KEYS[1])\n"
    "if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end\n"
    "return 1\n",
};

static bool digits_only(const char *s)
{
    return strlen(s) == PAYCODE_DIGITS && strspn(s, "0123456789") == PAYCODE_DIGITS;
}

int paycode_issue(struct cache *c, long long household_id, int ttl,
                  char code[PAYCODE_DIGITS + 1], char nonce[17])
{
    char pc[32], pch[48], val[64], t[16];
    snprintf(pch, sizeof pch, "pch:{h:%lld}", household_id);
    snprintf(t, sizeof t, "%d", ttl);
    /* a collision with a live code of another household is rare (10^12
     * codes): draw again */
    for (int attempt = 0; attempt < 8; attempt++) {
        for (int i = 0; i < PAYCODE_DIGITS; i++)
            code[i] = (char)('0' + randombytes_uniform(10));
        code[PAYCODE_DIGITS] = '\0';
        unsigned char raw[8];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(nonce, 17, raw, sizeof raw);
        snprintf(pc, sizeof pc, "pc:%s", code);
        snprintf(val, sizeof val, "%lld|%s", household_id, nonce);
        const char *keys[] = { pc, pch };
        const char *args[] = { val, t, code };
        redisReply *r = cache_eval(c, &issue_script, 2, keys, 3, args);
        if (!r)
            return -1;
        bool ok = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        bool err = r->type == REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (ok)
            return 0;
        if (err)
            return -1;
    }
    return -1;
}

int paycode_lookup(struct cache *c, const char *code, long long *household_id,
                   char nonce[17])
{
    if (!digits_only(code))
        return 0;
    redisReply *r = cache_cmd(c, "GET pc:%s", code);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_STRING) {
        char *bar = strchr(r->str, '|');
        if (bar && strlen(bar + 1) == 16) {
            *household_id = strtoll(r->str, NULL, 10);
            memcpy(nonce, bar + 1, 17);
            rc = *household_id > 0;
        }
    } else if (r->type != REDIS_REPLY_NIL) {
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

int paycode_current(struct cache *c, long long household_id, char code[PAYCODE_DIGITS + 1],
                    long long *ttl_left)
{
    redisReply *r = cache_cmd(c, "GET pch:{h:%lld}", household_id);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_STRING && digits_only(r->str)) {
        memcpy(code, r->str, PAYCODE_DIGITS + 1);
        rc = 1;
    }
    freeReplyObject(r);
    if (rc == 1) {
        r = cache_cmd(c, "TTL pc:%s", code);
        if (!r)
            return -1;
        *ttl_left = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        freeReplyObject(r);
        if (*ttl_left <= 0)
            rc = 0;
    }
    return rc;
}

void paycode_consume(struct cache *c, const char *code, long long household_id)
{
    char pc[32], pch[48];
    snprintf(pc, sizeof pc, "pc:%s", code);
    snprintf(pch, sizeof pch, "pch:{h:%lld}", household_id);
    const char *keys[] = { pc, pch };
    const char *args[] = { code };
    redisReply *r = cache_eval(c, &consume_script, 2, keys, 1, args);
    if (r)
        freeReplyObject(r);
}
