/* chain.c - see chain.h. */
#include "db/chain.h"
#include "db/db.h"
#include "db/engine.h"
#include "db/ledger.h"
#include "server/clock.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_SHIP[] =
    "INSERT INTO shipments (from_site_id, to_site_id, idem_key, vehicle, note, sent_at, "
    "sent_day, sent_by) VALUES (?, ?, ?, ?, ?, FROM_UNIXTIME(?), ?, ?)";
/* the shipment's row alone is locked: a join would lock the sites too */
static const char SQL_SHIPMENT_LOCK[] = "SELECT status FROM shipments WHERE id = ? FOR UPDATE";
static const char SQL_RECEIVED[] =
    "UPDATE shipments SET status = 'received', received_at = FROM_UNIXTIME(?), "
    "received_day = ?, received_by = ? WHERE id = ?";
static const char SQL_LINE_RECEIVED[] =
    "UPDATE shipment_lines SET received = ? WHERE shipment_id = ? AND line_no = ?";
static const char SQL_CANCELLED[] =
    "UPDATE shipments SET status = 'cancelled', cancelled_at = FROM_UNIXTIME(?), "
    "cancelled_by = ?, cancel_reason = ? WHERE id = ?";
static const char SQL_COUNT[] =
    "INSERT INTO stock_counts (site_id, idem_key, counted_by, local_day, created_at) "
    "VALUES (?, ?, ?, ?, FROM_UNIXTIME(?))";
static const char SQL_OUTBOUND[] =
    "INSERT INTO outbounds (site_id, idem_key, buyer, disposition, created_by, local_day, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?))";

static const struct db_rows_spec shipment_lines = {
    "INSERT INTO shipment_lines (shipment_id, line_no, category_id, sent) VALUES ",
    "(?,?,?,?)", "", 4
};
static const struct db_rows_spec count_lines = {
    "INSERT INTO stock_count_lines (count_id, category_id, expected, counted) VALUES ",
    "(?,?,?,?)", "", 4
};
static const struct db_rows_spec outbound_lines = {
    "INSERT INTO outbound_lines (outbound_id, category_id, qty) VALUES ", "(?,?,?)", "", 3
};

int chain_tier_rank(const char *tier)
{
    static const char *const tiers[] = { "dropoff", "transfer", "sorting" };
    for (int i = 0; i < 3; i++)
        if (tier && strcmp(tier, tiers[i]) == 0)
            return i;
    return -1;
}

static void refuse_field(struct ledger_answer *ans, int status, const char *code,
                         const char *field, const char *message)
{
    ledger_refuse(ans, status, code, message);
    if (field)
        json_object_set_new(json_object_get(ans->body, "error"), "field", json_string(field));
}

/* What lines take from a site: each on hand, or 409 insufficient_stock
 * naming the first line that is not (1: refused, 0: all there). */
static int take_check(struct engine_tx *tx, struct ledger_op *op, long long site_id,
                      const struct chain_line *lines, int n, int *err)
{
    *err = 0;
    for (int i = 0; i < n; i++) {
        struct engine_stock *st = engine_stock(tx, site_id, lines[i].category_id);
        if (!st) {
            *err = -1;
            return 1;
        }
        if (st->on_hand < lines[i].qty) {
            char field[24], msg[160];
            snprintf(field, sizeof field, "lines[%d]", i);
            snprintf(msg, sizeof msg, "%s: %lld on hand, %lld asked for; nothing was written",
                     lines[i].code, st->on_hand, lines[i].qty);
            refuse_field(&op->ans, 409, "insufficient_stock", field, msg);
            json_object_set_new(json_object_get(op->ans.body, "error"), "on_hand",
                                json_integer(st->on_hand));
            return 1;
        }
    }
    return 0;
}

static void stock_keys(struct ledger_op *op, long long site_id, const struct chain_line *lines,
                       int n)
{
    for (int i = 0; i < n && op->nstocks < ENGINE_STOCKS_MAX; i++)
        op->stocks[op->nstocks++] = (struct engine_stock_key){ site_id, lines[i].category_id };
}

/* ---- sending ---- */

