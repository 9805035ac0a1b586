/* pricing.h - what one drop-off line earns: the rule of api.md as a pure
 * function, so that it can be tested alone.
 *
 *   unit g:    floor(grams x points_per_kg / 1000)
 *   unit item: count x points_per_item
 *
 * then, for a capped category, at most what is left of the day's cap
 * (of the line's recorded day) and of the day of arrival's allowance
 * (cap_arrival_days daily caps, whatever days the drop-offs say).  Lines
 * apply in request order: the caller carries the earned totals from one
 * line to the next. */
#ifndef WB_PRICING_H
#define WB_PRICING_H

#include <stdbool.h>

struct price_rule {
    bool per_item;            /* unit item; else g */
    long long ppu;            /* points per kg or per item */
    bool has_cap;
    long long daily_cap;
    int cap_arrival_days;     /* >= 1 */
};

struct price_out {
    long long raw;            /* before any cap */
    long long points;         /* what the line earns */
    bool capped;              /* points < raw */
};

/* Price qty (grams or items) by rule.  earned_day and earned_arrival are
 * what the household earned in the category so far on the recorded day
 * and on the day of arrival; for a capped rule each grows by the line's
 * points (both may be NULL: nothing earned, nothing carried). */
struct price_out price_line(const struct price_rule *rule, long long qty,
                            long long *earned_day, long long *earned_arrival);

#endif
