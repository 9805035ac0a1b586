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

/* SET key value EX ttl that must not be lost while Redis is away: when
 * Redis is unavailable the write is queued (bounded, oldest dropped) and
 * replayed, in order, as soon as this connection is back, before any
 * other command.  Returns 0 when written now, 1 when queued. */
int cache_set_durable(struct cache *c, const char *key, const char *value, int ttl);

/* Number of queued writes (tests, metrics). */
int cache_pending(const struct cache *c);

/* PING: 0 when Redis answered PONG. */
int cache_ping(struct cache *c);

#endif
