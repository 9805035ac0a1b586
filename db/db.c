/* db.c - MariaDB Connector/C wrapper: see db.h for the contract. */
#include "db/db.h"
#include "db/db_private.h"
#include "server/log.h"

#include <errno.h>
#include <poll.h>
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "db/stats.h"

#define DB_MAX_PARAMS 64
#define DB_TX_ATTEMPTS 6

struct cached_stmt {
    const char *sql;        /* identity: the caller's static string */
    MYSQL_STMT *st;
};

struct local_slot {
    const struct db_local_key *key;
    void *state;
};

struct db {
    MYSQL *my;
    bool dead;
    /* copies of the parameters, for reconnects */
    char *host, *socket, *user, *password, *name;
    int port, connect_timeout, rw_timeout;
    bool local_infile;
    struct cached_stmt *stmts;
    size_t nstmts, capstmts;
    int err;
    char errstr[256];
    /* transaction state kept by db_tx: BEGIN not sent yet (it goes out
     * with the first statement), COMMIT sent inside a batch, and whether
     * that batch came back */
    bool begin_pending, commit_sent, committed;
    /* db_local: a handful of modules, so a short array searched in order */
    struct local_slot *locals;
    size_t nlocals;
};

struct db_cell {
    char *data;             /* NUL-terminated copy, or NULL for SQL NULL */
    size_t len;
};

struct db_rows {
    size_t nrows, ncols, cur;   /* cur: 1-based after the first next() */
    struct db_cell *cells;      /* nrows * ncols */
};

static bool is_conn_error(int e)
{
    switch (e) {
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_LOST_EXTENDED:
    case CR_COMMANDS_OUT_OF_SYNC:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
    case 4031:              /* ER_CLIENT_INTERACTION_TIMEOUT */
        return true;
    default:
        return false;
    }
}

static void set_err(struct db *d, int e, const char *msg)
{
    d->err = e;
    snprintf(d->errstr, sizeof d->errstr, "%s", msg ? msg : "");
    if (is_conn_error(e))
        d->dead = true;
}

void db_set_error(struct db *d, const char *fmt, ...)
{
    char msg[sizeof d->errstr];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_err(d, CR_UNKNOWN_ERROR, msg);
}

static void set_err_my(struct db *d)
{
    set_err(d, (int)mysql_errno(d->my), mysql_error(d->my));
}

static void set_err_stmt(struct db *d, MYSQL_STMT *st)
{
    set_err(d, (int)mysql_stmt_errno(st), mysql_stmt_error(st));
}

static void clear_err(struct db *d)
{
    d->err = 0;
    d->errstr[0] = '\0';
}

int db_library_init(void)
{
    return mysql_library_init(0, NULL, NULL) == 0 ? 0 : -1;
}

void db_library_end(void)
{
    mysql_library_end();
}

void db_thread_end(void)
{
    mysql_thread_end();
}

static char *dup_or_null(const char *s)
{
    return (s && *s) ? strdup(s) : NULL;
}

static void drop_stmts(struct db *d)
{
    for (size_t i = 0; i < d->nstmts; i++)
        mysql_stmt_close(d->stmts[i].st);
    d->nstmts = 0;
}

