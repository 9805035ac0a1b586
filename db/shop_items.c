/* shop_items.c - see shop_items.h. */
#include "db/shop_items.h"
#include "db/db.h"

#include <stdio.h>
#include <string.h>

/* The columns shop_item_read reads, in its order. */
#define ITEM_COLUMNS "id, shop_id, name, points, stock, active"

static const char SQL_INSERT[] =
    "INSERT INTO shop_items (shop_id, name, points, stock) VALUES (?, ?, ?, ?)";
static const char SQL_GET[] =
    "SELECT " ITEM_COLUMNS " FROM shop_items WHERE id = ? AND shop_id = ?";
static const char SQL_PAGE[] =
    "SELECT " ITEM_COLUMNS " FROM shop_items WHERE shop_id = ? "
    "AND (? OR active) AND id > ? ORDER BY id LIMIT ?";
/* NULL keeps a column, except stock, where NULL means "not kept": its
 * first parameter says whether to set it at all */
static const char SQL_UPDATE[] =
    "UPDATE shop_items SET points = COALESCE(?, points), name = COALESCE(?, name), "
    "stock = IF(?, ?, stock), active = COALESCE(?, active) WHERE id = ? AND shop_id = ?";

long long shop_item_insert(struct db *d, long long shop_id, const char *name, long long points,
                           bool has_stock, long long stock)
{
    struct db_param p[] = {
        { 'i', shop_id, NULL, 0 },
        { 's', 0, name, 0 },
        { 'i', points, NULL, 0 },
        { has_stock ? 'i' : 'n', stock, NULL, 0 },
    };
    if (db_exec_params(d, SQL_INSERT, p, 4) < 0)
        return -1;
    return (long long)db_insert_id(d);
}

void shop_item_read(const struct db_rows *r, struct shop_item *out)
{
    memset(out, 0, sizeof *out);
    out->id = db_rows_int(r, 0);
    out->shop_id = db_rows_int(r, 1);
    snprintf(out->name, sizeof out->name, "%s", db_rows_str(r, 2, NULL));
    out->points = db_rows_int(r, 3);
    out->has_stock = !db_rows_null(r, 4);
    out->stock = out->has_stock ? db_rows_int(r, 4) : 0;
    out->active = db_rows_int(r, 5) != 0;
}

int shop_item_get(struct db *d, long long shop_id, long long id, struct shop_item *out)
{
    struct db_rows *r = db_query(d, SQL_GET, "ii", id, shop_id);
    if (!r)
        return -1;
    int found = db_rows_next(r) ? 1 : 0;
    if (found)
        shop_item_read(r, out);
    db_rows_free(r);
    return found;
}

long long shop_item_update(struct db *d, long long shop_id, long long id,
                           const struct shop_item_change *c)
{
    struct db_param p[] = {
        { c->set_points ? 'i' : 'n', c->points, NULL, 0 },
        { 's', 0, c->name, 0 },
        { 'i', c->set_stock, NULL, 0 },
        { c->set_stock && c->has_stock ? 'i' : 'n', c->stock, NULL, 0 },
        { c->set_active ? 'i' : 'n', c->active, NULL, 0 },
        { 'i', id, NULL, 0 },
        { 'i', shop_id, NULL, 0 },
    };
    return db_exec_params(d, SQL_UPDATE, p, 7);
}

struct db_rows *shop_items_page(struct db *d, long long shop_id, bool with_inactive,
                                long long after, int max)
{
    return db_query(d, SQL_PAGE, "iiii", shop_id, (long long)with_inactive, after, (long long)max);
}
