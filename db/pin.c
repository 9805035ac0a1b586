/* pin.c - see pin.h. */
#include "db/pin.h"
#include "db/db.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define MAX_LOCK_SECONDS 86400

/* Per channel: its read of the counters, and their write. */
static const char *const SQL_STATE[] = {
    [PIN_AT_SHOP] = "SELECT pin_hash, pin_failures, pin_locked_until, pin_lock_count "
                    "FROM households WHERE id = ?",
    [PIN_AT_SIGNIN] = "SELECT pin_hash, signin_failures, signin_locked_until, "
                      "signin_lock_count FROM households WHERE id = ?",
};
static const char *const SQL_COUNTERS[] = {
    [PIN_AT_SHOP] = "UPDATE households SET pin_failures = ?, pin_locked_until = ?, "
                    "pin_lock_count = ? WHERE id = ?",
    [PIN_AT_SIGNIN] = "UPDATE households SET signin_failures = ?, signin_locked_until = ?, "
                      "signin_lock_count = ? WHERE id = ?",
};
static const char SQL_STORE[] =
    "UPDATE households SET pin_hash = ?, pin_failures = 0, pin_locked_until = 0, "
    "pin_lock_count = 0, signin_failures = 0, signin_locked_until = 0, signin_lock_count = 0 "
    "WHERE id = ?";

bool pin_acceptable(const char *pin)
{
    size_t n = strlen(pin);
    if (n < 4 || n > 6 || strspn(pin, "0123456789") != n)
        return false;
    bool same = true, up = true, down = true;
    for (size_t i = 1; i < n; i++) {
        same = same && pin[i] == pin[0];
        up = up && pin[i] == pin[i - 1] + 1;
        down = down && pin[i] == pin[i - 1] - 1;
    }
    return !same && !up && !down;
}

void pin_key_derive(const char *secret, unsigned char key[PIN_KEY_BYTES])
{
    static const char label[] = "wastebank household PIN key v1";
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, sizeof label - 1);
    crypto_auth_hmacsha256_final(&st, key);
}

void pin_hash(const unsigned char key[PIN_KEY_BYTES], long long household_id,
              const char *pin, unsigned char out[PIN_HASH_BYTES])
{
    /* id, ':' and PIN as separate updates: no buffer to outgrow, whatever
     * a caller passes as the PIN */
    char id[24];
    int n = snprintf(id, sizeof id, "%lld:", household_id);
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, PIN_KEY_BYTES);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, (unsigned long long)n);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)pin, strlen(pin));
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

const char *pin_state_sql(enum pin_channel ch)
{
    return SQL_STATE[ch];
}

const char *pin_counters_sql(enum pin_channel ch)
{
    return SQL_COUNTERS[ch];
}

void pin_state_read(struct db_rows *r, struct pin_state *out)
{
    memset(out, 0, sizeof *out);
    if (!r || !db_rows_next(r))
        return;                 /* no such household: no PIN */
    size_t hlen = 0;
    const char *h = db_rows_str(r, 0, &hlen);
    out->set = !db_rows_null(r, 0) && hlen == PIN_HASH_BYTES;
    if (out->set)
        memcpy(out->hash, h, PIN_HASH_BYTES);
    out->failures = db_rows_int(r, 1);
    out->locked_until = db_rows_int(r, 2);
    out->lock_count = db_rows_int(r, 3);
}

bool pin_decide(const struct pin_state *st, long long household_id, const char *pin,
                const unsigned char key[PIN_KEY_BYTES], long long now, int lock_seconds,
                struct pin_state *next, struct pin_result *res)
{
    memset(res, 0, sizeof *res);
    *next = *st;
    if (!st->set) {
        res->outcome = PIN_NOT_SET;
        return false;
    }
    if (st->locked_until > now) {
        res->outcome = PIN_LOCKED;
        res->retry_after = st->locked_until - now;
        return false;
    }
    /* The attempt counts before the PIN is looked at: a crash or a refused
     * request after this point still leaves it counted (the caller
     * commits the new counters). */
    next->failures++;
    unsigned char given[PIN_HASH_BYTES];
    pin_hash(key, household_id, pin, given);
    bool right = sodium_memcmp(given, st->hash, PIN_HASH_BYTES) == 0;
    if (right) {
        next->failures = 0;
        next->lock_count = 0;
        res->outcome = PIN_OK;
    } else if (next->failures >= PIN_MAX_FAILURES) {
        long long secs = lock_seconds;
        for (long long i = 0; i < st->lock_count && secs < MAX_LOCK_SECONDS; i++)
            secs *= 2;
        if (secs > MAX_LOCK_SECONDS)
            secs = MAX_LOCK_SECONDS;
        next->locked_until = now + secs;
        next->lock_count++;
        next->failures = 0;
        res->outcome = PIN_LOCKED;
        res->retry_after = secs;
    } else {
        res->outcome = PIN_WRONG;
        res->attempts_left = (int)(PIN_MAX_FAILURES - next->failures);
    }
    /* a right PIN with nothing to clear writes nothing */
    return !(right && st->failures == 0 && st->lock_count == 0);
}

int pin_attempt_locked(struct db *d, long long household_id, enum pin_channel ch,
                       const char *pin, const unsigned char key[PIN_KEY_BYTES], long long now,
                       int lock_seconds, struct pin_result *res)
{
    struct db_rows *r = db_query(d, SQL_STATE[ch], "i", household_id);
    if (!r)
        return -1;
    struct pin_state st, next;
    pin_state_read(r, &st);
    db_rows_free(r);
    if (!pin_decide(&st, household_id, pin, key, now, lock_seconds, &next, res))
        return 0;
    return db_exec(d, SQL_COUNTERS[ch], "iiii", next.failures, next.locked_until,
                   next.lock_count, household_id) < 0 ? -1 : 0;
}

int pin_store(struct db *d, long long household_id, const char *pin,
              const unsigned char key[PIN_KEY_BYTES])
{
    unsigned char h[PIN_HASH_BYTES];
    if (pin)
        pin_hash(key, household_id, pin, h);
    long long rc = db_exec(d, SQL_STORE, "bi", pin ? (const void *)h : NULL,
                           (size_t)PIN_HASH_BYTES, household_id);
    return rc < 0 ? -1 : 0;
}
