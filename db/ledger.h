/* ledger.h - the movements of points: their inputs, their answers, and
 * the kinds of operation the ledger engine runs (db/engine.h, which holds
 * the one transaction shape of design.md, "Consistency: where a point
 * lives").  An outcome decided in the transaction - success, or a refusal
 * such as household_inactive or insufficient_points - is the answer: its
 * status and JSON body are stored under the idempotency key in the same
 * transaction and replayed for the same key and request.  The answer's
 * JSON is the ledger's own record of what was acknowledged, which is why
 * it is rendered here and not by the HTTP layer.
 *
 * After LEDGER_OK with answer.moved, the caller publishes the new balance
 * to Redis (db/balance.h). */
#ifndef WB_LEDGER_H
#define WB_LEDGER_H

#include <stdbool.h>
#include <jansson.h>

#include "db/catalog.h"
#include "db/idem.h"

struct db;
struct audit_actor;

enum ledger_rc {
    LEDGER_OK = 0,           /* answer filled (it may be a refusal) */
    LEDGER_ERR = -1,         /* store error: nothing written */
    LEDGER_UNKNOWN = -2,     /* the commit failed on a lost link: outcome unknown */
};

struct ledger_answer {
    int status;              /* 200, 201, 404, 409 ... */
    json_t *body;            /* owned by the caller (json_decref) */
    bool replayed;
    bool conflict;           /* same key, other request: body is NULL */
    bool moved;              /* a ledger row was committed */
    bool no_store;           /* a refusal not to keep under the key (404s) */
    bool commit_unstored;    /* with no_store: commit anyway (PIN counters) */
    bool pin_failed;         /* a wrong PIN was sent (clerk failure budget) */
    bool code_failed;        /* an unknown or spent pay code was sent */
    bool budget_spent;       /* that failure used the clerk's budget up */
    long long household_id;
    long long balance, seq;  /* after the movement */
};

/* Release what an answer holds. */
void ledger_answer_release(struct ledger_answer *a);

#define DROPOFF_MAX_LINES 20

/* A line names its category by value: a drop-off may be decided on
 * another thread, with that thread's catalogue (categories never change
 * once created). */
struct dropoff_line {
    int cat_id;
    char code[33];
    bool per_item, has_cap;
    long long qty;           /* grams or items, after validation */
};

/* Fill a line from a category of the catalogue. */
void dropoff_line_set(struct dropoff_line *l, const struct category *c, long long qty);

/* A refusal decided before the transaction (a recorded_at out of its
 * window, a category this server does not know): it is the answer only
 * when the key holds no stored one, so the ledger gives it after the
 * record had its say (a replay comes before every other check). */
struct ledger_refusal {
    int status;              /* 0: none */
    char code[32];
    char field[48];
    char message[200];
};

/* Fill a refusal (field may be NULL). */
void ledger_refusal_set(struct ledger_refusal *f, int status, const char *code,
                        const char *field, const char *message);

/* A drop-off recorded this long before it arrived is flagged backdated;
 * only an offline upload (a batch item) may be. */
#define DROPOFF_BACKDATE_FLAG_S (10 * 60)

struct dropoff_in {
    const char *scope;       /* "site:<id>" */
    const char *key;
    unsigned char fp[IDEM_FP_BYTES];
    long long site_id, attendant_id;
    long long household_id;  /* from the card; 0 when the card is not genuine */
    long long card_gen;      /* the card's generation: must be the current one */
    const char *reach;       /* the attendant's subtree path ("/" = all) */
    long long recorded_at;   /* epoch seconds */
    char local_day[11];      /* of recorded_at, in WB_TIMEZONE */
    char arrival_day[11];    /* the local day the server received it */
    bool backdated;          /* recorded DROPOFF_BACKDATE_FLAG_S or more before */
    int arrival_cap_days;    /* WB_CAP_ARRIVAL_DAYS: a capped category earns at
                              * most this many daily caps a day of arrival */
    struct ledger_refusal refusal;  /* status 0: none; else the answer unless
                                     * the key holds a stored one */
    const char *note;        /* may be NULL */
    const char *actor;       /* "s:<id>" */
    int nlines;
    struct dropoff_line lines[DROPOFF_MAX_LINES];
};

struct ledger_op;
struct ledger_op_kind;

