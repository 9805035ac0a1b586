/* cache.c - hiredis wrapper with a breaker: see cache.h. */
#include "db/cache.h"
#include "db/stats.h"
#include "server/clock.h"

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <sys/queue.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_MAX_SCRIPTS 16
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 2000
#define WRITE_BACKOFF_MIN_MS 1000
#define WRITE_BACKOFF_MAX_MS 8000
#define PENDING_MAX 4096

/* The write breaker's state (see cache_eval), process-wide. */
static _Atomic long long writes_next_try_ms;
static _Atomic int write_backoff_ms = WRITE_BACKOFF_MIN_MS;

struct pending_set {
    char *key, *value;
    long long version;
    int ttl;
    long long queued_ms;
};

/* Versioned entries are "<version>|<payload>|<run_id>".  A write lands
 * only when the key is absent, was written by another incarnation of the
 * server (a restart reloaded it from the AOF: it may predate a change that
 * never reached Redis), or holds an older version.  Versions are compared
 * as numbers (tonumber: Lua compares strings as strings). */
static const struct cache_script put_versioned = {
    "put_versioned",
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur then\n"
    "  local v, rid = string.match(cur, '^(%d+)|.*|([^|]*)$')\n"
    "  if v and rid == ARGV[3] and tonumber(v) >= tonumber(ARGV[1]) then return 0 end\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2] .. '|' .. ARGV[3], 'EX', tonumber(ARGV[4]))\n"
    "return 1\n",
};

struct loaded_script {
    const struct cache_script *s;
    char sha[41];
};

struct aop;

/* The asynchronous link (cache_attach; see the section at the end). */
struct alink {
    struct event_base *base;     /* NULL: not attached */
    redisAsyncContext *ac;       /* NULL: no connection */
    unsigned gen;                /* moves on with every context */
    bool ready;                  /* its handshake was answered */
    bool down;                   /* the last attempt failed */
    bool closing;                /* being freed: nothing new is sent */
    long long next_try_ms;       /* breaker: no connect before this */
    int backoff_ms;
    struct event *timer;         /* the oldest op's deadline */
    TAILQ_HEAD(aop_fifo, aop) ops;
    char run_id[48];             /* of the Redis this link talks to */
};

struct cache {
    char host[256];
    int port;
    char path[256];          /* unix socket, when set */
    int dbnum;
    redisContext *ctx;
    long long next_try_ms;   /* breaker: no connect before this */
    int backoff_ms;
    bool down;
    char run_id[48];         /* the server's run_id: changes on restart */
    struct loaded_script scripts[CACHE_MAX_SCRIPTS];
    int nscripts;
    struct pending_set *pending;   /* ring of PENDING_MAX */
    int phead, pcount;
    struct alink link;
};

#define now_ms() clock_mono_ms()   /* the one monotonic clock: server/clock.h */

static bool parse_url(const char *url, char *host, size_t hostlen, int *port,
                      char *path, size_t pathlen, int *dbnum)
{
    *port = 6379;
    *dbnum = 0;
    host[0] = path[0] = '\0';
    if (!url)
        return false;
    if (strncmp(url, "unix://", 7) == 0) {
        const char *p = url + 7;
        const char *q = strchr(p, '?');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || n >= pathlen || p[0] != '/')
            return false;
        memcpy(path, p, n);
        path[n] = '\0';
        if (q) {
            char *end;
            if (strncmp(q, "?db=", 4) != 0)
                return false;
            long v = strtol(q + 4, &end, 10);
            if (*end || v < 0 || v > 255 || end == q + 4)
                return false;
            *dbnum = (int)v;
        }
        return true;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return false;
    const char *p = url + 8;
    const char *colon = strchr(p, ':');
    const char *slash = strchr(p, '/');
    const char *hend = colon ? colon : (slash ? slash : p + strlen(p));
    size_t n = (size_t)(hend - p);
    if (n == 0 || n >= hostlen)
        return false;
    memcpy(host, p, n);
    host[n] = '\0';
    if (colon) {
        char *end;
        long v = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || v < 1 || v > 65535 || (*end && *end != '/'))
            return false;
        *port = (int)v;
    }
    if (slash && slash[1]) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (*end || v < 0 || v > 255)
            return false;
        *dbnum = (int)v;
    }
    return true;
}

bool cache_url_valid(const char *url)
{
    char host[256], path[256];
    int port, dbnum;
    return parse_url(url, host, sizeof host, &port, path, sizeof path, &dbnum);
}

struct cache *cache_new(const char *url, char *err, size_t errlen)
{
    struct cache *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!parse_url(url, c->host, sizeof c->host, &c->port, c->path,
                   sizeof c->path, &c->dbnum)) {
        snprintf(err, errlen, "bad redis url '%s'", url ? url : "");
        free(c);
        return NULL;
    }
    c->backoff_ms = BACKOFF_MIN_MS;
    c->link.backoff_ms = BACKOFF_MIN_MS;
    TAILQ_INIT(&c->link.ops);
    return c;
}

