/* cache.h - one Redis connection with a circuit breaker.
 *
 * Redis holds only what can be lost (design.md): every caller must cope
 * with a NULL reply, which means "Redis is unavailable, fall back".  A
 * struct cache belongs to one thread.
 *
 * The breaker: after a failed connect or command the link is dropped and
 * no connect is tried again before a back-off (250 ms doubling to 2 s) has
 * passed, so a worker does not pay a connect timeout on every request
 * while Redis is down.  Calls made meanwhile return NULL at once.
 *
 * The write breaker: a Redis may answer reads and hold writes (CLIENT
 * PAUSE ... WRITE): each write then waits out the 1 s read timeout, and
 * reconnecting is no remedy.  After a script (cache_eval: every script
 * here writes) timed out, scripts return NULL at once for 1 s, doubling
 * to 8 s until one succeeds; other commands go on.  This breaker is
 * shared by every struct cache of the process (one Redis for all).
 */
#ifndef WB_CACHE_H
#define WB_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <hiredis/hiredis.h>

struct cache;

/* A Lua script.  Define them as static const objects; the connection
 * loads each one on first use and again after NOSCRIPT. */
struct cache_script {
    const char *name;    /* for logs */
    const char *src;
};

/* url is "redis://host:port[/db]" or "unix:///path[?db=N]".  Does not
 * connect yet.  NULL with err filled when the url is malformed. */
struct cache *cache_new(const char *url, char *err, size_t errlen);
void cache_free(struct cache *c);

/* True when the url parses (used by config validation). */
bool cache_url_valid(const char *url);

/* Connected, or connected now (if the breaker allows a try). */
bool cache_available(struct cache *c);

/* True when the last call found Redis down (breaker open). */
bool cache_down(const struct cache *c);

/* Run one command (hiredis format: pass user data as %s/%b arguments,
 * never as the format).  Returns a reply the caller frees with
 * freeReplyObject, or NULL when Redis is unavailable.  An error reply
 * (REDIS_REPLY_ERROR) is returned as such: it is not a connection
 * failure. */
redisReply *cache_cmd(struct cache *c, const char *fmt, ...);

/* Run EVALSHA for script s with the given keys and arguments (strings),
 * loading the script first if this connection has not yet, and again on
 * NOSCRIPT.  Reply ownership as cache_cmd. */
redisReply *cache_eval(struct cache *c, const struct cache_script *s,
                       int nkeys, const char *const *keys,
                       int nargs, const char *const *args);

/* Versioned cache entries.  A value carries a version (a number that
 * only grows with the state it caches: a ledger seq, a token_version) and
 * the run_id of the Redis it was written to.
 *
 * cache_put writes payload (no '|' in it) at version, unless Redis holds a
 * newer or equal version written to this same Redis incarnation.  With
 * durable set, a write that cannot reach Redis is queued on this
 * connection (bounded, oldest dropped) and replayed through the same
 * versioned script as soon as Redis answers again, before any other
 * command, so a late replay never overwrites a newer value.  Returns 0
 * when written (or found newer), 1 when queued or skipped.
 *
 * cache_get returns 1 with version and payload filled when the key holds a
 * value written to the Redis now running, 0 when absent or written to an
 * earlier incarnation (a restart may have reloaded a value older than the
 * truth), -1 when Redis is unavailable. */
int cache_put(struct cache *c, const char *key, long long version, const char *payload,
              int ttl, bool durable);
int cache_get(struct cache *c, const char *key, long long *version, char *payload,
              size_t len);

/* cache_get for n keys in one round trip (MGET): rc[i] as cache_get's
 * result for keys[i], payloads[i] of len bytes each.  0, or -1 when Redis
 * is unavailable (every rc[i] is then -1). */
int cache_get_many(struct cache *c, int n, const char *const *keys, long long *versions,
                   char (*payloads)[16], int *rc);

/* cache_put with durable set for n entries, pipelined in one round trip
 * when Redis answers every write; otherwise each goes through cache_put
 * (which deletes a refused entry or queues the write). */
void cache_put_durable_many(struct cache *c, int n, const char *const *keys,
                            const long long *versions, const char *const *payloads, int ttl);

/* Bulk, pipelined (for wbctl reconcile): write n versioned entries -
 * by the versioned rule, or with force unconditionally - setting
 * written[i] to whether each landed; or read n of them (rc[i] as
 * cache_get's, payloads[i] of len bytes each).  0, or -1 when Redis is
 * unavailable or refused. */
int cache_put_batch(struct cache *c, int n, const char *const *keys, const long long *versions,
                    const char *const *payloads, int ttl, bool force, int *written);
int cache_get_batch(struct cache *c, int n, const char *const *keys, long long *versions,
                    char *payloads, size_t len, int *rc);

/* The connected server's run_id ("" when not connected): it changes when
 * Redis restarts, so a cached value tagged with it is known to have been
 * written to this very incarnation of the server. */
const char *cache_run_id(const struct cache *c);

/* True while this process knows Redis is missing some of its writes: a
 * durable write waits for replay on some connection, or the write breaker
 * holds writes back.  Reads of entries those writes keep current (a
 * balance) must then go to MariaDB: Redis may still answer them, with a
 * value the missed write would have replaced. */
bool cache_writes_behind(void);

/* Number of queued writes (tests, metrics). */
int cache_pending(const struct cache *c);

/* Try the queued writes again (the worker's tick): after a reconnect, or
 * on a live connection whose writes Redis refused. */
void cache_flush_pending(struct cache *c);

/* PING: 0 when Redis answered PONG. */
int cache_ping(struct cache *c);

#endif
