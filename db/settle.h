/* settle.h - the monthly settlement of household inspections: each
 * household of a region's subtree with at least its rule's
 * min_inspections (not voided) in an ended month is paid the monthly
 * points of its accuracy (db/scoring.h), once.
 *
 * Each household is one operation of the ledger engine: under the
 * household's lock it writes the settlement row (household, month) and
 * the ledger row of kind "inspection" together, or finds the row there
 * already and pays nothing.  So a run repeated, run by two instances at
 * once, or cut off half-way and run again pays every household once.
 * Households are settled in groups of LEDGER_GROUP_MAX, each its own
 * transaction. */
#ifndef WB_SETTLE_H
#define WB_SETTLE_H

struct db;
struct audit_actor;

struct settle_result {
    long long households_settled;  /* settled by this run */
    long long points;              /* paid by this run */
};

/* Settle month ("YYYY-MM", ended: the caller checks) for the subtree at
 * path.  Each group's new balances are published to Redis through c
 * (db/balance.h) once it has committed; c may be NULL only where no
 * balance can be cached (nothing serves yet).  0, or -1 on a store error
 * (groups committed before it stay). */
struct cache;
int settle_month(struct db *d, struct cache *c, const char *path, const char *month,
                 const struct audit_actor *who, struct settle_result *out);

/* The month before the local month of now, "YYYY-MM" (8 bytes). */
void settle_previous_month(long long now, char out[8]);

/* Has month ended, in local time, at now?  False for a malformed month. */
#include <stdbool.h>
bool settle_month_ended(const char *month, long long now);

#endif
