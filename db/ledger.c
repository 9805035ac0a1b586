/* ledger.c - see ledger.h. */
#include "db/ledger.h"
#include "db/rollup.h"
#include "db/engine.h"
#include "db/audit.h"
#include "db/db.h"
#include "db/households.h"
#include "db/regions.h"
#include "db/stats.h"
#include "server/clock.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_ADJUST[] =
    "INSERT INTO adjustments (household_id, staff_id, points, reason) VALUES (?, ?, ?, ?)";
static const char SQL_ADJUSTED_TODAY[] =
    "SELECT COALESCE(SUM(ABS(points)), 0) FROM adjustments "
    "WHERE staff_id = ? AND created_at > NOW(6) - INTERVAL 1 DAY";
static const char SQL_DROPOFF_OWNER[] = "SELECT household_id FROM dropoffs WHERE id = ?";
/* what the drop-off put in its site's stock (nothing before the chain) */
static const char SQL_DROPOFF_STOCK[] =
    "SELECT site_id, category_id, SUM(delta) FROM stock_movements "
    "WHERE kind = 'dropoff' AND ref_id = ? GROUP BY site_id, category_id "
    "ORDER BY site_id, category_id";
static const char SQL_DROPOFF_LOCK[] =
    "SELECT status, points, local_day, COALESCE(arrival_day, ''), site_id FROM dropoffs "
    "WHERE id = ? FOR UPDATE";
/* what the drop-off counts for in the rollups, to take it out again */
static const char SQL_DROPOFF_FIGURES[] =
    "SELECT category_id, COALESCE(grams, 0), COALESCE(count, 0), points FROM dropoff_lines "
    "WHERE dropoff_id = ? ORDER BY line_no";
static const char SQL_DROPOFF_REVERSE[] =
    "UPDATE dropoffs SET status = 'reversed', reversed_at = NOW(6), reversed_by = ?, "
    "reverse_reason = ?, clawed_back = ?, shortfall = ? WHERE id = ?";
static const char SQL_DAILY_UNDO[] =
    "UPDATE daily_totals t JOIN (SELECT category_id, SUM(points) AS p FROM dropoff_lines "
    "WHERE dropoff_id = ? GROUP BY category_id) x ON x.category_id = t.category_id "
    "SET t.points = GREATEST(0, t.points - x.p) WHERE t.household_id = ? AND t.local_day = ?";
static const char SQL_ARRIVAL_UNDO[] =
    "UPDATE arrival_totals t JOIN (SELECT category_id, SUM(points) AS p FROM dropoff_lines "
    "WHERE dropoff_id = ? GROUP BY category_id) x ON x.category_id = t.category_id "
    "SET t.points = GREATEST(0, t.points - x.p) WHERE t.household_id = ? AND t.arrival_day = ?";

const char LEDGER_RECOVERY_MEMO[] = "recovers the shortfall of a reversal";
static const char SQL_LIST[] =
    "SELECT d.id FROM dropoffs d JOIN sites s ON s.id = d.site_id "
    "JOIN regions g ON g.id = s.region_id "
    "WHERE g.path LIKE CONCAT(?, '%') AND (? = 0 OR d.site_id = ?) "
    "AND (? = 0 OR d.household_id = ?) AND (? = '' OR d.local_day >= ?) "
    "AND (? = '' OR d.local_day <= ?) AND d.id < ? ORDER BY d.id DESC LIMIT ?";
static const char SQL_LOAD[] =
    "SELECT d.id, d.household_id, d.site_id, d.attendant_id, d.points, d.grams, d.items, "
    "d.capped, d.recorded_at, d.local_day, d.note, d.status, d.clawed_back, d.shortfall, "
    "d.reverse_reason, UNIX_TIMESTAMP(d.created_at), gs.path, gh.path, d.backdated "
    "FROM dropoffs d JOIN sites s ON s.id = d.site_id JOIN regions gs ON gs.id = s.region_id "
    "JOIN households h ON h.id = d.household_id JOIN regions gh ON gh.id = h.region_id "
    "WHERE d.id = ?";
