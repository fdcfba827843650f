/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for decide.c and answer.c: the design.md decision table cell by cell (every STS
 * situation x every DANE state x every zone fallback), rendered through answer_format() and
 * compared as exact "STATUS|text" strings; explanations of each path; answer_format() on its
 * own (pattern rewrite, duplicates, never '*', exact caps); answer_reply() refusing a reply
 * over its cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "answer.h"
#include "decide.h"

#define NOW 1700000000

/* Fresh policies name their MX hosts "fresh...", cached ones "cached...", so every SEC cell
 * also proves which policy was in force. */
#define SEC_FRESH "secure match=mx.fresh.example:.fresh.example.net servername=hostname"
#define SEC_CACHED "secure match=mx.cached.example servername=hostname"

enum pol {
	P_NONE = 0, /* no policy */
	P_ENFORCE,
	P_TESTING,
	P_MODE_NONE,
};

enum cache_state {
	C_NULL = 0,   /* no record at all */
	C_EMPTY,      /* record, nothing known */
	C_VALID,      /* valid unexpired policy */
	C_EXPIRED,    /* policy expired exactly now */
	C_EXPIRED_OLD /* expired long ago */
};

/* One row situation. want[] per DANE column ALL, SOME, NONE, INSECURE, ERROR:
 * "FB" = the zone fallback, "SEC_F"/"SEC_C" = secure with the fresh/cached policy,
 * "TEMP" = TEMP with any text, else the literal OK text. */
struct row_case {
	const char *name;
	enum decide_disc disc;
	enum pol fresh;
	enum cache_state cache;
	enum pol cached;
	enum cfg_testing testing;
	const char *want[5];
};

static const struct row_case rows[] = {
    /* enforce (fresh or cached unexpired) */
    {"enforce fresh",
     DECIDE_DISC_FETCHED,
     P_ENFORCE,
     C_NULL,
     P_NONE,
     CFG_TESTING_IGNORE,
     {"dane-only", "dane-only", "SEC_F", "SEC_F", "TEMP"}},
    {"enforce fresh over cached testing",
     DECIDE_DISC_FETCHED,
     P_ENFORCE,
     C_VALID,
     P_TESTING,
     CFG_TESTING_IGNORE,
     {"dane-only", "dane-only", "SEC_F", "SEC_F", "TEMP"}},
    {"enforce cached",
     DECIDE_DISC_NOT_RUN,
     P_NONE,
     C_VALID,
     P_ENFORCE,
     CFG_TESTING_IGNORE,
     {"dane-only", "dane-only", "SEC_C", "SEC_C", "TEMP"}},
    {"enforce cached, TXT gone",
     DECIDE_DISC_NO_POLICY,
     P_NONE,
     C_VALID,
     P_ENFORCE,
     CFG_TESTING_IGNORE,
     {"dane-only", "dane-only", "SEC_C", "SEC_C", "TEMP"}},
    {"enforce cached, TXT failed",
     DECIDE_DISC_TXT_FAILED,
     P_NONE,
     C_VALID,
     P_ENFORCE,
     CFG_TESTING_IGNORE,
     {"dane-only", "dane-only", "SEC_C", "SEC_C", "TEMP"}},
    {"enforce cached, fetch failed",
     DECIDE_DISC_FETCH_FAILED,
     P_NONE,
     C_VALID,
     P_ENFORCE,
     CFG_TESTING_IGNORE,
     {"dane-only", "dane-only", "SEC_C", "SEC_C", "TEMP"}},
    {"testing fresh as enforce",
     DECIDE_DISC_FETCHED,
     P_TESTING,
     C_NULL,
     P_NONE,
     CFG_TESTING_ENFORCE,
     {"dane-only", "dane-only", "SEC_F", "SEC_F", "TEMP"}},
    {"testing cached as enforce",
     DECIDE_DISC_TXT_FAILED,
     P_NONE,
     C_VALID,
     P_TESTING,
     CFG_TESTING_ENFORCE,
     {"dane-only", "dane-only", "SEC_C", "SEC_C", "TEMP"}},
    /* testing */
    {"testing fresh",
     DECIDE_DISC_FETCHED,
     P_TESTING,
     C_NULL,
     P_NONE,
     CFG_TESTING_IGNORE,
     {"dane", "dane", "FB", "FB", "dane"}},
    {"testing cached",
     DECIDE_DISC_NOT_RUN,
     P_NONE,
     C_VALID,
     P_TESTING,
     CFG_TESTING_IGNORE,
     {"dane", "dane", "FB", "FB", "dane"}},
    {"testing cached, TXT failed",
     DECIDE_DISC_TXT_FAILED,
     P_NONE,
     C_VALID,
     P_TESTING,
     CFG_TESTING_IGNORE,
     {"dane", "dane", "FB", "FB", "dane"}},
    {"testing fresh over cached enforce",
     DECIDE_DISC_FETCHED,
     P_TESTING,
     C_VALID,
     P_ENFORCE,
     CFG_TESTING_IGNORE,
     {"dane", "dane", "FB", "FB", "dane"}},
    /* none / no TXT / expired */
    {"mode none fresh",
     DECIDE_DISC_FETCHED,
     P_MODE_NONE,
     C_VALID,
     P_ENFORCE,
     CFG_TESTING_ENFORCE,
     {"dane", "dane", "FB", "FB", "dane"}},
    {"mode none cached",
     DECIDE_DISC_NOT_RUN,
     P_NONE,
     C_VALID,
     P_MODE_NONE,
     CFG_TESTING_IGNORE,
     {"dane", "dane", "FB", "FB", "dane"}},
    {"no TXT",
     DECIDE_DISC_NO_POLICY,
     P_NONE,
     C_NULL,
     P_NONE,
     CFG_TESTING_IGNORE,
     {"dane", "dane", "FB", "FB", "dane"}},
    {"no policy remembered",
     DECIDE_DISC_NOT_RUN,
     P_NONE,
     C_EMPTY,
     P_NONE,
     CFG_TESTING_IGNORE,
     {"dane", "dane", "FB", "FB", "dane"}},
    {"expired now, no TXT",
     DECIDE_DISC_NO_POLICY,
     P_NONE,
     C_EXPIRED,
     P_ENFORCE,
     CFG_TESTING_IGNORE,
     {"dane", "dane", "FB", "FB", "dane"}},
    {"expired long ago",
     DECIDE_DISC_NOT_RUN,
     P_NONE,
     C_EXPIRED_OLD,
     P_ENFORCE,
     CFG_TESTING_ENFORCE,
     {"dane", "dane", "FB", "FB", "dane"}},
    /* fetch failed, nothing cached */
    {"fetch failed, no record",
     DECIDE_DISC_FETCH_FAILED,
     P_NONE,
     C_NULL,
     P_NONE,
     CFG_TESTING_IGNORE,
     {"dane", "dane", "FB", "FB", "dane"}},
    {"fetch failed, empty record",
     DECIDE_DISC_FETCH_FAILED,
     P_NONE,
     C_EMPTY,
     P_NONE,
     CFG_TESTING_IGNORE,
     {"dane", "dane", "FB", "FB", "dane"}},
    {"fetch failed, expired",
     DECIDE_DISC_FETCH_FAILED,
     P_NONE,
     C_EXPIRED,
     P_ENFORCE,
     CFG_TESTING_IGNORE,
     {"dane", "dane", "FB", "FB", "dane"}},
    /* TXT lookup failed, nothing cached */
    {"TXT failed, no record",
     DECIDE_DISC_TXT_FAILED,
     P_NONE,
     C_NULL,
     P_NONE,
     CFG_TESTING_IGNORE,
     {"dane", "dane", "FB", "FB", "TEMP"}},
    {"TXT failed, expired",
     DECIDE_DISC_TXT_FAILED,
     P_NONE,
     C_EXPIRED,
     P_ENFORCE,
     CFG_TESTING_ENFORCE,
     {"dane", "dane", "FB", "FB", "TEMP"}},
};

