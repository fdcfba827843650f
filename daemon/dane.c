/* SPDX-License-Identifier: MIT */
/*
 * dane: the DANE state of one SMTP destination (RFC 7672 s2.2), as a pure state machine that
 * says which DNS query to send next and classifies the raw answers it is fed (dnsmsg.c reads
 * them), plus the cache record of the outcome. Pure (P): no I/O, no clock (now is a parameter).
 * Steps: MX (CNAMEs followed inside the answer; NODATA: implicit MX; NXDOMAIN and null MX,
 * RFC 7505: no host), then per host A and AAAA, then TLSA at _port._tcp of the CNAME-expanded
 * name and, failing that, of the name itself (s2.2.2). A host counts for DANE only when its
 * address answers are all validated and it has a usable TLSA record (dnsmsg_tlsa_usable()).
 * Any failed lookup after a secure MX RRset is ERROR: a bogus answer (an attack) cannot be
 * told from an outage here, and enforce must then fail closed (RFC 8461 s2).
 * Limits: DANE_HOSTS_MAX hosts, DNSMSG_CNAME_MAX links, DANE_INFLIGHT_MAX queries in flight;
 * TTLs clamped to [DANE_TTL_MIN, DANE_TTL_MAX], failures kept DANE_TTL_ERROR seconds.
 * Sending queries (c-ares), timeouts and LMDB live in resolver.c, discover.c and cache.c.
 */
#include "dane.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dnsmsg.h"
#include "strbuf.h"
#include "xalloc.h"

#define DANE_TOK_MX 0xffffu
#define DANE_MAGIC 'D'
#define DANE_VERSION 3 /* 2: flags byte (trust_ad, mx_known); 3: renew_after */
#define DANE_FLAG_TRUST_AD 0x01
#define DANE_FLAG_MX_KNOWN 0x02
#define DANE_HEADER 23    /* magic .. why length: what precedes the why text */
#define DANE_HEADER_V2 15 /* version 2: no renew_after */

/* Query kinds per host, the index into dane_host.q[]. */
enum { K_A = 0, K_AAAA, K_TLSA_BASE, K_TLSA_NAME, K_COUNT };

