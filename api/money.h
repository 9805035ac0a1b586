/* money.h - what the money routes share: the Idempotency-Key header, the
 * request fingerprint, and answering a ledger outcome. */
#ifndef WB_MONEY_H
#define WB_MONEY_H

#include <stdbool.h>
#include <jansson.h>

struct req;
struct worker;
struct db;
struct ledger_answer;

/* The Idempotency-Key header, checked (1-64 of [A-Za-z0-9_.:-]); NULL
 * after replying 400 when missing or malformed. */
const char *idem_key_or_reply(struct req *r);

/* Fingerprint of a request body (pin and client_ref left out). */
int request_fingerprint(struct req *r, json_t *body, unsigned char out[32]);

/* Send a ledger outcome: a stored/decided answer with its status (error
 * bodies get this request's id), 409 idempotency_conflict, or for rc
 * LEDGER_UNKNOWN 503 outcome_unknown / LEDGER_ERR 503/500.  Publishes the
 * new balance to Redis when a ledger row was committed, and releases ans. */
void reply_ledger(struct req *r, struct db *d, int rc, struct ledger_answer *ans);

/* The same when the store's error kind (enum db_errkind) is all that is
 * known: the ledger ran on another thread's connection. */
void reply_ledger_kind(struct req *r, int rc, int errkind, struct ledger_answer *ans);

/* Publish a committed movement's balance to Redis. */
void publish_answer(struct req *r, const struct ledger_answer *ans);

/* Publish the committed movements among n answers (rc[i] LEDGER_OK and
 * moved) in one round trip, and mark them published (moved = false) so
 * that reply_ledger does not publish them again. */
void publish_answers(struct worker *w, struct ledger_answer *ans, const int *rc, int n);

/* Drop a household's cached balance (after an unknown outcome). */
void balance_forget_for(struct req *r, long long household_id);

/* ---- the ledger pool (server/ledger_pool.h) ---- */
struct ledger_job;
struct ledger_op;

/* Queue job from request r (its done answers r later: set r->async only
 * after this returned 0).  0 or -1. */
int money_submit(struct req *r, struct ledger_job *job);

/* A worker's inbox delivers here (arg: the worker): the balances every
 * finished job moved are published in one round trip to Redis, then each
 * job's done answers its request. */
void money_deliver(struct ledger_job **jobs, int n, void *arg);

/* One request's movement on its way through the ledger pool: the op (made
 * by its kind's constructor) and the job that carries it.  Embed it in
 * the struct that holds the op's input. */
struct movement {
    struct req *r;
    struct ledger_op *ops[1];
    struct ledger_job *job;
    void (*before_reply)(struct movement *m);
    void *mem;
};

/* Send op for request r: when it has run, before_reply(m) (may be NULL)
 * runs, r is answered with the op's outcome, and mem (the struct holding
 * m, op and job) is freed.  When it cannot be sent, r is answered 503 and
 * mem freed at once.  The handler returns after this either way. */
void movement_submit(struct req *r, struct movement *m, struct ledger_op *op,
                     struct ledger_job *job, void (*before_reply)(struct movement *m),
                     void *mem);

/* Answer an operation the engine ran: reply_ledger_kind with its rc. */
void reply_op(struct req *r, struct ledger_op *op);

/* Give an error body this request's id (stored answers carry none). */
void stamp_request_id(struct req *r, json_t *body);

#endif