static int connect_now(struct db *d)
{
    if (d->my) {
        drop_stmts(d);
        mysql_close(d->my);
        d->my = NULL;
    }
    d->my = mysql_init(NULL);
    if (!d->my) {
        set_err(d, CR_OUT_OF_MEMORY, "out of memory");
        d->dead = true;
        return -1;
    }
    unsigned int ct = (unsigned int)d->connect_timeout;
    unsigned int rw = (unsigned int)d->rw_timeout;
    my_bool off = 0;
    mysql_optionsv(d->my, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_optionsv(d->my, MYSQL_OPT_READ_TIMEOUT, &rw);
    mysql_optionsv(d->my, MYSQL_OPT_WRITE_TIMEOUT, &rw);
    /* A silent reconnect would roll back an open transaction and drop
     * every prepared statement behind our back: we reconnect ourselves. */
    mysql_optionsv(d->my, MYSQL_OPT_RECONNECT, &off);
    mysql_optionsv(d->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /* Never read /etc/mysql: the private server is all we talk to. */
    unsigned int proto = d->socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    mysql_optionsv(d->my, MYSQL_OPT_PROTOCOL, &proto);
    if (d->local_infile) {
        unsigned int on = 1;
        mysql_optionsv(d->my, MYSQL_OPT_LOCAL_INFILE, &on);
    }

    if (!mysql_real_connect(d->my, d->socket ? NULL : d->host, d->user,
                            d->password, d->name, (unsigned int)d->port,
                            d->socket, CLIENT_FOUND_ROWS | CLIENT_MULTI_STATEMENTS)) {
        set_err_my(d);
        d->dead = true;
        return -1;
    }
    d->dead = false;
    clear_err(d);
    /* Wall-clock values are passed from C as text; the session zone only
     * matters for NOW() defaults, which we keep in UTC. */
    if (db_exec_raw(d, "SET time_zone = '+00:00'") != 0)
        return -1;
    return 0;
}

struct db *db_open(const struct db_params *p, char *err, size_t errlen)
{
    struct db *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->host = dup_or_null(p->host ? p->host : "127.0.0.1");
    d->socket = dup_or_null(p->socket);
    d->user = dup_or_null(p->user);
    d->password = dup_or_null(p->password);
    d->name = dup_or_null(p->name);
    d->port = p->port;
    d->connect_timeout = p->connect_timeout > 0 ? p->connect_timeout : 3;
    d->rw_timeout = p->rw_timeout > 0 ? p->rw_timeout : 10;
    d->local_infile = p->local_infile;
    if (connect_now(d) != 0) {
        snprintf(err, errlen, "mariadb: %s", d->errstr);
        db_close(d);
        return NULL;
    }
    return d;
}

void db_close(struct db *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nlocals; i++) {
        if (d->locals[i].key->release)
            d->locals[i].key->release(d->locals[i].state);
        free(d->locals[i].state);
    }
    free(d->locals);
    drop_stmts(d);
    free(d->stmts);
    if (d->my)
        mysql_close(d->my);
    free(d->host);
    free(d->socket);
    free(d->user);
    if (d->password)
        sodium_memzero(d->password, strlen(d->password));
    free(d->password);
    free(d->name);
    free(d);
}

bool db_dead(const struct db *d)
{
    return d->dead;
}

int db_reconnect(struct db *d)
{
    return connect_now(d);
}

int db_ping(struct db *d)
{
    if (d->dead || !d->my) {
        set_err(d, CR_SERVER_GONE_ERROR, "connection is down");
        return -1;
    }
    if (mysql_ping(d->my) != 0) {
        set_err_my(d);
        /* a failed ping is a dead link whatever the code */
        d->dead = true;
        return -1;
    }
    return 0;
}

bool db_link_lost(struct db *d)
{
    if (d->dead || !d->my)
        return true;
    struct pollfd p = { .fd = (int)mysql_get_socket(d->my), .events = POLLIN };
    if (p.fd < 0)
        return false;
    int n;
    while ((n = poll(&p, 1, 0)) < 0 && errno == EINTR)
        ;
    if (n <= 0)
        return false;
    set_err(d, CR_SERVER_LOST, "the server closed the connection");
    d->dead = true;
    return true;
}

/* Send the START TRANSACTION that db_tx held back, before any statement
 * that does not carry it itself (a batch does). */
static int begin_if_pending(struct db *d)
{
    if (!d->begin_pending)
        return 0;
    d->begin_pending = false;
    return db_exec_raw(d, "START TRANSACTION");
}

int db_exec_raw(struct db *d, const char *sql)
{
    if (d->dead) {
        set_err(d, CR_SERVER_GONE_ERROR, "connection is down");
        return -1;
    }
    if (begin_if_pending(d) != 0)
        return -1;
    if (mysql_real_query(d->my, sql, strlen(sql)) != 0) {
        set_err_my(d);
        return -1;
    }
    /* Drain any result (SHOW ..., SELECT ...) so the link stays in sync;
     * with several statements, a later one may fail. */
    int more;
    do {
        MYSQL_RES *res = mysql_store_result(d->my);
        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(d->my) != 0) {
            set_err_my(d);
            return -1;
        }
    } while ((more = mysql_next_result(d->my)) == 0);
    if (more > 0) {
        set_err_my(d);
        return -1;
    }
    clear_err(d);
    return 0;
}

