/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for strbuf.c: append/puts/printf at the cap and one byte over, contents unchanged
 * after a failing append, geometric growth clamped to max + 1, reset and fini.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "strbuf.h"

static void
test_init_empty(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 10);
	assert_null(sb.data);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.cap, 0);
	assert_int_equal(sb.max, 10);
	/* fini on a never-used buffer is fine, twice too. */
	strbuf_fini(&sb);
	strbuf_fini(&sb);
	assert_null(sb.data);
}

static void
test_append_basic(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 100);
	assert_int_equal(strbuf_append(&sb, "abc", 3), 0);
	assert_int_equal(strbuf_puts(&sb, "def"), 0);
	assert_int_equal(strbuf_printf(&sb, "-%d-%s", 42, "x"), 0);
	assert_string_equal(sb.data, "abcdef-42-x");
	assert_int_equal(sb.len, 11);
	/* Embedded NUL is counted, not a terminator for len. */
	assert_int_equal(strbuf_append(&sb, "\0z", 2), 0);
	assert_int_equal(sb.len, 13);
	assert_memory_equal(sb.data, "abcdef-42-x\0z", 14);
	strbuf_fini(&sb);
}

static void
test_append_zero(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 5);
	/* An empty append yields an empty NUL-terminated string (p may be NULL for n == 0). */
	assert_int_equal(strbuf_append(&sb, NULL, 0), 0);
	assert_non_null(sb.data);
	assert_string_equal(sb.data, "");
	assert_int_equal(sb.len, 0);
	assert_int_equal(strbuf_puts(&sb, ""), 0);
	assert_int_equal(strbuf_printf(&sb, "%s", ""), 0);
	assert_int_equal(sb.len, 0);
	strbuf_fini(&sb);
}

static void
test_append_cap(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 8);
	/* One byte over from empty: refused, nothing allocated. */
	assert_int_equal(strbuf_append(&sb, "123456789", 9), -1);
	assert_null(sb.data);
	assert_int_equal(sb.len, 0);
	/* Exactly at the cap. */
	assert_int_equal(strbuf_append(&sb, "12345", 5), 0);
	assert_int_equal(strbuf_append(&sb, "678", 3), 0);
	assert_string_equal(sb.data, "12345678");
	assert_int_equal(sb.len, 8);
	/* Storage never exceeds max + 1. */
	assert_int_equal(sb.cap, 9);
	/* Full: one more byte fails and leaves the text alone. */
	assert_int_equal(strbuf_append(&sb, "9", 1), -1);
	assert_int_equal(strbuf_puts(&sb, "9"), -1);
	assert_int_equal(strbuf_printf(&sb, "%d", 9), -1);
	assert_string_equal(sb.data, "12345678");
	assert_int_equal(sb.len, 8);
	/* Zero bytes still fit at the cap. */
	assert_int_equal(strbuf_append(&sb, "", 0), 0);
	strbuf_fini(&sb);
}

static void
test_append_partial_over(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 10);
	assert_int_equal(strbuf_puts(&sb, "hello"), 0);
	/* 5 + 6 = 11 > 10: refused whole, never cut to fit. */
	assert_int_equal(strbuf_puts(&sb, "world!"), -1);
	assert_string_equal(sb.data, "hello");
	assert_int_equal(sb.len, 5);
	assert_int_equal(strbuf_puts(&sb, "world"), 0);
	assert_string_equal(sb.data, "helloworld");
	strbuf_fini(&sb);
}

static void
test_append_huge(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 100);
	assert_int_equal(strbuf_puts(&sb, "x"), 0);
	/* A length that would wrap size_t arithmetic must be refused without reading p. */
	assert_int_equal(strbuf_append(&sb, "y", SIZE_MAX), -1);
	assert_int_equal(strbuf_append(&sb, "y", SIZE_MAX - 1), -1);
	assert_string_equal(sb.data, "x");
	strbuf_fini(&sb);

	/* Even with no cap at all, room for the NUL is kept. */
	strbuf_init(&sb, SIZE_MAX);
	assert_int_equal(strbuf_puts(&sb, "ab"), 0);
	assert_int_equal(strbuf_append(&sb, "y", SIZE_MAX - 2), -1);
	assert_string_equal(sb.data, "ab");
	strbuf_fini(&sb);
}

static void
test_max_zero(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 0);
	assert_int_equal(strbuf_puts(&sb, ""), 0);
	assert_string_equal(sb.data, "");
	assert_int_equal(sb.cap, 1);
	assert_int_equal(strbuf_puts(&sb, "a"), -1);
	assert_int_equal(strbuf_printf(&sb, "a"), -1);
	assert_string_equal(sb.data, "");
	strbuf_fini(&sb);
}