/* Durable writes of this process still waiting for replay, over every
 * connection (db/cache.h, cache_writes_behind). */
static _Atomic long long pending_total;

static void pending_drop_oldest(struct cache *c)
{
    atomic_fetch_sub(&pending_total, 1);
    struct pending_set *p = &c->pending[c->phead];
    free(p->key);
    free(p->value);
    p->key = p->value = NULL;
    c->phead = (c->phead + 1) % PENDING_MAX;
    c->pcount--;
}

static void alink_free(struct cache *c);

void cache_free(struct cache *c)
{
    if (!c)
        return;
    alink_free(c);          /* first: its callbacks may still use c */
    while (c->pcount)
        pending_drop_oldest(c);
    free(c->pending);
    if (c->ctx)
        redisFree(c->ctx);
    free(c);
}

static void trip(struct cache *c)
{
    if (c->ctx) {
        redisFree(c->ctx);
        c->ctx = NULL;
    }
    c->down = true;
    c->nscripts = 0;           /* reload after reconnect, it may be a new server */
    c->next_try_ms = now_ms() + c->backoff_ms;
    c->backoff_ms *= 2;
    if (c->backoff_ms > BACKOFF_MAX_MS)
        c->backoff_ms = BACKOFF_MAX_MS;
    atomic_fetch_add(&wb_stats.redis_errors, 1);
}

static bool replay_pending(struct cache *c);

static bool connect_now(struct cache *c)
{
    struct timeval ctv = { 0, 500 * 1000 };
    struct timeval rtv = { 1, 0 };
    redisContext *ctx = c->path[0]
        ? redisConnectUnixWithTimeout(c->path, ctv)
        : redisConnectWithTimeout(c->host, c->port, ctv);
    if (!ctx || ctx->err) {
        if (ctx)
            redisFree(ctx);
        trip(c);
        return false;
    }
    /* hiredis drops timeouts on reconnect (#593): we always build a fresh
     * context, and set both here, every time. */
    if (redisSetTimeout(ctx, rtv) != REDIS_OK ||
        (!c->path[0] && redisEnableKeepAlive(ctx) != REDIS_OK)) {
        redisFree(ctx);
        trip(c);
        return false;
    }
    c->ctx = ctx;
    /* A restarted Redis reloads its AOF, which may hold cache entries
     * written before a change that could not reach it; entries tagged
     * with the old run_id are then recognisably stale (see revoke.c). */
    redisReply *info = redisCommand(ctx, "INFO server");
    const char *rid = info && info->type == REDIS_REPLY_STRING ? strstr(info->str, "run_id:") : NULL;
    if (!rid) {
        if (info)
            freeReplyObject(info);
        redisFree(ctx);
        c->ctx = NULL;
        trip(c);
        return false;
    }
    size_t n = strcspn(rid + 7, "\r\n");
    if (n >= sizeof c->run_id)
        n = sizeof c->run_id - 1;
    bool restarted = c->run_id[0] && (strncmp(c->run_id, rid + 7, n) != 0 || c->run_id[n]);
    memcpy(c->run_id, rid + 7, n);
    c->run_id[n] = '\0';
    freeReplyObject(info);
    /* A Redis that restarted is not one holding writes: what tripped the
     * write breaker was its going away, so writes go again at once (and
     * the replay below brings it up to date). */
    if (restarted) {
        atomic_store(&writes_next_try_ms, 0);
        atomic_store(&write_backoff_ms, WRITE_BACKOFF_MIN_MS);
    }
    if (c->dbnum) {
        redisReply *r = redisCommand(ctx, "SELECT %d", c->dbnum);
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
        if (!ok) {
            trip(c);
            return false;
        }
    }
    if (c->down)
        atomic_fetch_add(&wb_stats.redis_reconnects, 1);
    c->down = false;
    c->backoff_ms = BACKOFF_MIN_MS;
    return replay_pending(c);
}

bool cache_available(struct cache *c)
{
    if (c->ctx)
        return true;
    if (now_ms() < c->next_try_ms) {
        atomic_fetch_add(&wb_stats.redis_skipped, 1);
        return false;
    }
    return connect_now(c);
}

bool cache_down(const struct cache *c)
{
    return c->down;
}

/* A NULL reply means the context is dead (hiredis: must reconnect). */
static redisReply *checked(struct cache *c, void *reply)
{
    if (!reply) {
        trip(c);
        return NULL;
    }
    return reply;
}

