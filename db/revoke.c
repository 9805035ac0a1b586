/* revoke.c - see revoke.h.
 *
 * Cache entries (db/cache.h, versioned and tagged with the Redis run_id),
 * E being the revocation epoch:
 *   auth:E:j:<jti>    version 0 payload "0" = live, version 1 "1" = revoked
 *   auth:E:s:<id>     staff: version token_version, payload "1" active / "0"
 *   auth:E:h:<id>     household: the same, "0" when closed
 * Every status change bumps token_version, so a newer state always has a
 * higher version and an old write can never win over a new one.
 *
 * Why an entry of epoch E can be trusted: whoever wrote it read E before
 * reading MariaDB.  A revocation whose Redis write failed moves the epoch
 * to E+1 only after it committed, so every entry under E+1 was read from
 * MariaDB after that revocation, and entries under E are no longer read by
 * anyone who knows E+1.
 *
 * Checks read their two entries in the request's one round trip (the
 * router's MGET on the worker's asynchronous link, which does not block
 * the worker), so between revoke_begin and the answer other requests run:
 * a revocation of this process whose write failed may have moved the
 * epoch on (or left a bump owed) meanwhile.  Entries are therefore
 * trusted only if their epoch is still the trusted one when they are
 * used, and fills go out under keys still current.  Fills wait for
 * nothing (cache_fill): one that is lost only costs a later read of
 * MariaDB, and the versioned rule keeps a late one from undoing a
 * revocation written meanwhile (revoked is version 1, live 0; a subject's
 * version is its token_version).
 *
 * Writes of revocations are synchronous and not queued for replay
 * (cache_put's durable flag): the revoking request must know whether the
 * write landed before it answers, since moving the epoch on is what makes
 * a failed write safe, and a retry would only make a paused Redis stall
 * the request twice. */
#include "db/revoke.h"
#include "db/cache.h"
#include "db/db.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SUBJECT_TTL 30          /* seconds a subject's state is cached */
#define LIVE_JTI_TTL 30         /* seconds a "not revoked" answer is cached */

static const char SQL_STAFF_STATE[] =
    "SELECT status = 'active', token_version FROM staff WHERE id = ?";
/* A closed household's sessions end; a suspended one may still read. */
static const char SQL_HOUSEHOLD_STATE[] =
    "SELECT status <> 'closed', token_version FROM households WHERE id = ?";
static const char SQL_JTI_REVOKED[] =
    "SELECT COUNT(*) FROM revoked_tokens WHERE jti = ?";
static const char SQL_REVOKE[] =
    "INSERT IGNORE INTO revoked_tokens (jti, subject, expires_at) VALUES (?, ?, ?)";
static const char SQL_PURGE[] =
    "DELETE FROM revoked_tokens WHERE expires_at < ? LIMIT 10000";
/* No row reads as epoch 1 and the bump creates it: the scheme holds even
 * if the row was lost. */
static const char SQL_EPOCH[] = "SELECT epoch FROM auth_epoch WHERE id = 1";
static const char SQL_BUMP[] =
    "INSERT INTO auth_epoch (id, epoch) VALUES (1, 2) ON DUPLICATE KEY UPDATE epoch = epoch + 1";

/* Process-wide, shared by every worker (lock-free atomics):
 *   epoch_known  the newest epoch this process has seen; 0 = not read yet
 *   owed         failed bumps so far; paid: the value of owed that the
 *                last successful bump covers.  While paid < owed this
 *                process trusts no cached answer. */
static _Atomic long long epoch_known;
static atomic_llong owed, paid;

static void epoch_learn(long long e)
{
    long long cur = atomic_load(&epoch_known);
    while (e > cur && !atomic_compare_exchange_weak(&epoch_known, &cur, e))
        ;
}

/* Read the epoch from MariaDB into epoch_known: 0 or -1. */
static int epoch_read(struct db *d)
{
    long long e = 1;
    if (db_query_int(d, &e, SQL_EPOCH, "") < 0)
        return -1;
    epoch_learn(e > 0 ? e : 1);
    return 0;
}

/* The epoch to key entries with, reading it on first use; 0 when it is
 * unknown or this process owes a bump (trust nothing cached then). */
static long long epoch_trusted(struct db *d)
{
    if (atomic_load(&paid) != atomic_load(&owed))
        return 0;
    long long e = atomic_load(&epoch_known);
    if (!e && epoch_read(d) == 0)
        e = atomic_load(&epoch_known);
    return e;
}

/* Move the epoch on.  A bump covers every failure recorded before it
 * started (their revocations had committed by then), not one recorded
 * while its UPDATE ran.  On failure the debt stays for revoke_tick. */
static int epoch_bump(struct db *d)
{
    long long debt = atomic_load(&owed);
    if (!d || db_exec(d, SQL_BUMP, "") < 0 || epoch_read(d) != 0)
        return -1;
    long long cur = atomic_load(&paid);
    while (debt > cur && !atomic_compare_exchange_weak(&paid, &cur, debt))
        ;
    return 0;
}

/* A write that should have replaced a cached answer did not land. */
static int write_failed(struct db *d)
{
    if (epoch_bump(d) == 0)
        return 0;
    atomic_fetch_add(&owed, 1);
    return -1;
}

static void subject_key(char *buf, size_t len, long long epoch, char kind, long long id)
{
    snprintf(buf, len, "auth:%lld:%c:%lld", epoch, kind, id);
}

static void jti_key(char *buf, size_t len, long long epoch, const char *jti)
{
    snprintf(buf, len, "auth:%lld:j:%s", epoch, jti);
}

