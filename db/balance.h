/* balance.h - a household's balance in Redis, MariaDB behind it.
 *
 * Key "bal:{h:<id>}" (the hash tag keeps a household's keys on one Redis
 * Cluster shard), a versioned entry (db/cache.h) whose version is the
 * household's ledger seq: a worker that finishes late can never put an
 * older balance back, and an entry from before a Redis restart is not
 * trusted.  Entries live a day.  MariaDB is the record: a miss, an
 * outage or a stale entry reads MariaDB (the primary) and refills.
 *
 * Reads on the request path do not call Redis here: the router reads the
 * entry in the same round trip as the token's revocation entries
 * (server/router.c, a route's prefetch) and the handler decodes it with
 * balance_of_entry, reading the record with balance_read_record when it
 * held nothing to trust. */
#ifndef WB_BALANCE_H
#define WB_BALANCE_H

#include <stddef.h>

struct db;
struct cache;
struct cache_entry;

#define BALANCE_KEY_MAX 48      /* bytes balance_key needs */
#define BALANCE_TTL 86400       /* seconds an entry lives */

/* The entry's key for a household (buf of at least BALANCE_KEY_MAX). */
void balance_key(char *buf, size_t len, long long household_id);

/* After a committed ledger write: publish {balance, seq}.  When Redis is
 * unavailable the write is queued on the connection and replayed later. */
void balance_publish(struct cache *c, long long household_id, long long seq,
                     long long balance);

/* balance_publish for n households (at most 64) in one round trip. */
void balance_publish_many(struct cache *c, int n, const long long *household_ids,
                          const long long *seqs, const long long *balances);

/* An entry read in bulk (cache_get_batch, cache_get_async): its rc, with
 * *balance and *seq filled when it is 1.  An entry that is ours but does
 * not hold a number reads as stale (0). */
int balance_of_entry(const struct cache_entry *e, long long *balance, long long *seq);

/* The balance from MariaDB, once Redis was read and held nothing to
 * trust: cached is that read's rc - 0 (absent or stale: refill the entry,
 * without waiting on Redis) or -1 (Redis not read or unavailable: refill
 * nothing).  While this process has publishes Redis did not take
 * (cache_writes_behind) nothing is refilled either.  0 or -1 (store
 * error; a household that does not exist reads as balance 0). */
int balance_read_record(struct db *d, struct cache *c, long long household_id, int cached,
                        long long *balance);

/* Drop the entry (after a commit whose outcome is unknown). */
void balance_forget(struct cache *c, long long household_id);

/* Redis's entry for a household, on the synchronous connection: 1 with
 * *balance and *seq, 0 none/stale, -1 Redis unavailable. (reconcile) */
int balance_cached(struct cache *c, long long household_id, long long *balance, long long *seq);

#endif
