/* province.h - the world `wbctl seed-province` builds, shared by its
 * three files: cmd_seed_province.c (options, order, timing),
 * province_places.c (regions, sites, shops, staff from the division
 * codes) and province_days.c (every day of activity, written as the
 * engine would have written it, then the heads and the rollups).
 *
 * Ids are chosen here, above the tables' current maxima, so that every
 * row can name the rows it refers to before they are loaded; the seed
 * must run while nothing else writes. */
#ifndef WB_PROVINCE_H
#define WB_PROVINCE_H

#include <stddef.h>
#include <stdint.h>

#define PV_MAX_CATS 16
#define PV_KINDS 7          /* stock_movements.kind, in enum order */

struct db;
struct bulk;

struct pv_cat {
    long long id, rate_id, ppu, cap;
    int per_item;
    int lo, hi;               /* a drop-off line's quantity: grams or items */
    int weight;               /* how often a line is of this category */
    int hazardous;            /* sent out for hazardous treatment */
};

struct pv_county {
    long long region_id;
    int transfer, sorting;    /* indexes into sites */
};

struct pv_town {
    long long region_id;
    int county;               /* index into counties */
    int site;                 /* its drop-off site */
    long long shop_id, item_id, clerk_id;
};

struct pv_village {
    long long region_id;
    int town;
};

/* A site's rollup figures over a day or a month: what drop-offs
 * collected (index 0 of n, g, i, p is "all categories"), and the stock
 * moved per category and kind. */
struct pv_sums {
    int64_t n[PV_MAX_CATS + 1], g[PV_MAX_CATS + 1], i[PV_MAX_CATS + 1], p[PV_MAX_CATS + 1];
    int64_t q[PV_MAX_CATS][PV_KINDS], m[PV_MAX_CATS][PV_KINDS];
};

struct pv_site {
    long long id, staff_id;   /* staff_id: its attendant */
    int tier;                 /* 0 drop-off, 1 transfer, 2 sorting */
    int county;
    int64_t on_hand[PV_MAX_CATS];
    int64_t seq[PV_MAX_CATS];
    /* the rollups of today, and of this month summed from its days */
    struct pv_sums day, month;
    int touched;
};

struct pv_household {
    int village;
    int members;
    int64_t balance;
    int64_t seq;
    int day;                  /* the local day day_pts is for */
    int32_t day_pts[PV_MAX_CATS];
    /* this month's credited drop-offs */
    int64_t m_n, m_p, m_g, m_i;
};

struct province {
    struct db *d;
    uint64_t rng;
    int tzoff;                          /* local time - UTC, seconds */
    long long households, dropoffs;
    int months, villages_per_town;
    struct pv_cat cats[PV_MAX_CATS];
    int ncats;
    long long province_id;
    struct pv_county *counties;
    int ncounties;
    struct pv_town *towns;
    int ntowns;
    struct pv_village *villages;
    int nvillages;
    struct pv_site *sites;
    int nsites;
    struct pv_household *hh;
    long long hh_base;                  /* household i has id hh_base + 1 + i */
    /* the next ids of the tables whose rows refer to each other */
    long long next_dropoff, next_shipment, next_count, next_outbound, next_redemption;
    /* what was written, for the summary */
    long long n_dropoffs, n_lines, n_reversed, n_ledger, n_movements, n_shipments,
        n_cancelled, n_in_transit, n_counts, n_outbounds, n_redemptions;
};

/* A uniform random integer in [0, n). */
uint64_t pv_rand(struct province *p, uint64_t n);

/* Read the division codes (code,level,name,parent_code) from csv and
 * load the tree (the province, cities, counties, towns, and for each town
 * a community and villages_per_town villages), one drop-off site, one
 * shop with its item, an attendant and a clerk a town, a transfer station
 * and a sorting centre with their attendants a county.  0, or -1 with
 * err set. */
int pv_places(struct province *p, const char *csv, char *err, size_t errlen);

/* Households, then months of days of activity ending yesterday, then the
 * stock heads, the rollups and the households' balances.  0, or -1 with
 * err set. */
int pv_days(struct province *p, char *err, size_t errlen);

/* UTC "YYYY-MM-DD HH:MM:SS" of epoch t (buf >= 20). */
void pv_utc(long long t, char *buf, size_t len);

#endif