static MYSQL_STMT *prepare_fresh(struct db *d, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(d->my);
    if (!st) {
        set_err_my(d);
        return NULL;
    }
    my_bool on = 1;
    mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
        set_err_stmt(d, st);
        mysql_stmt_close(st);
        return NULL;
    }
    return st;
}

static MYSQL_STMT *get_stmt(struct db *d, const char *sql)
{
    for (size_t i = 0; i < d->nstmts; i++)
        if (d->stmts[i].sql == sql)
            return d->stmts[i].st;
    MYSQL_STMT *st = prepare_fresh(d, sql);
    if (!st)
        return NULL;
    if (d->nstmts == d->capstmts) {
        size_t ncap = d->capstmts ? d->capstmts * 2 : 32;
        struct cached_stmt *n = realloc(d->stmts, ncap * sizeof *n);
        if (!n) {
            mysql_stmt_close(st);
            set_err(d, CR_OUT_OF_MEMORY, "out of memory");
            return NULL;
        }
        d->stmts = n;
        d->capstmts = ncap;
    }
    d->stmts[d->nstmts].sql = sql;
    d->stmts[d->nstmts].st = st;
    d->nstmts++;
    return st;
}

/* After a table changed under a cached statement (see run). */
static MYSQL_STMT *reprepare(struct db *d, const char *sql)
{
    for (size_t i = 0; i < d->nstmts; i++) {
        if (d->stmts[i].sql == sql) {
            mysql_stmt_close(d->stmts[i].st);
            d->stmts[i] = d->stmts[--d->nstmts];
            break;
        }
    }
    return get_stmt(d, sql);
}

int db_params_from_fmt(struct db_param *out, int max, const char *fmt, va_list ap)
{
    int n = 0;
    for (const char *f = fmt ? fmt : ""; *f; f++) {
        if (n >= max)
            return -1;
        struct db_param *x = &out[n++];
        *x = (struct db_param){ *f, 0, NULL, 0 };
        switch (*f) {
        case 'i':
            x->i = va_arg(ap, long long);
            break;
        case 's':
            x->s = va_arg(ap, const char *);
            break;
        case 'b':
            x->s = va_arg(ap, const void *);
            x->len = va_arg(ap, size_t);
            break;
        case 'n':
            break;
        default:
            return -1;
        }
    }
    return n;
}

/* The binds of one execution.  Up to DB_MAX_PARAMS (every printf-style
 * call, most array calls) they live on the stack; a bulk statement with
 * more gets them from the heap. */
struct bound {
    MYSQL_BIND *bind;
    unsigned long *lens;
    long long *ints;
    MYSQL_BIND bind_s[DB_MAX_PARAMS];
    unsigned long lens_s[DB_MAX_PARAMS];
    long long ints_s[DB_MAX_PARAMS];
};

static void bound_free(struct bound *b)
{
    if (b->bind != b->bind_s) {
        free(b->bind);
        free(b->lens);
        free(b->ints);
    }
}

