/* Unit tests: csv_record (db/import.h), the CSV splitter behind bulk
 * import.  The input is copied to a buffer of exactly len bytes (no NUL)
 * and the field buffer is exactly len + 1 bytes, as import_households
 * allocates it, so ASan catches any read or write past either. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "db/import.h"

#define MAXF 8

struct csv {
    char *data;
    size_t len, pos;
    long line;
    char *buf;
    char *f[MAXF];
};

/* The open input's buffers, freed by the teardown too, so a failed
 * assertion (which jumps out of the test) leaks nothing. */
static char *open_data, *open_buf;

static void csv_open(struct csv *c, const char *text, size_t len)
{
    memset(c, 0, sizeof *c);
    c->data = open_data = malloc(len ? len : 1);
    c->buf = open_buf = malloc(len + 1);
    assert_non_null(c->data);
    assert_non_null(c->buf);
    memcpy(c->data, text, len);
    c->len = len;
    c->line = 1;
}

static void csv_close(struct csv *c)
{
    free(c->data);
    free(c->buf);
    c->data = c->buf = NULL;
    open_data = open_buf = NULL;
}

static int close_leftover(void **state)
{
    (void)state;
    free(open_data);
    free(open_buf);
    open_data = open_buf = NULL;
    return 0;
}

/* Literal text, without its terminating NUL. */
#define OPEN(c, lit) csv_open((c), (lit), sizeof(lit) - 1)

static int next(struct csv *c)
{
    return csv_record(c->data, c->len, &c->pos, &c->line, c->buf, c->f, MAXF);
}

static void test_plain_fields_are_split_on_commas(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, "region_code,head_name,address\nR1,Zhang San,Main St 1\n");
    assert_int_equal(next(&c), 3);
    assert_string_equal(c.f[0], "region_code");
    assert_string_equal(c.f[1], "head_name");
    assert_string_equal(c.f[2], "address");
    assert_int_equal(c.pos, 30);
    assert_int_equal(c.line, 2);
    assert_int_equal(next(&c), 3);
    assert_string_equal(c.f[0], "R1");
    assert_string_equal(c.f[1], "Zhang San");
    assert_string_equal(c.f[2], "Main St 1");
    assert_int_equal(c.pos, c.len);
    assert_int_equal(c.line, 3);
    assert_int_equal(next(&c), 0);
    assert_int_equal(c.line, 3);
    csv_close(&c);
}

static void test_quoted_field_keeps_commas(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, "\"a,b\",c,\"\",\",\"\n");
    assert_int_equal(next(&c), 4);
    assert_string_equal(c.f[0], "a,b");
    assert_string_equal(c.f[1], "c");
    assert_string_equal(c.f[2], "");
    assert_string_equal(c.f[3], ",");
    assert_int_equal(c.pos, c.len);
    assert_int_equal(c.line, 2);
    csv_close(&c);
}

static void test_doubled_quote_inside_quotes_is_one_quote(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, "\"say \"\"hi\"\"\",\"\"\"\",\"\"\"\"\"\"\"\"\"\",x\n");
    assert_int_equal(next(&c), 4);
    assert_string_equal(c.f[0], "say \"hi\"");
    assert_string_equal(c.f[1], "\"");
    assert_string_equal(c.f[2], "\"\"\"\"");
    assert_string_equal(c.f[3], "x");
    assert_int_equal(c.line, 2);
    csv_close(&c);
}

static void test_quoted_line_breaks_count_as_physical_lines(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, "\"line1\nline2\",z\n"
             "\"a\r\nb\r\nc\",d\r\n"
             "next\n");
    assert_int_equal(next(&c), 2);
    assert_string_equal(c.f[0], "line1\nline2");
    assert_string_equal(c.f[1], "z");
    assert_int_equal(c.line, 3);                /* two physical lines */
    assert_int_equal(c.pos, 16);

    assert_int_equal(next(&c), 2);
    assert_string_equal(c.f[0], "a\r\nb\r\nc");
    assert_string_equal(c.f[1], "d");
    assert_int_equal(c.line, 6);                /* three physical lines */
    assert_int_equal(c.pos, 29);

    assert_int_equal(next(&c), 1);
    assert_string_equal(c.f[0], "next");
    assert_int_equal(c.line, 7);
    assert_int_equal(next(&c), 0);
    csv_close(&c);
}

