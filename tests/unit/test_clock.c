/* Unit tests: RFC 3339 parsing and local days in the configured zone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "server/clock.h"

static int setup(void **state)
{
    (void)state;
    return clock_set_zone("Asia/Shanghai");
}

static void test_rfc3339_offsets_agree(void **state)
{
    (void)state;
    time_t a, b, c;
    assert_true(clock_parse_rfc3339("2026-11-28T09:14:03+08:00", &a));
    assert_true(clock_parse_rfc3339("2026-11-28T01:14:03Z", &b));
    assert_true(clock_parse_rfc3339("2026-11-27T20:14:03.250-05:00", &c));
    assert_int_equal(a, b);
    assert_int_equal(a, c);
    assert_int_equal(a, 1795828443);
}

static void test_rfc3339_refuses_what_is_not(void **state)
{
    (void)state;
    time_t t;
    const char *bad[] = { "2026-11-28", "2026-11-28T09:14:03", "2026-02-30T00:00:00Z",
                          "2026-11-28T24:00:00Z", "2026-11-28T09:14:03+8:00",
                          "2026-11-28 09:14:03Z", "2026-11-28T09:14:03Zjunk",
                          "2026-11-28T09:14:03.Z", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(clock_parse_rfc3339(bad[i], &t));
}

static void test_local_day_uses_the_zone(void **state)
{
    (void)state;
    char day[11];
    time_t t;
    /* 23:30 UTC on the 27th is already the 28th in Shanghai */
    assert_true(clock_parse_rfc3339("2026-11-27T23:30:00Z", &t));
    clock_local_day(t, day, sizeof day);
    assert_string_equal(day, "2026-11-28");
    char out[40];
    clock_format(t, out, sizeof out);
    assert_string_equal(out, "2026-11-28T07:30:00+08:00");
}

static void test_day_parser(void **state)
{
    (void)state;
    int y, m, d;
    assert_true(clock_parse_day("2024-02-29", &y, &m, &d));
    assert_false(clock_parse_day("2026-02-29", &y, &m, &d));
    assert_false(clock_parse_day("2026-13-01", &y, &m, &d));
    assert_false(clock_parse_day("2026-1-01", &y, &m, &d));
    time_t mid = clock_local_midnight(2026, 11, 28);
    char out[40];
    clock_format(mid, out, sizeof out);
    assert_string_equal(out, "2026-11-28T00:00:00+08:00");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_offsets_agree),
        cmocka_unit_test(test_rfc3339_refuses_what_is_not),
        cmocka_unit_test(test_local_day_uses_the_zone),
        cmocka_unit_test(test_day_parser),
    };
    return cmocka_run_group_tests_name("clock", tests, setup, NULL);
}
