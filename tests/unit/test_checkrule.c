/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for checkrule.c: each finding's classification from raw inputs (TXT answers in
 * wire format from dnsworld.h, fetch results as struct sts_response, policy bodies, MX records
 * as dane.c leaves them, handshake records as fetch.c leaves them, cache records), the code table,
 * the score and exit rules, the TLS-RPT record grammar, and the text and JSON renderings (the JSON
 * schema is pinned byte for byte).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "checkrule.h"
#include "dnspkt.h"
#include "dnsworld.h"

#define T0 1700000000

static const struct zrr rrs[] = {
    {"_mta-sts.ok.test", DNSMSG_TXT, 300, "v=STSv1; id=20240101;"},
    {"_mta-sts.ok.test", DNSMSG_TXT, 300, "v=spf1 -all"},
    {"_mta-sts.two.test", DNSMSG_TXT, 300, "v=STSv1; id=1;"},
    {"_mta-sts.two.test", DNSMSG_TXT, 300, "v=STSv1; id=2;"},
    {"_mta-sts.order.test", DNSMSG_TXT, 300, "id=1; v=STSv1;"},
    {"_mta-sts.case.test", DNSMSG_TXT, 300, "v=stsv1; id=1;"},
    {"_mta-sts.noid.test", DNSMSG_TXT, 300, "v=STSv1; x=1;"},
    {"_mta-sts.badid.test", DNSMSG_TXT, 300, "v=STSv1; id=a_b;"},
    {"_mta-sts.longid.test", DNSMSG_TXT, 300, "v=STSv1; id=123456789012345678901234567890123;"},
    {"_mta-sts.ext.test", DNSMSG_TXT, 60, "v=STSv1; id=7; |note=hi; more=1"},
    {"_mta-sts.other.test", DNSMSG_TXT, 300, "hello"},
    {"_mta-sts.nodata.test", DNSMSG_A, 300, "192.0.2.1"},
    {"_mta-sts.cn.test", DNSMSG_CNAME, 300, "_mta-sts.ok.test"},
    {"_smtp._tls.ok.test", DNSMSG_TXT, 300, "v=TLSRPTv1; rua=mailto:r@ok.test"},
    {"_smtp._tls.two.test", DNSMSG_TXT, 300, "v=TLSRPTv1; rua=mailto:a@two.test"},
    {"_smtp._tls.two.test", DNSMSG_TXT, 300, "v=TLSRPTv1; rua=mailto:b@two.test"},
    {"_smtp._tls.bad.test", DNSMSG_TXT, 300, "v=TLSRPTv1; rua=ftp://x.test/"},
    {"_smtp._tls.case.test", DNSMSG_TXT, 300, "v=tlsrptv1; rua=mailto:r@case.test"},
    {"_smtp._tls.other.test", DNSMSG_TXT, 300, "v=spf1 -all"},
    {NULL, 0, 0, NULL},
};

static struct pkt pk;

/* The world's answer to (name, type), as the resolver would hand it over. */
static const uint8_t *
ask(const char *name, uint16_t type, size_t *len)
{
	struct world w = {.rrs = rrs};

	assert_int_equal(world_reply(&w, name, type, &pk), WORLD_ANSWER);
	*len = pk.n;
	return pk.b;
}

/* The codes of r, "code" or "code@dim", space-separated, in order. */
static const char *
codes(const struct checkrule_report *r)
{
	static char s[2048];
	size_t n = 0;

	s[0] = '\0';
	for (unsigned i = 0; i < r->n; i++) {
		int w = snprintf(s + n, sizeof(s) - n, "%s%s", n ? " " : "",
		                 checkrule_code_name(r->f[i].code));
		assert_true(w > 0 && (size_t)w < sizeof(s) - n);
		n += (size_t)w;
	}
	return s;
}

static const char *
factv(const struct checkrule_report *r, const char *key)
{
	for (unsigned i = 0; i < r->n_facts; i++)
		if (strcmp(r->facts[i].key, key) == 0)
			return r->facts[i].value;
	return NULL;
}

/* ---- dimension 1 ---- */

