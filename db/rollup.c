/* rollup.c - see rollup.h. */
#include "db/rollup.h"
#include "db/engine.h"

#include <stdio.h>
#include <string.h>

const struct tally_spec rollup_specs[ROLLUP_COUNT] = {
    [ROLLUP_SITE_DAY] = {
        { "INSERT INTO stat_site_day (site_id, local_day, category_id, dropoffs, grams, items, "
          "points) VALUES ", "(?,?,?,?,?,?,?)",
          " ON DUPLICATE KEY UPDATE dropoffs = dropoffs + VALUES(dropoffs), "
          "grams = grams + VALUES(grams), items = items + VALUES(items), "
          "points = points + VALUES(points)", 7 },
        3, 4,
    },
    [ROLLUP_STOCK_DAY] = {
        { "INSERT INTO stat_stock_day (site_id, local_day, category_id, kind, qty, moves) VALUES ",
          "(?,?,?,?,?,?)",
          " ON DUPLICATE KEY UPDATE qty = qty + VALUES(qty), moves = moves + VALUES(moves)", 6 },
        4, 2,
    },
    [ROLLUP_SITE_MONTH] = {
        { "INSERT INTO stat_site_month (site_id, month, category_id, dropoffs, grams, items, "
          "points) VALUES ", "(?,?,?,?,?,?,?)",
          " ON DUPLICATE KEY UPDATE dropoffs = dropoffs + VALUES(dropoffs), "
          "grams = grams + VALUES(grams), items = items + VALUES(items), "
          "points = points + VALUES(points)", 7 },
        3, 4,
    },
    [ROLLUP_STOCK_MONTH] = {
        { "INSERT INTO stat_stock_month (site_id, month, category_id, kind, qty, moves) VALUES ",
          "(?,?,?,?,?,?)",
          " ON DUPLICATE KEY UPDATE qty = qty + VALUES(qty), moves = moves + VALUES(moves)", 6 },
        4, 2,
    },
    [ROLLUP_HOUSEHOLD_MONTH] = {
        { "INSERT INTO stat_household_month (household_id, month, region_id, dropoffs, points, "
          "grams, items) VALUES ", "(?,?,?,?,?,?,?)",
          " ON DUPLICATE KEY UPDATE dropoffs = dropoffs + VALUES(dropoffs), "
          "points = points + VALUES(points), grams = grams + VALUES(grams), "
          "items = items + VALUES(items)", 7 },
        3, 4,
    },
    [ROLLUP_PARTICIPATION_LATE] = {
        { "INSERT INTO participation_late (region_id, month, marks) VALUES ", "(?,?,?)",
          " ON DUPLICATE KEY UPDATE marks = marks + VALUES(marks)", 3 },
        2, 1,
    },
    [ROLLUP_COLLECTION_LATE] = {
        { "INSERT INTO collection_late (site_id, local_day, marks) VALUES ", "(?,?,?)",
          " ON DUPLICATE KEY UPDATE marks = marks + VALUES(marks)", 3 },
        2, 1,
    },
};

long long rollup_day(const char *local_day)
{
    int y, m, d;
    char tail;
    if (!local_day || sscanf(local_day, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return 0;
    return (long long)y * 10000 + m * 100 + d;
}

long long rollup_month(long long day)
{
    return day / 100 * 100 + 1;
}

int rollup_month_twin(int rollup)
{
    return rollup == ROLLUP_SITE_DAY    ? ROLLUP_SITE_MONTH
           : rollup == ROLLUP_STOCK_DAY ? ROLLUP_STOCK_MONTH
                                        : -1;
}

int rollup_stock_kind(const char *kind)
{
    static const char *const kinds[] = { "dropoff", "reversal", "shipment_out", "shipment_in",
                                         "shipment_cancel", "count", "outbound" };
    for (int i = 0; i < (int)(sizeof kinds / sizeof kinds[0]); i++)
        if (strcmp(kind, kinds[i]) == 0)
            return i + 1;
    return 0;
}

int rollup_late(struct engine_tx *tx, long long region_id, long long day, long long today)
{
    long long key[] = { region_id, rollup_month(day) }, val[] = { 1 };
    if (rollup_month(day) >= rollup_month(today))
        return 0;           /* the month has not ended: nothing is closed yet */
    return engine_tally(tx, ROLLUP_PARTICIPATION_LATE, key, val);
}

int rollup_dropoff(struct engine_tx *tx, const struct rollup_dropoff *f, int sign)
{
    long long grams = 0, items = 0, points = 0;
    for (int i = 0; i < f->nlines; i++) {
        const struct rollup_line *l = &f->lines[i];
        long long key[] = { f->site_id, f->day, l->category_id };
        long long val[] = { sign, sign * l->grams, sign * l->items, sign * l->points };
        if (engine_tally(tx, ROLLUP_SITE_DAY, key, val) != 0)
            return -1;
        grams += l->grams;
        items += l->items;
        points += l->points;
    }
    long long whole[] = { f->site_id, f->day, 0 };
    long long totals[] = { sign, sign * grams, sign * items, sign * points };
    long long hkey[] = { f->household_id, rollup_month(f->day), f->region_id };
    long long hval[] = { sign, sign * points, sign * grams, sign * items };
    /* a day that has ended may be closed already: its household sets
     * are worked out again */
    long long lkey[] = { f->site_id, f->day }, lval[] = { 1 };
    return engine_tally(tx, ROLLUP_SITE_DAY, whole, totals) != 0 ||
                   engine_tally(tx, ROLLUP_HOUSEHOLD_MONTH, hkey, hval) != 0 ||
                   rollup_late(tx, f->region_id, f->day, f->today) != 0 ||
                   (f->day < f->today && engine_tally(tx, ROLLUP_COLLECTION_LATE, lkey, lval) != 0)
               ? -1
               : 0;
}
