/* report_out.h - a report's rows as JSON or as CSV.
 *
 * Every report answers JSON, or CSV with ?format=csv or Accept: text/csv
 * (api/list.h format_csv_or_reply): the same rows, one CSV row a JSON
 * row, its columns named by the report.  A column names a member of the
 * row, or of an object inside it ("shipped.from_dropoff"); the CSV header
 * is the path with '.' as '_'.  The CSV itself (BOM, quoting, cells made
 * inert) is db/csvout.c's. */
#ifndef WB_REPORT_OUT_H
#define WB_REPORT_OUT_H

#include <stdbool.h>
#include <jansson.h>

struct req;

/* Reply 200: body as JSON (stolen), or as CSV the rows of body's member
 * `rows` and then those of `totals` (an object: one row; an array: each),
 * in the columns cols (NULL-terminated). */
void report_reply(struct req *r, bool csv, const char *const *cols, json_t *body);

#endif