static const enum dane_state columns[5] = {DANE_ALL, DANE_SOME, DANE_NONE, DANE_INSECURE,
                                           DANE_ERROR};
static const char *const column_names[5] = {"ALL", "SOME", "NONE", "INSECURE", "ERROR"};

static void
set_mx(struct stspolicy *p, const char *mx)
{
	size_t n = strlen(mx);

	assert_true(n <= DNAME_MAX && p->n_mx < STSPOLICY_MAX_MX);
	memcpy(p->mx[p->n_mx++], mx, n + 1);
}

static void
make_policy(struct stspolicy *p, enum pol kind, int cached)
{
	memset(p, 0, sizeof(*p));
	p->max_age = 86400;
	switch (kind) {
	case P_ENFORCE:
		p->mode = STSPOLICY_MODE_ENFORCE;
		break;
	case P_TESTING:
		p->mode = STSPOLICY_MODE_TESTING;
		break;
	case P_MODE_NONE:
	case P_NONE:
		p->mode = STSPOLICY_MODE_NONE;
		return;
	}
	if (cached) {
		set_mx(p, "mx.cached.example");
	} else {
		set_mx(p, "mx.fresh.example");
		set_mx(p, "*.fresh.example.net");
		set_mx(p, "mx.fresh.example"); /* duplicate: rendered once */
	}
}

static void
make_zone(struct cfg_zone *z, enum cfg_fallback fb, enum cfg_testing t)
{
	memset(z, 0, sizeof(*z));
	memcpy(z->name, "postfix", 8);
	z->fallback = fb;
	z->testing = t;
	z->dane = 1;
	z->dane_partial = CFG_DANE_PARTIAL_DANE_ONLY;
	z->mx_check = 0; /* the table's cells with plain patterns; mx_check has its own cases */
}

/* answer_format() into a strbuf capped at max; the text copied into out (max + 1 bytes). */
static int
fmt(const struct answer *a, const char **status, char *out, size_t max, size_t *len)
{
	struct strbuf sb;
	int rc;

	strbuf_init(&sb, max);
	rc = answer_format(a, status, &sb);
	if (rc == 0) {
		memcpy(out, sb.data != NULL ? sb.data : "", sb.len + 1);
		*len = sb.len;
	}
	strbuf_fini(&sb);
	return rc;
}

/* Render an answer as "STATUS|text". */
static void
render(const struct answer *a, char *out, size_t outsz)
{
	const char *status = NULL;
	char text[2048];
	size_t len = 0;
	int n;

	assert_int_equal(fmt(a, &status, text, sizeof(text) - 1, &len), 0);
	assert_non_null(status);
	assert_int_equal(strlen(text), len);
	/* '*' may only appear in 3.10 attributes (mx_host_pattern, policy_string), never in match=.
	 */
	{
		const char *attrs = strstr(text, " policy_type=");
		const char *star = strchr(text, '*');
		assert_true(star == NULL || (attrs != NULL && star > attrs));
	}
	n = snprintf(out, outsz, "%s|%s", status, text);
	assert_true(n > 0 && (size_t)n < outsz);
}

static const char *
fb_text(enum cfg_fallback fb)
{
	switch (fb) {
	case CFG_FALLBACK_NOTFOUND:
		return "NOTFOUND|";
	case CFG_FALLBACK_MAY:
		return "OK|may";
	case CFG_FALLBACK_ENCRYPT:
		return "OK|encrypt";
	case CFG_FALLBACK_DANE:
		return "OK|dane";
	}
	return "?";
}

struct cell {
	const struct row_case *row;
	unsigned col;
	char name[128];
};

static struct cell cells[sizeof(rows) / sizeof(rows[0]) * 5];

