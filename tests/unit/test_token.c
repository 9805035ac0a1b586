/* Unit tests: JWT issue and verification rules (libjwt checks only the
 * signature; these prove ours checks the rest). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jwt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "server/request.h"
#include "server/token.h"

static const char SECRET[] = "0123456789abcdef0123456789abcdef-unit";
static const time_t NOW = 1795900000;

static char *issue(struct principal *p)
{
    char *tok = NULL;
    assert_int_equal(token_issue(SECRET, p, 3600, NOW, &tok), 0);
    return tok;
}

/* A token with exactly these claims, signed with alg and key. */
static char *forge(jwt_alg_t alg, const char *key, const char *claims_json)
{
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_new(&jwt), 0);
    assert_int_equal(jwt_add_grants_json(jwt, claims_json), 0);
    assert_int_equal(jwt_set_alg(jwt, alg, (const unsigned char *)key,
                                 key ? (int)strlen(key) : 0), 0);
    char *t = jwt_encode_str(jwt);
    jwt_free(jwt);
    assert_non_null(t);
    return t;
}

static void test_issued_token_verifies(void **state)
{
    (void)state;
    struct principal p = { .role = ROLE_ATTENDANT, .staff_id = 9, .region_id = 3,
                           .site_id = 4, .ver = 2 };
    char *tok = issue(&p);
    struct principal out;
    assert_int_equal(token_verify(SECRET, tok, NOW + 10, &out), 0);
    assert_int_equal(out.role, ROLE_ATTENDANT);
    assert_int_equal(out.staff_id, 9);
    assert_int_equal(out.region_id, 3);
    assert_int_equal(out.site_id, 4);
    assert_int_equal(out.ver, 2);
    assert_string_equal(out.jti, p.jti);
    free(tok);
}

static void test_expired_token_is_refused(void **state)
{
    (void)state;
    struct principal p = { .role = ROLE_ADMIN, .staff_id = 1, .ver = 1 };
    char *tok = issue(&p);
    struct principal out;
    assert_int_equal(token_verify(SECRET, tok, NOW + 3600, &out), -1);
    assert_int_equal(token_verify(SECRET, tok, NOW + 7200, &out), -1);
    free(tok);
}

static void test_other_secret_is_refused(void **state)
{
    (void)state;
    struct principal p = { .role = ROLE_ADMIN, .staff_id = 1, .ver = 1 };
    char *tok = issue(&p);
    struct principal out;
    assert_int_equal(token_verify("another-secret-of-32-bytes-or-more!!", tok, NOW, &out), -1);
    free(tok);
}

static void test_every_tampered_byte_is_refused(void **state)
{
    (void)state;
    struct principal p = { .role = ROLE_ADMIN, .staff_id = 1, .ver = 1 };
    char *tok = issue(&p);
    size_t n = strlen(tok);
    struct principal out;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] == '.')
            continue;
        char saved = tok[i];
        tok[i] = saved == 'A' ? 'B' : 'A';
        int rc = token_verify(SECRET, tok, NOW, &out);
        /* The last character of a base64url segment may carry unused low
         * bits, so a change there can decode to the very same bytes: that
         * is no forgery.  Everywhere else a change must be refused. */
        bool segment_end = i + 1 == n || tok[i + 1] == '.';
        if (!segment_end)
            assert_int_equal(rc, -1);
        tok[i] = saved;
    }
    assert_int_equal(token_verify(SECRET, tok, NOW, &out), 0);
    free(tok);
}

static void test_alg_none_is_refused(void **state)
{
    (void)state;
    char *t = forge(JWT_ALG_NONE, NULL,
                    "{\"sub\":\"s:1\",\"role\":\"admin\",\"jti\":\"0123456789abcdef0123456789abcdef\","
                    "\"iat\":1795900000,\"exp\":1795903600,\"ver\":1}");
    struct principal out;
    assert_int_equal(token_verify(SECRET, t, NOW, &out), -1);
    free(t);
}

static void test_hs512_with_the_right_secret_is_refused(void **state)
{
    (void)state;
    char *t = forge(JWT_ALG_HS512, SECRET,
                    "{\"sub\":\"s:1\",\"role\":\"admin\",\"jti\":\"0123456789abcdef0123456789abcdef\","
                    "\"iat\":1795900000,\"exp\":1795903600,\"ver\":1}");
    struct principal out;
    assert_int_equal(token_verify(SECRET, t, NOW, &out), -1);
    free(t);
}

static void test_missing_or_mistyped_claims_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        /* no exp */
        "{\"sub\":\"s:1\",\"role\":\"admin\",\"jti\":\"0123456789abcdef0123456789abcdef\",\"iat\":1795900000,\"ver\":1}",
        /* exp as a string */
        "{\"sub\":\"s:1\",\"role\":\"admin\",\"jti\":\"0123456789abcdef0123456789abcdef\",\"iat\":1795900000,\"exp\":\"1795903600\",\"ver\":1}",
        /* unknown role */
        "{\"sub\":\"s:1\",\"role\":\"root\",\"jti\":\"0123456789abcdef0123456789abcdef\",\"iat\":1795900000,\"exp\":1795903600,\"ver\":1}",
        /* resident role with a staff subject */
        "{\"sub\":\"s:1\",\"role\":\"resident\",\"jti\":\"0123456789abcdef0123456789abcdef\",\"iat\":1795900000,\"exp\":1795903600,\"ver\":1}",
        /* short jti */
        "{\"sub\":\"s:1\",\"role\":\"admin\",\"jti\":\"abc\",\"iat\":1795900000,\"exp\":1795903600,\"ver\":1}",
        /* issued in the future */
        "{\"sub\":\"s:1\",\"role\":\"admin\",\"jti\":\"0123456789abcdef0123456789abcdef\",\"iat\":1795990000,\"exp\":1795993600,\"ver\":1}",
    };
    struct principal out;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *t = forge(JWT_ALG_HS256, SECRET, bad[i]);
        assert_int_equal(token_verify(SECRET, t, NOW, &out), -1);
        free(t);
    }
}

static void test_short_secret_never_verifies(void **state)
{
    (void)state;
    struct principal out;
    char *t = forge(JWT_ALG_HS256, "short",
                    "{\"sub\":\"s:1\",\"role\":\"admin\",\"jti\":\"0123456789abcdef0123456789abcdef\","
                    "\"iat\":1795900000,\"exp\":1795903600,\"ver\":1}");
    assert_int_equal(token_verify("short", t, NOW, &out), -1);
    assert_int_equal(token_verify("", t, NOW, &out), -1);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issued_token_verifies),
        cmocka_unit_test(test_expired_token_is_refused),
        cmocka_unit_test(test_other_secret_is_refused),
        cmocka_unit_test(test_every_tampered_byte_is_refused),
        cmocka_unit_test(test_alg_none_is_refused),
        cmocka_unit_test(test_hs512_with_the_right_secret_is_refused),
        cmocka_unit_test(test_missing_or_mistyped_claims_are_refused),
        cmocka_unit_test(test_short_secret_never_verifies),
    };
    return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