static int ship_decide(struct engine_tx *tx, struct ledger_op *op)
{
    const struct shipment_in *in = op->in;
    int err;
    if (take_check(tx, op, in->from_site_id, in->lines, in->nlines, &err))
        return err;
    struct db_param p[] = {
        { 'i', in->from_site_id, NULL, 0 }, { 'i', in->to_site_id, NULL, 0 },
        { 's', 0, in->key, 0 }, { 's', 0, in->vehicle, 0 }, { 's', 0, in->note, 0 },
        { 'i', in->now, NULL, 0 }, { 's', 0, in->local_day, 0 }, { 'i', in->staff_id, NULL, 0 },
    };
    if (engine_insert_object(tx, op, SQL_SHIP, p, 8) != 0)
        return -1;
    const char *ref = engine_ref(op);
    struct shipment_rec rec = { .from_site = in->from_site_id, .to_site = in->to_site_id,
                                .status = "in_transit", .sent_at = in->now,
                                .sent_by = in->staff_id, .nlines = in->nlines };
    for (int i = 0; i < in->nlines; i++) {
        const struct chain_line *l = &in->lines[i];
        struct db_param *q = engine_row(tx, &shipment_lines);
        struct engine_stock *st = engine_stock(tx, in->from_site_id, l->category_id);
        if (!q || !st ||
            engine_stock_move(tx, st, -l->qty, "shipment_out", 0, ref, in->local_day) != 0)
            return -1;
        q[0] = (struct db_param){ 'r', 0, ref, 0 };
        q[1] = (struct db_param){ 'i', i + 1, NULL, 0 };
        q[2] = (struct db_param){ 'i', l->category_id, NULL, 0 };
        q[3] = (struct db_param){ 'i', l->qty, NULL, 0 };
        rec.lines[i] = (struct shipment_line){ .category_id = l->category_id,
                                               .per_item = l->per_item, .sent = l->qty };
        snprintf(rec.lines[i].code, sizeof rec.lines[i].code, "%s", l->code);
    }
    if ((rec.has_vehicle = in->vehicle != NULL))
        snprintf(rec.vehicle, sizeof rec.vehicle, "%s", in->vehicle);
    if ((rec.has_note = in->note != NULL))
        snprintf(rec.note, sizeof rec.note, "%s", in->note);
    op->ans.status = 201;
    /* the new shipment's id comes with the commit (engine_insert_object) */
    if ((op->ans.body = shipment_json(&rec))) {
        json_object_del(op->ans.body, "id");
        json_object_set_new(op->ans.body, "replayed", json_false());
    }
    return op->ans.body ? 0 : -1;
}

const struct ledger_op_kind chain_ship_kind = { "shipment", NULL, NULL, ship_decide };

void chain_ship_op(struct ledger_op *op, const struct shipment_in *in)
{
    memset(op, 0, sizeof *op);
    op->kind = &chain_ship_kind;
    op->in = (void *)(uintptr_t)in;
    op->scope = in->scope;
    op->key = in->key;
    memcpy(op->fp, in->fp, sizeof op->fp);
    stock_keys(op, in->from_site_id, in->lines, in->nlines);
}

/* ---- receiving and cancelling ---- */

/* The status of each shipment the group acts on, read under its lock and
 * carried from one act to the next (a second receipt in one group sees
 * the first). */
struct shipment_group {
    struct { long long id; int lock_stmt; bool parsed; char status[12]; } s[LEDGER_GROUP_MAX];
    int n;
};

static struct shipment_group *shipment_group(struct engine_tx *tx)
{
    return engine_kind_state(tx, &chain_receive_kind, sizeof(struct shipment_group));
}

static int act_read(struct engine_tx *tx, struct ledger_op *op)
{
    const struct shipment_act *in = op->in;
    struct shipment_group *g = shipment_group(tx);
    if (!g)
        return -1;
    for (int k = 0; k < g->n; k++)
        if (g->s[k].id == in->rec->id)
            return 0;
    if (g->n == LEDGER_GROUP_MAX)
        return -1;
    g->s[g->n].id = in->rec->id;
    g->s[g->n].lock_stmt = engine_read(tx, SQL_SHIPMENT_LOCK, "i", in->rec->id);
    return g->s[g->n++].lock_stmt < 0 ? -1 : 0;
}

/* The shipment's status as the group has it so far, or NULL. */
static char *status_of(struct engine_tx *tx, long long id)
{
    struct shipment_group *g = shipment_group(tx);
    for (int k = 0; g && k < g->n; k++) {
        if (g->s[k].id != id)
            continue;
        if (!g->s[k].parsed) {
            struct db_rows *r = engine_read_rows(tx, g->s[k].lock_stmt);
            if (!r || !db_rows_next(r))
                return NULL;
            snprintf(g->s[k].status, sizeof g->s[k].status, "%s", db_rows_str(r, 0, NULL));
            g->s[k].parsed = true;
        }
        return g->s[k].status;
    }
    return NULL;
}

