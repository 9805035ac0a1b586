/* Unit tests: path patterns and the route table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "server/router.h"
#include "server/request.h"

static void test_literal_path_matches_only_itself(void **state)
{
    (void)state;
    long long p[REQ_MAX_PARAMS];
    int n = -1;
    assert_true(route_match("/healthz", "/healthz", p, &n));
    assert_int_equal(n, 0);
    assert_false(route_match("/healthz", "/healthz/", p, &n));
    assert_false(route_match("/healthz", "/health", p, &n));
    assert_false(route_match("/healthz", "/healthzz", p, &n));
}

static void test_id_parameter_takes_positive_integers(void **state)
{
    (void)state;
    long long p[REQ_MAX_PARAMS];
    int n = 0;
    assert_true(route_match("/v1/staff/{id}", "/v1/staff/42", p, &n));
    assert_int_equal(n, 1);
    assert_int_equal(p[0], 42);
    assert_false(route_match("/v1/staff/{id}", "/v1/staff/0", p, &n));
    assert_false(route_match("/v1/staff/{id}", "/v1/staff/042", p, &n));
    assert_false(route_match("/v1/staff/{id}", "/v1/staff/-1", p, &n));
    assert_false(route_match("/v1/staff/{id}", "/v1/staff/", p, &n));
    assert_false(route_match("/v1/staff/{id}", "/v1/staff/4x", p, &n));
    assert_false(route_match("/v1/staff/{id}", "/v1/staff/1234567890123456789", p, &n));
}

static void test_parameter_followed_by_suffix(void **state)
{
    (void)state;
    long long p[REQ_MAX_PARAMS];
    int n = 0;
    assert_true(route_match("/v1/households/{id}/card.png", "/v1/households/7/card.png", p, &n));
    assert_int_equal(p[0], 7);
    assert_false(route_match("/v1/households/{id}/card.png", "/v1/households/7/card.svg", p, &n));
    assert_true(route_match("/v1/shops/{id}/items/{item}", "/v1/shops/3/items/9", p, &n));
    assert_int_equal(n, 2);
    assert_int_equal(p[0], 3);
    assert_int_equal(p[1], 9);
}

static void test_route_table_is_well_formed(void **state)
{
    (void)state;
    for (int i = 0; i < wb_nroutes; i++) {
        const struct route *r = &wb_routes[i];
        assert_non_null(r->handler);
        assert_true(r->pattern[0] == '/');
        assert_true(strcmp(r->method, "GET") == 0 || strcmp(r->method, "POST") == 0 ||
                    strcmp(r->method, "PUT") == 0 || strcmp(r->method, "PATCH") == 0 ||
                    strcmp(r->method, "DELETE") == 0);
        assert_true(r->max_body <= LARGEST_MAX_BODY);
        /* no two routes with the same method and pattern */
        for (int j = i + 1; j < wb_nroutes; j++)
            assert_false(strcmp(r->method, wb_routes[j].method) == 0 &&
                         strcmp(r->pattern, wb_routes[j].pattern) == 0);
        /* only the operations endpoints and sign-in are public */
        if (r->roles == ROLES_PUBLIC)
            assert_true(strncmp(r->pattern, "/v1/", 4) != 0 ||
                        strcmp(r->pattern, "/v1/auth/login") == 0 ||
                        strcmp(r->pattern, "/v1/auth/resident") == 0);
    }
}

static void test_role_names_round_trip(void **state)
{
    (void)state;
    const char *names[] = { "admin", "region_admin", "attendant", "clerk", "resident" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_string_equal(role_name(role_bit(names[i])), names[i]);
    assert_int_equal(role_bit("root"), 0);
    assert_int_equal(role_bit(""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_path_matches_only_itself),
        cmocka_unit_test(test_id_parameter_takes_positive_integers),
        cmocka_unit_test(test_parameter_followed_by_suffix),
        cmocka_unit_test(test_route_table_is_well_formed),
        cmocka_unit_test(test_role_names_round_trip),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
