/* revoke.h - is a token still good?  MariaDB is the record, Redis a cache.
 *
 * A token dies when its jti was logged out (revoked_tokens) or, for staff,
 * when the member is disabled or its token_version moved on.  Reads look
 * in Redis first and fall back to MariaDB (then fill Redis with SET NX, so
 * a reader can never overwrite a newer value a writer just put there).
 * Writers update MariaDB first, then overwrite the Redis entry; a Redis
 * write that fails is queued on the connection and replayed when Redis is
 * back (cache_set_durable).  With Redis down every check reads MariaDB,
 * so a revoked token is never accepted. */
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