static void
test_cell(void **state)
{
	const struct cell *c = *state;
	const struct row_case *r = c->row;
	static struct stspolicy fresh;
	static struct cacherec rec;
	const char *want = r->want[c->col];

	make_policy(&fresh, r->fresh, 0);
	cacherec_init(&rec);
	if (r->cache == C_VALID || r->cache == C_EXPIRED || r->cache == C_EXPIRED_OLD) {
		struct stspolicy p;
		int64_t t = r->cache == C_VALID     ? NOW - 100
		            : r->cache == C_EXPIRED ? NOW - 86400
		                                    : NOW - 10 * 86400;

		make_policy(&p, r->cached, 1);
		cacherec_on_fetch_ok(&rec, &p, "id1", t);
	}

	/* Zone dane = no: every column answers as INSECURE (index 3). */
	for (int k = 0; k < 2 * (CFG_FALLBACK_DANE + 1); k++) {
		enum cfg_fallback fb = (enum cfg_fallback)(k / 2);
		int dane_on = k % 2 == 0;
		struct decide_input in = {r->cache == C_NULL ? NULL : &rec,
		                          r->disc,
		                          r->disc == DECIDE_DISC_FETCHED ? &fresh : NULL,
		                          columns[c->col],
		                          NULL,
		                          "example.com"};
		struct cfg_zone zone;
		struct answer a;
		char got[2048], exp[2048];

		want = r->want[dane_on ? c->col : 3];
		make_zone(&zone, fb, r->testing);
		zone.dane = dane_on;
		memset(&a, 0x5a, sizeof(a));
		decide(&in, &zone, NOW, &a);
		assert_non_null(a.why);
		assert_true(strlen(a.why) > 0);
		render(&a, got, sizeof(got));
		if (strcmp(want, "FB") == 0)
			snprintf(exp, sizeof(exp), "%s", fb_text(fb));
		else if (strcmp(want, "SEC_F") == 0)
			snprintf(exp, sizeof(exp), "OK|%s", SEC_FRESH);
		else if (strcmp(want, "SEC_C") == 0)
			snprintf(exp, sizeof(exp), "OK|%s", SEC_CACHED);
		else if (strcmp(want, "TEMP") == 0)
			snprintf(exp, sizeof(exp), "TEMP|%s", a.why);
		else
			snprintf(exp, sizeof(exp), "OK|%s", want);
		assert_string_equal(got, exp);
		/* SECURE borrows the policy from the input, never copies it. */
		if (strncmp(want, "SEC", 3) == 0)
			assert_ptr_equal(a.policy, want[4] == 'F' ? &fresh : &rec.policy);
	}
}

/* ---- explanations ---- */

struct why_case {
	const char *name;
	enum decide_disc disc;
	enum pol fresh;
	enum cache_state cache;
	enum pol cached;
	enum cfg_testing testing;
	enum dane_state dane;
	const char *want;
};

static const struct why_case whys[] = {
    {"why enforce fresh", DECIDE_DISC_FETCHED, P_ENFORCE, C_NULL, P_NONE, CFG_TESTING_IGNORE,
     DANE_INSECURE, "enforced MTA-STS policy"},
    {"why enforce from cache", DECIDE_DISC_NOT_RUN, P_NONE, C_VALID, P_ENFORCE, CFG_TESTING_IGNORE,
     DANE_NONE, "enforced MTA-STS policy"},
    {"why cached, TXT failed", DECIDE_DISC_TXT_FAILED, P_NONE, C_VALID, P_ENFORCE,
     CFG_TESTING_IGNORE, DANE_INSECURE, "cached MTA-STS policy (DNS/HTTPS ignored until expiry)"},
    {"why cached, fetch failed", DECIDE_DISC_FETCH_FAILED, P_NONE, C_VALID, P_ENFORCE,
     CFG_TESTING_IGNORE, DANE_INSECURE, "cached MTA-STS policy (DNS/HTTPS ignored until expiry)"},
    {"why cached, TXT gone", DECIDE_DISC_NO_POLICY, P_NONE, C_VALID, P_ENFORCE, CFG_TESTING_IGNORE,
     DANE_INSECURE, "cached MTA-STS policy (DNS/HTTPS ignored until expiry)"},
    {"why testing enforced", DECIDE_DISC_FETCHED, P_TESTING, C_NULL, P_NONE, CFG_TESTING_ENFORCE,
     DANE_INSECURE, "testing policy enforced by configuration"},
    {"why enforce dane all", DECIDE_DISC_FETCHED, P_ENFORCE, C_NULL, P_NONE, CFG_TESTING_IGNORE,
     DANE_ALL, "enforced MTA-STS policy, all MX hosts DANE: dane-only"},
    {"why enforce dane some", DECIDE_DISC_FETCHED, P_ENFORCE, C_NULL, P_NONE, CFG_TESTING_IGNORE,
     DANE_SOME, "enforced MTA-STS policy, some MX hosts DANE: dane-only"},
    {"why enforce dane error", DECIDE_DISC_FETCHED, P_ENFORCE, C_NULL, P_NONE, CFG_TESTING_IGNORE,
     DANE_ERROR, "DANE validation error under enforce"},
    {"why testing fallback", DECIDE_DISC_FETCHED, P_TESTING, C_NULL, P_NONE, CFG_TESTING_IGNORE,
     DANE_INSECURE, "testing policy: fallback"},
    {"why testing dane", DECIDE_DISC_FETCHED, P_TESTING, C_NULL, P_NONE, CFG_TESTING_IGNORE,
     DANE_ALL, "testing policy, DANE published: dane"},
    {"why no policy", DECIDE_DISC_NO_POLICY, P_NONE, C_NULL, P_NONE, CFG_TESTING_IGNORE,
     DANE_INSECURE, "no MTA-STS policy"},
    {"why no policy dane", DECIDE_DISC_NO_POLICY, P_NONE, C_NULL, P_NONE, CFG_TESTING_IGNORE,
     DANE_SOME, "no MTA-STS policy, DANE on some MX hosts: dane"},
    {"why no policy dane error", DECIDE_DISC_NO_POLICY, P_NONE, C_NULL, P_NONE, CFG_TESTING_IGNORE,
     DANE_ERROR, "no MTA-STS policy, DANE lookup error: dane"},
    {"why mode none", DECIDE_DISC_FETCHED, P_MODE_NONE, C_NULL, P_NONE, CFG_TESTING_IGNORE,
     DANE_NONE, "MTA-STS mode none: fallback"},
    {"why expired", DECIDE_DISC_NO_POLICY, P_NONE, C_EXPIRED, P_ENFORCE, CFG_TESTING_IGNORE,
     DANE_INSECURE, "cached MTA-STS policy expired: fallback"},
    {"why fetch failed", DECIDE_DISC_FETCH_FAILED, P_NONE, C_NULL, P_NONE, CFG_TESTING_IGNORE,
     DANE_INSECURE, "policy fetch failed, nothing cached: fallback"},
    {"why fetch failed dane", DECIDE_DISC_FETCH_FAILED, P_NONE, C_EMPTY, P_NONE, CFG_TESTING_IGNORE,
     DANE_ALL, "policy fetch failed, nothing cached: dane"},
    {"why TXT failed", DECIDE_DISC_TXT_FAILED, P_NONE, C_NULL, P_NONE, CFG_TESTING_IGNORE,
     DANE_NONE, "TXT lookup failed, nothing cached: fallback"},
    {"why TXT failed dane error", DECIDE_DISC_TXT_FAILED, P_NONE, C_NULL, P_NONE,
     CFG_TESTING_IGNORE, DANE_ERROR, "TXT lookup and DANE lookup failed, nothing cached"},
};

