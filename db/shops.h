/* shops.h - partner shops where residents spend points. */
#ifndef WB_SHOPS_H
#define WB_SHOPS_H

struct db;

struct shop {
    long long id;
    long long region_id;
    char name[401];
    char address[801];
    char region_path[256];
};

/* 1 found, 0 none, -1 error. */
int shop_get(struct db *d, long long id, struct shop *out);

/* Insert; returns the id or -1. */
long long shop_insert(struct db *d, const struct shop *s);

/* A page of the ids of the shops in the subtree whose root has path
 * root_path ("/" is everything), in id order, those after id `after`, at
 * most max rows (a page's limit + 1).  Returns the rows (column 0 the id),
 * which the caller frees with db_rows_free; NULL on error. */
struct db_rows;
struct db_rows *shop_ids_page(struct db *d, const char *root_path, long long after, int max);

#endif