static const char SQL_LOAD_LINES[] =
    "SELECT c.code, l.grams, l.count, l.points_per_unit, l.points, l.capped, c.unit = 'item' "
    "FROM dropoff_lines l JOIN categories c ON c.id = l.category_id "
    "WHERE l.dropoff_id = ? ORDER BY l.line_no";

void ledger_answer_release(struct ledger_answer *a)
{
    json_decref(a->body);
    a->body = NULL;
}

void ledger_refuse(struct ledger_answer *ans, int status, const char *code,
                   const char *message)
{
    json_decref(ans->body);
    ans->status = status;
    ans->body = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
}

void ledger_refusal_set(struct ledger_refusal *f, int status, const char *code,
                        const char *field, const char *message)
{
    f->status = status;
    snprintf(f->code, sizeof f->code, "%s", code);
    snprintf(f->field, sizeof f->field, "%s", field ? field : "");
    snprintf(f->message, sizeof f->message, "%s", message);
}

long long ledger_recovery(const struct household_head *h, long long credit)
{
    if (credit <= 0 || h->debt <= 0)
        return 0;
    return credit < h->debt ? credit : h->debt;
}

/* ---- replays ---- */

int ledger_replay(struct db *d, const char *scope, const char *key,
                  const unsigned char fp[IDEM_FP_BYTES], struct ledger_answer *ans)
{
    memset(ans, 0, sizeof *ans);
    struct idem_record rec = { 0 };
    int rc = idem_lookup(d, scope, key, fp, &rec);
    if (rc <= 0)
        return rc;
    if (!rec.same) {
        ans->conflict = true;
        ans->status = 409;
    } else {
        ans->status = rec.status;
        ans->body = json_loads(rec.response, 0, NULL);
        ans->replayed = true;
        if (json_is_object(ans->body))
            json_object_set_new(ans->body, "replayed", json_true());
    }
    free(rec.response);
    return ans->conflict || ans->body ? 1 : -1;
}

/* One operation run alone through the engine, for callers that wait for
 * it (wbctl, the bench): its answer and rc. */
static int run_one(struct db *d, struct ledger_op *op, struct ledger_answer *ans)
{
    struct ledger_op *one = op;
    ledger_engine_run(d, &one, 1);
    *ans = op->ans;
    return op->rc;
}

/* ---- adjustments ---- */

/* What each staff member of the group has adjusted in the last 24 hours,
 * read under its row's lock (the engine's: op->staff_id) and carried from
 * one adjustment of the group to the next. */
struct adjust_group {
    struct { long long staff_id, used; int stmt; bool read; } staff[LEDGER_GROUP_MAX];
    int n;
};

static struct adjust_group *adjust_group(struct engine_tx *tx)
{
    return engine_kind_state(tx, &ledger_adjust_kind, sizeof(struct adjust_group));
}

static int adjust_read(struct engine_tx *tx, struct ledger_op *op)
{
    const struct adjust_in *in = op->in;
    struct adjust_group *g = adjust_group(tx);
    if (!g)
        return -1;
    if (in->daily_limit <= 0)
        return 0;
    for (int k = 0; k < g->n; k++)
        if (g->staff[k].staff_id == in->staff_id)
            return 0;
    int k = g->n++;
    g->staff[k].staff_id = in->staff_id;
    if ((g->staff[k].stmt = engine_read(tx, SQL_ADJUSTED_TODAY, "i", in->staff_id)) < 0)
        return -1;
    return 0;
}

/* A limit refusal: 403, not stored, naming the points. */
static void refuse_limit(struct ledger_answer *ans, const char *message)
{
    ledger_refuse(ans, 403, "forbidden", message);
    json_object_set_new(json_object_get(ans->body, "error"), "field", json_string("points"));
    ans->no_store = true;
}