static void dane_finish(struct dane_eval *e, enum dane_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
dane_finish(struct dane_eval *e, enum dane_state st, const char *fmt, ...)
{
	va_list ap;

	e->done = 1;
	e->state = st;
	va_start(ap, fmt);
	(void)vsnprintf(e->why, sizeof(e->why), fmt, ap); /* a cut explanation is still one */
	va_end(ap);
}

static void
dane_ttl(struct dane_eval *e, uint32_t ttl)
{
	if (ttl < e->ttl)
		e->ttl = ttl;
}

int
dane_static(const char *name, int bracketed, int trust_ad, int64_t now, struct danerec *out)
{
	size_t n;

	if (!bracketed || trust_ad || (n = strlen(name)) > DNAME_MAX)
		return 0;
	out->state = DANE_INSECURE;
	out->expires = now + DANE_TTL_MAX;
	out->trust_ad = 0;
	out->mx_known = 1;
	out->n_hosts = 1;
	out->n_tlsa = 0;
	memcpy(out->hosts[0], name, n + 1);
	snprintf(out->why, sizeof(out->why), "AD bit not trusted (dnssec = no)");
	return 1;
}

void
dane_init(struct dane_eval *e, const char *name, unsigned port, int bracketed, int trust_ad)
{
	size_t n = strlen(name);

	memset(e, 0, sizeof(*e));
	INVARIANT(n <= DNAME_MAX);
	memcpy(e->name, name, n + 1);
	e->port = port ? port : 25;
	e->bracketed = bracketed;
	e->trust_ad = trust_ad;
	e->ttl = UINT32_MAX;
	if (bracketed) {
		/* The smart host is the only host; its security is that of its own records. */
		memcpy(e->hosts[0].name, name, n + 1);
		e->n_hosts = 1;
		e->mx_q = 2;
		e->mx_secure = 1;
		if (!trust_ad)
			dane_finish(e, DANE_INSECURE, "AD bit not trusted (dnssec = no)");
	}
}

/* ---- reading one answer ---- */

/* dnsmsg_answer() plus the security of the message: the validating resolver sets AD only when
 * every record of the answer, CNAME chain included, validated (RFC 4035 s3.2.3). */
static enum dnsmsg_ans
dane_scan(const struct dane_eval *e, const uint8_t *msg, size_t len, const char *qname,
          uint16_t qtype, struct dnsmsg_answer *a, int *secure)
{
	enum dnsmsg_ans r = dnsmsg_answer(msg, len, qname, qtype, a);

	*secure = e->trust_ad && a->m.ad;
	return r;
}

/* ---- MX ---- */

/* Keep hosts sorted by preference (stable), drop duplicates, keep the DANE_HOSTS_MAX best. */
static void
dane_add_host(struct dane_eval *e, const char *name, uint16_t pref)
{
	unsigned pos;

	for (unsigned i = 0; i < e->n_hosts; i++)
		if (strcmp(e->hosts[i].name, name) == 0)
			return;
	for (pos = e->n_hosts; pos > 0 && e->hosts[pos - 1].pref > pref; pos--)
		;
	if (pos == DANE_HOSTS_MAX)
		return;
	if (e->n_hosts < DANE_HOSTS_MAX)
		e->n_hosts++;
	memmove(&e->hosts[pos + 1], &e->hosts[pos], (e->n_hosts - 1 - pos) * sizeof(e->hosts[0]));
	memset(&e->hosts[pos], 0, sizeof(e->hosts[pos]));
	INVARIANT(strlen(name) < sizeof(e->hosts[pos].name)); /* normalised: <= DNAME_MAX */
	memcpy(e->hosts[pos].name, name, strlen(name) + 1);
	e->hosts[pos].pref = pref;
}

/* A mail host named by DNS (MX exchange, or the CNAME target of a domain without MX): only a
 * valid LDH host name is kept, since hosts end up in match= lists and in the cache record;
 * anything else is counted and is never a match= name nor a DANE host. */
static void
dane_add_exchange(struct dane_eval *e, const char *name, uint16_t pref)
{
	char norm[DNAME_MAX + 1];

	if (dname_normalize(name, strlen(name), norm, NULL) != DNAME_OK)
		e->n_bad++;
	else
		dane_add_host(e, norm, pref);
}

/* Without trust in the AD bit the MX set only serves mx_check: its failure is not a DANE one. */
static void
dane_mx_failed(struct dane_eval *e, const char *why)
{
	e->mx_failed = 1;
	e->n_hosts = 0; /* exchanges read before a bad record are no MX set: unknown means none */
	if (e->trust_ad)
		dane_finish(e, DANE_ERROR, "MX lookup failed: %s", why);
	else
		dane_finish(e, DANE_INSECURE, "MX lookup failed: %s (AD bit not trusted)", why);
}

static void
dane_on_mx(struct dane_eval *e, const uint8_t *msg, size_t len)
{
	struct dnsmsg_answer s;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	unsigned nrec = 0, nnull = 0;
	int secure;

	switch (dane_scan(e, msg, len, e->name, DNSMSG_MX, &s, &secure)) {
	case DNSMSG_ANS_FAIL:
		dane_mx_failed(e, s.why);
		return;
	case DNSMSG_ANS_NXDOMAIN:
		dane_ttl(e, s.ttl);
		dane_finish(e, secure ? DANE_NONE : DANE_INSECURE, "%s: no such domain%s", e->name,
		            secure ? " (validated)" : "");
		return;
	case DNSMSG_ANS_NODATA:
		/* RFC 5321 s5.1: no MX records, the domain is its own mail host; after a CNAME
		 * that is the target, which must be a host name like any MX exchange. */
		dane_ttl(e, s.ttl);
		dane_add_exchange(e, s.final, 0);
		break;
	case DNSMSG_ANS_DATA:
		dane_ttl(e, s.ttl);
		dnsmsg_iter_init(&s.m, &it);
		while (dnsmsg_next(&s.m, &it, &rr) == DNSMSG_OK) {
			char host[DNAME_MAX + 2];
			uint16_t pref;

			if (!dnsmsg_answer_has(&s, &rr, DNSMSG_MX))
				continue;
			nrec++;
			if (dnsmsg_rr_mx(&s.m, &rr, &pref, host) != DNSMSG_OK) {
				dane_mx_failed(e, "bad MX record");
				return;
			}
			if (host[0] == '\0')
				nnull++;
			else
				dane_add_exchange(e, host, pref);
		}
		/* RFC 7505 s3: a lone "0 ." record says the domain accepts no mail. */
		if (nnull > 0 && nrec == 1) {
			dane_finish(e, secure ? DANE_NONE : DANE_INSECURE,
			            "null MX (RFC 7505): the domain accepts no mail");
			return;
		}
		break;
	}
	e->mx_secure = secure;
	if (!e->trust_ad)
		dane_finish(e, DANE_INSECURE, "AD bit not trusted (dnssec = no)");
	else if (!secure)
		dane_finish(e, DANE_INSECURE, "MX records of %s are not DNSSEC-signed", e->name);
}

/* ---- hosts ---- */

static void
dane_on_addr(struct dane_eval *e, struct dane_host *h, int kind, const uint8_t *msg, size_t len)
{
	struct dnsmsg_answer s;
	uint16_t type = kind == K_A ? DNSMSG_A : DNSMSG_AAAA;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	int secure;

	switch (dane_scan(e, msg, len, h->name, type, &s, &secure)) {
	case DNSMSG_ANS_FAIL:
		dane_finish(e, DANE_ERROR, "%s: %s lookup failed: %s", h->name,
		            kind == K_A ? "A" : "AAAA", s.why);
		return;
	case DNSMSG_ANS_DATA:
		dnsmsg_iter_init(&s.m, &it);
		while (dnsmsg_next(&s.m, &it, &rr) == DNSMSG_OK)
			if (dnsmsg_answer_has(&s, &rr, type) &&
			    rr.rdlen == (type == DNSMSG_A ? 4 : 16) && h->addrs < 255)
				h->addrs++;
		/* RFC 7672 s2.2.2: TLSA first at the CNAME-expanded name. */
		if (h->base[0] == '\0' && strcmp(s.final, h->name) != 0 &&
		    dname_normalize(s.final, strlen(s.final), h->base, NULL) != DNAME_OK)
			h->base[0] = '\0'; /* not a host name: TLSA at the name only */
		break;
	case DNSMSG_ANS_NODATA:
	case DNSMSG_ANS_NXDOMAIN:
		break;
	}
	dane_ttl(e, s.ttl);
	/* s2.2.2: TLSA records count only behind validated address records (or denials). */
	if (!secure)
		h->insecure = 1;
}

static void
dane_on_tlsa(struct dane_eval *e, struct dane_host *h, const char *qname, const uint8_t *msg,
             size_t len)
{
	struct dnsmsg_answer s;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	int secure;

	switch (dane_scan(e, msg, len, qname, DNSMSG_TLSA, &s, &secure)) {
	case DNSMSG_ANS_FAIL:
		/* RFC 7672 s2.2: a failed TLSA lookup leaves the host's security unknown. */
		dane_finish(e, DANE_ERROR, "%s: TLSA lookup failed: %s", h->name, s.why);
		return;
	case DNSMSG_ANS_DATA:
		dnsmsg_iter_init(&s.m, &it);
		while (secure && dnsmsg_next(&s.m, &it, &rr) == DNSMSG_OK) {
			struct dnsmsg_tlsa t;

			if (dnsmsg_answer_has(&s, &rr, DNSMSG_TLSA) &&
			    dnsmsg_rr_tlsa(&s.m, &rr, &t) == DNSMSG_OK && dnsmsg_tlsa_usable(&t))
				h->usable = 1;
		}
		break;
	case DNSMSG_ANS_NODATA:
	case DNSMSG_ANS_NXDOMAIN:
		break;
	}
	dane_ttl(e, s.ttl);
}

/* "_port._tcp.name", or 0 if that is not a valid query name. */
static int
dane_tlsa_name(const struct dane_eval *e, const char *name, char out[DANE_QNAME_MAX])
{
	int n = snprintf(out, DANE_QNAME_MAX, "_%u._tcp.%s", e->port, name);

	return n > 0 && n <= DNAME_MAX;
}

/* ---- driving ---- */

static void
dane_classify(struct dane_eval *e)
{
	unsigned counted = e->n_bad, secure = 0;

	for (unsigned i = 0; i < e->n_hosts; i++) {
		const struct dane_host *h = &e->hosts[i];

		if (h->addrs == 0)
			continue; /* no address: Postfix cannot connect there either */
		counted++;
		if (h->usable && !h->insecure)
			secure++;
	}
	if (counted == 0)
		dane_finish(e, DANE_NONE, "no MX host of %s has an address", e->name);
	else if (secure == counted)
		dane_finish(e, DANE_ALL, "%u of %u MX hosts have usable TLSA records", secure,
		            counted);
	else if (secure > 0)
		dane_finish(e, DANE_SOME, "%u of %u MX hosts have usable TLSA records", secure,
		            counted);
	else
		dane_finish(e, DANE_NONE, "signed MX records, no MX host has usable TLSA records");
}

static int
dane_emit(struct dane_eval *e, struct dane_query *q, const char *name, uint16_t type,
          unsigned token)
{
	INVARIANT(strlen(name) < sizeof(q->name)); /* a host, or dane_tlsa_name()'s output */
	memcpy(q->name, name, strlen(name) + 1);
	q->type = type;
	q->token = token;
	e->inflight++;
	return 1;
}

int
dane_next(struct dane_eval *e, struct dane_query *q)
{
	if (e->done || e->inflight >= DANE_INFLIGHT_MAX)
		return 0;
	if (e->mx_q == 0) {
		e->mx_q = 1;
		return dane_emit(e, q, e->name, DNSMSG_MX, DANE_TOK_MX);
	}
	if (e->mx_q == 1)
		return 0;
	for (unsigned i = 0; i < e->n_hosts; i++) {
		struct dane_host *h = &e->hosts[i];
		char tname[DANE_QNAME_MAX];

		for (int k = K_A; k <= K_AAAA; k++) {
			if (h->q[k] == 0) {
				h->q[k] = 1;
				return dane_emit(e, q, h->name, k == K_A ? DNSMSG_A : DNSMSG_AAAA,
				                 i * K_COUNT + (unsigned)k);
			}
		}
		if (h->q[K_A] != 2 || h->q[K_AAAA] != 2 || h->addrs == 0 || h->insecure)
			continue;
		if (h->q[K_TLSA_BASE] == 0) {
			h->q[K_TLSA_BASE] = 2; /* unless sent below */
			if (dane_tlsa_name(e, h->base[0] ? h->base : h->name, tname)) {
				h->q[K_TLSA_BASE] = 1;
				return dane_emit(e, q, tname, DNSMSG_TLSA,
				                 i * K_COUNT + K_TLSA_BASE);
			}
		}
		/* s2.2.2: nothing usable at the expanded name, so try the original name. */
		if (h->q[K_TLSA_BASE] == 2 && !h->usable && h->base[0] && h->q[K_TLSA_NAME] == 0) {
			h->q[K_TLSA_NAME] = 2;
			if (dane_tlsa_name(e, h->name, tname)) {
				h->q[K_TLSA_NAME] = 1;
				return dane_emit(e, q, tname, DNSMSG_TLSA,
				                 i * K_COUNT + K_TLSA_NAME);
			}
		}
	}
	if (e->inflight == 0)
		dane_classify(e);
	return 0;
}

/* Mark the query of token answered. Returns 0 when it names no query in flight (a stray or
 * duplicate answer) or the state is already decided; else 1, with *h the host and *kind the
 * query, or *h NULL for the MX query. */
static int
dane_settle(struct dane_eval *e, unsigned token, struct dane_host **h, int *kind)
{
	unsigned i = token / K_COUNT;

	*h = NULL;
	*kind = (int)(token % K_COUNT);
	if (token == DANE_TOK_MX) {
		if (e->mx_q != 1)
			return 0;
		e->mx_q = 2;
	} else {
		if (i >= e->n_hosts || e->hosts[i].q[*kind] != 1)
			return 0;
		*h = &e->hosts[i];
		(*h)->q[*kind] = 2;
	}
	e->inflight--;
	return !e->done;
}

void
dane_answer(struct dane_eval *e, unsigned token, const uint8_t *msg, size_t len)
{
	struct dane_host *h;
	char tname[DANE_QNAME_MAX];
	int kind;

	if (!dane_settle(e, token, &h, &kind))
		return;
	if (h == NULL) {
		dane_on_mx(e, msg, len);
	} else if (kind == K_A || kind == K_AAAA) {
		dane_on_addr(e, h, kind, msg, len);
	} else {
		(void)dane_tlsa_name(e, kind == K_TLSA_BASE && h->base[0] ? h->base : h->name,
		                     tname);
		dane_on_tlsa(e, h, tname, msg, len);
	}
}

void
dane_fail(struct dane_eval *e, unsigned token, const char *why)
{
	struct dane_host *h;
	int kind;

	if (!dane_settle(e, token, &h, &kind))
		return;
	if (h == NULL)
		dane_mx_failed(e, why);
	else
		dane_finish(e, DANE_ERROR, "%s: %s lookup failed: %s", h->name,
		            kind == K_A      ? "A"
		            : kind == K_AAAA ? "AAAA"
		                             : "TLSA",
		            why);
}

void
dane_abort(struct dane_eval *e, const char *why)
{
	if (e->mx_q == 1) {
		dane_fail(e, DANE_TOK_MX, why);
	} else {
		for (unsigned i = 0; i < e->n_hosts; i++)
			for (unsigned k = 0; k < K_COUNT; k++)
				if (e->hosts[i].q[k] == 1)
					dane_fail(e, i * K_COUNT + k, why);
	}
	/* Nothing was in flight and nothing decided (cannot happen when driven as documented):
	 * classify what is known rather than leave the evaluation open. */
	if (!e->done)
		dane_classify(e);
}

int
dane_done(const struct dane_eval *e)
{
	return e->done;
}

void
dane_result(const struct dane_eval *e, int64_t now, struct danerec *out)
{
	uint32_t ttl = e->ttl;

	memset(out, 0, sizeof(*out));
	if (ttl < DANE_TTL_MIN)
		ttl = DANE_TTL_MIN;
	if (ttl > DANE_TTL_MAX)
		ttl = DANE_TTL_MAX;
	/* A failure is kept briefly, whatever the state it leads to (INSECURE when the AD bit is
	 * not trusted): an unknown MX set must not stand for a day. */
	if (e->state == DANE_ERROR || e->mx_failed)
		ttl = DANE_TTL_ERROR;
	out->state = e->state;
	out->expires = now + ttl;
	out->trust_ad = e->trust_ad;
	out->mx_known = !e->mx_failed;
	for (unsigned i = 0; i < e->n_hosts; i++) {
		memcpy(out->hosts[i], e->hosts[i].name, sizeof(out->hosts[i]));
		if (e->hosts[i].usable && !e->hosts[i].insecure)
			out->n_tlsa++;
	}
	out->n_hosts = e->n_hosts;
	memcpy(out->why, e->why, sizeof(out->why));
}

int
danerec_valid(const struct danerec *r, int64_t now, int trust_ad)
{
	/* A record made with another dnssec setting says nothing about this one. */
	return now < r->expires && (r->trust_ad != 0) == (trust_ad != 0);
}

static int
danerec_failed(const struct danerec *r)
{
	return r->state == DANE_ERROR || !r->mx_known;
}

enum danerec_use
danerec_usable(const struct danerec *r, int64_t now, int trust_ad, int64_t stale)
{
	INVARIANT(stale >= 0 && stale <= DANE_STALE_MAX);
	if (danerec_valid(r, now, trust_ad))
		return DANEREC_FRESH;
	/* now - stale < expires, written so that it cannot overflow */
	if ((r->trust_ad != 0) != (trust_ad != 0) || danerec_failed(r) || now - r->expires >= stale)
		return DANEREC_UNUSABLE;
	return now < r->renew_after ? DANEREC_STALE_WAIT : DANEREC_STALE;
}

int
danerec_renewed(const struct danerec *stored, const struct danerec *fresh, int64_t now,
                int trust_ad, int64_t stale, struct danerec *out)
{
	if (stored != NULL && danerec_failed(fresh) &&
	    danerec_usable(stored, now, trust_ad, stale) >= DANEREC_STALE) {
		*out = *stored;
		out->renew_after = now + DANE_TTL_ERROR;
		return 1;
	}
	*out = *fresh;
	return 0;
}

/* ---- record encoding: magic, version, state, flags, n_hosts, n_tlsa, expires (LE),
 * renew_after (LE, since version 3), then why and the hosts, each with a one-byte length.
 * Version 2 records (no renew_after) are still read. ---- */

enum danerec_err
danerec_encode(const struct danerec *r, uint8_t *out, size_t outsz, size_t *outlen)
{
	size_t o = 0, whylen = strnlen(r->why, DANE_WHY_MAX - 1);

	INVARIANT(r->n_hosts <= DANE_HOSTS_MAX && (r->mx_known || r->n_hosts == 0));
	if (outsz < DANE_HEADER + whylen)
		return DANEREC_NO_SPACE;
	out[o++] = DANE_MAGIC;
	out[o++] = DANE_VERSION;
	out[o++] = (uint8_t)r->state;
	out[o++] = (uint8_t)((r->trust_ad ? DANE_FLAG_TRUST_AD : 0) |
	                     (r->mx_known ? DANE_FLAG_MX_KNOWN : 0));
	out[o++] = (uint8_t)r->n_hosts;
	out[o++] = (uint8_t)r->n_tlsa;
	for (int i = 0; i < 8; i++)
		out[o++] = (uint8_t)((uint64_t)r->expires >> (8 * i));
	for (int i = 0; i < 8; i++)
		out[o++] = (uint8_t)((uint64_t)r->renew_after >> (8 * i));
	out[o++] = (uint8_t)whylen;
	memcpy(out + o, r->why, whylen);
	o += whylen;
	for (unsigned i = 0; i < r->n_hosts; i++) {
		size_t n = strnlen(r->hosts[i], DNAME_MAX);

		if (outsz - o < 1 + n)
			return DANEREC_NO_SPACE;
		out[o++] = (uint8_t)n;
		memcpy(out + o, r->hosts[i], n);
		o += n;
	}
	*outlen = o;
	return DANEREC_OK;
}

/* Copy n bytes of printable ASCII text to out and NUL-terminate it; 0 at the first other
 * byte. Checked as it is copied: one pass, and no memcpy (which compilers may expand into a
 * string instruction slow to start for a few dozen bytes). */
static int
danerec_text_copy(char *out, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
		out[i] = (char)s[i];
	}
	out[n] = '\0';
	return 1;
}

