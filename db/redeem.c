/* redeem.c - see redeem.h. */
#include "db/redeem.h"
#include "db/audit.h"
#include "db/db.h"
#include "db/households.h"
#include "db/mask.h"
#include "db/pin.h"
#include "db/regions.h"
#include "server/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_REDEMPTION[] =
    "INSERT INTO redemptions (shop_id, household_id, clerk_id, idem_key, points, memo, consent) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_LINE[] =
    "INSERT INTO redemption_lines (redemption_id, line_no, item_id, name, qty, points_each, "
    "points) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_STOCK_TAKE[] =
    "UPDATE shop_items SET stock = stock - ? WHERE id = ? AND stock IS NOT NULL";
static const char SQL_STOCK_RETURN[] =
    "UPDATE shop_items SET stock = stock + ? WHERE id = ? AND stock IS NOT NULL";
static const char SQL_PAYCODE_USE[] =
    "INSERT INTO pay_code_uses (code, nonce, household_id, redemption_id) VALUES (?, ?, ?, ?)";
static const char SQL_OWNER[] = "SELECT household_id FROM redemptions WHERE id = ?";
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
static const char SQL_LOAD[] =
    "SELECT r.id, r.shop_id, r.household_id, r.clerk_id, r.points, r.memo, r.consent, "
    "r.status, UNIX_TIMESTAMP(r.created_at), r.void_reason, g.path, h.head_name "
    "FROM redemptions r JOIN shops s ON s.id = r.shop_id JOIN regions g ON g.id = s.region_id "
    "JOIN households h ON h.id = r.household_id WHERE r.id = ?";
static const char SQL_LOAD_LINES[] =
    "SELECT item_id, name, qty, points_each, points FROM redemption_lines "
    "WHERE redemption_id = ? ORDER BY line_no";

/* SELECT ... FOR UPDATE of 1..20 items in id order, built once. */
static char *sql_lock_items[REDEEM_MAX_LINES + 1];
static pthread_once_t sql_once = PTHREAD_ONCE_INIT;

static void build_sql(void)
{
    for (int n = 1; n <= REDEEM_MAX_LINES; n++) {
        size_t len = 200 + (size_t)n * 3;
        char *s = malloc(len);
        if (!s)
            return;
        size_t o = (size_t)snprintf(s, len, "SELECT id, shop_id, name, points, stock IS NULL, "
                                            "COALESCE(stock, 0), active FROM shop_items WHERE id IN (");
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(s + o, len - o, "%s?", i ? "," : "");
        snprintf(s + o, len - o, ") ORDER BY id FOR UPDATE");
        sql_lock_items[n] = s;
    }
}

struct item {
    long long id, shop_id, points, stock, qty;
    bool unlimited, active;
    char name[401];
};

static int cmp_item(const void *a, const void *b)
{
    long long x = ((const struct item *)a)->id, y = ((const struct item *)b)->id;
    return x < y ? -1 : x > y;
}

static void refuse_field(struct ledger_answer *ans, int status, const char *code,
                         const char *field, const char *message)
{
    ledger_refuse(ans, status, code, message);
    if (field)
        json_object_set_new(json_object_get(ans->body, "error"), "field", json_string(field));
}

/* Lock the request's items (after the household, in id order) and check
 * them.  Returns the count of distinct items (>= 0), -1 on a store error,
 * -2 when a refusal was put in ans. */
static int lock_items(struct db *d, const struct redeem_in *in, struct item *items,
                      struct ledger_answer *ans)
{
    int n = 0;
    for (int i = 0; i < in->nlines; i++) {
        int k = 0;
        while (k < n && items[k].id != in->lines[i].item_id)
            k++;
        if (k == n) {
            memset(&items[n], 0, sizeof items[n]);
            items[n++].id = in->lines[i].item_id;
        }
        items[k].qty += in->lines[i].qty;
    }
    qsort(items, (size_t)n, sizeof *items, cmp_item);
    struct db_param p[REDEEM_MAX_LINES];
    for (int i = 0; i < n; i++)
        p[i] = (struct db_param){ 'i', items[i].id, NULL, 0 };
    struct db_rows *r = db_query_params(d, sql_lock_items[n], p, n);
    if (!r)
        return -1;
    while (db_rows_next(r)) {
        long long id = db_rows_int(r, 0);
        for (int i = 0; i < n; i++) {
            if (items[i].id != id)
                continue;
            items[i].shop_id = db_rows_int(r, 1);
            snprintf(items[i].name, sizeof items[i].name, "%s", db_rows_str(r, 2, NULL));
            items[i].points = db_rows_int(r, 3);
            items[i].unlimited = db_rows_int(r, 4) != 0;
            items[i].stock = db_rows_int(r, 5);
            items[i].active = db_rows_int(r, 6) != 0;
        }
    }
    db_rows_free(r);
    for (int i = 0; i < n; i++) {
        if (items[i].shop_id != in->shop_id) {
            /* another shop's item (or none): not this shop's to sell */
            refuse_field(ans, 404, "not_found", "items", "no such item in this shop");
            ans->no_store = true;
            return -2;
        }
    }
    for (int i = 0; i < n; i++)
        if (!items[i].active) {
            refuse_field(ans, 409, "item_inactive", "items", "an item is no longer offered");
            return -2;
        }
    for (int i = 0; i < n; i++)
        if (!items[i].unlimited && items[i].stock < items[i].qty) {
            refuse_field(ans, 409, "out_of_stock", "items", "an item is out of stock");
            json_object_set_new(json_object_get(ans->body, "error"), "item_id",
                                json_integer(items[i].id));
            return -2;
        }
    return n;
}

