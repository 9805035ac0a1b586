/* Unit tests: the guard's request framing (what evhttp is given for what a
 * client sent) and the escaping of request bytes for the log. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "server/guard.h"
#include "server/request.h"
#include "server/token.h"

static const char SECRET[] = "0123456789abcdef0123456789abcdef-guard";

/* The frames verify through a memo, as a worker's do. */
static struct token_memo *memo;

static int setup(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    assert_int_equal(guard_init(), 0);
    memo = token_memo_new();
    assert_non_null(memo);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    token_memo_free(memo);
    memo = NULL;
    return 0;
}

/* Feed the chunks in order to a fresh frame; return what evhttp would
 * read, NUL-terminated (malloc'd), and leave the frame in *f. */
static char *run(struct guard_frame *f, const char *const *chunks, size_t nchunks)
{
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    assert_non_null(in);
    assert_non_null(out);
    guard_frame_release(f);
    guard_frame_init(f, SECRET, memo);
    for (size_t i = 0; i < nchunks; i++) {
        assert_int_equal(evbuffer_add(in, chunks[i], strlen(chunks[i])), 0);
        assert_int_equal(guard_frame_feed(f, in, out), 0);
    }
    size_t n = evbuffer_get_length(out);
    char *s = malloc(n + 1);
    assert_non_null(s);
    assert_int_equal(evbuffer_remove(out, s, n), (int)n);
    s[n] = '\0';
    evbuffer_free(in);
    evbuffer_free(out);
    return s;
}

static char *run1(struct guard_frame *f, const char *wire)
{
    return run(f, &wire, 1);
}

/* The same bytes one at a time. */
static char *run_bytewise(struct guard_frame *f, const char *wire)
{
    size_t n = strlen(wire);
    char **bytes = calloc(n, sizeof *bytes);
    char (*store)[2] = calloc(n, sizeof *store);
    assert_non_null(bytes);
    assert_non_null(store);
    for (size_t i = 0; i < n; i++) {
        store[i][0] = wire[i];
        bytes[i] = store[i];
    }
    char *s = run(f, (const char *const *)bytes, n);
    free(bytes);
    free(store);
    return s;
}

/* The verdict a marker in text (a head or trailer) carries. */
static enum guard_verdict verdict_in(const char *text, struct guard_note *note)
{
    struct evkeyvalq h;
    TAILQ_INIT(&h);
    const char *m = strstr(text, "X-WB-Guard: ");
    if (m) {
        char val[256];
        const char *e = strstr(m, "\r\n");
        size_t n = (size_t)(e - m) - 12;
        assert_true(n < sizeof val);
        memcpy(val, m + 12, n);
        val[n] = '\0';
        assert_int_equal(evhttp_add_header(&h, "X-WB-Guard", val), 0);
    }
    guard_note_of(&h, note);
    evhttp_clear_headers(&h);
    return note->verdict;
}

static void test_plain_request_passes_unchanged(void **state)
{
    (void)state;
    struct guard_frame f = { 0 };
    const char *wire = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\r\n\r\n";
    char *out = run1(&f, wire);
    assert_string_equal(out, wire);
    struct guard_progress p;
    guard_frame_progress(&f, &p);
    assert_int_equal(p.phase, GUARD_IDLE);
    assert_int_equal(p.seq, 1);
    free(out);
    out = run_bytewise(&f, wire);
    assert_string_equal(out, wire);
    free(out);
}

static void test_bare_lf_lines_are_normalised(void **state)
{
    (void)state;
    struct guard_frame f = { 0 };
    char *out = run1(&f, "\r\nGET / HTTP/1.0\nHost: x\n\n");
    assert_string_equal(out, "GET / HTTP/1.0\r\nHost: x\r\n\r\n");
    free(out);
}

static void test_pipelined_requests_with_bodies_pass_in_order(void **state)
{
    (void)state;
    struct guard_frame f = { 0 };
    const char *wire = "POST /v1/auth/login HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                       "POST /v1/auth/login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n"
                       "GET /healthz HTTP/1.1\r\n\r\n";
    const char *want = "POST /v1/auth/login HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                       "POST /v1/auth/login HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde"
                       "GET /healthz HTTP/1.1\r\n\r\n";
    char *out = run1(&f, wire);
    assert_string_equal(out, want);
    free(out);
    out = run_bytewise(&f, wire);
    assert_string_equal(out, want);
    struct guard_progress p;
    guard_frame_progress(&f, &p);
    assert_int_equal(p.phase, GUARD_IDLE);
    assert_int_equal(p.seq, 3);
    free(out);
    guard_frame_release(&f);
}

