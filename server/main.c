/* main.c - wastebankd: configuration, the listening socket, the workers,
 * and an orderly stop on SIGTERM/SIGINT. */
#include "server/config.h"
#include "server/guard.h"
#include "server/clock.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/pwpool.h"
#include "server/ledger_pool.h"
#include "server/ratelimit.h"
#include "server/router.h"
#include "server/server.h"
#include "server/settler.h"
#include "server/static_site.h"
#include "server/worker.h"
#include "db/db.h"
#include "db/pin.h"
#include "qr/pdf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: wastebankd [-c CONFIG_FILE]\n"
               "Configuration comes from WB_* environment variables and the optional\n"
               "file (KEY=VALUE lines); see README.md.\n");
}

static void raise_nofile(int max_connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    /* past the descriptor limit the listener pauses (worker.c) instead
     * of the cap answering 503: say so while it can be fixed */
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max_connections + 256)
        log_msg(LOG_WARN, "RLIMIT_NOFILE is %llu: below WB_MAX_CONNECTIONS (%d) + 256, "
                "accepting will pause before the connection cap answers",
                (unsigned long long)rl.rlim_cur, max_connections);
}

/* Bind and listen; returns the fd or -1 with err filled.  With reuseport
 * the socket joins a SO_REUSEPORT group: every worker listens on its own
 * socket of the group and the kernel spreads new connections over them,
 * instead of the first worker to wake taking a whole burst. */
static int open_listener(const char *host, int port, bool reuseport, int *bound_port,
                         char *err, size_t errlen)
{
    struct addrinfo hints = { 0 }, *res = NULL;
    char portstr[16];
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof portstr, "%d", port);
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    *bound_port = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            *bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return fd;
}

