/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for stsrecord.c (RFC 8461 s3.1): one table row per record (every error code), the
 * id and record-length caps at the cap and one over, and stsrecord_select()'s "exactly one
 * STSv1 record" rule. Records are copied into heap blocks of exactly their length, so a read
 * past len (or a reliance on a NUL) is caught by ASan/valgrind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stsrecord.h"

#define S(s) s, sizeof(s) - 1

struct rec_case {
	const char *name;
	const char *in;
	size_t len;
	enum stsrecord_err want;
	const char *id;
};

static const struct rec_case cases[] = {
    {"minimal", S("v=STSv1; id=20160831085700Z;"), STSRECORD_OK, "20160831085700Z"},
    {"no trailing sep", S("v=STSv1; id=abc123"), STSRECORD_OK, "abc123"},
    {"no spaces", S("v=STSv1;id=abc"), STSRECORD_OK, "abc"},
    {"tabs and spaces", S("v=STSv1 \t;\t id=abc \t; "), STSRECORD_OK, "abc"},
    {"extension before id", S("v=STSv1; ext.v-1_x=val!ue; id=abc;"), STSRECORD_OK, "abc"},
    {"extension after id", S("v=STSv1; id=abc; foo=bar"), STSRECORD_OK, "abc"},
    {"first id wins", S("v=STSv1; id=first; id=second;"), STSRECORD_OK, "first"},
    {"id 32", S("v=STSv1; id=0123456789abcdef0123456789ABCDEF"), STSRECORD_OK,
     "0123456789abcdef0123456789ABCDEF"},
    {"id 33", S("v=STSv1; id=0123456789abcdef0123456789ABCDEFx"), STSRECORD_BAD_ID, NULL},
    {"id empty", S("v=STSv1; id=;"), STSRECORD_BAD_ID, NULL},
    {"id hyphen", S("v=STSv1; id=abc-def;"), STSRECORD_BAD_ID, NULL},
    {"id dot", S("v=STSv1; id=1.2;"), STSRECORD_BAD_ID, NULL},
    {"id high byte", S("v=STSv1; id=ab\xc3\xa9;"), STSRECORD_BAD_ID, NULL},
    {"bare version", S("v=STSv1"), STSRECORD_NO_ID, NULL},
    {"version and sep", S("v=STSv1;"), STSRECORD_NO_ID, NULL},
    {"extension only", S("v=STSv1; foo=bar;"), STSRECORD_NO_ID, NULL},
    {"v=STSv10", S("v=STSv10; id=abc"), STSRECORD_NOT_STS, NULL},
    {"upper V", S("V=STSv1; id=abc"), STSRECORD_NOT_STS, NULL},
    {"lower stsv1", S("v=stsv1; id=abc"), STSRECORD_NOT_STS, NULL},
    {"leading space", S(" v=STSv1; id=abc"), STSRECORD_NOT_STS, NULL},
    {"spf", S("v=spf1 -all"), STSRECORD_NOT_STS, NULL},
    {"empty", S(""), STSRECORD_NOT_STS, NULL},
    {"field without =", S("v=STSv1; id=abc; junk;"), STSRECORD_SYNTAX, NULL},
    {"two fields no sep", S("v=STSv1; id=abc def=1"), STSRECORD_SYNTAX, NULL},
    {"double sep", S("v=STSv1;; id=abc"), STSRECORD_SYNTAX, NULL},
    {"extension empty value", S("v=STSv1; id=abc; foo="), STSRECORD_SYNTAX, NULL},
    {"extension bad name", S("v=STSv1; id=abc; _foo=1"), STSRECORD_SYNTAX, NULL},
    {"extension name 33", S("v=STSv1; id=abc; a23456789012345678901234567890123=1"),
     STSRECORD_SYNTAX, NULL},
    {"extension value with =", S("v=STSv1; id=abc; foo=a=b"), STSRECORD_SYNTAX, NULL},
    {"control byte", S("v=STSv1; id=abc; foo=\x01"), STSRECORD_SYNTAX, NULL},
    {"NUL in id", S("v=STSv1; id=abc\0def"), STSRECORD_BAD_ID, NULL},
    {"NUL in extension", S("v=STSv1; id=abc; x=a\0b"), STSRECORD_SYNTAX, NULL},
    {"space before sep", S("v=STSv1 ; id=abc ;"), STSRECORD_OK, "abc"},
    {"trailing sep and tab", S("v=STSv1; id=abc;\t"), STSRECORD_OK, "abc"},
    {"id 1", S("v=STSv1; id=Z"), STSRECORD_OK, "Z"},
    {"extension name 32", S("v=STSv1; id=abc; a2345678901234567890123456789012=1"), STSRECORD_OK,
     "abc"},
    {"extension value punctuation", S("v=STSv1; id=abc; x=!\"#$%&'()*+,-./:<>?@[\\]^_`{|}~"),
     STSRECORD_OK, "abc"},
    {"tlsrpt-like extension", S("v=STSv1; rua=mailto:tlsrpt@example.com; id=1a"), STSRECORD_OK,
     "1a"},
    {"upper ID is an extension", S("v=STSv1; ID=abc"), STSRECORD_NO_ID, NULL},
    {"later bad id", S("v=STSv1; id=first; id=bad-one"), STSRECORD_BAD_ID, NULL},
    {"id with space", S("v=STSv1; id=ab cd"), STSRECORD_SYNTAX, NULL},
    {"id then CRLF", S("v=STSv1; id=abc\r\n"), STSRECORD_BAD_ID, NULL},
    {"trailing space no sep", S("v=STSv1; id=abc "), STSRECORD_SYNTAX, NULL},
    {"version then space", S("v=STSv1 "), STSRECORD_SYNTAX, NULL},
    {"version no sep", S("v=STSv1 id=abc"), STSRECORD_NOT_STS, NULL},
    {"version comma", S("v=STSv1, id=abc"), STSRECORD_NOT_STS, NULL},
    {"truncated version", S("v=STSv"), STSRECORD_NOT_STS, NULL},
    {"NUL after version", S("v=STSv1\0; id=abc"), STSRECORD_NOT_STS, NULL},
    {"missing value sep", S("v=STSv1; id"), STSRECORD_SYNTAX, NULL},
    {"extension high byte", S("v=STSv1; id=abc; x=\xff"), STSRECORD_SYNTAX, NULL},
    {"extension value space", S("v=STSv1; id=abc; x=a b"), STSRECORD_SYNTAX, NULL},
};

