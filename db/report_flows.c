/* report_flows.c - the flows report: where what was collected went,
 * per category and in total, and whether the mass balance holds.
 *
 * Every term is a sum of stock movements or of shipment lines, in grams
 * (g categories) or items, over the sites of the region and the period:
 *
 *   opening.on_hand + opening.in_transit + collected - reversed
 *     + entered_region
 *   = on_hand (every tier, at to's end) + in_transit (at to's end)
 *     + transit_loss + outbound + count_difference + left_region
 *
 * count_difference is what counts found missing (expected - counted),
 * transit_loss what receipts found missing (sent - received); both are
 * negative when more was found.  A region of a county or above holds
 * both ends of every shipment (they stay in one county), so its
 * left_region and entered_region are 0 and, from the beginning, its
 * opening terms too: collected - reversed = everything else. */
#include "db/report_build.h"
#include "db/catalog.h"
#include "db/closing.h"
#include "db/rollup.h"
#include "db/db.h"
#include "db/regions.h"
#include "db/reports.h"

#include <stdlib.h>
#include <string.h>

enum term {
    T_COLLECTED, T_REVERSED, T_SHIP_D, T_SHIP_T, T_RECV_T, T_RECV_S, T_LOSS, T_TRANSIT,
    T_COUNT, T_OUT_RECYCLED, T_OUT_ENERGY, T_OUT_LANDFILL, T_OUT_HAZARD, T_ON_D, T_ON_T, T_ON_S,
    T_OPEN_ON, T_OPEN_TRANSIT, T_LEFT, T_ENTERED, T_SHORTFALL, T_WINDOW, T_N
};

struct flows {
    const struct category *cats;
    int ncats;
    long long (*v)[T_N];          /* per category, then the two totals (g, item) */
};

static int cat_index(const struct flows *f, long long id)
{
    for (int i = 0; i < f->ncats; i++)
        if (f->cats[i].id == id)
            return i;
    return -1;
}

static int tier_of(const char *tier)
{
    return strcmp(tier, "dropoff") == 0 ? 0 : strcmp(tier, "transfer") == 0 ? 1 : 2;
}

static void add_moved(struct flows *f, int c, int tier, const char *kind, long long qty)
{
    long long *v = f->v[c];
    v[T_WINDOW] += qty;
    if (strcmp(kind, "dropoff") == 0)
        v[T_COLLECTED] += qty;
    else if (strcmp(kind, "reversal") == 0)
        v[T_REVERSED] -= qty;
    else if (strcmp(kind, "shipment_out") == 0 || strcmp(kind, "shipment_cancel") == 0)
        v[tier == 0 ? T_SHIP_D : T_SHIP_T] -= qty;    /* sent, less what was called back */
    else if (strcmp(kind, "shipment_in") == 0)
        v[tier == 1 ? T_RECV_T : T_RECV_S] += qty;
    else if (strcmp(kind, "count") == 0)
        v[T_COUNT] -= qty;
}

static int disposition_term(const char *d)
{
    return strcmp(d, "recycled") == 0          ? T_OUT_RECYCLED
           : strcmp(d, "energy_recovery") == 0 ? T_OUT_ENERGY
           : strcmp(d, "landfill") == 0        ? T_OUT_LANDFILL
                                               : T_OUT_HAZARD;
}

/* Rows (category_id, tier, on_hand) into the on hand of their tier. */
static int stock_now_add(struct flows *f, struct db_rows *rows)
{
    if (!rows)
        return -1;
    while (db_rows_next(rows)) {
        int c = cat_index(f, db_rows_int(rows, 0));
        if (c >= 0)
            f->v[c][T_ON_D + tier_of(db_rows_str(rows, 1, NULL))] += db_rows_int(rows, 2);
    }
    db_rows_free(rows);
    return 0;
}

/* Add column col of rows (category_id, ...) to term.  0 or -1 (rows NULL). */
static int each(struct flows *f, struct db_rows *rows, int term, int col)
{
    if (!rows)
        return -1;
    while (db_rows_next(rows)) {
        int c = cat_index(f, db_rows_int(rows, 0));
        if (c >= 0)
            f->v[c][term] += db_rows_int(rows, col);
    }
    db_rows_free(rows);
    return 0;
}

