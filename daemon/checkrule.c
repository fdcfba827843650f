/* SPDX-License-Identifier: MIT */
/*
 * checkrule: the rules of `mta-stsctl check`: the table of finding codes (severity, dimension,
 * fix hint), classifiers that take the raw results of each dimension and append findings and
 * facts, the score and exit status, and the text and JSON renderings. Pure (P): no I/O, no
 * clock (now is a parameter). Every rule the daemon also applies comes from the daemon's own
 * code, so checker and daemon cannot disagree: TXT answers are read by dnsmsg.c and judged by
 * stsrecord.c, the media type by sts_ctype_ok(), the policy by stspolicy_parse(), MX coverage
 * by stspolicy_mx_match() (RFC 8461 s4.1 one-label rule) over the MX set dane.c resolved, the
 * cache by cacherec_view(), certificate names by stspolicy_mx_match() (one left-most label,
 * as RFC 6125 s6.4.3 wildcards), DANE by dane.c's state and dnsmsg_tlsa_usable(), the
 * daemon's reply by decide.c and answer.c. Its own rules: TLS-RPT records (RFC 8460 s3),
 * advice thresholds, certificate dates, the TLS version floor (1.2, as fetch.c sets it) and
 * TLSA matching against the probed chain (RFC 6698 s2.1, RFC 7671 s5).
 * Text is kept printable ASCII (peer bytes become '?'): safe on a terminal, JSON needs only
 * quote and backslash escapes. Limits: CHECKRULE_FINDINGS_MAX, _FACTS_MAX, _MSG_MAX ("...").
 * Queries, fetches, the probe, reading the cache: checker.c; printing: ctl.c.
 */
#include "checkrule.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "answer.h"
#include "dnsmsg.h"
#include "xalloc.h"

#define CHECKRULE_LIST_MAX 8 /* names listed in one message before "and N more" */

struct code_info {
	const char *name;
	enum checkrule_sev sev;
	const char *hint;
};

/* Indexed by enum checkrule_code. */
static const struct code_info codes[CHECKRULE_CODE_N] = {
    [CHECKRULE_NOT_CHECKED] = {"not_checked", CHECKRULE_INFO,
                               "nothing to fix: this part was not examined"},
    [CHECKRULE_MISSING_RECORD] = {"missing_record", CHECKRULE_CRITICAL,
                                  "publish one TXT record \"v=STSv1; id=YYYYMMDDHHMMSS;\" at "
                                  "_mta-sts.DOMAIN"},
    [CHECKRULE_MULTIPLE_RECORDS] = {"multiple_records", CHECKRULE_CRITICAL,
                                    "keep exactly one TXT record beginning v=STSv1; senders "
                                    "ignore them all otherwise"},
    [CHECKRULE_RECORD_SYNTAX] = {"record_syntax", CHECKRULE_CRITICAL,
                                 "write the record as \"v=STSv1; id=ID;\" with v=STSv1 first"},
    [CHECKRULE_ID_SYNTAX] = {"id_syntax", CHECKRULE_CRITICAL,
                             "use an id of 1 to 32 letters and digits, e.g. a timestamp"},
    [CHECKRULE_RECORD_LOOKUP] = {"record_lookup_failed", CHECKRULE_CRITICAL,
                                 "make the domain's name servers answer TXT queries for "
                                 "_mta-sts.DOMAIN (check DNSSEC signatures too)"},
    [CHECKRULE_RECORD_EXTENSION] = {"record_extension", CHECKRULE_INFO,
                                    "senders ignore extension fields; remove them unless you "
                                    "need them"},
    [CHECKRULE_FETCH_FAILED] = {"policy_fetch_failed", CHECKRULE_CRITICAL,
                                "serve https://mta-sts.DOMAIN/.well-known/mta-sts.txt with "
                                "status 200 and a valid certificate"},
    [CHECKRULE_REDIRECT] = {"policy_redirect", CHECKRULE_CRITICAL,
                            "serve the policy directly with status 200: senders never "
                            "follow redirects"},
    [CHECKRULE_CONTENT_TYPE] = {"policy_content_type", CHECKRULE_CRITICAL,
                                "serve the policy with Content-Type: text/plain"},
    [CHECKRULE_TOO_LARGE] = {"policy_too_large", CHECKRULE_CRITICAL,
                             "keep the policy file under 64 KiB"},
    [CHECKRULE_HTTP_SERVED] = {"policy_http_served", CHECKRULE_INFO,
                               "nothing to fix: senders fetch the policy over HTTPS only; "
                               "keep the plain-HTTP copy the same as the HTTPS one, or "
                               "redirect port 80 to https://"},
    [CHECKRULE_HTTP_DIFFERS] = {"policy_http_differs", CHECKRULE_WARNING,
                                "serve the same file on port 80 as over HTTPS, or redirect "
                                "port 80 to https://: a plain-HTTP copy that differs "
                                "misleads people who read it"},
    [CHECKRULE_POLICY_SYNTAX] = {"policy_syntax", CHECKRULE_CRITICAL,
                                 "fix the policy: version: STSv1, mode, one mx: line per "
                                 "pattern, max_age in seconds"},
    [CHECKRULE_MODE_NONE] = {"mode_none", CHECKRULE_WARNING,
                             "mode none withdraws the policy: switch to testing, then "
                             "enforce, once the MX hosts are ready"},
    [CHECKRULE_MODE_TESTING] = {"mode_testing", CHECKRULE_INFO,
                                "switch to mode enforce once TLS reports show no failures"},
    [CHECKRULE_MAX_AGE_SHORT] = {"max_age_short", CHECKRULE_WARNING,
                                 "raise max_age to at least 86400 (one day); 604800 or more "
                                 "once stable"},
    [CHECKRULE_MAX_AGE_BELOW_WEEK] = {"max_age_below_week", CHECKRULE_INFO,
                                      "with mode enforce, a max_age of 604800 (a week) or more "
                                      "protects against downgrades for longer"},
    [CHECKRULE_UNKNOWN_KEY] = {"policy_unknown_key", CHECKRULE_INFO,
                               "senders ignore unknown keys; check them for typos"},
    [CHECKRULE_CERT_INVALID] = {"cert_invalid", CHECKRULE_CRITICAL,
                                "install a certificate for mta-sts.DOMAIN from a public CA, "
                                "with the intermediate certificates in the served chain"},
    [CHECKRULE_CERT_NAME_MISMATCH] = {"cert_name_mismatch", CHECKRULE_CRITICAL,
                                      "add mta-sts.DOMAIN to the certificate's subject "
                                      "alternative names (or serve it by SNI)"},
    [CHECKRULE_CERT_EXPIRED] = {"cert_expired", CHECKRULE_CRITICAL,
                                "renew the certificate of mta-sts.DOMAIN and reload the web "
                                "server"},
    [CHECKRULE_CERT_EXPIRING] = {"cert_expiring", CHECKRULE_WARNING,
                                 "renew the certificate of mta-sts.DOMAIN now, and automate "
                                 "renewal (ACME)"},
    [CHECKRULE_TLS_VERSION_OLD] = {"tls_version_old", CHECKRULE_CRITICAL,
                                   "enable TLS 1.2 and 1.3 on the mta-sts.DOMAIN web server"},
    [CHECKRULE_MX_NO_MATCH] = {"mx_no_match", CHECKRULE_CRITICAL,
                               "add an mx: pattern for each MX host (* matches exactly one "
                               "label)"},
    [CHECKRULE_MX_PARTIAL_MATCH] = {"mx_partial_match", CHECKRULE_WARNING,
                                    "add an mx: pattern for the hosts named (* matches "
                                    "exactly one label)"},
    [CHECKRULE_MX_PATTERN_UNUSED] = {"mx_pattern_unused", CHECKRULE_INFO,
                                     "remove patterns of hosts that no longer receive mail"},
    [CHECKRULE_NULL_MX] = {"null_mx", CHECKRULE_INFO,
                           "the domain receives no mail: an MTA-STS policy protects nothing"},
    [CHECKRULE_MX_LOOKUP] = {"mx_lookup_failed", CHECKRULE_WARNING,
                             "make the domain's name servers answer MX queries"},
    [CHECKRULE_MX_SMTP_FAILED] = {"mx_smtp_failed", CHECKRULE_WARNING,
                                  "make each MX host accept SMTP connections on port 25 and "
                                  "answer EHLO (check firewalls and the greeting)"},
    [CHECKRULE_MX_NO_STARTTLS] = {"mx_no_starttls", CHECKRULE_CRITICAL,
                                  "enable STARTTLS on every MX host (Postfix: "
                                  "smtpd_tls_security_level = may, with a certificate)"},
    [CHECKRULE_MX_CERT_INVALID] = {"mx_cert_invalid", CHECKRULE_CRITICAL,
                                   "install a certificate from a trusted CA, unexpired, with "
                                   "the full chain (Postfix: smtpd_tls_chain_files)"},
    [CHECKRULE_MX_CERT_NAME_MISMATCH] = {"mx_cert_name_mismatch", CHECKRULE_CRITICAL,
                                         "give each MX host a certificate for its own name, "
                                         "and list that name in the policy's mx: lines"},
    [CHECKRULE_MX_CERT_EXPIRING] = {"mx_cert_expiring", CHECKRULE_WARNING,
                                    "renew the MX certificate now (automate renewal, e.g. "
                                    "with ACME)"},
    [CHECKRULE_TLSRPT_MISSING] = {"tls_rpt_missing", CHECKRULE_WARNING,
                                  "publish \"v=TLSRPTv1; rua=mailto:tlsrpt@DOMAIN\" at "
                                  "_smtp._tls.DOMAIN to receive TLS failure reports"},
    [CHECKRULE_TLSRPT_MULTIPLE] = {"tls_rpt_multiple", CHECKRULE_WARNING,
                                   "keep exactly one TXT record beginning v=TLSRPTv1"},
    [CHECKRULE_TLSRPT_SYNTAX] = {"tls_rpt_syntax", CHECKRULE_WARNING,
                                 "write \"v=TLSRPTv1; rua=URI[,URI]\" with mailto: or "
                                 "https: URIs"},
    [CHECKRULE_TLSRPT_LOOKUP] = {"tls_rpt_lookup_failed", CHECKRULE_WARNING,
                                 "make the domain's name servers answer TXT queries for "
                                 "_smtp._tls.DOMAIN"},
    [CHECKRULE_DANE_NOT_VALIDATED] = {"dane_not_validated", CHECKRULE_INFO,
                                      "to see DANE, run a local validating resolver (unbound) "
                                      "and set [daemon] dnssec = yes"},
    [CHECKRULE_DANE_TLSA_MISMATCH] = {"dane_tlsa_mismatch", CHECKRULE_CRITICAL,
                                      "publish TLSA records for the certificate the host "
                                      "serves now (e.g. 3 1 1 of its public key), keeping the "
                                      "old ones until the new key is in use"},
    [CHECKRULE_DANE_PARTIAL] = {"dane_partial", CHECKRULE_WARNING,
                                "publish usable TLSA records for every MX host, or for none"},
    [CHECKRULE_DANE_MX_UNSIGNED] = {"dane_mx_unsigned", CHECKRULE_INFO,
                                    "to use DANE, sign the zone with DNSSEC (the MX records "
                                    "and the MX hosts' zones)"},
    [CHECKRULE_DANE_TLSA_UNUSABLE] = {"dane_tlsa_unusable", CHECKRULE_WARNING,
                                      "use DANE-EE (3 1 1) or DANE-TA (2 x x) records: SMTP "
                                      "senders ignore usages 0 and 1 (RFC 7672 s3.1.3)"},
    [CHECKRULE_DANE_LOOKUP_FAILED] = {"dane_lookup_failed", CHECKRULE_WARNING,
                                      "fix the DNSSEC signatures (or delegation) of the MX "
                                      "and TLSA records: senders with DANE defer mail"},
    [CHECKRULE_CACHE_STALE_ID] = {"cache_stale_id", CHECKRULE_INFO,
                                  "nothing to fix on the domain: the daemon fetches the new "
                                  "policy at its next TXT check (txt_recheck), or run "
                                  "mta-stsctl cache purge DOMAIN"},
    [CHECKRULE_CACHE_EXPIRED] = {"cache_expired", CHECKRULE_INFO,
                                 "the daemon fetches the policy again when mail is next sent"},
    [CHECKRULE_CACHE_NONE] = {"cache_none", CHECKRULE_INFO,
                              "the daemon learns the policy when mail is first sent"},
    [CHECKRULE_CACHE_UNAVAILABLE] = {"cache_unavailable", CHECKRULE_INFO,
                                     "run the check where mta-stsd runs, as a user that may "
                                     "read its cache_dir"},
};

