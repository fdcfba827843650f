/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for sharedrec.c: the shared value's round trip (only what a fetch established
 * travels), every truncation and a trailing byte refused, foreign, newer-format, oversized,
 * wrong-domain, policy-less, expired and future values refused whole, every single-byte change
 * decoded without harm, an older record encoding inside still read, the merge rule (a later
 * fetch wins, an equal or older one changes nothing), the key, and shared_cache URL cases;
 * the split of a whole value into body and trailer (a version 1 value, one too short for a
 * trailer, one over the cap refused before any key is needed), and the compare-and-set
 * script's offsets and its bound on a stored fetch time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sharedrec.h"

#define T0 1700000000
#define DAY 86400
#define DOM "example.com"
#define HDR 4 /* magic + version */

static void
make_rec(struct cacherec *r, int64_t fetched, const char *id)
{
	struct stspolicy p;

	memset(&p, 0, sizeof(p));
	p.mode = STSPOLICY_MODE_ENFORCE;
	p.max_age = DAY;
	memcpy(p.mx[0], "mail.example.com", sizeof("mail.example.com"));
	memcpy(p.mx[1], "*.mx.example.net", sizeof("*.mx.example.net"));
	p.n_mx = 2;
	cacherec_init(r);
	cacherec_on_fetch_ok(r, &p, id, fetched);
}

static size_t
encode(const char *domain, const struct cacherec *r, uint8_t *out)
{
	size_t n = 0;

	assert_int_equal(sharedrec_encode(domain, r, out, SHAREDREC_MAX_BYTES, &n), SHAREDREC_OK);
	return n;
}

static void
test_roundtrip(void **state)
{
	static uint8_t buf[SHAREDREC_MAX_BYTES];
	struct cacherec r, got;
	char dom[DNAME_MAX + 1];
	size_t n;

	(void)state;
	make_rec(&r, T0, "abc123");
	/* Node-local state: none of it may travel. */
	r.checked = T0 + 50;
	r.failed = T0 + 40;
	memcpy(r.failed_id, "zz9", 4);
	r.queried = T0 + 60;
	r.due = T0 + 999;
	n = encode(DOM, &r, buf);
	assert_memory_equal(buf, "MSR\x02", HDR);
	assert_int_equal(buf[HDR], strlen(DOM));
	assert_int_equal(sharedrec_decode(buf, n, DOM, T0 + 10, dom, &got), SHAREDREC_OK);
	assert_string_equal(dom, DOM);
	assert_true(got.has_policy);
	assert_string_equal(got.id, "abc123");
	assert_int_equal(got.fetched, T0);
	assert_int_equal(got.expires, T0 + DAY);
	assert_int_equal(got.policy.mode, STSPOLICY_MODE_ENFORCE);
	assert_int_equal(got.policy.n_mx, 2);
	assert_string_equal(got.policy.mx[1], "*.mx.example.net");
	assert_int_equal(got.checked, T0);
	assert_int_equal(got.failed, 0);
	assert_string_equal(got.failed_id, "");
	assert_int_equal(got.queried, 0);
	assert_int_equal(got.due, 0);
	/* Any domain is accepted when no key names one (a pub/sub message). */
	assert_int_equal(sharedrec_decode(buf, n, NULL, T0, dom, &got), SHAREDREC_OK);
	assert_string_equal(dom, DOM);
	/* The longest domain fits the bound. */
	{
		char longd[DNAME_MAX + 1];

		for (int i = 0; i < DNAME_MAX; i++)
			longd[i] = (i % 64 == 63) ? '.' : 'a';
		longd[DNAME_MAX] = '\0';
		n = encode(longd, &r, buf);
		assert_true(n <= SHAREDREC_MAX_BYTES);
		assert_int_equal(sharedrec_decode(buf, n, longd, T0, dom, &got), SHAREDREC_OK);
	}
}