static int adjust_decide(struct engine_tx *tx, struct ledger_op *op)
{
    const struct adjust_in *in = op->in;
    struct ledger_answer *ans = &op->ans;
    long long mag = in->points < 0 ? -in->points : in->points;
    char msg[160];
    if (in->action_limit > 0 && mag > in->action_limit) {
        snprintf(msg, sizeof msg, "a region admin adjusts at most %lld points at a time",
                 in->action_limit);
        refuse_limit(ans, msg);
        return 0;
    }
    struct household_head *h = engine_household(tx, in->household_id);
    if (!h) {
        ledger_refuse(ans, 404, "not_found", "no such household");
        ans->no_store = true;
        return 0;
    }
    ans->household_id = h->id;
    struct adjust_group *g = adjust_group(tx);
    if (!g)
        return -1;
    long long *used = NULL;
    for (int k = 0; k < g->n; k++)
        if (g->staff[k].staff_id == in->staff_id) {
            if (!g->staff[k].read) {
                struct db_rows *r = engine_read_rows(tx, g->staff[k].stmt);
                if (!r || !db_rows_next(r))
                    return -1;
                g->staff[k].used = db_rows_int(r, 0);
                g->staff[k].read = true;
            }
            used = &g->staff[k].used;
        }
    if (in->daily_limit > 0) {
        if (!used)
            return -1;
        if (*used + mag > in->daily_limit) {
            snprintf(msg, sizeof msg,
                     "this would pass your limit of %lld points adjusted in 24 hours "
                     "(%lld used); ask an admin", in->daily_limit, *used);
            refuse_limit(ans, msg);
            return 0;
        }
    }
    if (h->balance + in->points < 0) {
        ledger_refuse(ans, 409, "insufficient_points",
                      "the balance cannot go below zero; nothing changed");
        json_object_set_new(json_object_get(ans->body, "error"), "balance",
                            json_integer(h->balance));
        return 0;
    }
    struct db_param p[] = {
        { 'i', h->id, NULL, 0 }, { 'i', in->staff_id, NULL, 0 },
        { 'i', in->points, NULL, 0 }, { 's', 0, in->reason, 0 },
    };
    if (engine_insert_object(tx, op, SQL_ADJUST, p, 4) != 0)
        return -1;
    const char *ref = engine_ref(op);
    long long recovered = 0;
    if (engine_move(tx, h, in->points, "adjustment", 0, ref, in->actor, in->reason,
                    &recovered) != 0)
        return -1;
    if (used)
        *used += mag;
    json_t *detail = json_pack("{s:I, s:I, s:s}", "household_id", (json_int_t)h->id, "points",
                               (json_int_t)in->points, "reason", in->reason);
    int rc = audit_add(engine_write_batch(tx), in->who, "household.adjust", "adjustment", 0,
                       ref, detail);
    json_decref(detail);
    if (rc != 0)
        return -1;
    ans->moved = true;
    ans->balance = h->balance;
    ans->seq = h->seq;
    ans->status = 201;
    ans->body = json_pack("{s:I, s:I, s:I, s:s, s:I, s:b}", "household_id", (json_int_t)h->id,
                          "points", (json_int_t)in->points, "balance", (json_int_t)h->balance,
                          "reason", in->reason, "approved_by", (json_int_t)in->staff_id,
                          "replayed", 0);
    if (ans->body && recovered > 0)
        json_object_set_new(ans->body, "recovered", json_integer(recovered));
    return ans->body ? 0 : -1;
}

const struct ledger_op_kind ledger_adjust_kind = { "adjustment", NULL, adjust_read, adjust_decide };

