/* province_days.c - the activity of a seeded province (see province.h),
 * simulated day by day in memory and written as the engine would have
 * written it: drop-offs with their lines, ledger rows and stock
 * movements; a reversal now and then; every Sunday evening each drop-off
 * site ships what it holds to its county's transfer station (now and then
 * a shipment is cancelled and sent again), received the next morning
 * with small losses or gains; on a month's last evening each transfer
 * station ships to the sorting centre, and households spend half of what
 * they earned that month at their town's shop; on the 2nd the sorting
 * centre counts its stock and sends it out.  The heads (balances, stock)
 * and the rollups are the sums of what was written, so the ledger check,
 * reconcile and the flows report balance. */
#include "admin-tools/province.h"
#include "admin-tools/wbctl.h"
#include "server/clock.h"
#include "db/bulk.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { K_DROPOFF, K_REVERSAL, K_SHIP_OUT, K_SHIP_IN, K_SHIP_CANCEL, K_COUNT, K_OUTBOUND };
static const char *const kinds[PV_KINDS] = { "dropoff",         "reversal", "shipment_out",
                                             "shipment_in",     "shipment_cancel", "count",
                                             "outbound" };

/* How households bring each category: the range of a line and how often. */
static const struct {
    const char *code;
    int lo, hi, weight, hazardous;
} profiles[] = {
    { "paper", 500, 8000, 30, 0 },      { "pet_bottle", 2, 40, 20, 0 },
    { "plastic", 200, 3000, 15, 0 },    { "metal", 200, 3000, 8, 0 },
    { "glass", 500, 5000, 6, 0 },       { "textile", 500, 4000, 6, 0 },
    { "ewaste", 1, 2, 2, 1 },           { "battery", 1, 20, 3, 1 },
    { "ag_film", 500, 8000, 4, 0 },     { "pesticide_container", 1, 15, 3, 1 },
    { "express_packaging", 200, 2000, 8, 0 },
};

static const char *const surnames[] = { "王", "李", "张", "刘", "陈", "杨", "赵", "黄",
                                        "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
                                        "何", "郭", "马", "罗" };
static const char *const given[] = { "秀英", "桂英", "建国", "建华", "志强", "丽娟", "海燕",
                                     "国庆", "春梅", "文军", "金凤", "玉兰", "德明", "小平",
                                     "淑珍", "振华", "凤英", "永刚", "红梅", "立新" };

/* A shipment on its way. */
struct trip {
    long long id;
    int from, to, day;            /* sent on day (days since 1970) */
    long long sent_at, by;
    int due;                      /* the day it is received */
    int hour;                     /* received at this local hour */
    int64_t sent[PV_MAX_CATS];
};

struct out {
    struct bulk *dropoffs, *lines, *ledger, *moves, *ships, *ship_lines, *counts, *count_lines,
        *outbounds, *out_lines, *redemptions, *red_lines, *site_day, *site_month, *stock_day,
        *stock_month, *hh_month, *heads, *households;
};

struct sim {
    struct province *p;
    struct out o;
    struct trip *trips;
    int ntrips, captrips;
    int *touched;
    int ntouched;
    int day;                      /* days since 1970 of the local day being simulated */
    char daystr[11];
    long long midnight;           /* its local midnight, epoch seconds */
};

uint64_t pv_rand(struct province *p, uint64_t n)
{
    /* xorshift64*: fast, and the same world for the same seed */
    p->rng ^= p->rng >> 12;
    p->rng ^= p->rng << 25;
    p->rng ^= p->rng >> 27;
    return n ? (p->rng * 2685821657736338717ULL >> 11) % n : 0;
}