static void
test_encode_refuses(void **state)
{
	uint8_t buf[SHAREDREC_MAX_BYTES];
	struct cacherec r;
	size_t n = 0, full;

	(void)state;
	cacherec_init(&r);
	assert_int_equal(sharedrec_encode(DOM, &r, buf, sizeof(buf), &n), SHAREDREC_NO_POLICY);
	make_rec(&r, T0, "abc");
	assert_int_equal(sharedrec_encode("", &r, buf, sizeof(buf), &n), SHAREDREC_BAD_DOMAIN);
	assert_int_equal(sharedrec_encode("Example.COM", &r, buf, sizeof(buf), &n),
	                 SHAREDREC_BAD_DOMAIN);
	assert_int_equal(sharedrec_encode("example.com.", &r, buf, sizeof(buf), &n),
	                 SHAREDREC_BAD_DOMAIN);
	full = encode(DOM, &r, buf);
	/* Exactly the room needed, then one byte less. */
	assert_int_equal(sharedrec_encode(DOM, &r, buf, full, &n), SHAREDREC_OK);
	assert_int_equal(sharedrec_encode(DOM, &r, buf, full - 1, &n), SHAREDREC_NO_SPACE);
	assert_int_equal(sharedrec_encode(DOM, &r, buf, 3, &n), SHAREDREC_NO_SPACE);
}

static void
assert_refused(const uint8_t *p, size_t len, const char *want, int64_t now, enum sharedrec_err e)
{
	struct cacherec got;
	char dom[DNAME_MAX + 1];

	assert_int_equal(sharedrec_decode(p, len, want, now, dom, &got), e);
	/* Refused whole: nothing known, no domain. */
	assert_false(got.has_policy);
	assert_int_equal(got.fetched, 0);
	assert_string_equal(dom, "");
}

static void
test_refused(void **state)
{
	static uint8_t buf[SHAREDREC_MAX_BYTES + 2], big[SHAREDREC_BODY_MAX + 1];
	struct cacherec r;
	size_t n;

	(void)state;
	make_rec(&r, T0, "abc123");
	n = encode(DOM, &r, buf);
	/* Every truncation, and one trailing byte. */
	for (size_t i = 0; i < n; i++) {
		struct cacherec got;
		char dom[DNAME_MAX + 1];

		assert_int_not_equal(sharedrec_decode(buf, i, DOM, T0, dom, &got), SHAREDREC_OK);
		assert_false(got.has_policy);
	}
	buf[n] = 0;
	assert_refused(buf, n + 1, DOM, T0, SHAREDREC_CORRUPT);
	/* Planted text, an empty value, another format version. */
	assert_refused((const uint8_t *)"hello", 5, DOM, T0, SHAREDREC_NOT_OURS);
	assert_refused(buf, 0, DOM, T0, SHAREDREC_NOT_OURS);
	buf[3] = 1;
	assert_refused(buf, n, DOM, T0, SHAREDREC_BAD_VERSION);
	buf[3] = 3;
	assert_refused(buf, n, DOM, T0, SHAREDREC_BAD_VERSION);
	buf[3] = SHAREDREC_VERSION;
	/* Oversized: refused on the length alone, at the cap + 1. */
	memcpy(big, buf, n);
	assert_refused(big, SHAREDREC_BODY_MAX + 1, DOM, T0, SHAREDREC_TOO_LARGE);
	/* A value copied under another domain's key. */
	assert_refused(buf, n, "example.org", T0, SHAREDREC_WRONG_DOMAIN);
	/* A domain inside that is not normalised. */
	buf[HDR + 1] = 'E';
	assert_refused(buf, n, NULL, T0, SHAREDREC_BAD_DOMAIN);
	buf[HDR + 1] = 'e';
	buf[HDR] = 0;
	assert_refused(buf, n, NULL, T0, SHAREDREC_BAD_DOMAIN);
	buf[HDR] = 250; /* longer than what follows */
	assert_refused(buf, 20, NULL, T0, SHAREDREC_CORRUPT);
	buf[HDR] = (uint8_t)strlen(DOM);
	/* Expired, and fetched beyond the allowed skew. */
	assert_refused(buf, n, DOM, T0 + DAY, SHAREDREC_EXPIRED);
	assert_refused(buf, n, DOM, T0 - SHAREDREC_SKEW_MAX - 1, SHAREDREC_FUTURE);
	{
		struct cacherec got;
		char dom[DNAME_MAX + 1];

		assert_int_equal(sharedrec_decode(buf, n, DOM, T0 - SHAREDREC_SKEW_MAX, dom, &got),
		                 SHAREDREC_OK);
	}
}