/* in_transit, or the refusal its status gives (1). */
static int must_be_in_transit(struct ledger_op *op, const char *status)
{
    if (strcmp(status, "in_transit") == 0)
        return 0;
    if (strcmp(status, "received") == 0)
        ledger_refuse(&op->ans, 409, "already_received", "this shipment was received already");
    else
        ledger_refuse(&op->ans, 409, "already_cancelled", "this shipment was cancelled");
    return 1;
}

static int receive_decide(struct engine_tx *tx, struct ledger_op *op)
{
    const struct shipment_act *in = op->in;
    char *status = status_of(tx, in->rec->id);
    if (!status)
        return -1;
    if (must_be_in_transit(op, status))
        return 0;
    struct shipment_rec rec = *in->rec;
    for (int k = 0; k < rec.nlines; k++) {
        struct shipment_line *l = &rec.lines[k];
        struct engine_stock *st = engine_stock(tx, rec.to_site, l->category_id);
        if (!st)
            return -1;
        if (in->received[k] > 0 && engine_stock_move(tx, st, in->received[k], "shipment_in",
                                                     rec.id, NULL, in->local_day) != 0)
            return -1;
        if (engine_write(tx, SQL_LINE_RECEIVED, "iii", in->received[k], rec.id,
                         (long long)k + 1) < 0)
            return -1;
        l->received = in->received[k];
        l->has_received = true;
    }
    if (engine_write(tx, SQL_RECEIVED, "isii", in->now, in->local_day, in->staff_id, rec.id) < 0)
        return -1;
    snprintf(status, 12, "received");
    snprintf(rec.status, sizeof rec.status, "received");
    rec.received_at = in->now;
    rec.received_by = in->staff_id;
    op->ans.status = 200;
    op->ans.body = shipment_json(&rec);
    return op->ans.body ? 0 : -1;
}

static int cancel_decide(struct engine_tx *tx, struct ledger_op *op)
{
    const struct shipment_act *in = op->in;
    char *status = status_of(tx, in->rec->id);
    if (!status)
        return -1;
    if (must_be_in_transit(op, status))
        return 0;
    struct shipment_rec rec = *in->rec;
    for (int k = 0; k < rec.nlines; k++) {
        struct engine_stock *st = engine_stock(tx, rec.from_site, rec.lines[k].category_id);
        if (!st || engine_stock_move(tx, st, rec.lines[k].sent, "shipment_cancel", rec.id, NULL,
                                     in->local_day) != 0)
            return -1;
    }
    if (engine_write(tx, SQL_CANCELLED, "iisi", in->now, in->staff_id, in->reason, rec.id) < 0)
        return -1;
    snprintf(status, 12, "cancelled");
    snprintf(rec.status, sizeof rec.status, "cancelled");
    rec.cancelled_at = in->now;
    rec.cancelled_by = in->staff_id;
    if ((rec.has_cancel_reason = in->reason != NULL))
        snprintf(rec.cancel_reason, sizeof rec.cancel_reason, "%s", in->reason);
    op->ans.status = 200;
    op->ans.body = shipment_json(&rec);
    return op->ans.body ? 0 : -1;
}

const struct ledger_op_kind chain_receive_kind = { "receipt", NULL, act_read, receive_decide };
const struct ledger_op_kind chain_cancel_kind = { "cancellation", NULL, act_read, cancel_decide };

/* An act locks the stock of the site it moves: the receiver's or the sender's. */
static void act_op(struct ledger_op *op, const struct ledger_op_kind *kind,
                   const struct shipment_act *in, long long site_id)
{
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->in = (void *)(uintptr_t)in;
    for (int k = 0; k < in->rec->nlines && op->nstocks < ENGINE_STOCKS_MAX; k++)
        op->stocks[op->nstocks++] =
            (struct engine_stock_key){ site_id, in->rec->lines[k].category_id };
}

void chain_receive_op(struct ledger_op *op, const struct shipment_act *in)
{
    act_op(op, &chain_receive_kind, in, in->rec->to_site);
}

void chain_cancel_op(struct ledger_op *op, const struct shipment_act *in)
{
    act_op(op, &chain_cancel_kind, in, in->rec->from_site);
}

/* ---- stock counts ---- */

