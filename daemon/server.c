/* SPDX-License-Identifier: MIT */
/*
 * server: Postfix socketmap listeners and connections on libevent. Effectful (E).
 * Owns the evconnlisteners (inet:HOST:PORT, unix:PATH with mode/group; addresses read by
 * cfg_listen_parse(); a socket passed by systemd socket activation serves the listen value
 * with its address), one bufferevent per connection, and per connection a FIFO of requests
 * so that replies leave in request order even when a later request is answered from cache
 * before an earlier one finishes discovery. The replies made while one read's requests are
 * parsed leave together, in one send().
 * Framing errors close the connection; a request that parses but is unusable is answered
 * (PERM for a malformed request, NOTFOUND for keys we never look up) and the connection stays.
 * At EOF from the client (shutdown of its write side) the complete requests it sent are still
 * answered, a trailing fragment is dropped, and the connection closes once all is written.
 * Caps: SOCKETMAP_REQUEST_MAX per request, CONN_PIPELINE_MAX requests queued per connection,
 * CONN_OUTPUT_MAX bytes of unread replies (either cap pauses reading; requests already
 * buffered are parsed, from the loop, as soon as the queue has room), cfg->max_connections
 * connections: at the cap a new client closes the connection idle the longest (no request
 * queued, no reply unwritten; an LRU list) and is refused only when none is idle. Holds the
 * current configuration (server_set_cfg() swaps it at reload); each request keeps the one it
 * was parsed under, with its zone, until it is answered or cancelled.
 */
#include "server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <grp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "lookup.h"
#include "metrics.h"
#include "socketmap.h"
#include "xalloc.h"

#define CONN_PIPELINE_MAX 32                  /* queued requests before we stop reading */
#define CONN_OUTPUT_MAX (256 * 1024)          /* unread reply bytes before we stop reading */
#define CONN_IDLE_TIMEOUT 300                 /* seconds; Postfix itself closes after ~10 s idle */
#define FRAME_MAX (SOCKETMAP_REQUEST_MAX + 8) /* "10000:" + payload + "," */
#define REPLY_FRAME_MAX (SOCKETMAP_REPLY_MAX + 16)
#define BATCH_MAX (16 * 1024) /* replies of one read collected before their one send() */
#define EVICT_QUIET 10        /* seconds without an eviction that end an eviction episode */

struct conn;

struct req {
	TAILQ_ENTRY(req) link;
	struct conn *c;
	struct cfg *cfg; /* a reference: the configuration current when the request was parsed */
	struct lookup_waiter *w;
	struct evbuffer *reply; /* set when answered before the requests ahead of it */
	const char *zone;       /* metrics label: its zone's name (lives in cfg) or "(none)" */
	uint64_t t0;            /* arrival, monotonic microseconds (with metrics only) */
};

struct conn {
	TAILQ_ENTRY(conn) link;
	struct server *srv;
	struct bufferevent *bev;
	struct event *resume; /* parses buffered requests from the loop once there is room */
	TAILQ_HEAD(, req) reqs;
	unsigned nreqs;
	int parsing; /* conn_on_read is running: its own loop goes on after each answer */
	int eof;     /* the client sends no more: answer what it sent, then close */
	int idle;    /* on srv->idle: no request queued, no reply byte unwritten */
	TAILQ_ENTRY(conn) idle_link;
	struct evbuffer_cb_entry *out_cb; /* conn_on_output, on the bufferevent's output */
};

