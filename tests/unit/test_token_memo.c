/* Unit tests: the memo of verified tokens (token_verify_cached) never
 * accepts what token_verify would refuse - another secret, a changed
 * byte, an expired or not yet issued token - and answers what it
 * remembers exactly as token_verify did. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "server/request.h"
#include "server/token.h"

static const char SECRET[] = "0123456789abcdef0123456789abcdef-memo";
static const char OTHER[] = "fedcba9876543210fedcba9876543210-memo";
static const long long NOW = 1795900000;

static int setup(void **state)
{
    assert_true(sodium_init() >= 0);
    struct token_memo *m = token_memo_new();
    assert_non_null(m);
    *state = m;
    return 0;
}

static int teardown(void **state)
{
    token_memo_free(*state);
    return 0;
}

static char *issue_with(const char *secret, long long iat, long long ttl)
{
    struct principal p = { .role = ROLE_ATTENDANT, .staff_id = 7, .region_id = 3,
                           .site_id = 5, .ver = 2 };
    char *tok = NULL;
    assert_int_equal(token_issue(secret, &p, ttl, (time_t)iat, &tok), 0);
    return tok;
}

static char *issue(void)
{
    return issue_with(SECRET, NOW, 3600);
}

static void test_a_remembered_token_answers_what_token_verify_did(void **state)
{
    struct token_memo *m = *state;
    char *tok = issue();
    struct principal full, first, again;
    assert_int_equal(token_verify(SECRET, tok, (time_t)NOW, &full), 0);
    assert_int_equal(token_verify_cached(m, SECRET, tok, NOW, &first), 0);
    assert_int_equal(token_verify_cached(m, SECRET, tok, NOW + 10, &again), 0);
    assert_memory_equal(&first, &full, sizeof full);
    assert_memory_equal(&again, &full, sizeof full);
    free(tok);
}

/* Were the secret not part of the key, the second call would hit the
 * slot the first one filled and answer its principal. */
static void test_a_token_remembered_under_one_secret_is_refused_under_another(void **state)
{
    struct token_memo *m = *state;
    char *tok = issue();
    struct principal out;
    assert_int_equal(token_verify_cached(m, SECRET, tok, NOW, &out), 0);
    assert_int_equal(token_verify_cached(m, SECRET, tok, NOW + 1, &out), 0);
    assert_int_equal(token_verify_cached(m, OTHER, tok, NOW + 1, &out), -1);
    assert_int_equal(out.role, 0);          /* *out zeroed on refusal */
    assert_int_equal(token_verify_cached(m, SECRET, tok, NOW + 2, &out), 0);
    free(tok);

    /* and the other way round: a token of the other secret, remembered,
     * is refused under this one */
    tok = issue_with(OTHER, NOW, 3600);
    assert_int_equal(token_verify_cached(m, OTHER, tok, NOW, &out), 0);
    assert_int_equal(token_verify_cached(m, SECRET, tok, NOW, &out), -1);
    free(tok);
}

static void test_a_tampered_remembered_token_misses(void **state)
{
    struct token_memo *m = *state;
    char *tok = issue();
    struct principal out;
    assert_int_equal(token_verify_cached(m, SECRET, tok, NOW, &out), 0);
    size_t len = strlen(tok);
    for (size_t i = 0; i < len; i++) {
        char keep = tok[i];
        tok[i] = keep == 'A' ? 'B' : 'A';
        int rc = token_verify_cached(m, SECRET, tok, NOW, &out);
        /* the last character of a base64url segment may carry unused low
         * bits (see test_token.c): there the memo must only agree with
         * token_verify; everywhere else a change is refused */
        bool segment_end = i + 1 == len || tok[i + 1] == '.';
        if (segment_end) {
            struct principal full;
            assert_int_equal(rc, token_verify(SECRET, tok, (time_t)NOW, &full));
        } else {
            assert_int_equal(rc, -1);
        }
        tok[i] = keep;
    }
    /* truncated, and with a byte more */
    char *longer = malloc(len + 2);
    assert_non_null(longer);
    memcpy(longer, tok, len);
    longer[len] = 'A';
    longer[len + 1] = '\0';
    assert_int_equal(token_verify_cached(m, SECRET, longer, NOW, &out), -1);
    for (size_t cut = 1; cut < 8; cut++) {
        longer[len - cut] = '\0';
        assert_int_equal(token_verify_cached(m, SECRET, longer, NOW, &out), -1);
    }
    free(longer);
    assert_int_equal(token_verify_cached(m, SECRET, tok, NOW, &out), 0);
    free(tok);
}