redisReply *cache_cmd(struct cache *c, const char *fmt, ...)
{
    if (!cache_available(c))
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    void *r = redisvCommand(c->ctx, fmt, ap);
    va_end(ap);
    return checked(c, r);
}

static const char *script_sha(struct cache *c, const struct cache_script *s, bool reload)
{
    int slot = -1;
    for (int i = 0; i < c->nscripts; i++)
        if (c->scripts[i].s == s) {
            if (!reload)
                return c->scripts[i].sha;
            slot = i;
            break;
        }
    if (slot < 0) {
        if (c->nscripts == CACHE_MAX_SCRIPTS)
            return NULL;
        slot = c->nscripts;
    }
    redisReply *r = checked(c, redisCommand(c->ctx, "SCRIPT LOAD %s", s->src));
    if (!r)
        return NULL;
    const char *sha = NULL;
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
        c->scripts[slot].s = s;
        memcpy(c->scripts[slot].sha, r->str, 41);
        if (slot == c->nscripts)
            c->nscripts++;
        sha = c->scripts[slot].sha;
    } else {
        atomic_fetch_add(&wb_stats.redis_errors, 1);
    }
    freeReplyObject(r);
    return sha;
}

/* A command that timed out on a live connection: Redis took it and did
 * not answer within the read timeout.  When reads still answer, that is a
 * Redis holding writes (CLIENT PAUSE ... WRITE, a failover pause). */
static bool timed_out(const redisContext *ctx)
{
    return ctx && ctx->err == REDIS_ERR_IO &&
           (errno == EAGAIN || errno == EWOULDBLOCK || strstr(ctx->errstr, "temporarily"));
}

/* The write breaker.  Scripts here all write.  One that timed out would
 * time out again for each request until Redis takes writes again, and
 * the connection breaker does not help: reconnecting succeeds at once.
 * So after a write timed out, scripts are not sent for a while (1 s
 * doubling to 8 s, until one succeeds), as if Redis were down for them;
 * reads go on.  Process-wide (atomics, any thread): every connection of a
 * process talks to the one Redis, so one that found writes held spares
 * the other workers the wait.  Races between workers only move the
 * window by a little. */

static void write_trip(void)
{
    int b = atomic_load(&write_backoff_ms);
    atomic_store(&writes_next_try_ms, now_ms() + b);
    atomic_store(&write_backoff_ms, b * 2 > WRITE_BACKOFF_MAX_MS ? WRITE_BACKOFF_MAX_MS : b * 2);
}

redisReply *cache_eval(struct cache *c, const struct cache_script *s,
                       int nkeys, const char *const *keys,
                       int nargs, const char *const *args)
{
    enum { MAXARGV = 32 };
    const char *argv[MAXARGV];
    char nk[16];
    if (3 + nkeys + nargs > MAXARGV || nkeys < 0 || nargs < 0)
        return NULL;
    if (now_ms() < atomic_load(&writes_next_try_ms)) {
        atomic_fetch_add(&wb_stats.redis_skipped, 1);
        return NULL;
    }
    if (!cache_available(c))
        return NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        const char *sha = script_sha(c, s, attempt > 0);
        if (!sha)
            return NULL;
        int argc = 0;
        snprintf(nk, sizeof nk, "%d", nkeys);
        argv[argc++] = "EVALSHA";
        argv[argc++] = sha;
        argv[argc++] = nk;
        for (int i = 0; i < nkeys; i++)
            argv[argc++] = keys[i];
        for (int i = 0; i < nargs; i++)
            argv[argc++] = args[i];
        redisReply *r = redisCommandArgv(c->ctx, argc, argv, NULL);
        if (!r) {
            bool hung = timed_out(c->ctx);
            trip(c);
            if (hung)
                write_trip();
            return NULL;
        }
        if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
            freeReplyObject(r);
            continue;           /* restarted or flushed: load and run again */
        }
        if (r->type != REDIS_REPLY_ERROR && atomic_load(&write_backoff_ms) != WRITE_BACKOFF_MIN_MS)
            atomic_store(&write_backoff_ms, WRITE_BACKOFF_MIN_MS);
        return r;
    }
    return NULL;
}

static bool put_now(struct cache *c, const char *key, long long version,
                    const char *payload, int ttl)
{
    char ver[24], t[16];
    snprintf(ver, sizeof ver, "%lld", version);
    snprintf(t, sizeof t, "%d", ttl);
    const char *keys[] = { key };
    const char *args[] = { ver, payload, c->run_id, t };
    redisReply *r = cache_eval(c, &put_versioned, 1, keys, 4, args);
    bool ok = r && r->type == REDIS_REPLY_INTEGER;
    if (r && !ok) {
        /* Redis answered but refused the write (OOM, MISCONF, READONLY,
         * BUSY): the old entry would stay and be trusted.  Delete it -
         * DEL is allowed in those states - so readers go to MariaDB. */
        atomic_fetch_add(&wb_stats.redis_errors, 1);
        redisReply *del = redisCommand(c->ctx, "DEL %s", key);
        if (del)
            freeReplyObject(del);
        else
            trip(c);
    }
    if (r)
        freeReplyObject(r);
    return ok;
}

