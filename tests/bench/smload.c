/* SPDX-License-Identifier: MIT */
/*
 * smload: socketmap load generator for benchmarks (not a test).
 *
 *   smload -a HOST:PORT -c CONNS -n TOTAL -t MAX_SECONDS [-e PREFIX] [-m MAP] [-p USEC]
 *          [-o FILE] DOMAIN...
 *
 * Opens CONNS non-blocking TCP connections to HOST:PORT (a 127.0.0.0/8 address: loopback only
 * by intent) and, like Postfix, keeps one netstring request "MAP DOMAIN" in flight per
 * connection: the next request goes out only after the whole reply netstring arrived. Domains
 * are taken in turn from the list. Stops after TOTAL replies or MAX_SECONDS, whichever comes
 * first (requests still in flight at the deadline are not counted). With -p each connection
 * pauses USEC microseconds after a reply before its next request (a paced client, as Postfix
 * is under ordinary load, rather than one that saturates the server). A reply that does not
 * start with PREFIX (-e, e.g. "OK secure"; default: any reply) is an error, as is a malformed
 * reply or a connection the server closes (that connection is then dropped); the first bad
 * reply is shown on stderr. Prints one line:
 *
 *   requests=N errors=N seconds=S rate=R p50_us=.. p90_us=.. p99_us=.. max_us=.. client_cpu_s=..
 *
 * (latency of each request from its first byte sent to the reply's last byte received;
 * client_cpu_s is this process's own user+system time). Exit status 0 when every reply was
 * right and at least one arrived, 1 otherwise, 2 on usage or setup errors.
 *
 * -o FILE appends one line per reply as it arrives, "DOMAIN PAYLOAD" (written at once, not
 * buffered): what the server had answered when it died, for the fault suites.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 4096
#define TOTAL_MAX 100000000L
#define REPLY_MAX 4096  /* longer replies count as malformed */
#define CONNECT_SECS 10 /* all connections must be up within this */

enum state { ST_CONNECTING, ST_SENDING, ST_WAITING, ST_PAUSED, ST_DEAD };

struct conn {
	int fd;
	enum state st;
	const char *req; /* the request being sent */
	long ri;         /* its index in reqs */
	size_t req_len, req_off;
	int64_t sent_at;
	int64_t resume_at; /* ST_PAUSED: when the next request goes out */
	size_t have;
	char buf[REPLY_MAX + 16];
};

struct req {
	char *bytes;
	size_t len;
	const char *domain;
};

static struct conn *conns;
static struct req *reqs;
static long nreqs, next_req;
static int ep;
static uint32_t *lat; /* microseconds, one per completed request */
static long done, started, total, errors;
static int shown_bad;
static const char *expect = "";
static int64_t pace_ns; /* -p: pause after each reply */
static int out_fd = -1; /* -o FILE */

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static void
usage(void)
{
	fprintf(stderr, "usage: smload -a 127.x.y.z:PORT -c CONNS -n TOTAL -t MAX_SECONDS "
	                "[-e PREFIX] [-m MAP] [-p USEC] [-o FILE] DOMAIN...\n");
	exit(2);
}

static long
num_arg(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		usage();
	return v;
}

static void
show_bad(long i, const char *what, const char *data, size_t len)
{
	if (shown_bad++ > 0)
		return;
	if (len > 200)
		len = 200;
	fprintf(stderr, "smload: conn %ld: %s: '%.*s'\n", i, what, (int)len, data);
}

static void
set_events(long i, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)i};
	if (epoll_ctl(ep, EPOLL_CTL_MOD, conns[i].fd, &ev) != 0) {
		perror("smload: epoll_ctl");
		exit(2);
	}
}

static void
conn_drop(long i, const char *why)
{
	struct conn *c = &conns[i];

	if (c->st == ST_DEAD)
		return;
	fprintf(stderr, "smload: conn %ld dropped: %s\n", i, why);
	if (c->st == ST_SENDING || c->st == ST_WAITING)
		errors++; /* the request in flight got no (valid) answer */
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->st = ST_DEAD;
}

/* Write what is left of the current request; returns 0, or -1 when the conn was dropped. */
static int
conn_flush(long i)
{
	struct conn *c = &conns[i];

	while (c->req_off < c->req_len) {
		ssize_t w = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (c->st != ST_SENDING) {
				c->st = ST_SENDING;
				set_events(i, EPOLLIN | EPOLLOUT);
			}
			return 0;
		}
		if (w <= 0) {
			conn_drop(i, strerror(errno));
			return -1;
		}
		c->req_off += (size_t)w;
	}
	if (c->st != ST_WAITING) {
		if (c->st == ST_SENDING || c->st == ST_CONNECTING)
			set_events(i, EPOLLIN);
		c->st = ST_WAITING;
	}
	return 0;
}

