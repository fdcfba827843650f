/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_LOOKUP_H
#define MTASTSD_LOOKUP_H

#include <stddef.h>

#include "cfg.h"
#include "dane.h"
#include "decide.h"
#include "socketmap.h"

struct event_base;
struct resolver;
struct fetcher;
struct cache;
struct lookups;
struct lookup_waiter;
struct metrics;
struct shared;

/** One answer, as handed to a waiter. Everything is borrowed for the callback only. */
struct lookup_result {
	const char *status;         /**< "OK", "NOTFOUND" or "TEMP" */
	const char *text;           /**< reply text (may be empty) */
	size_t len;                 /**< text length */
	const char *why;            /**< explanation of the decision */
	const char *source;         /**< "cache", "fetch", "dns" ... where the answer came from */
	const struct cacherec *rec; /**< the domain's cache state after this lookup */
	enum decide_disc disc;      /**< discovery outcome */
	const struct danerec *dns;  /**< DNS state of the destination (MX hosts, DANE), or NULL */
};

/** Completion. @param arg caller's argument @param res result (borrowed for the call) */
typedef void lookup_cb(void *arg, const struct lookup_result *res);

/**
 * Create the lookup engine. It holds no configuration of its own: every request brings one.
 * @param base loop @param res resolver @param fetch fetcher
 * @param cache cache, or NULL for a one-shot engine without persistence (mta-stsctl --direct)
 * @return engine, caller frees with lookups_free() before the resolver/fetcher/cache
 */
struct lookups *lookups_new(struct event_base *base, struct resolver *res, struct fetcher *fetch,
                            struct cache *cache);

/**
 * Count from now on: cache reads of requests, lookups started and in flight, and (through
 * the discoveries started after this call) DNS queries, fetches and outcomes.
 * @param ls engine @param m counters (borrowed: must outlive the engine), or NULL for none
 */
void lookups_set_metrics(struct lookups *ls, struct metrics *m);

/**
 * Use the fleet's shared cache in the discoveries started after this call (read before the
 * MTA-STS part, written after a fetch).
 * @param ls engine @param sh shared cache (borrowed: must outlive the engine), or NULL
 */
void lookups_set_shared(struct lookups *ls, struct shared *sh);

/**
 * Apply a record another node announced to the local cache, under the merge rule of
 * sharedrec_merge() (a later fetch wins; nothing older, no extension); rescheduled for the
 * refresh scheduler by cfg's settings. A cache error leaves the cache as it was.
 * @param ls engine @param cfg running configuration @param domain normalised domain
 * @param peer the announced record (sharedrec_decode() accepted it)
 * @return 1 if the local record changed, 0 if not
 */
int lookups_shared_apply(struct lookups *ls, const struct cfg *cfg, const char *domain,
                         const struct cacherec *peer);

/**
 * Cancel every lookup (waiters are not called), drop their configuration references, free.
 * @param ls engine or NULL
 */
void lookups_free(struct lookups *ls);

/**
 * Answer a lookup of a destination for a socketmap zone. Answers that the cache settles (the
 * hot path: MTA-STS record and, where the zone needs it, the DNS record) are delivered
 * synchronously, before this returns, and NULL is returned; otherwise the caller waits for cb
 * and gets a handle to cancel the wait. A valid cached policy may start a background TXT
 * re-check (RFC 8461 s5.1) without delaying the answer.
 * A waiter takes a reference to cfg (its zone lives there) until it is answered or cancelled;
 * a lookup this request starts takes one too and reads every daemon setting (timeouts,
 * txt_recheck, refresh, max_lookups, dnssec) from it until it ends, whatever a reload swaps in
 * meanwhile.
 * @param ls engine
 * @param cfg the configuration the request was made under (borrowed for the call: the caller
 *            keeps it alive until lookup_request() returns, even when cb already ran)
 * @param zone zone settings, a zone of cfg
 * @param dest normalised destination (copied) @param cb completion @param arg its argument
 * @return NULL when already answered, else a waiter handle valid until cb runs
 */
struct lookup_waiter *lookup_request(struct lookups *ls, struct cfg *cfg,
                                     const struct cfg_zone *zone, const struct socketmap_dest *dest,
                                     lookup_cb *cb, void *arg);

/**
 * Stop waiting: cb will not be called (the lookup itself goes on); the waiter's configuration
 * reference is dropped. @param w handle
 */
void lookup_waiter_cancel(struct lookup_waiter *w);

#endif
