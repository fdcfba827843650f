/* SPDX-License-Identifier: MIT */
/*
 * resolver: c-ares channel driven by the libevent loop. Effectful (E).
 * Owns two channels, one persistent event per c-ares socket (ARES_OPT_SOCK_STATE_CB) and one
 * timer re-armed from ares_timeout() after every c-ares call. A query goes over UDP (two
 * tries); a truncated answer is asked again on the TCP channel, whose one try has the whole
 * timeout (c-ares never retries a query on the TCP connection it already used, so on the UDP
 * channel a TCP answer would get only the first try's third). Queries start from a zero timer,
 * so no callback ever runs inside resolver_*_start(); a cancelled query is only flagged and
 * freed when c-ares completes it (c-ares 1.18 cannot cancel one query).
 * Bytes in, bytes out: every query (TXT, A, AAAA, MX, TLSA) is built by dnsmsg.c with the AD
 * bit asked and a random id, sent with ares_send(), and its answer (NOERROR or NXDOMAIN)
 * handed back unparsed, so TTLs, AD and rcodes are read the same way for all of them by
 * dnsmsg.c; a failure (timeout, SERVFAIL or REFUSED from every server) comes back as text.
 * What the answers mean is sts.c's and dane.c's job.
 * At most RESOLVER_SENT_MAX queries are with c-ares at once; more wait in order: a burst of
 * first contacts must not overrun the resolver (unbound drops what is past its
 * num-queries-per-thread, 1024 by default), which would turn into timeouts.
 */
#include "resolver.h"

#include <ares.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "dname.h"
#include "dnsmsg.h"
#include "xalloc.h"

#define RESOLVER_SENT_MAX 256

struct chan {
	struct resolver *r;
	ares_channel ch;
};

struct sockev {
	ares_socket_t fd;
	struct event *ev;
	struct chan *c; /* the channel that owns fd */
	struct sockev *next;
};

struct resolver_query;

struct resolver {
	struct event_base *base;
	struct chan udp, tcp; /* tcp: truncated answers asked again (ARES_FLAG_USEVC) */
	struct event *timer;
	struct sockev *socks;
	unsigned sent;                        /* queries handed to c-ares, not yet answered */
	TAILQ_HEAD(, resolver_query) waiting; /* beyond RESOLVER_SENT_MAX, in order */
	int closing;                          /* resolver_free() runs: start nothing */
};

struct resolver_query {
	struct resolver *r;
	char name[DNAME_MAX + 16];
	uint16_t type;
	resolver_raw_cb *cb;
	void *arg;
	struct event *start_ev; /* pending start; NULL once handed to c-ares */
	TAILQ_ENTRY(resolver_query) wlink;
	int waiting; /* in r->waiting, no start_ev yet */
	int sent;    /* counted in r->sent */
	int cancelled;
	int tcp; /* asked (or to be asked) on the TCP channel */
};

static void resolver_schedule(struct resolver_query *q);

/* q is finished (answered, or cancelled before c-ares had it): free it, and give its place
 * to the first waiting query. */
static void
resolver_done(struct resolver_query *q)
{
	struct resolver *r = q->r;
	struct resolver_query *next;

	if (q->sent)
		r->sent--;
	free(q);
	if (!r->closing && r->sent < RESOLVER_SENT_MAX &&
	    (next = TAILQ_FIRST(&r->waiting)) != NULL) {
		TAILQ_REMOVE(&r->waiting, next, wlink);
		next->waiting = 0;
		resolver_schedule(next);
	}
}

static void
resolver_rearm(struct resolver *r)
{
	struct timeval tv, *tvp;

	tvp = ares_timeout(r->udp.ch, NULL, &tv);
	tvp = ares_timeout(r->tcp.ch, tvp, &tv); /* the sooner of the two */
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
	ares_process_fd(r->udp.ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	ares_process_fd(r->tcp.ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_rearm(r);
}

static void
resolver_on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct chan *c = ((struct sockev *)arg)->c;
	struct resolver *r = c->r;

	/* The sockev may be freed inside ares_process_fd (socket closed): do not touch it after. */
	ares_process_fd(c->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	                (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	resolver_rearm(r);
}

static void
resolver_on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct chan *c = data;
	struct resolver *r = c->r;
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
		s->c = c;
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

/* One channel of the resolver: UDP with two tries (a truncated answer handed back), or TCP
 * with one try of the whole timeout. 0 and err set on failure. */
static int
resolver_chan_init(struct resolver *r, struct chan *c, int tcp, const char *servers,
                   unsigned timeout_s, char *err, size_t errsz)
{
	struct ares_options opts;
	int rc, mask;

	memset(&opts, 0, sizeof(opts));
	if (tcp) {
		opts.timeout = (int)(timeout_s * 1000);
		opts.tries = 1;
	} else {
		/* Two tries; c-ares doubles the per-try timeout, so t/3 + 2t/3 keeps the total
		 * at timeout_s. */
		opts.timeout = (int)(timeout_s * 1000 / 3);
		if (opts.timeout < 100)
			opts.timeout = 100;
		opts.tries = 2;
	}
	opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS |
	             (tcp ? ARES_FLAG_USEVC : ARES_FLAG_IGNTC);
	opts.ednspsz = 1232;
	opts.sock_state_cb = resolver_on_sock_state;
	opts.sock_state_cb_data = c;
	mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ |
	       ARES_OPT_SOCK_STATE_CB;
	c->r = r;
	rc = ares_init_options(&c->ch, &opts, mask);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errsz, "c-ares channel: %s", ares_strerror(rc));
		return 0;
	}
	if (servers != NULL && (rc = ares_set_servers_ports_csv(c->ch, servers)) != ARES_SUCCESS) {
		snprintf(err, errsz, "dns_servers \"%s\": %s", servers, ares_strerror(rc));
		ares_destroy(c->ch);
		return 0;
	}
	return 1;
}

struct resolver *
resolver_new(struct event_base *base, const char *servers, unsigned timeout_s, char *err,
             size_t errsz)
{
	struct resolver *r;
	int rc;

	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errsz, "c-ares init: %s", ares_strerror(rc));
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->base = base;
	if (!resolver_chan_init(r, &r->udp, 0, servers, timeout_s, err, errsz)) {
		free(r);
		return NULL;
	}
	if (!resolver_chan_init(r, &r->tcp, 1, servers, timeout_s, err, errsz)) {
		ares_destroy(r->udp.ch);
		free(r);
		return NULL;
	}
	r->timer = evtimer_new(base, resolver_on_timer, r);
	INVARIANT(r->timer != NULL);
	TAILQ_INIT(&r->waiting);
	return r;
}

