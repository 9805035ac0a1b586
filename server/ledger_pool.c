/* ledger_pool.c - see ledger_pool.h. */
#include "server/ledger_pool.h"
#include "server/config.h"
#include "server/dblink.h"
#include "server/log.h"
#include "db/catalog.h"
#include "db/db.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ledger_thread {
    pthread_t thread;
    struct ledger_pool *pool;
    char name[24];
    struct dblink link;
    bool started;
};

struct ledger_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ledger_job *head, *tail;
    bool closing;
    const struct config *cfg;
    int n;
    struct ledger_thread *threads;
};

static void on_job_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ledger_job *job = arg;
    event_free(job->ev);
    job->ev = NULL;
    job->done(job);
}

/* Credit the drop-offs of jobs as one group and hand each job back to
 * its worker. */
static void credit(struct ledger_thread *t, struct ledger_job **jobs, int njobs)
{
    const struct dropoff_in *ins[LEDGER_GROUP_MAX];
    struct ledger_answer ans[LEDGER_GROUP_MAX];
    int rc[LEDGER_GROUP_MAX], n = 0;
    for (int j = 0; j < njobs; j++)
        for (int i = 0; i < jobs[j]->n; i++)
            ins[n++] = jobs[j]->in[i];
    struct db *d = dblink_get(&t->link);
    if (d)
        ledger_dropoffs(d, ins, n, ans, rc);
    int kind = d ? (int)db_errkind(d) : (int)DB_CONN;
    bool failed = false;
    for (int i = 0; i < n; i++)
        failed |= !d || rc[i] == LEDGER_ERR;
    if (failed && kind != DB_CONN && kind != DB_RETRY)
        log_msg(LOG_ERROR, "%s: database error %d: %s", t->name, db_errno(d), db_error(d));
    for (int j = 0, k = 0; j < njobs; j++) {
        struct ledger_job *job = jobs[j];
        job->errkind = DB_OK;
        for (int i = 0; i < job->n; i++, k++) {
            if (d) {
                job->ans[i] = ans[k];
                job->rc[i] = rc[k];
            } else {
                memset(&job->ans[i], 0, sizeof job->ans[i]);
                job->rc[i] = LEDGER_ERR;
            }
            if (job->rc[i] == LEDGER_ERR)
                job->errkind = kind;
        }
        event_active(job->ev, EV_TIMEOUT, 0);
    }
}

static void *thread_main(void *arg)
{
    struct ledger_thread *t = arg;
    struct ledger_pool *p = t->pool;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (!p->head) {
            if (p->closing)
                break;
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        struct ledger_job *jobs[LEDGER_GROUP_MAX];
        int n = 0, inputs = 0;
        while (p->head && inputs + p->head->n <= LEDGER_GROUP_MAX) {
            inputs += p->head->n;
            jobs[n++] = p->head;
            p->head = p->head->next;
        }
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        credit(t, jobs, n);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    dblink_close(&t->link);
    catalog_rates_release();
    db_thread_end();
    return NULL;
}

struct ledger_pool *ledger_pool_new(const struct config *cfg, int n)
{
    struct ledger_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cfg = cfg;
    p->threads = calloc((size_t)(n > 0 ? n : 1), sizeof *p->threads);
    if (!p->threads || pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p->threads);
        free(p);
        return NULL;
    }
    pthread_cond_init(&p->cv, NULL);
    for (int i = 0; i < n; i++) {
        struct ledger_thread *t = &p->threads[i];
        t->pool = p;
        snprintf(t->name, sizeof t->name, "ledger %d", i);
        t->link = (struct dblink){ .cfg = cfg, .name = t->name };
        if (pthread_create(&t->thread, NULL, thread_main, t) != 0) {
            log_msg(LOG_ERROR, "%s: cannot start the thread", t->name);
            ledger_pool_free(p);
            return NULL;
        }
        t->started = true;
        p->n = i + 1;
    }
    return p;
}

int ledger_pool_submit(struct ledger_pool *p, struct event_base *base, struct ledger_job *job)
{
    if (job->n < 1 || job->n > LEDGER_GROUP_MAX)
        return -1;
    job->ev = event_new(base, -1, 0, on_job_done, job);
    if (!job->ev)
        return -1;
    job->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->closing) {
        pthread_mutex_unlock(&p->mu);
        event_free(job->ev);
        job->ev = NULL;
        return -1;
    }
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void ledger_pool_free(struct ledger_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->closing = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++)
        if (p->threads[i].started)
            pthread_join(p->threads[i].thread, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}
