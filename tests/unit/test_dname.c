/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dname.c: one table row per cmocka test, plus the length caps built at run time
 * (253 ok / 254 bad, label 63 ok / 64 bad) and the untouched-output guarantee.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dname.h"

/* A literal with its exact length, so embedded NULs count. */
#define S(s) s, sizeof(s) - 1

struct dname_case {
	const char *name;
	const char *in;
	size_t len;
	enum dname_err want;
	const char *out; /* expected normalised name when want == DNAME_OK */
};

static struct dname_case cases[] = {
    {"plain", S("example.com"), DNAME_OK, "example.com"},
    {"upper", S("Mail.EXAMPLE.Com"), DNAME_OK, "mail.example.com"},
    {"trailing dot", S("example.com."), DNAME_OK, "example.com"},
    {"digits hyphen", S("a-1.0-9.x-y"), DNAME_OK, "a-1.0-9.x-y"},
    {"single char labels", S("a.b"), DNAME_OK, "a.b"},
    {"inner hyphens", S("xn--bcher-kva.example"), DNAME_OK, "xn--bcher-kva.example"},
    {"empty", S(""), DNAME_EMPTY, NULL},
    {"only dot", S("."), DNAME_EMPTY, NULL},
    {"two trailing dots", S("example.com.."), DNAME_EMPTY_LABEL, NULL},
    {"double dot", S("example..com"), DNAME_EMPTY_LABEL, NULL},
    {"leading dot", S(".example.com"), DNAME_EMPTY_LABEL, NULL},
    {"dot dot", S(".."), DNAME_EMPTY_LABEL, NULL},
    {"underscore", S("_mta-sts.example.com"), DNAME_BAD_CHAR, NULL},
    {"underscore inner", S("ex_ample.com"), DNAME_BAD_CHAR, NULL},
    {"space", S("exa mple.com"), DNAME_BAD_CHAR, NULL},
    {"nul", S("exa\0mple.com"), DNAME_BAD_CHAR, NULL},
    {"tab", S("example.com\t"), DNAME_BAD_CHAR, NULL},
    {"del", S("example.co\x7f"), DNAME_BAD_CHAR, NULL},
    {"high byte 0x80", S("ex\x80mple.com"), DNAME_BAD_CHAR, NULL},
    {"high byte 0xff", S("example.com\xff"), DNAME_BAD_CHAR, NULL},
    {"utf8",
     S("b\xc3\xbc"
       "cher.example"),
     DNAME_BAD_CHAR, NULL},
    {"colon", S("example.com:25"), DNAME_BAD_CHAR, NULL},
    {"brackets", S("[example.com]"), DNAME_BAD_CHAR, NULL},
    {"slash", S("a/b.com"), DNAME_BAD_CHAR, NULL},
    {"leading hyphen", S("-example.com"), DNAME_BAD_HYPHEN, NULL},
    {"trailing hyphen", S("example-.com"), DNAME_BAD_HYPHEN, NULL},
    {"tld hyphen", S("example.com-"), DNAME_BAD_HYPHEN, NULL},
    {"hyphen only label", S("a.-.b"), DNAME_BAD_HYPHEN, NULL},
    {"single label", S("localhost"), DNAME_SINGLE_LABEL, NULL},
    {"single label dot", S("com."), DNAME_SINGLE_LABEL, NULL},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void
test_case(void **state)
{
	const struct dname_case *c = *state;
	char out[DNAME_MAX + 1];
	size_t outlen = 9999;

	memset(out, 'Z', sizeof(out));
	assert_int_equal(dname_normalize(c->in, c->len, out, &outlen), c->want);
	if (c->want == DNAME_OK) {
		assert_string_equal(out, c->out);
		assert_int_equal(outlen, strlen(c->out));
		/* Normal form exactly when normalising changes nothing. */
		assert_int_equal(dname_is_normal(c->in, c->len),
		                 c->len == outlen && memcmp(c->in, c->out, outlen) == 0);
		assert_int_equal(dname_is_normal(c->out, outlen), 1);
	} else {
		assert_int_equal(dname_is_normal(c->in, c->len), 0);
		/* Failure leaves the caller's storage and length alone. */
		assert_int_equal(out[0], 'Z');
		assert_int_equal(outlen, 9999);
	}
}

/* Write labels of the given lengths joined by dots into buf; returns the total length. */
static size_t
build(char *buf, const size_t *labels, size_t n, char fill)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf[len++] = '.';
		memset(buf + len, fill, labels[i]);
		len += labels[i];
	}
	return len;
}