/* 0, or -1 with the error set (b needs bound_free either way). */
static int bind_params(struct db *d, struct bound *b, const struct db_param *p, int n)
{
    if (n <= DB_MAX_PARAMS) {
        b->bind = b->bind_s;
        b->lens = b->lens_s;
        b->ints = b->ints_s;
        memset(b->bind, 0, (size_t)(n > 0 ? n : 0) * sizeof *b->bind);
    } else {
        b->bind = calloc((size_t)n, sizeof *b->bind);
        b->lens = calloc((size_t)n, sizeof *b->lens);
        b->ints = calloc((size_t)n, sizeof *b->ints);
        if (!b->bind || !b->lens || !b->ints) {
            set_err(d, CR_OUT_OF_MEMORY, "out of memory");
            return -1;
        }
    }
    for (int i = 0; i < n; i++) {
        MYSQL_BIND *x = &b->bind[i];
        switch (p[i].type) {
        case 'i':
            b->ints[i] = p[i].i;
            x->buffer_type = MYSQL_TYPE_LONGLONG;
            x->buffer = &b->ints[i];
            break;
        case 's':
        case 'b':
            if (!p[i].s) {
                x->buffer_type = MYSQL_TYPE_NULL;
                break;
            }
            b->lens[i] = (unsigned long)(p[i].type == 's' ? strlen(p[i].s) : p[i].len);
            x->buffer_type = p[i].type == 's' ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
            x->buffer = (void *)(uintptr_t)p[i].s;
            x->buffer_length = b->lens[i];
            x->length = &b->lens[i];
            break;
        case 'n':
            x->buffer_type = MYSQL_TYPE_NULL;
            break;
        default:
            /* 'r' (batch.h) or a slip: binding it as NULL would store
             * a wrong value without a word */
            set_err(d, CR_UNKNOWN_ERROR, "bad parameter type");
            return -1;
        }
    }
    return 0;
}

/* The one way a statement runs: prepare (cached), bind and execute,
 * preparing again once when a table changed under the cached statement.
 * The server says so with ER_NEED_REPREPARE when it cannot re-prepare by
 * itself; when it can, but the result has other columns now (an ALTER
 * under a SELECT *), the client library refuses the result with
 * CR_NEW_STMT_METADATA and leaves the link in step.  Either way a fresh
 * statement runs again: the second case meets only statements with a
 * result, and none of ours writes as well (no INSERT ... RETURNING).
 * Returns the statement or NULL with the error set.  A statement built at
 * run time (cached false) is prepared for this call alone and belongs to
 * the caller, who closes it. */
static MYSQL_STMT *run_stmt(struct db *d, const char *sql, const struct db_param *p, int n,
                            bool cached)
{
    if (d->dead) {
        set_err(d, CR_SERVER_GONE_ERROR, "connection is down");
        return NULL;
    }
    struct bound b;
    MYSQL_STMT *ok = NULL, *st = NULL;
    if (bind_params(d, &b, p, n) != 0 || begin_if_pending(d) != 0)
        goto out;
    st = cached ? get_stmt(d, sql) : prepare_fresh(d, sql);
    for (int attempt = 0; st && attempt < 2; attempt++) {
        if (mysql_stmt_param_count(st) != (unsigned long)n) {
            set_err(d, CR_UNKNOWN_ERROR, "parameter count does not match the statement");
            goto out;
        }
        if (mysql_stmt_bind_param(st, b.bind) != 0) {
            set_err_stmt(d, st);
            goto out;
        }
        if (mysql_stmt_execute(st) == 0) {
            clear_err(d);
            ok = st;
            goto out;
        }
        set_err_stmt(d, st);
        if (!cached || (d->err != ER_NEED_REPREPARE && d->err != CR_NEW_STMT_METADATA))
            goto out;
        st = reprepare(d, sql);
    }
out:
    if (!cached && st && !ok)
        mysql_stmt_close(st);
    bound_free(&b);
    return ok;
}

static MYSQL_STMT *run(struct db *d, const char *sql, const struct db_param *p, int n)
{
    return run_stmt(d, sql, p, n, true);
}

/* The printf-style entry points: the format becomes an array and takes
 * the one path above. */
static MYSQL_STMT *run_fmt(struct db *d, const char *sql, const char *fmt, va_list ap)
{
    struct db_param p[DB_MAX_PARAMS];
    int n = db_params_from_fmt(p, DB_MAX_PARAMS, fmt, ap);
    if (n < 0) {
        set_err(d, CR_UNKNOWN_ERROR, "bad parameter format");
        return NULL;
    }
    return run(d, sql, p, n);
}

static long long affected(MYSQL_STMT *st)
{
    if (!st)
        return -1;
    long long n = (long long)mysql_stmt_affected_rows(st);
    if (mysql_stmt_field_count(st) > 0)
        mysql_stmt_free_result(st);
    return n < 0 ? 0 : n;
}

