/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for cacherec.c: encode/decode round trips, every truncation and one trailing byte
 * rejected, every single-byte change of a small record decoded without harm (and, when accepted,
 * re-encoded to the same bytes), field validation cases, and the trust-on-first-use rules of
 * RFC 8461 s5.1 / s10 one by one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cacherec.h"

#define T0 1700000000 /* an arbitrary "now" */
#define DAY 86400

/* Offsets of the fixed fields in version 1, for targeted damage. */
#define OFF_FLAGS 1
#define OFF_FETCHED 2
#define OFF_EXPIRES 10
#define OFF_FAIL_UNTIL 42
#define OFF_MODE 50
#define OFF_MAXAGE 51
#define OFF_NMX 55
#define OFF_IDLEN 56

static void
set_mx(struct stspolicy *p, unsigned i, const char *mx)
{
	size_t n = strlen(mx);

	assert_true(n <= DNAME_MAX);
	memcpy(p->mx[i], mx, n + 1);
}

static void
make_policy(struct stspolicy *p, enum stspolicy_mode mode, uint32_t max_age)
{
	memset(p, 0, sizeof(*p));
	p->mode = mode;
	p->max_age = max_age;
	if (mode != STSPOLICY_MODE_NONE) {
		set_mx(p, 0, "mail.example.com");
		set_mx(p, 1, "*.mx.example.net");
		p->n_mx = 2;
	}
}

/* A record holding a valid policy fetched at T0 for id "abc123". */
static void
make_rec(struct cacherec *r, enum stspolicy_mode mode, uint32_t max_age)
{
	struct stspolicy p;

	cacherec_init(r);
	make_policy(&p, mode, max_age);
	cacherec_on_fetch_ok(r, &p, "abc123", T0);
}

static void
assert_rec_equal(const struct cacherec *a, const struct cacherec *b)
{
	assert_int_equal(a->has_policy, b->has_policy);
	assert_int_equal(a->policy.mode, b->policy.mode);
	assert_int_equal(a->policy.max_age, b->policy.max_age);
	assert_int_equal(a->policy.n_mx, b->policy.n_mx);
	for (unsigned i = 0; i < a->policy.n_mx; i++)
		assert_string_equal(a->policy.mx[i], b->policy.mx[i]);
	assert_string_equal(a->id, b->id);
	assert_int_equal(a->fetched, b->fetched);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->checked, b->checked);
	assert_int_equal(a->failed, b->failed);
	assert_string_equal(a->failed_id, b->failed_id);
	assert_int_equal(a->none_until, b->none_until);
	assert_int_equal(a->fail_until, b->fail_until);
	assert_int_equal(a->queried, b->queried);
	assert_int_equal(a->due, b->due);
}

/* ---- round trips ---- */

static void
rt_empty(struct cacherec *r)
{
	cacherec_init(r);
}

static void
rt_enforce(struct cacherec *r)
{
	make_rec(r, STSPOLICY_MODE_ENFORCE, DAY);
	r->checked = T0 + 5;
}

static void
rt_testing_max_age(struct cacherec *r)
{
	make_rec(r, STSPOLICY_MODE_TESTING, STSPOLICY_MAX_AGE_MAX);
}

static void
rt_none_mode(struct cacherec *r)
{
	make_rec(r, STSPOLICY_MODE_NONE, 0);
}

static void
rt_failed_nothing_cached(struct cacherec *r)
{
	cacherec_init(r);
	cacherec_on_fetch_fail(r, "X9", T0, 300);
}

static void
rt_failed_with_policy(struct cacherec *r)
{
	make_rec(r, STSPOLICY_MODE_ENFORCE, DAY);
	cacherec_on_fetch_fail(r, "0123456789abcdefABCDEF0123456789", T0 + 10, 300);
}

static void
rt_no_policy(struct cacherec *r)
{
	cacherec_init(r);
	cacherec_on_no_policy(r, T0, 300);
}

/* The largest record: 64 patterns of 253 bytes, 32-byte ids. */
static void
rt_biggest(struct cacherec *r)
{
	struct stspolicy p;
	char name[DNAME_MAX + 1];

	memset(&p, 0, sizeof(p));
	p.mode = STSPOLICY_MODE_ENFORCE;
	p.max_age = 1;
	for (unsigned i = 0; i < STSPOLICY_MAX_MX; i++) {
		/* "*." + 4 labels of 63/63/63/59 bytes = 253, varied per i */
		memset(name, 'a' + (char)(i % 26), sizeof(name));
		name[0] = '*';
		name[1] = '.';
		name[65] = name[129] = name[193] = '.';
		name[DNAME_MAX] = '\0';
		set_mx(&p, i, name);
	}
	p.n_mx = STSPOLICY_MAX_MX;
	cacherec_init(r);
	cacherec_on_fetch_ok(r, &p, "0123456789abcdefABCDEF0123456789", T0);
	cacherec_on_fetch_fail(r, "ZYXWVUTSRQPONMLKJIHGFEDCBA987654", T0 + 1, 300);
}

struct rt_case {
	const char *name;
	void (*make)(struct cacherec *r);
};

static const struct rt_case rt_cases[] = {
    {"roundtrip empty", rt_empty},
    {"roundtrip enforce", rt_enforce},
    {"roundtrip testing max_age", rt_testing_max_age},
    {"roundtrip mode none", rt_none_mode},
    {"roundtrip failed nothing cached", rt_failed_nothing_cached},
    {"roundtrip failed with policy", rt_failed_with_policy},
    {"roundtrip no policy", rt_no_policy},
    {"roundtrip biggest", rt_biggest},
};

