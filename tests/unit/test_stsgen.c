/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for stsgen.c (mta-stsctl generate): one table row per input, every error code
 * with the argument it names, the caps at the cap and one over (mx count, rua count and length,
 * id length, domain length with and without rua, max_age, the year), golden texts for a few
 * inputs at a fixed time, and a round trip of every accepted row through the daemon's parsers
 * (stsrecord_parse(), stspolicy_parse()) and through the zone-file quoting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stsgen.h"

#define NOW 1772366400 /* 2026-03-01T12:00:00Z */
#define L(...)                                                                                     \
	(const char *const[])                                                                      \
	{                                                                                          \
		__VA_ARGS__                                                                        \
	}
#define N(...) L(__VA_ARGS__), sizeof(L(__VA_ARGS__)) / sizeof(const char *)

struct gen_case {
	const char *name;
	const char *domain, *mode;
	const char *const *mx;
	size_t n_mx;
	const char *max_age;
	const char *const *rua;
	size_t n_rua;
	const char *id;
	long long now;
	enum stsgen_err want;
	const char *arg;     /* the argument an error names (NULL: none) */
	const char *id_want; /* accepted: the id */
};

#define ONE_MX N("mail.example.com")
#define NO_LIST NULL, 0
#define LABEL63 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc"
/* Three labels of 63 and their dots are 192 bytes; a last label of 50 to 53 makes 242 to 245. */
#define L192 LABEL63 "." LABEL63 "." LABEL63 "."
#define L50 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
#define D242 L192 L50
#define D243 L192 L50 "k"
#define D244 L192 L50 "kl"
#define D245 L192 L50 "klm"
#define ID32 "0123456789abcdef0123456789ABCDEF"
#define RUA1 N("mailto:tlsrpt@example.com")

