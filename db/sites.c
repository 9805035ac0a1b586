/* sites.c - see sites.h. */
#include "db/sites.h"
#include "db/db.h"

#include <stdio.h>
#include <string.h>

static const char SQL_GET[] =
    "SELECT s.id, s.region_id, s.name, s.tier, s.network, s.address, "
    "s.lat_e6 IS NOT NULL, COALESCE(s.lat_e6, 0), COALESCE(s.lng_e6, 0), g.path "
    "FROM sites s JOIN regions g ON g.id = s.region_id WHERE s.id = ?";
static const char SQL_INSERT[] =
    "INSERT INTO sites (region_id, name, tier, network, address, lat_e6, lng_e6) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";

int site_get(struct db *d, long long id, struct site *out)
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
        snprintf(out->tier, sizeof out->tier, "%s", db_rows_str(r, 3, NULL));
        snprintf(out->network, sizeof out->network, "%s", db_rows_str(r, 4, NULL));
        snprintf(out->address, sizeof out->address, "%s", db_rows_str(r, 5, NULL));
        out->has_geo = db_rows_int(r, 6) != 0;
        out->lat_e6 = db_rows_int(r, 7);
        out->lng_e6 = db_rows_int(r, 8);
        snprintf(out->region_path, sizeof out->region_path, "%s", db_rows_str(r, 9, NULL));
        found = 1;
    }
    db_rows_free(r);
    return found;
}

long long site_insert(struct db *d, const struct site *s)
{
    struct db_param p[] = {
        { 'i', s->region_id, NULL, 0 },
        { 's', 0, s->name, 0 },
        { 's', 0, s->tier, 0 },
        { 's', 0, s->network, 0 },
        { 's', 0, s->address, 0 },
        { s->has_geo ? 'i' : 'n', s->lat_e6, NULL, 0 },
        { s->has_geo ? 'i' : 'n', s->lng_e6, NULL, 0 },
    };
    if (db_exec_params(d, SQL_INSERT, p, 7) < 0)
        return -1;
    return (long long)db_insert_id(d);
}
