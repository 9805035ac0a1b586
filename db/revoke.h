/* revoke.h - is a token still good?  MariaDB is the record, Redis a cache.
 *
 * A token dies when its jti was logged out (revoked_tokens), or when its
 * subject (staff member or household) is disabled/closed or its
 * token_version moved on.  Reads look in Redis first and fall back to
 * MariaDB, filling Redis with a versioned entry.  Writers update MariaDB
 * first, then write the Redis entry with a higher version; a write that
 * cannot reach Redis is queued and replayed when Redis is back.  Entries
 * written to an earlier Redis incarnation are ignored (a restart may have
 * reloaded a value that predates a change), so with Redis down, restarted
 * or flushed every check falls back to MariaDB and a revoked token is
 * never accepted.  Callers must bump token_version on every status change
 * (db/staff.c, db/households.c do). */
#ifndef WB_REVOKE_H
#define WB_REVOKE_H

struct db;
struct cache;

/* kind is 's' (staff) or 'h' (household).  Returns 0 when the token is
 * live, 1 when revoked (or its subject is gone/disabled, or ver is old),
 * -1 when MariaDB could not be asked (error left on d). */
int revoke_check(struct db *d, struct cache *c, char kind, long long id, long long ver,
                 const char *jti);

/* Log a token out: record jti until exp (epoch seconds).  0 or -1. */
int revoke_jti(struct db *d, struct cache *c, const char *jti, char kind, long long id,
               long long exp);

/* After a staff member's ('s') or household's ('h') status or
 * token_version changed in MariaDB (committed): overwrite its cache entry
 * with the current row. */
void revoke_subject_changed(struct db *d, struct cache *c, char kind, long long id);

/* Delete revocation rows past their expiry; returns rows deleted or -1. */
long long revoke_purge(struct db *d, long long now);

#endif