void ledger_adjust_op(struct ledger_op *op, const struct adjust_in *in)
{
    memset(op, 0, sizeof *op);
    op->kind = &ledger_adjust_kind;
    op->in = (void *)(uintptr_t)in;
    op->scope = in->scope;
    op->key = in->key;
    memcpy(op->fp, in->fp, sizeof op->fp);
    op->household_id = in->household_id;
    op->staff_id = in->daily_limit > 0 ? in->staff_id : 0;
}

int ledger_adjust(struct db *d, const struct adjust_in *in, struct ledger_answer *ans)
{
    struct ledger_op op;
    ledger_adjust_op(&op, in);
    return run_one(d, &op, ans);
}

/* ---- reversals ---- */

/* The drop-offs reversed so far in this group: a second reversal of one
 * is the 409 the first leaves. */
struct reverse_group {
    struct engine_undo undo;
    struct {
        long long points, site_id;
        int stmt, stock_stmt, lines_stmt;
        bool reversed;
        char day[11], arrival[11];
    } recs[LEDGER_GROUP_MAX];
};

static struct reverse_group *reverse_group(struct engine_tx *tx)
{
    return engine_kind_state(tx, &ledger_reverse_kind, sizeof(struct reverse_group));
}

/* The drop-off's household never changes: find it before the lock. */
static int reverse_resolve(struct db *d, struct ledger_op *op)
{
    const struct reverse_in *in = op->in;
    if (engine_undo_owner(d, op, SQL_DROPOFF_OWNER, in->dropoff_id, "drop-off") != 0)
        return -1;
    if (op->preset)
        return 0;
    struct db_rows *r = db_query(d, SQL_DROPOFF_STOCK, "i", in->dropoff_id);
    if (!r)
        return -1;
    op->nstocks = 0;
    while (db_rows_next(r) && op->nstocks < ENGINE_STOCKS_MAX)
        op->stocks[op->nstocks++] = (struct engine_stock_key){ db_rows_int(r, 0),
                                                               db_rows_int(r, 1) };
    db_rows_free(r);
    return 0;
}

static int reverse_read(struct engine_tx *tx, struct ledger_op *op)
{
    const struct reverse_in *in = op->in;
    struct reverse_group *g = reverse_group(tx);
    if (!g)
        return -1;
    bool added;
    int k = engine_undo_add(&g->undo, in->dropoff_id, &added);
    if (k < 0 || !added)
        return k < 0 ? -1 : 0;
    g->recs[k].stmt = engine_read(tx, SQL_DROPOFF_LOCK, "i", in->dropoff_id);
    g->recs[k].stock_stmt = engine_read(tx, SQL_DROPOFF_STOCK, "i", in->dropoff_id);
    g->recs[k].lines_stmt = engine_read(tx, SQL_DROPOFF_FIGURES, "i", in->dropoff_id);
    return g->recs[k].stmt < 0 || g->recs[k].stock_stmt < 0 || g->recs[k].lines_stmt < 0
               ? -1
               : 0;
}

