/* cmd_seed_province.c - wbctl seed-province: a whole province, loaded in
 * bulk (LOAD DATA LOCAL INFILE from memory), for demos at scale and for
 * `make bench-reports`.  The places come from the division codes
 * (admin-tools/data/hebei-divisions.csv); the activity is simulated
 * (province_days.c).  Runs once per province: when its code exists it
 * does nothing.  Run it while nothing else writes: it picks the ids. */
#include "admin-tools/province.h"
#include "admin-tools/wbctl.h"
#include "server/clock.h"
#include "db/audit.h"
#include "db/closing.h"
#include "db/db.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DIVISIONS "admin-tools/data/hebei-divisions.csv"

static long long number(int argc, char **argv, const char *name, long long dflt, long long lo,
                        long long hi)
{
    const char *v = opt_value(argc, argv, name);
    if (!v)
        return dflt;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < lo || n > hi)
        die(2, "%s must be a whole number from %lld to %lld", name, lo, hi);
    return n;
}

/* The province's code: the first row after the header. */
static void province_code(const char *csv, char code[13])
{
    FILE *f = fopen(csv, "r");
    char line[256];
    if (!f)
        die(1, "cannot read %s", csv);
    bool ok = fgets(line, sizeof line, f) && fgets(line, sizeof line, f) &&
              strspn(line, "0123456789") == 12;
    fclose(f);
    if (!ok)
        die(1, "%s: the first division must be the province's 12-digit code", csv);
    memcpy(code, line, 12);
    code[12] = '\0';
}

static double seconds_since(uint64_t t0)
{
    return (double)(clock_mono_ns() - t0) / 1e9;
}

static void release(struct province *p)
{
    free(p->counties);
    free(p->towns);
    free(p->villages);
    free(p->sites);
    free(p->hh);
}

int cmd_seed_province(int argc, char **argv)
{
    static const char *const known[] = { "--households", "--dropoffs", "--months",
                                         "--villages-per-town", "--seed", "--divisions", NULL };
    for (int i = 0; i < argc; i += 2) {
        bool ok = false;
        for (int k = 0; known[k] && !ok; k++)
            ok = strcmp(argv[i], known[k]) == 0;
        if (!ok)
            die(2, "seed-province: unknown option %s", argv[i]);
    }
    struct province p = { 0 };
    p.households = number(argc, argv, "--households", 10000, 1, 20000000);
    p.dropoffs = number(argc, argv, "--dropoffs", 100000, 0, 200000000);
    p.months = (int)number(argc, argv, "--months", 12, 1, 36);
    p.villages_per_town = (int)number(argc, argv, "--villages-per-town", 6, 1, 99);
    p.rng = (uint64_t)number(argc, argv, "--seed", 1, 1, 1000000000) * 0x9E3779B97F4A7C15ULL;
    const char *csv = opt_value(argc, argv, "--divisions");
    if (!csv)
        csv = DEFAULT_DIVISIONS;
    char code[13];
    province_code(csv, code);

    struct db *d = wbctl_db_bulk();
    p.d = d;
    long long exists = 0;
    if (db_query_int(d, &exists, "SELECT COUNT(*) FROM regions WHERE code = ?", "s", code) < 0)
        die(1, "%s", db_error(d));
    if (exists) {
        fprintf(stderr, "wbctl: province %s exists already; nothing to do\n", code);
        db_close(d);
        return 0;
    }
    /* the rows refer to each other by the ids chosen here; their
     * references are right by construction, so the loads skip the checks */
    if (db_exec_raw(d, "SET SESSION foreign_key_checks = 0, unique_checks = 0") != 0)
        die(1, "%s", db_error(d));

    char err[512];
    uint64_t t0 = clock_mono_ns();
    if (pv_places(&p, csv, err, sizeof err) != 0) {
        release(&p);
        db_close(d);
        die(1, "%s", err);
    }
    double t_places = seconds_since(t0);
    printf("places: %d counties, %d towns, %d villages and communities, %d sites (%.1f s)\n",
           p.ncounties, p.ntowns, p.nvillages, p.nsites, t_places);
    fflush(stdout);
    if (pv_days(&p, err, sizeof err) != 0) {
        release(&p);
        db_close(d);
        die(1, "%s", err);
    }
    /* the ledger rows carry the times of days that may be closed already */
    uint64_t t1 = clock_mono_ns();
    struct closing_result closed;
    if (closing_reopen(d) != 0 || closing_run(d, clock_now(), &closed) != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", db_error(d));
        release(&p);
        db_close(d);
        die(1, "closing the seeded days: %s", why);
    }
    double t_close = seconds_since(t1);
    double t_all = seconds_since(t0);
    struct audit_actor who = { "cli", "admin", "local", "" };
    json_t *detail = json_pack("{s:I, s:I, s:i, s:f}", "households", (json_int_t)p.households,
                               "dropoffs", (json_int_t)p.n_dropoffs, "months", p.months,
                               "seconds", t_all);
    int audited = audit_write(d, &who, "province.seed", "region", p.province_id, detail);
    json_decref(detail);
    if (audited != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", db_error(d));
        release(&p);
        db_close(d);
        die(1, "%s", why);
    }
    printf("households: %lld\n", p.households);
    printf("drop-offs: %lld (%lld lines, %lld reversed)\n", p.n_dropoffs, p.n_lines,
           p.n_reversed);
    printf("ledger rows: %lld; redemptions: %lld\n", p.n_ledger, p.n_redemptions);
    printf("stock movements: %lld; shipments: %lld (%lld cancelled, %lld in transit); "
           "stock counts: %lld; outbounds: %lld\n",
           p.n_movements, p.n_shipments, p.n_cancelled, p.n_in_transit, p.n_counts,
           p.n_outbounds);
    printf("closed days rolled up (db/closing.h): %lld of points, %lld of the chain, "
           "%lld months of participation, %lld of collection's household sets, in %.1f s\n",
           closed.days[CLOSING_POINTS], closed.days[CLOSING_CHAIN], closed.months,
           closed.sets_days, t_close);
    printf("province %s (region %lld) seeded in %.1f s (%.0f drop-offs/s)\n", code, p.province_id,
           t_all, t_all > 0 ? (double)p.n_dropoffs / t_all : 0.0);
    release(&p);
    db_close(d);
    return 0;
}