void
resolver_free(struct resolver *r)
{
	if (r == NULL)
		return;
	/* Completes pending queries with ARES_EDESTRUCTION; none moves to TCP any more, and no
	 * waiting one starts. Owners have cancelled theirs; free what is left. */
	r->closing = 1;
	ares_destroy(r->udp.ch);
	ares_destroy(r->tcp.ch);
	while (!TAILQ_EMPTY(&r->waiting)) {
		struct resolver_query *q = TAILQ_FIRST(&r->waiting);

		TAILQ_REMOVE(&r->waiting, q, wlink);
		free(q);
	}
	while (r->socks != NULL) {
		struct sockev *s = r->socks;
		r->socks = s->next;
		event_free(s->ev);
		free(s);
	}
	event_free(r->timer);
	free(r);
}

/* c-ares reports SERVFAIL/REFUSED from every server as "could not contact": say so. */
static const char *
resolver_why(int status)
{
	return status == ARES_ECONNREFUSED ? "no usable answer (SERVFAIL, REFUSED or unreachable)"
	                                   : ares_strerror(status);
}

int
resolver_why_timeout(const char *why)
{
	return why != NULL && strcmp(why, ares_strerror(ARES_ETIMEOUT)) == 0;
}

static void
resolver_on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct resolver_query *q = arg;

	(void)timeouts;
	/* A truncated UDP answer (ARES_FLAG_IGNTC hands it over): ask again on the TCP channel,
	 * from a zero timer like any start. Not during teardown: that channel is going too. */
	if (!q->cancelled && !q->tcp && status == ARES_SUCCESS && abuf != NULL && alen >= 12 &&
	    (abuf[2] & 0x02) != 0) {
		q->tcp = 1;
		resolver_schedule(q);
		return;
	}
	if (!q->cancelled) {
		/* ares_send: any answer c-ares accepted (NOERROR, NXDOMAIN...) comes as SUCCESS. */
		if (status == ARES_SUCCESS && abuf != NULL && alen > 0)
			q->cb(q->arg, abuf, (size_t)alen, NULL);
		else
			q->cb(q->arg, NULL, 0, resolver_why(status));
	}
	resolver_done(q); /* the handle is dead once the callback has returned */
}

static void
resolver_on_start(evutil_socket_t fd, short what, void *arg)
{
	struct resolver_query *q = arg;
	struct resolver *r = q->r;
	uint8_t buf[DNAME_MAX + 64];
	size_t len = 0;
	/* Unpredictable, like c-ares's own ids: a spoofed answer must guess it. */
	uint16_t id = (uint16_t)arc4random();

	(void)fd;
	(void)what;
	event_free(q->start_ev);
	q->start_ev = NULL;
	/* c-ares may complete (and free q) inside ares_send: q is not touched after. */
	if (dnsmsg_query(q->name, q->type, id, 1232, buf, sizeof(buf), &len) != DNSMSG_OK)
		resolver_on_answer(q, ARES_EBADNAME, 0, NULL, 0);
	else
		ares_send(q->tcp ? r->tcp.ch : r->udp.ch, buf, (int)len, resolver_on_answer, q);
	resolver_rearm(r);
}

/* Send q to c-ares from a zero timer: no callback runs inside the caller's call. A new query
 * past RESOLVER_SENT_MAX waits its turn (resolver_done() starts it). */
static void
resolver_schedule(struct resolver_query *q)
{
	static const struct timeval zero = {0, 0};
	struct resolver *r = q->r;

	if (!q->sent) {
		if (r->sent >= RESOLVER_SENT_MAX || r->closing) {
			q->waiting = 1;
			TAILQ_INSERT_TAIL(&r->waiting, q, wlink);
			return;
		}
		q->sent = 1;
		r->sent++;
	}
	q->start_ev = evtimer_new(r->base, resolver_on_start, q);
	INVARIANT(q->start_ev != NULL);
	evtimer_add(q->start_ev, &zero);
}

struct resolver_query *
resolver_raw_start(struct resolver *r, const char *name, uint16_t type, resolver_raw_cb *cb,
                   void *arg)
{
	struct resolver_query *q = xcalloc(1, sizeof(*q));
	size_t len = strlen(name);

	INVARIANT(len < sizeof(q->name));
	memcpy(q->name, name, len + 1);
	q->r = r;
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	resolver_schedule(q);
	return q;
}

void
resolver_cancel(struct resolver_query *q)
{
	if (q == NULL)
		return;
	if (q->waiting) {
		TAILQ_REMOVE(&q->r->waiting, q, wlink);
		free(q);
		return;
	}
	if (q->start_ev != NULL) { /* not yet handed to c-ares */
		event_free(q->start_ev);
		resolver_done(q);
		return;
	}
	q->cancelled = 1; /* freed when c-ares completes it */
}
