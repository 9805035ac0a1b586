/* Unit tests: price_line (db/pricing.h), what a drop-off line earns. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "db/pricing.h"

static void test_grams_round_down(void **state)
{
    (void)state;
    struct price_rule r = { .per_item = false, .ppu = 33, .cap_arrival_days = 7 };
    assert_int_equal(price_line(&r, 1999, NULL, NULL).points, 65);
    assert_int_equal(price_line(&r, 30, NULL, NULL).points, 0);      /* 0.99 points */
    struct price_out o = price_line(&r, 30, NULL, NULL);
    assert_false(o.capped);                                          /* 0 is not a cap */
    assert_int_equal(price_line(&r, 500000, NULL, NULL).points, 16500);
}

static void test_items_multiply(void **state)
{
    (void)state;
    struct price_rule r = { .per_item = true, .ppu = 7, .cap_arrival_days = 7 };
    assert_int_equal(price_line(&r, 13, NULL, NULL).points, 91);
}

static void test_daily_cap_cuts_and_carries(void **state)
{
    (void)state;
    struct price_rule r = { .ppu = 1000, .has_cap = true, .daily_cap = 100,
                            .cap_arrival_days = 7 };
    long long day = 0, arrival = 0;
    struct price_out o = price_line(&r, 60, &day, &arrival);
    assert_int_equal(o.points, 60);
    assert_false(o.capped);
    o = price_line(&r, 60, &day, &arrival);
    assert_int_equal(o.points, 40);
    assert_int_equal(o.raw, 60);
    assert_true(o.capped);
    o = price_line(&r, 1, &day, &arrival);
    assert_int_equal(o.points, 0);
    assert_true(o.capped);
    assert_int_equal(day, 100);
    assert_int_equal(arrival, 100);
}

static void test_arrival_allowance_binds_back_dated_days(void **state)
{
    (void)state;
    struct price_rule r = { .ppu = 1000, .has_cap = true, .daily_cap = 100,
                            .cap_arrival_days = 2 };
    long long arrival = 0;
    for (int k = 0; k < 2; k++) {
        long long day = 0;              /* each a fresh recorded day */
        assert_int_equal(price_line(&r, 150, &day, &arrival).points, 100);
    }
    long long day = 0;
    struct price_out o = price_line(&r, 150, &day, &arrival);
    assert_int_equal(o.points, 0);
    assert_true(o.capped);
    assert_int_equal(arrival, 200);
}

static void test_a_day_already_over_its_cap_earns_nothing(void **state)
{
    (void)state;
    struct price_rule r = { .ppu = 1000, .has_cap = true, .daily_cap = 100,
                            .cap_arrival_days = 7 };
    long long day = 130, arrival = 0;   /* a cap lowered after earning */
    struct price_out o = price_line(&r, 10, &day, &arrival);
    assert_int_equal(o.points, 0);
    assert_true(o.capped);
    assert_int_equal(day, 130);
}

static void test_uncapped_rule_leaves_the_totals(void **state)
{
    (void)state;
    struct price_rule r = { .ppu = 40, .cap_arrival_days = 7 };
    long long day = 5, arrival = 9;
    assert_int_equal(price_line(&r, 2500, &day, &arrival).points, 100);
    assert_int_equal(day, 5);
    assert_int_equal(arrival, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grams_round_down),
        cmocka_unit_test(test_items_multiply),
        cmocka_unit_test(test_daily_cap_cuts_and_carries),
        cmocka_unit_test(test_arrival_allowance_binds_back_dated_days),
        cmocka_unit_test(test_a_day_already_over_its_cap_earns_nothing),
        cmocka_unit_test(test_uncapped_rule_leaves_the_totals),
    };
    return cmocka_run_group_tests_name("pricing", tests, NULL, NULL);
}
