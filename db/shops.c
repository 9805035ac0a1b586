/* shops.c - see shops.h. */
#include "db/shops.h"
#include "db/db.h"

#include <stdio.h>
#include <string.h>

static const char SQL_GET[] =
    "SELECT s.id, s.region_id, s.name, s.address, g.path "
    "FROM shops s JOIN regions g ON g.id = s.region_id WHERE s.id = ?";
static const char SQL_INSERT[] =
    "INSERT INTO shops (region_id, name, address) VALUES (?, ?, ?)";
static const char SQL_IDS_PAGE[] =
    "SELECT s.id FROM shops s JOIN regions g ON g.id = s.region_id "
    "WHERE g.path LIKE CONCAT(?, '%') AND s.id > ? ORDER BY s.id LIMIT ?";

int shop_get(struct db *d, long long id, struct shop *out)
{
    struct db_rows *r = db_query(d, SQL_GET, "i", id);
    if (!r)
        return -1;
    int found = 0;
    if (db_rows_next(r)) {
        memset(out, 0, sizeof *out);
        out->id = db_rows_int(r, 0);
        out->region_id = db_rows_int(r, 1);
        snprintf(out->name, sizeof out->name, "%s", db_rows_str(r, 2, NULL));
        snprintf(out->address, sizeof out->address, "%s", db_rows_str(r, 3, NULL));
        snprintf(out->region_path, sizeof out->region_path, "%s", db_rows_str(r, 4, NULL));
        found = 1;
    }
    db_rows_free(r);
    return found;
}

long long shop_insert(struct db *d, const struct shop *s)
{
    if (db_exec(d, SQL_INSERT, "iss", s->region_id, s->name, s->address) < 0)
        return -1;
    return (long long)db_insert_id(d);
}

struct db_rows *shop_ids_page(struct db *d, const char *root_path, long long after, int max)
{
    return db_query(d, SQL_IDS_PAGE, "sii", root_path, after, (long long)max);
}
