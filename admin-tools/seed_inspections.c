/* seed_inspections.c - the demo's village programme: 上溪村's scoring rule
 * (from last month: 1 point a pass, 3 points for 80 % accuracy, 1 for
 * 60 %, black below 50 %, at least 4 inspections), its inspector's visits
 * every third day of last month and of this month so far (its accounts
 * dated from before them), and last month settled - all through the ledger engine, as the API would. */
#include "admin-tools/wbctl.h"
#include "db/audit.h"
#include "db/db.h"
#include "db/engine.h"
#include "db/inspections.h"
#include "db/ledger.h"
#include "db/regions.h"
#include "db/scoring.h"
#include "db/settle.h"
#include "server/clock.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A result that differs by household and day, mostly good, a few
 * households sorting poorly (the black list has someone on it). */
static const char *demo_result(int household, int day)
{
    unsigned v = (unsigned)(household * 7 + day * 3) % 10;
    if (household % 5 == 4)
        return v < 3 ? "pass" : v < 5 ? "partial" : "fail";
    return v < 7 ? "pass" : v < 9 ? "partial" : "fail";
}

/* Run the group of k inspections; every one must be recorded. */
static void run_inspections(struct db *d, struct ledger_op *ops, struct ledger_op **opp, int k)
{
    ledger_engine_run(d, opp, k);
    for (int i = 0; i < k; i++) {
        if (ops[i].rc != LEDGER_OK || ops[i].ans.status != 201)
            die(1, "a demo inspection failed (%d, status %d): %s", ops[i].rc, ops[i].ans.status,
                db_error(d));
        ledger_answer_release(&ops[i].ans);
    }
}

/* Inspect every household on the days of [first, last] that are 1 mod 3. */
static void inspect_days(struct db *d, const struct scoring_rule *rule, long long inspector,
                         const long long *households, int n, long long first, long long last)
{
    static struct inspect_in in[LEDGER_GROUP_MAX];
    static char keys[LEDGER_GROUP_MAX][48];
    struct ledger_op ops[LEDGER_GROUP_MAX], *opp[LEDGER_GROUP_MAX] = { NULL };
    char scope[40], actor[32];
    snprintf(scope, sizeof scope, "inspector:%lld", inspector);
    snprintf(actor, sizeof actor, "s:%lld", inspector);
    struct audit_actor who = { actor, "inspector", "local", "seed-demo" };
    int k = 0;
    for (long long day = first; day <= last; day++) {
        int y, m, dd;
        clock_civil_from_days(day, &y, &m, &dd);
        if (dd % 3 != 1)
            continue;
        for (int h = 0; h < n; h++) {
            struct inspect_in *x = &in[k];
            memset(x, 0, sizeof *x);
            snprintf(keys[k], sizeof keys[k], "demo-inspection-%lld-%d", day, h);
            x->scope = scope;
            x->key = keys[k];
            crypto_generichash(x->fp, IDEM_FP_BYTES, (const unsigned char *)keys[k],
                               strlen(keys[k]), NULL, 0);
            x->household_id = households[h];
            x->inspector_id = inspector;
            x->reach = "/";
            snprintf(x->result, sizeof x->result, "%s", demo_result(h, dd));
            x->inspected_at = (long long)clock_local_midnight(y, m, dd) + 9 * 3600 + h * 60;
            snprintf(x->local_day, sizeof x->local_day, "%04d-%02d-%02d", y, m, dd);
            memcpy(x->month, x->local_day, 7);
            x->month[7] = 0;
            x->points = scoring_per_inspection(rule, x->result);
            x->actor = actor;
            x->who = &who;
            inspection_op(&ops[k], x);
            opp[k] = &ops[k];
            if (++k == LEDGER_GROUP_MAX) {
                run_inspections(d, ops, opp, k);
                k = 0;
            }
        }
    }
    if (k > 0)
        run_inspections(d, ops, opp, k);
}

void seed_demo_inspections(struct db *d, const struct region *village, long long inspector,
                           const long long *households, int n)
{
    long long now = (long long)clock_now();
    char today[11], last_month[8];
    clock_local_day((time_t)now, today, sizeof today);
    settle_previous_month(now, last_month);
    struct scoring_rule rule = { .region_id = village->id, .per_pass = 1, .per_partial = 0,
                                 .min_inspections = 4, .black_below_bp = 5000, .nthresholds = 2,
                                 .t = { { 6000, 1 }, { 8000, 3 } } };
    snprintf(rule.effective_month, sizeof rule.effective_month, "%s", last_month);
    char why[160];
    if (scoring_rule_check(&rule, why, sizeof why) || scoring_insert(d, &rule, 0) != 0)
        die(1, "cannot set the demo's scoring rule: %s", db_error(d));
    int y, m, dd;
    char first[11], last[11];
    inspection_month_days(last_month, first, last);
    /* the village's accounts date from before the visits, as they would */
    clock_parse_day(first, &y, &m, &dd);
    for (int i = 0; i < n; i++)
        if (db_exec(d, "UPDATE households SET created_at = FROM_UNIXTIME(?) WHERE id = ?", "ii",
                    (long long)clock_local_midnight(y, m, dd) - 86400, households[i]) < 0)
            die(1, "cannot date the demo's households: %s", db_error(d));
    clock_parse_day(first, &y, &m, &dd);
    long long d0 = clock_days_from_civil(y, m, dd);
    clock_parse_day(today, &y, &m, &dd);
    long long d1 = clock_days_from_civil(y, m, dd);
    inspect_days(d, &rule, inspector, households, n, d0, d1);
    /* nothing serves the new province yet, so no balance of it is cached */
    struct audit_actor who = { "cli", "admin", "local", "seed-demo" };
    struct settle_result res;
    if (settle_month(d, NULL, village->path, last_month, &who, &res) != 0)
        die(1, "cannot settle the demo's last month: %s", db_error(d));
}
