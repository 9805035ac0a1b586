/* reports.c - the programme's statistics: GET /v1/reports/collection,
 * /participation, /leaderboard, /flows and /points (api.md, "Reports"),
 * JSON or CSV.
 *
 * What the parameters mean and what a report answers is
 * db/report_build.c's, shared with `wbctl export`; here is what depends on
 * the caller: region_id is required of a region admin (an admin gets the
 * whole tree by default), and a region or site outside reach is 404. */
#include "api/handlers.h"
#include "api/list.h"
#include "api/reach.h"
#include "server/request.h"
#include "db/csvout.h"
#include "db/db.h"
#include "db/regions.h"
#include "db/report_build.h"
#include "db/sites.h"

#include <stdio.h>

static const char *query_param(void *ctx, const char *name)
{
    return req_query(ctx, name);
}

static bool scope_or_reply(struct req *r, struct db *d, struct report_query *q)
{
    struct report_scope *s = &q->s;
    if (!q->region_id) {
        if (r->who.role != ROLE_ADMIN) {
            reply_error(r, 400, "invalid_request", "region_id", "region_id is required");
            return false;
        }
        *s = (struct report_scope){ .id = 0 };
        snprintf(s->path, sizeof s->path, "/");
        snprintf(s->name, sizeof s->name, "全部");
        return true;
    }
    struct region g;
    if (!reach_region_or_reply(r, d, q->region_id, &g))
        return false;
    s->id = g.id;
    snprintf(s->path, sizeof s->path, "%s", g.path);
    snprintf(s->name, sizeof s->name, "%s", g.name);
    snprintf(s->level, sizeof s->level, "%s", g.level);
    struct site site;
    return !q->site_id || reach_site_or_reply(r, d, q->site_id, &site, "site_id");
}

static void serve(struct req *r, enum report_kind kind)
{
    bool csv;
    struct db *d = db_or_reply(r);
    if (!d || !format_csv_or_reply(r, &csv))
        return;
    struct report_query q;
    struct report_refusal f;
    int rc = report_query_parse(d, kind, query_param, r, &q, &f);
    if (rc < 0) {
        reply_db_error(r, d);
        return;
    }
    if (rc > 0) {
        reply_error(r, 400, "invalid_request", f.field, "%s", f.message);
        return;
    }
    if (!scope_or_reply(r, d, &q))
        return;
    json_t *body = report_build(d, kind, &q);
    if (!body) {
        reply_db_error(r, d);
        return;
    }
    if (!csv) {
        reply_json(r, 200, body);
        return;
    }
    struct csv_out out;
    csv_out_init(&out, true);
    report_csv(report_columns(kind), body, &out);
    json_decref(body);
    reply_csv(r, &out);
}

void h_reports_collection(struct req *r)
{
    serve(r, REPORT_COLLECTION);
}

void h_reports_participation(struct req *r)
{
    serve(r, REPORT_PARTICIPATION);
}

void h_reports_leaderboard(struct req *r)
{
    serve(r, REPORT_LEADERBOARD);
}

void h_reports_flows(struct req *r)
{
    serve(r, REPORT_FLOWS);
}

void h_reports_points(struct req *r)
{
    serve(r, REPORT_POINTS);
}