/* Replay queued writes, oldest first, through the versioned script (so
 * a late replay never overwrites a newer value); on a failure the breaker
 * trips and what is left stays queued. */
static bool replay_pending(struct cache *c)
{
    while (c->pcount) {
        struct pending_set *p = &c->pending[c->phead];
        long long left = p->ttl - (now_ms() - p->queued_ms) / 1000;
        if (left > 0 && !put_now(c, p->key, p->version, p->value, (int)left))
            return false;
        pending_drop_oldest(c);
    }
    return true;
}

const char *cache_run_id(const struct cache *c)
{
    return c->ctx ? c->run_id : "";
}

int cache_put(struct cache *c, const char *key, long long version, const char *payload,
              int ttl, bool durable)
{
    /* A connection that was up may only have died while idle: then one
     * immediate reconnect is worth it.  With the breaker already open,
     * queue at once - a write must not pay a connect timeout either. */
    bool was_up = c->ctx != NULL;
    if (cache_available(c) && put_now(c, key, version, payload, ttl))
        return 0;
    if (!durable)
        return 1;
    if (was_up && !c->ctx) {
        c->next_try_ms = 0;
        if (cache_available(c) && put_now(c, key, version, payload, ttl))
            return 0;
    }
    if (!c->pending) {
        c->pending = calloc(PENDING_MAX, sizeof *c->pending);
        if (!c->pending)
            return 1;
    }
    if (c->pcount == PENDING_MAX)
        pending_drop_oldest(c);
    struct pending_set *p = &c->pending[(c->phead + c->pcount) % PENDING_MAX];
    p->key = strdup(key);
    p->value = strdup(payload);
    p->version = version;
    p->ttl = ttl;
    p->queued_ms = now_ms();
    if (!p->key || !p->value) {
        free(p->key);
        free(p->value);
        p->key = p->value = NULL;
        return 1;
    }
    c->pcount++;
    atomic_fetch_add(&pending_total, 1);
    return 1;
}

bool cache_writes_behind(void)
{
    return atomic_load(&pending_total) > 0 || now_ms() < atomic_load(&writes_next_try_ms);
}

int cache_pending(const struct cache *c)
{
    return c->pcount;
}

static bool alink_usable(struct cache *c);

void cache_flush_pending(struct cache *c)
{
    /* an idle worker's link comes back too, without waiting for a request
     * to find it down (non-blocking; the breaker still paces it) */
    if (c->link.base && !c->link.ac)
        (void)alink_usable(c);
    if (!c->pcount)
        return;
    if (c->ctx)
        (void)replay_pending(c);    /* up all along: the writes were refused */
    else
        (void)cache_available(c);   /* reconnecting replays them */
}

/* Decode "<version>|<payload>|<run_id>" (payload may not hold '|'),
 * trusting only an entry tagged with run_id, the incarnation of the Redis
 * that answered. */
static int decode_versioned(const char *run_id, const redisReply *r, long long *version,
                            char *payload, size_t len)
{
    if (r->type == REDIS_REPLY_NIL)
        return 0;
    if (r->type != REDIS_REPLY_STRING)
        return -1;
    char *bar1 = strchr(r->str, '|');
    char *bar2 = bar1 ? strrchr(r->str, '|') : NULL;
    if (!run_id[0] || !bar1 || bar2 <= bar1 || strcmp(bar2 + 1, run_id) != 0 ||
        (size_t)(bar2 - bar1 - 1) >= len)
        return 0;           /* another incarnation's, or not ours: stale */
    *version = strtoll(r->str, NULL, 10);
    memcpy(payload, bar1 + 1, (size_t)(bar2 - bar1 - 1));
    payload[bar2 - bar1 - 1] = '\0';
    return 1;
}

/* An MGET's answer into out[0..n-1]; every rc -1 unless it is an array
 * of n. */
static void decode_mget(const char *run_id, const redisReply *r, int n, struct cache_entry *out)
{
    bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)n;
    for (int i = 0; i < n; i++)
        out[i].rc = ok ? decode_versioned(run_id, r->element[i], &out[i].version,
                                          out[i].payload, sizeof out[i].payload)
                       : -1;
}

int cache_get(struct cache *c, const char *key, long long *version, char *payload,
              size_t len)
{
    redisReply *r = cache_cmd(c, "GET %s", key);
    if (!r)
        return -1;
    int rc = decode_versioned(c->run_id, r, version, payload, len);
    freeReplyObject(r);
    return rc;
}

