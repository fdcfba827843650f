/* SPDX-License-Identifier: MIT */
/*
 * stsgen: what a domain publishes to adopt MTA-STS, for `mta-stsctl generate`. Pure (P): the
 * time is a parameter, nothing is printed. Makes the _mta-sts TXT record (RFC 8461 s3.1, id
 * YYYYMMDDTHHMMSSZ from now unless given), the policy file (s3.2: CRLF line ends, as its prose
 * says; our parser also takes LF), the _smtp._tls TLS-RPT record (RFC 8460 s3) when report
 * URIs are given, zone-file lines (TTL STSGEN_TTL, strings split at 255 bytes) and advice.
 * Input goes through the daemon's own rules: dname_normalize() for the domain and each mx
 * pattern ("*." only as the whole first label, as stspolicy.c reads it), the max_age range of
 * stspolicy.h; and every output is parsed back with stsrecord_parse(), stspolicy_parse() and
 * checkrule_tlsrpt_valid() before it is returned, so we never hand out what we would refuse
 * to read. Each report URI is also checked here, stricter, to name the bad argument:
 * mailto:local@host or https://host[:port][/...], host a valid name, no byte a TXT string or the
 * rua list cannot carry. Limits: STSPOLICY_MAX_MX patterns, STSGEN_RUA_MAX URIs of STSGEN_URI_MAX
 * bytes.
 */
#include "stsgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkrule.h"
#include "xalloc.h"

/* The longest TLS-RPT record the caps allow fits its buffer, so build() cannot fail. */
_Static_assert(sizeof("v=TLSRPTv1; rua=") + STSGEN_RUA_MAX * (STSGEN_URI_MAX + 1) <= STSGEN_TXT_MAX,
               "TLS-RPT record cap");

void
stsgen_init(struct stsgen *g)
{
	memset(g, 0, sizeof(*g));
	strbuf_init(&g->sts_txt, STSGEN_TXT_MAX);
	strbuf_init(&g->sts_zone, STSGEN_TEXT_MAX);
	strbuf_init(&g->tlsrpt_txt, STSGEN_TXT_MAX);
	strbuf_init(&g->tlsrpt_zone, STSGEN_TEXT_MAX);
	strbuf_init(&g->policy_text, STSGEN_TEXT_MAX);
	strbuf_init(&g->url, STSGEN_TEXT_MAX);
	strbuf_init(&g->dns_advice, STSGEN_TEXT_MAX);
	strbuf_init(&g->policy_advice, STSGEN_TEXT_MAX);
}

void
stsgen_fini(struct stsgen *g)
{
	strbuf_fini(&g->sts_txt);
	strbuf_fini(&g->sts_zone);
	strbuf_fini(&g->tlsrpt_txt);
	strbuf_fini(&g->tlsrpt_zone);
	strbuf_fini(&g->policy_text);
	strbuf_fini(&g->url);
	strbuf_fini(&g->dns_advice);
	strbuf_fini(&g->policy_advice);
}

/* Record the argument at fault and return the code. */
static enum stsgen_err
refuse(struct stsgen *g, enum stsgen_err e, const char *arg, const char *value, const char *why)
{
	g->bad_arg = arg;
	g->bad_value = value;
	g->why = why;
	return e;
}

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int
prefix_nocase(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++) {
		char c = *s;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != *prefix)
			return 0;
	}
	return 1;
}

/* The host part of a report URI: a name that normalises (no IP literal, no IDN). */
static const char *
uri_host(const char *p, size_t len)
{
	char name[DNAME_MAX + 1];
	enum dname_err e = dname_normalize(p, len, name, NULL);

	return e == DNAME_OK ? NULL : dname_strerror(e);
}

/* RFC 8460 s3: rua is a comma-separated list of URIs in one TXT record; "," and ";" inside a
 * URI must be percent-encoded, and a '"' or '\' would need zone-file escaping. NULL when
 * usable, else why not. */