static uint8_t buf[CACHEREC_MAX_BYTES + 16];
static uint8_t buf2[CACHEREC_MAX_BYTES + 16];

static void
test_roundtrip(void **state)
{
	const struct rt_case *c = *state;
	static struct cacherec r, back;
	size_t len = 0, len2 = 0;

	c->make(&r);
	assert_int_equal(cacherec_encode(&r, buf, CACHEREC_MAX_BYTES, &len), CACHEREC_OK);
	assert_true(len > 0 && len <= CACHEREC_MAX_BYTES);
	assert_int_equal(buf[0], CACHEREC_VERSION);
	assert_int_equal(cacherec_decode(buf, len, &back), CACHEREC_OK);
	assert_rec_equal(&r, &back);
	/* The decoder sets every field itself, whatever the storage held before: the pattern
	 * slots past n_mx come back empty. */
	memset(&back, 0xa5, sizeof(back));
	assert_int_equal(cacherec_decode(buf, len, &back), CACHEREC_OK);
	assert_rec_equal(&r, &back);
	for (unsigned i = r.policy.n_mx; i < STSPOLICY_MAX_MX; i++)
		assert_string_equal(back.policy.mx[i], "");

	/* Exact size fits; one byte less is NO_SPACE for every shorter buffer. */
	assert_int_equal(cacherec_encode(&r, buf2, len, &len2), CACHEREC_OK);
	assert_int_equal(len2, len);
	assert_memory_equal(buf, buf2, len);
	for (size_t sz = 0; sz < len; sz++)
		assert_int_equal(cacherec_encode(&r, buf2, sz, &len2), CACHEREC_NO_SPACE);

	/* Every truncation is rejected, and so is one trailing byte. */
	for (size_t n = 1; n < len; n++)
		assert_int_equal(cacherec_decode(buf, n, &back), CACHEREC_CORRUPT);
	assert_int_equal(cacherec_decode(buf, 0, &back), CACHEREC_CORRUPT);
	buf[len] = 0;
	assert_int_equal(cacherec_decode(buf, len + 1, &back), CACHEREC_CORRUPT);
	/* A failed decode leaves "nothing known", never half a record. */
	assert_int_equal(back.has_policy, 0);
	assert_string_equal(back.id, "");
}

static void
test_biggest_size(void **state)
{
	static struct cacherec r;
	size_t len = 0;

	(void)state;
	rt_biggest(&r);
	assert_int_equal(cacherec_encode(&r, buf, sizeof(buf), &len), CACHEREC_OK);
	/* version, flags, 6 times, mode, max_age, n_mx, 2 ids, 64 patterns, 2 times */
	assert_int_equal(len, 1 + 1 + 48 + 1 + 4 + 1 + 33 + 33 + 64 * 254 + 16);
	assert_true(len <= CACHEREC_MAX_BYTES);
}

static void
test_version(void **state)
{
	static struct cacherec r, back;
	size_t len = 0;
	static const uint8_t versions[] = {0, CACHEREC_VERSION + 1, 0xff};
	static struct cacherec v1;
	size_t v1len;

	(void)state;
	make_rec(&r, STSPOLICY_MODE_ENFORCE, DAY);
	assert_int_equal(cacherec_encode(&r, buf, sizeof(buf), &len), CACHEREC_OK);
	for (size_t i = 0; i < sizeof(versions); i++) {
		buf[0] = versions[i];
		assert_int_equal(cacherec_decode(buf, len, &back), CACHEREC_BAD_VERSION);
		/* Only the version byte: still a version mismatch, not a crash. */
		assert_int_equal(cacherec_decode(buf, 1, &back), CACHEREC_BAD_VERSION);
	}
	/* Records written by earlier releases are still read, so an upgrade keeps every learned
	 * policy. Version 2 lacks the trailing queried and due (the last check stands for the
	 * last request; nothing is scheduled); version 1 lacks fail_until (the sixth time) too. */
	make_rec(&v1, STSPOLICY_MODE_ENFORCE, DAY);
	cacherec_on_fetch_fail(&v1, "new1", T0 + 5, 300);
	v1.queried = T0 + 5; /* == checked, later than fetched */
	assert_int_equal(cacherec_encode(&v1, buf, sizeof(buf), &len), CACHEREC_OK);
	buf[0] = 2;
	/* decoded into dirty storage: the fields an old version lacks are set too */
	memset(&back, 0xa5, sizeof(back));
	assert_int_equal(cacherec_decode(buf, len - 16, &back), CACHEREC_OK);
	assert_rec_equal(&v1, &back);
	buf[0] = 1;
	memmove(buf + 2 + 40, buf + 2 + 48, len - (2 + 48));
	v1len = len - 8 - 16;
	memset(&back, 0xa5, sizeof(back));
	assert_int_equal(cacherec_decode(buf, v1len, &back), CACHEREC_OK);
	assert_rec_equal(&v1, &back);
	assert_int_equal(cacherec_view(&back, T0 + 10), CACHEREC_VIEW_POLICY);
	/* ... and a newer layout under an older version byte is refused, not misread. */
	assert_int_equal(cacherec_encode(&v1, buf, sizeof(buf), &len), CACHEREC_OK);
	buf[0] = 1;
	assert_int_equal(cacherec_decode(buf, len, &back), CACHEREC_CORRUPT);
	buf[0] = 2;
	assert_int_equal(cacherec_decode(buf, len, &back), CACHEREC_CORRUPT);
}

