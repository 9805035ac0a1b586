/* Unit tests: the asynchronous Redis link (db/cache.h, cache_attach,
 * cache_get_async), against a fake Redis on a unix socket that answers as
 * each test says - or not at all, which hiredis 0.14 would wait on for
 * ever without the link's own timeout.  Checked: nothing is sent before
 * the handshake is answered; entries are trusted only when tagged with
 * the run_id the handshake learned; a Redis that stops answering fails
 * every outstanding read within about CACHE_ASYNC_TIMEOUT_MS, and the
 * breaker then answers at once; the callback never runs inside
 * cache_get_async; freeing the link answers what is outstanding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "db/cache.h"

#define RUN_ID "0123456789abcdef0123456789abcdef01234567"

/* ---- the fake Redis: a thread accepting, a thread a client ---- */

#define FAKE_CLIENTS 16

struct fake {
    char dir[48], path[96];      /* short: a unix socket path fits 108 bytes */
    int lfd;
    pthread_t thread;
    atomic_bool hang;            /* read commands, answer nothing */
    atomic_bool stop;
    atomic_int mgets;            /* MGETs seen */
    pthread_mutex_t lock;
    int nclients;
    int fds[FAKE_CLIENTS];
    pthread_t clients[FAKE_CLIENTS];
};

struct client_arg {
    struct fake *f;
    int fd;
};

static int read_line(int fd, char *buf, size_t len)
{
    size_t n = 0;
    while (n + 1 < len) {
        ssize_t k = read(fd, buf + n, 1);
        if (k <= 0)
            return -1;
        if (buf[n++] == '\n')
            break;
    }
    buf[n] = '\0';
    return 0;
}

/* One RESP command: its arguments' count and the first (upper-cased). */
static int read_command(int fd, char *name, size_t len, int *argc)
{
    char line[512];
    if (read_line(fd, line, sizeof line) != 0 || line[0] != '*')
        return -1;
    *argc = atoi(line + 1);
    name[0] = '\0';
    for (int i = 0; i < *argc; i++) {
        if (read_line(fd, line, sizeof line) != 0 || line[0] != '$')
            return -1;
        size_t n = (size_t)atol(line + 1);
        char *arg = malloc(n + 3);
        size_t got = 0;
        while (arg && got < n + 2) {
            ssize_t k = read(fd, arg + got, n + 2 - got);
            if (k <= 0)
                break;
            got += (size_t)k;
        }
        if (!arg || got < n + 2) {
            free(arg);
            return -1;
        }
        if (i == 0) {
            size_t m = n < len - 1 ? n : len - 1;
            for (size_t j = 0; j < m; j++)
                name[j] = (char)(arg[j] >= 'a' && arg[j] <= 'z' ? arg[j] - 32 : arg[j]);
            name[m] = '\0';
        }
        free(arg);
    }
    return 0;
}

static void say(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t k = write(fd, s, n);
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

/* MGET of n keys: key 1 ours, key 2 of another incarnation, the rest nil. */
static void answer_mget(int fd, int n)
{
    char buf[512];
    snprintf(buf, sizeof buf, "*%d\r\n", n);
    say(fd, buf);
    for (int i = 0; i < n; i++) {
        const char *v = i == 0 ? "7|42|" RUN_ID : i == 1 ? "9|43|someoneelse" : NULL;
        if (!v) {
            say(fd, "$-1\r\n");
            continue;
        }
        snprintf(buf, sizeof buf, "$%zu\r\n%s\r\n", strlen(v), v);
        say(fd, buf);
    }
}

static void *client_main(void *arg)
{
    struct client_arg ca = *(struct client_arg *)arg;
    struct fake *f = ca.f;
    int fd = ca.fd;
    free(arg);
    char name[32];
    int argc;
    while (!atomic_load(&f->stop) && read_command(fd, name, sizeof name, &argc) == 0) {
        if (strcmp(name, "MGET") == 0)
            atomic_fetch_add(&f->mgets, 1);
        if (atomic_load(&f->hang))
            continue;
        if (strcmp(name, "INFO") == 0) {
            const char *info = "# Server\r\nredis_version:7.0.15\r\nrun_id:" RUN_ID "\r\n";
            char buf[256];
            snprintf(buf, sizeof buf, "$%zu\r\n%s\r\n", strlen(info), info);
            say(fd, buf);
        } else if (strcmp(name, "MGET") == 0) {
            answer_mget(fd, argc - 1);
        } else if (strcmp(name, "EVAL") == 0 || strcmp(name, "EVALSHA") == 0) {
            say(fd, ":1\r\n");
        } else {
            say(fd, "+OK\r\n");
        }
    }
    return NULL;
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    while (!atomic_load(&f->stop)) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct client_arg *ca = malloc(sizeof *ca);
        pthread_mutex_lock(&f->lock);
        bool room = ca && f->nclients < FAKE_CLIENTS && !atomic_load(&f->stop);
        if (room) {
            *ca = (struct client_arg){ f, fd };
            f->fds[f->nclients] = fd;
            room = pthread_create(&f->clients[f->nclients], NULL, client_main, ca) == 0;
            if (room)
                f->nclients++;
        }
        pthread_mutex_unlock(&f->lock);
        if (!room) {
            free(ca);
            close(fd);
        }
    }
    return NULL;
}

static int fake_start(struct fake *f)
{
    pthread_mutex_init(&f->lock, NULL);
    snprintf(f->dir, sizeof f->dir, "/tmp/wbunit-redis.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/redis.sock", f->dir);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", f->path);
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(f->lfd, 8) != 0)
        return -1;
    return pthread_create(&f->thread, NULL, fake_main, f) == 0 ? 0 : -1;
}