static int reverse_decide(struct engine_tx *tx, struct ledger_op *op)
{
    const struct reverse_in *in = op->in;
    struct ledger_answer *ans = &op->ans;
    struct reverse_group *g = reverse_group(tx);
    struct household_head *h = engine_household(tx, op->household_id);
    if (!g || !h)
        return -1;
    ans->household_id = h->id;
    int k = engine_undo_find(&g->undo, in->dropoff_id);
    if (k < 0)
        return -1;
    if (!g->undo.parsed[k]) {
        struct db_rows *r = engine_read_rows(tx, g->recs[k].stmt);
        if (!r || !db_rows_next(r))
            return -1;
        g->recs[k].reversed = strcmp(db_rows_str(r, 0, NULL), "reversed") == 0;
        g->recs[k].points = db_rows_int(r, 1);
        snprintf(g->recs[k].day, sizeof g->recs[k].day, "%s", db_rows_str(r, 2, NULL));
        snprintf(g->recs[k].arrival, sizeof g->recs[k].arrival, "%s", db_rows_str(r, 3, NULL));
        g->recs[k].site_id = db_rows_int(r, 4);
        g->undo.parsed[k] = true;
    }
    bool reversed = g->recs[k].reversed || g->undo.taken[k];
    long long points = g->recs[k].points;
    const char *day = g->recs[k].day, *arrival = g->recs[k].arrival;
    if (reversed) {
        ledger_refuse(ans, 409, "already_reversed", "this drop-off was reversed already");
        return 0;
    }
    g->undo.taken[k] = true;
    /* what the balance cannot give back stays owed: the household's debt,
     * recovered from the next points that come to it */
    long long clawed = 0;
    if (engine_claw_back(tx, h, points, "reversal", in->dropoff_id, in->actor, in->reason,
                         &clawed) != 0)
        return -1;
    ans->moved = clawed > 0;
    /* the stock it brought goes back out of its site: what is still there;
     * what has left already is the site's shortfall, never a negative */
    char today[11];
    clock_local_day(clock_now(), today, sizeof today);
    struct db_rows *sr = engine_read_rows(tx, g->recs[k].stock_stmt);
    while (sr && db_rows_next(sr)) {
        struct engine_stock *st = engine_stock(tx, db_rows_int(sr, 0), db_rows_int(sr, 1));
        long long qty = db_rows_int(sr, 2);
        if (!st)
            return -1;
        long long back = qty < st->on_hand ? qty : st->on_hand;
        st->shortfall += qty - back;
        st->dirty = true;
        if (back > 0 && engine_stock_move(tx, st, -back, "reversal", in->dropoff_id, NULL, today) != 0)
            return -1;
    }
    /* it leaves the collection's figures, on its own day */
    struct rollup_line rl[DROPOFF_MAX_LINES];
    int nl = 0;
    struct db_rows *lr = engine_read_rows(tx, g->recs[k].lines_stmt);
    while (lr && db_rows_next(lr) && nl < DROPOFF_MAX_LINES)
        rl[nl++] = (struct rollup_line){ db_rows_int(lr, 0), db_rows_int(lr, 1),
                                         db_rows_int(lr, 2), db_rows_int(lr, 3) };
    struct rollup_dropoff fact = { g->recs[k].site_id, h->id, h->region_id, rollup_day(day),
                                   rollup_day(today), nl, rl };
    if (!lr || rollup_dropoff(tx, &fact, -1) != 0)
        return -1;
    if (engine_write(tx, SQL_DROPOFF_REVERSE, "ssiii", in->actor, in->reason, clawed,
                     points - clawed, in->dropoff_id) < 0 ||
        engine_write(tx, SQL_DAILY_UNDO, "iis", in->dropoff_id, h->id, day) < 0 ||
        (arrival[0] && engine_write(tx, SQL_ARRIVAL_UNDO, "iis", in->dropoff_id, h->id, arrival) < 0))
        return -1;
    json_t *detail = json_pack("{s:I, s:I, s:s}", "clawed_back", (json_int_t)clawed,
                               "shortfall", (json_int_t)(points - clawed), "reason", in->reason);
    int rc = audit_add(engine_write_batch(tx), in->who, "dropoff.reverse", "dropoff",
                       in->dropoff_id, NULL, detail);
    json_decref(detail);
    if (rc != 0)
        return -1;
    ans->balance = h->balance;
    ans->seq = h->seq;
    ans->status = 200;
    ans->body = json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "id",
                          (json_int_t)in->dropoff_id, "status", "reversed", "household_id",
                          (json_int_t)h->id, "points", (json_int_t)points, "clawed_back",
                          (json_int_t)clawed, "shortfall", (json_int_t)(points - clawed),
                          "balance", (json_int_t)h->balance, "debt", (json_int_t)h->debt);
    return ans->body ? 0 : -1;
}

const struct ledger_op_kind ledger_reverse_kind = {
    "reversal", reverse_resolve, reverse_read, reverse_decide,
};

