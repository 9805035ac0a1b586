/* collection_sets.c - see collection_sets.h. */
#include "db/collection_sets.h"
#include "db/batch.h"
#include "db/closing.h"
#include "db/db.h"
#include "db/regions.h"
#include "db/rollup.h"

#include <roaring/roaring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITE_BYTES (2u << 20)      /* members sent a round trip, at most about */
#define LATE_ROWS 2000              /* marks read a transaction */
#define LATE_DAYS 8                 /* marked days worked out a transaction */

/* ---- SQL ---- */

/* Every credited drop-off of a day as (site's path, network, category,
 * grams, items, points, household): category 0 for the drop-off itself,
 * then one row a line. */
#define DAY_ROWS(cols, join)                                                                 \
    "SELECT g.path, t.network + 0, " cols ", d.household_id FROM dropoffs d "                \
    "FORCE INDEX (ix_dropoffs_day) " join "JOIN sites t ON t.id = d.site_id "                \
    "JOIN regions g ON g.id = t.region_id WHERE d.local_day = ? AND d.status = 'ok'"
static const char SQL_DAY[] =
    DAY_ROWS("0, d.grams, d.items, d.points", "") " UNION ALL "
    DAY_ROWS("l.category_id, l.grams, l.count, l.points",
             "JOIN dropoff_lines l ON l.dropoff_id = d.id ");

static const char SQL_WIDE[] =
    "SELECT id FROM regions WHERE level IN ('province','city','county') ORDER BY id";
static const char SQL_FIRST[] =
    "SELECT COALESCE(DATE_FORMAT(MIN(local_day), '%Y%m%d') + 0, 0) FROM dropoffs";
static const char SQL_WIPE[] =
    "DELETE FROM stat_collection_set WHERE span = ? AND period = ?";
static const char SQL_STORED[] =
    "SELECT region_id, network + 0, category_id, dropoffs, grams, items, points, members "
    "FROM stat_collection_set FORCE INDEX (ix_set_period) "
    "WHERE span = ? AND period BETWEEN ? AND ?";
#define STR(x) #x
#define XSTR(x) STR(x)
static const char SQL_LATE[] =
    "SELECT site_id, DATE_FORMAT(local_day, '%Y%m%d') + 0, marks FROM collection_late "
    "FORCE INDEX (ix_late_day) ORDER BY local_day, site_id LIMIT " XSTR(LATE_ROWS);
static const char SQL_LATE_DONE[] =
    "DELETE FROM collection_late WHERE site_id = ? AND local_day = ? AND marks = ?";
static const char SQL_LATE_DAYS[] =
    "SELECT DISTINCT DATE_FORMAT(local_day, '%Y%m%d') + 0 FROM collection_late";
/* what a report by child region cannot read from the closed rows: a site
 * of the region itself (its own key), or a child below a county's level
 * (levels may be skipped: a town right under a city) */
static const char SQL_NARROW_CHILD[] =
    "SELECT (SELECT COUNT(*) FROM sites WHERE region_id = ?) + (SELECT COUNT(*) FROM regions "
    "WHERE parent_id = ? AND level NOT IN ('province','city','county'))";
static const char SQL_NARROW_ROOT[] =
    "SELECT COUNT(*) FROM regions WHERE parent_id IS NULL "
    "AND level NOT IN ('province','city','county')";
static const char SQL_STRAY[] =
    "SELECT span, DATE_FORMAT(period, '%Y%m%d') + 0, region_id FROM stat_collection_set "
    "WHERE (span = 'day' AND period > ?) OR (span = 'month' AND LAST_DAY(period) > ?) LIMIT 20";

static const struct db_rows_spec SET_ROWS = {
    "INSERT INTO stat_collection_set (region_id, span, period, network, category_id, "
    "dropoffs, grams, items, points, households, members) VALUES ",
    "(?,?,?,?,?,?,?,?,?,?,?)", "", 11,
};

/* ---- sets by (region, network, category) ---- */

enum { F_DROPOFFS, F_GRAMS, F_ITEMS, F_POINTS, F_N };

struct set {
    long long region, category;
    int network;
    long long fig[F_N];
    roaring_bitmap_t *members;      /* NULL: a free slot */
};

struct sets {
    struct set *v;                  /* open addressing, cap a power of 2 */
    size_t cap, n;
};

