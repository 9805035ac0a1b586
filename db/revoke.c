/* revoke.c - see revoke.h.
 *
 * Cache entries (db/cache.h, versioned and tagged with the Redis run_id):
 *   auth:j:<jti>      version 0 payload "0" = live, version 1 "1" = revoked
 *   auth:s:<id>       staff: version token_version, payload "1" active / "0"
 *   auth:h:<id>       household: the same, "0" when closed
 * Every status change bumps token_version, so a newer state always has a
 * higher version and an old write can never win over a new one. */
#include "db/revoke.h"
#include "db/cache.h"
#include "db/db.h"

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

static void subject_key(char *buf, size_t len, char kind, long long id)
{
    snprintf(buf, len, "auth:%c:%lld", kind, id);
}

static void jti_key(char *buf, size_t len, const char *jti)
{
    snprintf(buf, len, "auth:j:%s", jti);
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

int revoke_check(struct db *d, struct cache *c, char kind, long long id, long long ver,
                 const char *jti)
{
    char skey[64], jkey[64], payload[8];
    subject_key(skey, sizeof skey, kind, id);
    jti_key(jkey, sizeof jkey, jti);

    long long cur_ver = 0;
    int state = -1, revoked = -1;
    const char *keys[2] = { skey, jkey };
    long long vers[2];
    char payloads[2][16];
    int got[2];
    bool redis_ok = cache_get_many(c, 2, keys, vers, payloads, got) == 0;
    if (redis_ok && got[0] == 1) {
        state = strcmp(payloads[0], "1") == 0;
        cur_ver = vers[0];
    }
    if (redis_ok && got[1] == 1)
        revoked = vers[1] >= 1;
    (void)payload;

    if (state < 0) {
        state = subject_state(d, kind, id, &cur_ver);
        if (state < 0)
            return -1;
        if (redis_ok)
            cache_put(c, skey, cur_ver, state ? "1" : "0", SUBJECT_TTL, false);
    }
    if (revoked < 0) {
        long long n = 0;
        if (db_query_int(d, &n, SQL_JTI_REVOKED, "s", jti) < 0)
            return -1;
        revoked = n > 0;
        if (redis_ok)
            cache_put(c, jkey, revoked, revoked ? "1" : "0", revoked ? 86400 : LIVE_JTI_TTL,
                      false);
    }
    if (revoked || state != 1 || cur_ver != ver)
        return 1;
    return 0;
}

int revoke_jti(struct db *d, struct cache *c, const char *jti, char kind, long long id,
               long long exp)
{
    char subject[48], key[64];
    snprintf(subject, sizeof subject, "%c:%lld", kind, id);
    if (db_exec(d, SQL_REVOKE, "ssi", jti, subject, exp) < 0)
        return -1;
    long long left = exp - (long long)time(NULL);
    if (left > 0) {
        jti_key(key, sizeof key, jti);
        cache_put(c, key, 1, "1", (int)(left < 86400 * 31 ? left : 86400 * 31), true);
    }
    return 0;
}

void revoke_subject_changed(struct db *d, struct cache *c, char kind, long long id)
{
    char key[64];
    long long ver = 0;
    int st = subject_state(d, kind, id, &ver);
    if (st < 0)
        return;    /* readers then find the old version tag mismatch on ver */
    subject_key(key, sizeof key, kind, id);
    cache_put(c, key, ver, st ? "1" : "0", SUBJECT_TTL, true);
}

long long revoke_purge(struct db *d, long long now)
{
    return db_exec(d, SQL_PURGE, "i", now);
}
