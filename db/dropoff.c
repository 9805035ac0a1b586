/* dropoff.c - the drop-off, as an operation of the ledger engine
 * (db/engine.h): the card and reach are checked under the household's
 * lock, the lines are priced (db/pricing.h) against the day totals read
 * under that lock, and the drop-off, its lines, the day totals and the
 * ledger row are written with the group.
 *
 * Read under the group's locks, once a group: the rates table's version
 * (its row count: rates are only inserted); once a household and day: what
 * it earned in each capped category on the recorded day (daily_totals) and
 * on the day of arrival (arrival_totals).  These totals are carried in
 * memory from one drop-off of the group to the next. */
#include "db/ledger.h"
#include "db/rollup.h"
#include "db/engine.h"
#include "db/db.h"
#include "db/households.h"
#include "db/pricing.h"
#include "db/regions.h"
#include "db/stats.h"
#include "server/clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_DAILY[] =
    "SELECT category_id, points FROM daily_totals WHERE household_id = ? AND local_day = ?";
static const char SQL_ARRIVAL[] =
    "SELECT category_id, points FROM arrival_totals WHERE household_id = ? AND arrival_day = ?";
static const char SQL_DROPOFF[] =
    "INSERT INTO dropoffs (site_id, household_id, attendant_id, idem_key, points, grams, "
    "items, capped, recorded_at, local_day, backdated, arrival_day, note) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* the same row, many a group (engine_insert_object_row) */
static const struct db_rows_spec dropoff_rows = {
    "INSERT INTO dropoffs (site_id, household_id, attendant_id, idem_key, points, grams, "
    "items, capped, recorded_at, local_day, backdated, arrival_day, note) VALUES ",
    "(?,?,?,?,?,?,?,?,?,?,?,?,?)", "", 13
};

static const struct db_rows_spec lines_rows = {
    "INSERT INTO dropoff_lines (dropoff_id, line_no, category_id, grams, count, rate_id, "
    "points_per_unit, points, capped) VALUES ", "(?,?,?,?,?,?,?,?,?)", "", 9
};
/* rows of one key add up: ON DUPLICATE KEY */
static const struct db_rows_spec daily_rows = {
    "INSERT INTO daily_totals (household_id, category_id, local_day, points) VALUES ",
    "(?,?,?,?)", " ON DUPLICATE KEY UPDATE points = points + VALUES(points)", 4
};
static const struct db_rows_spec arrival_rows = {
    "INSERT INTO arrival_totals (household_id, category_id, arrival_day, points) VALUES ",
    "(?,?,?,?)", " ON DUPLICATE KEY UPDATE points = points + VALUES(points)", 4
};

void dropoff_line_set(struct dropoff_line *l, const struct category *c, long long qty)
{
    l->cat_id = c->id;
    snprintf(l->code, sizeof l->code, "%s", c->code);
    l->per_item = c->per_item;
    l->has_cap = c->has_cap;
    l->qty = qty;
}

/* ---- the group's state ---- */

/* What a household earned in each category on one day: a recorded day
 * or a day of arrival. */
struct day_totals {
    long long hid;
    const char *day;
    bool arrival;
    int stmt;
    long long earned[CATALOG_MAX];
};

struct dropoff_group {
    int count_stmt;             /* the rates table's version: its row count */
    bool read_done;             /* the reads below were taken in */
    long long rates_count;
    const struct category *cats;
    int ncats;
    struct day_totals days[2 * LEDGER_GROUP_MAX];
    int ndays;
    /* the group's sites: only a drop-off site collects from households */
    struct { long long id; int stmt; int dropoff_tier; } sites[LEDGER_GROUP_MAX];
    int nsites;
};

static const char SQL_SITE_TIER[] = "SELECT tier = 'dropoff' FROM sites WHERE id = ?";

static struct dropoff_group *group_of(struct engine_tx *tx)
{
    struct dropoff_group *g = engine_kind_state(tx, &ledger_dropoff_kind, sizeof *g);
    if (g && g->count_stmt == 0)
        g->count_stmt = -1;     /* not added yet (0 is a valid index) */
    return g;
}

static struct day_totals *day_of(struct dropoff_group *g, long long hid, const char *day,
                                 bool arrival)
{
    for (int k = 0; k < g->ndays; k++)
        if (g->days[k].hid == hid && g->days[k].arrival == arrival &&
            strcmp(g->days[k].day, day) == 0)
            return &g->days[k];
    return NULL;
}

static bool has_capped_line(const struct dropoff_in *in)
{
    for (int i = 0; i < in->nlines; i++)
        if (in->lines[i].has_cap)
            return true;
    return false;
}

