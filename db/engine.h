/* engine.h - the one keyed-transaction engine every movement of points
 * (and, later, of stock) goes through.
 *
 * An operation is one request's movement: a drop-off, a redemption, a
 * reversal, a void, an adjustment, an import.  Its kind (struct
 * ledger_op_kind) knows how to decide it; the engine knows how to run a
 * group of them safely, and the rule that keeps a movement safe lives
 * here and nowhere else:
 *
 *   1. before the transaction, a kind may resolve what its operation
 *      locks (a reversal: the drop-off's household);
 *   2. the first round trip locks every household of the group in id
 *      order, then every item in id order, then every site stock (site,
 *      category) in that order, then every staff row an operation counts
 *      on (a clerk's failure budget, an adjuster's daily limit) in id
 *      order (BEGIN rides along), reads the
 *      idempotency record of every keyed operation, and whatever each
 *      kind reads under those locks;
 *   3. each operation in turn: a stored answer for its key (or the answer
 *      a twin earlier in the group stored) is the answer - replay, or
 *      conflict for another request - before any other outcome; else a
 *      refusal decided before the transaction is the answer; else its kind
 *      decides, in memory, against the locked rows as the operations
 *      before it left them (balances, seqs, debts, stock carry over);
 *   4. the second round trip writes everything - each kind's statements,
 *      one multi-row statement a table, the ledger rows, the households'
 *      heads, the items' stock, each stored answer under its key - and
 *      COMMITs;
 *   5. after the commit, each new object's answer gets its id.
 *
 * The whole is retried on deadlock.  A key a twin stored in the meantime
 * (a duplicate-key error on the idempotency insert) makes that operation
 * a replay and the rest run again; any other failure of a group runs each
 * operation alone, so one bad operation fails nobody else.  Both are
 * logged as warnings and counted (wb_stats.group_reruns).  An answer
 * decided in the transaction is stored with its key unless the kind marks
 * it no_store (refusals that must not stick: a 404, a wrong PIN); writes
 * an operation made stay in the commit whatever its answer (PIN counters,
 * a pay code's use).
 *
 * A struct db is owned by one thread: run the engine on the thread that
 * owns d (a ledger thread, a worker, wbctl). */
#ifndef WB_ENGINE_H
#define WB_ENGINE_H

#include <stdbool.h>
#include <jansson.h>

#include "db/batch.h"
#include "db/idem.h"
#include "db/ledger.h"

struct db;
struct engine_tx;
struct ledger_op;
struct household_head;

#define ENGINE_ITEMS_MAX 20          /* items one operation locks */
#define ENGINE_STOCKS_MAX 64         /* site stocks (site, category) one operation locks */

struct ledger_op_kind {
    const char *name;            /* "dropoff", for the log */
    /* Optional, outside any transaction: set op->household_id and
     * op->item_ids from rows that never change once written.  0, or -1 on
     * a store error; a refusal may be put in op->ans (then op->preset). */
    int (*resolve)(struct db *d, struct ledger_op *op);
    /* Optional: add the operation's reads under the group's locks
     * (engine_read).  0 or -1. */
    int (*read)(struct engine_tx *tx, struct ledger_op *op);
    /* Decide: fill op->ans (status, body, and the flags of struct
     * ledger_answer) and add the operation's writes.  0, or -1 on a store
     * error or out of memory (the group then fails). */
    int (*decide)(struct engine_tx *tx, struct ledger_op *op);
};

