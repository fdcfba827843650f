/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_METRICS_H
#define MTASTSD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "dane.h"
#include "strbuf.h"
#include "sts.h"

/** Zone labels kept apart (CFG_ZONE_MAX named zones, [default], "(none)", room for reloads);
 * answers of further zone names count under METRICS_ZONE_OTHER. */
#define METRICS_ZONES_MAX 64
#define METRICS_ZONE_NONE "(none)"   /**< zone label of a request without a socketmap name */
#define METRICS_ZONE_OTHER "(other)" /**< zone label once METRICS_ZONES_MAX names are taken */
#define METRICS_VERSION_MAX 63       /**< bytes of the build_info version label kept */
/** Largest exposition metrics_render() writes: bounded by METRICS_ZONES_MAX and the fixed
 * label sets (about 40 KiB at the worst); the cap leaves room. */
#define METRICS_RENDER_MAX (256 * 1024)
/** Upper bounds of the latency histogram, in microseconds (ascending; +Inf is implicit). */
#define METRICS_LATENCY_BUCKETS 12

/** The status word of a socketmap reply. */
enum metrics_status {
	METRICS_STATUS_OK = 0,   /**< "OK" */
	METRICS_STATUS_NOTFOUND, /**< "NOTFOUND" */
	METRICS_STATUS_TEMP,     /**< "TEMP" */
	METRICS_STATUS_PERM,     /**< "PERM" */
	METRICS_STATUS_TIMEOUT,  /**< "TIMEOUT" */
	METRICS_STATUS_N         /**< count */
};

/** Where an answer came from (struct lookup_result source, or the server itself). */
enum metrics_source {
	METRICS_SOURCE_CACHE = 0, /**< "cache": settled by LMDB reads */
	METRICS_SOURCE_FETCH,     /**< "fetch": after a policy fetch */
	METRICS_SOURCE_DNS,       /**< "dns": after DNS lookups, nothing fetched */
	METRICS_SOURCE_LOCAL, /**< "local": no lookup (key class, malformed, caps, cache error) */
	METRICS_SOURCE_N      /**< count */
};

/** Which cache record a read was for. */
enum metrics_record {
	METRICS_RECORD_POLICY = 0, /**< the MTA-STS record of a policy domain */
	METRICS_RECORD_DANE,       /**< the DNS (MX/DANE) record of a destination */
	METRICS_RECORD_N           /**< count */
};

/** Result of a cache read (cache.c's CACHE_HIT, CACHE_MISS, CACHE_ERR). */
enum metrics_cache {
	METRICS_CACHE_HIT = 0, /**< a record was found (fresh or not) */
	METRICS_CACHE_MISS,    /**< no record */
	METRICS_CACHE_ERROR,   /**< LMDB failed or the record did not decode */
	METRICS_CACHE_N        /**< count */
};

/** How a DNS query ended. */
enum metrics_dns {
	METRICS_DNS_NOERROR = 0, /**< answer, rcode NOERROR (data or not) */
	METRICS_DNS_NXDOMAIN,    /**< answer, rcode NXDOMAIN */
	METRICS_DNS_SERVFAIL,    /**< answer, rcode SERVFAIL */
	METRICS_DNS_OTHER_RCODE, /**< answer with another rcode, or one whose header is unreadable
	                          */
	METRICS_DNS_TIMEOUT,     /**< no answer: the resolver timed out */
	METRICS_DNS_FAILED,      /**< no answer: SERVFAIL/REFUSED everywhere, unreachable, other */
	METRICS_DNS_N            /**< count */
};

/** How a proactive refresh (scheduler.c) ended. */
enum metrics_refresh {
	METRICS_REFRESH_REFRESHED = 0, /**< the policy was fetched again */
	METRICS_REFRESH_FAILED,        /**< TXT or fetch failed, or no policy is published now */
	METRICS_REFRESH_DELETED,       /**< an expired or forgotten record was deleted instead */
	METRICS_REFRESH_N              /**< count */
};

/** What happened with the fleet's shared cache (Redis). */
enum metrics_shared {
	METRICS_SHARED_GET_HIT = 0,  /**< a read found a usable record */
	METRICS_SHARED_GET_MISS,     /**< a read found no record */
	METRICS_SHARED_SKIPPED,      /**< not asked: no connection */
	METRICS_SHARED_PUBLISHED,    /**< a record written and announced */
	METRICS_SHARED_KEPT,         /**< a write refused: the stored fetch is as late or later */
	METRICS_SHARED_RECEIVED,     /**< an announced record decoded (applied if later) */
	METRICS_SHARED_REJECTED,     /**< a value refused by the decoder (corrupt, foreign, ...) */
	METRICS_SHARED_TIMEOUT,      /**< a call passed shared_cache_timeout */
	METRICS_SHARED_ERROR,        /**< an error reply, or the connection lost mid-call */
	METRICS_SHARED_LEASE_TAKEN,  /**< this node took a domain's fetch lease (and fetches) */
	METRICS_SHARED_LEASE_WAITED, /**< another node held it: this one waited for its record */
	METRICS_SHARED_CONNECT_FAILED,  /**< a connection or its handshake failed */
	METRICS_SHARED_UNAUTHENTICATED, /**< a value without the fleet key's HMAC, ignored */
	METRICS_SHARED_N                /**< count */
};

/** Kinds of cached domains (enum cache_kind's order: mode none, testing, enforce, no policy).
 */
#define METRICS_DOMAIN_KINDS 4

