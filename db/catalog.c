/* catalog.c - see catalog.h. */
#include "db/catalog.h"
#include "db/db.h"
#include "db/db_private.h"
#include "server/clock.h"

#include <errmsg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_MS 2000
#define MAX_DEPTH 8

static const char SQL_ALL[] =
    "SELECT id, code, name, name_zh, unit = 'item', daily_cap IS NOT NULL, "
    "COALESCE(daily_cap, 0) FROM categories ORDER BY id";
static const char SQL_RATES_ALL[] =
    "SELECT category_id, region_key, id, points_per_unit, effective_from FROM rates";
/* The versions of a history (catalog.h, rate_history).  A region's own,
 * its ancestors' and its subtree's are those whose region path is a
 * prefix of the region's or has the region's as a prefix. */
static const char SQL_HISTORY[] =
    "SELECT r.id, c.code, r.region_key, g.name, r.points_per_unit, r.effective_from, "
    "UNIX_TIMESTAMP(r.created_at), r.created_by, FIND_IN_SET(r.id, ?) > 0 "
    "FROM rates r JOIN categories c ON c.id = r.category_id "
    "LEFT JOIN regions g ON g.id = r.region_key "
    "WHERE (? = 0 OR r.category_id = ?) "
    "AND (r.region_key = 0 OR ? LIKE CONCAT(g.path, '%') OR g.path LIKE CONCAT(?, '%')) "
    "AND (? = 0 OR (FIND_IN_SET(r.id, ?) > 0) = (? = 1)) "
    "AND (r.effective_from < ? OR (r.effective_from = ? AND r.id < ?)) "
    "ORDER BY r.effective_from DESC, r.id DESC LIMIT ?";
static const char SQL_RATE_FROM[] = "SELECT effective_from FROM rates WHERE id = ?";
static const char SQL_INSERT_CAT[] =
    "INSERT INTO categories (code, name, name_zh, unit, daily_cap) VALUES (?, ?, ?, ?, ?)";
static const char SQL_INSERT_RATE[] =
    "INSERT INTO rates (category_id, region_key, points_per_unit, effective_from, created_by) "
    "VALUES (?, ?, ?, ?, ?)";

/* ---- the catalogue ----
 * Cached on each connection (db_local) for CACHE_MS, and until the
 * process-wide generation moves: catalog_invalidate() has no connection
 * to hand, and a category created on one worker should be seen by all of
 * this process at once (another instance's, within CACHE_MS). */

struct rate_row {
    int category_id;
    long long region_key, id, ppu, from;
};

struct catalog_state {
    struct category cats[CATALOG_MAX];
    int ncats;
    bool cats_loaded;
    unsigned long long cats_gen;        /* the generation they were read in */
    long long cats_at_ms;
    struct rate_row *rates;             /* every version, see below */
    size_t nrates, caprates;
    bool rates_loaded;
    long long rates_count;              /* the table's row count when read */
};

static void state_release(void *p)
{
    struct catalog_state *st = p;
    free(st->rates);
}

static const struct db_local_key catalog_key = { sizeof(struct catalog_state), state_release };

static atomic_ullong generation;

void catalog_invalidate(void)
{
    atomic_fetch_add(&generation, 1);
}

/* The categories of st as they are now: cached ones while fresh, else
 * read again.  The count, or -1 (error on d). */
static int load_categories(struct db *d, struct catalog_state *st)
{
    long long now = clock_mono_ms();
    unsigned long long gen = atomic_load(&generation);
    if (st->cats_loaded && st->cats_gen == gen && now - st->cats_at_ms < CACHE_MS)
        return st->ncats;
    st->cats_loaded = false;
    struct db_rows *r = db_query(d, SQL_ALL, "");
    if (!r)
        return -1;
    int n = 0;
    while (db_rows_next(r) && n < CATALOG_MAX) {
        struct category *c = &st->cats[n++];
        memset(c, 0, sizeof *c);
        c->id = (int)db_rows_int(r, 0);
        snprintf(c->code, sizeof c->code, "%s", db_rows_str(r, 1, NULL));
        snprintf(c->name, sizeof c->name, "%s", db_rows_str(r, 2, NULL));
        snprintf(c->name_zh, sizeof c->name_zh, "%s", db_rows_str(r, 3, NULL));
        c->per_item = db_rows_int(r, 4) != 0;
        c->has_cap = db_rows_int(r, 5) != 0;
        c->daily_cap = db_rows_int(r, 6);
    }
    db_rows_free(r);
    st->ncats = n;
    st->cats_loaded = true;
    st->cats_gen = gen;
    st->cats_at_ms = now;
    return n;
}

int catalog_all(struct db *d, const struct category **out)
{
    struct catalog_state *st = db_local(d, &catalog_key);
    int n = st ? load_categories(d, st) : -1;
    *out = n >= 0 ? st->cats : NULL;
    return n;
}

int catalog_all_fresh(struct db *d, const struct category **out)
{
    struct catalog_state *st = db_local(d, &catalog_key);
    if (st)
        st->cats_loaded = false;
    return catalog_all(d, out);
}

int catalog_find(struct db *d, const char *code, const struct category **out)
{
    *out = NULL;
    struct catalog_state *st = db_local(d, &catalog_key);
    if (!st)
        return -1;
    /* a miss may be a category another worker or instance just created:
     * look again, reading only this connection's copy afresh (a client's
     * unknown code must not make every thread read the table) */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            st->cats_loaded = false;
        int n = load_categories(d, st);
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++)
            if (strcmp(st->cats[i].code, code) == 0) {
                *out = &st->cats[i];
                return 1;
            }
    }
    return 0;
}

