/* dropoff.c - the drop-off transaction, for one drop-off or a group.
 *
 * Drop-offs that arrive together on one worker share one transaction.
 * That is the shape of design.md for each of them: the households are
 * locked first (all of the group's, in id order, so two groups cannot
 * deadlock), every rule is checked under those locks, and each drop-off
 * is decided exactly as it would be alone - its household's balance, seq
 * and day totals carried in memory from one drop-off to the next.  Then
 * all the writes, each drop-off's idempotency record and the COMMIT go
 * out as one batch: two round trips and one log flush for the group.
 *
 * One drop-off must not fail the others.  When a twin stored a key of the
 * group first, that drop-off leaves the group and is answered from the
 * record (a replay or a conflict), and the rest run again.  Any other
 * failure of a group of several runs each drop-off alone. */
#include "db/ledger.h"
#include "db/batch.h"
#include "db/db.h"
#include "db/households.h"
#include "db/regions.h"
#include "db/stats.h"
#include "server/clock.h"

#include <pthread.h>
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
static const char SQL_REF[] = "SET ? = LAST_INSERT_ID()";      /* ? a ref_names entry */

/* Session variables naming each drop-off's id within a group's batch. */
static char ref_names[LEDGER_GROUP_MAX][12];
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
    for (int i = 0; i < LEDGER_GROUP_MAX; i++)
        snprintf(ref_names[i], sizeof ref_names[i], "@wb_r%d", i);
}

void dropoff_line_set(struct dropoff_line *l, const struct category *c, long long qty)
{
    l->cat_id = c->id;
    snprintf(l->code, sizeof l->code, "%s", c->code);
    l->per_item = c->per_item;
    l->has_cap = c->has_cap;
    l->qty = qty;
}

/* ---- one group ---- */

struct group_hh {               /* a household of the group, as locked */
    long long id;
    int found;
    struct household_head h;
    int stmt;                   /* its locking read in the first batch */
};

/* What a household earned in each category on one day: a recorded day
 * (daily_totals, for the daily cap) or a day of arrival (arrival_totals,
 * for the arrival cap). */
struct group_day {
    long long hid;
    const char *day;
    bool arrival;               /* a day of arrival, else a recorded day */
    long long earned[CATALOG_MAX];
    int stmt;
};

/* The totals of (hid, day) of one kind among days[0..n), or NULL. */
static long long *day_totals(struct group_day *days, int n, long long hid, const char *day,
                             bool arrival)
{
    for (int k = 0; k < n; k++)
        if (days[k].hid == hid && days[k].arrival == arrival && strcmp(days[k].day, day) == 0)
            return days[k].earned;
    return NULL;
}

struct group {
    const struct dropoff_in *const *in;
    struct ledger_answer *ans;
    int n;
    bool *out;                  /* taken out of the group: answered apart */
    int *id_stmt;               /* per drop-off: its INSERT, or -1 */
    int *idem_stmt;             /* per drop-off: its idempotency record, or -1 */
    struct db_batch writes;
    int twin;                   /* a drop-off whose key a twin stored, or -1 */
};

struct line_out {
    struct rate rate;
    long long points;
    bool capped;
};

/* A multi-row statement gathered over the group: "head (?,..),(?,..) tail". */
struct rows {
    const char *head, *tuple, *tail;
    int width;                  /* parameters a row */
    int nrows;
    struct db_param *p;
    int cap;                    /* rows p has room for */
};

static struct db_param *rows_add(struct rows *r)
{
    if (r->nrows == r->cap) {
        int cap = r->cap ? 2 * r->cap : 16;
        struct db_param *p = realloc(r->p, (size_t)cap * (size_t)r->width * sizeof *p);
        if (!p)
            return NULL;
        r->p = p;
        r->cap = cap;
    }
    return &r->p[r->nrows++ * r->width];
}

/* Append the gathered rows to the batch as one statement (none: nothing). */
static int rows_flush(struct rows *r, struct db_batch *b)
{
    if (r->nrows == 0)
        return 0;
    char *sql = repeat_values(r->head, r->tuple, r->nrows, r->tail);
    int rc = sql ? db_batch_add_params(b, sql, r->p, r->nrows * r->width) : -1;
    free(sql);
    return rc < 0 ? -1 : 0;
}

/* The group's writes: each drop-off's own INSERT (its id is then the
 * session variable @wb_r<i>), and one statement a table for the rest. */
