/* reports.c - the programme's statistics: GET /v1/reports/collection,
 * /participation, /leaderboard, /flows and /points (api.md, "Reports"),
 * and the village programme's /accuracy and /honour-roll, JSON or CSV;
 * the honour roll also as an A4 PDF poster for the notice board.
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
#include "qr/poster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The honour roll's lists as poster entries (n of them); NULL when out
 * of memory. */
static struct poster_entry *poster_list(json_t *list, size_t *n)
{
    *n = json_array_size(list);
    struct poster_entry *e = calloc(*n ? *n : 1, sizeof *e);
    for (size_t i = 0; e && i < *n; i++) {
        json_t *o = json_array_get(list, i);
        snprintf(e[i].name, sizeof e[i].name, "%s",
                 json_string_value(json_object_get(o, "head_name_masked")));
        e[i].inspections = (int)json_integer_value(json_object_get(o, "inspections"));
        e[i].accuracy = json_number_value(json_object_get(o, "accuracy"));
        e[i].points = json_integer_value(json_object_get(o, "points"));
    }
    return e;
}

/* Reply the honour roll body (released) as the PDF poster. */
static void reply_poster(struct req *r, json_t *body)
{
    struct poster p = { json_string_value(json_object_get(body, "region_name")),
                        json_string_value(json_object_get(body, "month")), NULL, NULL, 0, 0 };
    struct poster_entry *red = poster_list(json_object_get(body, "red"), &p.nred);
    struct poster_entry *black = poster_list(json_object_get(body, "black"), &p.nblack);
    p.red = red;
    p.black = black;
    unsigned char *pdf = NULL;
    size_t len = 0;
    char err[160];
    if (!red || !black || poster_pdf(&p, &pdf, &len, err, sizeof err) != 0) {
        reply_error(r, 500, "internal", NULL, "the poster could not be drawn");
    } else {
        char disp[64];
        snprintf(disp, sizeof disp, "inline; filename=\"honour-roll-%s.pdf\"", p.month);
        reply_header(r, "Content-Disposition", disp);
        reply_raw(r, 200, "application/pdf", pdf, len);
    }
    free(pdf);
    free(red);
    free(black);
    json_decref(body);
}

static void serve(struct req *r, enum report_kind kind)
{
    bool csv = false, pdf = false;
    struct db *d = db_or_reply(r);
    const char *format = req_query(r, "format");
    if (kind == REPORT_HONOUR_ROLL && format && strcmp(format, "pdf") == 0)
        pdf = true;
    else if (!d || !format_csv_or_reply(r, &csv))
        return;
    if (!d)
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
    if (pdf) {
        reply_poster(r, body);
        return;
    }
    if (!csv) {
        if (kind == REPORT_HONOUR_ROLL)
            json_object_del(body, "rows");   /* the CSV's: red and black in one */
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

void h_reports_accuracy(struct req *r)
{
    serve(r, REPORT_ACCURACY);
}

void h_reports_honour_roll(struct req *r)
{
    serve(r, REPORT_HONOUR_ROLL);
}