struct ledger_op {
    const struct ledger_op_kind *kind;
    void *in;                    /* the kind's input; borrowed until done */
    /* idempotency: key NULL = not keyed */
    const char *scope, *key;
    unsigned char fp[IDEM_FP_BYTES];
    /* A refusal decided before the transaction: with preset, ans holds it
     * and it is the answer unless the key holds a stored one. */
    bool preset;
    /* what the operation locks (set by the caller or by resolve) */
    long long household_id;      /* 0: none */
    int nitems;
    long long item_ids[ENGINE_ITEMS_MAX];
    long long staff_id;          /* a staff row it counts on, locked last; 0: none */
    int nstocks;
    struct engine_stock_key { long long site_id; long long category_id; } stocks[ENGINE_STOCKS_MAX];
    /* out */
    struct ledger_answer ans;
    enum ledger_rc rc;
    enum db_errkind errkind;     /* when rc is LEDGER_ERR */
    /* the engine's */
    int slot;                    /* its place in the group: names its @wb_r<slot> */
    int id_stmt;                 /* the INSERT whose id the answer gets, or -1 */
    int id_row;                  /* its row in that INSERT (engine_insert_object_row), or -1 */
    bool from_record;            /* answer it from the record (a twin won) */
    bool done;                   /* answered in an earlier pass */
};

/* Put a refusal in op (before the engine runs it): answered unless the
 * key holds a stored answer.  field may be NULL. */
void ledger_op_refuse(struct ledger_op *op, int status, const char *code, const char *field,
                      const char *message);

/* Run n operations (1..LEDGER_GROUP_MAX) as one group on d.  Each gets its
 * own answer and rc; n is returned. */
int ledger_engine_run(struct db *d, struct ledger_op *const *ops, int n);

/* ---- for the kinds: the group's transaction ---- */

/* The connection (for a kind that must run statements of its own inside
 * the transaction, as an import does). */
struct db *engine_db(struct engine_tx *tx);

/* The household as the group has it so far (locked), or NULL when it
 * does not exist or was not locked. */
struct household_head *engine_household(struct engine_tx *tx, long long id);

/* A shop item as the group has it so far (locked; stock carried). */
struct engine_item {
    long long id, shop_id, points, stock;
    bool unlimited, active, found;
    char name[401];
};
struct engine_item *engine_item(struct engine_tx *tx, long long id);

/* Change an item's stock by delta (written once, with the group). */
void engine_item_stock(struct engine_tx *tx, struct engine_item *it, long long delta);

/* A site's stock in one category as the group has it so far (locked;
 * created at 0 when it had none), or NULL when the operation did not ask
 * for it.  Never below 0. */
struct engine_stock {
    long long site_id, category_id;
    long long on_hand, seq, shortfall;
    bool dirty;
};
struct engine_stock *engine_stock(struct engine_tx *tx, long long site_id, long long category_id);

/* A movement of stock: a stock_movements row of kind with ref_id (ref
 * NULL) or the session variable ref, filed under local_day; on_hand, seq
 * (and shortfall, changed by the caller) written once with the group
 * (local_day is copied).
 * 0, or -1 (on_hand would go below 0: the caller must have refused). */
int engine_stock_move(struct engine_tx *tx, struct engine_stock *st, long long delta,
                      const char *kind, long long ref_id, const char *ref,
                      const char *local_day);

/* A read of the first round trip, after the locks: its index, or -1.
 * engine_read_rows gives its rows once the round trip has run (in
 * decide; NULL when out of range). */
int engine_read(struct engine_tx *tx, const char *sql, const char *fmt, ...);
struct db_rows *engine_read_rows(struct engine_tx *tx, int index);

/* A write of the second round trip, in the order added: its index, or
 * -1.  Statements may name the session variable of any operation before
 * it in the group (engine_ref) through the format letter 'r'. */
int engine_write(struct engine_tx *tx, const char *sql, const char *fmt, ...);
int engine_write_params(struct engine_tx *tx, const char *sql, const struct db_param *p, int n);

/* As engine_insert_object, for objects of which a group creates many (the
 * drop-offs): their rows go into one multi-row INSERT a group, written
 * before every row set, with the ids MariaDB gives a multi-row INSERT
 * (consecutive: checked once per process, else each row is its own
 * INSERT as above).  spec is the table's row shape, p its spec->width
 * values.  Nothing the kind writes while deciding may name the object's
 * @wb_r<slot> (its row sets may: they follow).  0 or -1. */
