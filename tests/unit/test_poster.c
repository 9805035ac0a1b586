/* Unit tests: the honour roll poster (qr/poster.h).  The PDF is checked
 * for its shape and its page count only; whether the text reads back is
 * left to pdftotext by hand, so the tests need no poppler.  (cairo 1.16
 * writes the page objects uncompressed; a cairo that packs them into
 * object streams would need a real PDF parser here.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cairo.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr/pdf.h"
#include "qr/poster.h"

/* n entries with masked names 张*1, 张*2, ... (numbered so no two are the
 * same); calloc'd. */
static struct poster_entry *entries(size_t n, const char *family)
{
    struct poster_entry *e = calloc(n ? n : 1, sizeof *e);
    assert_non_null(e);
    for (size_t i = 0; i < n; i++) {
        snprintf(e[i].name, sizeof e[i].name, "%s*%zu", family, i + 1);
        e[i].inspections = (int)(i % 30) + 1;
        e[i].accuracy = 1.0 - (double)i / (double)(n + 1);
        e[i].points = (long long)(1000 - i);
    }
    return e;
}

/* The first nl bytes like needle in the n bytes at hay, or NULL (memmem
 * is a GNU extension). */
static const unsigned char *find(const unsigned char *hay, size_t n, const char *needle,
                                 size_t nl)
{
    for (size_t i = 0; nl <= n && i <= n - nl; i++)
        if (memcmp(hay + i, needle, nl) == 0)
            return hay + i;
    return NULL;
}

/* Occurrences of needle in the n bytes at hay. */
static size_t count_of(const unsigned char *hay, size_t n, const char *needle)
{
    size_t c = 0, nl = strlen(needle);
    const unsigned char *p = hay, *end = hay + n;
    while ((size_t)(end - p) >= nl) {
        const unsigned char *q = find(p, (size_t)(end - p), needle, nl);
        if (!q)
            break;
        c++;
        p = q + nl;
    }
    return c;
}

/* The page objects: "/Type /Page" not followed by 's' (the /Pages tree). */
static size_t page_objects(const unsigned char *pdf, size_t n)
{
    static const char tag[] = "/Type /Page";
    size_t c = 0, tl = sizeof tag - 1;
    const unsigned char *p = pdf, *end = pdf + n;
    while ((size_t)(end - p) >= tl) {
        const unsigned char *q = find(p, (size_t)(end - p), tag, tl);
        if (!q)
            break;
        if (q + tl == end || q[tl] != 's')
            c++;
        p = q + tl;
    }
    return c;
}

/* The page tree's "/Count N"; -1 when there is none. */
static long page_count(const unsigned char *pdf, size_t n)
{
    static const char tag[] = "/Count ";
    const unsigned char *q = find(pdf, n, tag, sizeof tag - 1);
    if (!q)
        return -1;
    long v = 0;
    for (q += sizeof tag - 1; q < pdf + n && *q >= '0' && *q <= '9'; q++)
        v = v * 10 + (*q - '0');
    return v;
}

/* The PDF starts with %PDF- and ends with %%EOF (and a line end). */
static void assert_pdf_shape(const unsigned char *pdf, size_t n)
{
    assert_non_null(pdf);
    assert_true(n > 1000);
    assert_memory_equal(pdf, "%PDF-", 5);
    size_t end = n;
    while (end > 0 && (pdf[end - 1] == '\n' || pdf[end - 1] == '\r'))
        end--;
    assert_true(n - end <= 2);
    assert_true(end >= 5);
    assert_memory_equal(pdf + end - 5, "%%EOF", 5);
}

/* Render red/black lists of nred/nblack entries; checks it succeeds. */
static void render(size_t nred, size_t nblack, unsigned char **pdf, size_t *len)
{
    struct poster_entry *red = entries(nred, "张"), *black = entries(nblack, "李");
    struct poster p = { "东湾村", "2026-11", red, black, nred, nblack };
    char err[160] = "";
    int rc = poster_pdf(&p, pdf, len, err, sizeof err);
    free(red);
    free(black);
    if (rc != 0)
        fail_msg("poster of %zu red and %zu black: %s", nred, nblack, err);
}

