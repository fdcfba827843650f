/* SPDX-License-Identifier: MIT */
/*
 * dname: normalise and validate a host name in presentation form. Pure (P): no I/O, no globals.
 * Accepts LDH names (RFC 1123 s2.1, RFC 1035 s2.3.1 letters/digits/hyphen) of at least two
 * labels: lower-cases ASCII, strips exactly one trailing dot. dname_is_normal() checks a name
 * read back from storage in place: valid and already in that form, with no copy;
 * dname_copy_normal() checks it as it copies it out (one pass, no memcpy of its own).
 * Limits: DNAME_MAX (253) bytes without the trailing dot, DNAME_LABEL_MAX (63) per label
 * (RFC 1035 s2.3.4). Underscore, bytes >= 0x80 and control bytes are rejected: U-labels (IDN)
 * and service labels are handled elsewhere, not here.
 */
#include "dname.h"

/* Byte classes (dname.h): a letter, digit or hyphen; an upper-case letter; the dot. Every
 * other byte (underscore, NUL, controls, non-ASCII) is 0: never part of a mail host name here. */
#define L DNAME_CLASS_LDH
#define U DNAME_CLASS_UPPER
#define D DNAME_CLASS_DOT
const unsigned char dname_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, L, D, 0, /* 0x20 */
    L, L, L, L, L, L, L, L, L, L, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, /* 0x40 */
    U, U, U, U, U, U, U, U, U, U, U, 0, 0, 0, 0, 0, /* 0x50 */
    0, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L, /* 0x60 */
    L, L, L, L, L, L, L, L, L, L, L, 0, 0, 0, 0, 0, /* 0x70 */
};
#undef L
#undef U
#undef D

static char
dname_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* The checks of a name p[0..len), trailing dot already stripped, len already capped: LDH
 * labels of 1..63 bytes without an outer hyphen, at least two of them. Upper-case letters pass
 * only with upper_ok (normalising lower-cases them; an already normalised name has none).
 * With copy, each byte checked is also written to copy[] (len bytes, no NUL; on an error
 * part of them). Label by label; the error is the one a byte-by-byte scan meets first: a
 * label's 64th byte comes before a bad byte after it, a bad byte before the end of its label.
 * Inline, so that each caller gets the loop for its own upper_ok and copy. */
static inline enum dname_err
dname_scan(const char *p, size_t len, int upper_ok, char *copy)
{
	const unsigned char ok = upper_ok ? DNAME_CLASS_LDH | DNAME_CLASS_UPPER : DNAME_CLASS_LDH;
	size_t i = 0, start, dots = 0;

	for (;;) {
		start = i;
		if (copy != NULL)
			while (i < len && (dname_class[(unsigned char)p[i]] & ok) != 0) {
				copy[i] = p[i];
				i++;
			}
		else
			while (i < len && (dname_class[(unsigned char)p[i]] & ok) != 0)
				i++;
		if (i - start > DNAME_LABEL_MAX)
			return DNAME_LABEL_TOO_LONG;
		if (i < len && p[i] != '.')
			return DNAME_BAD_CHAR;
		if (i == start)
			return DNAME_EMPTY_LABEL;
		if (p[start] == '-' || p[i - 1] == '-')
			return DNAME_BAD_HYPHEN;
		if (i == len)
			break;
		if (copy != NULL)
			copy[i] = '.';
		i++; /* the dot */
		dots++;
	}
	/* A bare label ("localhost", "com") is never a domain with an MTA-STS policy. */
	if (dots == 0)
		return DNAME_SINGLE_LABEL;
	return DNAME_OK;
}

enum dname_err
dname_normalize(const char *p, size_t len, char out[DNAME_MAX + 1], size_t *outlen)
{
	enum dname_err err;

	if (len == 0)
		return DNAME_EMPTY;
	/* Exactly one trailing dot is the absolute form of the same name; a second one is "..". */
	if (p[len - 1] == '.')
		len--;
	if (len == 0)
		return DNAME_EMPTY;
	/* Length before any scanning, so the work per name is bounded by the cap. */
	if (len > DNAME_MAX)
		return DNAME_TOO_LONG;

	/* Validate fully before writing, so out is untouched on failure. */
	err = dname_scan(p, len, 1, NULL);
	if (err != DNAME_OK)
		return err;

	for (size_t i = 0; i < len; i++)
		out[i] = dname_lower(p[i]);
	out[len] = '\0';
	if (outlen != NULL)
		*outlen = len;
	return DNAME_OK;
}

int
dname_is_normal(const char *p, size_t len)
{
	/* Normalising strips a trailing dot and lower-cases: a name with either is not normal. */
	if (len == 0 || len > DNAME_MAX || p[len - 1] == '.')
		return 0;
	return dname_scan(p, len, 0, NULL) == DNAME_OK;
}

int
dname_copy_normal(const char *p, size_t len, char out[DNAME_MAX + 1])
{
	if (len == 0 || len > DNAME_MAX || p[len - 1] == '.' ||
	    dname_scan(p, len, 0, out) != DNAME_OK)
		return 0;
	out[len] = '\0';
	return 1;
}

const char *
dname_strerror(enum dname_err err)
{
	switch (err) {
	case DNAME_OK:
		return "ok";
	case DNAME_EMPTY:
		return "empty name";
	case DNAME_TOO_LONG:
		return "name longer than 253 bytes";
	case DNAME_LABEL_TOO_LONG:
		return "label longer than 63 bytes";
	case DNAME_EMPTY_LABEL:
		return "empty label";
	case DNAME_BAD_CHAR:
		return "character not allowed in a host name";
	case DNAME_BAD_HYPHEN:
		return "label starts or ends with a hyphen";
	case DNAME_SINGLE_LABEL:
		return "single-label name";
	}
	return "unknown dname error";
}
