/* list.c - see list.h. */
#include "api/input.h"
#include "api/list.h"
#include "server/clock.h"
#include "server/request.h"
#include "api/reach.h"
#include "db/csvout.h"
#include "db/db.h"
#include "db/regions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_pos(const char *s, long long max, long long *out)
{
    if (!s || !*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s) || s[0] == '0')
        return false;
    long long v = strtoll(s, NULL, 10);
    if (v < 1 || v > max)
        return false;
    *out = v;
    return true;
}

bool list_params_or_reply(struct req *r, int *limit, long long *after)
{
    const char *l = req_query(r, "limit");
    const char *c = req_query(r, "cursor");
    long long v = 50;
    if (l && !parse_pos(l, 500, &v)) {
        reply_error(r, 400, "invalid_request", "limit", "limit must be from 1 to 500");
        return false;
    }
    *limit = (int)v;
    *after = 0;
    if (c) {
        /* cursors are "c" + id: opaque to clients, trivial to check here */
        if (c[0] != 'c' || !parse_pos(c + 1, ID_MAX, after)) {
            reply_error(r, 400, "invalid_request", "cursor", "cursor is not one this server gave");
            return false;
        }
    }
    return true;
}

json_t *list_page(json_t *items, bool more, long long last_id)
{
    json_t *o = json_object();
    if (!o) {
        json_decref(items);
        return NULL;
    }
    json_object_set_new(o, "items", items);
    if (more) {
        char cur[32];
        snprintf(cur, sizeof cur, "c%lld", last_id);
        json_object_set_new(o, "next_cursor", json_string(cur));
    } else {
        json_object_set_new(o, "next_cursor", json_null());
    }
    return o;
}

bool query_id_or_reply(struct req *r, const char *name, long long *out)
{
    const char *v = req_query(r, name);
    *out = 0;
    if (!v)
        return true;
    if (!parse_pos(v, ID_MAX, out)) {
        reply_error(r, 400, "invalid_request", name, "%s must be a positive integer", name);
        return false;
    }
    return true;
}

bool query_day_or_reply(struct req *r, const char *name, char out[11])
{
    const char *v = req_query(r, name);
    out[0] = '\0';
    if (!v)
        return true;
    int y, m, d;
    if (!clock_parse_day(v, &y, &m, &d)) {
        reply_error(r, 400, "invalid_request", name, "%s must be a day, YYYY-MM-DD", name);
        return false;
    }
    snprintf(out, 11, "%s", v);
    return true;
}

void reply_id_page(struct req *r, struct db *d, struct db_rows *rows, int limit,
                   list_load_fn load)
{
    reply_id_page_with(r, d, rows, limit, load, NULL);
}

void reply_id_page_with(struct req *r, struct db *d, struct db_rows *rows, int limit,
                        list_load_fn load, json_t *extra)
{
    if (!rows) {
        json_decref(extra);
        reply_db_error(r, d);
        return;
    }
    json_t *items = json_array();
    long long last = 0;
    int n = 0;
    bool more = false;
    while (db_rows_next(rows)) {
        if (n == limit) {
            more = true;
            break;
        }
        long long id = db_rows_int(rows, 0);
        json_t *o = load(r, d, id);
        if (!o) {
            db_rows_free(rows);
            json_decref(items);
            json_decref(extra);
            reply_db_error(r, d);
            return;
        }
        json_array_append_new(items, o);
        last = id;
        n++;
    }
    db_rows_free(rows);
    json_t *page = list_page(items, more, last);
    if (page && extra)
        json_object_update(page, extra);
    json_decref(extra);
    reply_json(r, 200, page);
}

void reply_row_page(struct req *r, struct db *d, struct db_rows *rows, int limit,
                    list_row_fn render, int cursor_col)
{
    if (!rows) {
        reply_db_error(r, d);
        return;
    }
    json_t *items = json_array();
    long long last = 0;
    int n = 0;
    bool more = false;
    while (db_rows_next(rows)) {
        if (n == limit) {
            more = true;
            break;
        }
        json_t *o = render(rows);
        if (!o) {
            db_rows_free(rows);
            json_decref(items);
            reply_error(r, 500, "internal", NULL, "out of memory");
            return;
        }
        json_array_append_new(items, o);
        last = db_rows_int(rows, cursor_col);
        n++;
    }
    db_rows_free(rows);
    reply_json(r, 200, list_page(items, more, last));
}

const char *list_root_or_reply(struct req *r, struct db *d, const char *param,
                               struct region *g)
{
    long long region_id;
    if (!query_id_or_reply(r, param, &region_id))
        return NULL;
    if (region_id)
        return reach_region_or_reply(r, d, region_id, g) ? g->path : NULL;
    const char *root = reach_path(r, d);
    if (!root)
        reply_db_error(r, d);
    return root;
}

void reply_csv(struct req *r, struct csv_out *out)
{
    if (out->failed)
        reply_error(r, 500, "internal", NULL, "out of memory");
    else
        reply_buffer(r, 200, "text/csv; charset=utf-8", out->buf);
    csv_out_release(out);
}

bool format_csv_or_reply(struct req *r, bool *csv)
{
    const char *f = req_query(r, "format");
    const char *a = req_header(r, "Accept");
    if (f && strcmp(f, "csv") != 0 && strcmp(f, "json") != 0) {
        reply_error(r, 400, "invalid_request", "format", "format must be json or csv");
        return false;
    }
    *csv = f ? strcmp(f, "csv") == 0 : a && strstr(a, "text/csv") != NULL;
    return true;
}
