/* SPDX-License-Identifier: MIT */
/*
 * answer: render a decision as a socketmap status word and smtp_tls_policy_maps text.
 * Pure (P): no I/O, no globals; writes only into caller storage.
 * SECURE becomes "secure match=P1:P2:... servername=hostname": an MTA-STS "*.example.com"
 * (exactly one extra label, RFC 8461 s4.1) is written ".example.com" (Postfix: any depth), the
 * closest Postfix <= 3.9 can express; exact names stay; duplicates after that rewrite are
 * dropped; a literal '*' is never emitted in match=. With mx_check, match= lists the exact MX
 * host names decide.c selected instead. With tlsrpt, the Postfix 3.10 attributes follow:
 * policy_type=sts policy_domain=D mx_host_pattern=P... { policy_string = LINE }... (the policy
 * lines are rebuilt from the parsed policy; extension keys are not kept). Other levels:
 * dane-only, dane, encrypt, may. NOTFOUND carries no text; TEMP the decision's explanation.
 * The text goes into a strbuf whose cap the caller sets (ANSWER_TEXT_MAX: what fits Postfix's
 * reply cap); passing it refuses the reply. Netstring framing lives in socketmap.c.
 */
#include "answer.h"

#include <stdio.h>
#include <string.h>

#include "dname.h"
#include "xalloc.h"

/* The reply being written: a failed append (the strbuf's cap passed) marks it full and
 * nothing after it is appended, so a reply is complete or refused, never cut. */
struct answer_out {
	struct strbuf *sb;
	int full;
};

static void
answer_put(struct answer_out *w, const char *s, size_t n)
{
	if (!w->full && strbuf_append(w->sb, s, n) != 0)
		w->full = 1;
}

static void
answer_puts(struct answer_out *w, const char *s)
{
	answer_put(w, s, strlen(s));
}

/* What Postfix will see of a pattern: "*.rest" -> ".rest". Returns NULL for a pattern that is
 * not a plain LDH name (stspolicy and cacherec guarantee it is; this guards the reply syntax,
 * where ':' or a space would split the match list and '*' must never appear). */
static const char *
answer_pattern(const char *mx, size_t *len)
{
	const char *p = mx;
	size_t n;

	/* A stored pattern never starts with '.': that would be a Postfix suffix match. */
	if (p[0] == '.')
		return NULL;
	if (p[0] == '*' && p[1] == '.')
		p++;
	/* Letters, digits, '-' and '.' only, up to the NUL; at most DNAME_MAX of them. */
	for (n = 0; n <= DNAME_MAX && dname_class[(unsigned char)p[n]] != 0; n++)
		;
	if (p[n] != '\0' || n < 2 || n > DNAME_MAX)
		return NULL;
	*len = n;
	return p;
}

/* Has pattern q (already rewritten) been emitted by one of the first i patterns? */
static int
answer_seen(const struct stspolicy *pol, unsigned i, const char *q, size_t qlen)
{
	for (unsigned j = 0; j < i; j++) {
		size_t n = 0;
		const char *p = answer_pattern(pol->mx[j], &n);

		if (p != NULL && n == qlen && memcmp(p, q, n) == 0)
			return 1;
	}
	return 0;
}

/* Postfix 3.10 TLSRPT attributes (smtp_tls_policy_maps): the policy type and domain, every
 * pattern as published, and the policy's lines. Never policy_ttl; never a brace inside a
 * policy_string (patterns are plain LDH names, checked by the caller). */
static void
answer_tlsrpt(const struct stspolicy *pol, const char *domain, struct answer_out *w)
{
	char num[16];

	answer_puts(w, " policy_type=sts policy_domain=");
	answer_puts(w, domain);
	for (unsigned i = 0; i < pol->n_mx; i++) {
		answer_puts(w, " mx_host_pattern=");
		answer_puts(w, pol->mx[i]);
	}
	answer_puts(w, " { policy_string = version: STSv1 } { policy_string = mode: ");
	answer_puts(w, stspolicy_mode_name(pol->mode));
	answer_puts(w, " }");
	for (unsigned i = 0; i < pol->n_mx; i++) {
		answer_puts(w, " { policy_string = mx: ");
		answer_puts(w, pol->mx[i]);
		answer_puts(w, " }");
	}
	(void)snprintf(num, sizeof(num), "%u", (unsigned)pol->max_age);
	answer_puts(w, " { policy_string = max_age: ");
	answer_puts(w, num);
	answer_puts(w, " }");
}