/* The kinds of operation (db/engine.h) and how to make one from its
 * input (borrowed until the engine has run it). */
extern const struct ledger_op_kind ledger_dropoff_kind, ledger_adjust_kind,
    ledger_reverse_kind;
void ledger_dropoff_op(struct ledger_op *op, const struct dropoff_in *in);

/* Credit a drop-off.  201 with {id, household_id, site_id, points,
 * balance, items[], capped, backdated, recorded_at, replayed, and
 * recovered when part of the points settled an open shortfall}; 409
 * household_inactive (stored); 404 unknown_code (a forged or reissued
 * card) and 404 not_found (outside reach), which are not stored.  The card
 * and reach are checked under the household's lock, so the transaction
 * is the whole of the drop-off's SQL. */
/* Credit n drop-offs (at most LEDGER_GROUP_MAX) as one group of the
 * engine, waiting for it (wbctl, the bench; the server goes through its
 * ledger pool): each gets its own answer and rc (LEDGER_*).  Returns n. */
#define LEDGER_GROUP_MAX 64
int ledger_dropoffs(struct db *d, const struct dropoff_in *const *in, int n,
                    struct ledger_answer *ans, int *rc);

struct adjust_in {
    const char *scope;       /* "staff:<id>" */
    const char *key;
    unsigned char fp[IDEM_FP_BYTES];
    long long household_id, staff_id, points;
    long long action_limit;  /* > 0: at most this many points either way */
    long long daily_limit;   /* > 0: at most this many points (either way) by
                              * this staff member in any 24 hours */
    const char *reason;
    const char *actor;
    const struct audit_actor *who;
};

/* 201 {id, household_id, points, balance, reason, approved_by}; 409
 * insufficient_points when the balance would go below zero; 403 forbidden
 * (not stored, so a stored answer for the key still wins) when it passes
 * the limit of one action or the staff member's daily limit - the
 * staff row is locked after the household's, so one member's adjustments
 * are counted one at a time. */
void ledger_adjust_op(struct ledger_op *op, const struct adjust_in *in);
int ledger_adjust(struct db *d, const struct adjust_in *in, struct ledger_answer *ans);

struct reverse_in {
    long long dropoff_id;
    const char *reason;
    const char *actor;
    const struct audit_actor *who;
};

/* Reverse a drop-off: it leaves the statistics and a reversal row takes
 * back min(points, balance).  200 {id, status, household_id, points,
 * clawed_back, shortfall, balance}; 409 already_reversed; 404 when there
 * is no such drop-off.  Not keyed: a second call is the 409. */
void ledger_reverse_op(struct ledger_op *op, const struct reverse_in *in);
int ledger_reverse(struct db *d, const struct reverse_in *in, struct ledger_answer *ans);

/* A stored drop-off as JSON (with lines, status, reversal), or NULL with
 * *found 0 when there is none (store errors: NULL, *found -1).  site and
 * household region paths are returned for reach checks (256 bytes each,
 * may be NULL). */
json_t *dropoff_load(struct db *d, long long id, int *found, char *site_path,
                     char *household_path);

/* The ids of the drop-offs at sites under root (site_id, household_id 0:
 * any), of local days from..to ("" open), below before, newest first, at
 * most limit: rows of one column, or NULL (error on d). */
struct db_rows;
struct db_rows *dropoff_list(struct db *d, const char *root, long long site_id,
                             long long household_id, const char *from, const char *to,
                             long long before, int limit);

struct household_head;

/* How much of a credit goes to the household's open shortfall: the one
 * rule every credit follows (min of the credit and the debt). */
long long ledger_recovery(const struct household_head *h, long long credit);

/* The memo of a recovery row. */
extern const char LEDGER_RECOVERY_MEMO[];


/* The answer for a refusal: {"error":{code, message}} with status. */
void ledger_refuse(struct ledger_answer *ans, int status, const char *code,
                   const char *message);

/* The stored answer for key, when there is one: 1 (ans is a replay, or a
 * conflict when the request differs), 0 none, -1 error.  For a refusal
 * decided before any operation exists (a clerk over its budget), so that
 * a stored answer still comes first. */
int ledger_replay(struct db *d, const char *scope, const char *key,
                  const unsigned char fp[IDEM_FP_BYTES], struct ledger_answer *ans);

#endif
