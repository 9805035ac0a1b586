/* ratelimit.c - see ratelimit.h. */
#include "server/ratelimit.h"
#include "db/cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOCAL_SLOTS 4096

/* INCR and set the expiry on the first hit of a window, atomically. */
static const struct cache_script incr_script = {
    "ratelimit_incr",
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end\n"
    "return n\n",
};

struct slot {
    uint64_t hash;
    long long window;
    int count;
};

struct ratelimit {
    pthread_mutex_t mu;
    struct slot slots[LOCAL_SLOTS];
};

struct ratelimit *ratelimit_new(void)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);
    if (rl)
        pthread_mutex_init(&rl->mu, NULL);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* delta 1: count; 0: peek; -1: reset.  Returns the count after. */
static int local_count(struct ratelimit *rl, const char *key, long long window, int delta)
{
    uint64_t h = fnv1a(key);
    pthread_mutex_lock(&rl->mu);
    struct slot *s = &rl->slots[h % LOCAL_SLOTS];
    if (s->hash != h || s->window != window) {
        if (delta <= 0) {
            pthread_mutex_unlock(&rl->mu);
            return 0;
        }
        /* a colliding key takes the slot over: counting errs lenient */
        s->hash = h;
        s->window = window;
        s->count = 0;
    }
    if (delta < 0)
        s->count = 0;
    else
        s->count += delta;
    int n = s->count;
    pthread_mutex_unlock(&rl->mu);
    return n;
}

static void window_key(char *buf, size_t len, const char *key, long long window)
{
    snprintf(buf, len, "rl:%s:%lld", key, window);
}

int ratelimit_hit(struct ratelimit *rl, struct cache *c, const char *key, int limit,
                  int window_s)
{
    time_t now = time(NULL);
    long long window = (long long)now / window_s;
    int left = (int)((window + 1) * window_s - (long long)now);
    char k[300], ttl[16];
    window_key(k, sizeof k, key, window);
    snprintf(ttl, sizeof ttl, "%d", window_s + 1);
    const char *keys[] = { k };
    const char *args[] = { ttl };
    long long n;
    redisReply *r = cache_eval(c, &incr_script, 1, keys, 1, args);
    if (r && r->type == REDIS_REPLY_INTEGER)
        n = r->integer;
    else
        n = local_count(rl, key, window, 1);
    if (r)
        freeReplyObject(r);
    return n > limit ? (left > 0 ? left : 1) : 0;
}

int ratelimit_peek(struct ratelimit *rl, struct cache *c, const char *key, int window_s)
{
    long long window = (long long)time(NULL) / window_s;
    char k[300];
    window_key(k, sizeof k, key, window);
    redisReply *r = cache_cmd(c, "GET %s", k);
    int n;
    if (r && r->type == REDIS_REPLY_STRING)
        n = atoi(r->str);
    else if (r && r->type == REDIS_REPLY_NIL)
        n = 0;
    else
        n = local_count(rl, key, window, 0);
    if (r)
        freeReplyObject(r);
    return n;
}

void ratelimit_reset(struct ratelimit *rl, struct cache *c, const char *key, int window_s)
{
    long long window = (long long)time(NULL) / window_s;
    char k[300];
    window_key(k, sizeof k, key, window);
    redisReply *r = cache_cmd(c, "DEL %s", k);
    if (r)
        freeReplyObject(r);
    local_count(rl, key, window, -1);
}
