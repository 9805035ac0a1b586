/* check.c - see check.h. */
#include "db/check.h"
#include "db/balance.h"
#include "db/cache.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
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
/* A household's debt is what its reversals could not take back, less
 * what later credits recovered. */
static const char SQL_DEBT[] =
    "SELECT h.id, h.debt, COALESCE(s.v, 0) - COALESCE(rc.v, 0) FROM households h "
    "LEFT JOIN (SELECT household_id, SUM(v) AS v FROM (SELECT household_id, shortfall AS v "
    "FROM dropoffs WHERE status = 'reversed' UNION ALL SELECT household_id, shortfall "
    "FROM inspections WHERE status = 'voided') x GROUP BY household_id) s "
    "ON s.household_id = h.id "
    "LEFT JOIN (SELECT household_id, -SUM(delta) AS v FROM ledger WHERE kind = 'recovery' "
    "GROUP BY household_id) rc ON rc.household_id = h.id "
    "WHERE h.debt <> COALESCE(s.v, 0) - COALESCE(rc.v, 0) OR h.debt < 0";
#define PAGE 1000
static const char SQL_ONE_BALANCE[] = "SELECT balance, seq FROM households WHERE id = ?";
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

    r = db_query(d, SQL_DEBT, "");
    if (!r)
        goto fail;
    while (db_rows_next(r)) {
        snprintf(detail, sizeof detail,
                 "debt %lld but shortfalls less recoveries come to %lld", db_rows_int(r, 1),
                 db_rows_int(r, 2));
        add(v, db_rows_int(r, 0), "debt", detail);
    }
    db_rows_free(r);
    if (chain_check(d, v) != 0 || inspection_check(d, v) != 0)
        goto fail;

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
        long long hids[PAGE], bals[PAGE], seqs[PAGE];
        char keys[PAGE][BALANCE_KEY_MAX];
        const char *kp[PAGE];
        struct cache_entry got[PAGE];
        for (int i = 0; db_rows_next(r) && i < PAGE; i++) {
            hids[i] = db_rows_int(r, 0);
            bals[i] = db_rows_int(r, 1);
            seqs[i] = db_rows_int(r, 2);
            balance_key(keys[i], sizeof keys[i], hids[i]);
            kp[i] = keys[i];
        }
        db_rows_free(r);
        after = hids[n - 1];
        if (cache_get_batch(c, n, kp, got) != 0)
            break;              /* Redis unavailable: nothing to compare */
        for (int i = 0; i < n; i++) {
            long long cb = 0, cs = 0;
            if (balance_of_entry(&got[i], &cb, &cs) != 1 || (cb == bals[i] && cs == seqs[i]))
                continue;
            /* A movement may have committed between the two reads, its
             * balance not yet published: look again, a moment later,
             * before calling it a violation. */
            struct timespec pause = { 0, 100 * 1000 * 1000 };
            nanosleep(&pause, NULL);
            long long rbal = 0, rseq = 0, cb2 = 0, cs2 = 0;
            struct db_rows *one = db_query(d, SQL_ONE_BALANCE, "i", hids[i]);
            if (!one)
                goto fail;
            if (db_rows_next(one)) {
                rbal = db_rows_int(one, 0);
                rseq = db_rows_int(one, 1);
            }
            db_rows_free(one);
            int again = balance_cached(c, hids[i], &cb2, &cs2);
            if (again != 1 || (cb2 == rbal && cs2 == rseq))
                continue;
            snprintf(detail, sizeof detail,
                     "Redis holds %lld at seq %lld, MariaDB %lld at seq %lld", cb2, cs2, rbal,
                     rseq);
            add(v, hids[i], "redis_balance", detail);
        }
    }
    *violations = v;
    return 0;
fail:
    json_decref(v);
    return -1;
}

/* Rebuild one page: the versioned rule first (a live server may have
 * published a newer seq since the page was read: that entry stays), then,
 * for entries it left alone, MariaDB again: an entry claiming a seq the
 * record does not have, or another balance at the same seq, is false and
 * is overwritten. */
static int rebuild_page(struct db *d, struct cache *c, int n, const long long *hids,
                        const long long *seqs, const char *const *kp, const char *const *bp)
{
    int written[PAGE];
    if (cache_put_batch(c, n, kp, seqs, bp, BALANCE_TTL, CACHE_PUT_VERSIONED, written) != 0 &&
        cache_put_batch(c, n, kp, seqs, bp, BALANCE_TTL, CACHE_PUT_VERSIONED, written) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        if (written[i])
            continue;
        long long cbal, cseq;
        int rc = balance_cached(c, hids[i], &cbal, &cseq);
        if (rc < 0)
            return -1;
        struct db_rows *r = db_query(d, SQL_ONE_BALANCE, "i", hids[i]);
        if (!r)
            return -1;
        long long bal = 0, seq = 0;
        if (db_rows_next(r)) {
            bal = db_rows_int(r, 0);
            seq = db_rows_int(r, 1);
        }
        db_rows_free(r);
        if (rc == 1 && (cseq > seq || (cseq == seq && cbal != bal))) {
            char b[24];
            snprintf(b, sizeof b, "%lld", bal);
            const char *one_b[] = { b };
            int w;
            if (cache_put_batch(c, 1, &kp[i], &seq, one_b, BALANCE_TTL, CACHE_PUT_FORCE, &w) != 0)
                return -1;
        }
    }
    return 0;
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
        long long hids[PAGE], seqs[PAGE];
        char keys[PAGE][BALANCE_KEY_MAX], bals[PAGE][24];
        const char *kp[PAGE], *bp[PAGE];
        for (int i = 0; db_rows_next(r) && i < PAGE; i++) {
            after = hids[i] = db_rows_int(r, 0);
            balance_key(keys[i], sizeof keys[i], after);
            snprintf(bals[i], sizeof bals[i], "%lld", db_rows_int(r, 1));
            seqs[i] = db_rows_int(r, 2);
            kp[i] = keys[i];
            bp[i] = bals[i];
        }
        db_rows_free(r);
        if (rebuild_page(d, c, n, hids, seqs, kp, bp) != 0)
            return -1;
        written += n;
    }
}
