/* engine.c - see engine.h. */
#include "db/engine.h"
#include "db/rollup.h"
#include "db/db.h"
#include "db/households.h"
#include "db/stats.h"
#include "server/log.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KINDS 8
#define MAX_ROWSETS 12

/* Session variables naming each operation's new object within a group. */
static char ref_names[LEDGER_GROUP_MAX][12];
static pthread_once_t refs_once = PTHREAD_ONCE_INIT;

static void build_refs(void)
{
    for (int i = 0; i < LEDGER_GROUP_MAX; i++)
        snprintf(ref_names[i], sizeof ref_names[i], "@wb_r%d", i);
}

static const char SQL_REF[] = "SET ? = LAST_INSERT_ID()";      /* ? a ref_names entry */

static const struct db_rows_spec ledger_rows = {
    "INSERT INTO ledger (household_id, seq, delta, balance_after, kind, ref_id, actor, memo) "
    "VALUES ", "(?,?,?,?,?,?,?,?)", "", 8
};
static const struct db_rows_spec stock_rows = {
    "INSERT INTO stock_movements (site_id, category_id, seq, delta, on_hand_after, kind, ref_id, "
    "local_day) VALUES ", "(?,?,?,?,?,?,?,?)", "", 8
};
/* every stock head the group moved, in one statement */
static const struct db_rows_spec stock_heads = {
    "INSERT INTO site_stock (site_id, category_id, on_hand, seq, shortfall) VALUES ",
    "(?,?,?,?,?)",
    " ON DUPLICATE KEY UPDATE on_hand = VALUES(on_hand), seq = VALUES(seq), "
    "shortfall = VALUES(shortfall)", 5
};
/* A new object's answer is completed by its id: "{...}" -> {"id":N,...}. */
static const struct db_rows_spec idem_rows = {
    "INSERT INTO idempotency (scope, idem_key, fingerprint, status, response) VALUES ",
    "(?,?,?,?,CONCAT(?,?,?,?))", "", 8
};

struct engine_hh {
    long long id;
    bool found, dirty;
    struct household_head h;
};

struct engine_kstate {
    const struct ledger_op_kind *kind;
    void *mem;
};

struct engine_rowset {
    const struct db_rows_spec *spec;
    struct db_rows_builder b;
};

struct engine_record {
    char *scope, *key, *response;
    unsigned char fp[IDEM_FP_BYTES];
    bool fp_ok;
    int status;
};

struct engine_tx {
    struct db *d;
    struct ledger_op *const *ops;
    int n;
    struct engine_hh hh[LEDGER_GROUP_MAX];
    int nhh;
    struct engine_item *items;
    bool *item_dirty;
    int nitems;
    struct engine_stock *stocks;
    int nstocks, stock_stmt;
    char **strs;                /* copies the group's rows point at */
    int nstrs, capstrs;
    struct db_batch rd, wr;
    int hh_stmt, item_stmt, idem_stmt;
    struct engine_rowset rowsets[MAX_ROWSETS];
    int nrowsets;
    struct db_rows_builder ledger, idem;
    struct engine_kstate ks[MAX_KINDS];
    int nks;
    char *texts[LEDGER_GROUP_MAX];
    int ntexts;
    int idem_at;                /* the idempotency INSERT in wr, or -1 */
    struct engine_record *recs; /* the records the first round trip found */
    int nrecs;
    bool failed;                /* out of memory while building */
    int twin;                   /* a keyed operation a twin stored first, or -1 */
    struct tally tallies[ROLLUP_COUNT];   /* the rollups (db/rollup.h) */
    /* objects created with engine_insert_object_row: one INSERT a group */
    const struct db_rows_spec *objects_spec;
    struct db_rows_builder objects;
    struct ledger_op *object_ops[LEDGER_GROUP_MAX];
    int nobjects;
};

/* ---- operations ---- */

void ledger_op_refuse(struct ledger_op *op, int status, const char *code, const char *field,
                      const char *message)
{
    ledger_refuse(&op->ans, status, code, message);
    if (field && *field && op->ans.body)
        json_object_set_new(json_object_get(op->ans.body, "error"), "field", json_string(field));
    op->ans.no_store = true;
    op->preset = true;
}

const char *engine_ref(const struct ledger_op *op)
{
    return ref_names[op->slot];
}

/* ---- the transaction's state ---- */

struct db *engine_db(struct engine_tx *tx)
{
    return tx->d;
}

struct household_head *engine_household(struct engine_tx *tx, long long id)
{
    for (int k = 0; k < tx->nhh; k++)
        if (tx->hh[k].id == id)
            return tx->hh[k].found ? &tx->hh[k].h : NULL;
    return NULL;
}

static struct engine_hh *hh_of(struct engine_tx *tx, const struct household_head *h)
{
    for (int k = 0; k < tx->nhh; k++)
        if (&tx->hh[k].h == h)
            return &tx->hh[k];
    return NULL;
}

struct engine_item *engine_item(struct engine_tx *tx, long long id)
{
    for (int k = 0; k < tx->nitems; k++)
        if (tx->items[k].id == id)
            return &tx->items[k];
    return NULL;
}

void engine_item_stock(struct engine_tx *tx, struct engine_item *it, long long delta)
{
    if (it->unlimited || delta == 0)
        return;
    it->stock += delta;
    tx->item_dirty[it - tx->items] = true;
}

struct engine_stock *engine_stock(struct engine_tx *tx, long long site_id, long long category_id)
{
    for (int k = 0; k < tx->nstocks; k++)
        if (tx->stocks[k].site_id == site_id && tx->stocks[k].category_id == category_id)
            return &tx->stocks[k];
    return NULL;
}

/* A copy of s that lives as long as the group (rows are escaped only
 * when they are written). */
