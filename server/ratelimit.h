/* ratelimit.h - fixed-window counters: Redis first, this process second.
 *
 * Windows are aligned to multiples of window_s, so every server instance
 * counts into the same Redis key.  When Redis is unavailable the count is
 * kept in a table inside this process (shared by its workers, under a
 * mutex): limits then hold per instance instead of cluster-wide. */
#ifndef WB_RATELIMIT_H
#define WB_RATELIMIT_H

struct ratelimit;
struct cache;

struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);

/* Count one event for key.  Returns 0 when it is within limit, else the
 * seconds until the window ends (for Retry-After). */
int ratelimit_hit(struct ratelimit *rl, struct cache *c, const char *key, int limit,
                  int window_s);

/* The current count for key without counting (0 when none). */
int ratelimit_peek(struct ratelimit *rl, struct cache *c, const char *key, int window_s);

/* Forget key's current window (e.g. after a success). */
void ratelimit_reset(struct ratelimit *rl, struct cache *c, const char *key, int window_s);

#endif
