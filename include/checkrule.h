/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_CHECKRULE_H
#define MTASTSD_CHECKRULE_H

#include <stddef.h>
#include <stdint.h>

#include "cacherec.h"
#include "cfg.h"
#include "dane.h"
#include "decide.h"
#include "dname.h"
#include "dnsmsg.h"
#include "sts.h"
#include "stspolicy.h"
#include "stsrecord.h"
#include "strbuf.h"

#define CHECKRULE_DIMS 9            /**< dimensions of a check, numbered 1..9 as in the man page */
#define CHECKRULE_FINDINGS_MAX 64   /**< findings kept per report (more: r->dropped counts them) */
#define CHECKRULE_FACTS_MAX 64      /**< facts kept per report */
#define CHECKRULE_MSG_MAX 400       /**< one message or fact value, NUL included */
#define CHECKRULE_KEY_MAX 24        /**< one fact key, NUL included */
#define CHECKRULE_OUT_MAX 262144    /**< cap on a rendered report (text or JSON) */
#define CHECKRULE_MAX_AGE_DAY 86400 /**< max_age below this: warning */
#define CHECKRULE_MAX_AGE_WEEK 604800   /**< max_age below this in enforce: info */
#define CHECKRULE_CERT_DAYS_WARN 14     /**< certificate expiring in fewer days: warning */
#define CHECKRULE_SCORE_WARNING 10      /**< points a warning costs */
#define CHECKRULE_SCORE_CRITICAL 20     /**< points a critical finding costs */
#define CHECKRULE_SCORE_CRITICAL_CAP 40 /**< the score never exceeds this with a critical */
#define CHECKRULE_CERT_NAMES_MAX 32     /**< names of one MX certificate kept for matching */
#define CHECKRULE_CERT_EXPIRING_DAYS 14 /**< an MX certificate expiring sooner: warning */
#define CHECKRULE_CHAIN_MAX 4           /**< certificates of a presented chain kept for DANE */
#define CHECKRULE_DER_MAX 4096 /**< DER bytes kept per certificate or key for full matching */

/** Severity of a finding. */
enum checkrule_sev {
	CHECKRULE_INFO = 0, /**< worth knowing; does not count in the score */
	CHECKRULE_WARNING,  /**< works, but weaker or fragile than it should be */
	CHECKRULE_CRITICAL, /**< senders will not apply the policy as meant, or mail fails */
};

/** The dimensions (the numbering is part of the interface). */
enum checkrule_dim {
	CHECKRULE_DIM_RECORD = 1, /**< _mta-sts TXT record */
	CHECKRULE_DIM_FETCH,      /**< HTTPS fetch of the policy */
	CHECKRULE_DIM_POLICY,     /**< policy syntax and values */
	CHECKRULE_DIM_CERT,       /**< certificate of mta-sts.DOMAIN */
	CHECKRULE_DIM_MX,         /**< MX hosts against the policy's patterns */
	CHECKRULE_DIM_SMTP,       /**< STARTTLS of each MX */
	CHECKRULE_DIM_TLSRPT,     /**< _smtp._tls TXT record */
	CHECKRULE_DIM_DANE,       /**< DANE of the MX hosts */
	CHECKRULE_DIM_CACHE,      /**< what this sender's daemon has cached */
};

