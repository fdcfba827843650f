/* SPDX-License-Identifier: MIT */
/*
 * answer: render a decision as a socketmap status word and smtp_tls_policy_maps text.
 * Pure (P): no I/O, no globals; writes only into caller storage.
 * SECURE becomes "secure match=P1:P2:... servername=hostname": an MTA-STS "*.example.com"
 * (exactly one extra label, RFC 8461 s4.1) is written ".example.com" (Postfix: any depth), the
 * closest Postfix <= 3.9 can express; exact names stay; duplicates after that rewrite are
 * dropped; a literal '*' is never emitted. Other levels: dane-only, dane, encrypt, may.
 * NOTFOUND carries no text; TEMP carries the decision's explanation.
 * Postfix 3.10 STS attributes and netstring framing live elsewhere (socketmap.c).
 */
#include "answer.h"

#include <string.h>

struct answer_wbuf {
	char *p;
	size_t sz, len;
	int full;
};

static void
answer_put(struct answer_wbuf *w, const char *s, size_t n)
{
	/* Keep one byte for the NUL. */
	if (w->full || w->sz == 0 || w->sz - 1 - w->len < n) {
		w->full = 1;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

static void
answer_puts(struct answer_wbuf *w, const char *s)
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
	n = strlen(p);
	if (n < 2 || n > DNAME_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return NULL;
	}
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

static int
answer_secure(const struct stspolicy *pol, struct answer_wbuf *w)
{
	if (pol == NULL || pol->n_mx == 0 || pol->n_mx > STSPOLICY_MAX_MX)
		return -1;
	for (unsigned i = 0; i < pol->n_mx; i++) {
		size_t n = 0;

		if (answer_pattern(pol->mx[i], &n) == NULL)
			return -1;
	}
	answer_puts(w, "secure match=");
	for (unsigned i = 0, out = 0; i < pol->n_mx; i++) {
		size_t n = 0;
		const char *p = answer_pattern(pol->mx[i], &n);

		if (answer_seen(pol, i, p, n))
			continue;
		if (out++ > 0)
			answer_put(w, ":", 1);
		answer_put(w, p, n);
	}
	answer_puts(w, " servername=hostname");
	return 0;
}

int
answer_format(const struct answer *a, const char **status, char *out, size_t outsz, size_t *outlen)
{
	struct answer_wbuf w = {out, outsz, 0, 0};

	if (outsz > 0)
		out[0] = '\0';
	switch (a->kind) {
	case ANSWER_NOTFOUND:
		*status = "NOTFOUND";
		answer_put(&w, "", 0);
		break;
	case ANSWER_TEMP:
		*status = "TEMP";
		answer_puts(&w, a->why != NULL ? a->why : "temporary failure");
		break;
	case ANSWER_OK:
		*status = "OK";
		switch (a->level) {
		case ANSWER_LEVEL_SECURE:
			if (answer_secure(a->policy, &w) != 0) {
				/* Never weaken to something else: defer (Postfix retries later). */
				*status = "TEMP";
				w.len = 0;
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
	if (w.full)
		return -1;
	*outlen = w.len;
	return 0;
}
