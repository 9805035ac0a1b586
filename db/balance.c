/* balance.c - see balance.h. */
#include "db/balance.h"
#include "db/cache.h"
#include "db/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static const char SQL_BALANCE[] = "SELECT balance, seq FROM households WHERE id = ?";

void balance_key(char *buf, size_t len, long long household_id)
{
    snprintf(buf, len, "bal:{h:%lld}", household_id);
}

void balance_publish(struct cache *c, long long household_id, long long seq,
                     long long balance)
{
    char key[BALANCE_KEY_MAX], v[24];
    balance_key(key, sizeof key, household_id);
    snprintf(v, sizeof v, "%lld", balance);
    cache_put(c, key, seq, v, BALANCE_TTL, true);
}

void balance_publish_many(struct cache *c, int n, const long long *household_ids,
                          const long long *seqs, const long long *balances)
{
    char keys[64][BALANCE_KEY_MAX], vals[64][24];
    const char *kp[64], *vp[64];
    if (n > 64)
        n = 64;
    for (int i = 0; i < n; i++) {
        balance_key(keys[i], sizeof keys[i], household_ids[i]);
        snprintf(vals[i], sizeof vals[i], "%lld", balances[i]);
        kp[i] = keys[i];
        vp[i] = vals[i];
    }
    (void)cache_put_batch(c, n, kp, seqs, vp, BALANCE_TTL, CACHE_PUT_DURABLE, NULL);
}

int balance_of_entry(const struct cache_entry *e, long long *balance, long long *seq)
{
    if (e->rc != 1)
        return e->rc;
    char *end;
    errno = 0;
    long long v = strtoll(e->payload, &end, 10);
    if (errno || end == e->payload || *end)
        return 0;
    *balance = v;
    *seq = e->version;
    return 1;
}

int balance_cached(struct cache *c, long long household_id, long long *balance, long long *seq)
{
    char key[BALANCE_KEY_MAX];
    struct cache_entry e;
    balance_key(key, sizeof key, household_id);
    e.rc = cache_get(c, key, &e.version, e.payload, sizeof e.payload);
    return balance_of_entry(&e, balance, seq);
}

int balance_read_record(struct db *d, struct cache *c, long long household_id, int cached,
                        long long *balance)
{
    struct db_rows *r = db_query(d, SQL_BALANCE, "i", household_id);
    if (!r)
        return -1;
    long long seq = -1;
    *balance = 0;
    if (db_rows_next(r)) {
        *balance = db_rows_int(r, 0);
        seq = db_rows_int(r, 1);
    }
    db_rows_free(r);
    /* while a publish of this process has not reached Redis (queued, or
     * writes held), leave the entry to that replay: a fill would meet
     * the same Redis, and a missing entry costs only this read */
    if (cached == 0 && seq >= 0 && !cache_writes_behind()) {
        char key[BALANCE_KEY_MAX], v[24];
        balance_key(key, sizeof key, household_id);
        snprintf(v, sizeof v, "%lld", *balance);
        cache_fill(c, key, seq, v, BALANCE_TTL);
    }
    return 0;
}

void balance_forget(struct cache *c, long long household_id)
{
    char key[BALANCE_KEY_MAX];
    balance_key(key, sizeof key, household_id);
    redisReply *r = cache_cmd(c, "DEL %s", key);
    if (r)
        freeReplyObject(r);
}
