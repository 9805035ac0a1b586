/* staff.c - see staff.h. */
#include "db/staff.h"
#include "db/db.h"

#include <stdio.h>
#include <string.h>

#define STAFF_COLS \
    "id, username, role, COALESCE(region_id, 0), COALESCE(site_id, 0), " \
    "COALESCE(shop_id, 0), display_name, status, token_version, " \
    "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s'), password_hash"

static const char SQL_BY_NAME[] = "SELECT " STAFF_COLS " FROM staff WHERE username = ?";
static const char SQL_BY_ID[] = "SELECT " STAFF_COLS " FROM staff WHERE id = ?";
static const char SQL_INSERT[] =
    "INSERT INTO staff (username, password_hash, role, region_id, site_id, shop_id, "
    "display_name) VALUES (?, ?, ?, NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0), ?)";

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

static int fill(struct db_rows *r, struct staff *s)
{
    if (!r)
        return -1;
    int found = 0;
    if (db_rows_next(r)) {
        memset(s, 0, sizeof *s);
        s->id = db_rows_int(r, 0);
        copy(s->username, sizeof s->username, db_rows_str(r, 1, NULL));
        copy(s->role, sizeof s->role, db_rows_str(r, 2, NULL));
        s->region_id = db_rows_int(r, 3);
        s->site_id = db_rows_int(r, 4);
        s->shop_id = db_rows_int(r, 5);
        copy(s->display_name, sizeof s->display_name, db_rows_str(r, 6, NULL));
        copy(s->status, sizeof s->status, db_rows_str(r, 7, NULL));
        s->token_version = db_rows_int(r, 8);
        copy(s->created_at, sizeof s->created_at, db_rows_str(r, 9, NULL));
        copy(s->password_hash, sizeof s->password_hash, db_rows_str(r, 10, NULL));
        found = 1;
    }
    db_rows_free(r);
    return found;
}

int staff_by_username(struct db *d, const char *username, struct staff *out)
{
    return fill(db_query(d, SQL_BY_NAME, "s", username), out);
}

int staff_by_id(struct db *d, long long id, struct staff *out)
{
    return fill(db_query(d, SQL_BY_ID, "i", id), out);
}

long long staff_insert(struct db *d, const struct staff *s)
{
    if (db_exec(d, SQL_INSERT, "sssiiis", s->username, s->password_hash, s->role,
                s->region_id, s->site_id, s->shop_id, s->display_name) < 0)
        return -1;
    return (long long)db_insert_id(d);
}
