/* import.c - see import.h. */
#include "db/import.h"
#include "db/audit.h"
#include "db/db.h"
#include "db/idem.h"
#include "db/engine.h"
#include "db/ledger.h"
#include "db/stats.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NCOLS 5
enum { C_REGION, C_NAME, C_ADDRESS, C_PHONE, C_MEMBERS };
static const char *const col_names[NCOLS] = { "region_code", "head_name", "address", "phone",
                                              "members" };

/* Multi-row INSERTs: statements are cached per pointer, so the texts are
 * built once per process. */
#define BIG 500
#define SMALL 25
static char *sql_big, *sql_small;
static const char SQL_ONE[] =
    "INSERT INTO households (region_id, head_name, address, phone, members) VALUES (?,?,?,?,?)";
static pthread_once_t sql_once = PTHREAD_ONCE_INIT;

static char *build_insert(int rows)
{
    static const char head[] =
        "INSERT INTO households (region_id, head_name, address, phone, members) VALUES ";
    size_t len = sizeof head + (size_t)rows * 12;
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t o = (size_t)snprintf(s, len, "%s", head);
    for (int i = 0; i < rows; i++)
        o += (size_t)snprintf(s + o, len - o, "%s(?,?,?,?,?)", i ? "," : "");
    return s;
}

static void build_sql(void)
{
    sql_big = build_insert(BIG);
    sql_small = build_insert(SMALL);
}

static const char SQL_REGIONS[] =
    "SELECT code, id, level FROM regions WHERE path LIKE CONCAT(?, '%')";

int csv_record(const char *data, size_t len, size_t *pos, long *line, char *buf,
               char **fields, int maxf)
{
    size_t p = *pos, o = 0;
    int n = 0;
    bool nul = false;
    if (p >= len)
        return 0;
    for (;;) {
        /* one field */
        if (n < maxf)
            fields[n] = buf + o;
        if (p < len && data[p] == '"') {
            p++;
            for (;;) {
                if (p >= len)
                    return -1;                     /* unterminated quote */
                if (data[p] == '"') {
                    if (p + 1 < len && data[p + 1] == '"') {
                        buf[o++] = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (data[p] == '\n')
                    (*line)++;
                nul |= data[p] == '\0';
                buf[o++] = data[p++];
            }
            if (p < len && data[p] != ',' && data[p] != '\n' && data[p] != '\r')
                return -1;                         /* text after the closing quote */
        } else {
            while (p < len && data[p] != ',' && data[p] != '\n' && data[p] != '\r') {
                if (data[p] == '"')
                    return -1;
                nul |= data[p] == '\0';
                buf[o++] = data[p++];
            }
        }
        buf[o++] = '\0';
        n++;
        if (p < len && data[p] == ',') {
            p++;
            continue;
        }
        /* end of record: CRLF, LF, lone CR, or end of input */
        if (p < len && data[p] == '\r')
            p++;
        if (p < len && data[p] == '\n')
            p++;
        (*line)++;
        break;
    }
    *pos = p;
    /* a NUL would cut the field short everywhere it is used as a string */
    return nul ? -2 : n;
}

struct code_map {
    char (*codes)[13];
    long long *ids;
    size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static int map_put(struct code_map *m, const char *code, long long id)
{
    size_t i = hash_str(code) % m->cap;
    while (m->ids[i])
        i = (i + 1) % m->cap;
    snprintf(m->codes[i], sizeof m->codes[i], "%s", code);
    m->ids[i] = id;
    m->n++;
    return 0;
}

static long long map_get(const struct code_map *m, const char *code)
{
    if (strlen(code) > 12)
        return 0;
    size_t i = hash_str(code) % m->cap;
    while (m->ids[i]) {
        if (strcmp(m->codes[i], code) == 0)
            return m->ids[i];
        i = (i + 1) % m->cap;
    }
    return 0;
}

/* Regions a row may name: inside reach, a village or community.  Other
 * reachable levels are kept as -id so the error can say why. */
static int load_regions(struct db *d, const char *reach, struct code_map *m)
{
    struct db_rows *r = db_query(d, SQL_REGIONS, "s", reach);
    if (!r)
        return -1;
    m->cap = db_rows_count(r) * 2 + 16;
    m->codes = calloc(m->cap, sizeof *m->codes);
    m->ids = calloc(m->cap, sizeof *m->ids);
    if (!m->codes || !m->ids) {
        db_rows_free(r);
        return -1;
    }
    while (db_rows_next(r)) {
        const char *level = db_rows_str(r, 2, NULL);
        long long id = db_rows_int(r, 1);
        bool leaf = strcmp(level, "village") == 0 || strcmp(level, "community") == 0;
        map_put(m, db_rows_str(r, 0, NULL), leaf ? id : -id);
    }
    db_rows_free(r);
    return 0;
}

/* GB18030 -> UTF-8 with iconv; NULL on a byte sequence that is not
 * GB18030 (then *bad_line says where). */
static char *from_gb18030(const char *in, size_t len, size_t *outlen, long *bad_line)
{
    iconv_t cd = iconv_open("UTF-8", "GB18030");
    if (cd == (iconv_t)-1)
        return NULL;
    size_t cap = len * 2 + 16;
    char *out = malloc(cap);
    char *ip = (char *)(uintptr_t)in, *op = out;
    size_t il = len, ol = cap;
    if (out && iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
        long line = 1;
        for (const char *p = in; p < ip; p++)
            line += *p == '\n';
        *bad_line = line;
        free(out);
        out = NULL;
    }
    iconv_close(cd);
    if (out)
        *outlen = (size_t)(op - out);
    return out;
}

static size_t utf8_valid_prefix(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > len || (n == 2 && c < 0xC2))
            return i;
        for (size_t k = 1; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        if (n == 3) {
            unsigned cp = ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
            if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
                return i;
        }
        if (n == 4) {
            unsigned cp = ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12);
            if (cp < 0x10000 || cp > 0x10FFFF)
                return i;
        }
        i += n;
    }
    return len;
}

static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    size_t i = 0;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
}

