/* idem.c - see idem.h. */
#include "db/idem.h"
#include "db/db.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_LOOKUP[] =
    "SELECT fingerprint, status, response FROM idempotency WHERE scope = ? AND idem_key = ?";
static const char SQL_STORE[] =
    "INSERT INTO idempotency (scope, idem_key, fingerprint, status, response) "
    "VALUES (?, ?, ?, ?, ?)";
static const char SQL_PURGE[] =
    "DELETE FROM idempotency WHERE created_at < NOW(6) - INTERVAL 35 DAY LIMIT 10000";

bool idem_key_valid(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    return n >= 1 && n <= 64 &&
           strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") == n;
}

int idem_fingerprint(const unsigned char key[32], json_t *body, const char *const *without,
                     unsigned char out[IDEM_FP_BYTES])
{
    json_t *copy = body ? json_deep_copy(body) : json_object();
    if (!copy)
        return -1;
    if (json_is_object(copy))
        for (const char *const *w = without; w && *w; w++)
            json_object_del(copy, *w);
    char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(copy);
    if (!text)
        return -1;
    crypto_auth_hmacsha256(out, (const unsigned char *)text, strlen(text), key);
    free(text);
    return 0;
}

int idem_lookup(struct db *d, const char *scope, const char *key,
                const unsigned char fp[IDEM_FP_BYTES], struct idem_record *rec)
{
    struct db_rows *r = db_query(d, SQL_LOOKUP, "ss", scope, key);
    if (!r)
        return -1;
    int found = 0;
    if (db_rows_next(r)) {
        size_t len = 0;
        const char *stored = db_rows_str(r, 0, &len);
        rec->same = len == IDEM_FP_BYTES && sodium_memcmp(stored, fp, IDEM_FP_BYTES) == 0;
        rec->status = (int)db_rows_int(r, 1);
        rec->response = strdup(db_rows_str(r, 2, NULL));
        found = rec->response ? 1 : -1;
    }
    db_rows_free(r);
    return found;
}

int idem_store(struct db *d, const char *scope, const char *key,
               const unsigned char fp[IDEM_FP_BYTES], int status, const char *response)
{
    return db_exec(d, SQL_STORE, "ssbis", scope, key, (const void *)fp, (size_t)IDEM_FP_BYTES,
                   (long long)status, response) < 0 ? -1 : 0;
}

long long idem_purge(struct db *d)
{
    return db_exec(d, SQL_PURGE, "");
}

