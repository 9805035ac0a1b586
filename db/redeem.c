/* redeem.c - see redeem.h: the redemption and the void, as operations
 * of the ledger engine (db/engine.h). */
#include "db/redeem.h"
#include "db/audit.h"
#include "db/db.h"
#include "db/engine.h"
#include "db/households.h"
#include "db/mask.h"
#include "db/pin.h"
#include "db/regions.h"
#include "server/clock.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_REDEMPTION[] =
    "INSERT INTO redemptions (shop_id, household_id, clerk_id, idem_key, points, memo, consent) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_PAYCODE_USED[] =
    "SELECT COUNT(*) FROM pay_code_uses WHERE code = ? AND nonce = ?";
static const char SQL_OWNER[] = "SELECT household_id FROM redemptions WHERE id = ?";
static const char SQL_CLERK_READ[] = "SELECT fail_window, fail_count FROM staff WHERE id = ? FOR UPDATE";
static const char SQL_CLERK_COUNT[] = "UPDATE staff SET fail_window = ?, fail_count = ? WHERE id = ?";
static const char SQL_ITEMS_OF[] =
    "SELECT DISTINCT item_id FROM redemption_lines WHERE redemption_id = ? ORDER BY item_id";
static const char SQL_LOCK_REDEMPTION[] =
    "SELECT r.status, r.points, r.clerk_id, r.shop_id, UNIX_TIMESTAMP(r.created_at), g.path "
    "FROM redemptions r JOIN shops s ON s.id = r.shop_id JOIN regions g ON g.id = s.region_id "
    "WHERE r.id = ? FOR UPDATE";
static const char SQL_VOID_LINES[] =
    "SELECT item_id, SUM(qty) FROM redemption_lines WHERE redemption_id = ? "
    "GROUP BY item_id ORDER BY item_id";
static const char SQL_VOID[] =
    "UPDATE redemptions SET status = 'voided', voided_at = NOW(6), voided_by = ?, "
    "void_reason = ? WHERE id = ?";
static const char SQL_LIST[] =
    "SELECT r.id FROM redemptions r JOIN shops s ON s.id = r.shop_id "
    "JOIN regions g ON g.id = s.region_id WHERE g.path LIKE CONCAT(?, '%') "
    "AND (? = 0 OR r.shop_id = ?) AND (? = 0 OR r.created_at >= FROM_UNIXTIME(?)) "
    "AND (? = 0 OR r.created_at < FROM_UNIXTIME(?)) AND r.id < ? ORDER BY r.id DESC LIMIT ?";
static const char SQL_SUMMARY[] =
    "SELECT s.id, s.name, COUNT(r.id), COALESCE(SUM(r.points), 0) FROM shops s "
    "JOIN regions g ON g.id = s.region_id LEFT JOIN redemptions r ON r.shop_id = s.id "
    "AND r.status = 'ok' AND (? = 0 OR r.created_at >= FROM_UNIXTIME(?)) "
    "AND (? = 0 OR r.created_at < FROM_UNIXTIME(?)) "
    "WHERE g.path LIKE CONCAT(?, '%') AND (? = 0 OR s.id = ?) GROUP BY s.id, s.name ORDER BY s.id";
static const char SQL_LOAD[] =
    "SELECT r.id, r.shop_id, r.household_id, r.clerk_id, r.points, r.memo, r.consent, "
    "r.status, UNIX_TIMESTAMP(r.created_at), r.void_reason, g.path, h.head_name "
    "FROM redemptions r JOIN shops s ON s.id = r.shop_id JOIN regions g ON g.id = s.region_id "
    "JOIN households h ON h.id = r.household_id WHERE r.id = ?";
static const char SQL_LOAD_LINES[] =
    "SELECT item_id, name, qty, points_each, points FROM redemption_lines "
    "WHERE redemption_id = ? ORDER BY line_no";

static const struct db_rows_spec line_rows = {
    "INSERT INTO redemption_lines (redemption_id, line_no, item_id, name, qty, points_each, "
    "points) VALUES ", "(?,?,?,?,?,?,?)", "", 7
};
/* A pay code's use is a UNIQUE row written by the redemption's own
 * commit: whatever Redis says, a code spends once. */
static const struct db_rows_spec paycode_rows = {
    "INSERT INTO pay_code_uses (code, nonce, household_id, redemption_id) VALUES ",
    "(?,?,?,?)", "", 4
};

