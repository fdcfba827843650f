/* SPDX-License-Identifier: MIT */
/*
 * stspolicy: the MTA-STS policy file (RFC 8461 s3.2) and MX pattern matching (s4.1). Pure (P).
 * Lines end in LF or CRLF; the last may lack its end; any other CR is an error. Each line is
 * key ":" *WSP value *WSP, key = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / "."), value =
 * 1*(VCHAR / WSP) once trimmed. Known keys (case-sensitive): version (STSv1), mode
 * (enforce|testing|none), mx (repeatable: LDH host name or "*." host name, lower-cased, via
 * dname_normalize()), max_age (1-10 digits, <= 31557600). The first version/mode/max_age wins;
 * later duplicates and unknown keys must still be well-formed lines and are then ignored.
 * Choice: empty lines anywhere are ignored (a blank line is no field); whitespace-only lines
 * are syntax errors. mx values are validated as host names so no policy text (space, "=",
 * braces, controls) can reach a Postfix reply. Limits: STSPOLICY_MAX_BYTES, STSPOLICY_LINES_MAX
 * (every line counts, blank ones too), STSPOLICY_MAX_MX, a stored pattern <= DNAME_MAX bytes.
 */
#include "stspolicy.h"

#include <string.h>

#include "xalloc.h"

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int
key_is(const char *k, size_t klen, const char *want)
{
	return klen == strlen(want) && memcmp(k, want, klen) == 0;
}

/* sts-policy-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
static int
key_valid(const char *k, size_t klen)
{
	if (klen == 0 || klen > 32 || !is_alnum(k[0]))
		return 0;
	for (size_t i = 1; i < klen; i++)
		if (!is_alnum(k[i]) && k[i] != '_' && k[i] != '-' && k[i] != '.')
			return 0;
	return 1;
}

/* sts-policy-value = 1*(VCHAR / WSP), already trimmed: no control bytes, no 8-bit bytes. */
static int
value_valid(const char *v, size_t vlen)
{
	if (vlen == 0)
		return 0;
	for (size_t i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)v[i];
		if (!(c >= 0x21 && c <= 0x7e) && !is_wsp((char)c))
			return 0;
	}
	return 1;
}

static enum stspolicy_err
parse_mx(const char *v, size_t vlen, struct stspolicy *out)
{
	char name[DNAME_MAX + 1];
	size_t nlen, off = 0;
	char *dst;

	if (out->n_mx == STSPOLICY_MAX_MX)
		return STSPOLICY_TOO_MANY_MX;
	if (vlen >= 2 && v[0] == '*' && v[1] == '.')
		off = 2;
	if (dname_normalize(v + off, vlen - off, name, &nlen) != DNAME_OK || off + nlen > DNAME_MAX)
		return STSPOLICY_BAD_MX;
	dst = out->mx[out->n_mx++];
	memcpy(dst, "*.", off);
	memcpy(dst + off, name, nlen + 1);
	return STSPOLICY_OK;
}

