/* db.h - one MariaDB connection, prepared statements, transactions.
 *
 * A struct db is owned by exactly one thread (a server worker or wbctl).
 * Nothing here locks: never share one between threads.
 *
 * Statements are named by their SQL text, which must be a string with
 * static storage (a literal): the connection caches one prepared statement
 * per distinct pointer and prepares it again after a reconnect.
 *
 * Parameters are passed printf-style with a tiny format of one letter per
 * '?' in the SQL (at most 64; the *_params forms take an array of any
 * length):
 *   'i'  long long
 *   's'  const char *  (NUL-terminated; NULL binds SQL NULL)
 *   'b'  const void *, size_t   (bytes; NULL binds SQL NULL)
 *   'n'  nothing consumed: SQL NULL
 * Result columns are all fetched as text (MariaDB converts) and read back
 * with db_rows_int() / db_rows_str().
 *
 * Errors: every call that can fail returns -1 or NULL and leaves the
 * MariaDB error number and text on the connection (db_errno, db_error).
 * db_errkind() sorts them into what the caller must do about them.
 */
#ifndef WB_DB_H
#define WB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_rows;

struct db_params {
    const char *host;       /* used when socket is NULL or empty */
    int port;
    const char *socket;     /* unix socket path, preferred when set */
    const char *user;
    const char *password;
    const char *name;       /* database */
    int connect_timeout;    /* seconds */
    int rw_timeout;         /* seconds, read and write */
    bool local_infile;      /* allow LOAD DATA LOCAL (db/bulk.h); off for the server */
};

enum db_errkind {
    DB_OK = 0,
    DB_DUP,        /* duplicate key (1062) */
    DB_RETRY,      /* deadlock (1213) or lock wait timeout (1205): retry whole tx */
    DB_CONN,       /* connection lost or unreachable: reconnect */
    DB_SLOW,       /* a statement ran past its max_statement_time (a report): 503 */
    DB_OTHER       /* anything else: a bug or a constraint; answer 500 */
};

/* Connect.  Returns NULL and fills err on failure.  The connection runs in
 * autocommit mode with utf8mb4, and the session's innodb_lock_wait_timeout
 * is left to the server (the private server sets 3 s). */
struct db *db_open(const struct db_params *p, char *err, size_t errlen);

/* Close and free, with every state db_local attached; NULL is fine. */
void db_close(struct db *d);

/* True when the last connection attempt or command showed the link dead.
 * A dead connection answers every call with -1/DB_CONN until db_reconnect. */
bool db_dead(const struct db *d);

/* Drop every statement and connect again with the same parameters.
 * Returns 0 or -1 (still dead). */
int db_reconnect(struct db *d);

/* Round trip to the server; 0 when it answered. */
int db_ping(struct db *d);

/* Without a round trip: has the server closed this idle link, or sent
 * something unasked (the error packet of a shutdown or a kill)?  A link
 * between statements has nothing to read, so a readable socket means it
 * is dead; it is then marked so (db_dead) and true is returned.  Cheap
 * enough to ask before every request's first statement. */
bool db_link_lost(struct db *d);

/* Run a statement that returns no rows.  Returns the affected row count
 * (>= 0) or -1. */
long long db_exec(struct db *d, const char *sql, const char *fmt, ...);

/* A parameter for db_exec_params: type 'i' (i), 's' (s, NUL-terminated,
 * NULL = SQL NULL), 'b' (s, len) or 'n' (NULL); any other type fails the
 * call.  The printf-style calls build these arrays and take the same
 * path, so both re-prepare a statement the server invalidated. */
struct db_param {
    char type;
    long long i;
    const char *s;
    size_t len;
};

/* As db_exec, with an array of any length (bulk inserts). */
long long db_exec_params(struct db *d, const char *sql, const struct db_param *p, int n);

/* As db_query, with an array of parameters. */
struct db_rows *db_query_params(struct db *d, const char *sql, const struct db_param *p, int n);