static void refuse_field(struct ledger_answer *ans, int status, const char *code,
                         const char *field, const char *message)
{
    ledger_refuse(ans, status, code, message);
    if (field)
        json_object_set_new(json_object_get(ans->body, "error"), "field", json_string(field));
}

/* ---- redemptions ---- */

/* Carried over the group: each household's shop PIN state (one more
 * wrong PIN in the next redemption of the group counts on top), and the
 * pay codes spent so far. */
struct redeem_group {
    struct {
        long long hid;
        int stmt;
        bool parsed;
        struct pin_state st;
    } pins[LEDGER_GROUP_MAX];
    int npins;
    struct { const char *code, *nonce; int stmt; bool spent; } codes[LEDGER_GROUP_MAX];
    int ncodes;
    /* each clerk's failure budget, read under its staff row's lock and
     * carried from one redemption of the group to the next */
    struct clerk_budget {
        long long staff_id, window, count;
        int stmt;
        bool read;
    } clerks[LEDGER_GROUP_MAX];
    int nclerks;
};

static struct redeem_group *redeem_group(struct engine_tx *tx)
{
    return engine_kind_state(tx, &ledger_redeem_kind, sizeof(struct redeem_group));
}

/* Read the clerk's failure count once a group.  The engine has locked the
 * row already (op->staff_id: staff rows come last in the global order);
 * FOR UPDATE, a no-op lock here, reads the row's newest version whatever
 * the transaction's snapshot. */
static int read_clerk(struct engine_tx *tx, struct redeem_group *g, long long clerk_id)
{
    for (int k = 0; k < g->nclerks; k++)
        if (g->clerks[k].staff_id == clerk_id)
            return 0;
    struct clerk_budget *b = &g->clerks[g->nclerks++];
    *b = (struct clerk_budget){ .staff_id = clerk_id };
    b->stmt = engine_read(tx, SQL_CLERK_READ, "i", clerk_id);
    return b->stmt < 0 ? -1 : 0;
}

/* The clerk's budget as it stands in this group; a count of an older
 * window is 0.  NULL on a store error. */
static struct clerk_budget *clerk_budget(struct engine_tx *tx, struct redeem_group *g,
                                         const struct redeem_in *in)
{
    for (int k = 0; k < g->nclerks; k++) {
        struct clerk_budget *b = &g->clerks[k];
        if (b->staff_id != in->clerk_id)
            continue;
        if (!b->read) {
            struct db_rows *r = engine_read_rows(tx, b->stmt);
            if (!r || !db_rows_next(r))
                return NULL;
            b->window = db_rows_int(r, 0);
            b->count = db_rows_int(r, 1);
            b->read = true;
        }
        long long now_window = in->now / in->fail_window_s;
        if (b->window != now_window) {
            b->window = now_window;
            b->count = 0;
        }
        return b;
    }
    return NULL;
}

static int redeem_read(struct engine_tx *tx, struct ledger_op *op)
{
    const struct redeem_in *in = op->in;
    struct redeem_group *g = redeem_group(tx);
    if (!g)
        return -1;
    if (in->fail_limit > 0 && read_clerk(tx, g, in->clerk_id) != 0)
        return -1;
    if (!in->household_id)
        return 0;
    if (in->pin) {
        for (int k = 0; k < g->npins; k++)
            if (g->pins[k].hid == in->household_id)
                return 0;
        int k = g->npins++;
        g->pins[k].hid = in->household_id;
        g->pins[k].stmt = engine_read(tx, pin_state_sql(PIN_AT_SHOP), "i", in->household_id);
        return g->pins[k].stmt < 0 ? -1 : 0;
    }
    for (int k = 0; k < g->ncodes; k++)
        if (strcmp(g->codes[k].code, in->pay_code) == 0 && strcmp(g->codes[k].nonce, in->pay_nonce) == 0)
            return 0;
    int k = g->ncodes++;
    g->codes[k].code = in->pay_code;
    g->codes[k].nonce = in->pay_nonce;
    g->codes[k].stmt = engine_read(tx, SQL_PAYCODE_USED, "ss", in->pay_code, in->pay_nonce);
    return g->codes[k].stmt < 0 ? -1 : 0;
}