static size_t set_slot(size_t cap, long long region, int network, long long category)
{
    uint64_t h = (uint64_t)region * 0x9E3779B97F4A7C15ull ^
                 (uint64_t)category * 0xC2B2AE3D27D4EB4Full ^ (uint64_t)network;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
    return (size_t)h & (cap - 1);
}

static void sets_free(struct sets *s)
{
    for (size_t i = 0; i < s->cap; i++)
        if (s->v[i].members)
            roaring_bitmap_free(s->v[i].members);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int sets_grow(struct sets *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1024;
    struct set *v = calloc(cap, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < s->cap; i++) {
        struct set *e = &s->v[i];
        if (!e->members)
            continue;
        size_t j = set_slot(cap, e->region, e->network, e->category);
        while (v[j].members)
            j = (j + 1) & (cap - 1);
        v[j] = *e;
    }
    free(s->v);
    s->v = v;
    s->cap = cap;
    return 0;
}

/* The set of the key, made empty when new; NULL when out of memory. */
static struct set *sets_get(struct sets *s, long long region, int network, long long category)
{
    if ((s->n + 1) * 2 > s->cap && sets_grow(s) != 0)
        return NULL;
    size_t j = set_slot(s->cap, region, network, category);
    for (; s->v[j].members; j = (j + 1) & (s->cap - 1)) {
        struct set *e = &s->v[j];
        if (e->region == region && e->network == network && e->category == category)
            return e;
    }
    roaring_bitmap_t *m = roaring_bitmap_create();
    if (!m)
        return NULL;
    s->v[j] = (struct set){ region, category, network, { 0 }, m };
    s->n++;
    return &s->v[j];
}

/* Add one row's figures and members to the set. */
static void set_merge(struct set *e, const long long *fig, const roaring_bitmap_t *members)
{
    for (int f = 0; f < F_N; f++)
        e->fig[f] += fig[f];
    roaring_bitmap_or_inplace(e->members, members);
}

/* ---- the wide regions: county, city, province ---- */

struct wide {
    long long *id;                  /* sorted */
    int n;
};

static int wide_load(struct db *d, struct wide *w)
{
    memset(w, 0, sizeof *w);
    struct db_rows *rows = db_query(d, SQL_WIDE, "");
    if (!rows)
        return -1;
    int cap = 0, rc = 0;
    while (rc == 0 && db_rows_next(rows)) {
        if (w->n == cap) {
            long long *id = realloc(w->id, (size_t)(cap = cap ? cap * 2 : 256) * sizeof *id);
            if (!id) {
                rc = -1;
                break;
            }
            w->id = id;
        }
        w->id[w->n++] = db_rows_int(rows, 0);
    }
    db_rows_free(rows);
    if (rc != 0) {
        free(w->id);
        memset(w, 0, sizeof *w);
    }
    return rc;
}

static bool wide_has(const struct wide *w, long long id)
{
    int lo = 0, hi = w->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (w->id[mid] == id)
            return true;
        if (w->id[mid] < id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return false;
}

/* A drop-off (or a line of it) into the sets of region 0 and of every
 * wide region on the site's path: fig its grams, items and points.  0, or
 * -1 (out of memory, a malformed path, an id beyond 32 bits: the caller
 * says which on the connection). */
static int sets_add(struct sets *s, const struct wide *w, const char *path, int network,
                    long long category, const long long *fig, long long household)
{
    if (household <= 0 || household > (long long)UINT32_MAX || !path || *path != '/')
        return -1;
    const char *p = path + 1;
    long long id = 0;           /* region 0 first, then the path's wide ones */
    int more = 1;
    while (more == 1) {
        if (id == 0 || wide_has(w, id)) {
            struct set *e = sets_get(s, id, network, category);
            if (!e)
                return -1;
            e->fig[F_DROPOFFS]++;
            for (int f = F_GRAMS; f < F_N; f++)
                e->fig[f] += fig[f - F_GRAMS];
            roaring_bitmap_add(e->members, (uint32_t)household);
        }
        more = region_path_next(&p, &id);
    }
    return more;
}

/* A day's sets worked out from its drop-offs (day YYYYMMDD). */
static int day_sets(struct db *d, const struct wide *w, long long day, struct sets *s)
{
    struct db_rows *rows = db_query(d, SQL_DAY, "ii", day, day);
    if (!rows)
        return -1;
    int rc = 0;
    while (rc == 0 && db_rows_next(rows)) {
        long long fig[] = { db_rows_int(rows, 3), db_rows_int(rows, 4), db_rows_int(rows, 5) };
        rc = sets_add(s, w, db_rows_str(rows, 0, NULL), (int)db_rows_int(rows, 1),
                      db_rows_int(rows, 2), fig, db_rows_int(rows, 6));
    }
    db_rows_free(rows);
    if (rc != 0)
        db_set_error(d, "collection sets: a drop-off's household id beyond 32 bits, "
                        "or its site's region path malformed, on day %lld", day);
    return rc;
}

/* The union of the stored rows of span over first..last, per key. */
static int stored_union(struct db *d, const char *span, long long first, long long last,
                        struct sets *s)
{
    struct db_rows *rows = db_query(d, SQL_STORED, "sii", span, first, last);
    if (!rows)
        return -1;
    int rc = 0;
    while (rc == 0 && db_rows_next(rows)) {
        size_t len;
        const char *buf = db_rows_str(rows, 7, &len);
        struct set *e = sets_get(s, db_rows_int(rows, 0), (int)db_rows_int(rows, 1),
                                 db_rows_int(rows, 2));
        roaring_bitmap_t *x = buf ? roaring_bitmap_portable_deserialize_safe(buf, len) : NULL;
        if (!e || !x) {
            db_set_error(d, "collection sets: a stored %s row of %lld..%lld cannot be read",
                         span, first, last);
            rc = -1;
        } else {
            long long fig[F_N];
            for (int f = 0; f < F_N; f++)
                fig[f] = db_rows_int(rows, 3 + f);
            set_merge(e, fig, x);
        }
        if (x)
            roaring_bitmap_free(x);
    }
    db_rows_free(rows);
    return rc;
}

/* ---- writing ---- */

struct writer {
    struct db *d;
    struct db_rows_builder rb;
    char **bufs;                    /* the members of the rows gathered */
    int nbufs, cap;
    size_t bytes;
};

static int writer_flush(struct writer *wr)
{
    struct db_batch b;
    db_batch_init(&b, wr->d);
    int rc = db_rows_builder_flush(&wr->rb, &b);
    if (rc >= 0)
        rc = db_batch_run(&b);
    else if (rc == -2)
        rc = 0;
    db_batch_free(&b);
    db_rows_builder_release(&wr->rb);
    db_rows_builder_init(&wr->rb, &SET_ROWS);
    for (int i = 0; i < wr->nbufs; i++)
        free(wr->bufs[i]);
    wr->nbufs = 0;
    wr->bytes = 0;
    return rc < 0 ? -1 : 0;
}

/* Replace the rows of span and period (YYYYMMDD) with s's. */
static int sets_write(struct db *d, struct sets *s, const char *span, long long period)
{
    if (db_exec(d, SQL_WIPE, "si", span, period) < 0)
        return -1;
    struct writer wr = { .d = d };
    db_rows_builder_init(&wr.rb, &SET_ROWS);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->cap; i++) {
        struct set *e = &s->v[i];
        if (!e->members)
            continue;
        roaring_bitmap_run_optimize(e->members);
        size_t len = roaring_bitmap_portable_size_in_bytes(e->members);
        char *buf = malloc(len);
        struct db_param *q = NULL;
        if (buf && wr.nbufs == wr.cap) {
            char **v = realloc(wr.bufs, (size_t)(wr.cap = wr.cap ? wr.cap * 2 : 64) * sizeof *v);
            if (v)
                wr.bufs = v;
            else
                wr.cap = wr.nbufs;
        }
        if (buf && wr.nbufs < wr.cap)
            q = db_rows_builder_add(&wr.rb);
        if (!q) {
            free(buf);
            db_set_error(d, "collection sets: out of memory");
            rc = -1;
            break;
        }
        roaring_bitmap_portable_serialize(e->members, buf);
        wr.bufs[wr.nbufs++] = buf;
        q[0] = (struct db_param){ 'i', e->region, NULL, 0 };
        q[1] = (struct db_param){ 's', 0, span, 0 };
        q[2] = (struct db_param){ 'i', period, NULL, 0 };
        q[3] = (struct db_param){ 'i', e->network, NULL, 0 };
        q[4] = (struct db_param){ 'i', e->category, NULL, 0 };
        for (int f = 0; f < F_N; f++)
            q[5 + f] = (struct db_param){ 'i', e->fig[f], NULL, 0 };
        q[9] = (struct db_param){ 'i', (long long)roaring_bitmap_get_cardinality(e->members),
                                  NULL, 0 };
        q[10] = (struct db_param){ 'b', 0, buf, len };
        wr.bytes += len;
        if (wr.bytes >= WRITE_BYTES)
            rc = writer_flush(&wr);
    }
    if (rc == 0)
        rc = writer_flush(&wr);
    for (int i = 0; i < wr.nbufs; i++)  /* what an error left gathered */
        free(wr.bufs[i]);
    db_rows_builder_release(&wr.rb);
    free(wr.bufs);
    return rc;
}

/* The day's rows worked out again. */
static int close_day(struct db *d, const struct wide *w, long long day)
{
    struct sets s = { 0 };
    int rc = day_sets(d, w, day, &s);
    if (rc == 0)
        rc = sets_write(d, &s, "day", day);
    sets_free(&s);
    return rc;
}

/* The month's rows (month YYYYMM01) as the union of its days' rows. */
static int close_month(struct db *d, long long month)
{
    struct sets s = { 0 };
    int rc = stored_union(d, "day", month, closing_month_last(month), &s);
    if (rc == 0)
        rc = sets_write(d, &s, "month", month);
    sets_free(&s);
    return rc;
}

/* ---- closing ---- */

struct run {
    long long last;                 /* the last day that may be closed */
    long long days;                 /* closed (or worked out) by this transaction */
    long long through;
    bool more;                      /* marks are left for the next transaction */
};

/* One transaction: the next days not closed, up to their month's end. */
static int close_some(struct db *d, void *arg)
{
    struct run *run = arg;
    long long through, first;
    run->days = 0;
    if (closing_lock(d, COLLECTION_SETS_NAME, &through) != 0)
        return -1;
    run->through = through;
    if (through)
        first = closing_next_day(through);
    else if (db_query_int(d, &first, SQL_FIRST, "") != 1)
        return -1;
    if (!first || first > run->last)
        return 0;
    struct wide w;
    if (wide_load(d, &w) != 0)
        return -1;
    long long upto = closing_upto(first, run->last);
    int rc = 0;
    for (long long day = first; rc == 0 && day <= upto; day = closing_next_day(day))
        if ((rc = close_day(d, &w, day)) == 0)
            run->days++;
    free(w.id);
    if (rc == 0 && closing_month_ends(upto))
        rc = close_month(d, rollup_month(upto));
    if (rc == 0)
        rc = closing_set_through(d, COLLECTION_SETS_NAME, upto);
    if (rc == 0)
        run->through = upto;
    return rc;
}

/* One transaction: the marks of up to LATE_DAYS days, each closed day
 * among them worked out again, and its month when that is closed.  The
 * marks are the transaction's first plain read, so its snapshot holds
 * every movement that made them; they are read without locks (a late
 * movement never waits on the closer's work) and taken away at the end
 * only as they were read: a mark a movement added to meanwhile stays for
 * the next run. */
struct mark {
    long long site, day, marks;
};

static int work_late(struct db *d, void *arg)
{
    struct run *run = arg;
    long long through;
    run->days = 0;
    run->more = false;
    if (closing_lock(d, COLLECTION_SETS_NAME, &through) != 0)
        return -1;
    struct db_rows *rows = db_query(d, SQL_LATE, "");
    if (!rows)
        return -1;
    struct mark *marks = malloc(LATE_ROWS * sizeof *marks);
    long long days[LATE_DAYS];
    int ndays = 0, nmarks = 0, nread = 0, rc = marks ? 0 : -1;
    while (rc == 0 && db_rows_next(rows)) {
        struct mark m = { db_rows_int(rows, 0), db_rows_int(rows, 1), db_rows_int(rows, 2) };
        nread++;
        if (ndays == 0 || days[ndays - 1] != m.day) {
            if (ndays == LATE_DAYS) {
                run->more = true;           /* the next transaction's */
                break;
            }
            days[ndays++] = m.day;
        }
        marks[nmarks++] = m;
    }
    db_rows_free(rows);
    if (nread == LATE_ROWS)
        run->more = true;
    struct wide w = { NULL, 0 };
    if (rc == 0 && ndays && wide_load(d, &w) != 0)
        rc = -1;
    for (int i = 0; rc == 0 && i < ndays; i++) {
        if (!through || days[i] > through)
            continue;               /* not closed yet: it is summed afresh when it is */
        rc = close_day(d, &w, days[i]);
        if (rc == 0 && closing_month_last(rollup_month(days[i])) <= through)
            rc = close_month(d, rollup_month(days[i]));
    }
    for (int i = 0; rc == 0 && i < nmarks; i++)
        if (db_exec(d, SQL_LATE_DONE, "iii", marks[i].site, marks[i].day, marks[i].marks) < 0)
            rc = -1;
    free(w.id);
    free(marks);
    run->days = ndays;
    run->through = through;
    return rc;
}

int collection_sets_close(struct db *d, time_t now, long long *days, char through[11])
{
    *days = 0;
    through[0] = '\0';
    struct run run = { .last = closing_last_day(now) };
    int rc = 0;
    for (;;) {
        if (db_tx(d, close_some, &run) != DB_TX_COMMITTED) {
            rc = -1;
            break;
        }
        *days += run.days;
        if (run.days == 0 || run.through >= run.last)
            break;
    }
    /* the marks of closed days are worked out even when a day would not
     * close: they correct what reports read already */
    for (;;) {
        if (db_tx(d, work_late, &run) != DB_TX_COMMITTED) {
            rc = -1;
            break;
        }
        if (!run.more)
            break;
    }
    closing_day_text(run.through, through);
    return rc;
}

/* ---- reading ---- */

/* A report's rows by key ("" the whole window), in the order met, each
 * with the union of its members. */
struct keyed {
    struct collection_row *rows;
    roaring_bitmap_t **members;
    int n, cap, last;
};

static void keyed_free(struct keyed *k)
{
    for (int i = 0; i < k->n; i++)
        roaring_bitmap_free(k->members[i]);
    free(k->rows);
    free(k->members);
}

/* The row of key, new and empty when not met before; -1 when out of
 * memory.  Rows come in key order, so the last one is tried first. */
static int keyed_get(struct keyed *k, const char *key)
{
    if (k->last < k->n && strcmp(k->rows[k->last].key, key) == 0)
        return k->last;
    for (int i = 0; i < k->n; i++)
        if (strcmp(k->rows[i].key, key) == 0)
            return k->last = i;
    if (k->n == k->cap) {
        int cap = k->cap ? k->cap * 2 : 32;
        struct collection_row *rows = realloc(k->rows, (size_t)cap * sizeof *rows);
        if (rows)
            k->rows = rows;
        roaring_bitmap_t **m = rows ? realloc(k->members, (size_t)cap * sizeof *m) : NULL;
        if (!m)
            return -1;
        k->members = m;
        k->cap = cap;
    }
    if (!(k->members[k->n] = roaring_bitmap_create()))
        return -1;
    memset(&k->rows[k->n], 0, sizeof k->rows[k->n]);
    snprintf(k->rows[k->n].key, sizeof k->rows[k->n].key, "%s", key);
    return k->last = k->n++;
}

static void row_add(struct collection_row *r, long long dropoffs, long long grams,
                    long long items, long long points)
{
    r->dropoffs += dropoffs;
    r->grams += grams;
    r->items += items;
    r->points += points;
}

static bool wide_region(const struct collection_query *q)
{
    return q->region_id == 0 || (q->level && (strcmp(q->level, "province") == 0 ||
                                              strcmp(q->level, "city") == 0 ||
                                              strcmp(q->level, "county") == 0));
}

/* Whether the closed rows answer q: 1 yes, 0 no, -1 store error. */
static int sets_answer(struct db *d, const struct collection_query *q, bool grouped)
{
    if (q->site_id || !wide_region(q))
        return 0;
    if (!grouped || q->group == GROUP_CATEGORY || q->group == GROUP_DAY ||
        q->group == GROUP_MONTH)
        return 1;
    if (q->group == GROUP_SITE || (q->level && strcmp(q->level, "county") == 0))
        return 0;                   /* by site, or a county's towns */
    long long n = 0;
    if ((q->region_id ? db_query_int(d, &n, SQL_NARROW_CHILD, "ii", q->region_id, q->region_id)
                      : db_query_int(d, &n, SQL_NARROW_ROOT, "")) != 1)
        return -1;
    return n == 0;
}

/* The closed rows of q's window through closed_to, into k. */
static int closed_rows(struct db *d, const struct collection_query *q, bool grouped,
                       const char *closed_to, struct keyed *k)
{
    enum report_group g = q->group;
    char wf[11], wt[11];
    if (grouped && g == GROUP_DAY) {
        snprintf(wf, sizeof wf, "9999-12-31");
        snprintf(wt, sizeof wt, "1000-01-01");
    } else {
        report_whole_months(q->p.from, closed_to, wf, wt);
    }
    const char *key = !grouped              ? "''"
                      : g == GROUP_CATEGORY ? "category_id"
                      : g == GROUP_REGION   ? "region_id"
                      : g == GROUP_DAY      ? "DATE_FORMAT(period, '%Y-%m-%d')"
                                            : "DATE_FORMAT(period, '%Y-%m')";
    bool children = grouped && g == GROUP_REGION;
    bool by_category = grouped && g == GROUP_CATEGORY && !q->category_id;
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SET STATEMENT max_statement_time = 8 FOR SELECT %s, dropoffs, grams, items, "
             "points, members FROM stat_collection_set WHERE region_id %s "
             "AND ((span = 'day' AND period BETWEEN ? AND ? AND (period < ? OR period > ?)) "
             "OR (span = 'month' AND period BETWEEN ? AND ?)) AND category_id %s%s ORDER BY 1",
             key,
             !children      ? "= ?"
             : q->region_id ? "IN (SELECT id FROM regions WHERE parent_id = ?)"
                            : "IN (SELECT id FROM regions WHERE parent_id IS NULL)",
             by_category ? "<> 0" : "= ?", q->network ? " AND network = ?" : "");
    struct db_param p[10];
    int n = 0;
    if (!children || q->region_id)
        p[n++] = (struct db_param){ 'i', q->region_id, NULL, 0 };
    p[n++] = (struct db_param){ 's', 0, q->p.from, 0 };
    p[n++] = (struct db_param){ 's', 0, closed_to, 0 };
    p[n++] = (struct db_param){ 's', 0, wf, 0 };
    p[n++] = (struct db_param){ 's', 0, wt, 0 };
    p[n++] = (struct db_param){ 's', 0, wf, 0 };
    p[n++] = (struct db_param){ 's', 0, wt, 0 };
    if (!by_category)
        p[n++] = (struct db_param){ 'i', q->category_id, NULL, 0 };
    if (q->network)
        p[n++] = (struct db_param){ 's', 0, q->network, 0 };
    struct db_rows *rows = db_query_built(d, sql, p, n);
    if (!rows)
        return -1;
    int rc = 0;
    while (rc == 0 && db_rows_next(rows)) {
        size_t len;
        const char *buf = db_rows_str(rows, 5, &len);
        int i = keyed_get(k, db_rows_str(rows, 0, NULL));
        roaring_bitmap_t *x = buf ? roaring_bitmap_portable_deserialize_safe(buf, len) : NULL;
        if (i < 0 || !x) {
            db_set_error(d, "collection sets: a stored row cannot be read");
            rc = -1;
        } else {
            row_add(&k->rows[i], db_rows_int(rows, 1), db_rows_int(rows, 2),
                    db_rows_int(rows, 3), db_rows_int(rows, 4));
            roaring_bitmap_or_inplace(k->members[i], x);
        }
        if (x)
            roaring_bitmap_free(x);
    }
    db_rows_free(rows);
    return rc;
}

