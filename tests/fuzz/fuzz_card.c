/* libFuzzer target: card payloads are untrusted (anyone can print a QR).
 * card_decode must never crash, and must accept only what card_encode
 * makes (checked by re-encoding what it accepts). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qr/card.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char secret[] = "fuzzing-secret-of-at-least-32-bytes!";
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    long long id, gen;
    if (card_decode(secret, s, &id, &gen)) {
        char again[CARD_MAX];
        card_encode(secret, id, gen, again);
        if (strcmp(again, s) != 0)
            abort();      /* accepted something that is not canonical */
    }
    free(s);
    return 0;
}
