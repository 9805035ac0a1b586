/* chain.h - the three-tier chain (交投点 -> 中转站 -> 分拣中心): shipments
 * up the tiers, stock counts and outbound disposal, as operations of the
 * ledger engine (db/engine.h), so that every movement of stock is keyed,
 * locked and idempotent like points.  A site's stock moves only by rows of
 * stock_movements; it never goes below 0, and two movements of one site
 * are serialised by the engine's lock on its stock heads.
 *
 * The callers (api/shipments.c, api/stock.c) check the shape of a request,
 * the reach and the tiers before; what depends on the stock or on a
 * shipment's status is decided here, under the locks: 409
 * insufficient_stock naming the line, 409 already_received. */
#ifndef WB_CHAIN_H
#define WB_CHAIN_H

#include <stdbool.h>
#include <jansson.h>

#include "db/idem.h"
#include "db/shipments.h"

struct db;
struct ledger_op;
struct ledger_op_kind;

/* POST /v1/shipments: from the attendant's site to to_site_id. */
struct shipment_in {
    const char *scope, *key;   /* "site:<from>" */
    unsigned char fp[IDEM_FP_BYTES];
    long long from_site_id, to_site_id, staff_id;
    const char *vehicle, *note;    /* may be NULL */
    long long now;             /* epoch seconds */
    char local_day[11];
    int nlines;
    struct chain_line lines[CHAIN_MAX_LINES];
};

/* POST /v1/shipments/{id}/receive (the receiving site's attendant) and
 * /cancel (the sender's attendant, or an admin), on a shipment the caller
 * has loaded and may act on (api/shipments.c).  Its sites and lines never
 * change; its status is read again under the lock. */
struct shipment_act {
    const struct shipment_rec *rec;    /* borrowed: the answer is made from it */
    long long staff_id;
    long long now;
    char local_day[11];
    long long received[CHAIN_MAX_LINES];   /* receive: what arrived, by rec's line */
    const char *reason;        /* cancel: may be NULL */
};

/* POST /v1/sites/{id}/stock-counts: the quantities counted on hand. */
struct count_in {
    const char *scope, *key;
    unsigned char fp[IDEM_FP_BYTES];
    long long site_id, staff_id;
    long long now;
    char local_day[11];
    int nlines;
    struct chain_line lines[CHAIN_MAX_LINES];
};

/* POST /v1/outbound: what leaves the chain at a sorting centre. */
struct outbound_in {
    const char *scope, *key;
    unsigned char fp[IDEM_FP_BYTES];
    long long site_id, staff_id;
    const char *buyer, *disposition;
    long long now;
    char local_day[11];
    int nlines;
    struct chain_line lines[CHAIN_MAX_LINES];
};

extern const struct ledger_op_kind chain_ship_kind, chain_receive_kind, chain_cancel_kind,
    chain_count_kind, chain_outbound_kind;

/* Make the operation of each (the input is borrowed until it has run). */
void chain_ship_op(struct ledger_op *op, const struct shipment_in *in);
void chain_receive_op(struct ledger_op *op, const struct shipment_act *in);
void chain_cancel_op(struct ledger_op *op, const struct shipment_act *in);
void chain_count_op(struct ledger_op *op, const struct count_in *in);
void chain_outbound_op(struct ledger_op *op, const struct outbound_in *in);

/* The tier of a site: 0 drop-off, 1 transfer, 2 sorting, -1 unknown. */
int chain_tier_rank(const char *tier);

#endif
