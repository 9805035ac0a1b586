/* report_children.c - what the report builders share: a region's
 * children by id, and months as text (see report_build.h). */
#include "db/report_build.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void report_month_text(long long mv, char *out, size_t len, bool first_day)
{
    /* months are parsed from YYYY-MM: the year has four digits */
    unsigned long long u = mv < 0 ? 0 : (unsigned long long)mv;
    unsigned y = (unsigned)(u / 12 % 10000), m = (unsigned)(u % 12 + 1);
    snprintf(out, len, first_day ? "%04u-%02u-01" : "%04u-%02u", y, m);
}

static int child_cmp(const void *a, const void *b)
{
    long long x = ((const struct child *)a)->id, y = ((const struct child *)b)->id;
    return x < y ? -1 : x > y;
}

int report_children_load(struct db *d, const struct report_scope *s, struct children *out)
{
    struct db_rows *r = s->id ? db_query(d, "SELECT id, name FROM regions WHERE parent_id = ? "
                                            "UNION ALL SELECT id, name FROM regions WHERE id = ?",
                                         "ii", s->id, s->id)
                              : db_query(d, "SELECT id, name FROM regions WHERE parent_id IS NULL",
                                         "");
    if (!r)
        return -1;
    out->n = 0;
    out->c = NULL;
    int cap = 0;
    while (db_rows_next(r)) {
        if (out->n == cap) {
            cap = cap ? 2 * cap : 32;
            struct child *p = realloc(out->c, (size_t)cap * sizeof *p);
            if (!p) {
                db_rows_free(r);
                return -1;
            }
            out->c = p;
        }
        out->c[out->n].id = db_rows_int(r, 0);
        snprintf(out->c[out->n].name, sizeof out->c[out->n].name, "%s", db_rows_str(r, 1, NULL));
        out->n++;
    }
    db_rows_free(r);
    if (out->n > 1)
        qsort(out->c, (size_t)out->n, sizeof *out->c, child_cmp);
    return 0;
}

const char *report_child_name(const struct children *ch, long long id)
{
    struct child key = { .id = id };
    struct child *c = ch->n ? bsearch(&key, ch->c, (size_t)ch->n, sizeof *ch->c, child_cmp) : NULL;
    return c ? c->name : "";
}



int report_child_index(const struct children *ch, long long id)
{
    for (int c = 0; c < ch->n; c++)
        if (ch->c[c].id == id)
            return c;
    return -1;
}