/* The shop PIN check on the group's state of the household: the new
 * counters are written with the group, and committed whatever the
 * answer.  0 (res filled) or -1. */
static int check_pin(struct engine_tx *tx, struct redeem_group *g, const struct redeem_in *in,
                     struct pin_result *res)
{
    int k = 0;
    while (k < g->npins && g->pins[k].hid != in->household_id)
        k++;
    if (k == g->npins)
        return -1;
    if (!g->pins[k].parsed) {
        pin_state_read(engine_read_rows(tx, g->pins[k].stmt), &g->pins[k].st);
        g->pins[k].parsed = true;
    }
    struct pin_state next;
    if (pin_decide(&g->pins[k].st, in->household_id, in->pin, in->pin_key, in->now,
                   in->pin_lock_seconds, &next, res) &&
        engine_write(tx, pin_counters_sql(PIN_AT_SHOP), "iiii", next.failures, next.locked_until,
                     next.lock_count, in->household_id) < 0)
        return -1;
    g->pins[k].st = next;
    return 0;
}

/* The pay code spent already (by an earlier commit, or earlier in this
 * group)?  1 yes, 0 no, -1 error.  mark: it is being spent now. */
static int code_spent(struct engine_tx *tx, struct redeem_group *g, const struct redeem_in *in,
                      bool mark)
{
    for (int k = 0; k < g->ncodes; k++) {
        if (strcmp(g->codes[k].code, in->pay_code) != 0 || strcmp(g->codes[k].nonce, in->pay_nonce) != 0)
            continue;
        if (!g->codes[k].spent) {
            struct db_rows *r = engine_read_rows(tx, g->codes[k].stmt);
            if (!r || !db_rows_next(r))
                return -1;
            g->codes[k].spent = db_rows_int(r, 0) > 0;
            g->codes[k].stmt = -1;          /* taken in */
        }
        bool spent = g->codes[k].spent;
        if (mark)
            g->codes[k].spent = true;
        return spent;
    }
    return -1;
}