/* Is s a plain LDH host name, safe inside match= and the attributes? */
static int
answer_name_ok(const char *s)
{
	size_t n = 0;

	return answer_pattern(s, &n) == s; /* "*.x" comes back as ".x" */
}

static int
answer_secure(const struct answer *a, struct answer_out *w)
{
	const struct stspolicy *pol = a->policy;

	if (pol == NULL || pol->n_mx == 0 || pol->n_mx > STSPOLICY_MAX_MX ||
	    a->n_match > ANSWER_MATCH_MAX)
		return -1;
	for (unsigned i = 0; i < pol->n_mx; i++) {
		size_t n = 0;

		if (answer_pattern(pol->mx[i], &n) == NULL)
			return -1;
	}
	for (unsigned i = 0; i < a->n_match; i++)
		if (!answer_name_ok(a->match[i]))
			return -1;
	if (a->tlsrpt_domain != NULL && !answer_name_ok(a->tlsrpt_domain))
		return -1;
	answer_puts(w, "secure match=");
	if (a->n_match > 0) {
		/* mx_check: the exact MX host names the policy allows (decide.c). */
		for (unsigned i = 0; i < a->n_match; i++) {
			if (i > 0)
				answer_put(w, ":", 1);
			answer_puts(w, a->match[i]);
		}
	} else {
		for (unsigned i = 0, out = 0; i < pol->n_mx; i++) {
			size_t n = 0;
			const char *p = answer_pattern(pol->mx[i], &n);

			if (answer_seen(pol, i, p, n))
				continue;
			if (out++ > 0)
				answer_put(w, ":", 1);
			answer_put(w, p, n);
		}
	}
	answer_puts(w, " servername=hostname");
	if (a->tlsrpt_domain != NULL)
		answer_tlsrpt(pol, a->tlsrpt_domain, w);
	return 0;
}

int
answer_format(const struct answer *a, const char **status, struct strbuf *out)
{
	struct answer_out w = {out, 0};

	strbuf_reset(out);
	switch (a->kind) {
	case ANSWER_NOTFOUND:
		*status = "NOTFOUND";
		break;
	case ANSWER_TEMP:
		*status = "TEMP";
		answer_puts(&w, a->why != NULL ? a->why : "temporary failure");
		break;
	case ANSWER_OK:
		*status = "OK";
		switch (a->level) {
		case ANSWER_LEVEL_SECURE:
			if (answer_secure(a, &w) != 0) {
				/* Never weaken to something else: defer (Postfix retries later). */
				*status = "TEMP";
				strbuf_reset(out);
				w.full = 0;
				answer_puts(&w, "internal error: no usable MX pattern for secure");
			}
			break;
		case ANSWER_LEVEL_DANE_ONLY:
			answer_puts(&w, "dane-only");
			break;
		case ANSWER_LEVEL_DANE:
			answer_puts(&w, "dane");
			break;
		case ANSWER_LEVEL_ENCRYPT:
			answer_puts(&w, "encrypt");
			break;
		case ANSWER_LEVEL_MAY:
			answer_puts(&w, "may");
			break;
		default:
			*status = "TEMP";
			answer_puts(&w, "internal error: unknown TLS level");
			break;
		}
		break;
	default:
		*status = "TEMP";
		answer_puts(&w, "internal error: unknown answer kind");
		break;
	}
	return w.full ? -1 : 0;
}

void
answer_reply(const struct decide_input *in, const struct cfg_zone *zone, int64_t now,
             struct strbuf *out, const char **status, const char **why)
{
	struct answer a;

	decide(in, zone, now, &a);
	*why = a.why;
	if (answer_format(&a, status, out) != 0) {
		/* Cannot happen with capped policies; never send a cut policy: defer. */
		*status = "TEMP";
		*why = "reply too long";
		strbuf_reset(out);
		INVARIANT(strbuf_puts(out, *why) == 0);
	}
}
