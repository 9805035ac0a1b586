/* Unit tests: which month the server settles on its own (db/settle.h).
 * The settler asks every minute for the month before the local one, and
 * settles it once; a month may be settled only after its last local day.
 * So the edges that matter are local midnight on the 1st, in WB_TIMEZONE
 * (Asia/Shanghai, UTC+8, here), and the turn of the year. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "db/settle.h"
#include "server/clock.h"

static long long at(const char *rfc3339)
{
    time_t t;
    assert_true(clock_parse_rfc3339(rfc3339, &t));
    return (long long)t;
}

static void assert_previous(const char *when, const char *want)
{
    char month[8];
    settle_previous_month(at(when), month);
    assert_string_equal(month, want);
}

static void test_the_month_to_settle_turns_at_local_midnight_on_the_1st(void **state)
{
    (void)state;
    /* one second before local midnight: still November, so October */
    assert_previous("2026-11-30T23:59:59+08:00", "2026-10");
    assert_previous("2026-12-01T00:00:00+08:00", "2026-11");
    /* the same instant written in UTC: local time decides, not UTC's day */
    assert_previous("2026-11-30T16:00:00Z", "2026-11");
    assert_previous("2026-11-30T15:59:59Z", "2026-10");
    assert_previous("2026-12-31T23:59:59+08:00", "2026-11");
}

static void test_january_settles_the_december_before(void **state)
{
    (void)state;
    assert_previous("2027-01-01T00:00:00+08:00", "2026-12");
    assert_previous("2027-01-31T12:00:00+08:00", "2026-12");
    assert_previous("2027-02-01T00:00:00+08:00", "2027-01");
}

static void test_a_month_ends_after_its_last_local_day(void **state)
{
    (void)state;
    assert_false(settle_month_ended("2026-11", at("2026-11-30T23:59:59+08:00")));
    assert_true(settle_month_ended("2026-11", at("2026-12-01T00:00:00+08:00")));
    assert_false(settle_month_ended("2026-11", at("2026-11-01T00:00:00+08:00")));
    assert_false(settle_month_ended("2026-12", at("2026-12-02T12:00:00+08:00")));
    /* February of a leap year has 29 days */
    assert_false(settle_month_ended("2028-02", at("2028-02-29T23:00:00+08:00")));
    assert_true(settle_month_ended("2028-02", at("2028-03-01T00:00:00+08:00")));
    /* the month the settler picks has always ended */
    char month[8];
    long long now = at("2026-12-01T00:00:00+08:00");
    settle_previous_month(now, month);
    assert_true(settle_month_ended(month, now));
    /* not a month */
    assert_false(settle_month_ended("2026-13", now));
    assert_false(settle_month_ended("", now));
}

int main(void)
{
    if (clock_set_zone("Asia/Shanghai") != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_month_to_settle_turns_at_local_midnight_on_the_1st),
        cmocka_unit_test(test_january_settles_the_december_before),
        cmocka_unit_test(test_a_month_ends_after_its_last_local_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