int cache_ping(struct cache *c)
{
    redisReply *r = cache_cmd(c, "PING");
    if (!r)
        return -1;
    int ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    freeReplyObject(r);
    return ok ? 0 : -1;
}

int cache_get_batch(struct cache *c, int n, const char *const *keys, struct cache_entry *out)
{
    for (int i = 0; i < n; i++)
        out[i].rc = -1;
    if (n < 1 || !cache_available(c))
        return -1;
    const char **argv = malloc(((size_t)n + 1) * sizeof *argv);
    if (!argv)
        return -1;
    argv[0] = "MGET";
    memcpy(argv + 1, keys, (size_t)n * sizeof *argv);
    redisReply *r = checked(c, redisCommandArgv(c->ctx, n + 1, argv, NULL));
    free(argv);
    if (!r)
        return -1;
    decode_mget(c->run_id, r, n, out);
    freeReplyObject(r);
    return out[0].rc < 0 ? -1 : 0;
}

/* One pipelined round trip of n writes (versioned or forced). */
static int put_pipelined(struct cache *c, int n, const char *const *keys,
                         const long long *versions, const char *const *payloads, int ttl,
                         bool force, int *written)
{
    const char *sha = force ? NULL : script_sha(c, &put_versioned, false);
    if (!force && !sha)
        return -1;
    char t[16];
    snprintf(t, sizeof t, "%d", ttl);
    for (int i = 0; i < n; i++) {
        int rc;
        if (force) {
            char v[320];
            snprintf(v, sizeof v, "%lld|%s|%s", versions[i], payloads[i], c->run_id);
            rc = redisAppendCommand(c->ctx, "SET %s %s EX %d", keys[i], v, ttl);
        } else {
            char ver[24];
            snprintf(ver, sizeof ver, "%lld", versions[i]);
            rc = redisAppendCommand(c->ctx, "EVALSHA %s 1 %s %s %s %s %s", sha, keys[i], ver,
                                    payloads[i], c->run_id, t);
        }
        if (rc != REDIS_OK) {
            trip(c);
            return -1;
        }
    }
    int result = 0;
    for (int i = 0; i < n; i++) {
        redisReply *reply = NULL;
        if (redisGetReply(c->ctx, (void **)&reply) != REDIS_OK || !reply) {
            /* a Redis holding writes: as cache_eval, spare the others */
            if (!force && timed_out(c->ctx))
                write_trip();
            trip(c);
            return -1;
        }
        written[i] = force ? reply->type == REDIS_REPLY_STATUS
                           : reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
        if (reply->type == REDIS_REPLY_ERROR)
            result = -1;    /* e.g. NOSCRIPT after a flush: the caller retries */
        freeReplyObject(reply);
    }
    if (result < 0)
        c->nscripts = 0;
    return result;
}

int cache_put_batch(struct cache *c, int n, const char *const *keys, const long long *versions,
                    const char *const *payloads, int ttl, enum cache_put_mode mode,
                    int *written)
{
    if (mode != CACHE_PUT_DURABLE) {
        if (!cache_available(c))
            return -1;
        return put_pipelined(c, n, keys, versions, payloads, ttl, mode == CACHE_PUT_FORCE,
                             written);
    }
    /* Durable: a page of 64 at a time in one round trip while Redis takes
     * every write and nothing older waits for replay (that goes first,
     * through cache_put); otherwise one by one through cache_put, which
     * deletes a refused entry or queues the write. */
    enum { DPAGE = 64 };
    int result = 0;
    for (int at = 0; at < n; at += DPAGE) {
        int k = n - at < DPAGE ? n - at : DPAGE;
        int w[DPAGE];
        if (k > 1 && c->pcount == 0 && now_ms() >= atomic_load(&writes_next_try_ms) &&
            cache_available(c) &&
            put_pipelined(c, k, keys + at, versions + at, payloads + at, ttl, false, w) == 0) {
            if (written)
                memcpy(written + at, w, (size_t)k * sizeof *w);
            continue;
        }
        for (int i = at; i < at + k; i++) {
            int rc = cache_put(c, keys[i], versions[i], payloads[i], ttl, true);
            if (written)
                written[i] = rc == 0;
            if (rc != 0)
                result = -1;
        }
    }
    return result;
}

/* ------------------------------------------------------------------------
 * The asynchronous link (cache.h).
 *
 * Every command sent is an op on a FIFO: Redis answers in order, so the
 * head is the oldest unanswered, and one timer per link, armed for the
 * head's deadline, bounds them all (re-armed lazily when it fires early).
 * hiredis calls each command's callback exactly once: with its reply, or
 * with NULL when the context goes (an error, EOF, or our redisAsyncFree
 * on a timeout), after which hiredis frees the context.  The link's
 * generation tells the ops of a context that is gone from those still
 * outstanding: only an op hiredis lost (its callback list hit
 * out-of-memory, which 0.14 ignores) can outlive its context, and the
 * timer answers it. */

