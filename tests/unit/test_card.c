/* Unit tests: the household card payload WB1.<id>.<gen>.<mac> (qr/card.h).
 * The MAC is exact and only the canonical spelling decodes, so no change
 * to a genuine payload may ever decode. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "qr/card.h"

static const char SECRET[] = "0123456789abcdef0123456789abcdef-card";
static const char OTHER[] = "fedcba9876543210fedcba9876543210-card";

struct idgen {
    long long id, gen;
};

static const struct idgen samples[] = {
    { 1, 1 },
    { 1, 9 },
    { 9, 1 },
    { 10, 2 },
    { 12345, 7 },
    { 2147483648LL, 3 },
    { 123456789012345678LL, 1 },
    { 999999999999999999LL, 1 },          /* the largest 18-digit id */
    { 1, 999999999LL },                   /* the largest 9-digit generation */
    { 999999999999999999LL, 999999999LL },
};
#define NSAMPLES (sizeof samples / sizeof samples[0])

static const char *mac_of(const char *payload)
{
    const char *dot = strrchr(payload, '.');
    assert_non_null(dot);
    return dot + 1;
}

static void test_encoded_cards_decode_to_their_id_and_generation(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSAMPLES; i++) {
        char code[CARD_MAX];
        card_encode(SECRET, samples[i].id, samples[i].gen, code);
        long long id = -1, gen = -1;
        assert_true(card_decode(SECRET, code, &id, &gen));
        assert_true(id == samples[i].id);
        assert_true(gen == samples[i].gen);
    }
}

static void test_encoding_is_deterministic_and_distinct(void **state)
{
    (void)state;
    char a[CARD_MAX], b[CARD_MAX];
    card_encode(SECRET, 42, 3, a);
    card_encode(SECRET, 42, 3, b);
    assert_string_equal(a, b);
    card_encode(SECRET, 42, 4, b);
    assert_string_not_equal(a, b);
    card_encode(SECRET, 43, 3, b);
    assert_string_not_equal(a, b);
}

static void test_payload_has_the_documented_shape(void **state)
{
    (void)state;
    regex_t re;
    assert_int_equal(regcomp(&re, "^WB1\\.[1-9][0-9]*\\.[1-9][0-9]*\\.[A-Z2-7]{16}$",
                             REG_EXTENDED | REG_NOSUB), 0);
    for (size_t i = 0; i < NSAMPLES; i++) {
        char code[CARD_MAX], want_prefix[64];
        card_encode(SECRET, samples[i].id, samples[i].gen, code);
        if (regexec(&re, code, 0, NULL, 0) != 0)
            fail_msg("payload '%s' does not match the documented shape", code);
        snprintf(want_prefix, sizeof want_prefix, "WB1.%lld.%lld.", samples[i].id,
                 samples[i].gen);
        assert_memory_equal(code, want_prefix, strlen(want_prefix));
        assert_int_equal(strlen(mac_of(code)), 16);
    }
    regfree(&re);
}

/* Every position, every printable ASCII byte other than the original, and
 * a few bytes outside ASCII: none of these payloads may decode. */
static void test_every_single_byte_tamper_is_refused(void **state)
{
    (void)state;
    /* ids whose 18-digit prefix cannot overflow when a '.' turns into a
     * digit; the overflow case has a test of its own below */
    static const struct idgen cards[] = {
        { 1, 1 }, { 7, 9 }, { 12345, 7 }, { 123456789012345678LL, 123456789LL },
    };
    static const unsigned char high[] = { 0x80, 0xA0, 0xC3, 0xE5, 0xFF };
    for (size_t c = 0; c < sizeof cards / sizeof cards[0]; c++) {
        char code[CARD_MAX];
        card_encode(SECRET, cards[c].id, cards[c].gen, code);
        size_t n = strlen(code);
        long long id, gen;
        for (size_t i = 0; i < n; i++) {
            char saved = code[i];
            for (int b = 0x20; b <= 0x7E + (int)sizeof high; b++) {
                char repl = b <= 0x7E ? (char)b : (char)high[b - 0x7F];
                if (repl == saved)
                    continue;
                code[i] = repl;
                if (card_decode(SECRET, code, &id, &gen))
                    fail_msg("tampered payload '%s' (position %zu, byte 0x%02x) decoded",
                             code, i, (unsigned char)repl);
            }
            code[i] = saved;
        }
        /* and the untouched payload still decodes */
        assert_true(card_decode(SECRET, code, &id, &gen));
        assert_true(id == cards[c].id && gen == cards[c].gen);
    }
}

