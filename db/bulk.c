/* bulk.c - see bulk.h.  The connector asks for the "file" through the
 * local-infile callbacks; they hand it the buffer. */
#include "db/bulk.h"
#include "db/db_private.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bulk {
    struct db *d;            /* the caller's: errors are reported on it */
    struct db *own;          /* with a loader thread: the connection it loads on */
    char *sql;               /* the LOAD DATA statement */
    char *buf;
    size_t len, cap;
    long long rows;
    /* the loader thread: the buffer it is sending, and how it went */
    pthread_t thread;
    bool running;
    char *sending;
    size_t sending_len;
    int sent_rc;
    char sent_err[256];
};

/* The reader of one LOAD DATA: where it is in the buffer. */
struct reader {
    const char *p;
    size_t left;
};

static int infile_init(void **ptr, const char *name, void *userdata)
{
    (void)name;
    *ptr = userdata;
    return 0;
}

static int infile_read(void *ptr, char *buf, unsigned int len)
{
    struct reader *r = ptr;
    size_t n = r->left < len ? r->left : len;
    memcpy(buf, r->p, n);
    r->p += n;
    r->left -= n;
    return (int)n;
}

static void infile_end(void *ptr)
{
    (void)ptr;
}

static int infile_error(void *ptr, char *buf, unsigned int len)
{
    (void)ptr;
    snprintf(buf, len, "bulk reader failed");
    return 1;
}

struct bulk *bulk_new(struct db *d, const char *table, const char *columns)
{
    struct bulk *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    size_t n = strlen(table) + strlen(columns) + 96;
    b->d = d;
    b->sql = malloc(n);
    b->cap = BULK_FLUSH_BYTES + 4096;
    b->buf = malloc(b->cap);
    if (!b->sql || !b->buf) {
        bulk_free(b);
        return NULL;
    }
    snprintf(b->sql, n, "LOAD DATA LOCAL INFILE 'bulk' INTO TABLE %s CHARACTER SET utf8mb4 %s",
             table, columns);
    return b;
}

/* One LOAD DATA of buf on d: 0, or -1 with d's error set. */
static int load(struct db *d, const char *sql, const char *buf, size_t len)
{
    MYSQL *my = db_link(d);
    if (!my)
        return -1;
    struct reader r = { buf, len };
    mysql_set_local_infile_handler(my, infile_init, infile_read, infile_end, infile_error, &r);
    int rc = mysql_real_query(my, sql, strlen(sql));
    mysql_set_local_infile_default(my);
    if (rc != 0) {
        db_error_from_link(d);
        return -1;
    }
    if (mysql_warning_count(my) > 0) {
        db_error_set(d, 0, "LOAD DATA reported warnings: a value did not fit its column");
        return -1;
    }
    return 0;
}

static void *loader_main(void *arg)
{
    struct bulk *b = arg;
    b->sent_rc = load(b->own, b->sql, b->sending, b->sending_len);
    if (b->sent_rc != 0)
        snprintf(b->sent_err, sizeof b->sent_err, "%s", db_error(b->own));
    return NULL;
}

/* Wait for the load in flight; its outcome (0 or -1, the error on d). */
static int wait_loader(struct bulk *b)
{
    if (!b->running)
        return 0;
    pthread_join(b->thread, NULL);
    b->running = false;
    if (b->sent_rc != 0) {
        db_error_set(b->d, 0, b->sent_err);
        return -1;
    }
    return 0;
}

int bulk_flush(struct bulk *b)
{
    if (b->len == 0)
        return wait_loader(b);
    if (!b->own) {
        if (load(b->d, b->sql, b->buf, b->len) != 0)
            return -1;
        b->len = 0;
        return 0;
    }
    if (wait_loader(b) != 0)
        return -1;
    char *full = b->buf;                      /* swap: the thread sends, we fill */
    b->buf = b->sending;
    b->sending = full;
    b->sending_len = b->len;
    b->len = 0;
    if (pthread_create(&b->thread, NULL, loader_main, b) != 0) {
        db_error_set(b->d, 0, "bulk: cannot start a loader thread");
        return -1;
    }
    b->running = true;
    return 0;
}

int bulk_row(struct bulk *b, const char *fmt, ...)
{
    for (;;) {
        size_t room = b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf + b->len, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            db_error_set(b->d, 0, "bulk: bad row format");
            return -1;
        }
        if ((size_t)n + 1 < room) {
            b->len += (size_t)n;
            b->buf[b->len++] = '\n';
            b->rows++;
            break;
        }
        if (b->len == 0) {             /* one row larger than the buffer */
            db_error_set(b->d, 0, "bulk: a row larger than the buffer");
            return -1;
        }
        if (bulk_flush(b) != 0)
            return -1;
    }
    return b->len >= BULK_FLUSH_BYTES ? bulk_flush(b) : 0;
}

long long bulk_rows(const struct bulk *b)
{
    return b->rows;
}

struct bulk *bulk_new_own(struct db *d, struct db *own, const char *table, const char *columns)
{
    struct bulk *b = bulk_new(d, table, columns);
    if (!b) {
        db_close(own);
        return NULL;
    }
    b->own = own;
    b->sending = malloc(b->cap);
    if (!b->sending) {
        bulk_free(b);
        return NULL;
    }
    return b;
}

void bulk_free(struct bulk *b)
{
    if (!b)
        return;
    if (b->running)
        pthread_join(b->thread, NULL);
    db_close(b->own);
    free(b->sql);
    free(b->buf);
    free(b->sending);
    free(b);
}

int bulk_finish(struct bulk *b)
{
    if (!b)
        return 0;
    int rc = bulk_flush(b);              /* the rest goes to the thread ... */
    if (wait_loader(b) != 0)             /* ... and is waited for */
        rc = -1;
    bulk_free(b);
    return rc;
}
