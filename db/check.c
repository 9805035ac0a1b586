/* check.c - see check.h. */
#include "db/check.h"
#include "db/balance.h"
#include "db/cache.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_SUMS[] =
    "SELECT h.id, h.balance, h.seq, COALESCE(l.s, 0), COALESCE(l.n, 0) FROM households h "
    "LEFT JOIN (SELECT household_id, SUM(delta) AS s, COUNT(*) AS n FROM ledger "
    "GROUP BY household_id) l ON l.household_id = h.id "
    "WHERE h.balance <> COALESCE(l.s, 0) OR h.seq <> COALESCE(l.n, 0) OR h.balance < 0";
static const char SQL_COUNT[] = "SELECT COUNT(*) FROM households";
static const char SQL_LINES[] =
    "SELECT d.household_id, d.id, d.points, COALESCE(SUM(l.points), 0) FROM dropoffs d "
    "LEFT JOIN dropoff_lines l ON l.dropoff_id = d.id GROUP BY d.id "
    "HAVING d.points <> COALESCE(SUM(l.points), 0)";
static const char SQL_REVERSALS[] =
    "SELECT d.household_id, d.id, d.status, COUNT(l.seq), d.clawed_back FROM dropoffs d "
    "LEFT JOIN ledger l ON l.kind = 'reversal' AND l.ref_id = d.id "
    "GROUP BY d.id HAVING COUNT(l.seq) > 1 OR (d.status = 'ok' AND COUNT(l.seq) > 0) "
    "OR (d.status = 'reversed' AND COUNT(l.seq) = 0 AND d.clawed_back > 0)";
#define PAGE 1000
#define BALANCE_TTL_S 86400     /* as db/balance.c */
static const char SQL_BALANCES[] =
    "SELECT id, balance, seq FROM households WHERE id > ? ORDER BY id LIMIT 1000";

static void add(json_t *v, long long hid, const char *rule, const char *detail)
{
    if (json_array_size(v) >= CHECK_MAX_VIOLATIONS)
        return;
    json_array_append_new(v, json_pack("{s:I, s:s, s:s}", "household_id", (json_int_t)hid,
                                       "rule", rule, "detail", detail));
}

int ledger_check(struct db *d, struct cache *c, json_t **violations, long long *checked)
{
    json_t *v = json_array();
    char detail[200];
    *violations = NULL;
    if (db_query_int(d, checked, SQL_COUNT, "") < 0)
        goto fail;

    struct db_rows *r = db_query(d, SQL_SUMS, "");
    if (!r)
        goto fail;
    while (db_rows_next(r)) {
        long long hid = db_rows_int(r, 0), bal = db_rows_int(r, 1), seq = db_rows_int(r, 2);
        long long sum = db_rows_int(r, 3), n = db_rows_int(r, 4);
        if (bal != sum) {
            snprintf(detail, sizeof detail, "balance %lld but the ledger sums to %lld", bal, sum);
            add(v, hid, "balance_sum", detail);
        }
        if (seq != n) {
            snprintf(detail, sizeof detail, "seq %lld but %lld ledger rows", seq, n);
            add(v, hid, "seq_count", detail);
        }
        if (bal < 0) {
            snprintf(detail, sizeof detail, "balance %lld is negative", bal);
            add(v, hid, "negative", detail);
        }
    }
    db_rows_free(r);

    r = db_query(d, SQL_LINES, "");
    if (!r)
        goto fail;
    while (db_rows_next(r)) {
        snprintf(detail, sizeof detail, "drop-off %lld has %lld points but its lines sum to %lld",
                 db_rows_int(r, 1), db_rows_int(r, 2), db_rows_int(r, 3));
        add(v, db_rows_int(r, 0), "dropoff_lines", detail);
    }
    db_rows_free(r);

    r = db_query(d, SQL_REVERSALS, "");
    if (!r)
        goto fail;
    while (db_rows_next(r)) {
        snprintf(detail, sizeof detail, "drop-off %lld (%s) has %lld reversal rows",
                 db_rows_int(r, 1), db_rows_str(r, 2, NULL), db_rows_int(r, 3));
        add(v, db_rows_int(r, 0), "reversal_once", detail);
    }
    db_rows_free(r);

    /* Redis: every household, a thousand at a time, pipelined */
    for (long long after = 0; c;) {
        r = db_query(d, SQL_BALANCES, "i", after);
        if (!r)
            goto fail;
        int n = (int)db_rows_count(r);
        if (n == 0) {
            db_rows_free(r);
            break;
        }
        long long hids[PAGE], bals[PAGE], seqs[PAGE], cseq[PAGE];
        char keys[PAGE][48], cbal[PAGE][24];
        const char *kp[PAGE];
        int rc[PAGE];
        for (int i = 0; db_rows_next(r) && i < PAGE; i++) {
            hids[i] = db_rows_int(r, 0);
            bals[i] = db_rows_int(r, 1);
            seqs[i] = db_rows_int(r, 2);
            snprintf(keys[i], sizeof keys[i], "bal:{h:%lld}", hids[i]);
            kp[i] = keys[i];
        }
        db_rows_free(r);
        after = hids[n - 1];
        if (cache_get_batch(c, n, kp, cseq, &cbal[0][0], sizeof cbal[0], rc) != 0)
            break;              /* Redis unavailable: nothing to compare */
        for (int i = 0; i < n; i++) {
            long long cb = rc[i] == 1 ? strtoll(cbal[i], NULL, 10) : 0;
            if (rc[i] == 1 && (cb != bals[i] || cseq[i] != seqs[i])) {
                snprintf(detail, sizeof detail,
                         "Redis holds %lld at seq %lld, MariaDB %lld at seq %lld", cb, cseq[i],
                         bals[i], seqs[i]);
                add(v, hids[i], "redis_balance", detail);
            }
        }
    }
    *violations = v;
    return 0;
fail:
    json_decref(v);
    return -1;
}

long long ledger_rebuild_cache(struct db *d, struct cache *c)
{
    long long written = 0;
    if (!cache_available(c))
        return -1;
    for (long long after = 0;;) {
        struct db_rows *r = db_query(d, SQL_BALANCES, "i", after);
        if (!r)
            return -1;
        int n = (int)db_rows_count(r);
        if (n == 0) {
            db_rows_free(r);
            return written;
        }
        long long seqs[PAGE];
        char keys[PAGE][48], bals[PAGE][24];
        const char *kp[PAGE], *bp[PAGE];
        for (int i = 0; db_rows_next(r) && i < PAGE; i++) {
            after = db_rows_int(r, 0);
            snprintf(keys[i], sizeof keys[i], "bal:{h:%lld}", after);
            snprintf(bals[i], sizeof bals[i], "%lld", db_rows_int(r, 1));
            seqs[i] = db_rows_int(r, 2);
            kp[i] = keys[i];
            bp[i] = bals[i];
        }
        db_rows_free(r);
        /* replace whatever is there, even an entry claiming a newer seq:
         * MariaDB is the record */
        if (cache_put_batch(c, n, kp, seqs, bp, BALANCE_TTL_S) != 0)
            return -1;
        written += n;
    }
}
