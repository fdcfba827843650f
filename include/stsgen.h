/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_STSGEN_H
#define MTASTSD_STSGEN_H

#include <stddef.h>
#include <time.h>

#include "dname.h"
#include "stspolicy.h"
#include "stsrecord.h"
#include "strbuf.h"

#define STSGEN_TTL 3600           /**< TTL of the zone-file lines, seconds (one hour) */
#define STSGEN_RUA_MAX 8          /**< our cap on --rua URIs */
#define STSGEN_URI_MAX 256        /**< our cap on one --rua URI, bytes */
#define STSGEN_TXT_STRING_MAX 255 /**< RFC 1035 s3.3: one TXT character-string */
#define STSGEN_TXT_MAX 4096       /**< our cap on one generated TXT record, bytes */
#define STSGEN_TEXT_MAX 131072    /**< cap on the formatted text and on the policy body */
#define STSGEN_WRAP 78            /**< advice comments are wrapped at this column */

/** What to generate: the command line's values, as given (validated by stsgen_make()). */
struct stsgen_in {
	const char *domain;     /**< policy domain (borrowed) */
	const char *mode;       /**< "enforce", "testing" or "none" (borrowed) */
	const char *const *mx;  /**< MX patterns (borrowed) */
	size_t n_mx;            /**< count of mx */
	const char *max_age;    /**< decimal seconds, 0..STSPOLICY_MAX_AGE_MAX (borrowed) */
	const char *const *rua; /**< TLS-RPT report URIs, mailto: or https: (borrowed) */
	size_t n_rua;           /**< count of rua; 0: no TLS-RPT record */
	const char *id;         /**< policy id, or NULL: made from now as YYYYMMDDTHHMMSSZ */
	time_t now;             /**< the time of generation */
};

/** Why the input was refused. */
enum stsgen_err {
	STSGEN_OK = 0,
	STSGEN_BAD_DOMAIN,   /**< the domain does not normalise, or its names get too long */
	STSGEN_BAD_MODE,     /**< mode is not enforce, testing or none */
	STSGEN_NO_MX,        /**< no mx pattern while mode is enforce or testing */
	STSGEN_BAD_MX,       /**< an mx pattern is not a host name or "*." host name */
	STSGEN_DUP_MX,       /**< the same mx pattern twice (after normalisation) */
	STSGEN_TOO_MANY_MX,  /**< over STSPOLICY_MAX_MX patterns */
	STSGEN_BAD_MAX_AGE,  /**< max_age not digits or over STSPOLICY_MAX_AGE_MAX */
	STSGEN_BAD_ID,       /**< id empty, over 32 bytes, or not letters and digits */
	STSGEN_BAD_TIME,     /**< now cannot be written as a 16-character id */
	STSGEN_BAD_RUA,      /**< a report URI is not a usable mailto: or https: URI */
	STSGEN_TOO_MANY_RUA, /**< over STSGEN_RUA_MAX URIs */
	STSGEN_SELF_CHECK,   /**< our output failed our own parser: a bug, never printed */
};

/** The generated records and policy. */
struct stsgen {
	char domain[DNAME_MAX + 1];      /**< normalised policy domain */
	char id[STSRECORD_ID_MAX + 1];   /**< policy id */
	char generated[24];              /**< now, ISO 8601 UTC */
	char sts_name[DNAME_MAX + 2];    /**< "_mta-sts.DOMAIN." */
	char tlsrpt_name[DNAME_MAX + 2]; /**< "_smtp._tls.DOMAIN.", empty without rua */
	struct stspolicy policy;         /**< the policy body as parsed back by stspolicy_parse() */
	struct strbuf sts_txt;           /**< the _mta-sts TXT record's text */
	struct strbuf sts_zone;          /**< ... as one zone-file line, no newline */
	struct strbuf tlsrpt_txt;        /**< the _smtp._tls TXT record's text, empty without rua */
	struct strbuf tlsrpt_zone;       /**< ... as one zone-file line, empty without rua */
	struct strbuf policy_text;       /**< the policy file, CRLF line ends */
	struct strbuf url;               /**< where the policy file is served */
	struct strbuf dns_advice;        /**< advice on the records, one paragraph a line */
	struct strbuf policy_advice;     /**< advice on the policy, one paragraph a line */
	const char *bad_arg;             /**< on error: the argument at fault ("domain", "mode",
	                                    "mx", "max-age", "id", "rua"), else NULL */
	const char *bad_value;           /**< on error: its value (borrowed from the input) */
	const char *why;                 /**< on error: more detail (static text) or NULL */
};

/** Prepare caller storage. @param g output, release with stsgen_fini() */
void stsgen_init(struct stsgen *g);
/** Release what stsgen_make() stored. @param g output (may be stsgen_init()ed again) */
void stsgen_fini(struct stsgen *g);

/**
 * Validate the input and generate the _mta-sts TXT record (RFC 8461 s3.1), the policy file
 * (s3.2, CRLF line ends), and with rua the _smtp._tls TXT record (RFC 8460 s3), with advice.
 * Each output is parsed back with stsrecord_parse() / stspolicy_parse() before success.
 * @param in what to generate (borrowed for the call; bad_value may point into it afterwards)
 * @param g output from stsgen_init(); on error only bad_arg, bad_value and why are meaningful
 * @return STSGEN_OK or the reason the input was refused
 */
enum stsgen_err stsgen_make(const struct stsgen_in *in, struct stsgen *g);

/**
 * The whole text for an operator: zone-file lines with ';' comments, then the policy file
 * (CRLF line ends) between '#' comments, advice wrapped at STSGEN_WRAP columns.
 * @param g output of a successful stsgen_make() @param out appended to
 * @return 0, or -1 when out's cap would be passed
 */
int stsgen_format(const struct stsgen *g, struct strbuf *out);

/** @param err code @return static text */
const char *stsgen_strerror(enum stsgen_err err);

#endif