/* The figures of q from the sites' rollups into k; with members, the
 * households from the drop-offs too, else their counts. */
static int site_rows(struct db *d, const struct collection_query *q, bool grouped, bool members,
                     struct keyed *k)
{
    struct db_rows *rows = report_collection(d, q, grouped);
    if (!rows)
        return -1;
    int rc = 0;
    while (rc == 0 && db_rows_next(rows)) {
        int i = keyed_get(k, db_rows_str(rows, 0, NULL));
        if (i < 0)
            rc = -1;
        else
            row_add(&k->rows[i], db_rows_int(rows, 1), db_rows_int(rows, 2),
                    db_rows_int(rows, 3), db_rows_int(rows, 4));
    }
    db_rows_free(rows);
    rows = rc == 0 ? (members ? report_collection_members(d, q, grouped)
                              : report_collection_households(d, q, grouped))
                   : NULL;
    if (!rows)
        return -1;
    while (rc == 0 && db_rows_next(rows)) {
        int i = keyed_get(k, db_rows_str(rows, 0, NULL));
        long long h = db_rows_int(rows, 1);
        if (i < 0 || (members && (h <= 0 || h > (long long)UINT32_MAX))) {
            db_set_error(d, "collection sets: out of memory, or a household id beyond 32 bits");
            rc = -1;
        } else if (members) {
            roaring_bitmap_add(k->members[i], (uint32_t)h);
        } else {
            k->rows[i].households = h;
        }
    }
    db_rows_free(rows);
    return rc;
}