struct server {
	struct event_base *base;
	struct cfg *cfg; /* a reference: the current configuration (server_set_cfg()) */
	struct lookups *ls;
	struct metrics *m; /* counters, or NULL */
	struct evconnlistener *lev[CFG_LISTEN_MAX];
	unsigned n_lev;
	unsigned n_conns;
	time_t last_cap_log;
	TAILQ_HEAD(, conn) conns;
	/* Idle connections, longest idle first: the ones max_connections closes for a new client.
	 * A connection joins the tail when it becomes idle and leaves when a request arrives, so
	 * each step is O(1) and the head is always the one idle the longest. */
	TAILQ_HEAD(, conn) idle;
	struct event *evict_timer; /* ends an eviction episode after EVICT_QUIET s without one */
	uint64_t evicted;          /* in the current episode (0: none running) */
	uint64_t evict_start_us, evict_last_us; /* monotonic: its first and its latest eviction */
	TAILQ_HEAD(, req) spare; /* released requests, reused so steady state allocates nothing */
	/* Replies made while conn_on_read parses one read's requests collect here and leave in
	 * one send() when it ends: a pipelining client costs one write per read, not one per
	 * reply. Only batch_conn's replies (the loop is single-threaded, conn_on_read does not
	 * nest); everything that connection sends meanwhile goes through it, so order holds. */
	struct conn *batch_conn;
	size_t batch_len;
	char batch[BATCH_MAX];
};

static void conn_on_read(struct bufferevent *bev, void *arg);

/* Monotonic microseconds: a request's latency, immune to clock steps. */
static uint64_t
server_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Keep c's place in the idle list true to its state: called wherever a request is queued or
 * released and whenever its output changes. A connection that becomes idle goes to the tail
 * (its last activity is now); one already idle keeps its place. */
static void
conn_idle_update(struct conn *c)
{
	struct server *s = c->srv;
	int idle = c->nreqs == 0 && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
	           (s->batch_conn != c || s->batch_len == 0);

	if (idle == c->idle)
		return;
	if (idle)
		TAILQ_INSERT_TAIL(&s->idle, c, idle_link);
	else
		TAILQ_REMOVE(&s->idle, c, idle_link);
	c->idle = idle;
}

/* The output changed: written to by a reply, or drained to the socket, by whichever path
 * (bufferevent or a direct write): the last unwritten byte leaving makes c idle. */
static void
conn_on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	(void)buf;
	(void)info;
	if (c->nreqs == 0)
		conn_idle_update(c);
}

static struct req *
req_new(struct conn *c)
{
	struct server *s = c->srv;
	struct req *r = TAILQ_FIRST(&s->spare);

	if (r != NULL)
		TAILQ_REMOVE(&s->spare, r, link);
	else
		r = xcalloc(1, sizeof(*r));
	r->c = c;
	r->cfg = NULL;
	r->w = NULL;
	r->reply = NULL;
	r->zone = METRICS_ZONE_NONE;
	r->t0 = s->m != NULL ? server_now_us() : 0;
	TAILQ_INSERT_TAIL(&c->reqs, r, link);
	c->nreqs++;
	if (c->idle) { /* conn_idle_update(), without looking at the output: busy now */
		TAILQ_REMOVE(&s->idle, c, idle_link);
		c->idle = 0;
	}
	return r;
}

static void
req_release(struct req *r)
{
	struct conn *c = r->c;

	TAILQ_REMOVE(&c->reqs, r, link);
	c->nreqs--;
	if (r->w != NULL)
		lookup_waiter_cancel(r->w);
	cfg_unref(r->cfg);
	r->cfg = NULL;
	if (r->reply != NULL)
		evbuffer_free(r->reply);
	TAILQ_INSERT_HEAD(&c->srv->spare, r, link);
	if (c->nreqs == 0)
		conn_idle_update(c);
}

static void
conn_free(struct conn *c)
{
	struct server *s = c->srv;

	while (!TAILQ_EMPTY(&c->reqs))
		req_release(TAILQ_FIRST(&c->reqs));
	if (s->batch_conn == c) { /* its unsent replies go with it */
		s->batch_conn = NULL;
		s->batch_len = 0;
	}
	if (c->idle)
		TAILQ_REMOVE(&s->idle, c, idle_link);
	/* The output buffer may outlive the bufferevent (libevent's own deferred work holds a
	 * reference): it must not call back into c once c is gone. */
	evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	event_free(c->resume); /* also drops a pending activation */
	bufferevent_free(c->bev);
	TAILQ_REMOVE(&s->conns, c, link);
	s->n_conns--;
	METRICS_SET(s->m, connections_open, s->n_conns);
	free(c);
}