/** Finding codes; their names (checkrule_code_name()) are the stable interface. */
enum checkrule_code {
	CHECKRULE_NOT_CHECKED = 0,    /**< the dimension was not checked (with the reason) */
	CHECKRULE_MISSING_RECORD,     /**< no STSv1 TXT record */
	CHECKRULE_MULTIPLE_RECORDS,   /**< more than one STSv1 record */
	CHECKRULE_RECORD_SYNTAX,      /**< the STSv1 record does not parse */
	CHECKRULE_ID_SYNTAX,          /**< its id is not 1-32 letters/digits */
	CHECKRULE_RECORD_LOOKUP,      /**< the TXT lookup failed */
	CHECKRULE_RECORD_EXTENSION,   /**< extension fields in the record */
	CHECKRULE_FETCH_FAILED,       /**< no HTTP response, or a status other than 200 and 3xx */
	CHECKRULE_REDIRECT,           /**< a 3xx answer */
	CHECKRULE_CONTENT_TYPE,       /**< media type not text/plain */
	CHECKRULE_TOO_LARGE,          /**< body over 64 KiB */
	CHECKRULE_HTTP_SERVED,        /**< plain HTTP on port 80 serves the policy too */
	CHECKRULE_HTTP_DIFFERS,       /**< ... and its body is not the one HTTPS serves */
	CHECKRULE_POLICY_SYNTAX,      /**< stspolicy_parse() rejects the body */
	CHECKRULE_MODE_NONE,          /**< mode none */
	CHECKRULE_MODE_TESTING,       /**< mode testing */
	CHECKRULE_MAX_AGE_SHORT,      /**< max_age under a day */
	CHECKRULE_MAX_AGE_BELOW_WEEK, /**< enforce with max_age under a week */
	CHECKRULE_UNKNOWN_KEY,        /**< keys the policy grammar does not define */
	CHECKRULE_CERT_INVALID,       /**< the policy host's chain does not verify */
	CHECKRULE_CERT_NAME_MISMATCH, /**< its certificate is not valid for mta-sts.DOMAIN */
	CHECKRULE_CERT_EXPIRED,       /**< its certificate has expired */
	CHECKRULE_CERT_EXPIRING,     /**< its certificate expires within CHECKRULE_CERT_DAYS_WARN */
	CHECKRULE_TLS_VERSION_OLD,   /**< it offers only TLS versions below 1.2 */
	CHECKRULE_MX_NO_MATCH,       /**< no MX host matches a pattern */
	CHECKRULE_MX_PARTIAL_MATCH,  /**< some MX hosts match no pattern */
	CHECKRULE_MX_PATTERN_UNUSED, /**< a pattern matches no MX host */
	CHECKRULE_NULL_MX,           /**< no mail host at all (null MX, no such domain) */
	CHECKRULE_MX_LOOKUP,         /**< the MX lookup failed */
	CHECKRULE_MX_SMTP_FAILED,    /**< an MX host could not be probed (connect, SMTP, time) */
	CHECKRULE_MX_NO_STARTTLS,    /**< an MX host offers no STARTTLS, or it fails */
	CHECKRULE_MX_CERT_INVALID,   /**< an MX certificate does not verify (or has expired) */
	CHECKRULE_MX_CERT_NAME_MISMATCH, /**< an MX certificate matches no name the policy allows */
	CHECKRULE_MX_CERT_EXPIRING,      /**< an MX certificate expires within 14 days */
	CHECKRULE_TLSRPT_MISSING,        /**< no TLSRPTv1 record */
	CHECKRULE_TLSRPT_MULTIPLE,       /**< more than one TLSRPTv1 record */
	CHECKRULE_TLSRPT_SYNTAX,         /**< the TLSRPTv1 record or a rua URI is invalid */
	CHECKRULE_TLSRPT_LOOKUP,         /**< the TXT lookup failed */
	CHECKRULE_DANE_NOT_VALIDATED,    /**< dnssec = no: DANE cannot be seen */
	CHECKRULE_DANE_TLSA_MISMATCH,    /**< a host's TLSA records match nothing it presents */
	CHECKRULE_DANE_PARTIAL,          /**< usable TLSA on some MX hosts only */
	CHECKRULE_DANE_MX_UNSIGNED,      /**< the MX set is not DNSSEC-signed */
	CHECKRULE_DANE_TLSA_UNUSABLE,    /**< TLSA records, none usable for SMTP */
	CHECKRULE_DANE_LOOKUP_FAILED,    /**< a DNSSEC failure or SERVFAIL */
	CHECKRULE_CACHE_STALE_ID,        /**< the cached id is not the one published */
	CHECKRULE_CACHE_EXPIRED,         /**< the cached policy has expired */
	CHECKRULE_CACHE_NONE,            /**< nothing cached for the domain */
	CHECKRULE_CACHE_UNAVAILABLE,     /**< the cache could not be read */
};
#define CHECKRULE_CODE_N (CHECKRULE_CACHE_UNAVAILABLE + 1) /**< count of enum checkrule_code */