static int decide_redemption(struct engine_tx *tx, struct ledger_op *op)
{
    const struct redeem_in *in = op->in;
    struct ledger_answer *ans = &op->ans;
    struct redeem_group *g = redeem_group(tx);
    if (!g)
        return -1;
    bool by_card = in->pin != NULL;
    struct household_head *h = in->household_id ? engine_household(tx, in->household_id) : NULL;
    if (!h || (by_card && h->card_gen != in->card_gen)) {
        if (by_card) {
            refuse_field(ans, 404, "unknown_code", "code", "this card is not valid");
        } else {
            refuse_field(ans, 404, "unknown_pay_code", "pay_code",
                         "this pay code is unknown, used or expired");
            ans->code_failed = true;
        }
        ans->no_store = true;
        return 0;
    }
    ans->household_id = h->id;
    /* the shop's county funds the points: other counties do not exist
     * here, and a pay code from one stays unspent */
    char path[256];
    if (region_path_cached(engine_db(tx), h->region_id, path, sizeof path) != 0)
        return -1;
    if (!region_path_within(in->reach, path)) {
        refuse_field(ans, 404, "not_found", by_card ? "code" : "pay_code",
                     "this household is not served by this shop");
        ans->no_store = true;
        return 0;
    }
    /* a stored answer for the key was given by the engine before this:
     * a reused key never gets its PIN tried (the PIN is not part of the
     * fingerprint) */
    if (by_card) {
        struct pin_result pr;
        if (check_pin(tx, g, in, &pr) != 0)
            return -1;
        if (pr.outcome != PIN_OK) {
            switch (pr.outcome) {
            case PIN_WRONG:
                refuse_field(ans, 403, "bad_pin", "pin", "wrong PIN");
                json_object_set_new(json_object_get(ans->body, "error"), "attempts_left",
                                    json_integer(pr.attempts_left));
                ans->pin_failed = true;
                break;
            case PIN_LOCKED:
                ledger_refuse(ans, 423, "pin_locked",
                              "too many wrong PINs; the household's PIN is locked");
                json_object_set_new(json_object_get(ans->body, "error"), "retry_after",
                                    json_integer(pr.retry_after));
                ans->pin_failed = true;
                break;
            default:
                ledger_refuse(ans, 403, "pin_not_set", "this household has no PIN yet");
                break;
            }
            /* refused and not stored; the counters commit with the group */
            ans->no_store = true;
            return 0;
        }
    }
    if (strcmp(h->status, "active") != 0) {
        char msg[80];
        snprintf(msg, sizeof msg, "the household is %s", h->status);
        ledger_refuse(ans, 409, "household_inactive", msg);
        return 0;
    }
    /* items: this shop's, offered, in stock (stock carried over the group) */
    struct want { struct engine_item *it; long long qty; } want[REDEEM_MAX_LINES];
    int nwant = 0;
    long long cost = in->points;
    if (in->nlines > 0) {
        cost = 0;
        for (int i = 0; i < in->nlines; i++) {
            struct engine_item *it = engine_item(tx, in->lines[i].item_id);
            if (!it || !it->found || it->shop_id != in->shop_id) {
                refuse_field(ans, 404, "not_found", "items", "no such item in this shop");
                ans->no_store = true;
                return 0;
            }
            int k = 0;
            while (k < nwant && want[k].it != it)
                k++;
            if (k == nwant)
                want[nwant++] = (struct want){ it, 0 };
            want[k].qty += in->lines[i].qty;
            cost += it->points * in->lines[i].qty;
        }
        for (int k = 0; k < nwant; k++)
            if (!want[k].it->active) {
                refuse_field(ans, 409, "item_inactive", "items", "an item is no longer offered");
                return 0;
            }
        for (int k = 0; k < nwant; k++)
            if (!want[k].it->unlimited && want[k].it->stock < want[k].qty) {
                refuse_field(ans, 409, "out_of_stock", "items", "an item is out of stock");
                json_object_set_new(json_object_get(ans->body, "error"), "item_id",
                                    json_integer(want[k].it->id));
                return 0;
            }
    }
    if (h->balance < cost) {
        ledger_refuse(ans, 409, "insufficient_points", "not enough points; nothing changed");
        json_object_set_new(json_object_get(ans->body, "error"), "balance",
                            json_integer(h->balance));
        return 0;
    }
    if (!by_card) {
        int spent = code_spent(tx, g, in, true);
        if (spent < 0)
            return -1;
        if (spent) {
            /* spent by a redemption that committed first */
            refuse_field(ans, 404, "unknown_pay_code", "pay_code",
                         "this pay code is unknown, used or expired");
            ans->code_failed = true;
            ans->no_store = true;
            return 0;
        }
    }
    struct db_param p[] = {
        { 'i', in->shop_id, NULL, 0 }, { 'i', h->id, NULL, 0 }, { 'i', in->clerk_id, NULL, 0 },
        { 's', 0, in->key, 0 }, { 'i', cost, NULL, 0 }, { 's', 0, in->memo, 0 },
        { 's', 0, by_card ? "pin" : "pay_code", 0 },
    };
    if (engine_insert_object(tx, op, SQL_REDEMPTION, p, 7) != 0)
        return -1;
    const char *ref = engine_ref(op);
    json_t *lines = json_array();
    for (int i = 0; i < in->nlines; i++) {
        struct engine_item *it = engine_item(tx, in->lines[i].item_id);
        long long pts = it->points * in->lines[i].qty;
        struct db_param *q = engine_row(tx, &line_rows);
        if (!q) {
            json_decref(lines);
            return -1;
        }
        q[0] = (struct db_param){ 'r', 0, ref, 0 };
        q[1] = (struct db_param){ 'i', i + 1, NULL, 0 };
        q[2] = (struct db_param){ 'i', it->id, NULL, 0 };
        q[3] = (struct db_param){ 's', 0, it->name, 0 };
        q[4] = (struct db_param){ 'i', in->lines[i].qty, NULL, 0 };
        q[5] = (struct db_param){ 'i', it->points, NULL, 0 };
        q[6] = (struct db_param){ 'i', pts, NULL, 0 };
        json_array_append_new(lines, json_pack("{s:I, s:s, s:I, s:I, s:I}", "item_id",
                                               (json_int_t)it->id, "name", it->name, "qty",
                                               (json_int_t)in->lines[i].qty, "points_each",
                                               (json_int_t)it->points, "points",
                                               (json_int_t)pts));
    }
    for (int k = 0; k < nwant; k++)
        engine_item_stock(tx, want[k].it, -want[k].qty);
    if (!by_card) {
        struct db_param *q = engine_row(tx, &paycode_rows);
        if (!q) {
            json_decref(lines);
            return -1;
        }
        q[0] = (struct db_param){ 's', 0, in->pay_code, 0 };
        q[1] = (struct db_param){ 's', 0, in->pay_nonce, 0 };
        q[2] = (struct db_param){ 'i', h->id, NULL, 0 };
        q[3] = (struct db_param){ 'r', 0, ref, 0 };
    }
    if (cost > 0) {
        if (engine_move(tx, h, -cost, "redemption", 0, ref, in->actor, in->memo, NULL) != 0) {
            json_decref(lines);
            return -1;
        }
        ans->moved = true;
    }
    ans->balance = h->balance;
    ans->seq = h->seq;
    char masked[401];
    mask_name(h->head_name, masked, sizeof masked);
    ans->status = 201;
    ans->body = json_pack("{s:I, s:I, s:I, s:I, s:o, s:s, s:s, s:b}", "household_id",
                          (json_int_t)h->id, "shop_id", (json_int_t)in->shop_id, "points",
                          (json_int_t)cost, "balance", (json_int_t)h->balance, "items", lines,
                          "consent", by_card ? "pin" : "pay_code", "head_name_masked", masked,
                          "replayed", 0);
    if (ans->body)
        json_object_set_new(ans->body, "memo", in->memo ? json_string(in->memo) : json_null());
    return ans->body ? 0 : -1;
}

