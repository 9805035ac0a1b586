/* closing.h - the rollups of ended days (migration 0013): the points that
 * moved per region, local day and kind of ledger row, kept in
 * stat_points_day and, summed, stat_points_month.
 *
 * A ledger row is never changed and is filed under the moment it was
 * written, so the sums of a day are final once the day is over.  They are
 * therefore not written by the movements (a region's row would be shared
 * by every household of the region, and serialise them) but once, by the
 * closer, CLOSING_LAG_S after the day's end: by then every transaction
 * that wrote a row of that day has long committed or rolled back (a group
 * is bounded by its statement and lock timeouts, seconds).  A report reads
 * the closed days here and only the days after them from the ledger
 * (db/reports.h), so it is exact whenever it is asked; the ledger check
 * recomputes every closed day from the ledger.
 *
 * Each day's rows are one per region on the household's path (village,
 * town, county, city, province) and one for region 0, the whole tree:
 * a report sums its children's rows, never its villages'.
 *
 * The closer locks its row of rollup_closed, so instances running it at
 * once (every wastebankd does, once a minute, and `wbctl close-days`)
 * close each day once; it closes at most the days of one month a
 * transaction. */
#ifndef WB_CLOSING_H
#define WB_CLOSING_H

#include <time.h>

#include "db/tally.h"

struct db;

#define CLOSING_LAG_S (15 * 60)

struct closing_result {
    long long days;            /* closed by this run */
    char through[11];          /* the last closed day, "" none */
};

/* Close every day that ended CLOSING_LAG_S or more before now.  0, or -1
 * on a store error (days closed before it stay closed). */
int closing_run(struct db *d, time_t now, struct closing_result *out);

/* Open every closed day again (their rows are deleted): after ledger rows
 * were loaded in bulk with the times of days already closed (wbctl
 * seed-province).  closing_run then closes them again.  0 or -1. */
int closing_reopen(struct db *d);

/* The last closed day, YYYY-MM-DD, in out ("" when none).  0 or -1. */
int closing_through(struct db *d, char out[11]);

/* Days as YYYYMMDD: the day after day, and the local day of the ledger's
 * first row in *day (0 when the ledger is empty; returns 0 or -1). */
long long closing_next_day(long long day);
void closing_day_text(long long day, char out[11]);          /* "" for 0 */
/* The moment the days after through (YYYY-MM-DD) begin: local midnight. */
time_t closing_after(const char *through);
int closing_first_day(struct db *d, long long *day);

/* The rows of stat_points_day for day (YYYYMMDD), worked out from the
 * ledger into t (spec closing_day_spec), in key order.  0 or -1. */
extern const struct tally_spec closing_day_spec;
int closing_day_tally(struct db *d, long long day, struct tally *t);

/* Add (region 0 and every id of path, "/1/4/9/") x (day, kind) the
 * counters delta and moves to t: one row per region on the path.  0, or
 * -1 when out of memory or path is malformed. */
int closing_spread(struct tally *t, const char *path, long long day, long long kind,
                   long long delta, long long moves);

#endif