/* Re-enable reading once the queue and the output have room again (never after EOF: a read
 * would only report the EOF again). */
static void
conn_update_read(struct conn *c)
{
	size_t out = evbuffer_get_length(bufferevent_get_output(c->bev));

	if (!c->eof && c->nreqs < CONN_PIPELINE_MAX && out < CONN_OUTPUT_MAX)
		bufferevent_enable(c->bev, EV_READ);
	else
		bufferevent_disable(c->bev, EV_READ);
}

/* A half-closed connection ends once every request is answered and every reply written.
 * Only from a loop callback. Returns 1 when c was freed. */
static int
conn_close_if_done(struct conn *c)
{
	if (!c->eof || c->nreqs > 0 || evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return 0;
	log_debug(LOG_CAT_SOCKETMAP, "op=close reason=eof unparsed=%zu",
	          evbuffer_get_length(bufferevent_get_input(c->bev)));
	conn_free(c);
	return 1;
}

/* Bytes for the socket, in order. Hot path: with nothing queued, write at once. Going through
 * the bufferevent would arm and disarm its write event, two epoll_ctl calls per reply; only a
 * short write queues. */
static void
conn_write(struct conn *c, const void *data, size_t len)
{
	size_t sent = 0;

	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		ssize_t n = send(bufferevent_getfd(c->bev), data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			sent = (size_t)n;
	}
	if (sent < len)
		bufferevent_write(c->bev, (const char *)data + sent, len - sent);
}

static void
batch_flush(struct server *s)
{
	if (s->batch_len > 0)
		conn_write(s->batch_conn, s->batch, s->batch_len);
	s->batch_len = 0;
}

static void
conn_out(struct conn *c, const void *data, size_t len)
{
	struct server *s = c->srv;

	if (s->batch_conn != c) {
		conn_write(c, data, len);
		return;
	}
	if (len > sizeof(s->batch) - s->batch_len)
		batch_flush(s);
	if (len > sizeof(s->batch)) { /* a rare long reply, after what is batched */
		conn_write(c, data, len);
		return;
	}
	memcpy(s->batch + s->batch_len, data, len);
	s->batch_len += len;
}

static void
conn_send(struct conn *c, const char *status, const char *text, size_t len, struct evbuffer *dst)
{
	/* Replies are short (a policy line); the rare long one (64 long patterns with the 3.10
	 * attributes) gets a heap frame rather than 100 kB of stack on every call. */
	char small[1024], *frame = small;
	size_t fsz = len < REPLY_FRAME_MAX - 32 ? len + 32 : REPLY_FRAME_MAX, flen;

	if (fsz > sizeof(small))
		frame = xmalloc(fsz);
	if (socketmap_encode(status, text, len, frame, fsz, &flen) != SOCKETMAP_OK) {
		/* Never send an oversized or empty OK: Postfix would defer anyway, say why. */
		INVARIANT(socketmap_encode("TEMP", "reply cannot be encoded", 23, frame, fsz,
		                           &flen) == SOCKETMAP_OK);
	}
	log_debug(LOG_CAT_SOCKETMAP, "op=reply status=%s len=%zu", status, len);
	if (dst != NULL)
		evbuffer_add(dst, frame, flen);
	else
		conn_out(c, frame, flen);
	if (frame != small)
		free(frame);
}

/* Send replies that are ready at the head of the queue, in order. */
static void
conn_flush(struct conn *c)
{
	struct req *r;

	while ((r = TAILQ_FIRST(&c->reqs)) != NULL && r->reply != NULL && r->w == NULL) {
		size_t n = evbuffer_get_length(r->reply);

		conn_out(c, evbuffer_pullup(r->reply, -1), n);
		req_release(r);
	}
}

/* source: where the answer came from (lookup_result source; "local" for the server's own). */
static void
req_answer(struct req *r, const char *status, const char *text, size_t len, const char *source)
{
	struct conn *c = r->c;

	if (c->srv->m != NULL) /* before the cfg goes: r->zone lives in it */
		metrics_answer(c->srv->m, r->zone, status, source, server_now_us() - r->t0);
	r->w = NULL;
	/* Answered: its configuration is no longer needed, even if the reply waits its turn. */
	cfg_unref(r->cfg);
	r->cfg = NULL;
	if (r == TAILQ_FIRST(&c->reqs)) {
		conn_send(c, status, text, len, NULL);
		req_release(r);
		conn_flush(c);
	} else {
		r->reply = evbuffer_new();
		INVARIANT(r->reply != NULL);
		conn_send(c, status, text, len, r->reply);
	}
}

/* After an answer: requests already in the input buffer are parsed once the queue has room,
 * and a half-closed connection with nothing left to answer is closed. Bytes that arrived while
 * we were at CONN_PIPELINE_MAX wake no read callback again, so both happen in c->resume, from
 * the loop: here we may be inside lookup.c's walk over its waiters (req_on_result), where
 * starting lookups or freeing the connection is unsafe. */
static void
conn_resume(struct conn *c)
{
	if (c->parsing)
		return; /* answered inside conn_on_read, whose loop goes on */
	if (c->nreqs < CONN_PIPELINE_MAX &&
	    (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 || (c->eof && c->nreqs == 0)))
		event_active(c->resume, EV_TIMEOUT, 0);
	else
		conn_update_read(c);
}

static void
req_on_result(void *arg, const struct lookup_result *res)
{
	struct req *r = arg;

	req_answer(r, res->status, res->text, res->len, res->source);
	conn_resume(r->c);
}

static void
conn_request(struct conn *c, const char *p, size_t len)
{
	struct server *s = c->srv;
	const char *name, *key;
	size_t name_len, key_len;
	char esc[128];
	struct socketmap_dest dest;
	struct req *r = req_new(c);
	struct lookup_waiter *w;
	const struct cfg_zone *zone;
	struct cfg *cfg;

	/* The request keeps the configuration it arrived under until it is answered or cancelled:
	 * a reload meanwhile changes nothing for it. */
	r->cfg = cfg = cfg_ref(s->cfg);
	if (socketmap_split(p, len, &name, &name_len, &key, &key_len) != SOCKETMAP_OK) {
		log_warn_rl("stage", "socketmap", "malformed-request", "request=\"%s\"",
		            log_escape(p, len, esc, sizeof(esc)));
		req_answer(r, "PERM", "malformed request: expected \"name key\"", 38, "local");
		return;
	}
	zone = cfg_zone_find(cfg, name, name_len);
	r->zone = zone->name;
	switch (socketmap_classify(key, key_len, &dest)) {
	case SOCKETMAP_KEY_DOMAIN:
		break;
	case SOCKETMAP_KEY_PARENT:
	case SOCKETMAP_KEY_IP:
		req_answer(r, "NOTFOUND", "", 0, "local");
		return;
	case SOCKETMAP_KEY_INVALID:
	default:
		log_debug(LOG_CAT_SOCKETMAP, "op=request key=\"%s\" result=invalid-key",
		          log_escape(key, key_len, esc, sizeof(esc)));
		req_answer(r, "NOTFOUND", "", 0, "local");
		return;
	}
	log_debug(LOG_CAT_SOCKETMAP, "op=request name=%.*s domain=%s", (int)name_len, name,
	          dest.domain);
	/* A cached answer is delivered inside lookup_request() and r is released then, with its
	 * reference; s->cfg still holds cfg for the rest of the call (no reload runs in it). */
	w = lookup_request(s->ls, cfg, zone, &dest, req_on_result, r);
	if (w != NULL)
		r->w = w;
}

static void
conn_batch_end(struct conn *c)
{
	batch_flush(c->srv);
	c->srv->batch_conn = NULL;
	conn_idle_update(c); /* its batched replies are written, or queued in its output */
}

static void
conn_on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	/* All the read's bytes at once (the read watermark caps them at 4 frames), parsed in
	 * place and drained once at the end: each drain runs the bufferevent's watermark
	 * callback, which re-adds the read event, so a drain per request cost a timer update per
	 * request. Nothing below touches the input buffer meanwhile. */
	size_t avail = evbuffer_get_length(in), off = 0;
	const char *p = avail > 0 ? (const char *)evbuffer_pullup(in, (ev_ssize_t)avail) : NULL;

	c->parsing = 1;
	c->srv->batch_conn = c;
	while (c->nreqs < CONN_PIPELINE_MAX && off < avail) {
		size_t n = avail - off < FRAME_MAX ? avail - off : FRAME_MAX, plen, used;
		const char *payload;
		enum socketmap_err e;

		e = socketmap_decode(p + off, n, SOCKETMAP_REQUEST_MAX, &payload, &plen, &used);
		if (e == SOCKETMAP_INCOMPLETE)
			break;
		if (e != SOCKETMAP_OK) {
			char esc[64];
			log_warn_rl("stage", "socketmap", "bad-netstring",
			            "err=\"%s\" action=close data=\"%s\"", socketmap_strerror(e),
			            log_escape(p + off, n < 32 ? n : 32, esc, sizeof(esc)));
			conn_batch_end(c);
			conn_free(c);
			return;
		}
		conn_request(c, payload, plen);
		off += used;
	}
	evbuffer_drain(in, off);
	conn_batch_end(c);
	c->parsing = 0;
	if (conn_close_if_done(c))
		return;
	conn_update_read(c);
}