static int dropoff_read(struct engine_tx *tx, struct ledger_op *op)
{
    const struct dropoff_in *in = op->in;
    struct dropoff_group *g = group_of(tx);
    if (!g)
        return -1;
    if (g->count_stmt < 0 && (g->count_stmt = engine_read(tx, CATALOG_RATES_COUNT_SQL, "")) < 0)
        return -1;
    int k = 0;
    while (k < g->nsites && g->sites[k].id != in->site_id)
        k++;
    if (k == g->nsites) {
        if (k == LEDGER_GROUP_MAX)
            return -1;
        g->sites[k].id = in->site_id;
        g->sites[k].dropoff_tier = -1;
        if ((g->sites[k].stmt = engine_read(tx, SQL_SITE_TIER, "i", in->site_id)) < 0)
            return -1;
        g->nsites++;
    }
    if (!in->household_id || !has_capped_line(in))
        return 0;
    for (int a = 0; a < 2; a++) {
        const char *day = a ? in->arrival_day : in->local_day;
        if (day_of(g, in->household_id, day, a))
            continue;
        if (g->ndays == 2 * LEDGER_GROUP_MAX)
            return -1;
        struct day_totals *t = &g->days[g->ndays++];
        t->hid = in->household_id;
        t->day = day;
        t->arrival = a;
        t->stmt = engine_read(tx, a ? SQL_ARRIVAL : SQL_DAILY, "is", in->household_id, day);
        if (t->stmt < 0)
            return -1;
    }
    return 0;
}

/* The first decide of a group takes in what the first round trip read. */
static int take_reads(struct engine_tx *tx, struct dropoff_group *g)
{
    if (g->read_done)
        return 0;
    g->rates_count = -1;
    struct db_rows *cnt = engine_read_rows(tx, g->count_stmt);
    if (cnt && db_rows_next(cnt))
        g->rates_count = db_rows_int(cnt, 0);
    struct db *d = engine_db(tx);
    g->ncats = catalog_all(d, &g->cats);
    if (g->ncats < 0)
        return -1;
    for (int k = 0; k < g->ndays; k++) {
        struct db_rows *r = engine_read_rows(tx, g->days[k].stmt);
        while (r && db_rows_next(r)) {
            long long cid = db_rows_int(r, 0);
            for (int c = 0; c < g->ncats; c++)
                if (g->cats[c].id == cid)
                    g->days[k].earned[c] = db_rows_int(r, 1);
        }
    }
    g->read_done = true;
    return 0;
}

/* Where category_index() finds no index. */
enum {
    CATEGORY_UNKNOWN = -1,      /* not in the catalogue, even read again */
    CATEGORY_STORE_ERROR = -2,  /* the catalogue could not be read */
};

/* The index of a line's category in the thread's catalogue: it may be one
 * created a moment ago on another thread, then the catalogue is read again. */
static int category_index(struct engine_tx *tx, struct dropoff_group *g, int cat_id)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int c = 0; c < g->ncats; c++)
            if (g->cats[c].id == cat_id)
                return c;
        if (pass == 0) {
            catalog_invalidate();
            g->ncats = catalog_all(engine_db(tx), &g->cats);
            if (g->ncats < 0)
                return CATEGORY_STORE_ERROR;
        }
    }
    return CATEGORY_UNKNOWN;
}

static void refuse_field(struct ledger_answer *ans, int status, const char *code,
                         const char *message, const char *field)
{
    ledger_refuse(ans, status, code, message);
    json_object_set_new(json_object_get(ans->body, "error"), "field", json_string(field));
    ans->no_store = true;
}