void ledger_reverse_op(struct ledger_op *op, const struct reverse_in *in)
{
    memset(op, 0, sizeof *op);
    op->kind = &ledger_reverse_kind;
    op->in = (void *)(uintptr_t)in;
}

int ledger_reverse(struct db *d, const struct reverse_in *in, struct ledger_answer *ans)
{
    struct ledger_op op;
    ledger_reverse_op(&op, in);
    return run_one(d, &op, ans);
}

/* ---- reading drop-offs ---- */

json_t *dropoff_load(struct db *d, long long id, int *found, char *site_path,
                     char *household_path)
{
    *found = -1;
    struct db_rows *r = db_query(d, SQL_LOAD, "i", id);
    if (!r)
        return NULL;
    if (!db_rows_next(r)) {
        db_rows_free(r);
        *found = 0;
        return NULL;
    }
    char rec[40], created[40];
    clock_format((time_t)db_rows_int(r, 8), rec, sizeof rec);
    clock_format((time_t)db_rows_int(r, 15), created, sizeof created);
    json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:s, s:s, s:s, s:s}",
                          "id", (json_int_t)db_rows_int(r, 0), "household_id",
                          (json_int_t)db_rows_int(r, 1), "site_id", (json_int_t)db_rows_int(r, 2),
                          "attendant_id", (json_int_t)db_rows_int(r, 3), "points",
                          (json_int_t)db_rows_int(r, 4), "grams", (json_int_t)db_rows_int(r, 5),
                          "count", (json_int_t)db_rows_int(r, 6), "capped",
                          db_rows_int(r, 7) != 0, "recorded_at", rec, "day",
                          db_rows_str(r, 9, NULL), "status", db_rows_str(r, 11, NULL),
                          "created_at", created);
    if (o) {
        json_object_set_new(o, "note", db_rows_null(r, 10) ? json_null()
                                                            : json_string(db_rows_str(r, 10, NULL)));
        json_object_set_new(o, "backdated", json_boolean(db_rows_int(r, 18) != 0));
        if (strcmp(db_rows_str(r, 11, NULL), "reversed") == 0) {
            json_object_set_new(o, "clawed_back", json_integer(db_rows_int(r, 12)));
            json_object_set_new(o, "shortfall", json_integer(db_rows_int(r, 13)));
            json_object_set_new(o, "reverse_reason", json_string(db_rows_str(r, 14, NULL)));
        }
    }
    if (site_path)
        snprintf(site_path, 256, "%s", db_rows_str(r, 16, NULL));
    if (household_path)
        snprintf(household_path, 256, "%s", db_rows_str(r, 17, NULL));
    db_rows_free(r);
    if (!o)
        return NULL;
    r = db_query(d, SQL_LOAD_LINES, "i", id);
    if (!r) {
        json_decref(o);
        return NULL;
    }
    json_t *lines = json_array();
    while (db_rows_next(r)) {
        bool per_item = db_rows_int(r, 6) != 0;
        json_array_append_new(lines, json_pack("{s:s, s:I, s:I, s:I, s:b}", "category",
                                               db_rows_str(r, 0, NULL), per_item ? "count" : "grams",
                                               (json_int_t)db_rows_int(r, per_item ? 2 : 1),
                                               "rate", (json_int_t)db_rows_int(r, 3), "points",
                                               (json_int_t)db_rows_int(r, 4), "capped",
                                               db_rows_int(r, 5) != 0));
    }
    db_rows_free(r);
    json_object_set_new(o, "items", lines);
    *found = 1;
    return o;
}

struct db_rows *dropoff_list(struct db *d, const char *root, long long site_id,
                             long long household_id, const char *from, const char *to,
                             long long before, int limit)
{
    return db_query(d, SQL_LIST, "siiiissssii", root, site_id, site_id, household_id,
                    household_id, from, from, to, to, before, (long long)limit);
}
