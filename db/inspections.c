/* inspections.c - see inspections.h. */
#include "db/inspections.h"
#include "db/audit.h"
#include "db/db.h"
#include "db/engine.h"
#include "db/households.h"
#include "db/ledger.h"
#include "db/rollup.h"
#include "server/clock.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_INSERT[] =
    "INSERT INTO inspections (household_id, region_id, inspector_id, result, streams, note, "
    "inspected_at, local_day, points, has_photo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_PHOTO_INSERT[] =
    "INSERT INTO inspection_photos (inspection_id, jpeg) VALUES (?, ?)";
static const char SQL_DAY_TAKEN[] =
    "SELECT COUNT(*) FROM inspections WHERE household_id = ? AND live_day = ?";
static const char SQL_MONTH_SETTLED[] =
    "SELECT COUNT(*) FROM inspection_settlements WHERE household_id = ? AND month = ?";
static const char SQL_OWNER[] = "SELECT household_id FROM inspections WHERE id = ?";
static const char SQL_VOID_LOCK[] =
    "SELECT status, points, DATE_FORMAT(local_day, '%Y%m%d') + 0, region_id FROM inspections "
    "WHERE id = ? FOR UPDATE";
static const char SQL_VOID[] =
    "UPDATE inspections SET status = 'voided', voided_at = NOW(6), voided_by = ?, "
    "void_reason = ?, clawed_back = ?, shortfall = ? WHERE id = ?";
static const char SQL_LOAD[] =
    "SELECT i.id, i.household_id, i.inspector_id, i.result, i.streams, i.note, i.inspected_at, "
    "i.local_day, i.points, i.has_photo, i.status, i.void_reason, i.clawed_back, i.shortfall, "
    "g.path, i.region_id, UNIX_TIMESTAMP(i.created_at) FROM inspections i "
    "JOIN regions g ON g.id = i.region_id WHERE i.id = ?";
static const char SQL_LIST[] =
    "SELECT i.id FROM regions g STRAIGHT_JOIN inspections i ON i.region_id = g.id "
    "WHERE g.path LIKE CONCAT(?, '%') AND (? = 0 OR i.household_id = ?) "
    "AND (? = 0 OR i.inspector_id = ?) AND (? = '' OR i.result = ?) "
    "AND (? = '' OR i.local_day >= ?) AND (? = '' OR i.local_day <= ?) AND i.id < ? "
    "ORDER BY i.id DESC LIMIT ?";
static const char SQL_PHOTO[] = "SELECT jpeg FROM inspection_photos WHERE inspection_id = ?";
static const char SQL_MONTH_COUNTS[] =
    "SELECT COUNT(*), COALESCE(SUM(result = 'pass'), 0), COALESCE(SUM(result = 'partial'), 0), "
    "COALESCE(SUM(result = 'fail'), 0) FROM inspections WHERE household_id = ? "
    "AND local_day BETWEEN ? AND ? AND status = 'recorded'";

bool inspection_month_days(const char *month, char first[11], char last[11])
{
    int y, m;
    char tail;
    if (!month || strlen(month) != 7 || sscanf(month, "%4d-%2d%c", &y, &m, &tail) != 2 ||
        month[4] != '-' || y < 2000 || y > 2200 || m < 1 || m > 12)
        return false;
    long long d0 = clock_days_from_civil(y, m, 1);
    long long d1 = clock_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1;
    int yy, mm, dd;
    clock_civil_from_days(d0, &yy, &mm, &dd);
    snprintf(first, 11, "%04d-%02d-%02d", yy, mm, dd);
    clock_civil_from_days(d1, &yy, &mm, &dd);
    snprintf(last, 11, "%04d-%02d-%02d", yy, mm, dd);
    return true;
}

/* ---- recording an inspection ---- */

/* The households and days this group inspected already, and the reads of
 * each operation (one pair an operation, by slot). */
struct inspect_group {
    struct { long long household_id; char day[11]; } done[LEDGER_GROUP_MAX];
    int ndone;
    struct { int day_stmt, month_stmt; } reads[LEDGER_GROUP_MAX];
};

const struct ledger_op_kind inspection_kind;

static struct inspect_group *inspect_group(struct engine_tx *tx)
{
    return engine_kind_state(tx, &inspection_kind, sizeof(struct inspect_group));
}

/* Today's local day as YYYYMMDD: an inspection recorded or voided into
 * a month that has ended marks it for the closer (db/rollup.h). */
static long long today_number(void)
{
    char today[11];
    clock_local_day(clock_now(), today, sizeof today);
    return rollup_day(today);
}