static void test_pages_hold_a_fixed_number_of_rows(void **state)
{
    (void)state;
    assert_int_equal(poster_pages(0, 0), 1);
    assert_int_equal(poster_pages(1, 0), 1);
    assert_int_equal(poster_pages(0, 1), 1);
    assert_int_equal(poster_pages(POSTER_ROWS, 0), 1);
    assert_int_equal(poster_pages(POSTER_ROWS, POSTER_ROWS), 1);
    assert_int_equal(poster_pages(POSTER_ROWS + 1, 0), 2);
    assert_int_equal(poster_pages(0, POSTER_ROWS + 1), 2);
    assert_int_equal(poster_pages(2 * POSTER_ROWS, 1), 2);
    assert_int_equal(poster_pages(2 * POSTER_ROWS + 1, 1), 3);
    /* the longer list decides, whichever it is */
    assert_int_equal(poster_pages(3, 3 * POSTER_ROWS + 1), 4);
    assert_int_equal(poster_pages(3 * POSTER_ROWS + 1, 3), 4);
    /* no overflow of the int for absurd counts */
    if (SIZE_MAX / POSTER_ROWS >= INT_MAX)
        assert_int_equal(poster_pages(SIZE_MAX, 0), INT_MAX);
}

static void test_pdf_has_the_shape_of_a_pdf(void **state)
{
    (void)state;
    unsigned char *pdf = NULL;
    size_t len = 0;
    render(3, 2, &pdf, &len);
    assert_pdf_shape(pdf, len);
    /* the document's title in its metadata */
    assert_true(count_of(pdf, len, "/Title") >= 1);
    free(pdf);
}

static void test_pdf_page_count_is_poster_pages(void **state)
{
    (void)state;
    static const size_t sizes[][2] = {
        { 0, 0 }, { 1, 0 }, { 0, 1 }, { 3, 2 },
        { POSTER_ROWS, POSTER_ROWS }, { POSTER_ROWS + 1, 0 }, { 0, POSTER_ROWS + 1 },
        { 2 * POSTER_ROWS + 1, 4 }, { 10, 3 * POSTER_ROWS + 2 },
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *pdf = NULL;
        size_t len = 0;
        render(sizes[i][0], sizes[i][1], &pdf, &len);
        assert_pdf_shape(pdf, len);
        int want = poster_pages(sizes[i][0], sizes[i][1]);
        if (page_objects(pdf, len) != (size_t)want || page_count(pdf, len) != want)
            fail_msg("%zu red, %zu black: %zu page objects, /Count %ld, want %d", sizes[i][0],
                     sizes[i][1], page_objects(pdf, len), page_count(pdf, len), want);
        free(pdf);
    }
}

/* A bad month is refused (-1, a reason, nothing handed out), not printed. */
static void test_bad_month_is_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "2026", "2026-1", "2026-13", "2026-00", "2026/11", "2026-11-01", "abcd-ef",
        " 2026-11", "2026-11 ", "2026-1a", "２０２６-11", "2026--1",
    };
    struct poster_entry *red = entries(2, "张");
    for (size_t i = 0; i <= sizeof bad / sizeof bad[0]; i++) {
        const char *month = i < sizeof bad / sizeof bad[0] ? bad[i] : NULL;
        struct poster p = { "东湾村", month, red, NULL, 2, 0 };
        unsigned char *pdf = (unsigned char *)"sentinel";
        size_t len = 99;
        char err[160] = "";
        if (poster_pdf(&p, &pdf, &len, err, sizeof err) != -1)
            fail_msg("month '%s' was accepted", month ? month : "(NULL)");
        assert_null(pdf);
        assert_int_equal(len, 0);
        assert_true(strlen(err) > 0);
    }
    /* the first and last months are fine */
    static const char *const good[] = { "2026-01", "2026-12", "1999-09" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct poster p = { "东湾村", good[i], red, NULL, 2, 0 };
        unsigned char *pdf = NULL;
        size_t len = 0;
        char err[160] = "";
        if (poster_pdf(&p, &pdf, &len, err, sizeof err) != 0)
            fail_msg("month '%s' refused: %s", good[i], err);
        assert_pdf_shape(pdf, len);
        free(pdf);
    }
    free(red);
}