static void
conn_on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	conn_on_read(c->bev, c); /* c may be freed */
}

/* The output has drained. */
static void
conn_on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (conn_close_if_done(c))
		return;
	conn_update_read(c);
}

static void
conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if ((what & BEV_EVENT_READING) && (what & BEV_EVENT_EOF) &&
	    !(what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))) {
		/* The client sends no more: shutdown(SHUT_WR), or a full close that TCP cannot tell
		 * apart until we write. What it sent is still owed its replies. libevent has
		 * stopped reading; parse what is buffered, close when all is answered and written.
		 * After a full close our first write draws a reset: the connection is then either
		 * done, or the next write fails and the error below frees it. */
		c->eof = 1;
		log_debug(LOG_CAT_SOCKETMAP, "op=eof pending=%u", c->nreqs);
		conn_on_read(bev, c); /* c may be freed */
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if (what & BEV_EVENT_TIMEOUT)
			log_debug(LOG_CAT_SOCKETMAP, "op=close reason=%s",
			          what & BEV_EVENT_WRITING ? "write-timeout" : "idle");
		conn_free(c);
	}
}

/* An eviction episode ends after EVICT_QUIET seconds without one: its one closing line says
 * how many connections it closed, so a flood costs two log lines, not one per connection. */
static void
server_on_evict_timer(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	uint64_t now = server_now_us(), quiet = (uint64_t)EVICT_QUIET * 1000000u;

	(void)fd;
	(void)what;
	if (now - s->evict_last_us < quiet) {
		struct timeval tv = {0, 0};
		uint64_t left = quiet - (now - s->evict_last_us);

		tv.tv_sec = (time_t)(left / 1000000u);
		tv.tv_usec = (suseconds_t)(left % 1000000u);
		evtimer_add(s->evict_timer, &tv);
		return;
	}
	log_warn("stage=socketmap event=evict-idle-end evicted=%llu seconds=%llu",
	         (unsigned long long)s->evicted,
	         (unsigned long long)((s->evict_last_us - s->evict_start_us + 500000u) / 1000000u));
	s->evicted = 0;
}