static const struct gen_case cases[] = {
    /* Accepted. */
    {"enforce", "example.com", "enforce", ONE_MX, "604800", NO_LIST, NULL, NOW, STSGEN_OK, NULL,
     "20260301T120000Z"},
    {"testing", "example.com", "testing", ONE_MX, "86400", NO_LIST, NULL, NOW, STSGEN_OK, NULL,
     "20260301T120000Z"},
    {"none without mx", "example.com", "none", NO_LIST, "86400", NO_LIST, NULL, NOW, STSGEN_OK,
     NULL, "20260301T120000Z"},
    {"none with mx", "example.com", "none", ONE_MX, "0", NO_LIST, NULL, NOW, STSGEN_OK, NULL,
     "20260301T120000Z"},
    {"normalised", "Example.COM.", "enforce", N("MAIL.Example.com.", "*.MX.example.NET"),
     "31557600", NO_LIST, NULL, NOW, STSGEN_OK, NULL, "20260301T120000Z"},
    {"id given 32", "example.com", "enforce", ONE_MX, "86400", NO_LIST, ID32, NOW, STSGEN_OK, NULL,
     ID32},
    {"id given 1", "example.com", "enforce", ONE_MX, "86400", NO_LIST, "7", NOW, STSGEN_OK, NULL,
     "7"},
    {"epoch", "example.com", "enforce", ONE_MX, "86400", NO_LIST, NULL, 0, STSGEN_OK, NULL,
     "19700101T000000Z"},
    {"year 9999", "example.com", "enforce", ONE_MX, "86400", NO_LIST, NULL, 253402300799LL,
     STSGEN_OK, NULL, "99991231T235959Z"},
    {"domain 244", D244, "testing", ONE_MX, "86400", NO_LIST, NULL, NOW, STSGEN_OK, NULL,
     "20260301T120000Z"},
    {"domain 242 with rua", D242, "testing", ONE_MX, "86400", RUA1, NULL, NOW, STSGEN_OK, NULL,
     "20260301T120000Z"},
    {"rua kinds", "example.com", "testing", ONE_MX, "86400",
     N("mailto:tlsrpt@example.com?subject=tls", "MAILTO:a.b+c@Reports.example.org",
       "https://reports.example.com/v1/tlsrpt", "https://reports.example.com:8443",
       "HTTPS://r.example.net/a%2Cb?x=1#f"),
     NULL, NOW, STSGEN_OK, NULL, "20260301T120000Z"},
    {"rua 8", "example.com", "testing", ONE_MX, "86400",
     N("mailto:a@example.com", "mailto:b@example.com", "mailto:c@example.com",
       "mailto:d@example.com", "mailto:e@example.com", "mailto:f@example.com",
       "mailto:g@example.com", "mailto:h@example.com"),
     NULL, NOW, STSGEN_OK, NULL, "20260301T120000Z"},

    /* Refused: the domain. */
    {"domain underscore", "bad_domain.example", "enforce", ONE_MX, "86400", NO_LIST, NULL, NOW,
     STSGEN_BAD_DOMAIN, "domain", NULL},
    {"domain empty", "", "enforce", ONE_MX, "86400", NO_LIST, NULL, NOW, STSGEN_BAD_DOMAIN,
     "domain", NULL},
    {"domain one label", "localhost", "enforce", ONE_MX, "86400", NO_LIST, NULL, NOW,
     STSGEN_BAD_DOMAIN, "domain", NULL},
    {"domain empty label", "a..example", "enforce", ONE_MX, "86400", NO_LIST, NULL, NOW,
     STSGEN_BAD_DOMAIN, "domain", NULL},
    {"domain wildcard", "*.example.com", "enforce", ONE_MX, "86400", NO_LIST, NULL, NOW,
     STSGEN_BAD_DOMAIN, "domain", NULL},
    {"domain 245", D245, "testing", ONE_MX, "86400", NO_LIST, NULL, NOW, STSGEN_BAD_DOMAIN,
     "domain", NULL},
    {"domain 243 with rua", D243, "testing", ONE_MX, "86400", RUA1, NULL, NOW, STSGEN_BAD_DOMAIN,
     "domain", NULL},

    /* The mode. */
    {"mode capital", "example.com", "Enforce", ONE_MX, "86400", NO_LIST, NULL, NOW, STSGEN_BAD_MODE,
     "mode", NULL},
    {"mode unknown", "example.com", "strict", ONE_MX, "86400", NO_LIST, NULL, NOW, STSGEN_BAD_MODE,
     "mode", NULL},
    {"mode empty", "example.com", "", ONE_MX, "86400", NO_LIST, NULL, NOW, STSGEN_BAD_MODE, "mode",
     NULL},

    /* The mx patterns. */
    {"enforce without mx", "example.com", "enforce", NO_LIST, "86400", NO_LIST, NULL, NOW,
     STSGEN_NO_MX, "mx", NULL},
    {"testing without mx", "example.com", "testing", NO_LIST, "86400", NO_LIST, NULL, NOW,
     STSGEN_NO_MX, "mx", NULL},
    {"mx star inside", "example.com", "enforce", N("a.*.example.com"), "86400", NO_LIST, NULL, NOW,
     STSGEN_BAD_MX, "mx", NULL},
    {"mx star glued", "example.com", "enforce", N("*example.com"), "86400", NO_LIST, NULL, NOW,
     STSGEN_BAD_MX, "mx", NULL},
    {"mx two stars", "example.com", "enforce", N("*.*.example.com"), "86400", NO_LIST, NULL, NOW,
     STSGEN_BAD_MX, "mx", NULL},
    {"mx star alone", "example.com", "enforce", N("*"), "86400", NO_LIST, NULL, NOW, STSGEN_BAD_MX,
     "mx", NULL},
    {"mx star tld", "example.com", "enforce", N("*.com"), "86400", NO_LIST, NULL, NOW,
     STSGEN_BAD_MX, "mx", NULL},
    {"mx partial label", "example.com", "enforce", N("mx*.example.com"), "86400", NO_LIST, NULL,
     NOW, STSGEN_BAD_MX, "mx", NULL},
    {"mx underscore", "example.com", "enforce", N("mail_1.example.com"), "86400", NO_LIST, NULL,
     NOW, STSGEN_BAD_MX, "mx", NULL},
    {"mx empty", "example.com", "enforce", N(""), "86400", NO_LIST, NULL, NOW, STSGEN_BAD_MX, "mx",
     NULL},
    {"mx space", "example.com", "enforce", N("mail.example.com x"), "86400", NO_LIST, NULL, NOW,
     STSGEN_BAD_MX, "mx", NULL},
    {"mx second bad", "example.com", "enforce", N("mail.example.com", "bad..example.com"), "86400",
     NO_LIST, NULL, NOW, STSGEN_BAD_MX, "mx", NULL},
    {"mx twice", "example.com", "enforce", N("MAIL.example.com", "mail.example.com."), "86400",
     NO_LIST, NULL, NOW, STSGEN_DUP_MX, "mx", NULL},
    {"mx bad in mode none", "example.com", "none", N("-x.example.com"), "86400", NO_LIST, NULL, NOW,
     STSGEN_BAD_MX, "mx", NULL},

    /* max_age. */
    {"max_age over", "example.com", "enforce", ONE_MX, "31557601", NO_LIST, NULL, NOW,
     STSGEN_BAD_MAX_AGE, "max-age", NULL},
    {"max_age negative", "example.com", "enforce", ONE_MX, "-1", NO_LIST, NULL, NOW,
     STSGEN_BAD_MAX_AGE, "max-age", NULL},
    {"max_age unit", "example.com", "enforce", ONE_MX, "1d", NO_LIST, NULL, NOW, STSGEN_BAD_MAX_AGE,
     "max-age", NULL},
    {"max_age empty", "example.com", "enforce", ONE_MX, "", NO_LIST, NULL, NOW, STSGEN_BAD_MAX_AGE,
     "max-age", NULL},
    {"max_age space", "example.com", "enforce", ONE_MX, " 86400", NO_LIST, NULL, NOW,
     STSGEN_BAD_MAX_AGE, "max-age", NULL},
    {"max_age huge", "example.com", "enforce", ONE_MX, "99999999999999999999999", NO_LIST, NULL,
     NOW, STSGEN_BAD_MAX_AGE, "max-age", NULL},

    /* The id and the time. */
    {"id 33", "example.com", "enforce", ONE_MX, "86400", NO_LIST, ID32 "x", NOW, STSGEN_BAD_ID,
     "id", NULL},
    {"id empty", "example.com", "enforce", ONE_MX, "86400", NO_LIST, "", NOW, STSGEN_BAD_ID, "id",
     NULL},
    {"id hyphen", "example.com", "enforce", ONE_MX, "86400", NO_LIST, "2026-03-01", NOW,
     STSGEN_BAD_ID, "id", NULL},
    {"id iso time", "example.com", "enforce", ONE_MX, "86400", NO_LIST, "20260301T12:00:00Z", NOW,
     STSGEN_BAD_ID, "id", NULL},
    {"time negative", "example.com", "enforce", ONE_MX, "86400", NO_LIST, NULL, -1, STSGEN_BAD_TIME,
     NULL, NULL},
    {"time year 10000", "example.com", "enforce", ONE_MX, "86400", NO_LIST, NULL, 253402300800LL,
     STSGEN_BAD_TIME, NULL, NULL},

    /* The report URIs. */
    {"rua http", "example.com", "testing", ONE_MX, "86400", N("http://r.example.com/"), NULL, NOW,
     STSGEN_BAD_RUA, "rua", NULL},
    {"rua bare address", "example.com", "testing", ONE_MX, "86400", N("tlsrpt@example.com"), NULL,
     NOW, STSGEN_BAD_RUA, "rua", NULL},
    {"rua mailto empty", "example.com", "testing", ONE_MX, "86400", N("mailto:"), NULL, NOW,
     STSGEN_BAD_RUA, "rua", NULL},
    {"rua mailto no local", "example.com", "testing", ONE_MX, "86400", N("mailto:@example.com"),
     NULL, NOW, STSGEN_BAD_RUA, "rua", NULL},
    {"rua mailto bad domain", "example.com", "testing", ONE_MX, "86400", N("mailto:a@b"), NULL, NOW,
     STSGEN_BAD_RUA, "rua", NULL},
    {"rua comma", "example.com", "testing", ONE_MX, "86400",
     N("mailto:a@example.com,mailto:b@example.com"), NULL, NOW, STSGEN_BAD_RUA, "rua", NULL},
    {"rua semicolon", "example.com", "testing", ONE_MX, "86400", N("mailto:a@example.com;x=1"),
     NULL, NOW, STSGEN_BAD_RUA, "rua", NULL},
    {"rua quote", "example.com", "testing", ONE_MX, "86400", N("mailto:\"a\"@example.com"), NULL,
     NOW, STSGEN_BAD_RUA, "rua", NULL},
    {"rua space", "example.com", "testing", ONE_MX, "86400", N("mailto:a b@example.com"), NULL, NOW,
     STSGEN_BAD_RUA, "rua", NULL},
    {"rua https userinfo", "example.com", "testing", ONE_MX, "86400", N("https://u@r.example.com/"),
     NULL, NOW, STSGEN_BAD_RUA, "rua", NULL},
    {"rua https port 0", "example.com", "testing", ONE_MX, "86400", N("https://r.example.com:0/"),
     NULL, NOW, STSGEN_BAD_RUA, "rua", NULL},
    {"rua https port big", "example.com", "testing", ONE_MX, "86400",
     N("https://r.example.com:65536/"), NULL, NOW, STSGEN_BAD_RUA, "rua", NULL},
    {"rua https no host", "example.com", "testing", ONE_MX, "86400", N("https:///x"), NULL, NOW,
     STSGEN_BAD_RUA, "rua", NULL},
    {"rua https one slash", "example.com", "testing", ONE_MX, "86400", N("https:/r.example.com"),
     NULL, NOW, STSGEN_BAD_RUA, "rua", NULL},
    {"rua 9", "example.com", "testing", ONE_MX, "86400",
     N("mailto:a@example.com", "mailto:b@example.com", "mailto:c@example.com",
       "mailto:d@example.com", "mailto:e@example.com", "mailto:f@example.com",
       "mailto:g@example.com", "mailto:h@example.com", "mailto:i@example.com"),
     NULL, NOW, STSGEN_TOO_MANY_RUA, "rua", NULL},
};

