/* pricing.c - see pricing.h. */
#include "db/pricing.h"

struct price_out price_line(const struct price_rule *rule, long long qty,
                            long long *earned_day, long long *earned_arrival)
{
    struct price_out o;
    o.raw = rule->per_item ? qty * rule->ppu : qty * rule->ppu / 1000;
    o.points = o.raw;
    if (rule->has_cap) {
        long long room = rule->daily_cap - (earned_day ? *earned_day : 0);
        long long aroom = rule->daily_cap * rule->cap_arrival_days -
                          (earned_arrival ? *earned_arrival : 0);
        if (aroom < room)
            room = aroom;
        if (room < 0)
            room = 0;
        if (o.points > room)
            o.points = room;
        if (earned_day)
            *earned_day += o.points;
        if (earned_arrival)
            *earned_arrival += o.points;
    }
    o.capped = o.points < o.raw;
    return o;
}
