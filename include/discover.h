/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_DISCOVER_H
#define MTASTSD_DISCOVER_H

#include "cacherec.h"
#include "dane.h"
#include "decide.h"
#include "socketmap.h"
#include "sts.h"

struct event_base;
struct resolver;
struct fetcher;
struct discover;
struct metrics;
struct shared;

#define DISCOVER_DEADLINE_MAX 90 /**< seconds; Postfix gives up on a socketmap reply after 100 */

/** The parts of a discovery, as bits. */
enum discover_part {
	DISCOVER_STS = 1, /**< MTA-STS: TXT, policy host addresses, policy fetch (sts.c) */
	DISCOVER_DNS = 2  /**< MX set, addresses, TLSA (dane.c) */
};

/** Where the parts run: borrowed, must outlive every discovery. */
struct discover_env {
	struct event_base *base; /**< loop */
	struct resolver *res;    /**< DNS */
	struct fetcher *fetch;   /**< HTTPS */
	struct metrics *metrics; /**< counters (DNS, fetches, outcomes), or NULL */
	struct shared *shared;   /**< the fleet's shared cache, or NULL (shared_cache unset) */
};

/** What the parts ended with; a member is valid once its part has ended. */
struct discover_result {
	struct cacherec rec;   /**< MTA-STS: the domain's record after the TOFU rules */
	enum decide_disc disc; /**< MTA-STS: outcome for decide() */
	int sts_write;         /**< MTA-STS: rec changed and must be stored */
	struct danerec drec;   /**< DNS: the destination's MX/DANE record */
};

/**
 * Every started part has ended (a DNS or fetch completion, or the deadline). Not called from
 * discover_sts() or discover_dns(); check discover_running() after them.
 * @param arg caller's argument; the discovery lives on until discover_free(), which the
 *            callback may call
 */
typedef void discover_cb(void *arg);

/**
 * Create a discovery of one destination, nothing started. Every part it runs ends within
 * DISCOVER_DEADLINE_MAX seconds of this call.
 * @param env where the parts run (borrowed) @param dest destination (copied)
 * @param cb completion @param arg its argument
 * @return discovery, caller frees with discover_free()
 */
struct discover *discover_new(const struct discover_env *env, const struct socketmap_dest *dest,
                              discover_cb *cb, void *arg);

/**
 * Seconds the MTA-STS part may take: TXT, then A and AAAA together, then the fetch.
 * @param dns_timeout per DNS query @param fetch_timeout per fetch @return the budget
 */
unsigned discover_sts_budget(unsigned dns_timeout, unsigned fetch_timeout);

/**
 * Start the MTA-STS part from the domain's cached record (no-op if started before). With a
 * shared cache, the fleet's record is read first (within shared_cache_timeout) and merged by
 * sharedrec_merge(), so a policy another node fetched needs no fetch here while its id holds;
 * a policy this part fetches is published to the fleet.
 * @param d discovery @param rec cached record (copied) @param prm settings
 * @param budget seconds it may take (capped by the discovery's deadline)
 */
void discover_sts(struct discover *d, const struct cacherec *rec, const struct sts_params *prm,
                  unsigned budget);

/**
 * A client waits for this discovery (a first contact): it waits at most ms on another node's
 * fetch lease before it fetches itself (shared_cache_lease_wait), instead of the whole lease.
 * The shortest cap asked for holds; it applies to a wait already under way too.
 * @param d discovery @param ms milliseconds
 */
void discover_lease_wait(struct discover *d, unsigned ms);

/**
 * Start the DNS part (no-op if started before).
 * @param d discovery @param trust_ad trust the resolver's AD bit (dnssec = yes)
 * @param budget seconds it may take (capped by the discovery's deadline)
 */
void discover_dns(struct discover *d, int trust_ad, unsigned budget);

/** @param d discovery @return the parts started (DISCOVER_STS | DISCOVER_DNS) */
unsigned discover_started(const struct discover *d);

/** @param d discovery @return the parts started and not ended yet */
unsigned discover_running(const struct discover *d);

/** @param d discovery @return its outcome (borrowed until discover_free()) */
const struct discover_result *discover_result(const struct discover *d);

/**
 * Cancel what is in flight (cb is not called) and free.
 * @param d discovery or NULL
 */
void discover_free(struct discover *d);

#endif