static void
test_growth(void **state)
{
	struct strbuf sb;
	size_t prev_cap = 0, reallocs = 0;

	(void)state;
	strbuf_init(&sb, 1000);
	for (size_t i = 0; i < 1000; i++) {
		assert_int_equal(strbuf_append(&sb, "a", 1), 0);
		assert_true(sb.cap >= sb.len + 1);
		assert_true(sb.cap <= 1001);
		if (sb.cap != prev_cap) {
			reallocs++;
			prev_cap = sb.cap;
		}
	}
	/* 64, 128, 256, 512, 1001 (clamped): geometric, not one realloc per byte. */
	assert_int_equal(reallocs, 5);
	assert_int_equal(sb.cap, 1001);
	assert_int_equal(sb.len, 1000);
	assert_int_equal(strlen(sb.data), 1000);
	assert_int_equal(strbuf_append(&sb, "a", 1), -1);
	assert_int_equal(sb.len, 1000);
	strbuf_fini(&sb);
}

static void
test_reset_fini(void **state)
{
	struct strbuf sb;
	size_t cap;

	(void)state;
	strbuf_init(&sb, 100);
	assert_int_equal(strbuf_puts(&sb, "some text"), 0);
	cap = sb.cap;
	strbuf_reset(&sb);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.cap, cap);
	assert_string_equal(sb.data, "");
	assert_int_equal(strbuf_puts(&sb, "new"), 0);
	assert_string_equal(sb.data, "new");
	strbuf_fini(&sb);
	assert_null(sb.data);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.cap, 0);
	/* Reset of a never-allocated buffer must not touch NULL. */
	strbuf_reset(&sb);
	assert_null(sb.data);
	/* Re-initialised after fini, the buffer works again. */
	strbuf_init(&sb, 3);
	assert_int_equal(strbuf_puts(&sb, "abc"), 0);
	assert_string_equal(sb.data, "abc");
	strbuf_fini(&sb);
}

static void
test_printf_cap(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 10);
	assert_int_equal(strbuf_printf(&sb, "%s=%u", "key", 123456u), 0); /* 10 bytes */
	assert_string_equal(sb.data, "key=123456");
	assert_int_equal(sb.len, 10);
	strbuf_reset(&sb);
	assert_int_equal(strbuf_printf(&sb, "%s=%u", "key", 1234567u), -1); /* 11 bytes */
	assert_string_equal(sb.data, "");
	assert_int_equal(sb.len, 0);
	/* A failing printf after some text leaves that text. */
	assert_int_equal(strbuf_puts(&sb, "ab"), 0);
	assert_int_equal(strbuf_printf(&sb, "%09d", 1), -1);
	assert_string_equal(sb.data, "ab");
	assert_int_equal(strbuf_printf(&sb, "%08d", 1), 0);
	assert_string_equal(sb.data, "ab00000001");
	strbuf_fini(&sb);
}

static void
test_printf_grows(void **state)
{
	struct strbuf sb;
	char big[300];

	(void)state;
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strbuf_init(&sb, 1000);
	assert_int_equal(strbuf_puts(&sb, "<"), 0);
	assert_int_equal(strbuf_printf(&sb, "%s>", big), 0);
	assert_int_equal(sb.len, 301);
	assert_int_equal(sb.data[0], '<');
	assert_int_equal(sb.data[299], 'q');
	assert_int_equal(sb.data[300], '>');
	assert_int_equal(sb.data[301], '\0');
	strbuf_fini(&sb);
}

static void
test_printf_encoding_error(void **state)
{
	struct strbuf sb;
	/* In the C locale a non-ASCII wide character cannot be converted: vsnprintf returns -1. */
	static const wchar_t bad[] = {0x263a, 0};

	(void)state;
	strbuf_init(&sb, 100);
	assert_int_equal(strbuf_puts(&sb, "keep"), 0);
	assert_int_equal(strbuf_printf(&sb, "%ls", bad), -1);
	assert_string_equal(sb.data, "keep");
	assert_int_equal(sb.len, 4);
	strbuf_fini(&sb);
}

/* Decimal digits as snprintf("%llu") writes them, at the edges of each width. */
static void
test_utoa(void **state)
{
	static const uint64_t v[] = {0, 9, 10, 99, 100, 25, 65535, 4294967295u, UINT64_MAX};
	char got[STRBUF_U64_DIGITS], want[32];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strbuf_utoa(v[i], got);

		snprintf(want, sizeof(want), "%llu", (unsigned long long)v[i]);
		assert_int_equal(n, strlen(want));
		assert_memory_equal(got, want, n);
	}
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_empty),
	    cmocka_unit_test(test_append_basic),
	    cmocka_unit_test(test_append_zero),
	    cmocka_unit_test(test_append_cap),
	    cmocka_unit_test(test_append_partial_over),
	    cmocka_unit_test(test_append_huge),
	    cmocka_unit_test(test_max_zero),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_reset_fini),
	    cmocka_unit_test(test_printf_cap),
	    cmocka_unit_test(test_printf_grows),
	    cmocka_unit_test(test_printf_encoding_error),
	    cmocka_unit_test(test_utoa),
	};

	return cmocka_run_group_tests_name("strbuf", tests, NULL, NULL);
}