/* The rows of q, grouped or its totals; through: the last closed day of
 * the closed rows ("" none), read once for both. */
static int rows_read(struct db *d, const struct collection_query *q, bool grouped,
                     const char *through, struct collection_rows *out)
{
    memset(out, 0, sizeof *out);
    int use = through[0] && strcmp(q->p.from, through) <= 0 ? sets_answer(d, q, grouped) : 0;
    if (use < 0)
        return -1;
    struct keyed k = { 0 };
    int rc;
    if (!use) {
        rc = site_rows(d, q, grouped, false, &k);
    } else {
        /* the closed days from the closed rows, the days after them from the sites */
        char closed_to[11];
        snprintf(closed_to, sizeof closed_to, "%s",
                 strcmp(q->p.to, through) < 0 ? q->p.to : through);
        struct collection_query open = *q;
        closing_day_text(closing_next_day(rollup_day(closed_to)), open.p.from);
        rc = closed_rows(d, q, grouped, closed_to, &k);
        if (rc == 0 && strcmp(open.p.from, q->p.to) <= 0)
            rc = site_rows(d, &open, grouped, true, &k);
        for (int i = 0; rc == 0 && i < k.n; i++)
            k.rows[i].households = (long long)roaring_bitmap_get_cardinality(k.members[i]);
    }
    if (rc == 0) {
        out->v = k.rows;
        out->n = k.n;
        k.rows = NULL;
    }
    keyed_free(&k);
    return rc;
}

