/* settle.c - see settle.h. */
#include "db/settle.h"
#include "db/audit.h"
#include "db/balance.h"
#include "db/db.h"
#include "db/engine.h"
#include "db/households.h"
#include "db/inspections.h"
#include "db/ledger.h"
#include "db/scoring.h"
#include "server/clock.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The households with live inspections in the month and no settlement
 * of it yet, by id. */
static const char SQL_CANDIDATES[] =
    "SELECT i.household_id, g.path FROM regions g STRAIGHT_JOIN inspections i "
    "ON i.region_id = g.id LEFT JOIN inspection_settlements s "
    "ON s.household_id = i.household_id AND s.month = ? "
    "WHERE g.path LIKE CONCAT(?, '%') AND i.local_day BETWEEN ? AND ? "
    "AND i.status = 'recorded' AND s.household_id IS NULL "
    "GROUP BY i.household_id, g.path ORDER BY i.household_id";
static const char SQL_SETTLED[] =
    "SELECT COUNT(*) FROM inspection_settlements WHERE household_id = ? AND month = ?";
static const char SQL_COUNTS[] =
    "SELECT COUNT(*), COALESCE(SUM(result = 'pass'), 0), COALESCE(SUM(result = 'partial'), 0) "
    "FROM inspections WHERE household_id = ? AND local_day BETWEEN ? AND ? "
    "AND status = 'recorded'";
static const char SQL_INSERT[] =
    "INSERT INTO inspection_settlements (household_id, month, region_id, inspections, "
    "accuracy_bp, points, rule_id) VALUES (?, ?, ?, ?, ?, ?, ?)";

struct settle_in {
    long long household_id;
    const char *month, *first, *last;
    const struct scoring_rule *rule;
    const char *actor;
    int settled_stmt, counts_stmt;
    char memo[24];               /* the ledger row's: it outlives decide */
};

static int settle_read(struct engine_tx *tx, struct ledger_op *op)
{
    struct settle_in *in = op->in;
    in->settled_stmt = engine_read(tx, SQL_SETTLED, "is", in->household_id, in->month);
    in->counts_stmt = engine_read(tx, SQL_COUNTS, "iss", in->household_id, in->first, in->last);
    return in->settled_stmt < 0 || in->counts_stmt < 0 ? -1 : 0;
}

/* Under the household's lock, the month as it stands: settled already,
 * too few inspections, or paid now (201 {points}). */
static int settle_decide(struct engine_tx *tx, struct ledger_op *op)
{
    struct settle_in *in = op->in;
    struct ledger_answer *ans = &op->ans;
    struct household_head *h = engine_household(tx, in->household_id);
    struct db_rows *s = engine_read_rows(tx, in->settled_stmt);
    struct db_rows *c = engine_read_rows(tx, in->counts_stmt);
    if (!h || !s || !c || !db_rows_next(s) || !db_rows_next(c))
        return -1;
    ans->household_id = h->id;
    long long n = db_rows_int(c, 0), pass = db_rows_int(c, 1), partial = db_rows_int(c, 2);
    if (db_rows_int(s, 0) > 0 || n == 0 || n < in->rule->min_inspections) {
        ans->status = 200;             /* nothing to do for this household */
        ans->body = json_pack("{s:b}", "settled", 0);
        return ans->body ? 0 : -1;
    }
    long long points = scoring_monthly_points(in->rule, pass, partial, n);
    struct db_param p[] = {
        { 'i', h->id, NULL, 0 },
        { 's', 0, in->month, 0 },
        { 'i', h->region_id, NULL, 0 },
        { 'i', n, NULL, 0 },
        { 'i', scoring_accuracy_bp(pass, partial, n), NULL, 0 },
        { 'i', points, NULL, 0 },
        { 'i', in->rule->id, NULL, 0 },
    };
    if (engine_insert_object(tx, op, SQL_INSERT, p, 7) != 0)
        return -1;
    if (points > 0) {
        snprintf(in->memo, sizeof in->memo, "settlement %s", in->month);
        if (engine_move(tx, h, points, "inspection", 0, engine_ref(op), in->actor, in->memo,
                        NULL) != 0)
            return -1;
        ans->moved = true;
    }
    ans->balance = h->balance;
    ans->seq = h->seq;
    ans->status = 201;
    ans->body = json_pack("{s:b, s:I}", "settled", 1, "points", (json_int_t)points);
    return ans->body ? 0 : -1;
}

