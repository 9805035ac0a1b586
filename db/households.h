/* households.h - household accounts (the ledger lives in db/ledger.c). */
#ifndef WB_HOUSEHOLDS_H
#define WB_HOUSEHOLDS_H

#include <stdbool.h>

struct db;

struct household {
    long long id;
    long long region_id;
    char head_name[401];
    char address[801];
    char phone[129];
    bool has_phone;
    long long members;
    char status[12];          /* active suspended closed */
    long long balance;
    long long seq;
    long long debt;           /* open shortfall, recovered from later credits */
    long long card_gen;
    long long token_version;
    bool pin_set;
    long long created_at;     /* epoch seconds */
    char region_path[256];
    char region_name[401];
};

/* 1 found, 0 none, -1 error.  for_update locks the row (call inside a
 * transaction, before touching anything else of the household). */
int household_get(struct db *d, long long id, struct household *out, bool for_update);

/* What a money transaction needs of a household, read by the statement
 * that locks its row. */
struct household_head {
    long long id;
    long long region_id;
    char status[12];
    long long balance, seq, card_gen;
    long long debt;           /* open shortfall (db/ledger.h, recovery) */
    char head_name[401];
};

/* SELECT ... FOR UPDATE of the household row alone (design.md: the first
 * statement of every money transaction).  1 locked, 0 none, -1 error. */
int household_lock(struct db *d, long long id, struct household_head *out);

/* The same locking read as a statement of a batch (returns its index or
 * -1), and the reader of its rows: 1 found, 0 none. */
struct db_batch;
struct db_rows;
int household_lock_add(struct db_batch *b, long long id);
int household_head_read(struct db_rows *r, struct household_head *out);

/* Insert h (id ignored); returns the id or -1. */
long long household_insert(struct db *d, const struct household *h);

/* Update the given fields (NULL / -1 = keep; set_phone with phone NULL
 * clears it).  Returns rows matched or -1. */
long long household_update(struct db *d, long long id, const char *head_name,
                           const char *address, bool set_phone, const char *phone,
                           long long members, const char *status);

/* New card generation; also ends resident sessions. 0 or -1. */
int household_reissue(struct db *d, long long id);

/* End resident sessions (token_version + 1). 0 or -1. */
int household_bump_tokens(struct db *d, long long id);

#endif
