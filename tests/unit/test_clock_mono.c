/* Unit tests: clock_mono_ms, the one millisecond clock of every module,
 * reads the same clock as clock_mono_ns and never goes back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <time.h>

#include "server/clock.h"

static void test_ms_is_the_ns_clock_in_milliseconds(void **state)
{
    (void)state;
    int64_t before = (int64_t)(clock_mono_ns() / 1000000u);
    int64_t ms = clock_mono_ms();
    int64_t after = (int64_t)(clock_mono_ns() / 1000000u);
    assert_true(before <= ms);
    assert_true(ms <= after);
}

static void test_ms_never_goes_back_and_moves_on(void **state)
{
    (void)state;
    int64_t first = clock_mono_ms(), last = first;
    for (int i = 0; i < 100000; i++) {
        int64_t now = clock_mono_ms();
        assert_true(now >= last);
        last = now;
    }
    struct timespec nap = { 0, 5 * 1000000L };
    while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
        ;
    assert_true(clock_mono_ms() - first >= 5);
}

static void test_a_deadline_ahead_gives_a_negative_difference(void **state)
{
    (void)state;
    /* callers compute now - deadline and deadline - now: signed, no wrap */
    int64_t deadline = clock_mono_ms() + 1000;
    assert_true(clock_mono_ms() - deadline < 0);
    assert_true(deadline - clock_mono_ms() > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ms_is_the_ns_clock_in_milliseconds),
        cmocka_unit_test(test_ms_never_goes_back_and_moves_on),
        cmocka_unit_test(test_a_deadline_ahead_gives_a_negative_difference),
    };
    return cmocka_run_group_tests_name("clock_mono", tests, NULL, NULL);
}
