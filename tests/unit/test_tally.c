/* Unit tests: tallies (db/tally.h), looked up or appended, and the
 * closed days' rows spread over a household's path (db/closing.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "db/closing.h"
#include "db/tally.h"

static const struct tally_spec spec = { { "", "", "", 4 }, 2, 2 };

static void test_added_and_appended_rows_of_one_key_become_one(void **state)
{
    (void)state;
    struct tally t;
    tally_init(&t, &spec);
    long long k1[2] = { 7, 2 }, k2[2] = { 3, 9 }, k3[2] = { 7, 1 };
    long long v[2] = { 5, 1 };
    assert_int_equal(tally_add(&t, k1, v), 0);
    assert_int_equal(tally_add(&t, k1, v), 0);          /* found: one row */
    assert_int_equal(t.n, 1);
    assert_int_equal(tally_append(&t, k2, v), 0);
    assert_int_equal(tally_append(&t, k1, v), 0);       /* not looked for: a second row */
    assert_int_equal(tally_append(&t, k3, v), 0);
    assert_int_equal(tally_append(&t, k2, v), 0);
    assert_int_equal(t.n, 5);
    int n;
    const struct tally_row *r = tally_sorted(&t, &n);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].key[0], 3);
    assert_int_equal(r[0].val[0], 10);
    assert_int_equal(r[0].val[1], 2);
    assert_int_equal(r[1].key[0], 7);
    assert_int_equal(r[1].key[1], 1);
    assert_int_equal(r[1].val[0], 5);
    assert_int_equal(r[2].key[1], 2);
    assert_int_equal(r[2].val[0], 15);
    assert_int_equal(r[2].val[1], 3);
    /* sorted again, nothing changes */
    r = tally_sorted(&t, &n);
    assert_int_equal(n, 3);
    assert_int_equal(r[2].val[0], 15);
    tally_release(&t);
}

/* A points row of 2026-11-28 (region, day, kind; delta, moves). */
static int spread(struct tally *t, const char *path, long long kind, long long delta,
                  long long moves)
{
    long long key[TALLY_KEYS_MAX] = { -1, 20261128, kind }, val[2] = { delta, moves };
    return closing_spread(t, path, key, val);
}

static void test_a_village_row_goes_to_every_region_of_its_path(void **state)
{
    (void)state;
    struct tally t;
    tally_init(&t, closing_specs[CLOSING_POINTS].day);
    assert_int_equal(spread(&t, "/1/4/9/", 1, 30, 2), 0);
    assert_int_equal(spread(&t, "/1/4/12/", 1, 5, 1), 0);
    assert_int_equal(spread(&t, "/1/4/12/", 2, -8, 1), 0);
    int n;
    const struct tally_row *r = tally_sorted(&t, &n);
    /* regions 0 (the tree), 1, 4 for both kinds; 9 and 12 */
    long long want[][5] = {
        { 0, 20261128, 1, 35, 3 }, { 0, 20261128, 2, -8, 1 }, { 1, 20261128, 1, 35, 3 },
        { 1, 20261128, 2, -8, 1 }, { 4, 20261128, 1, 35, 3 }, { 4, 20261128, 2, -8, 1 },
        { 9, 20261128, 1, 30, 2 }, { 12, 20261128, 1, 5, 1 }, { 12, 20261128, 2, -8, 1 },
    };
    assert_int_equal(n, 9);
    for (int i = 0; i < n; i++) {
        assert_int_equal(r[i].key[0], want[i][0]);
        assert_int_equal(r[i].key[1], want[i][1]);
        assert_int_equal(r[i].key[2], want[i][2]);
        assert_int_equal(r[i].val[0], want[i][3]);
        assert_int_equal(r[i].val[1], want[i][4]);
    }
    tally_release(&t);
}

static void test_a_malformed_path_is_refused(void **state)
{
    (void)state;
    struct tally t;
    tally_init(&t, closing_specs[CLOSING_POINTS].day);
    assert_int_equal(spread(&t, "", 1, 1, 1), -1);
    assert_int_equal(spread(&t, "1/4/", 1, 1, 1), -1);
    assert_int_equal(spread(&t, "/1/x/", 1, 1, 1), -1);
    assert_int_equal(spread(&t, "/1/4", 1, 1, 1), -1);
    assert_int_equal(spread(&t, NULL, 1, 1, 1), -1);
    tally_release(&t);
}

static void test_a_chain_row_keeps_the_rest_of_its_key(void **state)
{
    (void)state;
    struct tally t;
    tally_init(&t, closing_specs[CLOSING_CHAIN].day);
    long long key[TALLY_KEYS_MAX] = { 99, 20261128, 3, 2, 8 }, val[1] = { 250 };
    assert_int_equal(closing_spread(&t, "/1/7/", key, val), 0);
    int n;
    const struct tally_row *r = tally_sorted(&t, &n);
    assert_int_equal(n, 3);
    for (int i = 0; i < n; i++) {
        assert_int_equal(r[i].key[0], i == 0 ? 0 : i == 1 ? 1 : 7);
        assert_int_equal(r[i].key[1], 20261128);
        assert_int_equal(r[i].key[2], 3);
        assert_int_equal(r[i].key[3], 2);
        assert_int_equal(r[i].key[4], 8);
        assert_int_equal(r[i].val[0], 250);
    }
    tally_release(&t);
}

static void test_days_follow_each_other_across_months_and_years(void **state)
{
    (void)state;
    assert_int_equal(closing_next_day(20261130), 20261201);
    assert_int_equal(closing_next_day(20261231), 20270101);
    assert_int_equal(closing_next_day(20280228), 20280229);
    assert_int_equal(closing_next_day(20270228), 20270301);
    char text[11];
    closing_day_text(20260105, text);
    assert_string_equal(text, "2026-01-05");
    closing_day_text(0, text);
    assert_string_equal(text, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_added_and_appended_rows_of_one_key_become_one),
        cmocka_unit_test(test_a_village_row_goes_to_every_region_of_its_path),
        cmocka_unit_test(test_a_malformed_path_is_refused),
        cmocka_unit_test(test_a_chain_row_keeps_the_rest_of_its_key),
        cmocka_unit_test(test_days_follow_each_other_across_months_and_years),
    };
    return cmocka_run_group_tests_name("tally", tests, NULL, NULL);
}
