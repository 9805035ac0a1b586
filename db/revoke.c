/* revoke.c - see revoke.h. */
#include "db/revoke.h"
#include "db/cache.h"
#include "db/db.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define SUBJECT_TTL 30          /* seconds a subject's status is cached */
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
    if (db_rows_next(r) && db_rows_int(r, 0) == 1) {
        *ver = db_rows_int(r, 1);
        st = 1;
    }
    db_rows_free(r);
    return st;
}

/* Parse "1:<ver>" / "0:0" cached subject state. */
static int parse_state(const char *s, long long *ver)
{
    long long v;
    int active;
    if (sscanf(s, "%d:%lld", &active, &v) != 2)
        return -1;
    *ver = v;
    return active ? 1 : 0;
}

int revoke_check(struct db *d, struct cache *c, char kind, long long id, long long ver,
                 const char *jti)
{
    char skey[64], jkey[64];
    subject_key(skey, sizeof skey, kind, id);
    jti_key(jkey, sizeof jkey, jti);

    int state = -2, revoked = -2;
    long long cur_ver = 0;
    redisReply *r = cache_cmd(c, "MGET %s %s", skey, jkey);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        if (r->element[0]->type == REDIS_REPLY_STRING)
            state = parse_state(r->element[0]->str, &cur_ver);
        if (r->element[1]->type == REDIS_REPLY_STRING)
            revoked = strcmp(r->element[1]->str, "1") == 0;
    }
    bool redis_ok = r != NULL;
    if (r)
        freeReplyObject(r);

    if (state < 0) {
        state = subject_state(d, kind, id, &cur_ver);
        if (state < 0)
            return -1;
        if (redis_ok) {
            char v[48];
            snprintf(v, sizeof v, "%d:%lld", state, cur_ver);
            redisReply *w = cache_cmd(c, "SET %s %s EX %d NX", skey, v, SUBJECT_TTL);
            if (w)
                freeReplyObject(w);
        }
    }
    if (revoked < 0) {
        long long n = 0;
        if (db_query_int(d, &n, SQL_JTI_REVOKED, "s", jti) < 0)
            return -1;
        revoked = n > 0;
        if (redis_ok && !revoked) {
            redisReply *w = cache_cmd(c, "SET %s 0 EX %d NX", jkey, LIVE_JTI_TTL);
            if (w)
                freeReplyObject(w);
        }
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
        cache_set_durable(c, key, "1", (int)(left < 86400 * 31 ? left : 86400 * 31));
    }
    return 0;
}

void revoke_subject_changed(struct db *d, struct cache *c, char kind, long long id)
{
    char key[64], v[48];
    long long ver = 0;
    int st = subject_state(d, kind, id, &ver);
    subject_key(key, sizeof key, kind, id);
    if (st < 0) {
        /* cannot read the row: make every cached answer about it fail safe */
        cache_set_durable(c, key, "0:0", SUBJECT_TTL);
        return;
    }
    snprintf(v, sizeof v, "%d:%lld", st, ver);
    cache_set_durable(c, key, v, SUBJECT_TTL);
}

long long revoke_purge(struct db *d, long long now)
{
    return db_exec(d, SQL_PURGE, "i", now);
}
