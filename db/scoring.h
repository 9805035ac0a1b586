/* scoring.h - a region's scoring rule for household inspections: what
 * one inspection pays (per_pass, per_partial), what a month's accuracy
 * pays (the highest monthly threshold it reaches), how many inspections
 * a month needs before it is scored (min_inspections), and below which
 * accuracy a household goes on the black list (black_below).
 *
 * Rules are versioned per region from a month on; a household's rule for
 * a month is its region's version in force that month, else the nearest
 * ancestor's.  Rates are basis points (0.8 = 8000) and every comparison
 * with an accuracy is done in integers, so 0.80 reaches 0.80 exactly.
 *
 * A household's accuracy for a month is (pass + partial / 2) / inspections
 * over its inspections that were not voided (scoring_reaches). */
#ifndef WB_SCORING_H
#define WB_SCORING_H

#include <stdbool.h>
#include <jansson.h>

struct db;

#define SCORING_THRESHOLDS_MAX 10
#define SCORING_BP 10000            /* a rate of 1 in basis points */

struct scoring_threshold {
    int min_rate_bp;
    long long points;
};

struct scoring_rule {
    long long id;
    long long region_id;            /* whose version it is */
    char effective_month[8];        /* "2026-11" */
    long long per_pass, per_partial;
    int min_inspections;
    int black_below_bp;
    int nthresholds;                /* sorted by min_rate_bp, ascending */
    struct scoring_threshold t[SCORING_THRESHOLDS_MAX];
};

/* Sort a rule's thresholds and check them: NULL when the rule holds, else
 * the field at fault with the reason in why (rates 0..1, each rate once,
 * a higher rate never pays less, points >= 0). */
const char *scoring_rule_check(struct scoring_rule *r, char *why, size_t len);

/* Insert a new version (r->id set).  0 or -1. */
int scoring_insert(struct db *d, struct scoring_rule *r, long long staff_id);

/* The rule in force in month for a region (path: the region's), its own
 * version or the nearest ancestor's: 1 (out filled), 0 none, -1 error. */
int scoring_in_force(struct db *d, const char *path, const char *month,
                     struct scoring_rule *out);

/* The region's own versions, newest first, as a JSON array; NULL on error. */
json_t *scoring_history(struct db *d, long long region_id);

/* A version as JSON. */
json_t *scoring_json(const struct scoring_rule *r);

/* Does an accuracy of (pass + partial / 2) / n reach rate_bp?  n > 0. */
bool scoring_reaches(long long pass, long long partial, long long n, int rate_bp);

/* The accuracy as the answers show it: rounded to 4 decimals. */
double scoring_accuracy(long long pass, long long partial, long long n);

/* The accuracy in basis points, rounded down; 0 when n is 0. */
int scoring_accuracy_bp(long long pass, long long partial, long long n);

/* The month's points for such an accuracy: the highest threshold reached
 * (0 when none is, or n < min_inspections). */
long long scoring_monthly_points(const struct scoring_rule *r, long long pass,
                                 long long partial, long long n);

/* The red list takes households reaching the highest threshold, the black
 * list those below black_below; both need min_inspections (and one). */
bool scoring_is_red(const struct scoring_rule *r, long long pass, long long partial, long long n);
bool scoring_is_black(const struct scoring_rule *r, long long pass, long long partial,
                      long long n);

/* The rules of the regions met so far, for one month (zero it first;
 * scoring_cache_free releases it). */
struct scoring_cache_entry;
struct scoring_cache {
    struct scoring_cache_entry *e;
    int n, cap;
};

/* The rule in force in month for the region whose path is given, looked
 * up once per region: the rule, or NULL when none applies (or on a store
 * error: then *err is set). */
const struct scoring_rule *scoring_cached(struct db *d, struct scoring_cache *c,
                                          const char *path, const char *month, int *err);
void scoring_cache_free(struct scoring_cache *c);

/* Points one inspection of result ("pass", "partial", "fail") pays. */
long long scoring_per_inspection(const struct scoring_rule *r, const char *result);

#endif