struct writes {
    struct rows lines, daily, arrival, ledger, idem;
    long long hid[LEDGER_GROUP_MAX], bal[LEDGER_GROUP_MAX], seq[LEDGER_GROUP_MAX];
    long long debt[LEDGER_GROUP_MAX];
    bool debt_moved;            /* some household's debt changed: write it */
    int nheads;
    char *texts[LEDGER_GROUP_MAX];      /* stored answers, alive until built */
    int ntexts;
};

static void writes_init(struct writes *w)
{
    memset(w, 0, sizeof *w);
    w->lines = (struct rows){ "INSERT INTO dropoff_lines (dropoff_id, line_no, category_id, grams, "
                              "count, rate_id, points_per_unit, points, capped) VALUES ",
                              "(?,?,?,?,?,?,?,?,?)", "", 9, 0, NULL, 0 };
    w->daily = (struct rows){ "INSERT INTO daily_totals (household_id, category_id, local_day, "
                              "points) VALUES ", "(?,?,?,?)",
                              " ON DUPLICATE KEY UPDATE points = points + VALUES(points)", 4, 0,
                              NULL, 0 };
    w->arrival = (struct rows){ "INSERT INTO arrival_totals (household_id, category_id, "
                                "arrival_day, points) VALUES ", "(?,?,?,?)",
                                " ON DUPLICATE KEY UPDATE points = points + VALUES(points)", 4, 0,
                                NULL, 0 };
    w->ledger = (struct rows){ "INSERT INTO ledger (household_id, seq, delta, balance_after, kind, "
                               "ref_id, actor, memo) VALUES ", "(?,?,?,?,?,?,?,?)", "",
                               8, 0, NULL, 0 };
    w->idem = (struct rows){ "INSERT INTO idempotency (scope, idem_key, fingerprint, status, "
                             "response) VALUES ", "(?,?,?,?,CONCAT(?,?,?,?))", "", 8, 0, NULL, 0 };
}

static void writes_free(struct writes *w)
{
    free(w->lines.p);
    free(w->daily.p);
    free(w->arrival.p);
    free(w->ledger.p);
    free(w->idem.p);
    for (int i = 0; i < w->ntexts; i++)
        free(w->texts[i]);
    memset(w, 0, sizeof *w);
}

/* A household's balance and seq after the group: the last one wins. */
static void writes_head(struct writes *w, const struct household_head *h)
{
    int k = 0;
    while (k < w->nheads && w->hid[k] != h->id)
        k++;
    if (k == w->nheads)
        w->hid[w->nheads++] = h->id;
    w->bal[k] = h->balance;
    w->seq[k] = h->seq;
    w->debt[k] = h->debt;
}

/* One UPDATE for every household the group moved: balance and seq, and
 * debt when a recovery changed one (rarely: it stays out of the usual
 * statement). */
static int heads_flush(const struct writes *w, struct db_batch *b)
{
    if (w->nheads == 0)
        return 0;
    int n = w->nheads, cols = w->debt_moved ? 3 : 2;
    const long long *vals[3] = { w->bal, w->seq, w->debt };
    static const char *const names[3] = { "balance", "seq", "debt" };
    size_t len = 128 + (size_t)n * 60;
    char *sql = malloc(len);
    struct db_param *p = calloc((size_t)n * (2 * (size_t)cols + 1), sizeof *p);
    int rc = -1;
    if (sql && p) {
        size_t o = (size_t)snprintf(sql, len, "UPDATE households SET");
        int np = 0;
        for (int c = 0; c < cols; c++) {
            o += (size_t)snprintf(sql + o, len - o, "%s %s = CASE id", c ? " END," : "",
                                  names[c]);
            for (int k = 0; k < n; k++) {
                o += (size_t)snprintf(sql + o, len - o, " WHEN ? THEN ?");
                p[np++] = (struct db_param){ 'i', w->hid[k], NULL, 0 };
                p[np++] = (struct db_param){ 'i', vals[c][k], NULL, 0 };
            }
        }
        o += (size_t)snprintf(sql + o, len - o, " END WHERE id IN (");
        for (int k = 0; k < n; k++) {
            o += (size_t)snprintf(sql + o, len - o, "%s?", k ? "," : "");
            p[np++] = (struct db_param){ 'i', w->hid[k], NULL, 0 };
        }
        snprintf(sql + o, len - o, ")");
        rc = db_batch_add_params(b, sql, p, np) < 0 ? -1 : 0;
    }
    free(sql);
    free(p);
    return rc;
}