/* Overlapping discoveries: the later fetch wins whole, the later request time is kept. */
static void
test_merge(void **state)
{
	static struct cacherec r, stored, want;

	(void)state;
	/* stored fetched later (another writer learnt a new id): it replaces r */
	make_rec(&r, STSPOLICY_MODE_ENFORCE, DAY);
	r.queried = T0 + 50;
	make_rec(&stored, STSPOLICY_MODE_TESTING, 2 * DAY);
	cacherec_on_fetch_ok(&stored, &stored.policy, "newid", T0 + 10);
	stored.queried = T0 + 20;
	want = stored;
	want.queried = T0 + 50;
	cacherec_merge(&r, &stored);
	assert_rec_equal(&want, &r);
	/* stored fetched earlier: r stays, with the later request time */
	make_rec(&r, STSPOLICY_MODE_ENFORCE, DAY);
	cacherec_on_fetch_ok(&r, &r.policy, "abc123", T0 + 30);
	r.queried = T0 + 1;
	want = r;
	want.queried = T0 + 20;
	cacherec_merge(&r, &stored);
	assert_rec_equal(&want, &r);
	/* the same fetch time: r stays (it carries the newer check) */
	make_rec(&r, STSPOLICY_MODE_ENFORCE, DAY);
	make_rec(&stored, STSPOLICY_MODE_ENFORCE, DAY);
	cacherec_on_fetch_fail(&r, "zzz", T0 + 9, 300);
	want = r;
	cacherec_merge(&r, &stored);
	assert_rec_equal(&want, &r);
	/* stored without a policy never replaces one */
	cacherec_init(&stored);
	stored.none_until = T0 + 999;
	stored.fetched = 0;
	cacherec_merge(&r, &stored);
	assert_rec_equal(&want, &r);
}

/* Every position, every value: decoding must not crash (ASan/UBSan watch), and what it accepts
 * must be canonical, i.e. re-encode to the very same bytes. */
static void
test_flip_bytes(void **state)
{
	static struct cacherec r, back;
	uint8_t orig[256], mut[256], again[256];
	size_t len = 0, len2 = 0;
	unsigned accepted = 0;

	(void)state;
	cacherec_init(&r);
	{
		struct stspolicy p;

		memset(&p, 0, sizeof(p));
		p.mode = STSPOLICY_MODE_ENFORCE;
		p.max_age = 86400;
		set_mx(&p, 0, "*.a.bc");
		p.n_mx = 1;
		cacherec_on_fetch_ok(&r, &p, "i1", T0);
		cacherec_on_fetch_fail(&r, "f2", T0 + 1, 300);
	}
	assert_int_equal(cacherec_encode(&r, orig, sizeof(orig), &len), CACHEREC_OK);
	assert_true(len < 100);
	for (size_t pos = 0; pos < len; pos++) {
		for (unsigned v = 0; v < 256; v++) {
			enum cacherec_err e;

			if (v == orig[pos])
				continue;
			memcpy(mut, orig, len);
			mut[pos] = (uint8_t)v;
			e = cacherec_decode(mut, len, &back);
			if (pos == 0) {
				/* 1 and 2 are older layouts: read as such, never a crash */
				if (v != 1 && v != 2)
					assert_int_equal(e, CACHEREC_BAD_VERSION);
				continue;
			}
			if (e != CACHEREC_OK) {
				assert_int_equal(e, CACHEREC_CORRUPT);
				continue;
			}
			accepted++;
			assert_int_equal(cacherec_encode(&back, again, sizeof(again), &len2),
			                 CACHEREC_OK);
			assert_int_equal(len2, len);
			assert_memory_equal(again, mut, len);
		}
	}
	/* Times and letters may change legitimately, so some mutations are accepted. */
	assert_true(accepted > 0);
}

/* ---- field validation ---- */

static void
bad_id_char(struct cacherec *r)
{
	r->id[1] = '-';
}

static void
bad_failed_id_char(struct cacherec *r)
{
	memcpy(r->failed_id, "a.b", 4);
}

static void
bad_mx_upper(struct cacherec *r)
{
	set_mx(&r->policy, 0, "Mail.example.com");
}

static void
bad_mx_trailing_dot(struct cacherec *r)
{
	set_mx(&r->policy, 0, "mail.example.com.");
}

static void
bad_mx_single_label(struct cacherec *r)
{
	set_mx(&r->policy, 0, "localhost");
}

static void
bad_mx_star_only(struct cacherec *r)
{
	set_mx(&r->policy, 1, "*.");
}

static void
bad_mx_inner_star(struct cacherec *r)
{
	set_mx(&r->policy, 1, "mx.*.example.net");
}

static void
bad_mx_double_star(struct cacherec *r)
{
	set_mx(&r->policy, 1, "*.*.example.net");
}

static void
bad_mx_empty(struct cacherec *r)
{
	set_mx(&r->policy, 1, "");
}

static void
bad_mode(struct cacherec *r)
{
	r->policy.mode = (enum stspolicy_mode)3;
}