/** One finding. */
struct checkrule_finding {
	enum checkrule_dim dim;      /**< where it is reported */
	enum checkrule_code code;    /**< what */
	enum checkrule_sev sev;      /**< the code's severity, or lower where the rule says so */
	char msg[CHECKRULE_MSG_MAX]; /**< details, printable ASCII only */
};

/** One fact shown in a dimension (what was found, not a judgement). */
struct checkrule_fact {
	enum checkrule_dim dim;        /**< where it is shown */
	char key[CHECKRULE_KEY_MAX];   /**< name, [a-z_] */
	char value[CHECKRULE_MSG_MAX]; /**< value, printable ASCII only */
};

/** A check report: caller storage, filled by the classifiers below. */
struct checkrule_report {
	char domain[DNAME_MAX + 1];                         /**< domain checked */
	int aborted;                                        /**< the check could not run */
	char abort_why[CHECKRULE_MSG_MAX];                  /**< why (with aborted) */
	unsigned n;                                         /**< findings */
	struct checkrule_finding f[CHECKRULE_FINDINGS_MAX]; /**< in the order found */
	unsigned n_facts;                                   /**< facts */
	struct checkrule_fact facts[CHECKRULE_FACTS_MAX];   /**< in the order found */
	unsigned dropped;                                   /**< findings/facts over the caps */
};

/**
 * Start an empty report. @param r caller storage @param domain normalised domain (copied)
 */
void checkrule_init(struct checkrule_report *r, const char *domain);

/**
 * The check itself could not run (bad argument, no resolver): exit status 3.
 * @param r report @param why reason (copied)
 */
void checkrule_abort(struct checkrule_report *r, const char *why);

/**
 * A dimension was not checked (not implemented yet, disabled, or nothing to check it with).
 * @param r report @param dim dimension @param why reason (copied)
 */
void checkrule_not_checked(struct checkrule_report *r, enum checkrule_dim dim, const char *why);

/**
 * Dimension 1: the raw answer to TXT _mta-sts.<domain> (RFC 8461 s3.1, read exactly as sts.c
 * reads it: records not beginning with v=STSv1 are ignored, exactly one must remain and parse).
 * @param r report @param msg response (borrowed) or NULL when the lookup failed
 * @param len its length @param why failure text when msg is NULL
 * @param out the published record when 1 is returned
 * @return 1 if exactly one valid STSv1 record is published, else 0
 */
int checkrule_record(struct checkrule_report *r, const uint8_t *msg, size_t len, const char *why,
                     struct stsrecord *out);

/**
 * Dimension 2: the HTTPS fetch (RFC 8461 s3.3). resp NULL: no fetch was made because the
 * policy host has no address (addr_why tells why, NULL: no A/AAAA record).
 * @param r report @param resp what the fetcher returned (borrowed), or NULL
 * @param addr_why address lookup failure text, or NULL
 * @return 1 if a body came with status 200 (checkrule_policy() should judge it), else 0
 */
int checkrule_fetch(struct checkrule_report *r, const struct sts_response *resp,
                    const char *addr_why);

/**
 * Dimension 2, for information: what plain HTTP on port 80 answers for the policy's URL
 * (fetched by fetch_start_plain(), never following a redirect). Senders never use it (RFC
 * 8461 s3.3 requires HTTPS): a redirect, an error status or nothing listening is only a fact;
 * a 200 with a policy body (one stspolicy_parse() accepts, or one beginning "version:") is
 * policy_http_served, or policy_http_differs when HTTPS served different bytes. A 200 with
 * something else (a catch-all page) is a fact: it is no copy of the policy.
 * @param r report @param http what port 80 answered (borrowed), or NULL when it was not
 * tried (no address) @param location its Location header, or NULL
 * @param https_body the body HTTPS served with status 200 (borrowed), or NULL when it served
 * none (nothing to compare with) @param https_len its length
 */
