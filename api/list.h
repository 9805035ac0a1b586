/* list.h - query-string helpers and the shape of list answers:
 * {"items": [...], "next_cursor": "..." | null}, ?limit= 1-500 (50),
 * ?cursor= opaque (it encodes the last id of the previous page). */
#ifndef WB_LIST_H
#define WB_LIST_H

#include <stdbool.h>
#include <jansson.h>

struct req;

/* Parse ?limit= and ?cursor=.  On a bad value reply 400 (field "limit"
 * or "cursor") and return false.  *after is 0 on the first page. */
bool list_params_or_reply(struct req *r, int *limit, long long *after);

/* Build the answer.  items is stolen.  When the query fetched limit + 1
 * rows, pass more = true and last_id = the id of the limit-th row. */
json_t *list_page(json_t *items, bool more, long long last_id);

/* An optional positive id in the query string: true with *out = 0 when
 * absent; false after replying 400 when malformed. */
bool query_id_or_reply(struct req *r, const char *name, long long *out);

/* An optional day (YYYY-MM-DD): true with out[0] = 0 when absent. */
bool query_day_or_reply(struct req *r, const char *name, char out[11]);

/* The answer's format: CSV with ?format=csv or Accept: text/csv, else
 * JSON; another ?format= is 400 (false after replying). */
bool format_csv_or_reply(struct req *r, bool *csv);

/* Reply 200 with out's CSV, or 500 when building it ran out of memory;
 * then release out. */
struct csv_out;
void reply_csv(struct req *r, struct csv_out *out);

struct db;
struct db_rows;
struct region;

/* Loads one object of a page by id: new JSON, or NULL (store error). */
typedef json_t *(*list_load_fn)(struct req *r, struct db *d, long long id);

/* Reply 200 with the page made of rows (their first column is the id;
 * the query fetched limit + 1 rows), each loaded with load; or reply the
 * store error.  Frees rows in either case. */
void reply_id_page(struct req *r, struct db *d, struct db_rows *rows, int limit,
                   list_load_fn load);

/* The same, with the members of extra (stolen; may be NULL) beside
 * items and next_cursor. */
void reply_id_page_with(struct req *r, struct db *d, struct db_rows *rows, int limit,
                        list_load_fn load, json_t *extra);

/* Renders the current row of a page: new JSON, or NULL (out of memory). */
typedef json_t *(*list_row_fn)(struct db_rows *rows);

/* As reply_id_page, for rows that carry the whole object: each row is
 * rendered by render, and column cursor_col is the cursor (id or seq). */
void reply_row_page(struct req *r, struct db *d, struct db_rows *rows, int limit,
                    list_row_fn render, int cursor_col);

/* The subtree a list is restricted to: the ?<param>= region when given
 * (404 outside the caller's reach), else the caller's reach.  NULL after
 * replying.  g receives the region when one was named (the returned path
 * may point into it). */
const char *list_root_or_reply(struct req *r, struct db *d, const char *param,
                               struct region *g);

#endif