static int inspect_read(struct engine_tx *tx, struct ledger_op *op)
{
    const struct inspect_in *in = op->in;
    struct inspect_group *g = inspect_group(tx);
    if (!g || op->slot < 0 || op->slot >= LEDGER_GROUP_MAX)
        return -1;
    g->reads[op->slot].day_stmt = engine_read(tx, SQL_DAY_TAKEN, "is", in->household_id,
                                              in->local_day);
    g->reads[op->slot].month_stmt = engine_read(tx, SQL_MONTH_SETTLED, "is", in->household_id,
                                                in->month);
    return g->reads[op->slot].day_stmt < 0 || g->reads[op->slot].month_stmt < 0 ? -1 : 0;
}

static long long first_int(struct engine_tx *tx, int stmt)
{
    struct db_rows *r = engine_read_rows(tx, stmt);
    return r && db_rows_next(r) ? db_rows_int(r, 0) : -1;
}

static json_t *streams_json(const char *text)
{
    json_t *s = text ? json_loads(text, 0, NULL) : NULL;
    return s ? s : json_array();
}

static int inspect_decide(struct engine_tx *tx, struct ledger_op *op)
{
    const struct inspect_in *in = op->in;
    struct ledger_answer *ans = &op->ans;
    struct inspect_group *g = inspect_group(tx);
    struct household_head *h = engine_household(tx, in->household_id);
    if (!g)
        return -1;
    if (!h) {
        ledger_refuse(ans, 404, "not_found", "no such household");
        ans->no_store = true;
        return 0;
    }
    ans->household_id = h->id;
    if (strcmp(h->status, "active") != 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "this household is %s: it is not inspected", h->status);
        ledger_refuse(ans, 409, "household_inactive", msg);
        return 0;
    }
    long long taken = first_int(tx, g->reads[op->slot].day_stmt);
    long long settled = first_int(tx, g->reads[op->slot].month_stmt);
    if (taken < 0 || settled < 0)
        return -1;
    for (int k = 0; k < g->ndone; k++)
        if (g->done[k].household_id == h->id && strcmp(g->done[k].day, in->local_day) == 0)
            taken = 1;
    if (taken > 0) {
        ledger_refuse(ans, 409, "already_inspected",
                      "this household was inspected on that day already");
        return 0;
    }
    if (settled > 0) {
        ledger_refuse(ans, 409, "month_settled",
                      "this household's month is settled: it takes no more inspections");
        return 0;
    }
    struct db_param p[] = {
        { 'i', h->id, NULL, 0 },
        { 'i', h->region_id, NULL, 0 },
        { 'i', in->inspector_id, NULL, 0 },
        { 's', 0, in->result, 0 },
        { in->streams ? 's' : 'n', 0, in->streams, 0 },
        { in->note ? 's' : 'n', 0, in->note, 0 },
        { 'i', in->inspected_at, NULL, 0 },
        { 's', 0, in->local_day, 0 },
        { 'i', in->points, NULL, 0 },
        { 'i', in->photo ? 1 : 0, NULL, 0 },
    };
    if (engine_insert_object(tx, op, SQL_INSERT, p, 10) != 0 ||
        rollup_late(tx, h->region_id, rollup_day(in->local_day), today_number()) != 0)
        return -1;
    const char *ref = engine_ref(op);
    if (in->photo) {
        struct db_param ph[] = { { 'r', 0, ref, 0 },
                                 { 'b', 0, (const char *)in->photo, in->photo_len } };
        if (engine_write_params(tx, SQL_PHOTO_INSERT, ph, 2) < 0)
            return -1;
    }
    long long recovered = 0;
    if (in->points > 0) {
        if (engine_move(tx, h, in->points, "inspection", 0, ref, in->actor, "inspection",
                        &recovered) != 0)
            return -1;
        ans->moved = true;
    }
    snprintf(g->done[g->ndone].day, sizeof g->done[g->ndone].day, "%s", in->local_day);
    g->done[g->ndone++].household_id = h->id;
    json_t *detail = json_pack("{s:I, s:s, s:s, s:I}", "household_id", (json_int_t)h->id,
                               "result", in->result, "local_day", in->local_day, "points",
                               (json_int_t)in->points);
    int rc = audit_add(engine_write_batch(tx), in->who, "inspection.create", "inspection", 0,
                       ref, detail);
    json_decref(detail);
    if (rc != 0)
        return -1;
    char at[40];
    clock_format((time_t)in->inspected_at, at, sizeof at);
    ans->balance = h->balance;
    ans->seq = h->seq;
    ans->status = 201;
    ans->body = json_pack("{s:I, s:I, s:s, s:s, s:I, s:I, s:o, s:s?, s:b, s:s, s:s, s:b, s:b}",
                          "household_id", (json_int_t)h->id, "inspector_id",
                          (json_int_t)in->inspector_id, "result", in->result, "local_day",
                          in->local_day, "points", (json_int_t)in->points, "balance",
                          (json_int_t)h->balance, "streams", streams_json(in->streams), "note",
                          in->note, "has_photo", in->photo != NULL, "status", "recorded",
                          "inspected_at", at, "backdated", in->backdated, "replayed", 0);
    if (ans->body && recovered > 0)
        json_object_set_new(ans->body, "recovered", json_integer(recovered));
    return ans->body ? 0 : -1;
}

