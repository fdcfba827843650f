/* SPDX-License-Identifier: MIT */
/*
 * sts: MTA-STS discovery of one policy domain (RFC 8461 s3, s5.1) as a pure state machine,
 * the model of dane.c: it says which step comes next (TXT query, A and AAAA queries of the
 * policy host, HTTPS fetch), classifies each raw result, and applies the trust-on-first-use
 * rules of cacherec.c to the domain's record. Pure (P): no I/O, no clock (now is a parameter).
 * TXT (s3.1): dnsmsg_answer() reads it (CNAMEs followed, TTL kept); exactly one STSv1 record
 * must exist and parse (stsrecord.c). "No policy" is remembered min(txt_recheck, TTL) seconds
 * (negative TTL per RFC 2308), the TTL floored at STS_TTL_MIN; a failed TXT lookup is never
 * "no policy" and is remembered STS_FAIL_REMEMBER seconds at most. Fetch (s3.3): wanted when
 * cacherec_fetch_wanted() says so; A and AAAA are asked together, IPv4 used first; only
 * status 200 with media type text/plain, then stspolicy_parse(); a failure keeps the cached
 * policy and starts the id's back-off. Sending queries and fetches, and logging, are
 * discover.c's (through resolver.c and fetch.c); storing the record is lookup.c's (cache.c).
 */
#include "sts.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dnsmsg.h"
#include "stspolicy.h"
#include "xalloc.h"

enum { TOK_TXT = 0, TOK_A, TOK_AAAA };
enum { F_NO = 0, F_WANTED, F_STARTED };

