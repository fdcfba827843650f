/* SPDX-License-Identifier: MIT */
/*
 * refresh: the timing rules of proactive refresh (RFC 8461 s5.1 recommends refreshing a
 * cached policy before it expires; s10 explains why: a policy that lapses no longer protects
 * against a downgrade). Pure (P): now and the jitter seed are parameters. It says when a
 * cached record is due, and what is due then: a refresh (active domains, half the max_age or
 * `refresh` after the fetch, jittered, with back-off after failures), a deletion (domains not
 * asked for within refresh_active, once nothing valid is left, so the cache cannot grow
 * without bound), or nothing yet; and when a destination's DNS record goes. Running
 * refreshes and the index of due times live in scheduler.c and cache.c.
 */
#include "refresh.h"

#include "cfg.h"

struct refresh_params
refresh_params_of(const struct cfg *cfg)
{
	struct refresh_params p = {cfg->refresh, cfg->refresh_active, cfg->txt_recheck};

	return p;
}

/* The jittered refresh interval: half the max_age, or refresh if sooner. */
static int64_t
refresh_interval(const struct cacherec *r, const struct refresh_params *p, uint32_t seed)
{
	int64_t interval = r->policy.max_age / 2;

	if (interval > (int64_t)p->refresh)
		interval = p->refresh;
	if (interval < (int64_t)p->txt_recheck)
		interval = p->txt_recheck;
	if (interval < REFRESH_INTERVAL_MIN)
		interval = REFRESH_INTERVAL_MIN;
	return interval - (int64_t)(seed % (uint32_t)(interval / 8 + 1));
}

static int64_t
refresh_max(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* When the record may be deleted: not asked for within refresh_active, and nothing valid in
 * it any more. */
static int64_t
refresh_delete_time(const struct cacherec *r, const struct refresh_params *p)
{
	int64_t t = refresh_max(r->queried + (int64_t)p->refresh_active, r->fail_until);

	t = refresh_max(t, r->none_until);
	return r->has_policy ? refresh_max(t, r->expires) : t;
}

/* When the next refresh attempt of a policy is due. */
static int64_t
refresh_attempt_time(const struct cacherec *r, const struct refresh_params *p, uint32_t seed)
{
	int64_t at = r->fetched + refresh_interval(r, p, seed), wait;

	if (r->checked < at)
		return at; /* not tried since it came due (or not due yet) */
	/* Tried and not renewed: wait as long as the failures have lasted, within bounds. */
	wait = r->checked - at;
	if (wait < REFRESH_BACKOFF_MIN)
		wait = REFRESH_BACKOFF_MIN;
	if (wait > REFRESH_BACKOFF_MAX)
		wait = REFRESH_BACKOFF_MAX;
	return r->checked + wait + (int64_t)(seed % (uint32_t)(wait / 8 + 1));
}

enum refresh_action
refresh_plan(const struct cacherec *r, const struct refresh_params *p, uint32_t seed, int64_t now,
             int64_t *next)
{
	int64_t active_until = r->queried + (int64_t)p->refresh_active, t;

	if (r->has_policy && now < active_until && now < r->expires) {
		t = refresh_attempt_time(r, p, seed);
		if (t < active_until && t < r->expires) {
			if (now >= t)
				return REFRESH_NOW;
			*next = t;
			return REFRESH_LATER;
		}
		/* No attempt left before it expires, or no longer asked for by then: it lapses (a
		 * request discovers it afresh), and goes once inactive. Expiring while still asked
		 * for is worth a look at that moment: the scheduler says so in the log. */
		if (r->expires < active_until) {
			*next = r->expires;
			return REFRESH_LATER;
		}
	}
	t = refresh_delete_time(r, p);
	if (now >= t)
		return REFRESH_DELETE;
	*next = t;
	return REFRESH_LATER;
}

int64_t
refresh_due(const struct cacherec *r, const struct refresh_params *p, uint32_t seed, int64_t now)
{
	int64_t next = now;

	return refresh_plan(r, p, seed, now, &next) == REFRESH_LATER ? next : now;
}

unsigned
refresh_age(const struct cacherec *r, const struct refresh_params *p, uint32_t seed)
{
	return (unsigned)refresh_interval(r, p, seed);
}

int64_t
refresh_dns_due(const struct danerec *r)
{
	return r->expires > INT64_MAX - REFRESH_DNS_KEEP ? INT64_MAX
	                                                 : r->expires + REFRESH_DNS_KEEP;
}

uint32_t
refresh_seed(const char *domain)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *domain; domain++)
		h = (h ^ (unsigned char)*domain) * 16777619u;
	return h;
}

const char *
refresh_action_name(enum refresh_action a)
{
	switch (a) {
	case REFRESH_LATER:
		return "later";
	case REFRESH_NOW:
		return "refresh";
	case REFRESH_DELETE:
		return "delete";
	}
	return "?";
}
