/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_STS_H
#define MTASTSD_STS_H

#include <stddef.h>
#include <stdint.h>

#include "cacherec.h"
#include "decide.h"
#include "dname.h"
#include "stsrecord.h"

#define STS_ADDRS_MAX 8      /**< policy host addresses handed to the fetch */
#define STS_INFLIGHT_MAX 2   /**< queries in flight at once (A and AAAA) */
#define STS_TTL_MIN 10       /**< floor (s) on a DNS TTL that bounds "no policy" */
#define STS_FAIL_REMEMBER 30 /**< how long (s) a failed TXT lookup is remembered */
#define STS_WHY_MAX 320      /**< failure text, NUL included */

/** Settings of one discovery (from the configuration it started with). */
struct sts_params {
	unsigned txt_recheck; /**< s between TXT checks; upper bound on remembering "no policy" */
	unsigned refresh; /**< s after which a policy is refetched although its id is the same */
};

/** What a discovery ended with, for the driver's log line. */
enum sts_event {
	STS_EV_NONE = 0,     /**< still running */
	STS_EV_NO_POLICY,    /**< no TXT record, or no STSv1 record among them */
	STS_EV_BAD_RECORD,   /**< several STSv1 records, or one that does not parse */
	STS_EV_TXT_FAILED,   /**< the TXT lookup failed (SERVFAIL, timeout, malformed answer) */
	STS_EV_UNCHANGED,    /**< same id, cached policy fresh: nothing fetched */
	STS_EV_BACKOFF,      /**< this id failed less than CACHEREC_RETRY_AFTER s ago */
	STS_EV_FETCH_FAILED, /**< address lookup, HTTPS fetch or policy invalid */
	STS_EV_LEARNED,      /**< the first policy fetched (nothing was cached) */
	STS_EV_CHANGED,      /**< a policy fetched for a new id replaces a cached one */
	STS_EV_REFRESHED,    /**< the policy of the same id fetched again */
};

/** How a policy fetch ended (for metrics; the log has the text). */
enum sts_fetch_result {
	STS_FETCH_NONE = 0,       /**< no fetch ended */
	STS_FETCH_OK,             /**< status 200, text/plain, a valid policy */
	STS_FETCH_HTTP_3XX,       /**< a redirect: never followed (s3.3) */
	STS_FETCH_HTTP_4XX,       /**< client error status */
	STS_FETCH_HTTP_5XX,       /**< server error status */
	STS_FETCH_HTTP_OTHER,     /**< any other status but 200 */
	STS_FETCH_CONTENT_TYPE,   /**< 200, media type not text/plain */
	STS_FETCH_INVALID_POLICY, /**< 200, text/plain, the policy does not parse */
	STS_FETCH_TOO_LARGE,      /**< body over STSPOLICY_MAX_BYTES */
	STS_FETCH_TIMEOUT,        /**< no response in time (fetch_timeout, or the deadline) */
	STS_FETCH_TLS,            /**< TLS handshake or certificate verification failed */
	STS_FETCH_CONNECT,        /**< no TCP connection */
	STS_FETCH_ERROR,          /**< any other transport failure */
};
#define STS_FETCH_N (STS_FETCH_ERROR + 1) /**< count of enum sts_fetch_result */

/** What the machine wants done next. */
enum sts_action {
	STS_ACT_NONE = 0, /**< nothing until a result arrives (or done) */
	STS_ACT_QUERY,    /**< send the DNS query in the sts_query */
	STS_ACT_FETCH,    /**< start the HTTPS fetch in the sts_fetch */
};

/** One DNS query (class IN). */
struct sts_query {
	char name[DNAME_MAX + 1]; /**< query name, no trailing dot */
	uint16_t type;            /**< TXT, A or AAAA */
	unsigned token;           /**< give back with the answer */
};

/** One address of the policy host. */
struct sts_addr {
	int family;        /**< 4 or 6 */
	uint8_t bytes[16]; /**< network order; 4 used for IPv4 */
};