/* Rows (category_id, tier, kind, qty) into the period's terms: a stock
 * movement's kind as add_moved files it, a closed day's transit_loss as
 * the loss. */
static int moved_add(struct flows *f, struct db_rows *rows)
{
    if (!rows)
        return -1;
    while (db_rows_next(rows)) {
        int c = cat_index(f, db_rows_int(rows, 0));
        const char *kind = db_rows_str(rows, 2, NULL);
        if (c < 0)
            continue;
        if (strcmp(kind, "transit_loss") == 0)
            f->v[c][T_LOSS] += db_rows_int(rows, 3);
        else
            add_moved(f, c, tier_of(db_rows_str(rows, 1, NULL)), kind, db_rows_int(rows, 3));
    }
    db_rows_free(rows);
    return 0;
}

/* Rows (category_id, tier, qty), or (category_id, tier, kind, qty) with
 * kinds (transit_loss not a stock movement), taken from the on hand of
 * their tier: what moved after the period's end. */
static int on_hand_less(struct flows *f, struct db_rows *rows, bool kinds)
{
    if (!rows)
        return -1;
    while (db_rows_next(rows)) {
        int c = cat_index(f, db_rows_int(rows, 0));
        if (c >= 0 && (!kinds || strcmp(db_rows_str(rows, 2, NULL), "transit_loss") != 0))
            f->v[c][T_ON_D + tier_of(db_rows_str(rows, 1, NULL))] -=
                db_rows_int(rows, kinds ? 3 : 2);
    }
    db_rows_free(rows);
    return 0;
}

/* Rows (category_id, tier, kind, qty) into what is in transit (term):
 * a shipment is in transit from its sending (shipment_out, -sent) until
 * it is called back (shipment_cancel, +sent) or received (shipment_in,
 * +received, and transit_loss, sent - received), so in transit is less
 * their sum. */
static int transit_add(struct flows *f, struct db_rows *rows, int term)
{
    if (!rows)
        return -1;
    while (db_rows_next(rows)) {
        int c = cat_index(f, db_rows_int(rows, 0));
        const char *kind = db_rows_str(rows, 2, NULL);
        if (c >= 0 && (strncmp(kind, "shipment_", 9) == 0 || strcmp(kind, "transit_loss") == 0))
            f->v[c][term] -= db_rows_int(rows, 3);
    }
    db_rows_free(rows);
    return 0;
}

/* In transit at the end of day (YYYYMMDD) into term, for a region that
 * holds both ends of its shipments: the closed days up to it, and the
 * open days' movements and receipts. */
static int transit_at(struct db *d, const struct report_scope *s, const char *through,
                      long long day, struct flows *f, int term)
{
    char last[11], first_open[11];
    long long closed = rollup_day(through);
    closing_day_text(day < closed ? day : closed, last);
    if (transit_add(f, report_chain_closed(d, s->id, "1970-01-01", last), term) != 0)
        return -1;
    if (day <= closed)
        return 0;
    closing_day_text(closing_next_day(closed), first_open);
    closing_day_text(day, last);
    if (transit_add(f, report_stock_recent(d, s->path, first_open, last), term) != 0)
        return -1;
    /* the open days' losses are not rolled up: taken from the receipts */
    struct db_rows *rows = report_transit_loss(d, s->path, (long long)closing_after(through),
                                               (long long)closing_after(last));
    if (!rows)
        return -1;
    while (db_rows_next(rows)) {
        int c = cat_index(f, db_rows_int(rows, 0));
        if (c >= 0)
            f->v[c][term] -= db_rows_int(rows, 1);
    }
    db_rows_free(rows);
    return 0;
}

/* The terms of a county or more once days are closed (db/closing.h):
 * each from the closed days' rollup of the region and, for the days
 * after the last closed one, from the sites' own rows. */
