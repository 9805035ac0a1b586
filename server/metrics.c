/* metrics.c - see metrics.h. */
#include "server/metrics.h"
#include "server/request.h"
#include "db/stats.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

/* The statuses we count one by one; anything else lands in "other". */
static const int statuses[] = { 200, 201, 204, 400, 401, 403, 404, 405, 409,
                                413, 415, 423, 429, 500, 503 };
#define NSTATUS (sizeof statuses / sizeof statuses[0] + 1)

/* Latency bucket bounds in microseconds. */
static const uint64_t bounds_us[] = { 500, 1000, 2000, 5000, 10000, 20000, 50000,
                                      100000, 250000, 500000, 1000000, 2500000 };
#define NBUCKETS (sizeof bounds_us / sizeof bounds_us[0])

static const char *const event_names[MET_EVENT_COUNT] = {
    [MET_PWHASH_REJECTED] = "wastebank_pwhash_rejected_total",
    [MET_LOGIN_RATE_LIMITED] = "wastebank_login_rate_limited_total",
    [MET_AUTH_REJECTED] = "wastebank_auth_rejected_total",
    [MET_CLERK_FAIL_ALERT] = "wastebank_clerk_fail_alerts_total",
};

static const struct route *table;
static int ntable;
static atomic_ulong *counts;           /* (ntable + 1) * NSTATUS */
static atomic_ulong buckets[NBUCKETS + 1];
static atomic_ulong lat_sum_us, lat_count;
static atomic_ulong events[MET_EVENT_COUNT];

int metrics_init(const struct route *routes, int nroutes)
{
    table = routes;
    ntable = nroutes;
    counts = calloc((size_t)(nroutes + 1) * NSTATUS, sizeof *counts);
    return counts ? 0 : -1;
}

void metrics_free(void)
{
    free(counts);
    counts = NULL;
}

static size_t status_slot(int status)
{
    for (size_t i = 0; i < NSTATUS - 1; i++)
        if (statuses[i] == status)
            return i;
    return NSTATUS - 1;
}

void metrics_observe(int route_index, int status, uint64_t duration_ns)
{
    size_t row = route_index < 0 || route_index >= ntable ? (size_t)ntable
                                                          : (size_t)route_index;
    if (counts)
        atomic_fetch_add(&counts[row * NSTATUS + status_slot(status)], 1);
    uint64_t us = duration_ns / 1000;
    size_t b = 0;
    while (b < NBUCKETS && us > bounds_us[b])
        b++;
    atomic_fetch_add(&buckets[b], 1);
    atomic_fetch_add(&lat_sum_us, us);
    atomic_fetch_add(&lat_count, 1);
}

void metrics_event(enum metric_event e)
{
    atomic_fetch_add(&events[e], 1);
}

static void counter(struct evbuffer *out, const char *name, const char *help,
                    unsigned long v)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %lu\n", name, help,
                        name, name, v);
}

void metrics_render(struct evbuffer *out)
{
    evbuffer_add_printf(out, "# HELP wastebank_requests_total HTTP requests by route and status.\n"
                             "# TYPE wastebank_requests_total counter\n");
    for (int r = 0; r <= ntable && counts; r++) {
        char route[160];
        if (r < ntable)
            snprintf(route, sizeof route, "%s %s", table[r].method, table[r].pattern);
        else
            snprintf(route, sizeof route, "unmatched");
        for (size_t s = 0; s < NSTATUS; s++) {
            unsigned long v = atomic_load(&counts[(size_t)r * NSTATUS + s]);
            if (!v)
                continue;
            if (s < NSTATUS - 1)
                evbuffer_add_printf(out, "wastebank_requests_total{route=\"%s\",status=\"%d\"} %lu\n",
                                    route, statuses[s], v);
            else
                evbuffer_add_printf(out, "wastebank_requests_total{route=\"%s\",status=\"other\"} %lu\n",
                                    route, v);
        }
    }
    evbuffer_add_printf(out, "# HELP wastebank_request_duration_seconds Time from arrival to reply.\n"
                             "# TYPE wastebank_request_duration_seconds histogram\n");
    unsigned long cum = 0;
    for (size_t b = 0; b < NBUCKETS; b++) {
        cum += atomic_load(&buckets[b]);
        evbuffer_add_printf(out, "wastebank_request_duration_seconds_bucket{le=\"%g\"} %lu\n",
                            (double)bounds_us[b] / 1e6, cum);
    }
    cum += atomic_load(&buckets[NBUCKETS]);
    evbuffer_add_printf(out, "wastebank_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
    evbuffer_add_printf(out, "wastebank_request_duration_seconds_sum %.6f\n",
                        (double)atomic_load(&lat_sum_us) / 1e6);
    evbuffer_add_printf(out, "wastebank_request_duration_seconds_count %lu\n",
                        atomic_load(&lat_count));

    counter(out, "wastebank_db_errors_total", "MariaDB calls that failed.",
            atomic_load(&wb_stats.db_errors));
    counter(out, "wastebank_db_reconnects_total", "MariaDB reconnects.",
            atomic_load(&wb_stats.db_reconnects));
    counter(out, "wastebank_redis_errors_total", "Redis calls that failed.",
            atomic_load(&wb_stats.redis_errors));
    counter(out, "wastebank_redis_skipped_total", "Redis calls skipped while the breaker was open.",
            atomic_load(&wb_stats.redis_skipped));
    counter(out, "wastebank_redis_reconnects_total", "Redis reconnects after an outage.",
            atomic_load(&wb_stats.redis_reconnects));
    counter(out, "wastebank_dropoff_groups_total",
            "Ledger transactions; movements arriving together share one.",
            atomic_load(&wb_stats.dropoff_groups));
    counter(out, "wastebank_dropoffs_grouped_total", "Movements decided in those transactions.",
            atomic_load(&wb_stats.dropoffs_grouped));
    counter(out, "wastebank_dropoffs_backdated_total",
            "Drop-offs credited with a recorded_at more than 10 minutes before they arrived "
            "(offline uploads); a rise shows back-dating.",
            atomic_load(&wb_stats.dropoffs_backdated));
    counter(out, "wastebank_ledger_group_reruns_total",
            "Ledger groups rolled back and run again: a twin's key, or a failure isolated "
            "by running each movement alone (each also logged as a warning).",
            atomic_load(&wb_stats.group_reruns));
    counter(out, "wastebank_ledger_writes_total", "Committed ledger rows.",
            atomic_load(&wb_stats.ledger_writes));
    counter(out, "wastebank_tx_retries_total", "Transactions retried after a deadlock or lock wait.",
            atomic_load(&wb_stats.tx_retries));
    for (int e = 0; e < MET_EVENT_COUNT; e++)
        counter(out, event_names[e], "Event count.", atomic_load(&events[e]));
}