static void test_an_expired_remembered_token_is_refused(void **state)
{
    struct token_memo *m = *state;
    char *tok = issue_with(SECRET, NOW, 3);
    struct principal out;
    assert_int_equal(token_verify_cached(m, SECRET, tok, NOW, &out), 0);
    assert_int_equal(token_verify_cached(m, SECRET, tok, NOW + 2, &out), 0);
    assert_int_equal(token_verify_cached(m, SECRET, tok, NOW + 3, &out), -1);
    assert_int_equal(token_verify_cached(m, SECRET, tok, NOW + 3600, &out), -1);
    free(tok);
}

/* token_verify allows an iat up to 60 s ahead; such a token verifies in
 * full each time until its iat comes, and past the allowance it never
 * verifies, remembered or not. */
static void test_a_token_issued_ahead_verifies_only_within_the_allowance(void **state)
{
    struct token_memo *m = *state;
    char *soon = issue_with(SECRET, NOW + 30, 3600);
    char *late = issue_with(SECRET, NOW + 120, 3600);
    struct principal out;
    assert_int_equal(token_verify_cached(m, SECRET, soon, NOW, &out), 0);
    assert_int_equal(token_verify_cached(m, SECRET, soon, NOW, &out), 0);
    assert_int_equal(token_verify_cached(m, SECRET, late, NOW, &out), -1);
    /* remembered once issued; then a clock stepped back still sees
     * token_verify's answer */
    assert_int_equal(token_verify_cached(m, SECRET, late, NOW + 120, &out), 0);
    assert_int_equal(token_verify_cached(m, SECRET, late, NOW + 100, &out), 0);
    assert_int_equal(token_verify_cached(m, SECRET, late, NOW, &out), -1);
    free(soon);
    free(late);
}

static void test_a_refused_token_is_not_remembered(void **state)
{
    struct token_memo *m = *state;
    char *tok = issue_with(OTHER, NOW, 3600);
    struct principal out;
    for (int i = 0; i < 3; i++)
        assert_int_equal(token_verify_cached(m, SECRET, tok, NOW, &out), -1);
    free(tok);
}

/* A weak secret verifies nothing, so nothing is remembered under it. */
static void test_a_short_secret_verifies_nothing_through_the_memo(void **state)
{
    struct token_memo *m = *state;
    char *tok = issue_with("short", NOW, 3600);
    struct principal out;
    assert_int_equal(token_verify_cached(m, "short", tok, NOW, &out), -1);
    assert_int_equal(token_verify_cached(m, "", tok, NOW, &out), -1);
    free(tok);
}

/* Many tokens share the 512 slots: each still verifies, and the first,
 * likely displaced, verifies in full again. */
static void test_displaced_tokens_verify_again(void **state)
{
    struct token_memo *m = *state;
    enum { N = 2000 };
    char **toks = calloc(N, sizeof *toks);
    assert_non_null(toks);
    struct principal out;
    for (int i = 0; i < N; i++) {
        toks[i] = issue();
        assert_int_equal(token_verify_cached(m, SECRET, toks[i], NOW, &out), 0);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(token_verify_cached(m, SECRET, toks[i], NOW + 1, &out), 0);
        assert_int_equal(token_verify_cached(m, OTHER, toks[i], NOW + 1, &out), -1);
        free(toks[i]);
    }
    free(toks);
}

static void test_without_a_memo_every_token_is_verified_in_full(void **state)
{
    (void)state;
    char *tok = issue();
    struct principal out;
    assert_int_equal(token_verify_cached(NULL, SECRET, tok, NOW, &out), 0);
    assert_int_equal(token_verify_cached(NULL, OTHER, tok, NOW, &out), -1);
    assert_int_equal(token_verify_cached(NULL, SECRET, tok, NOW + 3600, &out), -1);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_remembered_token_answers_what_token_verify_did,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_token_remembered_under_one_secret_is_refused_under_another, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_a_tampered_remembered_token_misses, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_an_expired_remembered_token_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_token_issued_ahead_verifies_only_within_the_allowance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_refused_token_is_not_remembered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_short_secret_verifies_nothing_through_the_memo,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_displaced_tokens_verify_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_a_memo_every_token_is_verified_in_full,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("token_memo", tests, NULL, NULL);
}
