/* regions.c - see regions.h. */
#include "db/regions.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_GET[] =
    "SELECT id, COALESCE(parent_id, 0), name, level, code, path FROM regions WHERE id = ?";
static const char SQL_INSERT[] =
    "INSERT INTO regions (parent_id, name, level, code) VALUES (NULLIF(?, 0), ?, ?, ?)";
static const char SQL_SET_PATH[] = "UPDATE regions SET path = ? WHERE id = ?";
static const char SQL_HOUSEHOLDS[] =
    "SELECT COUNT(*) FROM households h JOIN regions g ON g.id = h.region_id "
    "WHERE g.path LIKE CONCAT(?, '%')";

static const char *const levels[] = { "province", "city", "county", "town", "village",
                                      "community" };

int region_level_rank(const char *level)
{
    for (int i = 0; i < 6; i++)
        if (strcmp(levels[i], level) == 0)
            return i < 5 ? i : 4;
    return -1;
}

int region_get(struct db *d, long long id, struct region *out)
{
    struct db_rows *r = db_query(d, SQL_GET, "i", id);
    if (!r)
        return -1;
    int found = 0;
    if (db_rows_next(r)) {
        memset(out, 0, sizeof *out);
        out->id = db_rows_int(r, 0);
        out->parent_id = db_rows_int(r, 1);
        snprintf(out->name, sizeof out->name, "%s", db_rows_str(r, 2, NULL));
        snprintf(out->level, sizeof out->level, "%s", db_rows_str(r, 3, NULL));
        snprintf(out->code, sizeof out->code, "%s", db_rows_str(r, 4, NULL));
        snprintf(out->path, sizeof out->path, "%s", db_rows_str(r, 5, NULL));
        found = 1;
    }
    db_rows_free(r);
    return found;
}

long long region_insert(struct db *d, const struct region *parent, const char *name,
                        const char *level, const char *code)
{
    if (db_exec(d, SQL_INSERT, "isss", parent ? parent->id : 0LL, name, level, code) < 0)
        return -1;
    long long id = (long long)db_insert_id(d);
    char path[300];
    int n = snprintf(path, sizeof path, "%s%lld/", parent ? parent->path : "/", id);
    if (n < 0 || (size_t)n >= 256) {
        /* deeper than any real tree (six levels of ids fit easily) */
        return -1;
    }
    if (db_exec(d, SQL_SET_PATH, "si", path, id) < 0)
        return -1;
    return id;
}

int region_path_next(const char **p, long long *id)
{
    if (!**p)
        return 0;
    char *end;
    long long v = strtoll(*p, &end, 10);
    if (end == *p || *end != '/' || v <= 0)
        return -1;
    *id = v;
    *p = end + 1;
    return 1;
}

bool region_path_within(const char *root_path, const char *path)
{
    size_t n = strlen(root_path);
    return n > 0 && strncmp(root_path, path, n) == 0;
}

int region_county_of(struct db *d, long long region_id, long long *county_id)
{
    struct region g;
    long long id = region_id;
    *county_id = region_id;
    /* at most six levels: walk up */
    for (int i = 0; i < 8 && id; i++) {
        int rc = region_get(d, id, &g);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return 0;
        if (strcmp(g.level, "county") == 0) {
            *county_id = g.id;
            return 0;
        }
        id = g.parent_id;
    }
    return 0;
}

long long region_household_count(struct db *d, const char *path)
{
    long long n = 0;
    if (db_query_int(d, &n, SQL_HOUSEHOLDS, "s", path) < 0)
        return -1;
    return n;
}

/* Direct-mapped, per connection (db_local): villages and communities
 * number in the hundreds per county, and a miss costs one primary-key
 * read. */
#define PATH_CACHE 512

struct path_slot {
    long long id;
    char path[256];
};

struct path_cache {
    struct path_slot slot[PATH_CACHE];
};

static const struct db_local_key path_cache_key = { sizeof(struct path_cache), NULL };

int region_path_cached(struct db *d, long long id, char *out, size_t len)
{
    /* without room for a cache, read through: a cache is no reason to
     * fail a request */
    struct path_cache *c = db_local(d, &path_cache_key);
    struct path_slot *slot = c ? &c->slot[(unsigned long long)id % PATH_CACHE] : NULL;
    if (slot && id && slot->id == id) {
        snprintf(out, len, "%s", slot->path);
        return 0;
    }
    struct region g;
    int rc = region_get(d, id, &g);
    if (rc < 0)
        return -1;
    snprintf(out, len, "%s", rc ? g.path : "");
    if (rc && slot) {
        slot->id = id;
        snprintf(slot->path, sizeof slot->path, "%s", g.path);
    }
    return 0;
}
