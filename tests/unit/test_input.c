/* Unit tests: body validation against a field list. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/input.h"

static const struct field item_fields[] = {
    { "category", FT_STR, F_REQUIRED, 1, 32, NULL },
    { "grams", FT_INT, 0, 1, 500000, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field spec[] = {
    { "name", FT_STR, F_REQUIRED, 1, 5, NULL },
    { "count", FT_INT, 0, 1, 10, NULL },
    { "flag", FT_BOOL, 0, 0, 0, NULL },
    { "parent_id", FT_INT, F_NULLABLE, 1, 1000, NULL },
    { "items", FT_ARR, 0, 1, 3, item_fields },
    { NULL, 0, 0, 0, 0, NULL },
};

/* Check text against spec; return the offending field or "" when valid. */
static const char *offender(const char *text)
{
    static char field[160];
    char msg[320];
    json_error_t e;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    assert_non_null(v);
    int rc = input_check(v, spec, field, sizeof field, msg, sizeof msg);
    json_decref(v);
    if (rc == 0)
        field[0] = '\0';
    return field;
}

static void test_valid_bodies_pass(void **state)
{
    (void)state;
    assert_string_equal(offender("{\"name\":\"ab\"}"), "");
    assert_string_equal(offender("{\"name\":\"ab\",\"count\":10,\"flag\":true}"), "");
    assert_string_equal(offender("{\"name\":\"ab\",\"parent_id\":null}"), "");
    assert_string_equal(offender("{\"name\":\"ab\",\"items\":[{\"category\":\"paper\",\"grams\":5}]}"), "");
}

static void test_string_length_counts_characters_not_bytes(void **state)
{
    (void)state;
    /* five Chinese characters are 15 bytes but 5 characters */
    assert_string_equal(offender("{\"name\":\"\xe5\xba\x9f\xe5\x93\x81\xe5\x9b\x9e\xe6\x94\xb6\xe7\xab\x99\"}"), "");
    assert_string_equal(offender("{\"name\":\"abcdef\"}"), "name");
    assert_string_equal(offender("{\"name\":\"\"}"), "name");
}

static void test_each_refusal_names_its_field(void **state)
{
    (void)state;
    assert_string_equal(offender("{}"), "name");
    assert_string_equal(offender("{\"name\":null}"), "name");
    assert_string_equal(offender("{\"name\":5}"), "name");
    assert_string_equal(offender("{\"name\":\"a\",\"count\":0}"), "count");
    assert_string_equal(offender("{\"name\":\"a\",\"count\":11}"), "count");
    assert_string_equal(offender("{\"name\":\"a\",\"count\":1.5}"), "count");
    assert_string_equal(offender("{\"name\":\"a\",\"count\":\"3\"}"), "count");
    assert_string_equal(offender("{\"name\":\"a\",\"count\":null}"), "count");
    assert_string_equal(offender("{\"name\":\"a\",\"flag\":1}"), "flag");
    assert_string_equal(offender("{\"name\":\"a\",\"extra\":1}"), "extra");
    assert_string_equal(offender("{\"name\":\"a\",\"items\":[]}"), "items");
    assert_string_equal(offender("{\"name\":\"a\",\"items\":[1]}"), "items[0]");
    assert_string_equal(offender("{\"name\":\"a\",\"items\":[{\"category\":\"p\"},{\"grams\":3}]}"),
                        "items[1].category");
    assert_string_equal(offender("{\"name\":\"a\",\"items\":[{\"category\":\"p\",\"grams\":0}]}"),
                        "items[0].grams");
    assert_string_equal(offender("{\"name\":\"a\",\"items\":[{\"category\":\"p\",\"x\":0}]}"),
                        "items[0].x");
}

static void test_nul_inside_a_string_is_refused(void **state)
{
    (void)state;
    char field[64], msg[128];
    json_t *v = json_loadb("{\"name\":\"a\\u0000b\"}", 19, JSON_ALLOW_NUL, NULL);
    assert_non_null(v);
    assert_int_equal(input_check(v, spec, field, sizeof field, msg, sizeof msg), -1);
    assert_string_equal(field, "name");
    json_decref(v);
}

static void test_non_object_body_is_refused(void **state)
{
    (void)state;
    char field[64], msg[128];
    json_t *v = json_loads("[1,2]", 0, NULL);
    assert_int_equal(input_check(v, spec, field, sizeof field, msg, sizeof msg), -1);
    assert_string_equal(field, "body");
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_bodies_pass),
        cmocka_unit_test(test_string_length_counts_characters_not_bytes),
        cmocka_unit_test(test_each_refusal_names_its_field),
        cmocka_unit_test(test_nul_inside_a_string_is_refused),
        cmocka_unit_test(test_non_object_body_is_refused),
    };
    return cmocka_run_group_tests_name("input", tests, NULL, NULL);
}
