/* bulk.h - rows loaded in bulk with LOAD DATA LOCAL INFILE, streamed from
 * memory (no file is written).  A table's rows are appended as
 * tab-separated text; when the buffer holds BULK_FLUSH_BYTES they are
 * sent as one LOAD DATA statement.  The connection must be opened with
 * db_params.local_infile.
 *
 * Values are written as they are: the caller keeps tabs, newlines and
 * backslashes out of them.  SQL NULL is \N. */
#ifndef WB_BULK_H
#define WB_BULK_H

#include <stdbool.h>
#include <stddef.h>

#define BULK_FLUSH_BYTES (8u << 20)

struct db;
struct bulk;

/* A loader for table (columns: "(a, b, c)"); NULL when out of memory. */
struct bulk *bulk_new(struct db *d, const char *table, const char *columns);

/* The same, loading on its own connection `own` (which it takes, and
 * closes in bulk_finish/bulk_free) from a thread of its own: while one
 * buffer loads, the next one fills, and several such loaders keep several
 * of the server's cores busy.  An error of a background load is reported
 * by the next bulk_row, bulk_flush or bulk_finish, its message copied
 * into the caller's connection (d).  NULL when out of memory. */
struct bulk *bulk_new_own(struct db *d, struct db *own, const char *table,
                          const char *columns);

/* Append one row, printf-style, without the trailing newline; sends the
 * buffer when it is full.  0, or -1 (store error or out of memory: see
 * db_error, or bulk_failed). */
int bulk_row(struct bulk *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Send what is buffered.  0 or -1. */
int bulk_flush(struct bulk *b);

/* Rows appended so far. */
long long bulk_rows(const struct bulk *b);

/* Send the rest and free.  0 or -1; b is freed either way (NULL is 0). */
int bulk_finish(struct bulk *b);

/* Free without sending. */
void bulk_free(struct bulk *b);

#endif
