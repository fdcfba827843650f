/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_DANE_H
#define MTASTSD_DANE_H

#include <stddef.h>
#include <stdint.h>

#include "dname.h"

#define DANE_HOSTS_MAX 32    /**< MX hosts kept, lowest preference first (Postfix tries fewer) */
#define DANE_INFLIGHT_MAX 16 /**< queries of one evaluation in flight at once */
#define DANE_TTL_MIN 10      /**< floor on how long a DNS state is kept (s): TTL 0 is no flood */
#define DANE_TTL_MAX 86400   /**< ceiling (s) */
#define DANE_TTL_ERROR 60    /**< how long a failure is kept (s); RFC 2308 s7.1: at most 5 min */
#define DANE_STALE_MAX 3600  /**< ceiling on [daemon] dns_stale (s): the cache keeps no longer */
#define DANE_WHY_MAX 160     /**< explanation text, NUL included */
#define DANE_QNAME_MAX (DNAME_MAX + 20) /**< room for "_<port>._tcp." + name + NUL */
#define DANEREC_MAX_BYTES 10000         /**< upper bound of an encoded record */

/** DANE state of one destination (design.md decision table columns). */
enum dane_state {
	DANE_INSECURE = 0, /**< MX set not DNSSEC-signed, AD not trusted, or DANE off */
	DANE_ALL,          /**< every MX host with addresses has secure addresses and usable TLSA */
	DANE_SOME,         /**< at least one such host, not all */
	DANE_NONE,         /**< secure MX set, no host with usable TLSA */
	DANE_ERROR,        /**< a lookup failed (SERVFAIL, timeout, bogus) after a secure MX set */
};

/** What is known about the DNS of one destination: cached beside the MTA-STS record. */
struct danerec {
	enum dane_state state; /**< classification */
	int64_t expires;       /**< valid until (minimum TTL of what was used) */
	int64_t renew_after;   /**< a renewal failed: served stale, no new one before this (0) */
	int trust_ad;          /**< 1 if computed with the AD bit trusted */
	int mx_known;          /**< 1: hosts[] is the resolved MX set (possibly empty: null MX,
	                            NXDOMAIN); 0: the MX lookup failed, hosts[] means nothing */
	unsigned n_hosts;      /**< MX hosts (valid names only) */
	unsigned n_tlsa;       /**< hosts with usable secure TLSA */
	char hosts[DANE_HOSTS_MAX][DNAME_MAX + 1]; /**< valid LDH host names, preference order */
	char why[DANE_WHY_MAX];                    /**< short explanation for logs and mta-stsctl */
};

/** Record encoding errors. */
enum danerec_err {
	DANEREC_OK = 0,
	DANEREC_NO_SPACE, /**< output buffer too small */
	DANEREC_CORRUPT,  /**< wrong magic/version, truncated or inconsistent */
};

/** One query the evaluation wants sent (class IN, AD bit asked). */
struct dane_query {
	char name[DANE_QNAME_MAX]; /**< query name, no trailing dot */
	uint16_t type;             /**< RR type */
	unsigned token;            /**< give back with the answer */
};

/** Per-host progress (internal to dane.c; in the header so callers can embed the state). */
struct dane_host {
	char name[DNAME_MAX + 1];        /**< exchange */
	char base[DNAME_MAX + 1];        /**< TLSA base name: CNAME-expanded address owner */
	uint16_t pref;                   /**< MX preference */
	uint8_t q[4];                    /**< per query (A, AAAA, TLSA, TLSA at name): 0/1/2 */
	uint8_t addrs, insecure, usable; /**< addresses seen, an insecure answer, usable TLSA */
};

/** A running evaluation: caller storage, driven by dane_next() / dane_answer(). */
struct dane_eval {
	char name[DNAME_MAX + 1]; /**< domain (MX lookup) or bracketed host */
	unsigned port;            /**< SMTP port for _port._tcp */
	int bracketed;            /**< [host]: no MX lookup (RFC 7672 s2.2.1 does not apply) */
	int trust_ad;             /**< AD bit trusted (validating resolver, dnssec = yes) */
	uint8_t mx_q;             /**< MX query: 0 not sent, 1 sent, 2 done */
	int mx_secure;            /**< MX RRset (or its denial) validated */
	int mx_failed;            /**< the MX lookup failed: the MX set is unknown */
	int done;                 /**< state is final */
	unsigned inflight;        /**< queries sent, not answered */
	unsigned n_hosts;         /**< hosts in hosts[] */
	unsigned n_bad;           /**< MX exchanges that are not LDH host names (never DANE) */
	uint32_t ttl;             /**< minimum TTL so far */
	struct dane_host hosts[DANE_HOSTS_MAX]; /**< lowest preference first */
	enum dane_state state;                  /**< final state once done */
	char why[DANE_WHY_MAX];                 /**< explanation */
};

/**
 * Start an evaluation (RFC 7672 s2.2). A bracketed host skips the MX lookup; without trust in
 * the AD bit only the MX set is looked up (for mx_check) and the state is INSECURE.
 * @param e caller storage @param name normalised domain or host @param port SMTP port (0: 25)
 * @param bracketed 1 for "[host]" keys @param trust_ad 1 when the AD bit may be trusted
 */
void dane_init(struct dane_eval *e, const char *name, unsigned port, int bracketed, int trust_ad);

/**
 * The DNS record of a destination that needs no query at all (a bracketed host while the AD
 * bit is not trusted: INSECURE, the host itself as the only MX host), without an evaluation.
 * @param name host @param bracketed brackets @param trust_ad AD trusted
 * @param now time @param out filled when 1 is returned
 * @return 1 if out is the answer, 0 if an evaluation is needed
 */