static void fake_stop(struct fake *f)
{
    atomic_store(&f->stop, true);
    shutdown(f->lfd, SHUT_RDWR);     /* wakes accept() */
    /* a connection it still reads: a client that connects and goes */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", f->path);
    if (fd >= 0) {
        (void)connect(fd, (struct sockaddr *)&a, sizeof a);
        close(fd);
    }
    pthread_join(f->thread, NULL);
    for (int i = 0; i < f->nclients; i++) {
        shutdown(f->fds[i], SHUT_RDWR);      /* wakes its read() */
        pthread_join(f->clients[i], NULL);
        close(f->fds[i]);
    }
    close(f->lfd);
    unlink(f->path);
    rmdir(f->dir);
}

/* ---- the client side ---- */

struct fx {
    struct fake fake;
    struct event_base *base;
    struct cache *c;
};

struct got {
    int calls;
    bool inside;                 /* set while cache_get_async runs */
    bool called_inside;
    struct cache_entry e[4];
    double at_ms;
};

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void on_got(void *arg, const struct cache_entry *e)
{
    struct got *g = arg;
    if (g->inside)
        g->called_inside = true;
    g->calls++;
    memcpy(g->e, e, sizeof g->e[0] * 3);
    g->at_ms = mono_ms();
}

/* Run the loop for ms milliseconds. */
static void spin(struct event_base *base, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char err[128], url[160];
    if (!f || fake_start(&f->fake) != 0)
        return -1;
    snprintf(url, sizeof url, "unix://%s", f->fake.path);
    f->base = event_base_new();
    f->c = f->base ? cache_new(url, err, sizeof err) : NULL;
    if (!f->c)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    cache_free(f->c);
    event_base_free(f->base);
    fake_stop(&f->fake);
    free(f);
    return 0;
}

static int get(struct fx *f, struct got *g)
{
    const char *keys[] = { "k1", "k2", "k3" };
    g->inside = true;
    int rc = cache_get_async(f->c, 3, keys, on_got, g);
    g->inside = false;
    return rc;
}

static void test_reads_wait_for_the_handshake_and_trust_only_this_run(void **state)
{
    struct fx *f = *state;
    struct got g = { 0 };
    assert_int_equal(cache_attach(f->c, f->base), 0);
    /* connecting: nothing is sent behind the handshake */
    assert_int_equal(get(f, &g), -1);
    spin(f->base, 50);
    assert_int_equal(get(f, &g), 0);
    spin(f->base, 50);
    assert_int_equal(g.calls, 1);
    assert_false(g.called_inside);
    assert_int_equal(g.e[0].rc, 1);          /* tagged with the run_id learned */
    assert_int_equal(g.e[0].version, 7);
    assert_string_equal(g.e[0].payload, "42");
    assert_int_equal(g.e[1].rc, 0);          /* another incarnation's: stale */
    assert_int_equal(g.e[2].rc, 0);          /* absent */
}

static void test_a_hung_redis_fails_reads_after_the_timeout_and_then_at_once(void **state)
{
    struct fx *f = *state;
    struct got g = { 0 };
    assert_int_equal(cache_attach(f->c, f->base), 0);
    spin(f->base, 50);
    atomic_store(&f->fake.hang, true);
    double t0 = mono_ms();
    assert_int_equal(get(f, &g), 0);
    spin(f->base, CACHE_ASYNC_TIMEOUT_MS + 150);
    assert_int_equal(g.calls, 1);
    assert_false(g.called_inside);
    for (int i = 0; i < 3; i++)
        assert_int_equal(g.e[i].rc, -1);
    double took = g.at_ms - t0;
    assert_true(took >= CACHE_ASYNC_TIMEOUT_MS - 5);
    assert_true(took < CACHE_ASYNC_TIMEOUT_MS + 100);
    /* the breaker is open: refused at once, nothing sent */
    int seen = atomic_load(&f->fake.mgets);
    struct got g2 = { 0 };
    assert_int_equal(get(f, &g2), -1);
    assert_int_equal(atomic_load(&f->fake.mgets), seen);
    /* once Redis answers again the link comes back (the breaker's first
     * wait is 250 ms; the probe's handshake then has to be answered) */
    atomic_store(&f->fake.hang, false);
    bool back = false;
    for (int i = 0; i < 40 && !back; i++) {
        spin(f->base, 25);
        struct got g3 = { 0 };
        if (get(f, &g3) == 0) {
            spin(f->base, 50);
            back = g3.calls == 1 && g3.e[0].rc == 1;
        }
    }
    assert_true(back);
}

static void test_freeing_the_link_answers_what_is_outstanding(void **state)
{
    struct fx *f = *state;
    struct got g = { 0 };
    assert_int_equal(cache_attach(f->c, f->base), 0);
    spin(f->base, 50);
    atomic_store(&f->fake.hang, true);
    assert_int_equal(get(f, &g), 0);
    spin(f->base, 20);
    assert_int_equal(g.calls, 0);
    cache_free(f->c);
    f->c = NULL;
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.e[0].rc, -1);
}

static void test_without_a_link_nothing_is_sent(void **state)
{
    struct fx *f = *state;
    struct got g = { 0 };
    assert_int_equal(get(f, &g), -1);        /* never attached */
    assert_int_equal(g.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_wait_for_the_handshake_and_trust_only_this_run,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_hung_redis_fails_reads_after_the_timeout_and_then_at_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_freeing_the_link_answers_what_is_outstanding,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_a_link_nothing_is_sent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