/* Join the quoted character-strings of a zone-file line "NAME TTL IN TXT "a" "b"": each at
 * most 255 bytes, no escapes. Returns the joined text (caller frees) or NULL. */
static char *
zone_text(const char *line, const char *name)
{
	char head[300];
	const char *p;
	char *out = calloc(1, strlen(line) + 1);
	size_t n = 0;

	snprintf(head, sizeof(head), "%s %d IN TXT ", name, STSGEN_TTL);
	if (out == NULL || strncmp(line, head, strlen(head)) != 0) {
		free(out);
		return NULL;
	}
	for (p = line + strlen(head); *p != '\0';) {
		const char *q;
		if (*p != '"' || (q = strchr(p + 1, '"')) == NULL || q - p - 1 > 255) {
			free(out);
			return NULL;
		}
		memcpy(out + n, p + 1, (size_t)(q - p - 1));
		n += (size_t)(q - p - 1);
		p = q + 1;
		if (*p == ' ')
			p++;
		else if (*p != '\0') {
			free(out);
			return NULL;
		}
	}
	return out;
}

static enum stsgen_err
run(const struct gen_case *c, struct stsgen *g)
{
	struct stsgen_in in = {c->domain, c->mode,  c->mx, c->n_mx,       c->max_age,
	                       c->rua,    c->n_rua, c->id, (time_t)c->now};

	stsgen_init(g);
	return stsgen_make(&in, g);
}