static void
test_why(void **state)
{
	const struct why_case *w = *state;
	static struct stspolicy fresh;
	static struct cacherec rec;
	struct decide_input in;
	struct cfg_zone zone;
	struct answer a;

	make_policy(&fresh, w->fresh, 0);
	cacherec_init(&rec);
	if (w->cache == C_VALID || w->cache == C_EXPIRED) {
		struct stspolicy p;

		make_policy(&p, w->cached, 1);
		cacherec_on_fetch_ok(&rec, &p, "id1", w->cache == C_VALID ? NOW - 1 : NOW - 86400);
	}
	in.cached = w->cache == C_NULL ? NULL : &rec;
	in.disc = w->disc;
	in.fresh = w->disc == DECIDE_DISC_FETCHED ? &fresh : NULL;
	in.dane = w->dane;
	in.dns = NULL;
	in.domain = "example.com";
	make_zone(&zone, CFG_FALLBACK_MAY, w->testing);
	decide(&in, &zone, NOW, &a);
	assert_string_equal(a.why, w->want);
}

/* The policy in force changes exactly at expiry (now == expires is expired). */
static void
test_expiry_edge(void **state)
{
	static struct cacherec rec;
	struct stspolicy p;
	struct cfg_zone zone;
	struct decide_input in;
	struct answer a;
	char got[512];

	(void)state;
	make_policy(&p, P_ENFORCE, 1);
	cacherec_init(&rec);
	cacherec_on_fetch_ok(&rec, &p, "id1", NOW - 86400);
	make_zone(&zone, CFG_FALLBACK_NOTFOUND, CFG_TESTING_IGNORE);
	in = (struct decide_input){&rec, DECIDE_DISC_NOT_RUN, NULL, DANE_INSECURE, NULL, NULL};
	decide(&in, &zone, NOW - 1, &a);
	render(&a, got, sizeof(got));
	assert_string_equal(got, "OK|" SEC_CACHED);
	decide(&in, &zone, NOW, &a);
	render(&a, got, sizeof(got));
	assert_string_equal(got, "NOTFOUND|");
	/* An out-of-range DANE state is treated as the strictest: ERROR. */
	in.dane = (enum dane_state)42;
	decide(&in, &zone, NOW - 1, &a);
	render(&a, got, sizeof(got));
	assert_string_equal(got, "TEMP|DANE validation error under enforce");
}

/* ---- answer_format on its own ---- */

struct fmt_case {
	const char *name;
	enum answer_kind kind;
	enum answer_level level;
	const char *mx[6]; /* NULL-terminated; for SECURE */
	const char *why;
	const char *status;
	const char *text;
};