/* The clerk's budget around the decision: past it nothing is tried (429,
 * not stored); a wrong PIN or pay code is counted on the clerk's row
 * before the next redemption of that clerk is decided, and committed
 * whatever the answer. */
static int redeem_decide(struct engine_tx *tx, struct ledger_op *op)
{
    const struct redeem_in *in = op->in;
    struct ledger_answer *ans = &op->ans;
    struct redeem_group *g = redeem_group(tx);
    if (!g)
        return -1;
    struct clerk_budget *b = NULL;
    if (in->fail_limit > 0) {
        if (!(b = clerk_budget(tx, g, in)))
            return -1;
        if (b->count >= in->fail_limit) {
            ledger_refuse(ans, 429, "rate_limited",
                          "too many wrong PINs or pay codes from this clerk; wait before trying again");
            ans->no_store = true;
            return 0;
        }
    }
    if (decide_redemption(tx, op) != 0)
        return -1;
    if (b && (ans->pin_failed || ans->code_failed)) {
        b->count++;
        ans->budget_spent = b->count == in->fail_limit;
        if (engine_write(tx, SQL_CLERK_COUNT, "iii", b->window, b->count, in->clerk_id) < 0)
            return -1;
    }
    return 0;
}

const struct ledger_op_kind ledger_redeem_kind = { "redemption", NULL, redeem_read, redeem_decide };

void ledger_redeem_op(struct ledger_op *op, const struct redeem_in *in)
{
    memset(op, 0, sizeof *op);
    op->kind = &ledger_redeem_kind;
    op->in = (void *)(uintptr_t)in;
    op->scope = in->scope;
    op->key = in->key;
    memcpy(op->fp, in->fp, sizeof op->fp);
    op->household_id = in->household_id;
    for (int i = 0; i < in->nlines && op->nitems < ENGINE_ITEMS_MAX; i++)
        op->item_ids[op->nitems++] = in->lines[i].item_id;
    op->staff_id = in->fail_limit > 0 ? in->clerk_id : 0;
}

int ledger_redeem(struct db *d, const struct redeem_in *in, struct ledger_answer *ans)
{
    struct ledger_op op, *one = &op;
    ledger_redeem_op(&op, in);
    ledger_engine_run(d, &one, 1);
    *ans = op.ans;
    return op.rc;
}

/* ---- voids ---- */

struct void_group {
    struct engine_undo undo;
    struct {
        long long points, clerk, shop, created;
        int lock_stmt, lines_stmt;
        bool voided;
        char shop_path[256];
    } recs[LEDGER_GROUP_MAX];
};

static struct void_group *void_group(struct engine_tx *tx)
{
    return engine_kind_state(tx, &ledger_void_kind, sizeof(struct void_group));
}

/* The redemption's household and items never change: find them before
 * the locks (the items' stock comes back). */