static const char *
uri_check(const char *u)
{
	size_t len = strlen(u);
	const char *rest, *end, *at;

	if (len > STSGEN_URI_MAX)
		return "longer than 256 bytes";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)u[i];
		if (c < 0x21 || c > 0x7e)
			return "space, control or non-ASCII byte (percent-encode it)";
		if (c == ',' || c == ';')
			return "',' and ';' must be percent-encoded (RFC 8460 s3)";
		if (c == '"' || c == '\\')
			return "'\"' and '\\' must be percent-encoded";
	}
	if (prefix_nocase(u, "mailto:")) {
		rest = u + 7;
		end = rest + strcspn(rest, "?");
		at = NULL;
		for (const char *q = rest; q < end; q++)
			if (*q == '@')
				at = q;
		if (at == NULL || at == rest)
			return "not mailto:local-part@domain";
		if (uri_host(at + 1, (size_t)(end - at - 1)) != NULL)
			return "the mail domain is not a valid domain name";
		return NULL;
	}
	if (prefix_nocase(u, "https://")) {
		const char *colon;
		unsigned long long port;

		rest = u + 8;
		end = rest + strcspn(rest, "/?#");
		if (memchr(rest, '@', (size_t)(end - rest)) != NULL)
			return "user information in an https: URI";
		colon = memchr(rest, ':', (size_t)(end - rest));
		if (colon != NULL &&
		    parse_uint(colon + 1, (size_t)(end - colon - 1), 1, 65535, &port) != 0)
			return "bad port";
		if (uri_host(rest, (size_t)((colon ? colon : end) - rest)) != NULL)
			return "the host is not a valid domain name";
		return NULL;
	}
	return "not a mailto: or https: URI (RFC 8460 s3)";
}

/* NAME. TTL IN TXT "..." ["..."]: the text cut into character-strings of at most 255 bytes
 * (RFC 1035 s3.3.14); resolvers join them again (RFC 8461 s3.1, RFC 8460 s3). The text holds
 * no '"' or '\' (the id is alphanumeric, URIs were checked), so nothing needs escaping. */
static int
zone_line(struct strbuf *out, const char *name, const struct strbuf *txt)
{
	int rc = strbuf_printf(out, "%s %d IN TXT", name, STSGEN_TTL);

	for (size_t off = 0; rc == 0 && off < txt->len; off += STSGEN_TXT_STRING_MAX) {
		size_t n = txt->len - off;
		if (n > STSGEN_TXT_STRING_MAX)
			n = STSGEN_TXT_STRING_MAX;
		rc = strbuf_printf(out, " \"%.*s\"", (int)n, txt->data + off);
	}
	return rc;
}