static const struct fmt_case fmts[] = {
    {"fmt secure exact",
     ANSWER_OK,
     ANSWER_LEVEL_SECURE,
     {"mail.example.com", NULL},
     "x",
     "OK",
     "secure match=mail.example.com servername=hostname"},
    {"fmt secure wildcard",
     ANSWER_OK,
     ANSWER_LEVEL_SECURE,
     {"*.example.com", NULL},
     "x",
     "OK",
     "secure match=.example.com servername=hostname"},
    {"fmt secure order kept",
     ANSWER_OK,
     ANSWER_LEVEL_SECURE,
     {"mx2.example.com", "*.example.net", "mx1.example.com", NULL},
     "x",
     "OK",
     "secure match=mx2.example.com:.example.net:mx1.example.com servername=hostname"},
    {"fmt secure duplicates",
     ANSWER_OK,
     ANSWER_LEVEL_SECURE,
     {"*.example.com", "example.com", "*.example.com", "example.com", "a.example.com", NULL},
     "x",
     "OK",
     "secure match=.example.com:example.com:a.example.com servername=hostname"},
    {"fmt secure wildcard and exact parent differ",
     ANSWER_OK,
     ANSWER_LEVEL_SECURE,
     {"a.example.com", "*.a.example.com", NULL},
     "x",
     "OK",
     "secure match=a.example.com:.a.example.com servername=hostname"},
    {"fmt secure bad pattern colon",
     ANSWER_OK,
     ANSWER_LEVEL_SECURE,
     {"a.example.com:b", NULL},
     "x",
     "TEMP",
     "internal error: no usable MX pattern for secure"},
    {"fmt secure bad pattern star",
     ANSWER_OK,
     ANSWER_LEVEL_SECURE,
     {"a.*.example.com", NULL},
     "x",
     "TEMP",
     "internal error: no usable MX pattern for secure"},
    {"fmt secure bad pattern bare star",
     ANSWER_OK,
     ANSWER_LEVEL_SECURE,
     {"*", NULL},
     "x",
     "TEMP",
     "internal error: no usable MX pattern for secure"},
    {"fmt secure bad pattern star dot",
     ANSWER_OK,
     ANSWER_LEVEL_SECURE,
     {"*.", NULL},
     "x",
     "TEMP",
     "internal error: no usable MX pattern for secure"},
    {"fmt secure bad pattern leading dot",
     ANSWER_OK,
     ANSWER_LEVEL_SECURE,
     {".example.com", NULL},
     "x",
     "TEMP",
     "internal error: no usable MX pattern for secure"},
    {"fmt secure bad pattern space",
     ANSWER_OK,
     ANSWER_LEVEL_SECURE,
     {"ok.example.com", "a b.example.com", NULL},
     "x",
     "TEMP",
     "internal error: no usable MX pattern for secure"},
    {"fmt secure no patterns",
     ANSWER_OK,
     ANSWER_LEVEL_SECURE,
     {NULL},
     "x",
     "TEMP",
     "internal error: no usable MX pattern for secure"},
    {"fmt dane-only", ANSWER_OK, ANSWER_LEVEL_DANE_ONLY, {NULL}, "x", "OK", "dane-only"},
    {"fmt dane", ANSWER_OK, ANSWER_LEVEL_DANE, {NULL}, "x", "OK", "dane"},
    {"fmt encrypt", ANSWER_OK, ANSWER_LEVEL_ENCRYPT, {NULL}, "x", "OK", "encrypt"},
    {"fmt may", ANSWER_OK, ANSWER_LEVEL_MAY, {NULL}, "x", "OK", "may"},
    {"fmt notfound", ANSWER_NOTFOUND, ANSWER_LEVEL_MAY, {NULL}, "ignored", "NOTFOUND", ""},
    {"fmt temp",
     ANSWER_TEMP,
     ANSWER_LEVEL_SECURE,
     {NULL},
     "DANE validation error under enforce",
     "TEMP",
     "DANE validation error under enforce"},
    {"fmt temp no why",
     ANSWER_TEMP,
     ANSWER_LEVEL_SECURE,
     {NULL},
     NULL,
     "TEMP",
     "temporary failure"},
    {"fmt bad level",
     ANSWER_OK,
     (enum answer_level)77,
     {NULL},
     "x",
     "TEMP",
     "internal error: unknown TLS level"},
    {"fmt bad kind",
     (enum answer_kind)77,
     ANSWER_LEVEL_MAY,
     {NULL},
     "x",
     "TEMP",
     "internal error: unknown answer kind"},
};

static void
test_fmt(void **state)
{
	const struct fmt_case *f = *state;
	static struct stspolicy pol;
	struct answer a;
	const char *status = NULL;
	char out[1024];
	size_t len = 0, want = strlen(f->text);

	memset(&pol, 0, sizeof(pol));
	pol.mode = STSPOLICY_MODE_ENFORCE;
	for (unsigned i = 0; f->mx[i] != NULL; i++)
		set_mx(&pol, f->mx[i]);
	memset(&a, 0, sizeof(a));
	a.kind = f->kind;
	a.level = f->level;
	a.policy = &pol;
	a.why = f->why;

	assert_int_equal(fmt(&a, &status, out, sizeof(out) - 1, &len), 0);
	assert_string_equal(status, f->status);
	assert_string_equal(out, f->text);
	assert_int_equal(len, want);
	assert_null(strchr(out, '*'));

	/* A cap of exactly the text's length fits; any smaller cap refuses it. */
	memset(out, 'Z', sizeof(out));
	len = 9999;
	assert_int_equal(fmt(&a, &status, out, want, &len), 0);
	assert_int_equal(len, want);
	assert_string_equal(out, f->text);
	for (size_t sz = 0; sz < want; sz++) {
		len = 9999;
		assert_int_equal(fmt(&a, &status, out, sz, &len), -1);
		assert_int_equal(len, 9999);
	}
}

static void
test_fmt_null_policy(void **state)
{
	struct answer a = {.kind = ANSWER_OK, .level = ANSWER_LEVEL_SECURE, .why = "x"};
	const char *status = NULL;
	char out[256];
	size_t len = 0;

	(void)state;
	assert_int_equal(fmt(&a, &status, out, sizeof(out) - 1, &len), 0);
	assert_string_equal(status, "TEMP");
	assert_string_equal(out, "internal error: no usable MX pattern for secure");
}

/* 64 patterns of maximal length all fit a reply well under Postfix's 100000-byte cap. */
static void
test_fmt_biggest(void **state)
{
	static struct stspolicy pol;
	static char out[32768];
	struct answer a = {
	    .kind = ANSWER_OK, .level = ANSWER_LEVEL_SECURE, .policy = &pol, .why = "x"};
	const char *status = NULL;
	char name[DNAME_MAX + 1];
	size_t len = 0;

	(void)state;
	memset(&pol, 0, sizeof(pol));
	pol.mode = STSPOLICY_MODE_ENFORCE;
	for (unsigned i = 0; i < STSPOLICY_MAX_MX; i++) {
		memset(name, 'a' + (char)(i % 26), sizeof(name));
		name[0] = (char)('a' + i / 26);
		name[63] = name[127] = name[191] = '.';
		name[DNAME_MAX] = '\0';
		set_mx(&pol, name);
	}
	assert_int_equal(fmt(&a, &status, out, sizeof(out) - 1, &len), 0);
	assert_string_equal(status, "OK");
	assert_int_equal(len,
	                 strlen("secure match=") + 64 * 253 + 63 + strlen(" servername=hostname"));
	assert_true(len < 100000);
}

/* ---- zone knobs: dane_partial, mx_check, tlsrpt ---- */

