/* ledger.c - see ledger.h. */
#include "db/ledger.h"
#include "db/audit.h"
#include "db/db.h"
#include "db/households.h"
#include "db/regions.h"
#include "db/stats.h"
#include "server/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_LEDGER[] =
    "INSERT INTO ledger (household_id, seq, delta, balance_after, kind, ref_id, actor, memo) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_HEAD[] = "UPDATE households SET balance = ?, seq = ? WHERE id = ?";
static const char SQL_DAILY[] =
    "SELECT category_id, points FROM daily_totals WHERE household_id = ? AND local_day = ?";
static const char SQL_DROPOFF[] =
    "INSERT INTO dropoffs (site_id, household_id, attendant_id, idem_key, points, grams, "
    "items, capped, recorded_at, local_day, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_ADJUST[] =
    "INSERT INTO adjustments (household_id, staff_id, points, reason) VALUES (?, ?, ?, ?)";
static const char SQL_DROPOFF_OWNER[] = "SELECT household_id FROM dropoffs WHERE id = ?";
static const char SQL_DROPOFF_LOCK[] =
    "SELECT status, points, local_day FROM dropoffs WHERE id = ? FOR UPDATE";
static const char SQL_DROPOFF_REVERSE[] =
    "UPDATE dropoffs SET status = 'reversed', reversed_at = NOW(6), reversed_by = ?, "
    "reverse_reason = ?, clawed_back = ?, shortfall = ? WHERE id = ?";
static const char SQL_DAILY_UNDO[] =
    "UPDATE daily_totals t JOIN (SELECT category_id, SUM(points) AS p FROM dropoff_lines "
    "WHERE dropoff_id = ? GROUP BY category_id) x ON x.category_id = t.category_id "
    "SET t.points = GREATEST(0, t.points - x.p) WHERE t.household_id = ? AND t.local_day = ?";
static const char SQL_LOAD[] =
    "SELECT d.id, d.household_id, d.site_id, d.attendant_id, d.points, d.grams, d.items, "
    "d.capped, d.recorded_at, d.local_day, d.note, d.status, d.clawed_back, d.shortfall, "
    "d.reverse_reason, UNIX_TIMESTAMP(d.created_at), gs.path, gh.path "
    "FROM dropoffs d JOIN sites s ON s.id = d.site_id JOIN regions gs ON gs.id = s.region_id "
    "JOIN households h ON h.id = d.household_id JOIN regions gh ON gh.id = h.region_id "
    "WHERE d.id = ?";
static const char SQL_LOAD_LINES[] =
    "SELECT c.code, l.grams, l.count, l.points_per_unit, l.points, l.capped, c.unit = 'item' "
    "FROM dropoff_lines l JOIN categories c ON c.id = l.category_id "
    "WHERE l.dropoff_id = ? ORDER BY l.line_no";

/* Multi-row INSERTs for 1..20 lines, built once: statements are cached
 * per SQL pointer, so the texts must not move. */
static char *sql_lines[DROPOFF_MAX_LINES + 1];
static char *sql_daily_add[DROPOFF_MAX_LINES + 1];
static pthread_once_t sql_once = PTHREAD_ONCE_INIT;

static char *repeat_values(const char *head, const char *tuple, int n, const char *tail)
{
    size_t len = strlen(head) + (size_t)n * (strlen(tuple) + 1) + strlen(tail) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t o = (size_t)snprintf(s, len, "%s", head);
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, len - o, "%s%s", i ? "," : "", tuple);
    snprintf(s + o, len - o, "%s", tail);
    return s;
}

static void build_sql(void)
{
    for (int n = 1; n <= DROPOFF_MAX_LINES; n++) {
        sql_lines[n] = repeat_values(
            "INSERT INTO dropoff_lines (dropoff_id, line_no, category_id, grams, count, rate_id, "
            "points_per_unit, points, capped) VALUES ", "(?,?,?,?,?,?,?,?,?)", n, "");
        sql_daily_add[n] = repeat_values(
            "INSERT INTO daily_totals (household_id, category_id, local_day, points) VALUES ",
            "(?,?,?,?)", n, " ON DUPLICATE KEY UPDATE points = points + VALUES(points)");
    }
}

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

static int append_row(struct db *d, long long hid, long long *seq, long long *balance,
                      long long delta, const char *kind, long long ref_id, const char *actor,
                      const char *memo)
{
    long long next = *seq + 1, bal = *balance + delta;
    if (db_exec(d, SQL_LEDGER, "iiiisiss", hid, next, delta, bal, kind, ref_id, actor, memo) < 0 ||
        db_exec(d, SQL_HEAD, "iii", bal, next, hid) < 0)
        return -1;
    *seq = next;
    *balance = bal;
    return 0;
}