static const char *const dim_names[CHECKRULE_DIMS + 1] = {
    NULL,          "record",        "policy_fetch", "policy_syntax", "certificate",
    "mx_coverage", "smtp_starttls", "tls_rpt",      "dane",          "cache"};
static const char *const dim_titles[CHECKRULE_DIMS + 1] = {NULL,
                                                           "TXT record _mta-sts",
                                                           "Policy fetch",
                                                           "Policy syntax",
                                                           "Certificate of mta-sts host",
                                                           "MX coverage",
                                                           "MX STARTTLS",
                                                           "TLS-RPT record _smtp._tls",
                                                           "DANE",
                                                           "This sender's cache"};

/* ---- building the report ---- */

/* Copy text keeping printable ASCII (peer bytes may be anything); "..." marks a cut. */
static void
clean_copy(char *dst, size_t dstsz, const char *src)
{
	size_t n = 0, len = strlen(src);

	for (size_t i = 0; i < len && n + 1 < dstsz; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[n] = '\0';
	if (n < len && dstsz > 4)
		memcpy(dst + dstsz - 4, "...", 4);
}

/* Peer bytes (not NUL-terminated) as a C string of at most outsz - 1 bytes. */
static const char *
bytes_str(const char *p, size_t len, char *out, size_t outsz)
{
	size_t n = len < outsz - 1 ? len : outsz - 1;

	memcpy(out, p, n);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\0')
			out[i] = '?';
	return out;
}

static void addv(struct checkrule_report *r, enum checkrule_dim dim, enum checkrule_code code,
                 enum checkrule_sev sev, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static void add(struct checkrule_report *r, enum checkrule_dim dim, enum checkrule_code code,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add_sev(struct checkrule_report *r, enum checkrule_dim dim, enum checkrule_code code,
                    enum checkrule_sev sev, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
addv(struct checkrule_report *r, enum checkrule_dim dim, enum checkrule_code code,
     enum checkrule_sev sev, const char *fmt, va_list ap)
{
	char tmp[CHECKRULE_MSG_MAX * 2];
	int n;

	if (r->n >= CHECKRULE_FINDINGS_MAX) {
		r->dropped++;
		return;
	}
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	if (n < 0)
		tmp[0] = '\0';
	r->f[r->n].dim = dim;
	r->f[r->n].code = code;
	r->f[r->n].sev = sev;
	clean_copy(r->f[r->n].msg, sizeof(r->f[r->n].msg), tmp);
	if (n >= (int)sizeof(tmp))
		memcpy(r->f[r->n].msg + sizeof(r->f[r->n].msg) - 4, "...", 4);
	r->n++;
}

/* A finding with the severity of its code. */
static void
add(struct checkrule_report *r, enum checkrule_dim dim, enum checkrule_code code, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	addv(r, dim, code, checkrule_code_sev(code), fmt, ap);
	va_end(ap);
}

/* A finding with a severity the rule chose (never above its code's). */
static void
add_sev(struct checkrule_report *r, enum checkrule_dim dim, enum checkrule_code code,
        enum checkrule_sev sev, const char *fmt, ...)
{
	va_list ap;

	if (sev > checkrule_code_sev(code))
		sev = checkrule_code_sev(code);
	va_start(ap, fmt);
	addv(r, dim, code, sev, fmt, ap);
	va_end(ap);
}

static void fact(struct checkrule_report *r, enum checkrule_dim dim, const char *key,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fact(struct checkrule_report *r, enum checkrule_dim dim, const char *key, const char *fmt, ...)
{
	char tmp[CHECKRULE_MSG_MAX * 2];
	va_list ap;
	int n;

	if (r->n_facts >= CHECKRULE_FACTS_MAX) {
		r->dropped++;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		tmp[0] = '\0';
	r->facts[r->n_facts].dim = dim;
	INVARIANT(strlen(key) < CHECKRULE_KEY_MAX); /* keys are literals of this file */
	memcpy(r->facts[r->n_facts].key, key, strlen(key) + 1);
	clean_copy(r->facts[r->n_facts].value, CHECKRULE_MSG_MAX, tmp);
	if (n >= (int)sizeof(tmp))
		memcpy(r->facts[r->n_facts].value + CHECKRULE_MSG_MAX - 4, "...", 4);
	r->n_facts++;
}

/* A comma-separated list of names, at most CHECKRULE_LIST_MAX, then "and N more". */
struct namelist {
	char s[CHECKRULE_MSG_MAX];
	size_t len;
	unsigned n;
};

static void
namelist_add(struct namelist *l, const char *name)
{
	int w;

	if (l->n++ >= CHECKRULE_LIST_MAX)
		return;
	w = snprintf(l->s + l->len, sizeof(l->s) - l->len, "%s%s", l->len ? ", " : "", name);
	if (w > 0)
		l->len += (size_t)w < sizeof(l->s) - l->len ? (size_t)w : sizeof(l->s) - l->len - 1;
}

static const char *
namelist_str(struct namelist *l)
{
	if (l->n > CHECKRULE_LIST_MAX) {
		int w = snprintf(l->s + l->len, sizeof(l->s) - l->len, " and %u more",
		                 l->n - CHECKRULE_LIST_MAX);

		if (w > 0)
			l->len += (size_t)w < sizeof(l->s) - l->len ? (size_t)w
			                                            : sizeof(l->s) - l->len - 1;
	}
	return l->s;
}

void
checkrule_init(struct checkrule_report *r, const char *domain)
{
	memset(r, 0, sizeof(*r));
	clean_copy(r->domain, sizeof(r->domain), domain);
}

void
checkrule_abort(struct checkrule_report *r, const char *why)
{
	r->aborted = 1;
	clean_copy(r->abort_why, sizeof(r->abort_why), why);
}

void
checkrule_not_checked(struct checkrule_report *r, enum checkrule_dim dim, const char *why)
{
	add(r, dim, CHECKRULE_NOT_CHECKED, "%s", why);
}

/* prefix + domain as a query name; 0 if it cannot be one. */
static int
qname_of(const struct checkrule_report *r, const char *prefix, char out[DNAME_MAX + 1])
{
	int n = snprintf(out, DNAME_MAX + 1, "%s%s", prefix, r->domain);

	return n > 0 && n <= DNAME_MAX;
}

/* ---- dimension 1: _mta-sts TXT ---- */

/* A TXT record that is not STSv1 for RFC 8461 but was probably meant to be: "v=STSv1" not
 * first, or the version in the wrong case. */
static int
near_sts(const char *p, size_t len)
{
	for (size_t i = 0; i + 7 <= len; i++)
		if (strncasecmp(p + i, "v=STSv1", 7) == 0)
			return 1;
	return 0;
}

/* Extension fields of a valid record: every "key=value" but v and id. */
static void
record_extensions(struct checkrule_report *r, const char *p, size_t len)
{
	struct namelist l = {{0}, 0, 0};
	size_t i = 0;

	while (i < len) {
		size_t s, k;
		char key[64];

		while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == ';'))
			i++;
		s = i;
		while (i < len && p[i] != '=' && p[i] != ';')
			i++;
		k = i - s;
		while (i < len && p[i] != ';')
			i++;
		if (k == 0)
			continue;
		if ((k == 1 && p[s] == 'v') || (k == 2 && memcmp(p + s, "id", 2) == 0))
			continue;
		namelist_add(&l, bytes_str(p + s, k, key, sizeof(key)));
	}
	if (l.n > 0)
		add(r, CHECKRULE_DIM_RECORD, CHECKRULE_RECORD_EXTENSION, "extension fields: %s",
		    namelist_str(&l));
}

int
checkrule_record(struct checkrule_report *r, const uint8_t *msg, size_t len, const char *why,
                 struct stsrecord *out)
{
	char qname[DNAME_MAX + 1], buf[STSRECORD_TXT_MAX + 1], first[STSRECORD_TXT_MAX + 1];
	char nearbuf[STSRECORD_TXT_MAX + 1] = "", shown[CHECKRULE_MSG_MAX];
	struct dnsmsg_answer a;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	enum stsrecord_err res = STSRECORD_NONE;
	unsigned seen = 0, nsts = 0, other = 0;
	size_t firstlen = 0;

	if (!qname_of(r, "_mta-sts.", qname)) {
		add(r, CHECKRULE_DIM_RECORD, CHECKRULE_MISSING_RECORD,
		    "_mta-sts.%s is longer than a DNS name may be", r->domain);
		return 0;
	}
	fact(r, CHECKRULE_DIM_RECORD, "name", "%s", qname);
	if (msg == NULL) {
		add(r, CHECKRULE_DIM_RECORD, CHECKRULE_RECORD_LOOKUP, "TXT %s: %s", qname,
		    why != NULL ? why : "no answer");
		return 0;
	}
	switch (dnsmsg_answer(msg, len, qname, DNSMSG_TXT, &a)) {
	case DNSMSG_ANS_FAIL:
		add(r, CHECKRULE_DIM_RECORD, CHECKRULE_RECORD_LOOKUP, "TXT %s: %s", qname, a.why);
		return 0;
	case DNSMSG_ANS_NXDOMAIN:
	case DNSMSG_ANS_NODATA:
		add(r, CHECKRULE_DIM_RECORD, CHECKRULE_MISSING_RECORD, "no TXT record at %s%s",
		    qname, a.m.rcode == 3 ? " (no such name)" : "");
		return 0;
	case DNSMSG_ANS_DATA:
		break;
	}
	/* sts.c's reading: records not beginning with v=STSv1 are ignored, exactly one must
	 * remain, and it must parse. */
	dnsmsg_iter_init(&a.m, &it);
	while (dnsmsg_next(&a.m, &it, &rr) == DNSMSG_OK && seen < STSRECORD_RECORDS_MAX) {
		struct stsrecord_txt t = {buf, 0};
		struct stsrecord one;
		enum stsrecord_err e;

		if (!dnsmsg_answer_has(&a, &rr, DNSMSG_TXT))
			continue;
		seen++;
		if (dnsmsg_rr_txt(&a.m, &rr, buf, sizeof(buf), &t.len) != DNSMSG_OK) {
			add(r, CHECKRULE_DIM_RECORD, CHECKRULE_RECORD_LOOKUP,
			    "TXT %s: malformed TXT record", qname);
			return 0;
		}
		if ((e = stsrecord_select(&t, 1, &one)) == STSRECORD_NONE) {
			other++;
			if (nearbuf[0] == '\0' && near_sts(buf, t.len))
				bytes_str(buf, t.len, nearbuf, sizeof(nearbuf));
			continue;
		}
		if (++nsts == 1) {
			res = e;
			*out = one;
			memcpy(first, buf, t.len);
			firstlen = t.len;
		}
	}
	fact(r, CHECKRULE_DIM_RECORD, "ttl", "%u", (unsigned)a.ttl);
	if (nsts == 0) {
		if (nearbuf[0] != '\0')
			add(r, CHECKRULE_DIM_RECORD, CHECKRULE_RECORD_SYNTAX,
			    "\"%s\" does not begin with v=STSv1 (exact case), so senders ignore it",
			    nearbuf);
		else
			add(r, CHECKRULE_DIM_RECORD, CHECKRULE_MISSING_RECORD,
			    "no record beginning v=STSv1 at %s (%u other TXT record%s ignored)",
			    qname, other, other == 1 ? "" : "s");
		return 0;
	}
	if (nsts > 1) {
		add(r, CHECKRULE_DIM_RECORD, CHECKRULE_MULTIPLE_RECORDS,
		    "%u records begin with v=STSv1: senders see no policy at all", nsts);
		return 0;
	}
	bytes_str(first, firstlen, shown, sizeof(shown));
	fact(r, CHECKRULE_DIM_RECORD, "record", "%s", shown);
	if (res == STSRECORD_BAD_ID) {
		add(r, CHECKRULE_DIM_RECORD, CHECKRULE_ID_SYNTAX, "\"%s\": %s", shown,
		    stsrecord_strerror(res));
		return 0;
	}
	if (res != STSRECORD_OK) {
		add(r, CHECKRULE_DIM_RECORD, CHECKRULE_RECORD_SYNTAX, "\"%s\": %s", shown,
		    stsrecord_strerror(res));
		return 0;
	}
	fact(r, CHECKRULE_DIM_RECORD, "id", "%s", out->id);
	record_extensions(r, first, firstlen);
	return 1;
}

/* ---- dimension 2: fetch ---- */

static const char *
fail_cause(enum sts_fetch_result f)
{
	switch (f) {
	case STS_FETCH_TIMEOUT:
		return "timeout";
	case STS_FETCH_TLS:
		return "TLS";
	case STS_FETCH_CONNECT:
		return "connect";
	default:
		return "transport";
	}
}

int
checkrule_fetch(struct checkrule_report *r, const struct sts_response *resp, const char *addr_why)
{
	char url[DNAME_MAX + 64];

	(void)snprintf(url, sizeof(url), "https://mta-sts.%s/.well-known/mta-sts.txt", r->domain);
	fact(r, CHECKRULE_DIM_FETCH, "url", "%s", url);
	if (resp == NULL) {
		add(r, CHECKRULE_DIM_FETCH, CHECKRULE_FETCH_FAILED, "DNS: mta-sts.%s: %s",
		    r->domain, addr_why != NULL ? addr_why : "no A or AAAA record");
		return 0;
	}
	if (resp->error != NULL) {
		if (resp->fail == STS_FETCH_TOO_LARGE)
			add(r, CHECKRULE_DIM_FETCH, CHECKRULE_TOO_LARGE, "body over %u bytes: %s",
			    (unsigned)STSPOLICY_MAX_BYTES, resp->error);
		else
			add(r, CHECKRULE_DIM_FETCH, CHECKRULE_FETCH_FAILED, "%s: %s",
			    fail_cause(resp->fail), resp->error);
		return 0;
	}
	fact(r, CHECKRULE_DIM_FETCH, "status", "%ld", resp->status);
	if (resp->status >= 300 && resp->status < 400) {
		add(r, CHECKRULE_DIM_FETCH, CHECKRULE_REDIRECT,
		    "HTTP status %ld: a redirect, which senders never follow (RFC 8461 s3.3)",
		    resp->status);
		return 0;
	}
	if (resp->status != 200) {
		add(r, CHECKRULE_DIM_FETCH, CHECKRULE_FETCH_FAILED,
		    "HTTP status %ld (only 200 is accepted)", resp->status);
		return 0;
	}
	fact(r, CHECKRULE_DIM_FETCH, "content_type", "%s",
	     resp->ctype != NULL ? resp->ctype : "(none)");
	fact(r, CHECKRULE_DIM_FETCH, "size", "%zu", resp->len);
	if (!sts_ctype_ok(resp->ctype))
		add(r, CHECKRULE_DIM_FETCH, CHECKRULE_CONTENT_TYPE,
		    "Content-Type \"%.100s\" is not text/plain: senders reject the policy",
		    resp->ctype != NULL ? resp->ctype : "(none)");
	return 1;
}

/* Does a port-80 body look like a policy: one the parser accepts, or one that at least
 * begins like one (a broken or stale copy still misleads its readers)? */
static int
http_is_policy(const char *p, size_t len)
{
	struct stspolicy pol;
	size_t i = 0;

	if (stspolicy_parse(p, len, &pol) == STSPOLICY_OK)
		return 1;
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return len - i >= 8 && strncasecmp(p + i, "version:", 8) == 0;
}

/* The 1-based line of the first byte where a and b differ (they do differ). */
static unsigned
http_diff_line(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned line = 1;

	for (size_t i = 0; i < alen && i < blen && a[i] == b[i]; i++)
		if (a[i] == '\n')
			line++;
	return line;
}

void
checkrule_http(struct checkrule_report *r, const struct sts_response *http, const char *location,
               const char *https_body, size_t https_len)
{
	char url[DNAME_MAX + 64];

	(void)snprintf(url, sizeof(url), "http://mta-sts.%s/.well-known/mta-sts.txt", r->domain);
	if (http == NULL) {
		fact(r, CHECKRULE_DIM_FETCH, "plain_http", "%s: not tried (no address)", url);
		return;
	}
	if (http->error != NULL) {
		/* Nothing listening, or no answer: the usual and a fine state of port 80. */
		if (http->fail == STS_FETCH_TOO_LARGE)
			fact(r, CHECKRULE_DIM_FETCH, "plain_http",
			     "%s: a body over %u bytes (not read)", url,
			     (unsigned)STSPOLICY_MAX_BYTES);
		else
			fact(r, CHECKRULE_DIM_FETCH, "plain_http", "%s: not served (%s: %s)", url,
			     fail_cause(http->fail), http->error);
		return;
	}
	if (http->status >= 300 && http->status < 400) {
		fact(r, CHECKRULE_DIM_FETCH, "plain_http", "%s: status %ld, a redirect to %s", url,
		     http->status, location != NULL && location[0] ? location : "(no Location)");
		return;
	}
	if (http->status != 200 || !http_is_policy(http->body, http->len)) {
		fact(r, CHECKRULE_DIM_FETCH, "plain_http", "%s: status %ld%s", url, http->status,
		     http->status == 200 ? ", not a policy" : ", no policy");
		return;
	}
	fact(r, CHECKRULE_DIM_FETCH, "plain_http", "%s: status 200, %zu bytes", url, http->len);
	if (https_body == NULL)
		add(r, CHECKRULE_DIM_FETCH, CHECKRULE_HTTP_SERVED,
		    "plain HTTP on port 80 serves a policy (%zu bytes), which senders never use "
		    "(RFC 8461 s3.3 requires HTTPS); HTTPS served none to compare it with",
		    http->len);
	else if (http->len != https_len || memcmp(http->body, https_body, https_len) != 0)
		add(r, CHECKRULE_DIM_FETCH, CHECKRULE_HTTP_DIFFERS,
		    "plain HTTP on port 80 serves a different policy (%zu bytes, HTTPS %zu; first "
		    "difference in line %u): senders use only the HTTPS one (RFC 8461 s3.3), but "
		    "people reading the plain copy are misled",
		    http->len, https_len,
		    http_diff_line(http->body, http->len, https_body, https_len));
	else
		add(r, CHECKRULE_DIM_FETCH, CHECKRULE_HTTP_SERVED,
		    "plain HTTP on port 80 serves the policy too (the same %zu bytes); senders "
		    "never use it (RFC 8461 s3.3 requires HTTPS): harmless while it stays the same",
		    http->len);
}

/* ---- dimension 3: policy ---- */

/* Keys of a policy the grammar does not define (the parser accepted the body already). */
static void
policy_unknown_keys(struct checkrule_report *r, const char *p, size_t len)
{
	static const char *const known[] = {"version", "mode", "mx", "max_age"};
	struct namelist l = {{0}, 0, 0};
	size_t i = 0;
	unsigned lines = 0;

	while (i < len && lines++ < STSPOLICY_LINES_MAX) {
		size_t s = i, k;
		int is_known = 0;
		char key[64];

		while (i < len && p[i] != '\n')
			i++;
		for (k = 0; s + k < i && p[s + k] != ':'; k++)
			;
		i++; /* past the LF */
		if (s + k >= i - 1 || k == 0)
			continue; /* no colon: an empty line */
		for (size_t j = 0; j < sizeof(known) / sizeof(known[0]); j++)
			if (strlen(known[j]) == k && memcmp(p + s, known[j], k) == 0)
				is_known = 1;
		if (!is_known)
			namelist_add(&l, bytes_str(p + s, k, key, sizeof(key)));
	}
	if (l.n > 0)
		add(r, CHECKRULE_DIM_POLICY, CHECKRULE_UNKNOWN_KEY, "keys senders ignore: %s",
		    namelist_str(&l));
}

int
checkrule_policy(struct checkrule_report *r, const char *body, size_t len, struct stspolicy *out)
{
	enum stspolicy_err e = stspolicy_parse(body, len, out);
	struct namelist l = {{0}, 0, 0};

	if (e != STSPOLICY_OK) {
		add(r, CHECKRULE_DIM_POLICY, CHECKRULE_POLICY_SYNTAX,
		    "invalid policy: %s; senders reject it", stspolicy_strerror(e));
		return 0;
	}
	for (unsigned i = 0; i < out->n_mx; i++)
		namelist_add(&l, out->mx[i]);
	fact(r, CHECKRULE_DIM_POLICY, "mode", "%s", stspolicy_mode_name(out->mode));
	fact(r, CHECKRULE_DIM_POLICY, "max_age", "%u", (unsigned)out->max_age);
	fact(r, CHECKRULE_DIM_POLICY, "mx", "%s", out->n_mx ? namelist_str(&l) : "(none)");
	if (out->mode == STSPOLICY_MODE_NONE)
		add(r, CHECKRULE_DIM_POLICY, CHECKRULE_MODE_NONE,
		    "mode none: senders apply no MTA-STS protection");
	else if (out->mode == STSPOLICY_MODE_TESTING)
		add(r, CHECKRULE_DIM_POLICY, CHECKRULE_MODE_TESTING,
		    "mode testing: failures are only reported, mail is delivered anyway");
	/* A mode none policy (withdrawing MTA-STS) may well be short-lived (RFC 8461 s8.3). */
	if (out->max_age < CHECKRULE_MAX_AGE_DAY && out->mode != STSPOLICY_MODE_NONE)
		add(r, CHECKRULE_DIM_POLICY, CHECKRULE_MAX_AGE_SHORT,
		    "max_age %u s is under a day: senders must refetch often, and a short outage "
		    "of the policy host leaves them without a policy",
		    (unsigned)out->max_age);
	else if (out->mode == STSPOLICY_MODE_ENFORCE && out->max_age < CHECKRULE_MAX_AGE_WEEK)
		add(r, CHECKRULE_DIM_POLICY, CHECKRULE_MAX_AGE_BELOW_WEEK,
		    "max_age %u s is under a week with mode enforce", (unsigned)out->max_age);
	policy_unknown_keys(r, body, len);
	return 1;
}

/* ---- dimension 4: certificate of mta-sts.DOMAIN ---- */

static const char *iso(int64_t t, char out[32]);

int
checkrule_tls_version_old(const char *v)
{
	static const char *const old[] = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"};

	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++)
		if (strcmp(v, old[i]) == 0)
			return 1;
	return 0;
}

int
checkrule_cert_names_match(const struct sts_tls *t, const char *host)
{
	/* RFC 6125 s6.4.4: the commonName counts only when there is no DNS name at all. */
	if (t->n_names_total == 0)
		return t->cn[0] != '\0' && stspolicy_mx_match(t->cn, host);
	for (unsigned i = 0; i < t->n_names && i < STS_TLS_NAMES_MAX; i++)
		if (stspolicy_mx_match(t->names[i], host))
			return 1;
	return 0;
}

/* The certificate's names for a message: SAN names, else "CN=...". */
static const char *
cert_names(const struct sts_tls *t, struct namelist *l)
{
	if (t->n_names_total == 0)
		namelist_add(l, t->cn[0] != '\0' ? t->cn : "(no name)");
	else if (t->n_names == 0)
		namelist_add(l, "(no valid host name)");
	for (unsigned i = 0; i < t->n_names && i < STS_TLS_NAMES_MAX; i++)
		namelist_add(l, t->names[i]);
	/* names fetch.c could not keep (a NUL inside, too long, over its cap) still count */
	if (t->n_names > 0 && t->n_names_total > t->n_names)
		l->n += t->n_names_total - t->n_names;
	return namelist_str(l);
}

void
checkrule_cert(struct checkrule_report *r, const struct sts_tls *t, int64_t now)
{
	char host[DNAME_MAX + 1], t1[32];
	struct namelist l = {{0}, 0, 0};
	int dated = 0;

	if (!qname_of(r, "mta-sts.", host)) {
		checkrule_not_checked(r, CHECKRULE_DIM_CERT, "mta-sts.DOMAIN is not a valid name");
		return;
	}
	if (t == NULL) {
		checkrule_not_checked(r, CHECKRULE_DIM_CERT,
		                      "no HTTPS connection was made (see the policy fetch)");
		return;
	}
	if (!t->have_cert) {
		if (t->version_refused)
			add(r, CHECKRULE_DIM_CERT, CHECKRULE_TLS_VERSION_OLD,
			    "%s offers no TLS version senders accept (TLS 1.2 or later): the "
			    "handshake ended with a protocol_version alert",
			    host);
		else
			checkrule_not_checked(r, CHECKRULE_DIM_CERT,
			                      "the TLS handshake ended before the certificate (see "
			                      "the policy fetch)");
		return;
	}
	fact(r, CHECKRULE_DIM_CERT, "tls_version", "%s", t->version[0] ? t->version : "unknown");
	fact(r, CHECKRULE_DIM_CERT, "subject", "%s", t->subject);
	fact(r, CHECKRULE_DIM_CERT, "issuer", "%s", t->issuer);
	fact(r, CHECKRULE_DIM_CERT, "names", "%s", cert_names(t, &l));
	fact(r, CHECKRULE_DIM_CERT, "not_after", "%s", iso(t->not_after, t1));
	if (t->not_after > now)
		fact(r, CHECKRULE_DIM_CERT, "days_left", "%lld",
		     (long long)((t->not_after - now) / 86400));
	if (checkrule_tls_version_old(t->version))
		add(r, CHECKRULE_DIM_CERT, CHECKRULE_TLS_VERSION_OLD,
		    "%s negotiated %s: senders require TLS 1.2 or later", host, t->version);
	/* Dates: the same clock OpenSSL used, so these agree with its verdict. */
	if (t->not_after <= now) {
		add(r, CHECKRULE_DIM_CERT, CHECKRULE_CERT_EXPIRED,
		    "the certificate of %s expired on %s (%lld days ago): senders reject it", host,
		    iso(t->not_after, t1), (long long)((now - t->not_after) / 86400));
		dated = 1;
	} else if (t->not_before > now) {
		add(r, CHECKRULE_DIM_CERT, CHECKRULE_CERT_INVALID,
		    "the certificate of %s is not valid before %s", host, iso(t->not_before, t1));
		dated = 1;
	} else if (t->not_after - now < (int64_t)CHECKRULE_CERT_DAYS_WARN * 86400) {
		add(r, CHECKRULE_DIM_CERT, CHECKRULE_CERT_EXPIRING,
		    "the certificate of %s expires on %s, in %lld days (under %d)", host,
		    iso(t->not_after, t1), (long long)((t->not_after - now) / 86400),
		    CHECKRULE_CERT_DAYS_WARN);
	}
	/* A failure on the server certificate's own dates is told above, once. */
	if (!t->verified && !(t->verify_dates && dated))
		add(r, CHECKRULE_DIM_CERT, CHECKRULE_CERT_INVALID,
		    "the certificate of %s does not verify: %s", host,
		    t->verify_why[0] ? t->verify_why : "verification failed");
	if (!checkrule_cert_names_match(t, host)) {
		struct namelist l2 = {{0}, 0, 0};

		add(r, CHECKRULE_DIM_CERT, CHECKRULE_CERT_NAME_MISMATCH,
		    "the certificate is not valid for %s: it names %s", host, cert_names(t, &l2));
	}
}

/* ---- dimension 5: MX coverage ---- */

void
checkrule_mx(struct checkrule_report *r, const struct stspolicy *pol, const struct danerec *d)
{
	struct namelist hosts = {{0}, 0, 0}, bad = {{0}, 0, 0}, unused = {{0}, 0, 0};
	unsigned nbad = 0;

	if (!d->mx_known) {
		add(r, CHECKRULE_DIM_MX, CHECKRULE_MX_LOOKUP, "%s", d->why);
		return;
	}
	for (unsigned i = 0; i < d->n_hosts && i < DANE_HOSTS_MAX; i++)
		namelist_add(&hosts, d->hosts[i]);
	fact(r, CHECKRULE_DIM_MX, "mx_hosts", "%s", d->n_hosts ? namelist_str(&hosts) : "(none)");
	if (d->n_hosts == 0) {
		add(r, CHECKRULE_DIM_MX, CHECKRULE_NULL_MX, "no mail host: %s", d->why);
		return;
	}
	if (pol == NULL) {
		checkrule_not_checked(r, CHECKRULE_DIM_MX,
		                      "no valid policy to compare the MX hosts with");
		return;
	}
	if (pol->mode == STSPOLICY_MODE_NONE) {
		checkrule_not_checked(r, CHECKRULE_DIM_MX,
		                      "mode none: senders apply no MX pattern");
		return;
	}
	/* RFC 8461 s4.1 with the daemon's own matcher: "*" is exactly one label. */
	for (unsigned i = 0; i < d->n_hosts && i < DANE_HOSTS_MAX; i++) {
		int hit = 0;

		for (unsigned j = 0; j < pol->n_mx && !hit; j++)
			hit = stspolicy_mx_match(pol->mx[j], d->hosts[i]);
		if (!hit) {
			nbad++;
			namelist_add(&bad, d->hosts[i]);
		}
	}
	for (unsigned j = 0; j < pol->n_mx; j++) {
		int hit = 0;

		for (unsigned i = 0; i < d->n_hosts && i < DANE_HOSTS_MAX && !hit; i++)
			hit = stspolicy_mx_match(pol->mx[j], d->hosts[i]);
		if (!hit)
			namelist_add(&unused, pol->mx[j]);
	}
	if (nbad == d->n_hosts)
		add(r, CHECKRULE_DIM_MX, CHECKRULE_MX_NO_MATCH,
		    "no MX host matches a policy pattern: %s (under enforce, mail cannot be "
		    "delivered)",
		    namelist_str(&bad));
	else if (nbad > 0)
		add(r, CHECKRULE_DIM_MX, CHECKRULE_MX_PARTIAL_MATCH,
		    "%u of %u MX hosts match no pattern: %s", nbad, d->n_hosts, namelist_str(&bad));
	if (unused.n > 0)
		add(r, CHECKRULE_DIM_MX, CHECKRULE_MX_PATTERN_UNUSED,
		    "patterns matching no MX host: %s", namelist_str(&unused));
}

/* ---- dimension 6: MX STARTTLS ---- */

static const char *iso(int64_t t, char out[32]);

/* Length of a name without one trailing dot. */
static size_t
name_len(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

int
checkrule_cert_covers(const char *cname, const char *name)
{
	/* "*.rest" covers exactly one label before ".rest" (RFC 6125 s6.4.3, as Postfix does):
	 * the same rule as an MTA-STS pattern, so the daemon's own matcher decides. */
	return stspolicy_mx_match(cname, name);
}

int
checkrule_cert_allowed(const struct stspolicy *pol, const char *host, const char *cname)
{
	size_t cl = name_len(cname);
	int wild = cl > 2 && cname[0] == '*' && cname[1] == '.';

	if (pol == NULL || pol->mode == STSPOLICY_MODE_NONE)
		return checkrule_cert_covers(cname, host);
	for (unsigned j = 0; j < pol->n_mx; j++) {
		const char *p = pol->mx[j];
		size_t pl = name_len(p);

		if (pl > 2 && p[0] == '*' && p[1] == '.') {
			/* the pattern allows every name of one more label: a certificate name
			 * it matches, or the very same wildcard */
			if (wild ? (pl == cl && strncasecmp(p, cname, cl) == 0)
			         : stspolicy_mx_match(p, cname))
				return 1;
		} else if (checkrule_cert_covers(cname, p)) {
			return 1;
		}
	}
	return 0;
}

/* Append "; part" to a fact line being built. */
static void
summary_add(char *s, size_t sz, const char *part)
{
	size_t n = strlen(s), k = strlen(part);

	if (n > 0 && n + 2 < sz) {
		memcpy(s + n, "; ", 2);
		n += 2;
	}
	if (k > sz - 1 - n)
		k = sz - 1 - n; /* fact() marks a full line with "..." */
	memcpy(s + n, part, k);
	s[n + k] = '\0';
}

/* One host with TLS up: the certificate. */
static void
smtp_cert(struct checkrule_report *r, const struct stspolicy *pol, const struct checkrule_smtp *h,
          enum checkrule_sev sev, int64_t now)
{
	struct namelist names = {{0}, 0, 0}, allowed = {{0}, 0, 0};
	int ok = 0;
	char t[32];

	for (unsigned k = 0; k < h->n_names && k < CHECKRULE_CERT_NAMES_MAX; k++) {
		namelist_add(&names, h->names[k]);
		ok |= checkrule_cert_allowed(pol, h->host, h->names[k]);
	}
	for (unsigned k = 0; k < h->names_dropped; k++)
		namelist_add(&names, "?");
	if (h->verify != 0)
		add_sev(r, CHECKRULE_DIM_SMTP, CHECKRULE_MX_CERT_INVALID, sev,
		        "%s [%s]: certificate verification failed: %s", h->host, h->addr,
		        h->verify_why[0] ? h->verify_why : "unknown reason");
	else if (h->not_after <= now)
		add_sev(r, CHECKRULE_DIM_SMTP, CHECKRULE_MX_CERT_INVALID, sev,
		        "%s [%s]: certificate expired at %s", h->host, h->addr,
		        iso(h->not_after, t));
	else if (h->not_after - now < (int64_t)CHECKRULE_CERT_EXPIRING_DAYS * 86400)
		add(r, CHECKRULE_DIM_SMTP, CHECKRULE_MX_CERT_EXPIRING,
		    "%s [%s]: certificate expires in %lld days (%s)", h->host, h->addr,
		    (long long)((h->not_after - now) / 86400), iso(h->not_after, t));
	if (!ok) {
		if (pol == NULL || pol->mode == STSPOLICY_MODE_NONE)
			namelist_add(&allowed, h->host);
		else
			for (unsigned j = 0; j < pol->n_mx; j++)
				namelist_add(&allowed, pol->mx[j]);
		add_sev(r, CHECKRULE_DIM_SMTP, CHECKRULE_MX_CERT_NAME_MISMATCH, sev,
		        "%s [%s]: the certificate's names (%s) match no name the policy allows "
		        "(%s)",
		        h->host, h->addr, names.n ? namelist_str(&names) : "none",
		        namelist_str(&allowed));
	}
}

void
checkrule_smtp(struct checkrule_report *r, const struct stspolicy *pol,
               const struct checkrule_smtp *h, unsigned n, int64_t now)
{
	/* What stops delivery under the policy is critical only where the policy is enforced. */
	enum checkrule_sev sev = pol != NULL && pol->mode == STSPOLICY_MODE_ENFORCE
	                             ? CHECKRULE_CRITICAL
	                             : CHECKRULE_WARNING;
	char summary[CHECKRULE_MSG_MAX] = "", part[CHECKRULE_MSG_MAX], t[32];

	for (unsigned i = 0; i < n; i++) {
		const struct checkrule_smtp *x = &h[i];

		switch (x->res) {
		case CHECKRULE_SMTP_FAILED:
			add(r, CHECKRULE_DIM_SMTP, CHECKRULE_MX_SMTP_FAILED, "%s%s%s%s: %s",
			    x->host, x->addr[0] ? " [" : "", x->addr, x->addr[0] ? "]" : "",
			    x->why);
			(void)snprintf(part, sizeof(part), "%s not probed", x->host);
			break;
		case CHECKRULE_SMTP_NO_STARTTLS:
			add_sev(r, CHECKRULE_DIM_SMTP, CHECKRULE_MX_NO_STARTTLS, sev,
			        "%s [%s] does not offer STARTTLS%s", x->host, x->addr,
			        sev == CHECKRULE_CRITICAL ? ": under mode enforce senders cannot "
			                                    "deliver to it"
			                                  : "");
			(void)snprintf(part, sizeof(part), "%s no STARTTLS", x->host);
			break;
		case CHECKRULE_SMTP_TLS_FAILED:
			add_sev(r, CHECKRULE_DIM_SMTP, CHECKRULE_MX_NO_STARTTLS, sev,
			        "%s [%s] offers STARTTLS, but it fails: %s", x->host, x->addr,
			        x->why);
			(void)snprintf(part, sizeof(part), "%s STARTTLS fails", x->host);
			break;
		case CHECKRULE_SMTP_TLS:
			smtp_cert(r, pol, x, sev, now);
			(void)snprintf(part, sizeof(part), "%s %s, certificate until %s", x->host,
			               x->tls_version[0] ? x->tls_version : "TLS",
			               iso(x->not_after, t));
			break;
		}
		summary_add(summary, sizeof(summary), part);
	}
	if (n > 0)
		fact(r, CHECKRULE_DIM_SMTP, "probed", "%s", summary);
}

/* ---- dimension 7: TLS-RPT (RFC 8460 s3) ---- */

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* "v=TLSRPTv1" then the end, or *WSP ";": the record is a TLS-RPT one. */
static int
tlsrpt_begins(const char *p, size_t len)
{
	size_t i = 10;

	if (len < 10 || memcmp(p, "v=TLSRPTv1", 10) != 0)
		return 0;
	while (i < len && is_wsp(p[i]))
		i++;
	return i == len || p[i] == ';';
}

/* One rua URI (RFC 8460 s3: mailto: or https:). */
static int
tlsrpt_uri_ok(const char *p, size_t len)
{
	if (len > 7 && strncasecmp(p, "mailto:", 7) == 0) {
		const char *at = memchr(p + 7, '@', len - 7);

		/* local@domain, with something on both sides */
		return at != NULL && at > p + 7 && (size_t)(at - p) + 1 < len;
	}
	if (len > 8 && strncasecmp(p, "https://", 8) == 0)
		return p[8] != '/';
	return 0;
}

int
checkrule_tlsrpt_valid(const char *p, size_t len, const char **why, char *buf, size_t bufsz)
{
	size_t i = 10;
	int rua = 0;

	if (!tlsrpt_begins(p, len)) {
		*why = "does not begin with v=TLSRPTv1";
		return 0;
	}
	while (i < len) {
		size_t s, k;

		while (i < len && is_wsp(p[i]))
			i++;
		if (i >= len)
			break;
		if (p[i] != ';') {
			*why = "fields must be separated by ';'";
			return 0;
		}
		i++;
		while (i < len && is_wsp(p[i]))
			i++;
		if (i >= len)
			break; /* a final ';' is allowed */
		s = i;
		while (i < len && p[i] != '=' && p[i] != ';')
			i++;
		if (i >= len || p[i] != '=' || i == s) {
			*why = "a field is not name=value";
			return 0;
		}
		k = i - s;
		i++;
		if (k != 3 || memcmp(p + s, "rua", 3) != 0) {
			while (i < len && p[i] != ';')
				i++;
			continue; /* extension field */
		}
		if (rua++) {
			*why = "more than one rua= field";
			return 0;
		}
		for (;;) {
			size_t us = i, ue;
			char u[128];

			while (i < len && p[i] != ',' && p[i] != ';' && !is_wsp(p[i]))
				i++;
			ue = i;
			if (!tlsrpt_uri_ok(p + us, ue - us)) {
				(void)snprintf(buf, bufsz,
				               "rua URI \"%s\" is not mailto:ADDRESS or https:",
				               bytes_str(p + us, ue - us, u, sizeof(u)));
				*why = buf;
				return 0;
			}
			while (i < len && is_wsp(p[i]))
				i++;
			if (i < len && p[i] == ',') {
				i++;
				while (i < len && is_wsp(p[i]))
					i++;
				continue;
			}
			break;
		}
	}
	if (!rua) {
		*why = "no rua= field (where reports go)";
		return 0;
	}
	return 1;
}

void
checkrule_tlsrpt(struct checkrule_report *r, const uint8_t *msg, size_t len, const char *why)
{
	char qname[DNAME_MAX + 1], buf[STSRECORD_TXT_MAX + 1], first[STSRECORD_TXT_MAX + 1];
	char shown[CHECKRULE_MSG_MAX], reason[CHECKRULE_MSG_MAX], nearrec[STSRECORD_TXT_MAX + 1];
	size_t nearlen = 0;
	struct dnsmsg_answer a;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	unsigned seen = 0, n = 0;
	size_t firstlen = 0;
	const char *bad;

	if (!qname_of(r, "_smtp._tls.", qname)) {
		add(r, CHECKRULE_DIM_TLSRPT, CHECKRULE_TLSRPT_MISSING,
		    "_smtp._tls.%s is longer than a DNS name may be", r->domain);
		return;
	}
	fact(r, CHECKRULE_DIM_TLSRPT, "name", "%s", qname);
	if (msg == NULL) {
		add(r, CHECKRULE_DIM_TLSRPT, CHECKRULE_TLSRPT_LOOKUP, "TXT %s: %s", qname,
		    why != NULL ? why : "no answer");
		return;
	}
	switch (dnsmsg_answer(msg, len, qname, DNSMSG_TXT, &a)) {
	case DNSMSG_ANS_FAIL:
		add(r, CHECKRULE_DIM_TLSRPT, CHECKRULE_TLSRPT_LOOKUP, "TXT %s: %s", qname, a.why);
		return;
	case DNSMSG_ANS_NXDOMAIN:
	case DNSMSG_ANS_NODATA:
		add(r, CHECKRULE_DIM_TLSRPT, CHECKRULE_TLSRPT_MISSING, "no TXT record at %s",
		    qname);
		return;
	case DNSMSG_ANS_DATA:
		break;
	}
	dnsmsg_iter_init(&a.m, &it);
	while (dnsmsg_next(&a.m, &it, &rr) == DNSMSG_OK && seen < STSRECORD_RECORDS_MAX) {
		size_t tl;

		if (!dnsmsg_answer_has(&a, &rr, DNSMSG_TXT))
			continue;
		seen++;
		if (dnsmsg_rr_txt(&a.m, &rr, buf, sizeof(buf), &tl) != DNSMSG_OK) {
			add(r, CHECKRULE_DIM_TLSRPT, CHECKRULE_TLSRPT_LOOKUP,
			    "TXT %s: malformed TXT record", qname);
			return;
		}
		if (tl > STSRECORD_TXT_MAX) { /* dnsmsg_rr_txt() cut it: never judge a cut copy */
			add(r, CHECKRULE_DIM_TLSRPT, CHECKRULE_TLSRPT_SYNTAX,
			    "TXT %s: a record longer than %d bytes", qname, STSRECORD_TXT_MAX);
			return;
		}
		/* RFC 8460 s3: records not beginning with v=TLSRPTv1 are ignored; one that was
		 * probably meant to be one is shown if nothing else is found. */
		if (!tlsrpt_begins(buf, tl)) {
			if (nearlen == 0 && tl >= 8 && strncasecmp(buf, "v=TLSRPT", 8) == 0) {
				memcpy(nearrec, buf, tl);
				nearlen = tl;
			}
			continue;
		}
		if (n++ == 0) {
			memcpy(first, buf, tl);
			firstlen = tl;
		}
	}
	if (n == 0 && nearlen > 0) {
		bytes_str(nearrec, nearlen, shown, sizeof(shown));
		add(r, CHECKRULE_DIM_TLSRPT, CHECKRULE_TLSRPT_SYNTAX,
		    "\"%s\" does not begin with v=TLSRPTv1 (exact case), so senders ignore it",
		    shown);
		return;
	}
	if (n == 0) {
		add(r, CHECKRULE_DIM_TLSRPT, CHECKRULE_TLSRPT_MISSING,
		    "no record beginning v=TLSRPTv1 at %s", qname);
		return;
	}
	if (n > 1) {
		add(r, CHECKRULE_DIM_TLSRPT, CHECKRULE_TLSRPT_MULTIPLE,
		    "%u TLS-RPT records: senders send no reports at all", n);
		return;
	}
	bytes_str(first, firstlen, shown, sizeof(shown));
	fact(r, CHECKRULE_DIM_TLSRPT, "record", "%s", shown);
	if (!checkrule_tlsrpt_valid(first, firstlen, &bad, reason, sizeof(reason)))
		add(r, CHECKRULE_DIM_TLSRPT, CHECKRULE_TLSRPT_SYNTAX, "\"%s\": %s", shown, bad);
}

/* ---- dimension 8: DANE (RFC 7672) ---- */

/* One presented certificate against one record's selector and matching type (RFC 6698 s2.1). */
static int
tlsa_cert_match(const struct dnsmsg_tlsa *t, const struct checkrule_certid *c)
{
	unsigned s = t->selector;

	switch (t->mtype) {
	case 0:
		return c->len[s] <= CHECKRULE_DER_MAX && t->len == c->len[s] &&
		       memcmp(t->data, c->der[s], t->len) == 0;
	case 1:
		return t->len == sizeof(c->sha256[s]) && memcmp(t->data, c->sha256[s], t->len) == 0;
	case 2:
		return t->len == sizeof(c->sha512[s]) && memcmp(t->data, c->sha512[s], t->len) == 0;
	default:
		return 0;
	}
}

/* One of the leaf's names covers the MX host. */
static int
leaf_names_cover(const struct checkrule_smtp *h)
{
	for (unsigned i = 0; i < h->n_names && i < CHECKRULE_CERT_NAMES_MAX; i++)
		if (checkrule_cert_covers(h->names[i], h->host))
			return 1;
	return 0;
}

int
checkrule_tlsa_match(const struct dnsmsg_tlsa *t, const struct checkrule_smtp *h)
{
	unsigned n = h->n_chain < CHECKRULE_CHAIN_MAX ? h->n_chain : CHECKRULE_CHAIN_MAX;

	if (!dnsmsg_tlsa_usable(t) || h->res != CHECKRULE_SMTP_TLS)
		return 0;
	/* DANE-EE(3): the leaf itself, names and dates aside (RFC 7672 s3.1.1). */
	if (t->usage == 3)
		return n > 0 && tlsa_cert_match(t, &h->chain[0]);
	/* DANE-TA(2): a trust anchor the server sends on its leaf's own path (each certificate up
	 * to it signed the one before: RFC 7671 s5.2.2), and then the leaf's names must cover the
	 * MX host (RFC 7672 s3.2.3), as OpenSSL's DANE in Postfix requires. A record for a key
	 * the server does not send is not compared here (reported as no match). */
	for (unsigned i = 1; i < n && h->chain[i].issues_prev; i++)
		if (tlsa_cert_match(t, &h->chain[i]))
			return leaf_names_cover(h);
	return 0;
}

/* The probe result of host, or NULL. */
static const struct checkrule_smtp *
probe_of(const struct checkrule_smtp *h, unsigned n, const char *host)
{
	for (unsigned i = 0; h != NULL && i < n; i++)
		if (strcmp(h[i].host, host) == 0)
			return &h[i];
	return NULL;
}

/* What one MX host publishes at _25._tcp.<host> and whether it matches what it presented.
 * Returns 1 when it has usable signed TLSA records. */
static int
dane_host(struct checkrule_report *r, const char *host, const struct checkrule_tlsa_ans *t,
          const struct checkrule_smtp *p, int lookup_error, char *part, size_t partsz)
{
	char qname[DNAME_MAX + 16];
	struct dnsmsg_answer a;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	unsigned total = 0, usable = 0, matched = 0, ta = 0;
	char first[32] = "";

	(void)snprintf(qname, sizeof(qname), "_25._tcp.%s", host);
	if (t == NULL || t->msg == NULL) {
		const char *why = t != NULL && t->why != NULL ? t->why : "not looked up";

		/* Under DANE_ERROR the daemon's own lookups said so already. */
		if (t != NULL && !lookup_error)
			add(r, CHECKRULE_DIM_DANE, CHECKRULE_DANE_LOOKUP_FAILED, "TLSA %s: %s",
			    qname, why);
		(void)snprintf(part, partsz, "%s TLSA lookup failed", host);
		return 0;
	}
	switch (dnsmsg_answer(t->msg, t->len, qname, DNSMSG_TLSA, &a)) {
	case DNSMSG_ANS_FAIL:
		if (!lookup_error)
			add(r, CHECKRULE_DIM_DANE, CHECKRULE_DANE_LOOKUP_FAILED, "TLSA %s: %s",
			    qname, a.why);
		(void)snprintf(part, partsz, "%s TLSA lookup failed", host);
		return 0;
	case DNSMSG_ANS_NODATA:
	case DNSMSG_ANS_NXDOMAIN:
		(void)snprintf(part, partsz, "%s no TLSA", host);
		return 0;
	case DNSMSG_ANS_DATA:
		break;
	}
	dnsmsg_iter_init(&a.m, &it);
	while (dnsmsg_next(&a.m, &it, &rr) == DNSMSG_OK) {
		struct dnsmsg_tlsa x;

		if (!dnsmsg_answer_has(&a, &rr, DNSMSG_TLSA) ||
		    dnsmsg_rr_tlsa(&a.m, &rr, &x) != DNSMSG_OK)
			continue;
		total++;
		if (!dnsmsg_tlsa_usable(&x))
			continue;
		usable++;
		ta += x.usage == 2;
		if (p != NULL && checkrule_tlsa_match(&x, p) && matched++ == 0)
			(void)snprintf(first, sizeof(first), "%u %u %u", x.usage, x.selector,
			               x.mtype);
	}
	/* RFC 7672 s2.2.2: TLSA records count only when validated; without the AD bit the host
	 * is not a DANE host, whatever it publishes. */
	if (!(a.m.ad)) {
		(void)snprintf(part, partsz, "%s %u TLSA, not DNSSEC-signed (ignored)", host,
		               total);
		return 0;
	}
	if (usable == 0) {
		add(r, CHECKRULE_DIM_DANE, CHECKRULE_DANE_TLSA_UNUSABLE,
		    "%s: %u TLSA record%s, none usable for SMTP (only DANE-TA(2) and DANE-EE(3) "
		    "with selector 0/1 and matching type 0/1/2 count): senders treat the host as "
		    "without DANE",
		    qname, total, total == 1 ? "" : "s");
		(void)snprintf(part, partsz, "%s %u TLSA, none usable", host, total);
		return 0;
	}
	if (p == NULL || p->res != CHECKRULE_SMTP_TLS) {
		(void)snprintf(part, partsz, "%s %u usable TLSA, not compared (%s)", host, usable,
		               p == NULL ? "no certificate seen" : "no TLS session");
		return 1;
	}
	if (matched > 0) {
		(void)snprintf(part, partsz, "%s %u usable TLSA, %s matches", host, usable, first);
		return 1;
	}
	add(r, CHECKRULE_DIM_DANE, CHECKRULE_DANE_TLSA_MISMATCH,
	    "%s [%s]: none of its %u usable TLSA record%s matches the %s it presents%s: senders "
	    "using DANE (Postfix dane, dane-only) defer mail to it",
	    host, p->addr, usable, usable == 1 ? "" : "s",
	    p->n_chain > 1 ? "certificate chain" : "certificate",
	    ta > 0 && p->n_chain <= 1 ? " (DANE-TA records need the server to send its issuer "
	                                "certificates, it sends only its own)"
	                              : "");
	(void)snprintf(part, partsz, "%s %u usable TLSA, no match", host, usable);
	return 1;
}

void
checkrule_dane(struct checkrule_report *r, int dnssec, const struct danerec *d,
               const struct checkrule_tlsa_ans *t, const struct checkrule_smtp *h, unsigned n_h)
{
	char summary[CHECKRULE_MSG_MAX] = "", part[CHECKRULE_MSG_MAX];
	struct namelist without = {{0}, 0, 0};
	unsigned with = 0;

	if (!dnssec) {
		add(r, CHECKRULE_DIM_DANE, CHECKRULE_DANE_NOT_VALIDATED,
		    "dnssec = no: DANE cannot be seen (the resolver's AD bit is not trusted)");
		return;
	}
	fact(r, CHECKRULE_DIM_DANE, "state", "%s (%s)", dane_state_name(d->state), d->why);
	if (!d->mx_known) {
		add(r, CHECKRULE_DIM_DANE, CHECKRULE_DANE_LOOKUP_FAILED, "%s", d->why);
		return;
	}
	if (d->state == DANE_INSECURE) {
		add(r, CHECKRULE_DIM_DANE, CHECKRULE_DANE_MX_UNSIGNED,
		    "%s: DANE does not apply to %s", d->why, r->domain);
		return;
	}
	if (d->state == DANE_ERROR)
		add(r, CHECKRULE_DIM_DANE, CHECKRULE_DANE_LOOKUP_FAILED,
		    "%s: senders using DANE defer mail (a DNSSEC failure looks like an attack)",
		    d->why);
	for (unsigned i = 0; i < d->n_hosts && i < DANE_HOSTS_MAX; i++) {
		if (dane_host(r, d->hosts[i], t != NULL ? &t[i] : NULL,
		              probe_of(h, n_h, d->hosts[i]), d->state == DANE_ERROR, part,
		              sizeof(part)))
			with++;
		else
			namelist_add(&without, d->hosts[i]);
		summary_add(summary, sizeof(summary), part);
	}
	if (d->n_hosts > 0)
		fact(r, CHECKRULE_DIM_DANE, "tlsa", "%s", summary);
	/* The daemon's own classification decides: it also counts what has no address. */
	if (d->state == DANE_SOME)
		add(r, CHECKRULE_DIM_DANE, CHECKRULE_DANE_PARTIAL,
		    "usable TLSA records on %u of %u MX hosts, none on %s: Postfix dane-only (the "
		    "daemon's answer under enforce) never uses those",
		    with, d->n_hosts, without.n ? namelist_str(&without) : "the others");
}

/* ---- how this sender's daemon decides ---- */

enum decide_disc
checkrule_disc(const struct checkrule_report *r, int published, int have_pol)
{
	if (published)
		return have_pol ? DECIDE_DISC_FETCHED : DECIDE_DISC_FETCH_FAILED;
	for (unsigned i = 0; i < r->n; i++)
		if (r->f[i].code == CHECKRULE_RECORD_LOOKUP)
			return DECIDE_DISC_TXT_FAILED;
	return DECIDE_DISC_NO_POLICY;
}

void
checkrule_decision(struct checkrule_report *r, const struct decide_input *in,
                   const struct cfg_zone *zone, int64_t now)
{
	struct strbuf text;
	const char *status, *why, *row, *col;

	strbuf_init(&text, ANSWER_TEXT_MAX);
	answer_reply(in, zone, now, &text, &status, &why);
	decide_cell(in, zone, now, &row, &col);
	fact(r, CHECKRULE_DIM_CACHE, "decision",
	     "zone %s, nothing cached: MTA-STS row %s, DANE column %s", zone->name, row, col);
	fact(r, CHECKRULE_DIM_CACHE, "reply", "%s%s%s", status, text.len > 0 ? " " : "",
	     text.data != NULL ? text.data : "");
	fact(r, CHECKRULE_DIM_CACHE, "reply_why", "%s", why);
	strbuf_fini(&text);
}

/* ---- dimension 9: this sender's cache ---- */

/* ISO 8601 UTC, or "-" for 0. */
static const char *
iso(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "-";
	return out;
}

void
checkrule_cache(struct checkrule_report *r, const char *unavailable, const struct cacherec *rec,
                const char *published, int64_t now)
{
	char t1[32];

	if (unavailable != NULL) {
		add(r, CHECKRULE_DIM_CACHE, CHECKRULE_CACHE_UNAVAILABLE, "%s", unavailable);
		return;
	}
	if (rec == NULL) {
		add(r, CHECKRULE_DIM_CACHE, CHECKRULE_CACHE_NONE,
		    "mta-stsd has nothing cached for %s", r->domain);
		return;
	}
	switch (cacherec_view(rec, now)) {
	case CACHEREC_VIEW_POLICY:
		fact(r, CHECKRULE_DIM_CACHE, "state", "policy applies");
		break;
	case CACHEREC_VIEW_NO_POLICY:
		fact(r, CHECKRULE_DIM_CACHE, "state", "no policy, remembered until %s",
		     iso(rec->none_until, t1));
		break;
	case CACHEREC_VIEW_TXT_FAILED:
		fact(r, CHECKRULE_DIM_CACHE, "state", "TXT lookup failed, remembered until %s",
		     iso(rec->fail_until, t1));
		break;
	case CACHEREC_VIEW_UNKNOWN:
		fact(r, CHECKRULE_DIM_CACHE, "state", "%s",
		     rec->has_policy ? "policy expired" : "nothing applies");
		break;
	}
	if (!rec->has_policy) {
		add(r, CHECKRULE_DIM_CACHE, CHECKRULE_CACHE_NONE,
		    "mta-stsd has no policy cached for %s", r->domain);
		return;
	}
	fact(r, CHECKRULE_DIM_CACHE, "id", "%s", rec->id);
	fact(r, CHECKRULE_DIM_CACHE, "mode", "%s", stspolicy_mode_name(rec->policy.mode));
	fact(r, CHECKRULE_DIM_CACHE, "fetched", "%s", iso(rec->fetched, t1));
	fact(r, CHECKRULE_DIM_CACHE, "expires", "%s", iso(rec->expires, t1));
	if (rec->expires <= now)
		add(r, CHECKRULE_DIM_CACHE, CHECKRULE_CACHE_EXPIRED,
		    "the cached policy (id %s) expired at %s", rec->id, iso(rec->expires, t1));
	if (published == NULL)
		add(r, CHECKRULE_DIM_CACHE, CHECKRULE_CACHE_STALE_ID,
		    "cached id %s, while DNS publishes no valid record: the cached policy still "
		    "applies until it expires (RFC 8461 s5.1)",
		    rec->id);
	else if (strcmp(published, rec->id) != 0)
		add(r, CHECKRULE_DIM_CACHE, CHECKRULE_CACHE_STALE_ID,
		    "cached id %s, published id %s: the daemon applies the older policy until it "
		    "sees the new id",
		    rec->id, published);
}

/* ---- score, exit, names ---- */

unsigned
checkrule_count(const struct checkrule_report *r, enum checkrule_sev sev)
{
	unsigned n = 0;

	for (unsigned i = 0; i < r->n; i++)
		n += r->f[i].sev == sev;
	return n;
}

unsigned
checkrule_score(const struct checkrule_report *r)
{
	unsigned w = checkrule_count(r, CHECKRULE_WARNING),
	         c = checkrule_count(r, CHECKRULE_CRITICAL);
	unsigned cost = w * CHECKRULE_SCORE_WARNING + c * CHECKRULE_SCORE_CRITICAL;
	unsigned s = cost >= 100 ? 0 : 100 - cost;

	if (r->aborted)
		return 0;
	if (c > 0 && s > CHECKRULE_SCORE_CRITICAL_CAP)
		s = CHECKRULE_SCORE_CRITICAL_CAP;
	return s;
}

int
checkrule_exit(const struct checkrule_report *r)
{
	if (r->aborted)
		return 3;
	if (checkrule_count(r, CHECKRULE_CRITICAL) > 0)
		return 2;
	return checkrule_count(r, CHECKRULE_WARNING) > 0 ? 1 : 0;
}

const char *
checkrule_code_name(enum checkrule_code c)
{
	return (unsigned)c < CHECKRULE_CODE_N ? codes[c].name : "unknown";
}

enum checkrule_sev
checkrule_code_sev(enum checkrule_code c)
{
	return (unsigned)c < CHECKRULE_CODE_N ? codes[c].sev : CHECKRULE_CRITICAL;
}

const char *
checkrule_code_hint(enum checkrule_code c)
{
	return (unsigned)c < CHECKRULE_CODE_N ? codes[c].hint : "";
}

const char *
checkrule_sev_name(enum checkrule_sev s)
{
	switch (s) {
	case CHECKRULE_INFO:
		return "info";
	case CHECKRULE_WARNING:
		return "warning";
	case CHECKRULE_CRITICAL:
		return "critical";
	}
	return "unknown";
}

const char *
checkrule_dim_name(enum checkrule_dim d)
{
	return d >= 1 && d <= CHECKRULE_DIMS ? dim_names[d] : "unknown";
}

const char *
checkrule_dim_title(enum checkrule_dim d)
{
	return d >= 1 && d <= CHECKRULE_DIMS ? dim_titles[d] : "unknown";
}

/* ---- rendering ---- */

static int
dim_checked(const struct checkrule_report *r, enum checkrule_dim d)
{
	for (unsigned i = 0; i < r->n; i++)
		if (r->f[i].dim == d && r->f[i].code == CHECKRULE_NOT_CHECKED)
			return 0;
	return 1;
}

int
checkrule_text(const struct checkrule_report *r, struct strbuf *out)
{
	int rc = 0;

	rc |= strbuf_printf(out, "check: %s\n", r->domain);
	if (r->aborted) {
		rc |= strbuf_printf(out, "error: the check could not run: %s\n", r->abort_why);
		return rc ? -1 : 0;
	}
	for (int d = 1; d <= CHECKRULE_DIMS; d++) {
		unsigned shown = 0;

		rc |= strbuf_printf(out, "\n[%d] %s\n", d,
		                    checkrule_dim_title((enum checkrule_dim)d));
		for (unsigned i = 0; i < r->n_facts; i++)
			if ((int)r->facts[i].dim == d)
				rc |= strbuf_printf(out, "    %s: %s\n", r->facts[i].key,
				                    r->facts[i].value);
		for (unsigned i = 0; i < r->n; i++) {
			const struct checkrule_finding *f = &r->f[i];

			if ((int)f->dim != d)
				continue;
			shown++;
			rc |= strbuf_printf(out, "  %-8s %s: %s\n", checkrule_sev_name(f->sev),
			                    checkrule_code_name(f->code), f->msg);
			if (f->code != CHECKRULE_NOT_CHECKED)
				rc |= strbuf_printf(out, "           fix: %s\n",
				                    checkrule_code_hint(f->code));
		}
		if (shown == 0)
			rc |= strbuf_puts(out, "  ok\n");
	}
	if (r->dropped > 0)
		rc |= strbuf_printf(out, "\n(%u more findings or facts not shown)\n", r->dropped);
	rc |= strbuf_printf(out, "\nscore: %u/100 (%u critical, %u warning, %u info)\n",
	                    checkrule_score(r), checkrule_count(r, CHECKRULE_CRITICAL),
	                    checkrule_count(r, CHECKRULE_WARNING),
	                    checkrule_count(r, CHECKRULE_INFO));
	return rc ? -1 : 0;
}

/* A JSON string; the text is printable ASCII already (clean_copy), so only '"' and '\\'
 * need escaping. */
static int
json_str(struct strbuf *out, const char *s)
{
	int rc = strbuf_puts(out, "\"");

	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			rc |= strbuf_append(out, "\\", 1);
		rc |= strbuf_append(out, s, 1);
	}
	return rc | strbuf_puts(out, "\"");
}

int
checkrule_json(const struct checkrule_report *r, struct strbuf *out)
{
	int rc = 0;

	rc |= strbuf_puts(out, "{\"domain\":");
	rc |= json_str(out, r->domain);
	rc |= strbuf_puts(out, ",\"status\":");
	rc |= json_str(out, r->aborted ? "error" : "ok");
	rc |= strbuf_puts(out, ",\"error\":");
	rc |= r->aborted ? json_str(out, r->abort_why) : strbuf_puts(out, "null");
	rc |= strbuf_printf(
	    out,
	    ",\"score\":%u,\"exit\":%d,\"counts\":{\"critical\":%u,\"warning\":%u,"
	    "\"info\":%u},\"dropped\":%u,\"dimensions\":[",
	    checkrule_score(r), checkrule_exit(r), checkrule_count(r, CHECKRULE_CRITICAL),
	    checkrule_count(r, CHECKRULE_WARNING), checkrule_count(r, CHECKRULE_INFO), r->dropped);
	for (int d = 1; d <= CHECKRULE_DIMS && !r->aborted; d++) {
		int first = 1;

		rc |= strbuf_printf(out, "%s{\"id\":%d,\"name\":", d > 1 ? "," : "", d);
		rc |= json_str(out, checkrule_dim_name((enum checkrule_dim)d));
		rc |= strbuf_puts(out, ",\"title\":");
		rc |= json_str(out, checkrule_dim_title((enum checkrule_dim)d));
		rc |= strbuf_printf(out, ",\"checked\":%s,\"facts\":{",
		                    dim_checked(r, (enum checkrule_dim)d) ? "true" : "false");
		for (unsigned i = 0; i < r->n_facts; i++) {
			if ((int)r->facts[i].dim != d)
				continue;
			rc |= strbuf_puts(out, first ? "" : ",");
			first = 0;
			rc |= json_str(out, r->facts[i].key);
			rc |= strbuf_puts(out, ":");
			rc |= json_str(out, r->facts[i].value);
		}
		rc |= strbuf_puts(out, "},\"findings\":[");
		first = 1;
		for (unsigned i = 0; i < r->n; i++) {
			const struct checkrule_finding *f = &r->f[i];

			if ((int)f->dim != d)
				continue;
			rc |= strbuf_puts(out, first ? "{\"code\":" : ",{\"code\":");
			first = 0;
			rc |= json_str(out, checkrule_code_name(f->code));
			rc |= strbuf_puts(out, ",\"severity\":");
			rc |= json_str(out, checkrule_sev_name(f->sev));
			rc |= strbuf_puts(out, ",\"message\":");
			rc |= json_str(out, f->msg);
			rc |= strbuf_puts(out, ",\"hint\":");
			rc |= json_str(out, checkrule_code_hint(f->code));
			rc |= strbuf_puts(out, "}");
		}
		rc |= strbuf_puts(out, "]}");
	}
	rc |= strbuf_puts(out, "]}\n");
	return rc ? -1 : 0;
}
