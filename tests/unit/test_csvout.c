/* Unit tests: csv_out (db/csvout.h), the one writer of every CSV the
 * system gives out: quoting, and cells a spreadsheet would run as a
 * formula (= + - @) or take as a control (TAB, CR) made inert. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "db/csvout.h"

static struct csv_out open_out;
static char text[4096];

/* The text written so far, as a string. */
static const char *written(void)
{
    size_t n;
    const char *p = csv_out_bytes(&open_out, &n);
    assert_non_null(p);
    assert_true(n < sizeof text);
    memcpy(text, p, n);
    text[n] = '\0';
    return text;
}

static int release(void **state)
{
    (void)state;
    csv_out_release(&open_out);
    return 0;
}

/* One row of one text cell, without the row's end. */
static const char *one_cell(const char *s)
{
    csv_out_release(&open_out);
    csv_out_init(&open_out, false);
    csv_out_text(&open_out, s);
    assert_false(open_out.failed);
    return written();
}

static void test_plain_text_is_written_as_it_is(void **state)
{
    (void)state;
    assert_string_equal(one_cell("Normal shop"), "Normal shop");
    assert_string_equal(one_cell("废纸 回收站"), "废纸 回收站");
    assert_string_equal(one_cell(""), "");
}

static void test_formula_starts_are_made_inert(void **state)
{
    (void)state;
    assert_string_equal(one_cell("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
    assert_string_equal(one_cell("+SUM(1,2)"), "\"'+SUM(1,2)\"");
    assert_string_equal(one_cell("-2+3"), "\"'-2+3\"");
    assert_string_equal(one_cell("@cmd"), "\"'@cmd\"");
}

static void test_tab_and_cr_starts_are_made_inert(void **state)
{
    (void)state;
    assert_string_equal(one_cell("\t=1+1"), "\"'\t=1+1\"");
    assert_string_equal(one_cell("\r=2+2"), "\"'\r=2+2\"");
    assert_true(csv_out_needs_guard("\tx"));
    assert_true(csv_out_needs_guard("\rx"));
    assert_false(csv_out_needs_guard("x\t"));
    assert_false(csv_out_needs_guard(""));
    assert_false(csv_out_needs_guard(NULL));
}

static void test_quotes_commas_and_line_breaks_are_quoted(void **state)
{
    (void)state;
    assert_string_equal(one_cell("Plain \"Q\", Ltd"), "\"Plain \"\"Q\"\", Ltd\"");
    assert_string_equal(one_cell("two\nlines"), "\"two\nlines\"");
    assert_string_equal(one_cell("a\rb"), "\"a\rb\"");
    assert_string_equal(one_cell("\""), "\"\"\"\"");
}

static void test_rows_numbers_header_and_bom(void **state)
{
    (void)state;
    static const char *const names[] = { "id", "name", "points", NULL };
    csv_out_release(&open_out);
    csv_out_init(&open_out, true);
    csv_out_header(&open_out, names);
    csv_out_int(&open_out, 7);
    csv_out_text(&open_out, NULL);
    csv_out_int(&open_out, -40);          /* a number, not a formula */
    csv_out_row_end(&open_out);
    assert_false(open_out.failed);
    assert_string_equal(written(), "\xEF\xBB\xBFid,name,points\r\n7,,-40\r\n");
    size_t n;
    csv_out_bytes(&open_out, &n);
    assert_int_equal(n, strlen(text));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_plain_text_is_written_as_it_is, release),
        cmocka_unit_test_teardown(test_formula_starts_are_made_inert, release),
        cmocka_unit_test_teardown(test_tab_and_cr_starts_are_made_inert, release),
        cmocka_unit_test_teardown(test_quotes_commas_and_line_breaks_are_quoted, release),
        cmocka_unit_test_teardown(test_rows_numbers_header_and_bom, release),
    };
    return cmocka_run_group_tests_name("csvout", tests, NULL, NULL);
}