static void add_error(struct import_result *res, long line, const char *field, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static void add_error(struct import_result *res, long line, const char *field, const char *fmt,
                      ...)
{
    res->total_errors++;
    if (res->nerrors >= IMPORT_MAX_ERRORS)
        return;
    struct import_error *e = &res->errors[res->nerrors++];
    e->line = line;
    snprintf(e->field, sizeof e->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

struct row {
    long long region_id;
    char *name, *address, *phone;   /* into the row arena */
    long long members;
};

struct rows {
    struct row *v;
    size_t n, cap;
};

static int push_row(struct rows *rs, const struct row *r)
{
    if (rs->n == rs->cap) {
        size_t ncap = rs->cap ? rs->cap * 2 : 1024;
        struct row *nv = realloc(rs->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        rs->v = nv;
        rs->cap = ncap;
    }
    rs->v[rs->n++] = *r;
    return 0;
}

static void free_rows(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->v[i].name);
        free(rs->v[i].address);
        free(rs->v[i].phone);
    }
    free(rs->v);
}

/* Check one data row; on success push it. */
static int check_row(char **f, int nf, const int *colpos, long line, const struct code_map *m,
                     struct rows *rs, struct import_result *res)
{
    const char *v[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        v[c] = colpos[c] >= 0 && colpos[c] < nf ? f[colpos[c]] : "";
    long errs = res->total_errors;
    long long rid = map_get(m, v[C_REGION]);
    if (!v[C_REGION][0])
        add_error(res, line, "region_code", "region_code is required");
    else if (rid == 0)
        add_error(res, line, "region_code", "no region with code '%s' here", v[C_REGION]);
    else if (rid < 0)
        add_error(res, line, "region_code", "region '%s' is not a village or community",
                  v[C_REGION]);
    size_t n = chars(v[C_NAME]);
    if (n < 1 || n > 100)
        add_error(res, line, "head_name", "head_name must be 1 to 100 characters");
    n = chars(v[C_ADDRESS]);
    if (n < 1 || n > 200)
        add_error(res, line, "address", "address must be 1 to 200 characters");
    const char *ph = v[C_PHONE];
    if (ph[0] && (strlen(ph) < 3 || strlen(ph) > 32 || strspn(ph, "0123456789+- ") != strlen(ph)))
        add_error(res, line, "phone", "phone '%s' is not a phone number", ph);
    long long members = 1;
    if (v[C_MEMBERS][0]) {
        char *end;
        members = strtoll(v[C_MEMBERS], &end, 10);
        if (*end || members < 1 || members > 99)
            add_error(res, line, "members", "members must be from 1 to 99, not '%s'",
                      v[C_MEMBERS]);
    }
    if (res->total_errors != errs)
        return 0;
    struct row r = { rid, strdup(v[C_NAME]), strdup(v[C_ADDRESS]),
                     ph[0] ? strdup(ph) : NULL, members };
    if (!r.name || !r.address || (ph[0] && !r.phone) || push_row(rs, &r) != 0) {
        free(r.name);
        free(r.address);
        free(r.phone);
        return -1;
    }
    return 0;
}

/* The import, as an operation of the ledger engine (db/engine.h): it
 * locks nothing (it only creates households), and the engine gives it
 * the rule every movement has - a stored answer for its key first, its
 * own answer stored with the commit, a twin's answered from the record. */
struct insert_job {
    struct rows *rs;
    const struct audit_actor *who;
    struct db_param *params;
};

static int import_decide(struct engine_tx *tx, struct ledger_op *op)
{
    struct insert_job *j = op->in;
    struct db *d = engine_db(tx);
    size_t i = 0, n = j->rs->n;
    /* thousands of rows: prepared multi-row INSERTs, run here in the
     * transaction rather than as text in the group's batch */
    while (i < n) {
        size_t batch = n - i >= BIG ? BIG : n - i >= SMALL ? SMALL : 1;
        const char *sql = batch == BIG ? sql_big : batch == SMALL ? sql_small : SQL_ONE;
        for (size_t k = 0; k < batch; k++) {
            const struct row *r = &j->rs->v[i + k];
            struct db_param *p = &j->params[k * 5];
            p[0] = (struct db_param){ 'i', r->region_id, NULL, 0 };
            p[1] = (struct db_param){ 's', 0, r->name, 0 };
            p[2] = (struct db_param){ 's', 0, r->address, 0 };
            p[3] = (struct db_param){ 's', 0, r->phone, 0 };
            p[4] = (struct db_param){ 'i', r->members, NULL, 0 };
        }
        if (db_exec_params(d, sql, j->params, (int)batch * 5) < 0)
            return -1;
        i += batch;
    }
    json_t *detail = json_pack("{s:I}", "created", (json_int_t)n);
    int rc = audit_add(engine_write_batch(tx), j->who, "household.import", "household", 0, NULL,
                       detail);
    json_decref(detail);
    if (rc != 0)
        return -1;
    op->ans.status = 200;
    op->ans.body = json_pack("{s:I}", "created", (json_int_t)n);
    return op->ans.body ? 0 : -1;
}

static const struct ledger_op_kind import_kind = { "import", NULL, NULL, import_decide };

/* Run the import's operation and read its answer into res: IMPORT_DONE
 * (or replayed, or a conflict), IMPORT_REFUSED when the refusal decided
 * before stands, else IMPORT_ERROR or IMPORT_UNKNOWN. */
static enum import_rc run_import(struct db *d, struct ledger_op *op, struct import_result *res)
{
    struct ledger_op *one = op;
    ledger_engine_run(d, &one, 1);
    enum import_rc rc = op->rc == LEDGER_UNKNOWN ? IMPORT_UNKNOWN
                        : op->rc == LEDGER_OK    ? IMPORT_DONE
                                                 : IMPORT_ERROR;
    if (rc == IMPORT_DONE && op->ans.conflict) {
        res->conflict = true;
    } else if (rc == IMPORT_DONE && op->ans.replayed) {
        res->created = (long)json_integer_value(json_object_get(op->ans.body, "created"));
        res->replayed = true;
        res->nerrors = 0;
        res->total_errors = 0;
    } else if (rc == IMPORT_DONE && op->preset) {
        rc = IMPORT_REFUSED;
    } else if (rc == IMPORT_DONE) {
        res->created = (long)json_integer_value(json_object_get(op->ans.body, "created"));
    }
    ledger_answer_release(&op->ans);
    return rc;
}

enum import_rc import_households(struct db *d, const char *data, size_t len, bool gb18030,
                      const char *reach_path, const struct audit_actor *who,
                      const char *scope, const char *key, const unsigned char *fp,
                      struct import_result *res)
{
    memset(res, 0, sizeof *res);
    pthread_once(&sql_once, build_sql);
    if (!sql_big || !sql_small)
        return IMPORT_ERROR;
    struct ledger_op op = { .kind = &import_kind, .scope = scope, .key = key };
    if (key)
        memcpy(op.fp, fp, sizeof op.fp);
    char *converted = NULL;
    if (gb18030) {
        long bad = 0;
        size_t clen = 0;
        converted = from_gb18030(data, len, &clen, &bad);
        if (!converted) {
            add_error(res, bad ? bad : 1, "file", "the file is not valid GB18030");
            return IMPORT_REFUSED;
        }
        data = converted;
        len = clen;
    }
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    size_t ok = utf8_valid_prefix((const unsigned char *)data, len);
    if (ok != len) {
        long line = 1;
        for (size_t i = 0; i < ok; i++)
            line += data[i] == '\n';
        add_error(res, line, "file",
                  "the file is not UTF-8 here (save it as UTF-8, or send charset=gb18030)");
        free(converted);
        return IMPORT_REFUSED;
    }

    struct code_map m = { 0 };
    struct rows rs = { 0 };
    char *buf = malloc(len + 1);
    char *f[16];
    enum import_rc rc = IMPORT_ERROR;
    if (!buf || load_regions(d, reach_path, &m) != 0)
        goto out;

    size_t pos = 0;
    long line = 1, start;
    int colpos[NCOLS] = { -1, -1, -1, -1, -1 };
    start = line;
    int nf = csv_record(data, len, &pos, &line, buf, f, 16);
    if (nf == -2) {
        add_error(res, 1, "header", "the header holds a NUL byte");
        rc = IMPORT_REFUSED;
        goto out;
    }
    if (nf <= 0) {
        add_error(res, 1, "header", "the first line must be the header: %s",
                  "region_code,head_name,address,phone,members");
        rc = IMPORT_REFUSED;
        goto out;
    }
    for (int i = 0; i < nf && i < 16; i++) {
        trim(f[i]);
        int c = 0;
        while (c < NCOLS && strcasecmp(col_names[c], f[i]) != 0)
            c++;
        if (c == NCOLS || colpos[c] >= 0) {
            add_error(res, 1, "header",
                      "%s column '%s'", c == NCOLS ? "unknown" : "repeated", f[i]);
            continue;
        }
        colpos[c] = i;
    }
    for (int c = 0; c < 3; c++)
        if (colpos[c] < 0)
            add_error(res, 1, "header", "missing column '%s'", col_names[c]);
    if (res->total_errors) {
        rc = IMPORT_REFUSED;
        goto out;
    }
    for (;;) {
        start = line;
        nf = csv_record(data, len, &pos, &line, buf, f, 16);
        if (nf == 0)
            break;
        if (nf == -2) {
            add_error(res, start, "row", "this row holds a NUL byte");
            continue;       /* the record was split: go on with the next */
        }
        if (nf < 0) {
            add_error(res, start, "row", "malformed quotes in this row");
            break;          /* the rest cannot be split reliably */
        }
        for (int i = 0; i < nf && i < 16; i++)
            trim(f[i]);
        if (nf == 1 && f[0][0] == '\0')
            continue;       /* blank line */
        res->rows++;
        if (nf > 16 || nf > NCOLS + 2) {
            add_error(res, start, "row", "too many fields in this row");
            continue;
        }
        if (check_row(f, nf, colpos, start, &m, &rs, res) != 0)
            goto out;
    }
    if (!res->total_errors && rs.n == 0)
        add_error(res, 2, "row", "the file has no households");
    struct insert_job j = { &rs, who, NULL };
    if (!res->total_errors && !(j.params = calloc(BIG * 5, sizeof(struct db_param))))
        goto out;
    op.in = &j;
    if (res->total_errors) {
        /* the rows refused still yield to a stored answer for the key */
        rc = IMPORT_REFUSED;
        if (key) {
            ledger_op_refuse(&op, 400, "invalid_request", NULL, "the file has problems");
            rc = run_import(d, &op, res);
        }
    } else {
        rc = run_import(d, &op, res);
    }
    free(j.params);
out:
    free(buf);
    free(m.codes);
    free(m.ids);
    free_rows(&rs);
    free(converted);
    return rc;
}