static void
bad_max_age(struct cacherec *r)
{
	r->policy.max_age = STSPOLICY_MAX_AGE_MAX + 1;
	r->expires = r->fetched + r->policy.max_age;
}

static void
bad_expires(struct cacherec *r)
{
	r->expires += 1;
}

static void
bad_expires_extended(struct cacherec *r)
{
	r->fetched -= 10;
}

static void
bad_enforce_no_mx(struct cacherec *r)
{
	r->policy.n_mx = 0;
}

static void
bad_policy_no_id(struct cacherec *r)
{
	r->id[0] = '\0';
}

static void
bad_negative_time(struct cacherec *r)
{
	r->checked = -1;
}

static void
bad_negative_fetched(struct cacherec *r)
{
	r->fetched = -100;
	r->expires = r->fetched + r->policy.max_age;
}

static void
bad_nopolicy_leftover_id(struct cacherec *r)
{
	r->has_policy = 0;
	r->policy.n_mx = 0;
	r->policy.mode = STSPOLICY_MODE_NONE;
	r->policy.max_age = 0;
	r->fetched = r->expires = 0;
}

static void
bad_nopolicy_leftover_mx(struct cacherec *r)
{
	bad_nopolicy_leftover_id(r);
	r->id[0] = '\0';
	r->policy.n_mx = 1;
}

static void
bad_nopolicy_leftover_time(struct cacherec *r)
{
	bad_nopolicy_leftover_id(r);
	r->id[0] = '\0';
	r->expires = T0;
}

static void
ok_nopolicy_clean(struct cacherec *r)
{
	bad_nopolicy_leftover_id(r);
	r->id[0] = '\0';
}

struct bad_case {
	const char *name;
	void (*mutate)(struct cacherec *r);
	enum cacherec_err want;
};

static const struct bad_case bad_cases[] = {
    {"corrupt id char", bad_id_char, CACHEREC_CORRUPT},
    {"corrupt failed_id char", bad_failed_id_char, CACHEREC_CORRUPT},
    {"corrupt mx upper case", bad_mx_upper, CACHEREC_CORRUPT},
    {"corrupt mx trailing dot", bad_mx_trailing_dot, CACHEREC_CORRUPT},
    {"corrupt mx single label", bad_mx_single_label, CACHEREC_CORRUPT},
    {"corrupt mx star only", bad_mx_star_only, CACHEREC_CORRUPT},
    {"corrupt mx inner star", bad_mx_inner_star, CACHEREC_CORRUPT},
    {"corrupt mx double star", bad_mx_double_star, CACHEREC_CORRUPT},
    {"corrupt mx empty", bad_mx_empty, CACHEREC_CORRUPT},
    {"corrupt mode", bad_mode, CACHEREC_CORRUPT},
    {"corrupt max_age", bad_max_age, CACHEREC_CORRUPT},
    {"corrupt expires", bad_expires, CACHEREC_CORRUPT},
    {"corrupt expires vs fetched", bad_expires_extended, CACHEREC_CORRUPT},
    {"corrupt enforce without mx", bad_enforce_no_mx, CACHEREC_CORRUPT},
    {"corrupt policy without id", bad_policy_no_id, CACHEREC_CORRUPT},
    {"corrupt negative checked", bad_negative_time, CACHEREC_CORRUPT},
    {"corrupt negative fetched", bad_negative_fetched, CACHEREC_CORRUPT},
    {"corrupt no policy with id", bad_nopolicy_leftover_id, CACHEREC_CORRUPT},
    {"corrupt no policy with mx", bad_nopolicy_leftover_mx, CACHEREC_CORRUPT},
    {"corrupt no policy with expires", bad_nopolicy_leftover_time, CACHEREC_CORRUPT},
    {"ok no policy clean", ok_nopolicy_clean, CACHEREC_OK},
};

static void
test_bad_field(void **state)
{
	const struct bad_case *c = *state;
	static struct cacherec r, back;
	size_t len = 0;

	make_rec(&r, STSPOLICY_MODE_ENFORCE, DAY);
	cacherec_on_fetch_fail(&r, "f1", T0 + 1, 300);
	c->mutate(&r);
	assert_int_equal(cacherec_encode(&r, buf, sizeof(buf), &len), CACHEREC_OK);
	assert_int_equal(cacherec_decode(buf, len, &back), c->want);
}