static int void_resolve(struct db *d, struct ledger_op *op)
{
    const struct void_in *in = op->in;
    if (engine_undo_owner(d, op, SQL_OWNER, in->redemption_id, "redemption") != 0)
        return -1;
    if (op->preset)
        return 0;
    struct db_rows *r = db_query(d, SQL_ITEMS_OF, "i", in->redemption_id);
    if (!r)
        return -1;
    op->nitems = 0;
    while (db_rows_next(r) && op->nitems < ENGINE_ITEMS_MAX)
        op->item_ids[op->nitems++] = db_rows_int(r, 0);
    db_rows_free(r);
    return 0;
}

static int void_read(struct engine_tx *tx, struct ledger_op *op)
{
    const struct void_in *in = op->in;
    struct void_group *g = void_group(tx);
    if (!g)
        return -1;
    bool added;
    int k = engine_undo_add(&g->undo, in->redemption_id, &added);
    if (k < 0 || !added)
        return k < 0 ? -1 : 0;
    g->recs[k].lock_stmt = engine_read(tx, SQL_LOCK_REDEMPTION, "i", in->redemption_id);
    g->recs[k].lines_stmt = engine_read(tx, SQL_VOID_LINES, "i", in->redemption_id);
    return g->recs[k].lock_stmt < 0 || g->recs[k].lines_stmt < 0 ? -1 : 0;
}

static int void_decide(struct engine_tx *tx, struct ledger_op *op)
{
    const struct void_in *in = op->in;
    struct ledger_answer *ans = &op->ans;
    struct void_group *g = void_group(tx);
    struct household_head *h = engine_household(tx, op->household_id);
    if (!g || !h)
        return -1;
    int k = engine_undo_find(&g->undo, in->redemption_id);
    if (k < 0)
        return -1;
    if (!g->undo.parsed[k]) {
        struct db_rows *r = engine_read_rows(tx, g->recs[k].lock_stmt);
        if (!r || !db_rows_next(r))
            return -1;
        g->recs[k].voided = strcmp(db_rows_str(r, 0, NULL), "voided") == 0;
        g->recs[k].points = db_rows_int(r, 1);
        g->recs[k].clerk = db_rows_int(r, 2);
        g->recs[k].shop = db_rows_int(r, 3);
        g->recs[k].created = db_rows_int(r, 4);
        snprintf(g->recs[k].shop_path, sizeof g->recs[k].shop_path, "%s",
                 db_rows_str(r, 5, NULL));
        g->undo.parsed[k] = true;
    }
    /* a second void of the same redemption in the group finds it done */
    bool voided = g->recs[k].voided || g->undo.taken[k];
    long long points = g->recs[k].points, clerk = g->recs[k].clerk;
    long long created = g->recs[k].created;
    bool in_reach = in->clerk_id ? g->recs[k].shop == in->shop_id
                                 : region_path_within(in->reach, g->recs[k].shop_path);
    /* points come back only to a household the caller reaches */
    char hpath[256];
    if (region_path_cached(engine_db(tx), h->region_id, hpath, sizeof hpath) != 0)
        return -1;
    in_reach = in_reach && region_path_within(in->reach, hpath);
    if (!in_reach) {
        ledger_refuse(ans, 404, "not_found", "no such redemption");
        ans->no_store = true;
        return 0;
    }
    ans->household_id = h->id;
    if (voided) {
        ledger_refuse(ans, 409, "already_voided", "this redemption was voided already");
        return 0;
    }
    if (in->clerk_id && (clerk != in->clerk_id || in->now - created > VOID_WINDOW)) {
        ledger_refuse(ans, 403, "forbidden",
                      clerk != in->clerk_id
                          ? "only the clerk who made it, or an admin, voids a redemption"
                          : "the 30 minutes for a clerk to void have passed; ask an admin");
        ans->no_store = true;
        return 0;
    }
    g->undo.taken[k] = true;
    /* stock back */
    struct db_rows *lines = engine_read_rows(tx, g->recs[k].lines_stmt);
    while (lines && db_rows_next(lines)) {
        struct engine_item *it = engine_item(tx, db_rows_int(lines, 0));
        if (it && it->found)
            engine_item_stock(tx, it, db_rows_int(lines, 1));
    }
    /* the points come back, and settle an open shortfall first */
    long long recovered = 0;
    if (points > 0) {
        if (engine_move(tx, h, points, "void", in->redemption_id, NULL, in->actor, in->reason,
                        &recovered) != 0)
            return -1;
        ans->moved = true;
    }
    if (engine_write(tx, SQL_VOID, "ssi", in->actor, in->reason, in->redemption_id) < 0)
        return -1;
    json_t *detail = json_pack("{s:I, s:s}", "points", (json_int_t)points, "reason", in->reason);
    int rc = audit_add(engine_write_batch(tx), in->who, "redemption.void", "redemption",
                       in->redemption_id, NULL, detail);
    json_decref(detail);
    if (rc != 0)
        return -1;
    ans->balance = h->balance;
    ans->seq = h->seq;
    ans->status = 200;
    ans->body = json_pack("{s:I, s:s, s:I, s:I, s:I}", "id", (json_int_t)in->redemption_id,
                          "status", "voided", "household_id", (json_int_t)h->id, "points",
                          (json_int_t)points, "balance", (json_int_t)h->balance);
    if (ans->body && recovered > 0)
        json_object_set_new(ans->body, "recovered", json_integer(recovered));
    return ans->body ? 0 : -1;
}