/**
 * Counters and gauges of one daemon. Plain integers, written by the effectful modules on the
 * event loop (one thread, no locking) through METRICS_INC() and the helpers below, read by
 * metrics_render(). Every writer takes a `struct metrics *` that may be NULL (mta-stsctl, or
 * metrics off): nothing is counted then.
 */
struct metrics {
	int64_t start_time;                                  /**< process start, Unix seconds */
	char version[METRICS_VERSION_MAX + 1];               /**< build_info label */
	unsigned n_zones;                                    /**< zone slots used */
	char zone[METRICS_ZONES_MAX][CFG_ZONE_NAME_MAX + 1]; /**< zone label per slot */
	uint64_t answers[METRICS_ZONES_MAX + 1][METRICS_STATUS_N]; /**< last row: "(other)" */
	uint64_t sources[METRICS_SOURCE_N];                        /**< answers by source */
	uint64_t latency[METRICS_LATENCY_BUCKETS + 1];     /**< per bucket (not cumulative); +Inf */
	uint64_t latency_count;                            /**< observations */
	uint64_t latency_sum_us;                           /**< their sum, microseconds */
	uint64_t cache[METRICS_RECORD_N][METRICS_CACHE_N]; /**< cache reads */
	uint64_t sts_events[STS_EV_REFRESHED + 1];         /**< MTA-STS outcomes (index 0 unused) */
	uint64_t fetches[STS_FETCH_N];                     /**< fetches by result (0 unused) */
	uint64_t dns_sent;                                 /**< DNS queries sent */
	uint64_t dns[METRICS_DNS_N];                       /**< DNS queries by outcome */
	uint64_t dane[DANE_ERROR + 1];                     /**< DNS part outcomes by DANE state */
	uint64_t dns_stale_answers; /**< cached answers from an expired DNS record (dns_stale) */
	uint64_t cache_commits;     /**< transactions storing what lookups learnt */
	uint64_t cache_committed_results;      /**< lookup results and announcements they stored */
	uint64_t refreshes[METRICS_REFRESH_N]; /**< proactive refreshes */
	uint64_t connections_accepted;         /**< socketmap connections served */
	uint64_t connections_rejected; /**< closed at once: max_connections reached, none idle */
	uint64_t connections_evicted;  /**< idle ones closed to make room (max_connections) */
	uint64_t connections_open;     /**< gauge: socketmap connections open now */
	uint64_t lookups_inflight;     /**< gauge: destination lookups running now */
	uint64_t lookups_started;      /**< destination lookups started */
	/** Gauge: cached domains by their policy's mode (none, testing, enforce; valid or
	 * expired) and without a policy, read from the cache's counts at each scrape. */
	uint64_t domains[METRICS_DOMAIN_KINDS];
	int domains_known;                 /**< domains[] was read; else its series are left out */
	int shared_on;                     /**< shared_cache is set; else its series are left out */
	uint64_t shared[METRICS_SHARED_N]; /**< shared-cache events */
	uint64_t shared_up;                /**< gauge: 1 while the shared cache is connected */
};

/** Count one event: `METRICS_INC(m, fetches[r])`; nothing when m is NULL. */
#define METRICS_INC(m, member)                                                                     \
	do {                                                                                       \
		if ((m) != NULL)                                                                   \
			(m)->member++;                                                             \
	} while (0)

/** Add to a counter: `METRICS_ADD(m, cache_committed_results, n)`; nothing when m is NULL. */
#define METRICS_ADD(m, member, v)                                                                  \
	do {                                                                                       \
		if ((m) != NULL)                                                                   \
			(m)->member += (v);                                                        \
	} while (0)

/** Set a gauge: `METRICS_SET(m, lookups_inflight, n)`; nothing when m is NULL. */
#define METRICS_SET(m, member, v)                                                                  \
	do {                                                                                       \
		if ((m) != NULL)                                                                   \
			(m)->member = (v);                                                         \
	} while (0)

/**
 * Make an empty set of metrics.
 * @param start_time process start (Unix seconds) @param version build_info label (copied,
 *        cut to METRICS_VERSION_MAX bytes)
 * @return metrics, caller frees with metrics_free()
 */
struct metrics *metrics_new(int64_t start_time, const char *version);

/** @param m metrics or NULL (no-op) */
void metrics_free(struct metrics *m);

/**
 * Count one socketmap reply and how long it took from the request's arrival.
 * @param m metrics or NULL @param zone zone label (the socketmap name's section, or
 *        METRICS_ZONE_NONE); a new name takes a free slot, or "(other)" when none is left
 * @param status reply status word ("OK", "NOTFOUND", "TEMP", "PERM", "TIMEOUT"; another word
 *        counts as TEMP) @param source lookup_result source ("cache", "fetch", "dns",
 *        anything else counts as "local") @param us microseconds from request to reply
 */
void metrics_answer(struct metrics *m, const char *zone, const char *status, const char *source,
                    uint64_t us);

/**
 * Count a DNS query's end. @param m metrics or NULL @param msg the raw answer, or NULL when
 * none came @param len its length @param timeout with msg NULL: 1 if the resolver timed out
 */
void metrics_dns(struct metrics *m, const uint8_t *msg, size_t len, int timeout);

/**
 * Render in the Prometheus text exposition format (version 0.0.4): for every metric a HELP
 * and a TYPE line, then its samples; label values escaped (backslash, double quote, newline);
 * the latency histogram as cumulative _bucket{le=...} samples, _sum (seconds) and _count.
 * @param m metrics @param out appended to; its cap should allow METRICS_RENDER_MAX
 * @return 0, or -1 when out's cap was reached (out then holds a cut text: do not serve it)
 */
int metrics_render(const struct metrics *m, struct strbuf *out);

#endif