void pv_utc(long long t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void day_string(int day, char out[11])
{
    int y, m, d;
    clock_civil_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

static long long hh_id(const struct province *p, long long i)
{
    return p->hh_base + 1 + i;
}

/* ---- the two ledgers ---- */

static int credit(struct sim *s, long long i, long long delta, const char *kind, long long ref,
                  long long staff, long long at)
{
    struct pv_household *h = &s->p->hh[i];
    char when[24];
    h->balance += delta;
    h->seq++;
    s->p->n_ledger++;
    pv_utc(at, when, sizeof when);
    return bulk_row(s->o.ledger, "%lld\t%lld\t%lld\t%lld\t%s\t%lld\ts:%lld\t\\N\t%s",
                    hh_id(s->p, i), (long long)h->seq, delta, (long long)h->balance, kind, ref,
                    staff, when);
}

static void touch(struct sim *s, int site)
{
    if (!s->p->sites[site].touched) {
        s->p->sites[site].touched = 1;
        s->touched[s->ntouched++] = site;
    }
}

static int move(struct sim *s, int site, int c, long long delta, int kind, long long ref,
                long long at)
{
    struct pv_site *x = &s->p->sites[site];
    char when[24];
    x->on_hand[c] += delta;
    x->seq[c]++;
    x->day.q[c][kind] += delta;
    x->day.m[c][kind]++;
    touch(s, site);
    s->p->n_movements++;
    pv_utc(at, when, sizeof when);
    return bulk_row(s->o.moves, "%lld\t%lld\t%lld\t%lld\t%lld\t%s\t%lld\t%s\t%s", x->id,
                    s->p->cats[c].id, (long long)x->seq[c], delta, (long long)x->on_hand[c],
                    kinds[kind], ref, s->daystr, when);
}

/* ---- drop-offs ---- */

static int pick_category(struct province *p)
{
    int total = 0;
    for (int c = 0; c < p->ncats; c++)
        total += p->cats[c].weight;
    int r = (int)pv_rand(p, (uint64_t)total);
    for (int c = 0; c < p->ncats; c++) {
        if (r < p->cats[c].weight)
            return c;
        r -= p->cats[c].weight;
    }
    return 0;
}

static int dropoff(struct sim *s, long long at)
{
    struct province *p = s->p;
    long long i = (long long)pv_rand(p, (uint64_t)p->households);
    struct pv_household *h = &p->hh[i];
    const struct pv_town *t = &p->towns[p->villages[h->village].town];
    struct pv_site *site = &p->sites[t->site];
    long long id = p->next_dropoff++;
    if (h->day != s->day) {
        memset(h->day_pts, 0, sizeof h->day_pts);
        h->day = s->day;
    }
    int r = (int)pv_rand(p, 12);
    int nlines = r < 8 ? 1 : r < 11 ? 2 : 3;
    int cat[3], n = 0;
    long long qty[3], pts[3];
    int capped[3];
    long long points = 0, grams = 0, items = 0;
    int any_capped = 0;
    while (n < nlines) {
        int c = pick_category(p), dup = 0;
        for (int k = 0; k < n; k++)
            dup |= cat[k] == c;
        if (dup)
            continue;
        const struct pv_cat *x = &p->cats[c];
        cat[n] = c;
        qty[n] = x->lo + (long long)pv_rand(p, (uint64_t)(x->hi - x->lo + 1));
        long long raw = x->per_item ? qty[n] * x->ppu : qty[n] * x->ppu / 1000;
        capped[n] = x->cap >= 0 && h->day_pts[c] + raw > x->cap;
        pts[n] = capped[n] ? x->cap - h->day_pts[c] : raw;
        h->day_pts[c] += (int32_t)pts[n];
        points += pts[n];
        if (x->per_item)
            items += qty[n];
        else
            grams += qty[n];
        any_capped |= capped[n];
        n++;
    }
    int reversed = pv_rand(p, 200) == 0;
    char when[24], back[24];
    pv_utc(at, when, sizeof when);
    pv_utc(at + 600, back, sizeof back);
    int rc = reversed
        ? bulk_row(s->o.dropoffs,
                   "%lld\t%lld\t%lld\t%lld\tseed-%lld\t%lld\t%lld\t%lld\t%d\t%lld\t%s\t0\t\\N\t\\N"
                   "\treversed\t%s\ts:%lld\t称重有误，已退回\t%lld\t0\t%s",
                   id, site->id, hh_id(p, i), site->staff_id, id, points, grams, items,
                   any_capped, at, s->daystr, back, site->staff_id, points, when)
        : bulk_row(s->o.dropoffs,
                   "%lld\t%lld\t%lld\t%lld\tseed-%lld\t%lld\t%lld\t%lld\t%d\t%lld\t%s\t0\t\\N\t\\N"
                   "\tok\t\\N\t\\N\t\\N\t\\N\t\\N\t%s",
                   id, site->id, hh_id(p, i), site->staff_id, id, points, grams, items,
                   any_capped, at, s->daystr, when);
    if (rc != 0)
        return -1;
    for (int k = 0; k < n; k++) {
        const struct pv_cat *x = &p->cats[cat[k]];
        if (x->per_item
                ? bulk_row(s->o.lines, "%lld\t%d\t%lld\t\\N\t%lld\t%lld\t%lld\t%lld\t%d", id, k + 1,
                           x->id, qty[k], x->rate_id, x->ppu, pts[k], capped[k])
                : bulk_row(s->o.lines, "%lld\t%d\t%lld\t%lld\t\\N\t%lld\t%lld\t%lld\t%d", id, k + 1,
                           x->id, qty[k], x->rate_id, x->ppu, pts[k], capped[k]))
            return -1;
        if (move(s, t->site, cat[k], qty[k], K_DROPOFF, id, at) != 0)
            return -1;
    }
    p->n_dropoffs++;
    p->n_lines += n;
    if (credit(s, i, points, "dropoff", id, site->staff_id, at) != 0)
        return -1;
    if (reversed) {
        p->n_reversed++;
        for (int k = 0; k < n; k++)
            if (move(s, t->site, cat[k], -qty[k], K_REVERSAL, id, at + 600) != 0)
                return -1;
        return credit(s, i, -points, "reversal", id, site->staff_id, at + 600);
    }
    site->day.n[0]++;
    site->day.g[0] += grams;
    site->day.i[0] += items;
    site->day.p[0] += points;
    for (int k = 0; k < n; k++) {
        int c = cat[k] + 1;
        site->day.n[c]++;
        site->day.g[c] += p->cats[cat[k]].per_item ? 0 : qty[k];
        site->day.i[c] += p->cats[cat[k]].per_item ? qty[k] : 0;
        site->day.p[c] += pts[k];
    }
    h->m_n++;
    h->m_p += points;
    h->m_g += grams;
    h->m_i += items;
    return 0;
}

/* ---- the chain ---- */

/* Send everything site holds to site `to` at `at`; cancelled: called back
 * half an hour later.  The trip is kept until it is received. */
static int ship(struct sim *s, int from, int to, long long at, int cancelled)
{
    struct province *p = s->p;
    struct pv_site *x = &p->sites[from];
    struct trip t = { .id = p->next_shipment++, .from = from, .to = to, .day = s->day,
                      .sent_at = at, .by = x->staff_id, .due = s->day + 1,
                      .hour = x->tier == 0 ? 10 : 9 };
    int line = 0;
    for (int c = 0; c < p->ncats; c++) {
        t.sent[c] = x->on_hand[c];
        if (t.sent[c] <= 0)
            continue;
        if (move(s, from, c, -t.sent[c], K_SHIP_OUT, t.id, at) != 0)
            return -1;
        if (cancelled && bulk_row(s->o.ship_lines, "%lld\t%d\t%lld\t%lld\t\\N", t.id, ++line,
                                  p->cats[c].id, (long long)t.sent[c]) != 0)
            return -1;
    }
    p->n_shipments++;
    if (cancelled) {
        char sent[24], back[24];
        pv_utc(at, sent, sizeof sent);
        pv_utc(at + 1800, back, sizeof back);
        for (int c = 0; c < p->ncats; c++)
            if (t.sent[c] > 0 && move(s, from, c, t.sent[c], K_SHIP_CANCEL, t.id, at + 1800) != 0)
                return -1;
        p->n_cancelled++;
        return bulk_row(s->o.ships,
                        "%lld\t%lld\t%lld\tcancelled\tseed-s%lld\t冀R%05lld\t\\N\t%s\t%s\t%lld"
                        "\t\\N\t\\N\t\\N\t%s\t%lld\t车辆故障，改派",
                        t.id, x->id, p->sites[to].id, t.id, t.id % 100000, sent, s->daystr,
                        t.by, back, t.by);
    }
    if (s->ntrips == s->captrips) {
        int cap = s->captrips ? s->captrips * 2 : 1024;
        struct trip *v = realloc(s->trips, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        s->trips = v;
        s->captrips = cap;
    }
    s->trips[s->ntrips++] = t;
    return 0;
}

static int has_stock(const struct province *p, int site)
{
    for (int c = 0; c < p->ncats; c++)
        if (p->sites[site].on_hand[c] > 0)
            return 1;
    return 0;
}

/* The shipment's row and lines; received unless in transit. */
static int write_trip(struct sim *s, const struct trip *t, int received, const int64_t *got,
                      long long at)
{
    struct province *p = s->p;
    char sent[24], when[24], day[11];
    pv_utc(t->sent_at, sent, sizeof sent);
    day_string(t->day, day);
    int line = 0;
    for (int c = 0; c < p->ncats; c++) {
        if (t->sent[c] <= 0)
            continue;
        int rc = received ? bulk_row(s->o.ship_lines, "%lld\t%d\t%lld\t%lld\t%lld", t->id, ++line,
                                     p->cats[c].id, (long long)t->sent[c], (long long)got[c])
                          : bulk_row(s->o.ship_lines, "%lld\t%d\t%lld\t%lld\t\\N", t->id, ++line,
                                     p->cats[c].id, (long long)t->sent[c]);
        if (rc != 0)
            return -1;
    }
    const struct pv_site *to = &p->sites[t->to];
    if (!received) {
        p->n_in_transit++;
        return bulk_row(s->o.ships,
                        "%lld\t%lld\t%lld\tin_transit\tseed-s%lld\t冀R%05lld\t\\N\t%s\t%s\t%lld"
                        "\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N",
                        t->id, p->sites[t->from].id, to->id, t->id, t->id % 100000, sent, day,
                        t->by);
    }
    pv_utc(at, when, sizeof when);
    return bulk_row(s->o.ships,
                    "%lld\t%lld\t%lld\treceived\tseed-s%lld\t冀R%05lld\t\\N\t%s\t%s\t%lld\t%s\t%s"
                    "\t%lld\t\\N\t\\N\t\\N",
                    t->id, p->sites[t->from].id, to->id, t->id, t->id % 100000, sent, day, t->by,
                    when, s->daystr, to->staff_id);
}

/* Receive the trips due today: what arrives is what was sent, less up to
 * 2 % of a weighed line (now and then a little more: wet paper). */
static int receive_due(struct sim *s)
{
    struct province *p = s->p;
    int kept = 0;
    for (int k = 0; k < s->ntrips; k++) {
        struct trip *t = &s->trips[k];
        if (t->due != s->day) {
            s->trips[kept++] = *t;
            continue;
        }
        long long at = s->midnight + t->hour * 3600LL;
        int64_t got[PV_MAX_CATS] = { 0 };
        for (int c = 0; c < p->ncats; c++) {
            if (t->sent[c] <= 0)
                continue;
            int64_t v = t->sent[c];
            if (p->cats[c].per_item)
                got[c] = v - (v > 1 && pv_rand(p, 20) == 0);
            else if (pv_rand(p, 60) == 0)
                got[c] = v + v * (int64_t)pv_rand(p, 51) / 10000;
            else
                got[c] = v - v * (int64_t)pv_rand(p, 201) / 10000;
            if (got[c] > 0 && move(s, t->to, c, got[c], K_SHIP_IN, t->id, at) != 0)
                return -1;
        }
        if (write_trip(s, t, 1, got, at) != 0)
            return -1;
    }
    s->ntrips = kept;
    return 0;
}

/* The 2nd of a month at a sorting centre: count, then send everything out,
 * hazardous categories to treatment and the rest to recycling. */
static int count_and_send_out(struct sim *s, int site)
{
    struct province *p = s->p;
    struct pv_site *x = &p->sites[site];
    long long at = s->midnight + 10 * 3600LL;
    char when[24];
    long long id = p->next_count++;
    pv_utc(at, when, sizeof when);
    if (bulk_row(s->o.counts, "%lld\t%lld\tseed-c%lld\t%lld\t%s\t%s", id, x->id, id, x->staff_id,
                 s->daystr, when) != 0)
        return -1;
    p->n_counts++;
    for (int c = 0; c < p->ncats; c++) {
        int64_t expected = x->on_hand[c];
        if (expected <= 0)
            continue;
        int64_t counted = p->cats[c].per_item ? expected
                                              : expected - expected * (int64_t)pv_rand(p, 51) / 10000;
        if (bulk_row(s->o.count_lines, "%lld\t%lld\t%lld\t%lld", id, p->cats[c].id,
                     (long long)expected, (long long)counted) != 0)
            return -1;
        if (counted != expected && move(s, site, c, counted - expected, K_COUNT, id, at) != 0)
            return -1;
    }
    at = s->midnight + 15 * 3600LL;
    pv_utc(at, when, sizeof when);
    for (int hazardous = 0; hazardous < 2; hazardous++) {
        long long ob = 0;
        for (int c = 0; c < p->ncats; c++) {
            if (p->cats[c].hazardous != hazardous || x->on_hand[c] <= 0)
                continue;
            if (!ob) {
                ob = p->next_outbound++;
                p->n_outbounds++;
                if (bulk_row(s->o.outbounds, "%lld\t%lld\tseed-o%lld\t%s\t%s\t%lld\t%s\t%s", ob,
                             x->id, ob, hazardous ? "危险废物集中处置中心" : "再生资源回收利用公司",
                             hazardous ? "hazardous_treatment" : "recycled", x->staff_id,
                             s->daystr, when) != 0)
                    return -1;
            }
            long long q = x->on_hand[c];
            if (bulk_row(s->o.out_lines, "%lld\t%lld\t%lld", ob, p->cats[c].id, q) != 0 ||
                move(s, site, c, -q, K_OUTBOUND, ob, at) != 0)
                return -1;
        }
    }
    return 0;
}

/* ---- households' months ---- */

static int month_end(struct sim *s, int redeem)
{
    struct province *p = s->p;
    char month[11];
    snprintf(month, sizeof month, "%.7s-01", s->daystr);
    long long at = s->midnight + 20 * 3600LL;
    char when[24];
    pv_utc(at, when, sizeof when);
    for (long long i = 0; i < p->households; i++) {
        struct pv_household *h = &p->hh[i];
        if (h->m_n == 0)
            continue;
        const struct pv_village *v = &p->villages[h->village];
        if (bulk_row(s->o.hh_month, "%lld\t%s\t%lld\t%lld\t%lld\t%lld\t%lld", hh_id(p, i), month,
                     v->region_id, (long long)h->m_n, (long long)h->m_p, (long long)h->m_g,
                     (long long)h->m_i) != 0)
            return -1;
        long long spend = 10 * (h->m_p / 20);
        if (redeem && spend >= 100 && pv_rand(p, 10) < 6) {
            const struct pv_town *t = &p->towns[v->town];
            long long id = p->next_redemption++;
            p->n_redemptions++;
            if (bulk_row(s->o.redemptions,
                         "%lld\t%lld\t%lld\t%lld\tseed-r%lld\t%lld\t\\N\tpin\tok\t%s", id,
                         t->shop_id, hh_id(p, i), t->clerk_id, id, spend, when) != 0 ||
                bulk_row(s->o.red_lines, "%lld\t1\t%lld\t积分兑换券\t%lld\t10\t%lld", id,
                         t->item_id, spend / 10, spend) != 0 ||
                credit(s, i, -spend, "redemption", id, t->clerk_id, at) != 0)
                return -1;
        }
        h->m_n = h->m_p = h->m_g = h->m_i = 0;
    }
    return 0;
}

/* A site's rollup rows of one day or month (when: its day, or the
 * month's 1st) into the two loaders of that period. */
static int write_sums(struct sim *s, const struct pv_site *x, const struct pv_sums *v,
                      const char *when, struct bulk *collected, struct bulk *moved)
{
    const struct province *p = s->p;
    for (int c = 0; c <= p->ncats; c++)
        if (v->n[c] && bulk_row(collected, "%lld\t%s\t%lld\t%lld\t%lld\t%lld\t%lld", x->id, when,
                                c ? p->cats[c - 1].id : 0, (long long)v->n[c],
                                (long long)v->g[c], (long long)v->i[c], (long long)v->p[c]) != 0)
            return -1;
    for (int c = 0; c < p->ncats; c++)
        for (int kind = 0; kind < PV_KINDS; kind++)
            if (v->m[c][kind] &&
                bulk_row(moved, "%lld\t%s\t%lld\t%s\t%lld\t%lld", x->id, when, p->cats[c].id,
                         kinds[kind], (long long)v->q[c][kind], (long long)v->m[c][kind]) != 0)
                return -1;
    return 0;
}

static void add_sums(struct pv_sums *to, const struct pv_sums *v)
{
    for (int c = 0; c <= PV_MAX_CATS; c++) {
        to->n[c] += v->n[c];
        to->g[c] += v->g[c];
        to->i[c] += v->i[c];
        to->p[c] += v->p[c];
    }
    for (int c = 0; c < PV_MAX_CATS; c++)
        for (int kind = 0; kind < PV_KINDS; kind++) {
            to->q[c][kind] += v->q[c][kind];
            to->m[c][kind] += v->m[c][kind];
        }
}

/* The day's rollup rows of every site it touched, added to their month. */
static int flush_day(struct sim *s)
{
    for (int k = 0; k < s->ntouched; k++) {
        struct pv_site *x = &s->p->sites[s->touched[k]];
        if (write_sums(s, x, &x->day, s->daystr, s->o.site_day, s->o.stock_day) != 0)
            return -1;
        add_sums(&x->month, &x->day);
        memset(&x->day, 0, sizeof x->day);
        x->touched = 0;
    }
    s->ntouched = 0;
    return 0;
}

/* The month's rollup rows of every site (the month of the day simulated). */
static int flush_month(struct sim *s)
{
    char month[11];
    snprintf(month, sizeof month, "%.7s-01", s->daystr);
    for (int k = 0; k < s->p->nsites; k++) {
        struct pv_site *x = &s->p->sites[k];
        if (write_sums(s, x, &x->month, month, s->o.site_month, s->o.stock_month) != 0)
            return -1;
        memset(&x->month, 0, sizeof x->month);
    }
    return 0;
}

/* ---- the whole run ---- */

static int load_categories(struct province *p)
{
    static const char sql[] =
        "SELECT c.id, c.code, c.unit, COALESCE(c.daily_cap, -1), r.id, r.points_per_unit "
        "FROM categories c JOIN rates r ON r.category_id = c.id AND r.region_key = 0 "
        "AND r.effective_from = (SELECT MAX(x.effective_from) FROM rates x "
        "WHERE x.category_id = c.id AND x.region_key = 0 AND x.effective_from <= UNIX_TIMESTAMP()) "
        "ORDER BY c.id";
    struct db_rows *r = db_query_built(p->d, sql, NULL, 0);
    if (!r)
        return -1;
    while (db_rows_next(r) && p->ncats < PV_MAX_CATS) {
        const char *code = db_rows_str(r, 1, NULL);
        for (size_t k = 0; k < sizeof profiles / sizeof profiles[0]; k++) {
            if (strcmp(code, profiles[k].code) != 0)
                continue;
            struct pv_cat *c = &p->cats[p->ncats++];
            c->id = db_rows_int(r, 0);
            c->per_item = strcmp(db_rows_str(r, 2, NULL), "item") == 0;
            c->cap = db_rows_int(r, 3);
            c->rate_id = db_rows_int(r, 4);
            c->ppu = db_rows_int(r, 5);
            c->lo = profiles[k].lo;
            c->hi = profiles[k].hi;
            c->weight = profiles[k].weight;
            c->hazardous = profiles[k].hazardous;
        }
    }
    db_rows_free(r);
    return 0;
}

static struct bulk *loader(struct db *d, const char *table, const char *cols, int *failed)
{
    struct bulk *b = bulk_new(d, table, cols);
    *failed |= b == NULL;
    return b;
}

/* The four tables that take a row or more a drop-off load on connections
 * of their own, from threads of their own, so that MariaDB loads them on
 * every core while the days go on. */
static struct bulk *big_loader(struct db *d, const char *table, const char *cols, int *failed)
{
    struct db *own = wbctl_db_bulk();
    if (db_exec_raw(own, "SET SESSION foreign_key_checks = 0, unique_checks = 0") != 0) {
        db_close(own);
        *failed = 1;
        return NULL;
    }
    struct bulk *b = bulk_new_own(d, own, table, cols);
    *failed |= b == NULL;
    return b;
}

static int open_out(struct db *d, struct out *o)
{
    int failed = 0;
    o->dropoffs = big_loader(d, "dropoffs",
                         "(id, site_id, household_id, attendant_id, idem_key, points, grams, items, "
                         "capped, recorded_at, local_day, backdated, arrival_day, note, status, "
                         "reversed_at, reversed_by, reverse_reason, clawed_back, shortfall, created_at)",
                         &failed);
    o->lines = big_loader(d, "dropoff_lines",
                      "(dropoff_id, line_no, category_id, grams, count, rate_id, points_per_unit, "
                      "points, capped)", &failed);
    o->ledger = big_loader(d, "ledger",
                       "(household_id, seq, delta, balance_after, kind, ref_id, actor, memo, "
                       "created_at)", &failed);
    o->moves = big_loader(d, "stock_movements",
                      "(site_id, category_id, seq, delta, on_hand_after, kind, ref_id, local_day, "
                      "created_at)", &failed);
    o->ships = loader(d, "shipments",
                      "(id, from_site_id, to_site_id, status, idem_key, vehicle, note, sent_at, "
                      "sent_day, sent_by, received_at, received_day, received_by, cancelled_at, "
                      "cancelled_by, cancel_reason)", &failed);
    o->ship_lines = loader(d, "shipment_lines",
                           "(shipment_id, line_no, category_id, sent, received)", &failed);
    o->counts = loader(d, "stock_counts",
                       "(id, site_id, idem_key, counted_by, local_day, created_at)", &failed);
    o->count_lines = loader(d, "stock_count_lines", "(count_id, category_id, expected, counted)",
                            &failed);
    o->outbounds = loader(d, "outbounds",
                          "(id, site_id, idem_key, buyer, disposition, created_by, local_day, "
                          "created_at)", &failed);
    o->out_lines = loader(d, "outbound_lines", "(outbound_id, category_id, qty)", &failed);
    o->redemptions = loader(d, "redemptions",
                            "(id, shop_id, household_id, clerk_id, idem_key, points, memo, consent, "
                            "status, created_at)", &failed);
    o->red_lines = loader(d, "redemption_lines",
                          "(redemption_id, line_no, item_id, name, qty, points_each, points)",
                          &failed);
    o->site_day = loader(d, "stat_site_day",
                         "(site_id, local_day, category_id, dropoffs, grams, items, points)",
                         &failed);
    o->site_month = loader(d, "stat_site_month",
                           "(site_id, month, category_id, dropoffs, grams, items, points)",
                           &failed);
    o->stock_day = loader(d, "stat_stock_day",
                          "(site_id, local_day, category_id, kind, qty, moves)", &failed);
    o->stock_month = loader(d, "stat_stock_month",
                            "(site_id, month, category_id, kind, qty, moves)", &failed);
    o->hh_month = loader(d, "stat_household_month",
                         "(household_id, month, region_id, dropoffs, points, grams, items)",
                         &failed);
    o->heads = loader(d, "site_stock", "(site_id, category_id, on_hand, seq, shortfall)", &failed);
    o->households = loader(d, "households",
                           "(id, region_id, head_name, address, phone, members, status, balance, "
                           "seq, debt, card_gen, token_version, created_at, updated_at)", &failed);
    return failed ? -1 : 0;
}

#define OUT_TABLES (sizeof(struct out) / sizeof(struct bulk *))

/* Send every loader's rest (all of them, in the order above) and free. */
static int close_out(struct out *o, int send)
{
    struct bulk **v = (struct bulk **)o;
    int failed = 0;
    for (size_t k = 0; k < OUT_TABLES; k++) {
        if (send && !failed)
            failed |= bulk_finish(v[k]) != 0;
        else
            bulk_free(v[k]);
        v[k] = NULL;
    }
    return failed ? -1 : 0;
}

static int final_rows(struct sim *s, long long start_midnight)
{
    struct province *p = s->p;
    for (int k = 0; k < s->ntrips; k++)
        if (write_trip(s, &s->trips[k], 0, NULL, 0) != 0)
            return -1;
    for (int i = 0; i < p->nsites; i++)
        for (int c = 0; c < p->ncats; c++)
            if (p->sites[i].seq[c] &&
                bulk_row(s->o.heads, "%lld\t%lld\t%lld\t%lld\t0", p->sites[i].id, p->cats[c].id,
                         (long long)p->sites[i].on_hand[c], (long long)p->sites[i].seq[c]) != 0)
                return -1;
    char created[24];
    pv_utc(start_midnight, created, sizeof created);
    for (long long i = 0; i < p->households; i++) {
        const struct pv_household *h = &p->hh[i];
        if (bulk_row(s->o.households,
                     "%lld\t%lld\t%s%s\t第%lld组%lld号\t\\N\t%d\tactive\t%lld\t%lld\t0\t1\t1\t%s\t%s",
                     hh_id(p, i), p->villages[h->village].region_id,
                     surnames[i % (long long)(sizeof surnames / sizeof surnames[0])],
                     given[(i / 20) % (long long)(sizeof given / sizeof given[0])],
                     1 + i % 12, 1 + i / 12 % 200, h->members, (long long)h->balance,
                     (long long)h->seq, created, created) != 0)
            return -1;
    }
    return 0;
}

static int simulate(struct sim *s)
{
    struct province *p = s->p;
    /* the window: the first day of the month (months - 1) back, to yesterday */
    int y, m, d;
    char today[11];
    clock_local_day(clock_now(), today, sizeof today);
    if (!clock_parse_day(today, &y, &m, &d))
        return -1;
    int last = (int)clock_days_from_civil(y, m, d) - 1;
    int my = y * 12 + (m - 1) - (p->months - 1);
    int first = (int)clock_days_from_civil(my / 12, my % 12 + 1, 1);
    int ndays = last - first + 1;
    if (ndays < 1)
        return -2;                                    /* nothing before today */
    long long per_day = p->dropoffs / ndays, extra = p->dropoffs % ndays;
    long long start_midnight = 0;
    for (s->day = first; s->day <= last; s->day++) {
        clock_civil_from_days(s->day, &y, &m, &d);
        day_string(s->day, s->daystr);
        s->midnight = (long long)clock_local_midnight(y, m, d);
        if (s->day == first)
            start_midnight = s->midnight;
        if (receive_due(s) != 0)
            return -1;
        if (d == 2)
            for (int c = 0; c < p->ncounties; c++)
                if (has_stock(p, p->counties[c].sorting) &&
                    count_and_send_out(s, p->counties[c].sorting) != 0)
                    return -1;
        long long n = per_day + (s->day - first < extra);
        for (long long k = 0; k < n; k++)
            if (dropoff(s, s->midnight + 8 * 3600LL + k * 9 * 3600LL / n) != 0)
                return -1;
        if ((s->day + 4) % 7 == 0) {              /* 1970-01-01 was a Thursday: Sunday */
            for (int t = 0; t < p->ntowns; t++) {
                int site = p->towns[t].site;
                if (!has_stock(p, site))
                    continue;
                int to = p->counties[p->towns[t].county].transfer;
                if (pv_rand(p, 40) == 0 && ship(s, site, to, s->midnight + 18 * 3600LL, 1) != 0)
                    return -1;
                if (ship(s, site, to, s->midnight + 19 * 3600LL, 0) != 0)
                    return -1;
            }
        }
        int ty, tm, td;
        clock_civil_from_days(s->day + 1, &ty, &tm, &td);
        if (td == 1) {                                /* the month's last day */
            for (int c = 0; c < p->ncounties; c++)
                if (has_stock(p, p->counties[c].transfer) &&
                    ship(s, p->counties[c].transfer, p->counties[c].sorting,
                         s->midnight + 20 * 3600LL, 0) != 0)
                    return -1;
            if (month_end(s, 1) != 0)
                return -1;
        }
        if (flush_day(s) != 0 || (td == 1 && flush_month(s) != 0))
            return -1;
    }
    s->day = last;
    day_string(last, s->daystr);
    if (month_end(s, 0) != 0 || flush_month(s) != 0)  /* the month so far */
        return -1;
    return final_rows(s, start_midnight);
}

int pv_days(struct province *p, char *err, size_t errlen)
{
    struct sim s = { .p = p };
    int rc = -1;
    if (load_categories(p) != 0) {
        snprintf(err, errlen, "categories: %s", db_error(p->d));
        return -1;
    }
    if (p->ncats == 0) {
        snprintf(err, errlen, "no category of the standard catalogue has a rate");
        return -1;
    }
    struct db_rows *r = db_query_built(p->d, "SELECT COALESCE(MAX(id), 0) FROM households "
                                       "UNION ALL SELECT COALESCE(MAX(id), 0) FROM dropoffs "
                                       "UNION ALL SELECT COALESCE(MAX(id), 0) FROM shipments "
                                       "UNION ALL SELECT COALESCE(MAX(id), 0) FROM stock_counts "
                                       "UNION ALL SELECT COALESCE(MAX(id), 0) FROM outbounds "
                                       "UNION ALL SELECT COALESCE(MAX(id), 0) FROM redemptions",
                                       NULL, 0);
    long long base[6] = { 0 };
    for (int k = 0; r && k < 6 && db_rows_next(r); k++)
        base[k] = db_rows_int(r, 0);
    if (!r) {
        snprintf(err, errlen, "ids: %s", db_error(p->d));
        return -1;
    }
    db_rows_free(r);
    p->hh_base = base[0];
    p->next_dropoff = base[1] + 1;
    p->next_shipment = base[2] + 1;
    p->next_count = base[3] + 1;
    p->next_outbound = base[4] + 1;
    p->next_redemption = base[5] + 1;

    p->hh = calloc((size_t)p->households, sizeof *p->hh);
    s.touched = calloc((size_t)p->nsites + 1, sizeof *s.touched);
    if (!p->hh || !s.touched || open_out(p->d, &s.o) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (long long i = 0; i < p->households; i++) {
        p->hh[i].village = (int)pv_rand(p, (uint64_t)p->nvillages);
        p->hh[i].members = 1 + (int)pv_rand(p, 5);
        p->hh[i].day = -1;
    }
    int sim = simulate(&s);
    if (sim == -2) {
        snprintf(err, errlen, "no day to simulate: --months 1 on the 1st of a month; ask for 2");
        goto out;
    }
    if (sim != 0) {
        snprintf(err, errlen, "activity: %s", db_error(p->d));
        goto out;
    }
    if (close_out(&s.o, 1) != 0) {
        snprintf(err, errlen, "loading: %s", db_error(p->d));
        goto out;
    }
    rc = 0;
out:
    close_out(&s.o, 0);
    free(s.trips);
    free(s.touched);
    return rc;
}