static int count_decide(struct engine_tx *tx, struct ledger_op *op)
{
    const struct count_in *in = op->in;
    struct db_param p[] = {
        { 'i', in->site_id, NULL, 0 }, { 's', 0, in->key, 0 }, { 'i', in->staff_id, NULL, 0 },
        { 's', 0, in->local_day, 0 }, { 'i', in->now, NULL, 0 },
    };
    if (engine_insert_object(tx, op, SQL_COUNT, p, 5) != 0)
        return -1;
    const char *ref = engine_ref(op);
    json_t *lines = json_array();
    for (int i = 0; i < in->nlines; i++) {
        const struct chain_line *l = &in->lines[i];
        struct engine_stock *st = engine_stock(tx, in->site_id, l->category_id);
        struct db_param *q = engine_row(tx, &count_lines);
        if (!st || !q) {
            json_decref(lines);
            return -1;
        }
        long long expected = st->on_hand, diff = l->qty - expected;
        /* the stock becomes what was counted */
        if (diff != 0 && engine_stock_move(tx, st, diff, "count", 0, ref, in->local_day) != 0) {
            json_decref(lines);
            return -1;
        }
        q[0] = (struct db_param){ 'r', 0, ref, 0 };
        q[1] = (struct db_param){ 'i', l->category_id, NULL, 0 };
        q[2] = (struct db_param){ 'i', expected, NULL, 0 };
        q[3] = (struct db_param){ 'i', l->qty, NULL, 0 };
        json_array_append_new(lines, json_pack("{s:s, s:I, s:I, s:I}", "category", l->code,
                                               "expected", (json_int_t)expected, "counted",
                                               (json_int_t)l->qty, "difference",
                                               (json_int_t)diff));
    }
    op->ans.status = 201;
    op->ans.body = json_pack("{s:I, s:o, s:b}", "site_id", (json_int_t)in->site_id, "lines",
                             lines, "replayed", 0);
    return op->ans.body ? 0 : -1;
}

const struct ledger_op_kind chain_count_kind = { "stock count", NULL, NULL, count_decide };

void chain_count_op(struct ledger_op *op, const struct count_in *in)
{
    memset(op, 0, sizeof *op);
    op->kind = &chain_count_kind;
    op->in = (void *)(uintptr_t)in;
    op->scope = in->scope;
    op->key = in->key;
    memcpy(op->fp, in->fp, sizeof op->fp);
    stock_keys(op, in->site_id, in->lines, in->nlines);
}

/* ---- outbound ---- */

static int outbound_decide(struct engine_tx *tx, struct ledger_op *op)
{
    const struct outbound_in *in = op->in;
    int err;
    if (take_check(tx, op, in->site_id, in->lines, in->nlines, &err))
        return err;
    struct db_param p[] = {
        { 'i', in->site_id, NULL, 0 }, { 's', 0, in->key, 0 }, { 's', 0, in->buyer, 0 },
        { 's', 0, in->disposition, 0 }, { 'i', in->staff_id, NULL, 0 },
        { 's', 0, in->local_day, 0 }, { 'i', in->now, NULL, 0 },
    };
    if (engine_insert_object(tx, op, SQL_OUTBOUND, p, 7) != 0)
        return -1;
    const char *ref = engine_ref(op);
    json_t *lines = json_array();
    for (int i = 0; i < in->nlines; i++) {
        const struct chain_line *l = &in->lines[i];
        struct engine_stock *st = engine_stock(tx, in->site_id, l->category_id);
        struct db_param *q = engine_row(tx, &outbound_lines);
        if (!st || !q ||
            engine_stock_move(tx, st, -l->qty, "outbound", 0, ref, in->local_day) != 0) {
            json_decref(lines);
            return -1;
        }
        q[0] = (struct db_param){ 'r', 0, ref, 0 };
        q[1] = (struct db_param){ 'i', l->category_id, NULL, 0 };
        q[2] = (struct db_param){ 'i', l->qty, NULL, 0 };
        json_array_append_new(lines, json_pack("{s:s, s:I}", "category", l->code,
                                               l->per_item ? "count" : "grams",
                                               (json_int_t)l->qty));
    }
    char at[40];
    clock_format((time_t)in->now, at, sizeof at);
    op->ans.status = 201;
    op->ans.body = json_pack("{s:I, s:s, s:s, s:o, s:s, s:I, s:b}", "site_id",
                             (json_int_t)in->site_id, "buyer", in->buyer, "disposition",
                             in->disposition, "lines", lines, "created_at", at, "created_by",
                             (json_int_t)in->staff_id, "replayed", 0);
    return op->ans.body ? 0 : -1;
}

const struct ledger_op_kind chain_outbound_kind = { "outbound", NULL, NULL, outbound_decide };

void chain_outbound_op(struct ledger_op *op, const struct outbound_in *in)
{
    memset(op, 0, sizeof *op);
    op->kind = &chain_outbound_kind;
    op->in = (void *)(uintptr_t)in;
    op->scope = in->scope;
    op->key = in->key;
    memcpy(op->fp, in->fp, sizeof op->fp);
    stock_keys(op, in->site_id, in->lines, in->nlines);
}
