/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for refresh.c, the timing rules of proactive refresh: one table row per rule
 * (when a policy is due, jitter, back-off doubling and its bounds, the refresh_active window,
 * expiry, deletion of records with and without a policy), then properties over a grid of
 * records and times: a valid policy or an active domain is never deleted, a later time is
 * always ahead, and refresh_due() agrees with refresh_plan().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "refresh.h"

#define T0 1700000000
#define H 3600
#define DAY 86400
#define ACTIVE (35 * DAY)

static const struct refresh_params params = {DAY, ACTIVE, 0};

/* A record fetched at T0 with max_age, asked for at T0. */
static void
rec_policy(struct cacherec *r, uint32_t max_age)
{
	cacherec_init(r);
	r->has_policy = 1;
	r->policy.mode = STSPOLICY_MODE_ENFORCE;
	r->policy.max_age = max_age;
	memcpy(r->id, "id1", 4);
	r->fetched = T0;
	r->expires = T0 + max_age;
	r->checked = T0;
	r->queried = T0;
}

struct plan_case {
	const char *name;
	uint32_t max_age; /* 0 and has_policy 0: a "no policy" record */
	int has_policy;
	int64_t checked, queried, none_until; /* offsets from T0 */
	uint32_t seed;
	int64_t now; /* offset from T0 */
	enum refresh_action want;
	int64_t next; /* offset from T0, for REFRESH_LATER */
};

static const struct plan_case cases[] = {
    /* interval = min(max_age / 2, refresh) */
    {"fresh week policy waits a day", 7 * DAY, 1, 0, 0, 0, 0, 10, REFRESH_LATER, DAY},
    {"due at refresh", 7 * DAY, 1, 0, 0, 0, 0, DAY, REFRESH_NOW, 0},
    {"long past due, not tried", 7 * DAY, 1, 0, 0, 0, 0, 3 * DAY, REFRESH_NOW, 0},
    {"one-day policy at half", DAY, 1, 0, 0, 0, 0, 10, REFRESH_LATER, DAY / 2},
    {"one-day policy due at half", DAY, 1, 0, 0, 0, 0, DAY / 2, REFRESH_NOW, 0},
    {"short policy floor: expires first", 4, 1, 0, 0, 0, 0, 1, REFRESH_LATER, 4},
    /* jitter: seed % (interval / 8 + 1) earlier */
    {"jitter 1000", 7 * DAY, 1, 0, 0, 0, 1000, 10, REFRESH_LATER, DAY - 1000},
    {"jitter wraps", 7 * DAY, 1, 0, 0, 0, DAY / 8 + 1 + 7, 10, REFRESH_LATER, DAY - 7},
    {"jitter at most an eighth", 7 * DAY, 1, 0, 0, 0, DAY / 8, 10, REFRESH_LATER, DAY - DAY / 8},
    /* after an attempt that did not renew it: wait what the failures lasted, 5 min to 6 h */
    {"first failure waits 5 min", 7 * DAY, 1, DAY + 2, 0, 0, 0, DAY + 3, REFRESH_LATER,
     DAY + 2 + 300},
    {"second failure waits what the first lasted", 7 * DAY, 1, DAY + 302, 0, 0, 0, DAY + 303,
     REFRESH_LATER, DAY + 302 + 302},
    {"doubling 600", 7 * DAY, 1, DAY + 600, 0, 0, 0, DAY + 601, REFRESH_LATER, DAY + 600 + 600},
    {"doubling 1200", 7 * DAY, 1, DAY + 1200, 0, 0, 0, DAY + 1201, REFRESH_LATER,
     DAY + 1200 + 1200},
    {"capped at 6 h", 7 * DAY, 1, 2 * DAY, 0, 0, 0, 2 * DAY + 1, REFRESH_LATER, 2 * DAY + 6 * H},
    {"back-off over", 7 * DAY, 1, DAY + 600, 0, 0, 0, DAY + 1200, REFRESH_NOW, 0},
    /* seed 50: due 50 s early, so 650 s of failures, then 50 % (650 / 8 + 1) more */
    {"back-off jittered", 7 * DAY, 1, DAY + 600, 0, 0, 50, DAY + 601, REFRESH_LATER,
     DAY + 600 + 650 + 50},
    /* a request's check before the refresh time is not an attempt */
    {"checked before due", 7 * DAY, 1, DAY - 5, 0, 0, 0, DAY - 4, REFRESH_LATER, DAY},
    /* refresh_active: a domain not asked for by the refresh time lapses, then goes */
    {"inactive by refresh time", 7 * DAY, 1, 0, -ACTIVE + 10, 0, 0, 5, REFRESH_LATER, 7 * DAY},
    {"inactive, policy valid", 7 * DAY, 1, 0, -ACTIVE - 10, 0, 0, 2 * DAY, REFRESH_LATER, 7 * DAY},
    {"inactive, policy expired", 7 * DAY, 1, 0, -ACTIVE - 10, 0, 0, 7 * DAY, REFRESH_DELETE, 0},
    {"became inactive after due", 7 * DAY, 1, 0, -ACTIVE + DAY + 10, 0, 0, DAY + 20, REFRESH_LATER,
     7 * DAY},
    {"asked for recently", 7 * DAY, 1, 0, 30 * DAY, 0, 0, 7 * DAY + 1, REFRESH_LATER,
     30 * DAY + ACTIVE},
    /* an expired policy is not refreshed: the next request discovers it afresh */
    {"max_age 0 never refreshed", 0, 1, 0, 0, 0, 0, 100, REFRESH_LATER, ACTIVE},
    {"expired, active", DAY, 1, DAY / 2 + 1, 0, 0, 0, DAY + 5, REFRESH_LATER, ACTIVE},
    /* failures ran until the back-off passes expiry: the next look is at expiry */
    {"no attempt left before expiry", DAY, 1, DAY / 2 + 6 * H, 0, 0, 0, DAY / 2 + 6 * H + 1,
     REFRESH_LATER, DAY},
    {"at expiry, active", DAY, 1, DAY / 2 + 6 * H, 0, 0, 0, DAY, REFRESH_LATER, ACTIVE},
    {"expired, inactive", DAY, 1, 0, -ACTIVE, 0, 0, DAY, REFRESH_DELETE, 0},
    /* records without a policy go once inactive and nothing is remembered */
    {"no policy, active", 0, 0, 0, 0, 300, 0, 10, REFRESH_LATER, ACTIVE},
    {"no policy, inactive", 0, 0, 0, -ACTIVE, 300, 0, 300, REFRESH_DELETE, 0},
    {"no policy, remembered longer", 0, 0, 0, -ACTIVE, 900, 0, 300, REFRESH_LATER, 900},
};