/* As db_query_params for SQL put together at run time: the statement
 * cache knows a statement by its string's address, so one built in a
 * buffer is prepared for this call alone. */
struct db_rows *db_query_built(struct db *d, const char *sql, const struct db_param *p, int n);

/* Run a statement that returns rows; NULL on error.  The whole result is
 * buffered client-side, so the connection is free again on return.  The
 * caller frees it with db_rows_free(). */
struct db_rows *db_query(struct db *d, const char *sql, const char *fmt, ...);

/* Advance to the next row; false when there is none. */
bool db_rows_next(struct db_rows *r);
size_t db_rows_count(const struct db_rows *r);
bool db_rows_null(const struct db_rows *r, int col);
/* The column as an integer (0 when NULL or not a number). */
long long db_rows_int(const struct db_rows *r, int col);
/* The column as text, NUL-terminated, owned by r (valid until the next
 * db_rows_next or db_rows_free); "" when NULL.  len may be NULL. */
const char *db_rows_str(const struct db_rows *r, int col, size_t *len);
void db_rows_free(struct db_rows *r);

/* Convenience for "SELECT one integer": returns 1 and sets *out when a row
 * came back, 0 when none, -1 on error. */
int db_query_int(struct db *d, long long *out, const char *sql, const char *fmt, ...);

uint64_t db_insert_id(const struct db *d);

/* Plain (unprepared) SQL, for DDL and session settings: 0 or -1. */
int db_exec_raw(struct db *d, const char *sql);

/* COMMIT.  On -1 with DB_CONN the outcome is unknown: the server may or
 * may not have committed. */
int db_commit(struct db *d);
/* ROLLBACK; errors are ignored (a dead link rolls back by itself). */
void db_rollback(struct db *d);

/* Run fn inside BEGIN ... COMMIT, retrying the whole transaction (up to a
 * few times, with a short random pause) when it fails with DB_RETRY.
 * fn returns 0 to commit, a positive value to roll back and hand that
 * value to the caller (a business refusal), or -1 on a database error
 * (left on the connection).  db_tx returns a DB_TX_* value, or fn's
 * positive refusal (rolled back).  fn must have no side effects outside
 * the database, since it may run more than once. */
enum db_tx_rc {
    DB_TX_COMMITTED = 0,
    DB_TX_ERROR = -1,         /* a database error, rolled back (see db_errkind) */
    DB_TX_UNKNOWN = -2,       /* the COMMIT failed on a lost connection: outcome unknown */
};
int db_tx(struct db *d, int (*fn)(struct db *d, void *arg), void *arg);

/* Per-connection state of the modules built on a connection (caches,
 * clocks), so that it lives and dies with what its thread owns instead of
 * in thread-local storage.  A module names its slot with a key of its own:
 * a static struct db_local_key, whose address is the identity.  A
 * connection belongs to one thread, so nothing here locks.  The state
 * survives db_reconnect: it must hold data, never statements. */
struct db_local_key {
    size_t size;                    /* bytes of state, allocated zeroed */
    void (*release)(void *state);   /* frees what the state points to; NULL: nothing */
};

/* This connection's state for key: allocated zeroed on first use, then
 * the same pointer until db_close, which calls key->release on it (when
 * set) and frees it.  The caller never frees it.  NULL when out of memory
 * (the error is left on d: DB_OTHER). */
void *db_local(struct db *d, const struct db_local_key *key);

int db_errno(const struct db *d);
const char *db_error(const struct db *d);

/* Leave an error of our own on the connection (DB_OTHER), for a failure
 * the store did not report: data it holds that a caller cannot use. */
void db_set_error(struct db *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum db_errkind db_errkind(const struct db *d);

/* Process-wide set-up and tear-down of the client library: call
 * db_library_init once before any thread starts, db_thread_end in every
 * thread that used a connection before it exits. */
int db_library_init(void);
void db_library_end(void);
void db_thread_end(void);

#endif