/* Each row: the code, the argument named; accepted rows parse back as what was asked. */
static void
test_case(void **state)
{
	const struct gen_case *c = *state;
	struct stsgen *g = malloc(sizeof(*g));
	struct stspolicy *p = malloc(sizeof(*p));
	struct stsrecord rec;
	enum stsgen_err e;
	char *joined;

	assert_non_null(g);
	assert_non_null(p);
	e = run(c, g);
	if (e != c->want)
		fail_msg("%s: got %s (%s), want %s", c->name, stsgen_strerror(e),
		         g->why ? g->why : "-", stsgen_strerror(c->want));
	if (e != STSGEN_OK) {
		if (c->arg == NULL)
			assert_null(g->bad_arg);
		else
			assert_string_equal(g->bad_arg, c->arg);
		/* The value named is one of the input's own strings (or none for "no mx"). */
		if (g->bad_value != NULL && strcmp(c->arg, "domain") == 0)
			assert_ptr_equal(g->bad_value, c->domain);
		goto out;
	}
	assert_null(g->bad_arg);
	assert_string_equal(g->id, c->id_want);
	/* The TXT record, through the daemon's parser and back out of the zone-file line. */
	assert_int_equal(stsrecord_parse(g->sts_txt.data, g->sts_txt.len, &rec), STSRECORD_OK);
	assert_string_equal(rec.id, c->id_want);
	joined = zone_text(g->sts_zone.data, g->sts_name);
	assert_non_null(joined);
	assert_string_equal(joined, g->sts_txt.data);
	free(joined);
	assert_int_equal(strncmp(g->sts_name, "_mta-sts.", 9), 0);
	assert_string_equal(g->sts_name + 9 + strlen(g->domain), ".");
	/* The policy, through the daemon's parser: mode, max_age and the patterns in order. */
	assert_int_equal(stspolicy_parse(g->policy_text.data, g->policy_text.len, p), STSPOLICY_OK);
	assert_string_equal(stspolicy_mode_name(p->mode), c->mode);
	assert_int_equal(p->n_mx, c->n_mx);
	for (size_t i = 0; i < c->n_mx; i++) {
		char want[DNAME_MAX + 2];
		size_t n = strlen(c->mx[i]);
		for (size_t j = 0; j <= n; j++)
			want[j] = (char)((c->mx[i][j] >= 'A' && c->mx[i][j] <= 'Z')
			                     ? c->mx[i][j] - 'A' + 'a'
			                     : c->mx[i][j]);
		if (n > 0 && want[n - 1] == '.')
			want[n - 1] = '\0';
		assert_string_equal(p->mx[i], want);
	}
	assert_int_equal(p->max_age, strtoul(c->max_age, NULL, 10));
	/* CRLF line ends (RFC 8461 s3.2): every LF follows a CR, every CR precedes an LF. */
	for (size_t i = 0; i < g->policy_text.len; i++) {
		if (g->policy_text.data[i] == '\n')
			assert_true(i > 0 && g->policy_text.data[i - 1] == '\r');
		if (g->policy_text.data[i] == '\r')
			assert_true(i + 1 < g->policy_text.len &&
			            g->policy_text.data[i + 1] == '\n');
	}
	/* TLS-RPT: present exactly with rua, the URIs joined by commas, quoted right. */
	if (c->n_rua == 0) {
		assert_int_equal(g->tlsrpt_txt.len, 0);
		assert_int_equal(g->tlsrpt_zone.len, 0);
		assert_string_equal(g->tlsrpt_name, "");
	} else {
		size_t off = strlen("v=TLSRPTv1; rua=");
		assert_int_equal(strncmp(g->tlsrpt_txt.data, "v=TLSRPTv1; rua=", off), 0);
		for (size_t i = 0; i < c->n_rua; i++) {
			assert_int_equal(
			    strncmp(g->tlsrpt_txt.data + off, c->rua[i], strlen(c->rua[i])), 0);
			off += strlen(c->rua[i]);
			assert_int_equal(g->tlsrpt_txt.data[off], i + 1 < c->n_rua ? ',' : '\0');
			off++;
		}
		joined = zone_text(g->tlsrpt_zone.data, g->tlsrpt_name);
		assert_non_null(joined);
		assert_string_equal(joined, g->tlsrpt_txt.data);
		free(joined);
	}
out:
	stsgen_fini(g);
	free(g);
	free(p);
}