static const struct ledger_op_kind settle_kind = { "settlement", NULL, settle_read,
                                                   settle_decide };

/* Run the group of n households; add what it settled to out and publish
 * the balances it moved.  0 or -1. */
static int run_group(struct db *d, struct cache *c, struct settle_in *in, int n,
                     struct settle_result *out)
{
    long long ids[LEDGER_GROUP_MAX], seqs[LEDGER_GROUP_MAX], bals[LEDGER_GROUP_MAX];
    int moved = 0;
    struct ledger_op ops[LEDGER_GROUP_MAX], *opp[LEDGER_GROUP_MAX] = { NULL };
    for (int i = 0; i < n; i++) {
        memset(&ops[i], 0, sizeof ops[i]);
        ops[i].kind = &settle_kind;
        ops[i].in = &in[i];
        ops[i].household_id = in[i].household_id;
        opp[i] = &ops[i];
    }
    ledger_engine_run(d, opp, n);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (ops[i].rc != LEDGER_OK) {
            rc = -1;
        } else if (ops[i].ans.status == 201) {
            out->households_settled++;
            out->points += json_integer_value(json_object_get(ops[i].ans.body, "points"));
            if (ops[i].ans.moved) {
                ids[moved] = ops[i].ans.household_id;
                seqs[moved] = ops[i].ans.seq;
                bals[moved++] = ops[i].ans.balance;
            }
        }
        ledger_answer_release(&ops[i].ans);
    }
    if (c && moved > 0)
        balance_publish_many(c, moved, ids, seqs, bals);
    return rc;
}

int settle_month(struct db *d, struct cache *c, const char *path, const char *month,
                 const struct audit_actor *who, struct settle_result *out)
{
    char first[11], last[11];
    memset(out, 0, sizeof *out);
    if (!inspection_month_days(month, first, last))
        return -1;
    struct db_rows *r = db_query(d, SQL_CANDIDATES, "ssss", month, path, first, last);
    if (!r)
        return -1;
    struct scoring_cache cache = { NULL, 0, 0 };
    struct settle_in in[LEDGER_GROUP_MAX];
    int n = 0, rc = 0, err = 0;
    while (rc == 0 && db_rows_next(r)) {
        const struct scoring_rule *rule = scoring_cached(d, &cache, db_rows_str(r, 1, NULL),
                                                         month, &err);
        if (err) {
            rc = -1;
            break;
        }
        if (!rule)
            continue;                  /* no rule: inspections earn nothing */
        in[n] = (struct settle_in){ .household_id = db_rows_int(r, 0), .month = month,
                                    .first = first, .last = last, .rule = rule,
                                    .actor = who->actor, .settled_stmt = -1, .counts_stmt = -1 };
        if (++n == LEDGER_GROUP_MAX) {
            rc = run_group(d, c, in, n, out);
            n = 0;
        }
    }
    if (rc == 0 && n > 0)
        rc = run_group(d, c, in, n, out);
    db_rows_free(r);
    scoring_cache_free(&cache);
    if (rc == 0 && out->households_settled > 0) {
        json_t *detail = json_pack("{s:s, s:s, s:I, s:I}", "path", path, "month", month,
                                   "households_settled", (json_int_t)out->households_settled,
                                   "points", (json_int_t)out->points);
        rc = audit_write(d, who, "inspection.settle", "region", 0, detail);
        json_decref(detail);
    }
    return rc;
}

void settle_previous_month(long long now, char out[8])
{
    char day[11];
    clock_local_day((time_t)now, day, sizeof day);
    int y = 0, m = 0;
    sscanf(day, "%4d-%2d", &y, &m);
    if (--m == 0) {
        m = 12;
        y--;
    }
    char buf[24];
    snprintf(buf, sizeof buf, "%04d-%02d", y, m);
    snprintf(out, 8, "%.7s", buf);
}

bool settle_month_ended(const char *month, long long now)
{
    char first[11], last[11], today[11];
    if (!inspection_month_days(month, first, last))
        return false;
    clock_local_day((time_t)now, today, sizeof today);
    return strcmp(today, last) > 0;
}
