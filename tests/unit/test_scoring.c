/* Unit tests: the scoring rule's arithmetic (db/scoring.h) - accuracy
 * edges compared exactly, the highest threshold reached, min_inspections,
 * the red and black lists, and the checks of a rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "db/inspections.h"
#include "db/scoring.h"

/* 80 % -> 3 points, 75 % -> 1, black below 50 %, at least 4 inspections,
 * given out of order as a client may. */
static struct scoring_rule village_rule(void)
{
    struct scoring_rule r = { .per_pass = 1, .per_partial = 0, .min_inspections = 4,
                              .black_below_bp = 5000, .nthresholds = 2,
                              .t = { { 8000, 3 }, { 7500, 1 } } };
    char why[160];
    assert_null(scoring_rule_check(&r, why, sizeof why));
    return r;
}

static void test_accuracy_reaches_its_rate_exactly(void **state)
{
    (void)state;
    /* 4 pass + 1 fail = 0.80; 3 pass + 2 partial = (3 + 1) / 5 = 0.80 */
    assert_true(scoring_reaches(4, 0, 5, 8000));
    assert_true(scoring_reaches(3, 2, 5, 8000));
    assert_false(scoring_reaches(3, 1, 5, 8000));       /* 0.70 */
    /* a third: 0.3333... never reaches 0.3334, always 0.3333 */
    assert_true(scoring_reaches(1, 0, 3, 3333));
    assert_false(scoring_reaches(1, 0, 3, 3334));
    assert_false(scoring_reaches(0, 0, 0, 0));           /* no inspections: no rate */
    assert_int_equal(scoring_accuracy_bp(3, 2, 5), 8000);
    assert_int_equal(scoring_accuracy_bp(1, 0, 3), 3333);
    assert_int_equal(scoring_accuracy_bp(0, 1, 1), 5000);
    assert_int_equal(scoring_accuracy_bp(0, 0, 0), 0);
    /* shown to the nearest 1/10000: 2/3 is 0.6667, 1/3 is 0.3333 */
    assert_true(scoring_accuracy(2, 0, 3) == 0.6667);
    assert_true(scoring_accuracy(1, 0, 3) == 0.3333);
    assert_true(scoring_accuracy(3, 2, 5) == 0.8);
    assert_true(scoring_accuracy(0, 0, 0) == 0.0);
}

static void test_the_highest_threshold_reached_pays(void **state)
{
    (void)state;
    struct scoring_rule r = village_rule();
    assert_int_equal(r.t[0].min_rate_bp, 7500);          /* sorted ascending */
    assert_int_equal(scoring_monthly_points(&r, 8, 0, 10), 3);
    assert_int_equal(scoring_monthly_points(&r, 10, 0, 10), 3);
    assert_int_equal(scoring_monthly_points(&r, 7, 1, 10), 1);   /* 0.75 exactly */
    assert_int_equal(scoring_monthly_points(&r, 7, 0, 10), 0);   /* 0.70 */
}

static void test_too_few_inspections_earn_nothing_and_list_nowhere(void **state)
{
    (void)state;
    struct scoring_rule r = village_rule();
    assert_int_equal(scoring_monthly_points(&r, 3, 0, 3), 0);
    assert_false(scoring_is_red(&r, 3, 0, 3));
    assert_false(scoring_is_black(&r, 0, 0, 3));
    assert_int_equal(scoring_monthly_points(&r, 4, 0, 4), 3);
    assert_true(scoring_is_red(&r, 4, 0, 4));
}

static void test_red_is_the_top_threshold_and_black_is_below_black_below(void **state)
{
    (void)state;
    struct scoring_rule r = village_rule();
    assert_true(scoring_is_red(&r, 8, 0, 10));
    assert_false(scoring_is_red(&r, 7, 1, 10));          /* reaches only 0.75 */
    assert_false(scoring_is_black(&r, 5, 0, 10));        /* 0.50 is not below 0.50 */
    assert_true(scoring_is_black(&r, 4, 1, 10));         /* 0.45 */
    r.black_below_bp = 0;
    assert_false(scoring_is_black(&r, 0, 0, 10));        /* nobody is below 0 */
}

static void test_per_inspection_points_follow_the_result(void **state)
{
    (void)state;
    struct scoring_rule r = village_rule();
    r.per_partial = 2;
    assert_int_equal(scoring_per_inspection(&r, "pass"), 1);
    assert_int_equal(scoring_per_inspection(&r, "partial"), 2);
    assert_int_equal(scoring_per_inspection(&r, "fail"), 0);
}

static void test_bad_rules_name_their_field(void **state)
{
    (void)state;
    char why[160];
    struct scoring_rule r = village_rule();
    r.t[1].points = 0;                                  /* 80 % pays less than 75 % */
    assert_string_equal(scoring_rule_check(&r, why, sizeof why), "monthly");
    r = village_rule();
    r.t[1].min_rate_bp = 7500;                          /* one rate twice */
    assert_string_equal(scoring_rule_check(&r, why, sizeof why), "monthly");
    r = village_rule();
    r.t[0].min_rate_bp = 10001;
    assert_string_equal(scoring_rule_check(&r, why, sizeof why), "monthly");
    r = village_rule();
    r.t[0].points = -1;
    assert_string_equal(scoring_rule_check(&r, why, sizeof why), "monthly");
    r = village_rule();
    r.black_below_bp = -1;
    assert_string_equal(scoring_rule_check(&r, why, sizeof why), "black_below");
    r = village_rule();
    r.per_pass = -1;
    assert_string_equal(scoring_rule_check(&r, why, sizeof why), "per_pass");
    r = village_rule();
    r.min_inspections = -1;
    assert_string_equal(scoring_rule_check(&r, why, sizeof why), "min_inspections");
    r = village_rule();
    r.nthresholds = 0;                                  /* no monthly points is a rule too */
    assert_null(scoring_rule_check(&r, why, sizeof why));
    assert_int_equal(scoring_monthly_points(&r, 10, 0, 10), 0);
    assert_false(scoring_is_red(&r, 10, 0, 10));
}

static void test_month_days(void **state)
{
    (void)state;
    char first[11], last[11];
    assert_true(inspection_month_days("2026-11", first, last));
    assert_string_equal(first, "2026-11-01");
    assert_string_equal(last, "2026-11-30");
    assert_true(inspection_month_days("2028-02", first, last));
    assert_string_equal(last, "2028-02-29");
    assert_true(inspection_month_days("2026-12", first, last));
    assert_string_equal(last, "2026-12-31");
    assert_false(inspection_month_days("2026-13", first, last));
    assert_false(inspection_month_days("2026-1", first, last));
    assert_false(inspection_month_days("2026-11-01", first, last));
    assert_false(inspection_month_days(NULL, first, last));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accuracy_reaches_its_rate_exactly),
        cmocka_unit_test(test_the_highest_threshold_reached_pays),
        cmocka_unit_test(test_too_few_inspections_earn_nothing_and_list_nowhere),
        cmocka_unit_test(test_red_is_the_top_threshold_and_black_is_below_black_below),
        cmocka_unit_test(test_per_inspection_points_follow_the_result),
        cmocka_unit_test(test_bad_rules_name_their_field),
        cmocka_unit_test(test_month_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