/* Start the next request on conn i if any are left; else leave it idle. */
static void
conn_next(long i)
{
	struct conn *c = &conns[i];
	const struct req *r;

	if (started >= total) {
		c->st = ST_WAITING; /* idle: nothing more to send */
		set_events(i, EPOLLIN);
		c->req_len = c->req_off = 0;
		return;
	}
	c->ri = next_req++ % nreqs;
	r = &reqs[c->ri];
	started++;
	c->req = r->bytes;
	c->req_len = r->len;
	c->req_off = 0;
	c->have = 0;
	c->sent_at = now_ns();
	conn_flush(i);
}

/* Parse a complete reply netstring in c->buf: 1 done, 0 need more, -1 malformed. */
static int
reply_complete(struct conn *c, const char **payload, size_t *plen)
{
	size_t i, len = 0;

	for (i = 0; i < c->have && c->buf[i] != ':'; i++) {
		if (c->buf[i] < '0' || c->buf[i] > '9' || i >= 5)
			return -1;
		len = len * 10 + (size_t)(c->buf[i] - '0');
	}
	if (i == c->have)
		return 0;
	if (i == 0 || len > REPLY_MAX)
		return -1;
	if (c->have < i + 1 + len + 1)
		return 0;
	if (c->buf[i + 1 + len] != ',' || c->have != i + 1 + len + 1)
		return -1; /* bad terminator, or bytes we never asked for */
	*payload = c->buf + i + 1;
	*plen = len;
	return 1;
}

/* -o: one line "DOMAIN PAYLOAD\n" in one write (O_APPEND), so a reader sees whole lines. */
static void
log_reply(const char *domain, const char *payload, size_t plen)
{
	char line[REPLY_MAX + 10100];
	size_t dl = strlen(domain), n = 0;

	memcpy(line, domain, dl);
	n = dl;
	line[n++] = ' ';
	for (size_t k = 0; k < plen; k++) /* one line per reply, whatever it holds */
		line[n++] = payload[k] == '\n' ? ' ' : payload[k];
	line[n++] = '\n';
	if (write(out_fd, line, n) != (ssize_t)n) {
		perror("smload: -o write");
		exit(2);
	}
}

static void
conn_readable(long i)
{
	struct conn *c = &conns[i];
	const char *payload;
	size_t plen;
	ssize_t r;
	int rc;

	r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r <= 0) {
		conn_drop(i, r == 0 ? "closed by server" : strerror(errno));
		return;
	}
	if (c->req_len == 0 || c->st != ST_WAITING) {
		show_bad(i, "unsolicited bytes", c->buf + c->have, (size_t)r);
		conn_drop(i, "unsolicited bytes");
		return;
	}
	c->have += (size_t)r;
	rc = reply_complete(c, &payload, &plen);
	if (rc == 0 && c->have < sizeof(c->buf))
		return;
	if (rc <= 0) {
		show_bad(i, "malformed reply", c->buf, c->have);
		conn_drop(i, "malformed reply");
		return;
	}
	if (plen < strlen(expect) || memcmp(payload, expect, strlen(expect)) != 0) {
		errors++;
		show_bad(i, "unexpected reply", payload, plen);
	}
	if (out_fd >= 0)
		log_reply(reqs[c->ri].domain, payload, plen);
	{
		int64_t us = (now_ns() - c->sent_at) / 1000;
		lat[done++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	}
	c->req_len = 0;
	if (pace_ns > 0) {
		c->st = ST_PAUSED; /* still watched for EPOLLIN: a close or stray bytes show */
		c->resume_at = now_ns() + pace_ns;
		return;
	}
	conn_next(i);
}

static double
pct(double p)
{
	long k;

	if (done == 0)
		return 0.0;
	k = (long)((double)done * p + 0.999999) - 1; /* nearest rank */
	if (k < 0)
		k = 0;
	if (k >= done)
		k = done - 1;
	return (double)lat[k];
}