static bool has_capped_line(const struct dropoff_in *in)
{
    for (int i = 0; i < in->nlines; i++)
        if (in->lines[i].has_cap)
            return true;
    return false;
}

static void refuse_field(struct ledger_answer *ans, int status, const char *code,
                         const char *message, const char *field)
{
    ledger_refuse(ans, status, code, message);
    json_object_set_new(json_object_get(ans->body, "error"), "field", json_string(field));
    ans->no_store = true;
}

/* Decide one drop-off under the group's locks: its INSERT goes into b,
 * the rest of its writes into w (slot names its id).  h is its household
 * as the group has it so far (NULL: none); earned its totals of the
 * recorded day and arrived of the day of arrival (both NULL when it has
 * no capped line).  0, or -1 on a store error. */
static int decide(struct db *d, const struct dropoff_in *in, struct household_head *h,
                  long long *earned, long long *arrived, const struct category *cats,
                  int ncats, long long rates_count, struct db_batch *b, struct writes *w,
                  int slot, struct ledger_answer *ans, int *id_stmt)
{
    *id_stmt = -1;
    if (in->refusal.status) {
        /* decided before the transaction; not stored, so a stored answer
         * for the key wins (stored_first) */
        refuse_field(ans, in->refusal.status, in->refusal.code, in->refusal.message,
                     in->refusal.field);
        return 0;
    }
    /* a forged card names no household; a reissued one an old generation */
    if (!h || h->card_gen != in->card_gen) {
        refuse_field(ans, 404, "unknown_code", "this card is not valid", "code");
        return 0;
    }
    char path[256];
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

    /* rates in force at recorded_at for the household's region */
    struct rate rates[CATALOG_MAX];
    if (catalog_rates(d, rates_count, path, in->recorded_at, cats, ncats, rates) != 0)
        return -1;
    struct line_out out[DROPOFF_MAX_LINES];
    long long total = 0, grams = 0, items = 0;
    bool any_capped = false;
    for (int i = 0; i < in->nlines; i++) {
        int ci = 0;
        while (ci < ncats && cats[ci].id != in->lines[i].cat_id)
            ci++;
        if (ci == ncats) {
            /* created on another instance a moment ago: send again */
            ledger_refuse(ans, 409, "conflict", "a category is not known yet; send again");
            ans->no_store = true;
            return 0;
        }
        long long qty = in->lines[i].qty;
        out[i].rate = rates[ci];
        long long raw = cats[ci].per_item ? qty * rates[ci].ppu : qty * rates[ci].ppu / 1000;
        long long pts = raw;
        if (cats[ci].has_cap) {
            /* the recorded day's cap, and what one day's arrivals may earn
             * whatever days they were recorded on: back-dating cannot buy
             * more than WB_CAP_ARRIVAL_DAYS caps a day */
            long long room = cats[ci].daily_cap - (earned ? earned[ci] : 0);
            long long aroom = cats[ci].daily_cap * in->arrival_cap_days - (arrived ? arrived[ci] : 0);
            if (aroom < room)
                room = aroom;
            if (room < 0)
                room = 0;
            if (pts > room)
                pts = room;
        }
        out[i].points = pts;
        out[i].capped = pts < raw;
        any_capped |= out[i].capped;
        if (earned)
            earned[ci] += pts;
        if (arrived)
            arrived[ci] += pts;
        total += pts;
        if (cats[ci].per_item)
            items += qty;
        else
            grams += qty;
    }

    /* the drop-off's id is @wb_r<slot> for the statements after its INSERT */
    const char *ref = ref_names[slot];
    *id_stmt = db_batch_add(b, SQL_DROPOFF, "iiisiiiiisiss", in->site_id, h->id,
                            in->attendant_id, in->key, total, grams, items,
                            (long long)any_capped, in->recorded_at, in->local_day,
                            (long long)in->backdated, in->arrival_day, in->note);
    if (*id_stmt < 0 || db_batch_add(b, SQL_REF, "r", ref) < 0)
        return -1;
    for (int i = 0; i < in->nlines; i++) {
        const struct dropoff_line *c = &in->lines[i];
        struct db_param *q = rows_add(&w->lines);
        if (!q)
            return -1;
        q[0] = (struct db_param){ 'r', 0, ref, 0 };
        q[1] = (struct db_param){ 'i', i + 1, NULL, 0 };
        q[2] = (struct db_param){ 'i', c->cat_id, NULL, 0 };
        q[3] = (struct db_param){ c->per_item ? 'n' : 'i', in->lines[i].qty, NULL, 0 };
        q[4] = (struct db_param){ c->per_item ? 'i' : 'n', in->lines[i].qty, NULL, 0 };
        q[5] = (struct db_param){ 'i', out[i].rate.id, NULL, 0 };
        q[6] = (struct db_param){ 'i', out[i].rate.ppu, NULL, 0 };
        q[7] = (struct db_param){ 'i', out[i].points, NULL, 0 };
        q[8] = (struct db_param){ 'i', out[i].capped, NULL, 0 };
    }
    /* daily totals exist for the caps: a row per capped line that earned
     * (rows of one key add up, ON DUPLICATE KEY) */
    for (int i = 0; i < in->nlines; i++) {
        if (out[i].points == 0 || !in->lines[i].has_cap)
            continue;
        struct db_param *q = rows_add(&w->daily);
        if (!q)
            return -1;
        q[0] = (struct db_param){ 'i', h->id, NULL, 0 };
        q[1] = (struct db_param){ 'i', in->lines[i].cat_id, NULL, 0 };
        q[2] = (struct db_param){ 's', 0, in->local_day, 0 };
        q[3] = (struct db_param){ 'i', out[i].points, NULL, 0 };
        if (!(q = rows_add(&w->arrival)))
            return -1;
        q[0] = (struct db_param){ 'i', h->id, NULL, 0 };
        q[1] = (struct db_param){ 'i', in->lines[i].cat_id, NULL, 0 };
        q[2] = (struct db_param){ 's', 0, in->arrival_day, 0 };
        q[3] = (struct db_param){ 'i', out[i].points, NULL, 0 };
    }
    long long recovered = ledger_recovery(h, total);
    if (total > 0) {
        struct db_param *q = rows_add(&w->ledger);
        if (!q)
            return -1;
        h->seq++;
        h->balance += total;
        q[0] = (struct db_param){ 'i', h->id, NULL, 0 };
        q[1] = (struct db_param){ 'i', h->seq, NULL, 0 };
        q[2] = (struct db_param){ 'i', total, NULL, 0 };
        q[3] = (struct db_param){ 'i', h->balance, NULL, 0 };
        q[4] = (struct db_param){ 's', 0, "dropoff", 0 };
        q[5] = (struct db_param){ 'r', 0, ref, 0 };
        q[6] = (struct db_param){ 's', 0, in->actor, 0 };
        q[7] = (struct db_param){ 'n', 0, NULL, 0 };
        ans->moved = true;
    }
    if (recovered > 0) {
        /* the household owes a reversal's shortfall: these points pay it
         * first (the rule of ledger_append_head, in the group's batch) */
        struct db_param *q = rows_add(&w->ledger);
        if (!q)
            return -1;
        long long credit_seq = h->seq;
        h->seq++;
        h->balance -= recovered;
        h->debt -= recovered;
        q[0] = (struct db_param){ 'i', h->id, NULL, 0 };
        q[1] = (struct db_param){ 'i', h->seq, NULL, 0 };
        q[2] = (struct db_param){ 'i', -recovered, NULL, 0 };
        q[3] = (struct db_param){ 'i', h->balance, NULL, 0 };
        q[4] = (struct db_param){ 's', 0, "recovery", 0 };
        q[5] = (struct db_param){ 'i', credit_seq, NULL, 0 };
        q[6] = (struct db_param){ 's', 0, in->actor, 0 };
        q[7] = (struct db_param){ 's', 0, LEDGER_RECOVERY_MEMO, 0 };
        w->debt_moved = true;
    }
    if (total > 0)
        writes_head(w, h);
    ans->balance = h->balance;
    ans->seq = h->seq;

    char rec[40];
    clock_format((time_t)in->recorded_at, rec, sizeof rec);
    json_t *lines = json_array();
    for (int i = 0; i < in->nlines; i++) {
        const struct dropoff_line *c = &in->lines[i];
        json_array_append_new(lines, json_pack("{s:s, s:I, s:I, s:I, s:b}", "category",
                                               c->code, c->per_item ? "count" : "grams",
                                               (json_int_t)in->lines[i].qty, "rate",
                                               (json_int_t)out[i].rate.ppu, "points",
                                               (json_int_t)out[i].points, "capped",
                                               out[i].capped));
    }
    /* "id" is added when the batch has run */
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

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* The first round trip: lock the group's households in id order (BEGIN
 * rides along), then - read under those locks - the rates table's version
 * and the totals the capped lines need: of their recorded days and of
 * their days of arrival.  days has room for two a drop-off. */
