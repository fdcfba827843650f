/* SPDX-License-Identifier: MIT */
/*
 * resolver: c-ares channel driven by the libevent loop. Effectful (E).
 * Owns the channel, one persistent event per c-ares socket (ARES_OPT_SOCK_STATE_CB) and one
 * timer re-armed from ares_timeout() after every c-ares call. Queries start from a zero timer,
 * so no callback ever runs inside resolver_*_start(); a cancelled query is only flagged and
 * freed when c-ares completes it (c-ares 1.18 cannot cancel one query).
 * Answers are classified OK / NODATA (NXDOMAIN, no records: authoritative "none") / FAIL
 * (temporary); TXT strings of one record are concatenated (RFC 8461 s3.1). Raw queries (DANE:
 * MX, A, AAAA, TLSA with the AD bit) are built by dnsmsg.c, sent with ares_send() and handed
 * back unparsed. Parsing of records is stsrecord.c's, dnsmsg.c's and dane.c's job.
 */
#include "resolver.h"

#include <arpa/inet.h>
#include <ares.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "dnsmsg.h"
#include "xalloc.h"

struct sockev {
	ares_socket_t fd;
	struct event *ev;
	struct resolver *r;
	struct sockev *next;
};

struct resolver {
	struct event_base *base;
	ares_channel ch;
	struct event *timer;
	struct sockev *socks;
};

enum query_type { Q_TXT, Q_A, Q_AAAA, Q_RAW };

struct resolver_query {
	struct resolver *r;
	enum query_type type;
	char name[DNAME_MAX + 16];
	resolver_txt_cb *txt_cb;
	resolver_addr_cb *addr_cb;
	resolver_raw_cb *raw_cb;
	uint16_t raw_type;
	void *arg;
	struct event *start_ev; /* pending start; NULL once handed to c-ares */
	int cancelled;
};

static void
resolver_rearm(struct resolver *r)
{
	struct timeval tv, *tvp;

	tvp = ares_timeout(r->ch, NULL, &tv);
	if (tvp == NULL)
		evtimer_del(r->timer);
	else
		evtimer_add(r->timer, tvp);
}

static void
resolver_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	(void)fd;
	(void)what;
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_rearm(r);
}

static void
resolver_on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = ((struct sockev *)arg)->r;

	/* The sockev may be freed inside ares_process_fd (socket closed): do not touch it after. */
	ares_process_fd(r->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	                (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	resolver_rearm(r);
}

static void
resolver_on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct sockev **pp, *s;

	for (pp = &r->socks; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->fd == fd)
			break;
	s = *pp;
	if (!readable && !writable) {
		if (s != NULL) {
			*pp = s->next;
			event_free(s->ev);
			free(s);
		}
		return;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->r = r;
		s->next = r->socks;
		r->socks = s;
	} else {
		event_free(s->ev);
	}
	s->ev = event_new(
	    r->base, fd, (short)(EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0)),
	    resolver_on_socket, s);
	INVARIANT(s->ev != NULL);
	event_add(s->ev, NULL);
}

struct resolver *
resolver_new(struct event_base *base, const char *servers, unsigned timeout_s, char *err,
             size_t errsz)
{
	struct resolver *r;
	struct ares_options opts;
	int rc, mask;

	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errsz, "c-ares init: %s", ares_strerror(rc));
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->base = base;
	memset(&opts, 0, sizeof(opts));
	/* Two tries; c-ares doubles the per-try timeout, so t/3 + 2t/3 keeps the total at
	 * timeout_s. */
	opts.timeout = (int)(timeout_s * 1000 / 3);
	if (opts.timeout < 100)
		opts.timeout = 100;
	opts.tries = 2;
	opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
	opts.ednspsz = 1232;
	opts.sock_state_cb = resolver_on_sock_state;
	opts.sock_state_cb_data = r;
	mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ |
	       ARES_OPT_SOCK_STATE_CB;
	rc = ares_init_options(&r->ch, &opts, mask);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errsz, "c-ares channel: %s", ares_strerror(rc));
		free(r);
		return NULL;
	}
	if (servers != NULL && (rc = ares_set_servers_ports_csv(r->ch, servers)) != ARES_SUCCESS) {
		snprintf(err, errsz, "dns_servers \"%s\": %s", servers, ares_strerror(rc));
		ares_destroy(r->ch);
		free(r);
		return NULL;
	}
	r->timer = evtimer_new(base, resolver_on_timer, r);
	INVARIANT(r->timer != NULL);
	return r;
}

