/* Unit tests: the printf-style parameters of db.h become the same array
 * the *_params calls take (db_params_from_fmt), so both run one path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "db/db_private.h"

/* db_params_from_fmt takes a va_list: give it one the way db_exec does. */
static int from_fmt(struct db_param *out, int max, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = db_params_from_fmt(out, max, fmt, ap);
    va_end(ap);
    return n;
}

static void test_every_letter_becomes_its_param(void **state)
{
    (void)state;
    struct db_param p[8];
    static const unsigned char bytes[3] = { 1, 0, 2 };
    int n = from_fmt(p, 8, "isbns", 42LL, "text", (const void *)bytes, sizeof bytes,
                     (const char *)NULL);
    assert_int_equal(n, 5);
    assert_int_equal(p[0].type, 'i');
    assert_int_equal(p[0].i, 42);
    assert_int_equal(p[1].type, 's');
    assert_string_equal(p[1].s, "text");
    assert_int_equal(p[2].type, 'b');
    assert_ptr_equal(p[2].s, bytes);
    assert_int_equal(p[2].len, 3);
    assert_int_equal(p[3].type, 'n');
    assert_null(p[3].s);
    assert_int_equal(p[4].type, 's');
    assert_null(p[4].s);            /* binds SQL NULL */
}

static void test_empty_and_null_formats_have_no_params(void **state)
{
    (void)state;
    struct db_param p[1];
    assert_int_equal(from_fmt(p, 1, ""), 0);
    assert_int_equal(from_fmt(p, 1, NULL), 0);
    assert_int_equal(from_fmt(p, 0, ""), 0);
}

static void test_an_unknown_letter_is_refused(void **state)
{
    (void)state;
    struct db_param p[4];
    /* 'r' is the batch's raw text (batch.h): a prepared statement has no
     * such thing, and 'd' is a printf habit */
    assert_int_equal(from_fmt(p, 4, "ir", 1LL, "x"), -1);
    assert_int_equal(from_fmt(p, 4, "d", 1), -1);
}

static void test_more_params_than_room_are_refused(void **state)
{
    (void)state;
    struct db_param p[2];
    assert_int_equal(from_fmt(p, 2, "ii", 1LL, 2LL), 2);
    assert_int_equal(from_fmt(p, 2, "iii", 1LL, 2LL, 3LL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_letter_becomes_its_param),
        cmocka_unit_test(test_empty_and_null_formats_have_no_params),
        cmocka_unit_test(test_an_unknown_letter_is_refused),
        cmocka_unit_test(test_more_params_than_room_are_refused),
    };
    return cmocka_run_group_tests_name("db_params", tests, NULL, NULL);
}
