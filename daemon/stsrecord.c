/* SPDX-License-Identifier: MIT */
/*
 * stsrecord: the _mta-sts TXT record (RFC 8461 s3.1). Pure (P): no I/O, no globals.
 *   sts-text-record = "v=STSv1" 1*(sts-sep sts-field) [sts-sep]
 *   sts-sep = *WSP ";" *WSP;  sts-field = sts-id / sts-extension
 *   sts-id = "id=" 1*32(ALPHA / DIGIT)
 *   sts-extension = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") "="
 *                   1*(%x21-3A / %x3C / %x3E-7E)
 * "v=STSv1" and "id=" are matched case-sensitively. The first id wins; extensions are checked
 * and ignored. A record that is "v=STSv1" plus *WSP and nothing else still counts as STSv1 for
 * stsrecord_select() (so it makes a second record ambiguous) but fails with STSRECORD_NO_ID or
 * STSRECORD_SYNTAX. Limits: STSRECORD_TXT_MAX bytes per record (longer: STSRECORD_SYNTAX),
 * STSRECORD_RECORDS_MAX records examined. Joining character-strings is the resolver's job.
 */
#include "stsrecord.h"

#include <string.h>

#define VERSION_TAG "v=STSv1"
#define VERSION_LEN (sizeof(VERSION_TAG) - 1)

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

/* Does the record begin with "v=STSv1" followed by a separator or its end? */
static int
stsrecord_is_sts(const char *p, size_t len)
{
	size_t i = VERSION_LEN;

	if (len < VERSION_LEN || memcmp(p, VERSION_TAG, VERSION_LEN) != 0)
		return 0;
	while (i < len && is_wsp(p[i]))
		i++;
	return i == len || p[i] == ';';
}

/* One field "name=value" in p[0..len): validate it, and take the id if it is the first. */
static enum stsrecord_err
stsrecord_field(const char *p, size_t len, struct stsrecord *out, int *have_id)
{
	const char *eq = memchr(p, '=', len);
	size_t nlen, vlen;
	const char *v;

	if (eq == NULL)
		return STSRECORD_SYNTAX;
	nlen = (size_t)(eq - p);
	v = eq + 1;
	vlen = len - nlen - 1;
	if (nlen == 2 && memcmp(p, "id", 2) == 0) {
		if (vlen == 0 || vlen > STSRECORD_ID_MAX)
			return STSRECORD_BAD_ID;
		for (size_t i = 0; i < vlen; i++)
			if (!is_alnum(v[i]))
				return STSRECORD_BAD_ID;
		if (!*have_id) {
			memcpy(out->id, v, vlen);
			out->id[vlen] = '\0';
			*have_id = 1;
		}
		return STSRECORD_OK;
	}
	if (nlen == 0 || nlen > 32 || !is_alnum(p[0]))
		return STSRECORD_SYNTAX;
	for (size_t i = 1; i < nlen; i++)
		if (!is_alnum(p[i]) && p[i] != '_' && p[i] != '-' && p[i] != '.')
			return STSRECORD_SYNTAX;
	if (vlen == 0)
		return STSRECORD_SYNTAX;
	for (size_t i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x21 || c > 0x7e || c == ';' || c == '=')
			return STSRECORD_SYNTAX;
	}
	return STSRECORD_OK;
}

enum stsrecord_err
stsrecord_parse(const char *p, size_t len, struct stsrecord *out)
{
	size_t i;
	int have_id = 0, fields = 0;
	struct stsrecord tmp;

	/* out is written only on success, so a caller's previous id survives a bad record. */
	memset(&tmp, 0, sizeof(tmp));
	if (len > STSRECORD_TXT_MAX)
		return STSRECORD_SYNTAX;
	if (!stsrecord_is_sts(p, len))
		return STSRECORD_NOT_STS;
	i = VERSION_LEN;
	/* Each iteration consumes one separator and, unless the record ends, one field. */
	while (i < len) {
		size_t start, end;
		enum stsrecord_err e;

		while (i < len && is_wsp(p[i]))
			i++;
		if (i == len || p[i] != ';')
			return STSRECORD_SYNTAX;
		i++;
		while (i < len && is_wsp(p[i]))
			i++;
		if (i == len)
			break; /* trailing separator */
		start = i;
		while (i < len && p[i] != ';' && !is_wsp(p[i]))
			i++;
		end = i;
		e = stsrecord_field(p + start, end - start, &tmp, &have_id);
		if (e != STSRECORD_OK)
			return e;
		fields++;
	}
	if (fields == 0 || !have_id)
		return STSRECORD_NO_ID;
	*out = tmp;
	return STSRECORD_OK;
}

enum stsrecord_err
stsrecord_select(const struct stsrecord_txt *recs, size_t n, struct stsrecord *out)
{
	const struct stsrecord_txt *one = NULL;

	if (n > STSRECORD_RECORDS_MAX)
		n = STSRECORD_RECORDS_MAX;
	for (size_t i = 0; i < n; i++) {
		if (!stsrecord_is_sts(recs[i].p, recs[i].len))
			continue;
		if (one != NULL)
			return STSRECORD_MULTIPLE;
		one = &recs[i];
	}
	if (one == NULL)
		return STSRECORD_NONE;
	return stsrecord_parse(one->p, one->len, out);
}

const char *
stsrecord_strerror(enum stsrecord_err err)
{
	switch (err) {
	case STSRECORD_OK:
		return "ok";
	case STSRECORD_NOT_STS:
		return "not an STSv1 record";
	case STSRECORD_SYNTAX:
		return "TXT record syntax error";
	case STSRECORD_BAD_ID:
		return "invalid id (1-32 letters or digits)";
	case STSRECORD_NO_ID:
		return "no id field";
	case STSRECORD_NONE:
		return "no STSv1 TXT record";
	case STSRECORD_MULTIPLE:
		return "more than one STSv1 TXT record";
	}
	return "unknown error";
}
