/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_STSPOLICY_H
#define MTASTSD_STSPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include "dname.h"

#define STSPOLICY_MAX_BYTES 65536       /**< RFC 8461 s3.3 suggests 64 KiB */
#define STSPOLICY_MAX_MX 64             /**< our cap on mx patterns */
#define STSPOLICY_MAX_AGE_MAX 31557600U /**< RFC 8461 s3.2: about one year */
#define STSPOLICY_LINES_MAX 1000        /**< our cap on lines examined */

/** Policy mode (RFC 8461 s5). */
enum stspolicy_mode {
	STSPOLICY_MODE_NONE = 0,
	STSPOLICY_MODE_TESTING = 1,
	STSPOLICY_MODE_ENFORCE = 2,
};

/** A validated policy. mx patterns are lower-cased, without trailing dot. */
struct stspolicy {
	enum stspolicy_mode mode;                 /**< mode */
	uint32_t max_age;                         /**< seconds, <= STSPOLICY_MAX_AGE_MAX */
	unsigned n_mx;                            /**< number of mx patterns */
	char mx[STSPOLICY_MAX_MX][DNAME_MAX + 1]; /**< "host.name" or "*.host.name" */
};

/** Why a policy was rejected. */
enum stspolicy_err {
	STSPOLICY_OK = 0,
	STSPOLICY_TOO_BIG,        /**< over STSPOLICY_MAX_BYTES */
	STSPOLICY_SYNTAX,         /**< a line is not "key: value" per the grammar */
	STSPOLICY_BAD_VERSION,    /**< version missing or not STSv1 */
	STSPOLICY_BAD_MODE,       /**< mode missing or unknown */
	STSPOLICY_BAD_MX,         /**< an mx value is not a host name or "*." host name */
	STSPOLICY_NO_MX,          /**< no mx while mode is not none */
	STSPOLICY_TOO_MANY_MX,    /**< over STSPOLICY_MAX_MX */
	STSPOLICY_BAD_MAX_AGE,    /**< max_age missing, not digits, or out of range */
	STSPOLICY_TOO_MANY_LINES, /**< over STSPOLICY_LINES_MAX */
};

/**
 * Parse a policy body (RFC 8461 s3.2): LF or CRLF line ends, first occurrence of a key
 * wins except mx, unknown keys fitting the extension grammar ignored.
 * @param p body bytes (not NUL-terminated) @param len length
 * @param out result on STSPOLICY_OK (caller storage)
 * @return STSPOLICY_OK or the reason
 */
enum stspolicy_err stspolicy_parse(const char *p, size_t len, struct stspolicy *out);

/**
 * RFC 8461 s4.1 match of an MX host against one policy pattern: exact (case-insensitive), or
 * "*.rest" matching exactly one extra left-most label. A trailing dot on host is ignored.
 * @param pattern pattern as stored @param host MX host name (NUL-terminated)
 * @return 1 on match, 0 otherwise
 */
int stspolicy_mx_match(const char *pattern, const char *host);

/** @param mode mode @return "none", "testing" or "enforce" */
const char *stspolicy_mode_name(enum stspolicy_mode mode);

/** @param err code @return static text */
const char *stspolicy_strerror(enum stspolicy_err err);

#endif
