/* rollup.h - the rollups the reports read (migration 0008), kept by the
 * ledger engine in the transaction of every movement (db/tally.h writes
 * them):
 *
 *   stat_site_day         what drop-off sites collected, per site, day of
 *                         the drop-off and category (0: the drop-offs);
 *   stat_stock_day        every stock movement, per site, day, category
 *                         and kind (engine_stock_move adds them);
 *   stat_household_month  each household's credited drop-offs per month;
 *   stat_site_month,      the first two again per month (migration 0010),
 *   stat_stock_month      so that a long period reads its whole months
 *                         from a twelfth of the rows;
 *   participation_late    the village-months a movement changed after the
 *                         month had ended (migration 0016), for the closer
 *                         to work out again (db/closing.h);
 *   collection_late       the site-days a drop-off or its reversal changed
 *                         after the day had ended (migration 0017), for
 *                         the closer of the household sets
 *                         (db/collection_sets.h).
 *
 * A drop-off enters the first and the last as it is credited, and leaves
 * them again, on its own day and month, when it is reversed: reversed
 * drop-offs leave every figure. */
#ifndef WB_ROLLUP_H
#define WB_ROLLUP_H

#include "db/tally.h"

struct engine_tx;

/* The rollups, in the order a group writes them. */
enum {
    ROLLUP_SITE_DAY,
    ROLLUP_SITE_MONTH,
    ROLLUP_STOCK_DAY,
    ROLLUP_STOCK_MONTH,
    ROLLUP_HOUSEHOLD_MONTH,
    ROLLUP_PARTICIPATION_LATE,
    ROLLUP_COLLECTION_LATE,
    ROLLUP_COUNT
};
extern const struct tally_spec rollup_specs[ROLLUP_COUNT];

/* "2026-11-28" -> 20261128 (a DATE takes the number); 0 when malformed. */
long long rollup_day(const char *local_day);

/* The month of a day: 20261128 -> 20261101. */
long long rollup_month(long long day);

/* The month rollup that follows a day rollup (its key is the day's with
 * the day, key[1], made its month), or -1. */
int rollup_month_twin(int rollup);

/* The position (1-based) of a stock movement's kind in the ENUM of
 * stock_movements and stat_stock_day; 0 for an unknown kind. */
int rollup_stock_kind(const char *kind);

/* A drop-off as the rollups count it. */
struct rollup_line {
    long long category_id, grams, items, points;
};
struct rollup_dropoff {
    long long site_id, household_id, region_id;
    long long day;                   /* rollup_day of its local day */
    long long today;                 /* rollup_day of the day it is made */
    int nlines;
    const struct rollup_line *lines;
};

/* A movement of the household of region_id made today changes the
 * month of day: when that month has ended, mark it (participation_late).
 * 0 or -1. */
int rollup_late(struct engine_tx *tx, long long region_id, long long day, long long today);

/* The drop-off enters the figures (sign 1) or leaves them (-1).  0 or -1. */
int rollup_dropoff(struct engine_tx *tx, const struct rollup_dropoff *f, int sign);

#endif
