/* cache.h - a worker's Redis: a synchronous connection with a circuit
 * breaker (writes, wbctl), and optionally an asynchronous link on the
 * worker's event loop for the request path (cache_attach, below).
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
/* Frees both connections.  Reads still outstanding on the link are
 * answered "unavailable" first (their callbacks run inside cache_free),
 * so free c while whatever those callbacks touch is still alive. */
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

/* A versioned entry as read.  rc: 1 found, written to the Redis now
 * running (version and payload filled); 0 absent, written to an earlier
 * incarnation, or not one of ours (stale: read the record); -1 Redis
 * unavailable. */
#define CACHE_PAYLOAD_MAX 24
struct cache_entry {
    int rc;
    long long version;
    char payload[CACHE_PAYLOAD_MAX];
};

/* Bulk, in one round trip.
 *
 * cache_get_batch reads n entries (one MGET) into out[0..n-1]: 0, or -1
 * when Redis is unavailable (every out[i].rc is then -1).
 *
 * cache_put_batch writes n versioned entries (pipelined) as mode says:
 *   CACHE_PUT_VERSIONED  by the versioned rule; written[i] says whether
 *                        each landed
 *   CACHE_PUT_FORCE      unconditionally (reconcile replacing an entry it
 *                        proved false)
 *   CACHE_PUT_DURABLE    as cache_put with durable set, for each: what
 *                        Redis did not take is deleted or queued for
 *                        replay (a balance publish); written may be NULL
 * Returns 0 when Redis answered every write, -1 when it was unavailable
 * or refused one (some may have landed; durable ones were handed to
 * cache_put, the versioned rule making a second write harmless). */
enum cache_put_mode { CACHE_PUT_VERSIONED, CACHE_PUT_FORCE, CACHE_PUT_DURABLE };
int cache_get_batch(struct cache *c, int n, const char *const *keys, struct cache_entry *out);
int cache_put_batch(struct cache *c, int n, const char *const *keys, const long long *versions,
                    const char *const *payloads, int ttl, enum cache_put_mode mode,
                    int *written);

/* The asynchronous link: the request path's reads, and the cache fills
 * it makes, on a second connection driven by the worker's event_base
 * (hiredis's libevent adapter), so a worker serves other requests while
 * Redis answers.  Nothing here blocks.
 *
 * hiredis 0.14 has no timeout on an async command, so the link keeps its
 * own: a command not answered within CACHE_ASYNC_TIMEOUT_MS drops the
 * connection, and every command still on it is answered "unavailable".
 * The breaker is the synchronous one's (250 ms doubling to 2 s).  While
 * it is open, and while a new connection's handshake (INFO for the
 * run_id, SELECT) is unanswered, calls fail at once and the caller falls
 * back to MariaDB: a Redis that is down or hung makes wait only the
 * requests sent to it before the timeout told.  A timed-out read also
 * opens the synchronous connection's breaker (the same Redis would hold
 * its next write for the 1 s read timeout); a timed-out write opens the
 * write breaker instead (a Redis holding writes still answers reads). */
#define CACHE_ASYNC_TIMEOUT_MS 200
#define CACHE_ASYNC_MAXKEYS 8

struct event_base;

/* Give c its asynchronous link on base, the loop of the thread that owns
 * c (before that thread runs it, or on it).  It starts connecting now.
 * 0, or -1 (out of memory). */
int cache_attach(struct cache *c, struct event_base *base);

/* Called once per cache_get_async that returned 0, from base's loop and
 * never from inside cache_get_async: e[0..n-1] as cache_get_batch's out
 * (every rc -1 when Redis was unavailable, timed out or went away; also
 * when the link was freed with the read outstanding).  e is valid only
 * during the call. */
typedef void (*cache_entries_fn)(void *arg, const struct cache_entry *e);

/* Send an MGET of n keys (1..CACHE_ASYNC_MAXKEYS) on the link.  0 when
 * sent (done will be called); -1 when not (no link, breaker open,
 * handshake not answered yet, or out of memory; done is never called):
 * read the record at once. */
int cache_get_async(struct cache *c, int n, const char *const *keys, cache_entries_fn done,
                    void *arg);

/* A cache fill (cache_put, not durable) that waits for nothing: on the
 * link when attached (dropped when there is no link or the write breaker
 * is open: a missing entry only means a read of the record);
 * synchronous, as cache_put, when c has no link (wbctl). */
void cache_fill(struct cache *c, const char *key, long long version, const char *payload,
                int ttl);

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

/* The worker's tick: try the queued writes again (after a reconnect, or
 * on a live connection whose writes Redis refused), and reopen the
 * asynchronous link when it is down and its breaker allows (without
 * waiting: it is ready once its handshake is answered). */
void cache_flush_pending(struct cache *c);

/* PING: 0 when Redis answered PONG. */
int cache_ping(struct cache *c);

#endif
