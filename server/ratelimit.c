/* ratelimit.c - see ratelimit.h. */
#include "server/ratelimit.h"
#include "db/cache.h"

#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* INCR and set the expiry on the first hit of a window, atomically. */
static const struct cache_script incr_script = {
    "ratelimit_incr",
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end\n"
    "return n\n",
};

/* One key's count in one window.  A slot is free when its window has
 * ended or its count is 0; it belongs to a key while hash, window and
 * window_s match and the window lasts.  Two keys whose 64-bit keyed hashes
 * are equal share a count: that errs strict, and no one can aim for it. */
struct slot {
    uint64_t hash;
    long long window;         /* now / window_s */
    long long ends;           /* epoch second the window ends */
    int window_s;
    int count;
};

struct ratelimit {
    pthread_mutex_t mu;
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
    struct slot slots[RATELIMIT_LOCAL_SLOTS];
};

struct ratelimit *ratelimit_new(void)
{
    if (sodium_init() < 0)          /* idempotent; the server has called it */
        return NULL;
    struct ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    if (pthread_mutex_init(&rl->mu, NULL) != 0) {
        free(rl);
        return NULL;
    }
    randombytes_buf(rl->hash_key, sizeof rl->hash_key);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

static uint64_t key_hash(const struct ratelimit *rl, const char *key)
{
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, (const unsigned char *)key, strlen(key), rl->hash_key);
    uint64_t h;
    memcpy(&h, out, sizeof h);
    return h;
}

/* delta 1: count; 0: peek; -1: reset.  Returns the count after; INT_MAX
 * when the key has no slot and none is free (counting fails closed). */
static int local_count(struct ratelimit *rl, const char *key, int window_s, long long now,
                       int delta)
{
    uint64_t h = key_hash(rl, key);
    long long window = now / window_s;
    pthread_mutex_lock(&rl->mu);
    struct slot *mine = NULL, *spare = NULL;
    /* Look at every probe before taking a spare: the key's own slot may lie
     * beyond a slot freed since (a window ended, a reset). */
    for (unsigned i = 0; i < RATELIMIT_LOCAL_PROBES; i++) {
        struct slot *s = &rl->slots[(h + i) % RATELIMIT_LOCAL_SLOTS];
        bool live = now < s->ends;
        if (live && s->hash == h && s->window == window && s->window_s == window_s) {
            mine = s;
            break;
        }
        if (!spare && (!live || s->count == 0))
            spare = s;
    }
    int n;
    if (mine) {
        if (delta < 0)
            mine->count = 0;
        else if (mine->count < INT_MAX - delta)
            mine->count += delta;
        n = mine->count;
    } else if (delta <= 0) {
        n = 0;
    } else if (spare) {
        *spare = (struct slot){ .hash = h, .window = window, .ends = (window + 1) * window_s,
                                .window_s = window_s, .count = delta };
        n = delta;
    } else {
        n = INT_MAX;
    }
    pthread_mutex_unlock(&rl->mu);
    return n;
}

static int seconds_left(long long now, int window_s)
{
    long long left = (now / window_s + 1) * window_s - now;
    return left > 0 ? (int)left : 1;
}

int ratelimit_local_hit(struct ratelimit *rl, const char *key, int limit, int window_s,
                        long long now)
{
    int n = local_count(rl, key, window_s, now, 1);
    return n > limit ? seconds_left(now, window_s) : 0;
}

static void window_key(char *buf, size_t len, const char *key, long long window)
{
    snprintf(buf, len, "rl:%s:%lld", key, window);
}

int ratelimit_hit(struct ratelimit *rl, struct cache *c, const char *key, int limit,
                  int window_s)
{
    long long now = (long long)time(NULL);
    long long window = now / window_s;
    char k[300], ttl[16];
    window_key(k, sizeof k, key, window);
    snprintf(ttl, sizeof ttl, "%d", window_s + 1);
    const char *keys[] = { k };
    const char *args[] = { ttl };
    redisReply *r = cache_eval(c, &incr_script, 1, keys, 1, args);
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        if (r)
            freeReplyObject(r);
        return ratelimit_local_hit(rl, key, limit, window_s, now);
    }
    long long n = r->integer;
    freeReplyObject(r);
    return n > limit ? seconds_left(now, window_s) : 0;
}

int ratelimit_peek(struct ratelimit *rl, struct cache *c, const char *key, int window_s)
{
    long long now = (long long)time(NULL);
    char k[300];
    window_key(k, sizeof k, key, now / window_s);
    redisReply *r = cache_cmd(c, "GET %s", k);
    int n;
    if (r && r->type == REDIS_REPLY_STRING)
        n = atoi(r->str);
    else if (r && r->type == REDIS_REPLY_NIL)
        n = 0;
    else
        n = local_count(rl, key, window_s, now, 0);
    if (r)
        freeReplyObject(r);
    return n;
}

void ratelimit_reset(struct ratelimit *rl, struct cache *c, const char *key, int window_s)
{
    long long now = (long long)time(NULL);
    char k[300];
    window_key(k, sizeof k, key, now / window_s);
    redisReply *r = cache_cmd(c, "DEL %s", k);
    if (r)
        freeReplyObject(r);
    local_count(rl, key, window_s, now, -1);
}
