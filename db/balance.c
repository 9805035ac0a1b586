/* balance.c - see balance.h. */
#include "db/balance.h"
#include "db/cache.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>

#define BALANCE_TTL 86400

static const char SQL_BALANCE[] = "SELECT balance, seq FROM households WHERE id = ?";

static void key_of(char *buf, size_t len, long long id)
{
    snprintf(buf, len, "bal:{h:%lld}", id);
}

void balance_publish(struct cache *c, long long household_id, long long seq,
                     long long balance)
{
    char key[48], v[24];
    key_of(key, sizeof key, household_id);
    snprintf(v, sizeof v, "%lld", balance);
    cache_put(c, key, seq, v, BALANCE_TTL, true);
}

void balance_publish_many(struct cache *c, int n, const long long *household_ids,
                          const long long *seqs, const long long *balances)
{
    char keys[64][48], vals[64][24];
    const char *kp[64], *vp[64];
    if (n > 64)
        n = 64;
    for (int i = 0; i < n; i++) {
        key_of(keys[i], sizeof keys[i], household_ids[i]);
        snprintf(vals[i], sizeof vals[i], "%lld", balances[i]);
        kp[i] = keys[i];
        vp[i] = vals[i];
    }
    cache_put_durable_many(c, n, kp, seqs, vp, BALANCE_TTL);
}

int balance_cached(struct cache *c, long long household_id, long long *balance, long long *seq)
{
    char key[48], v[24];
    key_of(key, sizeof key, household_id);
    int rc = cache_get(c, key, seq, v, sizeof v);
    if (rc == 1)
        *balance = strtoll(v, NULL, 10);
    return rc;
}

int balance_read(struct db *d, struct cache *c, long long household_id, long long *balance)
{
    long long seq;
    /* while a publish of this process has not reached Redis, an entry
     * there may be older than the ledger: read the ledger (and refill
     * nothing) */
    int rc = cache_writes_behind() ? -1 : balance_cached(c, household_id, balance, &seq);
    if (rc == 1)
        return 0;
    struct db_rows *r = db_query(d, SQL_BALANCE, "i", household_id);
    if (!r)
        return -1;
    *balance = 0;
    seq = -1;
    if (db_rows_next(r)) {
        *balance = db_rows_int(r, 0);
        seq = db_rows_int(r, 1);
    }
    db_rows_free(r);
    if (rc == 0 && seq >= 0) {
        char key[48], v[24];
        key_of(key, sizeof key, household_id);
        snprintf(v, sizeof v, "%lld", *balance);
        cache_put(c, key, seq, v, BALANCE_TTL, false);
    }
    return 0;
}

void balance_forget(struct cache *c, long long household_id)
{
    char key[48];
    key_of(key, sizeof key, household_id);
    redisReply *r = cache_cmd(c, "DEL %s", key);
    if (r)
        freeReplyObject(r);
}