static void test_client_marker_is_stripped(void **state)
{
    (void)state;
    struct guard_frame f = { 0 };
    char *out = run1(&f, "GET /healthz HTTP/1.1\r\nx-wb-guard: 0123456789abcdef full\r\n\r\n");
    assert_string_equal(out, "GET /healthz HTTP/1.1\r\n\r\n");
    free(out);
}

static void test_body_over_the_route_limit_is_refused_from_its_length(void **state)
{
    (void)state;
    struct guard_frame f = { 0 };
    const char *chunks[] = {
        "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 4097\r\n"
        "Expect: 100-continue\r\nConnection: keep-alive\r\nX-Request-Id: r1\r\n\r\n",
        "{\"username\": ...",
        "GET /healthz HTTP/1.1\r\n\r\n",           /* dropped too */
    };
    char *out = run(&f, chunks, 3);
    assert_non_null(strstr(out, "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nX-Request-Id: r1\r\n"));
    assert_null(strstr(out, "Content-Length"));
    assert_null(strstr(out, "Expect"));
    assert_null(strstr(out, "keep-alive"));
    assert_null(strstr(out, "username"));
    assert_null(strstr(out, "/healthz"));
    assert_non_null(strstr(out, "Connection: close\r\n\r\n"));
    struct guard_note n;
    assert_int_equal(verdict_in(out, &n), GUARD_TOO_LARGE);
    assert_int_equal(n.limit, 4096);
    assert_int_equal(n.declared, 4097);
    assert_false(n.unauthenticated);
    struct guard_progress p;
    guard_frame_progress(&f, &p);
    assert_int_equal(p.phase, GUARD_DISCARD);
    free(out);
}

static void test_chunked_body_is_held_and_refused_when_it_passes_the_limit(void **state)
{
    (void)state;
    struct guard_frame f = { 0 };
    char big[4096 + 1];
    memset(big, ' ', 4096);
    big[4096] = '\0';
    const char *chunks[] = {
        "POST /v1/auth/login HTTP/1.1\r\nX-Request-Id: c1\r\nTransfer-Encoding: chunked\r\n\r\n"
        "1000\r\n",
        big,
        "\r\n",
    };
    /* within the limit so far: evhttp has been given nothing */
    char *out = run(&f, chunks, 3);
    assert_string_equal(out, "");
    struct guard_progress p;
    guard_frame_progress(&f, &p);
    assert_int_equal(p.phase, GUARD_BODY);
    assert_int_equal(p.expect, 4096);
    assert_int_equal(p.given, 0);
    free(out);
    /* the 4097th byte announced: a head-level refusal, nothing of the body */
    const char *more[] = { chunks[0], big, "\r\n", "1\r\n" };
    out = run(&f, more, 4);
    struct guard_note n;
    assert_int_equal(verdict_in(out, &n), GUARD_TOO_LARGE);
    assert_int_equal(n.declared, 0);
    assert_int_equal(n.limit, 4096);
    assert_int_equal(strncmp(out, "POST /v1/auth/login HTTP/1.1\r\nX-Request-Id: c1\r\n", 48), 0);
    assert_null(strstr(out, "chunked"));
    assert_null(strstr(out, "    "));
    free(out);
    guard_frame_release(&f);
}

static void test_chunked_body_reaches_evhttp_with_a_length(void **state)
{
    (void)state;
    struct guard_frame f = { 0 };
    const char *wire = "POST /v1/auth/login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                       "Expect: 100-continue\r\n\r\n"
                       "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n"
                       "GET /healthz HTTP/1.1\r\n\r\n";
    const char *want = "POST /v1/auth/login HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde"
                       "GET /healthz HTTP/1.1\r\n\r\n";
    char *out = run1(&f, wire);
    assert_string_equal(out, want);
    free(out);
    out = run_bytewise(&f, wire);
    assert_string_equal(out, want);
    free(out);
    guard_frame_release(&f);
}

