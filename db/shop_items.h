/* shop_items.h - a partner shop's goods, priced in points, with an
 * optional stock.  Every call names the shop as well as the item: an item
 * of another shop is "none", so a caller that reached the shop cannot
 * touch another's goods by id. */
#ifndef WB_SHOP_ITEMS_H
#define WB_SHOP_ITEMS_H

#include <stdbool.h>

struct db;
struct db_rows;

struct shop_item {
    long long id;
    long long shop_id;
    char name[401];
    long long points;
    bool has_stock;             /* false: no stock kept (unlimited) */
    long long stock;
    bool active;                /* false: withdrawn, shown to admins only */
};

/* Insert an active item into shop shop_id (no stock kept when !has_stock).
 * Returns its id or -1. */
long long shop_item_insert(struct db *d, long long shop_id, const char *name, long long points,
                           bool has_stock, long long stock);

/* Item id of shop shop_id: 1 found (*out filled), 0 none (or another
 * shop's), -1 error. */
int shop_item_get(struct db *d, long long shop_id, long long id, struct shop_item *out);

/* What an update changes; whatever is not set keeps its value. */
struct shop_item_change {
    bool set_points;
    long long points;
    const char *name;           /* NULL: keep */
    bool set_stock;             /* then has_stock false: stop keeping stock */
    bool has_stock;
    long long stock;
    bool set_active;
    bool active;
};

/* Apply c to item id of shop shop_id.  Returns the rows matched (0: no
 * such item in that shop) or -1. */
long long shop_item_update(struct db *d, long long shop_id, long long id,
                           const struct shop_item_change *c);

/* A page of shop shop_id's items in id order, those after id `after`, at
 * most max rows (a page's limit + 1, so that the caller sees there is
 * more); withdrawn items only when with_inactive.  Returns the rows, to
 * read with shop_item_read (column 0 is the id, for a cursor), which the
 * caller frees with db_rows_free; NULL on error. */
struct db_rows *shop_items_page(struct db *d, long long shop_id, bool with_inactive,
                                long long after, int max);

/* The current row of shop_items_page's rows, into out. */
void shop_item_read(const struct db_rows *r, struct shop_item *out);

#endif
