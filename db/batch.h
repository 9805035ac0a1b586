/* batch.h - several statements in one round trip.
 *
 * A transaction of N prepared statements costs N round trips, and on a
 * small machine the round trips - two context switches and a wake-up of
 * a MariaDB thread each - cost more than the statements.  A batch sends
 * a whole run of statements as one multi-statement text query:
 *
 *     struct db_batch b;
 *     db_batch_init(&b, d);
 *     db_batch_add(&b, "SELECT ... WHERE id = ? FOR UPDATE", "i", id);
 *     db_batch_add(&b, "INSERT INTO t (a, b) VALUES (?, ?)", "is", 1, text);
 *     db_batch_commit(&b);                 (optional: ends the transaction)
 *     if (db_batch_run(&b) != 0) ... error on d, b.failed_at says where
 *     struct db_rows *r = db_batch_rows(&b, 0);
 *     db_batch_free(&b);
 *
 * Statements take the same '?' placeholders and format letters as
 * db_exec ('i', 's', 'b', 'n'), plus 'r': a const char * written into the
 * SQL as is.  'r' is for fixed fragments of our own only (a session
 * variable such as "@wb_ref"), never for input.  Strings are escaped by
 * the connection (mysql_real_escape_string, aware of its character set
 * and SQL mode) and bytes are written as hex literals, so no value can
 * end a literal.  The SQL text itself must not hold a '?' in a literal.
 *
 * The server runs the statements in order and stops at the first that
 * fails.  Inside db_tx, the held-back START TRANSACTION rides along with
 * the first batch; a batch ending in COMMIT tells db_tx, so that a link
 * cut off before the answer is reported as an unknown outcome. */
#ifndef WB_DB_BATCH_H
#define WB_DB_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

struct db_batch_result {
    struct db_rows *rows;   /* NULL for a statement without a result set */
    uint64_t insert_id;
};

struct db_batch {
    struct db *d;
    char *sql;
    size_t len, cap;
    int n;                  /* statements added */
    bool broken;            /* building failed: db_batch_run refuses */
    bool commits;
    struct db_batch_result *res;    /* n of them after a run */
    int failed_at;          /* the statement that failed, or -1 */
};

void db_batch_init(struct db_batch *b, struct db *d);

/* Append one statement; returns its index, or -1 (the batch is then
 * broken and will not run). */
int db_batch_add(struct db_batch *b, const char *sql, const char *fmt, ...);

/* As db_batch_add, with the parameters as a va_list. */
#include <stdarg.h>
int db_batch_addv(struct db_batch *b, const char *sql, const char *fmt, va_list ap);

/* As db_batch_add, with an array of parameters (types 'i', 's', 'b', 'n',
 * 'r'). */
int db_batch_add_params(struct db_batch *b, const char *sql, const struct db_param *p, int n);

/* End the batch with COMMIT. */
void db_batch_commit(struct db_batch *b);

/* Send and read every answer.  0 when every statement succeeded; -1 with
 * the error on the connection and failed_at set (or -1 when the batch
 * never reached the server). */
int db_batch_run(struct db_batch *b);

/* Results of statement i after a run (NULL / 0 out of range). */
struct db_rows *db_batch_rows(struct db_batch *b, int i);
uint64_t db_batch_insert_id(const struct db_batch *b, int i);

void db_batch_free(struct db_batch *b);

/* ---- multi-row statements ----
 * Rows gathered over a group of operations and sent as one statement:
 * "<head>(?,..),(?,..)<tail>".  The spec is static; the parameters of
 * each row are filled in by the caller (their strings must live until
 * the flush, which escapes them into the batch). */
struct db_rows_spec {
    const char *head;        /* "INSERT INTO t (a, b) VALUES " */
    const char *tuple;       /* "(?,?)" */
    const char *tail;        /* "" or " ON DUPLICATE KEY UPDATE ..." */
    int width;               /* parameters a row */
};

struct db_rows_builder {
    const struct db_rows_spec *spec;
    int nrows;
    struct db_param *p;
    int cap;                 /* rows p has room for */
};

void db_rows_builder_init(struct db_rows_builder *r, const struct db_rows_spec *spec);

/* Room for one more row: its spec->width parameters, or NULL when out of
 * memory. */
struct db_param *db_rows_builder_add(struct db_rows_builder *r);

/* Append the gathered rows to b as one statement (none: nothing).  Returns
 * the statement's index, -2 when there were no rows, or -1. */
int db_rows_builder_flush(struct db_rows_builder *r, struct db_batch *b);

void db_rows_builder_release(struct db_rows_builder *r);

#endif