/* hosts NULL: the MX lookup failed (MX set unknown). */
static void
make_dns(struct danerec *d, const char *const *hosts)
{
	memset(d, 0, sizeof(*d));
	d->state = DANE_NONE;
	d->mx_known = hosts != NULL;
	for (; hosts != NULL && *hosts != NULL; hosts++)
		snprintf(d->hosts[d->n_hosts++], sizeof(d->hosts[0]), "%s", *hosts);
}

/* Decide an enforce policy with patterns pats and resolved MX hosts (NULL: the MX lookup
 * failed), mx_check on unless tweak says otherwise; render. */
static void
run_enforce(const char *const *pats, const char *const *hosts, enum dane_state dane,
            void (*tweak)(struct cfg_zone *), char *got, size_t gotsz)
{
	static struct stspolicy pol;
	static struct danerec dns;
	struct decide_input in;
	struct cfg_zone zone;
	struct answer a;

	memset(&pol, 0, sizeof(pol));
	pol.mode = STSPOLICY_MODE_ENFORCE;
	pol.max_age = 604800;
	for (; *pats != NULL; pats++)
		set_mx(&pol, *pats);
	make_dns(&dns, hosts);
	make_zone(&zone, CFG_FALLBACK_MAY, CFG_TESTING_IGNORE);
	zone.mx_check = 1;
	if (tweak)
		tweak(&zone);
	in = (struct decide_input){NULL, DECIDE_DISC_FETCHED, &pol, dane, &dns, "example.com"};
	decide(&in, &zone, NOW, &a);
	render(&a, got, gotsz);
}

static void
partial_dane(struct cfg_zone *z)
{
	z->dane_partial = CFG_DANE_PARTIAL_DANE;
}

static void
mx_check_off(struct cfg_zone *z)
{
	z->mx_check = 0;
}

static void
tlsrpt_on(struct cfg_zone *z)
{
	z->tlsrpt = 1;
}

static void
tlsrpt_mx_off(struct cfg_zone *z)
{
	z->tlsrpt = 1;
	z->mx_check = 0;
}

static void
dane_off(struct cfg_zone *z)
{
	z->dane = 0;
}

static void
test_dane_partial(void **state)
{
	static const char *const pats[] = {"mx.example.com", NULL};
	static const char *const hosts[] = {"mx.example.com", NULL};
	char got[4096];

	(void)state;
	run_enforce(pats, hosts, DANE_SOME, NULL, got, sizeof(got));
	assert_string_equal(got, "OK|dane-only");
	run_enforce(pats, hosts, DANE_SOME, partial_dane, got, sizeof(got));
	assert_string_equal(got, "OK|dane");
	/* The knob is only about SOME: ALL stays dane-only, ERROR stays TEMP. */
	run_enforce(pats, hosts, DANE_ALL, partial_dane, got, sizeof(got));
	assert_string_equal(got, "OK|dane-only");
	run_enforce(pats, hosts, DANE_ERROR, partial_dane, got, sizeof(got));
	assert_string_equal(got, "TEMP|DANE validation error under enforce");
	/* dane = no: DANE is not looked at, the MTA-STS policy answers. */
	run_enforce(pats, hosts, DANE_ALL, dane_off, got, sizeof(got));
	assert_string_equal(got, "OK|secure match=mx.example.com servername=hostname");
	run_enforce(pats, hosts, DANE_ERROR, dane_off, got, sizeof(got));
	assert_string_equal(got, "OK|secure match=mx.example.com servername=hostname");
}

struct mx_case {
	const char *name;
	const char *pats[4];
	int mx_failed; /* the MX lookup failed: hosts[] unused */
	const char *hosts[6];
	const char *want; /* the match= list, or "TEMP" */
};

/* Under mx_check every answer lists only names the policy allows exactly (RFC 8461 s4.1), or
 * is TEMP: never a ".suffix" that Postfix would take as any depth. */
static const struct mx_case mx_cases[] = {
    {"mx_check exact", {"mx1.example.com", NULL}, 0, {"mx1.example.com", NULL}, "mx1.example.com"},
    {"mx_check wildcard one label",
     {"*.example.com", NULL},
     0,
     {"mx1.example.com", "mx2.example.com", NULL},
     "mx1.example.com:mx2.example.com"},
    /* RFC 8461 s4.1: "*.example.com" is exactly one label; Postfix's .example.com is any. */
    {"mx_check wildcard not two labels",
     {"*.example.com", NULL},
     0,
     {"a.b.example.com", "mx.example.com", NULL},
     "mx.example.com"},
    {"mx_check wildcard not the parent",
     {"*.example.com", NULL},
     0,
     {"example.com", "mx.example.com", NULL},
     "mx.example.com"},
    {"mx_check host outside the policy left out",
     {"mx1.example.com", NULL},
     0,
     {"backup.other.net", "mx1.example.com", NULL},
     "mx1.example.com"},
    {"mx_check order of the MX set",
     {"mx2.example.com", "mx1.example.com", NULL},
     0,
     {"mx1.example.com", "mx2.example.com", NULL},
     "mx1.example.com:mx2.example.com"},
    /* Issue 7: the only MX is two labels below the wildcard. ".mx.example.com" would let
     * Postfix verify it; nothing the policy allows is left, so defer. */
    {"mx_check only host two labels below the wildcard: TEMP",
     {"*.mx.example.com", NULL},
     0,
     {"a.b.mx.example.com", NULL},
     "TEMP"},
    {"mx_check no host matches: TEMP",
     {"mx1.example.com", "*.example.net", NULL},
     0,
     {"evil.attacker.test", NULL},
     "TEMP"},
    {"mx_check null MX or NXDOMAIN (no hosts): TEMP", {"*.example.com", NULL}, 0, {NULL}, "TEMP"},
    {"mx_check MX lookup failed: literal names only",
     {"*.example.net", "mx1.example.com", "mx2.example.com", NULL},
     1,
     {NULL},
     "mx1.example.com:mx2.example.com"},
    {"mx_check MX lookup failed, duplicate literal names once",
     {"mx1.example.com", "mx1.example.com", NULL},
     1,
     {NULL},
     "mx1.example.com"},
    {"mx_check MX lookup failed, only wildcards: TEMP",
     {"*.example.com", "*.example.net", NULL},
     1,
     {NULL},
     "TEMP"},
};