int collection_read(struct db *d, const struct collection_query *q,
                    struct collection_rows *rows, struct collection_row *totals)
{
    char through[11] = "";
    struct collection_rows t = { NULL, 0 };
    memset(rows, 0, sizeof *rows);
    if ((q->site_id == 0 && wide_region(q) &&
         closing_through(d, COLLECTION_SETS_NAME, through) != 0) ||
        rows_read(d, q, true, through, rows) != 0 || rows_read(d, q, false, through, &t) != 0) {
        free(rows->v);
        memset(rows, 0, sizeof *rows);
        return -1;
    }
    memset(totals, 0, sizeof *totals);
    if (t.n)
        *totals = t.v[0];
    free(t.v);
    return 0;
}

/* ---- the ledger check ---- */

static bool set_same(const struct set *a, const struct set *b)
{
    return memcmp(a->fig, b->fig, sizeof a->fig) == 0 &&
           roaring_bitmap_equals(a->members, b->members);
}

static bool set_empty(const struct set *e)
{
    static const long long zero[F_N];
    return !e->members ||
           (roaring_bitmap_is_empty(e->members) && memcmp(e->fig, zero, sizeof zero) == 0);
}

/* Every key of a against b's, then every key of b that a lacks: what
 * names the period ("day 20261128"). */
