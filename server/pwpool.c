/* pwpool.c - see pwpool.h.
 *
 * Lock order: only p->mu exists.  A finished job is handed back to its
 * worker with event_active(), which libevent makes thread-safe once
 * evthread_use_pthreads() has run (main does it first thing). */
#include "server/pwpool.h"

#include <event2/event.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum op { OP_VERIFY, OP_HASH };

struct job {
    enum op op;
    char *password;
    char *hash_in;
    char hash_out[crypto_pwhash_STRBYTES];
    bool ok;
    pw_done_fn done;
    void *arg;
    struct event *ev;        /* on the submitting worker's base */
    struct job *next;
};

struct pwpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;
    int queued, queue_max;
    bool closing;
    int nthreads;
    pthread_t *threads;
};

static void free_job(struct job *j)
{
    if (j->password) {
        sodium_memzero(j->password, strlen(j->password));
        free(j->password);
    }
    free(j->hash_in);
    if (j->ev)
        event_free(j->ev);
    free(j);
}

int pw_hash_now(const char *password, char out[128])
{
    return crypto_pwhash_str(out, password, strlen(password),
                             crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

bool pw_verify_now(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

/* Runs on the worker's loop thread. */
static void on_job_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct job *j = arg;
    j->done(j->ok, j->hash_out, j->arg);
    free_job(j);
}

static void *pool_main(void *arg)
{
    struct pwpool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->closing)
            pthread_cond_wait(&p->cv, &p->mu);
        struct job *j = p->head;
        if (!j) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);

        if (j->op == OP_VERIFY)
            j->ok = pw_verify_now(j->hash_in, j->password);
        else
            j->ok = pw_hash_now(j->password, j->hash_out) == 0;
        sodium_memzero(j->password, strlen(j->password));

        pthread_mutex_lock(&p->mu);
        p->queued--;
        pthread_mutex_unlock(&p->mu);
        event_active(j->ev, EV_TIMEOUT, 0);
    }
}

struct pwpool *pwpool_new(int threads, int queue_max)
{
    struct pwpool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (threads < 1)
        threads = 1;
    if (queue_max < threads)
        queue_max = threads;
    p->queue_max = queue_max;
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0)
            break;
        p->nthreads++;
    }
    if (p->nthreads == 0) {
        pwpool_free(p);
        return NULL;
    }
    return p;
}

void pwpool_free(struct pwpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->closing = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    /* Jobs never picked up (none, once the threads drained the queue). */
    while (p->head) {
        struct job *j = p->head;
        p->head = j->next;
        free_job(j);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}

static int submit(struct pwpool *p, struct event_base *base, enum op op,
                  const char *hash, const char *password, pw_done_fn done, void *arg)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->op = op;
    j->done = done;
    j->arg = arg;
    j->password = strdup(password);
    j->hash_in = hash ? strdup(hash) : NULL;
    j->ev = event_new(base, -1, 0, on_job_done, j);
    if (!j->password || (hash && !j->hash_in) || !j->ev) {
        free_job(j);
        return -1;
    }
    pthread_mutex_lock(&p->mu);
    if (p->closing || p->queued >= p->queue_max) {
        pthread_mutex_unlock(&p->mu);
        free_job(j);
        return -1;
    }
    p->queued++;
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int pwpool_verify(struct pwpool *p, struct event_base *base, const char *hash,
                  const char *password, pw_done_fn done, void *arg)
{
    return submit(p, base, OP_VERIFY, hash, password, done, arg);
}

int pwpool_hash(struct pwpool *p, struct event_base *base, const char *password,
                pw_done_fn done, void *arg)
{
    return submit(p, base, OP_HASH, NULL, password, done, arg);
}
