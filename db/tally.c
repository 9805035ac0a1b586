/* tally.c - see tally.h. */
#include "db/tally.h"

#include <stdlib.h>
#include <string.h>

void tally_init(struct tally *t, const struct tally_spec *spec)
{
    memset(t, 0, sizeof *t);
    t->spec = spec;
}

static int key_cmp(const long long *a, const long long *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

/* A new row of key, counters 0; NULL when out of memory. */
static struct tally_row *new_row(struct tally *t, const long long *key)
{
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        struct tally_row *p = realloc(t->rows, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        t->rows = p;
        t->cap = cap;
    }
    struct tally_row *row = &t->rows[t->n++];
    memset(row, 0, sizeof *row);
    memcpy(row->key, key, (size_t)t->spec->nkeys * sizeof *key);
    return row;
}

static void add_vals(const struct tally_spec *sp, struct tally_row *row, const long long *val)
{
    for (int i = 0; i < sp->nvals; i++)
        row->val[i] += val[i];
}

int tally_add(struct tally *t, const long long *key, const long long *val)
{
    const struct tally_spec *sp = t->spec;
    struct tally_row *row = NULL;
    /* a group adds to a few dozen rows: a scan beats a hash here */
    for (int i = t->n - 1; i >= 0 && !row; i--)
        if (key_cmp(t->rows[i].key, key, sp->nkeys) == 0)
            row = &t->rows[i];
    if (!row && !(row = new_row(t, key)))
        return -1;
    add_vals(sp, row, val);
    return 0;
}

int tally_append(struct tally *t, const long long *key, const long long *val)
{
    struct tally_row *row = new_row(t, key);
    if (!row)
        return -1;
    add_vals(t->spec, row, val);
    return 0;
}


static int row_cmp(const void *a, const void *b)
{
    return key_cmp(((const struct tally_row *)a)->key, ((const struct tally_row *)b)->key,
                   TALLY_KEYS_MAX);
}

const struct tally_row *tally_sorted(struct tally *t, int *n)
{
    /* unused key slots are 0 in every row, so comparing all of them
     * orders by the spec's keys */
    if (t->n > 1)
        qsort(t->rows, (size_t)t->n, sizeof *t->rows, row_cmp);
    /* rows appended with one key (tally_append) become one */
    int w = 0;
    for (int i = 0; i < t->n; i++) {
        if (w > 0 && key_cmp(t->rows[w - 1].key, t->rows[i].key, TALLY_KEYS_MAX) == 0)
            add_vals(t->spec, &t->rows[w - 1], t->rows[i].val);
        else
            t->rows[w++] = t->rows[i];
    }
    t->n = w;
    *n = t->n;
    return t->rows;
}

static bool all_zero(const struct tally_row *r, int nvals)
{
    for (int i = 0; i < nvals; i++)
        if (r->val[i] != 0)
            return false;
    return true;
}

void tally_drop_zeros(struct tally *t)
{
    int w = 0;
    for (int i = 0; i < t->n; i++)
        if (!all_zero(&t->rows[i], t->spec->nvals))
            t->rows[w++] = t->rows[i];
    t->n = w;
}

int tally_flush(struct tally *t, struct db_batch *b)
{
    const struct tally_spec *sp = t->spec;
    int n;
    const struct tally_row *rows = tally_sorted(t, &n);
    struct db_rows_builder rb;
    db_rows_builder_init(&rb, &sp->rows);
    int rc = -2;
    for (int i = 0; i < n; i++) {
        if (all_zero(&rows[i], sp->nvals))
            continue;
        struct db_param *q = db_rows_builder_add(&rb);
        if (!q) {
            db_rows_builder_release(&rb);
            return -1;
        }
        for (int k = 0; k < sp->nkeys; k++)
            q[k] = (struct db_param){ 'i', rows[i].key[k], NULL, 0 };
        for (int k = 0; k < sp->nvals; k++)
            q[sp->nkeys + k] = (struct db_param){ 'i', rows[i].val[k], NULL, 0 };
    }
    rc = db_rows_builder_flush(&rb, b);
    db_rows_builder_release(&rb);
    return rc;
}

void tally_release(struct tally *t)
{
    free(t->rows);
    t->rows = NULL;
    t->n = t->cap = 0;
}
