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

#endif
