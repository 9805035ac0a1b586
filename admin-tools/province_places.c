/* province_places.c - the places of a seeded province (see province.h):
 * the region tree from the division codes, with made-up communities and
 * villages under each town, and the sites, shops and staff that serve
 * them. */
#include "admin-tools/province.h"
#include "db/bulk.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line of the division codes, once loaded. */
struct division {
    char code[13], level[12], name[64];
    char parent[13];
    long long id;
    char path[200];
    int index;          /* into counties or towns, by level; -1 otherwise */
};

struct divisions {
    struct division *v;
    int n, cap;
};

/* Village names: a direction or size and a kind of settlement. */
static const char *const v_first[] = { "东", "西", "南", "北", "前", "后", "大", "小", "新", "中" };
static const char *const v_second[] = { "庄", "营", "屯", "店", "寨", "堡", "关", "河", "口", "坊" };

static int read_divisions(const char *csv, struct divisions *ds, char *err, size_t errlen)
{
    FILE *f = fopen(csv, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %s", csv);
        return -1;
    }
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (lineno == 1 || !line[0])
            continue;                          /* the header */
        if (ds->n == ds->cap) {
            int cap = ds->cap ? ds->cap * 2 : 4096;
            struct division *v = realloc(ds->v, (size_t)cap * sizeof *v);
            if (!v) {
                fclose(f);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            ds->v = v;
            ds->cap = cap;
        }
        struct division *x = &ds->v[ds->n];
        memset(x, 0, sizeof *x);
        char *fields[4] = { 0 };
        char *s = line;
        for (int k = 0; k < 4; k++) {
            fields[k] = s;
            char *c = strchr(s, ',');
            if (!c && k < 3) {
                fclose(f);
                snprintf(err, errlen, "%s:%d: expected code,level,name,parent_code", csv, lineno);
                return -1;
            }
            if (c) {
                *c = '\0';
                s = c + 1;
            }
        }
        if (strlen(fields[0]) != 12 || strlen(fields[2]) == 0 || strlen(fields[2]) >= 64) {
            fclose(f);
            snprintf(err, errlen, "%s:%d: a bad code or name", csv, lineno);
            return -1;
        }
        snprintf(x->code, sizeof x->code, "%s", fields[0]);
        snprintf(x->level, sizeof x->level, "%s", fields[1]);
        snprintf(x->name, sizeof x->name, "%s", fields[2]);
        snprintf(x->parent, sizeof x->parent, "%s", fields[3]);
        x->index = -1;
        ds->n++;
    }
    fclose(f);
    if (ds->n == 0 || strcmp(ds->v[0].level, "province") != 0) {
        snprintf(err, errlen, "%s: the first division must be the province", csv);
        return -1;
    }
    return 0;
}

static struct division *find(struct divisions *ds, const char *code)
{
    for (int i = 0; i < ds->n; i++)
        if (strcmp(ds->v[i].code, code) == 0)
            return &ds->v[i];
    return NULL;
}

/* The largest id of a table, so that ours follow it. */
static int max_id(struct db *d, const char *table, long long *out)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT COALESCE(MAX(id), 0) FROM %s", table);
    struct db_rows *r = db_query_built(d, sql, NULL, 0);
    if (!r)
        return -1;
    *out = db_rows_next(r) ? db_rows_int(r, 0) : 0;
    db_rows_free(r);
    return 0;
}

struct loaders {
    struct bulk *regions, *sites, *shops, *items, *staff;
};

static int add_site(struct province *p, struct loaders *l, long long *site_id,
                    long long *staff_id, long long region_id, const char *reach_path_id,
                    int tier, int county, const char *name, const char *address)
{
    static const char *const tiers[] = { "dropoff", "transfer", "sorting" };
    static const char *const networks[] = { "integrated", "recycling", "integrated" };
    struct pv_site *s = &p->sites[p->nsites++];
    memset(s, 0, sizeof *s);
    s->id = ++*site_id;
    s->staff_id = ++*staff_id;
    s->tier = tier;
    s->county = county;
    if (bulk_row(l->sites, "%lld\t%lld\t%s\t%s\t%s\t%s\t\\N\t\\N", s->id, region_id, name,
                 tiers[tier], networks[tier], address) != 0)
        return -1;
    return bulk_row(l->staff, "%lld\tp%lld.site%lld\t!\tattendant\t%lld\t%lld\t\\N\t%s\t%s值班员\tactive",
                    s->staff_id, p->province_id, s->id, region_id, s->id, reach_path_id, name);
}