static int gather_closed(struct db *d, const struct report_scope *s,
                         const struct report_period *p, const char *through, struct flows *f)
{
    const char *from = *p->from ? p->from : "1970-01-01";
    bool open = strcmp(through, p->to) < 0;
    char next[11];
    if (strcmp(through, from) >= 0 &&
        moved_add(f, report_chain_closed(d, s->id, from, open ? through : p->to)) != 0)
        return -1;
    if (open) {
        closing_day_text(closing_next_day(rollup_day(through)), next);
        long long start = (long long)closing_after(through);
        if (moved_add(f, report_stock_recent(d, s->path, strcmp(next, from) > 0 ? next : from,
                                             p->to)) != 0 ||
            each(f, report_transit_loss(d, s->path, start > p->start ? start : p->start, p->end),
                 T_LOSS, 1) != 0)
            return -1;
    }
    /* on hand at to's end: now, less what moved after it */
    if (stock_now_add(f, report_stock_now(d, s->path)) != 0)
        return -1;
    if (!open) {
        closing_day_text(closing_next_day(rollup_day(p->to)), next);
        if (strcmp(next, through) <= 0 &&
            on_hand_less(f, report_chain_closed(d, s->id, next, through), true) != 0)
            return -1;
    }
    closing_day_text(closing_next_day(rollup_day(open ? p->to : through)), next);
    if (on_hand_less(f, report_stock_recent(d, s->path, next, "9999-12-31"), true) != 0)
        return -1;
    /* in transit at from's start, and at to's end that and what the period
     * sent, less what it called back, received and lost */
    if (*p->from &&
        transit_at(d, s, through, closing_prev_day(rollup_day(from)), f, T_OPEN_TRANSIT) != 0)
        return -1;
    for (int c = 0; c < f->ncats; c++) {
        long long *v = f->v[c];
        v[T_TRANSIT] = v[T_OPEN_TRANSIT] + v[T_SHIP_D] + v[T_SHIP_T] - v[T_RECV_T] - v[T_RECV_S] -
                       v[T_LOSS];
    }
    return 0;
}

static int gather(struct db *d, const struct report_scope *s, const struct report_period *p,
                  struct flows *f)
{
    /* a county or more holds both ends of its shipments: closed days serve it */
    char through[11];
    if (closing_through(d, closing_specs[CLOSING_CHAIN].name, through) != 0)
        return -1;
    bool closed = *through && (!s->id || region_level_rank(s->level) <= 2);
    if (closed && gather_closed(d, s, p, through, f) != 0)
        return -1;
    if (!closed &&
        (moved_add(f, report_stock_moved(d, s->path, p->from, p->to)) != 0 ||
         stock_now_add(f, report_stock_now(d, s->path)) != 0 ||
         on_hand_less(f, report_stock_after(d, s->path, p->to), false) != 0))
        return -1;
    struct db_rows *rows = report_outbound(d, s->path, p->from, p->to);
    if (!rows)
        return -1;
    while (db_rows_next(rows)) {
        int c = cat_index(f, db_rows_int(rows, 0));
        if (c >= 0)
            f->v[c][disposition_term(db_rows_str(rows, 1, NULL))] += db_rows_int(rows, 2);
    }
    db_rows_free(rows);
    if (!closed &&
        (each(f, report_in_transit(d, s->path, p->end), T_TRANSIT, 1) != 0 ||
         each(f, report_in_transit(d, s->path, p->start), T_OPEN_TRANSIT, 1) != 0 ||
         each(f, report_transit_loss(d, s->path, p->start, p->end), T_LOSS, 1) != 0))
        return -1;
    if (each(f, report_shortfall(d, s->path), T_SHORTFALL, 1) != 0)
        return -1;
    /* below a county a shipment may cross the region's border */
    if (s->id && region_level_rank(s->level) > 2) {
        if (!(rows = report_border(d, s->path, p->start, p->end)))
            return -1;
        while (db_rows_next(rows)) {
            int c = cat_index(f, db_rows_int(rows, 0));
            if (c >= 0) {
                f->v[c][T_LEFT] += db_rows_int(rows, 1);
                f->v[c][T_ENTERED] += db_rows_int(rows, 2);
            }
        }
        db_rows_free(rows);
    }
    for (int c = 0; c < f->ncats; c++) {
        long long *v = f->v[c];
        v[T_OPEN_ON] = v[T_ON_D] + v[T_ON_T] + v[T_ON_S] - v[T_WINDOW];
    }
    return 0;
}