/* 64 patterns are accepted, 65 refused; the 65th is the one named. */
static void
test_cap_mx(void **state)
{
	static char names[STSPOLICY_MAX_MX + 1][32];
	const char *mx[STSPOLICY_MAX_MX + 1];
	struct stsgen_in in = {"example.com", "enforce", mx, STSPOLICY_MAX_MX, "86400", NULL, 0,
	                       NULL,          NOW};
	struct stsgen *g = malloc(sizeof(*g));
	struct stspolicy *p = malloc(sizeof(*p));

	(void)state;
	for (int i = 0; i <= STSPOLICY_MAX_MX; i++) {
		snprintf(names[i], sizeof(names[i]), "mx%d.example.com", i);
		mx[i] = names[i];
	}
	stsgen_init(g);
	assert_int_equal(stsgen_make(&in, g), STSGEN_OK);
	assert_int_equal(stspolicy_parse(g->policy_text.data, g->policy_text.len, p), STSPOLICY_OK);
	assert_int_equal(p->n_mx, STSPOLICY_MAX_MX);
	stsgen_fini(g);
	in.n_mx++;
	stsgen_init(g);
	assert_int_equal(stsgen_make(&in, g), STSGEN_TOO_MANY_MX);
	assert_string_equal(g->bad_arg, "mx");
	assert_ptr_equal(g->bad_value, mx[STSPOLICY_MAX_MX]);
	stsgen_fini(g);
	free(g);
	free(p);
}