/* A record without a policy cannot be encoded; build one by hand to see it refused. */
static void
test_no_policy_value(void **state)
{
	uint8_t buf[SHAREDREC_MAX_BYTES];
	struct cacherec r;
	size_t off = HDR + 1 + strlen(DOM), n;

	(void)state;
	cacherec_init(&r);
	cacherec_on_no_policy(&r, T0, 300);
	memcpy(buf, "MSR\x02", HDR);
	buf[HDR] = (uint8_t)strlen(DOM);
	memcpy(buf + HDR + 1, DOM, strlen(DOM));
	assert_int_equal(cacherec_encode(&r, buf + off, sizeof(buf) - off, &n), CACHEREC_OK);
	assert_refused(buf, off + n, DOM, T0, SHAREDREC_NO_POLICY);
}

/* Version 2 cache records (no queried/due) inside a value are still read. */
static void
test_older_record_encoding(void **state)
{
	uint8_t buf[SHAREDREC_MAX_BYTES];
	struct cacherec r, got;
	char dom[DNAME_MAX + 1];
	size_t off = HDR + 1 + strlen(DOM), n;

	(void)state;
	make_rec(&r, T0, "abc123");
	n = encode(DOM, &r, buf);
	buf[off] = 2;
	assert_int_equal(sharedrec_decode(buf, n - 16, DOM, T0, dom, &got), SHAREDREC_OK);
	assert_string_equal(got.id, "abc123");
	assert_int_equal(got.fetched, T0);
}

/* Every single-byte change is either refused or decodes to a record that re-encodes. */
static void
test_flip_bytes(void **state)
{
	uint8_t buf[SHAREDREC_MAX_BYTES], again[SHAREDREC_MAX_BYTES];
	struct cacherec r, got;
	char dom[DNAME_MAX + 1];
	size_t n;

	(void)state;
	make_rec(&r, T0, "abc123");
	n = encode(DOM, &r, buf);
	for (size_t i = 0; i < n; i++) {
		static const uint8_t x[] = {0x01, 0x80, 0xff};

		for (size_t k = 0; k < sizeof(x); k++) {
			size_t m;

			buf[i] ^= x[k];
			if (sharedrec_decode(buf, n, NULL, T0, dom, &got) == SHAREDREC_OK) {
				assert_true(got.has_policy);
				assert_true(got.expires > T0);
				assert_int_equal(
				    sharedrec_encode(dom, &got, again, sizeof(again), &m),
				    SHAREDREC_OK);
			} else {
				assert_false(got.has_policy);
			}
			buf[i] ^= x[k];
		}
	}
}

static void
test_merge(void **state)
{
	struct cacherec local, peer, before;

	(void)state;
	/* Nothing local: the peer's policy is taken, local request time kept. */
	cacherec_init(&local);
	local.queried = T0 + 7;
	make_rec(&peer, T0, "p1");
	assert_int_equal(sharedrec_merge(&local, &peer), 1);
	assert_string_equal(local.id, "p1");
	assert_int_equal(local.queried, T0 + 7);
	/* "No policy" remembered locally: a peer's fetch still wins. */
	cacherec_init(&local);
	cacherec_on_no_policy(&local, T0 + 5, 300);
	assert_int_equal(sharedrec_merge(&local, &peer), 1);
	assert_true(local.has_policy);
	/* An older peer record never replaces a newer local one. */
	make_rec(&local, T0 + 100, "l2");
	before = local;
	assert_int_equal(sharedrec_merge(&local, &peer), 0);
	assert_string_equal(local.id, "l2");
	assert_int_equal(local.fetched, before.fetched);
	assert_int_equal(local.expires, before.expires);
	/* The same fetch again changes nothing: no extension without a fetch. */
	make_rec(&peer, T0 + 100, "l2");
	assert_int_equal(sharedrec_merge(&local, &peer), 0);
	assert_int_equal(local.expires, before.expires);
	/* A later fetch (a new id) wins whole. */
	make_rec(&peer, T0 + 200, "n3");
	assert_int_equal(sharedrec_merge(&local, &peer), 1);
	assert_string_equal(local.id, "n3");
	assert_int_equal(local.expires, T0 + 200 + DAY);
}