enum stspolicy_err
stspolicy_parse(const char *p, size_t len, struct stspolicy *out)
{
	int have_version = 0, have_mode = 0, have_max_age = 0;
	unsigned lines = 0;
	size_t pos = 0;

	if (len > STSPOLICY_MAX_BYTES)
		return STSPOLICY_TOO_BIG;
	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *line = p + pos, *nl = memchr(line, '\n', len - pos), *colon, *v;
		size_t llen = nl ? (size_t)(nl - line) : len - pos, klen, vlen;
		enum stspolicy_err e;

		pos += llen + (nl ? 1 : 0);
		if (++lines > STSPOLICY_LINES_MAX)
			return STSPOLICY_TOO_MANY_LINES;
		/* Only a CR right before LF ends a line; a CR at the very end is a lone CR. */
		if (nl != NULL && llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0)
			continue;
		if (memchr(line, '\r', llen) != NULL || memchr(line, '\0', llen) != NULL)
			return STSPOLICY_SYNTAX;
		colon = memchr(line, ':', llen);
		if (colon == NULL)
			return STSPOLICY_SYNTAX;
		klen = (size_t)(colon - line);
		v = colon + 1;
		vlen = llen - klen - 1;
		while (vlen > 0 && is_wsp(v[0]))
			v++, vlen--;
		while (vlen > 0 && is_wsp(v[vlen - 1]))
			vlen--;
		if (!key_valid(line, klen) || !value_valid(v, vlen))
			return STSPOLICY_SYNTAX;
		if (key_is(line, klen, "version")) {
			if (have_version)
				continue;
			if (vlen != 5 || memcmp(v, "STSv1", 5) != 0)
				return STSPOLICY_BAD_VERSION;
			have_version = 1;
		} else if (key_is(line, klen, "mode")) {
			if (have_mode)
				continue;
			if (vlen == 7 && memcmp(v, "enforce", 7) == 0)
				out->mode = STSPOLICY_MODE_ENFORCE;
			else if (vlen == 7 && memcmp(v, "testing", 7) == 0)
				out->mode = STSPOLICY_MODE_TESTING;
			else if (vlen == 4 && memcmp(v, "none", 4) == 0)
				out->mode = STSPOLICY_MODE_NONE;
			else
				return STSPOLICY_BAD_MODE;
			have_mode = 1;
		} else if (key_is(line, klen, "max_age")) {
			unsigned long long age;
			if (have_max_age)
				continue;
			if (vlen > 10 || parse_uint(v, vlen, 0, STSPOLICY_MAX_AGE_MAX, &age) != 0)
				return STSPOLICY_BAD_MAX_AGE;
			out->max_age = (uint32_t)age;
			have_max_age = 1;
		} else if (key_is(line, klen, "mx")) {
			if ((e = parse_mx(v, vlen, out)) != STSPOLICY_OK)
				return e;
		}
		/* Any other key is an extension: ignored (RFC 8461 s3.2). */
	}
	if (!have_version)
		return STSPOLICY_BAD_VERSION;
	if (!have_mode)
		return STSPOLICY_BAD_MODE;
	if (!have_max_age)
		return STSPOLICY_BAD_MAX_AGE;
	if (out->n_mx == 0 && out->mode != STSPOLICY_MODE_NONE)
		return STSPOLICY_NO_MX;
	return STSPOLICY_OK;
}

static int
eq_nocase(const char *a, const char *b, size_t n)
{
	/* Stored names are already lower case: equal bytes settle it at memcmp's speed. */
	if (memcmp(a, b, n) == 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return 1;
}

int
stspolicy_mx_match(const char *pattern, const char *host)
{
	size_t hlen = strlen(host), plen = strlen(pattern);

	/* One trailing dot on either side is the absolute form of the same name. */
	if (hlen > 0 && host[hlen - 1] == '.')
		hlen--;
	if (plen > 0 && pattern[plen - 1] == '.')
		plen--;
	/* An empty name or a bare "*." matches nothing, whatever a caller passes. */
	if (hlen == 0 || plen == 0 || (plen <= 2 && pattern[0] == '*'))
		return 0;
	if (plen > 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* "*.example.com" covers exactly one extra left-most label (RFC 8461 s4.1). */
		const char *suffix = pattern + 1; /* ".example.com" */
		size_t slen = plen - 1;

		if (hlen <= slen || !eq_nocase(host + hlen - slen, suffix, slen))
			return 0;
		/* The part before the suffix is one non-empty label: no further dot in it. */
		return memchr(host, '.', hlen - slen) == NULL;
	}
	return hlen == plen && eq_nocase(host, pattern, plen);
}

const char *
stspolicy_mode_name(enum stspolicy_mode mode)
{
	switch (mode) {
	case STSPOLICY_MODE_NONE:
		return "none";
	case STSPOLICY_MODE_TESTING:
		return "testing";
	case STSPOLICY_MODE_ENFORCE:
		return "enforce";
	}
	return "?";
}

const char *
stspolicy_strerror(enum stspolicy_err err)
{
	switch (err) {
	case STSPOLICY_OK:
		return "ok";
	case STSPOLICY_TOO_BIG:
		return "policy larger than 65536 bytes";
	case STSPOLICY_SYNTAX:
		return "policy syntax error";
	case STSPOLICY_BAD_VERSION:
		return "version missing or not STSv1";
	case STSPOLICY_BAD_MODE:
		return "mode missing or not enforce/testing/none";
	case STSPOLICY_BAD_MX:
		return "mx is not a host name or *.host name";
	case STSPOLICY_NO_MX:
		return "no mx in a testing or enforce policy";
	case STSPOLICY_TOO_MANY_MX:
		return "more than 64 mx patterns";
	case STSPOLICY_BAD_MAX_AGE:
		return "max_age missing, not digits, or over 31557600";
	case STSPOLICY_TOO_MANY_LINES:
		return "more than 1000 lines";
	}
	return "unknown error";
}
