/* settler.c - see settler.h. */
#include "server/settler.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/dblink.h"
#include "server/log.h"
#include "db/audit.h"
#include "db/cache.h"
#include "db/settle.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_S 60

struct settler {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    struct dblink link;
    struct cache *cache;        /* where the new balances go */
    char done[8];               /* the month settled last, "" none */
};

/* Settle the month before this one unless done already.  Outside the lock. */
static void tick(struct settler *s)
{
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
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->mu);
        tick(s);
        pthread_mutex_lock(&s->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += TICK_S;
        while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0)
            ;
    }
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
