/* check.h - the ledger's invariants (design.md), checked against MariaDB
 * and, where it holds a balance, Redis:
 *   balance_sum     households.balance = sum of its ledger deltas
 *   seq_count       households.seq = number of its ledger rows
 *   negative        no balance below zero
 *   dropoff_lines   a drop-off's points = the sum of its lines
 *   reversal_once   a reversed drop-off has at most one reversal row, and
 *                   only reversed drop-offs have one
 *   redis_balance   Redis, where it holds a balance, agrees
 * and of the chain and the rollups (household_id null; check_chain.c):
 *   stock_sum       a site's stock is the sum and count of its movements,
 *                   never below 0
 *   rollup_site_day, rollup_stock_day, rollup_household_month
 *                   each rollup row equals the rows it sums
 *   rollup_points_day, rollup_points_month, rollup_chain_day,
 *   rollup_chain_month
 *                   every closed day's rows (db/closing.h) equal what
 *                   they sum, worked out again; each month row its days
 *   rollup_participation_month
 *                   every closed month's participation rows equal the
 *                   households, drop-offs and inspections they count
 *                   (but a month with late marks not worked out yet)
 *   rollup_collection_day, rollup_collection_month
 *                   every closed day's household sets of collection
 *                   (db/collection_sets.h) equal the households of its
 *                   drop-offs, each month's the union of its days (but
 *                   a day with late marks not worked out yet)
 *   mass_balance    per category, collected - reversed = on hand + in
 *                   transit + transit losses + outbound + count differences
 * and of inspections (check_inspections.c):
 *   inspection_paid, settlement_once
 *                   every point an inspection or a settled month paid,
 *                   or a void took back, is one ledger row of its own
 * Used by `wbctl reconcile` and GET /v1/reports/ledger-check. */
#ifndef WB_CHECK_H
#define WB_CHECK_H

#include <jansson.h>

struct db;
struct cache;

#define CHECK_MAX_VIOLATIONS 1000

/* Run every check.  *violations gets a new array of {household_id, rule,
 * detail} (at most CHECK_MAX_VIOLATIONS), *checked the number of
 * households.  cache may be NULL (the Redis check is then skipped).
 * 0 or -1 (store error). */
int ledger_check(struct db *d, struct cache *c, json_t **violations, long long *checked);

/* The chain's and the rollups' checks alone, appended to v.  0 or -1. */
int chain_check(struct db *d, json_t *v);

/* The inspections' checks alone, appended to v.  0 or -1. */
int inspection_check(struct db *d, json_t *v);

/* Rebuild Redis's balances from MariaDB: every cached balance entry is
 * replaced by the household's current balance and seq.  Returns the
 * number written, or -1 when Redis is unavailable. */
long long ledger_rebuild_cache(struct db *d, struct cache *c);

#endif