static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int main(int argc, char **argv)
{
    const char *cfg_path = NULL;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            cfg_path = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    /* Block the stop signals before any thread exists (the password pool,
     * the workers): threads inherit the mask, so only the main thread's
     * sigwait ever takes them. */
    sigset_t stopsigs;
    sigemptyset(&stopsigs);
    sigaddset(&stopsigs, SIGTERM);
    sigaddset(&stopsigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stopsigs, NULL);

    static struct config cfg;
    char err[512];
    if (config_load(&cfg, cfg_path, err, sizeof err) != 0) {
        fprintf(stderr, "wastebankd: configuration: %s\n", err);
        config_release(&cfg);
        return 2;
    }
    log_init(strcmp(cfg.log_format, "json") == 0, LOG_INFO);
    if (clock_set_zone(cfg.timezone) != 0 || sodium_init() < 0 || db_library_init() != 0) {
        fprintf(stderr, "wastebankd: cannot initialise the libraries\n");
        return 1;
    }
    json_object_seed(0);
    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "wastebankd: libevent has no thread support\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_nofile(cfg.max_connections);
    if (guard_init() != 0) {
        fprintf(stderr, "wastebankd: cannot initialise the connection guard\n");
        return 1;
    }

    /* First a plain socket: a port another process holds - even another
     * wastebankd's reuseport group - is refused here, not shared. */
    int port = 0;
    int lfd = open_listener(cfg.listen_host, cfg.listen_port, false, &port, err, sizeof err);
    if (lfd >= 0) {
        close(lfd);
        lfd = open_listener(cfg.listen_host, port, true, &port, err, sizeof err);
    }
    if (lfd < 0) {
        fprintf(stderr, "wastebankd: %s\n", err);
        return 1;
    }

    struct server srv = { .cfg = &cfg };
    srv.nworkers = cfg.workers > 0 ? cfg.workers : 2 * cores();
    int pw_threads = cfg.pwhash_threads > 0 ? cfg.pwhash_threads
                                            : (cores() / 2 > 0 ? cores() / 2 : 1);
    srv.pw = pwpool_new(pw_threads, pw_threads * 8);
    srv.rl = ratelimit_new();
    /* few ledger threads: fewer, larger groups cost MariaDB less
     * (2 cores: one thread credits 7,000 drop-offs/s, two 6,400) */
    srv.ledger = ledger_pool_new(&cfg, cfg.ledger_threads > 0 ? cfg.ledger_threads
                                                              : (cores() / 2 > 0 ? cores() / 2 : 1));
    srv.web = static_site_load(cfg.web_dir, err, sizeof err);
    if (!srv.web) {
        fprintf(stderr, "wastebankd: WB_WEB_DIR: %s\n", err);
        return 1;
    }
    log_msg(LOG_INFO, "web apps: %zu files from %s", static_site_files(srv.web),
            cfg.web_dir[0] ? cfg.web_dir : "(none)");
    srv.settler = settler_start(&cfg);
    if (!srv.settler) {
        fprintf(stderr, "wastebankd: the settlement thread did not start\n");
        return 1;
    }
    srv.workers = calloc((size_t)srv.nworkers, sizeof *srv.workers);
    char dummy_pw[33], dummy_hash[128];
    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(dummy_pw, sizeof dummy_pw, rnd, sizeof rnd);
    if (!srv.pw || !srv.rl || !srv.ledger || !srv.workers || metrics_init(wb_routes, wb_nroutes) != 0 ||
        pw_hash_now(dummy_pw, dummy_hash) != 0) {
        fprintf(stderr, "wastebankd: out of memory at start-up\n");
        return 1;
    }
    srv.dummy_hash = dummy_hash;
    pin_key_derive(cfg.pin_secret[0] ? cfg.pin_secret : cfg.qr_secret, srv.pin_key);
    /* fingerprints only need to agree between instances: any shared
     * secret will do, kept apart from its other use by the label */
    crypto_auth_hmacsha256(srv.fp_key, (const unsigned char *)"wastebank idempotency v1", 24,
                           (const unsigned char *)srv.pin_key);


    int rc = 0;
    int started = 0;
    for (int i = 0; i < srv.nworkers; i++) {
        struct worker *w = &srv.workers[i];
        w->index = i;
        w->srv = &srv;
        w->cfg = &cfg;
        w->listen_fd = i == 0 ? dup(lfd)
                              : open_listener(cfg.listen_host, port, true, &port, err, sizeof err);
        if (w->listen_fd < 0)
            log_msg(LOG_ERROR, "worker %d: %s", i, err);
        if (w->listen_fd < 0 || worker_start(w) != 0) {
            rc = 1;
            break;
        }
        started++;
    }

    if (rc == 0) {
        log_msg(LOG_INFO, "wastebankd listening on %s:%d with %d workers", cfg.listen_host,
                port, srv.nworkers);
        int sig = 0;
        while (sigwait(&stopsigs, &sig) != 0)
            ;
        log_msg(LOG_INFO, "received signal %d: finishing requests in flight", sig);
    }
    close(lfd);
    settler_stop(srv.settler);
    for (int i = 0; i < started; i++)
        worker_stop(&srv.workers[i]);
    for (int i = 0; i < started; i++)
        worker_join(&srv.workers[i]);
    /* After the workers: a hash job still queued completes into a loop
     * that is no longer running, which is harmless. */
    pwpool_free(srv.pw);
    ledger_pool_free(srv.ledger);
    for (int i = 0; i < srv.nworkers; i++)
        worker_free(&srv.workers[i]);
    free(srv.workers);
    ratelimit_free(srv.rl);
    static_site_free(srv.web);
    metrics_free();
    pdf_release_fonts();
    sodium_memzero(dummy_pw, sizeof dummy_pw);
    sodium_memzero(srv.pin_key, sizeof srv.pin_key);
    config_release(&cfg);
    db_library_end();
    libevent_global_shutdown();
    if (rc == 0)
        log_msg(LOG_INFO, "wastebankd stopped");
    return rc;
}
