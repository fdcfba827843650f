/* SPDX-License-Identifier: MIT */
/*
 * dname: normalise and validate a host name in presentation form. Pure (P): no I/O, no globals.
 * Accepts LDH names (RFC 1123 s2.1, RFC 1035 s2.3.1 letters/digits/hyphen) of at least two
 * labels: lower-cases ASCII, strips exactly one trailing dot. dname_is_normal() checks a name
 * read back from storage in place: valid and already in that form, with no copy.
 * Limits: DNAME_MAX (253) bytes without the trailing dot, DNAME_LABEL_MAX (63) per label
 * (RFC 1035 s2.3.4). Underscore, bytes >= 0x80 and control bytes are rejected: U-labels (IDN)
 * and service labels are handled elsewhere, not here.
 */
#include "dname.h"

static int
dname_is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

static char
dname_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Check one label p[0..n): n is already known to be <= DNAME_LABEL_MAX. */
static enum dname_err
dname_check_label(const char *p, size_t n)
{
	if (n == 0)
		return DNAME_EMPTY_LABEL;
	if (p[0] == '-' || p[n - 1] == '-')
		return DNAME_BAD_HYPHEN;
	return DNAME_OK;
}

/* The checks of a name p[0..len), trailing dot already stripped, len already capped: LDH
 * labels of 1..63 bytes without an outer hyphen, at least two of them. Upper-case letters pass
 * only with upper_ok (normalising lower-cases them; an already normalised name has none). */
static enum dname_err
dname_scan(const char *p, size_t len, int upper_ok)
{
	size_t label_start = 0, dots = 0;
	enum dname_err err;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '.') {
			err = dname_check_label(p + label_start, i - label_start);
			if (err != DNAME_OK)
				return err;
			label_start = i + 1;
			dots++;
			continue;
		}
		/* Underscore, NUL, controls and non-ASCII: never part of a mail host name here. */
		if (!dname_is_ldh(c) || (!upper_ok && c >= 'A' && c <= 'Z'))
			return DNAME_BAD_CHAR;
		if (i - label_start + 1 > DNAME_LABEL_MAX)
			return DNAME_LABEL_TOO_LONG;
	}
	err = dname_check_label(p + label_start, len - label_start);
	if (err != DNAME_OK)
		return err;
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
	err = dname_scan(p, len, 1);
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
	return dname_scan(p, len, 0) == DNAME_OK;
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
