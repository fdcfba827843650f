/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_STSRECORD_H
#define MTASTSD_STSRECORD_H

#include <stddef.h>

#define STSRECORD_ID_MAX 32      /**< RFC 8461 s3.1: id is 1*32(ALPHA / DIGIT) */
#define STSRECORD_TXT_MAX 4096   /**< our cap on one concatenated TXT record */
#define STSRECORD_RECORDS_MAX 64 /**< our cap on TXT records examined per name */

/** A parsed _mta-sts TXT record. */
struct stsrecord {
	char id[STSRECORD_ID_MAX + 1]; /**< policy id, NUL-terminated */
};

/** Results of parsing or selecting a record. */
enum stsrecord_err {
	STSRECORD_OK = 0,
	STSRECORD_NOT_STS,  /**< does not begin with "v=STSv1" and a separator */
	STSRECORD_SYNTAX,   /**< violates the record grammar */
	STSRECORD_BAD_ID,   /**< id empty, too long or not letters/digits */
	STSRECORD_NO_ID,    /**< no id field */
	STSRECORD_NONE,     /**< select: no STSv1 record among the TXT records */
	STSRECORD_MULTIPLE, /**< select: more than one STSv1 record */
};

/** One TXT record, its character-strings already concatenated. */
struct stsrecord_txt {
	const char *p; /**< bytes (borrowed) */
	size_t len;    /**< length */
};

/**
 * Parse one concatenated TXT record per RFC 8461 s3.1 (first id wins, extensions ignored).
 * @param p record bytes @param len length @param out result on STSRECORD_OK
 * @return STSRECORD_OK or the reason it is not a valid STSv1 record
 */
enum stsrecord_err stsrecord_parse(const char *p, size_t len, struct stsrecord *out);

/**
 * Apply RFC 8461 s3.1 to all TXT records at _mta-sts.<domain>: records not starting with
 * "v=STSv1" are discarded; exactly one must remain and parse.
 * @param recs records @param n count (only the first STSRECORD_RECORDS_MAX are examined)
 * @param out result on STSRECORD_OK
 * @return STSRECORD_OK, STSRECORD_NONE, STSRECORD_MULTIPLE, or the parse error of the one record
 */
enum stsrecord_err stsrecord_select(const struct stsrecord_txt *recs, size_t n,
                                    struct stsrecord *out);

/** @param err code @return static text */
const char *stsrecord_strerror(enum stsrecord_err err);

#endif
