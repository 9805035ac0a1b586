/* token.h - JWT issue and verification (HS256 only).
 *
 * libjwt 1.10 checks the signature and nothing else (see docs/security.md):
 * token_verify pins the algorithm, requires exp/iat/jti/sub/role, checks
 * their types and that exp is in the future.  Revocation is not checked
 * here (it needs the store; see db/revoke.h). */
#ifndef WB_TOKEN_H
#define WB_TOKEN_H

#include <time.h>

struct principal;

/* Sign a token for p.  Fills p->jti (random), p->iat = now and
 * p->exp = now + ttl.  *out is allocated: free() it.  0 or -1. */
int token_issue(const char *secret, struct principal *p, long long ttl, time_t now,
                char **out);

/* Verify token; on success fill *out and return 0.  -1 for anything
 * wrong (bad signature, other algorithm, expired, missing claim). */
int token_verify(const char *secret, const char *token, time_t now,
                 struct principal *out);

/* ---- verified tokens, remembered (token.c says why this is sound)
 *
 * A table of the principals of the tokens verified last, keyed by a
 * keyed hash of (secret, token) under a random key of its own.  It
 * belongs to one thread (a worker): it has no lock. */
struct token_memo;

/* An empty memo with a fresh random key, in sodium_malloc'd memory
 * (guard pages; locked when the system allows).  Needs sodium_init.
 * NULL when out of memory.  Free with token_memo_free. */
struct token_memo *token_memo_new(void);

/* Wipe and free m (sodium_free).  NULL is fine. */
void token_memo_free(struct token_memo *m);

/* token_verify(secret, token, now, out), answered from m when m holds
 * this token under this secret and its exp and iat still hold at now
 * (a hit allows no future iat: stricter than token_verify).  A token
 * that verifies is remembered once its iat has come; one that fails is
 * never.  m NULL: plain token_verify.  Revocation is not checked: that
 * stays the caller's, on every request.  0 with *out filled, or -1 with
 * *out zeroed.  Nothing changes hands. */
int token_verify_cached(struct token_memo *m, const char *secret, const char *token,
                        long long now, struct principal *out);

#endif