/* Damage the raw bytes where the struct cannot express it. */
static void
test_bad_bytes(void **state)
{
	static struct cacherec r, back;
	size_t len = 0;

	(void)state;
	make_rec(&r, STSPOLICY_MODE_ENFORCE, DAY);
	assert_int_equal(cacherec_encode(&r, buf, sizeof(buf), &len), CACHEREC_OK);
	assert_int_equal(cacherec_decode(buf, len, &back), CACHEREC_OK);

	memcpy(buf2, buf, len);
	buf2[OFF_FLAGS] |= 0x02; /* unknown flag */
	assert_int_equal(cacherec_decode(buf2, len, &back), CACHEREC_CORRUPT);

	memcpy(buf2, buf, len);
	buf2[OFF_NMX] = STSPOLICY_MAX_MX + 1;
	assert_int_equal(cacherec_decode(buf2, len, &back), CACHEREC_CORRUPT);

	memcpy(buf2, buf, len);
	buf2[OFF_IDLEN] = STSRECORD_ID_MAX + 1;
	assert_int_equal(cacherec_decode(buf2, len, &back), CACHEREC_CORRUPT);

	memcpy(buf2, buf, len);
	buf2[OFF_MODE] = 0xff;
	assert_int_equal(cacherec_decode(buf2, len, &back), CACHEREC_CORRUPT);

	/* max_age 0xffffffff with expires unchanged */
	memcpy(buf2, buf, len);
	memset(buf2 + OFF_MAXAGE, 0xff, 4);
	assert_int_equal(cacherec_decode(buf2, len, &back), CACHEREC_CORRUPT);

	/* fetched near INT64_MAX: expires check must not overflow */
	memcpy(buf2, buf, len);
	memset(buf2 + OFF_FETCHED, 0xff, 7);
	buf2[OFF_FETCHED + 7] = 0x7f;
	memset(buf2 + OFF_EXPIRES, 0xff, 7);
	buf2[OFF_EXPIRES + 7] = 0x7f;
	assert_int_equal(cacherec_decode(buf2, len, &back), CACHEREC_CORRUPT);

	/* A negative fail_until */
	memcpy(buf2, buf, len);
	buf2[OFF_FAIL_UNTIL + 7] = 0x80;
	assert_int_equal(cacherec_decode(buf2, len, &back), CACHEREC_CORRUPT);

	/* A NUL inside an mx pattern (its last byte, before queried and due) */
	memcpy(buf2, buf, len);
	buf2[len - 17] = 0;
	assert_int_equal(cacherec_decode(buf2, len, &back), CACHEREC_CORRUPT);

	/* A negative queried, a negative due, a missing last byte, one byte too many */
	memcpy(buf2, buf, len);
	buf2[len - 9] = 0x80;
	assert_int_equal(cacherec_decode(buf2, len, &back), CACHEREC_CORRUPT);
	memcpy(buf2, buf, len);
	buf2[len - 1] = 0x80;
	assert_int_equal(cacherec_decode(buf2, len, &back), CACHEREC_CORRUPT);
	assert_int_equal(cacherec_decode(buf, len - 1, &back), CACHEREC_CORRUPT);
	memcpy(buf2, buf, len);
	assert_int_equal(cacherec_decode(buf2, len + 1, &back), CACHEREC_CORRUPT);

	/* Over CACHEREC_MAX_BYTES */
	memset(buf2, 0, sizeof(buf2));
	memcpy(buf2, buf, len);
	assert_int_equal(cacherec_decode(buf2, CACHEREC_MAX_BYTES + 1, &back), CACHEREC_CORRUPT);
}

static void
test_strerror(void **state)
{
	(void)state;
	assert_string_equal(cacherec_strerror(CACHEREC_OK), "ok");
	assert_string_equal(cacherec_strerror(CACHEREC_NO_SPACE), "output buffer too small");
	assert_string_equal(cacherec_strerror(CACHEREC_BAD_VERSION), "unknown record version");
	assert_string_equal(cacherec_strerror(CACHEREC_CORRUPT),
	                    "truncated or inconsistent record");
	assert_string_equal(cacherec_strerror((enum cacherec_err)99), "unknown cacherec error");
}

/* ---- trust-on-first-use rules ---- */

static void
test_init(void **state)
{
	static struct cacherec r;

	(void)state;
	memset(&r, 0x55, sizeof(r));
	cacherec_init(&r);
	assert_int_equal(r.has_policy, 0);
	assert_string_equal(r.id, "");
	assert_string_equal(r.failed_id, "");
	assert_int_equal(r.none_until, 0);
	assert_int_equal(cacherec_view(&r, T0), CACHEREC_VIEW_UNKNOWN);
}

static void
test_view(void **state)
{
	static struct cacherec r;

	(void)state;
	make_rec(&r, STSPOLICY_MODE_ENFORCE, 100);
	assert_int_equal(cacherec_view(&r, T0), CACHEREC_VIEW_POLICY);
	assert_int_equal(cacherec_view(&r, T0 + 99), CACHEREC_VIEW_POLICY);
	/* now == expires: expired, never applied */
	assert_int_equal(cacherec_view(&r, T0 + 100), CACHEREC_VIEW_UNKNOWN);
	/* Mode none is a policy as well (it is what the domain published). */
	make_rec(&r, STSPOLICY_MODE_NONE, 100);
	assert_int_equal(cacherec_view(&r, T0 + 1), CACHEREC_VIEW_POLICY);

	cacherec_init(&r);
	r.none_until = T0 + 10;
	assert_int_equal(cacherec_view(&r, T0 + 9), CACHEREC_VIEW_NO_POLICY);
	assert_int_equal(cacherec_view(&r, T0 + 10), CACHEREC_VIEW_UNKNOWN);
	/* A valid policy wins over a stale "no policy" mark. */
	make_rec(&r, STSPOLICY_MODE_ENFORCE, 100);
	r.none_until = T0 + 1000;
	assert_int_equal(cacherec_view(&r, T0 + 50), CACHEREC_VIEW_POLICY);
	assert_int_equal(cacherec_view(&r, T0 + 100), CACHEREC_VIEW_NO_POLICY);
}

static void
test_recheck_due(void **state)
{
	static struct cacherec r;

	(void)state;
	make_rec(&r, STSPOLICY_MODE_ENFORCE, DAY);
	assert_int_equal(r.checked, T0);
	assert_int_equal(cacherec_recheck_due(&r, T0, 300), 0);
	assert_int_equal(cacherec_recheck_due(&r, T0 + 299, 300), 0);
	assert_int_equal(cacherec_recheck_due(&r, T0 + 300, 300), 1);
	assert_int_equal(cacherec_recheck_due(&r, T0 + 1, 1), 1);
}

