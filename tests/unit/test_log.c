/* SPDX-License-Identifier: MIT */
/*
 * Tests of log.c's rate limiter (log.c is effectful, so this binary links it like test_cache):
 * one line per (subject, event) per LOG_RATE_INTERVAL, the held-back lines counted and
 * reported with the next one, pairs independent of each other, a clock stepped back never
 * silencing a subject, and log_escape() making peer bytes safe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

#define T0 1700000000

static void
test_rate(void **state)
{
	unsigned held = 99;

	(void)state;
	assert_int_equal(log_rate_pass("a.example", "fetch-failed", T0, &held), 1);
	assert_int_equal(held, 0);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(log_rate_pass("a.example", "fetch-failed", T0 + i, &held), 0);
		assert_int_equal(held, 0);
	}
	assert_int_equal(
	    log_rate_pass("a.example", "fetch-failed", T0 + LOG_RATE_INTERVAL - 1, &held), 0);
	/* the interval is over: through, with the four held back */
	assert_int_equal(log_rate_pass("a.example", "fetch-failed", T0 + LOG_RATE_INTERVAL, &held),
	                 1);
	assert_int_equal(held, 4);
	assert_int_equal(
	    log_rate_pass("a.example", "fetch-failed", T0 + 2 * LOG_RATE_INTERVAL, &held), 1);
	assert_int_equal(held, 0);
}

static void
test_rate_pairs(void **state)
{
	unsigned held;

	(void)state;
	assert_int_equal(log_rate_pass("b.example", "txt-failed", T0, &held), 1);
	/* another event of the same subject, the same event of another subject: not held */
	assert_int_equal(log_rate_pass("b.example", "temp", T0, &held), 1);
	assert_int_equal(log_rate_pass("c.example", "txt-failed", T0, &held), 1);
	/* subject and event are kept apart: "ab"+"c" is not "a"+"bc" */
	assert_int_equal(log_rate_pass("ab", "c", T0, &held), 1);
	assert_int_equal(log_rate_pass("a", "bc", T0, &held), 1);
	assert_int_equal(log_rate_pass("ab", "c", T0 + 1, &held), 0);
	/* a clock stepped back does not silence a subject */
	assert_int_equal(log_rate_pass("b.example", "txt-failed", T0 - 3600, &held), 1);
}

static void
test_escape(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(log_escape("ok", 2, buf, sizeof(buf)), "ok");
	assert_string_equal(log_escape("a\"b\n", 4, buf, sizeof(buf)), "a\\x22b\\x0a");
	assert_string_equal(log_escape("0123456789abcdef", 16, buf, sizeof(buf)),
	                    "0123456789ab...");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rate),
	    cmocka_unit_test(test_rate_pairs),
	    cmocka_unit_test(test_escape),
	};

	log_init("test_log", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
