/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_DNAME_H
#define MTASTSD_DNAME_H

#include <stddef.h>

#define DNAME_MAX 253      /**< longest name in presentation form, without trailing dot */
#define DNAME_LABEL_MAX 63 /**< longest label */

/** Why a name was rejected. */
enum dname_err {
	DNAME_OK = 0,
	DNAME_EMPTY,          /**< nothing left after stripping */
	DNAME_TOO_LONG,       /**< over DNAME_MAX */
	DNAME_LABEL_TOO_LONG, /**< a label over DNAME_LABEL_MAX */
	DNAME_EMPTY_LABEL,    /**< ".." or a leading dot */
	DNAME_BAD_CHAR,   /**< not letter, digit or hyphen (underscore allowed only if permitted) */
	DNAME_BAD_HYPHEN, /**< label starts or ends with a hyphen */
	DNAME_SINGLE_LABEL, /**< no dot: not a mail domain */
};

/**
 * Normalise a host name: lower-case it, strip one trailing dot, and check it is a
 * valid LDH host name of at least two labels (RFC 1123 letters, digits, hyphens).
 * @param p name (not NUL-terminated) @param len its length
 * @param out caller storage, NUL-terminated on success
 * @param outlen length written (may be NULL)
 * @return DNAME_OK or the reason for rejection
 */
enum dname_err dname_normalize(const char *p, size_t len, char out[DNAME_MAX + 1], size_t *outlen);

#define DNAME_CLASS_LDH 1   /**< a-z, 0-9, '-' */
#define DNAME_CLASS_UPPER 2 /**< A-Z */
#define DNAME_CLASS_DOT 4   /**< '.' */
/** The class of each byte in a host name; 0: a byte no host name here has. */
extern const unsigned char dname_class[256];

/**
 * Is p[0..len) exactly what dname_normalize() makes of it, i.e. a valid name already in
 * normal form (lower case, no trailing dot)? The same checks without a copy: for readers of
 * stored names, which must be normalised and need not be normalised again.
 * @param p name (not NUL-terminated) @param len its length
 * @return 1 if dname_normalize(p, len) succeeds and returns the same len bytes, else 0
 */
int dname_is_normal(const char *p, size_t len);

/**
 * dname_is_normal(), copying the name to out in the same pass.
 * @param p name (not NUL-terminated) @param len its length
 * @param out caller storage: the name, NUL-terminated, on success; on failure its first
 *        bytes may have been written (no NUL)
 * @return 1 if the name is normal (and copied), else 0
 */
int dname_copy_normal(const char *p, size_t len, char out[DNAME_MAX + 1]);

/** @param err code @return static text for the code */
const char *dname_strerror(enum dname_err err);

#endif