void checkrule_http(struct checkrule_report *r, const struct sts_response *http,
                    const char *location, const char *https_body, size_t https_len);

/**
 * Dimension 3: the policy body (RFC 8461 s3.2) through stspolicy_parse(), then its values.
 * @param r report @param body bytes (borrowed) @param len length @param out the policy when
 * 1 is returned @return 1 if the policy is valid, else 0
 */
int checkrule_policy(struct checkrule_report *r, const char *body, size_t len,
                     struct stspolicy *out);

/**
 * Dimension 4: the certificate of mta-sts.<domain> and the TLS version, as the policy fetch's
 * handshake showed them (fetch_start_tls()): chain verification, the name under RFC 6125
 * rules (subjectAltName DNS names, the commonName only without any; "*" stands for exactly
 * one left-most label, the daemon's stspolicy_mx_match()), days to expiry, TLS >= 1.2.
 * @param r report @param t what the handshake showed (borrowed), or NULL when no HTTPS
 * connection was attempted @param now current time
 */
void checkrule_cert(struct checkrule_report *r, const struct sts_tls *t, int64_t now);

/**
 * @param v protocol name as OpenSSL gives it ("TLSv1.3", "TLSv1.1", "SSLv3")
 * @return 1 if it is below TLS 1.2 (SSL 2/3, TLS 1.0/1.1), 0 otherwise
 */
int checkrule_tls_version_old(const char *v);

/**
 * Whether a certificate's names cover host (RFC 6125 s6.4: subjectAltName DNS names; the
 * commonName only when there is none; a wildcard only as the whole left-most label).
 * @param t handshake record with the names @param host the name asked for
 * @return 1 covered, 0 not
 */
int checkrule_cert_names_match(const struct sts_tls *t, const char *host);

/**
 * Dimension 5: the MX set the daemon's DNS machine (dane.c) resolved against the patterns,
 * under the daemon's one-label rule (stspolicy_mx_match(), RFC 8461 s4.1).
 * @param r report @param pol valid policy, or NULL when none was fetched
 * @param d the MX record of the destination (mx_known 0: the MX lookup failed)
 */
void checkrule_mx(struct checkrule_report *r, const struct stspolicy *pol, const struct danerec *d);

/** How the STARTTLS probe of one MX host ended. */
enum checkrule_smtp_res {
	CHECKRULE_SMTP_FAILED = 0,  /**< no dialogue: no address, connect, SMTP error, deadline */
	CHECKRULE_SMTP_NO_STARTTLS, /**< the EHLO reply offers no STARTTLS */
	CHECKRULE_SMTP_TLS_FAILED,  /**< STARTTLS refused, or its TLS handshake failed */
	CHECKRULE_SMTP_TLS,         /**< TLS established: the certificate fields are set */
};

/** What DANE TLSA records (RFC 6698 s2.1) match in one presented certificate: index 0 is the
 * whole certificate (selector 0), index 1 its SubjectPublicKeyInfo (selector 1). */
struct checkrule_certid {
	size_t len[2];                     /**< DER lengths */
	uint8_t sha256[2][32];             /**< SHA2-256 of each (matching type 1) */
	uint8_t sha512[2][64];             /**< SHA2-512 of each (matching type 2) */
	uint8_t der[2][CHECKRULE_DER_MAX]; /**< the DER (matching type 0) when len <= the cap */
	int issues_prev; /**< its key signed the certificate before it in the chain (not the leaf)
	                  */
};

