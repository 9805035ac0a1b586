/* household_view.h - what the household handlers share: reach to one
 * household, its JSON, masking for attendants and clerks, and the PIN
 * refusal answers. */
#ifndef WB_HOUSEHOLD_VIEW_H
#define WB_HOUSEHOLD_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "db/mask.h"

struct req;
struct db;
struct household;
struct pin_result;

/* Load household id when the caller reaches it: staff by region subtree,
 * a resident only its own.  Replies 404 (or the store error) on false. */
bool household_in_reach_or_reply(struct req *r, struct db *d, long long id,
                                 struct household *out);

/* The household a card names, when the card is genuine and current:
 * 1 found, 0 forged / malformed / reissued / no such household, -1 error. */
int household_by_code(struct db *d, const char *secret, const char *code,
                      struct household *out, bool for_update);

/* The household a card names, when it is genuine, current and inside the
 * caller's reach; else reply 404 unknown_code (forged, malformed,
 * reissued), 404 not_found (outside reach) or the store error, and return
 * false.  The rule of POST /v1/scan, and of every body naming a card. */
bool household_by_code_or_reply(struct req *r, struct db *d, const char *code,
                                struct household *out);

/* The full view (admins, region admins, the resident itself). */
json_t *household_json(struct req *r, const struct household *h);

/* "张三丰" -> "张**": the first character, then one '*' per character. */
void mask_name(const char *name, char *out, size_t len);
/* "13812345678" -> "138****5678"; short numbers keep their last 2. */
void mask_phone(const char *phone, char *out, size_t len);

/* Answer a PIN outcome that is not PIN_OK: 403 bad_pin (attempts_left),
 * 423 pin_locked (Retry-After) or 403 pin_not_set.  Returns true when it
 * replied, false for PIN_OK (nothing sent). */
bool reply_pin_refusal(struct req *r, const struct pin_result *res, const char *field);

#endif