static void
test_on_txt(void **state)
{
	static struct cacherec r, before;

	(void)state;
	make_rec(&r, STSPOLICY_MODE_ENFORCE, DAY);
	before = r;
	cacherec_on_txt(&r, T0 + 400);
	assert_int_equal(r.checked, T0 + 400);
	/* Only the check time moves: expiry is not extended by seeing the same TXT id. */
	r.checked = before.checked;
	assert_rec_equal(&r, &before);
	assert_int_equal(cacherec_recheck_due(&r, T0 + 400, 300), 1);
}

static void
test_fetch_wanted(void **state)
{
	static struct cacherec r;

	(void)state;
	cacherec_init(&r);
	assert_int_equal(cacherec_fetch_wanted(&r, "abc123", T0, DAY), 1); /* nothing cached */

	make_rec(&r, STSPOLICY_MODE_ENFORCE, 7 * DAY);
	assert_int_equal(cacherec_fetch_wanted(&r, "abc123", T0 + 10, DAY), 0);      /* same id */
	assert_int_equal(cacherec_fetch_wanted(&r, "abc124", T0 + 10, DAY), 1);      /* new id */
	assert_int_equal(cacherec_fetch_wanted(&r, "ABC123", T0 + 10, DAY), 1);      /* ids exact */
	assert_int_equal(cacherec_fetch_wanted(&r, "abc123", T0 + DAY - 1, DAY), 0); /* fresh */
	assert_int_equal(cacherec_fetch_wanted(&r, "abc123", T0 + DAY, DAY), 1);     /* refresh */
	assert_int_equal(cacherec_fetch_wanted(&r, "abc123", T0 + 7 * DAY, 30 * DAY),
	                 1); /* expired */
	assert_int_equal(cacherec_fetch_wanted(&r, "abc123", T0 + 7 * DAY - 1, 30 * DAY), 0);
}

static void
test_unchanged_id_never_extends(void **state)
{
	static struct cacherec r;
	int64_t t;

	(void)state;
	make_rec(&r, STSPOLICY_MODE_ENFORCE, 1000);
	/* Many TXT checks with the same id, refresh far away: no fetch, expiry stays put. */
	for (t = T0 + 100; t < T0 + 1000; t += 100) {
		cacherec_on_txt(&r, t);
		assert_int_equal(cacherec_fetch_wanted(&r, "abc123", t, DAY), 0);
		assert_int_equal(r.expires, T0 + 1000);
		assert_int_equal(r.fetched, T0);
	}
	assert_int_equal(cacherec_view(&r, T0 + 1000), CACHEREC_VIEW_UNKNOWN);
	assert_int_equal(cacherec_fetch_wanted(&r, "abc123", T0 + 1000, DAY), 1);
}

static void
test_on_no_policy(void **state)
{
	static struct cacherec r, before;

	(void)state;
	/* Nothing cached: "no policy" is remembered for remember seconds. */
	cacherec_init(&r);
	cacherec_on_no_policy(&r, T0, 300);
	assert_int_equal(r.checked, T0);
	assert_int_equal(r.none_until, T0 + 300);
	assert_int_equal(r.has_policy, 0);
	assert_int_equal(cacherec_view(&r, T0 + 299), CACHEREC_VIEW_NO_POLICY);
	assert_int_equal(cacherec_view(&r, T0 + 300), CACHEREC_VIEW_UNKNOWN);

	/* TXT removed while a valid policy is cached: the policy is kept untouched (TOFU). */
	make_rec(&r, STSPOLICY_MODE_ENFORCE, DAY);
	before = r;
	cacherec_on_no_policy(&r, T0 + 60, 300);
	assert_int_equal(r.checked, T0 + 60);
	assert_int_equal(r.none_until, 0);
	r.checked = before.checked;
	assert_rec_equal(&r, &before);
	assert_int_equal(cacherec_view(&r, T0 + 60), CACHEREC_VIEW_POLICY);
	assert_int_equal(cacherec_view(&r, T0 + DAY - 1), CACHEREC_VIEW_POLICY);
}

static void
test_expired_txt_gone(void **state)
{
	static struct cacherec r;

	(void)state;
	make_rec(&r, STSPOLICY_MODE_ENFORCE, 1000);
	/* Expired policy, no TXT now: the policy is not applied; "no policy" is remembered. */
	assert_int_equal(cacherec_view(&r, T0 + 1000), CACHEREC_VIEW_UNKNOWN);
	cacherec_on_no_policy(&r, T0 + 1000, 300);
	assert_int_equal(r.none_until, T0 + 1300);
	assert_int_equal(cacherec_view(&r, T0 + 1000), CACHEREC_VIEW_NO_POLICY);
	/* and once that is forgotten, the view is UNKNOWN, not the expired policy */
	assert_int_equal(cacherec_view(&r, T0 + 1300), CACHEREC_VIEW_UNKNOWN);
	assert_int_equal(cacherec_view(&r, T0 + 5000), CACHEREC_VIEW_UNKNOWN);
}

