/* paycode.h - one-time pay codes shown on a resident's phone.
 *
 * Redis holds the live codes (losing one only makes the resident show a
 * new one): pc:<code> = "<household>|<nonce>" and pch:{h:<id>} = <code>,
 * both expiring after WB_PAY_CODE_TTL.  A code is created with SET NX, so
 * two households never share one, and a household's new code deletes its
 * previous one.  Spending is recorded in MariaDB (pay_code_uses, UNIQUE on
 * code and nonce) inside the redemption's transaction; the Redis keys are
 * deleted after it commits.  The scripts touch keys of different hash
 * slots: they assume one Redis (or Sentinel), not Redis Cluster. */
#ifndef WB_PAYCODE_H
#define WB_PAYCODE_H

struct cache;

#define PAYCODE_DIGITS 12

/* Make a new code for the household; code gets 12 digits + NUL, nonce 16
 * hex + NUL.  0, or -1 when Redis is unavailable. */
int paycode_issue(struct cache *c, long long household_id, int ttl,
                  char code[PAYCODE_DIGITS + 1], char nonce[17]);

/* 1 live (household and nonce filled), 0 unknown or expired, -1 Redis
 * unavailable. */
int paycode_lookup(struct cache *c, const char *code, long long *household_id,
                   char nonce[17]);

/* The household's live code: 1 (code filled, *ttl_left seconds), 0 none,
 * -1 unavailable. */
int paycode_current(struct cache *c, long long household_id, char code[PAYCODE_DIGITS + 1],
                    long long *ttl_left);

/* After the redemption committed: forget the code. */
void paycode_consume(struct cache *c, const char *code, long long household_id);

#endif