static const char *keep(struct engine_tx *tx, const char *s)
{
    if (tx->nstrs == tx->capstrs) {
        int cap = tx->capstrs ? 2 * tx->capstrs : 16;
        char **p = realloc(tx->strs, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        tx->strs = p;
        tx->capstrs = cap;
    }
    char *c = strdup(s);
    if (c)
        tx->strs[tx->nstrs++] = c;
    return c;
}

int engine_stock_move(struct engine_tx *tx, struct engine_stock *st, long long delta,
                      const char *kind, long long ref_id, const char *ref,
                      const char *local_day)
{
    if (st->on_hand + delta < 0)
        return -1;
    const char *day = keep(tx, local_day);
    struct db_param *q = day ? engine_row(tx, &stock_rows) : NULL;
    if (!q)
        return -1;
    st->seq++;
    st->on_hand += delta;
    st->dirty = true;
    q[0] = (struct db_param){ 'i', st->site_id, NULL, 0 };
    q[1] = (struct db_param){ 'i', st->category_id, NULL, 0 };
    q[2] = (struct db_param){ 'i', st->seq, NULL, 0 };
    q[3] = (struct db_param){ 'i', delta, NULL, 0 };
    q[4] = (struct db_param){ 'i', st->on_hand, NULL, 0 };
    q[5] = (struct db_param){ 's', 0, kind, 0 };
    q[6] = ref ? (struct db_param){ 'r', 0, ref, 0 } : (struct db_param){ 'i', ref_id, NULL, 0 };
    q[7] = (struct db_param){ 's', 0, day, 0 };
    long long key[] = { st->site_id, rollup_day(local_day), st->category_id,
                        rollup_stock_kind(kind) };
    long long val[] = { delta, 1 };
    return engine_tally(tx, ROLLUP_STOCK_DAY, key, val);
}

int engine_tally(struct engine_tx *tx, int rollup, const long long *key, const long long *val)
{
    if (tally_add(&tx->tallies[rollup], key, val) != 0)
        return -1;
    int month = rollup_month_twin(rollup);
    if (month < 0)
        return 0;
    long long mkey[TALLY_KEYS_MAX];
    memcpy(mkey, key, (size_t)rollup_specs[rollup].nkeys * sizeof *key);
    mkey[1] = rollup_month(key[1]);
    return tally_add(&tx->tallies[month], mkey, val);
}

void engine_touch(struct engine_tx *tx, struct household_head *h)
{
    struct engine_hh *e = hh_of(tx, h);
    if (e)
        e->dirty = true;
}

int engine_read(struct engine_tx *tx, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = db_batch_addv(&tx->rd, sql, fmt, ap);
    va_end(ap);
    return rc;
}

struct db_rows *engine_read_rows(struct engine_tx *tx, int index)
{
    return db_batch_rows(&tx->rd, index);
}

struct db_batch *engine_write_batch(struct engine_tx *tx)
{
    return &tx->wr;
}

int engine_write_params(struct engine_tx *tx, const char *sql, const struct db_param *p, int n)
{
    return db_batch_add_params(&tx->wr, sql, p, n);
}

int engine_write(struct engine_tx *tx, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = db_batch_addv(&tx->wr, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int engine_insert_object(struct engine_tx *tx, struct ledger_op *op, const char *sql,
                         const struct db_param *p, int n)
{
    op->id_stmt = db_batch_add_params(&tx->wr, sql, p, n);
    if (op->id_stmt < 0 || db_batch_add(&tx->wr, SQL_REF, "r", engine_ref(op)) < 0)
        return -1;
    return 0;
}

/* Whether a multi-row INSERT gets consecutive ids here: InnoDB gives them
 * to an INSERT of known row count in lock modes 0 and 1 (the default) with
 * an increment of 1.  Both are fixed at the server's start: asked once. */
static atomic_int object_rows_ok = -1;

static bool object_rows(struct db *d)
{
    int v = atomic_load(&object_rows_ok);
    if (v >= 0)
        return v == 1;
    long long ok = 0;
    if (db_query_int(d, &ok, "SELECT @@innodb_autoinc_lock_mode <= 1 AND "
                             "@@auto_increment_increment = 1", "") != 1)
        return false;           /* not known yet: one row at a time this group */
    atomic_store(&object_rows_ok, ok ? 1 : 0);
    if (!ok)
        log_msg(LOG_WARN, "innodb_autoinc_lock_mode > 1 or auto_increment_increment > 1: "
                          "drop-offs are inserted one row at a time");
    return ok != 0;
}

int engine_insert_object_row(struct engine_tx *tx, struct ledger_op *op,
                             const struct db_rows_spec *spec, const char *sql,
                             const struct db_param *p)
{
    if ((tx->objects_spec && tx->objects_spec != spec) || !object_rows(tx->d))
        return engine_insert_object(tx, op, sql, p, spec->width);
    if (!tx->objects_spec) {
        tx->objects_spec = spec;
        db_rows_builder_init(&tx->objects, spec);
    }
    struct db_param *q = db_rows_builder_add(&tx->objects);
    if (!q || tx->nobjects >= LEDGER_GROUP_MAX)
        return -1;
    memcpy(q, p, (size_t)spec->width * sizeof *q);
    op->id_row = tx->nobjects;
    tx->object_ops[tx->nobjects++] = op;
    return 0;
}

/* The group's object rows, first of the second round trip: one INSERT,
 * then each object's @wb_r<slot> from the first id.  0 or -1. */
static int objects_flush(struct engine_tx *tx)
{
    if (tx->nobjects == 0)
        return 0;
    int at = db_rows_builder_flush(&tx->objects, &tx->wr);
    if (at < 0)
        return -1;
    size_t len = 16 + (size_t)tx->nobjects * 40;
    char *sql = malloc(len);
    if (!sql)
        return -1;
    /* each from LAST_INSERT_ID() (the first row's id): a SET of several
     * variables reads the others' values from before the statement */
    size_t o = (size_t)snprintf(sql, len, "SET ");
    for (int j = 0; j < tx->nobjects; j++) {
        struct ledger_op *op = tx->object_ops[j];
        op->id_stmt = at;
        o += (size_t)snprintf(sql + o, len - o, "%s%s = LAST_INSERT_ID() + %d", j ? ", " : "",
                              engine_ref(op), j);
    }
    int rc = db_batch_add(&tx->wr, sql, "") < 0 ? -1 : 0;
    free(sql);
    return rc;
}

struct db_param *engine_row(struct engine_tx *tx, const struct db_rows_spec *spec)
{
    int k = 0;
    while (k < tx->nrowsets && tx->rowsets[k].spec != spec)
        k++;
    if (k == tx->nrowsets) {
        if (k == MAX_ROWSETS)
            return NULL;
        tx->rowsets[k].spec = spec;
        db_rows_builder_init(&tx->rowsets[k].b, spec);
        tx->nrowsets++;
    }
    return db_rows_builder_add(&tx->rowsets[k].b);
}

void *engine_kind_state(struct engine_tx *tx, const struct ledger_op_kind *kind, size_t size)
{
    for (int k = 0; k < tx->nks; k++)
        if (tx->ks[k].kind == kind)
            return tx->ks[k].mem;
    if (tx->nks == MAX_KINDS)
        return NULL;
    void *mem = calloc(1, size);
    if (!mem)
        return NULL;
    tx->ks[tx->nks++] = (struct engine_kstate){ kind, mem };
    return mem;
}

int engine_move(struct engine_tx *tx, struct household_head *h, long long delta,
                const char *kind, long long ref_id, const char *ref, const char *actor,
                const char *memo, long long *recovered)
{
    struct engine_hh *e = hh_of(tx, h);
    long long rec = ledger_recovery(h, delta);
    if (recovered)
        *recovered = rec;
    if (!e)
        return -1;
    struct db_param *q = db_rows_builder_add(&tx->ledger);
    if (!q)
        return -1;
    h->seq++;
    h->balance += delta;
    q[0] = (struct db_param){ 'i', h->id, NULL, 0 };
    q[1] = (struct db_param){ 'i', h->seq, NULL, 0 };
    q[2] = (struct db_param){ 'i', delta, NULL, 0 };
    q[3] = (struct db_param){ 'i', h->balance, NULL, 0 };
    q[4] = (struct db_param){ 's', 0, kind, 0 };
    q[5] = ref ? (struct db_param){ 'r', 0, ref, 0 } : (struct db_param){ 'i', ref_id, NULL, 0 };
    q[6] = (struct db_param){ 's', 0, actor, 0 };
    q[7] = memo ? (struct db_param){ 's', 0, memo, 0 } : (struct db_param){ 'n', 0, NULL, 0 };
    if (rec > 0) {
        /* the household owes a reversal's shortfall: these points pay it
         * first; the recovery row names the credit row it took from */
        if (!(q = db_rows_builder_add(&tx->ledger)))
            return -1;
        long long credit_seq = h->seq;
        h->seq++;
        h->balance -= rec;
        h->debt -= rec;
        q[0] = (struct db_param){ 'i', h->id, NULL, 0 };
        q[1] = (struct db_param){ 'i', h->seq, NULL, 0 };
        q[2] = (struct db_param){ 'i', -rec, NULL, 0 };
        q[3] = (struct db_param){ 'i', h->balance, NULL, 0 };
        q[4] = (struct db_param){ 's', 0, "recovery", 0 };
        q[5] = (struct db_param){ 'i', credit_seq, NULL, 0 };
        q[6] = (struct db_param){ 's', 0, actor, 0 };
        q[7] = (struct db_param){ 's', 0, LEDGER_RECOVERY_MEMO, 0 };
    }
    e->dirty = true;
    return 0;
}

/* ---- the first round trip ---- */

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* ids[0..n) sorted and without repeats; returns the new count. */
static int unique(long long *ids, int n)
{
    qsort(ids, (size_t)n, sizeof *ids, cmp_ll);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (ids[i] && (k == 0 || ids[k - 1] != ids[i]))
            ids[k++] = ids[i];
    return k;
}

/* "SELECT ... WHERE id IN (?,?,..) ORDER BY id FOR UPDATE": the rows are
 * locked in index order, so two groups never lock in opposite orders. */
static int add_lock(struct db_batch *b, const char *cols, const long long *ids, int n)
{
    size_t len = strlen(cols) + 64 + (size_t)n * 2;
    char *sql = malloc(len);
    struct db_param *p = calloc((size_t)n, sizeof *p);
    int rc = -1;
    if (sql && p) {
        size_t o = (size_t)snprintf(sql, len, "%s WHERE id IN (", cols);
        for (int i = 0; i < n; i++) {
            o += (size_t)snprintf(sql + o, len - o, "%s?", i ? "," : "");
            p[i] = (struct db_param){ 'i', ids[i], NULL, 0 };
        }
        snprintf(sql + o, len - o, ") ORDER BY id FOR UPDATE");
        rc = db_batch_add_params(b, sql, p, n);
    }
    free(sql);
    free(p);
    return rc;
}

/* The idempotency records of every keyed operation still to decide. */
static int add_records(struct engine_tx *tx)
{
    int n = 0;
    for (int i = 0; i < tx->n; i++)
        n += tx->ops[i]->key && !tx->ops[i]->done && !tx->ops[i]->from_record;
    if (n == 0)
        return -2;
    size_t len = 96 + (size_t)n * 36;
    char *sql = malloc(len);
    struct db_param *p = calloc((size_t)n * 2, sizeof *p);
    int rc = -1;
    if (sql && p) {
        size_t o = (size_t)snprintf(sql, len, "SELECT scope, idem_key, fingerprint, status, "
                                              "response FROM idempotency WHERE ");
        int k = 0;
        for (int i = 0; i < tx->n; i++) {
            const struct ledger_op *op = tx->ops[i];
            if (!op->key || op->done || op->from_record)
                continue;
            o += (size_t)snprintf(sql + o, len - o, "%s(scope = ? AND idem_key = ?)",
                                  k ? " OR " : "");
            p[2 * k] = (struct db_param){ 's', 0, op->scope, 0 };
            p[2 * k + 1] = (struct db_param){ 's', 0, op->key, 0 };
            k++;
        }
        rc = db_batch_add_params(&tx->rd, sql, p, 2 * n);
    }
    free(sql);
    free(p);
    return rc;
}

static int cmp_stock(const void *a, const void *b)
{
    const struct engine_stock *x = a, *y = b;
    if (x->site_id != y->site_id)
        return x->site_id < y->site_id ? -1 : 1;
    return x->category_id < y->category_id ? -1 : x->category_id > y->category_id;
}

/* Lock the site stocks (site, category) in that order: an upsert takes
 * the row's exclusive lock whether it inserts the row (at 0) or finds it,
 * so two groups never lock in opposite orders and a first movement of a
 * category needs no other step.  Then the heads are read under those
 * locks. */
static int add_stock_locks(struct engine_tx *tx)
{
    int n = tx->nstocks;
    size_t len = 160 + (size_t)n * 40;
    char *ins = malloc(len), *sel = malloc(len);
    struct db_param *p = calloc((size_t)n * 2, sizeof *p);
    int rc = -1;
    if (ins && sel && p) {
        size_t o = (size_t)snprintf(ins, len, "INSERT INTO site_stock (site_id, category_id) VALUES ");
        size_t q = (size_t)snprintf(sel, len, "SELECT site_id, category_id, on_hand, seq, shortfall "
                                              "FROM site_stock WHERE ");
        for (int k = 0; k < n; k++) {
            o += (size_t)snprintf(ins + o, len - o, "%s(?,?)", k ? "," : "");
            q += (size_t)snprintf(sel + q, len - q, "%s(site_id = ? AND category_id = ?)",
                                  k ? " OR " : "");
            p[2 * k] = (struct db_param){ 'i', tx->stocks[k].site_id, NULL, 0 };
            p[2 * k + 1] = (struct db_param){ 'i', tx->stocks[k].category_id, NULL, 0 };
        }
        snprintf(ins + o, len - o, " ON DUPLICATE KEY UPDATE on_hand = on_hand");
        if (db_batch_add_params(&tx->rd, ins, p, 2 * n) >= 0 &&
            (tx->stock_stmt = db_batch_add_params(&tx->rd, sel, p, 2 * n)) >= 0)
            rc = 0;
    }
    free(ins);
    free(sel);
    free(p);
    return rc;
}

static bool active(const struct ledger_op *op)
{
    return !op->done && !op->from_record;
}

static int first_round_trip(struct engine_tx *tx)
{
    long long hids[LEDGER_GROUP_MAX];
    long long *iids = calloc((size_t)tx->n * ENGINE_ITEMS_MAX + 1, sizeof *iids);
    if (!iids)
        return -1;
    int nh = 0, ni = 0, ns = 0;
    for (int i = 0; i < tx->n; i++) {
        const struct ledger_op *op = tx->ops[i];
        if (!active(op))
            continue;
        hids[nh++] = op->household_id;
        for (int k = 0; k < op->nitems; k++)
            iids[ni++] = op->item_ids[k];
        ns += op->preset ? 0 : op->nstocks;
    }
    tx->stocks = calloc((size_t)ns + 1, sizeof *tx->stocks);
    if (!tx->stocks) {
        free(iids);
        return -1;
    }
    for (int i = 0; i < tx->n; i++) {
        const struct ledger_op *op = tx->ops[i];
        for (int k = 0; active(op) && !op->preset && k < op->nstocks; k++)
            tx->stocks[tx->nstocks++] = (struct engine_stock){ .site_id = op->stocks[k].site_id,
                                                               .category_id = op->stocks[k].category_id };
    }
    qsort(tx->stocks, (size_t)tx->nstocks, sizeof *tx->stocks, cmp_stock);
    int us = 0;
    for (int k = 0; k < tx->nstocks; k++)
        if (us == 0 || cmp_stock(&tx->stocks[us - 1], &tx->stocks[k]) != 0)
            tx->stocks[us++] = tx->stocks[k];
    tx->nstocks = us;
    nh = unique(hids, nh);
    ni = unique(iids, ni);
    tx->nhh = nh;
    for (int k = 0; k < nh; k++)
        tx->hh[k] = (struct engine_hh){ .id = hids[k] };
    tx->items = calloc((size_t)ni + 1, sizeof *tx->items);
    tx->item_dirty = calloc((size_t)ni + 1, sizeof *tx->item_dirty);
    if (!tx->items || !tx->item_dirty) {
        free(iids);
        return -1;
    }
    tx->nitems = ni;
    for (int k = 0; k < ni; k++)
        tx->items[k].id = iids[k];
    /* households first, then items, each in id order: the global order */
    tx->hh_stmt = nh ? add_lock(&tx->rd, "SELECT id, region_id, status, balance, seq, "
                                         "card_gen, head_name, debt FROM households", hids, nh)
                     : -2;
    tx->item_stmt = ni ? add_lock(&tx->rd, "SELECT id, shop_id, name, points, stock IS NULL, "
                                           "COALESCE(stock, 0), active FROM shop_items", iids, ni)
                       : -2;
    free(iids);
    tx->stock_stmt = -2;
    if (tx->nstocks && add_stock_locks(tx) != 0)
        return -1;
    /* last, the staff rows the kinds count on (budgets, limits), in id order */
    long long sids[LEDGER_GROUP_MAX];
    int nsid = 0;
    for (int i = 0; i < tx->n; i++) {
        const struct ledger_op *op = tx->ops[i];
        if (active(op) && !op->preset && op->staff_id > 0)
            sids[nsid++] = op->staff_id;
    }
    nsid = unique(sids, nsid);
    if (nsid && add_lock(&tx->rd, "SELECT id FROM staff", sids, nsid) < 0)
        return -1;
    tx->idem_stmt = add_records(tx);
    if (tx->hh_stmt == -1 || tx->item_stmt == -1 || tx->idem_stmt == -1)
        return -1;
    for (int i = 0; i < tx->n; i++) {
        struct ledger_op *op = tx->ops[i];
        if (active(op) && !op->preset && op->kind->read && op->kind->read(tx, op) != 0)
            return -1;
    }
    if (tx->rd.n == 0)
        return 0;           /* nothing to lock or read: BEGIN rides with the writes */
    if (db_batch_run(&tx->rd) != 0)
        return -1;
    struct db_rows *r = db_batch_rows(&tx->rd, tx->hh_stmt);
    struct household_head h;
    while (r && household_head_read(r, &h) == 1) {
        for (int k = 0; k < nh; k++)
            if (tx->hh[k].id == h.id) {
                tx->hh[k].h = h;
                tx->hh[k].found = true;
            }
    }
    r = db_batch_rows(&tx->rd, tx->stock_stmt);
    while (r && db_rows_next(r)) {
        struct engine_stock *st = engine_stock(tx, db_rows_int(r, 0), db_rows_int(r, 1));
        if (!st)
            continue;
        st->on_hand = db_rows_int(r, 2);
        st->seq = db_rows_int(r, 3);
        st->shortfall = db_rows_int(r, 4);
    }
    r = db_batch_rows(&tx->rd, tx->idem_stmt);
    if (r && db_rows_count(r) > 0) {
        tx->recs = calloc(db_rows_count(r), sizeof *tx->recs);
        if (!tx->recs)
            return -1;
        while (db_rows_next(r)) {
            struct engine_record *rec = &tx->recs[tx->nrecs++];
            size_t fplen = 0;
            const char *fp = db_rows_str(r, 2, &fplen);
            rec->scope = strdup(db_rows_str(r, 0, NULL));
            rec->key = strdup(db_rows_str(r, 1, NULL));
            rec->response = strdup(db_rows_str(r, 4, NULL));
            rec->fp_ok = fplen == IDEM_FP_BYTES;
            if (rec->fp_ok)
                memcpy(rec->fp, fp, IDEM_FP_BYTES);
            rec->status = (int)db_rows_int(r, 3);
            if (!rec->scope || !rec->key || !rec->response)
                return -1;
        }
    }
    r = db_batch_rows(&tx->rd, tx->item_stmt);
    while (r && db_rows_next(r)) {
        struct engine_item *it = engine_item(tx, db_rows_int(r, 0));
        if (!it)
            continue;
        it->shop_id = db_rows_int(r, 1);
        snprintf(it->name, sizeof it->name, "%s", db_rows_str(r, 2, NULL));
        it->points = db_rows_int(r, 3);
        it->unlimited = db_rows_int(r, 4) != 0;
        it->stock = db_rows_int(r, 5);
        it->active = db_rows_int(r, 6) != 0;
        it->found = true;
    }
    return 0;
}

/* ---- deciding ---- */

/* The answer a stored record gives op: a replay of its status and body,
 * or a conflict when the request differs.  0, or -1 out of memory. */
static int answer_stored(struct ledger_op *op, int status, const char *response,
                         const unsigned char *fp, bool fp_ok)
{
    ledger_answer_release(&op->ans);
    memset(&op->ans, 0, sizeof op->ans);
    if (!fp_ok || sodium_memcmp(fp, op->fp, IDEM_FP_BYTES) != 0) {
        op->ans.conflict = true;
        op->ans.status = 409;
        return 0;
    }
    op->ans.status = status;
    op->ans.body = json_loads(response, 0, NULL);
    op->ans.replayed = true;
    if (!json_is_object(op->ans.body)) {
        json_decref(op->ans.body);
        op->ans.body = NULL;
        return -1;
    }
    json_object_set_new(op->ans.body, "replayed", json_true());
    return 0;
}

static const struct engine_record *record_of(const struct engine_tx *tx,
                                             const struct ledger_op *op)
{
    for (int k = 0; k < tx->nrecs; k++)
        if (strcmp(tx->recs[k].scope, op->scope) == 0 && strcmp(tx->recs[k].key, op->key) == 0)
            return &tx->recs[k];
    return NULL;
}

/* An operation earlier in the group that stores an answer under op's key. */
static struct ledger_op *twin_before(const struct engine_tx *tx, const struct ledger_op *op)
{
    for (int i = 0; i < tx->n && tx->ops[i] != op; i++) {
        struct ledger_op *o = tx->ops[i];
        if (active(o) && o->key && o->ans.status && !o->ans.no_store && !o->ans.conflict &&
            !o->ans.replayed && strcmp(o->scope, op->scope) == 0 && strcmp(o->key, op->key) == 0)
            return o;
    }
    return NULL;
}

/* Queue op's answer under its key, in the commit. */
static int store_answer(struct engine_tx *tx, struct ledger_op *op)
{
    char *text = json_dumps(op->ans.body, JSON_COMPACT);
    struct db_param *q = text && tx->ntexts < LEDGER_GROUP_MAX ? db_rows_builder_add(&tx->idem)
                                                               : NULL;
    if (!q) {
        free(text);
        return -1;
    }
    tx->texts[tx->ntexts++] = text;
    bool with_id = op->id_stmt >= 0 || op->id_row >= 0;
    q[0] = (struct db_param){ 's', 0, op->scope, 0 };
    q[1] = (struct db_param){ 's', 0, op->key, 0 };
    q[2] = (struct db_param){ 'b', 0, (const char *)op->fp, IDEM_FP_BYTES };
    q[3] = (struct db_param){ 'i', op->ans.status, NULL, 0 };
    q[4] = (struct db_param){ 's', 0, with_id ? "{\"id\":" : text, 0 };
    q[5] = (struct db_param){ with_id ? 'r' : 's', 0, with_id ? engine_ref(op) : "", 0 };
    q[6] = (struct db_param){ 's', 0, with_id && text[1] != '}' ? "," : "", 0 };
    q[7] = (struct db_param){ 's', 0, with_id ? text + 1 : "", 0 };
    return 0;
}

/* Decide every active operation of the group, in order. */
static int decide_all(struct engine_tx *tx)
{
    for (int i = 0; i < tx->n; i++) {
        struct ledger_op *op = tx->ops[i];
        if (!active(op))
            continue;
        const struct engine_record *rec = op->key ? record_of(tx, op) : NULL;
        if (rec) {
            /* a stored answer comes before every other outcome */
            if (answer_stored(op, rec->status, rec->response, rec->fp, rec->fp_ok) != 0)
                return -1;
            continue;
        }
        if (op->key && twin_before(tx, op))
            continue;           /* answered from its twin's after the commit */
        if (op->preset)
            continue;           /* the refusal decided before is the answer */
        if (op->kind->decide(tx, op) != 0 || (!op->ans.body && !op->ans.conflict))
            return -1;
        if (op->key && !op->ans.no_store && store_answer(tx, op) != 0)
            return -1;
    }
    return 0;
}

/* ---- the second round trip ---- */

/* One UPDATE for every household the group moved: balance, seq, debt. */
static int heads_flush(struct engine_tx *tx)
{
    int n = 0;
    for (int k = 0; k < tx->nhh; k++)
        n += tx->hh[k].dirty;
    if (n == 0)
        return 0;
    static const char *const names[3] = { "balance", "seq", "debt" };
    size_t len = 128 + (size_t)n * 64;
    char *sql = malloc(len);
    struct db_param *p = calloc((size_t)n * 7, sizeof *p);
    int rc = -1;
    if (sql && p) {
        size_t o = (size_t)snprintf(sql, len, "UPDATE households SET");
        int np = 0;
        for (int c = 0; c < 3; c++) {
            o += (size_t)snprintf(sql + o, len - o, "%s %s = CASE id", c ? " END," : "",
                                  names[c]);
            for (int k = 0; k < tx->nhh; k++) {
                const struct engine_hh *e = &tx->hh[k];
                if (!e->dirty)
                    continue;
                long long v = c == 0 ? e->h.balance : c == 1 ? e->h.seq : e->h.debt;
                o += (size_t)snprintf(sql + o, len - o, " WHEN ? THEN ?");
                p[np++] = (struct db_param){ 'i', e->id, NULL, 0 };
                p[np++] = (struct db_param){ 'i', v, NULL, 0 };
            }
        }
        o += (size_t)snprintf(sql + o, len - o, " END WHERE id IN (");
        int first = 1;
        for (int k = 0; k < tx->nhh; k++) {
            if (!tx->hh[k].dirty)
                continue;
            o += (size_t)snprintf(sql + o, len - o, "%s?", first ? "" : ",");
            first = 0;
            p[np++] = (struct db_param){ 'i', tx->hh[k].id, NULL, 0 };
        }
        snprintf(sql + o, len - o, ")");
        rc = db_batch_add_params(&tx->wr, sql, p, np) < 0 ? -1 : 0;
    }
    free(sql);
    free(p);
    return rc;
}

/* One UPDATE for every item whose stock the group moved. */
static int items_flush(struct engine_tx *tx)
{
    int n = 0;
    for (int k = 0; k < tx->nitems; k++)
        n += tx->item_dirty[k];
    if (n == 0)
        return 0;
    size_t len = 96 + (size_t)n * 20;
    char *sql = malloc(len);
    struct db_param *p = calloc((size_t)n * 3, sizeof *p);
    int rc = -1;
    if (sql && p) {
        size_t o = (size_t)snprintf(sql, len, "UPDATE shop_items SET stock = CASE id");
        int np = 0;
        for (int k = 0; k < tx->nitems; k++) {
            if (!tx->item_dirty[k])
                continue;
            o += (size_t)snprintf(sql + o, len - o, " WHEN ? THEN ?");
            p[np++] = (struct db_param){ 'i', tx->items[k].id, NULL, 0 };
            p[np++] = (struct db_param){ 'i', tx->items[k].stock, NULL, 0 };
        }
        o += (size_t)snprintf(sql + o, len - o, " END WHERE id IN (");
        int first = 1;
        for (int k = 0; k < tx->nitems; k++) {
            if (!tx->item_dirty[k])
                continue;
            o += (size_t)snprintf(sql + o, len - o, "%s?", first ? "" : ",");
            first = 0;
            p[np++] = (struct db_param){ 'i', tx->items[k].id, NULL, 0 };
        }
        snprintf(sql + o, len - o, ")");
        rc = db_batch_add_params(&tx->wr, sql, p, np) < 0 ? -1 : 0;
    }
    free(sql);
    free(p);
    return rc;
}

/* Every stock head the group moved. */
static int stocks_flush(struct engine_tx *tx)
{
    struct db_rows_builder b;
    db_rows_builder_init(&b, &stock_heads);
    int rc = 0;
    for (int k = 0; k < tx->nstocks && rc == 0; k++) {
        const struct engine_stock *st = &tx->stocks[k];
        if (!st->dirty)
            continue;
        struct db_param *q = db_rows_builder_add(&b);
        if (!q) {
            rc = -1;
            break;
        }
        q[0] = (struct db_param){ 'i', st->site_id, NULL, 0 };
        q[1] = (struct db_param){ 'i', st->category_id, NULL, 0 };
        q[2] = (struct db_param){ 'i', st->on_hand, NULL, 0 };
        q[3] = (struct db_param){ 'i', st->seq, NULL, 0 };
        q[4] = (struct db_param){ 'i', st->shortfall, NULL, 0 };
    }
    if (rc == 0 && db_rows_builder_flush(&b, &tx->wr) == -1)
        rc = -1;
    db_rows_builder_release(&b);
    return rc;
}

/* "Duplicate entry 'site:3-k1' for key 'PRIMARY'": the operation whose
 * scope-key it names, or -1. */
static int dup_owner(const struct engine_tx *tx, const char *err)
{
    const char *q = strstr(err, "entry '");
    if (!q)
        return -1;
    q += 7;
    for (int i = 0; i < tx->n; i++) {
        const struct ledger_op *op = tx->ops[i];
        if (!active(op) || !op->key)
            continue;
        size_t ls = strlen(op->scope), lk = strlen(op->key);
        if (strncmp(q, op->scope, ls) == 0 && q[ls] == '-' && strncmp(q + ls + 1, op->key, lk) == 0 &&
            q[ls + 1 + lk] == '\'')
            return i;
    }
    return -1;
}

static int write_round_trip(struct engine_tx *tx)
{
    if (objects_flush(tx) != 0)
        return -1;
    for (int k = 0; k < tx->nrowsets; k++)
        if (db_rows_builder_flush(&tx->rowsets[k].b, &tx->wr) == -1)
            return -1;
    if (db_rows_builder_flush(&tx->ledger, &tx->wr) == -1 || heads_flush(tx) != 0 ||
        items_flush(tx) != 0 || stocks_flush(tx) != 0)
        return -1;
    for (int k = 0; k < ROLLUP_COUNT; k++)
        if (tally_flush(&tx->tallies[k], &tx->wr) == -1)
            return -1;
    tx->idem_at = db_rows_builder_flush(&tx->idem, &tx->wr);
    if (tx->idem_at == -1)
        return -1;
    if (tx->wr.n == 0)
        return 0;           /* nothing to write: db_tx commits what was read */
    db_batch_commit(&tx->wr);
    if (db_batch_run(&tx->wr) == 0)
        return 0;
    /* a key of the group stored first by a twin elsewhere: that operation
     * is answered from the record, the rest run again */
    if (db_errkind(tx->d) == DB_DUP && tx->idem_at >= 0 && tx->wr.failed_at == tx->idem_at) {
        tx->twin = dup_owner(tx, db_error(tx->d));
        if (tx->twin >= 0)
            return 1;
    }
    return -1;
}

static void tx_release(struct engine_tx *tx)
{
    db_batch_free(&tx->rd);
    db_batch_free(&tx->wr);
    for (int k = 0; k < tx->nrowsets; k++)
        db_rows_builder_release(&tx->rowsets[k].b);
    tx->nrowsets = 0;
    db_rows_builder_release(&tx->ledger);
    db_rows_builder_release(&tx->idem);
    if (tx->objects_spec)
        db_rows_builder_release(&tx->objects);
    tx->objects_spec = NULL;
    tx->nobjects = 0;
    for (int k = 0; k < tx->nks; k++)
        free(tx->ks[k].mem);
    tx->nks = 0;
    for (int k = 0; k < tx->ntexts; k++)
        free(tx->texts[k]);
    tx->ntexts = 0;
    for (int k = 0; k < tx->nrecs; k++) {
        free(tx->recs[k].scope);
        free(tx->recs[k].key);
        free(tx->recs[k].response);
    }
    free(tx->recs);
    tx->recs = NULL;
    tx->nrecs = 0;
    free(tx->items);
    free(tx->item_dirty);
    free(tx->stocks);
    for (int k = 0; k < tx->nstrs; k++)
        free(tx->strs[k]);
    free(tx->strs);
    tx->strs = NULL;
    tx->nstrs = tx->capstrs = 0;
    tx->items = NULL;
    tx->item_dirty = NULL;
    tx->stocks = NULL;
    tx->nitems = tx->nhh = tx->nstocks = 0;
    for (int k = 0; k < ROLLUP_COUNT; k++)
        tally_release(&tx->tallies[k]);
}

/* One attempt of the group (db_tx runs it again on deadlock). */
static int group_tx(struct db *d, void *arg)
{
    struct engine_tx *tx = arg;
    tx_release(tx);
    db_batch_init(&tx->rd, d);
    db_batch_init(&tx->wr, d);
    db_rows_builder_init(&tx->ledger, &ledger_rows);
    db_rows_builder_init(&tx->idem, &idem_rows);
    for (int k = 0; k < ROLLUP_COUNT; k++)
        tally_init(&tx->tallies[k], &rollup_specs[k]);
    tx->idem_at = -1;
    tx->twin = -1;
    for (int i = 0; i < tx->n; i++) {
        struct ledger_op *op = tx->ops[i];
        if (!active(op) || op->preset)
            continue;
        /* a retried attempt decides from nothing */
        ledger_answer_release(&op->ans);
        memset(&op->ans, 0, sizeof op->ans);
        op->id_stmt = -1;
        op->id_row = -1;
    }
    if (first_round_trip(tx) != 0 || decide_all(tx) != 0)
        return -1;
    return write_round_trip(tx);
}

/* ---- running a group ---- */

/* After the commit: new objects get their ids, twins their sibling's
 * answer. */
static int finish(struct engine_tx *tx)
{
    for (int i = 0; i < tx->n; i++) {
        struct ledger_op *op = tx->ops[i];
        if (!active(op) || op->id_stmt < 0 || !op->ans.body)
            continue;
        long long id = db_batch_insert_id(&tx->wr, op->id_stmt) + (op->id_row > 0 ? op->id_row : 0);
        json_t *full = json_pack("{s:I}", "id", (json_int_t)id);
        if (!full || json_object_update(full, op->ans.body) != 0) {
            json_decref(full);
            return -1;          /* out of memory after the commit: a replay heals */
        }
        json_decref(op->ans.body);
        op->ans.body = full;
    }
    for (int i = 0; i < tx->n; i++) {
        struct ledger_op *op = tx->ops[i];
        if (!active(op) || op->ans.status || op->ans.conflict || op->preset)
            continue;
        struct ledger_op *t = op->key ? twin_before(tx, op) : NULL;
        if (!t) {
            op->rc = LEDGER_ERR;
            continue;
        }
        char *text = json_dumps(t->ans.body, JSON_COMPACT);
        int rc = text ? answer_stored(op, t->ans.status, text, t->fp, true) : -1;
        free(text);
        if (rc != 0)
            op->rc = LEDGER_ERR;
    }
    return 0;
}

static void fail_active(struct engine_tx *tx, int rc, int errkind)
{
    for (int i = 0; i < tx->n; i++) {
        struct ledger_op *op = tx->ops[i];
        if (!active(op))
            continue;
        long long hid = op->ans.household_id ? op->ans.household_id : op->household_id;
        ledger_answer_release(&op->ans);
        memset(&op->ans, 0, sizeof op->ans);
        op->ans.household_id = hid;     /* its cache entry is dropped on an unknown outcome */
        op->rc = rc;
        op->errkind = errkind;
        op->done = true;
    }
}

static void rerun_warning(const struct engine_tx *tx, const char *why, int active_n)
{
    atomic_fetch_add(&wb_stats.group_reruns, 1);
    log_msg(LOG_WARN, "ledger group of %d rolled back and run again (%s): mariadb error %d: %s",
            active_n, why, db_errno(tx->d), db_error(tx->d));
}

int ledger_engine_run(struct db *d, struct ledger_op *const *ops, int n)
{
    pthread_once(&refs_once, build_refs);
    if (n < 1 || n > LEDGER_GROUP_MAX)
        return 0;
    for (int i = 0; i < n; i++) {
        struct ledger_op *op = ops[i];
        if (!op->preset) {
            ledger_answer_release(&op->ans);
            memset(&op->ans, 0, sizeof op->ans);
        }
        op->rc = LEDGER_OK;
        op->errkind = DB_OK;
        op->slot = i;
        op->id_stmt = -1;
        op->id_row = -1;
        op->done = op->from_record = false;
        if (op->nitems > ENGINE_ITEMS_MAX || op->nstocks > ENGINE_STOCKS_MAX) {
            op->rc = LEDGER_ERR;
            op->errkind = DB_OTHER;
            op->done = true;
            continue;
        }
        /* what a kind must look up before it can lock: outside the
         * transaction, on rows that never change once written */
        if (!op->preset && op->kind->resolve && op->kind->resolve(d, op) != 0) {
            op->rc = LEDGER_ERR;
            op->errkind = db_errkind(d);
            op->done = true;
        }
    }
    struct engine_tx tx = { .d = d, .ops = ops, .n = n };
    for (;;) {
        int left = 0;
        for (int i = 0; i < n; i++)
            left += active(ops[i]);
        if (left == 0)
            break;
        atomic_fetch_add(&wb_stats.dropoff_groups, 1);
        atomic_fetch_add(&wb_stats.dropoffs_grouped, (unsigned long)left);
        int rc = db_tx(d, group_tx, &tx);
        if (rc == 1 && tx.twin >= 0) {
            ops[tx.twin]->from_record = true;
            rerun_warning(&tx, "a key stored by a twin", left);
            continue;
        }
        if (rc == DB_TX_COMMITTED) {
            if (finish(&tx) != 0)
                fail_active(&tx, LEDGER_ERR, DB_OTHER);
            for (int i = 0; i < n; i++) {
                struct ledger_op *op = ops[i];
                if (!active(op))
                    continue;
                if (op->rc == LEDGER_OK && op->ans.moved)
                    atomic_fetch_add(&wb_stats.ledger_writes, 1);
                op->done = true;
            }
            break;
        }
        if (rc == DB_TX_ERROR && left > 1 && !db_dead(d)) {
            /* isolate what failed: each alone */
            rerun_warning(&tx, "one at a time", left);
            tx_release(&tx);
            for (int i = 0; i < n; i++)
                if (active(ops[i])) {
                    struct ledger_op *one = ops[i];
                    int slot = one->slot;
                    ledger_engine_run(d, &one, 1);
                    one->slot = slot;
                    one->done = true;
                }
            break;
        }
        fail_active(&tx, rc == DB_TX_UNKNOWN ? LEDGER_UNKNOWN : LEDGER_ERR, db_errkind(d));
        break;
    }
    tx_release(&tx);
    /* a twin elsewhere stored these keys first: their answers are the record */
    for (int i = 0; i < n; i++) {
        struct ledger_op *op = ops[i];
        if (!op->from_record)
            continue;
        struct ledger_answer stored;
        int found = ledger_replay(d, op->scope, op->key, op->fp, &stored);
        ledger_answer_release(&op->ans);
        if (found == 1) {
            op->ans = stored;
            op->rc = LEDGER_OK;
        } else {
            memset(&op->ans, 0, sizeof op->ans);
            op->rc = LEDGER_ERR;
            op->errkind = db_errkind(d);
        }
        op->from_record = false;
        op->done = true;
    }
    return n;
}

int engine_claw_back(struct engine_tx *tx, struct household_head *h, long long points,
                     const char *kind, long long ref_id, const char *actor, const char *memo,
                     long long *clawed)
{
    long long took = points < h->balance ? points : h->balance;
    *clawed = took;
    h->debt += points - took;
    if (took > 0)
        return engine_move(tx, h, -took, kind, ref_id, NULL, actor, memo, NULL);
    if (points > 0)
        engine_touch(tx, h);
    return 0;
}

int engine_undo_owner(struct db *d, struct ledger_op *op, const char *sql, long long id,
                      const char *what)
{
    long long hid = 0;
    int rc = db_query_int(d, &hid, sql, "i", id);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "no such %s", what);
        ledger_op_refuse(op, 404, "not_found", NULL, msg);
    } else {
        op->household_id = hid;
    }
    return 0;
}

int engine_undo_add(struct engine_undo *u, long long id, bool *added)
{
    int k = engine_undo_find(u, id);
    *added = k < 0;
    if (k >= 0)
        return k;
    if (u->n >= LEDGER_GROUP_MAX)
        return -1;
    k = u->n++;
    u->id[k] = id;
    u->parsed[k] = false;
    u->taken[k] = false;
    return k;
}

int engine_undo_find(const struct engine_undo *u, long long id)
{
    for (int k = 0; k < u->n; k++)
        if (u->id[k] == id)
            return k;
    return -1;
}