long long db_exec_params(struct db *d, const char *sql, const struct db_param *p, int n)
{
    return affected(run(d, sql, p, n));
}

long long db_exec(struct db *d, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    MYSQL_STMT *st = run_fmt(d, sql, fmt, ap);
    va_end(ap);
    return affected(st);
}

static struct db_rows *fetch_all(struct db *d, MYSQL_STMT *st)
{
    struct db_rows *r = calloc(1, sizeof *r);
    MYSQL_RES *meta = NULL;
    MYSQL_BIND *rb = NULL;
    unsigned long *lens = NULL;
    my_bool *nulls = NULL;
    char **bufs = NULL;
    size_t ncols = mysql_stmt_field_count(st);

    if (!r)
        goto oom;
    if (mysql_stmt_store_result(st) != 0) {
        set_err_stmt(d, st);
        goto fail;
    }
    meta = mysql_stmt_result_metadata(st);
    if (!meta) {
        set_err_stmt(d, st);
        goto fail;
    }
    MYSQL_FIELD *fields = mysql_fetch_fields(meta);
    r->ncols = ncols;
    r->nrows = (size_t)mysql_stmt_num_rows(st);
    if (r->nrows && ncols) {
        r->cells = calloc(r->nrows * ncols, sizeof *r->cells);
        if (!r->cells)
            goto oom;
    }
    rb = calloc(ncols ? ncols : 1, sizeof *rb);
    lens = calloc(ncols ? ncols : 1, sizeof *lens);
    nulls = calloc(ncols ? ncols : 1, sizeof *nulls);
    bufs = calloc(ncols ? ncols : 1, sizeof *bufs);
    if (!rb || !lens || !nulls || !bufs)
        goto oom;
    for (size_t c = 0; c < ncols; c++) {
        /* max_length is exact after store_result (UPDATE_MAX_LENGTH);
         * numbers and dates need room for their text form too */
        size_t cap = fields[c].max_length + 1;
        if (cap < 64)
            cap = 64;
        bufs[c] = malloc(cap);
        if (!bufs[c])
            goto oom;
        rb[c].buffer_type = MYSQL_TYPE_STRING;
        rb[c].buffer = bufs[c];
        rb[c].buffer_length = cap;
        rb[c].length = &lens[c];
        rb[c].is_null = &nulls[c];
    }
    if (ncols && mysql_stmt_bind_result(st, rb) != 0) {
        set_err_stmt(d, st);
        goto fail;
    }
    for (size_t row = 0; row < r->nrows; row++) {
        int rc = mysql_stmt_fetch(st);
        if (rc == MYSQL_NO_DATA) {
            r->nrows = row;
            break;
        }
        if (rc == 1) {
            set_err_stmt(d, st);
            goto fail;
        }
        for (size_t c = 0; c < ncols; c++) {
            struct db_cell *cell = &r->cells[row * ncols + c];
            if (nulls[c])
                continue;
            size_t len = lens[c];
            if (len >= rb[c].buffer_length)   /* truncated: cannot happen */
                len = rb[c].buffer_length - 1;
            cell->data = malloc(len + 1);
            if (!cell->data)
                goto oom;
            memcpy(cell->data, bufs[c], len);
            cell->data[len] = '\0';
            cell->len = len;
        }
    }
    goto done;
oom:
    set_err(d, CR_OUT_OF_MEMORY, "out of memory");
fail:
    db_rows_free(r);
    r = NULL;
done:
    if (bufs)
        for (size_t c = 0; c < ncols; c++)
            free(bufs[c]);
    free(bufs);
    free(rb);
    free(lens);
    free(nulls);
    if (meta)
        mysql_free_result(meta);
    mysql_stmt_free_result(st);
    return r;
}

struct db_rows *db_query(struct db *d, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    MYSQL_STMT *st = run_fmt(d, sql, fmt, ap);
    va_end(ap);
    return st ? fetch_all(d, st) : NULL;
}

struct db_rows *db_query_params(struct db *d, const char *sql, const struct db_param *p, int n)
{
    MYSQL_STMT *st = run(d, sql, p, n);
    return st ? fetch_all(d, st) : NULL;
}