static int read_heads(struct db *d, struct group *g, struct group_hh *hh, int *nhh,
                      struct group_day *days, int *ndays, long long *rates_count)
{
    long long ids[LEDGER_GROUP_MAX];
    int n = 0;
    for (int i = 0; i < g->n; i++) {
        long long id = g->in[i]->household_id;
        bool seen = false;
        for (int k = 0; k < n; k++)
            seen |= ids[k] == id;
        if (!g->out[i] && id && !g->in[i]->refusal.status && !seen)
            ids[n++] = id;
    }
    qsort(ids, (size_t)n, sizeof ids[0], cmp_ll);
    *nhh = *ndays = 0;
    *rates_count = -1;
    if (n == 0)
        return 0;
    struct db_batch rd;
    db_batch_init(&rd, d);
    for (int k = 0; k < n; k++) {
        hh[k] = (struct group_hh){ .id = ids[k], .stmt = household_lock_add(&rd, ids[k]) };
    }
    int count_stmt = db_batch_add(&rd, CATALOG_RATES_COUNT_SQL, "");
    int nd = 0;
    for (int i = 0; i < g->n; i++) {
        const struct dropoff_in *in = g->in[i];
        if (g->out[i] || !in->household_id || in->refusal.status || !has_capped_line(in))
            continue;
        for (int a = 0; a < 2; a++) {
            const char *day = a ? in->arrival_day : in->local_day;
            if (day_totals(days, nd, in->household_id, day, a))
                continue;
            days[nd] = (struct group_day){ .hid = in->household_id, .day = day, .arrival = a };
            days[nd].stmt = db_batch_add(&rd, a ? SQL_ARRIVAL : SQL_DAILY, "is",
                                         in->household_id, day);
            nd++;
        }
    }
    if (db_batch_run(&rd) != 0) {
        db_batch_free(&rd);
        return -1;
    }
    for (int k = 0; k < n; k++)
        hh[k].found = household_head_read(db_batch_rows(&rd, hh[k].stmt), &hh[k].h);
    struct db_rows *cnt = db_batch_rows(&rd, count_stmt);
    if (cnt && db_rows_next(cnt))
        *rates_count = db_rows_int(cnt, 0);
    const struct category *cats;
    int ncats = catalog_all(d, &cats);
    for (int k = 0; k < nd && ncats >= 0; k++) {
        struct db_rows *r = db_batch_rows(&rd, days[k].stmt);
        while (r && db_rows_next(r)) {
            long long cid = db_rows_int(r, 0);
            for (int c = 0; c < ncats; c++)
                if (cats[c].id == cid)
                    days[k].earned[c] = db_rows_int(r, 1);
        }
    }
    db_batch_free(&rd);
    *nhh = n;
    *ndays = nd;
    return ncats < 0 ? -1 : 0;
}