/* Close c, an idle connection, to make room for a new client. */
static void
server_evict(struct server *s, struct conn *c)
{
	uint64_t now = server_now_us();

	log_debug(LOG_CAT_SOCKETMAP, "op=close reason=evicted open=%u", s->n_conns);
	conn_free(c);
	METRICS_INC(s->m, connections_evicted);
	if (s->evicted++ == 0) {
		struct timeval tv = {EVICT_QUIET, 0};

		s->evict_start_us = now;
		log_warn("stage=socketmap event=evict-idle max_connections=%u "
		         "action=close-oldest-idle note=\"one line when it ends\"",
		         s->cfg->max_connections);
		evtimer_add(s->evict_timer, &tv);
	}
	s->evict_last_us = now;
}

/* The connection idle the longest, skipping one whose buffered requests wait for c->resume to
 * parse them (more than CONN_PIPELINE_MAX were pipelined): it is not idle, only between two
 * batches. NULL if none. */
static struct conn *
server_oldest_idle(struct server *s)
{
	struct conn *c;

	TAILQ_FOREACH(c, &s->idle, idle_link)
	if (!event_pending(c->resume, EV_TIMEOUT, NULL))
		return c;
	return NULL;
}

static void
server_on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
                 void *arg)
{
	struct server *s = arg;
	struct conn *c, *old;
	struct timeval rtv = {CONN_IDLE_TIMEOUT, 0}, wtv = {60, 0};
	int one = 1;

	(void)lev;
	(void)salen;
	/* At the cap the connection idle the longest makes room: a client that holds connections
	 * it does not use cannot lock Postfix out. A loop: after a reload lowered the cap, the
	 * next client brings the count under it (as far as idle ones allow). Refused only when
	 * every connection is busy. */
	while (s->n_conns >= s->cfg->max_connections && s->ls != NULL &&
	       (old = server_oldest_idle(s)) != NULL)
		server_evict(s, old);
	if (s->n_conns >= s->cfg->max_connections || s->ls == NULL) {
		time_t now = time(NULL);
		if (now != s->last_cap_log) {
			s->last_cap_log = now;
			log_warn("stage=socketmap err=\"connection limit %u reached\" action=close",
			         s->cfg->max_connections);
		}
		METRICS_INC(s->m, connections_rejected);
		evutil_closesocket(fd);
		return;
	}
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = xcalloc(1, sizeof(*c));
	c->srv = s;
	TAILQ_INIT(&c->reqs);
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	INVARIANT(c->bev != NULL);
	c->resume = evtimer_new(s->base, conn_on_resume, c);
	INVARIANT(c->resume != NULL);
	bufferevent_setcb(c->bev, conn_on_read, conn_on_write, conn_on_event, c);
	bufferevent_set_timeouts(c->bev, &rtv, &wtv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, FRAME_MAX * 4);
	bufferevent_enable(c->bev, EV_READ);
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev), conn_on_output, c);
	INVARIANT(c->out_cb != NULL);
	TAILQ_INSERT_TAIL(&s->conns, c, link);
	s->n_conns++;
	conn_idle_update(c); /* idle from the start: nothing asked yet */
	METRICS_INC(s->m, connections_accepted);
	METRICS_SET(s->m, connections_open, s->n_conns);
}