/* Parse from a heap block of exactly len bytes. */
static enum stsrecord_err
parse_exact(const char *in, size_t len, struct stsrecord *r)
{
	char *buf = malloc(len ? len : 1);
	enum stsrecord_err e;

	assert_non_null(buf);
	if (len > 0)
		memcpy(buf, in, len);
	e = stsrecord_parse(buf, len, r);
	free(buf);
	return e;
}

static void
test_case(void **state)
{
	const struct rec_case *c = *state;
	struct stsrecord r;

	enum stsrecord_err e;

	memset(&r, 0x55, sizeof(r));
	e = parse_exact(c->in, c->len, &r);
	if (e != c->want)
		fail_msg("got %s, want %s", stsrecord_strerror(e), stsrecord_strerror(c->want));
	if (c->want == STSRECORD_OK) {
		assert_string_equal(r.id, c->id);
	} else {
		/* out is untouched on failure */
		for (size_t i = 0; i < sizeof(r.id); i++)
			assert_int_equal((unsigned char)r.id[i], 0x55);
	}
}

/* A record exactly STSRECORD_TXT_MAX bytes long parses; one byte more is refused. */
static void
test_record_cap(void **state)
{
	static char buf[STSRECORD_TXT_MAX + 2];
	const char *head = "v=STSv1; id=abc; x=";
	struct stsrecord r;
	size_t hl = strlen(head);

	(void)state;
	memcpy(buf, head, hl);
	memset(buf + hl, 'y', sizeof(buf) - hl);
	assert_int_equal(parse_exact(buf, STSRECORD_TXT_MAX, &r), STSRECORD_OK);
	assert_string_equal(r.id, "abc");
	assert_int_equal(parse_exact(buf, STSRECORD_TXT_MAX + 1, &r), STSRECORD_SYNTAX);
}

