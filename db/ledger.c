/* ledger.c - see ledger.h. */
#include "db/ledger.h"
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

static const char SQL_LEDGER[] =
    "INSERT INTO ledger (household_id, seq, delta, balance_after, kind, ref_id, actor, memo) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_HEAD[] =
    "UPDATE households SET balance = ?, seq = ?, debt = ? WHERE id = ?";

const char LEDGER_RECOVERY_MEMO[] = "recovers the shortfall of a reversal";
static const char SQL_ADJUST[] =
    "INSERT INTO adjustments (household_id, staff_id, points, reason) VALUES (?, ?, ?, ?)";
static const char SQL_STAFF_LOCK[] = "SELECT id FROM staff WHERE id = ? FOR UPDATE";
static const char SQL_ADJUSTED_TODAY[] =
    "SELECT COALESCE(SUM(ABS(points)), 0) FROM adjustments "
    "WHERE staff_id = ? AND created_at > NOW(6) - INTERVAL 1 DAY";
static const char SQL_DROPOFF_OWNER[] = "SELECT household_id FROM dropoffs WHERE id = ?";
static const char SQL_DROPOFF_LOCK[] =
    "SELECT status, points, local_day, COALESCE(arrival_day, '') FROM dropoffs WHERE id = ? "
    "FOR UPDATE";
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

static int append_row(struct db *d, struct household_head *h, long long delta,
                      const char *kind, long long ref_id, const char *actor, const char *memo)
{
    long long next = h->seq + 1, bal = h->balance + delta;
    if (db_exec(d, SQL_LEDGER, "iiiisiss", h->id, next, delta, bal, kind, ref_id, actor,
                memo) < 0)
        return -1;
    h->seq = next;
    h->balance = bal;
    return 0;
}

int ledger_append_head(struct db *d, struct household_head *h, long long delta,
                       const char *kind, long long ref_id, const char *actor, const char *memo,
                       long long *recovered)
{
    long long rec = ledger_recovery(h, delta);
    if (recovered)
        *recovered = rec;
    if (append_row(d, h, delta, kind, ref_id, actor, memo) != 0)
        return -1;
    if (rec > 0) {
        if (append_row(d, h, -rec, "recovery", h->seq, actor, LEDGER_RECOVERY_MEMO) != 0)
            return -1;
        h->debt -= rec;
    }
    return db_exec(d, SQL_HEAD, "iiii", h->balance, h->seq, h->debt, h->id) < 0 ? -1 : 0;
}

/* ---- keyed transactions ---- */

struct run_ctx {
    int (*fn)(struct db *d, void *arg, struct ledger_answer *ans);
    void *arg;
    struct ledger_answer *ans;
    const char *scope, *key;
    const unsigned char *fp;
    bool twin;
};

static int run_tx(struct db *d, void *arg)
{
    struct run_ctx *c = arg;
    struct ledger_answer *ans = c->ans;
    /* a retried attempt starts from nothing */
    ledger_answer_release(ans);
    ans->status = 0;
    ans->moved = false;
    ans->no_store = false;
    ans->commit_unstored = false;
    ans->pin_failed = ans->code_failed = false;
    if (c->fn(d, c->arg, ans) != 0)
        return -1;
    if (!ans->body)
        return -1;
    if (ans->no_store)
        return ans->commit_unstored ? 0 : 2;   /* a refusal is not kept */
    if (!c->key)
        return 0;
    char *text = json_dumps(ans->body, JSON_COMPACT);
    if (!text)
        return -1;
    int rc = idem_store(d, c->scope, c->key, c->fp, ans->status, text);
    free(text);
    if (rc != 0 && db_errkind(d) == DB_DUP) {
        c->twin = true;       /* a concurrent request with this key won */
        return 1;
    }
    return rc;
}