static void
test_mx_check(void **state)
{
	const struct mx_case *m = *state;
	char got[4096], want[4096];

	run_enforce(m->pats, m->mx_failed ? NULL : m->hosts, DANE_INSECURE, NULL, got, sizeof(got));
	if (strcmp(m->want, "TEMP") == 0) {
		if (strncmp(got, "TEMP|", 5) != 0)
			fail_msg("%s: got \"%s\", want TEMP", m->name, got);
		return;
	}
	snprintf(want, sizeof(want), "OK|secure match=%s servername=hostname", m->want);
	assert_string_equal(got, want);
}

/* Without any DNS record (the DNS part did not run or was lost) mx_check is as strict as
 * after a failed MX lookup, for a fresh and a cached policy, and for testing treated as
 * enforce. */
static void
test_mx_check_no_record(void **state)
{
	static struct stspolicy pol;
	struct cacherec rec;
	struct decide_input in;
	struct cfg_zone zone;
	struct answer a;
	char got[4096];

	(void)state;
	memset(&pol, 0, sizeof(pol));
	pol.mode = STSPOLICY_MODE_ENFORCE;
	pol.max_age = 604800;
	set_mx(&pol, "*.example.com");
	make_zone(&zone, CFG_FALLBACK_MAY, CFG_TESTING_ENFORCE);
	zone.mx_check = 1;
	in = (struct decide_input){NULL, DECIDE_DISC_FETCHED, &pol, DANE_INSECURE, NULL, "x.test"};
	decide(&in, &zone, NOW, &a);
	render(&a, got, sizeof(got));
	assert_string_equal(got, "TEMP|MX lookup failed and the policy names no MX host exactly");
	set_mx(&pol, "mx.example.com");
	pol.mode = STSPOLICY_MODE_TESTING;
	memset(&rec, 0, sizeof(rec));
	rec.has_policy = 1;
	rec.policy = pol;
	rec.fetched = NOW - 10;
	rec.expires = NOW + 100;
	in = (struct decide_input){&rec, DECIDE_DISC_NOT_RUN, NULL, DANE_INSECURE, NULL, "x.test"};
	decide(&in, &zone, NOW, &a);
	render(&a, got, sizeof(got));
	assert_string_equal(got, "OK|secure match=mx.example.com servername=hostname");
}

static void
test_mx_check_off(void **state)
{
	static const char *const pats[] = {"*.example.com", NULL};
	static const char *const hosts[] = {"mx.example.com", NULL};
	char got[4096];

	(void)state;
	run_enforce(pats, hosts, DANE_INSECURE, mx_check_off, got, sizeof(got));
	assert_string_equal(got, "OK|secure match=.example.com servername=hostname");
}

/* The Postfix 3.10 attributes, exact; with and without mx_check. */
static void
test_tlsrpt(void **state)
{
	static const char *const pats[] = {"mx.example.com", "*.example.net", NULL};
	static const char *const hosts[] = {"a.example.net", "mx.example.com", NULL};
	static const char *const none[] = {NULL};
	char got[4096];

	(void)state;
	run_enforce(pats, hosts, DANE_NONE, tlsrpt_on, got, sizeof(got));
	assert_string_equal(got, "OK|secure match=a.example.net:mx.example.com servername=hostname"
	                         " policy_type=sts policy_domain=example.com"
	                         " mx_host_pattern=mx.example.com mx_host_pattern=*.example.net"
	                         " { policy_string = version: STSv1 }"
	                         " { policy_string = mode: enforce }"
	                         " { policy_string = mx: mx.example.com }"
	                         " { policy_string = mx: *.example.net }"
	                         " { policy_string = max_age: 604800 }");
	run_enforce(pats, none, DANE_INSECURE, tlsrpt_mx_off, got, sizeof(got));
	assert_string_equal(got, "OK|secure match=mx.example.com:.example.net servername=hostname"
	                         " policy_type=sts policy_domain=example.com"
	                         " mx_host_pattern=mx.example.com mx_host_pattern=*.example.net"
	                         " { policy_string = version: STSv1 }"
	                         " { policy_string = mode: enforce }"
	                         " { policy_string = mx: mx.example.com }"
	                         " { policy_string = mx: *.example.net }"
	                         " { policy_string = max_age: 604800 }");
	/* Nothing extra for DANE answers or the fallback. */
	run_enforce(pats, hosts, DANE_ALL, tlsrpt_on, got, sizeof(got));
	assert_string_equal(got, "OK|dane-only");
	/* Without the zone knob, never (Postfix <= 3.9 defers on any of it). */
	run_enforce(pats, hosts, DANE_NONE, NULL, got, sizeof(got));
	assert_null(strstr(got, "policy_type"));
}

/* answer_format refuses a match name or domain that would break the reply syntax. */
static void
test_fmt_bad_names(void **state)
{
	static struct stspolicy pol;
	struct answer a;
	const char *status = NULL;
	char out[512];
	size_t len = 0;

	(void)state;
	memset(&pol, 0, sizeof(pol));
	pol.mode = STSPOLICY_MODE_ENFORCE;
	set_mx(&pol, "*.example.com");
	memset(&a, 0, sizeof(a));
	a.kind = ANSWER_OK;
	a.level = ANSWER_LEVEL_SECURE;
	a.policy = &pol;
	a.why = "x";
	a.n_match = 1;
	a.match[0] = "mx.example.com:evil.test";
	assert_int_equal(fmt(&a, &status, out, sizeof(out) - 1, &len), 0);
	assert_string_equal(status, "TEMP");
	a.match[0] = "*.example.com";
	assert_int_equal(fmt(&a, &status, out, sizeof(out) - 1, &len), 0);
	assert_string_equal(status, "TEMP");
	a.n_match = 0;
	a.tlsrpt_domain = "example.com }";
	assert_int_equal(fmt(&a, &status, out, sizeof(out) - 1, &len), 0);
	assert_string_equal(status, "TEMP");
	a.tlsrpt_domain = "example.com";
	assert_int_equal(fmt(&a, &status, out, sizeof(out) - 1, &len), 0);
	assert_string_equal(status, "OK");
}

