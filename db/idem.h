/* idem.h - idempotency records for money actions.
 *
 * An outcome decided inside a transaction (201, or a 409 such as
 * insufficient_points) is stored with its key, in the same transaction,
 * and answered again for the same key and request.  Keys live in a scope
 * ("site:12", "shop:3", "staff:5"); the fingerprint is an HMAC of the
 * request's canonical JSON (pin left out), so the same key with another
 * body is recognised.  Records are kept at least 35 days. */
#ifndef WB_IDEM_H
#define WB_IDEM_H

#include <stdbool.h>
#include <jansson.h>

struct db;

#define IDEM_FP_BYTES 32
#define IDEM_KEEP_DAYS 35

/* A key is 1-64 of [A-Za-z0-9_.:-]. */
bool idem_key_valid(const char *key);

/* HMAC-SHA256 under key of the canonical form of body (sorted keys,
 * compact) with the members named in `without` (NULL-terminated) left
 * out.  0 or -1. */
int idem_fingerprint(const unsigned char key[32], json_t *body, const char *const *without,
                     unsigned char out[IDEM_FP_BYTES]);

struct idem_record {
    bool same;               /* fingerprint matches */
    int status;
    char *response;          /* malloc'd JSON text; free() it */
};

/* 1 found (rec filled), 0 none, -1 error. */
int idem_lookup(struct db *d, const char *scope, const char *key,
                const unsigned char fp[IDEM_FP_BYTES], struct idem_record *rec);

/* Store inside the caller's transaction; -1 with DB_DUP when a twin
 * stored the same key first. */
int idem_store(struct db *d, const char *scope, const char *key,
               const unsigned char fp[IDEM_FP_BYTES], int status, const char *response);

/* Delete records older than IDEM_KEEP_DAYS (in small batches); rows or -1. */
long long idem_purge(struct db *d);

#endif
