/* worker.c - a worker thread and the connections it owns; see worker.h. */
#include "server/worker.h"
#include "server/clock.h"
#include "api/handlers.h"
#include "server/dblink.h"
#include "server/server.h"
#include "server/config.h"
#include "server/router.h"
#include "server/request.h"
#include "server/log.h"
#include "server/ledger_pool.h"
#include "api/money.h"
#include "server/guard.h"
#include "server/token.h"
#include "db/db.h"
#include "db/cache.h"
#include "db/idem.h"
#include "db/revoke.h"
#include "db/stats.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define PURGE_EVERY_S 3600

struct db *worker_db(struct worker *w)
{
    return dblink_get(&w->link);
}

void worker_request_begin(struct worker *w)
{
    w->inflight++;
}

void worker_request_end(struct worker *w)
{
    w->inflight--;
}

void worker_reply_flushed(struct worker *w)
{
    w->unflushed--;
}

/* Connections the kernel has queued on this worker's listening socket
 * but nobody accepted yet (for a listening socket, Linux reports its
 * accept queue as tcpi_unacked); 0 when it cannot tell. */
static unsigned int accept_queue(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return 0;
    return ti.tcpi_unacked;
}

/* Stop accepting: close this worker's listening socket.  Each worker has
 * its own socket of a SO_REUSEPORT group, and closing one resets the
 * connections still in its accept queue, so it is closed only once that
 * queue is empty (or the last call is over): a client that connected
 * before the stop is served, with Connection: close. */
static void close_listener(struct worker *w, bool force)
{
    if (!w->bound || (!force && accept_queue(w->listen_fd) > 0))
        return;
    evhttp_del_accept_socket(w->http, w->bound);   /* closes our socket */
    w->bound = NULL;
    w->listen_fd = -1;
}

#define LAST_CALL_MS 1000

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    long long now = clock_mono_ms();
    close_listener(w, now > w->stop_ms + LAST_CALL_MS);
    if ((!w->bound && w->inflight <= 0 && w->unflushed <= 0) || now > w->stop_deadline_ms) {
        if (w->inflight > 0)
            log_msg(LOG_WARN, "worker %d: %d requests still open at the deadline", w->index,
                    w->inflight);
        close_listener(w, true);
        event_base_loopexit(w->base, NULL);
    }
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    if (w->stopping)
        return;
    w->stopping = true;
    w->stop_ms = clock_mono_ms();
    close_listener(w, false);
    w->stop_deadline_ms = w->stop_ms + (long long)w->cfg->shutdown_grace * 1000;
    struct timeval tv = { 0, 20 * 1000 };
    w->drain_ev = event_new(w->base, -1, EV_PERSIST, on_drain_tick, w);
    if (!w->drain_ev || event_add(w->drain_ev, &tv) != 0) {
        close_listener(w, true);
        event_base_loopexit(w->base, NULL);
    }
}

/* When the hourly purge last ran (epoch seconds; 0: never, so it runs at
 * the first tick), kept on worker 0's connection, which db_close frees. */
struct purge_clock {
    long long last;
};

static const struct db_local_key purge_clock_key = { sizeof(struct purge_clock), NULL };

/* Once a second: on worker 0, learn the revocation epoch other instances
 * moved on (db/revoke.h: this poll is what bounds their window to about a
 * second, so it goes before anything that may wait on Redis); replay
 * queued Redis writes; hourly, on worker 0, purge revocations past their
 * token's expiry and idempotency records past their 35 days. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    if (w->index == 0)
        revoke_tick(worker_db(w));
    cache_flush_pending(w->cache);
    long long now = (long long)time(NULL);
    if (w->index == 0) {
        struct db *d = worker_db(w);
        struct purge_clock *pc = d ? db_local(d, &purge_clock_key) : NULL;
        if (pc && now - pc->last >= PURGE_EVERY_S && revoke_purge(d, now) >= 0 &&
            idem_purge(d) >= 0)
            pc->last = now;
    }
}

/* Out of file descriptors: stop accepting for a moment instead of
 * spinning on accept() (libevent #71). */
static void on_resume_accept(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct evconnlistener *l = arg;
    evconnlistener_enable(l);
}

/* The worker whose thread this is (the listener's error callback gets
 * evhttp's argument, not ours: see below). */
static _Thread_local struct worker *this_worker;

/* arg is the listener's user data, which evhttp_bind_listener set to the
 * evhttp: it is not the worker.  (Reading it as one took a wrong event
 * base, the pause was never undone, and the first shortage of
 * descriptors stopped the worker accepting for good.) */
static void on_listener_error(struct evconnlistener *l, void *arg)
{
    (void)arg;
    int e = EVUTIL_SOCKET_ERROR();
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        log_msg(LOG_WARN, "worker %d: accept: %s; pausing 100 ms",
                this_worker ? this_worker->index : -1, strerror(e));
        evconnlistener_disable(l);
        struct timeval tv = { 0, 100 * 1000 };
        if (event_base_once(evconnlistener_get_base(l), -1, EV_TIMEOUT, on_resume_accept, l,
                            &tv) != 0)
            evconnlistener_enable(l);   /* no timer: better spin than stop */
    }
}

/* The worker's Redis: the synchronous connection, and the asynchronous
 * link on the worker's loop that the request path reads through
 * (db/cache.h).  0, or -1 with a reason logged. */
