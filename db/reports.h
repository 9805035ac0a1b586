/* reports.h - the statistics of api.md's "Reports", read from the rollups
 * (db/rollup.h) and, where a figure cannot be summed, from the rows
 * beneath them.  Each function answers rows for the caller (api/reports.c)
 * to shape; a region is given by its materialised path ("/" for the whole
 * tree), a period by local days, both included.
 *
 * The region a figure belongs to: a site's for what was collected and
 * moved (collection, flows), a household's for people and points
 * (participation, leaderboard, points).  "child" is the child of the
 * region on the figure's path, or the region itself for what lies in it
 * directly (a sorting centre of the county). */
#ifndef WB_REPORTS_H
#define WB_REPORTS_H

#include <stdbool.h>

struct db;
struct db_rows;

struct report_period {
    char from[11], to[11];          /* local days, both included */
    long long start, end;           /* [start, end) in epoch seconds */
};

/* ---- collection ---- */

enum report_group { GROUP_CATEGORY, GROUP_SITE, GROUP_REGION, GROUP_DAY, GROUP_MONTH };

struct collection_query {
    const char *path;               /* the region's */
    long long region_id;            /* 0: the whole tree */
    struct report_period p;
    enum report_group group;
    long long category_id, site_id; /* 0: any */
    const char *network;            /* NULL: any */
    const char *level;              /* the region's ("" for the whole tree) */
};

/* Rows (key, dropoffs, grams, items, points) per group, sorted by key;
 * grouped = false: one row of the totals (key ""). */
struct db_rows *report_collection(struct db *d, const struct collection_query *q, bool grouped);

/* Rows (key, households): distinct households per group, or the one row
 * of the whole window, counted over the drop-offs (db/collection_sets.h
 * answers the wide regions from their closed sets). */
struct db_rows *report_collection_households(struct db *d, const struct collection_query *q,
                                             bool grouped);

/* Rows (key, household_id): the distinct pairs behind those counts, in
 * order. */
struct db_rows *report_collection_members(struct db *d, const struct collection_query *q,
                                          bool grouped);

/* The whole months inside from..to (days YYYY-MM-DD), as days: wf the
 * first day of the first of them, wt the last day of the last; when there
 * is none, wf is after wt. */
void report_whole_months(const char *from, const char *to, char wf[11], char wt[11]);

/* ---- people ---- */

/* Rows (child, open_0, ..., open_n-1) of the accounts open at each
 * moment at[i] (epoch seconds: created before it, not closed by then),
 * per child of the region; 1 <= n <= REPORT_OPEN_MAX. */
#define REPORT_OPEN_MAX 24
struct db_rows *report_households_open(struct db *d, const char *path, long long region_id,
                                       const long long *at, int n);

/* Rows (child, month "YYYY-MM", active) of households with a credited
 * drop-off in month ("YYYY-MM-01"), found village by village. */
struct db_rows *report_active(struct db *d, const char *path, long long region_id,
                              const char *month);

/* Rows (child, month "YYYY-MM", inspected, inspected_and_dropped) of
 * households with a live inspection in each month of first..last
 * ("YYYY-MM-01"), and how many of them also had a credited drop-off. */
struct db_rows *report_active_inspected(struct db *d, const char *path, long long region_id,
                                        const char *first, const char *last);

/* ---- inspections ---- */

/* Rows (child, households_inspected, inspections, pass, partial, fail)
 * of the live inspections of days first..last. */
struct db_rows *report_inspection_counts(struct db *d, const char *path, long long region_id,
                                         const char *first, const char *last);

/* Rows (household_id, head_name, region_name, region_path, inspections,
 * pass, partial) of each household with live inspections in first..last. */
struct db_rows *report_inspected_households(struct db *d, const char *path, const char *first,
                                            const char *last);

/* Rows (child, month "YYYY-MM", households, by_dropoff, by_inspection,
 * by_both) of the closed months first..last (their 1st days) of
 * participation (db/closing.h): the region's children's and its own
 * households' (region 0: the provinces). */
struct db_rows *report_participation_closed(struct db *d, long long region_id,
                                            const char *first, const char *last);

/* Rows (household_id, points, dropoffs, head_name, region_name) of the
 * month's households with a credited drop-off, most points first, then by
 * id; limit rows.  wide: the region is a county or more (or the tree). */
struct db_rows *report_leaderboard(struct db *d, const char *path, const char *month,
                                   int limit, bool wide);

/* ---- points ---- */

/* Rows (child, kind, points) of every ledger row in [start, end) (end 0:
 * from start on), read from the ledger: for the days not yet closed
 * (db/closing.h). */
struct db_rows *report_points_moved(struct db *d, const char *path, long long region_id,
                                    long long start, long long end, bool by_household);

/* Rows (child, balance): the households' balances now. */
/* The same from the closed days' rollup, for the local days from..to
 * (closed, the caller checks): the region's children's rows, and the
 * region's own (its row less its children's), its whole months from the
 * month rows. */
struct db_rows *report_points_closed(struct db *d, long long region_id, const char *from,
                                     const char *to);

struct db_rows *report_balances(struct db *d, const char *path, long long region_id);

/* ---- flows ---- */

/* Rows (category_id, tier, kind, qty) of the stock movements at the
 * region's sites filed on from..to ("" from: since the beginning). */
struct db_rows *report_stock_moved(struct db *d, const char *path, const char *from,
                                   const char *to);

/* Rows (category_id, tier, kind, qty) of the stock movements of the local
 * days from..to at the sites of the region, from the day rollup read by
 * day: for a few recent days of a wide region. */
struct db_rows *report_stock_recent(struct db *d, const char *path, const char *from,
                                    const char *to);

/* Rows (category_id, tier, kind, qty) of the chain's closed days
 * (db/closing.h) from..to at the sites of the region (0: the tree), its
 * whole months from the month rows; kind is a stock movement's or
 * "transit_loss".  The days must be closed (the caller checks). */
struct db_rows *report_chain_closed(struct db *d, long long region_id, const char *from,
                                    const char *to);

/* Rows (category_id, tier, on_hand) of the region's sites now. */
struct db_rows *report_stock_now(struct db *d, const char *path);

/* Rows (category_id, tier, qty) of the movements filed after day `to`. */
struct db_rows *report_stock_after(struct db *d, const char *path, const char *to);

/* Rows (category_id, disposition, qty) of outbound on from..to. */
struct db_rows *report_outbound(struct db *d, const char *path, const char *from,
                                const char *to);

/* Rows (category_id, in_transit) of shipments between two sites of the
 * region sent before `at` and neither received nor cancelled by then. */
struct db_rows *report_in_transit(struct db *d, const char *path, long long at);

/* Rows (category_id, loss) of such shipments received in [start, end). */
struct db_rows *report_transit_loss(struct db *d, const char *path, long long start,
                                    long long end);

/* Rows (category_id, left, entered) of shipments crossing the region's
 * border in [start, end): sent out (less those cancelled), received in. */
struct db_rows *report_border(struct db *d, const char *path, long long start, long long end);

/* Rows (category_id, shortfall) of the region's sites now. */
struct db_rows *report_shortfall(struct db *d, const char *path);

#endif
