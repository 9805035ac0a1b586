/* tally.h - sums gathered over a group of operations and added to rollup
 * rows in one statement.
 *
 * A rollup row is a key (ids, days as YYYYMMDD, enum positions) and
 * counters.  A group adds to the same row many times (sixty drop-offs of
 * one site and day); a tally merges them in memory and writes each row
 * once, as INSERT ... ON DUPLICATE KEY UPDATE c = c + VALUES(c), rows in
 * key order - so two groups lock rollup rows in one order and cannot
 * deadlock on them, and a rollup costs a group one statement, not a row
 * per operation.  Pure memory: the unit tests drive it without a store. */
#ifndef WB_TALLY_H
#define WB_TALLY_H

#include <stdbool.h>

#include "db/batch.h"

#define TALLY_KEYS_MAX 5
#define TALLY_VALS_MAX 6

struct tally_spec {
    struct db_rows_spec rows;   /* width = nkeys + nvals; keys first */
    int nkeys, nvals;
};

struct tally_row {
    long long key[TALLY_KEYS_MAX];
    long long val[TALLY_VALS_MAX];
};

struct tally {
    const struct tally_spec *spec;
    struct tally_row *rows;
    int n, cap;
};

void tally_init(struct tally *t, const struct tally_spec *spec);

/* Add val (spec->nvals counters) to the row of key (spec->nkeys).  0, or
 * -1 when out of memory. */
int tally_add(struct tally *t, const long long *key, const long long *val);

/* Add a row without looking for its key first: for tallies of thousands
 * of rows, where tally_add's scan would cost more than a sort.  Rows of
 * one key become one in tally_sorted.  0, or -1 when out of memory. */
int tally_append(struct tally *t, const long long *key, const long long *val);

/* The rows in key order, rows of one key merged (in place), for the
 * flush and the tests. */
const struct tally_row *tally_sorted(struct tally *t, int *n);

/* Take away the rows whose counters are all 0 (what tally_flush leaves
 * out), keeping the others' order. */
void tally_drop_zeros(struct tally *t);

/* Append the rows whose counters are not all 0 to b as one statement.
 * Its index, -2 when there was nothing to write, or -1. */
int tally_flush(struct tally *t, struct db_batch *b);

void tally_release(struct tally *t);

#endif
