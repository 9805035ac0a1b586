/* card.c - see card.h. */
#include "qr/card.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define MAC_BYTES 10
#define MAC_CHARS 16
static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static void mac_of(const char *secret, const char *msg, unsigned char out[MAC_BYTES])
{
    unsigned char full[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
    crypto_auth_hmacsha256_final(&st, full);
    memcpy(out, full, MAC_BYTES);
    sodium_memzero(full, sizeof full);
}

/* 10 bytes -> 16 base32 characters (exactly 80 bits, no padding). */
static void b32_encode(const unsigned char in[MAC_BYTES], char out[MAC_CHARS + 1])
{
    unsigned long long acc = 0;
    int bits = 0, o = 0;
    for (int i = 0; i < MAC_BYTES; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = B32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    out[o] = '\0';
}

static bool b32_decode(const char *in, unsigned char out[MAC_BYTES])
{
    unsigned long long acc = 0;
    int bits = 0, o = 0;
    for (int i = 0; i < MAC_CHARS; i++) {
        const char *p = in[i] ? strchr(B32, in[i]) : NULL;
        if (!p)
            return false;
        acc = (acc << 5) | (unsigned long long)(p - B32);
        bits += 5;
        if (bits >= 8) {
            out[o++] = (unsigned char)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    return o == MAC_BYTES;
}

void card_encode(const char *secret, long long id, long long gen, char out[CARD_MAX])
{
    char msg[48], mac[MAC_CHARS + 1];
    unsigned char raw[MAC_BYTES];
    snprintf(msg, sizeof msg, "WB1.%lld.%lld", id, gen);
    mac_of(secret, msg, raw);
    b32_encode(raw, mac);
    snprintf(out, CARD_MAX, "%s.%s", msg, mac);
}

/* A decimal without sign or leading zero, 1..maxdigits long. */
static const char *parse_num(const char *s, int maxdigits, long long *out)
{
    int n = 0;
    long long v = 0;
    if (*s == '0')
        return NULL;
    while (s[n] >= '0' && s[n] <= '9') {
        if (n == maxdigits)
            return NULL;        /* too long: stop before v can overflow */
        v = v * 10 + (s[n] - '0');
        n++;
    }
    if (n == 0)
        return NULL;
    *out = v;
    return s + n;
}

bool card_decode(const char *secret, const char *code, long long *id, long long *gen)
{
    if (!code || strlen(code) >= CARD_MAX || strncmp(code, "WB1.", 4) != 0)
        return false;
    long long i, g;
    const char *p = parse_num(code + 4, 18, &i);
    if (!p || *p != '.')
        return false;
    p = parse_num(p + 1, 9, &g);
    if (!p || *p != '.')
        return false;
    const char *mac = p + 1;
    if (strlen(mac) != MAC_CHARS)
        return false;
    unsigned char given[MAC_BYTES], want[MAC_BYTES];
    if (!b32_decode(mac, given))
        return false;
    char msg[48];
    snprintf(msg, sizeof msg, "WB1.%lld.%lld", i, g);
    /* the canonical form only: no other spelling of the same numbers */
    if ((size_t)(mac - 1 - code) != strlen(msg))
        return false;
    mac_of(secret, msg, want);
    if (sodium_memcmp(given, want, MAC_BYTES) != 0)
        return false;
    *id = i;
    *gen = g;
    return true;
}
