/* revoke.h - is a token still good?  MariaDB is the record, Redis a cache.
 *
 * A token dies when its jti was logged out (revoked_tokens), or when its
 * subject (staff member or household) is disabled/closed or its
 * token_version moved on.  Reads look in Redis first and fall back to
 * MariaDB, filling Redis with a versioned entry.  Writers update MariaDB
 * first, then overwrite the Redis entry with a higher version.  Entries
 * written to an earlier Redis incarnation are ignored (a restart may have
 * reloaded a value that predates a change), so with Redis down, restarted
 * or flushed every check falls back to MariaDB and a revoked token is
 * never accepted.  Callers must bump token_version on every status change
 * (db/staff.c, db/households.c do).
 *
 * The revocation epoch.  A writer whose Redis write fails (Redis down,
 * paused, refusing writes) cannot overwrite the cached "live" answer, and
 * other instances would keep trusting it for up to 30 s.  So every cache
 * key carries the epoch (table auth_epoch), and that writer moves the
 * epoch on in MariaDB: from then on no one trusts an entry of an older
 * epoch.  This process knows at once (a process-wide atomic its workers
 * share); other instances learn it from revoke_tick, once a second, so
 * there a revoked token may still pass for up to about a second after
 * the revoking request was answered.  If even MariaDB cannot take the
 * new epoch, this process trusts no cached answer at all (every check
 * reads MariaDB) until revoke_tick has moved the epoch on. */
#ifndef WB_REVOKE_H
#define WB_REVOKE_H

struct db;
struct cache;
struct cache_entry;

/* Is a token still good?  In three steps, so that the Redis reads can
 * share the request's one round trip with others and need not block
 * (server/router.c):
 *
 *   revoke_begin   names the cache entries to read: q->nkeys keys in
 *                  q->keys (none when no cached answer may be trusted now:
 *                  this process owes an epoch bump).  d is asked only
 *                  the first time, to learn the epoch; with d NULL the
 *                  epoch already known is used (none the first time).
 *   revoke_cached  decides from what Redis answered for those keys (got,
 *                  q->nkeys entries; NULL when Redis was not read or was
 *                  unavailable): 0 live, 1 revoked, -1 undecided.
 *   revoke_end     decides when revoke_cached could not, reading MariaDB
 *                  for what Redis did not know and filling the cache
 *                  without waiting (cache_fill).
 *
 * kind is 's' (staff) or 'h' (household).  The answers are 0 when the
 * token is live, 1 when revoked (or its subject is gone/disabled, or ver
 * is old), -1 (revoke_end) when MariaDB could not be asked (error left on
 * d).  Cached entries are trusted only while the epoch they are keyed
 * with is still this process's trusted one when they are used. */
struct revoke_query {
    char kind;
    long long id, ver;
    char jti[33];
    long long epoch;            /* the keys'; 0: trust nothing cached */
    int nkeys;
    char keys[2][80];           /* subject, jti */
};

void revoke_begin(struct db *d, struct revoke_query *q, char kind, long long id, long long ver,
                  const char *jti);
int revoke_cached(const struct revoke_query *q, const struct cache_entry *got);
int revoke_end(struct db *d, struct cache *c, const struct revoke_query *q,
               const struct cache_entry *got);

/* Log a token out: record jti until exp (epoch seconds) and make every
 * cached answer agree (or move the epoch on).  0, or -1 when MariaDB
 * failed (error left on d; the caller answers 503 and the client may
 * retry: recording a jti twice is harmless). */
int revoke_jti(struct db *d, struct cache *c, const char *jti, char kind, long long id,
               long long exp);

/* After a staff member's ('s') or household's ('h') status or
 * token_version changed in MariaDB (committed): overwrite its cache entry
 * with the current row, or move the epoch on when that cannot be done.
 * Never fails: what it cannot do now, revoke_tick finishes. */
void revoke_subject_changed(struct db *d, struct cache *c, char kind, long long id);

/* Once a second, on one worker of each server (d may be NULL while
 * MariaDB is away: nothing happens): learn the epoch other instances
 * moved on, and move it on for a write this process owes. */
void revoke_tick(struct db *d);

/* Delete revocation rows past their expiry; returns rows deleted or -1. */
long long revoke_purge(struct db *d, long long now);

#endif