static void sts_finish(struct sts_eval *e, enum decide_disc disc, enum sts_event ev,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
sts_end(struct sts_eval *e, enum decide_disc disc, enum sts_event ev)
{
	e->done = 1;
	e->write = 1; /* every outcome moves at least the check time */
	e->disc = disc;
	e->event = ev;
}

static void
sts_finish(struct sts_eval *e, enum decide_disc disc, enum sts_event ev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(e->why, sizeof(e->why), fmt, ap); /* a cut explanation is still one */
	va_end(ap);
	sts_end(e, disc, ev);
}

/* How long an answer may keep "no policy": txt_recheck, and never much longer than the DNS
 * data behind it (design.md); the floor keeps a TTL of 0 from costing a lookup per message. */
static unsigned
sts_remember(const struct sts_eval *e)
{
	uint32_t ttl = e->txt_ttl < STS_TTL_MIN ? STS_TTL_MIN : e->txt_ttl;

	return ttl < e->prm.txt_recheck ? (unsigned)ttl : e->prm.txt_recheck;
}

static void
sts_no_policy(struct sts_eval *e, int64_t now, enum sts_event ev, const char *why)
{
	cacherec_on_no_policy(&e->rec, now, sts_remember(e));
	sts_finish(e, DECIDE_DISC_NO_POLICY, ev, "%s", why);
}

static void
sts_txt_failed(struct sts_eval *e, int64_t now, const char *why)
{
	unsigned remember =
	    e->prm.txt_recheck < STS_FAIL_REMEMBER ? e->prm.txt_recheck : STS_FAIL_REMEMBER;

	/* A temporary failure is not "no policy": the policy, if any, stays as it is. */
	cacherec_on_txt_fail(&e->rec, now, remember);
	sts_finish(e, DECIDE_DISC_TXT_FAILED, STS_EV_TXT_FAILED, "%s", why);
}

static void sts_fetch_failed(struct sts_eval *e, int64_t now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
sts_fetch_failed(struct sts_eval *e, int64_t now, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(e->why, sizeof(e->why), fmt, ap);
	va_end(ap);
	/* RFC 8461 s5.1: the cached policy is kept; this id waits CACHEREC_RETRY_AFTER. */
	cacherec_on_fetch_fail(&e->rec, e->txt.id, now, sts_remember(e));
	sts_end(e, DECIDE_DISC_FETCH_FAILED, STS_EV_FETCH_FAILED);
}

/* prefix + the domain as a query name; 0 when it is longer than a DNS name can be. */
static int
sts_name(const struct sts_eval *e, const char *prefix, char out[DNAME_MAX + 1])
{
	int n = snprintf(out, DNAME_MAX + 1, "%s%s", prefix, e->domain);

	return n > 0 && n <= DNAME_MAX;
}

void
sts_init(struct sts_eval *e, const char *domain, const struct cacherec *rec,
         const struct sts_params *prm, int64_t now)
{
	size_t n = strlen(domain);
	char qname[DNAME_MAX + 1];

	memset(e, 0, sizeof(*e));
	if (n > DNAME_MAX)
		n = DNAME_MAX; /* callers pass normalised names; never read past the buffer */
	memcpy(e->domain, domain, n);
	e->domain[n] = '\0';
	e->rec = *rec;
	e->prm = *prm;
	e->txt_ttl = UINT32_MAX;
	/* "_mta-sts." + a domain over 244 octets is no DNS name: no record can be published. */
	if (!sts_name(e, "_mta-sts.", qname))
		sts_no_policy(e, now, STS_EV_NO_POLICY, "no _mta-sts name possible (too long)");
}

/* ---- TXT (RFC 8461 s3.1) ---- */

static void
sts_on_txt(struct sts_eval *e, const uint8_t *msg, size_t len, int64_t now)
{
	char qname[DNAME_MAX + 1], buf[STSRECORD_TXT_MAX + 1];
	struct dnsmsg_answer a;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	enum stsrecord_err res = STSRECORD_NONE;
	unsigned seen = 0, nsts = 0;

	INVARIANT(sts_name(e, "_mta-sts.", qname)); /* sts_init() made sure */
	switch (dnsmsg_answer(msg, len, qname, DNSMSG_TXT, &a)) {
	case DNSMSG_ANS_FAIL:
		sts_txt_failed(e, now, a.why);
		return;
	case DNSMSG_ANS_NXDOMAIN:
	case DNSMSG_ANS_NODATA:
		e->txt_ttl = a.ttl;
		sts_no_policy(e, now, STS_EV_NO_POLICY, "no TXT record");
		return;
	case DNSMSG_ANS_DATA:
		break;
	}
	e->txt_ttl = a.ttl;
	/* Exactly one record beginning "v=STSv1" counts; the others are ignored. One buffer is
	 * enough: stsrecord_select() on each record alone tells STSv1 or not, and parses it. */
	dnsmsg_iter_init(&a.m, &it);
	while (dnsmsg_next(&a.m, &it, &rr) == DNSMSG_OK && seen < STSRECORD_RECORDS_MAX) {
		struct stsrecord_txt t = {buf, 0};
		struct stsrecord one;
		enum stsrecord_err r;

		if (!dnsmsg_answer_has(&a, &rr, DNSMSG_TXT))
			continue;
		seen++;
		if (dnsmsg_rr_txt(&a.m, &rr, buf, sizeof(buf), &t.len) != DNSMSG_OK) {
			sts_txt_failed(e, now, "malformed TXT record");
			return;
		}
		if ((r = stsrecord_select(&t, 1, &one)) == STSRECORD_NONE)
			continue;
		if (++nsts > 1) {
			res = STSRECORD_MULTIPLE;
			break;
		}
		res = r;
		if (r == STSRECORD_OK)
			e->txt = one;
	}
	if (res != STSRECORD_OK) {
		sts_no_policy(e, now, res == STSRECORD_NONE ? STS_EV_NO_POLICY : STS_EV_BAD_RECORD,
		              stsrecord_strerror(res));
		return;
	}
	cacherec_on_txt(&e->rec, now);
	if (cacherec_fetch_wanted(&e->rec, e->txt.id, now, e->prm.refresh)) {
		e->fetch = F_WANTED;
		return;
	}
	if (cacherec_in_backoff(&e->rec, e->txt.id, now)) {
		/* RFC 8461 s5.1: wait before refetching an id that failed. Remember "no policy"
		 * no longer than the back-off, so the id is tried again as soon as it ends. */
		int64_t left = e->rec.failed + CACHEREC_RETRY_AFTER - now;
		unsigned remember = sts_remember(e);

		if ((int64_t)remember > left)
			remember = (unsigned)left;
		cacherec_on_no_policy(&e->rec, now, remember);
		sts_finish(e,
		           cacherec_view(&e->rec, now) == CACHEREC_VIEW_POLICY
		               ? DECIDE_DISC_NOT_RUN
		               : DECIDE_DISC_FETCH_FAILED,
		           STS_EV_BACKOFF, "id %s failed less than %d s ago", e->txt.id,
		           CACHEREC_RETRY_AFTER);
		return;
	}
	sts_finish(e, DECIDE_DISC_NOT_RUN, STS_EV_UNCHANGED, "id %s unchanged", e->txt.id);
}

/* ---- policy host addresses ---- */

unsigned
sts_addr_read(const char *qname, int v6, const uint8_t *msg, size_t len, struct sts_addr *out,
              unsigned max, const char **why)
{
	uint16_t type = v6 ? DNSMSG_AAAA : DNSMSG_A;
	size_t alen = v6 ? 16 : 4;
	struct dnsmsg_answer a;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	unsigned n = 0;

	*why = NULL;
	switch (dnsmsg_answer(msg, len, qname, type, &a)) {
	case DNSMSG_ANS_FAIL:
		*why = a.why;
		return 0;
	case DNSMSG_ANS_NXDOMAIN:
	case DNSMSG_ANS_NODATA:
		return 0;
	case DNSMSG_ANS_DATA:
		break;
	}
	dnsmsg_iter_init(&a.m, &it);
	while (dnsmsg_next(&a.m, &it, &rr) == DNSMSG_OK && n < max) {
		if (!dnsmsg_answer_has(&a, &rr, type) || rr.rdlen != alen)
			continue;
		out[n].family = v6 ? 6 : 4;
		memcpy(out[n].bytes, a.m.p + rr.rdoff, alen);
		n++;
	}
	return n;
}

static void
sts_on_addr(struct sts_eval *e, int v6, const uint8_t *msg, size_t len)
{
	char qname[DNAME_MAX + 1];
	struct sts_addr *out = v6 ? e->v6 : e->v4;
	unsigned *n = v6 ? &e->n_v6 : &e->n_v4;
	const char *why;

	INVARIANT(sts_name(e, "mta-sts.", qname));
	*n += sts_addr_read(qname, v6, msg, len, out + *n, STS_ADDRS_MAX - *n, &why);
	if (why != NULL && e->addr_why == NULL)
		e->addr_why = why;
}

/* Both address answers are in: fetch from what they gave, IPv4 first. */
/* What a policy for the TXT record's id, about to replace e->rec, is to the cache: learnt,
 * changed (noting the previous id) or refreshed. */
static enum sts_event
sts_event_of(struct sts_eval *e)
{
	if (!e->rec.has_policy)
		return STS_EV_LEARNED;
	if (strcmp(e->rec.id, e->txt.id) != 0) {
		memcpy(e->prev_id, e->rec.id, sizeof(e->prev_id));
		return STS_EV_CHANGED;
	}
	return STS_EV_REFRESHED;
}

static void
sts_addrs_done(struct sts_eval *e, int64_t now)
{
	unsigned n = 0;

	for (unsigned i = 0; i < e->n_v4 && n < STS_ADDRS_MAX; i++)
		e->addrs[n++] = e->v4[i];
	for (unsigned i = 0; i < e->n_v6 && n < STS_ADDRS_MAX; i++)
		e->addrs[n++] = e->v6[i];
	e->n_addrs = n;
	if (n == 0) {
		sts_fetch_failed(e, now, "mta-sts.%s: %s", e->domain,
		                 e->addr_why != NULL ? e->addr_why : "no address");
		return;
	}
	e->fetch = F_WANTED;
}

/* ---- driving ---- */

static enum sts_action
sts_query(struct sts_eval *e, struct sts_query *q, unsigned token, const char *prefix,
          uint16_t type)
{
	/* "mta-sts." + the domain fits wherever "_mta-sts." + the domain did (sts_init). */
	INVARIANT(sts_name(e, prefix, q->name));
	q->type = type;
	q->token = token;
	e->q[token] = 1;
	return STS_ACT_QUERY;
}

enum sts_action
sts_next(struct sts_eval *e, struct sts_query *q, struct sts_fetch *f)
{
	if (e->done)
		return STS_ACT_NONE;
	if (e->q[TOK_TXT] == 0)
		return sts_query(e, q, TOK_TXT, "_mta-sts.", DNSMSG_TXT);
	if (e->q[TOK_TXT] != 2 || e->fetch != F_WANTED)
		return STS_ACT_NONE;
	if (e->q[TOK_A] == 0)
		return sts_query(e, q, TOK_A, "mta-sts.", DNSMSG_A);
	if (e->q[TOK_AAAA] == 0)
		return sts_query(e, q, TOK_AAAA, "mta-sts.", DNSMSG_AAAA);
	if (e->q[TOK_A] != 2 || e->q[TOK_AAAA] != 2)
		return STS_ACT_NONE;
	e->fetch = F_STARTED; /* with no address, sts_addrs_done() has finished it above */
	f->domain = e->domain;
	f->addrs = e->addrs;
	f->n_addrs = e->n_addrs;
	return STS_ACT_FETCH;
}

/* Mark the query of token answered; 0 for a stray or duplicate answer, or once done. */
static int
sts_settle(struct sts_eval *e, unsigned token)
{
	if (token > TOK_AAAA || e->q[token] != 1)
		return 0;
	e->q[token] = 2;
	return !e->done;
}

void
sts_answer(struct sts_eval *e, unsigned token, const uint8_t *msg, size_t len, int64_t now)
{
	if (!sts_settle(e, token))
		return;
	if (token == TOK_TXT) {
		sts_on_txt(e, msg, len, now);
		return;
	}
	sts_on_addr(e, token == TOK_AAAA, msg, len);
	if (e->q[TOK_A] == 2 && e->q[TOK_AAAA] == 2)
		sts_addrs_done(e, now);
}

void
sts_fail(struct sts_eval *e, unsigned token, const char *why, int64_t now)
{
	if (!sts_settle(e, token))
		return;
	if (token == TOK_TXT) {
		sts_txt_failed(e, now, why);
		return;
	}
	if (e->addr_why == NULL)
		e->addr_why = why;
	if (e->q[TOK_A] == 2 && e->q[TOK_AAAA] == 2)
		sts_addrs_done(e, now);
}

/* RFC 8461 s3.3: the media type must be text/plain; parameters such as charset are allowed. */
int
sts_ctype_ok(const char *ct)
{
	size_t n = strlen("text/plain");

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, "text/plain", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

void
sts_fetched(struct sts_eval *e, const struct sts_response *r, int64_t now)
{
	struct stspolicy pol;
	enum stspolicy_err perr;
	enum sts_event ev;

	if (e->done || e->fetch != F_STARTED)
		return;
	if (r->error != NULL) {
		e->fetched = r->fail != STS_FETCH_NONE ? r->fail : STS_FETCH_ERROR;
		sts_fetch_failed(e, now, "%s", r->error);
		return;
	}
	/* s3.3: no redirects (a 3xx is refused like any other status), 200 only. */
	if (r->status != 200) {
		e->fetched = r->status >= 300 && r->status < 400   ? STS_FETCH_HTTP_3XX
		             : r->status >= 400 && r->status < 500 ? STS_FETCH_HTTP_4XX
		             : r->status >= 500 && r->status < 600 ? STS_FETCH_HTTP_5XX
		                                                   : STS_FETCH_HTTP_OTHER;
		sts_fetch_failed(e, now, "HTTP status %ld (only 200 is accepted)", r->status);
		return;
	}
	if (!sts_ctype_ok(r->ctype)) {
		e->fetched = STS_FETCH_CONTENT_TYPE;
		sts_fetch_failed(e, now, "content type \"%.64s\" is not text/plain",
		                 r->ctype != NULL ? r->ctype : "(none)");
		return;
	}
	if ((perr = stspolicy_parse(r->body, r->len, &pol)) != STSPOLICY_OK) {
		e->fetched = STS_FETCH_INVALID_POLICY;
		sts_fetch_failed(e, now, "invalid policy: %s", stspolicy_strerror(perr));
		return;
	}
	e->fetched = STS_FETCH_OK;
	ev = sts_event_of(e);
	cacherec_on_fetch_ok(&e->rec, &pol, e->txt.id, now);
	sts_finish(e, DECIDE_DISC_FETCHED, ev, "id %s mode %s", e->txt.id,
	           stspolicy_mode_name(pol.mode));
}

int
sts_adopt(struct sts_eval *e, const struct cacherec *peer, int64_t now)
{
	enum sts_event ev;

	if (e->done || e->fetch != F_STARTED || !peer->has_policy ||
	    strcmp(peer->id, e->txt.id) != 0 || peer->expires <= now ||
	    (e->rec.has_policy && peer->fetched <= e->rec.fetched))
		return 0;
	ev = sts_event_of(e);
	/* The peer's fetch is as good as ours: RFC 8461 s5.1 counts expiry from the fetch, so
	 * the peer's stands as it is; the TXT check just made counts as this node's. */
	cacherec_merge(&e->rec, peer);
	e->rec.checked = now;
	sts_finish(e, DECIDE_DISC_FETCHED, ev, "id %s fetched by another node", e->txt.id);
	return 1;
}

void
sts_abort(struct sts_eval *e, const char *why, int64_t now)
{
	if (e->done)
		return;
	if (e->q[TOK_TXT] != 2) {
		sts_txt_failed(e, now, why);
		return;
	}
	if (e->fetch == F_STARTED)
		e->fetched = STS_FETCH_TIMEOUT; /* the fetch in flight ran out of time */
	sts_fetch_failed(e, now, "%s", why);
}

int
sts_done(const struct sts_eval *e)
{
	return e->done;
}

const char *
sts_event_name(enum sts_event ev)
{
	switch (ev) {
	case STS_EV_NONE:
		return "running";
	case STS_EV_NO_POLICY:
		return "no-policy";
	case STS_EV_BAD_RECORD:
		return "bad-txt-record";
	case STS_EV_TXT_FAILED:
		return "txt-failed";
	case STS_EV_UNCHANGED:
		return "policy-unchanged";
	case STS_EV_BACKOFF:
		return "fetch-backoff";
	case STS_EV_FETCH_FAILED:
		return "fetch-failed";
	case STS_EV_LEARNED:
		return "policy-learned";
	case STS_EV_CHANGED:
		return "policy-changed";
	case STS_EV_REFRESHED:
		return "policy-refreshed";
	}
	return "unknown";
}

const char *
sts_fetch_result_name(enum sts_fetch_result r)
{
	switch (r) {
	case STS_FETCH_NONE:
		return "none";
	case STS_FETCH_OK:
		return "ok";
	case STS_FETCH_HTTP_3XX:
		return "http-3xx";
	case STS_FETCH_HTTP_4XX:
		return "http-4xx";
	case STS_FETCH_HTTP_5XX:
		return "http-5xx";
	case STS_FETCH_HTTP_OTHER:
		return "http-other";
	case STS_FETCH_CONTENT_TYPE:
		return "content-type";
	case STS_FETCH_INVALID_POLICY:
		return "invalid-policy";
	case STS_FETCH_TOO_LARGE:
		return "too-large";
	case STS_FETCH_TIMEOUT:
		return "timeout";
	case STS_FETCH_TLS:
		return "tls";
	case STS_FETCH_CONNECT:
		return "connect";
	case STS_FETCH_ERROR:
		return "error";
	}
	return "unknown";
}
