/* catalog.h - recyclable categories and their versioned rates.
 *
 * A rate is points per kg (unit g) or per item, with an effective_from
 * time, for the default (region_key 0) or for a region's subtree.  A line
 * is paid at the version with the greatest effective_from <= its time, for
 * the household's region, else the nearest ancestor's, else the default. */
#ifndef WB_CATALOG_H
#define WB_CATALOG_H

#include <stdbool.h>

struct db;

#define CATALOG_MAX 256

struct category {
    int id;
    char code[33];
    char name[401];
    char name_zh[401];
    bool per_item;            /* unit "item"; else "g" */
    bool has_cap;
    long long daily_cap;
};

struct rate {
    long long id;             /* 0: no rate in force */
    long long ppu;            /* points per kg or per item */
};

/* The whole catalogue, cached on the connection for two seconds
 * (categories are few and rarely change) or until catalog_invalidate().
 * Returns the count (>= 0) or -1; *out points at memory owned by d, valid
 * until the next catalog call on d or db_close(d). */
int catalog_all(struct db *d, const struct category **out);

/* As catalog_all, read from the table now into d's copy only (a list that
 * must show a category created a moment ago elsewhere): the other
 * connections keep their caches. */
int catalog_all_fresh(struct db *d, const struct category **out);

/* Find by code in the cached catalogue (a miss reloads d's copy once: the
 * category may be a moment old).  1 found (*out points at memory owned by
 * d, as catalog_all's), 0 no such category, -1 the catalogue could not be
 * read (error left on d).  A caller must never answer -1 as
 * "unknown": that turns a store outage into a client refusal. */
int catalog_find(struct db *d, const char *code, const struct category **out);

/* Have every connection of this process read the catalogue again on its
 * next use (after adding a category).  Needs no
 * connection: it moves a process-wide generation, safe from any thread.
 * Other instances see a new category within the two seconds. */
void catalog_invalidate(void);

/* Rates in force at time `at` for the region with materialised path
 * region_path, one per category of the catalogue: out[i] matches
 * cats[i].  0 or -1.
 *
 * Every rate version is cached on the connection; `count` is the rates table's
 * row count read by CATALOG_RATES_COUNT_SQL in the caller's transaction
 * (rates are only inserted, so the count names the version of the table).
 * Pass -1 to have it read here.  The cache is reloaded when it differs. */
int catalog_rates(struct db *d, long long count, const char *region_path, long long at,
                  const struct category *cats, int ncats, struct rate *out);
extern const char CATALOG_RATES_COUNT_SQL[];

/* Inside a transaction: count the categories, locking them so that a
 * concurrent creation waits.  0 or -1. */
int catalog_count_locked(struct db *d, long long *n);

/* Insert a category; returns its id or -1 (DB_DUP: code taken). */
long long category_insert(struct db *d, const struct category *c);

/* Which rate versions a history lists (rate_history). */
struct rate_query {
    int category_id;          /* 0: every category */
    const char *region_path;  /* the region the history is for ("/": all) */
    const char *in_force_ids; /* comma-separated ids of the versions in force
                               * for that region ("" none): the in_force column */
    int only;                 /* 0 every version, 1 those in force, 2 the others */
    long long before_from;    /* a page: the versions after (before_from, before_id) */
    long long before_id;      /* in the list's order; both LLONG_MAX: from the top */
    int limit;                /* rows to read */
};

/* The rate versions that concern the region with path q->region_path:
 * the default's, its own and its ancestors' (those that may apply to it)
 * and those set anywhere in its subtree; newest effective_from first,
 * then newest id.  Rows (id, category code, region_key (0 the default),
 * region name (NULL for the default), points_per_unit, effective_from
 * epoch, created_at epoch, created_by, in_force 0/1).  NULL on error. */
struct db_rows *rate_history(struct db *d, const struct rate_query *q);

/* The effective_from of rate version id: 1 (*from set), 0 no such
 * version, -1 error. */
int rate_effective_from(struct db *d, long long id, long long *from);

/* Insert a rate version; returns its id or -1. */
long long rate_insert(struct db *d, int category_id, long long region_key, long long ppu,
                      long long effective_from, const char *created_by);

#endif
