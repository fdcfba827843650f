/* SPDX-License-Identifier: MIT */
/*
 * ceiling: a fixed-reply socketmap server, the machine's ceiling for the benchmark (not a test).
 *
 *   ceiling -a 127.x.y.z:PORT [-r REPLY]
 *
 * What any socketmap server on libevent must do at least, and nothing more: one bufferevent
 * per connection, netstring requests read and framed minimally (a length prefix, a colon, the
 * bytes, a comma; at most 10000 bytes, as Postfix sends), and for each one the same reply
 * netstring (default "OK secure match=mail.bench.test servername=hostname"). The replies to
 * the requests of one read leave in one write: sent at once when nothing is queued, else
 * appended to the bufferevent's output. A malformed request closes its connection. Runs until
 * SIGTERM or SIGINT (exit 0); 2 on usage or setup errors. Loopback addresses only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "loopback.h"

#define REQ_MAX 10000   /* Postfix's request cap */
#define BATCH_MAX 65536 /* replies gathered per read before a write */

static char reply[512];
static size_t reply_len;

static void
usage(void)
{
	fprintf(stderr, "usage: ceiling -a 127.x.y.z:PORT [-r REPLY]\n");
	exit(2);
}

/* Parse one request at p: bytes used (> 0), 0 need more, -1 malformed. */
static long
req_parse(const unsigned char *p, size_t have)
{
	size_t i, len = 0;

	for (i = 0; i < have && p[i] != ':'; i++) {
		if (p[i] < '0' || p[i] > '9' || i >= 5)
			return -1;
		len = len * 10 + (size_t)(p[i] - '0');
	}
	if (i == have)
		return 0;
	if (i == 0 || len > REQ_MAX)
		return -1;
	if (have < i + 1 + len + 1)
		return 0;
	if (p[i + 1 + len] != ',')
		return -1;
	return (long)(i + 1 + len + 1);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	static char batch[BATCH_MAX];
	size_t nb = 0;

	(void)arg;
	for (;;) {
		size_t avail = evbuffer_get_length(in);
		size_t look = avail < REQ_MAX + 8 ? avail : REQ_MAX + 8;
		unsigned char *p;
		long used;

		if (avail == 0)
			break;
		p = evbuffer_pullup(in, (ev_ssize_t)look);
		used = req_parse(p, look);
		if (used < 0) {
			bufferevent_free(bev);
			return;
		}
		if (used == 0)
			break;
		evbuffer_drain(in, (size_t)used);
		if (BATCH_MAX - nb < reply_len) {
			bufferevent_write(bev, batch, nb);
			nb = 0;
		}
		memcpy(batch + nb, reply, reply_len);
		nb += reply_len;
	}
	if (nb == 0)
		return;
	if (evbuffer_get_length(out) == 0) {
		ssize_t w = send(bufferevent_getfd(bev), batch, nb, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			bufferevent_free(bev);
			return;
		}
		if (w > 0) {
			memmove(batch, batch + w, nb - (size_t)w);
			nb -= (size_t)w;
		}
	}
	if (nb > 0)
		bufferevent_write(bev, batch, nb);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct event_base *base = arg;
	struct bufferevent *bev;
	int one = 1;

	(void)lev;
	(void)sa;
	(void)salen;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(bev, on_read, NULL, on_event, NULL);
	bufferevent_setwatermark(bev, EV_READ, 0, (REQ_MAX + 8) * 4);
	bufferevent_enable(bev, EV_READ);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
	const char *addr = NULL, *text = "OK secure match=mail.bench.test servername=hostname";
	struct sockaddr_in sin;
	struct event_base *base;
	struct evconnlistener *lev;
	struct event *sterm, *sint;
	int opt, n;

	while ((opt = getopt(argc, argv, "a:r:")) != -1) {
		switch (opt) {
		case 'a':
			addr = optarg;
			break;
		case 'r':
			text = optarg;
			break;
		default:
			usage();
		}
	}
	if (addr == NULL || optind != argc)
		usage();
	if (loopback_addr("ceiling", addr, &sin) != 0)
		return 2;
	n = snprintf(reply, sizeof(reply), "%zu:%s,", strlen(text), text);
	if (n < 0 || (size_t)n >= sizeof(reply)) {
		fprintf(stderr, "ceiling: reply too long\n");
		return 2;
	}
	reply_len = (size_t)n;

	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "ceiling: event_base_new failed\n");
		return 2;
	}
	lev = evconnlistener_new_bind(base, on_accept, base,
	                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	                                  LEV_OPT_CLOSE_ON_EXEC,
	                              -1, (struct sockaddr *)&sin, sizeof(sin));
	if (lev == NULL) {
		fprintf(stderr, "ceiling: cannot listen on %s: %s\n", addr, strerror(errno));
		return 2;
	}
	sterm = evsignal_new(base, SIGTERM, on_signal, base);
	sint = evsignal_new(base, SIGINT, on_signal, base);
	if (sterm == NULL || sint == NULL || evsignal_add(sterm, NULL) != 0 ||
	    evsignal_add(sint, NULL) != 0) {
		fprintf(stderr, "ceiling: cannot handle signals\n");
		return 2;
	}
	event_base_dispatch(base);
	event_free(sterm);
	event_free(sint);
	evconnlistener_free(lev);
	event_base_free(base);
	return 0;
}