enum aop_kind { AOP_INFO, AOP_SELECT, AOP_GET, AOP_FILL };

struct aop {
    TAILQ_ENTRY(aop) next;
    struct cache *c;
    unsigned gen;               /* the link's generation when sent */
    enum aop_kind kind;
    long long deadline_ms;
    int n;                      /* AOP_GET: keys asked */
    cache_entries_fn done;
    void *arg;
};

/* The link's breaker doubles from BACKOFF_MIN_MS to this only: a probe
 * of a Redis that is down costs a refused connect, and of a hung one a
 * timer - no request waits on either (none is queued behind a
 * handshake) - and the link coming back is what brings the synchronous
 * connection back (alink_up). */
#define ALINK_BACKOFF_MAX_MS 500

static void alink_backoff(struct alink *a)
{
    a->next_try_ms = now_ms() + a->backoff_ms;
    a->backoff_ms *= 2;
    if (a->backoff_ms > ALINK_BACKOFF_MAX_MS)
        a->backoff_ms = ALINK_BACKOFF_MAX_MS;
    a->down = true;
    atomic_fetch_add(&wb_stats.redis_errors, 1);
}

/* The context is gone or going: forget it (hiredis frees it, or we do). */
static void alink_forget(struct alink *a)
{
    a->ac = NULL;
    a->ready = false;
    a->gen++;
}

/* Drop the link now.  With backoff the breaker opens; without, a new
 * connection may be tried at once (a Redis that held a write but answers
 * reads).  Called inside a hiredis callback, the free waits (hiredis
 * defers it) until that callback returns. */
static void alink_drop(struct alink *a, bool backoff)
{
    redisAsyncContext *ac = a->ac;
    if (!ac)
        return;
    alink_forget(a);
    if (backoff)
        alink_backoff(a);
    else
        atomic_fetch_add(&wb_stats.redis_errors, 1);
    redisAsyncFree(ac);         /* answers every op still on it with NULL */
}

/* Complete an op: off the FIFO, freed, then (a read) its caller told -
 * last, since the caller's continuation may send on the link again. */
static void aop_complete(struct aop *op, const char *run_id, const redisReply *r)
{
    TAILQ_REMOVE(&op->c->link.ops, op, next);
    cache_entries_fn done = op->done;
    void *arg = op->arg;
    int n = op->n;
    enum aop_kind kind = op->kind;
    free(op);
    if (kind != AOP_GET)
        return;
    struct cache_entry e[CACHE_ASYNC_MAXKEYS];
    decode_mget(run_id, r, n, e);
    done(arg, e);
}

static bool alink_arm(struct alink *a, long long in_ms)
{
    struct timeval tv = { (time_t)(in_ms / 1000), (suseconds_t)(in_ms % 1000) * 1000 };
    return event_add(a->timer, &tv) == 0;
}

static void on_atimer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct cache *c = arg;
    struct alink *a = &c->link;
    struct aop *head;
    /* ops of a context already gone will hear nothing from it */
    while ((head = TAILQ_FIRST(&a->ops)) && (head->gen != a->gen || !a->ac))
        aop_complete(head, "", NULL);
    if (!head)
        return;
    long long now = now_ms();
    if (head->deadline_ms > now && alink_arm(a, head->deadline_ms - now))
        return;
    if (head->kind == AOP_FILL) {
        /* Redis holds writes (CLIENT PAUSE WRITE, a failover): reads may
         * still be answered on a new connection; writes stop a while */
        write_trip();
        alink_drop(a, false);
    } else {
        /* a hung Redis: the next synchronous write would wait out its 1 s
         * read timeout on it too, so that connection's breaker opens */
        if (c->ctx)
            trip(c);
        alink_drop(a, true);
    }
    /* anything hiredis did not answer (a lost callback) fails now; the
     * callbacks that ran may have opened a new link, whose ops stay */
    while ((head = TAILQ_FIRST(&a->ops)) && (head->gen != a->gen || !a->ac))
        aop_complete(head, "", NULL);
}

/* The run_id from INFO's answer; false when it has none. */
static bool learn_run_id(char *run_id, size_t len, const redisReply *info)
{
    const char *rid = info && info->type == REDIS_REPLY_STRING ? strstr(info->str, "run_id:") : NULL;
    if (!rid)
        return false;
    size_t n = strcspn(rid + 7, "\r\n");
    if (n >= len)
        n = len - 1;
    bool restarted = run_id[0] && (strncmp(run_id, rid + 7, n) != 0 || run_id[n]);
    memcpy(run_id, rid + 7, n);
    run_id[n] = '\0';
    /* as connect_now: a Redis that restarted is not one holding writes */
    if (restarted) {
        atomic_store(&writes_next_try_ms, 0);
        atomic_store(&write_backoff_ms, WRITE_BACKOFF_MIN_MS);
    }
    return true;
}