/* 8 bytes little-endian at p as a non-negative time; -1 if out of range. */
static int64_t
danerec_time(const uint8_t *p)
{
	/* Spelt out, which compilers read as one load. */
	uint64_t v = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	             (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	             (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;

	return v > (uint64_t)INT64_MAX ? -1 : (int64_t)v;
}

static enum danerec_err
danerec_decode_body(const uint8_t *p, size_t len, struct danerec *r)
{
	size_t hdr = len >= 2 && p[1] == 2 ? DANE_HEADER_V2 : DANE_HEADER, o = hdr - 1, n;

	if (len < hdr || p[0] != DANE_MAGIC || (p[1] != DANE_VERSION && p[1] != 2) ||
	    p[2] > DANE_ERROR || (p[3] & ~(DANE_FLAG_TRUST_AD | DANE_FLAG_MX_KNOWN)) != 0 ||
	    p[4] > DANE_HOSTS_MAX || p[5] > p[4] || (!(p[3] & DANE_FLAG_MX_KNOWN) && p[4] != 0))
		return DANEREC_CORRUPT;
	r->state = (enum dane_state)p[2];
	r->trust_ad = (p[3] & DANE_FLAG_TRUST_AD) != 0;
	r->mx_known = (p[3] & DANE_FLAG_MX_KNOWN) != 0;
	r->n_hosts = p[4];
	r->n_tlsa = p[5];
	r->expires = danerec_time(p + 6);
	r->renew_after = hdr == DANE_HEADER ? danerec_time(p + 14) : 0;
	if (r->expires < 0 || r->renew_after < 0)
		return DANEREC_CORRUPT;
	n = p[o++];
	if (n >= DANE_WHY_MAX || len - o < n || !danerec_text_copy(r->why, p + o, n))
		return DANEREC_CORRUPT;
	o += n;
	for (unsigned i = 0; i < r->n_hosts; i++) {
		if (o >= len || (n = p[o++]) > DNAME_MAX || len - o < n)
			return DANEREC_CORRUPT;
		/* Names end up in match= lists: only normalised LDH names are ever stored, so a
		 * name must be one as it stands (checked as it is copied, not normalised again). */
		if (!dname_copy_normal((const char *)p + o, n, r->hosts[i]))
			return DANEREC_CORRUPT;
		o += n;
	}
	if (o != len)
		return DANEREC_CORRUPT;
	/* The slots past n_hosts hold no name: each is the empty string. */
	for (unsigned i = r->n_hosts; i < DANE_HOSTS_MAX; i++)
		r->hosts[i][0] = '\0';
	return DANEREC_OK;
}

enum danerec_err
danerec_decode(const uint8_t *p, size_t len, struct danerec *r)
{
	enum danerec_err e =
	    len > DANEREC_MAX_BYTES ? DANEREC_CORRUPT : danerec_decode_body(p, len, r);

	/* The body sets every field; only a refused record is cleared as a whole (8 kB, once per
	 * damaged record rather than on every cached answer), so nothing of it is left behind. */
	if (e != DANEREC_OK)
		memset(r, 0, sizeof(*r));
	return e;
}

int
dane_key(const char *name, unsigned port, int bracketed, char *out, size_t outsz)
{
	/* Built by hand rather than with snprintf(): this runs on every request. */
	char num[STRBUF_U64_DIGITS];
	size_t n = strlen(name), nlen = 0, fixed, o = 0;
	int with_port = bracketed || (port != 0 && port != 25);

	if (with_port)
		nlen = strbuf_utoa(port != 0 ? port : 25, num);
	fixed = 5 + (bracketed ? 2 : 0) + (with_port ? 1 + nlen : 0); /* all but the name */
	/* fixed + n + NUL must fit; compared without adding n, so no length can wrap */
	if (outsz <= fixed || n >= outsz - fixed) {
		if (outsz > 0)
			out[0] = '\0';
		return -1;
	}
	memcpy(out, name, n);
	o = n;
	memcpy(out + o, DANE_KEY_SEP, 5);
	o += 5;
	if (bracketed) {
		out[o++] = '[';
		out[o++] = ']';
	}
	if (with_port) {
		out[o++] = ':';
		memcpy(out + o, num, nlen);
		o += nlen;
	}
	out[o] = '\0';
	return 0;
}

int
dane_key_is(const char *key, size_t len)
{
	return memchr(key, '#', len) != NULL ||
	       (len > DANE_KEY_OLD_LEN && memcmp(key, DANE_KEY_OLD, DANE_KEY_OLD_LEN) == 0);
}

const char *
dane_state_name(enum dane_state s)
{
	switch (s) {
	case DANE_INSECURE:
		return "insecure";
	case DANE_ALL:
		return "all";
	case DANE_SOME:
		return "some";
	case DANE_NONE:
		return "none";
	case DANE_ERROR:
		return "error";
	}
	return "unknown";
}
