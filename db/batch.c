/* batch.c - see batch.h. */
#include "db/batch.h"
#include "db/db_private.h"

#include <errmsg.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define BATCH_MAX_PARAMS 64
#define BEGIN_SQL "START TRANSACTION;"

void db_batch_init(struct db_batch *b, struct db *d)
{
    memset(b, 0, sizeof *b);
    b->d = d;
    b->failed_at = -1;
}

static bool reserve(struct db_batch *b, size_t more)
{
    if (b->broken)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->sql, cap);
    if (!p) {
        b->broken = true;
        db_error_set(b->d, CR_OUT_OF_MEMORY, "out of memory");
        return false;
    }
    b->sql = p;
    b->cap = cap;
    return true;
}

static bool put(struct db_batch *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return false;
    memcpy(b->sql + b->len, s, n);
    b->len += n;
    b->sql[b->len] = '\0';
    return true;
}

static bool put_value(struct db_batch *b, MYSQL *my, const struct db_param *p)
{
    char num[32];
    switch (p->type) {
    case 'i':
        return put(b, num, (size_t)snprintf(num, sizeof num, "%lld", p->i));
    case 'n':
        return put(b, "NULL", 4);
    case 'r':
        return p->s ? put(b, p->s, strlen(p->s)) : put(b, "NULL", 4);
    case 's': {
        if (!p->s)
            return put(b, "NULL", 4);
        size_t n = strlen(p->s);
        if (!reserve(b, 2 * n + 2))
            return false;
        b->sql[b->len++] = '\'';
        unsigned long w = mysql_real_escape_string(my, b->sql + b->len, p->s, (unsigned long)n);
        if (w > 2 * n) {        /* (unsigned long)-1: the text cannot be escaped */
            db_error_set(b->d, CR_UNKNOWN_ERROR, "a value cannot be escaped");
            b->broken = true;
            return false;
        }
        b->len += w;
        b->sql[b->len++] = '\'';
        b->sql[b->len] = '\0';
        return true;
    }
    case 'b': {
        if (!p->s)
            return put(b, "NULL", 4);
        if (!reserve(b, 2 * p->len + 3))
            return false;
        b->sql[b->len++] = 'X';
        b->sql[b->len++] = '\'';
        sodium_bin2hex(b->sql + b->len, 2 * p->len + 1, (const unsigned char *)p->s, p->len);
        b->len += 2 * p->len;
        b->sql[b->len++] = '\'';
        b->sql[b->len] = '\0';
        return true;
    }
    default:
        return false;
    }
}

int db_batch_add_params(struct db_batch *b, const char *sql, const struct db_param *p, int n)
{
    if (b->broken)
        return -1;
    MYSQL *my = db_link(b->d);
    if (!my) {
        b->broken = true;
        return -1;
    }
    if (b->n > 0 && !put(b, ";", 1))
        return -1;
    int used = 0;
    for (const char *s = sql; *s; s++) {
        if (*s != '?') {
            const char *end = strchr(s, '?');
            size_t run = end ? (size_t)(end - s) : strlen(s);
            if (!put(b, s, run))
                return -1;
            s += run - 1;
            continue;
        }
        if (used >= n || !put_value(b, my, &p[used])) {
            if (!b->broken)
                db_error_set(b->d, CR_UNKNOWN_ERROR, "batch parameters do not match the statement");
            b->broken = true;
            return -1;
        }
        used++;
    }
    if (used != n) {
        db_error_set(b->d, CR_UNKNOWN_ERROR, "batch parameters do not match the statement");
        b->broken = true;
        return -1;
    }
    return b->n++;
}

int db_batch_addv(struct db_batch *b, const char *sql, const char *fmt, va_list ap)
{
    struct db_param p[BATCH_MAX_PARAMS];
    int n = 0;
    for (const char *f = fmt ? fmt : ""; *f && n < BATCH_MAX_PARAMS; f++, n++) {
        p[n] = (struct db_param){ *f, 0, NULL, 0 };
        switch (*f) {
        case 'i':
            p[n].i = va_arg(ap, long long);
            break;
        case 's':
        case 'r':
            p[n].s = va_arg(ap, const char *);
            break;
        case 'b':
            p[n].s = va_arg(ap, const void *);
            p[n].len = va_arg(ap, size_t);
            break;
        case 'n':
            break;
        default:
            n = BATCH_MAX_PARAMS + 1;   /* refused below */
            break;
        }
        if (n > BATCH_MAX_PARAMS)
            break;
    }
    if (n > BATCH_MAX_PARAMS || (fmt && fmt[n] != '\0')) {
        db_error_set(b->d, CR_UNKNOWN_ERROR, "bad batch parameter format");
        b->broken = true;
        return -1;
    }
    return db_batch_add_params(b, sql, p, n);
}

int db_batch_add(struct db_batch *b, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = db_batch_addv(b, sql, fmt, ap);
    va_end(ap);
    return rc;
}

void db_batch_commit(struct db_batch *b)
{
    if (put(b, b->n > 0 ? ";COMMIT" : "COMMIT", b->n > 0 ? 7 : 6)) {
        b->n++;
        b->commits = true;
    }
}