int
main(int argc, char **argv)
{
	const char *addr = NULL, *map = "postfix", *colon;
	long nconns = 1, secs = 10, alive;
	struct sockaddr_in sin;
	struct epoll_event evs[256];
	struct rusage ru;
	int64_t t0, t_end, deadline;
	char host[64];
	int opt;

	while ((opt = getopt(argc, argv, "a:c:n:t:e:m:p:o:")) != -1) {
		switch (opt) {
		case 'a':
			addr = optarg;
			break;
		case 'c':
			nconns = num_arg(optarg, 1, CONNS_MAX);
			break;
		case 'n':
			total = num_arg(optarg, 1, TOTAL_MAX);
			break;
		case 't':
			secs = num_arg(optarg, 1, 3600);
			break;
		case 'e':
			expect = optarg;
			break;
		case 'm':
			map = optarg;
			break;
		case 'p':
			pace_ns = num_arg(optarg, 0, 10000000) * 1000;
			break;
		case 'o':
			out_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (out_fd < 0) {
				perror(optarg);
				return 2;
			}
			break;
		default:
			usage();
		}
	}
	if (addr == NULL || optind >= argc || total == 0)
		usage();

	colon = strrchr(addr, ':');
	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
		usage();
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)num_arg(colon + 1, 1, 65535));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
	    (ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "smload: %s is not a 127.0.0.0/8 address\n", host);
		return 2;
	}

	/* Requests, framed once. */
	nreqs = argc - optind;
	reqs = calloc((size_t)nreqs, sizeof(*reqs));
	if (reqs == NULL)
		return 2;
	for (long k = 0; k < nreqs; k++) {
		const char *d = argv[optind + k];
		size_t plen = strlen(map) + 1 + strlen(d);
		int n;

		if (plen > 10000)
			usage();
		reqs[k].bytes = malloc(plen + 16);
		if (reqs[k].bytes == NULL)
			return 2;
		n = snprintf(reqs[k].bytes, plen + 16, "%zu:%s %s,", plen, map, d);
		reqs[k].len = (size_t)n;
		reqs[k].domain = d;
	}
	lat = malloc((size_t)total * sizeof(*lat));
	conns = calloc((size_t)nconns, sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (lat == NULL || conns == NULL || ep < 0) {
		perror("smload: setup");
		return 2;
	}

	/* Connect everything first (non-blocking), then start the clock. */
	for (long i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];
		struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)i};
		int one = 1;

		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			perror("smload: socket");
			return 2;
		}
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->st = ST_CONNECTING;
		if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 &&
		    errno != EINPROGRESS) {
			fprintf(stderr, "smload: connect %s: %s\n", addr, strerror(errno));
			return 2;
		}
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
			perror("smload: epoll_ctl");
			return 2;
		}
	}
	{
		long up = 0;
		int64_t until = now_ns() + (int64_t)CONNECT_SECS * 1000000000;

		while (up < nconns) {
			int64_t left = until - now_ns();
			int n;

			if (left <= 0) {
				fprintf(stderr,
				        "smload: only %ld of %ld connections up after %d s\n", up,
				        nconns, CONNECT_SECS);
				return 2;
			}
			n = epoll_wait(ep, evs, 256, (int)(left / 1000000) + 1);
			if (n < 0 && errno != EINTR) {
				perror("smload: epoll_wait");
				return 2;
			}
			for (int k = 0; k < n; k++) {
				long i = (long)evs[k].data.u64;
				int err = 0;
				socklen_t el = sizeof(err);

				if (conns[i].st != ST_CONNECTING)
					continue;
				getsockopt(conns[i].fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err != 0) {
					fprintf(stderr, "smload: connect %s: %s\n", addr,
					        strerror(err));
					return 2;
				}
				conns[i].st = ST_WAITING; /* idle until conn_next */
				set_events(i, EPOLLIN);
				up++;
			}
		}
	}

	t0 = now_ns();
	deadline = t0 + (int64_t)secs * 1000000000;
	for (long i = 0; i < nconns; i++)
		conn_next(i);
	alive = nconns;
	while (done < total && alive > 0) {
		int64_t now = now_ns(), left = deadline - now;
		int n;

		if (left <= 0)
			break;
		for (long i = 0; pace_ns > 0 && i < nconns; i++) {
			if (conns[i].st != ST_PAUSED)
				continue;
			if (conns[i].resume_at <= now)
				conn_next(i);
			else if (conns[i].resume_at - now < left)
				left = conns[i].resume_at - now;
		}
		/* round up: waking early would only spin */
		n = epoll_wait(ep, evs, 256,
		               left > 1000000000 ? 1000 : (int)((left + 999999) / 1000000));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("smload: epoll_wait");
			return 2;
		}
		for (int k = 0; k < n; k++) {
			long i = (long)evs[k].data.u64;
			struct conn *c = &conns[i];

			if (c->st == ST_DEAD)
				continue;
			if ((evs[k].events & EPOLLOUT) && c->st == ST_SENDING)
				if (conn_flush(i) != 0)
					continue;
			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				conn_readable(i);
		}
		alive = 0;
		for (long i = 0; i < nconns; i++)
			alive += conns[i].st != ST_DEAD;
	}
	t_end = now_ns();
	if (alive == 0)
		fprintf(stderr, "smload: every connection was dropped\n");

	qsort(lat, (size_t)done, sizeof(*lat), cmp_u32);
	getrusage(RUSAGE_SELF, &ru);
	{
		double s = (double)(t_end - t0) / 1e9;
		double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;

		printf("requests=%ld errors=%ld seconds=%.3f rate=%.0f p50_us=%.0f p90_us=%.0f "
		       "p99_us=%.0f max_us=%.0f client_cpu_s=%.2f\n",
		       done, errors, s, s > 0 ? (double)done / s : 0.0, pct(0.50), pct(0.90),
		       pct(0.99), done ? (double)lat[done - 1] : 0.0, cpu);
	}
	return errors == 0 && done > 0 ? 0 : 1;
}
