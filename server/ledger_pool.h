/* ledger_pool.h - the threads that run the ledger engine (db/engine.h).
 *
 * Workers read and check requests; a few ledger threads, each with its
 * own MariaDB connection, run their movements.  A ledger thread takes
 * every job queued when it comes free, as long as their operations fit
 * in one group (LEDGER_GROUP_MAX), and runs them as one group, so the
 * queue is first come, first served across all connections and workers,
 * and the busier the server, the larger the groups.  A job is never split:
 * a batch's group keeps its order.
 *
 * Finished jobs go back to the worker that submitted them through its
 * inbox: a list and one event per worker, activated once for however
 * many jobs are waiting (libevent makes event_active thread-safe; main
 * calls evthread_use_pthreads first).  The worker's deliver function then
 * gets them all at once - it publishes their balances in one round trip to
 * Redis on its own connection, then answers each.
 *
 * Lock order: the pool's mutex, then an inbox's (never the other way). */
#ifndef WB_LEDGER_POOL_H
#define WB_LEDGER_POOL_H

#include "db/engine.h"

struct config;
struct event_base;
struct ledger_pool;
struct ledger_inbox;

struct ledger_job {
    struct ledger_op **ops;               /* n operations, alive until done */
    int n;
    void (*done)(struct ledger_job *job); /* runs on the submitter's loop */
    void *arg;                            /* the submitter's */
    struct ledger_inbox *inbox;           /* set by ledger_pool_submit */
    struct ledger_job *next;
};

/* Start n threads.  NULL (logged) on failure. */
struct ledger_pool *ledger_pool_new(const struct config *cfg, int n);

/* Queue job (ops, n and done set) from a worker's thread; it comes back
 * through inbox.  0, or -1 when it cannot be queued (the pool is closing,
 * or n is not 1..LEDGER_GROUP_MAX). */
int ledger_pool_submit(struct ledger_pool *p, struct ledger_inbox *inbox, struct ledger_job *job);

/* Run what is queued, stop the threads and free the pool. */
void ledger_pool_free(struct ledger_pool *p);

/* A worker's inbox on base: deliver(jobs, n, arg) runs on base's loop with
 * the jobs finished since the last call, in the order they finished.
 * NULL when out of memory. */
struct ledger_inbox *ledger_inbox_new(struct event_base *base,
                                      void (*deliver)(struct ledger_job **jobs, int n, void *arg),
                                      void *arg);

/* Free an inbox (after the pool, or once its loop has stopped). */
void ledger_inbox_free(struct ledger_inbox *in);

#endif
