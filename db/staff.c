/* staff.c - see staff.h. */
#include "db/staff.h"
#include "db/db.h"
#include "db/regions.h"
#include "db/shops.h"
#include "db/sites.h"

#include <stdio.h>
#include <string.h>

#define STAFF_COLS \
    "s.id, s.username, s.role, COALESCE(s.region_id, 0), COALESCE(s.site_id, 0), " \
    "COALESCE(s.shop_id, 0), s.display_name, s.status, s.token_version, " \
    "UNIX_TIMESTAMP(s.created_at), s.password_hash, COALESCE(g.path, ''), " \
    "COALESCE(s.reach_region_id, 0), COALESCE(rg.path, '') " \
    "FROM staff s LEFT JOIN regions g ON g.id = s.region_id " \
    "LEFT JOIN regions rg ON rg.id = s.reach_region_id "

static const char SQL_BY_NAME[] = "SELECT " STAFF_COLS "WHERE s.username = ?";
static const char SQL_BY_ID[] = "SELECT " STAFF_COLS "WHERE s.id = ?";
static const char SQL_UPDATE[] =
    "UPDATE staff SET status = COALESCE(?, status), display_name = COALESCE(?, display_name), "
    "password_hash = COALESCE(?, password_hash), token_version = token_version + ? "
    "WHERE id = ?";
static const char SQL_INSERT[] =
    "INSERT INTO staff (username, password_hash, role, region_id, site_id, shop_id, "
    "reach_region_id, display_name) "
    "VALUES (?, ?, ?, NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0), ?)";

bool staff_username_canon(const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (n < 1 || n > STAFF_USERNAME_MAX || n >= cap) {
        if (cap)
            out[0] = '\0';
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch - 'A' + 'a');   /* ASCII only: no locale */
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '.' || ch == '-')) {
            out[0] = '\0';
            return false;
        }
        out[i] = (char)ch;
    }
    out[n] = '\0';
    return true;
}

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
        s->created_at = db_rows_int(r, 9);
        copy(s->password_hash, sizeof s->password_hash, db_rows_str(r, 10, NULL));
        copy(s->region_path, sizeof s->region_path, db_rows_str(r, 11, NULL));
        s->reach_region_id = db_rows_int(r, 12);
        copy(s->reach_path, sizeof s->reach_path, db_rows_str(r, 13, NULL));
        found = 1;
    }
    db_rows_free(r);
    return found;
}

int staff_by_username(struct db *d, const char *username, struct staff *out)
{
    int rc = fill(db_query(d, SQL_BY_NAME, "s", username), out);
    /* The collation matches more than the bytes: a stored name from before
     * names were canonical, or a spelling it folds, is not this name. */
    if (rc == 1 && strcmp(out->username, username) != 0)
        rc = 0;
    return rc;
}

int staff_by_id(struct db *d, long long id, struct staff *out)
{
    return fill(db_query(d, SQL_BY_ID, "i", id), out);
}

/* The widest reach a role allows (staff_insert's default): the county of
 * an attendant's site or a clerk's shop, a region admin's or an
 * inspector's own region,
 * nothing for an admin.  0 or -1. */
static int default_reach(struct db *d, const struct staff *s, long long *out)
{
    long long place = 0;
    *out = 0;
    if (strcmp(s->role, "region_admin") == 0 || strcmp(s->role, "inspector") == 0) {
        *out = s->region_id;
        return 0;
    }
    if (strcmp(s->role, "attendant") == 0 && s->site_id) {
        struct site x;
        int rc = site_get(d, s->site_id, &x);
        if (rc < 0)
            return -1;
        place = rc ? x.region_id : 0;
    } else if (strcmp(s->role, "clerk") == 0 && s->shop_id) {
        struct shop x;
        int rc = shop_get(d, s->shop_id, &x);
        if (rc < 0)
            return -1;
        place = rc ? x.region_id : 0;
    }
    return place ? region_county_of(d, place, out) : 0;
}

long long staff_insert(struct db *d, const struct staff *s)
{
    /* every writer stores the canonical name, whatever its own checks
     * (wbctl create-admin accepts upper case) */
    char name[STAFF_USERNAME_MAX + 1];
    if (!staff_username_canon(s->username, name, sizeof name))
        return -1;
    long long reach = s->reach_region_id;
    if (!reach && strcmp(s->role, "admin") != 0 && default_reach(d, s, &reach) != 0)
        return -1;
    if (db_exec(d, SQL_INSERT, "sssiiiis", name, s->password_hash, s->role,
                s->region_id, s->site_id, s->shop_id, reach, s->display_name) < 0)
        return -1;
    return (long long)db_insert_id(d);
}

long long staff_update(struct db *d, long long id, const char *status,
                       const char *display_name, const char *password_hash, bool bump)
{
    return db_exec(d, SQL_UPDATE, "sssii", status, display_name, password_hash,
                   bump ? 1LL : 0LL, id);
}
