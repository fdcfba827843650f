/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_SCHEDULER_H
#define MTASTSD_SCHEDULER_H

struct event_base;
struct resolver;
struct fetcher;
struct cache;
struct cfg;
struct scheduler;
struct shared;
struct metrics;

/** Refreshes running at once at most. */
#define SCHEDULER_INFLIGHT_MAX 8
/** Longest sleep between two looks at the index of due times, in seconds. */
#define SCHEDULER_TICK_MAX 5

/**
 * Start the proactive refresh scheduler (RFC 8461 s5.1): it takes the records whose due time
 * came from the cache's index (cache_due()), and for each refreshes the policy, reschedules
 * it or deletes it, as refresh_plan() says; SCHEDULER_INFLIGHT_MAX refreshes at a time.
 * @param base loop @param res resolver @param fetch fetcher @param cache cache (all borrowed;
 *        they must outlive it) @param cfg settings (a reference is taken)
 * @param m counters of refreshes and their DNS queries and fetches (borrowed), or NULL
 * @return scheduler, caller frees with scheduler_free() before the others
 */
struct scheduler *scheduler_new(struct event_base *base, struct resolver *res,
                                struct fetcher *fetch, struct cache *cache, struct cfg *cfg,
                                struct metrics *m);

/**
 * Use a reloaded configuration from now on (refreshes running keep theirs until they end).
 * @param s scheduler @param cfg settings (a reference is taken, the old one dropped)
 */
void scheduler_set_cfg(struct scheduler *s, struct cfg *cfg);

/**
 * Refresh through the fleet's shared cache (read first, published after a fetch).
 * @param s scheduler @param sh shared cache (borrowed: must outlive s), or NULL
 */
void scheduler_set_shared(struct scheduler *s, struct shared *sh);

/**
 * Cancel the refreshes in flight (nothing is written) and free.
 * @param s scheduler or NULL
 */
void scheduler_free(struct scheduler *s);

#endif