/* A pattern of 253 bytes ("*." included) is accepted, 254 refused, as stspolicy.c reads it. */
static void
test_cap_mx_length(void **state)
{
	char pat[DNAME_MAX + 2];
	const char *mx[1] = {pat};
	struct stsgen_in in = {"example.com", "enforce", mx, 1, "86400", NULL, 0, NULL, NOW};
	struct stsgen *g = malloc(sizeof(*g));

	(void)state;
	/* "*." + 63 + "." + 63 + "." + 63 + "." + 59 = 253 */
	snprintf(pat, sizeof(pat), "*.%s.%s.%s.%.*s", LABEL63, LABEL63, LABEL63, 59, LABEL63);
	assert_int_equal(strlen(pat), DNAME_MAX);
	stsgen_init(g);
	assert_int_equal(stsgen_make(&in, g), STSGEN_OK);
	stsgen_fini(g);
	snprintf(pat, sizeof(pat), "*.%s.%s.%s.%.*s", LABEL63, LABEL63, LABEL63, 60, LABEL63);
	stsgen_init(g);
	assert_int_equal(stsgen_make(&in, g), STSGEN_BAD_MX);
	stsgen_fini(g);
	free(g);
}

/* A URI of 256 bytes is accepted, 257 refused; 8 such URIs make a record of several
 * character-strings of at most 255 bytes that join back to the record. */
static void
test_cap_rua(void **state)
{
	static char uris[STSGEN_RUA_MAX][STSGEN_URI_MAX + 2];
	const char *rua[STSGEN_RUA_MAX];
	struct stsgen_in in = {
	    "example.com", "testing", (const char *const[]){"mx.example.com"}, 1, "86400", rua, 1,
	    NULL,          NOW};
	struct stsgen *g = malloc(sizeof(*g));
	const char *p;
	char *joined;
	unsigned strings = 0;

	(void)state;
	for (int i = 0; i < STSGEN_RUA_MAX; i++) {
		/* "mailto:" + local + "@example.com" = 256 */
		size_t local = STSGEN_URI_MAX - strlen("mailto:") - strlen("@example.com");
		memcpy(uris[i], "mailto:", 7);
		memset(uris[i] + 7, 'a' + i, local);
		memcpy(uris[i] + 7 + local, "@example.com", sizeof("@example.com"));
		assert_int_equal(strlen(uris[i]), STSGEN_URI_MAX);
		rua[i] = uris[i];
	}
	in.n_rua = STSGEN_RUA_MAX;
	stsgen_init(g);
	assert_int_equal(stsgen_make(&in, g), STSGEN_OK);
	for (p = g->tlsrpt_zone.data; (p = strchr(p, '"')) != NULL; p = strchr(p + 1, '"') + 1)
		strings++;
	assert_int_equal(strings, (g->tlsrpt_txt.len + 254) / 255);
	assert_true(strings > 8);
	joined = zone_text(g->tlsrpt_zone.data, g->tlsrpt_name);
	assert_non_null(joined);
	assert_string_equal(joined, g->tlsrpt_txt.data);
	free(joined);
	stsgen_fini(g);

	/* one byte more in the last local part */
	memmove(uris[7] + 8, uris[7] + 7, strlen(uris[7] + 7) + 1);
	uris[7][7] = 'z';
	stsgen_init(g);
	assert_int_equal(stsgen_make(&in, g), STSGEN_BAD_RUA);
	assert_ptr_equal(g->bad_value, uris[7]);
	stsgen_fini(g);
	free(g);
}