static void
test_total_cap(void **state)
{
	static const size_t ok[] = {63, 63, 63, 61};  /* 253 */
	static const size_t bad[] = {63, 63, 63, 62}; /* 254 */
	char in[300], out[DNAME_MAX + 1];
	size_t len, outlen = 0;

	(void)state;
	len = build(in, ok, 4, 'A');
	assert_int_equal(len, 253);
	assert_int_equal(dname_normalize(in, len, out, &outlen), DNAME_OK);
	assert_int_equal(outlen, 253);
	assert_int_equal(strlen(out), 253);
	assert_int_equal(out[0], 'a');

	/* 253 plus the one trailing dot that is stripped is still fine. */
	in[len] = '.';
	assert_int_equal(dname_normalize(in, len + 1, out, &outlen), DNAME_OK);
	assert_int_equal(outlen, 253);

	len = build(in, bad, 4, 'a');
	assert_int_equal(len, 254);
	assert_int_equal(dname_normalize(in, len, out, NULL), DNAME_TOO_LONG);
	in[len] = '.';
	assert_int_equal(dname_normalize(in, len + 1, out, NULL), DNAME_TOO_LONG);

	/* Far over the cap: rejected on length alone. */
	memset(in, 'a', sizeof(in));
	assert_int_equal(dname_normalize(in, sizeof(in), out, NULL), DNAME_TOO_LONG);
}

static void
test_label_cap(void **state)
{
	static const size_t ok[] = {63, 3};
	static const size_t bad[] = {64, 3};
	static const size_t bad_last[] = {3, 64};
	char in[200], out[DNAME_MAX + 1];
	size_t len, outlen = 0;

	(void)state;
	len = build(in, ok, 2, 'x');
	assert_int_equal(dname_normalize(in, len, out, &outlen), DNAME_OK);
	assert_int_equal(outlen, 67);
	len = build(in, bad, 2, 'x');
	assert_int_equal(dname_normalize(in, len, out, NULL), DNAME_LABEL_TOO_LONG);
	len = build(in, bad_last, 2, 'x');
	assert_int_equal(dname_normalize(in, len, out, NULL), DNAME_LABEL_TOO_LONG);
}

static void
test_not_nul_terminated(void **state)
{
	/* Only len bytes are read: the rest of the buffer is garbage. */
	const char in[] = {'e', 'x', '.', 'c', 'o', 'm', '_', '!'};
	char out[DNAME_MAX + 1];
	size_t outlen = 0;

	(void)state;
	assert_int_equal(dname_normalize(in, 6, out, &outlen), DNAME_OK);
	assert_string_equal(out, "ex.com");
	assert_int_equal(outlen, 6);
}

/* The rules as a plain byte-by-byte scan (dname.c's first form): a reference for the
 * label-by-label scan, error code included. */
static enum dname_err
ref_normalize(const char *p, size_t len, char out[DNAME_MAX + 1], size_t *outlen)
{
	size_t start = 0, dots = 0;

	if (len > 0 && p[len - 1] == '.')
		len--;
	if (len == 0)
		return DNAME_EMPTY;
	if (len > DNAME_MAX)
		return DNAME_TOO_LONG;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)p[i] : '.';

		if (c == '.') {
			if (i == start)
				return DNAME_EMPTY_LABEL;
			if (p[start] == '-' || p[i - 1] == '-')
				return DNAME_BAD_HYPHEN;
			start = i + 1;
			dots += i < len;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return DNAME_BAD_CHAR;
		if (i - start + 1 > DNAME_LABEL_MAX)
			return DNAME_LABEL_TOO_LONG;
	}
	if (dots == 0)
		return DNAME_SINGLE_LABEL;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i]);
	out[len] = '\0';
	*outlen = len;
	return DNAME_OK;
}

/* dname_normalize() against the reference on one input: same code, same name. */
static void
check_ref(const char *in, size_t len)
{
	char out[DNAME_MAX + 1], ref[DNAME_MAX + 1];
	size_t outlen = 0, reflen = 0;
	enum dname_err e = dname_normalize(in, len, out, &outlen);
	enum dname_err want = ref_normalize(in, len, ref, &reflen);

	if (e != want)
		fail_msg("\"%.*s\" (%zu bytes): %s, want %s", (int)len, in, len, dname_strerror(e),
		         dname_strerror(want));
	if (e == DNAME_OK && (outlen != reflen || memcmp(out, ref, outlen) != 0))
		fail_msg("\"%.*s\": normalised differently", (int)len, in);
}

/* Long names from a fixed pseudo-random sequence, mostly LDH with long labels, so that the
 * label cap, the total cap and a bad byte meet in every order. */