void
resolver_free(struct resolver *r)
{
	if (r == NULL)
		return;
	ares_destroy(r->ch); /* completes pending queries with ARES_EDESTRUCTION */
	while (r->socks != NULL) {
		struct sockev *s = r->socks;
		r->socks = s->next;
		event_free(s->ev);
		free(s);
	}
	event_free(r->timer);
	free(r);
}

static enum resolver_status
resolver_classify(int status, const char **why)
{
	/* c-ares reports SERVFAIL/REFUSED from every server as "could not contact": say so. */
	*why = status == ARES_ECONNREFUSED ? "no usable answer (SERVFAIL, REFUSED or unreachable)"
	                                   : ares_strerror(status);
	switch (status) {
	case ARES_SUCCESS:
		return RESOLVER_OK;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
		return RESOLVER_NODATA;
	default:
		return RESOLVER_FAIL;
	}
}

/* Concatenate the character-strings of each TXT record; each record is kept to at most
 * STSRECORD_TXT_MAX + 1 bytes so that the parser still sees it is over its cap. */
static void
resolver_deliver_txt(struct resolver_query *q, const unsigned char *abuf, int alen)
{
	static char store[STSRECORD_RECORDS_MAX][STSRECORD_TXT_MAX + 1];
	struct stsrecord_txt recs[STSRECORD_RECORDS_MAX];
	struct ares_txt_ext *txt = NULL, *t;
	size_t n = 0;
	int rc;
	const char *why;

	rc = ares_parse_txt_reply_ext(abuf, alen, &txt);
	if (rc != ARES_SUCCESS) {
		enum resolver_status st = resolver_classify(rc, &why);
		q->txt_cb(q->arg, st == RESOLVER_NODATA ? RESOLVER_NODATA : RESOLVER_FAIL, NULL, 0,
		          why);
		return;
	}
	for (t = txt; t != NULL; t = t->next) {
		if (t->record_start) {
			if (n == STSRECORD_RECORDS_MAX)
				break;
			recs[n].p = store[n];
			recs[n].len = 0;
			n++;
		}
		if (n == 0)
			continue;
		struct stsrecord_txt *cur = &recs[n - 1];
		size_t room = sizeof(store[0]) - cur->len;
		size_t take = t->length < room ? t->length : room;
		memcpy(store[n - 1] + cur->len, t->txt, take);
		cur->len += take;
	}
	ares_free_data(txt);
	q->txt_cb(q->arg, n ? RESOLVER_OK : RESOLVER_NODATA, recs, n, n ? NULL : "no TXT records");
}

static void resolver_schedule(struct resolver_query *q);

/* Returns 1 if the query was re-scheduled (AAAA after an empty A answer) and is still live. */
static int
resolver_deliver_addr(struct resolver_query *q, const unsigned char *abuf, int alen)
{
	char out[RESOLVER_ADDRS_MAX * (INET6_ADDRSTRLEN + 3)];
	size_t o = 0;
	int n = RESOLVER_ADDRS_MAX, rc;
	const char *why = "no address";

	out[0] = '\0';
	if (q->type == Q_A) {
		struct ares_addrttl a[RESOLVER_ADDRS_MAX];
		rc = ares_parse_a_reply(abuf, alen, NULL, a, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
			char s[INET_ADDRSTRLEN];
			if (inet_ntop(AF_INET, &a[i].ipaddr, s, sizeof(s)) == NULL)
				continue;
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", o ? "," : "", s);
		}
	} else {
		struct ares_addr6ttl a[RESOLVER_ADDRS_MAX];
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, a, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
			char s[INET6_ADDRSTRLEN];
			if (inet_ntop(AF_INET6, &a[i].ip6addr, s, sizeof(s)) == NULL)
				continue;
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s[%s]", o ? "," : "", s);
		}
	}
	if (o > 0) {
		q->addr_cb(q->arg, RESOLVER_OK, out, NULL);
		return 0;
	}
	if (rc != ARES_SUCCESS && resolver_classify(rc, &why) == RESOLVER_FAIL) {
		q->addr_cb(q->arg, RESOLVER_FAIL, NULL, why);
		return 0;
	}
	if (q->type == Q_A) { /* no A record: try AAAA with the same handle */
		q->type = Q_AAAA;
		resolver_schedule(q);
		return 1;
	}
	q->addr_cb(q->arg, RESOLVER_NODATA, NULL, why);
	return 0;
}