static int redeem_fn(struct db *d, void *arg, struct ledger_answer *ans)
{
    const struct redeem_in *in = arg;
    struct household_head h;
    int rc = in->household_id ? household_lock(d, in->household_id, &h) : 0;
    if (rc < 0)
        return -1;
    bool by_card = in->pin != NULL;
    if (rc == 0 || (by_card && h.card_gen != in->card_gen)) {
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
    ans->household_id = h.id;
    /* the shop's county funds the points: other counties do not exist
     * here, and a pay code from one stays unspent */
    char path[256];
    if (region_path_cached(d, h.region_id, path, sizeof path) != 0)
        return -1;
    if (!region_path_within(in->reach, path)) {
        refuse_field(ans, 404, "not_found", by_card ? "code" : "pay_code",
                     "this household is not served by this shop");
        ans->no_store = true;
        return 0;
    }
    if (by_card) {
        /* A key that already holds an answer is answered from it - replay
         * or conflict - before the PIN is looked at: the PIN is not part of
         * the request's fingerprint, so evaluating it here would let a
         * reused key test PINs without them counting.  Checked under the
         * household lock, so a concurrent twin has committed by now. */
        int stored = in->key ? idem_exists(d, in->scope, in->key) : 0;
        if (stored < 0)
            return -1;
        if (stored) {
            ledger_refuse(ans, 409, "idempotency_replay", "answered from the stored record");
            ans->no_store = true;
            return 0;
        }
        struct pin_result pr;
        if (pin_attempt_locked(d, h.id, PIN_AT_SHOP, in->pin, in->pin_key, in->now, in->pin_lock_seconds,
                               &pr) != 0)
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
            /* refused, not stored, but the attempt counts: commit */
            ans->no_store = true;
            ans->commit_unstored = true;
            return 0;
        }
    }
    if (strcmp(h.status, "active") != 0) {
        char msg[80];
        snprintf(msg, sizeof msg, "the household is %s", h.status);
        ledger_refuse(ans, 409, "household_inactive", msg);
        return 0;
    }
    struct item items[REDEEM_MAX_LINES];
    int nitems = 0;
    long long cost = in->points;
    if (in->nlines > 0) {
        nitems = lock_items(d, in, items, ans);
        if (nitems == -1)
            return -1;
        if (nitems == -2)
            return 0;
        cost = 0;
        for (int i = 0; i < nitems; i++)
            cost += items[i].points * items[i].qty;
    }
    if (h.balance < cost) {
        ledger_refuse(ans, 409, "insufficient_points", "not enough points; nothing changed");
        json_object_set_new(json_object_get(ans->body, "error"), "balance",
                            json_integer(h.balance));
        return 0;
    }
    if (db_exec(d, SQL_REDEMPTION, "iiisiss", in->shop_id, h.id, in->clerk_id, in->key, cost,
                in->memo, by_card ? "pin" : "pay_code") < 0)
        return -1;
    long long id = (long long)db_insert_id(d);
    json_t *lines = json_array();
    for (int i = 0; i < in->nlines; i++) {
        const struct item *it = NULL;
        for (int k = 0; k < nitems; k++)
            if (items[k].id == in->lines[i].item_id)
                it = &items[k];
        if (!it)
            continue;
        long long pts = it->points * in->lines[i].qty;
        if (db_exec(d, SQL_LINE, "iiisiii", id, (long long)i + 1, it->id, it->name,
                    in->lines[i].qty, it->points, pts) < 0) {
            json_decref(lines);
            return -1;
        }
        json_array_append_new(lines, json_pack("{s:I, s:s, s:I, s:I, s:I}", "item_id",
                                               (json_int_t)it->id, "name", it->name, "qty",
                                               (json_int_t)in->lines[i].qty, "points_each",
                                               (json_int_t)it->points, "points",
                                               (json_int_t)pts));
    }
    for (int k = 0; k < nitems; k++)
        if (!items[k].unlimited && db_exec(d, SQL_STOCK_TAKE, "ii", items[k].qty, items[k].id) < 0) {
            json_decref(lines);
            return -1;
        }
    if (!by_card) {
        if (db_exec(d, SQL_PAYCODE_USE, "ssii", in->pay_code, in->pay_nonce, h.id, id) < 0) {
            json_decref(lines);
            if (db_errkind(d) != DB_DUP)
                return -1;
            /* spent by a concurrent redemption that committed first */
            refuse_field(ans, 404, "unknown_pay_code", "pay_code",
                         "this pay code is unknown, used or expired");
            ans->code_failed = true;
            ans->no_store = true;
            return 0;
        }
    }
    if (cost > 0) {
        if (ledger_append_head(d, &h, -cost, "redemption", id, in->actor, in->memo, NULL) != 0) {
            json_decref(lines);
            return -1;
        }
        ans->moved = true;
    }
    ans->balance = h.balance;
    ans->seq = h.seq;
    char masked[401];
    mask_name(h.head_name, masked, sizeof masked);
    ans->status = 201;
    ans->body = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:s, s:s, s:b}", "id", (json_int_t)id,
                          "household_id", (json_int_t)h.id, "shop_id", (json_int_t)in->shop_id,
                          "points", (json_int_t)cost, "balance", (json_int_t)h.balance, "items",
                          lines, "consent", by_card ? "pin" : "pay_code", "head_name_masked",
                          masked, "replayed", 0);
    if (ans->body)
        json_object_set_new(ans->body, "memo", in->memo ? json_string(in->memo) : json_null());
    return ans->body ? 0 : -1;
}