static void test_chunk_lines_must_end_in_crlf(void **state)
{
    (void)state;
    const char *bad[] = {
        "3\nabc\r\n0\r\n\r\n",          /* bare LF after the size */
        "3\r\nabcX0\r\n\r\n",            /* no CRLF after the data */
        "3\r\nabc\r\n0\r\n\n",          /* bare LF ending the trailer */
        "zz\r\n",                            /* not a size */
        "0x3\r\nabc\r\n0\r\n\r\n",     /* not hex digits only */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct guard_frame f = { 0 };
        struct guard_note n;
        const char *chunks[] = { "POST /v1/auth/login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                                 bad[i] };
        char *out = run(&f, chunks, 2);
        if (verdict_in(out, &n) != GUARD_MALFORMED)
            fail_msg("case %zu: -> %s", i, out);
        assert_null(strstr(out, "abc"));
        free(out);
        guard_frame_release(&f);
    }
}

static void test_without_a_valid_token_a_request_takes_4_kib(void **state)
{
    (void)state;
    struct guard_frame f = { 0 };
    struct guard_note n;
    char *out = run1(&f, "POST /v1/households/import HTTP/1.1\r\nContent-Length: 16777216\r\n\r\n");
    assert_int_equal(verdict_in(out, &n), GUARD_TOO_LARGE);
    assert_true(n.unauthenticated);
    assert_int_equal(n.limit, GUARD_UNAUTH_MAX);
    free(out);

    struct principal p = { .role = ROLE_ADMIN, .staff_id = 1, .ver = 1 };
    char *tok = NULL;
    assert_int_equal(token_issue(SECRET, &p, 600, time(NULL), &tok), 0);
    char head[2048];
    snprintf(head, sizeof head, "POST /v1/households/import HTTP/1.1\r\nAuthorization: Bearer %s\r\n"
             "Content-Length: 16777216\r\n\r\n", tok);
    out = run1(&f, head);
    assert_string_equal(out, head);          /* passes: the body may come */
    struct guard_progress pr;
    guard_frame_progress(&f, &pr);
    assert_int_equal(pr.phase, GUARD_BODY);
    assert_int_equal(pr.expect, 16777216);
    assert_int_equal(guard_frame_body_left(&f), 16777216);
    free(out);

    /* one byte more than the route takes is refused even with the token */
    snprintf(head, sizeof head, "POST /v1/households/import HTTP/1.1\r\nAuthorization: Bearer %s\r\n"
             "Content-Length: 16777217\r\n\r\n", tok);
    out = run1(&f, head);
    assert_int_equal(verdict_in(out, &n), GUARD_TOO_LARGE);
    assert_false(n.unauthenticated);
    free(out);

    /* a token signed with another secret does not count */
    char *forged = NULL;
    assert_int_equal(token_issue("another-secret-another-secret-32!", &p, 600, time(NULL), &forged), 0);
    snprintf(head, sizeof head, "POST /v1/households/import HTTP/1.1\r\nAuthorization: Bearer %s\r\n"
             "Content-Length: 5000\r\n\r\n", forged);
    out = run1(&f, head);
    assert_int_equal(verdict_in(out, &n), GUARD_TOO_LARGE);
    assert_true(n.unauthenticated);
    free(out);
    free(tok);
    free(forged);
}

static void test_malformed_framing_is_refused_before_routing(void **state)
{
    (void)state;
    const char *bad[] = {
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\n",
        "POST / HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n",
        "POST / HTTP/1.1\r\nX-A: a\001b\r\n\r\n",
        "POST / HTTP/1.1\r\nno colon here\r\n\r\n",
        "HEAD / HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET /a b HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct guard_frame f = { 0 };
        struct guard_note n;
        char *out = run1(&f, bad[i]);
        if (verdict_in(out, &n) != GUARD_MALFORMED)
            fail_msg("case %zu: %s -> %s", i, bad[i], out);
        assert_non_null(n.why);
        assert_null(strstr(out, "Content-Length"));
        assert_non_null(strstr(out, "Connection: close\r\n\r\n"));
        free(out);
    }
}

static void test_head_over_32_kib_is_refused(void **state)
{
    (void)state;
    struct guard_frame f = { 0 };
    struct guard_note n;
    size_t len = GUARD_HEAD_MAX + 100;
    char *wire = malloc(len + 1);
    assert_non_null(wire);
    strcpy(wire, "GET /healthz HTTP/1.1\r\nX-Pad: ");
    memset(wire + strlen(wire), 'p', len - strlen(wire));
    wire[len] = '\0';
    char *out = run1(&f, wire);
    assert_int_equal(verdict_in(out, &n), GUARD_HEAD_TOO_LARGE);
    assert_int_equal(strncmp(out, "GET /healthz HTTP/1.1\r\n", 23), 0);
    free(out);
    free(wire);
}

static void test_unknown_method_keeps_its_target_for_routing(void **state)
{
    (void)state;
    struct guard_frame f = { 0 };
    struct guard_note n;
    char *out = run1(&f, "BREW /healthz HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    assert_int_equal(verdict_in(out, &n), GUARD_BAD_METHOD);
    assert_int_equal(strncmp(out, "GET /healthz HTTP/1.1\r\n", 23), 0);
    assert_null(strstr(out, "abc"));
    free(out);
}

static void test_body_bytes_can_be_skipped_without_copying(void **state)
{
    (void)state;
    struct guard_frame f = { 0 };
    char *out = run1(&f, "POST /v1/auth/login HTTP/1.1\r\nContent-Length: 10\r\n\r\n");
    free(out);
    assert_int_equal(guard_frame_body_left(&f), 10);
    guard_frame_skip(&f, 4);
    struct guard_progress p;
    guard_frame_progress(&f, &p);
    assert_int_equal(p.phase, GUARD_BODY);
    assert_int_equal(guard_frame_body_left(&f), 6);
    guard_frame_skip(&f, 6);
    guard_frame_progress(&f, &p);
    assert_int_equal(p.phase, GUARD_IDLE);
}

static void test_escape_keeps_utf8_and_encodes_the_rest(void **state)
{
    (void)state;
    char out[256];
    const char in[] = "/a?q=\xff\xfe%41\x01\x1b[2J&n=\xe4\xb8\xad&o=\xc0\xaf&c=\xc2\x9b"
                      "&s=\xed\xa0\x80&b=\xe2\x80\xae&t=\x7f";
    size_t n = sizeof in - 1;
    assert_int_equal(guard_escape(in, n, out, sizeof out), n);
    assert_string_equal(out, "/a?q=%FF%FE%41%01%1B[2J&n=\xe4\xb8\xad&o=%C0%AF&c=%C2%9B"
                             "&s=%ED%A0%80&b=%E2%80%AE&t=%7F");
    /* a truncated sequence at the end, and a cut that keeps escapes whole */
    assert_int_equal(guard_escape("ab\xe4\xb8", 4, out, sizeof out), 4);
    assert_string_equal(out, "ab%E4%B8");
    assert_int_equal(guard_escape("a\xff", 2, out, 4), 1);
    assert_string_equal(out, "a");
    assert_int_equal(guard_escape("", 0, out, 1), 0);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_request_passes_unchanged),
        cmocka_unit_test(test_bare_lf_lines_are_normalised),
        cmocka_unit_test(test_pipelined_requests_with_bodies_pass_in_order),
        cmocka_unit_test(test_client_marker_is_stripped),
        cmocka_unit_test(test_body_over_the_route_limit_is_refused_from_its_length),
        cmocka_unit_test(test_chunked_body_is_held_and_refused_when_it_passes_the_limit),
        cmocka_unit_test(test_chunked_body_reaches_evhttp_with_a_length),
        cmocka_unit_test(test_chunk_lines_must_end_in_crlf),
        cmocka_unit_test(test_without_a_valid_token_a_request_takes_4_kib),
        cmocka_unit_test(test_malformed_framing_is_refused_before_routing),
        cmocka_unit_test(test_head_over_32_kib_is_refused),
        cmocka_unit_test(test_unknown_method_keeps_its_target_for_routing),
        cmocka_unit_test(test_body_bytes_can_be_skipped_without_copying),
        cmocka_unit_test(test_escape_keeps_utf8_and_encodes_the_rest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