static void
test_key(void **state)
{
	char k[SHAREDREC_KEY_MAX];
	char longd[DNAME_MAX + 2];

	(void)state;
	assert_int_equal(sharedrec_key(DOM, k, sizeof(k)), SHAREDREC_OK);
	assert_string_equal(k, "mta-stsd:v1:policy:example.com");
	assert_int_equal(sharedrec_lease_key(DOM, k, sizeof(k)), SHAREDREC_OK);
	assert_string_equal(k, "mta-stsd:v1:lease:example.com");
	assert_int_equal(sharedrec_lease_key("", k, sizeof(k)), SHAREDREC_BAD_DOMAIN);
	assert_int_equal(sharedrec_key(DOM, k, 20), SHAREDREC_NO_SPACE);
	assert_int_equal(sharedrec_key("", k, sizeof(k)), SHAREDREC_BAD_DOMAIN);
	memset(longd, 'a', DNAME_MAX);
	longd[DNAME_MAX] = '\0';
	assert_int_equal(sharedrec_key(longd, k, sizeof(k)), SHAREDREC_OK);
	assert_int_equal(sharedrec_lease_key(longd, k, sizeof(k)), SHAREDREC_OK);
	longd[DNAME_MAX] = 'a';
	longd[DNAME_MAX + 1] = '\0';
	assert_int_equal(sharedrec_key(longd, k, sizeof(k)), SHAREDREC_BAD_DOMAIN);
}

struct url_case {
	const char *in;
	enum sharedrec_url_err want;
	int is_unix;
	const char *where; /* host or path */
	unsigned port, db;
};

static const struct url_case url_cases[] = {
    {"redis://127.0.0.1", SHAREDREC_URL_OK, 0, "127.0.0.1", 6379, 0},
    {"redis://127.0.0.1:6380", SHAREDREC_URL_OK, 0, "127.0.0.1", 6380, 0},
    {"redis://127.0.0.1:6380/3", SHAREDREC_URL_OK, 0, "127.0.0.1", 6380, 3},
    {"redis://127.0.0.1/15", SHAREDREC_URL_OK, 0, "127.0.0.1", 6379, 15},
    {"redis://127.0.0.1/", SHAREDREC_URL_OK, 0, "127.0.0.1", 6379, 0},
    {"redis://[::1]", SHAREDREC_URL_OK, 0, "::1", 6379, 0},
    {"redis://[::1]:7000/2", SHAREDREC_URL_OK, 0, "::1", 7000, 2},
    {"redis://127.0.0.1:65535/65535", SHAREDREC_URL_OK, 0, "127.0.0.1", 65535, 65535},
    {"redis+unix:/run/redis/redis.sock", SHAREDREC_URL_OK, 1, "/run/redis/redis.sock", 6379, 0},
    {"redis+unix:/run/redis.sock?db=4", SHAREDREC_URL_OK, 1, "/run/redis.sock", 6379, 4},
    {"redis://localhost", SHAREDREC_URL_HOST, 0, NULL, 0, 0},
    {"redis://redis.example.com:6379", SHAREDREC_URL_HOST, 0, NULL, 0, 0},
    {"redis://", SHAREDREC_URL_HOST, 0, NULL, 0, 0},
    {"redis://:6379", SHAREDREC_URL_HOST, 0, NULL, 0, 0},
    {"redis://::1", SHAREDREC_URL_HOST, 0, NULL, 0, 0},
    {"redis://[::1", SHAREDREC_URL_HOST, 0, NULL, 0, 0},
    {"redis://[127.0.0.1]", SHAREDREC_URL_HOST, 0, NULL, 0, 0},
    {"redis://[::1]x", SHAREDREC_URL_HOST, 0, NULL, 0, 0},
    {"redis://127.0.0.1:0", SHAREDREC_URL_PORT, 0, NULL, 0, 0},
    {"redis://127.0.0.1:65536", SHAREDREC_URL_PORT, 0, NULL, 0, 0},
    {"redis://127.0.0.1:", SHAREDREC_URL_PORT, 0, NULL, 0, 0},
    {"redis://127.0.0.1:63x9", SHAREDREC_URL_PORT, 0, NULL, 0, 0},
    {"redis://127.0.0.1/65536", SHAREDREC_URL_DB, 0, NULL, 0, 0},
    {"redis://127.0.0.1/-1", SHAREDREC_URL_DB, 0, NULL, 0, 0},
    {"redis://127.0.0.1/1/2", SHAREDREC_URL_DB, 0, NULL, 0, 0},
    {"redis://user:secret@127.0.0.1", SHAREDREC_URL_USERINFO, 0, NULL, 0, 0},
    {"redis://:secret@127.0.0.1", SHAREDREC_URL_USERINFO, 0, NULL, 0, 0},
    {"rediss://127.0.0.1", SHAREDREC_URL_SCHEME, 0, NULL, 0, 0},
    {"unix:/run/redis.sock", SHAREDREC_URL_SCHEME, 0, NULL, 0, 0},
    {"REDIS://127.0.0.1", SHAREDREC_URL_SCHEME, 0, NULL, 0, 0},
    {"", SHAREDREC_URL_SCHEME, 0, NULL, 0, 0},
    {"redis+unix:", SHAREDREC_URL_PATH, 0, NULL, 0, 0},
    {"redis+unix:run/redis.sock", SHAREDREC_URL_PATH, 0, NULL, 0, 0},
    {"redis+unix:///run/redis.sock", SHAREDREC_URL_PATH, 0, NULL, 0, 0},
    {"redis+unix:/run/re\tdis.sock", SHAREDREC_URL_PATH, 0, NULL, 0, 0},
    {"redis+unix:/run/redis.sock?db=", SHAREDREC_URL_DB, 0, NULL, 0, 0},
    {"redis+unix:/run/redis.sock?db=x", SHAREDREC_URL_DB, 0, NULL, 0, 0},
    {"redis+unix:/run/redis.sock?timeout=3", SHAREDREC_URL_QUERY, 0, NULL, 0, 0},
    {"redis+unix:/run/redis.sock?", SHAREDREC_URL_QUERY, 0, NULL, 0, 0},
};

