/* Unit tests: masking of names and phone numbers for attendants and
 * clerks (api/household_view.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/household_view.h"

static const char *name_masked(const char *name)
{
    static char out[128];
    memset(out, 'X', sizeof out);
    mask_name(name, out, sizeof out);
    return out;
}

static const char *phone_masked(const char *phone)
{
    static char out[128];
    memset(out, 'X', sizeof out);
    mask_phone(phone, out, sizeof out);
    return out;
}

static void test_name_keeps_its_first_character_whole(void **state)
{
    (void)state;
    assert_string_equal(name_masked("张三丰"), "张**");
    assert_string_equal(name_masked("王五"), "王*");
    assert_string_equal(name_masked("欧阳娜娜"), "欧***");
    assert_string_equal(name_masked("Li"), "L*");
    assert_string_equal(name_masked("Zhang"), "Z****");
}

static void test_name_stars_count_characters_not_bytes(void **state)
{
    (void)state;
    /* a four-byte first character, and mixed scripts after it */
    assert_string_equal(name_masked("\xf0\xa0\x80\x80" "三"), "\xf0\xa0\x80\x80" "*");
    assert_string_equal(name_masked("张a丰"), "张**");
    assert_string_equal(name_masked("Zé"), "Z*");
}

static void test_single_character_name_still_hides_something(void **state)
{
    (void)state;
    assert_string_equal(name_masked("张"), "张*");
    assert_string_equal(name_masked("L"), "L*");
}

static void test_empty_name_masks_to_empty(void **state)
{
    (void)state;
    assert_string_equal(name_masked(""), "");
}

static void test_mobile_number_keeps_head_and_tail(void **state)
{
    (void)state;
    assert_string_equal(phone_masked("13812345678"), "138****5678");
    assert_string_equal(phone_masked("15900001111"), "159****1111");
}

static void test_short_number_keeps_its_last_two(void **state)
{
    (void)state;
    assert_string_equal(phone_masked("12345678"), "******78");
    assert_string_equal(phone_masked("95588"), "***88");
    assert_string_equal(phone_masked("110"), "*10");
    assert_string_equal(phone_masked(""), "");
}

static void test_masks_never_overrun_a_small_buffer(void **state)
{
    (void)state;
    char out[6];
    memset(out, 'X', sizeof out);
    mask_phone("13812345678", out, 5);
    assert_int_equal(out[5], 'X');
    assert_int_equal(strlen(out), 4);
    memset(out, 'X', sizeof out);
    mask_name("Zhang San", out, 5);
    assert_int_equal(out[5], 'X');
    assert_true(strlen(out) <= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_keeps_its_first_character_whole),
        cmocka_unit_test(test_name_stars_count_characters_not_bytes),
        cmocka_unit_test(test_single_character_name_still_hides_something),
        cmocka_unit_test(test_empty_name_masks_to_empty),
        cmocka_unit_test(test_mobile_number_keeps_head_and_tail),
        cmocka_unit_test(test_short_number_keeps_its_last_two),
        cmocka_unit_test(test_masks_never_overrun_a_small_buffer),
    };
    return cmocka_run_group_tests_name("mask", tests, NULL, NULL);
}