static bool balanced(const long long *v)
{
    long long in = v[T_OPEN_ON] + v[T_OPEN_TRANSIT] + v[T_COLLECTED] - v[T_REVERSED] + v[T_ENTERED];
    long long out = v[T_ON_D] + v[T_ON_T] + v[T_ON_S] + v[T_TRANSIT] + v[T_LOSS] +
                    v[T_OUT_RECYCLED] + v[T_OUT_ENERGY] + v[T_OUT_LANDFILL] + v[T_OUT_HAZARD] +
                    v[T_COUNT] + v[T_LEFT];
    return in == out;
}

static json_t *flows_row(const char *category, const char *unit, const long long *v)
{
#define I(t) ((json_int_t)v[t])
    return json_pack(
        "{s:s, s:s, s:I, s:I, s:{s:I, s:I}, s:{s:I, s:I}, s:I, s:I, s:I, "
        "s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:{s:I, s:I}, s:I, s:I, s:I, s:b}",
        "category", category, "unit", unit, "collected", I(T_COLLECTED), "reversed",
        I(T_REVERSED), "shipped", "from_dropoff", I(T_SHIP_D), "from_transfer", I(T_SHIP_T),
        "received", "at_transfer", I(T_RECV_T), "at_sorting", I(T_RECV_S), "transit_loss",
        I(T_LOSS), "in_transit", I(T_TRANSIT), "count_difference", I(T_COUNT), "outbound",
        "recycled", I(T_OUT_RECYCLED), "energy_recovery", I(T_OUT_ENERGY), "landfill",
        I(T_OUT_LANDFILL), "hazardous_treatment", I(T_OUT_HAZARD), "on_hand", "dropoff",
        I(T_ON_D), "transfer", I(T_ON_T), "sorting", I(T_ON_S), "opening", "on_hand",
        I(T_OPEN_ON), "in_transit", I(T_OPEN_TRANSIT), "left_region", I(T_LEFT),
        "entered_region", I(T_ENTERED), "reversal_shortfall", I(T_SHORTFALL), "balanced",
        balanced(v));
#undef I
}

static bool any(const long long *v)
{
    for (int t = 0; t < T_N; t++)
        if (v[t])
            return true;
    return false;
}

json_t *report_flows(struct db *d, const struct report_query *q)
{
    struct flows f = { NULL, 0, NULL };
    f.ncats = catalog_all(d, &f.cats);
    if (f.ncats >= 0)
        f.v = calloc((size_t)f.ncats + 2, sizeof *f.v);
    if (f.ncats < 0 || !f.v || gather(d, &q->s, &q->p, &f) != 0) {
        free(f.v);
        return NULL;
    }
    json_t *items = json_array(), *totals = json_array();
    bool all = true;
    for (int c = 0; c < f.ncats; c++) {
        long long *tot = f.v[f.ncats + (f.cats[c].per_item ? 1 : 0)];
        for (int t = 0; t < T_N; t++)
            tot[t] += f.v[c][t];
        if (!any(f.v[c]))
            continue;
        all &= balanced(f.v[c]);
        json_array_append_new(items, flows_row(f.cats[c].code, f.cats[c].per_item ? "item" : "g",
                                               f.v[c]));
    }
    json_array_append_new(totals, flows_row("total", "g", f.v[f.ncats]));
    json_array_append_new(totals, flows_row("total", "item", f.v[f.ncats + 1]));
    free(f.v);
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:b}", "region_id", (json_int_t)q->s.id,
                     "region_name", q->s.name, "from", q->p.from, "to", q->p.to, "rows", items,
                     "totals", totals, "balanced", all);
}