static int group_tx(struct db *d, void *arg)
{
    struct group *g = arg;
    /* a retried attempt starts from nothing */
    db_batch_free(&g->writes);
    db_batch_init(&g->writes, d);
    g->twin = -1;
    for (int i = 0; i < g->n; i++) {
        if (g->out[i])
            continue;
        ledger_answer_release(&g->ans[i]);
        memset(&g->ans[i], 0, sizeof g->ans[i]);
        g->id_stmt[i] = g->idem_stmt[i] = -1;
    }
    struct group_hh hh[LEDGER_GROUP_MAX];
    struct group_day *days = calloc(g->n > 0 ? 2 * (size_t)g->n : 1, sizeof *days);
    int nhh, ndays;
    long long rates_count;
    if (!days || read_heads(d, g, hh, &nhh, days, &ndays, &rates_count) != 0) {
        free(days);
        return -1;
    }
    const struct category *cats;
    int ncats = catalog_all(d, &cats);
    /* a category created since this thread's catalogue was read: read it
     * again (the request was checked against another thread's) */
    bool missing = false;
    for (int i = 0; i < g->n && ncats >= 0 && !missing; i++)
        for (int l = 0; !g->out[i] && l < g->in[i]->nlines; l++) {
            int c = 0;
            while (c < ncats && cats[c].id != g->in[i]->lines[l].cat_id)
                c++;
            missing |= c == ncats;
        }
    if (missing) {
        catalog_invalidate();
        ncats = catalog_all(d, &cats);
    }
    int rc = ncats < 0 ? -1 : 0;
    struct writes *w = calloc(1, sizeof *w);
    if (!w)
        rc = -1;
    else
        writes_init(w);
    for (int i = 0; i < g->n && rc == 0; i++) {
        const struct dropoff_in *in = g->in[i];
        struct ledger_answer *ans = &g->ans[i];
        if (g->out[i])
            continue;
        struct household_head *h = NULL;
        for (int k = 0; k < nhh; k++)
            if (hh[k].id == in->household_id && hh[k].found)
                h = &hh[k].h;
        long long *earned = day_totals(days, ndays, in->household_id, in->local_day, false);
        long long *arrived = day_totals(days, ndays, in->household_id, in->arrival_day, true);
        if (decide(d, in, h, earned, arrived, cats, ncats, rates_count, &g->writes, w, i, ans,
                   &g->id_stmt[i]) != 0 || !ans->body) {
            rc = -1;
            break;
        }
        if (ans->no_store || !in->key)
            continue;
        /* the outcome is kept with the key, in the same commit; a new
         * drop-off's answer is completed by its id: "{...}" -> "...}" */
        char *text = json_dumps(ans->body, JSON_COMPACT);
        struct db_param *q = text ? rows_add(&w->idem) : NULL;
        if (!q) {
            free(text);
            rc = -1;
            break;
        }
        w->texts[w->ntexts++] = text;
        bool after_id = g->id_stmt[i] >= 0;
        q[0] = (struct db_param){ 's', 0, in->scope, 0 };
        q[1] = (struct db_param){ 's', 0, in->key, 0 };
        q[2] = (struct db_param){ 'b', 0, (const char *)in->fp, IDEM_FP_BYTES };
        q[3] = (struct db_param){ 'i', ans->status, NULL, 0 };
        q[4] = (struct db_param){ 's', 0, after_id ? "{\"id\":" : text, 0 };
        q[5] = (struct db_param){ after_id ? 'r' : 's', 0, after_id ? ref_names[i] : "", 0 };
        q[6] = (struct db_param){ 's', 0, after_id ? "," : "", 0 };
        q[7] = (struct db_param){ 's', 0, after_id ? text + 1 : "", 0 };
        g->idem_stmt[i] = 1;    /* its record is in the group's idempotency INSERT */
    }
    free(days);
    int idem_at = -1;
    if (rc == 0 && w) {
        if (rows_flush(&w->lines, &g->writes) != 0 || rows_flush(&w->daily, &g->writes) != 0 ||
            rows_flush(&w->arrival, &g->writes) != 0 ||
            rows_flush(&w->ledger, &g->writes) != 0 || heads_flush(w, &g->writes) != 0)
            rc = -1;
        idem_at = g->writes.n;
        if (rc == 0 && rows_flush(&w->idem, &g->writes) != 0)
            rc = -1;
        if (w->idem.nrows == 0)
            idem_at = -1;
    }
    int nidem = w ? w->idem.nrows : 0;
    if (w)
        writes_free(w);
    free(w);
    if (rc != 0 || g->writes.n == 0)
        return rc;
    db_batch_commit(&g->writes);
    if (db_batch_run(&g->writes) != 0) {
        /* a key of the group was stored first by a twin: alone, the one
         * drop-off that holds it is the twin */
        if (db_errkind(d) == DB_DUP && idem_at >= 0 && g->writes.failed_at == idem_at &&
            nidem == 1)
            for (int i = 0; i < g->n; i++)
                if (!g->out[i] && g->idem_stmt[i] >= 0)
                    g->twin = i;
        return g->twin >= 0 ? 1 : -1;
    }
    /* committed: give each new drop-off its id */
    for (int i = 0; i < g->n; i++) {
        if (g->out[i] || g->id_stmt[i] < 0)
            continue;
        json_int_t id = (json_int_t)db_batch_insert_id(&g->writes, g->id_stmt[i]);
        json_t *full = json_pack("{s:I}", "id", id);
        if (full && json_object_update(full, g->ans[i].body) == 0) {
            json_decref(g->ans[i].body);
            g->ans[i].body = full;
        } else {
            json_decref(full);
            rc = -1;            /* out of memory after the commit: 500, a replay heals */
        }
    }
    return rc;
}