int ledger_redeem(struct db *d, const struct redeem_in *in, struct ledger_answer *ans)
{
    pthread_once(&sql_once, build_sql);
    for (int n = 1; n <= REDEEM_MAX_LINES; n++)
        if (!sql_lock_items[n])
            return LEDGER_ERR;
    return ledger_run(d, in->scope, in->key, in->fp, redeem_fn, (void *)(uintptr_t)in, ans);
}

static int void_fn(struct db *d, void *arg, struct ledger_answer *ans)
{
    const struct void_in *in = arg;
    long long hid = 0;
    int rc = db_query_int(d, &hid, SQL_OWNER, "i", in->redemption_id);
    if (rc < 0)
        return -1;
    struct household_head h;
    if (rc == 1 && (rc = household_lock(d, hid, &h)) < 0)
        return -1;
    struct db_rows *r = rc == 1 ? db_query(d, SQL_LOCK_REDEMPTION, "i", in->redemption_id) : NULL;
    if (rc == 1 && !r)
        return -1;
    bool found = r && db_rows_next(r);
    bool voided = false, in_reach = false;
    long long points = 0, clerk = 0, shop = 0, created = 0;
    if (found) {
        voided = strcmp(db_rows_str(r, 0, NULL), "voided") == 0;
        points = db_rows_int(r, 1);
        clerk = db_rows_int(r, 2);
        shop = db_rows_int(r, 3);
        created = db_rows_int(r, 4);
        in_reach = in->clerk_id ? shop == in->shop_id
                                : region_path_within(in->reach, db_rows_str(r, 5, NULL));
    }
    if (r)
        db_rows_free(r);
    if (found && in_reach) {
        char hpath[256];
        if (region_path_cached(d, h.region_id, hpath, sizeof hpath) != 0)
            return -1;
        in_reach = region_path_within(in->reach, hpath);
    }
    if (!found || !in_reach) {
        ledger_refuse(ans, 404, "not_found", "no such redemption");
        ans->no_store = true;
        return 0;
    }
    ans->household_id = h.id;
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
    /* stock back, items in id order (after the household) */
    r = db_query(d, SQL_VOID_LINES, "i", in->redemption_id);
    if (!r)
        return -1;
    long long ids[REDEEM_MAX_LINES], qtys[REDEEM_MAX_LINES];
    int n = 0;
    while (db_rows_next(r) && n < REDEEM_MAX_LINES) {
        ids[n] = db_rows_int(r, 0);
        qtys[n++] = db_rows_int(r, 1);
    }
    db_rows_free(r);
    for (int i = 0; i < n; i++)
        if (db_exec(d, SQL_STOCK_RETURN, "ii", qtys[i], ids[i]) < 0)
            return -1;
    /* the points come back, and settle an open shortfall first */
    long long recovered = 0;
    if (points > 0) {
        if (ledger_append_head(d, &h, points, "void", in->redemption_id, in->actor, in->reason,
                               &recovered) != 0)
            return -1;
        ans->moved = true;
    }
    if (db_exec(d, SQL_VOID, "ssi", in->actor, in->reason, in->redemption_id) < 0)
        return -1;
    json_t *detail = json_pack("{s:I, s:s}", "points", (json_int_t)points, "reason", in->reason);
    rc = audit_write(d, in->who, "redemption.void", "redemption", in->redemption_id, detail);
    json_decref(detail);
    if (rc != 0)
        return -1;
    ans->balance = h.balance;
    ans->seq = h.seq;
    ans->status = 200;
    ans->body = json_pack("{s:I, s:s, s:I, s:I, s:I}", "id", (json_int_t)in->redemption_id,
                          "status", "voided", "household_id", (json_int_t)h.id, "points",
                          (json_int_t)points, "balance", (json_int_t)h.balance);
    if (ans->body && recovered > 0)
        json_object_set_new(ans->body, "recovered", json_integer(recovered));
    return ans->body ? 0 : -1;
}

int ledger_void(struct db *d, const struct void_in *in, struct ledger_answer *ans)
{
    return ledger_run(d, NULL, NULL, NULL, void_fn, (void *)(uintptr_t)in, ans);
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
