/* worker.h - one worker thread: its own event_base and evhttp accepting
 * on its own socket of the instance's SO_REUSEPORT group, its own MariaDB
 * and Redis connections.  Nothing on a worker is touched by another thread
 * except stop_ev, which the main thread activates, and its ledger inbox,
 * which the ledger threads post to (libevent is built thread-aware). */
#ifndef WB_WORKER_H
#define WB_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#include "server/dblink.h"

struct config;
struct server;
struct guard_host;
struct db;
struct cache;
struct ledger_inbox;
struct token_memo;

struct worker {
    int index;
    pthread_t thread;
    struct server *srv;
    const struct config *cfg;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct guard_host *guard;     /* frames its connections' bytes (guard.h) */
    struct event *stop_ev;        /* activated by main on shutdown */
    struct event *drain_ev;       /* timer while draining */
    struct event *tick_ev;        /* once a second housekeeping */
    bool started;                 /* thread running */
    int listen_fd;                /* its listening socket (worker 0: a dup of main's) */
    struct dblink link;           /* its MariaDB connection */
    char name[24];                /* "worker 3", for the log */
    struct cache *cache;
    struct ledger_inbox *inbox;   /* the ledger pool hands finished jobs back here */
    struct token_memo *tokens;    /* tokens it verified last (token.h); its thread's,
                                   * lent to the router and the guard */
    int inflight;                 /* requests received, not yet answered */
    int unflushed;                /* answers sent, not yet written out */
    bool stopping;
    long long stop_ms;            /* when the stop was asked */
    long long stop_deadline_ms;
};

/* Create the loop and connections and start the thread.  Returns 0, or
 * -1 with a reason logged. */
int worker_start(struct worker *w);

/* Ask the worker to stop accepting, finish what is in flight and exit
 * its thread.  Safe from any thread. */
void worker_stop(struct worker *w);

/* Wait for the thread to end (it closes its connections itself). */
void worker_join(struct worker *w);

/* Free the loop and whatever the thread did not (after worker_join, or
 * after a failed worker_start). */
void worker_free(struct worker *w);

/* The worker's MariaDB connection when usable, reconnecting (with
 * back-off) when it was lost; NULL while MariaDB is unreachable. */
struct db *worker_db(struct worker *w);

/* Mark that a request has been answered (the router calls these). */
void worker_request_begin(struct worker *w);
void worker_request_end(struct worker *w);
void worker_reply_flushed(struct worker *w);

#endif