static void
test_record(void **state)
{
	static const struct {
		const char *domain;
		int valid;
		const char *want;
	} cases[] = {
	    {"ok.test", 1, ""},
	    {"cn.test", 1, ""},
	    {"two.test", 0, "multiple_records"},
	    {"order.test", 0, "record_syntax"},
	    {"case.test", 0, "record_syntax"},
	    {"noid.test", 0, "record_syntax"},
	    {"badid.test", 0, "id_syntax"},
	    {"longid.test", 0, "id_syntax"},
	    {"ext.test", 1, "record_extension"},
	    {"other.test", 0, "missing_record"},
	    {"nodata.test", 0, "missing_record"},
	    {"absent.test", 0, "missing_record"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct checkrule_report r;
		struct stsrecord rec;
		char q[300];
		size_t len;
		const uint8_t *m;

		snprintf(q, sizeof(q), "_mta-sts.%s", cases[i].domain);
		m = ask(q, DNSMSG_TXT, &len);
		checkrule_init(&r, cases[i].domain);
		assert_int_equal(checkrule_record(&r, m, len, NULL, &rec), cases[i].valid);
		if (strcmp(codes(&r), cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].domain, codes(&r),
			         cases[i].want);
		for (unsigned k = 0; k < r.n; k++)
			assert_int_equal(r.f[k].dim, CHECKRULE_DIM_RECORD);
	}
}

static void
test_record_details(void **state)
{
	struct checkrule_report r;
	struct stsrecord rec;
	size_t len;
	const uint8_t *m = ask("_mta-sts.ext.test", DNSMSG_TXT, &len);

	(void)state;
	checkrule_init(&r, "ext.test");
	assert_int_equal(checkrule_record(&r, m, len, NULL, &rec), 1);
	assert_string_equal(rec.id, "7");
	assert_string_equal(factv(&r, "id"), "7");
	assert_string_equal(factv(&r, "ttl"), "60");
	assert_string_equal(factv(&r, "record"), "v=STSv1; id=7; note=hi; more=1");
	assert_string_equal(r.f[0].msg, "extension fields: note, more");
	/* a failed lookup */
	checkrule_init(&r, "x.test");
	assert_int_equal(checkrule_record(&r, NULL, 0, "timed out", &rec), 0);
	assert_string_equal(codes(&r), "record_lookup_failed");
	assert_string_equal(r.f[0].msg, "TXT _mta-sts.x.test: timed out");
	/* SERVFAIL handed over as a message */
	m = ask("_mta-sts.ok.test", DNSMSG_TXT, &len);
	pk.b[3] = (uint8_t)((pk.b[3] & 0xf0) | 2);
	checkrule_init(&r, "ok.test");
	assert_int_equal(checkrule_record(&r, m, len, NULL, &rec), 0);
	assert_string_equal(codes(&r), "record_lookup_failed");
	/* the multiple message counts records */
	m = ask("_mta-sts.two.test", DNSMSG_TXT, &len);
	checkrule_init(&r, "two.test");
	checkrule_record(&r, m, len, NULL, &rec);
	assert_non_null(strstr(r.f[0].msg, "2 records begin with v=STSv1"));
}

/* ---- dimension 2 ---- */

static void
test_fetch(void **state)
{
	static const struct {
		const char *name;
		struct sts_response resp;
		int null_resp;
		int judge;
		const char *want;
		const char *msg; /* prefix of the message, or NULL */
	} cases[] = {
	    {"ok", {NULL, 200, "text/plain", "x", 1, STS_FETCH_NONE}, 0, 1, "", NULL},
	    {"charset", {NULL, 200, "text/plain; charset=utf-8", "x", 1, 0}, 0, 1, "", NULL},
	    {"no address", {NULL, 0, NULL, NULL, 0, 0}, 1, 0, "policy_fetch_failed", "DNS: "},
	    {"connect",
	     {"refused", 0, NULL, "", 0, STS_FETCH_CONNECT},
	     0,
	     0,
	     "policy_fetch_failed",
	     "connect: refused"},
	    {"tls",
	     {"bad cert", 0, NULL, "", 0, STS_FETCH_TLS},
	     0,
	     0,
	     "policy_fetch_failed",
	     "TLS: bad cert"},
	    {"timeout",
	     {"slow", 0, NULL, "", 0, STS_FETCH_TIMEOUT},
	     0,
	     0,
	     "policy_fetch_failed",
	     "timeout: slow"},
	    {"other",
	     {"odd", 0, NULL, "", 0, STS_FETCH_ERROR},
	     0,
	     0,
	     "policy_fetch_failed",
	     "transport: odd"},
	    {"too large",
	     {"over", 0, NULL, "", 0, STS_FETCH_TOO_LARGE},
	     0,
	     0,
	     "policy_too_large",
	     NULL},
	    {"301", {NULL, 301, "text/html", "", 0, 0}, 0, 0, "policy_redirect", "HTTP status 301"},
	    {"307", {NULL, 307, NULL, "", 0, 0}, 0, 0, "policy_redirect", NULL},
	    {"404",
	     {NULL, 404, "text/plain", "", 0, 0},
	     0,
	     0,
	     "policy_fetch_failed",
	     "HTTP status 404"},
	    {"204", {NULL, 204, NULL, "", 0, 0}, 0, 0, "policy_fetch_failed", NULL},
	    {"html", {NULL, 200, "text/html", "x", 1, 0}, 0, 1, "policy_content_type", NULL},
	    {"no type", {NULL, 200, NULL, "x", 1, 0}, 0, 1, "policy_content_type", NULL},
	    {"plainx", {NULL, 200, "text/plainx", "x", 1, 0}, 0, 1, "policy_content_type", NULL},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct checkrule_report r;

		checkrule_init(&r, "a.test");
		assert_int_equal(
		    checkrule_fetch(&r, cases[i].null_resp ? NULL : &cases[i].resp, NULL),
		    cases[i].judge);
		if (strcmp(codes(&r), cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name, codes(&r),
			         cases[i].want);
		if (cases[i].msg != NULL &&
		    strncmp(r.f[0].msg, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("%s: message \"%s\"", cases[i].name, r.f[0].msg);
	}
}

/* ---- dimension 2: plain HTTP on port 80 (information) ---- */

#define POL "version: STSv1\nmode: enforce\nmx: mail.a.test\nmax_age: 604800\n"
#define POL_OLD "version: STSv1\nmode: testing\nmx: mail.a.test\nmax_age: 604800\n"

static void
test_http(void **state)
{
	static const struct {
		const char *name;
		int null_resp;
		struct sts_response resp;
		const char *location;
		const char *https; /* the HTTPS body, NULL: none */
		const char *want;  /* codes */
		const char *sev;   /* severity of the finding, NULL: none */
		const char *msg;   /* start of the finding's message */
		const char *fact;  /* part of the plain_http fact */
	} cases[] = {
	    {"same",
	     0,
	     {NULL, 200, "text/plain", POL, sizeof(POL) - 1, 0},
	     NULL,
	     POL,
	     "policy_http_served",
	     "info",
	     "plain HTTP on port 80 serves the policy too (the same 61 bytes)",
	     "status 200, 61 bytes"},
	    {"differs",
	     0,
	     {NULL, 200, "text/plain", POL_OLD, sizeof(POL_OLD) - 1, 0},
	     NULL,
	     POL,
	     "policy_http_differs",
	     "warning",
	     "plain HTTP on port 80 serves a different policy",
	     "status 200"},
	    {"differs in length only",
	     0,
	     {NULL, 200, NULL, POL "\n", sizeof(POL), 0},
	     NULL,
	     POL,
	     "policy_http_differs",
	     "warning",
	     "plain HTTP on port 80 serves a different policy "
	     "(62 bytes, HTTPS 61; first difference in line 5)",
	     NULL},
	    {"broken copy",
	     0,
	     {NULL, 200, NULL, "version: STSv1\nmode: sometimes\n", 31, 0},
	     NULL,
	     POL,
	     "policy_http_differs",
	     "warning",
	     NULL,
	     NULL},
	    {"nothing over https",
	     0,
	     {NULL, 200, NULL, POL, sizeof(POL) - 1, 0},
	     NULL,
	     NULL,
	     "policy_http_served",
	     "info",
	     "plain HTTP on port 80 serves a policy (61 bytes)",
	     NULL},
	    {"catch-all page",
	     0,
	     {NULL, 200, "text/html", "<html>hi</html>", 15, 0},
	     NULL,
	     POL,
	     "",
	     NULL,
	     NULL,
	     "status 200, not a policy"},
	    {"redirect to https",
	     0,
	     {NULL, 301, "text/html", "<html/>", 7, 0},
	     "https://mta-sts.a.test/.well-known/mta-sts.txt",
	     POL,
	     "",
	     NULL,
	     NULL,
	     "status 301, a redirect to https://mta-sts.a.test/.well-known/mta-sts.txt"},
	    {"redirect, no location",
	     0,
	     {NULL, 302, NULL, "", 0, 0},
	     NULL,
	     POL,
	     "",
	     NULL,
	     NULL,
	     "status 302, a redirect to (no Location)"},
	    {"404",
	     0,
	     {NULL, 404, "text/html", "nope", 4, 0},
	     NULL,
	     POL,
	     "",
	     NULL,
	     NULL,
	     "status 404, no policy"},
	    {"refused",
	     0,
	     {"Connection refused", 0, NULL, "", 0, STS_FETCH_CONNECT},
	     NULL,
	     POL,
	     "",
	     NULL,
	     NULL,
	     "not served (connect: Connection refused)"},
	    {"timeout",
	     0,
	     {"slow", 0, NULL, "", 0, STS_FETCH_TIMEOUT},
	     NULL,
	     POL,
	     "",
	     NULL,
	     NULL,
	     "not served (timeout: slow)"},
	    {"too large",
	     0,
	     {"over", 0, NULL, "", 0, STS_FETCH_TOO_LARGE},
	     NULL,
	     POL,
	     "",
	     NULL,
	     NULL,
	     "a body over 65536 bytes (not read)"},
	    {"no address",
	     1,
	     {NULL, 0, NULL, "", 0, 0},
	     NULL,
	     NULL,
	     "",
	     NULL,
	     NULL,
	     "not tried (no address)"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct checkrule_report r;
		const char *f;

		checkrule_init(&r, "a.test");
		checkrule_http(&r, cases[i].null_resp ? NULL : &cases[i].resp, cases[i].location,
		               cases[i].https, cases[i].https ? strlen(cases[i].https) : 0);
		if (strcmp(codes(&r), cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name, codes(&r),
			         cases[i].want);
		assert_int_equal(r.n_facts, 1);
		assert_int_equal(r.facts[0].dim, CHECKRULE_DIM_FETCH);
		f = factv(&r, "plain_http");
		assert_non_null(f);
		if (strncmp(f, "http://mta-sts.a.test/.well-known/mta-sts.txt: ", 47) != 0 ||
		    (cases[i].fact != NULL && strstr(f, cases[i].fact) == NULL))
			fail_msg("%s: fact \"%s\"", cases[i].name, f);
		if (cases[i].sev != NULL) {
			assert_int_equal(r.f[0].dim, CHECKRULE_DIM_FETCH);
			assert_string_equal(checkrule_sev_name(r.f[0].sev), cases[i].sev);
		}
		if (cases[i].msg != NULL &&
		    strncmp(r.f[0].msg, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("%s: message \"%s\"", cases[i].name, r.f[0].msg);
		/* information costs nothing; a differing copy is one warning */
		assert_int_equal(checkrule_score(&r),
		                 strcmp(cases[i].want, "policy_http_differs") == 0 ? 90 : 100);
	}
}

/* ---- dimension 3 ---- */

static void
test_policy(void **state)
{
	static const struct {
		const char *body;
		int valid;
		const char *want;
	} cases[] = {
	    {"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 604800\n", 1, ""},
	    {"version: STSv1\r\nmode: enforce\r\nmx: a.test\r\nmax_age: 31557600\r\n", 1, ""},
	    {"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 604799\n", 1,
	     "max_age_below_week"},
	    {"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 86400\n", 1,
	     "max_age_below_week"},
	    {"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 86399\n", 1, "max_age_short"},
	    {"version: STSv1\nmode: testing\nmx: a.test\nmax_age: 86400\n", 1, "mode_testing"},
	    {"version: STSv1\nmode: testing\nmx: a.test\nmax_age: 0\n", 1,
	     "mode_testing max_age_short"},
	    {"version: STSv1\nmode: none\nmax_age: 604800\n", 1, "mode_none"},
	    /* withdrawing with a short max_age is what RFC 8461 s8.3 suggests: no max_age warning
	     */
	    {"version: STSv1\nmode: none\nmax_age: 0\n", 1, "mode_none"},
	    {"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 604800\ncolor: blue\nx_y: 1\n", 1,
	     "policy_unknown_key"},
	    {"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 31557601\n", 0, "policy_syntax"},
	    {"version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 86400\n", 0, "policy_syntax"},
	    {"version: STSv1\nmode: sometimes\nmx: a.test\nmax_age: 86400\n", 0, "policy_syntax"},
	    {"version: STSv1\nmode: enforce\nmax_age: 86400\n", 0, "policy_syntax"},
	    {"version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 86400\n", 0, "policy_syntax"},
	    {"", 0, "policy_syntax"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct checkrule_report r;
		struct stspolicy pol;

		checkrule_init(&r, "a.test");
		assert_int_equal(checkrule_policy(&r, cases[i].body, strlen(cases[i].body), &pol),
		                 cases[i].valid);
		if (strcmp(codes(&r), cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, codes(&r), cases[i].want);
	}
}

static void
test_policy_details(void **state)
{
	static const char body[] =
	    "version: STSv1\nmode: enforce\nmx: a.test\nmx: *.b.test\nmax_age: 604800\ncolor: x\n";
	struct checkrule_report r;
	struct stspolicy pol;

	(void)state;
	checkrule_init(&r, "a.test");
	assert_int_equal(checkrule_policy(&r, body, strlen(body), &pol), 1);
	assert_string_equal(factv(&r, "mode"), "enforce");
	assert_string_equal(factv(&r, "max_age"), "604800");
	assert_string_equal(factv(&r, "mx"), "a.test, *.b.test");
	assert_string_equal(r.f[0].msg, "keys senders ignore: color");
}

/* ---- dimension 4 ---- */

#define DAY 86400

/* A handshake record: a certificate for mta-sts.a.test valid T0-10d .. T0+30d, verified. */
static void
mktls(struct sts_tls *t)
{
	memset(t, 0, sizeof(*t));
	t->have_cert = 1;
	t->verified = 1;
	strcpy(t->version, "TLSv1.3");
	t->not_before = T0 - 10 * DAY;
	t->not_after = T0 + 30 * DAY;
	strcpy(t->subject, "/CN=mta-sts.a.test");
	strcpy(t->issuer, "/CN=Test CA");
	strcpy(t->cn, "mta-sts.a.test");
	strcpy(t->names[0], "mta-sts.a.test");
	t->n_names = t->n_names_total = 1;
}

static const char *
cert_codes(struct sts_tls *t, int64_t now)
{
	static struct checkrule_report r;

	checkrule_init(&r, "a.test");
	checkrule_cert(&r, t, now);
	for (unsigned i = 0; i < r.n; i++)
		assert_int_equal(r.f[i].dim, CHECKRULE_DIM_CERT);
	return codes(&r);
}

static void
test_cert(void **state)
{
	struct checkrule_report r;
	struct sts_tls t;

	(void)state;
	/* a good certificate: facts only */
	mktls(&t);
	checkrule_init(&r, "a.test");
	checkrule_cert(&r, &t, T0);
	assert_string_equal(codes(&r), "");
	assert_string_equal(factv(&r, "tls_version"), "TLSv1.3");
	assert_string_equal(factv(&r, "names"), "mta-sts.a.test");
	assert_string_equal(factv(&r, "issuer"), "/CN=Test CA");
	assert_string_equal(factv(&r, "days_left"), "30");
	assert_string_equal(factv(&r, "not_after"), "2023-12-14T22:13:20Z");
	/* expiry: 14 days and more is fine, under 14 a warning, at or after not_after critical */
	mktls(&t);
	assert_string_equal(cert_codes(&t, T0 + 16 * DAY), "");
	assert_string_equal(cert_codes(&t, T0 + 16 * DAY + 1), "cert_expiring");
	assert_string_equal(cert_codes(&t, T0 + 30 * DAY - 1), "cert_expiring");
	assert_string_equal(cert_codes(&t, T0 + 30 * DAY), "cert_expired");
	/* OpenSSL rejected it for its dates: told once, as cert_expired */
	t.verified = 0;
	t.verify_dates = 1;
	strcpy(t.verify_why, "certificate has expired");
	assert_string_equal(cert_codes(&t, T0 + 31 * DAY), "cert_expired");
	checkrule_init(&r, "a.test");
	checkrule_cert(&r, &t, T0 + 31 * DAY);
	assert_non_null(strstr(r.f[0].msg, "expired on 2023-12-14T22:13:20Z (1 days ago)"));
	assert_null(factv(&r, "days_left"));
	/* not yet valid: cert_invalid, once */
	mktls(&t);
	t.verified = 0;
	t.verify_dates = 1;
	assert_string_equal(cert_codes(&t, T0 - 11 * DAY), "cert_invalid");
	/* an untrusted chain: cert_invalid with OpenSSL's reason */
	mktls(&t);
	t.verified = 0;
	strcpy(t.verify_why, "self-signed certificate");
	checkrule_init(&r, "a.test");
	checkrule_cert(&r, &t, T0);
	assert_string_equal(codes(&r), "cert_invalid");
	assert_string_equal(
	    r.f[0].msg,
	    "the certificate of mta-sts.a.test does not verify: self-signed certificate");
	/* expired intermediate: its date failure is not the server certificate's: cert_invalid */
	mktls(&t);
	t.verified = 0;
	strcpy(t.verify_why, "certificate has expired (in the chain above the server certificate)");
	assert_string_equal(cert_codes(&t, T0), "cert_invalid");
	/* expired and for another name and untrusted: each told */
	mktls(&t);
	t.verified = 0;
	strcpy(t.verify_why, "unable to get local issuer certificate");
	strcpy(t.names[0], "www.a.test");
	assert_string_equal(cert_codes(&t, T0 + 40 * DAY),
	                    "cert_expired cert_invalid cert_name_mismatch");
	/* the name: named in the message with what the certificate has */
	mktls(&t);
	strcpy(t.names[0], "www.a.test");
	strcpy(t.names[1], "a.test");
	t.n_names = t.n_names_total = 2;
	checkrule_init(&r, "a.test");
	checkrule_cert(&r, &t, T0);
	assert_string_equal(codes(&r), "cert_name_mismatch");
	assert_string_equal(r.f[0].msg, "the certificate is not valid for mta-sts.a.test: it names "
	                                "www.a.test, a.test");
	/* TLS version below 1.2 (if it were ever negotiated), and refused outright */
	mktls(&t);
	strcpy(t.version, "TLSv1.1");
	assert_string_equal(cert_codes(&t, T0), "tls_version_old");
	memset(&t, 0, sizeof(t));
	t.version_refused = 1;
	checkrule_init(&r, "a.test");
	checkrule_cert(&r, &t, T0);
	assert_string_equal(codes(&r), "tls_version_old");
	assert_non_null(strstr(r.f[0].msg, "mta-sts.a.test offers no TLS version"));
	assert_int_equal(checkrule_exit(&r), 2);
	/* no certificate seen, no connection: not checked */
	memset(&t, 0, sizeof(t));
	assert_string_equal(cert_codes(&t, T0), "not_checked");
	assert_string_equal(cert_codes(NULL, T0), "not_checked");
}

static void
test_cert_names(void **state)
{
	static const struct {
		const char *san1, *san2, *cn;
		int want;
	} cases[] = {
	    {"mta-sts.a.test", NULL, "", 1},
	    {"MTA-STS.A.TEST", NULL, "", 1},           /* case-insensitive */
	    {"mta-sts.a.test.", NULL, "", 1},          /* absolute form */
	    {"*.a.test", NULL, "", 1},                 /* one left-most label */
	    {"*.test", NULL, "", 0},                   /* not two */
	    {"m*.a.test", NULL, "", 0},                /* partial wildcards match nothing */
	    {"*", NULL, "", 0},                        /* nor a bare star */
	    {"www.a.test", "mta-sts.a.test", "", 1},   /* any of the names */
	    {"www.a.test", NULL, "mta-sts.a.test", 0}, /* CN ignored with a SAN DNS name */
	    {NULL, NULL, "mta-sts.a.test", 1},         /* CN only without one */
	    {NULL, NULL, "", 0},                       /* no name at all */
	};
	struct checkrule_report r;
	struct sts_tls t;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mktls(&t);
		t.n_names = t.n_names_total = 0;
		strcpy(t.cn, cases[i].cn);
		if (cases[i].san1 != NULL)
			strcpy(t.names[t.n_names_total = t.n_names++], cases[i].san1);
		if (cases[i].san2 != NULL)
			strcpy(t.names[t.n_names_total = t.n_names++], cases[i].san2);
		t.n_names_total = t.n_names;
		assert_int_equal(checkrule_cert_names_match(&t, "mta-sts.a.test"), cases[i].want);
	}
	/* names that are not names (kept out by fetch.c) still show up in the count */
	mktls(&t);
	t.n_names = 0;
	t.n_names_total = 10;
	checkrule_init(&r, "a.test");
	checkrule_cert(&r, &t, T0);
	assert_string_equal(codes(&r), "cert_name_mismatch");
	assert_string_equal(factv(&r, "names"), "(no valid host name)");
	t.n_names = 9; /* 9 kept of 10: eight shown, then the two others counted */
	for (unsigned i = 0; i < 9; i++)
		(void)snprintf(t.names[i], sizeof(t.names[i]), "n%u.a.test", i);
	checkrule_init(&r, "a.test");
	checkrule_cert(&r, &t, T0);
	assert_string_equal(factv(&r, "names"), "n0.a.test, n1.a.test, n2.a.test, n3.a.test, "
	                                        "n4.a.test, n5.a.test, n6.a.test, n7.a.test and 2 "
	                                        "more");
	assert_true(checkrule_tls_version_old("TLSv1"));
	assert_true(checkrule_tls_version_old("SSLv3"));
	assert_false(checkrule_tls_version_old("TLSv1.2"));
	assert_false(checkrule_tls_version_old("TLSv1.3"));
	assert_false(checkrule_tls_version_old(""));
}

/* ---- dimension 5 ---- */

static void
mkdane(struct danerec *d, int known, const char *const *hosts)
{
	memset(d, 0, sizeof(*d));
	d->mx_known = known;
	for (; hosts != NULL && *hosts != NULL; hosts++)
		snprintf(d->hosts[d->n_hosts++], sizeof(d->hosts[0]), "%s", *hosts);
	snprintf(d->why, sizeof(d->why), "%s", known ? "null MX (RFC 7505)" : "MX lookup failed");
}

static void
test_mx(void **state)
{
	static const char *const one[] = {"mail.a.test", NULL};
	static const char *const deep[] = {"x.mx.a.test", "y.z.mx.a.test", NULL};
	static const char *const other[] = {"mx.b.test", NULL};
	static const char *const none[] = {NULL};
	static const struct {
		const char *policy;
		int known;
		const char *const *hosts;
		const char *want;
	} cases[] = {
	    {"mx: mail.a.test", 1, one, ""},
	    {"mx: MAIL.a.test", 1, one, ""},
	    {"mx: *.a.test", 1, one, ""},
	    {"mx: *.mx.a.test", 1, deep, "mx_partial_match"}, /* * is one label */
	    {"mx: *.mx.a.test\nmx: *.z.mx.a.test", 1, deep, ""},
	    {"mx: mail.a.test", 1, other, "mx_no_match mx_pattern_unused"},
	    {"mx: *.b.test", 1, one, "mx_no_match mx_pattern_unused"},
	    {"mx: mail.a.test\nmx: old.a.test", 1, one, "mx_pattern_unused"},
	    {"mx: mail.a.test", 1, none, "null_mx"},
	    {"mx: mail.a.test", 0, none, "mx_lookup_failed"},
	    {NULL, 1, one, "not_checked"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct checkrule_report r;
		struct stspolicy pol;
		struct danerec d;
		char body[512];

		mkdane(&d, cases[i].known, cases[i].hosts);
		checkrule_init(&r, "a.test");
		if (cases[i].policy != NULL) {
			snprintf(body, sizeof(body),
			         "version: STSv1\nmode: enforce\n%s\nmax_age: 604800\n",
			         cases[i].policy);
			assert_int_equal(stspolicy_parse(body, strlen(body), &pol), STSPOLICY_OK);
		}
		checkrule_mx(&r, cases[i].policy != NULL ? &pol : NULL, &d);
		if (strcmp(codes(&r), cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, codes(&r), cases[i].want);
	}
}

static void
test_mx_details(void **state)
{
	static const char *const deep[] = {"x.mx.a.test", "y.z.mx.a.test", NULL};
	static const char body[] = "version: STSv1\nmode: none\nmax_age: 604800\n";
	struct checkrule_report r;
	struct stspolicy pol;
	struct danerec d;
	char many[600];

	(void)state;
	mkdane(&d, 1, deep);
	/* mode none: the patterns mean nothing */
	assert_int_equal(stspolicy_parse(body, strlen(body), &pol), STSPOLICY_OK);
	checkrule_init(&r, "a.test");
	checkrule_mx(&r, &pol, &d);
	assert_string_equal(codes(&r), "not_checked");
	/* the host list names at most 8, then counts */
	mkdane(&d, 1, NULL);
	for (unsigned i = 0; i < 12; i++)
		snprintf(d.hosts[d.n_hosts++], sizeof(d.hosts[0]), "h%u.b.test", i);
	snprintf(many, sizeof(many),
	         "version: STSv1\nmode: enforce\nmx: x.test\nmax_age: 604800\n");
	assert_int_equal(stspolicy_parse(many, strlen(many), &pol), STSPOLICY_OK);
	checkrule_init(&r, "a.test");
	checkrule_mx(&r, &pol, &d);
	assert_string_equal(codes(&r), "mx_no_match mx_pattern_unused");
	assert_non_null(strstr(r.f[0].msg, "h7.b.test and 4 more"));
	assert_null(strstr(r.f[0].msg, "h8.b.test"));
}

/* ---- dimension 7 ---- */

/* ---- dimension 6 ---- */

static void
test_mx_cert_names(void **state)
{
	static const struct {
		const char *cname, *name;
		int want;
	} cover[] = {
	    {"mail.a.test", "mail.a.test", 1},
	    {"MAIL.A.test.", "mail.a.test", 1},
	    {"*.a.test", "mail.a.test", 1},
	    {"*.a.test", "x.mail.a.test", 0},
	    {"*.a.test", "a.test", 0},
	    {"*.a.test", ".a.test", 0},
	    {"mail.a.test", "mx.a.test", 0},
	    {"m*.a.test", "mail.a.test", 0},
	    {"*.", "a.", 0},
	    {"", "a.test", 0},
	    {"*.mail.a.test", "mail.a.test", 0},
	    {"a.test", "xa.test", 0},
	};
	static const struct {
		const char *mx, *host, *cname;
		int want;
	} allowed[] = {
	    /* exact patterns: the certificate name must cover one */
	    {"mail.a.test", "mail.a.test", "mail.a.test", 1},
	    {"mail.a.test", "mail.a.test", "*.a.test", 1},
	    {"mail.a.test", "mail.a.test", "mx.a.test", 0},
	    /* another name the policy allows: Postfix's match= list accepts it too */
	    {"mail.a.test\nmx: mx2.a.test", "mx2.a.test", "mail.a.test", 1},
	    /* wildcard patterns: one label (RFC 8461 s4.1), or the same wildcard */
	    {"*.a.test", "mail.a.test", "mail.a.test", 1},
	    {"*.a.test", "mail.a.test", "other.a.test", 1},
	    {"*.a.test", "mail.a.test", "*.a.test", 1},
	    {"*.a.test", "mail.a.test", "x.y.a.test", 0},
	    {"*.a.test", "mail.a.test", "*.b.a.test", 0},
	    {"*.a.test", "mail.a.test", "a.test", 0},
	    {"*.mx.a.test", "x.mx.a.test", "*.a.test", 0},
	    {"mail.a.test", "mail.a.test", "wrong.test", 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cover) / sizeof(cover[0]); i++)
		if (checkrule_cert_covers(cover[i].cname, cover[i].name) != cover[i].want)
			fail_msg("cover case %zu: %s / %s", i, cover[i].cname, cover[i].name);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		struct stspolicy pol;
		char body[256];

		snprintf(body, sizeof(body),
		         "version: STSv1\nmode: enforce\nmx: %s\nmax_age: 86400\n", allowed[i].mx);
		assert_int_equal(stspolicy_parse(body, strlen(body), &pol), STSPOLICY_OK);
		if (checkrule_cert_allowed(&pol, allowed[i].host, allowed[i].cname) !=
		    allowed[i].want)
			fail_msg("allowed case %zu: %s / %s", i, allowed[i].mx, allowed[i].cname);
	}
	/* no policy: the host's own name */
	assert_true(checkrule_cert_allowed(NULL, "mail.a.test", "*.a.test"));
	assert_false(checkrule_cert_allowed(NULL, "mail.a.test", "mx.a.test"));
}

/* A probe result with TLS up, a trusted certificate for names (comma-separated). */
static void
mkprobe(struct checkrule_smtp *h, const char *host, enum checkrule_smtp_res res, const char *names,
        int64_t not_after)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->host, sizeof(h->host), "%s", host);
	snprintf(h->addr, sizeof(h->addr), "192.0.2.25");
	h->res = res;
	snprintf(h->why, sizeof(h->why), "%s",
	         res == CHECKRULE_SMTP_FAILED ? "connect: refused" : "");
	snprintf(h->tls_version, sizeof(h->tls_version), "TLSv1.3");
	h->not_after = not_after;
	for (const char *p = names; p != NULL && *p != '\0';) {
		const char *e = strchr(p, ',');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

		snprintf(h->names[h->n_names++], DNAME_MAX + 1, "%.*s", (int)n, p);
		p = e != NULL ? e + 1 : NULL;
	}
}

/* "code:sev" of every finding. */
static const char *
codesev(const struct checkrule_report *r)
{
	static char s[2048];
	size_t n = 0;

	s[0] = '\0';
	for (unsigned i = 0; i < r->n; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%s:%s", n ? " " : "",
		                      checkrule_code_name(r->f[i].code),
		                      checkrule_sev_name(r->f[i].sev));
	return s;
}

static void
test_smtp(void **state)
{
	static const struct {
		const char *mode; /* NULL: no policy */
		enum checkrule_smtp_res res;
		const char *names;
		long verify;
		int64_t not_after;
		const char *want;
	} cases[] = {
	    {"enforce", CHECKRULE_SMTP_TLS, "mail.a.test", 0, T0 + 365 * 86400LL, ""},
	    {"enforce", CHECKRULE_SMTP_TLS, "*.a.test", 0, T0 + 365 * 86400LL, ""},
	    {"enforce", CHECKRULE_SMTP_NO_STARTTLS, "", 0, 0, "mx_no_starttls:critical"},
	    {"testing", CHECKRULE_SMTP_NO_STARTTLS, "", 0, 0, "mx_no_starttls:warning"},
	    {"none", CHECKRULE_SMTP_NO_STARTTLS, "", 0, 0, "mx_no_starttls:warning"},
	    {NULL, CHECKRULE_SMTP_NO_STARTTLS, "", 0, 0, "mx_no_starttls:warning"},
	    {"enforce", CHECKRULE_SMTP_TLS_FAILED, "", 0, 0, "mx_no_starttls:critical"},
	    {"enforce", CHECKRULE_SMTP_FAILED, "", 0, 0, "mx_smtp_failed:warning"},
	    {"enforce", CHECKRULE_SMTP_TLS, "mail.a.test", 10, T0 - 86400,
	     "mx_cert_invalid:critical"},
	    {"testing", CHECKRULE_SMTP_TLS, "mail.a.test", 20, T0 + 365 * 86400LL,
	     "mx_cert_invalid:warning"},
	    /* expired though the chain verified (a clock apart): still invalid */
	    {"enforce", CHECKRULE_SMTP_TLS, "mail.a.test", 0, T0, "mx_cert_invalid:critical"},
	    {"enforce", CHECKRULE_SMTP_TLS, "mail.a.test", 0, T0 + 13 * 86400,
	     "mx_cert_expiring:warning"},
	    {"enforce", CHECKRULE_SMTP_TLS, "mail.a.test", 0, T0 + 14 * 86400, ""},
	    {"enforce", CHECKRULE_SMTP_TLS, "wrong.test,other.test", 0, T0 + 365 * 86400LL,
	     "mx_cert_name_mismatch:critical"},
	    {"enforce", CHECKRULE_SMTP_TLS, "", 0, T0 + 365 * 86400LL,
	     "mx_cert_name_mismatch:critical"},
	    {"testing", CHECKRULE_SMTP_TLS, "wrong.test", 10, T0 - 1,
	     "mx_cert_invalid:warning mx_cert_name_mismatch:warning"},
	    {NULL, CHECKRULE_SMTP_TLS, "mail.a.test", 0, T0 + 365 * 86400LL, ""},
	    {NULL, CHECKRULE_SMTP_TLS, "mx.a.test", 0, T0 + 365 * 86400LL,
	     "mx_cert_name_mismatch:warning"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct checkrule_report r;
		struct stspolicy pol;
		struct checkrule_smtp h;
		char body[256];

		if (cases[i].mode != NULL) {
			snprintf(body, sizeof(body),
			         "version: STSv1\nmode: %s\nmx: mail.a.test\nmax_age: 604800\n",
			         cases[i].mode);
			assert_int_equal(stspolicy_parse(body, strlen(body), &pol), STSPOLICY_OK);
		}
		mkprobe(&h, "mail.a.test", cases[i].res, cases[i].names, cases[i].not_after);
		h.verify = cases[i].verify;
		checkrule_init(&r, "a.test");
		checkrule_smtp(&r, cases[i].mode != NULL ? &pol : NULL, &h, 1, T0);
		if (strcmp(codesev(&r), cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, codesev(&r),
			         cases[i].want);
		assert_non_null(factv(&r, "probed"));
	}
}

static void
test_smtp_details(void **state)
{
	struct checkrule_report r;
	struct checkrule_smtp h[3];
	struct stspolicy pol;
	static const char body[] =
	    "version: STSv1\nmode: enforce\nmx: *.mx.a.test\nmax_age: 604800\n";
	static const char testing[] =
	    "version: STSv1\nmode: testing\nmx: *.mx.a.test\nmax_age: 604800\n";
	struct strbuf sb;

	(void)state;
	assert_int_equal(stspolicy_parse(body, strlen(body), &pol), STSPOLICY_OK);
	mkprobe(&h[0], "a.mx.a.test", CHECKRULE_SMTP_TLS, "*.mx.a.test", T0 + 100 * 86400LL);
	mkprobe(&h[1], "b.mx.a.test", CHECKRULE_SMTP_TLS, "b.mx.a.test,x\x1b.test", T0 + 86400);
	h[1].verify = 10;
	snprintf(h[1].verify_why, sizeof(h[1].verify_why), "certificate has expired");
	mkprobe(&h[2], "c.mx.a.test", CHECKRULE_SMTP_FAILED, "", 0);
	checkrule_init(&r, "a.test");
	checkrule_smtp(&r, &pol, h, 3, T0);
	assert_string_equal(codes(&r), "mx_cert_invalid mx_smtp_failed");
	assert_string_equal(r.f[0].msg, "b.mx.a.test [192.0.2.25]: certificate verification "
	                                "failed: certificate has expired");
	assert_string_equal(r.f[1].msg, "c.mx.a.test [192.0.2.25]: connect: refused");
	assert_string_equal(factv(&r, "probed"),
	                    "a.mx.a.test TLSv1.3, certificate until 2024-02-22T22:13:20Z; "
	                    "b.mx.a.test TLSv1.3, certificate until 2023-11-15T22:13:20Z; "
	                    "c.mx.a.test not probed");
	/* the score and renderings use the finding's own severity */
	assert_int_equal(checkrule_count(&r, CHECKRULE_CRITICAL), 1);
	assert_int_equal(checkrule_count(&r, CHECKRULE_WARNING), 1);
	assert_int_equal(checkrule_score(&r), 40); /* capped: a critical */
	strbuf_init(&sb, CHECKRULE_OUT_MAX);
	assert_int_equal(checkrule_json(&r, &sb), 0);
	assert_non_null(strstr(sb.data, "{\"code\":\"mx_smtp_failed\",\"severity\":\"warning\""));
	strbuf_fini(&sb);
	/* a name mismatch lists what the certificate has and what the policy allows; peer
	 * bytes are made printable */
	mkprobe(&h[0], "a.mx.a.test", CHECKRULE_SMTP_TLS, "x\x1b.test", T0 + 100 * 86400LL);
	checkrule_init(&r, "a.test");
	checkrule_smtp(&r, &pol, h, 1, T0);
	assert_string_equal(r.f[0].msg, "a.mx.a.test [192.0.2.25]: the certificate's names "
	                                "(x?.test) match no name the policy allows (*.mx.a.test)");
	/* a testing policy lowers no-STARTTLS to a warning: score 90, exit 1 */
	mkprobe(&h[0], "a.mx.a.test", CHECKRULE_SMTP_NO_STARTTLS, "", 0);
	assert_int_equal(stspolicy_parse(testing, strlen(testing), &pol), STSPOLICY_OK);
	checkrule_init(&r, "a.test");
	checkrule_smtp(&r, &pol, h, 1, T0);
	assert_int_equal(checkrule_score(&r), 90);
	assert_int_equal(checkrule_exit(&r), 1);
	/* no host: nothing at all */
	checkrule_init(&r, "a.test");
	checkrule_smtp(&r, &pol, h, 0, T0);
	assert_int_equal(r.n + r.n_facts, 0);
}

static void
test_tlsrpt(void **state)
{
	static const struct {
		const char *domain;
		const char *want;
	} cases[] = {
	    {"ok.test", ""},
	    {"two.test", "tls_rpt_multiple"},
	    {"bad.test", "tls_rpt_syntax"},
	    {"case.test", "tls_rpt_syntax"},
	    {"other.test", "tls_rpt_missing"},
	    {"absent.test", "tls_rpt_missing"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct checkrule_report r;
		char q[300];
		size_t len;
		const uint8_t *m;

		snprintf(q, sizeof(q), "_smtp._tls.%s", cases[i].domain);
		m = ask(q, DNSMSG_TXT, &len);
		checkrule_init(&r, cases[i].domain);
		checkrule_tlsrpt(&r, m, len, NULL);
		if (strcmp(codes(&r), cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].domain, codes(&r),
			         cases[i].want);
	}
	{
		struct checkrule_report r;

		checkrule_init(&r, "a.test");
		checkrule_tlsrpt(&r, NULL, 0, "SERVFAIL");
		assert_string_equal(codes(&r), "tls_rpt_lookup_failed");
	}
}

/* A record longer than the cap is reported, never judged from a cut copy. */
static void
test_tlsrpt_long(void **state)
{
	static char text[5000];
	struct zrr big[2] = {{"_smtp._tls.big.test", DNSMSG_TXT, 300, text}, {NULL, 0, 0, NULL}};
	struct world w = {.rrs = big};
	struct checkrule_report r;
	size_t n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "v=TLSRPTv1; rua=mailto:r@big.test; x=");
	while (n < STSRECORD_TXT_MAX + 100) { /* 200-byte strings: one record over the cap */
		memset(text + n, 'a', 199);
		text[n + 199] = '|';
		n += 200;
	}
	text[n - 1] = '\0';
	assert_int_equal(world_reply(&w, "_smtp._tls.big.test", DNSMSG_TXT, &pk), WORLD_ANSWER);
	checkrule_init(&r, "big.test");
	checkrule_tlsrpt(&r, pk.b, pk.n, NULL);
	assert_string_equal(codes(&r), "tls_rpt_syntax");
	assert_non_null(strstr(r.f[0].msg, "longer than 4096 bytes"));
}

static void
test_tlsrpt_grammar(void **state)
{
	static const struct {
		const char *rec;
		int ok;
	} cases[] = {
	    {"v=TLSRPTv1; rua=mailto:a@b.test", 1},
	    {"v=TLSRPTv1;rua=mailto:a@b.test;", 1},
	    {"v=TLSRPTv1 ; rua=mailto:a@b.test , https://r.b.test/x", 1},
	    {"v=TLSRPTv1; rua=https://r.b.test/x; ext=1", 1},
	    {"v=TLSRPTv1; rua=MAILTO:a@b.test", 1},
	    {"v=TLSRPTv1", 0},                              /* no rua */
	    {"v=TLSRPTv1; ext=1", 0},                       /* no rua */
	    {"v=TLSRPTv1; rua=", 0},                        /* empty URI */
	    {"v=TLSRPTv1; rua=mailto:", 0},                 /* no address */
	    {"v=TLSRPTv1; rua=mailto:b.test", 0},           /* no @ */
	    {"v=TLSRPTv1; rua=mailto:a@", 0},               /* nothing after @ */
	    {"v=TLSRPTv1; rua=http://r.b.test/", 0},        /* not https */
	    {"v=TLSRPTv1; rua=https:///x", 0},              /* no host */
	    {"v=TLSRPTv1; rua=mailto:a@b.test,ftp://x", 0}, /* the second URI */
	    {"v=TLSRPTv1; rua=mailto:a@b.test; rua=mailto:c@d.test", 0},
	    {"v=TLSRPTv1; garbage", 0},
	    {"v=TLSRPTv10; rua=mailto:a@b.test", 0},
	    {"v=TLSRPTv1 rua=mailto:a@b.test", 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		char buf[200];
		int got = checkrule_tlsrpt_valid(cases[i].rec, strlen(cases[i].rec), &why, buf,
		                                 sizeof(buf));

		if (got != cases[i].ok)
			fail_msg("\"%s\": got %d (%s)", cases[i].rec, got, why ? why : "");
		if (!got)
			assert_non_null(why);
	}
}

/* ---- dimension 9 ---- */

static void
mkrec(struct cacherec *c, const char *id, int64_t fetched, uint32_t max_age)
{
	static const char body[] = "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 86400\n";
	struct stspolicy p;

	cacherec_init(c);
	assert_int_equal(stspolicy_parse(body, strlen(body), &p), STSPOLICY_OK);
	p.max_age = max_age;
	cacherec_on_fetch_ok(c, &p, id, fetched);
}

static void
test_cache(void **state)
{
	struct checkrule_report r;
	struct cacherec c;

	(void)state;
	checkrule_init(&r, "a.test");
	checkrule_cache(&r, "cache_dir /x: data.mdb: No such file", NULL, "1", T0);
	assert_string_equal(codes(&r), "cache_unavailable");
	checkrule_init(&r, "a.test");
	checkrule_cache(&r, NULL, NULL, "1", T0);
	assert_string_equal(codes(&r), "cache_none");
	mkrec(&c, "1", T0 - 100, 86400);
	checkrule_init(&r, "a.test");
	checkrule_cache(&r, NULL, &c, "1", T0);
	assert_string_equal(codes(&r), "");
	assert_string_equal(factv(&r, "id"), "1");
	assert_string_equal(factv(&r, "mode"), "enforce");
	assert_string_equal(factv(&r, "fetched"), "2023-11-14T22:11:40Z");
	assert_string_equal(factv(&r, "expires"), "2023-11-15T22:11:40Z");
	assert_string_equal(factv(&r, "state"), "policy applies");
	checkrule_init(&r, "a.test");
	checkrule_cache(&r, NULL, &c, "2", T0);
	assert_string_equal(codes(&r), "cache_stale_id");
	assert_string_equal(r.f[0].msg, "cached id 1, published id 2: the daemon applies the older "
	                                "policy until it sees the new id");
	checkrule_init(&r, "a.test");
	checkrule_cache(&r, NULL, &c, NULL, T0);
	assert_string_equal(codes(&r), "cache_stale_id");
	mkrec(&c, "1", T0 - 100, 50);
	checkrule_init(&r, "a.test");
	checkrule_cache(&r, NULL, &c, "1", T0);
	assert_string_equal(codes(&r), "cache_expired");
	/* "no policy" remembered: nothing cached to compare */
	cacherec_init(&c);
	cacherec_on_no_policy(&c, T0, 300);
	checkrule_init(&r, "a.test");
	checkrule_cache(&r, NULL, &c, NULL, T0);
	assert_string_equal(codes(&r), "cache_none");
	assert_non_null(strstr(factv(&r, "state"), "no policy, remembered until"));
}

/* ---- table, score, exit ---- */

static void
test_table(void **state)
{
	(void)state;
	for (int c = 0; c < CHECKRULE_CODE_N; c++) {
		const char *n = checkrule_code_name((enum checkrule_code)c);

		assert_non_null(n);
		assert_true(strlen(n) > 0);
		assert_true(strspn(n, "abcdefghijklmnopqrstuvwxyz_") == strlen(n));
		assert_true(strlen(checkrule_code_hint((enum checkrule_code)c)) > 0);
		for (int d = 0; d < c; d++)
			assert_string_not_equal(n, checkrule_code_name((enum checkrule_code)d));
	}
	/* the severities the man page documents */
	assert_int_equal(checkrule_code_sev(CHECKRULE_MISSING_RECORD), CHECKRULE_CRITICAL);
	assert_int_equal(checkrule_code_sev(CHECKRULE_MODE_NONE), CHECKRULE_WARNING);
	assert_int_equal(checkrule_code_sev(CHECKRULE_MODE_TESTING), CHECKRULE_INFO);
	assert_int_equal(checkrule_code_sev(CHECKRULE_MX_PARTIAL_MATCH), CHECKRULE_WARNING);
	assert_int_equal(checkrule_code_sev(CHECKRULE_MX_NO_MATCH), CHECKRULE_CRITICAL);
	assert_int_equal(checkrule_code_sev(CHECKRULE_TLSRPT_MISSING), CHECKRULE_WARNING);
	assert_int_equal(checkrule_code_sev(CHECKRULE_CACHE_STALE_ID), CHECKRULE_INFO);
	assert_int_equal(checkrule_code_sev(CHECKRULE_CERT_INVALID), CHECKRULE_CRITICAL);
	assert_int_equal(checkrule_code_sev(CHECKRULE_CERT_NAME_MISMATCH), CHECKRULE_CRITICAL);
	assert_int_equal(checkrule_code_sev(CHECKRULE_CERT_EXPIRED), CHECKRULE_CRITICAL);
	assert_int_equal(checkrule_code_sev(CHECKRULE_CERT_EXPIRING), CHECKRULE_WARNING);
	assert_int_equal(checkrule_code_sev(CHECKRULE_TLS_VERSION_OLD), CHECKRULE_CRITICAL);
	assert_string_equal(checkrule_code_name(CHECKRULE_CERT_EXPIRING), "cert_expiring");
	assert_int_equal(checkrule_code_sev(CHECKRULE_MX_NO_STARTTLS), CHECKRULE_CRITICAL);
	assert_int_equal(checkrule_code_sev(CHECKRULE_MX_CERT_INVALID), CHECKRULE_CRITICAL);
	assert_int_equal(checkrule_code_sev(CHECKRULE_MX_CERT_NAME_MISMATCH), CHECKRULE_CRITICAL);
	assert_int_equal(checkrule_code_sev(CHECKRULE_MX_CERT_EXPIRING), CHECKRULE_WARNING);
	assert_int_equal(checkrule_code_sev(CHECKRULE_MX_SMTP_FAILED), CHECKRULE_WARNING);
	assert_int_equal(checkrule_code_sev(CHECKRULE_HTTP_SERVED), CHECKRULE_INFO);
	assert_int_equal(checkrule_code_sev(CHECKRULE_HTTP_DIFFERS), CHECKRULE_WARNING);
	assert_string_equal(checkrule_code_name(CHECKRULE_HTTP_SERVED), "policy_http_served");
	assert_string_equal(checkrule_code_name(CHECKRULE_HTTP_DIFFERS), "policy_http_differs");
	assert_string_equal(checkrule_dim_name(CHECKRULE_DIM_CACHE), "cache");
	assert_string_equal(checkrule_dim_name((enum checkrule_dim)0), "unknown");
	assert_string_equal(checkrule_dim_name((enum checkrule_dim)10), "unknown");
}

/* A report with w warnings, c criticals and i infos. */
static void
mkreport(struct checkrule_report *r, unsigned w, unsigned c, unsigned i)
{
	checkrule_init(r, "a.test");
	for (unsigned k = 0; k < w; k++)
		checkrule_tlsrpt(r, NULL, 0, "x"); /* tls_rpt_lookup_failed: warning */
	for (unsigned k = 0; k < c; k++)
		checkrule_fetch(r, NULL, NULL); /* policy_fetch_failed: critical (+ a fact) */
	for (unsigned k = 0; k < i; k++)
		checkrule_not_checked(r, CHECKRULE_DIM_DANE, "later");
}

static void
test_score(void **state)
{
	static const struct {
		unsigned w, c, i, score;
		int exit;
	} cases[] = {
	    {0, 0, 0, 100, 0}, {0, 0, 5, 100, 0}, {1, 0, 3, 90, 1}, {3, 0, 0, 70, 1},
	    {9, 0, 0, 10, 1},  {10, 0, 0, 0, 1},  {12, 0, 0, 0, 1}, {0, 1, 0, 40, 2},
	    {1, 1, 0, 40, 2},  {3, 1, 0, 40, 2},  {4, 1, 0, 40, 2}, {5, 1, 0, 30, 2},
	    {0, 2, 0, 40, 2},  {0, 3, 0, 40, 2},  {0, 4, 0, 20, 2}, {0, 5, 0, 0, 2},
	    {2, 4, 0, 0, 2},
	};
	struct checkrule_report r;

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		mkreport(&r, cases[k].w, cases[k].c, cases[k].i);
		assert_int_equal(checkrule_count(&r, CHECKRULE_WARNING), cases[k].w);
		assert_int_equal(checkrule_count(&r, CHECKRULE_CRITICAL), cases[k].c);
		if (checkrule_score(&r) != cases[k].score || checkrule_exit(&r) != cases[k].exit)
			fail_msg("w=%u c=%u: score %u exit %d, want %u %d", cases[k].w, cases[k].c,
			         checkrule_score(&r), checkrule_exit(&r), cases[k].score,
			         cases[k].exit);
	}
	mkreport(&r, 0, 0, 0);
	checkrule_abort(&r, "no resolver");
	assert_int_equal(checkrule_score(&r), 0);
	assert_int_equal(checkrule_exit(&r), 3);
}

static void
test_caps(void **state)
{
	struct checkrule_report r;
	char big[2000];

	(void)state;
	/* findings over the cap are counted, not kept */
	checkrule_init(&r, "a.test");
	for (unsigned k = 0; k < CHECKRULE_FINDINGS_MAX + 3; k++)
		checkrule_not_checked(&r, CHECKRULE_DIM_DANE, "x");
	assert_int_equal(r.n, CHECKRULE_FINDINGS_MAX);
	assert_int_equal(r.dropped, 3);
	/* a long message ends "...", and peer bytes become '?' */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '\033';
	big[1] = '\n';
	checkrule_init(&r, "a.test");
	checkrule_not_checked(&r, CHECKRULE_DIM_DANE, big);
	assert_int_equal(strlen(r.f[0].msg), CHECKRULE_MSG_MAX - 1);
	assert_memory_equal(r.f[0].msg, "??aaa", 5);
	assert_string_equal(r.f[0].msg + CHECKRULE_MSG_MAX - 4, "...");
}

/* ---- renderings ---- */

static void
test_json_schema(void **state)
{
	static const char want[] =
	    "{\"domain\":\"a.test\",\"status\":\"ok\",\"error\":null,\"score\":90,\"exit\":1,"
	    "\"counts\":{\"critical\":0,\"warning\":1,\"info\":1},\"dropped\":0,\"dimensions\":["
	    "{\"id\":1,\"name\":\"record\",\"title\":\"TXT record _mta-sts\",\"checked\":true,"
	    "\"facts\":{\"name\":\"_mta-sts.a.test\"},\"findings\":[]},"
	    "{\"id\":2,\"name\":\"policy_fetch\",\"title\":\"Policy fetch\",\"checked\":true,"
	    "\"facts\":{},\"findings\":[]},"
	    "{\"id\":3,\"name\":\"policy_syntax\",\"title\":\"Policy syntax\",\"checked\":true,"
	    "\"facts\":{},\"findings\":[]},"
	    "{\"id\":4,\"name\":\"certificate\",\"title\":\"Certificate of mta-sts host\","
	    "\"checked\":false,\"facts\":{},\"findings\":[{\"code\":\"not_checked\",\"severity\":"
	    "\"info\",\"message\":\"say \\\"later\\\" \\\\ soon\",\"hint\":\"nothing to fix: this "
	    "part was not examined\"}]},"
	    "{\"id\":5,\"name\":\"mx_coverage\",\"title\":\"MX coverage\",\"checked\":true,"
	    "\"facts\":{},\"findings\":[]},"
	    "{\"id\":6,\"name\":\"smtp_starttls\",\"title\":\"MX STARTTLS\",\"checked\":true,"
	    "\"facts\":{},\"findings\":[]},"
	    "{\"id\":7,\"name\":\"tls_rpt\",\"title\":\"TLS-RPT record _smtp._tls\",\"checked\":"
	    "true,\"facts\":{\"name\":\"_smtp._tls.a.test\"},\"findings\":[{\"code\":"
	    "\"tls_rpt_lookup_failed\",\"severity\":\"warning\",\"message\":\"TXT "
	    "_smtp._tls.a.test:"
	    " x\",\"hint\":\"make the domain's name servers answer TXT queries for "
	    "_smtp._tls.DOMAIN\"}]},"
	    "{\"id\":8,\"name\":\"dane\",\"title\":\"DANE\",\"checked\":true,\"facts\":{},"
	    "\"findings\":[]},"
	    "{\"id\":9,\"name\":\"cache\",\"title\":\"This sender's cache\",\"checked\":true,"
	    "\"facts\":{},\"findings\":[]}]}\n";
	static const char aborted[] =
	    "{\"domain\":\"a.test\",\"status\":\"error\",\"error\":\"no resolver\",\"score\":0,"
	    "\"exit\":3,\"counts\":{\"critical\":0,\"warning\":0,\"info\":0},\"dropped\":0,"
	    "\"dimensions\":[]}\n";
	struct checkrule_report r;
	struct stsrecord rec;
	struct strbuf sb;

	(void)state;
	checkrule_init(&r, "a.test");
	/* a fact without a finding: the name of the record */
	checkrule_record(&r, NULL, 0, "x", &rec);
	r.n = 0; /* keep the fact, drop the finding */
	checkrule_not_checked(&r, CHECKRULE_DIM_CERT, "say \"later\" \\ soon");
	checkrule_tlsrpt(&r, NULL, 0, "x");
	strbuf_init(&sb, CHECKRULE_OUT_MAX);
	assert_int_equal(checkrule_json(&r, &sb), 0);
	assert_string_equal(sb.data, want);
	strbuf_reset(&sb);
	checkrule_init(&r, "a.test");
	checkrule_abort(&r, "no resolver");
	assert_int_equal(checkrule_json(&r, &sb), 0);
	assert_string_equal(sb.data, aborted);
	strbuf_fini(&sb);
}

static void
test_text(void **state)
{
	struct checkrule_report r;
	struct strbuf sb;

	(void)state;
	checkrule_init(&r, "a.test");
	checkrule_tlsrpt(&r, NULL, 0, "x");
	checkrule_not_checked(&r, CHECKRULE_DIM_DANE, "later");
	strbuf_init(&sb, CHECKRULE_OUT_MAX);
	assert_int_equal(checkrule_text(&r, &sb), 0);
	assert_non_null(strstr(sb.data, "check: a.test\n\n[1] TXT record _mta-sts\n  ok\n"));
	assert_non_null(strstr(sb.data,
	                       "[7] TLS-RPT record _smtp._tls\n"
	                       "    name: _smtp._tls.a.test\n"
	                       "  warning  tls_rpt_lookup_failed: TXT _smtp._tls.a.test: x\n"
	                       "           fix: make the domain's name servers"));
	assert_non_null(strstr(sb.data, "[8] DANE\n  info     not_checked: later\n\n[9]"));
	assert_non_null(strstr(sb.data, "\nscore: 90/100 (0 critical, 1 warning, 1 info)\n"));
	/* the cap is an error, not a cut */
	strbuf_fini(&sb);
	strbuf_init(&sb, 100);
	assert_int_equal(checkrule_text(&r, &sb), -1);
	strbuf_fini(&sb);
}

/* ---- dimension 8: DANE ---- */

/* Fixed stand-ins for DER bytes with their real SHA2-256/512 digests: TLSA matching compares
 * bytes only, whatever they encode. */
#define LEAF_CERT "leaf-certificate-der-bytes"
#define LEAF_SPKI "leaf-spki-der-bytes"
#define CA_CERT "issuer-certificate-der"
#define CA_SPKI "issuer-spki-der"
#define LEAF_CERT_256 "5a5a9f71a810b0255f301a62ac8ab00f8c99ebe084d1e733159ba59dc2281aa5"
#define LEAF_CERT_512                                                                              \
	"447720f012f4c97d6283ab95980a800398755273b8f1038475bbff7a80e1ba21"                         \
	"46e9ee276970e3518fadb27e0f0c686f92a28d6a25af7fef26756e3621965110"
#define LEAF_SPKI_256 "7fdf7eb56ac1ed2cfad55a2ca2317187a0bace9f5d48c533dad1f345deb59a8d"
#define LEAF_SPKI_512                                                                              \
	"ad856fcc2b0dd617e4bf0a4b68b48db409e83fb0b9449271413287711936a649"                         \
	"112158dc38b87ca7028a979ee016604d46119442281d168a6f44bb123cf2d338"
#define CA_CERT_256 "862d09b12c4f33430c79d6530d83e649e4d4a3b2060de3037072935d3975d8f9"
#define CA_SPKI_256 "97e68bd39ecb9c6cfee442dc17994763958d6dbe4c58a01482388f9fa4e81bf1"
/* hex of LEAF_CERT, for matching type 0 */
#define LEAF_CERT_HEX "6c6561662d63657274696669636174652d6465722d6279746573"

static const struct zrr dane_rrs[] = {
    {"_25._tcp.ee.d.test", DNSMSG_TLSA, 300, "3 1 1 " LEAF_SPKI_256},
    {"_25._tcp.ee0.d.test", DNSMSG_TLSA, 300, "3 0 0 " LEAF_CERT_HEX},
    {"_25._tcp.ee2.d.test", DNSMSG_TLSA, 300, "3 0 2 " LEAF_CERT_512},
    {"_25._tcp.ee12.d.test", DNSMSG_TLSA, 300, "3 1 2 " LEAF_SPKI_512},
    {"_25._tcp.ee01.d.test", DNSMSG_TLSA, 300, "3 0 1 " LEAF_CERT_256},
    {"_25._tcp.ta.d.test", DNSMSG_TLSA, 300, "2 1 1 " CA_SPKI_256},
    {"_25._tcp.ta0.d.test", DNSMSG_TLSA, 300, "2 0 1 " CA_CERT_256},
    {"_25._tcp.taleaf.d.test", DNSMSG_TLSA, 300, "2 0 1 " LEAF_CERT_256},
    {"_25._tcp.bad.d.test", DNSMSG_TLSA, 300, "3 1 1 " CA_SPKI_256},
    {"_25._tcp.rollover.d.test", DNSMSG_TLSA, 300, "3 1 1 " CA_SPKI_256},
    {"_25._tcp.rollover.d.test", DNSMSG_TLSA, 300, "3 1 1 " LEAF_SPKI_256},
    {"_25._tcp.pkix.d.test", DNSMSG_TLSA, 300, "1 1 1 " LEAF_SPKI_256},
    {"_25._tcp.pkix.d.test", DNSMSG_TLSA, 300, "3 1 1 0123"},
    {"_25._tcp.mixed.d.test", DNSMSG_TLSA, 300, "0 0 1 " CA_CERT_256},
    {"_25._tcp.mixed.d.test", DNSMSG_TLSA, 300, "3 1 1 " LEAF_SPKI_256},
    {"_25._tcp.unsigned.u.test", DNSMSG_TLSA, 300, "3 1 1 " CA_SPKI_256},
    {"_25._tcp.none.d.test", DNSMSG_A, 300, "192.0.2.9"},
    {NULL, 0, 0, NULL},
};

static void
hexbytes(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void
certid(struct checkrule_certid *c, const char *cert, const char *c256, const char *c512,
       const char *spki, const char *s256, const char *s512)
{
	memset(c, 0, sizeof(*c));
	c->len[0] = strlen(cert);
	memcpy(c->der[0], cert, c->len[0]);
	c->len[1] = strlen(spki);
	memcpy(c->der[1], spki, c->len[1]);
	hexbytes(c256, c->sha256[0], 32);
	hexbytes(s256, c->sha256[1], 32);
	if (c512 != NULL)
		hexbytes(c512, c->sha512[0], 64);
	if (s512 != NULL)
		hexbytes(s512, c->sha512[1], 64);
}

/* host presented the leaf above, and with chain 2 the issuer too. */
static void
mkdaneprobe(struct checkrule_smtp *h, const char *host, unsigned chain)
{
	mkprobe(h, host, CHECKRULE_SMTP_TLS, host, T0 + 365 * 86400LL);
	h->n_chain = chain;
	certid(&h->chain[0], LEAF_CERT, LEAF_CERT_256, LEAF_CERT_512, LEAF_SPKI, LEAF_SPKI_256,
	       LEAF_SPKI_512);
	if (chain > 1) {
		certid(&h->chain[1], CA_CERT, CA_CERT_256, NULL, CA_SPKI, CA_SPKI_256, NULL);
		h->chain[1].issues_prev = 1;
	}
}

static struct pkt tlsa_pk[4];

/* The TLSA answers of hosts, as the checker reads them (SERVFAIL: no message). */
static void
tlsa_answers(const struct danerec *d, struct checkrule_tlsa_ans *t)
{
	struct world w = {
	    .rrs = dane_rrs, .servfail = {"_25._tcp.sf.d.test"}, .insecure = {"u.test"}};

	for (unsigned i = 0; i < d->n_hosts; i++) {
		char q[DNAME_MAX + 16];

		snprintf(q, sizeof(q), "_25._tcp.%s", d->hosts[i]);
		memset(&t[i], 0, sizeof(t[i]));
		if (world_reply(&w, q, DNSMSG_TLSA, &tlsa_pk[i]) == WORLD_ANSWER) {
			t[i].msg = tlsa_pk[i].b;
			t[i].len = tlsa_pk[i].n;
		} else {
			t[i].why = "SERVFAIL";
		}
	}
}

static void
mkdrec(struct danerec *d, enum dane_state st, const char *h1, const char *h2)
{
	memset(d, 0, sizeof(*d));
	d->state = st;
	d->trust_ad = 1;
	d->mx_known = 1;
	snprintf(d->why, sizeof(d->why), "why-%s", dane_state_name(st));
	snprintf(d->hosts[d->n_hosts++], DNAME_MAX + 1, "%s", h1);
	if (h2 != NULL)
		snprintf(d->hosts[d->n_hosts++], DNAME_MAX + 1, "%s", h2);
}

/* DANE-TA matches only an anchor on the leaf's own path, and then only a leaf whose names
 * cover the MX host: a matching hash alone is not enough (RFC 7671 s5.2.2, RFC 7672 s3.2.3). */
static void
test_dane_ta_path(void **state)
{
	static const struct {
		int issued;        /* the sent issuer signed the leaf */
		const char *names; /* the leaf's names */
		const char *want;
	} cases[] = {
	    {1, "ta.d.test", ""},
	    {0, "ta.d.test", "dane_tlsa_mismatch:critical"},
	    {1, "other.d.test", "dane_tlsa_mismatch:critical"},
	    {1, "*.d.test", ""},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct checkrule_report r;
		struct danerec d;
		struct checkrule_tlsa_ans t[1];
		struct checkrule_smtp h;

		mkdrec(&d, DANE_ALL, "ta.d.test", NULL);
		tlsa_answers(&d, t);
		mkdaneprobe(&h, "ta.d.test", 2);
		h.chain[1].issues_prev = cases[i].issued;
		h.n_names = 1;
		snprintf(h.names[0], sizeof(h.names[0]), "%s", cases[i].names);
		checkrule_init(&r, "d.test");
		checkrule_dane(&r, 1, &d, t, &h, 1);
		if (strcmp(codesev(&r), cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, codesev(&r),
			         cases[i].want);
	}
}

static void
test_dane(void **state)
{
	static const struct {
		enum dane_state st;
		const char *h1, *h2;
		unsigned chain; /* 0: not probed */
		const char *want, *tlsa;
	} cases[] = {
	    {DANE_ALL, "ee.d.test", NULL, 1, "", "ee.d.test 1 usable TLSA, 3 1 1 matches"},
	    {DANE_ALL, "ee0.d.test", NULL, 1, "", "ee0.d.test 1 usable TLSA, 3 0 0 matches"},
	    {DANE_ALL, "ee2.d.test", NULL, 1, "", "ee2.d.test 1 usable TLSA, 3 0 2 matches"},
	    {DANE_ALL, "ee12.d.test", NULL, 1, "", "ee12.d.test 1 usable TLSA, 3 1 2 matches"},
	    {DANE_ALL, "ee01.d.test", NULL, 1, "", "ee01.d.test 1 usable TLSA, 3 0 1 matches"},
	    {DANE_ALL, "ta.d.test", NULL, 2, "", "ta.d.test 1 usable TLSA, 2 1 1 matches"},
	    {DANE_ALL, "ta0.d.test", NULL, 2, "", "ta0.d.test 1 usable TLSA, 2 0 1 matches"},
	    /* the issuer is not sent: DANE-TA cannot match */
	    {DANE_ALL, "ta.d.test", NULL, 1, "dane_tlsa_mismatch:critical",
	     "ta.d.test 1 usable TLSA, no match"},
	    /* DANE-TA never matches the leaf itself */
	    {DANE_ALL, "taleaf.d.test", NULL, 2, "dane_tlsa_mismatch:critical",
	     "taleaf.d.test 1 usable TLSA, no match"},
	    {DANE_ALL, "bad.d.test", NULL, 2, "dane_tlsa_mismatch:critical",
	     "bad.d.test 1 usable TLSA, no match"},
	    /* one of two records matching is enough (key rollover) */
	    {DANE_ALL, "rollover.d.test", NULL, 1, "",
	     "rollover.d.test 2 usable TLSA, 3 1 1 matches"},
	    {DANE_ALL, "mixed.d.test", NULL, 1, "", "mixed.d.test 1 usable TLSA, 3 1 1 matches"},
	    {DANE_ALL, "ee.d.test", NULL, 0, "",
	     "ee.d.test 1 usable TLSA, not compared (no "
	     "certificate seen)"},
	    {DANE_NONE, "pkix.d.test", NULL, 1, "dane_tlsa_unusable:warning",
	     "pkix.d.test 2 TLSA, none usable"},
	    {DANE_NONE, "none.d.test", NULL, 1, "", "none.d.test no TLSA"},
	    {DANE_NONE, "unsigned.u.test", NULL, 1, "",
	     "unsigned.u.test 1 TLSA, not DNSSEC-signed (ignored)"},
	    {DANE_SOME, "ee.d.test", "none.d.test", 1, "dane_partial:warning",
	     "ee.d.test 1 usable TLSA, 3 1 1 matches; none.d.test no TLSA"},
	    {DANE_SOME, "bad.d.test", "none.d.test", 1,
	     "dane_tlsa_mismatch:critical dane_partial:warning",
	     "bad.d.test 1 usable TLSA, no match; none.d.test no TLSA"},
	    {DANE_ALL, "sf.d.test", NULL, 1, "dane_lookup_failed:warning",
	     "sf.d.test TLSA lookup failed"},
	    /* the daemon's machine failed already: said once */
	    {DANE_ERROR, "sf.d.test", "ee.d.test", 1, "dane_lookup_failed:warning",
	     "sf.d.test TLSA lookup failed; ee.d.test 1 usable TLSA, 3 1 1 matches"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct checkrule_report r;
		struct danerec d;
		struct checkrule_tlsa_ans t[2];
		struct checkrule_smtp h[2];

		mkdrec(&d, cases[i].st, cases[i].h1, cases[i].h2);
		tlsa_answers(&d, t);
		for (unsigned k = 0; k < d.n_hosts; k++)
			mkdaneprobe(&h[k], d.hosts[k], cases[i].chain);
		checkrule_init(&r, "d.test");
		checkrule_dane(&r, 1, &d, t, cases[i].chain ? h : NULL,
		               cases[i].chain ? d.n_hosts : 0);
		if (strcmp(codesev(&r), cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, codesev(&r),
			         cases[i].want);
		assert_non_null(factv(&r, "tlsa"));
		if (strcmp(factv(&r, "tlsa"), cases[i].tlsa) != 0)
			fail_msg("case %zu: tlsa \"%s\"", i, factv(&r, "tlsa"));
		assert_string_equal(factv(&r, "state"),
		                    cases[i].st == DANE_ALL    ? "all (why-all)"
		                    : cases[i].st == DANE_SOME ? "some (why-some)"
		                    : cases[i].st == DANE_NONE ? "none (why-none)"
		                                               : "error (why-error)");
		for (unsigned k = 0; k < r.n; k++)
			assert_int_equal(r.f[k].dim, CHECKRULE_DIM_DANE);
	}
}

static void
test_dane_details(void **state)
{
	struct checkrule_report r;
	struct danerec d;
	struct checkrule_tlsa_ans t[2];
	struct checkrule_smtp h[2];
	struct dnsmsg_tlsa x = {3, 1, 1, NULL, 32};
	uint8_t b[64];

	(void)state;
	/* dnssec = no: one info finding, nothing else */
	mkdrec(&d, DANE_INSECURE, "ee.d.test", NULL);
	checkrule_init(&r, "d.test");
	checkrule_dane(&r, 0, &d, NULL, NULL, 0);
	assert_string_equal(codesev(&r), "dane_not_validated:info");
	assert_string_equal(r.f[0].msg, "dnssec = no: DANE cannot be seen (the resolver's AD bit "
	                                "is not trusted)");
	assert_int_equal(r.n_facts, 0);
	/* unsigned MX set */
	checkrule_init(&r, "d.test");
	snprintf(d.why, sizeof(d.why), "MX records of d.test are not DNSSEC-signed");
	checkrule_dane(&r, 1, &d, NULL, NULL, 0);
	assert_string_equal(codesev(&r), "dane_mx_unsigned:info");
	assert_string_equal(r.f[0].msg, "MX records of d.test are not DNSSEC-signed: DANE does "
	                                "not apply to d.test");
	assert_null(factv(&r, "tlsa"));
	/* MX lookup failed */
	memset(&d, 0, sizeof(d));
	d.state = DANE_ERROR;
	snprintf(d.why, sizeof(d.why), "MX lookup failed: SERVFAIL");
	checkrule_init(&r, "d.test");
	checkrule_dane(&r, 1, &d, NULL, NULL, 0);
	assert_string_equal(codesev(&r), "dane_lookup_failed:warning");
	assert_string_equal(r.f[0].msg, "MX lookup failed: SERVFAIL");
	/* messages of a mismatch and of partial DANE */
	mkdrec(&d, DANE_SOME, "bad.d.test", "none.d.test");
	tlsa_answers(&d, t);
	mkdaneprobe(&h[0], "bad.d.test", 1);
	mkdaneprobe(&h[1], "none.d.test", 1);
	checkrule_init(&r, "d.test");
	checkrule_dane(&r, 1, &d, t, h, 2);
	assert_string_equal(r.f[0].msg, "bad.d.test [192.0.2.25]: none of its 1 usable TLSA record "
	                                "matches the certificate it presents: senders using DANE "
	                                "(Postfix dane, dane-only) defer mail to it");
	assert_string_equal(r.f[1].msg,
	                    "usable TLSA records on 1 of 2 MX hosts, none on none.d.test: Postfix "
	                    "dane-only (the daemon's answer under enforce) never uses those");
	/* a probe without TLS, or a matching type-0 record longer than what was kept */
	mkdaneprobe(&h[0], "ee.d.test", 1);
	h[0].res = CHECKRULE_SMTP_NO_STARTTLS;
	memcpy(b, h[0].chain[0].sha256[1], 32);
	x.data = b;
	assert_false(checkrule_tlsa_match(&x, &h[0]));
	h[0].res = CHECKRULE_SMTP_TLS;
	assert_true(checkrule_tlsa_match(&x, &h[0]));
	x.usage = 1; /* PKIX-EE: never for SMTP */
	assert_false(checkrule_tlsa_match(&x, &h[0]));
	x.usage = 3;
	x.mtype = 0;
	x.data = (const uint8_t *)LEAF_SPKI;
	x.len = strlen(LEAF_SPKI);
	assert_true(checkrule_tlsa_match(&x, &h[0]));
	h[0].chain[0].len[1] = CHECKRULE_DER_MAX + 1;
	assert_false(checkrule_tlsa_match(&x, &h[0]));
}

/* ---- how this sender's daemon decides ---- */

static void
test_decision(void **state)
{
	static const char enf[] =
	    "version: STSv1\nmode: enforce\nmx: mail.a.test\nmax_age: 604800\n";
	struct checkrule_report r;
	struct stspolicy pol;
	struct danerec d;
	struct decide_input in;
	struct cfg_zone zone;

	(void)state;
	memset(&zone, 0, sizeof(zone));
	snprintf(zone.name, sizeof(zone.name), "default");
	zone.fallback = CFG_FALLBACK_NOTFOUND;
	zone.dane = 1;
	zone.mx_check = 1;
	assert_int_equal(stspolicy_parse(enf, strlen(enf), &pol), STSPOLICY_OK);
	mkdrec(&d, DANE_ALL, "mail.a.test", NULL);

	checkrule_init(&r, "a.test");
	assert_int_equal(checkrule_disc(&r, 1, 1), DECIDE_DISC_FETCHED);
	assert_int_equal(checkrule_disc(&r, 1, 0), DECIDE_DISC_FETCH_FAILED);
	assert_int_equal(checkrule_disc(&r, 0, 0), DECIDE_DISC_NO_POLICY);
	assert_int_equal(checkrule_disc(&r, 0, 1), DECIDE_DISC_NO_POLICY);
	(void)checkrule_record(&r, NULL, 0, "SERVFAIL", NULL);
	assert_int_equal(checkrule_disc(&r, 0, 0), DECIDE_DISC_TXT_FAILED);

	memset(&in, 0, sizeof(in));
	in.disc = DECIDE_DISC_FETCHED;
	in.fresh = &pol;
	in.dane = d.state;
	in.dns = &d;
	in.domain = "a.test";
	checkrule_init(&r, "a.test");
	checkrule_decision(&r, &in, &zone, T0);
	assert_string_equal(factv(&r, "decision"),
	                    "zone default, nothing cached: MTA-STS row enforce, DANE column all");
	assert_string_equal(factv(&r, "reply"), "OK dane-only");
	assert_string_equal(factv(&r, "reply_why"),
	                    "enforced MTA-STS policy, all MX hosts DANE: dane-only");
	assert_int_equal(r.facts[0].dim, CHECKRULE_DIM_CACHE);
	assert_int_equal(r.n, 0);

	d.state = in.dane = DANE_INSECURE;
	checkrule_init(&r, "a.test");
	checkrule_decision(&r, &in, &zone, T0);
	assert_string_equal(
	    factv(&r, "decision"),
	    "zone default, nothing cached: MTA-STS row enforce, DANE column insecure");
	assert_string_equal(factv(&r, "reply"), "OK secure match=mail.a.test servername=hostname");

	/* zone dane = no reads the column as insecure */
	d.state = in.dane = DANE_ERROR;
	zone.dane = 0;
	checkrule_init(&r, "a.test");
	checkrule_decision(&r, &in, &zone, T0);
	assert_string_equal(
	    factv(&r, "decision"),
	    "zone default, nothing cached: MTA-STS row enforce, DANE column insecure");
	zone.dane = 1;
	checkrule_init(&r, "a.test");
	checkrule_decision(&r, &in, &zone, T0);
	assert_string_equal(factv(&r, "reply"), "TEMP DANE validation error under enforce");

	in.disc = DECIDE_DISC_NO_POLICY;
	in.fresh = NULL;
	in.dane = DANE_INSECURE;
	checkrule_init(&r, "a.test");
	checkrule_decision(&r, &in, &zone, T0);
	assert_string_equal(factv(&r, "decision"),
	                    "zone default, nothing cached: MTA-STS row none, DANE column insecure");
	assert_string_equal(factv(&r, "reply"), "NOTFOUND");
	assert_string_equal(factv(&r, "reply_why"), "no MTA-STS policy");
	in.disc = DECIDE_DISC_TXT_FAILED;
	in.dane = DANE_ERROR;
	checkrule_init(&r, "a.test");
	checkrule_decision(&r, &in, &zone, T0);
	assert_string_equal(
	    factv(&r, "decision"),
	    "zone default, nothing cached: MTA-STS row txt_failed, DANE column error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record),         cmocka_unit_test(test_record_details),
	    cmocka_unit_test(test_fetch),          cmocka_unit_test(test_policy),
	    cmocka_unit_test(test_policy_details), cmocka_unit_test(test_cert),
	    cmocka_unit_test(test_cert_names),     cmocka_unit_test(test_mx),
	    cmocka_unit_test(test_mx_details),     cmocka_unit_test(test_tlsrpt),
	    cmocka_unit_test(test_tlsrpt_grammar), cmocka_unit_test(test_tlsrpt_long),
	    cmocka_unit_test(test_cache),          cmocka_unit_test(test_table),
	    cmocka_unit_test(test_score),          cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_json_schema),    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_mx_cert_names),  cmocka_unit_test(test_smtp),
	    cmocka_unit_test(test_smtp_details),   cmocka_unit_test(test_http),
	    cmocka_unit_test(test_dane),           cmocka_unit_test(test_dane_ta_path),
	    cmocka_unit_test(test_dane_details),   cmocka_unit_test(test_decision),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
