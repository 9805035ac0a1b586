/* ledger_pool.h - the threads that credit drop-offs.
 *
 * Workers read and check drop-off requests; a few ledger threads, each
 * with its own MariaDB connection, credit them (the worker then publishes
 * the new balances on its own Redis connection, so its queue of Redis
 * writes that failed stays in order with its own reads).  A ledger
 * thread takes every drop-off queued when it comes free (up to
 * LEDGER_GROUP_MAX) and credits them as one group (db/dropoff.c), so the
 * queue is first come, first served across all connections and workers,
 * and the busier the server, the larger the groups.  Each finished job is
 * handed back to the worker that submitted it with event_active(), which
 * libevent makes thread-safe (main calls evthread_use_pthreads first).
 *
 * Lock order: only the pool's mutex exists. */
#ifndef WB_LEDGER_POOL_H
#define WB_LEDGER_POOL_H

#include "db/ledger.h"

struct config;
struct event;
struct event_base;
struct ledger_pool;

/* A job is n drop-offs (1 for a single request, up to LEDGER_GROUP_MAX
 * for a group of a batch) credited together and never split: a batch's
 * items keep their order.  Jobs queued together share a group while
 * their drop-offs fit in one. */
struct ledger_job {
    const struct dropoff_in *const *in;   /* n inputs, kept alive until done */
    int n;
    struct ledger_answer *ans;            /* n answers, filled by the pool */
    int *rc;                              /* n outcomes, LEDGER_* */
    int errkind;                          /* enum db_errkind when an rc is LEDGER_ERR */
    void (*done)(struct ledger_job *job); /* runs on the submitter's loop */
    struct event *ev;
    struct ledger_job *next;
};

/* Start n threads.  NULL (logged) on failure. */
struct ledger_pool *ledger_pool_new(const struct config *cfg, int n);

/* Queue job (done and in set) from a worker's thread; its done runs on
 * base when it is credited.  0, or -1 when it cannot be queued. */
int ledger_pool_submit(struct ledger_pool *p, struct event_base *base, struct ledger_job *job);

/* Credit what is queued, stop the threads and free the pool. */
void ledger_pool_free(struct ledger_pool *p);

#endif