static int dropoff_decide(struct engine_tx *tx, struct ledger_op *op)
{
    const struct dropoff_in *in = op->in;
    struct ledger_answer *ans = &op->ans;
    struct dropoff_group *g = group_of(tx);
    if (!g || take_reads(tx, g) != 0)
        return -1;
    for (int k = 0; k < g->nsites; k++) {
        if (g->sites[k].id != in->site_id)
            continue;
        if (g->sites[k].dropoff_tier < 0) {
            struct db_rows *r = engine_read_rows(tx, g->sites[k].stmt);
            g->sites[k].dropoff_tier = r && db_rows_next(r) && db_rows_int(r, 0) == 1;
        }
        if (!g->sites[k].dropoff_tier) {
            /* transfer stations and sorting centres receive shipments */
            ledger_refuse(ans, 409, "wrong_tier",
                          "only a drop-off site collects from households");
            ans->no_store = true;
            return 0;
        }
    }
    struct household_head *h = in->household_id ? engine_household(tx, in->household_id) : NULL;
    /* a forged card names no household; a reissued one an old generation */
    if (!h || h->card_gen != in->card_gen) {
        refuse_field(ans, 404, "unknown_code", "this card is not valid", "code");
        return 0;
    }
    char path[256];
    struct db *d = engine_db(tx);
    if (region_path_cached(d, h->region_id, path, sizeof path) != 0)
        return -1;
    if (!region_path_within(in->reach, path)) {
        refuse_field(ans, 404, "not_found", "this household is not served here", "code");
        return 0;
    }
    ans->household_id = h->id;
    if (strcmp(h->status, "active") != 0) {
        char msg[80];
        snprintf(msg, sizeof msg, "the household is %s", h->status);
        ledger_refuse(ans, 409, "household_inactive", msg);
        return 0;
    }

    /* each line's category (a reload may move them), then the rates in
     * force at recorded_at for the household's region */
    int cix[DROPOFF_MAX_LINES];
    for (int i = 0; i < in->nlines; i++) {
        cix[i] = category_index(tx, g, in->lines[i].cat_id);
        if (cix[i] == CATEGORY_STORE_ERROR)
            return -1;
        if (cix[i] == CATEGORY_UNKNOWN) {
            /* created on another instance a moment ago: send again */
            ledger_refuse(ans, 409, "conflict", "a category is not known yet; send again");
            ans->no_store = true;
            return 0;
        }
    }
    for (int i = 0; i < in->nlines; i++)    /* indices of the final catalogue */
        cix[i] = category_index(tx, g, in->lines[i].cat_id);
    struct rate rates[CATALOG_MAX];
    if (catalog_rates(d, g->rates_count, path, in->recorded_at, g->cats, g->ncats, rates) != 0)
        return -1;
    struct day_totals *day = day_of(g, h->id, in->local_day, false);
    struct day_totals *arr = day_of(g, h->id, in->arrival_day, true);
    struct price_out out[DROPOFF_MAX_LINES];
    long long rate_id[DROPOFF_MAX_LINES], rate_ppu[DROPOFF_MAX_LINES];
    long long total = 0, grams = 0, items = 0;
    bool any_capped = false;
    for (int i = 0; i < in->nlines; i++) {
        int ci = cix[i];
        const struct category *c = &g->cats[ci];
        struct price_rule rule = { c->per_item, rates[ci].ppu, c->has_cap, c->daily_cap,
                                   in->arrival_cap_days > 0 ? in->arrival_cap_days : 1 };
        out[i] = price_line(&rule, in->lines[i].qty, day ? &day->earned[ci] : NULL,
                            arr ? &arr->earned[ci] : NULL);
        rate_id[i] = rates[ci].id;
        rate_ppu[i] = rates[ci].ppu;
        any_capped |= out[i].capped;
        total += out[i].points;
        if (c->per_item)
            items += in->lines[i].qty;
        else
            grams += in->lines[i].qty;
    }

    struct db_param p[] = {
        { 'i', in->site_id, NULL, 0 }, { 'i', h->id, NULL, 0 },
        { 'i', in->attendant_id, NULL, 0 }, { 's', 0, in->key, 0 },
        { 'i', total, NULL, 0 }, { 'i', grams, NULL, 0 }, { 'i', items, NULL, 0 },
        { 'i', any_capped, NULL, 0 }, { 'i', in->recorded_at, NULL, 0 },
        { 's', 0, in->local_day, 0 }, { 'i', in->backdated, NULL, 0 },
        { 's', 0, in->arrival_day, 0 }, { 's', 0, in->note, 0 },
    };
    _Static_assert(sizeof p / sizeof p[0] == 13, "a drop-off row has 13 columns");
    if (engine_insert_object_row(tx, op, &dropoff_rows, SQL_DROPOFF, p) != 0)
        return -1;
    const char *ref = engine_ref(op);
    for (int i = 0; i < in->nlines; i++) {
        const struct dropoff_line *l = &in->lines[i];
        struct db_param *q = engine_row(tx, &lines_rows);
        if (!q)
            return -1;
        q[0] = (struct db_param){ 'r', 0, ref, 0 };
        q[1] = (struct db_param){ 'i', i + 1, NULL, 0 };
        q[2] = (struct db_param){ 'i', l->cat_id, NULL, 0 };
        q[3] = (struct db_param){ l->per_item ? 'n' : 'i', l->qty, NULL, 0 };
        q[4] = (struct db_param){ l->per_item ? 'i' : 'n', l->qty, NULL, 0 };
        q[5] = (struct db_param){ 'i', rate_id[i], NULL, 0 };
        q[6] = (struct db_param){ 'i', rate_ppu[i], NULL, 0 };
        q[7] = (struct db_param){ 'i', out[i].points, NULL, 0 };
        q[8] = (struct db_param){ 'i', out[i].capped, NULL, 0 };
        /* day totals exist for the caps: a row per capped line that earned */
        if (out[i].points == 0 || !l->has_cap)
            continue;
        for (int a = 0; a < 2; a++) {
            if (!(q = engine_row(tx, a ? &arrival_rows : &daily_rows)))
                return -1;
            q[0] = (struct db_param){ 'i', h->id, NULL, 0 };
            q[1] = (struct db_param){ 'i', l->cat_id, NULL, 0 };
            q[2] = (struct db_param){ 's', 0, a ? in->arrival_day : in->local_day, 0 };
            q[3] = (struct db_param){ 'i', out[i].points, NULL, 0 };
        }
    }
    /* the lines are the site's stock from now on (the 台账 of the site) */
    for (int i = 0; i < in->nlines; i++) {
        struct engine_stock *st = engine_stock(tx, in->site_id, in->lines[i].cat_id);
        if (!st || engine_stock_move(tx, st, in->lines[i].qty, "dropoff", 0, ref,
                                     in->arrival_day) != 0)
            return -1;
    }
    /* and the collection's figures */
    struct rollup_line rl[DROPOFF_MAX_LINES];
    for (int i = 0; i < in->nlines; i++)
        rl[i] = (struct rollup_line){ in->lines[i].cat_id,
                                      in->lines[i].per_item ? 0 : in->lines[i].qty,
                                      in->lines[i].per_item ? in->lines[i].qty : 0,
                                      out[i].points };
    struct rollup_dropoff fact = { in->site_id, h->id, h->region_id, rollup_day(in->local_day),
                                   rollup_day(in->arrival_day), in->nlines, rl };
    if (rollup_dropoff(tx, &fact, 1) != 0)
        return -1;
    long long recovered = 0;
    if (total > 0) {
        if (engine_move(tx, h, total, "dropoff", 0, ref, in->actor, NULL, &recovered) != 0)
            return -1;
        ans->moved = true;
    }
    ans->balance = h->balance;
    ans->seq = h->seq;

    char rec[40];
    clock_format((time_t)in->recorded_at, rec, sizeof rec);
    json_t *lines = json_array();
    for (int i = 0; i < in->nlines; i++) {
        const struct dropoff_line *l = &in->lines[i];
        json_array_append_new(lines, json_pack("{s:s, s:I, s:I, s:I, s:b}", "category", l->code,
                                               l->per_item ? "count" : "grams",
                                               (json_int_t)l->qty, "rate",
                                               (json_int_t)rate_ppu[i], "points",
                                               (json_int_t)out[i].points, "capped",
                                               out[i].capped));
    }
    /* "id" is added when the group has committed */
    ans->status = 201;
    ans->body = json_pack("{s:I, s:I, s:I, s:I, s:o, s:b, s:b, s:s, s:b}", "household_id",
                          (json_int_t)h->id, "site_id", (json_int_t)in->site_id, "points",
                          (json_int_t)total, "balance", (json_int_t)h->balance, "items",
                          lines, "capped", any_capped, "backdated", in->backdated,
                          "recorded_at", rec, "replayed", 0);
    if (ans->body && recovered > 0)
        json_object_set_new(ans->body, "recovered", json_integer(recovered));
    return ans->body ? 0 : -1;
}