static void
test_url(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const struct url_case *c = &url_cases[i];
		struct sharedrec_url u;
		enum sharedrec_url_err e = sharedrec_url_parse(c->in, strlen(c->in), &u);

		if (e != c->want)
			fail_msg("%s: got %d (%s), want %d", c->in, e, sharedrec_url_strerror(e),
			         c->want);
		assert_non_null(sharedrec_url_strerror(e));
		if (e != SHAREDREC_URL_OK)
			continue;
		assert_int_equal(u.is_unix, c->is_unix);
		assert_string_equal(c->is_unix ? u.path : u.host, c->where);
		if (!c->is_unix)
			assert_int_equal(u.port, c->port);
		assert_int_equal(u.db, c->db);
	}
}

/* Path length: 107 bytes is the cap, 108 is refused. */
static void
test_url_path_cap(void **state)
{
	char s[11 + SHAREDREC_PATH_MAX + 2];
	struct sharedrec_url u;

	(void)state;
	memcpy(s, "redis+unix:", 11);
	s[11] = '/';
	memset(s + 12, 'p', SHAREDREC_PATH_MAX - 1);
	assert_int_equal(sharedrec_url_parse(s, 11 + SHAREDREC_PATH_MAX, &u), SHAREDREC_URL_OK);
	assert_int_equal(strlen(u.path), SHAREDREC_PATH_MAX);
	s[11 + SHAREDREC_PATH_MAX] = 'p';
	assert_int_equal(sharedrec_url_parse(s, 11 + SHAREDREC_PATH_MAX + 1, &u),
	                 SHAREDREC_URL_PATH);
}

static void
test_strerror(void **state)
{
	(void)state;
	for (int e = SHAREDREC_OK; e <= SHAREDREC_BAD_MAC; e++)
		assert_string_not_equal(sharedrec_strerror((enum sharedrec_err)e),
		                        "unknown sharedrec error");
	for (int e = SHAREDREC_URL_OK; e <= SHAREDREC_URL_QUERY; e++)
		assert_string_not_equal(sharedrec_url_strerror((enum sharedrec_url_err)e),
		                        "unknown shared_cache error");
}

/* The compare-and-set script reads the fetch time at 1-based bytes n + 8 .. n + 15 (n: the
 * domain length), little-endian: it must be where the codec puts it. */
