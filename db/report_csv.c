/* report_csv.c - a report's JSON as CSV (see report_build.h); the CSV
 * itself (BOM, quoting, cells made inert) is csvout.c's. */
#include "db/report_build.h"
#include "db/csvout.h"

#include <stdio.h>
#include <string.h>

/* The member at a dotted path, or NULL. */
static json_t *member(json_t *row, const char *path)
{
    char part[64];
    while (row && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof part)
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        row = json_object_get(row, part);
        path += n + (dot ? 1 : 0);
    }
    return row;
}

static void cell(struct csv_out *out, json_t *v)
{
    char num[32];
    if (json_is_integer(v)) {
        csv_out_int(out, (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(num, sizeof num, "%.4f", json_real_value(v));
        csv_out_text(out, num);
    } else if (json_is_true(v) || json_is_false(v)) {
        csv_out_text(out, json_is_true(v) ? "true" : "false");
    } else {
        csv_out_text(out, json_string_value(v));   /* NULL (absent, null): empty */
    }
}

static void csv_rows(struct csv_out *out, const char *const *cols, json_t *rows)
{
    size_t i;
    json_t *row;
    if (json_is_object(rows)) {
        for (int c = 0; cols[c]; c++)
            cell(out, member(rows, cols[c]));
        csv_out_row_end(out);
        return;
    }
    json_array_foreach(rows, i, row) {
        for (int c = 0; cols[c]; c++)
            cell(out, member(row, cols[c]));
        csv_out_row_end(out);
    }
}

void report_csv(const char *const *cols, json_t *body, struct csv_out *out)
{
    char head[64];
    for (int c = 0; cols[c]; c++) {
        snprintf(head, sizeof head, "%s", cols[c]);
        for (char *p = head; *p; p++)
            if (*p == '.')
                *p = '_';
        csv_out_text(out, head);
    }
    csv_out_row_end(out);
    csv_rows(out, cols, json_object_get(body, "rows"));
    if (json_object_get(body, "totals"))
        csv_rows(out, cols, json_object_get(body, "totals"));
}
