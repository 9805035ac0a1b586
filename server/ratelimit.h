/* ratelimit.h - fixed-window counters: Redis first, this process second.
 *
 * Windows are aligned to multiples of window_s, so every server instance
 * counts into the same Redis key.  When Redis is unavailable (or refuses
 * the write) the count is kept in a table inside this process (shared by
 * its workers, under a mutex): limits then hold per instance instead of
 * cluster-wide.
 *
 * The table never lets one key's events touch another key's count: keys
 * are placed by a hash keyed with a per-process random secret (so no one
 * can choose names that land together) and probe on from there.  When
 * every slot a key may use holds another key's live count, the event is
 * refused (limited): a full table errs strict, never lenient. */
#ifndef WB_RATELIMIT_H
#define WB_RATELIMIT_H

struct ratelimit;
struct cache;

/* Size of the in-process table, and how many slots one key may probe. */
#define RATELIMIT_LOCAL_SLOTS 8192
#define RATELIMIT_LOCAL_PROBES 64

/* NULL on allocation failure. */
struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);

/* Count one event for key.  Returns 0 when it is within limit, else the
 * seconds until the window ends (for Retry-After).  c may be a cache that
 * is not connected (the in-process table then counts). */
int ratelimit_hit(struct ratelimit *rl, struct cache *c, const char *key, int limit,
                  int window_s);

/* The current count for key without counting (0 when none). */
int ratelimit_peek(struct ratelimit *rl, struct cache *c, const char *key, int window_s);

/* Forget key's current window (e.g. after a success). */
void ratelimit_reset(struct ratelimit *rl, struct cache *c, const char *key, int window_s);

/* The in-process table alone, at time now (epoch seconds): what
 * ratelimit_hit does when Redis does not count.  Same result as
 * ratelimit_hit.  Internal; public for the unit tests. */
int ratelimit_local_hit(struct ratelimit *rl, const char *key, int limit, int window_s,
                        long long now);

#endif
