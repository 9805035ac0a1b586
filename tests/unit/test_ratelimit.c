/* Unit tests: the in-process fallback of the rate limiter
 * (server/ratelimit.h), which counts when Redis does not.  One key's
 * events must never reset or take over another key's count, whatever the
 * keys: a limiter that a crafted second name can reset is no limit.  The
 * first tests go through ratelimit_hit with a cache that cannot connect,
 * as a worker does while Redis is down; the rest drive the table at a
 * chosen time through ratelimit_local_hit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/cache.h"
#include "server/ratelimit.h"

/* A window far longer than a test run, so no test straddles two. */
#define LONG_WINDOW (1 << 30)
#define T0 1700000000LL          /* a fixed "now" for the table tests */

struct fx {
    struct ratelimit *rl;
    struct cache *down;          /* a Redis that is not there */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char err[128];
    if (!f)
        return -1;
    f->rl = ratelimit_new();
    f->down = cache_new("unix:///nonexistent/wastebank-test-redis.sock", err, sizeof err);
    if (!f->rl || !f->down)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ratelimit_free(f->rl);
    cache_free(f->down);
    free(f);
    return 0;
}

/* The review's finding: names that land on one slot of the table took it
 * over from each other and reset its count, so interleaving them gave
 * more tries than the limit.  Thousands of names in one table share home
 * slots many times over; interleaved, each still gets exactly its limit. */
static void test_interleaved_keys_each_get_exactly_their_limit(void **state)
{
    struct fx *f = *state;
    enum { KEYS = 3000, LIMIT = 5, TRIES = 8 };
    static int allowed[KEYS];
    char key[64];
    memset(allowed, 0, sizeof allowed);
    for (int round = 0; round < TRIES; round++)
        for (int k = 0; k < KEYS; k++) {
            snprintf(key, sizeof key, "login:u:user%d", k);
            if (ratelimit_hit(f->rl, f->down, key, LIMIT, LONG_WINDOW) == 0)
                allowed[k]++;
        }
    for (int k = 0; k < KEYS; k++)
        if (allowed[k] != LIMIT)
            fail_msg("key %d was allowed %d times; the limit is %d", k, allowed[k], LIMIT);
}

/* Two names alternating, as in the review: these two shared a slot of
 * the old table (unkeyed FNV-1a modulo 4096), so each took it over from
 * the other and restarted the count.  Each must get its limit, no more. */
static void test_two_alternating_crafted_keys_share_nothing(void **state)
{
    struct fx *f = *state;
    const char *a = "login:u:crafted1-121", *b = "login:u:crafted1-200";
    int na = 0, nb = 0;
    for (int i = 0; i < 100; i++) {
        na += ratelimit_hit(f->rl, f->down, a, 30, LONG_WINDOW) == 0;
        nb += ratelimit_hit(f->rl, f->down, b, 30, LONG_WINDOW) == 0;
    }
    assert_int_equal(na, 30);
    assert_int_equal(nb, 30);
    assert_int_equal(ratelimit_peek(f->rl, f->down, a, LONG_WINDOW), 100);
    assert_int_equal(ratelimit_peek(f->rl, f->down, b, LONG_WINDOW), 100);
}

static void test_reset_forgets_only_its_own_key(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 4; i++) {
        ratelimit_hit(f->rl, f->down, "pin:one", 100, LONG_WINDOW);
        ratelimit_hit(f->rl, f->down, "pin:two", 100, LONG_WINDOW);
    }
    ratelimit_reset(f->rl, f->down, "pin:one", LONG_WINDOW);
    assert_int_equal(ratelimit_peek(f->rl, f->down, "pin:one", LONG_WINDOW), 0);
    assert_int_equal(ratelimit_peek(f->rl, f->down, "pin:two", LONG_WINDOW), 4);
    assert_int_equal(ratelimit_peek(f->rl, f->down, "pin:never", LONG_WINDOW), 0);
}

static void test_limit_then_retry_after_counts_to_the_window_end(void **state)
{
    struct fx *f = *state;
    long long now = T0 - T0 % 60 + 15;         /* 15 s into a minute */
    for (int i = 0; i < 3; i++)
        assert_int_equal(ratelimit_local_hit(f->rl, "w:a", 3, 60, now), 0);
    assert_int_equal(ratelimit_local_hit(f->rl, "w:a", 3, 60, now), 45);
    assert_int_equal(ratelimit_local_hit(f->rl, "w:a", 3, 60, now + 44), 1);
    /* the next window starts from nothing */
    assert_int_equal(ratelimit_local_hit(f->rl, "w:a", 3, 60, now + 45), 0);
}

/* The same key under two window lengths (e.g. 60 s and 600 s budgets)
 * counts twice, and a short window ending frees only its own slot. */
static void test_windows_of_different_length_count_apart(void **state)
{
    struct fx *f = *state;
    long long now = T0 - T0 % 600;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ratelimit_local_hit(f->rl, "w:b", 5, 600, now), 0);
        assert_int_equal(ratelimit_local_hit(f->rl, "w:b", 5, 60, now), 0);
    }
    /* a minute on: the 60 s count is gone, the 600 s one is not */
    assert_int_equal(ratelimit_local_hit(f->rl, "w:b", 5, 60, now + 60), 0);
    assert_true(ratelimit_local_hit(f->rl, "w:b", 5, 600, now + 60) > 0);
}

/* More live keys than slots: the newcomers are refused (fail closed) and
 * every key that holds a slot keeps its exact count; once the window ends
 * the slots are free again. */
static void test_full_table_refuses_newcomers_and_keeps_counts(void **state)
{
    struct fx *f = *state;
    enum { N = RATELIMIT_LOCAL_SLOTS * 2 };
    long long now = T0 - T0 % 60;
    static bool held[N];
    char key[64];
    int kept = 0, refused = 0;
    for (int k = 0; k < N; k++) {
        snprintf(key, sizeof key, "full:%d", k);
        held[k] = ratelimit_local_hit(f->rl, key, 1000, 60, now) == 0;
        kept += held[k];
        refused += !held[k];
    }
    assert_true(kept <= RATELIMIT_LOCAL_SLOTS);
    assert_true(refused >= N - RATELIMIT_LOCAL_SLOTS);
    for (int k = 0; k < N; k++) {
        snprintf(key, sizeof key, "full:%d", k);
        int wait = ratelimit_local_hit(f->rl, key, 1, 60, now + 1);
        if (held[k] && wait == 0)
            fail_msg("key %d lost its count: a second hit was within a limit of 1", k);
        if (!held[k] && wait == 0)
            fail_msg("key %d was counted in a full table", k);
    }
    /* a new window: the table is free again */
    snprintf(key, sizeof key, "full:%d", N - 1);
    assert_int_equal(ratelimit_local_hit(f->rl, key, 1, 60, now + 60), 0);
    assert_int_equal(ratelimit_local_hit(f->rl, "full:new", 1, 60, now + 60), 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_interleaved_keys_each_get_exactly_their_limit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_alternating_crafted_keys_share_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reset_forgets_only_its_own_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_then_retry_after_counts_to_the_window_end,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_windows_of_different_length_count_apart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_full_table_refuses_newcomers_and_keeps_counts,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
