/* settler.c - see settler.h. */
#include "server/settler.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/dblink.h"
#include "server/log.h"
#include "db/audit.h"
#include "db/cache.h"
#include "db/closing.h"
#include "db/db.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_S 60
#define QUEUE_MAX 64

struct job {
    struct job *next;
    char path[256], month[8], actor[32], role[16], remote[64], request_id[65];
    settle_done_fn done;
    void *arg;
    struct event *ev;           /* on the requester's loop */
    int rc, errkind;
    struct settle_result res;
};

struct settler {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    struct job *head, *tail;
    int queued;
    struct dblink link;
    struct cache *cache;        /* where the new balances go */
    char done[8];               /* the month settled on its own last, "" none */
};

static void on_job_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct job *j = arg;
    j->done(j->rc, j->errkind, &j->res, j->arg);
    event_free(j->ev);
    free(j);
}

/* Answer a job on its loop. */
static void finish(struct job *j)
{
    event_active(j->ev, EV_TIMEOUT, 0);
}

static void run_job(struct settler *s, struct job *j)
{
    struct db *d = dblink_get(&s->link);
    j->rc = -1;
    j->errkind = DB_CONN;
    if (d) {
        struct audit_actor who = { j->actor, j->role, j->remote, j->request_id };
        j->rc = settle_month(d, s->cache, j->path, j->month, &who, &j->res);
        j->errkind = j->rc ? db_errkind(d) : 0;
    }
    finish(j);
}

/* Close the days that have ended (db/closing.h). */
static void close_days(struct settler *s)
{
    struct db *d = dblink_get(&s->link);
    if (!d)
        return;
    struct closing_result res;
    if (closing_run(d, clock_now(), &res) != 0) {
        log_msg(LOG_WARN, "closing the ended days stopped on a store error (%s); retrying in %d s",
                db_error(d), TICK_S);
        return;
    }
    for (int r = 0; r < CLOSING_N; r++)
        if (res.days[r])
            log_msg(LOG_INFO, "closed %lld day(s) of %s, through %s", res.days[r],
                    closing_specs[r].name, res.through[r]);
    if (res.months)
        log_msg(LOG_INFO, "closed %lld month(s) of participation, through %s", res.months,
                res.months_through);
    if (res.sets_days)
        log_msg(LOG_INFO, "closed %lld day(s) of collection's household sets, through %s",
                res.sets_days, res.sets_through);
}

/* Settle the month before this one unless done already. */
static void tick(struct settler *s)
{
    close_days(s);
    char month[8];
    settle_previous_month((long long)clock_now(), month);
    if (strcmp(month, s->done) == 0)
        return;
    struct db *d = dblink_get(&s->link);
    if (!d)
        return;                 /* MariaDB away: next tick */
    struct audit_actor who = { "server", "admin", "local", "monthly-settlement" };
    struct settle_result res;
    if (settle_month(d, s->cache, "/", month, &who, &res) != 0) {
        log_msg(LOG_WARN, "monthly settlement of %s stopped on a store error; retrying in %d s",
                month, TICK_S);
        return;
    }
    log_msg(LOG_INFO, "monthly settlement of %s: %lld households settled, %lld points", month,
            res.households_settled, res.points);
    memcpy(s->done, month, sizeof s->done);
}

static void *settler_main(void *arg)
{
    struct settler *s = arg;
    long long next_tick = 0;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        if (s->head) {
            struct job *j = s->head;
            s->head = j->next;
            if (!s->head)
                s->tail = NULL;
            s->queued--;
            pthread_mutex_unlock(&s->mu);
            run_job(s, j);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        if ((long long)clock_now() >= next_tick) {
            pthread_mutex_unlock(&s->mu);
            tick(s);
            next_tick = (long long)clock_now() + TICK_S;
            pthread_mutex_lock(&s->mu);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += TICK_S;
        pthread_cond_timedwait(&s->cv, &s->mu, &until);
    }
    /* what is still queued is answered: the server is stopping */
    while (s->head) {
        struct job *j = s->head;
        s->head = j->next;
        j->rc = -1;
        j->errkind = DB_CONN;
        finish(j);
    }
    s->tail = NULL;
    pthread_mutex_unlock(&s->mu);
    dblink_close(&s->link);
    return NULL;
}

struct settler *settler_start(const struct config *cfg)
{
    struct settler *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->link = (struct dblink){ .cfg = cfg, .name = "settler" };
    char err[256];
    if (!(s->cache = cache_new(cfg->redis_url, err, sizeof err))) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, settler_main, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        cache_free(s->cache);
        free(s);
        return NULL;
    }
    return s;
}

void settler_stop(struct settler *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    cache_free(s->cache);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

int settler_submit(struct settler *s, struct event_base *base, const char *path,
                   const char *month, const struct audit_actor *who, settle_done_fn done,
                   void *arg)
{
    if (!s)
        return -1;
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    snprintf(j->path, sizeof j->path, "%s", path);
    snprintf(j->month, sizeof j->month, "%s", month);
    snprintf(j->actor, sizeof j->actor, "%s", who->actor);
    snprintf(j->role, sizeof j->role, "%s", who->role);
    snprintf(j->remote, sizeof j->remote, "%s", who->remote);
    snprintf(j->request_id, sizeof j->request_id, "%s", who->request_id);
    j->done = done;
    j->arg = arg;
    if (!(j->ev = event_new(base, -1, 0, on_job_done, j))) {
        free(j);
        return -1;
    }
    pthread_mutex_lock(&s->mu);
    if (s->stop || s->queued >= QUEUE_MAX) {
        pthread_mutex_unlock(&s->mu);
        event_free(j->ev);
        free(j);
        return -1;
    }
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    s->queued++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}
