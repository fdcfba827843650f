/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_REFRESH_H
#define MTASTSD_REFRESH_H

#include <stdint.h>

#include "cacherec.h"
#include "dane.h"

/** A DNS (MX/DANE) record is deleted this long after it expired, unless rewritten meanwhile. */
#define REFRESH_DNS_KEEP 3600

/** Shortest wait between two refresh attempts of one domain (RFC 8461 s5.1: 5 minutes). */
#define REFRESH_BACKOFF_MIN 300
/** Longest wait between two refresh attempts after failures: 6 hours. */
#define REFRESH_BACKOFF_MAX 21600
/** Shortest refresh interval, whatever max_age says (a policy of max_age 0 is never hammered). */
#define REFRESH_INTERVAL_MIN 10

/** Settings of the scheduler (from [daemon]). */
struct refresh_params {
	unsigned refresh;        /**< refetch at most this long after the last fetch (s) */
	unsigned refresh_active; /**< a domain asked for within this long is refreshed (s) */
	unsigned txt_recheck;    /**< floor of the interval: never more often than re-checks */
};

struct cfg;

/** @param cfg configuration @return its refresh settings */
struct refresh_params refresh_params_of(const struct cfg *cfg);

/** What the scheduler does with a record whose due time came. */
enum refresh_action {
	REFRESH_LATER = 0, /**< not yet: store the new due time */
	REFRESH_NOW,       /**< re-check the TXT id and refetch the policy */
	REFRESH_DELETE,    /**< not asked for within refresh_active, and nothing valid left */
};

/**
 * What is due for a record at now, and when the scheduler must look at it next (RFC 8461
 * s5.1 and s10: refresh before expiry). A policy is refreshed once less than half its max_age
 * is left, or refresh seconds after its fetch if sooner, but never sooner than txt_recheck
 * (a domain publishing a tiny max_age cannot make the daemon refetch its policy every few
 * seconds), minus a jitter of up to an eighth of that interval taken from seed, so that policies
 * fetched together are not refreshed together. After an attempt that did not renew it (the last
 * check is at or after the refresh time) the next one waits as long as the failures have lasted so
 * far, between REFRESH_BACKOFF_MIN and REFRESH_BACKOFF_MAX: the wait doubles from one failure to
 * the next. An attempt is only made while the policy is valid (an expired one is discovered afresh
 * by the next request, in the foreground); when no attempt is left before an active domain's policy
 * expires, the next look is at its expiry, so that it can be reported. A domain not asked for
 * within refresh_active is refreshed no more; its record is deleted once nothing valid is left in
 * it (policy expired, nothing remembered). A valid policy is never deleted, nor the record of an
 * active domain.
 * @param r record @param p settings @param seed refresh_seed() of the domain @param now time
 * @param next for REFRESH_LATER, when to look again (always after now)
 * @return the action
 */
enum refresh_action refresh_plan(const struct cacherec *r, const struct refresh_params *p,
                                 uint32_t seed, int64_t now, int64_t *next);

/**
 * The due time to index a record under: now if something is due at once, else the next time
 * refresh_plan() gives. @param r record @param p settings @param seed refresh_seed()
 * @param now time @return due time
 */
int64_t refresh_due(const struct cacherec *r, const struct refresh_params *p, uint32_t seed,
                    int64_t now);

/**
 * Age after which a request's TXT re-check refetches the policy (sts_params.refresh), so that
 * re-checks and the scheduler follow one rule: the jittered refresh interval of the record.
 * @param r record with a policy @param p settings @param seed refresh_seed() @return seconds
 */
unsigned refresh_age(const struct cacherec *r, const struct refresh_params *p, uint32_t seed);

/**
 * When a destination's DNS record is deleted: REFRESH_DNS_KEEP after it expired. An expired
 * DNS record is never used (the next request looks the MX set up again), so keeping it longer
 * would only let the cache grow with every destination ever asked for.
 * @param r record @return the time
 */
int64_t refresh_dns_due(const struct danerec *r);

/** @param domain normalised domain @return its jitter seed (a hash of the name) */
uint32_t refresh_seed(const char *domain);

/** @param a action @return its name for logs ("later", "refresh", "delete") */
const char *refresh_action_name(enum refresh_action a);

#endif