static enum stsgen_err
make_id(const struct stsgen_in *in, struct stsgen *g)
{
	struct tm tm;

	/* The time of generation, also when an id is given: it dates the output. */
	if (in->now < 0 || gmtime_r(&in->now, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    strftime(g->generated, sizeof(g->generated), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return refuse(g, STSGEN_BAD_TIME, NULL, NULL, NULL);
	if (in->id == NULL) {
		if (strftime(g->id, sizeof(g->id), "%Y%m%dT%H%M%SZ", &tm) != 16)
			return refuse(g, STSGEN_BAD_TIME, NULL, NULL, NULL);
		return STSGEN_OK;
	}
	/* RFC 8461 s3.1: sts-id = 1*32(ALPHA / DIGIT). */
	if (in->id[0] == '\0')
		return refuse(g, STSGEN_BAD_ID, "id", in->id, "empty");
	if (strlen(in->id) > STSRECORD_ID_MAX)
		return refuse(g, STSGEN_BAD_ID, "id", in->id, "longer than 32 characters");
	for (const char *p = in->id; *p != '\0'; p++)
		if (!is_alnum(*p))
			return refuse(g, STSGEN_BAD_ID, "id", in->id,
			              "only letters and digits are allowed");
	memcpy(g->id, in->id, strlen(in->id) + 1);
	return STSGEN_OK;
}

/* One pattern into g->policy.mx, normalised as stspolicy.c stores it. */
static enum stsgen_err
add_mx(const char *v, struct stsgen *g)
{
	char name[DNAME_MAX + 1];
	size_t len = strlen(v), nlen, off = 0;
	enum dname_err e;
	char *dst;

	if (g->policy.n_mx == STSPOLICY_MAX_MX)
		return refuse(g, STSGEN_TOO_MANY_MX, "mx", v, NULL);
	if (len >= 2 && v[0] == '*' && v[1] == '.')
		off = 2;
	/* RFC 8461 s4.1: "*" only as the whole left-most label, matching exactly one label. */
	if (memchr(v + off, '*', len - off) != NULL)
		return refuse(g, STSGEN_BAD_MX, "mx", v,
		              "'*' is allowed only as the whole first label, as in *.example.com");
	e = dname_normalize(v + off, len - off, name, &nlen);
	if (e != DNAME_OK)
		return refuse(g, STSGEN_BAD_MX, "mx", v, dname_strerror(e));
	if (off + nlen > DNAME_MAX)
		return refuse(g, STSGEN_BAD_MX, "mx", v, dname_strerror(DNAME_TOO_LONG));
	dst = g->policy.mx[g->policy.n_mx];
	memcpy(dst, "*.", off);
	memcpy(dst + off, name, nlen + 1);
	for (unsigned i = 0; i < g->policy.n_mx; i++)
		if (strcmp(g->policy.mx[i], dst) == 0)
			return refuse(g, STSGEN_DUP_MX, "mx", v, NULL);
	g->policy.n_mx++;
	return STSGEN_OK;
}

static enum stsgen_err
check_input(const struct stsgen_in *in, struct stsgen *g)
{
	size_t dlen, longest;
	unsigned long long age;
	enum dname_err de;
	enum stsgen_err e;

	de = dname_normalize(in->domain, strlen(in->domain), g->domain, &dlen);
	if (de != DNAME_OK)
		return refuse(g, STSGEN_BAD_DOMAIN, "domain", in->domain, dname_strerror(de));
	/* Every name we publish must be a valid name too. */
	longest = dlen + (in->n_rua > 0 ? strlen("_smtp._tls.") : strlen("_mta-sts."));
	if (longest > DNAME_MAX)
		return refuse(g, STSGEN_BAD_DOMAIN, "domain", in->domain,
		              in->n_rua > 0 ? "too long to prefix with _smtp._tls."
		                            : "too long to prefix with _mta-sts.");
	if (strcmp(in->mode, "enforce") == 0)
		g->policy.mode = STSPOLICY_MODE_ENFORCE;
	else if (strcmp(in->mode, "testing") == 0)
		g->policy.mode = STSPOLICY_MODE_TESTING;
	else if (strcmp(in->mode, "none") == 0)
		g->policy.mode = STSPOLICY_MODE_NONE;
	else
		return refuse(g, STSGEN_BAD_MODE, "mode", in->mode, NULL);
	if (parse_uint(in->max_age, strlen(in->max_age), 0, STSPOLICY_MAX_AGE_MAX, &age) != 0)
		return refuse(g, STSGEN_BAD_MAX_AGE, "max-age", in->max_age, NULL);
	g->policy.max_age = (uint32_t)age;
	for (size_t i = 0; i < in->n_mx; i++)
		if ((e = add_mx(in->mx[i], g)) != STSGEN_OK)
			return e;
	/* RFC 8461 s3.2: mx is required unless the mode is none. */
	if (g->policy.n_mx == 0 && g->policy.mode != STSPOLICY_MODE_NONE)
		return refuse(g, STSGEN_NO_MX, "mx", NULL, NULL);
	if (in->n_rua > STSGEN_RUA_MAX)
		return refuse(g, STSGEN_TOO_MANY_RUA, "rua", in->rua[STSGEN_RUA_MAX], NULL);
	for (size_t i = 0; i < in->n_rua; i++) {
		const char *why = uri_check(in->rua[i]);
		if (why != NULL)
			return refuse(g, STSGEN_BAD_RUA, "rua", in->rua[i], why);
	}
	return make_id(in, g);
}

/* The records, the policy text and the URL, all from the checked input. 0 or -1 (a cap). */
static int
build(const struct stsgen_in *in, struct stsgen *g)
{
	int rc = 0;

	/* check_input() made sure both names fit: a cut here is a broken invariant. */
	INVARIANT(snprintf(g->sts_name, sizeof(g->sts_name), "_mta-sts.%s.", g->domain) <
	          (int)sizeof(g->sts_name));
	rc |= strbuf_printf(&g->sts_txt, "v=STSv1; id=%s;", g->id);
	rc |= zone_line(&g->sts_zone, g->sts_name, &g->sts_txt);
	if (in->n_rua > 0) {
		INVARIANT(snprintf(g->tlsrpt_name, sizeof(g->tlsrpt_name), "_smtp._tls.%s.",
		                   g->domain) < (int)sizeof(g->tlsrpt_name));
		rc |= strbuf_puts(&g->tlsrpt_txt, "v=TLSRPTv1; rua=");
		for (size_t i = 0; i < in->n_rua; i++)
			rc |= strbuf_printf(&g->tlsrpt_txt, "%s%s", i ? "," : "", in->rua[i]);
		rc |= zone_line(&g->tlsrpt_zone, g->tlsrpt_name, &g->tlsrpt_txt);
	}
	rc |= strbuf_printf(&g->policy_text, "version: STSv1\r\nmode: %s\r\n",
	                    stspolicy_mode_name(g->policy.mode));
	for (unsigned i = 0; i < g->policy.n_mx; i++)
		rc |= strbuf_printf(&g->policy_text, "mx: %s\r\n", g->policy.mx[i]);
	rc |= strbuf_printf(&g->policy_text, "max_age: %u\r\n", (unsigned)g->policy.max_age);
	rc |= strbuf_printf(&g->url, "https://mta-sts.%s/.well-known/mta-sts.txt", g->domain);
	return rc == 0 ? 0 : -1;
}

/* Parse what we made with the daemon's own parsers: it must read back as what we meant. */
static enum stsgen_err
self_check(struct stsgen *g)
{
	struct stsrecord rec;
	struct stspolicy *back = xmalloc(sizeof(*back));
	const char *why = NULL;
	char buf[160];
	enum stsrecord_err re = stsrecord_parse(g->sts_txt.data, g->sts_txt.len, &rec);
	enum stspolicy_err pe = stspolicy_parse(g->policy_text.data, g->policy_text.len, back);
	int same = pe == STSPOLICY_OK && back->mode == g->policy.mode &&
	           back->max_age == g->policy.max_age && back->n_mx == g->policy.n_mx;

	for (unsigned i = 0; same && i < back->n_mx; i++)
		same = strcmp(back->mx[i], g->policy.mx[i]) == 0;
	free(back);
	if (re != STSRECORD_OK || strcmp(rec.id, g->id) != 0)
		return refuse(g, STSGEN_SELF_CHECK, NULL, NULL,
		              re != STSRECORD_OK ? stsrecord_strerror(re) : "id differs");
	if (!same)
		return refuse(g, STSGEN_SELF_CHECK, NULL, NULL,
		              pe != STSPOLICY_OK ? stspolicy_strerror(pe) : "policy differs");
	/* and the TLS-RPT record as mta-stsctl check reads it: generate never writes what check
	 * would flag */
	if (g->tlsrpt_txt.len > 0 &&
	    !checkrule_tlsrpt_valid(g->tlsrpt_txt.data, g->tlsrpt_txt.len, &why, buf, sizeof(buf)))
		/* why may point into buf, which dies here: g->why must be static text */
		return refuse(g, STSGEN_SELF_CHECK, NULL, NULL,
		              "the TLS-RPT record does not read back (RFC 8460 s3)");
	return STSGEN_OK;
}

static int
advise(const struct stsgen_in *in, struct stsgen *g)
{
	unsigned age = (unsigned)g->policy.max_age;
	int rc = 0;

	rc |= strbuf_printf(&g->dns_advice,
	                    "mta-sts.%s needs an address record (A/AAAA, or a CNAME) of the "
	                    "HTTPS server of the policy file, with a certificate valid for that "
	                    "name (RFC 8461 s3.3).\n",
	                    g->domain);
	rc |= strbuf_puts(&g->dns_advice,
	                  "Change the id every time the policy file changes (run generate again, "
	                  "or give --id): senders fetch the policy again only when they see a "
	                  "new id.\n");
	if (in->n_rua == 0)
		rc |=
		    strbuf_puts(&g->dns_advice,
		                "Publish a TLS-RPT record too (--rua mailto:ADDRESS): sending MTAs "
		                "then report TLS and policy failures to you daily (RFC 8460).\n");
	else
		rc |=
		    strbuf_puts(&g->dns_advice,
		                "Sending MTAs that support TLS-RPT (RFC 8460) report daily to the "
		                "rua addresses how many sessions succeeded and which failed.\n");
	switch (g->policy.mode) {
	case STSPOLICY_MODE_TESTING:
		rc |= strbuf_puts(
		    &g->policy_advice,
		    "Mode testing: senders deliver even when TLS or the MX check fails, "
		    "and report it through TLS-RPT. Start here, read the reports, then "
		    "switch to enforce with a new id.\n");
		if (age > 86400)
			rc |= strbuf_printf(&g->policy_advice,
			                    "max_age %u is long for testing: keep it short (86400, "
			                    "one day) so that a mistake is not cached for long.\n",
			                    age);
		else
			rc |=
			    strbuf_puts(&g->policy_advice,
			                "Once you enforce, raise max_age to weeks (1209600 is two "
			                "weeks).\n");
		break;
	case STSPOLICY_MODE_ENFORCE:
		rc |= strbuf_puts(
		    &g->policy_advice,
		    "Mode enforce: senders refuse to deliver to an MX host that matches "
		    "no mx pattern or has no valid certificate for its name. Use it "
		    "only once mode testing showed no failures.\n");
		if (age < 604800)
			rc |=
			    strbuf_printf(&g->policy_advice,
			                  "max_age %u is short for enforce: once the policy works, "
			                  "raise it to weeks (1209600 is two weeks, 31557600 the "
			                  "most) so that senders keep it through an attack on DNS "
			                  "or HTTPS.\n",
			                  age);
		rc |= strbuf_puts(&g->policy_advice,
		                  "Before moving mail to a new MX host, add it to the policy (new "
		                  "id) and wait max_age before removing an old pattern.\n");
		break;
	case STSPOLICY_MODE_NONE:
		rc |= strbuf_puts(
		    &g->policy_advice,
		    "Mode none withdraws a policy: keep serving it, with the TXT record "
		    "and a new id, for at least the max_age of the policy it replaces, "
		    "so that senders that cached that one learn it ended.\n");
		break;
	}
	return rc == 0 ? 0 : -1;
}

enum stsgen_err
stsgen_make(const struct stsgen_in *in, struct stsgen *g)
{
	enum stsgen_err e;

	g->bad_arg = g->bad_value = g->why = NULL;
	if ((e = check_input(in, g)) != STSGEN_OK)
		return e;
	/* The caps are far above what the checked input can produce. */
	INVARIANT(build(in, g) == 0);
	if ((e = self_check(g)) != STSGEN_OK)
		return e;
	INVARIANT(advise(in, g) == 0);
	return STSGEN_OK;
}

/* Paragraphs (one a line) as comment lines "PREFIX text", wrapped at STSGEN_WRAP columns; a
 * word longer than a line stays whole. */
static int
wrap(struct strbuf *out, const struct strbuf *text, const char *prefix)
{
	const char *p = text->data ? text->data : "", *end = p + text->len;
	size_t plen = strlen(prefix);
	int rc = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *pend = nl ? nl : end;
		size_t col = 0;

		while (p < pend) {
			const char *sp = memchr(p, ' ', (size_t)(pend - p));
			size_t wlen;

			/* "RFC 8461" stays on one line. */
			if (sp != NULL && sp - p >= 3 && memcmp(sp - 3, "RFC", 3) == 0)
				sp = memchr(sp + 1, ' ', (size_t)(pend - sp - 1));
			wlen = (size_t)((sp ? sp : pend) - p);

			if (col > 0 && col + 1 + wlen > STSGEN_WRAP) {
				rc |= strbuf_puts(out, "\n");
				col = 0;
			}
			if (col == 0) {
				rc |= strbuf_puts(out, prefix);
				col = plen;
			} else {
				rc |= strbuf_puts(out, " ");
				col++;
			}
			rc |= strbuf_append(out, p, wlen);
			col += wlen;
			p += wlen;
			while (p < pend && *p == ' ')
				p++;
		}
		rc |= strbuf_puts(out, "\n");
		p = pend + (nl ? 1 : 0);
	}
	return rc == 0 ? 0 : -1;
}

int
stsgen_format(const struct stsgen *g, struct strbuf *out)
{
	int rc = 0;

	rc |= strbuf_printf(out, "; MTA-STS for %s, generated %s.\n", g->domain, g->generated);
	rc |=
	    strbuf_printf(out, "; DNS: add to the zone of %s (TTL %d s):\n", g->domain, STSGEN_TTL);
	rc |= strbuf_printf(out, "%s\n", g->sts_zone.data);
	if (g->tlsrpt_zone.len > 0)
		rc |= strbuf_printf(out, "%s\n", g->tlsrpt_zone.data);
	rc |= wrap(out, &g->dns_advice, "; ");
	rc |= strbuf_printf(out,
	                    "\n# Policy file: serve the %u lines below (CRLF line ends) at\n"
	                    "# %s\n"
	                    "# with status 200, Content-Type text/plain, and no redirect.\n",
	                    g->policy.n_mx + 3, g->url.data);
	rc |= strbuf_append(out, g->policy_text.data, g->policy_text.len);
	rc |= wrap(out, &g->policy_advice, "# ");
	return rc == 0 ? 0 : -1;
}

const char *
stsgen_strerror(enum stsgen_err err)
{
	switch (err) {
	case STSGEN_OK:
		return "ok";
	case STSGEN_BAD_DOMAIN:
		return "not a valid domain name";
	case STSGEN_BAD_MODE:
		return "mode must be enforce, testing or none";
	case STSGEN_NO_MX:
		return "at least one mx pattern is needed unless the mode is none";
	case STSGEN_BAD_MX:
		return "not a host name or *.host name";
	case STSGEN_DUP_MX:
		return "mx pattern given twice";
	case STSGEN_TOO_MANY_MX:
		return "more than 64 mx patterns";
	case STSGEN_BAD_MAX_AGE:
		return "max_age must be a number of seconds from 0 to 31557600";
	case STSGEN_BAD_ID:
		return "id must be 1 to 32 letters or digits";
	case STSGEN_BAD_TIME:
		return "the time cannot be written as an id (YYYYMMDDTHHMMSSZ)";
	case STSGEN_BAD_RUA:
		return "not a usable TLS-RPT report URI";
	case STSGEN_TOO_MANY_RUA:
		return "more than 8 report URIs";
	case STSGEN_SELF_CHECK:
		return "internal error: the output fails its own parser";
	}
	return "unknown error";
}
