/* bulk.c - see bulk.h.  The connector asks for the "file" through the
 * local-infile callbacks; they hand it the buffer. */
#include "db/bulk.h"
#include "db/db_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bulk {
    struct db *d;
    char *sql;               /* the LOAD DATA statement */
    char *buf;
    size_t len, cap;
    long long rows;
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

int bulk_flush(struct bulk *b)
{
    if (b->len == 0)
        return 0;
    MYSQL *my = db_link(b->d);
    if (!my)
        return -1;
    struct reader r = { b->buf, b->len };
    mysql_set_local_infile_handler(my, infile_init, infile_read, infile_end, infile_error, &r);
    int rc = mysql_real_query(my, b->sql, strlen(b->sql));
    mysql_set_local_infile_default(my);
    if (rc != 0) {
        db_error_from_link(b->d);
        return -1;
    }
    if (mysql_warning_count(my) > 0) {
        db_error_set(b->d, 0, "LOAD DATA reported warnings: a value did not fit its column");
        return -1;
    }
    b->len = 0;
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

void bulk_free(struct bulk *b)
{
    if (!b)
        return;
    free(b->sql);
    free(b->buf);
    free(b);
}

int bulk_finish(struct bulk *b)
{
    if (!b)
        return 0;
    int rc = bulk_flush(b);
    bulk_free(b);
    return rc;
}