static void
server_on_listen_error(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();

	(void)lev;
	(void)arg;
	/* EMFILE and friends: keep running, the listener retries on the next readiness. */
	log_err("stage=socketmap op=accept err=\"%s\"", evutil_socket_error_to_string(err));
}

static struct evconnlistener *
server_bind_unix(struct server *s, const struct cfg_listen *l, const char *value, char *err,
                 size_t errsz)
{
	const struct cfg *cfg = s->cfg;
	struct stat st;
	struct evconnlistener *lev;

	/* Remove a stale socket from an earlier run, but never a file of another kind. */
	if (lstat(l->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errsz, "listen %s: exists and is not a socket", value);
			return NULL;
		}
		unlink(l->path);
	}
	lev = evconnlistener_new_bind(s->base, server_on_accept, s,
	                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128,
	                              (const struct sockaddr *)&l->addr, (int)l->addrlen);
	if (lev == NULL) {
		snprintf(err, errsz, "listen %s: %s", value, strerror(errno));
		return NULL;
	}
	if (chmod(l->path, cfg->socket_mode) != 0) {
		snprintf(err, errsz, "listen %s: chmod: %s", value, strerror(errno));
		evconnlistener_free(lev);
		return NULL;
	}
	if (cfg->socket_group != NULL) {
		struct group *g = getgrnam(cfg->socket_group);
		if (g == NULL || chown(l->path, (uid_t)-1, g->gr_gid) != 0) {
			snprintf(err, errsz, "listen %s: group %s: %s", value, cfg->socket_group,
			         g == NULL ? "no such group" : strerror(errno));
			evconnlistener_free(lev);
			return NULL;
		}
	}
	return lev;
}