int dane_static(const char *name, int bracketed, int trust_ad, int64_t now, struct danerec *out);

/**
 * The next query to send now, if any (bounded by DANE_INFLIGHT_MAX in flight).
 * @param e evaluation @param q filled when 1 is returned
 * @return 1 with q set, 0 when nothing is to be sent until an answer arrives (or done)
 */
int dane_next(struct dane_eval *e, struct dane_query *q);

/**
 * Feed the answer to a query. Bad, truncated or hostile messages count as a failed lookup.
 * @param e evaluation @param token from the query @param msg raw DNS response (borrowed)
 * @param len its length
 */
void dane_answer(struct dane_eval *e, unsigned token, const uint8_t *msg, size_t len);

/**
 * A query failed without an answer (timeout, SERVFAIL after retries, connection error).
 * @param e evaluation @param token from the query @param why static reason
 */
void dane_fail(struct dane_eval *e, unsigned token, const char *why);

/**
 * The deadline passed: every query still in flight has failed (ERROR after a secure MX set,
 * as for any failed lookup; an unknown MX set when the MX query itself was pending).
 * @param e evaluation @param why static reason
 */
void dane_abort(struct dane_eval *e, const char *why);

/**
 * Once nothing is in flight and dane_next() returns 0, the evaluation is complete.
 * @param e evaluation @return 1 when the result can be read
 */
int dane_done(const struct dane_eval *e);

/**
 * The outcome as a cache record.
 * @param e finished evaluation @param now current time @param out caller storage
 */
void dane_result(const struct dane_eval *e, int64_t now, struct danerec *out);

/**
 * @param r record @param now time @param trust_ad the AD bit is trusted now ([daemon] dnssec)
 * @return 1 if it may still be used: unexpired, and made with the same trust in the AD bit
 */
int danerec_valid(const struct danerec *r, int64_t now, int trust_ad);

/** How a cached record may be used now (danerec_usable()). */
enum danerec_use {
	DANEREC_UNUSABLE = 0, /**< look it up before answering */
	DANEREC_FRESH,        /**< valid: answer from it */
	DANEREC_STALE,        /**< answer from it while a renewal runs in the background */
	DANEREC_STALE_WAIT,   /**< answer from it; the last renewal failed, retry later */
};

/**
 * Serve-stale (after RFC 8767): a record that expired less than stale seconds ago still
 * answers while a background lookup renews it, unless it records a failure (ERROR, or an
 * unknown MX set). Safe under an enforced policy: the MX names it holds only narrow the
 * policy's own list (decide.c), and a DANE level makes Postfix look up TLSA itself.
 * @param r record @param now time @param trust_ad the AD bit is trusted now
 * @param stale [daemon] dns_stale, at most DANE_STALE_MAX (0: off)
 */
enum danerec_use danerec_usable(const struct danerec *r, int64_t now, int trust_ad, int64_t stale);

/**
 * The record to cache after renewing stored: fresh, unless the renewal failed (ERROR or
 * unknown MX set) while stored may still be served stale; then stored, with no new renewal
 * for DANE_TTL_ERROR seconds (RFC 8767's failure recheck).
 * @param stored the cached record (NULL: none) @param fresh the renewal's result
 * @param now time @param trust_ad AD trusted @param stale as for danerec_usable()
 * @param out the record to write
 * @return 1 when out is stored kept stale, 0 when out is fresh
 */
int danerec_renewed(const struct danerec *stored, const struct danerec *fresh, int64_t now,
                    int trust_ad, int64_t stale, struct danerec *out);

/**
 * Encode a record. @param r record @param out buffer @param outsz its size @param outlen length
 * @return DANEREC_OK or DANEREC_NO_SPACE
 */
enum danerec_err danerec_encode(const struct danerec *r, uint8_t *out, size_t outsz,
                                size_t *outlen);

/**
 * Decode and validate a record (states, counts, host names, text), so a damaged one is never
 * applied. On success every field is set, the hosts slots past n_hosts to the empty string
 * (the bytes after a string's NUL are left as they were); on failure r is all zero.
 * @param p bytes @param len length @param r result (caller storage)
 * @return DANEREC_OK or DANEREC_CORRUPT
 */
enum danerec_err danerec_decode(const uint8_t *p, size_t len, struct danerec *r);

#define DANE_KEY_SEP "#dane" /**< after the name in a DNS record's cache key */
#define DANE_KEY_OLD "dane/" /**< prefix of the keys of releases before 2026-11-30 */
#define DANE_KEY_OLD_LEN 5

/**
 * The cache key of a destination: "<domain>#dane", "<domain>#dane:<port>" or
 * "<host>#dane[]:<port>" ('#' never occurs in a normalised domain, so keys cannot collide with
 * MTA-STS records). Sorted bytewise, a key comes right after its domain's MTA-STS record ('#'
 * sorts before every byte a longer domain name can continue with): a cached answer reads both
 * records from the same LMDB page, one descent of the tree fetched into the CPU's caches.
 * @param name domain @param port 0 or port @param bracketed brackets
 * @param out buffer @param outsz its size (DANE_QNAME_MAX + 8 is enough)
 * @return 0, or -1 if it does not fit
 */
int dane_key(const char *name, unsigned port, int bracketed, char *out, size_t outsz);

/**
 * Whether a cache key is a DNS record's: dane_key()'s form, or "dane/..." as written before
 * (no longer read for answers; the refresh scheduler deletes them when they come due).
 * @param key bytes @param len length @return 1 or 0
 */
int dane_key_is(const char *key, size_t len);

/** @param s state @return "all", "some", "none", "insecure" or "error" */
const char *dane_state_name(enum dane_state s);

#endif
