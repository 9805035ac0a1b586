/* shipments.h - reading shipments: one as a record and as its JSON, and
 * the lists (db/chain.h moves them). */
#ifndef WB_SHIPMENTS_H
#define WB_SHIPMENTS_H

#include <stdbool.h>
#include <jansson.h>

struct db;
struct db_rows;

#define CHAIN_MAX_LINES 50

/* One line of goods: a category and a quantity (grams or items). */
struct chain_line {
    long long category_id;
    char code[33];
    bool per_item;
    long long qty;
};

struct shipment_line {
    long long category_id;
    char code[33];
    bool per_item;
    long long sent, received;
    bool has_received;
};

struct shipment_rec {
    long long id, from_site, to_site;
    char status[12];              /* in_transit received cancelled */
    long long sent_at, sent_by;   /* epoch seconds */
    long long received_at, received_by, cancelled_at, cancelled_by;   /* 0: not (yet) */
    bool has_vehicle, has_note, has_cancel_reason;
    char vehicle[401], note[801], cancel_reason[801];
    char from_path[256], to_path[256];   /* the two sites' region paths */
    int nlines;
    struct shipment_line lines[CHAIN_MAX_LINES];
};

/* 1 found, 0 no such shipment, -1 store error. */
int shipment_get(struct db *d, long long id, struct shipment_rec *out);

/* The answer of api.md for a shipment; NULL when out of memory. */
json_t *shipment_json(const struct shipment_rec *s);

/* Shipment ids newest first, below `before`, limit rows: those with an end
 * (direction "out": the sender, "in": the receiver, NULL: either) at
 * site_id (0: any) whose site's region is under root, with status (NULL:
 * any), sent on from_day..to_day ("" open).  NULL on error. */
struct db_rows *shipment_list(struct db *d, const char *root, long long site_id,
                              const char *direction, const char *status, const char *from_day,
                              const char *to_day, long long before, int limit);

#endif