/** What the STARTTLS probe (smtpprobe.c) saw at one MX host. */
struct checkrule_smtp {
	char host[DNAME_MAX + 1];    /**< MX host name */
	char addr[48];               /**< address probed (text), "" when none */
	enum checkrule_smtp_res res; /**< outcome */
	char why[CHECKRULE_MSG_MAX]; /**< failure text unless res is CHECKRULE_SMTP_TLS */
	char tls_version[16];        /**< negotiated protocol ("TLSv1.3") */
	long verify;                 /**< X.509 verification result: 0 = chains to a trusted CA */
	char verify_why[120];        /**< its text when not 0 */
	int64_t not_after;           /**< end of the leaf certificate's validity (Unix time) */
	unsigned n_names;            /**< names in names[] */
	unsigned names_dropped;      /**< names over CHECKRULE_CERT_NAMES_MAX, not kept */
	char names[CHECKRULE_CERT_NAMES_MAX][DNAME_MAX + 1]; /**< the leaf's DNS names: its
	                                                        subjectAltName dNSNames, or its
	                                                        CN when it has none */
	unsigned n_chain; /**< certificates in chain[], as presented, leaf first */
	struct checkrule_certid chain[CHECKRULE_CHAIN_MAX]; /**< what TLSA records match against */
};

/**
 * RFC 6125 s6.4 as Postfix applies it: does certificate name cname cover host name name?
 * Equal ignoring case and one trailing dot, or cname "*.rest" and name one label + ".rest".
 * @param cname name from the certificate @param name a host name @return 1 or 0
 */
int checkrule_cert_covers(const char *cname, const char *name);

/**
 * Is a certificate name one the policy allows under RFC 8461's one-label rule (stricter than
 * Postfix's ".example.com", any depth; with mx_check mta-stsd answers exact names)? Without a
 * policy (NULL, mode none) the allowed name is the MX host itself; with one, any name a pattern
 * allows under the one-label rule (RFC 8461 s4.1): an exact pattern the certificate name covers, a
 * "*.rest" pattern matching it (stspolicy_mx_match()), or the same wildcard.
 * @param pol valid policy or NULL @param host the MX host @param cname certificate name
 * @return 1 allowed, 0 not
 */
int checkrule_cert_allowed(const struct stspolicy *pol, const char *host, const char *cname);

/**
 * Dimension 6: the STARTTLS probe of each MX host. The failures that stop delivery under the
 * policy (mx_no_starttls, mx_cert_invalid, mx_cert_name_mismatch) are critical when the policy
 * is enforce, warnings otherwise (testing, none, no valid policy).
 * @param r report @param pol valid policy or NULL @param h probe results (borrowed)
 * @param n count @param now current time
 */
void checkrule_smtp(struct checkrule_report *r, const struct stspolicy *pol,
                    const struct checkrule_smtp *h, unsigned n, int64_t now);

/**
 * Dimension 7: the raw answer to TXT _smtp._tls.<domain> (RFC 8460 s3): exactly one record
 * beginning v=TLSRPTv1, with rua= URIs that are mailto: or https:.
 * @param r report @param msg response (borrowed) or NULL when the lookup failed
 * @param len its length @param why failure text when msg is NULL
 */
void checkrule_tlsrpt(struct checkrule_report *r, const uint8_t *msg, size_t len, const char *why);

/**
 * Check one TLS-RPT record (RFC 8460 s3) that begins with v=TLSRPTv1.
 * @param p record bytes @param len length @param why reason on failure (static or in buf)
 * @param buf room for a reason naming a bad URI @param bufsz its size
 * @return 1 valid, 0 invalid
 */
int checkrule_tlsrpt_valid(const char *p, size_t len, const char **why, char *buf, size_t bufsz);

/** The raw answer to TLSA _25._tcp.<host> for one MX host (dimension 8). */
struct checkrule_tlsa_ans {
	const uint8_t *msg; /**< response (borrowed), or NULL when the lookup failed or was not
	                         made (why says which) */
	size_t len;         /**< its length */
	const char *why;    /**< failure text when msg is NULL */
};

/**
 * Does TLSA record t match the certificate chain a host presented? DANE-EE(3) against the
 * leaf, DANE-TA(2) against the other certificates presented (RFC 7671 s5.1, s5.2); selector
 * 0/1, matching type 0/1/2 (RFC 6698 s2.1). Unusable records (dnsmsg_tlsa_usable()) never
 * match. @param t record @param h probe result with res CHECKRULE_SMTP_TLS
 * @return 1 match, 0 no match
 */
int checkrule_tlsa_match(const struct dnsmsg_tlsa *t, const struct checkrule_smtp *h);

