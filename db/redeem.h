/* redeem.h - spending points at a shop, and voiding a redemption.
 *
 * A redemption is a debit through the ledger's one transaction shape
 * (db/ledger.h), with the checks in the order of api.md: the household
 * (404), its county (404, a pay code left unconsumed), consent (PIN:
 * 403 bad_pin / 423 pin_locked / 403 pin_not_set - the PIN counters are
 * committed even though the request is refused), 409 household_inactive,
 * items (404 not this shop's, 409 item_inactive, 409 out_of_stock; items
 * locked after the household, in id order), 409 insufficient_points.
 * A pay code's use is a UNIQUE row in pay_code_uses written by the same
 * transaction: whatever Redis says, a code spends once. */
#ifndef WB_REDEEM_H
#define WB_REDEEM_H

#include <stdbool.h>

#include "db/idem.h"
#include "db/ledger.h"

struct db;
struct audit_actor;

#define REDEEM_MAX_LINES 20

struct redeem_line {
    long long item_id;
    long long qty;
};

struct redeem_in {
    const char *scope;        /* "shop:<id>" */
    const char *key;
    unsigned char fp[IDEM_FP_BYTES];
    long long shop_id, clerk_id;
    const char *reach;        /* the shop's county path: households served */
    const char *actor;        /* "s:<clerk>" */
    /* consent: a card and PIN, or a pay code */
    long long household_id;   /* 0: the card or code names nobody */
    long long card_gen;       /* card consent: the card's generation */
    const char *pin;          /* card consent */
    const char *pay_code;     /* pay-code consent: the 12 digits ... */
    const char *pay_nonce;    /* ... and the nonce Redis holds for them */
    const unsigned char *pin_key;
    int pin_lock_seconds;
    long long now;
    /* the clerk's failure budget: fail_limit wrong PINs or pay codes a
     * window of fail_window_s seconds, counted on the clerk's staff row
     * under its lock (0: no budget, for the bench's raw rate) */
    int fail_limit, fail_window_s;
    /* what: items, or a plain amount */
    int nlines;
    struct redeem_line lines[REDEEM_MAX_LINES];
    long long points;         /* when nlines == 0 */
    const char *memo;
};

/* 201 {id, household_id, shop_id, points, balance, items[], memo, consent,
 * head_name_masked, replayed}, or a refusal as above.  A clerk past its
 * failure budget is 429 rate_limited (nothing tried, nothing stored);
 * ans->pin_failed / ans->code_failed say this request was a failure the
 * budget counted, ans->budget_spent that it used the budget up. */
int ledger_redeem(struct db *d, const struct redeem_in *in, struct ledger_answer *ans);

/* The redemption and the void as operations of the ledger engine
 * (db/engine.h); in is borrowed until the engine has run them. */
struct ledger_op;
struct ledger_op_kind;
struct void_in;
extern const struct ledger_op_kind ledger_redeem_kind, ledger_void_kind;
void ledger_redeem_op(struct ledger_op *op, const struct redeem_in *in);
void ledger_void_op(struct ledger_op *op, const struct void_in *in);

struct void_in {
    long long redemption_id;
    const char *reason;
    const char *actor;
    long long clerk_id;       /* non-zero: a clerk, who may void only its own
                               * redemptions within VOID_WINDOW seconds */
    long long shop_id;        /* for a clerk: its shop */
    const char *reach;        /* the caller's subtree: admins reach the shop
                               * through it, and everyone the household */
    const struct audit_actor *who;
    long long now;
};

#define VOID_WINDOW (30 * 60)

/* 200 {id, status:"voided", household_id, points, balance, and recovered
 * when part of the points settled an open shortfall}; 409 already_voided;
 * 403 for a clerk past the window or not the author; 404 outside reach
 * (the shop's, or the household's: points come back only to a household
 * the caller reaches). */
int ledger_void(struct db *d, const struct void_in *in, struct ledger_answer *ans);

/* A redemption as JSON (lines included), or NULL (*found 0 none, -1
 * error).  shop_path (256 bytes) gets the shop's region path. */
json_t *redemption_load(struct db *d, long long id, int *found, long long *shop_id,
                        char *shop_path);

/* The ids of the redemptions at shops under root (shop_id 0: any), made
 * in [start, end) epoch seconds (0: open), below before, newest first, at
 * most limit: rows of one column, or NULL (error on d). */
struct db_rows;
struct db_rows *redemption_list(struct db *d, const char *root, long long shop_id,
                                long long start, long long end, long long before, int limit);

/* Per shop under root (shop_id 0: every one), the redemptions not voided
 * in [start, end): rows of (shop id, name, count, points), or NULL. */
struct db_rows *redemption_summary(struct db *d, const char *root, long long shop_id,
                                   long long start, long long end);

#endif
