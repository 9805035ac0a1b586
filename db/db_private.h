/* db_private.h - what db.c shares with the other files of the connection
 * layer (batch.c) and with the unit tests.  Nothing else outside db/
 * includes it. */
#ifndef WB_DB_PRIVATE_H
#define WB_DB_PRIVATE_H

#include <mysql.h>
#include <stdarg.h>
#include <stdbool.h>

#include "db/db.h"

/* The printf-style parameters of db.h as an array: one struct db_param
 * per letter of fmt ('i' 's' 'b' 'n'; NULL fmt is none), read from ap.
 * Returns the count, or -1 for a letter it does not know or more than max
 * parameters (out then holds garbage).  Strings are borrowed, not
 * copied: they must outlive the use of out. */
int db_params_from_fmt(struct db_param *out, int max, const char *fmt, va_list ap);

/* The live MySQL handle, or NULL (error set) when the link is down. */
MYSQL *db_link(struct db *d);

void db_error_from_link(struct db *d);
void db_error_set(struct db *d, int code, const char *msg);
void db_error_clear(struct db *d);

/* True once when db_tx holds back a START TRANSACTION that the caller
 * now sends itself. */
bool db_take_begin(struct db *d);

/* A batch ending in COMMIT was sent (sent) and came back (done). */
void db_note_commit(struct db *d, bool sent, bool done);

/* Copy a text-protocol result into a db_rows (NULL and error set on
 * allocation failure). */
struct db_rows *db_rows_from_res(struct db *d, MYSQL_RES *res);

#endif