static void
test_reference(void **state)
{
	static const char alpha[] = "abcXYZ019--..._\x80";
	char in[DNAME_MAX + 8];
	uint32_t x = 12345;

	(void)state;
	for (int k = 0; k < 50000; k++) {
		size_t len, run;

		x = x * 1103515245u + 12345u;
		len = (x >> 8) % (DNAME_MAX + 4);
		x = x * 1103515245u + 12345u;
		run = 20 + (x >> 8) % 60; /* typical label length of this name */
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			if ((x >> 8) % run == 0)
				in[i] = alpha[(x >> 16) % (sizeof(alpha) - 1)];
			else
				in[i] = "abz09-"[(x >> 16) % 6];
		}
		check_ref(in, len);
	}
	for (size_t i = 0; i < NCASES; i++)
		check_ref(cases[i].in, cases[i].len);
}

/* dname_is_normal() against its definition, for every name of up to 5 bytes over an alphabet
 * that reaches each rule (case, hyphen, dot, digit, a byte never allowed), plus the caps. */
static void
test_is_normal(void **state)
{
	static const char alpha[] = "aA-.0_";
	char in[DNAME_MAX + 2], out[DNAME_MAX + 1];
	size_t outlen, n = 0;

	(void)state;
	for (size_t len = 0; len <= 5; len++) {
		size_t total = 1;

		for (size_t i = 0; i < len; i++)
			total *= sizeof(alpha) - 1;
		for (size_t k = 0; k < total; k++, n++) {
			size_t v = k;
			int want;

			for (size_t i = 0; i < len; i++, v /= sizeof(alpha) - 1)
				in[i] = alpha[v % (sizeof(alpha) - 1)];
			outlen = 0;
			want = dname_normalize(in, len, out, &outlen) == DNAME_OK &&
			       outlen == len && memcmp(out, in, len) == 0;
			if (dname_is_normal(in, len) != want)
				fail_msg("\"%.*s\": dname_is_normal says %d", (int)len, in, !want);
			memset(out, 'Z', sizeof(out));
			if (dname_copy_normal(in, len, out) != want)
				fail_msg("\"%.*s\": dname_copy_normal says %d", (int)len, in,
				         !want);
			if (want && (memcmp(out, in, len) != 0 || out[len] != '\0'))
				fail_msg("\"%.*s\": dname_copy_normal copied it wrong", (int)len,
				         in);
		}
	}
	assert_int_equal(n, 1 + 6 + 36 + 216 + 1296 + 7776);
	/* The caps: 253 bytes are normal, 254 never (not even as 253 and a dot). */
	memset(in, 'a', sizeof(in));
	for (int d = 63; d < DNAME_MAX; d += 64)
		in[d] = '.';
	assert_int_equal(dname_is_normal(in, DNAME_MAX), 1);
	assert_int_equal(dname_copy_normal(in, DNAME_MAX, out), 1);
	assert_memory_equal(out, in, DNAME_MAX);
	assert_int_equal(out[DNAME_MAX], '\0');
	assert_int_equal(dname_copy_normal(in, DNAME_MAX + 1, out), 0);
	assert_int_equal(dname_is_normal(in, DNAME_MAX + 1), 0);
	in[DNAME_MAX] = '.';
	assert_int_equal(dname_is_normal(in, DNAME_MAX + 1), 0);
	/* A 64-byte label is not. */
	memset(in, 'b', 64);
	memcpy(in + 64, ".com", 4);
	assert_int_equal(dname_is_normal(in, 68), 0);
	assert_int_equal(dname_is_normal(in + 1, 67), 1);
}

static void
test_strerror(void **state)
{
	enum dname_err e;

	(void)state;
	assert_string_equal(dname_strerror(DNAME_OK), "ok");
	for (e = DNAME_EMPTY; e <= DNAME_SINGLE_LABEL; e++) {
		assert_non_null(dname_strerror(e));
		assert_string_not_equal(dname_strerror(e), "ok");
		assert_string_not_equal(dname_strerror(e), "unknown dname error");
		if (e > DNAME_EMPTY)
			assert_string_not_equal(dname_strerror(e), dname_strerror(e - 1));
	}
	assert_string_equal(dname_strerror((enum dname_err)99), "unknown dname error");
}

static struct CMUnitTest tests[NCASES + 6];

int
main(void)
{
	size_t n = 0;

	for (size_t i = 0; i < NCASES; i++)
		tests[n++] = (struct CMUnitTest){
		    .name = cases[i].name, .test_func = test_case, .initial_state = &cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_total_cap);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_label_cap);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_not_nul_terminated);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_is_normal);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_reference);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_strerror);
	return cmocka_run_group_tests_name("dname", tests, NULL, NULL);
}