static struct evconnlistener *
server_bind_inet(struct server *s, const struct cfg_listen *l, const char *value, char *err,
                 size_t errsz)
{
	struct evconnlistener *lev;

	lev = evconnlistener_new_bind(s->base, server_on_accept, s,
	                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
	                                  LEV_OPT_REUSEABLE,
	                              128, (const struct sockaddr *)&l->addr, (int)l->addrlen);
	if (lev == NULL)
		snprintf(err, errsz, "listen %s: %s", value, strerror(errno));
	return lev;
}

/* A passed socket's own address as a listen value would spell it ("inet:127.0.0.1:8461",
 * "inet:[::1]:8461", "unix:/path"), for messages. */
static void
server_sockname(int fd, struct sockaddr_storage *ss, socklen_t *len, char *buf, size_t bufsz)
{
	char host[INET6_ADDRSTRLEN];

	*len = sizeof(*ss);
	memset(ss, 0, sizeof(*ss));
	if (getsockname(fd, (struct sockaddr *)ss, len) != 0) {
		snprintf(buf, bufsz, "descriptor %d: %s", fd, strerror(errno));
		ss->ss_family = AF_UNSPEC;
		return;
	}
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		evutil_inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(buf, bufsz, "inet:%s:%u", host, (unsigned)ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		evutil_inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(buf, bufsz, "inet:[%s]:%u", host, (unsigned)ntohs(a->sin6_port));
	} else if (ss->ss_family == AF_UNIX) {
		const struct sockaddr_un *a = (const struct sockaddr_un *)ss;
		size_t n = *len > offsetof(struct sockaddr_un, sun_path)
		               ? *len - offsetof(struct sockaddr_un, sun_path)
		               : 0;

		/* An abstract or unnamed socket (no path) matches no unix: value. */
		snprintf(buf, bufsz, "unix:%.*s", (int)strnlen(a->sun_path, n), a->sun_path);
	} else {
		snprintf(buf, bufsz, "descriptor %d: address family %d", fd, (int)ss->ss_family);
	}
}

/* Does the passed socket with address ss listen where l says? */
static int
server_same_addr(const struct sockaddr_storage *ss, socklen_t len, const struct cfg_listen *l)
{
	if (ss->ss_family != l->addr.ss_family)
		return 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		const struct sockaddr_in *b = (const struct sockaddr_in *)&l->addr;

		return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&l->addr;

		return a->sin6_port == b->sin6_port &&
		       memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
	}
	if (ss->ss_family == AF_UNIX) {
		const struct sockaddr_un *a = (const struct sockaddr_un *)ss;
		size_t n = len > offsetof(struct sockaddr_un, sun_path)
		               ? len - offsetof(struct sockaddr_un, sun_path)
		               : 0;

		n = strnlen(a->sun_path, n);
		return n > 0 && n == strlen(l->path) && memcmp(a->sun_path, l->path, n) == 0;
	}
	return 0;
}

