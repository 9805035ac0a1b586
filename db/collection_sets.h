/* collection_sets.h - what was collected per wide region and ended day or
 * month, and the households who brought it (migration 0017): the closed
 * rows of the collection report.
 *
 * Distinct households do not add up: one who came on two days is one
 * household of the two days together, so a year cannot be summed from its
 * days the way grams are.  Counting them from the drop-offs costs the
 * whole window's drop-offs, millions for a province's year.  So the
 * closer keeps, for every county, city and province on a site's path and
 * for region 0 (the whole tree), per network and category (0: any), the
 * drop-offs, grams, items and points of each ended day, and of each month
 * once its last day is closed, with the set of household ids behind them
 * as a Roaring bitmap (CRoaring).  A report of a wide region sums the rows
 * of its closed days and months, unites their sets, and adds the days
 * after them from the sites' rollups and the drop-offs; a town, a village,
 * a site or a report by site is small enough to be read from those alone.
 *
 * A day's households can change after it closed: an offline drop-off
 * recorded back into it, or a reversal of one of its drop-offs.  Each
 * such movement marks its site and day in collection_late in its own
 * transaction (rollup_dropoff, db/rollup.h), and the closer works each
 * marked day out again (and its month, when that is closed): the sets lag
 * a late movement by at most a minute.  Household ids must fit in 32
 * bits; a larger one stops the closer with an error rather than being
 * left out, and the reports then count the days after the last closed
 * one from the drop-offs. */
#ifndef WB_COLLECTION_SETS_H
#define WB_COLLECTION_SETS_H

#include <stdbool.h>
#include <time.h>

#include "db/reports.h"

struct db;

/* Its row of rollup_closed. */
#define COLLECTION_SETS_NAME "collection"

/* Close every day that ended CLOSING_LAG_S or more before now (and each
 * month whose last day that closes), then work out again the days late
 * movements marked.  *days closed by this run, through the last closed
 * day ("" none).  0, or -1 on a store error (what was closed stays). */
int collection_sets_close(struct db *d, time_t now, long long *days, char through[11]);

/* A row of the collection report: its key as report_collection gives it
 * ("" for the whole window), its sums and its distinct households. */
struct collection_row {
    char key[24];
    long long dropoffs, grams, items, points, households;
};
struct collection_rows {
    struct collection_row *v;
    int n;
};

/* The rows of q per group, and the totals of its whole window (all 0
 * when nothing was collected): where q's region is a county or wider,
 * from the closed rows and, for the days after them, the sites' rollups
 * and the drop-offs; else from those alone.  0 or -1; the caller frees
 * rows->v. */
int collection_read(struct db *d, const struct collection_query *q,
                    struct collection_rows *rows, struct collection_row *totals);

/* For the ledger check, in one read-only snapshot of its own (so not
 * inside a transaction): every closed day's stored rows against the rows
 * worked out from its drop-offs, and every closed month's against the
 * sums and unions of its days; days with marks still waiting are left aside.  Calls
 * bad(ctx, what, detail) for each difference ("day" or "month", and
 * which row).  0 or -1. */
typedef void (*collection_sets_bad_fn)(void *ctx, const char *what, const char *detail);
int collection_sets_verify(struct db *d, collection_sets_bad_fn bad, void *ctx);

#endif