/* answer_reply(): decide + format; a reply over its cap is TEMP, never a cut policy. */
static void
test_reply(void **state)
{
	static struct stspolicy pol;
	struct decide_input in;
	struct cfg_zone zone;
	struct strbuf sb;
	const char *status = NULL, *why = NULL;

	(void)state;
	memset(&pol, 0, sizeof(pol));
	pol.mode = STSPOLICY_MODE_ENFORCE;
	pol.max_age = 604800;
	set_mx(&pol, "mx.example.com");
	make_zone(&zone, CFG_FALLBACK_MAY, CFG_TESTING_IGNORE);
	in = (struct decide_input){NULL, DECIDE_DISC_FETCHED, &pol, DANE_INSECURE, NULL, "x.test"};
	strbuf_init(&sb, ANSWER_TEXT_MAX);
	answer_reply(&in, &zone, NOW, &sb, &status, &why);
	assert_string_equal(status, "OK");
	assert_string_equal(sb.data, "secure match=mx.example.com servername=hostname");
	assert_string_equal(why, "enforced MTA-STS policy");
	strbuf_fini(&sb);
	strbuf_init(&sb, 20);
	answer_reply(&in, &zone, NOW, &sb, &status, &why);
	assert_string_equal(status, "TEMP");
	assert_string_equal(sb.data, "reply too long");
	assert_string_equal(why, "reply too long");
	strbuf_fini(&sb);
}

/* Which answers need the DNS record, and what a cache answer stands for. */
static void
test_needs_dns(void **state)
{
	struct cacherec rec;
	struct cfg_zone z;

	(void)state;
	make_zone(&z, CFG_FALLBACK_MAY, CFG_TESTING_IGNORE);
	memset(&rec, 0, sizeof(rec));
	/* DANE with the AD bit trusted: always */
	z.dane = 1;
	assert_true(decide_needs_dns(&rec, &z, 1, NOW));
	z.dane = 0;
	/* mx_check off: never */
	assert_false(decide_needs_dns(&rec, &z, 1, NOW));
	z.mx_check = 1;
	/* nothing known: discovery may find an enforced policy */
	assert_true(decide_needs_dns(&rec, &z, 0, NOW));
	rec.none_until = NOW + 10;
	assert_false(decide_needs_dns(&rec, &z, 0, NOW));
	rec.none_until = 0;
	rec.fail_until = NOW + 10;
	assert_false(decide_needs_dns(&rec, &z, 0, NOW));
	rec.has_policy = 1;
	rec.expires = NOW + 10;
	rec.policy.mode = STSPOLICY_MODE_ENFORCE;
	assert_true(decide_needs_dns(&rec, &z, 0, NOW));
	rec.policy.mode = STSPOLICY_MODE_TESTING;
	assert_false(decide_needs_dns(&rec, &z, 0, NOW));
	z.testing = CFG_TESTING_ENFORCE;
	assert_true(decide_needs_dns(&rec, &z, 0, NOW));
	rec.policy.mode = STSPOLICY_MODE_NONE;
	assert_false(decide_needs_dns(&rec, &z, 0, NOW));
	assert_int_equal(decide_cached_disc(CACHEREC_VIEW_POLICY), DECIDE_DISC_NOT_RUN);
	assert_int_equal(decide_cached_disc(CACHEREC_VIEW_NO_POLICY), DECIDE_DISC_NO_POLICY);
	assert_int_equal(decide_cached_disc(CACHEREC_VIEW_TXT_FAILED), DECIDE_DISC_TXT_FAILED);
	assert_int_equal(decide_cached_disc(CACHEREC_VIEW_UNKNOWN), DECIDE_DISC_TXT_FAILED);
}

#define N_MX (sizeof(mx_cases) / sizeof(mx_cases[0]))
#define N_ROWS (sizeof(rows) / sizeof(rows[0]))
#define N_WHY (sizeof(whys) / sizeof(whys[0]))
#define N_FMT (sizeof(fmts) / sizeof(fmts[0]))

static struct CMUnitTest tests[N_ROWS * 5 + N_WHY + N_FMT + N_MX + 16];

int
main(void)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < N_ROWS; i++) {
		for (unsigned c = 0; c < 5; c++, k++) {
			cells[k].row = &rows[i];
			cells[k].col = c;
			snprintf(cells[k].name, sizeof(cells[k].name), "%s x DANE %s", rows[i].name,
			         column_names[c]);
			tests[n++] = (struct CMUnitTest){.name = cells[k].name,
			                                 .test_func = test_cell,
			                                 .initial_state = &cells[k]};
		}
	}
	for (size_t i = 0; i < N_WHY; i++)
		tests[n++] = (struct CMUnitTest){
		    .name = whys[i].name, .test_func = test_why, .initial_state = (void *)&whys[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_expiry_edge);
	for (size_t i = 0; i < N_FMT; i++)
		tests[n++] = (struct CMUnitTest){
		    .name = fmts[i].name, .test_func = test_fmt, .initial_state = (void *)&fmts[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_fmt_null_policy);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_fmt_biggest);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_fmt_bad_names);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_dane_partial);
	for (size_t i = 0; i < N_MX; i++)
		tests[n++] = (struct CMUnitTest){.name = mx_cases[i].name,
		                                 .test_func = test_mx_check,
		                                 .initial_state = (void *)&mx_cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mx_check_no_record);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mx_check_off);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tlsrpt);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_reply);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_needs_dns);
	return cmocka_run_group_tests_name("decide", tests, NULL, NULL);
}
