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

#endif
