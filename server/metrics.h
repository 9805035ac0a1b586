/* metrics.h - request counters and a latency histogram, Prometheus text.
 *
 * All counters are C11 atomics, so every worker bumps them without locks.
 * Route indexes are those of the route table; -1 counts unmatched paths. */
#ifndef WB_METRICS_H
#define WB_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

struct evbuffer;
struct route;

/* Call once before any worker starts. 0 or -1 (out of memory). */
int metrics_init(const struct route *routes, int nroutes);
void metrics_free(void);

void metrics_observe(int route_index, int status, uint64_t duration_ns);

/* Named event counters that are not per request. */
enum metric_event {
    MET_PWHASH_REJECTED,     /* argon2 pool full: 503 */
    MET_LOGIN_RATE_LIMITED,
    MET_AUTH_REJECTED,       /* 401 answers */
    MET_CLERK_FAIL_ALERT,    /* a clerk passed its failure budget */
    MET_EVENT_COUNT
};
void metrics_event(enum metric_event e);

/* Append the whole exposition to out. */
void metrics_render(struct evbuffer *out);

#endif