static void
build(const struct plan_case *c, struct cacherec *r)
{
	if (c->has_policy) {
		rec_policy(r, c->max_age);
	} else {
		cacherec_init(r);
		r->none_until = T0 + c->none_until;
		r->queried = T0;
	}
	r->checked = T0 + c->checked;
	r->queried = T0 + c->queried;
}

static void
test_case(void **state)
{
	const struct plan_case *c = *state;
	struct cacherec r;
	int64_t next = -1;
	enum refresh_action a;

	build(c, &r);
	a = refresh_plan(&r, &params, c->seed, T0 + c->now, &next);
	assert_string_equal(refresh_action_name(a), refresh_action_name(c->want));
	if (a == REFRESH_LATER) {
		assert_int_equal(next - T0, c->next);
		assert_int_equal(refresh_due(&r, &params, c->seed, T0 + c->now), next);
	} else {
		assert_int_equal(refresh_due(&r, &params, c->seed, T0 + c->now), T0 + c->now);
	}
}

/* refresh_age() is the request path's refetch age: the same jittered interval. */
static void
test_age(void **state)
{
	struct cacherec r;
	struct refresh_params short_refresh = {H, ACTIVE, 0};

	(void)state;
	rec_policy(&r, 7 * DAY);
	assert_int_equal(refresh_age(&r, &params, 0), DAY);
	assert_int_equal(refresh_age(&r, &params, 1000), DAY - 1000);
	assert_int_equal(refresh_age(&r, &short_refresh, 0), H);
	rec_policy(&r, DAY);
	assert_int_equal(refresh_age(&r, &params, 0), DAY / 2);
	rec_policy(&r, 0);
	assert_int_equal(refresh_age(&r, &params, 0), REFRESH_INTERVAL_MIN);
}