/* Read the answer to one statement into res (rows kept when it has any). */
static int take_result(struct db_batch *b, MYSQL *my, struct db_batch_result *res)
{
    MYSQL_RES *r = mysql_store_result(my);
    if (r) {
        res->rows = db_rows_from_res(b->d, r);
        mysql_free_result(r);
        return res->rows ? 0 : -1;
    }
    if (mysql_field_count(my) != 0) {
        db_error_from_link(b->d);
        return -1;
    }
    res->insert_id = (uint64_t)mysql_insert_id(my);
    return 0;
}

/* Read and drop the answers still due, so the link stays in step. */
static void drain(MYSQL *my)
{
    while (mysql_next_result(my) == 0) {
        MYSQL_RES *r = mysql_store_result(my);
        if (r)
            mysql_free_result(r);
    }
}

int db_batch_run(struct db_batch *b)
{
    if (b->broken || b->n == 0 || b->res) {
        if (!b->broken)
            db_error_set(b->d, CR_UNKNOWN_ERROR, "empty or spent batch");
        return -1;
    }
    MYSQL *my = db_link(b->d);
    if (!my)
        return -1;
    b->res = calloc((size_t)b->n, sizeof *b->res);
    if (!b->res) {
        db_error_set(b->d, CR_OUT_OF_MEMORY, "out of memory");
        return -1;
    }
    /* the held-back BEGIN goes first, in the same round trip */
    bool begin = db_take_begin(b->d);
    const char *text = b->sql;
    size_t len = b->len;
    char *joined = NULL;
    if (begin) {
        joined = malloc(sizeof BEGIN_SQL + len);
        if (!joined) {
            db_error_set(b->d, CR_OUT_OF_MEMORY, "out of memory");
            return -1;
        }
        memcpy(joined, BEGIN_SQL, sizeof BEGIN_SQL - 1);
        memcpy(joined + sizeof BEGIN_SQL - 1, b->sql, len + 1);
        text = joined;
        len += sizeof BEGIN_SQL - 1;
    }
    if (b->commits)
        db_note_commit(b->d, true, false);
    int rc = mysql_real_query(my, text, (unsigned long)len);
    free(joined);
    int i = begin ? -1 : 0;     /* -1: the answer to START TRANSACTION */
    if (rc != 0) {
        db_error_from_link(b->d);
        b->failed_at = i < 0 ? 0 : i;
        return -1;
    }
    for (;; i++) {
        struct db_batch_result skip = { 0 };
        if (take_result(b, my, i >= 0 ? &b->res[i] : &skip) != 0) {
            b->failed_at = i < 0 ? 0 : i;
            drain(my);
            return -1;
        }
        int more = mysql_next_result(my);
        if (more == -1)
            break;
        if (more > 0) {
            db_error_from_link(b->d);
            b->failed_at = i + 1;
            return -1;
        }
        if (i + 1 >= b->n) {
            /* more answers than statements: cannot happen */
            db_error_set(b->d, CR_COMMANDS_OUT_OF_SYNC, "batch answers out of step");
            return -1;
        }
    }
    if (b->commits)
        db_note_commit(b->d, true, true);
    db_error_clear(b->d);
    return 0;
}

struct db_rows *db_batch_rows(struct db_batch *b, int i)
{
    return b->res && i >= 0 && i < b->n ? b->res[i].rows : NULL;
}

uint64_t db_batch_insert_id(const struct db_batch *b, int i)
{
    return b->res && i >= 0 && i < b->n ? b->res[i].insert_id : 0;
}

void db_batch_free(struct db_batch *b)
{
    if (b->res)
        for (int i = 0; i < b->n; i++)
            db_rows_free(b->res[i].rows);
    free(b->res);
    free(b->sql);
    b->sql = NULL;
    b->res = NULL;
}

/* ---- multi-row statements ---- */

void db_rows_builder_init(struct db_rows_builder *r, const struct db_rows_spec *spec)
{
    memset(r, 0, sizeof *r);
    r->spec = spec;
}

struct db_param *db_rows_builder_add(struct db_rows_builder *r)
{
    if (r->nrows == r->cap) {
        int cap = r->cap ? 2 * r->cap : 16;
        struct db_param *p = realloc(r->p, (size_t)cap * (size_t)r->spec->width * sizeof *p);
        if (!p)
            return NULL;
        r->p = p;
        r->cap = cap;
    }
    return &r->p[r->nrows++ * r->spec->width];
}

int db_rows_builder_flush(struct db_rows_builder *r, struct db_batch *b)
{
    if (r->nrows == 0)
        return -2;
    const struct db_rows_spec *sp = r->spec;
    size_t len = strlen(sp->head) + (size_t)r->nrows * (strlen(sp->tuple) + 1) +
                 strlen(sp->tail) + 1;
    char *sql = malloc(len);
    if (!sql) {
        db_error_set(b->d, CR_OUT_OF_MEMORY, "out of memory");
        b->broken = true;
        return -1;
    }
    size_t o = (size_t)snprintf(sql, len, "%s", sp->head);
    for (int i = 0; i < r->nrows; i++)
        o += (size_t)snprintf(sql + o, len - o, "%s%s", i ? "," : "", sp->tuple);
    snprintf(sql + o, len - o, "%s", sp->tail);
    int rc = db_batch_add_params(b, sql, r->p, r->nrows * sp->width);
    free(sql);
    return rc;
}

void db_rows_builder_release(struct db_rows_builder *r)
{
    free(r->p);
    r->p = NULL;
    r->nrows = r->cap = 0;
}