static int sets_compare(struct sets *a, struct sets *b, const char *what, const char *rule,
                        collection_sets_bad_fn bad, void *ctx)
{
    char detail[200];
    for (int pass = 0; pass < 2; pass++) {
        struct sets *x = pass ? b : a, *y = pass ? a : b;
        for (size_t i = 0; i < x->cap; i++) {
            struct set *e = &x->v[i];
            if (set_empty(e))
                continue;
            struct set *o = sets_get(y, e->region, e->network, e->category);
            if (!o)
                return -1;
            if (pass ? !set_empty(o) : set_same(e, o))
                continue;
            const struct set *st = pass ? e : o, *want = pass ? o : e;
            snprintf(detail, sizeof detail,
                     "%s region %lld network %d category %lld: stored %lld drop-offs, %llu "
                     "households; %s %lld, %llu", what, e->region, e->network, e->category,
                     st->fig[F_DROPOFFS],
                     (unsigned long long)roaring_bitmap_get_cardinality(st->members),
                     strcmp(rule, "month") == 0 ? "its days give" : "its drop-offs give",
                     want->fig[F_DROPOFFS],
                     (unsigned long long)roaring_bitmap_get_cardinality(want->members));
            bad(ctx, rule, detail);
        }
    }
    return 0;
}

/* A closed day's rows against its drop-offs; its stored rows are added to
 * month (the union its month row must equal). */