int ledger_append_head(struct db *d, struct household_head *h, long long delta,
                       const char *kind, long long ref_id, const char *actor, const char *memo)
{
    return append_row(d, h->id, &h->seq, &h->balance, delta, kind, ref_id, actor, memo);
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

/* ---- drop-offs ---- */

struct line_out {
    struct rate rate;
    long long points;
    bool capped;
};

static int dropoff_fn(struct db *d, void *arg, struct ledger_answer *ans)
{
    const struct dropoff_in *in = arg;
    if (in->window_error) {
        ledger_refuse(ans, 400, "invalid_request",
                      "recorded_at may be at most 5 minutes ahead and 30 days back");
        json_object_set_new(json_object_get(ans->body, "error"), "field",
                            json_string("recorded_at"));
        ans->no_store = true;
        return 0;
    }
    struct household_head h;
    int rc = in->household_id ? household_lock(d, in->household_id, &h) : 0;
    if (rc < 0)
        return -1;
    /* a forged card names no household; a reissued one an old generation */
    if (rc == 0 || h.card_gen != in->card_gen) {
        ledger_refuse(ans, 404, "unknown_code", "this card is not valid");
        json_object_set_new(json_object_get(ans->body, "error"), "field", json_string("code"));
        ans->no_store = true;
        return 0;
    }
    char path[256];
    if (region_path_cached(d, h.region_id, path, sizeof path) != 0)
        return -1;
    if (!region_path_within(in->reach, path)) {
        ledger_refuse(ans, 404, "not_found", "this household is not served here");
        json_object_set_new(json_object_get(ans->body, "error"), "field", json_string("code"));
        ans->no_store = true;
        return 0;
    }
    ans->household_id = h.id;
    if (strcmp(h.status, "active") != 0) {
        char msg[80];
        snprintf(msg, sizeof msg, "the household is %s", h.status);
        ledger_refuse(ans, 409, "household_inactive", msg);
        return 0;
    }

    /* rates in force at recorded_at for the household's region */
    const struct category *cats;
    int ncats = catalog_all(d, &cats);
    if (ncats < 0)
        return -1;
    struct rate rates[CATALOG_MAX];
    if (catalog_rates(d, path, in->recorded_at, cats, ncats, rates) != 0)
        return -1;

    /* what was earned already that day, read under the household lock;
     * only capped categories need it */
    long long earned[CATALOG_MAX] = { 0 };
    bool capped_cats = false;
    for (int i = 0; i < in->nlines; i++)
        capped_cats |= in->lines[i].cat->has_cap;
    if (capped_cats) {
        struct db_rows *r = db_query(d, SQL_DAILY, "is", h.id, in->local_day);
        if (!r)
            return -1;
        while (db_rows_next(r)) {
            long long cid = db_rows_int(r, 0);
            for (int i = 0; i < ncats; i++)
                if (cats[i].id == cid)
                    earned[i] = db_rows_int(r, 1);
        }
        db_rows_free(r);
    }
    struct line_out out[DROPOFF_MAX_LINES];
    long long total = 0, grams = 0, items = 0;
    bool any_capped = false;
    for (int i = 0; i < in->nlines; i++) {
        const struct category *c = in->lines[i].cat;
        int ci = (int)(c - cats);
        if (ci < 0 || ci >= ncats || cats[ci].id != c->id) {
            /* the catalogue was reloaded since validation: find it again */
            for (ci = 0; ci < ncats && cats[ci].id != c->id; ci++)
                ;
            if (ci == ncats) {
                ledger_refuse(ans, 409, "conflict", "a category changed; send again");
                return 0;
            }
        }
        long long qty = in->lines[i].qty;
        out[i].rate = rates[ci];
        long long raw = cats[ci].per_item ? qty * rates[ci].ppu : qty * rates[ci].ppu / 1000;
        long long pts = raw;
        if (cats[ci].has_cap) {
            long long room = cats[ci].daily_cap - earned[ci];
            if (room < 0)
                room = 0;
            if (pts > room)
                pts = room;
        }
        out[i].points = pts;
        out[i].capped = pts < raw;
        any_capped |= out[i].capped;
        earned[ci] += pts;
        total += pts;
        if (cats[ci].per_item)
            items += qty;
        else
            grams += qty;
    }

    if (db_exec(d, SQL_DROPOFF, "iiisiiiiiss", in->site_id, h.id, in->attendant_id, in->key,
                total, grams, items, (long long)any_capped, in->recorded_at, in->local_day,
                in->note) < 0)
        return -1;
    long long id = (long long)db_insert_id(d);

    struct db_param p[DROPOFF_MAX_LINES * 9];
    for (int i = 0; i < in->nlines; i++) {
        const struct category *c = in->lines[i].cat;
        struct db_param *q = &p[i * 9];
        q[0] = (struct db_param){ 'i', id, NULL, 0 };
        q[1] = (struct db_param){ 'i', i + 1, NULL, 0 };
        q[2] = (struct db_param){ 'i', c->id, NULL, 0 };
        q[3] = (struct db_param){ c->per_item ? 'n' : 'i', in->lines[i].qty, NULL, 0 };
        q[4] = (struct db_param){ c->per_item ? 'i' : 'n', in->lines[i].qty, NULL, 0 };
        q[5] = (struct db_param){ 'i', out[i].rate.id, NULL, 0 };
        q[6] = (struct db_param){ 'i', out[i].rate.ppu, NULL, 0 };
        q[7] = (struct db_param){ 'i', out[i].points, NULL, 0 };
        q[8] = (struct db_param){ 'i', out[i].capped, NULL, 0 };
    }
    if (db_exec_params(d, sql_lines[in->nlines], p, in->nlines * 9) < 0)
        return -1;

    /* daily totals, one row per category that earned */
    int nd = 0;
    long long seen[DROPOFF_MAX_LINES];
    for (int i = 0; i < in->nlines; i++) {
        long long cid = in->lines[i].cat->id, sum = 0;
        bool dup = false;
        for (int k = 0; k < nd; k++)
            dup |= seen[k] == cid;
        if (dup)
            continue;
        for (int k = i; k < in->nlines; k++)
            if (in->lines[k].cat->id == cid)
                sum += out[k].points;
        if (sum == 0 || !in->lines[i].cat->has_cap)
            continue;       /* daily totals exist for the caps */
        struct db_param *q = &p[nd * 4];
        q[0] = (struct db_param){ 'i', h.id, NULL, 0 };
        q[1] = (struct db_param){ 'i', cid, NULL, 0 };
        q[2] = (struct db_param){ 's', 0, in->local_day, 0 };
        q[3] = (struct db_param){ 'i', sum, NULL, 0 };
        seen[nd++] = cid;
    }
    if (nd > 0 && db_exec_params(d, sql_daily_add[nd], p, nd * 4) < 0)
        return -1;

    if (total > 0) {
        if (ledger_append_head(d, &h, total, "dropoff", id, in->actor, NULL) != 0)
            return -1;
        ans->moved = true;
    }
    ans->balance = h.balance;
    ans->seq = h.seq;

    char rec[40];
    clock_format((time_t)in->recorded_at, rec, sizeof rec);
    json_t *lines = json_array();
    for (int i = 0; i < in->nlines; i++) {
        const struct category *c = in->lines[i].cat;
        json_array_append_new(lines, json_pack("{s:s, s:I, s:I, s:I, s:b}", "category",
                                               c->code, c->per_item ? "count" : "grams",
                                               (json_int_t)in->lines[i].qty, "rate",
                                               (json_int_t)out[i].rate.ppu, "points",
                                               (json_int_t)out[i].points, "capped",
                                               out[i].capped));
    }
    ans->status = 201;
    ans->body = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:b, s:s, s:b}", "id", (json_int_t)id,
                          "household_id", (json_int_t)h.id, "site_id", (json_int_t)in->site_id,
                          "points", (json_int_t)total, "balance", (json_int_t)h.balance,
                          "items", lines, "capped", any_capped, "recorded_at", rec, "replayed",
                          0);
    return ans->body ? 0 : -1;
}