static void
test_on_fetch_ok(void **state)
{
	static struct cacherec r;
	struct stspolicy p;

	(void)state;
	cacherec_init(&r);
	cacherec_on_fetch_fail(&r, "old1", T0 - 50, 300);
	assert_int_equal(r.none_until, T0 + 250);
	make_policy(&p, STSPOLICY_MODE_TESTING, 600);
	cacherec_on_fetch_ok(&r, &p, "new2", T0);
	assert_int_equal(r.has_policy, 1);
	assert_int_equal(r.policy.mode, STSPOLICY_MODE_TESTING);
	assert_int_equal(r.policy.n_mx, 2);
	assert_string_equal(r.policy.mx[1], "*.mx.example.net");
	assert_string_equal(r.id, "new2");
	assert_int_equal(r.fetched, T0);
	assert_int_equal(r.expires, T0 + 600);
	assert_int_equal(r.checked, T0);
	assert_int_equal(r.failed, 0);
	assert_string_equal(r.failed_id, "");
	assert_int_equal(r.none_until, 0);

	/* A valid mode none replaces an enforce policy. */
	make_rec(&r, STSPOLICY_MODE_ENFORCE, DAY);
	make_policy(&p, STSPOLICY_MODE_NONE, 3600);
	cacherec_on_fetch_ok(&r, &p, "gone", T0 + 10);
	assert_int_equal(r.policy.mode, STSPOLICY_MODE_NONE);
	assert_int_equal(r.policy.n_mx, 0);
	assert_int_equal(r.expires, T0 + 10 + 3600);
	assert_string_equal(r.id, "gone");

	/* A refetch of the same id counts expiry from the new fetch. */
	make_rec(&r, STSPOLICY_MODE_ENFORCE, DAY);
	make_policy(&p, STSPOLICY_MODE_ENFORCE, DAY);
	cacherec_on_fetch_ok(&r, &p, "abc123", T0 + DAY - 5);
	assert_int_equal(r.expires, T0 + 2 * DAY - 5);
}

static void
test_on_fetch_fail(void **state)
{
	static struct cacherec r, before;

	(void)state;
	/* With a valid policy: kept, none_until untouched. */
	make_rec(&r, STSPOLICY_MODE_ENFORCE, DAY);
	before = r;
	cacherec_on_fetch_fail(&r, "next7", T0 + 100, 300);
	assert_int_equal(r.failed, T0 + 100);
	assert_string_equal(r.failed_id, "next7");
	assert_int_equal(r.checked, T0 + 100);
	assert_int_equal(r.none_until, 0);
	assert_int_equal(r.has_policy, 1);
	assert_string_equal(r.id, "abc123");
	assert_int_equal(r.expires, before.expires);
	assert_int_equal(cacherec_view(&r, T0 + 100), CACHEREC_VIEW_POLICY);

	/* Nothing cached: "no policy" remembered. */
	cacherec_init(&r);
	cacherec_on_fetch_fail(&r, "abc", T0, 120);
	assert_int_equal(r.none_until, T0 + 120);
	assert_int_equal(cacherec_view(&r, T0 + 119), CACHEREC_VIEW_NO_POLICY);

	/* Expired policy: kept in the record but not valid, so "no policy" is remembered. */
	make_rec(&r, STSPOLICY_MODE_ENFORCE, 100);
	cacherec_on_fetch_fail(&r, "abc123", T0 + 200, 300);
	assert_int_equal(r.has_policy, 1);
	assert_int_equal(r.none_until, T0 + 500);
	assert_int_equal(cacherec_view(&r, T0 + 200), CACHEREC_VIEW_NO_POLICY);
}

/* A failed TXT lookup with nothing valid cached is remembered (never as "no policy"); with a
 * valid policy only the check time moves; the next outcome of discovery replaces it. */
static void
test_on_txt_fail(void **state)
{
	static struct cacherec r, back;
	size_t len = 0;

	(void)state;
	cacherec_init(&r);
	r.none_until = T0 + 500;
	cacherec_on_txt_fail(&r, T0, 30);
	assert_int_equal(r.fail_until, T0 + 30);
	assert_int_equal(r.none_until, 0);
	assert_int_equal(r.checked, T0);
	assert_int_equal(cacherec_view(&r, T0 + 29), CACHEREC_VIEW_TXT_FAILED);
	assert_int_equal(cacherec_view(&r, T0 + 30), CACHEREC_VIEW_UNKNOWN);
	assert_int_equal(cacherec_encode(&r, buf, sizeof(buf), &len), CACHEREC_OK);
	assert_int_equal(cacherec_decode(buf, len, &back), CACHEREC_OK);
	assert_rec_equal(&r, &back);
	/* the next outcome wins */
	cacherec_on_no_policy(&r, T0 + 5, 100);
	assert_int_equal(r.fail_until, 0);
	assert_int_equal(cacherec_view(&r, T0 + 6), CACHEREC_VIEW_NO_POLICY);
	cacherec_on_txt_fail(&r, T0 + 7, 30);
	assert_int_equal(cacherec_view(&r, T0 + 8), CACHEREC_VIEW_TXT_FAILED);
	cacherec_on_txt(&r, T0 + 9);
	assert_int_equal(r.fail_until, 0);
	cacherec_on_txt_fail(&r, T0 + 10, 30);
	cacherec_on_fetch_fail(&r, "id1", T0 + 11, 300);
	assert_int_equal(cacherec_view(&r, T0 + 12), CACHEREC_VIEW_NO_POLICY);
	cacherec_on_txt_fail(&r, T0 + 13, 30);
	assert_int_equal(r.fail_until, T0 + 43);
	/* a valid cached policy: kept, the failure only counts as a check */
	make_rec(&r, STSPOLICY_MODE_ENFORCE, DAY);
	cacherec_on_txt_fail(&r, T0 + 100, 30);
	assert_int_equal(r.fail_until, 0);
	assert_int_equal(r.checked, T0 + 100);
	assert_int_equal(cacherec_view(&r, T0 + 101), CACHEREC_VIEW_POLICY);
	/* an expired one is not applied: the failure is remembered */
	cacherec_on_txt_fail(&r, T0 + DAY, 30);
	assert_int_equal(cacherec_view(&r, T0 + DAY + 1), CACHEREC_VIEW_TXT_FAILED);
	/* a fetch clears it */
	{
		struct stspolicy p = r.policy;
		cacherec_on_fetch_ok(&r, &p, "abc123", T0 + DAY + 2);
	}
	assert_int_equal(r.fail_until, 0);
	assert_int_equal(cacherec_view(&r, T0 + DAY + 3), CACHEREC_VIEW_POLICY);
}