static void
test_select(void **state)
{
	struct stsrecord_txt one[] = {{S("v=spf1 -all")}, {S("v=STSv1; id=one;")}, {S("hello")}};
	struct stsrecord_txt two[] = {{S("v=STSv1; id=a;")}, {S("v=STSv1; id=b;")}};
	struct stsrecord_txt bad[] = {{S("v=STSv1; id=a-b;")}, {S("v=spf1")}};
	struct stsrecord_txt none[] = {{S("v=spf1 -all")}, {S("v=STSv10; id=x")}};
	struct stsrecord_txt bare[] = {{S("v=STSv1")}, {S("v=STSv1; id=x")}};
	struct stsrecord_txt bare1[] = {{S("v=STSv1")}, {S("v=spf1")}};
	struct stsrecord_txt lead[] = {{S(" v=STSv1; id=x")}, {S("v=STSv1; id=y")}};
	struct stsrecord_txt junk[] = {{S("v=STSv1; id=x; junk")}, {S("v=STSv1x; id=y")}};
	struct stsrecord_txt empty[] = {{S("")}, {S("v=STSv1;id=e")}};
	struct stsrecord r;

	(void)state;
	assert_int_equal(stsrecord_select(one, 3, &r), STSRECORD_OK);
	assert_string_equal(r.id, "one");
	assert_int_equal(stsrecord_select(two, 2, &r), STSRECORD_MULTIPLE);
	assert_int_equal(stsrecord_select(bad, 2, &r), STSRECORD_BAD_ID);
	assert_int_equal(stsrecord_select(none, 2, &r), STSRECORD_NONE);
	assert_int_equal(stsrecord_select(none, 0, &r), STSRECORD_NONE);
	/* A bare "v=STSv1" counts as an STSv1 record, so there are two. */
	assert_int_equal(stsrecord_select(bare, 2, &r), STSRECORD_MULTIPLE);
	assert_int_equal(stsrecord_select(bare1, 2, &r), STSRECORD_NO_ID);
	/* A record with a leading space does not begin with "v=STSv1": discarded. */
	assert_int_equal(stsrecord_select(lead, 2, &r), STSRECORD_OK);
	assert_string_equal(r.id, "y");
	/* The one STSv1 record is invalid: its error, not another record's id. */
	assert_int_equal(stsrecord_select(junk, 2, &r), STSRECORD_SYNTAX);
	assert_int_equal(stsrecord_select(empty, 2, &r), STSRECORD_OK);
	assert_string_equal(r.id, "e");
	assert_int_equal(stsrecord_select(NULL, 0, &r), STSRECORD_NONE);
}

/* An over-long record starting with "v=STSv1" still counts as one, and is a syntax error. */
static void
test_select_long(void **state)
{
	static char big[STSRECORD_TXT_MAX + 1];
	struct stsrecord_txt recs[2] = {{big, sizeof(big)}, {S("v=STSv1; id=ok")}};
	const char *head = "v=STSv1; id=abc; x=";
	struct stsrecord r;

	(void)state;
	memcpy(big, head, strlen(head));
	memset(big + strlen(head), 'y', sizeof(big) - strlen(head));
	assert_int_equal(stsrecord_select(recs, 1, &r), STSRECORD_SYNTAX);
	assert_int_equal(stsrecord_select(recs, 2, &r), STSRECORD_MULTIPLE);
	recs[0].len = STSRECORD_TXT_MAX;
	assert_int_equal(stsrecord_select(recs, 1, &r), STSRECORD_OK);
	assert_string_equal(r.id, "abc");
}

/* Only the first STSRECORD_RECORDS_MAX records are examined. */
static void
test_select_cap(void **state)
{
	static struct stsrecord_txt recs[STSRECORD_RECORDS_MAX + 1];
	struct stsrecord r;

	(void)state;
	for (size_t i = 0; i < STSRECORD_RECORDS_MAX; i++) {
		recs[i].p = "v=spf1 -all";
		recs[i].len = strlen(recs[i].p);
	}
	recs[STSRECORD_RECORDS_MAX].p = "v=STSv1; id=late";
	recs[STSRECORD_RECORDS_MAX].len = strlen(recs[STSRECORD_RECORDS_MAX].p);
	assert_int_equal(stsrecord_select(recs, STSRECORD_RECORDS_MAX + 1, &r), STSRECORD_NONE);
	recs[STSRECORD_RECORDS_MAX - 1] = recs[STSRECORD_RECORDS_MAX];
	assert_int_equal(stsrecord_select(recs, STSRECORD_RECORDS_MAX + 1, &r), STSRECORD_OK);
	assert_string_equal(r.id, "late");
}

static void
test_strerror(void **state)
{
	(void)state;
	for (int e = STSRECORD_OK; e <= STSRECORD_MULTIPLE; e++)
		assert_string_not_equal(stsrecord_strerror((enum stsrecord_err)e), "unknown error");
	assert_string_equal(stsrecord_strerror((enum stsrecord_err)99), "unknown error");
}

int
main(void)
{
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[N + 5];

	for (size_t i = 0; i < N; i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = cases[i].name;
		tests[i].test_func = test_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	tests[N] = (struct CMUnitTest)cmocka_unit_test(test_record_cap);
	tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_select);
	tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_select_cap);
	tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(test_strerror);
	tests[N + 4] = (struct CMUnitTest)cmocka_unit_test(test_select_long);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
