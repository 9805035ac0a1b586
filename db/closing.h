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

#include <stdbool.h>
#include <time.h>

#include "db/tally.h"

struct db;

#define CLOSING_LAG_S (15 * 60)

/* The closed rollups. */
enum closing_rollup {
    CLOSING_POINTS,     /* stat_points_day/_month: ledger rows per kind */
    CLOSING_CHAIN,      /* stat_chain_day/_month: stock movements and transit losses */
    CLOSING_N
};

struct closing_spec {
    const char *name;                   /* its row in rollup_closed */
    const struct tally_spec *day;       /* the day rows: region, day, ...; plain INSERT */
    const struct tally_spec *month;     /* the month rows, added to */
    const char *stored;                 /* SQL: one day's rows as stored, in key order */
};
extern const struct closing_spec closing_specs[CLOSING_N];

struct closing_result {
    long long days[CLOSING_N];          /* closed by this run */
    char through[CLOSING_N][11];        /* the last closed day, "" none */
    long long months;                   /* participation: months closed by this run */
    char months_through[11];            /* its last closed day (a month's last) */
    long long sets_days;                /* collection's household sets (collection_sets.h) */
    char sets_through[11];
};

/* Close every day that ended CLOSING_LAG_S or more before now, of every
 * closed rollup, then every such month of participation, and work out
 * again the village-months late movements marked; then the same for the
 * household sets of collection (db/collection_sets.h).  0, or -1 on a store
 * error (what was closed before it stays closed). */
int closing_run(struct db *d, time_t now, struct closing_result *out);

/* ---- participation, closed by the month (closing_months.c) ----
 *
 * stat_participation_month holds per region and ended month the
 * households open at the month's end and those active by drop-off, by
 * inspection and by both: 'subtree' rows for every region on the
 * household's path and region 0, and an 'own' row at the household's
 * region.  A month is closed once it ended CLOSING_LAG_S ago; its
 * figures can still change after that (a drop-off or inspection recorded
 * back into it, a reversal or a void of one of it), and every such
 * movement marks its village-month in participation_late (rollup_late,
 * db/rollup.h) in its own transaction.  The closer works each marked
 * village-month out again and adds the difference to the rows of its
 * path, so the rollup lags a late movement by at most a minute. */
extern const struct tally_spec closing_participation_spec;

/* The rows of month (YYYYMM01) worked out from the households,
 * stat_household_month and the inspections, of every household region
 * (region_id 0) or of one, into t in key order (region, month, scope),
 * without rows of nothing.  0 or -1. */
int closing_month_tally(struct db *d, long long month, long long region_id, struct tally *t);

/* Close the months that ended CLOSING_LAG_S or more before now and work
 * out the marks; *months closed, through the last closed day.  0 or -1. */
int closing_months_run(struct db *d, time_t now, long long *months, char through[11]);

/* The month after month (both YYYYMM01). */
long long closing_next_month(long long month);

/* The name of participation's row in rollup_closed. */
#define CLOSING_MONTHS_NAME "participation"

/* Open every closed day again (their rows are deleted): after rows were
 * loaded in bulk with the times of days already closed (wbctl
 * seed-province).  closing_run then closes them again.  0 or -1. */
int closing_reopen(struct db *d);

/* The last closed day of a rollup (its row of rollup_closed: a spec's
 * name, or CLOSING_MONTHS_NAME, whose day is a month's last), YYYY-MM-DD,
 * in out ("" when none).  0 or -1. */
int closing_through(struct db *d, const char *name, char out[11]);

/* Inside a transaction: lock a rollup's row of rollup_closed (so closers
 * never close a period twice) and read its last closed day, YYYYMMDD (0:
 * none); set it.  0 or -1. */
int closing_lock(struct db *d, const char *name, long long *through);
int closing_set_through(struct db *d, const char *name, long long day);

/* The day rows of a rollup for day (YYYYMMDD), worked out from what it
 * sums into t (spec closing_specs[r].day), in key order, without rows
 * whose counters are all 0 (they are not stored).  0 or -1. */
int closing_day_tally(struct db *d, enum closing_rollup r, long long day, struct tally *t);

/* The first day a rollup has anything to sum, in *day (0: nothing yet).
 * 0 or -1. */
int closing_first_day(struct db *d, enum closing_rollup r, long long *day);

/* Days as YYYYMMDD: the day after day and before it, as text ("" for 0), and the
 * moment the days after through (YYYY-MM-DD) begin: local midnight. */
long long closing_next_day(long long day);
long long closing_prev_day(long long day);

/* The last day a run at now may close: the one before the day it was
 * CLOSING_LAG_S before now.  A transaction closes from first up to the end
 * of first's month or last, whichever comes first (closing_upto). */
long long closing_last_day(time_t now);
long long closing_upto(long long first, long long last);

/* The last day of month (YYYYMM01), and whether day ends its month. */
long long closing_month_last(long long month);
bool closing_month_ends(long long day);
void closing_day_text(long long day, char out[11]);
time_t closing_after(const char *through);

/* Write t's rows (its spec's statement, rows of nothing left out) in one
 * round trip.  0 or -1. */
int closing_flush(struct db *d, struct tally *t);

/* Append val to t once for region 0 and once for every id of path
 * ("/1/4/9/"), under key with key[0] made that region (the rest of key as
 * given).  0, or -1 when out of memory or path is malformed. */
int closing_spread(struct tally *t, const char *path, const long long *key,
                   const long long *val);

#endif