const struct ledger_op_kind ledger_void_kind = { "void", void_resolve, void_read, void_decide };

void ledger_void_op(struct ledger_op *op, const struct void_in *in)
{
    memset(op, 0, sizeof *op);
    op->kind = &ledger_void_kind;
    op->in = (void *)(uintptr_t)in;
}

int ledger_void(struct db *d, const struct void_in *in, struct ledger_answer *ans)
{
    struct ledger_op op, *one = &op;
    ledger_void_op(&op, in);
    ledger_engine_run(d, &one, 1);
    *ans = op.ans;
    return op.rc;
}

json_t *redemption_load(struct db *d, long long id, int *found, long long *shop_id,
                        char *shop_path)
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
    char created[40], masked[401];
    clock_format((time_t)db_rows_int(r, 8), created, sizeof created);
    mask_name(db_rows_str(r, 11, NULL), masked, sizeof masked);
    json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:s}", "id",
                          (json_int_t)db_rows_int(r, 0), "shop_id", (json_int_t)db_rows_int(r, 1),
                          "household_id", (json_int_t)db_rows_int(r, 2), "clerk_id",
                          (json_int_t)db_rows_int(r, 3), "points", (json_int_t)db_rows_int(r, 4),
                          "consent", db_rows_str(r, 6, NULL), "status", db_rows_str(r, 7, NULL),
                          "created_at", created, "head_name_masked", masked);
    if (o) {
        json_object_set_new(o, "memo", db_rows_null(r, 5) ? json_null()
                                                           : json_string(db_rows_str(r, 5, NULL)));
        if (!db_rows_null(r, 9))
            json_object_set_new(o, "void_reason", json_string(db_rows_str(r, 9, NULL)));
    }
    if (shop_id)
        *shop_id = db_rows_int(r, 1);
    if (shop_path)
        snprintf(shop_path, 256, "%s", db_rows_str(r, 10, NULL));
    db_rows_free(r);
    if (!o)
        return NULL;
    r = db_query(d, SQL_LOAD_LINES, "i", id);
    if (!r) {
        json_decref(o);
        return NULL;
    }
    json_t *lines = json_array();
    while (db_rows_next(r))
        json_array_append_new(lines, json_pack("{s:I, s:s, s:I, s:I, s:I}", "item_id",
                                               (json_int_t)db_rows_int(r, 0), "name",
                                               db_rows_str(r, 1, NULL), "qty",
                                               (json_int_t)db_rows_int(r, 2), "points_each",
                                               (json_int_t)db_rows_int(r, 3), "points",
                                               (json_int_t)db_rows_int(r, 4)));
    db_rows_free(r);
    json_object_set_new(o, "items", lines);
    *found = 1;
    return o;
}

struct db_rows *redemption_list(struct db *d, const char *root, long long shop_id,
                                long long start, long long end, long long before, int limit)
{
    return db_query(d, SQL_LIST, "siiiiiiii", root, shop_id, shop_id, start, start, end, end,
                    before, (long long)limit);
}

struct db_rows *redemption_summary(struct db *d, const char *root, long long shop_id,
                                   long long start, long long end)
{
    return db_query(d, SQL_SUMMARY, "iiiisii", start, start, end, end, root, shop_id, shop_id);
}