struct db_rows *db_query_built(struct db *d, const char *sql, const struct db_param *p, int n)
{
    MYSQL_STMT *st = run_stmt(d, sql, p, n, false);
    struct db_rows *r = st ? fetch_all(d, st) : NULL;
    if (st)
        mysql_stmt_close(st);
    return r;
}

int db_query_int(struct db *d, long long *out, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    MYSQL_STMT *st = run_fmt(d, sql, fmt, ap);
    va_end(ap);
    if (!st)
        return -1;
    struct db_rows *r = fetch_all(d, st);
    if (!r)
        return -1;
    int found = 0;
    if (db_rows_next(r)) {
        *out = db_rows_int(r, 0);
        found = 1;
    }
    db_rows_free(r);
    return found;
}

bool db_rows_next(struct db_rows *r)
{
    if (r->cur >= r->nrows)
        return false;
    r->cur++;
    return true;
}

size_t db_rows_count(const struct db_rows *r)
{
    return r->nrows;
}

static const struct db_cell *cell_at(const struct db_rows *r, int col)
{
    if (r->cur == 0 || col < 0 || (size_t)col >= r->ncols)
        return NULL;
    return &r->cells[(r->cur - 1) * r->ncols + (size_t)col];
}

bool db_rows_null(const struct db_rows *r, int col)
{
    const struct db_cell *c = cell_at(r, col);
    return !c || !c->data;
}

long long db_rows_int(const struct db_rows *r, int col)
{
    const struct db_cell *c = cell_at(r, col);
    if (!c || !c->data)
        return 0;
    return strtoll(c->data, NULL, 10);
}

const char *db_rows_str(const struct db_rows *r, int col, size_t *len)
{
    const struct db_cell *c = cell_at(r, col);
    if (!c || !c->data) {
        if (len)
            *len = 0;
        return "";
    }
    if (len)
        *len = c->len;
    return c->data;
}

void db_rows_free(struct db_rows *r)
{
    if (!r)
        return;
    if (r->cells)
        for (size_t i = 0; i < r->nrows * r->ncols; i++)
            free(r->cells[i].data);
    free(r->cells);
    free(r);
}

uint64_t db_insert_id(const struct db *d)
{
    return d->my ? (uint64_t)mysql_insert_id(d->my) : 0;
}

int db_commit(struct db *d)
{
    if (d->begin_pending || d->committed) {
        /* nothing was sent, or a batch carried the COMMIT already */
        d->begin_pending = d->committed = false;
        return 0;
    }
    if (d->dead) {
        set_err(d, CR_SERVER_GONE_ERROR, "connection is down");
        return -1;
    }
    if (mysql_commit(d->my) != 0) {
        set_err_my(d);
        return -1;
    }
    return 0;
}

void db_rollback(struct db *d)
{
    if (d->begin_pending) {
        d->begin_pending = false;   /* nothing was sent */
        return;
    }
    if (!d->dead && d->my) {
        int e = d->err;
        char saved[sizeof d->errstr];
        memcpy(saved, d->errstr, sizeof saved);
        if (mysql_rollback(d->my) != 0 && is_conn_error((int)mysql_errno(d->my)))
            d->dead = true;
        /* keep the error that made us roll back */
        d->err = e;
        memcpy(d->errstr, saved, sizeof saved);
    }
}

