/* card.h - the household card payload: WB1.<id>.<generation>.<mac>
 *
 * mac is the first 10 bytes of HMAC-SHA256(WB_QR_SECRET, "WB1.<id>.<gen>")
 * in RFC 4648 base32 (16 characters, no padding).  Every character of the
 * payload is in QR's alphanumeric set, which keeps the code small enough
 * to scan from a weathered door card.  80 bits of MAC cannot be guessed;
 * reissuing a card bumps the generation, so the old card's payload names
 * a generation the household no longer has. */
#ifndef WB_CARD_H
#define WB_CARD_H

#include <stdbool.h>

#define CARD_MAX 72

/* Write the payload for household id at generation gen into out. */
void card_encode(const char *secret, long long id, long long gen, char out[CARD_MAX]);

/* Parse and verify code strictly (constant-time MAC compare).  true with
 * *id and *gen filled when the MAC is right; the caller must still check
 * that gen is the household's current generation. */
bool card_decode(const char *secret, const char *code, long long *id, long long *gen);

#endif