int engine_insert_object_row(struct engine_tx *tx, struct ledger_op *op,
                             const struct db_rows_spec *spec, const char *sql,
                             const struct db_param *p);

/* The second round trip's batch itself, for helpers that add statements
 * to a batch (audit_add). */
struct db_batch *engine_write_batch(struct engine_tx *tx);

/* The INSERT that creates op's object: its id becomes @wb_r<slot> for
 * the statements after it, the answer's "id" after the commit, and the
 * stored answer's too.  0 or -1. */
int engine_insert_object(struct engine_tx *tx, struct ledger_op *op, const char *sql,
                         const struct db_param *p, int n);

/* The session variable naming op's new object ("@wb_r3"). */
const char *engine_ref(const struct ledger_op *op);

/* Rows for a multi-row statement of the group, one builder per spec,
 * written after the operations' own statements (in order of first use),
 * before the ledger rows.  NULL when out of memory. */
struct db_param *engine_row(struct engine_tx *tx, const struct db_rows_spec *spec);

/* Scratch memory of a kind for this group (zeroed, freed by the engine),
 * shared by the group's operations of that kind: carried state such as
 * day totals.  NULL when out of memory. */
void *engine_kind_state(struct engine_tx *tx, const struct ledger_op_kind *kind, size_t size);

/* A movement of points on a locked household: a ledger row of kind with
 * ref_id (ref NULL) or the session variable ref, memo may be NULL.  A
 * credit first settles the household's debt with a "recovery" row (the
 * rule of ledger_recovery); *recovered (may be NULL) says how much.  The
 * balance, seq and debt are carried in memory and written once: kind, ref,
 * actor and memo are borrowed until the group has run.  0 or -1. */
int engine_move(struct engine_tx *tx, struct household_head *h, long long delta,
                const char *kind, long long ref_id, const char *ref, const char *actor,
                const char *memo, long long *recovered);

/* Add val to the row key of a rollup (db/rollup.h: ROLLUP_*), written
 * once with the group.  0 or -1. */
int engine_tally(struct engine_tx *tx, int rollup, const long long *key, const long long *val);

/* Take points back from a locked household (a reversal, a void): what
 * the balance holds leaves it in a ledger row of kind with ref_id (none
 * when that is 0), the rest stays owed as the household's debt, recovered
 * from its next credits (ledger_recovery).  *clawed says how much was
 * taken.  0 or -1. */
int engine_claw_back(struct engine_tx *tx, struct household_head *h, long long points,
                     const char *kind, long long ref_id, const char *actor, const char *memo,
                     long long *clawed);

/* ---- the records an undo takes back ----
 *
 * A reversal or a void names a record by id (a drop-off, a redemption, an
 * inspection), and two operations of one group may name the same one (two
 * admins at once).  Each record is read once under the group's locks and
 * parsed once; once one operation of the group has taken it back, the
 * others are the 409 of a second undo.  A kind keeps its own fields for a
 * record in its own array, at the index these answer. */
struct engine_undo {
    long long id[LEDGER_GROUP_MAX];
    bool parsed[LEDGER_GROUP_MAX];   /* the kind has read its rows */
    bool taken[LEDGER_GROUP_MAX];    /* taken back by an operation of the group */
    int n;
};

/* Resolve step of an undo: the record's household, which never changes,
 * found before the locks by sql (one ? for id, one column).  No such
 * record refuses op with 404 not_found ("no such <what>").  0 or -1. */
int engine_undo_owner(struct db *d, struct ledger_op *op, const char *sql, long long id,
                      const char *what);

/* The index of id in u, added when it is new (*added: register its reads
 * now); -1 when u is full. */
int engine_undo_add(struct engine_undo *u, long long id, bool *added);

/* The index of id in u, or -1. */
int engine_undo_find(const struct engine_undo *u, long long id);

/* The household's debt changed without a ledger row (a reversal's
 * shortfall): write its head with the group. */
void engine_touch(struct engine_tx *tx, struct household_head *h);

#endif
