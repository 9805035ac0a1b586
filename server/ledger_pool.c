/* ledger_pool.c - see ledger_pool.h. */
#include "server/ledger_pool.h"
#include "server/config.h"
#include "server/dblink.h"
#include "server/log.h"
#include "db/db.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELIVER_MAX 256           /* jobs handed to deliver at once */

struct ledger_inbox {
    pthread_mutex_t mu;
    struct ledger_job *head, *tail;
    struct event *ev;
    void (*deliver)(struct ledger_job **jobs, int n, void *arg);
    void *arg;
};

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

/* ---- inboxes ---- */

static void on_inbox(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ledger_inbox *in = arg;
    for (;;) {
        struct ledger_job *jobs[DELIVER_MAX];
        int n = 0;
        pthread_mutex_lock(&in->mu);
        while (in->head && n < DELIVER_MAX) {
            jobs[n++] = in->head;
            in->head = in->head->next;
        }
        if (!in->head)
            in->tail = NULL;
        pthread_mutex_unlock(&in->mu);
        if (n == 0)
            return;
        in->deliver(jobs, n, in->arg);
    }
}

struct ledger_inbox *ledger_inbox_new(struct event_base *base,
                                      void (*deliver)(struct ledger_job **jobs, int n, void *arg),
                                      void *arg)
{
    struct ledger_inbox *in = calloc(1, sizeof *in);
    if (!in)
        return NULL;
    in->deliver = deliver;
    in->arg = arg;
    in->ev = event_new(base, -1, 0, on_inbox, in);
    if (!in->ev || pthread_mutex_init(&in->mu, NULL) != 0) {
        if (in->ev)
            event_free(in->ev);
        free(in);
        return NULL;
    }
    return in;
}

void ledger_inbox_free(struct ledger_inbox *in)
{
    if (!in)
        return;
    event_free(in->ev);
    pthread_mutex_destroy(&in->mu);
    free(in);
}

/* Hand a finished job back: one event wakes its worker for all that wait. */
static void post(struct ledger_job *job)
{
    struct ledger_inbox *in = job->inbox;
    job->next = NULL;
    pthread_mutex_lock(&in->mu);
    bool wake = !in->head;
    if (in->tail)
        in->tail->next = job;
    else
        in->head = job;
    in->tail = job;
    pthread_mutex_unlock(&in->mu);
    if (wake)
        event_active(in->ev, EV_TIMEOUT, 0);
}

/* ---- the threads ---- */

/* Run the operations of jobs as one group and hand each job back. */
static void run_group(struct ledger_thread *t, struct ledger_job **jobs, int njobs)
{
    struct ledger_op *ops[LEDGER_GROUP_MAX];
    int n = 0;
    for (int j = 0; j < njobs; j++)
        for (int i = 0; i < jobs[j]->n; i++)
            ops[n++] = jobs[j]->ops[i];
    struct db *d = dblink_get(&t->link);
    if (d) {
        ledger_engine_run(d, ops, n);
    } else {
        for (int i = 0; i < n; i++) {
            ops[i]->rc = LEDGER_ERR;
            ops[i]->errkind = DB_CONN;
        }
    }
    for (int i = 0; d && i < n; i++)
        if (ops[i]->rc == LEDGER_ERR && ops[i]->errkind != DB_CONN &&
            ops[i]->errkind != DB_RETRY) {
            log_msg(LOG_ERROR, "%s: database error %d: %s", t->name, db_errno(d), db_error(d));
            break;
        }
    for (int j = 0; j < njobs; j++)
        post(jobs[j]);
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
        int n = 0, ops = 0;
        while (p->head && ops + p->head->n <= LEDGER_GROUP_MAX) {
            ops += p->head->n;
            jobs[n++] = p->head;
            p->head = p->head->next;
        }
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        run_group(t, jobs, n);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    dblink_close(&t->link);
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

int ledger_pool_submit(struct ledger_pool *p, struct ledger_inbox *inbox, struct ledger_job *job)
{
    if (job->n < 1 || job->n > LEDGER_GROUP_MAX || !inbox)
        return -1;
    job->inbox = inbox;
    job->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->closing) {
        pthread_mutex_unlock(&p->mu);
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