static void alink_up(struct cache *c)
{
    struct alink *a = &c->link;
    if (a->down)
        atomic_fetch_add(&wb_stats.redis_reconnects, 1);
    a->down = false;
    a->ready = true;
    a->backoff_ms = BACKOFF_MIN_MS;
    /* Redis answers: the synchronous connection need not wait out its
     * breaker.  The request path no longer keeps it busy, so it
     * reconnects now (a connect and an INFO to a Redis that just answered
     * both), replaying what it has queued - else a revocation written
     * through it would move the epoch on, a publish wait in the queue,
     * balance reads go to MariaDB meanwhile.  A connection to an earlier
     * incarnation of the server is dead: it is replaced, not first failed
     * by a command. */
    if (c->ctx && c->run_id[0] && strcmp(c->run_id, a->run_id) != 0) {
        redisFree(c->ctx);
        c->ctx = NULL;
        c->nscripts = 0;
    }
    if (!c->ctx) {
        c->next_try_ms = 0;
        (void)cache_available(c);
    }
}

static void on_areply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct aop *op = privdata;
    struct cache *c = op->c;
    struct alink *a = &c->link;
    const redisReply *r = reply;
    bool current = a->ac == ac && op->gen == a->gen;
    if (!r && current) {
        /* hiredis lost the connection (EOF, a socket error) and frees the
         * context once every callback has run */
        alink_forget(a);
        alink_backoff(a);
    }
    if (!r || !current) {
        aop_complete(op, "", NULL);
        return;
    }
    switch (op->kind) {
    case AOP_INFO:
        aop_complete(op, "", NULL);
        if (!learn_run_id(a->run_id, sizeof a->run_id, r))
            alink_drop(a, true);
        else if (!c->dbnum)
            alink_up(c);
        return;
    case AOP_SELECT:
        aop_complete(op, "", NULL);
        if (r->type == REDIS_REPLY_STATUS)
            alink_up(c);
        else
            alink_drop(a, true);
        return;
    case AOP_GET:
        if (r->type == REDIS_REPLY_ERROR)           /* LOADING, say: read the record */
            atomic_fetch_add(&wb_stats.redis_errors, 1);
        aop_complete(op, a->run_id, r);
        return;
    case AOP_FILL:
        /* refused (OOM, READONLY): the entry stays absent or stale, which
         * only sends readers to the record */
        if (r->type != REDIS_REPLY_INTEGER)
            atomic_fetch_add(&wb_stats.redis_errors, 1);
        else if (atomic_load(&write_backoff_ms) != WRITE_BACKOFF_MIN_MS)
            atomic_store(&write_backoff_ms, WRITE_BACKOFF_MIN_MS);
        aop_complete(op, "", NULL);
        return;
    }
}

/* hiredis frees a context that failed or went away by itself, with no
 * command outstanding too: forget it then.  (With commands outstanding
 * their callbacks, which run first, have done so already.) */
static void on_aconnect(const redisAsyncContext *ac, int status)
{
    struct cache *c = ac->data;
    if (status != REDIS_OK && c->link.ac == ac) {
        alink_forget(&c->link);
        alink_backoff(&c->link);
    }
}

static void on_adisconnect(const redisAsyncContext *ac, int status)
{
    struct cache *c = ac->data;
    if (c->link.ac == ac) {
        alink_forget(&c->link);
        if (status != REDIS_OK)
            alink_backoff(&c->link);
    }
}

/* Queue one command on the link as an op.  0, or -1 (not sent; on a
 * failure to send the link is dropped). */
static int aop_send(struct cache *c, enum aop_kind kind, int argc, const char **argv,
                    int n, cache_entries_fn done, void *arg)
{
    struct alink *a = &c->link;
    struct aop *op = calloc(1, sizeof *op);
    if (!op)
        return -1;
    *op = (struct aop){ .c = c, .gen = a->gen, .kind = kind,
                        .deadline_ms = now_ms() + CACHE_ASYNC_TIMEOUT_MS, .n = n,
                        .done = done, .arg = arg };
    /* the timer first: a command whose wait nothing bounds is not sent */
    if (!evtimer_pending(a->timer, NULL) && !alink_arm(a, CACHE_ASYNC_TIMEOUT_MS)) {
        free(op);
        return -1;
    }
    if (redisAsyncCommandArgv(a->ac, on_areply, op, argc, argv, NULL) != REDIS_OK) {
        free(op);
        return -1;
    }
    TAILQ_INSERT_TAIL(&a->ops, op, next);
    return 0;
}

