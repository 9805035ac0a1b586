/* pin.h - household PINs and the lock that guards them.
 *
 * A PIN is 4-6 digits; all-same digits and straight runs (1234, 98765)
 * are refused.  It is stored as HMAC-SHA256(pin key, "<household id>:<pin>"):
 * argon2 adds nothing to a space of 10^4..10^6, the key makes a stolen
 * table useless, and the real guard is the lock below.
 *
 * The lock lives on the household row and is only touched with that row
 * locked (SELECT ... FOR UPDATE): every attempt counts before the PIN is
 * compared, a right PIN clears the count, the 5th wrong one in a row locks
 * for WB_PIN_LOCK_SECONDS, doubling with each further lock up to a day.
 * The caller commits the new counters even when it refuses the request.
 *
 * There are two counters, one per channel: shops (a clerk typing the PIN
 * at the till) and the resident's own sign-in (and PIN change).  Anyone
 * holding the door card can try PINs at the sign-in page; with one shared
 * counter a stranger could lock the household out of shopping, or a shop
 * lock its sign-in.  Each channel is locked by the same rule, on its own. */
#ifndef WB_PIN_H
#define WB_PIN_H

#include <stdbool.h>

struct db;
struct db_rows;

#define PIN_MAX_FAILURES 5
#define PIN_KEY_BYTES 32
#define PIN_HASH_BYTES 32

bool pin_acceptable(const char *pin);

/* The PIN key from a server secret (domain-separated HMAC). */
void pin_key_derive(const char *secret, unsigned char key[PIN_KEY_BYTES]);

void pin_hash(const unsigned char key[PIN_KEY_BYTES], long long household_id,
              const char *pin, unsigned char out[PIN_HASH_BYTES]);

enum pin_outcome {
    PIN_OK,
    PIN_WRONG,        /* attempts_left says how many before the lock */
    PIN_LOCKED,       /* retry_after seconds */
    PIN_NOT_SET,
};

struct pin_result {
    enum pin_outcome outcome;
    int attempts_left;
    long long retry_after;
};

enum pin_channel {
    PIN_AT_SHOP,      /* redemptions */
    PIN_AT_SIGNIN,    /* resident sign-in and PIN change */
};

/* A channel's PIN state as stored on the household row. */
struct pin_state {
    bool set;                 /* a PIN is stored */
    unsigned char hash[PIN_HASH_BYTES];
    long long failures, locked_until, lock_count;
};

/* The rule, in memory: check pin against st at time now and say what
 * the counters become (*next) and whether they changed (the return
 * value: true when they must be written).  Pure: no store. */
bool pin_decide(const struct pin_state *st, long long household_id, const char *pin,
                const unsigned char key[PIN_KEY_BYTES], long long now, int lock_seconds,
                struct pin_state *next, struct pin_result *res);

/* The channel's state read and written as statements of a batch: the
 * SELECT (columns: hash, failures, locked_until, lock_count), its reader,
 * and the UPDATE's SQL (parameters failures, locked_until, lock_count,
 * household id). */
const char *pin_state_sql(enum pin_channel ch);
void pin_state_read(struct db_rows *r, struct pin_state *out);
const char *pin_counters_sql(enum pin_channel ch);

/* Inside a transaction that holds the household row lock: check pin and
 * write the new counters of that channel.  Returns 0 (res filled) or -1
 * (store error). */
int pin_attempt_locked(struct db *d, long long household_id, enum pin_channel ch,
                       const char *pin, const unsigned char key[PIN_KEY_BYTES], long long now,
                       int lock_seconds, struct pin_result *res);

/* Set (pin non-NULL) or clear the PIN, clearing both channels' locks
 * too.  0 or -1. */
int pin_store(struct db *d, long long household_id, const char *pin,
              const unsigned char key[PIN_KEY_BYTES]);

#endif