/* Never more often than txt_recheck: a tiny max_age cannot make the daemon refetch every few
 * seconds (a domain with max_age 20 published by anyone would, for 35 days). */
static void
test_floor(void **state)
{
	const struct refresh_params p = {DAY, ACTIVE, 300};
	struct cacherec r;
	int64_t next = 0;

	(void)state;
	rec_policy(&r, 20); /* the floor passes expiry: never refreshed, it lapses */
	assert_int_equal(refresh_plan(&r, &p, 0, T0 + 1, &next), REFRESH_LATER);
	assert_int_equal(next, T0 + 20);
	assert_int_equal(refresh_plan(&r, &p, 0, T0 + 30, &next), REFRESH_LATER);
	assert_int_equal(next, T0 + ACTIVE);
	rec_policy(&r, 400); /* half is 200: floored to 300, still before expiry */
	assert_int_equal(refresh_plan(&r, &p, 0, T0 + 1, &next), REFRESH_LATER);
	assert_int_equal(next, T0 + 300);
	assert_int_equal(refresh_plan(&r, &p, 0, T0 + 300, &next), REFRESH_NOW);
	assert_int_equal(refresh_age(&r, &p, 0), 300);
	rec_policy(&r, 1000); /* half is 500: above the floor */
	assert_int_equal(refresh_age(&r, &p, 0), 500);
}

static void
test_seed(void **state)
{
	(void)state;
	assert_int_equal(refresh_seed("example.com"), refresh_seed("example.com"));
	assert_int_not_equal(refresh_seed("example.com"), refresh_seed("example.net"));
	assert_int_equal(refresh_seed(""), 2166136261u);
	assert_string_equal(refresh_action_name((enum refresh_action)99), "?");
}

/* Over a grid of records and times: the safety properties hold for every combination. */
static void
test_properties(void **state)
{
	static const uint32_t ages[] = {0, 1, 60, DAY, 7 * DAY, 31557600};
	static const int64_t offs[] = {-40 * DAY, -ACTIVE, -DAY, -1,  0,       1,
	                               299,       300,     H,    DAY, 2 * DAY, 40 * DAY};
	static const uint32_t seeds[] = {0, 1, 12345, 0xffffffffu};
	unsigned checked = 0;

	(void)state;
	for (size_t ai = 0; ai < sizeof(ages) / sizeof(ages[0]); ai++)
		for (int hp = 0; hp < 2; hp++)
			for (size_t ci = 0; ci < sizeof(offs) / sizeof(offs[0]); ci++)
				for (size_t qi = 0; qi < sizeof(offs) / sizeof(offs[0]); qi++)
					for (size_t ni = 0; ni < sizeof(offs) / sizeof(offs[0]);
					     ni++)
						for (size_t si = 0; si < 4; si++) {
							struct cacherec r;
							int64_t now = T0 + offs[ni], next = 0;
							enum refresh_action a;

							if (hp)
								rec_policy(&r, ages[ai]);
							else
								cacherec_init(&r);
							if (offs[ci] >= 0)
								r.checked = T0 + offs[ci];
							r.queried = T0 + 40 * DAY + offs[qi];
							r.none_until = hp ? 0 : T0 + offs[ci];
							a = refresh_plan(&r, &params, seeds[si],
							                 now, &next);
							if (a == REFRESH_DELETE) {
								assert_false(r.has_policy &&
								             now < r.expires);
								assert_true(now >=
								            r.queried + ACTIVE);
								assert_true(now >= r.none_until);
							}
							if (a == REFRESH_NOW) {
								assert_true(r.has_policy);
								assert_true(now < r.expires);
								assert_true(now <
								            r.queried + ACTIVE);
							}
							if (a == REFRESH_LATER)
								assert_true(next > now);
							checked++;
						}
	assert_true(checked > 10000);
}

int
main(void)
{
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[N + 8];
	size_t n = N;

	for (size_t i = 0; i < N; i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = cases[i].name;
		tests[i].test_func = test_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_age);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_floor);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_seed);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_properties);
	return _cmocka_run_group_tests("refresh", tests, n, NULL, NULL);
}