int ledger_dropoff(struct db *d, const struct dropoff_in *in, struct ledger_answer *ans)
{
    pthread_once(&sql_once, build_sql);
    if (in->nlines < 1 || in->nlines > DROPOFF_MAX_LINES || !sql_lines[in->nlines] ||
        !sql_daily_add[in->nlines])
        return LEDGER_ERR;
    return ledger_run(d, in->scope, in->key, in->fp, dropoff_fn, (void *)(uintptr_t)in, ans);
}

/* ---- adjustments ---- */

static int adjust_fn(struct db *d, void *arg, struct ledger_answer *ans)
{
    const struct adjust_in *in = arg;
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
    if (ledger_append_head(d, &h, in->points, "adjustment", id, in->actor, in->reason) != 0)
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
    ans->body = json_pack("{s:I, s:I, s:I, s:I, s:s, s:b}", "id", (json_int_t)id,
                          "household_id", (json_int_t)h.id, "points", (json_int_t)in->points,
                          "balance", (json_int_t)h.balance, "reason", in->reason, "replayed", 0);
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
    char day[11];
    snprintf(day, sizeof day, "%s", db_rows_str(r, 2, NULL));
    db_rows_free(r);
    if (reversed) {
        ledger_refuse(ans, 409, "already_reversed", "this drop-off was reversed already");
        return 0;
    }
    long long clawed = points < h.balance ? points : h.balance;
    if (clawed > 0) {
        if (ledger_append_head(d, &h, -clawed, "reversal", in->dropoff_id, in->actor,
                               in->reason) != 0)
            return -1;
        ans->moved = true;
    }
    if (db_exec(d, SQL_DROPOFF_REVERSE, "ssiii", in->actor, in->reason, clawed, points - clawed,
                in->dropoff_id) < 0 ||
        db_exec(d, SQL_DAILY_UNDO, "iis", in->dropoff_id, h.id, day) < 0)
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
    ans->body = json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I}", "id",
                          (json_int_t)in->dropoff_id, "status", "reversed", "household_id",
                          (json_int_t)h.id, "points", (json_int_t)points, "clawed_back",
                          (json_int_t)clawed, "shortfall", (json_int_t)(points - clawed),
                          "balance", (json_int_t)h.balance);
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
