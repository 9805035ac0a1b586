/* sites.h - drop-off points, transfer stations and sorting centres. */
#ifndef WB_SITES_H
#define WB_SITES_H

#include <stdbool.h>

struct db;

struct site {
    long long id;
    long long region_id;
    char name[401];
    char tier[12];            /* dropoff transfer sorting */
    char network[12];         /* sanitation recycling integrated */
    char address[801];
    bool has_geo;
    long long lat_e6, lng_e6; /* degrees x 1e6 */
    char region_path[256];    /* the site's region path, for reach */
};

/* 1 found, 0 none, -1 error. */
int site_get(struct db *d, long long id, struct site *out);

/* Insert; returns the id or -1. */
long long site_insert(struct db *d, const struct site *s);

#endif