static void test_crlf_lf_and_lone_cr_all_end_a_record(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, "a,b\r\nc,d\ne,f\rg,h\r\n");
    const char *want[][2] = { { "a", "b" }, { "c", "d" }, { "e", "f" }, { "g", "h" } };
    const size_t ends[] = { 5, 9, 13, 18 };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(next(&c), 2);
        assert_string_equal(c.f[0], want[i][0]);
        assert_string_equal(c.f[1], want[i][1]);
        assert_int_equal(c.pos, ends[i]);
        assert_int_equal(c.line, 2 + i);
        /* the line end is never part of a field */
        assert_null(strpbrk(c.f[1], "\r\n"));
    }
    assert_int_equal(next(&c), 0);
    csv_close(&c);
}

static void test_empty_fields_are_empty_strings(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, ",,\na,,b\na,\n,a\n\n");
    assert_int_equal(next(&c), 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(c.f[i], "");
    assert_int_equal(next(&c), 3);
    assert_string_equal(c.f[0], "a");
    assert_string_equal(c.f[1], "");
    assert_string_equal(c.f[2], "b");
    assert_int_equal(next(&c), 2);
    assert_string_equal(c.f[0], "a");
    assert_string_equal(c.f[1], "");
    assert_int_equal(next(&c), 2);
    assert_string_equal(c.f[0], "");
    assert_string_equal(c.f[1], "a");
    /* a blank line is one empty field */
    assert_int_equal(next(&c), 1);
    assert_string_equal(c.f[0], "");
    assert_int_equal(c.line, 6);
    assert_int_equal(next(&c), 0);
    csv_close(&c);
}

static void test_last_record_without_newline_is_read(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, "h1,h2\nx,y");
    assert_int_equal(next(&c), 2);
    assert_int_equal(next(&c), 2);
    assert_string_equal(c.f[0], "x");
    assert_string_equal(c.f[1], "y");
    assert_int_equal(c.pos, c.len);
    assert_int_equal(c.line, 3);
    assert_int_equal(next(&c), 0);
    csv_close(&c);

    /* ending in an empty field or a quoted field: the worst case for the
     * field buffer (len + 1 bytes) */
    OPEN(&c, "a,");
    assert_int_equal(next(&c), 2);
    assert_string_equal(c.f[0], "a");
    assert_string_equal(c.f[1], "");
    assert_int_equal(next(&c), 0);
    csv_close(&c);

    OPEN(&c, "x,\"q,r\"");
    assert_int_equal(next(&c), 2);
    assert_string_equal(c.f[0], "x");
    assert_string_equal(c.f[1], "q,r");
    assert_int_equal(c.pos, c.len);
    assert_int_equal(next(&c), 0);
    csv_close(&c);
}

static void test_unterminated_quote_is_an_error(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, "\"abc");
    assert_int_equal(next(&c), -1);
    csv_close(&c);
    OPEN(&c, "a,\"bc\nd,e\n");
    assert_int_equal(next(&c), -1);
    csv_close(&c);
    OPEN(&c, "\"");
    assert_int_equal(next(&c), -1);
    csv_close(&c);
    OPEN(&c, "\"ab\"\"");                       /* the last quote is escaped */
    assert_int_equal(next(&c), -1);
    csv_close(&c);
}

static void test_quote_inside_unquoted_field_is_an_error(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, "ab\"c,d\n");
    assert_int_equal(next(&c), -1);
    csv_close(&c);
    OPEN(&c, "a,b\"\n");
    assert_int_equal(next(&c), -1);
    csv_close(&c);
    OPEN(&c, "a, \"b\"\n");                     /* space before the quote */
    assert_int_equal(next(&c), -1);
    csv_close(&c);
}

