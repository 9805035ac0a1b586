/* inspections.h - household sorting inspections (入户检查) as movements
 * of the ledger engine (db/engine.h): recording one, voiding one, and a
 * household's monthly settlement; and reading them back.
 *
 * An inspection pays its rule's per-inspection points in its own
 * transaction (a ledger row of kind "inspection"); a household has at
 * most one live inspection a local day, checked under the household's
 * lock (and by a unique key); a month once settled for a household takes
 * no more inspections.  A void takes the points back like a reversal: what
 * the balance holds (a ledger row of kind "inspection_void"), the rest
 * stays owed as the household's shortfall.  The month's settlement pays
 * the monthly points of the household's accuracy once: the settlement row
 * (household, month) is written in the transaction of its ledger row, so
 * a settlement run again, or by two instances at once, or after a crash
 * half-way, pays nobody twice (db/settle.h). */
#ifndef WB_INSPECTIONS_H
#define WB_INSPECTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "db/idem.h"

struct db;
struct ledger_op;
struct audit_actor;

#define INSPECTION_PHOTO_MAX (512 * 1024)

struct inspect_in {
    const char *scope;         /* "inspector:<id>" */
    const char *key;
    unsigned char fp[IDEM_FP_BYTES];
    long long household_id, inspector_id;
    const char *reach;         /* the inspector's subtree path */
    char result[8];            /* pass | partial | fail */
    const char *streams;       /* JSON text of [{stream, correct}], or NULL */
    const char *note;          /* may be NULL */
    long long inspected_at;    /* epoch seconds */
    char local_day[11];
    char month[8];
    bool backdated;
    long long points;          /* what the rule pays for this result */
    const unsigned char *photo;  /* JPEG bytes, or NULL */
    size_t photo_len;
    const char *actor;         /* "s:<id>" */
    const struct audit_actor *who;
};

/* 201 {id, household_id, inspector_id, result, local_day, points, balance,
 * streams, note, has_photo, status, inspected_at, backdated}; 409
 * already_inspected, month_settled, household_inactive (stored); 404
 * not_found (outside reach; not stored). */
void inspection_op(struct ledger_op *op, const struct inspect_in *in);

struct inspection_void_in {
    long long inspection_id;
    const char *reason;
    const char *actor;
    const struct audit_actor *who;
};

/* 200 {id, status, household_id, points, clawed_back, shortfall, balance,
 * debt}; 409 already_voided; 404 when there is no such inspection.  Not
 * keyed: a second call is the 409. */
void inspection_void_op(struct ledger_op *op, const struct inspection_void_in *in);

/* A stored inspection as JSON, or NULL with *found 0 when there is none
 * (store errors: NULL, *found -1).  path (256 bytes) receives the
 * household's region path for reach checks. */
json_t *inspection_load(struct db *d, long long id, int *found, char *path);

/* Ids of the inspections in the subtree root (household_id, inspector_id
 * 0: any; result, from, to "": any), below before, newest first, at most
 * limit: rows of one column, or NULL. */
struct db_rows *inspection_list(struct db *d, const char *root, long long household_id,
                                long long inspector_id, const char *result, const char *from,
                                const char *to, long long before, int limit);

/* The photo of an inspection: 1 (*jpeg malloc'd, *len), 0 none, -1 error. */
int inspection_photo(struct db *d, long long id, unsigned char **jpeg, size_t *len);

/* A household's counts for a month (voided left out): 0 or -1. */
struct inspection_counts {
    long long inspections, pass, partial, fail;
};
int inspection_month_counts(struct db *d, long long household_id, const char *month,
                            struct inspection_counts *out);

/* The first and last day of month "YYYY-MM" (11 bytes each): false when
 * it is not a month. */
bool inspection_month_days(const char *month, char first[11], char last[11]);

#endif