/* After the commit: a refusal that is not stored must not hide a stored
 * answer (replays come before every other check of a request). */
static int stored_first(struct db *d, const struct dropoff_in *in, struct ledger_answer *ans)
{
    if (!ans->no_store || !in->key)
        return LEDGER_OK;
    struct ledger_answer stored;
    int found = ledger_replay(d, in->scope, in->key, in->fp, &stored);
    if (found < 0)
        return LEDGER_ERR;
    if (found == 1) {
        ledger_answer_release(ans);
        *ans = stored;
    }
    return LEDGER_OK;
}

static int run_alone(struct db *d, const struct dropoff_in *in, struct ledger_answer *ans);

int ledger_dropoffs(struct db *d, const struct dropoff_in *const *in, int n,
                    struct ledger_answer *ans, int *rc)
{
    pthread_once(&sql_once, build_sql);
    if (n < 1 || n > LEDGER_GROUP_MAX)
        return 0;
    bool out[LEDGER_GROUP_MAX] = { false };
    int id_stmt[LEDGER_GROUP_MAX], idem_stmt[LEDGER_GROUP_MAX];
    struct group g = { in, ans, n, out, id_stmt, idem_stmt, { 0 }, -1 };
    db_batch_init(&g.writes, d);
    for (int i = 0; i < n; i++) {
        memset(&ans[i], 0, sizeof ans[i]);
        rc[i] = LEDGER_OK;
        if (!in[i]->refusal.status &&
            (in[i]->nlines < 1 || in[i]->nlines > DROPOFF_MAX_LINES)) {
            out[i] = true;
            rc[i] = LEDGER_ERR;
        }
    }
    int left = 0;
    for (int i = 0; i < n; i++)
        left += !out[i];
    int txrc = 0;
    while (left > 0) {
        atomic_fetch_add(&wb_stats.dropoff_groups, 1);
        atomic_fetch_add(&wb_stats.dropoffs_grouped, (unsigned long)left);
        txrc = db_tx(d, group_tx, &g);
        if (txrc != 1 || g.twin < 0)
            break;
        /* a twin stored this key first: answer it from the record */
        int t = g.twin;
        ledger_answer_release(&ans[t]);
        int found = ledger_replay(d, in[t]->scope, in[t]->key, in[t]->fp, &ans[t]);
        rc[t] = found == 1 ? LEDGER_OK : LEDGER_ERR;
        out[t] = true;
        left--;
    }
    db_batch_free(&g.writes);
    for (int i = 0; i < n && left > 0; i++) {
        if (out[i])
            continue;
        if (txrc == 0) {
            rc[i] = stored_first(d, in[i], &ans[i]);
            if (ans[i].moved && rc[i] == LEDGER_OK)
                atomic_fetch_add(&wb_stats.ledger_writes, 1);
            if (rc[i] == LEDGER_OK && ans[i].status == 201 && !ans[i].replayed &&
                in[i]->backdated)
                atomic_fetch_add(&wb_stats.dropoffs_backdated, 1);
            continue;
        }
        if (txrc == -1 && left > 1 && !db_dead(d)) {
            rc[i] = run_alone(d, in[i], &ans[i]);    /* isolate what failed */
            continue;
        }
        /* the household's cache entry is dropped on an unknown outcome */
        long long hid = ans[i].household_id;
        ledger_answer_release(&ans[i]);
        memset(&ans[i], 0, sizeof ans[i]);
        ans[i].household_id = hid;
        rc[i] = txrc == -2 ? LEDGER_UNKNOWN : LEDGER_ERR;
    }
    return n;
}

static int run_alone(struct db *d, const struct dropoff_in *in, struct ledger_answer *ans)
{
    int rc;
    ledger_answer_release(ans);
    ledger_dropoffs(d, &in, 1, ans, &rc);
    return rc;
}

int ledger_dropoff(struct db *d, const struct dropoff_in *in, struct ledger_answer *ans)
{
    int rc;
    ledger_dropoffs(d, &in, 1, ans, &rc);
    return rc;
}