static void
test_script_offset(void **state)
{
	uint8_t buf[SHAREDREC_MAX_BYTES];
	struct cacherec r;
	size_t n = strlen(DOM);
	uint64_t t = 0;

	(void)state;
	make_rec(&r, T0 + 0x123456, "abc");
	(void)encode(DOM, &r, buf);
	assert_int_equal(buf[4], n);
	for (size_t i = n + 15; i >= n + 8; i--)
		t = t * 256 + buf[i - 1];
	assert_int_equal(t, T0 + 0x123456);
	assert_non_null(strstr(sharedrec_cas_script, "for i = n + 15, n + 8, -1"));
	/* A stored value must hold the trailer too, and a fetch time beyond ARGV[5] (now + the
	 * skew) is not believed: such a value is overwritten. */
	assert_non_null(strstr(sharedrec_cas_script, "#cur >= n + 15 + 32"));
	assert_non_null(strstr(sharedrec_cas_script, "t <= tonumber(ARGV[5])"));
}

/* sharedrec_body(): what can be told of a whole value without the key. */
static void
test_body(void **state)
{
	static uint8_t buf[SHAREDREC_MAX_BYTES + 1];
	struct cacherec r, got;
	char dom[DNAME_MAX + 1];
	size_t n, body;

	(void)state;
	make_rec(&r, T0, "abc123");
	n = encode(DOM, &r, buf);
	memset(buf + n, 0xa5, SHAREDREC_MAC_LEN); /* a trailer (its value is shared.c's check) */
	assert_int_equal(sharedrec_body(buf, n + SHAREDREC_MAC_LEN, &body), SHAREDREC_OK);
	assert_int_equal(body, n);
	assert_int_equal(sharedrec_decode(buf, body, DOM, T0, dom, &got), SHAREDREC_OK);
	/* The whole value given to the decoder (trailer not cut): refused, never half read. */
	assert_int_not_equal(sharedrec_decode(buf, n + SHAREDREC_MAC_LEN, DOM, T0, dom, &got),
	                     SHAREDREC_OK);
	/* A correctly formed version 1 value (a body with no trailer, as before the fleet key):
	 * refused on its version, so its body is never decoded. */
	buf[3] = 1;
	assert_int_equal(sharedrec_body(buf, n, &body), SHAREDREC_BAD_VERSION);
	assert_int_equal(body, 0);
	buf[3] = SHAREDREC_VERSION;
	/* Too short to hold a trailer: the header, the length byte and 32 bytes at least. */
	assert_int_equal(sharedrec_body(buf, 5 + SHAREDREC_MAC_LEN, &body), SHAREDREC_OK);
	assert_int_equal(body, 5);
	assert_int_equal(sharedrec_body(buf, 4 + SHAREDREC_MAC_LEN, &body), SHAREDREC_BAD_MAC);
	assert_int_equal(sharedrec_body(buf, 4, &body), SHAREDREC_BAD_MAC);
	assert_int_equal(sharedrec_body(buf, 3, &body), SHAREDREC_NOT_OURS);
	assert_int_equal(sharedrec_body((const uint8_t *)"garbage value", 13, &body),
	                 SHAREDREC_NOT_OURS);
	/* The cap counts the trailer: at the cap accepted, one byte over refused. */
	assert_int_equal(sharedrec_body(buf, SHAREDREC_MAX_BYTES, &body), SHAREDREC_OK);
	assert_int_equal(body, SHAREDREC_BODY_MAX);
	assert_int_equal(sharedrec_body(buf, SHAREDREC_MAX_BYTES + 1, &body), SHAREDREC_TOO_LARGE);
	assert_string_equal(
	    sharedrec_strerror(SHAREDREC_BAD_MAC),
	    "missing or wrong authentication tag (not written with this fleet's key)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_encode_refuses),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_no_policy_value),
	    cmocka_unit_test(test_older_record_encoding),
	    cmocka_unit_test(test_flip_bytes),
	    cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_key),
	    cmocka_unit_test(test_url),
	    cmocka_unit_test(test_url_path_cap),
	    cmocka_unit_test(test_strerror),
	    cmocka_unit_test(test_script_offset),
	    cmocka_unit_test(test_body),
	};

	return cmocka_run_group_tests_name("sharedrec", tests, NULL, NULL);
}