/* Serve on a socket the service manager bound and passed (it already listens). */
static struct evconnlistener *
server_adopt(struct server *s, int fd, const char *value, char *err, size_t errsz)
{
	struct evconnlistener *lev;

	/* systemd passes blocking sockets unless told otherwise; libevent accepts in a loop
	 * until EAGAIN, so a blocking listener would stall the whole loop. */
	if (evutil_make_socket_nonblocking(fd) != 0 || evutil_make_socket_closeonexec(fd) != 0) {
		snprintf(err, errsz, "listen %s: passed socket: %s", value, strerror(errno));
		return NULL;
	}
	lev = evconnlistener_new(s->base, server_on_accept, s,
	                         LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (lev == NULL)
		snprintf(err, errsz, "listen %s: passed socket: %s", value, strerror(errno));
	else
		log_info("event=listen listen=%s source=socket-activation fd=%d", value, fd);
	return lev;
}

struct server *
server_new(struct event_base *base, struct cfg *cfg, const int *passed, unsigned n_passed,
           char *err, size_t errsz)
{
	struct server *s = xcalloc(1, sizeof(*s));
	int own[CFG_LISTEN_MAX];
	unsigned n_own = 0;

	s->base = base;
	s->cfg = cfg_ref(cfg);
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->idle);
	TAILQ_INIT(&s->spare);
	s->evict_timer = evtimer_new(base, server_on_evict_timer, s);
	INVARIANT(s->evict_timer != NULL);
	/* Every passed socket is ours from here; a slot set to -1 went to a listener. */
	for (unsigned i = 0; i < n_passed && n_own < CFG_LISTEN_MAX; i++)
		own[n_own++] = passed[i];
	for (unsigned i = 0; i < cfg->n_listen; i++) {
		struct cfg_listen l;
		enum cfg_listen_err e = cfg_listen_parse(cfg->listen[i], &l);
		struct evconnlistener *lev = NULL;
		unsigned k = n_own;

		if (e == CFG_LISTEN_OK) {
			for (k = 0; k < n_own; k++) {
				struct sockaddr_storage ss;
				socklen_t len;
				char name[160];

				if (own[k] < 0)
					continue;
				server_sockname(own[k], &ss, &len, name, sizeof(name));
				if (server_same_addr(&ss, len, &l))
					break;
			}
		}
		if (e != CFG_LISTEN_OK)
			snprintf(err, errsz, "listen %s: %s", cfg->listen[i],
			         cfg_listen_strerror(e));
		else if (k < n_own) {
			lev = server_adopt(s, own[k], cfg->listen[i], err, errsz);
			if (lev != NULL)
				own[k] = -1; /* the listener closes it */
		} else if (l.kind == CFG_LISTEN_UNIX)
			lev = server_bind_unix(s, &l, cfg->listen[i], err, errsz);
		else
			lev = server_bind_inet(s, &l, cfg->listen[i], err, errsz);
		if (lev == NULL)
			goto fail;
		evconnlistener_set_error_cb(lev, server_on_listen_error);
		s->lev[s->n_lev++] = lev;
	}
	/* A socket systemd holds for us that no listen value names: the .socket unit and the
	 * configuration disagree. Say so rather than leave Postfix talking to a dead socket. */
	for (unsigned k = 0; k < n_own; k++) {
		struct sockaddr_storage ss;
		socklen_t len;
		char name[160];

		if (own[k] < 0)
			continue;
		server_sockname(own[k], &ss, &len, name, sizeof(name));
		snprintf(err, errsz,
		         "socket activation: passed socket %s (descriptor %d) matches no listen "
		         "value",
		         name, own[k]);
		goto fail;
	}
	return s;
fail:
	for (unsigned k = 0; k < n_own; k++)
		if (own[k] >= 0)
			close(own[k]);
	server_free(s);
	return NULL;
}

void
server_start(struct server *s, struct lookups *ls, struct metrics *m)
{
	s->ls = ls;
	s->m = m;
}

void
server_set_cfg(struct server *s, struct cfg *cfg)
{
	struct cfg *old = s->cfg;

	s->cfg = cfg_ref(cfg);
	cfg_unref(old);
}

void
server_free(struct server *s)
{
	struct req *r;

	if (s == NULL)
		return;
	for (unsigned i = 0; i < s->n_lev; i++)
		evconnlistener_free(s->lev[i]);
	while (!TAILQ_EMPTY(&s->conns))
		conn_free(TAILQ_FIRST(&s->conns));
	if (s->evicted > 0) /* an episode still running: its count is not lost at exit */
		log_warn("stage=socketmap event=evict-idle-end evicted=%llu note=exiting",
		         (unsigned long long)s->evicted);
	if (s->evict_timer != NULL)
		event_free(s->evict_timer);
	while ((r = TAILQ_FIRST(&s->spare)) != NULL) {
		TAILQ_REMOVE(&s->spare, r, link);
		free(r);
	}
	cfg_unref(s->cfg);
	free(s);
}
