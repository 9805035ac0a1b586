/* pwpool.h - a small, bounded pool of threads for argon2id.
 *
 * crypto_pwhash costs ~100 ms and 64 MiB per call: run on a worker it would
 * stall every connection of that worker, run unbounded it would exhaust
 * memory.  Jobs go to a queue of fixed size served by a few threads; a
 * full queue refuses the job at once (the caller answers 503).  The result
 * comes back on the submitting worker's event loop thread. */
#ifndef WB_PWPOOL_H
#define WB_PWPOOL_H

#include <stdbool.h>

struct pwpool;
struct event_base;

/* Called on the event loop of `base` given at submit.  ok: for a verify,
 * whether the password matched; for a hash, whether hashing succeeded
 * (then hash holds the argon2id string, owned by the pool: copy it). */
typedef void (*pw_done_fn)(bool ok, const char *hash, void *arg);

/* threads >= 1; queue_max >= threads.  NULL on failure. */
struct pwpool *pwpool_new(int threads, int queue_max);

/* Finish queued jobs (their callbacks still run on their loops if those
 * loops still run) and free.  Call after every worker has stopped. */
void pwpool_free(struct pwpool *p);

/* Queue a verify of password against hash.  Both are copied.  Returns 0,
 * or -1 when the queue is full or on allocation failure (nothing queued,
 * done will not be called). */
int pwpool_verify(struct pwpool *p, struct event_base *base, const char *hash,
                  const char *password, pw_done_fn done, void *arg);

/* Queue the hashing of password (copied). Same contract as verify. */
int pwpool_hash(struct pwpool *p, struct event_base *base, const char *password,
                pw_done_fn done, void *arg);

/* Synchronous helpers for tools (wbctl) and start-up: 0 or -1. */
int pw_hash_now(const char *password, char out[128]);
bool pw_verify_now(const char *hash, const char *password);

#endif