static int verify_day(struct db *d, const struct wide *w, long long day,
                      collection_sets_bad_fn bad, void *ctx, struct sets *month)
{
    struct sets now = { 0 }, stored = { 0 };
    char what[24];
    snprintf(what, sizeof what, "day %lld", day);
    int rc = day_sets(d, w, day, &now);
    if (rc == 0)
        rc = stored_union(d, "day", day, day, &stored);
    if (rc == 0)
        rc = sets_compare(&now, &stored, what, "day", bad, ctx);
    for (size_t i = 0; rc == 0 && i < stored.cap; i++) {
        struct set *e = &stored.v[i], *m;
        if (set_empty(e))
            continue;
        if (!(m = sets_get(month, e->region, e->network, e->category)))
            rc = -1;
        else
            set_merge(m, e->fig, e->members);
    }
    sets_free(&now);
    sets_free(&stored);
    return rc;
}

static int verify_month(struct db *d, long long month, struct sets *days,
                        collection_sets_bad_fn bad, void *ctx)
{
    struct sets stored = { 0 };
    char what[24];
    snprintf(what, sizeof what, "month %lld", month);
    int rc = stored_union(d, "month", month, month, &stored);
    if (rc == 0)
        rc = sets_compare(days, &stored, what, "month", bad, ctx);
    sets_free(&stored);
    return rc;
}