static void
resolver_on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct resolver_query *q = arg;
	const char *why;
	enum resolver_status st;

	(void)timeouts;
	if (q->cancelled) {
		free(q);
		return;
	}
	st = resolver_classify(status, &why);
	if (q->type == Q_RAW) {
		/* ares_send: any answer c-ares accepted (NOERROR, NXDOMAIN...) comes as SUCCESS. */
		if (status == ARES_SUCCESS && abuf != NULL && alen > 0)
			q->raw_cb(q->arg, abuf, (size_t)alen, NULL);
		else
			q->raw_cb(q->arg, NULL, 0, why);
	} else if (q->type == Q_TXT) {
		if (st == RESOLVER_OK)
			resolver_deliver_txt(q, abuf, alen);
		else
			q->txt_cb(q->arg, st, NULL, 0, why);
	} else if (st == RESOLVER_OK) {
		if (resolver_deliver_addr(q, abuf, alen))
			return; /* re-scheduled for AAAA: still live */
	} else if (q->type == Q_A && st == RESOLVER_NODATA) {
		q->type = Q_AAAA;
		resolver_schedule(q);
		return;
	} else {
		q->addr_cb(q->arg, st, NULL, why);
	}
	free(q); /* the handle is dead once the callback has returned */
}

static void
resolver_on_start(evutil_socket_t fd, short what, void *arg)
{
	struct resolver_query *q = arg;
	struct resolver *r = q->r;
	int type = q->type == Q_TXT ? 16 : q->type == Q_A ? 1 : 28;

	(void)fd;
	(void)what;
	event_free(q->start_ev);
	q->start_ev = NULL;
	/* c-ares may complete (and free q) inside ares_query/ares_send: q is not touched after. */
	if (q->type == Q_RAW) {
		uint8_t buf[DNAME_MAX + 64];
		size_t len = 0;
		/* Unpredictable, like c-ares's own ids: a spoofed answer must guess it. */
		uint16_t id = (uint16_t)arc4random();

		if (dnsmsg_query(q->name, q->raw_type, id, 1232, buf, sizeof(buf), &len) !=
		    DNSMSG_OK)
			resolver_on_answer(q, ARES_EBADNAME, 0, NULL, 0);
		else
			ares_send(r->ch, buf, (int)len, resolver_on_answer, q);
	} else {
		ares_query(r->ch, q->name, 1 /* C_IN */, type, resolver_on_answer, q);
	}
	resolver_rearm(r);
}

static void
resolver_schedule(struct resolver_query *q)
{
	static const struct timeval zero = {0, 0};

	q->start_ev = evtimer_new(q->r->base, resolver_on_start, q);
	INVARIANT(q->start_ev != NULL);
	evtimer_add(q->start_ev, &zero);
}

static struct resolver_query *
resolver_query_new(struct resolver *r, enum query_type type, const char *name)
{
	struct resolver_query *q = xcalloc(1, sizeof(*q));
	size_t len = strlen(name);

	INVARIANT(len < sizeof(q->name));
	memcpy(q->name, name, len + 1);
	q->r = r;
	q->type = type;
	return q;
}

struct resolver_query *
resolver_txt_start(struct resolver *r, const char *name, resolver_txt_cb *cb, void *arg)
{
	struct resolver_query *q = resolver_query_new(r, Q_TXT, name);

	q->txt_cb = cb;
	q->arg = arg;
	resolver_schedule(q);
	return q;
}

struct resolver_query *
resolver_addr_start(struct resolver *r, const char *name, resolver_addr_cb *cb, void *arg)
{
	struct resolver_query *q = resolver_query_new(r, Q_A, name);

	q->addr_cb = cb;
	q->arg = arg;
	resolver_schedule(q);
	return q;
}

struct resolver_query *
resolver_raw_start(struct resolver *r, const char *name, uint16_t type, resolver_raw_cb *cb,
                   void *arg)
{
	struct resolver_query *q = resolver_query_new(r, Q_RAW, name);

	q->raw_type = type;
	q->raw_cb = cb;
	q->arg = arg;
	resolver_schedule(q);
	return q;
}

void
resolver_cancel(struct resolver_query *q)
{
	if (q == NULL)
		return;
	if (q->start_ev != NULL) { /* not yet handed to c-ares */
		event_free(q->start_ev);
		free(q);
		return;
	}
	q->cancelled = 1; /* freed when c-ares completes it */
}