/** The fetch to start: GET https://mta-sts.<domain>/.well-known/mta-sts.txt from addrs. */
struct sts_fetch {
	const char *domain;           /**< policy domain (borrowed from the evaluation) */
	const struct sts_addr *addrs; /**< addresses, IPv4 first (borrowed from the evaluation) */
	unsigned n_addrs;             /**< count, 1..STS_ADDRS_MAX */
};

/** What a fetch brought back (RFC 8461 s3.3 is checked by the machine). */
struct sts_response {
	const char *error; /**< transport failure (connect, TLS, timeout, body over the cap), or
	                        NULL when a response arrived */
	long status;       /**< HTTP status */
	const char *ctype; /**< Content-Type value, or NULL */
	const char *body;  /**< body (not NUL-terminated) */
	size_t len;        /**< its length (at most STSPOLICY_MAX_BYTES) */
	enum sts_fetch_result fail; /**< with error: its class (STS_FETCH_TOO_LARGE, _TIMEOUT,
	                                 _TLS, _CONNECT; _ERROR or _NONE for any other) */
};

#define STS_TLS_NAMES_MAX 100 /**< DNS names kept from a certificate's subjectAltName */
#define STS_TLS_TEXT_MAX 256  /**< subject, issuer or verification reason, NUL included */

/** What the TLS handshake with the policy host showed (only when a caller asks for it with
 * fetch_start_tls(): the daemon's own fetches never collect it). */
struct sts_tls {
	int have_cert;                  /**< 1: the server's certificate was seen (fields below) */
	char version[16];               /**< negotiated protocol ("TLSv1.3"), "" if not reached */
	int64_t not_before;             /**< validity start of the server certificate (Unix time) */
	int64_t not_after;              /**< validity end (Unix time) */
	char subject[STS_TLS_TEXT_MAX]; /**< subject DN, one line */
	char issuer[STS_TLS_TEXT_MAX];  /**< issuer DN, one line */
	char cn[DNAME_MAX + 1];         /**< subject commonName, "" if none or not a name */
	char names[STS_TLS_NAMES_MAX][DNAME_MAX + 1]; /**< subjectAltName DNS names */
	unsigned n_names;                             /**< kept in names */
	unsigned n_names_total;            /**< DNS names in the certificate (may exceed n_names) */
	int verified;                      /**< 1: the chain verified to a trusted CA */
	int verify_dates;                  /**< 1: verification failed on the server certificate's
	                                        own dates (expired or not yet valid) */
	char verify_why[STS_TLS_TEXT_MAX]; /**< the verification failure, "" if none */
	int version_refused; /**< 1: the handshake ended in a protocol_version alert (the
	                          server offers no TLS version this fetcher accepts) */
};

/** A running discovery: caller storage, driven by sts_next() and the feeding calls. */
struct sts_eval {
	char domain[DNAME_MAX + 1]; /**< policy domain */
	struct sts_params prm;      /**< settings */
	struct cacherec rec;        /**< the domain's record, updated by the TOFU rules */
	int done;                   /**< the outcome is final */
	int write;                  /**< rec changed and must be stored */
	enum decide_disc disc;      /**< outcome for decide() */
	enum sts_event event;       /**< outcome for the log */
	char why[STS_WHY_MAX];      /**< failure text; may hold peer bytes (escape to log) */
	struct stsrecord txt;       /**< the id published (valid from the TXT answer on) */
	char prev_id[STSRECORD_ID_MAX + 1]; /**< STS_EV_CHANGED: the id of the policy replaced */
	uint32_t txt_ttl;                   /**< TTL of the TXT answer */
	uint8_t q[3];                       /**< TXT, A, AAAA: 0 unsent, 1 in flight, 2 answered */
	int fetch;                          /**< 0 not wanted yet, 1 to start, 2 started */
	unsigned n_v4, n_v6;                /**< addresses gathered */
	struct sts_addr v4[STS_ADDRS_MAX], v6[STS_ADDRS_MAX]; /**< by family */
	struct sts_addr addrs[STS_ADDRS_MAX];                 /**< what the fetch gets */
	unsigned n_addrs;                                     /**< count in addrs */
	const char *addr_why;          /**< first address lookup failure (static), or NULL */
	enum sts_fetch_result fetched; /**< how the fetch ended; STS_FETCH_NONE: none ended */
};