const struct ledger_op_kind inspection_kind = { "inspection", NULL, inspect_read,
                                                inspect_decide };

void inspection_op(struct ledger_op *op, const struct inspect_in *in)
{
    memset(op, 0, sizeof *op);
    op->kind = &inspection_kind;
    op->in = (void *)(uintptr_t)in;
    op->scope = in->scope;
    op->key = in->key;
    memcpy(op->fp, in->fp, sizeof op->fp);
    op->household_id = in->household_id;
}

/* ---- voiding one ---- */

struct void_group {
    struct engine_undo undo;
    struct { long long points, day, region_id; int stmt; bool voided; } recs[LEDGER_GROUP_MAX];
};

const struct ledger_op_kind inspection_void_kind;

static struct void_group *void_group(struct engine_tx *tx)
{
    return engine_kind_state(tx, &inspection_void_kind, sizeof(struct void_group));
}

/* The inspection's household never changes: find it before the lock. */
static int void_resolve(struct db *d, struct ledger_op *op)
{
    const struct inspection_void_in *in = op->in;
    return engine_undo_owner(d, op, SQL_OWNER, in->inspection_id, "inspection");
}

static int void_read(struct engine_tx *tx, struct ledger_op *op)
{
    const struct inspection_void_in *in = op->in;
    struct void_group *g = void_group(tx);
    if (!g)
        return -1;
    bool added;
    int k = engine_undo_add(&g->undo, in->inspection_id, &added);
    if (k < 0 || !added)
        return k < 0 ? -1 : 0;
    g->recs[k].stmt = engine_read(tx, SQL_VOID_LOCK, "i", in->inspection_id);
    return g->recs[k].stmt < 0 ? -1 : 0;
}

static int void_decide(struct engine_tx *tx, struct ledger_op *op)
{
    const struct inspection_void_in *in = op->in;
    struct ledger_answer *ans = &op->ans;
    struct void_group *g = void_group(tx);
    struct household_head *h = engine_household(tx, op->household_id);
    if (!g || !h)
        return -1;
    ans->household_id = h->id;
    int k = engine_undo_find(&g->undo, in->inspection_id);
    if (k < 0)
        return -1;
    if (!g->undo.parsed[k]) {
        struct db_rows *r = engine_read_rows(tx, g->recs[k].stmt);
        if (!r || !db_rows_next(r))
            return -1;
        g->recs[k].voided = strcmp(db_rows_str(r, 0, NULL), "voided") == 0;
        g->recs[k].points = db_rows_int(r, 1);
        g->recs[k].day = db_rows_int(r, 2);
        g->recs[k].region_id = db_rows_int(r, 3);
        g->undo.parsed[k] = true;
    }
    bool voided = g->recs[k].voided || g->undo.taken[k];
    long long points = g->recs[k].points;
    if (voided) {
        ledger_refuse(ans, 409, "already_voided", "this inspection was voided already");
        return 0;
    }
    g->undo.taken[k] = true;
    /* what the balance cannot give back stays owed (db/ledger.h, recovery) */
    long long clawed = 0;
    if (engine_claw_back(tx, h, points, "inspection_void", in->inspection_id, in->actor,
                         in->reason, &clawed) != 0)
        return -1;
    ans->moved = clawed > 0;
    if (engine_write(tx, SQL_VOID, "ssiii", in->actor, in->reason, clawed, points - clawed,
                     in->inspection_id) < 0 ||
        rollup_late(tx, g->recs[k].region_id, g->recs[k].day, today_number()) != 0)
        return -1;
    json_t *detail = json_pack("{s:I, s:I, s:s}", "clawed_back", (json_int_t)clawed,
                               "shortfall", (json_int_t)(points - clawed), "reason", in->reason);
    int rc = audit_add(engine_write_batch(tx), in->who, "inspection.void", "inspection",
                       in->inspection_id, NULL, detail);
    json_decref(detail);
    if (rc != 0)
        return -1;
    ans->balance = h->balance;
    ans->seq = h->seq;
    ans->status = 200;
    ans->body = json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "id",
                          (json_int_t)in->inspection_id, "status", "voided", "household_id",
                          (json_int_t)h->id, "points", (json_int_t)points, "clawed_back",
                          (json_int_t)clawed, "shortfall", (json_int_t)(points - clawed),
                          "balance", (json_int_t)h->balance, "debt", (json_int_t)h->debt);
    return ans->body ? 0 : -1;
}

