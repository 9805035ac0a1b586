/* scoring.c - a region's scoring rule for inspections and the monthly
 * settlement: PUT/GET /v1/regions/{id}/scoring,
 * POST /v1/settlements/inspections (db/scoring.h, db/settle.h). */
#include "api/handlers.h"
#include "api/input.h"
#include "api/reach.h"
#include "server/clock.h"
#include "server/request.h"
#include "server/server.h"
#include "server/settler.h"
#include "server/worker.h"
#include "db/audit.h"
#include "db/db.h"
#include "db/inspections.h"
#include "db/regions.h"
#include "db/scoring.h"
#include "db/settle.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define POINTS_MAX 1000000

static const struct field threshold_fields[] = {
    { "min_rate", FT_NUM, F_REQUIRED, -1000, 1000, NULL },
    { "points", FT_INT, F_REQUIRED, -POINTS_MAX, POINTS_MAX, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field rule_fields[] = {
    { "effective_month", FT_STR, F_REQUIRED, 7, 7, NULL },
    { "per_pass", FT_INT, F_NULLABLE, -POINTS_MAX, POINTS_MAX, NULL },
    { "per_partial", FT_INT, F_NULLABLE, -POINTS_MAX, POINTS_MAX, NULL },
    { "monthly", FT_ARR, F_NULLABLE, 0, SCORING_THRESHOLDS_MAX, threshold_fields },
    { "min_inspections", FT_INT, F_NULLABLE, -1000, 1000, NULL },
    { "black_below", FT_NUM, F_NULLABLE, -1000, 1000, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field settle_fields[] = {
    { "region_id", FT_INT, F_REQUIRED, 1, ID_MAX, NULL },
    { "month", FT_STR, F_REQUIRED, 7, 7, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

/* A rate of 0..1 as basis points (-1 when it has more than 4 decimals
 * or lies outside, so the rule check names it). */
static int rate_bp(double v)
{
    double bp = v * SCORING_BP;
    if (bp < 0 || bp > SCORING_BP || fabs(bp - round(bp)) > 1e-6)
        return -1;
    return (int)round(bp);
}

static bool month_or_reply(struct req *r, const char *month, const char *field)
{
    char first[11], last[11];
    if (inspection_month_days(month, first, last))
        return true;
    reply_error(r, 400, "invalid_request", field, "%s is a month, YYYY-MM", field);
    return false;
}

struct put_rule {
    struct req *r;
    struct scoring_rule *rule;
};

static int put_tx(struct db *d, void *arg)
{
    struct put_rule *p = arg;
    if (scoring_insert(d, p->rule, p->r->who.staff_id) != 0)
        return -1;
    json_t *detail = scoring_json(p->rule);
    int rc = audit_req(p->r, d, "region.scoring", "region", p->rule->region_id, detail);
    json_decref(detail);
    return rc;
}

void h_regions_scoring_put(struct req *r)
{
    if (!input_check_or_reply(r, rule_fields))
        return;
    struct scoring_rule rule = { .min_inspections = 1 };
    const char *month = input_str(r->body, "effective_month");
    if (!month_or_reply(r, month, "effective_month"))
        return;
    snprintf(rule.effective_month, sizeof rule.effective_month, "%s", month);
    long long v;
    if (input_int(r->body, "per_pass", &v))
        rule.per_pass = v;
    if (input_int(r->body, "per_partial", &v))
        rule.per_partial = v;
    if (input_int(r->body, "min_inspections", &v))
        rule.min_inspections = (int)v;
    double bb = 0;
    input_num(r->body, "black_below", &bb);
    rule.black_below_bp = rate_bp(bb);
    if (rule.black_below_bp < 0) {
        reply_error(r, 400, "invalid_request", "black_below",
                    "black_below is a rate between 0 and 1 (at most 4 decimals)");
        return;
    }
    json_t *monthly = json_object_get(r->body, "monthly");
    size_t i;
    json_t *t;
    json_array_foreach(monthly, i, t) {
        double rate = 0;
        input_num(t, "min_rate", &rate);
        input_int(t, "points", &v);
        rule.t[i].min_rate_bp = rate_bp(rate);
        rule.t[i].points = v;
        if (rule.t[i].min_rate_bp < 0) {
            reply_error(r, 400, "invalid_request", "monthly",
                        "monthly[%zu].min_rate is a rate between 0 and 1 (at most 4 decimals)",
                        i);
            return;
        }
        rule.nthresholds++;
    }
    char why[160];
    const char *bad = scoring_rule_check(&rule, why, sizeof why);
    if (bad) {
        reply_error(r, 400, "invalid_request", bad, "%s", why);
        return;
    }
    struct db *d = db_or_reply(r);
    struct region g;
    if (!d || !reach_region_or_reply(r, d, r->param[0], &g))
        return;
    rule.region_id = g.id;
    struct put_rule p = { r, &rule };
    int rc = db_tx(d, put_tx, &p);
    if (rc != DB_TX_COMMITTED) {
        reply_tx_error(r, d, rc);
        return;
    }
    reply_json(r, 200, scoring_json(&rule));
}

void h_regions_scoring_get(struct req *r)
{
    char day[11], month[8];
    const char *m = req_query(r, "month");
    clock_local_day(clock_now(), day, sizeof day);
    snprintf(month, sizeof month, "%.7s", m ? m : day);
    if (m && !month_or_reply(r, m, "month"))
        return;
    struct db *d = db_or_reply(r);
    struct region g;
    if (!d || !reach_region_or_reply(r, d, r->param[0], &g))
        return;
    struct scoring_rule rule;
    int found = scoring_in_force(d, g.path, month, &rule);
    json_t *history = found >= 0 ? scoring_history(d, g.id) : NULL;
    if (!history) {
        reply_db_error(r, d);
        return;
    }
    json_t *o = found ? scoring_json(&rule) : json_pack("{s:n, s:n, s:n, s:n, s:n, s:n, s:n}",
                                                        "id", "effective_month", "per_pass",
                                                        "per_partial", "monthly",
                                                        "min_inspections", "black_below");
    json_object_set_new(o, "source_region_id",
                        found ? json_integer(rule.region_id) : json_null());
    json_object_set_new(o, "region_id", json_integer(g.id));
    json_object_set_new(o, "month", json_string(month));
    json_object_set_new(o, "history", history);
    reply_json(r, 200, o);
}

struct settling {
    struct req *r;
    long long region_id;
    char month[8];
};

static void on_settled(int rc, int errkind, const struct settle_result *res, void *arg)
{
    struct settling *x = arg;
    struct req *r = x->r;
    if (rc != 0)
        reply_store_error(r, errkind);
    else
        reply_json(r, 200, json_pack("{s:I, s:s, s:I, s:I}", "region_id",
                                     (json_int_t)x->region_id, "month", x->month,
                                     "households_settled", (json_int_t)res->households_settled,
                                     "points", (json_int_t)res->points));
    free(x);
    req_finish_async(r);
}

/* Settled on the settler's thread (server/settler.h): a county's
 * households are paid group by group, which must not hold this worker. */
void h_settlements_inspections(struct req *r)
{
    if (!input_check_or_reply(r, settle_fields))
        return;
    const char *month = input_str(r->body, "month");
    long long region_id = 0;
    input_int(r->body, "region_id", &region_id);
    if (!month_or_reply(r, month, "month"))
        return;
    struct db *d = db_or_reply(r);
    struct region g;
    if (!d || !reach_region_or_reply(r, d, region_id, &g))
        return;
    if (!settle_month_ended(month, (long long)clock_now())) {
        reply_error(r, 409, "month_open", "month", "%s has not ended yet", month);
        return;
    }
    struct settling *x = calloc(1, sizeof *x);
    if (!x) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    *x = (struct settling){ .r = r, .region_id = g.id };
    snprintf(x->month, sizeof x->month, "%s", month);
    char actor[32];
    snprintf(actor, sizeof actor, "s:%lld", r->who.staff_id);
    struct audit_actor who = { actor, role_name(r->who.role), r->remote, r->id };
    r->async = true;
    if (settler_submit(r->w->srv->settler, r->w->base, g.path, month, &who, on_settled, x) !=
        0) {
        r->async = false;
        free(x);
        reply_header(r, "Retry-After", "5");
        reply_error(r, 503, "unavailable", NULL, "settlements are busy; try again shortly");
    }
}