static void
test_in_backoff(void **state)
{
	static struct cacherec r;

	(void)state;
	cacherec_init(&r);
	assert_false(cacherec_in_backoff(&r, "a", T0));
	cacherec_on_fetch_fail(&r, "a", T0, 300);
	assert_true(cacherec_in_backoff(&r, "a", T0));
	assert_true(cacherec_in_backoff(&r, "a", T0 + CACHEREC_RETRY_AFTER - 1));
	assert_false(cacherec_in_backoff(&r, "a", T0 + CACHEREC_RETRY_AFTER));
	assert_false(cacherec_in_backoff(&r, "b", T0 + 1)); /* another id: fetched at once */
}

static void
test_backoff(void **state)
{
	static struct cacherec r;

	(void)state;
	/* Nothing cached, id "bad1" failed at T0. */
	cacherec_init(&r);
	cacherec_on_fetch_fail(&r, "bad1", T0, 60);
	assert_int_equal(cacherec_fetch_wanted(&r, "bad1", T0, DAY), 0);
	assert_int_equal(cacherec_fetch_wanted(&r, "bad1", T0 + 299, DAY), 0);
	assert_int_equal(cacherec_fetch_wanted(&r, "bad1", T0 + 300, DAY), 1);
	/* A new id during the back-off of another id is fetched at once. */
	assert_int_equal(cacherec_fetch_wanted(&r, "good2", T0 + 1, DAY), 1);

	/* Same with a valid policy cached and a changed id failing. */
	make_rec(&r, STSPOLICY_MODE_ENFORCE, 7 * DAY);
	cacherec_on_fetch_fail(&r, "new9", T0 + 1000, 300);
	assert_int_equal(cacherec_fetch_wanted(&r, "new9", T0 + 1299, DAY), 0);
	assert_int_equal(cacherec_fetch_wanted(&r, "new9", T0 + 1300, DAY), 1);
	assert_int_equal(cacherec_fetch_wanted(&r, "other", T0 + 1001, DAY), 1);
	/* The cached id itself is not held back by another id's failure, nor fetched early. */
	assert_int_equal(cacherec_fetch_wanted(&r, "abc123", T0 + 1001, DAY), 0);

	/* The refresh of the cached id failing: backed off even though refresh is due. */
	cacherec_on_fetch_fail(&r, "abc123", T0 + DAY, 300);
	assert_int_equal(cacherec_fetch_wanted(&r, "abc123", T0 + DAY + 299, DAY), 0);
	assert_int_equal(cacherec_fetch_wanted(&r, "abc123", T0 + DAY + 300, DAY), 1);

	/* A success clears the back-off. */
	{
		struct stspolicy p;

		make_policy(&p, STSPOLICY_MODE_ENFORCE, DAY);
		cacherec_init(&r);
		cacherec_on_fetch_fail(&r, "bad1", T0, 60);
		cacherec_on_fetch_ok(&r, &p, "bad1", T0 + 10);
		assert_string_equal(r.failed_id, "");
		assert_int_equal(cacherec_fetch_wanted(&r, "bad1", T0 + 20, 10), 1);
	}
}

#define N_RT (sizeof(rt_cases) / sizeof(rt_cases[0]))
#define N_BAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

static struct CMUnitTest tests[N_RT + N_BAD + 24];

int
main(void)
{
	size_t n = 0;

	for (size_t i = 0; i < N_RT; i++)
		tests[n++] = (struct CMUnitTest){.name = rt_cases[i].name,
		                                 .test_func = test_roundtrip,
		                                 .initial_state = (void *)&rt_cases[i]};
	for (size_t i = 0; i < N_BAD; i++)
		tests[n++] = (struct CMUnitTest){.name = bad_cases[i].name,
		                                 .test_func = test_bad_field,
		                                 .initial_state = (void *)&bad_cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_biggest_size);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_version);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_merge);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_flip_bytes);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bad_bytes);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_strerror);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_init);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_view);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_recheck_due);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_on_txt);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_fetch_wanted);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_unchanged_id_never_extends);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_on_no_policy);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_expired_txt_gone);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_on_fetch_ok);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_on_fetch_fail);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_on_txt_fail);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_in_backoff);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_backoff);
	return cmocka_run_group_tests_name("cacherec", tests, NULL, NULL);
}