/* Start a connection: non-blocking, its handshake queued behind the
 * connect; the link is ready when the handshake is answered. */
static void alink_open(struct cache *c)
{
    struct alink *a = &c->link;
    redisAsyncContext *ac = c->path[0] ? redisAsyncConnectUnix(c->path)
                                       : redisAsyncConnect(c->host, c->port);
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        alink_backoff(a);
        return;
    }
    ac->data = c;
    if (redisLibeventAttach(ac, a->base) != REDIS_OK ||
        redisAsyncSetConnectCallback(ac, on_aconnect) != REDIS_OK ||
        redisAsyncSetDisconnectCallback(ac, on_adisconnect) != REDIS_OK) {
        redisAsyncFree(ac);
        alink_backoff(a);
        return;
    }
    /* a peer gone from the network is found by the timer; keepalive only
     * spares an idle link's socket */
    if (!c->path[0])
        (void)redisEnableKeepAlive(&ac->c);
    a->ac = ac;
    a->gen++;
    const char *info[] = { "INFO", "server" };
    char db[16];
    snprintf(db, sizeof db, "%d", c->dbnum);
    const char *sel[] = { "SELECT", db };
    if (aop_send(c, AOP_INFO, 2, info, 0, NULL, NULL) != 0 ||
        (c->dbnum && aop_send(c, AOP_SELECT, 2, sel, 0, NULL, NULL) != 0))
        alink_drop(a, true);    /* a link that can never be ready */
}

/* Ready to send on: connected, its handshake answered.  Otherwise start
 * a connection when the breaker allows, for the requests after this one:
 * a command is never queued behind a handshake, which is what a hung
 * Redis would hold (every probe of the breaker would then make requests
 * wait out the timeout). */
static bool alink_usable(struct cache *c)
{
    struct alink *a = &c->link;
    if (!a->base || a->closing)
        return false;
    if (a->ac)
        return a->ready;
    /* the last context's ops are still being answered (a deferred free) */
    if (!TAILQ_EMPTY(&a->ops))
        return false;
    if (now_ms() < a->next_try_ms) {
        atomic_fetch_add(&wb_stats.redis_skipped, 1);
        return false;
    }
    alink_open(c);
    return false;
}

/* Connect at once, so the link is ready before the first request: a new
 * worker answering from MariaDB while the others answer from Redis would
 * make the second-long window of revoke.h's epoch flicker. */
int cache_attach(struct cache *c, struct event_base *base)
{
    struct alink *a = &c->link;
    a->timer = evtimer_new(base, on_atimer, c);
    if (!a->timer)
        return -1;
    a->base = base;
    alink_open(c);
    return 0;
}

int cache_get_async(struct cache *c, int n, const char *const *keys, cache_entries_fn done,
                    void *arg)
{
    const char *argv[CACHE_ASYNC_MAXKEYS + 1];
    if (n < 1 || n > CACHE_ASYNC_MAXKEYS || !alink_usable(c))
        return -1;
    argv[0] = "MGET";
    memcpy(argv + 1, keys, (size_t)n * sizeof *argv);
    return aop_send(c, AOP_GET, n + 1, argv, n, done, arg);
}

void cache_fill(struct cache *c, const char *key, long long version, const char *payload,
                int ttl)
{
    if (!c->link.base) {
        (void)cache_put(c, key, version, payload, ttl, false);
        return;
    }
    if (c->link.closing)
        return;
    if (now_ms() < atomic_load(&writes_next_try_ms)) {
        atomic_fetch_add(&wb_stats.redis_skipped, 1);
        return;
    }
    if (!alink_usable(c))
        return;
    /* EVAL, not EVALSHA: a fill is rare (a miss), and the script text
     * needs no load nor NOSCRIPT retry on this link */
    char ver[24], t[16];
    snprintf(ver, sizeof ver, "%lld", version);
    snprintf(t, sizeof t, "%d", ttl);
    const char *argv[] = { "EVAL", put_versioned.src, "1", key, ver, payload,
                           c->link.run_id, t };
    (void)aop_send(c, AOP_FILL, 8, argv, 0, NULL, NULL);
}

/* Free the link: every op still on it is answered "unavailable". */
static void alink_free(struct cache *c)
{
    struct alink *a = &c->link;
    a->closing = true;          /* the callbacks below may not open another */
    redisAsyncContext *ac = a->ac;
    if (ac) {
        alink_forget(a);
        redisAsyncFree(ac);
    }
    struct aop *op;
    while ((op = TAILQ_FIRST(&a->ops)))
        aop_complete(op, "", NULL);
    if (a->timer)
        event_free(a->timer);
    a->timer = NULL;
    a->base = NULL;
}