/**
 * Dimension 8: DANE (RFC 7672) as the daemon's DNS machine saw it (d, made with the AD bit
 * trusted when dnssec is 1), each MX host's TLSA records (t[i] for d->hosts[i]) against the
 * certificate chain its STARTTLS probe saw. Without dnssec only dane_not_validated.
 * @param r report @param dnssec [daemon] dnssec @param d MX/DANE record (mx_known 0: failed)
 * @param t TLSA answers, d->n_hosts of them (NULL when not looked up)
 * @param h probe results (borrowed) or NULL @param n_h their count
 */
void checkrule_dane(struct checkrule_report *r, int dnssec, const struct danerec *d,
                    const struct checkrule_tlsa_ans *t, const struct checkrule_smtp *h,
                    unsigned n_h);

/**
 * The discovery outcome this sender's daemon would reach from what the check found (it
 * fetches only when exactly one valid record is published).
 * @param r report after checkrule_record() @param published checkrule_record() returned 1
 * @param have_pol checkrule_policy() returned 1 @return outcome for decide()
 */
enum decide_disc checkrule_disc(const struct checkrule_report *r, int published, int have_pol);

/**
 * How this sender's daemon would answer for the domain now: decide() and answer_reply() on
 * the discovery outcome, the policy fetched and the DNS record, with nothing cached; facts
 * in dimension 9 (zone, table row and column, reply, why).
 * @param r report @param in decision inputs @param zone the zone (the default one)
 * @param now current time
 */
void checkrule_decision(struct checkrule_report *r, const struct decide_input *in,
                        const struct cfg_zone *zone, int64_t now);

/**
 * Dimension 9: what this sender's daemon has cached, against the id published now.
 * @param r report @param unavailable why the cache could not be read, or NULL
 * @param rec the domain's cache record, or NULL when there is none
 * @param published the id DNS publishes now, or NULL when no valid record is published
 * @param now current time
 */
void checkrule_cache(struct checkrule_report *r, const char *unavailable,
                     const struct cacherec *rec, const char *published, int64_t now);

/**
 * The score: 100 - CHECKRULE_SCORE_WARNING per warning - CHECKRULE_SCORE_CRITICAL per
 * critical, at least 0; with any critical at most CHECKRULE_SCORE_CRITICAL_CAP; info counts
 * nothing. An aborted check scores 0.
 * @param r report @return 0..100
 */
unsigned checkrule_score(const struct checkrule_report *r);

/**
 * @param r report @return exit status: 3 aborted, 2 a critical finding, 1 a warning, 0 none
 */
int checkrule_exit(const struct checkrule_report *r);

/** @param r report @param sev severity @return findings of that severity */
unsigned checkrule_count(const struct checkrule_report *r, enum checkrule_sev sev);

/** @param c code @return its stable name ("missing_record", ...) */
const char *checkrule_code_name(enum checkrule_code c);
/** @param c code @return its severity */
enum checkrule_sev checkrule_code_sev(enum checkrule_code c);
/** @param c code @return its one-line fix hint */
const char *checkrule_code_hint(enum checkrule_code c);
/** @param s severity @return "info", "warning" or "critical" */
const char *checkrule_sev_name(enum checkrule_sev s);
/** @param d dimension @return its short name ("record", "policy_fetch", ...) */
const char *checkrule_dim_name(enum checkrule_dim d);
/** @param d dimension @return its title for the text report */
const char *checkrule_dim_title(enum checkrule_dim d);

/**
 * Render the report as text, grouped by dimension, then the score.
 * @param r report @param out buffer (appended to; its cap should be >= CHECKRULE_OUT_MAX)
 * @return 0, or -1 if out's cap was reached
 */
int checkrule_text(const struct checkrule_report *r, struct strbuf *out);

/**
 * Render the report as one JSON object (schema in mta-stsctl(1)), newline-terminated.
 * @param r report @param out buffer (appended to) @return 0, or -1 if out's cap was reached
 */
int checkrule_json(const struct checkrule_report *r, struct strbuf *out);

#endif
