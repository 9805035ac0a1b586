/* money.c - see money.h. */
#include "api/money.h"
#include "server/request.h"
#include "server/server.h"
#include "server/worker.h"
#include "db/balance.h"
#include "db/db.h"
#include "db/idem.h"
#include "db/ledger.h"
#include "db/engine.h"
#include "server/ledger_pool.h"

#include <stdlib.h>
#include <string.h>

const char *idem_key_or_reply(struct req *r)
{
    const char *k = req_header(r, "Idempotency-Key");
    if (!k) {
        reply_error(r, 400, "invalid_request", "Idempotency-Key",
                    "an Idempotency-Key header is required (a UUID is best)");
        return NULL;
    }
    if (!idem_key_valid(k)) {
        reply_error(r, 400, "invalid_request", "Idempotency-Key",
                    "Idempotency-Key must be 1 to 64 of A-Z a-z 0-9 _ . : -");
        return NULL;
    }
    return k;
}

int request_fingerprint(struct req *r, json_t *body, unsigned char out[32])
{
    static const char *const without[] = { "pin", "client_ref", NULL };
    return idem_fingerprint(r->w->srv->fp_key, body, without, out);
}

void stamp_request_id(struct req *r, json_t *body)
{
    json_t *err = json_object_get(body, "error");
    if (json_is_object(err))
        json_object_set_new(err, "request_id", json_string(r->id));
}

void reply_ledger(struct req *r, struct db *d, int rc, struct ledger_answer *ans)
{
    if (rc == LEDGER_ERR) {
        ledger_answer_release(ans);
        reply_db_error(r, d);
        return;
    }
    reply_ledger_kind(r, rc, DB_OK, ans);
}

void reply_ledger_kind(struct req *r, int rc, int errkind, struct ledger_answer *ans)
{
    if (rc == LEDGER_UNKNOWN) {
        if (ans->household_id)
            balance_forget(r->w->cache, ans->household_id);
        ledger_answer_release(ans);
        reply_error(r, 503, "outcome_unknown", NULL,
                    "the store failed while committing; send the same request again with the "
                    "same Idempotency-Key");
        return;
    }
    if (rc != LEDGER_OK) {
        ledger_answer_release(ans);
        reply_store_error(r, errkind);
        return;
    }
    if (ans->conflict) {
        ledger_answer_release(ans);
        reply_error(r, 409, "idempotency_conflict", "Idempotency-Key",
                    "this Idempotency-Key was used for a different request");
        return;
    }
    if (ans->moved)
        publish_answer(r, ans);
    json_t *body = ans->body;
    ans->body = NULL;
    stamp_request_id(r, body);
    reply_json(r, ans->status, body);
}

void publish_answer(struct req *r, const struct ledger_answer *ans)
{
    balance_publish(r->w->cache, ans->household_id, ans->seq, ans->balance);
}

void publish_answers(struct worker *w, struct ledger_answer *ans, const int *rc, int n)
{
    long long ids[64], seqs[64], bals[64];
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (rc[i] != LEDGER_OK || !ans[i].moved)
            continue;
        if (k == 64) {
            balance_publish_many(w->cache, k, ids, seqs, bals);
            k = 0;
        }
        ids[k] = ans[i].household_id;
        seqs[k] = ans[i].seq;
        bals[k++] = ans[i].balance;
        ans[i].moved = false;
    }
    if (k > 0)
        balance_publish_many(w->cache, k, ids, seqs, bals);
}

void balance_forget_for(struct req *r, long long household_id)
{
    balance_forget(r->w->cache, household_id);
}

int money_submit(struct req *r, struct ledger_job *job)
{
    return ledger_pool_submit(r->w->srv->ledger, r->w->inbox, job);
}

void money_deliver(struct ledger_job **jobs, int n, void *arg)
{
    struct worker *w = arg;
    long long ids[64], seqs[64], bals[64];
    int k = 0;
    /* publish first: a read after the answer sees the new balance */
    for (int j = 0; j < n; j++)
        for (int i = 0; i < jobs[j]->n; i++) {
            struct ledger_op *op = jobs[j]->ops[i];
            if (op->rc != LEDGER_OK || !op->ans.moved)
                continue;
            if (k == 64) {
                balance_publish_many(w->cache, k, ids, seqs, bals);
                k = 0;
            }
            ids[k] = op->ans.household_id;
            seqs[k] = op->ans.seq;
            bals[k++] = op->ans.balance;
            op->ans.moved = false;
        }
    if (k > 0)
        balance_publish_many(w->cache, k, ids, seqs, bals);
    for (int j = 0; j < n; j++)
        jobs[j]->done(jobs[j]);
}

void reply_op(struct req *r, struct ledger_op *op)
{
    reply_ledger_kind(r, op->rc, op->errkind, &op->ans);
}

static void on_movement_done(struct ledger_job *job)
{
    struct movement *m = job->arg;
    struct req *r = m->r;
    if (m->before_reply)
        m->before_reply(m);
    reply_op(r, m->ops[0]);
    free(m->mem);
    req_finish_async(r);
}

void movement_submit(struct req *r, struct movement *m, struct ledger_op *op,
                     struct ledger_job *job, void (*before_reply)(struct movement *m),
                     void *mem)
{
    *m = (struct movement){ r, { op }, job, before_reply, mem };
    *job = (struct ledger_job){ .ops = m->ops, .n = 1, .done = on_movement_done, .arg = m };
    if (money_submit(r, job) != 0) {
        ledger_answer_release(&op->ans);
        free(mem);
        reply_store_error(r, DB_CONN);
        return;
    }
    r->async = true;            /* answered when the ledger has run it */
}
