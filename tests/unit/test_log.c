/* SPDX-License-Identifier: MIT */
/*
 * Tests of log.c's rate limiter (log.c is effectful, so this binary links it like test_cache):
 * one line per (subject, event) per LOG_RATE_INTERVAL, the held-back lines counted and
 * reported with the next one, pairs independent of each other, a clock stepped back never
 * silencing a subject, an outage logged when it begins and ends (not per failure), and
 * log_escape() making peer bytes safe.
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

/* A full disk: every request's write fails, some small ones still fit in between. One line
 * when it begins, one when writes have worked for LOG_OUTAGE_QUIET s after the last failure. */
static void
test_outage(void **state)
{
	struct log_outage o = {0};
	unsigned long failed = 99;
	int begun = 0, ended = 0;

	(void)state;
	assert_int_equal(log_outage_ok(&o, T0, &failed), 0); /* no outage: nothing to say */
	assert_int_equal(failed, 99);
	for (int i = 0; i < 300; i++) {
		begun += log_outage_fail(&o, T0 + i / 3);
		ended += log_outage_ok(&o, T0 + i / 3, &failed); /* a write that still fit */
	}
	assert_int_equal(begun, 1);
	assert_int_equal(ended, 0);
	assert_int_equal(log_outage_ok(&o, T0 + 99 + LOG_OUTAGE_QUIET - 1, &failed), 0);
	assert_int_equal(log_outage_ok(&o, T0 + 99 + LOG_OUTAGE_QUIET, &failed), 1);
	assert_int_equal(failed, 300);
	assert_int_equal(log_outage_ok(&o, T0 + 200, &failed), 0); /* over: said once */
	/* a new outage is logged again, and counted afresh */
	assert_int_equal(log_outage_fail(&o, T0 + 300), 1);
	assert_int_equal(log_outage_fail(&o, T0 + 301), 0);
	/* a clock stepped back ends it rather than keeping it for ever */
	assert_int_equal(log_outage_ok(&o, T0, &failed), 1);
	assert_int_equal(failed, 2);
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
	    cmocka_unit_test(test_outage),
	    cmocka_unit_test(test_escape),
	};

	log_init("test_log", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