/* The whole text at a fixed time, for three inputs: byte for byte. */
static const char golden_testing[] =
    "; MTA-STS for example.com, generated 2026-03-01T12:00:00Z.\n"
    "; DNS: add to the zone of example.com (TTL 3600 s):\n"
    "_mta-sts.example.com. 3600 IN TXT \"v=STSv1; id=20260301T120000Z;\"\n"
    "_smtp._tls.example.com. 3600 IN TXT \"v=TLSRPTv1; "
    "rua=mailto:tlsrpt@example.com,https://reports.example.com/tlsrpt\"\n"
    "; mta-sts.example.com needs an address record (A/AAAA, or a CNAME) of the\n"
    "; HTTPS server of the policy file, with a certificate valid for that name\n"
    "; (RFC 8461 s3.3).\n"
    "; Change the id every time the policy file changes (run generate again, or\n"
    "; give --id): senders fetch the policy again only when they see a new id.\n"
    "; Sending MTAs that support TLS-RPT (RFC 8460) report daily to the rua\n"
    "; addresses how many sessions succeeded and which failed.\n"
    "\n"
    "# Policy file: serve the 5 lines below (CRLF line ends) at\n"
    "# https://mta-sts.example.com/.well-known/mta-sts.txt\n"
    "# with status 200, Content-Type text/plain, and no redirect.\n"
    "version: STSv1\r\n"
    "mode: testing\r\n"
    "mx: mail.example.com\r\n"
    "mx: *.mx.example.net\r\n"
    "max_age: 86400\r\n"
    "# Mode testing: senders deliver even when TLS or the MX check fails, and\n"
    "# report it through TLS-RPT. Start here, read the reports, then switch to\n"
    "# enforce with a new id.\n"
    "# Once you enforce, raise max_age to weeks (1209600 is two weeks).\n";

static const char golden_enforce[] =
    "; MTA-STS for example.org, generated 2026-03-01T12:00:00Z.\n"
    "; DNS: add to the zone of example.org (TTL 3600 s):\n"
    "_mta-sts.example.org. 3600 IN TXT \"v=STSv1; id=policy2;\"\n"
    "; mta-sts.example.org needs an address record (A/AAAA, or a CNAME) of the\n"
    "; HTTPS server of the policy file, with a certificate valid for that name\n"
    "; (RFC 8461 s3.3).\n"
    "; Change the id every time the policy file changes (run generate again, or\n"
    "; give --id): senders fetch the policy again only when they see a new id.\n"
    "; Publish a TLS-RPT record too (--rua mailto:ADDRESS): sending MTAs then\n"
    "; report TLS and policy failures to you daily (RFC 8460).\n"
    "\n"
    "# Policy file: serve the 4 lines below (CRLF line ends) at\n"
    "# https://mta-sts.example.org/.well-known/mta-sts.txt\n"
    "# with status 200, Content-Type text/plain, and no redirect.\n"
    "version: STSv1\r\n"
    "mode: enforce\r\n"
    "mx: mx1.example.org\r\n"
    "max_age: 86400\r\n"
    "# Mode enforce: senders refuse to deliver to an MX host that matches no mx\n"
    "# pattern or has no valid certificate for its name. Use it only once mode\n"
    "# testing showed no failures.\n"
    "# max_age 86400 is short for enforce: once the policy works, raise it to weeks\n"
    "# (1209600 is two weeks, 31557600 the most) so that senders keep it through an\n"
    "# attack on DNS or HTTPS.\n"
    "# Before moving mail to a new MX host, add it to the policy (new id) and wait\n"
    "# max_age before removing an old pattern.\n";

static const char golden_none[] =
    "; MTA-STS for example.net, generated 2026-03-01T12:00:00Z.\n"
    "; DNS: add to the zone of example.net (TTL 3600 s):\n"
    "_mta-sts.example.net. 3600 IN TXT \"v=STSv1; id=20260301T120000Z;\"\n"
    "; mta-sts.example.net needs an address record (A/AAAA, or a CNAME) of the\n"
    "; HTTPS server of the policy file, with a certificate valid for that name\n"
    "; (RFC 8461 s3.3).\n"
    "; Change the id every time the policy file changes (run generate again, or\n"
    "; give --id): senders fetch the policy again only when they see a new id.\n"
    "; Publish a TLS-RPT record too (--rua mailto:ADDRESS): sending MTAs then\n"
    "; report TLS and policy failures to you daily (RFC 8460).\n"
    "\n"
    "# Policy file: serve the 3 lines below (CRLF line ends) at\n"
    "# https://mta-sts.example.net/.well-known/mta-sts.txt\n"
    "# with status 200, Content-Type text/plain, and no redirect.\n"
    "version: STSv1\r\n"
    "mode: none\r\n"
    "max_age: 604800\r\n"
    "# Mode none withdraws a policy: keep serving it, with the TXT record and a new\n"
    "# id, for at least the max_age of the policy it replaces, so that senders that\n"
    "# cached that one learn it ended.\n";

