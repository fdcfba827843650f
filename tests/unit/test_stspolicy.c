/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for stspolicy.c (RFC 8461 s3.2, s4.1): table rows, the size/line/mx/max_age caps at
 * the cap and one over, MX pattern matching, and the golden files tests/data/stspolicy/ *.in
 * whose rendering must equal the matching *.ref.
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

struct pol_case {
	const char *name;
	const char *in;
	size_t len;
	enum stspolicy_err want;
	const char *render; /* "mode max_age mx,mx" when OK */
};

static struct pol_case cases[] = {
    {"enforce", S(HEAD "mx: mail.example.com\n" TAIL), STSPOLICY_OK,
     "enforce 86400 mail.example.com"},
    {"crlf", S("version: STSv1\r\nmode: enforce\r\nmx: a.example.com\r\nmax_age: 5\r\n"),
     STSPOLICY_OK, "enforce 5 a.example.com"},
    {"no final newline", S(HEAD "mx: a.example.com\nmax_age: 7"), STSPOLICY_OK,
     "enforce 7 a.example.com"},
    {"mode none without mx", S("version: STSv1\nmode: none\nmax_age: 0\n"), STSPOLICY_OK,
     "none 0 "},
    {"testing", S("version: STSv1\nmode: testing\nmx: *.example.com\n" TAIL), STSPOLICY_OK,
     "testing 86400 *.example.com"},
    {"mx accumulate", S(HEAD "mx: a.example.com\nmx: *.b.example.com\n" TAIL), STSPOLICY_OK,
     "enforce 86400 a.example.com,*.b.example.com"},
    {"mx lower-cased", S(HEAD "mx: MAIL.Example.COM\n" TAIL), STSPOLICY_OK,
     "enforce 86400 mail.example.com"},
    {"mx trailing dot", S(HEAD "mx: mail.example.com.\n" TAIL), STSPOLICY_OK,
     "enforce 86400 mail.example.com"},
    {"first mode wins", S(HEAD "mode: none\nmx: a.example.com\n" TAIL), STSPOLICY_OK,
     "enforce 86400 a.example.com"},
    {"first max_age wins", S(HEAD "mx: a.example.com\nmax_age: 1\nmax_age: 2\n"), STSPOLICY_OK,
     "enforce 1 a.example.com"},
    {"extension ignored", S(HEAD "x-ext_1.b: any value\nmx: a.example.com\n" TAIL), STSPOLICY_OK,
     "enforce 86400 a.example.com"},
    {"empty lines", S("\n" HEAD "\nmx: a.example.com\n\n" TAIL "\n"), STSPOLICY_OK,
     "enforce 86400 a.example.com"},
    {"max_age max", S(HEAD "mx: a.example.com\nmax_age: 31557600\n"), STSPOLICY_OK,
     "enforce 31557600 a.example.com"},
    {"max_age over", S(HEAD "mx: a.example.com\nmax_age: 31557601\n"), STSPOLICY_BAD_MAX_AGE, NULL},
    {"max_age plus", S(HEAD "mx: a.example.com\nmax_age: +5\n"), STSPOLICY_BAD_MAX_AGE, NULL},
    {"max_age 11 digits", S(HEAD "mx: a.example.com\nmax_age: 00000000001\n"),
     STSPOLICY_BAD_MAX_AGE, NULL},
    {"max_age missing", S(HEAD "mx: a.example.com\n"), STSPOLICY_BAD_MAX_AGE, NULL},
    {"version missing", S("mode: enforce\nmx: a.example.com\n" TAIL), STSPOLICY_BAD_VERSION, NULL},
    {"version wrong", S("version: STSv2\nmode: enforce\nmx: a.example.com\n" TAIL),
     STSPOLICY_BAD_VERSION, NULL},
    {"mode missing", S("version: STSv1\nmx: a.example.com\n" TAIL), STSPOLICY_BAD_MODE, NULL},
    {"mode upper", S("version: STSv1\nmode: ENFORCE\nmx: a.example.com\n" TAIL), STSPOLICY_BAD_MODE,
     NULL},
    {"enforce no mx", S(HEAD TAIL), STSPOLICY_NO_MX, NULL},
    {"testing no mx", S("version: STSv1\nmode: testing\n" TAIL), STSPOLICY_NO_MX, NULL},
    {"mx attribute injection", S(HEAD "mx: a.example.com servername=evil\n" TAIL), STSPOLICY_BAD_MX,
     NULL},
    {"mx equals", S(HEAD "mx: a=b\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx double wildcard", S(HEAD "mx: *.*.example.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx star no dot", S(HEAD "mx: *example.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx underscore", S(HEAD "mx: a_b.example.com\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx braces", S(HEAD "mx: {x}\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx port", S(HEAD "mx: example.com:25\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx single label", S(HEAD "mx: localhost\n" TAIL), STSPOLICY_BAD_MX, NULL},
    {"mx empty", S(HEAD "mx:\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"no colon", S(HEAD "mx a.example.com\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"lone CR", S(HEAD "mx: a.example.com\r" TAIL), STSPOLICY_SYNTAX, NULL},
    {"NUL byte", S(HEAD "mx: a.exa\0mple.com\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"control byte",
     S(HEAD "mx: a.example.com\n"
            "x: a\x01z\n" TAIL),
     STSPOLICY_SYNTAX, NULL},
    {"high byte value", S(HEAD "mx: a.example.com\nx: caf\xc3\xa9\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"bad extension key", S(HEAD "_x: 1\nmx: a.example.com\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"space in key", S(HEAD "m x: 1\nmx: a.example.com\n" TAIL), STSPOLICY_SYNTAX, NULL},
    {"html", S("<html>\n"), STSPOLICY_SYNTAX, NULL},
    {"empty", S(""), STSPOLICY_BAD_VERSION, NULL},
};

static void
render(const struct stspolicy *p, char *out, size_t outsz)
{
	size_t o = (size_t)snprintf(out, outsz, "%s %u ", stspolicy_mode_name(p->mode),
	                            (unsigned)p->max_age);

	for (unsigned i = 0; i < p->n_mx && o < outsz; i++)
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? "," : "", p->mx[i]);
}

static void
test_case(void **state)
{
	const struct pol_case *c = *state;
	static struct stspolicy p;
	char got[4096];

	assert_int_equal(stspolicy_parse(c->in, c->len, &p), c->want);
	if (c->want == STSPOLICY_OK) {
		render(&p, got, sizeof(got));
		assert_string_equal(got, c->render);
	}
}

/* Build "HEAD mx... TAIL" with n mx lines. */
static size_t
build_mx(char *buf, size_t bufsz, unsigned n)
{
	size_t o = (size_t)snprintf(buf, bufsz, HEAD);

	for (unsigned i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, bufsz - o, "mx: mx%u.example.com\n", i);
	o += (size_t)snprintf(buf + o, bufsz - o, TAIL);
	return o;
}

static void
test_caps(void **state)
{
	static char buf[STSPOLICY_MAX_BYTES + 2];
	static struct stspolicy p;
	size_t len, o;

	(void)state;
	len = build_mx(buf, sizeof(buf), STSPOLICY_MAX_MX);
	assert_int_equal(stspolicy_parse(buf, len, &p), STSPOLICY_OK);
	assert_int_equal(p.n_mx, STSPOLICY_MAX_MX);
	len = build_mx(buf, sizeof(buf), STSPOLICY_MAX_MX + 1);
	assert_int_equal(stspolicy_parse(buf, len, &p), STSPOLICY_TOO_MANY_MX);

	/* Exactly STSPOLICY_MAX_BYTES, padded with one long extension line, then one byte more. */
	o = (size_t)snprintf(buf, sizeof(buf), HEAD "mx: a.example.com\n" TAIL "pad: ");
	memset(buf + o, 'x', STSPOLICY_MAX_BYTES - o - 1);
	buf[STSPOLICY_MAX_BYTES - 1] = '\n';
	assert_int_equal(stspolicy_parse(buf, STSPOLICY_MAX_BYTES, &p), STSPOLICY_OK);
	buf[STSPOLICY_MAX_BYTES - 1] = 'x';
	buf[STSPOLICY_MAX_BYTES] = '\n';
	assert_int_equal(stspolicy_parse(buf, STSPOLICY_MAX_BYTES + 1, &p), STSPOLICY_TOO_BIG);

	/* STSPOLICY_LINES_MAX lines (blank lines count), then one more. */
	o = (size_t)snprintf(buf, sizeof(buf), HEAD "mx: a.example.com\n" TAIL);
	memset(buf + o, '\n', STSPOLICY_LINES_MAX - 4);
	assert_int_equal(stspolicy_parse(buf, o + STSPOLICY_LINES_MAX - 4, &p), STSPOLICY_OK);
	buf[o + STSPOLICY_LINES_MAX - 4] = 'x';
	assert_int_equal(stspolicy_parse(buf, o + STSPOLICY_LINES_MAX - 3, &p),
	                 STSPOLICY_TOO_MANY_LINES);
}

/* A stored pattern ("*." + name) never exceeds DNAME_MAX bytes. */
static void
test_mx_length(void **state)
{
	static char buf[1024];
	static struct stspolicy p;
	char name[DNAME_MAX + 1];
	size_t o;

	(void)state;
	/* Labels of 63 bytes; the name is cut to 251 (with "*.": 253) and then 252 (254). */
	memset(name, 'a', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	name[251] = '\0';
	o = (size_t)snprintf(buf, sizeof(buf), HEAD "mx: *.%s\n" TAIL, name);
	assert_int_equal(stspolicy_parse(buf, o, &p), STSPOLICY_OK);
	assert_int_equal(strlen(p.mx[0]), DNAME_MAX);
	name[251] = 'a';
	name[252] = '\0';
	o = (size_t)snprintf(buf, sizeof(buf), HEAD "mx: *.%s\n" TAIL, name);
	assert_int_equal(stspolicy_parse(buf, o, &p), STSPOLICY_BAD_MX);
	o = (size_t)snprintf(buf, sizeof(buf), HEAD "mx: %s\n" TAIL, name);
	assert_int_equal(stspolicy_parse(buf, o, &p), STSPOLICY_OK);
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
	    {"mail.example.com", "mail.example.com.", 1},
	    {"mail.example.com", "mail.example.co", 0},
	    {"mail.example.com", "xmail.example.com", 0},
	    {"mail.example.com", "a.mail.example.com", 0},
	    {"*.example.com", "a.example.com", 1},
	    {"*.example.com", "MX1.EXAMPLE.COM.", 1},
	    {"*.example.com", "example.com", 0},
	    {"*.example.com", "a.b.example.com", 0},
	    {"*.example.com", "aexample.com", 0},
	    {"*.example.com", ".example.com", 0},
	    {"*.example.com", "a.example.net", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (stspolicy_mx_match(m[i].pattern, m[i].host) != m[i].want)
			fail_msg("pattern %s host %s: want %d", m[i].pattern, m[i].host, m[i].want);
	}
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static size_t
slurp(const char *path, char *buf, size_t bufsz)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (fp == NULL)
		fail_msg("cannot open %s", path);
	n = fread(buf, 1, bufsz, fp);
	fclose(fp);
	return n;
}

static void
test_golden(void **state)
{
	static char in[STSPOLICY_MAX_BYTES + 2], ref[4096], got[4096];
	static struct stspolicy p;
	const char *top = getenv("top_srcdir");
	char dir[1024], path[1400];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/data/stspolicy", top ? top : ".");
	d = opendir(dir);
	if (d == NULL)
		fail_msg("no golden directory %s", dir);
	while ((de = readdir(d)) != NULL) {
		size_t len, rlen;
		enum stspolicy_err e;
		if (!ends_with(de->d_name, ".in"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		len = slurp(path, in, sizeof(in));
		snprintf(path, sizeof(path), "%s/%.*s.ref", dir, (int)(strlen(de->d_name) - 3),
		         de->d_name);
		rlen = slurp(path, ref, sizeof(ref) - 1);
		while (rlen > 0 && ref[rlen - 1] == '\n')
			rlen--;
		ref[rlen] = '\0';
		e = stspolicy_parse(in, len, &p);
		if (e == STSPOLICY_OK) {
			char body[4000];
			render(&p, body, sizeof(body));
			/* "mode max_age mx" -> "OK mode=.. max_age=.. mx=.." */
			char mode[16], mx[3900] = "";
			unsigned age;
			sscanf(body, "%15s %u %3899s", mode, &age, mx);
			snprintf(got, sizeof(got), "OK mode=%s max_age=%u mx=%s", mode, age, mx);
		} else {
			snprintf(got, sizeof(got), "ERR %s", stspolicy_strerror(e));
		}
		if (strcmp(got, ref) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", de->d_name, got, ref);
		n++;
	}
	closedir(d);
	assert_true(n >= 10); /* the golden set must not silently vanish */
}

int
main(void)
{
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[N + 4];

	for (size_t i = 0; i < N; i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = cases[i].name;
		tests[i].test_func = test_case;
		tests[i].initial_state = &cases[i];
	}
	tests[N] = (struct CMUnitTest)cmocka_unit_test(test_caps);
	tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_mx_length);
	tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_mx_match);
	tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(test_golden);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