static void test_missing_region_or_entries_are_refused(void **state)
{
    (void)state;
    struct poster_entry *red = entries(2, "张");
    unsigned char *pdf = NULL;
    size_t len = 0;
    char err[160] = "";
    struct poster p = { NULL, "2026-11", red, NULL, 2, 0 };
    assert_int_equal(poster_pdf(&p, &pdf, &len, err, sizeof err), -1);
    assert_null(pdf);
    assert_true(strlen(err) > 0);
    /* a count without its list */
    p = (struct poster){ "东湾村", "2026-11", red, NULL, 2, 1 };
    err[0] = '\0';
    assert_int_equal(poster_pdf(&p, &pdf, &len, err, sizeof err), -1);
    assert_null(pdf);
    assert_true(strlen(err) > 0);
    /* and no room for the reason is no crash */
    assert_int_equal(poster_pdf(&p, &pdf, &len, NULL, 0), -1);
    free(red);
}

/* Whatever the text, the poster is drawn: bad UTF-8 (a name cut in the
 * middle of a character), a name filling its array with no NUL, names
 * and a village too long for their place, odd accuracies. */
static void test_odd_text_and_numbers_still_draw(void **state)
{
    (void)state;
    struct poster_entry e[7];
    memset(e, 0, sizeof e);
    snprintf(e[0].name, sizeof e[0].name, "张\xE6\x98");            /* cut short */
    snprintf(e[1].name, sizeof e[1].name, "\xFF\xC0\x80\xED\xA0\x80*明"); /* invalid */
    memset(e[2].name, 'A', sizeof e[2].name);                        /* no NUL */
    for (size_t i = 0; i + 3 < sizeof e[3].name; i += 3)
        memcpy(e[3].name + i, "欧", 3);                              /* too wide */
    e[0].accuracy = NAN;
    e[1].accuracy = -0.5;
    e[2].accuracy = 7.0;
    e[3].accuracy = INFINITY;
    e[4].accuracy = 0.925;
    e[4].inspections = INT_MAX;
    e[5].inspections = INT_MIN;
    e[6].points = LLONG_MIN;
    char region[600] = "";
    for (size_t i = 0; i + 4 < sizeof region; i += 3)
        memcpy(region + i, "东", 4);
    struct poster p = { region, "2026-11", e, e, 7, 7 };
    unsigned char *pdf = NULL;
    size_t len = 0;
    char err[160] = "";
    if (poster_pdf(&p, &pdf, &len, err, sizeof err) != 0)
        fail_msg("odd poster refused: %s", err);
    assert_pdf_shape(pdf, len);
    assert_int_equal(page_objects(pdf, len), 1);
    free(pdf);
    /* a village name that is itself bad UTF-8 */
    p.region = "\xE4\xB8";
    assert_int_equal(poster_pdf(&p, &pdf, &len, err, sizeof err), 0);
    assert_pdf_shape(pdf, len);
    free(pdf);
}

static void *render_thread(void *arg)
{
    const struct poster *p = arg;
    unsigned char *pdf = NULL;
    size_t len = 0;
    char err[160];
    int rc = poster_pdf(p, &pdf, &len, err, sizeof err);
    int ok = rc == 0 && len > 5 && memcmp(pdf, "%PDF-", 5) == 0;
    free(pdf);
    return ok ? arg : NULL;
}

/* The HTTP workers draw posters at the same time. */
static void test_posters_draw_in_parallel(void **state)
{
    (void)state;
    struct poster_entry *red = entries(30, "张"), *black = entries(12, "李");
    struct poster p = { "东湾村", "2026-11", red, black, 30, 12 };
    pthread_t t[4];
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, render_thread, &p), 0);
    for (size_t i = 0; i < 4; i++) {
        void *ret = NULL;
        assert_int_equal(pthread_join(t[i], &ret), 0);
        assert_ptr_equal(ret, &p);
    }
    free(red);
    free(black);
}

/* cairo and fontconfig keep their font caches for the process; release
 * them so the leak checker sees only real leaks. */
static int release_font_caches(void **state)
{
    (void)state;
    pdf_release_fonts();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_hold_a_fixed_number_of_rows),
        cmocka_unit_test(test_pdf_has_the_shape_of_a_pdf),
        cmocka_unit_test(test_pdf_page_count_is_poster_pages),
        cmocka_unit_test(test_bad_month_is_refused),
        cmocka_unit_test(test_missing_region_or_entries_are_refused),
        cmocka_unit_test(test_odd_text_and_numbers_still_draw),
        cmocka_unit_test(test_posters_draw_in_parallel),
    };
    return cmocka_run_group_tests_name("poster", tests, NULL, release_font_caches);
}