static void backoff_pause(int attempt)
{
    /* 1-4 ms, then doubling: enough for the lock holder to commit */
    long ms = (long)(1 + randombytes_uniform(4)) << (attempt < 4 ? attempt : 4);
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int db_tx(struct db *d, int (*fn)(struct db *d, void *arg), void *arg)
{
    for (int attempt = 0;; attempt++) {
        /* START TRANSACTION goes out with the first statement: a batch
         * carries it in the same round trip */
        d->begin_pending = true;
        d->commit_sent = d->committed = false;
        int rc = fn(d, arg);
        if (rc > 0) {
            db_rollback(d);
            return rc;
        }
        if (rc == 0) {
            if (db_commit(d) == 0)
                return DB_TX_COMMITTED;
            if (db_errkind(d) == DB_CONN)
                return DB_TX_UNKNOWN;
        } else if (d->commit_sent && db_errkind(d) == DB_CONN) {
            return DB_TX_UNKNOWN;   /* a batch carrying COMMIT was cut off */
        }
        db_rollback(d);
        if (db_errkind(d) != DB_RETRY || attempt + 1 >= DB_TX_ATTEMPTS)
            return DB_TX_ERROR;
        /* a deadlock or a lock wait: the whole transaction runs again */
        atomic_fetch_add(&wb_stats.tx_retries, 1);
        log_msg(LOG_WARN, "transaction retried on a deadlock or lock wait (attempt %d of %d): "
                "mariadb error %d: %s", attempt + 2, DB_TX_ATTEMPTS, db_errno(d), db_error(d));
        backoff_pause(attempt);
    }
}

void *db_local(struct db *d, const struct db_local_key *key)
{
    for (size_t i = 0; i < d->nlocals; i++)
        if (d->locals[i].key == key)
            return d->locals[i].state;
    void *state = calloc(1, key->size ? key->size : 1);
    struct local_slot *n = state ? realloc(d->locals, (d->nlocals + 1) * sizeof *n) : NULL;
    if (!n) {
        free(state);
        set_err(d, CR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    d->locals = n;
    d->locals[d->nlocals++] = (struct local_slot){ key, state };
    return state;
}

int db_errno(const struct db *d)
{
    return d->err;
}

const char *db_error(const struct db *d)
{
    return d->errstr;
}

enum db_errkind db_errkind(const struct db *d)
{
    if (d->err == 0)
        return DB_OK;
    if (d->dead || is_conn_error(d->err))
        return DB_CONN;
    switch (d->err) {
    case ER_DUP_ENTRY:
        return DB_DUP;
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
        return DB_RETRY;
    case ER_STATEMENT_TIMEOUT:
        return DB_SLOW;
    default:
        return DB_OTHER;
    }
}

/* ---- for the other files of the connection layer (db_private.h) ---- */

MYSQL *db_link(struct db *d)
{
    if (d->dead || !d->my) {
        set_err(d, CR_SERVER_GONE_ERROR, "connection is down");
        return NULL;
    }
    return d->my;
}

void db_error_from_link(struct db *d)
{
    set_err_my(d);
}

void db_error_set(struct db *d, int code, const char *msg)
{
    set_err(d, code, msg);
}

void db_error_clear(struct db *d)
{
    clear_err(d);
}

bool db_take_begin(struct db *d)
{
    bool pending = d->begin_pending;
    d->begin_pending = false;
    return pending;
}

void db_note_commit(struct db *d, bool sent, bool done)
{
    d->commit_sent = sent;
    d->committed = done;
}

struct db_rows *db_rows_from_res(struct db *d, MYSQL_RES *res)
{
    struct db_rows *r = calloc(1, sizeof *r);
    if (!r)
        goto oom;
    r->ncols = mysql_num_fields(res);
    r->nrows = (size_t)mysql_num_rows(res);
    if (r->nrows && r->ncols) {
        r->cells = calloc(r->nrows * r->ncols, sizeof *r->cells);
        if (!r->cells)
            goto oom;
    }
    for (size_t row = 0; row < r->nrows; row++) {
        MYSQL_ROW v = mysql_fetch_row(res);
        unsigned long *lens = v ? mysql_fetch_lengths(res) : NULL;
        if (!v || !lens) {
            r->nrows = row;
            break;
        }
        for (size_t c = 0; c < r->ncols; c++) {
            struct db_cell *cell = &r->cells[row * r->ncols + c];
            if (!v[c])
                continue;
            cell->data = malloc(lens[c] + 1);
            if (!cell->data)
                goto oom;
            memcpy(cell->data, v[c], lens[c]);
            cell->data[lens[c]] = '\0';
            cell->len = lens[c];
        }
    }
    return r;
oom:
    db_rows_free(r);
    set_err(d, CR_OUT_OF_MEMORY, "out of memory");
    return NULL;
}
