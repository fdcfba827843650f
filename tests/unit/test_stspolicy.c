/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for stspolicy.c (RFC 8461 s3.2, s4.1): one table row per body (every error code,
 * LF/CRLF, first-wins duplicates, extension keys, injection attempts), the byte/line/mx/max_age
 * and pattern-length caps at the cap and one over, MX pattern matching, and the golden files
 * $top_srcdir/tests/data/stspolicy/ *.in whose rendering must equal the matching *.ref.
 * Every body is copied into a heap block of exactly its length, so a read past len (or a
 * reliance on a NUL) is caught by ASan/valgrind.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stspolicy.h"

#define S(s) s, sizeof(s) - 1
#define HEAD "version: STSv1\nmode: enforce\n"
#define TAIL "max_age: 86400\n"
#define MX "mx: a.example.com\n"
#define OK_A "OK mode=enforce max_age=86400 mx=a.example.com"
#define RENDER_MAX (STSPOLICY_MAX_MX * (DNAME_MAX + 1) + 64)

struct pol_case {
	const char *name;
	const char *in;
	size_t len;
	enum stspolicy_err want;
	const char *render; /* rendering, as in the .ref files */
};

static const struct pol_case cases[] = {
    /* Accepted bodies. */
    {"lf", S(HEAD "mx: mail.example.com\n" TAIL), STSPOLICY_OK,
     "OK mode=enforce max_age=86400 mx=mail.example.com"},
    {"crlf", S("version: STSv1\r\nmode: enforce\r\nmx: a.example.com\r\nmax_age: 5\r\n"),
     STSPOLICY_OK, "OK mode=enforce max_age=5 mx=a.example.com"},
    {"mixed lf crlf", S("version: STSv1\r\nmode: enforce\nmx: a.example.com\r\n" TAIL),
     STSPOLICY_OK, OK_A},
    {"no final newline", S(HEAD MX "max_age: 7"), STSPOLICY_OK,
     "OK mode=enforce max_age=7 mx=a.example.com"},
    {"no final crlf", S("version: STSv1\r\nmode: none\r\nmax_age: 7"), STSPOLICY_OK,
     "OK mode=none max_age=7 mx="},
    {"any order", S(TAIL MX "mode: enforce\nversion: STSv1"), STSPOLICY_OK, OK_A},
    {"mode none without mx", S("version: STSv1\nmode: none\nmax_age: 0\n"), STSPOLICY_OK,
     "OK mode=none max_age=0 mx="},
    {"mode none keeps mx", S("version: STSv1\nmode: none\n" MX TAIL), STSPOLICY_OK,
     "OK mode=none max_age=86400 mx=a.example.com"},
    {"testing", S("version: STSv1\nmode: testing\nmx: *.example.com\n" TAIL), STSPOLICY_OK,
     "OK mode=testing max_age=86400 mx=*.example.com"},
    {"mx accumulate", S(HEAD MX "mx: *.b.example.com\nmx: a.example.com\n" TAIL), STSPOLICY_OK,
     "OK mode=enforce max_age=86400 mx=a.example.com,*.b.example.com,a.example.com"},
    {"mx lower-cased", S(HEAD "mx: MAIL.Example.COM\n" TAIL), STSPOLICY_OK,
     "OK mode=enforce max_age=86400 mx=mail.example.com"},
    {"mx wildcard lower-cased", S(HEAD "mx: *.MX.Example.Net.\n" TAIL), STSPOLICY_OK,
     "OK mode=enforce max_age=86400 mx=*.mx.example.net"},
    {"mx trailing dot", S(HEAD "mx: a.example.com.\n" TAIL), STSPOLICY_OK, OK_A},
    {"no space after colon", S("version:STSv1\nmode:enforce\nmx:a.example.com\nmax_age:86400"),
     STSPOLICY_OK, OK_A},
    {"tabs and trailing space",
     S("version:\tSTSv1 \nmode: \tenforce\t\nmx:  a.example.com \t\n"
       "max_age: 86400 \n"),
     STSPOLICY_OK, OK_A},
    {"first version wins", S(HEAD MX TAIL "version: STSv2\n"), STSPOLICY_OK, OK_A},
    {"first mode wins", S(HEAD "mode: none\n" MX TAIL), STSPOLICY_OK, OK_A},
    {"first mode wins over junk", S(HEAD "mode: bogus\n" MX TAIL), STSPOLICY_OK, OK_A},
    {"first max_age wins", S(HEAD MX "max_age: 1\nmax_age: 2\n"), STSPOLICY_OK,
     "OK mode=enforce max_age=1 mx=a.example.com"},
    {"later bad max_age ignored", S(HEAD MX TAIL "max_age: +5\n"), STSPOLICY_OK, OK_A},
    {"extension ignored", S(HEAD "x-ext_1.b: any value: with = signs\n" MX TAIL), STSPOLICY_OK,
     OK_A},
    {"extension name 32", S(HEAD "a234567890123456789012345678901b: 1\n" MX TAIL), STSPOLICY_OK,
     OK_A},
    {"extension key digit first", S(HEAD "2x: y\n" MX TAIL), STSPOLICY_OK, OK_A},
    {"key case: Mode is an extension", S(HEAD "Mode: none\nMX: evil\n" MX TAIL), STSPOLICY_OK,
     OK_A},
    {"empty lines", S("\n" HEAD "\n" MX "\r\n\n" TAIL "\n"), STSPOLICY_OK, OK_A},
    {"max_age 0", S(HEAD MX "max_age: 0\n"), STSPOLICY_OK,
     "OK mode=enforce max_age=0 mx=a.example.com"},
    {"max_age max", S(HEAD MX "max_age: 31557600\n"), STSPOLICY_OK,
     "OK mode=enforce max_age=31557600 mx=a.example.com"},
    {"max_age 10 digits", S(HEAD MX "max_age: 0031557600\n"), STSPOLICY_OK,
     "OK mode=enforce max_age=31557600 mx=a.example.com"},

    /* STSPOLICY_BAD_MAX_AGE */
    {"max_age over", S(HEAD MX "max_age: 31557601\n"), STSPOLICY_BAD_MAX_AGE, NULL},
    {"max_age plus", S(HEAD MX "max_age: +5\n"), STSPOLICY_BAD_MAX_AGE, NULL},
    {"max_age minus", S(HEAD MX "max_age: -5\n"), STSPOLICY_BAD_MAX_AGE, NULL},
    {"max_age 11 digits", S(HEAD MX "max_age: 00000000001\n"), STSPOLICY_BAD_MAX_AGE, NULL},
    {"max_age huge", S(HEAD MX "max_age: 99999999999999999999999\n"), STSPOLICY_BAD_MAX_AGE, NULL},
    {"max_age hex", S(HEAD MX "max_age: 0x10\n"), STSPOLICY_BAD_MAX_AGE, NULL},
    {"max_age inner space", S(HEAD MX "max_age: 86 400\n"), STSPOLICY_BAD_MAX_AGE, NULL},
    {"max_age unit", S(HEAD MX "max_age: 86400s\n"), STSPOLICY_BAD_MAX_AGE, NULL},
    {"max_age missing", S(HEAD MX), STSPOLICY_BAD_MAX_AGE, NULL},
    {"max_age wrong case key", S(HEAD MX "Max_Age: 86400\n"), STSPOLICY_BAD_MAX_AGE, NULL},

    /* STSPOLICY_BAD_VERSION */
    {"version missing", S("mode: enforce\n" MX TAIL), STSPOLICY_BAD_VERSION, NULL},
    {"version wrong", S("version: STSv2\nmode: enforce\n" MX TAIL), STSPOLICY_BAD_VERSION, NULL},
    {"version lower case", S("version: stsv1\nmode: enforce\n" MX TAIL), STSPOLICY_BAD_VERSION,
     NULL},
    {"version with suffix", S("version: STSv1 x\nmode: enforce\n" MX TAIL), STSPOLICY_BAD_VERSION,
     NULL},
    {"empty", S(""), STSPOLICY_BAD_VERSION, NULL},
    {"only newlines", S("\n\r\n\n"), STSPOLICY_BAD_VERSION, NULL},

    /* STSPOLICY_BAD_MODE */
    {"mode missing", S("version: STSv1\n" MX TAIL), STSPOLICY_BAD_MODE, NULL},
    {"mode upper", S("version: STSv1\nmode: ENFORCE\n" MX TAIL), STSPOLICY_BAD_MODE, NULL},
    {"mode unknown", S("version: STSv1\nmode: report\n" MX TAIL), STSPOLICY_BAD_MODE, NULL},
    {"mode prefix", S("version: STSv1\nmode: enforced\n" MX TAIL), STSPOLICY_BAD_MODE, NULL},

    /* STSPOLICY_NO_MX */
    {"enforce no mx", S(HEAD TAIL), STSPOLICY_NO_MX, NULL},
    {"testing no mx", S("version: STSv1\nmode: testing\n" TAIL), STSPOLICY_NO_MX, NULL},

    /* STSPOLICY_BAD_MX: nothing but a host name may ever reach a Postfix reply. */
    {"mx attribute injection", S(HEAD "mx: a.example.com servername=evil\n" TAIL), STSPOLICY_BAD_MX,
     NULL},
    {"mx tab inside", S(HEAD "mx: a.example.com\tmatch=x\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx equals", S(HEAD "mx: a=b.example.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx port colon", S(HEAD "mx: a.example.com:25\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx braces", S(HEAD "mx: {a.example.com}\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx brace policy string", S(HEAD "mx: a.example.com }\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx comma", S(HEAD "mx: a.example.com,b.example.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx semicolon", S(HEAD "mx: a.example.com;b\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx brackets", S(HEAD "mx: [a.example.com]\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx ip literal", S(HEAD "mx: [192.0.2.1]\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx quote", S(HEAD "mx: \"a.example.com\"\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx double wildcard", S(HEAD "mx: *.*.example.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx inner wildcard", S(HEAD "mx: a.*.example.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx partial wildcard", S(HEAD "mx: mx*.example.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx star no dot", S(HEAD "mx: *example.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx star alone", S(HEAD "mx: *\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx star dot", S(HEAD "mx: *.\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx wildcard tld", S(HEAD "mx: *.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx leading dot", S(HEAD "mx: .example.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx empty label", S(HEAD "mx: a..example.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx two trailing dots", S(HEAD "mx: a.example.com..\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx hyphen edge", S(HEAD "mx: -a.example.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx underscore", S(HEAD "mx: a_b.example.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx single label", S(HEAD "mx: localhost\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx label 64",
     S(HEAD "mx: a234567890123456789012345678901234567890123456789012345678901234"
            ".example.com\n" TAIL),
     STSPOLICY_BAD_MX, NULL},
    {"bad mx in mode none", S("version: STSv1\nmode: none\nmx: a b\n" TAIL), STSPOLICY_BAD_MX,
     NULL},

    /* STSPOLICY_SYNTAX: lines that are not key ":" value. */
    {"mx empty", S(HEAD "mx:\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"mx only spaces", S(HEAD "mx:   \n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"no colon", S(HEAD "mx a.example.com\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"space before colon", S(HEAD "mx : a.example.com\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"leading space", S(HEAD " mx: a.example.com\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"whitespace-only line", S(HEAD MX " \n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"lone CR", S(HEAD "mx: a.example.com\rmax_age: 5\n"), STSPOLICY_SYNTAX, NULL},
    {"CR CR LF", S(HEAD MX "max_age: 5\r\r\n"), STSPOLICY_SYNTAX, NULL},
    {"CR at end of body", S(HEAD MX "max_age: 5\r"), STSPOLICY_SYNTAX, NULL},
    {"NUL in mx", S(HEAD "mx: a.exa\0mple.com\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"NUL line", S(HEAD MX "\0\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"control byte in mx", S(HEAD "mx: a.example.com\x1b[0m\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"control byte in extension", S(HEAD MX "x: a\x01z\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"DEL in extension", S(HEAD MX "x: a\x7fz\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"high byte value", S(HEAD MX "x: caf\xc3\xa9\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"high byte mx",
     S(HEAD "mx: b\xc3\xbc"
            "cher.example\n" TAIL),
     STSPOLICY_SYNTAX, NULL},
    {"utf-8 bom", S("\xef\xbb\xbfversion: STSv1\nmode: enforce\n" MX TAIL), STSPOLICY_SYNTAX, NULL},
    {"bad extension key", S(HEAD "_x: 1\n" MX TAIL), STSPOLICY_SYNTAX, NULL},
    {"extension name 33", S(HEAD "a234567890123456789012345678901bc: 1\n" MX TAIL),
     STSPOLICY_SYNTAX, NULL},
    {"extension empty value", S(HEAD "x-ext:\n" MX TAIL), STSPOLICY_SYNTAX, NULL},
    {"space in key", S(HEAD "m x: 1\n" MX TAIL), STSPOLICY_SYNTAX, NULL},
    {"empty key", S(HEAD ": 1\n" MX TAIL), STSPOLICY_SYNTAX, NULL},
    {"later duplicate malformed", S(HEAD MX TAIL "mode:\n"), STSPOLICY_SYNTAX, NULL},
    {"html", S("<html>\n<body>404</body>\n"), STSPOLICY_SYNTAX, NULL},
    {"json", S("{\"version\": \"STSv1\"}\n"), STSPOLICY_SYNTAX, NULL},
};

/* The .ref form: "OK mode=M max_age=N mx=A,B" or "ERR <strerror text>". */
static void
render(enum stspolicy_err e, const struct stspolicy *p, char *out, size_t outsz)
{
	size_t o;
	int n;

	if (e != STSPOLICY_OK) {
		n = snprintf(out, outsz, "ERR %s", stspolicy_strerror(e));
		assert_true(n > 0 && (size_t)n < outsz);
		return;
	}
	n = snprintf(out, outsz, "OK mode=%s max_age=%u mx=", stspolicy_mode_name(p->mode),
	             (unsigned)p->max_age);
	assert_true(n > 0 && (size_t)n < outsz);
	o = (size_t)n;
	assert_true(p->n_mx <= STSPOLICY_MAX_MX);
	for (unsigned i = 0; i < p->n_mx; i++) {
		n = snprintf(out + o, outsz - o, "%s%s", i ? "," : "", p->mx[i]);
		assert_true(n >= 0 && (size_t)n < outsz - o);
		o += (size_t)n;
	}
}

/* Parse from a heap block of exactly len bytes: no NUL after it for the parser to lean on. */
static enum stspolicy_err
parse_exact(const char *in, size_t len, struct stspolicy *p)
{
	char *buf = malloc(len ? len : 1);
	enum stspolicy_err e;

	assert_non_null(buf);
	if (len > 0)
		memcpy(buf, in, len);
	e = stspolicy_parse(buf, len, p);
	free(buf);
	return e;
}

static void
test_case(void **state)
{
	const struct pol_case *c = *state;
	static struct stspolicy p;
	static char got[RENDER_MAX];
	enum stspolicy_err e;

	e = parse_exact(c->in, c->len, &p);
	if (e != c->want)
		fail_msg("got %s, want %s", stspolicy_strerror(e), stspolicy_strerror(c->want));
	if (c->want == STSPOLICY_OK) {
		render(e, &p, got, sizeof(got));
		assert_string_equal(got, c->render);
	}
}

/* Build HEAD, n mx lines, TAIL. */
static size_t
build_mx(char *buf, size_t bufsz, unsigned n)
{
	size_t o = (size_t)snprintf(buf, bufsz, HEAD);

	for (unsigned i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, bufsz - o, "mx: mx%u.example.com\n", i);
	o += (size_t)snprintf(buf + o, bufsz - o, TAIL);
	assert_true(o < bufsz);
	return o;
}

static void
test_cap_mx(void **state)
{
	static char buf[8192];
	static struct stspolicy p;
	size_t len;

	(void)state;
	len = build_mx(buf, sizeof(buf), STSPOLICY_MAX_MX);
	assert_int_equal(parse_exact(buf, len, &p), STSPOLICY_OK);
	assert_int_equal(p.n_mx, STSPOLICY_MAX_MX);
	assert_string_equal(p.mx[STSPOLICY_MAX_MX - 1], "mx63.example.com");
	len = build_mx(buf, sizeof(buf), STSPOLICY_MAX_MX + 1);
	assert_int_equal(parse_exact(buf, len, &p), STSPOLICY_TOO_MANY_MX);
}

/* Exactly STSPOLICY_MAX_BYTES (padded by one long extension line), then one byte more. */
static void
test_cap_bytes(void **state)
{
	static char buf[STSPOLICY_MAX_BYTES + 1];
	static struct stspolicy p;
	size_t o;

	(void)state;
	o = (size_t)snprintf(buf, sizeof(buf), HEAD MX TAIL "pad: ");
	memset(buf + o, 'x', STSPOLICY_MAX_BYTES - o - 1);
	buf[STSPOLICY_MAX_BYTES - 1] = '\n';
	assert_int_equal(parse_exact(buf, STSPOLICY_MAX_BYTES, &p), STSPOLICY_OK);
	buf[STSPOLICY_MAX_BYTES - 1] = 'x';
	buf[STSPOLICY_MAX_BYTES] = '\n';
	assert_int_equal(parse_exact(buf, STSPOLICY_MAX_BYTES + 1, &p), STSPOLICY_TOO_BIG);
	/* Size is judged before content: an oversized body of NULs is TOO_BIG, not SYNTAX. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(parse_exact(buf, STSPOLICY_MAX_BYTES + 1, &p), STSPOLICY_TOO_BIG);
}

/* STSPOLICY_LINES_MAX lines (blank lines count), then one more; LF and CRLF. */
static void
test_cap_lines(void **state)
{
	static char buf[3 * STSPOLICY_LINES_MAX];
	static struct stspolicy p;
	size_t o, len;

	(void)state;
	o = (size_t)snprintf(buf, sizeof(buf), HEAD MX TAIL);
	memset(buf + o, '\n', STSPOLICY_LINES_MAX - 4);
	len = o + STSPOLICY_LINES_MAX - 4;
	assert_int_equal(parse_exact(buf, len, &p), STSPOLICY_OK);
	buf[len] = 'x'; /* an unterminated last line is line 1001 */
	assert_int_equal(parse_exact(buf, len + 1, &p), STSPOLICY_TOO_MANY_LINES);
	buf[len] = '\n';
	assert_int_equal(parse_exact(buf, len + 1, &p), STSPOLICY_TOO_MANY_LINES);

	o = (size_t)snprintf(buf, sizeof(buf), "version: STSv1\r\nmode: none\r\nmax_age: 1\r\n");
	for (unsigned i = 3; i < STSPOLICY_LINES_MAX; i++) {
		buf[o++] = '\r';
		buf[o++] = '\n';
	}
	assert_int_equal(parse_exact(buf, o, &p), STSPOLICY_OK);
	buf[o++] = '\r';
	buf[o++] = '\n';
	assert_int_equal(parse_exact(buf, o, &p), STSPOLICY_TOO_MANY_LINES);
}

/* A stored pattern ("*." + name) never exceeds DNAME_MAX bytes. */
static void
test_cap_mx_length(void **state)
{
	static char buf[1024];
	static struct stspolicy p;
	char name[DNAME_MAX + 2];
	size_t o;

	(void)state;
	/* Labels of 63 bytes; a 251-byte name (with "*.": 253), then 252 (254) and 253. */
	memset(name, 'a', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	name[251] = '\0';
	o = (size_t)snprintf(buf, sizeof(buf), HEAD "mx: *.%s\n" TAIL, name);
	assert_int_equal(parse_exact(buf, o, &p), STSPOLICY_OK);
	assert_int_equal(strlen(p.mx[0]), DNAME_MAX);
	name[251] = 'a';
	name[252] = '\0';
	o = (size_t)snprintf(buf, sizeof(buf), HEAD "mx: *.%s\n" TAIL, name);
	assert_int_equal(parse_exact(buf, o, &p), STSPOLICY_BAD_MX);
	name[252] = 'a';
	name[253] = '\0';
	o = (size_t)snprintf(buf, sizeof(buf), HEAD "mx: %s.\n" TAIL, name);
	assert_int_equal(parse_exact(buf, o, &p), STSPOLICY_OK);
	assert_int_equal(strlen(p.mx[0]), DNAME_MAX);
	name[253] = 'a';
	name[254] = '\0';
	o = (size_t)snprintf(buf, sizeof(buf), HEAD "mx: %s\n" TAIL, name);
	assert_int_equal(parse_exact(buf, o, &p), STSPOLICY_BAD_MX);
}

/* Every accepted pattern is exactly a (lower-case) LDH name or "*." + one: safe for a reply. */
static void
test_mx_charset(void **state)
{
	static char buf[256];
	static struct stspolicy p;
	size_t o;

	(void)state;
	for (unsigned c = 0; c < 256; c++) {
		enum stspolicy_err e;
		o = (size_t)snprintf(buf, sizeof(buf), HEAD "mx: a");
		buf[o++] = (char)c;
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "b.example.com\n" TAIL);
		e = parse_exact(buf, o, &p);
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.') {
			if (e != STSPOLICY_OK)
				fail_msg("byte 0x%02x rejected: %s", c, stspolicy_strerror(e));
			for (const char *s = p.mx[0]; *s; s++)
				assert_false(*s >= 'A' && *s <= 'Z');
		} else if (e == STSPOLICY_OK) {
			fail_msg("byte 0x%02x accepted in an mx", c);
		}
	}
}

static void
test_mx_match(void **state)
{
	static const struct {
		const char *pattern, *host;
		int want;
	} m[] = {
	    {"mail.example.com", "mail.example.com", 1},
	    {"mail.example.com", "MAIL.Example.Com", 1},
	    {"MAIL.EXAMPLE.COM", "mail.example.com", 1},
	    {"mail.example.com", "mail.example.com.", 1},
	    {"mail.example.com.", "mail.example.com", 1},
	    {"mail.example.com", "mail.example.com..", 0},
	    {"mail.example.com", "mail.example.co", 0},
	    {"mail.example.com", "mail.example.comx", 0},
	    {"mail.example.com", "xmail.example.com", 0},
	    {"mail.example.com", "a.mail.example.com", 0},
	    {"mail.example.com", "", 0},
	    {"mail.example.com", ".", 0},
	    {"*.example.com", "a.example.com", 1},
	    {"*.example.com", "MX1.EXAMPLE.COM.", 1},
	    {"*.EXAMPLE.com", "mx1.example.COM", 1},
	    {"*.example.com", "example.com", 0},
	    {"*.example.com", "example.com.", 0},
	    {"*.example.com", "a.b.example.com", 0},
	    {"*.example.com", "aexample.com", 0},
	    {"*.example.com", ".example.com", 0},
	    {"*.example.com", "..example.com", 0},
	    {"*.example.com", "a.example.net", 0},
	    {"*.example.com", "a.example.com.evil.net", 0},
	    {"*.example.com", "*.example.com", 1}, /* a literal "*" label is still one label */
	    {"a.example.com", "*.example.com", 0},
	    {"", "", 0},
	    {"", ".", 0},
	    {"*.", "a..", 0},
	    {"*.", "a.", 0},
	    {"*", "a", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (stspolicy_mx_match(m[i].pattern, m[i].host) != m[i].want)
			fail_msg("pattern \"%s\" host \"%s\": want %d", m[i].pattern, m[i].host,
			         m[i].want);
	}
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(stspolicy_mode_name(STSPOLICY_MODE_NONE), "none");
	assert_string_equal(stspolicy_mode_name(STSPOLICY_MODE_TESTING), "testing");
	assert_string_equal(stspolicy_mode_name(STSPOLICY_MODE_ENFORCE), "enforce");
	for (int e = STSPOLICY_OK; e <= STSPOLICY_TOO_MANY_LINES; e++) {
		const char *s = stspolicy_strerror((enum stspolicy_err)e);
		assert_string_not_equal(s, "unknown error");
		for (int f = STSPOLICY_OK; f < e; f++)
			assert_string_not_equal(s, stspolicy_strerror((enum stspolicy_err)f));
	}
	assert_string_equal(stspolicy_strerror((enum stspolicy_err)99), "unknown error");
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Read a whole file into buf; a file that does not fit fails the test. */
static size_t
slurp(const char *path, char *buf, size_t bufsz)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (fp == NULL)
		fail_msg("cannot open %s", path);
	n = fread(buf, 1, bufsz, fp);
	if (ferror(fp) || n == bufsz) {
		fclose(fp);
		fail_msg("cannot read %s whole", path);
	}
	fclose(fp);
	return n;
}

static void
test_golden(void **state)
{
	static char in[STSPOLICY_MAX_BYTES + 2], ref[RENDER_MAX], got[RENDER_MAX];
	static struct stspolicy p;
	const char *top = getenv("top_srcdir");
	char dir[1024], path[1400];
	struct dirent *de;
	unsigned n = 0, bad = 0;
	DIR *d;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/data/stspolicy", top ? top : ".");
	d = opendir(dir);
	if (d == NULL)
		fail_msg("no golden directory %s", dir);
	while ((de = readdir(d)) != NULL) {
		size_t len, rlen, nlen = strlen(de->d_name);
		if (!ends_with(de->d_name, ".in"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		len = slurp(path, in, sizeof(in));
		snprintf(path, sizeof(path), "%s/%.*s.ref", dir, (int)(nlen - 3), de->d_name);
		rlen = slurp(path, ref, sizeof(ref) - 1);
		while (rlen > 0 && ref[rlen - 1] == '\n')
			rlen--;
		ref[rlen] = '\0';
		render(parse_exact(in, len, &p), &p, got, sizeof(got));
		if (strcmp(got, ref) != 0) {
			print_error("%s: got \"%s\", want \"%s\"\n", de->d_name, got, ref);
			bad++;
		}
		n++;
	}
	closedir(d);
	if (bad > 0)
		fail_msg("%u of %u golden files differ", bad, n);
	assert_true(n >= 15); /* the golden set must not silently vanish */
}

int
main(void)
{
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[N + 8];

	for (size_t i = 0; i < N; i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = cases[i].name;
		tests[i].test_func = test_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	tests[N] = (struct CMUnitTest)cmocka_unit_test(test_cap_mx);
	tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_cap_bytes);
	tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_cap_lines);
	tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(test_cap_mx_length);
	tests[N + 4] = (struct CMUnitTest)cmocka_unit_test(test_mx_charset);
	tests[N + 5] = (struct CMUnitTest)cmocka_unit_test(test_mx_match);
	tests[N + 6] = (struct CMUnitTest)cmocka_unit_test(test_names);
	tests[N + 7] = (struct CMUnitTest)cmocka_unit_test(test_golden);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