int pv_places(struct province *p, const char *csv, char *err, size_t errlen)
{
    struct divisions ds = { 0 };
    struct loaders l = { 0 };
    int rc = -1;
    long long region_id, site_id, shop_id, item_id, staff_id;
    if (read_divisions(csv, &ds, err, errlen) != 0)
        goto out;
    if (max_id(p->d, "regions", &region_id) || max_id(p->d, "sites", &site_id) ||
        max_id(p->d, "shops", &shop_id) || max_id(p->d, "shop_items", &item_id) ||
        max_id(p->d, "staff", &staff_id))
        goto store;
    int ncounties = 0, ntowns = 0;
    for (int i = 0; i < ds.n; i++) {
        ncounties += strcmp(ds.v[i].level, "county") == 0;
        ntowns += strcmp(ds.v[i].level, "town") == 0;
    }
    int vpt = p->villages_per_town + 1;       /* and one community */
    p->counties = calloc((size_t)ncounties + 1, sizeof *p->counties);
    p->towns = calloc((size_t)ntowns + 1, sizeof *p->towns);
    p->villages = calloc((size_t)ntowns * (size_t)vpt + 1, sizeof *p->villages);
    p->sites = calloc((size_t)ntowns + 2 * (size_t)ncounties + 1, sizeof *p->sites);
    l.regions = bulk_new(p->d, "regions", "(id, parent_id, name, level, code, path)");
    l.sites = bulk_new(p->d, "sites",
                       "(id, region_id, name, tier, network, address, lat_e6, lng_e6)");
    l.shops = bulk_new(p->d, "shops", "(id, region_id, name, address)");
    l.items = bulk_new(p->d, "shop_items", "(id, shop_id, name, points, stock, active)");
    l.staff = bulk_new(p->d, "staff",
                       "(id, username, password_hash, role, region_id, site_id, shop_id, "
                       "reach_region_id, display_name, status)");
    if (!p->counties || !p->towns || !p->villages || !p->sites || !l.regions || !l.sites ||
        !l.shops || !l.items || !l.staff) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }

    /* the divisions, parents before children as the file lists them */
    for (int i = 0; i < ds.n; i++) {
        struct division *x = &ds.v[i];
        struct division *up = i == 0 ? NULL : find(&ds, x->parent);
        if (i > 0 && (!up || up->id == 0)) {
            snprintf(err, errlen, "%s: %s names an unknown parent %s", csv, x->code, x->parent);
            goto out;
        }
        x->id = ++region_id;
        int n = snprintf(x->path, sizeof x->path, "%s%lld/", up ? up->path : "/", x->id);
        if (n < 0 || (size_t)n >= sizeof x->path) {
            snprintf(err, errlen, "%s: %s is nested too deep", csv, x->code);
            goto out;
        }
        if (i == 0)
            p->province_id = x->id;
        char parent[24] = "\\N";
        if (up)
            snprintf(parent, sizeof parent, "%lld", up->id);
        if (bulk_row(l.regions, "%lld\t%s\t%s\t%s\t%s\t%s", x->id, parent, x->name, x->level,
                     x->code, x->path) != 0)
            goto store;
    }
    /* counties: a transfer station and a sorting centre each */
    for (int i = 0; i < ds.n; i++) {
        struct division *x = &ds.v[i];
        if (strcmp(x->level, "county") != 0)
            continue;
        struct pv_county *c = &p->counties[p->ncounties];
        x->index = p->ncounties++;
        c->region_id = x->id;
        char name[160], address[200], reach[24];
        snprintf(reach, sizeof reach, "%lld", x->id);
        c->transfer = p->nsites;
        snprintf(name, sizeof name, "%s再生资源中转站", x->name);
        snprintf(address, sizeof address, "%s工业园区1号", x->name);
        if (add_site(p, &l, &site_id, &staff_id, x->id, reach, 1, x->index, name, address) != 0)
            goto store;
        c->sorting = p->nsites;
        snprintf(name, sizeof name, "%s分拣中心", x->name);
        snprintf(address, sizeof address, "%s环卫路2号", x->name);
        if (add_site(p, &l, &site_id, &staff_id, x->id, reach, 2, x->index, name, address) != 0)
            goto store;
    }
    /* towns: a drop-off site, a points shop, a community and villages */
    for (int i = 0; i < ds.n; i++) {
        struct division *x = &ds.v[i];
        if (strcmp(x->level, "town") != 0)
            continue;
        struct division *county = find(&ds, x->parent);
        if (!county || county->index < 0)
            continue;                          /* a town outside any county */
        struct pv_town *t = &p->towns[p->ntowns];
        x->index = p->ntowns++;
        t->region_id = x->id;
        t->county = county->index;
        t->site = p->nsites;
        char name[160], address[200], reach[24];
        snprintf(reach, sizeof reach, "%lld", county->id);
        snprintf(name, sizeof name, "%s两网融合回收点", x->name);
        snprintf(address, sizeof address, "%s中心街8号", x->name);
        if (add_site(p, &l, &site_id, &staff_id, x->id, reach, 0, t->county, name, address) != 0)
            goto store;
        t->shop_id = ++shop_id;
        t->item_id = ++item_id;
        t->clerk_id = ++staff_id;
        if (bulk_row(l.shops, "%lld\t%lld\t%s积分超市\t%s中心街12号", t->shop_id, x->id, x->name,
                     x->name) != 0 ||
            bulk_row(l.items, "%lld\t%lld\t积分兑换券\t10\t\\N\t1", t->item_id, t->shop_id) != 0 ||
            bulk_row(l.staff, "%lld\tp%lld.shop%lld\t!\tclerk\t%lld\t\\N\t%lld\t%lld\t%s积分超市店员\tactive",
                     t->clerk_id, p->province_id, t->shop_id, x->id, t->shop_id, county->id,
                     x->name) != 0)
            goto store;
        char prefix[10];
        memcpy(prefix, x->code, 9);
        prefix[9] = '\0';
        for (int v = 0; v < vpt; v++) {
            struct pv_village *g = &p->villages[p->nvillages++];
            g->region_id = ++region_id;
            g->town = x->index;
            char vname[96];
            if (v == 0)
                snprintf(vname, sizeof vname, "%s社区", x->name);
            else
                snprintf(vname, sizeof vname, "%s%s村", v_first[(v - 1) % 10],
                         v_second[((v - 1) / 10 + (v - 1)) % 10]);
            if (bulk_row(l.regions, "%lld\t%lld\t%s\t%s\t%s%03d\t%s%lld/", g->region_id, x->id,
                         vname, v == 0 ? "community" : "village", prefix, v == 0 ? 1 : 200 + v,
                         x->path, g->region_id) != 0)
                goto store;
        }
    }
    /* parents before children: regions, then what stands in them */
    int failed = bulk_finish(l.regions);
    failed |= bulk_finish(l.sites);
    failed |= bulk_finish(l.shops);
    failed |= bulk_finish(l.items);
    failed |= bulk_finish(l.staff);
    l = (struct loaders){ 0 };
    if (failed)
        goto store;
    rc = 0;
    goto out;
store:
    snprintf(err, errlen, "places: %s", db_error(p->d));
out:
    bulk_free(l.regions);
    bulk_free(l.sites);
    bulk_free(l.shops);
    bulk_free(l.items);
    bulk_free(l.staff);
    free(ds.v);
    return rc;
}