/* "/1/4/9/" -> {1, 4, 9}; returns the count. */
static int path_ids(const char *path, long long *ids, int max)
{
    int n = 0;
    const char *p = path;
    while (*p && n < max) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        ids[n++] = strtoll(p, (char **)&p, 10);
    }
    return n;
}

/* ---- rates ----
 * Every rate version is cached on the connection.  Rates are only ever
 * inserted, so the table's row count is its version: a transaction that
 * counts N rows sees exactly the N rows the cache was loaded with, as long
 * as the cache was loaded from a snapshot no older than its own (a
 * connection's transactions follow one another).  The caller reads the
 * count inside its own transaction, after its locks, and passes it in. */

const char CATALOG_RATES_COUNT_SQL[] = "SELECT COUNT(*) FROM rates";

static int load_rates(struct db *d, struct catalog_state *st)
{
    st->rates_loaded = false;
    struct db_rows *r = db_query(d, SQL_RATES_ALL, "");
    if (!r)
        return -1;
    size_t n = db_rows_count(r);
    if (n > st->caprates) {
        struct rate_row *p = realloc(st->rates, n * sizeof *p);
        if (!p) {
            db_rows_free(r);
            db_error_set(d, CR_OUT_OF_MEMORY, "out of memory");
            return -1;
        }
        st->rates = p;
        st->caprates = n;
    }
    size_t k = 0;
    while (db_rows_next(r) && k < n)
        st->rates[k++] = (struct rate_row){ (int)db_rows_int(r, 0), db_rows_int(r, 1),
                                            db_rows_int(r, 2), db_rows_int(r, 3),
                                            db_rows_int(r, 4) };
    db_rows_free(r);
    st->nrates = k;
    st->rates_count = (long long)k;
    st->rates_loaded = true;
    return 0;
}

int catalog_rates(struct db *d, long long count, const char *region_path, long long at,
                  const struct category *cats, int ncats, struct rate *out)
{
    struct catalog_state *st = db_local(d, &catalog_key);
    if (!st)
        return -1;
    if (count < 0 && db_query_int(d, &count, CATALOG_RATES_COUNT_SQL, "") != 1)
        return -1;
    if ((!st->rates_loaded || count != st->rates_count) && load_rates(d, st) != 0)
        return -1;
    long long ids[MAX_DEPTH] = { 0 };
    int depth = path_ids(region_path, ids, MAX_DEPTH);
    /* best match per category: the deepest region with a version in force,
     * then its latest version */
    int best_depth[CATALOG_MAX];
    long long best_from[CATALOG_MAX];
    for (int i = 0; i < ncats; i++) {
        out[i].id = 0;
        out[i].ppu = 0;
        best_depth[i] = -1;
        best_from[i] = -1;
    }
    for (size_t k = 0; k < st->nrates; k++) {
        const struct rate_row *row = &st->rates[k];
        if (row->from > at)
            continue;
        int dpt = 0;                      /* default */
        if (row->region_key) {
            dpt = -1;
            for (int j = 0; j < depth; j++)
                if (ids[j] == row->region_key)
                    dpt = j + 1;
            if (dpt < 0)
                continue;                 /* another region's override */
        }
        for (int i = 0; i < ncats; i++) {
            if (cats[i].id != row->category_id)
                continue;
            if (dpt > best_depth[i] ||
                (dpt == best_depth[i] &&
                 (row->from > best_from[i] || (row->from == best_from[i] && row->id > out[i].id)))) {
                best_depth[i] = dpt;
                best_from[i] = row->from;
                out[i].id = row->id;
                out[i].ppu = row->ppu;
            }
        }
    }
    return 0;
}

int catalog_count_locked(struct db *d, long long *n)
{
    /* a locking read of the whole table: two creations queue up here */
    return db_query_int(d, n, "SELECT COUNT(*) FROM (SELECT id FROM categories FOR UPDATE) t",
                        "") == 1 ? 0 : -1;
}

long long category_insert(struct db *d, const struct category *c)
{
    struct db_param p[] = {
        { 's', 0, c->code, 0 },
        { 's', 0, c->name, 0 },
        { 's', 0, c->name_zh, 0 },
        { 's', 0, c->per_item ? "item" : "g", 0 },
        { c->has_cap ? 'i' : 'n', c->daily_cap, NULL, 0 },
    };
    if (db_exec_params(d, SQL_INSERT_CAT, p, 5) < 0)
        return -1;
    catalog_invalidate();
    return (long long)db_insert_id(d);
}

long long rate_insert(struct db *d, int category_id, long long region_key, long long ppu,
                      long long effective_from, const char *created_by)
{
    if (db_exec(d, SQL_INSERT_RATE, "iiiis", (long long)category_id, region_key, ppu,
                effective_from, created_by) < 0)
        return -1;
    return (long long)db_insert_id(d);
}

struct db_rows *rate_history(struct db *d, const struct rate_query *q)
{
    long long cat = q->category_id, only = q->only;
    return db_query(d, SQL_HISTORY, "siissisiiiii", q->in_force_ids, cat, cat, q->region_path,
                    q->region_path, only, q->in_force_ids, only, q->before_from,
                    q->before_from, q->before_id, (long long)q->limit);
}

int rate_effective_from(struct db *d, long long id, long long *from)
{
    return db_query_int(d, from, SQL_RATE_FROM, "i", id);
}