static int worker_open_redis(struct worker *w)
{
    char err[256];
    w->cache = cache_new(w->cfg->redis_url, err, sizeof err);
    if (!w->cache) {
        log_msg(LOG_ERROR, "worker %d: %s", w->index, err);
        return -1;
    }
    if (cache_attach(w->cache, w->base) != 0) {
        log_msg(LOG_ERROR, "worker %d: cannot set up the Redis link", w->index);
        return -1;
    }
    return 0;
}

/* Before evhttp and MariaDB go: a read still outstanding on the link (a
 * request cut off by the shutdown deadline) is answered when the link is
 * freed, and that request goes on to MariaDB and its reply. */
static void worker_close_redis(struct worker *w)
{
    cache_free(w->cache);
    w->cache = NULL;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    this_worker = w;
    event_base_dispatch(w->base);
    /* Close what this thread owns on this thread (MariaDB's client keeps
     * per-thread state that mysql_thread_end releases). */
    worker_close_redis(w);
    evhttp_free(w->http);
    w->http = NULL;
    guard_host_free(w->guard);
    w->guard = NULL;
    /* its last users (router, guard) are gone with evhttp and the guard:
     * wipe the remembered principals now rather than at worker_free */
    token_memo_free(w->tokens);
    w->tokens = NULL;
    dblink_close(&w->link);
    db_thread_end();
    return NULL;
}

int worker_start(struct worker *w)
{
    snprintf(w->name, sizeof w->name, "worker %d", w->index);
    w->link = (struct dblink){ .cfg = w->cfg, .name = w->name };
    w->base = event_base_new();
    w->http = w->base ? evhttp_new(w->base) : NULL;
    if (!w->http) {
        log_msg(LOG_ERROR, "worker %d: cannot create the event loop", w->index);
        return -1;
    }
    /* the tokens this worker verified, for its router and its guard */
    w->tokens = token_memo_new();
    if (!w->tokens) {
        log_msg(LOG_ERROR, "worker %d: cannot allocate its token memo", w->index);
        return -1;
    }
    /* Every connection's bytes pass the guard first (guard.h): it refuses
     * a body over its route's limit from its Content-Length or as soon as
     * a chunked one passes it, before anything is buffered, and answers
     * in JSON through the router.  evhttp's own limits (HTML answers)
     * stay at or above the guard's so they never fire: the body at the
     * largest route's, the headers at the guard's 32 KiB plus room for
     * the marker line the guard adds. */
    w->guard = guard_host_new(w->base, w->http, w->cfg, w->tokens);
    if (!w->guard) {
        log_msg(LOG_ERROR, "worker %d: cannot create the connection guard", w->index);
        return -1;
    }
    evhttp_set_max_body_size(w->http, LARGEST_MAX_BODY);
    evhttp_set_max_headers_size(w->http, GUARD_HEAD_MAX + 1024);
    evhttp_set_timeout(w->http, 30);
    evhttp_set_default_content_type(w->http, "application/json; charset=utf-8");
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(w->http, router_handle, w);

    /* Each worker accepts on its own socket of one SO_REUSEPORT group
     * (server/main.c), and the kernel spreads new connections over them:
     * one shared socket let the first worker to wake take a whole burst.
     * Removing this worker's socket at shutdown closes only its own, and
     * resets what is queued on it (close_listener waits for that). */
    w->bound = evhttp_accept_socket_with_handle(w->http, w->listen_fd);
    if (!w->bound) {
        log_msg(LOG_ERROR, "worker %d: cannot accept on the listening socket", w->index);
        return -1;
    }
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(w->bound),
                                on_listener_error);
    w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
    w->tick_ev = event_new(w->base, -1, EV_PERSIST, on_tick, w);
    struct timeval one = { 1, 0 };
    if (!w->stop_ev || !w->tick_ev || event_add(w->tick_ev, &one) != 0) {
        log_msg(LOG_ERROR, "worker %d: cannot create events", w->index);
        return -1;
    }
    w->inbox = ledger_inbox_new(w->base, money_deliver, w);
    if (!w->inbox) {
        log_msg(LOG_ERROR, "worker %d: cannot create its ledger inbox", w->index);
        return -1;
    }
    if (worker_open_redis(w) != 0)
        return -1;
    /* MariaDB may be down at start: the worker then serves 503s and
     * connects when it can. */
    (void)worker_db(w);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        log_msg(LOG_ERROR, "worker %d: cannot start its thread", w->index);
        return -1;
    }
    w->started = true;
    return 0;
}

void worker_stop(struct worker *w)
{
    if (w->stop_ev)
        event_active(w->stop_ev, EV_TIMEOUT, 0);
}

void worker_join(struct worker *w)
{
    if (w->started)
        pthread_join(w->thread, NULL);
    w->started = false;
}

void worker_free(struct worker *w)
{
    if (w->http)
        evhttp_free(w->http);
    guard_host_free(w->guard);
    token_memo_free(w->tokens);     /* a start that failed: the thread never ran */
    dblink_close(&w->link);
    cache_free(w->cache);
    ledger_inbox_free(w->inbox);
    if (w->drain_ev)
        event_free(w->drain_ev);
    if (w->tick_ev)
        event_free(w->tick_ev);
    if (w->stop_ev)
        event_free(w->stop_ev);
    if (w->base)
        event_base_free(w->base);
    memset(w, 0, sizeof *w);
}