/**
 * Start the discovery of a policy domain (RFC 8461 s3) from what the cache holds.
 * @param e caller storage @param domain normalised policy domain
 * @param rec its cache record (copied; cacherec_init() state when none)
 * @param prm settings (copied) @param now current time
 */
void sts_init(struct sts_eval *e, const char *domain, const struct cacherec *rec,
              const struct sts_params *prm, int64_t now);

/**
 * What to do next: the TXT query of _mta-sts.<domain>, then the A and AAAA queries of
 * mta-sts.<domain> if a fetch is wanted, then the fetch.
 * @param e evaluation @param q filled for STS_ACT_QUERY @param f filled for STS_ACT_FETCH
 * @return the action (call again until STS_ACT_NONE)
 */
enum sts_action sts_next(struct sts_eval *e, struct sts_query *q, struct sts_fetch *f);

/**
 * Feed the raw answer to a query. Malformed or hostile messages count as a failed lookup.
 * @param e evaluation @param token from the query @param msg response (borrowed) @param len
 * its length @param now current time
 */
void sts_answer(struct sts_eval *e, unsigned token, const uint8_t *msg, size_t len, int64_t now);

/**
 * A query failed without an answer (timeout, SERVFAIL after retries, network error).
 * @param e evaluation @param token from the query @param why static reason @param now time
 */
void sts_fail(struct sts_eval *e, unsigned token, const char *why, int64_t now);

/**
 * Feed the result of the fetch: status 200 only, text/plain only, then stspolicy_parse().
 * @param e evaluation @param r what the fetch got (borrowed for the call) @param now time
 */
void sts_fetched(struct sts_eval *e, const struct sts_response *r, int64_t now);

/**
 * Instead of the fetch sts_next() asked for: another node of the fleet fetched this id's
 * policy meanwhile (read from the shared cache). Taken, and the discovery ends as if this
 * node had fetched it (disc DECIDE_DISC_FETCHED, event learned/changed/refreshed, fetched
 * stays STS_FETCH_NONE), only if it holds a policy for the TXT id just seen, fetched later
 * than the cached one and unexpired; else nothing changes and the caller fetches.
 * @param e evaluation waiting for its fetch @param peer the fleet's record @param now time
 * @return 1 taken (done), 0 not
 */
int sts_adopt(struct sts_eval *e, const struct cacherec *peer, int64_t now);

/**
 * The deadline passed: whatever is in flight has failed (TXT failure before the TXT answer,
 * fetch failure after it).
 * @param e evaluation @param why static reason @param now time
 */
void sts_abort(struct sts_eval *e, const char *why, int64_t now);

/**
 * Read the addresses of the policy host from the raw answer to its A or AAAA query (the
 * daemon's rule: CNAMEs followed inside the answer, records of the exact length only).
 * @param qname "mta-sts.<domain>" @param v6 1 for AAAA, 0 for A @param msg response (borrowed)
 * @param len its length @param out caller storage @param max room in out
 * @param why set to a static reason when the answer is unusable, else NULL
 * @return addresses stored (0 for NXDOMAIN, NODATA or an unusable answer)
 */
unsigned sts_addr_read(const char *qname, int v6, const uint8_t *msg, size_t len,
                       struct sts_addr *out, unsigned max, const char **why);

/**
 * RFC 8461 s3.3: is this Content-Type value the media type text/plain (parameters such as
 * charset allowed)? @param ct header value or NULL @return 1 if acceptable, 0 if not
 */
int sts_ctype_ok(const char *ct);

/** @param e evaluation @return 1 once disc, event, rec and write are final */
int sts_done(const struct sts_eval *e);

/** @param ev event @return its log name ("policy-learned", "txt-failed", ...) */
const char *sts_event_name(enum sts_event ev);

/** @param r fetch result @return its metrics label ("ok", "http-4xx", "tls", ...) */
const char *sts_fetch_result_name(enum sts_fetch_result r);

#endif
