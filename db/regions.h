/* regions.h - the administrative tree.  Every region stores the
 * materialised path of ids from its province ('/1/4/9/'), so "is X inside
 * Y's subtree" is a prefix test and lists filter with one LIKE. */
#ifndef WB_REGIONS_H
#define WB_REGIONS_H

#include <stdbool.h>
#include <stddef.h>

struct db;

struct region {
    long long id;
    long long parent_id;      /* 0 for a province */
    char name[401];
    char level[12];
    char code[13];
    char path[256];
};

/* Rank of a level: province 0, city 1, county 2, town 3, village and
 * community 4; -1 for an unknown name. */
int region_level_rank(const char *level);

/* 1 found, 0 none, -1 error. */
int region_get(struct db *d, long long id, struct region *out);

/* Insert under parent (NULL for a province; its path must be known) and
 * set the path, inside the caller's transaction.  Returns the id or -1
 * (db_errkind DB_DUP: code taken). */
long long region_insert(struct db *d, const struct region *parent, const char *name,
                        const char *level, const char *code);

/* The next id of a materialised path ("/1/4/9/"), *p at the character
 * after a '/' (path + 1 to begin): 1 with *id and *p moved past it, 0 at
 * the end, -1 when the path is malformed. */
int region_path_next(const char **p, long long *id);

/* true when path (of some region) lies in the subtree whose root has
 * root_path; root_path "/" is everything. */
bool region_path_within(const char *root_path, const char *path);

/* The county a region belongs to: the nearest ancestor (or itself) whose
 * level is county; the region itself when none is.  0 or -1. */
int region_county_of(struct db *d, long long region_id, long long *county_id);

/* A region's path, from a cache on the connection (freed by db_close): a
 * region never moves, so an entry never goes stale.  0 (out filled; ""
 * when there is no such region) or -1. */
int region_path_cached(struct db *d, long long id, char *out, size_t len);

/* Households in the subtree of a region (path prefix): count or -1. */
long long region_household_count(struct db *d, const char *path);

#endif
