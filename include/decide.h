/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_DECIDE_H
#define MTASTSD_DECIDE_H

#include <stdint.h>

#include "cacherec.h"
#include "cfg.h"
#include "dane.h"
#include "stspolicy.h"

/** Outcome of this lookup's discovery (RFC 8461 s3). */
enum decide_disc {
	DECIDE_DISC_NOT_RUN = 0,  /**< answered from cache, no discovery ran */
	DECIDE_DISC_NO_POLICY,    /**< no TXT, not exactly one STSv1 record, or remembered so */
	DECIDE_DISC_TXT_FAILED,   /**< DNS failure (SERVFAIL, timeout) */
	DECIDE_DISC_FETCH_FAILED, /**< TXT fine, fetch failed or policy invalid */
	DECIDE_DISC_FETCHED,      /**< a valid policy was just fetched */
};

/** Inputs of one decision. */
struct decide_input {
	const struct cacherec *cached; /**< cache record or NULL (borrowed) */
	enum decide_disc disc;         /**< discovery outcome */
	const struct stspolicy *fresh; /**< the new policy when disc is DECIDE_DISC_FETCHED */
	enum dane_state dane;          /**< DANE state (zone dane = no: read as INSECURE) */
	const struct danerec *dns;     /**< MX hosts for mx_check, or NULL (borrowed) */
	const char *domain; /**< policy domain, A-label, for 3.10 attributes (borrowed) */
};

/** What to answer. */
enum answer_kind {
	ANSWER_NOTFOUND = 0, /**< no policy from us */
	ANSWER_OK,           /**< a policy: see level */
	ANSWER_TEMP,         /**< defer */
};

/** Postfix TLS security level of an OK answer. */
enum answer_level {
	ANSWER_LEVEL_SECURE = 0, /**< secure match=... servername=hostname */
	ANSWER_LEVEL_DANE_ONLY,  /**< dane-only */
	ANSWER_LEVEL_DANE,       /**< dane */
	ANSWER_LEVEL_ENCRYPT,    /**< encrypt */
	ANSWER_LEVEL_MAY,        /**< may */
};

/** Most names a match= list can hold: resolved MX hosts, or the policy's literal names. */
#define ANSWER_MATCH_MAX (STSPOLICY_MAX_MX > DANE_HOSTS_MAX ? STSPOLICY_MAX_MX : DANE_HOSTS_MAX)

/** A decision. */
struct answer {
	enum answer_kind kind;          /**< kind */
	enum answer_level level;        /**< level when kind is ANSWER_OK */
	const struct stspolicy *policy; /**< policy for SECURE (borrowed from the input) */
	const char *why;                /**< static explanation for logs and mta-stsctl */
	unsigned n_match; /**< SECURE: exact names to match (mx_check); 0: the patterns */
	const char *match[ANSWER_MATCH_MAX]; /**< those names (borrowed from the input) */
	const char *tlsrpt_domain; /**< SECURE: add Postfix 3.10 attributes for it, or NULL */
};

/**
 * The decision table of design.md: (cached state, discovery, DANE, zone, now) -> answer.
 * The policy in force is the fresh one, else the cached one while now < expires. With zone
 * mx_check, SECURE lists only names the policy allows exactly (RFC 8461 s4.1), never a
 * pattern: the MX hosts of in->dns that it allows, or, when the MX set is unknown (no record,
 * or the MX lookup failed), its literal names; when that leaves no name the answer is TEMP.
 * With zone tlsrpt, SECURE carries the policy domain for the 3.10 attributes.
 * @param in inputs @param zone socketmap-name settings @param now current time
 * @param out result; out->policy borrows from in
 */
void decide(const struct decide_input *in, const struct cfg_zone *zone, int64_t now,
            struct answer *out);

/**
 * Where decide() reads the table for these inputs (for mta-stsctl check): the row ("enforce",
 * "testing", "none", "fetch_failed", "txt_failed") and the column (dane_state_name() of the
 * DANE state, "insecure" when the zone has dane = no).
 * @param in inputs @param zone zone @param now current time
 * @param row set to the row name (static) @param col set to the column name (static)
 */
void decide_cell(const struct decide_input *in, const struct cfg_zone *zone, int64_t now,
                 const char **row, const char **col);

/**
 * Does this zone need the destination's DNS record (MX set, DANE state) to answer, given what
 * the cache says of its policy? With DANE (zone dane and the AD bit trusted) always; for
 * mx_check when a policy in force is enforced (or testing treated as enforce), or while
 * discovery may still find one; otherwise not.
 * @param rec cache record @param zone zone @param trust_ad [daemon] dnssec @param now time
 * @return 1 if needed
 */
int decide_needs_dns(const struct cacherec *rec, const struct cfg_zone *zone, int trust_ad,
                     int64_t now);

/**
 * The discovery outcome an answer from the cache alone stands for.
 * @param view cacherec_view() of the record (not CACHEREC_VIEW_UNKNOWN)
 * @return DECIDE_DISC_NOT_RUN (policy), _NO_POLICY or _TXT_FAILED
 */
enum decide_disc decide_cached_disc(enum cacherec_view view);

#endif