static void
golden(const struct stsgen_in *in, const char *want)
{
	struct stsgen *g = malloc(sizeof(*g));
	struct strbuf out;
	const char *p;

	stsgen_init(g);
	strbuf_init(&out, STSGEN_TEXT_MAX);
	assert_int_equal(stsgen_make(in, g), STSGEN_OK);
	assert_int_equal(stsgen_format(g, &out), 0);
	if (strcmp(out.data, want) != 0)
		fail_msg("got:\n%s\nwant:\n%s", out.data, want);
	/* Comment lines stay within STSGEN_WRAP columns. */
	for (p = out.data; *p != '\0';) {
		size_t n = strcspn(p, "\n");
		if (p[0] == ';' || p[0] == '#')
			assert_true(n <= STSGEN_WRAP);
		p += n + (p[n] == '\n');
	}
	strbuf_fini(&out);
	stsgen_fini(g);
	free(g);
}

static void
test_golden(void **state)
{
	struct stsgen_in testing = {"example.com",
	                            "testing",
	                            (const char *const[]){"mail.example.com", "*.mx.example.net"},
	                            2,
	                            "86400",
	                            (const char *const[]){"mailto:tlsrpt@example.com",
	                                                  "https://reports.example.com/tlsrpt"},
	                            2,
	                            NULL,
	                            NOW};
	struct stsgen_in enforce = {"EXAMPLE.org",
	                            "enforce",
	                            (const char *const[]){"mx1.example.org."},
	                            1,
	                            "86400",
	                            NULL,
	                            0,
	                            "policy2",
	                            NOW};
	struct stsgen_in none = {"example.net", "none", NULL, 0, "604800", NULL, 0, NULL, NOW};

	(void)state;
	golden(&testing, golden_testing);
	golden(&enforce, golden_enforce);
	golden(&none, golden_none);
}

/* The advice follows max_age: long for testing, short for enforce, and not otherwise. */
static void
test_advice(void **state)
{
	struct stsgen_in in = {
	    "example.com", "testing", (const char *const[]){"mx.example.com"}, 1, "86401", NULL, 0,
	    NULL,          NOW};
	struct stsgen *g = malloc(sizeof(*g));

	(void)state;
	stsgen_init(g);
	assert_int_equal(stsgen_make(&in, g), STSGEN_OK);
	assert_non_null(strstr(g->policy_advice.data, "max_age 86401 is long for testing"));
	stsgen_fini(g);
	in.mode = "enforce";
	in.max_age = "604800";
	stsgen_init(g);
	assert_int_equal(stsgen_make(&in, g), STSGEN_OK);
	assert_null(strstr(g->policy_advice.data, "is short for enforce"));
	stsgen_fini(g);
	in.max_age = "604799";
	stsgen_init(g);
	assert_int_equal(stsgen_make(&in, g), STSGEN_OK);
	assert_non_null(strstr(g->policy_advice.data, "max_age 604799 is short for enforce"));
	stsgen_fini(g);
	free(g);
}

/* Every code has its own text. */
static void
test_names(void **state)
{
	(void)state;
	for (int e = STSGEN_OK; e <= STSGEN_SELF_CHECK; e++) {
		assert_string_not_equal(stsgen_strerror((enum stsgen_err)e), "unknown error");
		for (int f = STSGEN_OK; f < e; f++)
			assert_string_not_equal(stsgen_strerror((enum stsgen_err)e),
			                        stsgen_strerror((enum stsgen_err)f));
	}
	assert_string_equal(stsgen_strerror((enum stsgen_err)99), "unknown error");
}

int
main(void)
{
	enum { NC = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[NC + 6];

	for (size_t i = 0; i < NC; i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = cases[i].name;
		tests[i].test_func = test_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	tests[NC] = (struct CMUnitTest)cmocka_unit_test(test_cap_mx);
	tests[NC + 1] = (struct CMUnitTest)cmocka_unit_test(test_cap_mx_length);
	tests[NC + 2] = (struct CMUnitTest)cmocka_unit_test(test_cap_rua);
	tests[NC + 3] = (struct CMUnitTest)cmocka_unit_test(test_golden);
	tests[NC + 4] = (struct CMUnitTest)cmocka_unit_test(test_advice);
	tests[NC + 5] = (struct CMUnitTest)cmocka_unit_test(test_names);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