/* Answer from a stored record: replay, or conflict for another request. */
static int from_record(struct db *d, const char *scope, const char *key,
                       const unsigned char *fp, struct ledger_answer *ans)
{
    struct idem_record rec = { 0 };
    int rc = idem_lookup(d, scope, key, fp, &rec);
    if (rc <= 0)
        return rc;
    ledger_answer_release(ans);
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

int ledger_replay(struct db *d, const char *scope, const char *key,
                  const unsigned char fp[IDEM_FP_BYTES], struct ledger_answer *ans)
{
    memset(ans, 0, sizeof *ans);
    return from_record(d, scope, key, fp, ans);
}

int ledger_run(struct db *d, const char *scope, const char *key,
               const unsigned char fp[IDEM_FP_BYTES],
               int (*fn)(struct db *d, void *arg, struct ledger_answer *ans), void *arg,
               struct ledger_answer *ans)
{
    /* No look-up first: the hot path is a new key, and a replay is found
     * anyway - by the duplicate key when the transaction stores its answer,
     * or below when it refuses without storing. */
    memset(ans, 0, sizeof *ans);
    struct run_ctx c = { fn, arg, ans, scope, key, fp, false };
    int rc = db_tx(d, run_tx, &c);
    if (rc == 0) {
        if (ans->moved)
            atomic_fetch_add(&wb_stats.ledger_writes, 1);
        return LEDGER_OK;
    }
    if (rc == 2 && ans->no_store) {
        ans->moved = false;
        /* a refusal that is not stored must not hide a stored answer:
         * replays come before every other check of the request */
        if (key) {
            struct ledger_answer stored = { 0 };
            int found = from_record(d, scope, key, fp, &stored);
            if (found < 0) {
                ledger_answer_release(ans);
                return LEDGER_ERR;
            }
            if (found == 1) {
                ledger_answer_release(ans);
                *ans = stored;
            }
        }
        return LEDGER_OK;
    }
    ledger_answer_release(ans);
    ans->moved = false;
    if (rc == 1 && c.twin) {
        rc = from_record(d, scope, key, fp, ans);
        return rc == 1 ? LEDGER_OK : LEDGER_ERR;
    }
    return rc == -2 ? LEDGER_UNKNOWN : LEDGER_ERR;
}

/* ---- adjustments ---- */

/* A limit refusal: 403, not stored, naming the points. */
static void refuse_limit(struct ledger_answer *ans, const char *message)
{
    ledger_refuse(ans, 403, "forbidden", message);
    json_object_set_new(json_object_get(ans->body, "error"), "field", json_string("points"));
    ans->no_store = true;
}

static int adjust_fn(struct db *d, void *arg, struct ledger_answer *ans)
{
    const struct adjust_in *in = arg;
    long long mag = in->points < 0 ? -in->points : in->points;
    char msg[160];
    if (in->action_limit > 0 && mag > in->action_limit) {
        snprintf(msg, sizeof msg, "a region admin adjusts at most %lld points at a time",
                 in->action_limit);
        refuse_limit(ans, msg);
        return 0;
    }
    struct household_head h;
    int rc = household_lock(d, in->household_id, &h);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        ledger_refuse(ans, 404, "not_found", "no such household");
        ans->no_store = true;
        return 0;
    }
    ans->household_id = h.id;
    if (in->daily_limit > 0) {
        long long locked, done = 0;
        if (db_query_int(d, &locked, SQL_STAFF_LOCK, "i", in->staff_id) != 1 ||
            db_query_int(d, &done, SQL_ADJUSTED_TODAY, "i", in->staff_id) != 1)
            return -1;
        if (done + mag > in->daily_limit) {
            snprintf(msg, sizeof msg,
                     "this would pass your limit of %lld points adjusted in 24 hours "
                     "(%lld used); ask an admin", in->daily_limit, done);
            refuse_limit(ans, msg);
            return 0;
        }
    }
    if (h.balance + in->points < 0) {
        ledger_refuse(ans, 409, "insufficient_points",
                      "the balance cannot go below zero; nothing changed");
        json_object_set_new(json_object_get(ans->body, "error"), "balance",
                            json_integer(h.balance));
        return 0;
    }
    if (db_exec(d, SQL_ADJUST, "iiis", h.id, in->staff_id, in->points, in->reason) < 0)
        return -1;
    long long id = (long long)db_insert_id(d);
    long long recovered = 0;
    if (ledger_append_head(d, &h, in->points, "adjustment", id, in->actor, in->reason,
                           &recovered) != 0)
        return -1;
    json_t *detail = json_pack("{s:I, s:I, s:s}", "household_id", (json_int_t)h.id, "points",
                               (json_int_t)in->points, "reason", in->reason);
    rc = audit_write(d, in->who, "household.adjust", "adjustment", id, detail);
    json_decref(detail);
    if (rc != 0)
        return -1;
    ans->moved = true;
    ans->balance = h.balance;
    ans->seq = h.seq;
    ans->status = 201;
    ans->body = json_pack("{s:I, s:I, s:I, s:I, s:s, s:I, s:b}", "id", (json_int_t)id,
                          "household_id", (json_int_t)h.id, "points", (json_int_t)in->points,
                          "balance", (json_int_t)h.balance, "reason", in->reason,
                          "approved_by", (json_int_t)in->staff_id, "replayed", 0);
    if (ans->body && recovered > 0)
        json_object_set_new(ans->body, "recovered", json_integer(recovered));
    return ans->body ? 0 : -1;
}