/* Subject state from MariaDB: 1 active with *ver filled, 0 gone or
 * disabled, -1 error. */
static int subject_state(struct db *d, char kind, long long id, long long *ver)
{
    struct db_rows *r = db_query(d, kind == 's' ? SQL_STAFF_STATE : SQL_HOUSEHOLD_STATE,
                                 "i", id);
    if (!r)
        return -1;
    int st = 0;
    *ver = 0;
    if (db_rows_next(r)) {
        *ver = db_rows_int(r, 1);
        st = db_rows_int(r, 0) == 1;
    }
    db_rows_free(r);
    return st;
}

/* The epoch entries may be trusted with now, without asking MariaDB: 0
 * while it is unknown or a bump is owed. */
static long long epoch_now(void)
{
    if (atomic_load(&paid) != atomic_load(&owed))
        return 0;
    return atomic_load(&epoch_known);
}

void revoke_begin(struct db *d, struct revoke_query *q, char kind, long long id, long long ver,
                  const char *jti)
{
    q->kind = kind;
    q->id = id;
    q->ver = ver;
    snprintf(q->jti, sizeof q->jti, "%s", jti);
    q->epoch = d ? epoch_trusted(d) : epoch_now();
    q->nkeys = 0;
    if (q->epoch > 0) {
        subject_key(q->keys[0], sizeof q->keys[0], q->epoch, kind, id);
        jti_key(q->keys[1], sizeof q->keys[1], q->epoch, q->jti);
        q->nkeys = 2;
    }
}

/* What the cache says: *state 1 active / 0 not (with *cur_ver), -1 not
 * known; *revoked 1 / 0, -1 not known.  Nothing is known when Redis was
 * not read, or when the epoch moved on (or a bump became owed) since the
 * keys were made: a revocation whose write failed may lie between. */
static void from_cache(const struct revoke_query *q, const struct cache_entry *got, int *state,
                       long long *cur_ver, int *revoked)
{
    *state = *revoked = -1;
    *cur_ver = 0;
    if (!got || q->nkeys != 2 || epoch_now() != q->epoch)
        return;
    if (got[0].rc == 1) {
        *state = strcmp(got[0].payload, "1") == 0;
        *cur_ver = got[0].version;
    }
    if (got[1].rc == 1)
        *revoked = got[1].version >= 1;
}

int revoke_cached(const struct revoke_query *q, const struct cache_entry *got)
{
    int state, revoked;
    long long cur_ver;
    from_cache(q, got, &state, &cur_ver, &revoked);
    if (revoked == 1 || (state >= 0 && (state != 1 || cur_ver != q->ver)))
        return 1;
    if (revoked == 0 && state == 1)
        return 0;
    return -1;
}

int revoke_end(struct db *d, struct cache *c, const struct revoke_query *q,
               const struct cache_entry *got)
{
    int state, revoked;
    long long cur_ver;
    from_cache(q, got, &state, &cur_ver, &revoked);
    /* fill only what Redis answered for, under keys still current */
    bool fill = got && got[0].rc >= 0 && q->nkeys == 2 && epoch_now() == q->epoch;
    if (state < 0) {
        state = subject_state(d, q->kind, q->id, &cur_ver);
        if (state < 0)
            return -1;
        if (fill)
            cache_fill(c, q->keys[0], cur_ver, state ? "1" : "0", SUBJECT_TTL);
    }
    if (revoked < 0) {
        long long n = 0;
        if (db_query_int(d, &n, SQL_JTI_REVOKED, "s", q->jti) < 0)
            return -1;
        revoked = n > 0;
        if (fill)
            cache_fill(c, q->keys[1], revoked, revoked ? "1" : "0",
                       revoked ? 86400 : LIVE_JTI_TTL);
    }
    if (revoked || state != 1 || cur_ver != q->ver)
        return 1;
    return 0;
}

int revoke_jti(struct db *d, struct cache *c, const char *jti, char kind, long long id,
               long long exp)
{
    char subject[48], key[80];
    snprintf(subject, sizeof subject, "%c:%lld", kind, id);
    if (db_exec(d, SQL_REVOKE, "ssi", jti, subject, exp) < 0)
        return -1;
    long long left = exp - (long long)time(NULL);
    if (left <= 0)
        return 0;                /* expired already: no check will pass it */
    long long epoch = epoch_trusted(d);
    if (epoch > 0) {
        jti_key(key, sizeof key, epoch, jti);
        if (cache_put(c, key, 1, "1", (int)(left < 86400 * 31 ? left : 86400 * 31), false) == 0)
            return 0;
    }
    /* The revocation is recorded; a failed bump is owed and this process
     * trusts nothing cached meanwhile, but the client should hear that
     * the logout did not fully land (sending it again is harmless). */
    return write_failed(d);
}

void revoke_subject_changed(struct db *d, struct cache *c, char kind, long long id)
{
    char key[64];
    long long ver = 0;
    int st = subject_state(d, kind, id, &ver);
    long long epoch = st < 0 ? 0 : epoch_trusted(d);
    if (epoch > 0) {
        subject_key(key, sizeof key, epoch, kind, id);
        if (cache_put(c, key, ver, st ? "1" : "0", SUBJECT_TTL, false) == 0)
            return;
    }
    (void)write_failed(d);       /* owed on failure: revoke_tick pays it */
}

void revoke_tick(struct db *d)
{
    if (!d)
        return;
    if (atomic_load(&paid) != atomic_load(&owed))
        (void)epoch_bump(d);
    else
        (void)epoch_read(d);
}

long long revoke_purge(struct db *d, long long now)
{
    return db_exec(d, SQL_PURGE, "i", now);
}