const struct ledger_op_kind inspection_void_kind = { "inspection void", void_resolve, void_read,
                                                     void_decide };

void inspection_void_op(struct ledger_op *op, const struct inspection_void_in *in)
{
    memset(op, 0, sizeof *op);
    op->kind = &inspection_void_kind;
    op->in = (void *)(uintptr_t)in;
}

/* ---- reading ---- */

json_t *inspection_load(struct db *d, long long id, int *found, char *path)
{
    struct db_rows *r = db_query(d, SQL_LOAD, "i", id);
    if (!r) {
        *found = -1;
        return NULL;
    }
    if (!db_rows_next(r)) {
        db_rows_free(r);
        *found = 0;
        return NULL;
    }
    char at[40], created[40];
    clock_format((time_t)db_rows_int(r, 6), at, sizeof at);
    clock_format((time_t)db_rows_int(r, 16), created, sizeof created);
    bool voided = strcmp(db_rows_str(r, 10, NULL), "voided") == 0;
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:I, s:s, s:o, s:s?, s:s, s:s, s:I, s:b, s:s, s:s}", "id",
        (json_int_t)db_rows_int(r, 0), "household_id", (json_int_t)db_rows_int(r, 1),
        "inspector_id", (json_int_t)db_rows_int(r, 2), "region_id",
        (json_int_t)db_rows_int(r, 15), "result", db_rows_str(r, 3, NULL), "streams",
        streams_json(db_rows_null(r, 4) ? NULL : db_rows_str(r, 4, NULL)), "note",
        db_rows_null(r, 5) ? NULL : db_rows_str(r, 5, NULL), "inspected_at", at, "local_day",
        db_rows_str(r, 7, NULL), "points", (json_int_t)db_rows_int(r, 8), "has_photo",
        db_rows_int(r, 9) != 0, "status", db_rows_str(r, 10, NULL), "created_at", created);
    if (o && voided) {
        json_object_set_new(o, "void_reason", json_string(db_rows_str(r, 11, NULL)));
        json_object_set_new(o, "clawed_back", json_integer(db_rows_int(r, 12)));
        json_object_set_new(o, "shortfall", json_integer(db_rows_int(r, 13)));
    }
    if (path)
        snprintf(path, 256, "%s", db_rows_str(r, 14, NULL));
    db_rows_free(r);
    *found = o ? 1 : -1;
    return o;
}

struct db_rows *inspection_list(struct db *d, const char *root, long long household_id,
                                long long inspector_id, const char *result, const char *from,
                                const char *to, long long before, int limit)
{
    return db_query(d, SQL_LIST, "siiiissssssii", root, household_id, household_id,
                    inspector_id, inspector_id, result, result, from, from, to, to, before,
                    (long long)limit);
}

int inspection_photo(struct db *d, long long id, unsigned char **jpeg, size_t *len)
{
    struct db_rows *r = db_query(d, SQL_PHOTO, "i", id);
    if (!r)
        return -1;
    int rc = 0;
    if (db_rows_next(r)) {
        size_t n = 0;
        const char *b = db_rows_str(r, 0, &n);
        *jpeg = malloc(n ? n : 1);
        if (*jpeg) {
            memcpy(*jpeg, b, n);
            *len = n;
            rc = 1;
        } else {
            rc = -1;
        }
    }
    db_rows_free(r);
    return rc;
}

int inspection_month_counts(struct db *d, long long household_id, const char *month,
                            struct inspection_counts *out)
{
    char first[11], last[11];
    memset(out, 0, sizeof *out);
    if (!inspection_month_days(month, first, last))
        return 0;
    struct db_rows *r = db_query(d, SQL_MONTH_COUNTS, "iss", household_id, first, last);
    if (!r)
        return -1;
    if (db_rows_next(r)) {
        out->inspections = db_rows_int(r, 0);
        out->pass = db_rows_int(r, 1);
        out->partial = db_rows_int(r, 2);
        out->fail = db_rows_int(r, 3);
    }
    db_rows_free(r);
    return 0;
}
