/* Unit tests: the pure parts of household PINs (db/pin.h): which PINs are
 * allowed, the PIN key, and the stored hash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "db/pin.h"

static const char SECRET[] = "0123456789abcdef0123456789abcdef-pin";
static const char OTHER[] = "fedcba9876543210fedcba9876543210-pin";

static void test_good_pins_are_acceptable(void **state)
{
    (void)state;
    const char *good[] = { "4821", "2580", "1357", "135790", "0012", "9080",
                           "12346", "13579", "1123", "0120", "9870", "000001" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!pin_acceptable(good[i]))
            fail_msg("'%s' should be acceptable", good[i]);
}

static void test_all_same_digits_are_refused(void **state)
{
    (void)state;
    const char *bad[] = { "0000", "1111", "55555", "111111", "999999" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (pin_acceptable(bad[i]))
            fail_msg("'%s' should be refused (all the same digit)", bad[i]);
}

static void test_straight_runs_are_refused_both_ways(void **state)
{
    (void)state;
    const char *bad[] = { "0123", "1234", "2345", "6789", "12345", "123456", "456789",
                          "3210", "9876", "98765", "987654", "543210" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (pin_acceptable(bad[i]))
            fail_msg("'%s' should be refused (straight run)", bad[i]);
}

static void test_wrong_length_or_non_digits_are_refused(void **state)
{
    (void)state;
    const char *bad[] = { "", "1", "12", "482", "1234567", "48213579", "12a4", " 1234",
                          "4821 ", "48-21", "+4821", "４８２１", "4821\n", "abcd" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (pin_acceptable(bad[i]))
            fail_msg("'%s' should be refused (length or characters)", bad[i]);
}

static void test_pin_key_is_deterministic_and_depends_on_the_secret(void **state)
{
    (void)state;
    unsigned char a[PIN_KEY_BYTES], b[PIN_KEY_BYTES], c[PIN_KEY_BYTES];
    static const unsigned char zero[PIN_KEY_BYTES];
    pin_key_derive(SECRET, a);
    pin_key_derive(SECRET, b);
    pin_key_derive(OTHER, c);
    assert_memory_equal(a, b, PIN_KEY_BYTES);
    assert_memory_not_equal(a, c, PIN_KEY_BYTES);
    assert_memory_not_equal(a, zero, PIN_KEY_BYTES);
    /* domain-separated: the key is not the secret itself */
    assert_memory_not_equal(a, SECRET, PIN_KEY_BYTES);
}

static void test_pin_hash_is_deterministic(void **state)
{
    (void)state;
    unsigned char key[PIN_KEY_BYTES], h1[PIN_HASH_BYTES], h2[PIN_HASH_BYTES];
    pin_key_derive(SECRET, key);
    pin_hash(key, 42, "4821", h1);
    pin_hash(key, 42, "4821", h2);
    assert_memory_equal(h1, h2, PIN_HASH_BYTES);
}

static void test_pin_hash_differs_by_household_pin_and_key(void **state)
{
    (void)state;
    unsigned char key[PIN_KEY_BYTES], other_key[PIN_KEY_BYTES];
    unsigned char base[PIN_HASH_BYTES], h[PIN_HASH_BYTES];
    pin_key_derive(SECRET, key);
    pin_key_derive(OTHER, other_key);
    pin_hash(key, 42, "4821", base);

    pin_hash(key, 43, "4821", h);               /* household */
    assert_memory_not_equal(base, h, PIN_HASH_BYTES);
    pin_hash(key, 4, "4821", h);
    assert_memory_not_equal(base, h, PIN_HASH_BYTES);
    pin_hash(key, 42, "4822", h);               /* pin */
    assert_memory_not_equal(base, h, PIN_HASH_BYTES);
    pin_hash(key, 42, "48210", h);
    assert_memory_not_equal(base, h, PIN_HASH_BYTES);
    pin_hash(other_key, 42, "4821", h);         /* key */
    assert_memory_not_equal(base, h, PIN_HASH_BYTES);

    /* the separator keeps id and pin apart: "1:21357" vs "12:1357" */
    unsigned char x[PIN_HASH_BYTES], y[PIN_HASH_BYTES];
    pin_hash(key, 1, "21357", x);
    pin_hash(key, 12, "1357", y);
    assert_memory_not_equal(x, y, PIN_HASH_BYTES);
}

/* The stored value is HMAC-SHA256(pin key, "<household id>:<pin>"). */
static void expected_hash(const unsigned char key[PIN_KEY_BYTES], long long id,
                          const char *pin, unsigned char out[PIN_HASH_BYTES])
{
    char msg[256];
    int n = snprintf(msg, sizeof msg, "%lld:%s", id, pin);
    assert_true(n > 0 && (size_t)n < sizeof msg);
    crypto_auth_hmacsha256(out, (const unsigned char *)msg, (unsigned long long)n, key);
}

static void test_pin_hash_is_the_documented_hmac(void **state)
{
    (void)state;
    unsigned char key[PIN_KEY_BYTES], got[PIN_HASH_BYTES], want[PIN_HASH_BYTES];
    pin_key_derive(SECRET, key);
    const struct { long long id; const char *pin; } cases[] = {
        { 1, "4821" }, { 42, "135790" }, { 999999999999999999LL, "0012" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pin_hash(key, cases[i].id, cases[i].pin, got);
        expected_hash(key, cases[i].id, cases[i].pin, want);
        assert_memory_equal(got, want, PIN_HASH_BYTES);
    }
}

/* pin_attempt_locked hashes whatever PIN a request sends, and the API
 * allows up to 16 characters, i.e. up to 64 bytes of UTF-8.  Such a PIN
 * must be hashed whole (and without reading past any buffer).  Run last:
 * under ASan an overflow ends the program. */
static void test_pin_hash_covers_a_long_pin_whole(void **state)
{
    (void)state;
    unsigned char key[PIN_KEY_BYTES], a[PIN_HASH_BYTES], b[PIN_HASH_BYTES];
    unsigned char want[PIN_HASH_BYTES];
    pin_key_derive(SECRET, key);
    /* 16 CJK characters: 48 bytes; the two differ only in the last one */
    const char *p1 = "一二三四五六七八九十一二三四五六";
    const char *p2 = "一二三四五六七八九十一二三四五七";
    pin_hash(key, 1234567890123LL, p1, a);
    pin_hash(key, 1234567890123LL, p2, b);
    assert_memory_not_equal(a, b, PIN_HASH_BYTES);
    expected_hash(key, 1234567890123LL, p1, want);
    assert_memory_equal(a, want, PIN_HASH_BYTES);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_pins_are_acceptable),
        cmocka_unit_test(test_all_same_digits_are_refused),
        cmocka_unit_test(test_straight_runs_are_refused_both_ways),
        cmocka_unit_test(test_wrong_length_or_non_digits_are_refused),
        cmocka_unit_test(test_pin_key_is_deterministic_and_depends_on_the_secret),
        cmocka_unit_test(test_pin_hash_is_deterministic),
        cmocka_unit_test(test_pin_hash_differs_by_household_pin_and_key),
        cmocka_unit_test(test_pin_hash_is_the_documented_hmac),
        cmocka_unit_test(test_pin_hash_covers_a_long_pin_whole),
    };
    return cmocka_run_group_tests_name("pin", tests, NULL, NULL);
}