static void test_text_after_closing_quote_is_an_error(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, "\"ab\"c,d\n");
    assert_int_equal(next(&c), -1);
    csv_close(&c);
    OPEN(&c, "\"ab\" ,d\n");
    assert_int_equal(next(&c), -1);
    csv_close(&c);
    OPEN(&c, "x,\"ab\"\"c\"d");
    assert_int_equal(next(&c), -1);
    csv_close(&c);
}

static void test_end_of_input_returns_zero(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, "");
    assert_int_equal(next(&c), 0);
    assert_int_equal(c.pos, 0);
    assert_int_equal(c.line, 1);
    csv_close(&c);

    OPEN(&c, "a\n");
    assert_int_equal(next(&c), 1);
    assert_int_equal(next(&c), 0);
    assert_int_equal(next(&c), 0);              /* and stays there */
    assert_int_equal(c.pos, 2);
    assert_int_equal(c.line, 2);
    csv_close(&c);
}

static void test_extra_fields_are_counted_but_not_stored(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, "a,b,c,d,e\nf\n");
    char sentinel[] = "untouched";
    for (int i = 0; i < MAXF; i++)
        c.f[i] = sentinel;
    int n = csv_record(c.data, c.len, &c.pos, &c.line, c.buf, c.f, 2);
    assert_int_equal(n, 5);
    assert_string_equal(c.f[0], "a");
    assert_string_equal(c.f[1], "b");
    assert_ptr_equal(c.f[2], sentinel);
    assert_int_equal(c.pos, 10);                /* the whole record is consumed */
    assert_int_equal(c.line, 2);
    assert_int_equal(next(&c), 1);
    assert_string_equal(c.f[0], "f");
    csv_close(&c);
}

static void test_fields_point_into_buf(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, "one,\"two\",three\n");
    assert_int_equal(next(&c), 3);
    for (int i = 0; i < 3; i++) {
        assert_true(c.f[i] >= c.buf);
        assert_true(c.f[i] + strlen(c.f[i]) < c.buf + c.len + 1);
    }
    assert_ptr_equal(c.f[0], c.buf);
    csv_close(&c);
}

static void test_nul_byte_is_refused_and_the_record_consumed(void **state)
{
    (void)state;
    struct csv c;
    OPEN(&c, "a,b\0c,d\n\"q\0\"\ne,f\n");
    assert_int_equal(next(&c), -2);             /* b<NUL>c would be cut to "b" */
    assert_int_equal(c.pos, 8);
    assert_int_equal(c.line, 2);
    assert_int_equal(next(&c), -2);             /* inside quotes too */
    assert_int_equal(c.line, 3);
    assert_int_equal(next(&c), 2);              /* and the next record is read */
    assert_string_equal(c.f[0], "e");
    assert_string_equal(c.f[1], "f");
    csv_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_plain_fields_are_split_on_commas, close_leftover),
        cmocka_unit_test_teardown(test_quoted_field_keeps_commas, close_leftover),
        cmocka_unit_test_teardown(test_doubled_quote_inside_quotes_is_one_quote, close_leftover),
        cmocka_unit_test_teardown(test_quoted_line_breaks_count_as_physical_lines, close_leftover),
        cmocka_unit_test_teardown(test_crlf_lf_and_lone_cr_all_end_a_record, close_leftover),
        cmocka_unit_test_teardown(test_empty_fields_are_empty_strings, close_leftover),
        cmocka_unit_test_teardown(test_last_record_without_newline_is_read, close_leftover),
        cmocka_unit_test_teardown(test_unterminated_quote_is_an_error, close_leftover),
        cmocka_unit_test_teardown(test_quote_inside_unquoted_field_is_an_error, close_leftover),
        cmocka_unit_test_teardown(test_text_after_closing_quote_is_an_error, close_leftover),
        cmocka_unit_test_teardown(test_end_of_input_returns_zero, close_leftover),
        cmocka_unit_test_teardown(test_extra_fields_are_counted_but_not_stored, close_leftover),
        cmocka_unit_test_teardown(test_fields_point_into_buf, close_leftover),
        cmocka_unit_test_teardown(test_nul_byte_is_refused_and_the_record_consumed, close_leftover),
    };
    return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