static void test_payload_under_another_secret_is_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSAMPLES; i++) {
        char code[CARD_MAX];
        long long id, gen;
        card_encode(OTHER, samples[i].id, samples[i].gen, code);
        assert_false(card_decode(SECRET, code, &id, &gen));
        assert_true(card_decode(OTHER, code, &id, &gen));
    }
}

static void test_other_generation_with_the_same_mac_is_refused(void **state)
{
    (void)state;
    char code[CARD_MAX], forged[CARD_MAX + 16];
    long long id, gen;
    card_encode(SECRET, 5, 1, code);
    const char *mac = mac_of(code);
    for (long long g = 2; g <= 12; g++) {
        snprintf(forged, sizeof forged, "WB1.5.%lld.%s", g, mac);
        assert_false(card_decode(SECRET, forged, &id, &gen));
    }
    /* nor the same MAC under another id */
    snprintf(forged, sizeof forged, "WB1.6.1.%s", mac);
    assert_false(card_decode(SECRET, forged, &id, &gen));
    /* the reissued card (generation 2) decodes with its own MAC only */
    char reissued[CARD_MAX];
    card_encode(SECRET, 5, 2, reissued);
    assert_true(card_decode(SECRET, reissued, &id, &gen));
    assert_true(id == 5 && gen == 2);
    assert_string_not_equal(mac_of(reissued), mac);
}

static void test_non_canonical_and_malformed_payloads_are_refused(void **state)
{
    (void)state;
    char code[CARD_MAX], bad[256], lower[32];
    long long id, gen;
    card_encode(SECRET, 1, 1, code);
    const char *mac = mac_of(code);
    size_t k;
    for (k = 0; mac[k]; k++)
        lower[k] = (char)(mac[k] >= 'A' && mac[k] <= 'Z' ? mac[k] - 'A' + 'a' : mac[k]);
    lower[k] = '\0';
    /* the genuine one decodes, so the refusals below are about spelling */
    assert_true(card_decode(SECRET, code, &id, &gen));

    /* each is prefix + genuine mac + suffix */
    static const char *const spell[][2] = {
        { "WB1.01.1.", "" },        /* leading zero in the id */
        { "WB1.1.01.", "" },        /* leading zero in the generation */
        { "WB1.001.1.", "" },
        { "WB1.0.1.", "" },
        { "WB1.+1.1.", "" },        /* sign */
        { "WB1.-1.1.", "" },
        { "WB1. 1.1.", "" },        /* whitespace */
        { "WB1.1.1. ", "" },
        { "WB1.1.1.", " " },
        { " WB1.1.1.", "" },
        { "WB1.1.1.", "\n" },
        { "WB1..1.", "" },          /* empty parts */
        { "WB1.1..", "" },
        { "WB1...", "" },
        { ".WB1.1.1.", "" },
        { "WB1.1.", "" },           /* missing part */
        { "WB1.", "" },
        { "", "" },
        { "WB1.1.1.", "." },        /* extra parts */
        { "WB1.1.1.", ".1" },
        { "WB1.1.1.1.", "" },
        { "WB1.1.1..", "" },
        { "WB1.1.1.", "A" },        /* mac one too long */
        { "wb1.1.1.", "" },         /* prefix spelled otherwise */
        { "WB2.1.1.", "" },
        { "WB1,1,1,", "" },
        { "WB11.1.", "" },
    };
    for (size_t i = 0; i < sizeof spell / sizeof spell[0]; i++) {
        snprintf(bad, sizeof bad, "%s%s%s", spell[i][0], mac, spell[i][1]);
        if (card_decode(SECRET, bad, &id, &gen))
            fail_msg("malformed payload '%s' decoded", bad);
    }
    /* empty mac, short mac */
    assert_false(card_decode(SECRET, "WB1.1.1.", &id, &gen));
    assert_false(card_decode(SECRET, "WB1.1.1", &id, &gen));
    snprintf(bad, sizeof bad, "WB1.1.1.%.15s", mac);
    assert_false(card_decode(SECRET, bad, &id, &gen));
    /* lowercase mac */
    snprintf(bad, sizeof bad, "WB1.1.1.%s", lower);
    assert_false(card_decode(SECRET, bad, &id, &gen));
    /* too long a string: the genuine payload followed by padding */
    memset(bad, 'A', sizeof bad - 1);
    bad[sizeof bad - 1] = '\0';
    memcpy(bad, code, strlen(code));
    assert_false(card_decode(SECRET, bad, &id, &gen));
    memset(bad, '1', CARD_MAX);
    bad[CARD_MAX] = '\0';
    assert_false(card_decode(SECRET, bad, &id, &gen));
    /* nothing at all */
    assert_false(card_decode(SECRET, NULL, &id, &gen));
    assert_false(card_decode(SECRET, "", &id, &gen));
    assert_false(card_decode(SECRET, "WB1.", &id, &gen));
}