int ledger_adjust(struct db *d, const struct adjust_in *in, struct ledger_answer *ans)
{
    return ledger_run(d, in->scope, in->key, in->fp, adjust_fn, (void *)(uintptr_t)in, ans);
}

/* ---- reversals ---- */

static int reverse_fn(struct db *d, void *arg, struct ledger_answer *ans)
{
    const struct reverse_in *in = arg;
    long long hid = 0;
    int rc = db_query_int(d, &hid, SQL_DROPOFF_OWNER, "i", in->dropoff_id);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        ledger_refuse(ans, 404, "not_found", "no such drop-off");
        return 0;
    }
    /* the locking read returns the household's current balance and seq,
     * whatever the snapshot the look-up above opened */
    struct household_head h;
    if (household_lock(d, hid, &h) != 1)
        return -1;
    ans->household_id = h.id;
    struct db_rows *r = db_query(d, SQL_DROPOFF_LOCK, "i", in->dropoff_id);
    if (!r)
        return -1;
    if (!db_rows_next(r)) {
        db_rows_free(r);
        return -1;
    }
    bool reversed = strcmp(db_rows_str(r, 0, NULL), "reversed") == 0;
    long long points = db_rows_int(r, 1);
    char day[11], arrival[11];
    snprintf(day, sizeof day, "%s", db_rows_str(r, 2, NULL));
    snprintf(arrival, sizeof arrival, "%s", db_rows_str(r, 3, NULL));
    db_rows_free(r);
    if (reversed) {
        ledger_refuse(ans, 409, "already_reversed", "this drop-off was reversed already");
        return 0;
    }
    /* what the balance cannot give back stays owed: the household's debt,
     * recovered from the next points that come to it */
    long long clawed = points < h.balance ? points : h.balance;
    h.debt += points - clawed;
    if (clawed > 0) {
        if (ledger_append_head(d, &h, -clawed, "reversal", in->dropoff_id, in->actor,
                               in->reason, NULL) != 0)
            return -1;
        ans->moved = true;
    } else if (points > 0 && db_exec(d, SQL_HEAD, "iiii", h.balance, h.seq, h.debt, h.id) < 0) {
        return -1;
    }
    if (db_exec(d, SQL_DROPOFF_REVERSE, "ssiii", in->actor, in->reason, clawed, points - clawed,
                in->dropoff_id) < 0 ||
        db_exec(d, SQL_DAILY_UNDO, "iis", in->dropoff_id, h.id, day) < 0 ||
        (arrival[0] && db_exec(d, SQL_ARRIVAL_UNDO, "iis", in->dropoff_id, h.id, arrival) < 0))
        return -1;
    json_t *detail = json_pack("{s:I, s:I, s:s}", "clawed_back", (json_int_t)clawed,
                               "shortfall", (json_int_t)(points - clawed), "reason", in->reason);
    rc = audit_write(d, in->who, "dropoff.reverse", "dropoff", in->dropoff_id, detail);
    json_decref(detail);
    if (rc != 0)
        return -1;
    ans->balance = h.balance;
    ans->seq = h.seq;
    ans->status = 200;
    ans->body = json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "id",
                          (json_int_t)in->dropoff_id, "status", "reversed", "household_id",
                          (json_int_t)h.id, "points", (json_int_t)points, "clawed_back",
                          (json_int_t)clawed, "shortfall", (json_int_t)(points - clawed),
                          "balance", (json_int_t)h.balance, "debt", (json_int_t)h.debt);
    return ans->body ? 0 : -1;
}

int ledger_reverse(struct db *d, const struct reverse_in *in, struct ledger_answer *ans)
{
    return ledger_run(d, NULL, NULL, NULL, reverse_fn, (void *)(uintptr_t)in, ans);
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