static int verify(struct db *d, collection_sets_bad_fn bad, void *ctx)
{
    char through_text[11];
    long long first;
    if (closing_through(d, COLLECTION_SETS_NAME, through_text) != 0)
        return -1;
    long long through = rollup_day(through_text);
    if (!through)
        return 0;
    if (db_query_int(d, &first, SQL_FIRST, "") != 1)
        return -1;
    /* days with marks waiting are left aside, and so are their months */
    struct db_rows *late = db_query(d, SQL_LATE_DAYS, "");
    if (!late)
        return -1;
    long long *pending = NULL;
    int npending = 0, cap = 0, rc = 0;
    while (rc == 0 && db_rows_next(late)) {
        if (npending == cap) {
            long long *v = realloc(pending, (size_t)(cap = cap ? cap * 2 : 16) * sizeof *v);
            if (!v) {
                rc = -1;
                break;
            }
            pending = v;
        }
        pending[npending++] = db_rows_int(late, 0);
    }
    db_rows_free(late);
    struct wide w;
    if (rc == 0 && wide_load(d, &w) != 0)
        rc = -1;
    if (rc != 0) {
        free(pending);
        return -1;
    }
    struct db_rows *stray = db_query(d, SQL_STRAY, "ii", through, through);
    if (!stray) {
        free(w.id);
        free(pending);
        return -1;
    }
    while (db_rows_next(stray)) {
        char detail[160];
        snprintf(detail, sizeof detail, "%s %lld region %lld: a row after the last closed day",
                 db_rows_str(stray, 0, NULL), db_rows_int(stray, 1), db_rows_int(stray, 2));
        bad(ctx, db_rows_str(stray, 0, NULL), detail);
    }
    db_rows_free(stray);
    struct sets month = { 0 };
    bool month_clean = true;
    for (long long day = first; rc == 0 && first && day <= through;
         day = closing_next_day(day)) {
        bool marked = false;
        for (int i = 0; i < npending; i++) {
            if (pending[i] == day)
                marked = true;
            if (rollup_month(pending[i]) == rollup_month(day))
                month_clean = false;
        }
        if (!marked)
            rc = verify_day(d, &w, day, bad, ctx, &month);
        if (rc == 0 && closing_month_ends(day)) {
            if (month_clean)
                rc = verify_month(d, rollup_month(day), &month, bad, ctx);
            sets_free(&month);
            month_clean = true;
        }
    }
    sets_free(&month);
    free(w.id);
    free(pending);
    return rc;
}

int collection_sets_verify(struct db *d, collection_sets_bad_fn bad, void *ctx)
{
    /* one snapshot for the whole walk: a late movement writes its mark and
     * its drop-off together, and the closer its rows, the marks it took
     * away and its last closed day together, so nothing can be seen half
     * done */
    if (db_exec(d, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", "") < 0)
        return -1;
    int rc = verify(d, bad, ctx);
    if (rc == 0 && db_exec(d, "COMMIT", "") < 0)
        rc = -1;
    if (rc != 0)
        db_rollback(d);
    return rc;
}