static void test_too_many_digits_are_refused(void **state)
{
    (void)state;
    char code[CARD_MAX], bad[128];
    long long id, gen;
    card_encode(SECRET, 1, 1, code);
    const char *mac = mac_of(code);
    /* ten-digit generation */
    snprintf(bad, sizeof bad, "WB1.1.1000000000.%s", mac);
    assert_false(card_decode(SECRET, bad, &id, &gen));
    /* nineteen-digit ids, small enough to fit a long long */
    snprintf(bad, sizeof bad, "WB1.1000000000000000000.1.%s", mac);
    assert_false(card_decode(SECRET, bad, &id, &gen));
    snprintf(bad, sizeof bad, "WB1.1234567890123456789.1.%s", mac);
    assert_false(card_decode(SECRET, bad, &id, &gen));
}

/* A 19-digit id larger than LLONG_MAX must be refused like any other
 * over-long id, without signed overflow while it is being read.  (Run
 * last: under UBSan an overflow ends the program.) */
static void test_ids_beyond_long_long_are_refused_without_overflow(void **state)
{
    (void)state;
    char code[CARD_MAX], bad[128];
    long long id, gen;
    card_encode(SECRET, 1, 1, code);
    const char *mac = mac_of(code);
    snprintf(bad, sizeof bad, "WB1.9999999999999999999.1.%s", mac);
    assert_false(card_decode(SECRET, bad, &id, &gen));
    snprintf(bad, sizeof bad, "WB1.99999999999999999999999999.1.%s", mac);
    assert_false(card_decode(SECRET, bad, &id, &gen));
    /* the same as a single-byte tamper of the largest genuine card: the
     * '.' after the 18-digit id turned into a digit */
    card_encode(SECRET, 999999999999999999LL, 1, code);
    char *dot = strchr(code + 4, '.');
    assert_non_null(dot);
    *dot = '9';
    assert_false(card_decode(SECRET, code, &id, &gen));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoded_cards_decode_to_their_id_and_generation),
        cmocka_unit_test(test_encoding_is_deterministic_and_distinct),
        cmocka_unit_test(test_payload_has_the_documented_shape),
        cmocka_unit_test(test_every_single_byte_tamper_is_refused),
        cmocka_unit_test(test_payload_under_another_secret_is_refused),
        cmocka_unit_test(test_other_generation_with_the_same_mac_is_refused),
        cmocka_unit_test(test_non_canonical_and_malformed_payloads_are_refused),
        cmocka_unit_test(test_too_many_digits_are_refused),
        cmocka_unit_test(test_ids_beyond_long_long_are_refused_without_overflow),
    };
    return cmocka_run_group_tests_name("card", tests, NULL, NULL);
}