const struct ledger_op_kind ledger_dropoff_kind = {
    "dropoff", NULL, dropoff_read, dropoff_decide,
};

void ledger_dropoff_op(struct ledger_op *op, const struct dropoff_in *in)
{
    memset(op, 0, sizeof *op);
    op->kind = &ledger_dropoff_kind;
    op->in = (void *)(uintptr_t)in;
    op->scope = in->scope;
    op->key = in->key;
    memcpy(op->fp, in->fp, sizeof op->fp);
    op->household_id = in->household_id;
    for (int i = 0; i < in->nlines && i < ENGINE_STOCKS_MAX; i++)
        op->stocks[op->nstocks++] = (struct engine_stock_key){ in->site_id, in->lines[i].cat_id };
    if (in->refusal.status)
        ledger_op_refuse(op, in->refusal.status, in->refusal.code, in->refusal.field,
                         in->refusal.message);
    else if (in->nlines < 1 || in->nlines > DROPOFF_MAX_LINES)
        ledger_op_refuse(op, 400, "invalid_request", "items", "1 to 20 lines");
}

int ledger_dropoffs(struct db *d, const struct dropoff_in *const *in, int n,
                    struct ledger_answer *ans, int *rc)
{
    if (n < 1 || n > LEDGER_GROUP_MAX)
        return 0;
    struct ledger_op ops[LEDGER_GROUP_MAX];
    struct ledger_op *pp[LEDGER_GROUP_MAX];
    for (int i = 0; i < n; i++) {
        ledger_dropoff_op(&ops[i], in[i]);
        pp[i] = &ops[i];
    }
    ledger_engine_run(d, pp, n);
    for (int i = 0; i < n; i++) {
        ans[i] = ops[i].ans;
        rc[i] = ops[i].rc;
    }
    return n;
}
