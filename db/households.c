/* households.c - see households.h. */
#include "db/households.h"
#include "db/db.h"
#include "db/batch.h"

#include <stdio.h>
#include <string.h>

#define HH_COLS \
    "h.id, h.region_id, h.head_name, h.address, h.phone, h.members, h.status, h.balance, " \
    "h.seq, h.card_gen, h.token_version, h.pin_hash IS NOT NULL, " \
    "UNIX_TIMESTAMP(h.created_at), g.path, g.name, h.debt "

static const char SQL_GET[] =
    "SELECT " HH_COLS "FROM households h JOIN regions g ON g.id = h.region_id WHERE h.id = ?";
/* Lock the household row alone first (design.md: never a shared lock on it
 * before the exclusive one), then read it with the region.  The second
 * read is a consistent read: callers inside a transaction must not have
 * read anything before (its snapshot would predate the lock); money
 * transactions use household_lock, whose locking read is always current. */
static const char SQL_LOCK[] = "SELECT id FROM households WHERE id = ? FOR UPDATE";
static const char SQL_LOCK_HEAD[] =
    "SELECT id, region_id, status, balance, seq, card_gen, head_name, debt FROM households "
    "WHERE id = ? "
    "FOR UPDATE";
static const char SQL_INSERT[] =
    "INSERT INTO households (region_id, head_name, address, phone, members) "
    "VALUES (?, ?, ?, ?, ?)";
static const char SQL_UPDATE[] =
    "UPDATE households SET head_name = COALESCE(?, head_name), "
    "address = COALESCE(?, address), phone = IF(?, ?, phone), "
    "members = IF(? < 0, members, ?), "
    /* closed_at first: an assignment sees the ones before it */
    "closed_at = CASE WHEN ? = 'closed' THEN IF(status = 'closed', closed_at, NOW(6)) "
    "WHEN ? IS NULL THEN closed_at ELSE NULL END, "
    "status = COALESCE(?, status) WHERE id = ?";
static const char SQL_REISSUE[] =
    "UPDATE households SET card_gen = card_gen + 1, token_version = token_version + 1 "
    "WHERE id = ?";
static const char SQL_BUMP[] =
    "UPDATE households SET token_version = token_version + 1 WHERE id = ?";

int household_get(struct db *d, long long id, struct household *out, bool for_update)
{
    if (for_update) {
        long long got;
        int rc = db_query_int(d, &got, SQL_LOCK, "i", id);
        if (rc <= 0)
            return rc;
    }
    struct db_rows *r = db_query(d, SQL_GET, "i", id);
    if (!r)
        return -1;
    int found = 0;
    if (db_rows_next(r)) {
        memset(out, 0, sizeof *out);
        out->id = db_rows_int(r, 0);
        out->region_id = db_rows_int(r, 1);
        snprintf(out->head_name, sizeof out->head_name, "%s", db_rows_str(r, 2, NULL));
        snprintf(out->address, sizeof out->address, "%s", db_rows_str(r, 3, NULL));
        out->has_phone = !db_rows_null(r, 4);
        snprintf(out->phone, sizeof out->phone, "%s", db_rows_str(r, 4, NULL));
        out->members = db_rows_int(r, 5);
        snprintf(out->status, sizeof out->status, "%s", db_rows_str(r, 6, NULL));
        out->balance = db_rows_int(r, 7);
        out->seq = db_rows_int(r, 8);
        out->card_gen = db_rows_int(r, 9);
        out->token_version = db_rows_int(r, 10);
        out->pin_set = db_rows_int(r, 11) != 0;
        out->created_at = db_rows_int(r, 12);
        snprintf(out->region_path, sizeof out->region_path, "%s", db_rows_str(r, 13, NULL));
        snprintf(out->region_name, sizeof out->region_name, "%s", db_rows_str(r, 14, NULL));
        out->debt = db_rows_int(r, 15);
        found = 1;
    }
    db_rows_free(r);
    return found;
}

int household_head_read(struct db_rows *r, struct household_head *out)
{
    if (!db_rows_next(r))
        return 0;
    out->id = db_rows_int(r, 0);
    out->region_id = db_rows_int(r, 1);
    snprintf(out->status, sizeof out->status, "%s", db_rows_str(r, 2, NULL));
    out->balance = db_rows_int(r, 3);
    out->seq = db_rows_int(r, 4);
    out->card_gen = db_rows_int(r, 5);
    snprintf(out->head_name, sizeof out->head_name, "%s", db_rows_str(r, 6, NULL));
    out->debt = db_rows_int(r, 7);
    return 1;
}

int household_lock_add(struct db_batch *b, long long id)
{
    return db_batch_add(b, SQL_LOCK_HEAD, "i", id);
}

int household_lock(struct db *d, long long id, struct household_head *out)
{
    struct db_rows *r = db_query(d, SQL_LOCK_HEAD, "i", id);
    if (!r)
        return -1;
    int found = household_head_read(r, out);
    db_rows_free(r);
    return found;
}

long long household_insert(struct db *d, const struct household *h)
{
    if (db_exec(d, SQL_INSERT, "isssi", h->region_id, h->head_name, h->address,
                h->has_phone ? h->phone : NULL, h->members) < 0)
        return -1;
    return (long long)db_insert_id(d);
}

long long household_update(struct db *d, long long id, const char *head_name,
                           const char *address, bool set_phone, const char *phone,
                           long long members, const char *status)
{
    return db_exec(d, SQL_UPDATE, "ssisiisssi", head_name, address, set_phone ? 1LL : 0LL,
                   phone, members, members, status, status, status, id);
}

int household_reissue(struct db *d, long long id)
{
    return db_exec(d, SQL_REISSUE, "i", id) < 0 ? -1 : 0;
}

int household_bump_tokens(struct db *d, long long id)
{
    return db_exec(d, SQL_BUMP, "i", id) < 0 ? -1 : 0;
}
