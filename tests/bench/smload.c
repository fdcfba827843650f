/* SPDX-License-Identifier: MIT */
/*
 * smload: socketmap load generator for benchmarks (not a test).
 *
 *   smload -a HOST:PORT -c CONNS -n TOTAL -t MAX_SECONDS [-d DEPTH] [-e PREFIX] [-m MAP]
 *          [-r SEED] [-f FILE] [-p USEC] [-o OUT_FILE] [DOMAIN...]
 *
 * Opens CONNS non-blocking TCP connections to HOST:PORT (a 127.0.0.0/8 address: loopback only
 * by intent) and keeps DEPTH netstring requests "MAP DOMAIN" in flight per connection (default
 * 1, as Postfix does: the next request goes out only after the whole reply arrived). With a
 * depth above 1, the requests that a batch of replies makes room for leave in one write.
 * Domains come from the arguments and from FILE (one per line), in turn, or, with -r SEED,
 * drawn at random (uniformly, xorshift seeded by SEED) among them. With -p each connection
 * pauses USEC microseconds after a read that brought replies before it sends more (a paced
 * client, as Postfix is under ordinary load, rather than one that saturates the server).
 * Stops after TOTAL replies
 * or MAX_SECONDS, whichever comes first (requests still in flight at the deadline are not
 * counted). A reply that does not start with PREFIX (-e, e.g. "OK secure"; default: any reply)
 * is an error, as is a malformed or unsolicited reply or a connection the server closes (that
 * connection is then dropped and its requests in flight count as errors); the first bad reply
 * is shown on stderr. Prints one line:
 *
 *   requests=N errors=N seconds=S rate=R p50_us=.. p90_us=.. p99_us=.. p999_us=.. max_us=..
 *   client_cpu_s=..
 *
 * (latency of each request from the moment it is queued for sending to its reply's last byte
 * received; client_cpu_s is this process's own user+system time). Exit status 0 when every
 * reply was right and at least one arrived, 1 otherwise, 2 on usage or setup errors.
 *
 * -o OUT_FILE appends one line per reply as it arrives, "DOMAIN PAYLOAD" (written at once, not
 * buffered): what the server had answered when it died, for the fault suites.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
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

#include "loopback.h"

#define CONNS_MAX 4096
#define DEPTH_MAX 256
#define TOTAL_MAX 100000000L
#define DOMAINS_MAX 20000000L
#define REQ_MAX 10016   /* a request's netstring: Postfix's 10000-byte cap plus framing */
#define REPLY_MAX 4096  /* longer replies count as malformed */
#define IN_MAX 16384    /* read buffer per connection (holds several whole replies) */
#define CONNECT_SECS 10 /* all connections must be up within this */

enum state { ST_CONNECTING, ST_UP, ST_DEAD };

struct conn {
	int fd;
	enum state st;
	int want_out; /* EPOLLOUT armed: the output did not fit into the socket */
	char *out;    /* requests queued, out_off..out_len not yet written */
	size_t out_len, out_off, out_cap;
	int64_t *sent; /* ring of DEPTH queue times, oldest at head */
	long *ri;      /* ring of the same requests' indexes in reqs */
	int paused;    /* -p: nothing more is sent until resume_at */
	int64_t resume_at;
	long head, inflight;
	size_t have; /* bytes in in[] */
	char in[IN_MAX];
};

struct req {
	size_t off, len;         /* framed bytes in the arena */
	size_t dom_off, dom_len; /* the domain among them */
};

static struct conn *conns;
static struct req *reqs;
static char *arena;
static size_t arena_len, arena_cap;
static long nreqs, next_req;
static long depth = 1;
static int ep;
static uint32_t *lat; /* microseconds, one per completed request */
static long done, started, total, errors;
static int shown_bad;
static const char *expect = "";
static size_t expect_len;
static uint64_t rnd;    /* xorshift state; 0: take domains in turn */
static int64_t pace_ns; /* -p: pause after replies */
static int out_fd = -1; /* -o OUT_FILE */

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
	                "[-d DEPTH] [-e PREFIX] [-m MAP] [-r SEED] [-f FILE] [-p USEC] "
	                "[-o OUT_FILE] [DOMAIN...]\n");
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

static void *
xalloc(size_t n)
{
	void *p = calloc(1, n > 0 ? n : 1);

	if (p == NULL) {
		perror("smload: calloc");
		exit(2);
	}
	return p;
}

/* Frame "MAP DOMAIN" into the arena as one more request. */
static void
add_req(const char *map, const char *d, size_t dlen)
{
	size_t plen = strlen(map) + 1 + dlen;
	int n;

	if (dlen == 0)
		return;
	if (plen > 10000 || nreqs >= DOMAINS_MAX) {
		fprintf(stderr, "smload: domain too long or too many domains: '%.*s'\n",
		        (int)(dlen > 80 ? 80 : dlen), d);
		exit(2);
	}
	if (arena_cap - arena_len < plen + 16) {
		size_t ncap = arena_cap ? arena_cap * 2 : 1 << 20;
		char *na;

		while (ncap - arena_len < plen + 16)
			ncap *= 2;
		na = realloc(arena, ncap);
		if (na == NULL) {
			perror("smload: realloc");
			exit(2);
		}
		arena = na;
		arena_cap = ncap;
	}
	if ((nreqs & (nreqs - 1)) == 0) { /* grow at powers of two */
		struct req *nr = realloc(reqs, (size_t)(nreqs ? nreqs * 2 : 1) * sizeof(*reqs));

		if (nr == NULL) {
			perror("smload: realloc");
			exit(2);
		}
		reqs = nr;
	}
	n = snprintf(arena + arena_len, plen + 16, "%zu:%s %.*s,", plen, map, (int)dlen, d);
	reqs[nreqs].off = arena_len;
	reqs[nreqs].len = (size_t)n;
	reqs[nreqs].dom_off = arena_len + (size_t)n - 1 - dlen;
	reqs[nreqs].dom_len = dlen;
	arena_len += (size_t)n;
	nreqs++;
}

static void
add_file(const char *map, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL) {
		fprintf(stderr, "smload: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		add_req(map, line, (size_t)n);
	}
	if (ferror(f)) {
		fprintf(stderr, "smload: reading %s failed\n", path);
		exit(2);
	}
	free(line);
	fclose(f);
}

static long
pick_req(void)
{
	if (rnd == 0)
		return next_req++ % nreqs;
	rnd ^= rnd >> 12; /* xorshift64* */
	rnd ^= rnd << 25;
	rnd ^= rnd >> 27;
	return (long)(((rnd * 0x2545F4914F6CDD1DULL) >> 11) % (uint64_t)nreqs);
}

/* -o: one line "DOMAIN PAYLOAD\n" in one write (O_APPEND), so a reader sees whole lines. */
static void
log_reply(const struct req *r, const char *payload, size_t plen)
{
	static char line[10000 + REPLY_MAX + 8];
	size_t n = r->dom_len;

	memcpy(line, arena + r->dom_off, n);
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
	errors += c->inflight; /* the requests in flight got no (valid) answer */
	c->inflight = 0;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->st = ST_DEAD;
}

/* Write what is queued; returns 0, or -1 when the conn was dropped. */
static int
conn_flush(long i)
{
	struct conn *c = &conns[i];

	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->want_out) {
				c->want_out = 1;
				set_events(i, EPOLLIN | EPOLLOUT);
			}
			return 0;
		}
		if (w <= 0) {
			conn_drop(i, strerror(errno));
			return -1;
		}
		c->out_off += (size_t)w;
	}
	c->out_off = c->out_len = 0;
	if (c->want_out) {
		c->want_out = 0;
		set_events(i, EPOLLIN);
	}
	return 0;
}

/* Queue requests until DEPTH are in flight (or none are left to start), then write them. */
static void
conn_fill(long i)
{
	struct conn *c = &conns[i];
	int64_t t = 0;

	while (c->inflight < depth && started < total) {
		long k = pick_req();
		const struct req *r = &reqs[k];

		if (c->out_cap - c->out_len < r->len) {
			/* only when a write stalled: keep the unwritten bytes, drop the written */
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
			if (c->out_cap - c->out_len < r->len)
				break;
		}
		memcpy(c->out + c->out_len, arena + r->off, r->len);
		c->out_len += r->len;
		if (t == 0)
			t = now_ns();
		c->sent[(c->head + c->inflight) % depth] = t;
		c->ri[(c->head + c->inflight) % depth] = k;
		c->inflight++;
		started++;
	}
	if (t != 0)
		conn_flush(i);
}

/* Parse one reply netstring at p: 1 done (payload, its length, bytes used), 0 need more,
 * -1 malformed. */
static int
reply_parse(const char *p, size_t have, const char **payload, size_t *plen, size_t *used)
{
	size_t i, len = 0;

	for (i = 0; i < have && p[i] != ':'; i++) {
		if (p[i] < '0' || p[i] > '9' || i >= 5)
			return -1;
		len = len * 10 + (size_t)(p[i] - '0');
	}
	if (i == have)
		return 0;
	if (i == 0 || len > REPLY_MAX)
		return -1;
	if (have < i + 1 + len + 1)
		return 0;
	if (p[i + 1 + len] != ',')
		return -1;
	*payload = p + i + 1;
	*plen = len;
	*used = i + 1 + len + 1;
	return 1;
}

static void
conn_readable(long i)
{
	struct conn *c = &conns[i];
	const char *payload;
	size_t plen, used, off = 0;
	int64_t t;
	ssize_t r;
	int rc;

	r = recv(c->fd, c->in + c->have, sizeof(c->in) - c->have, 0);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r <= 0) {
		conn_drop(i, r == 0 ? "closed by server" : strerror(errno));
		return;
	}
	if (c->inflight == 0) {
		show_bad(i, "unsolicited bytes", c->in + c->have, (size_t)r);
		conn_drop(i, "unsolicited bytes");
		return;
	}
	c->have += (size_t)r;
	t = now_ns();
	while ((rc = reply_parse(c->in + off, c->have - off, &payload, &plen, &used)) == 1) {
		int64_t us;

		if (c->inflight == 0) {
			show_bad(i, "unsolicited reply", c->in + off, c->have - off);
			conn_drop(i, "unsolicited reply");
			return;
		}
		if (plen < expect_len || memcmp(payload, expect, expect_len) != 0) {
			errors++;
			show_bad(i, "unexpected reply", payload, plen);
		}
		if (out_fd >= 0)
			log_reply(&reqs[c->ri[c->head]], payload, plen);
		us = (t - c->sent[c->head]) / 1000;
		lat[done++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
		c->head = (c->head + 1) % depth;
		c->inflight--;
		off += used;
	}
	if (rc < 0 || (rc == 0 && c->have - off == sizeof(c->in))) {
		show_bad(i, "malformed reply", c->in + off, c->have - off);
		conn_drop(i, "malformed reply");
		return;
	}
	if (c->inflight == 0 && off < c->have) {
		show_bad(i, "bytes after the last reply", c->in + off, c->have - off);
		conn_drop(i, "unsolicited bytes");
		return;
	}
	memmove(c->in, c->in + off, c->have - off);
	c->have -= off;
	if (pace_ns > 0 && off > 0) {
		c->paused = 1; /* still watched for EPOLLIN: a close or stray bytes show */
		c->resume_at = t + pace_ns;
		return;
	}
	conn_fill(i);
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
	const char *addr = NULL, *map = "postfix", *file = NULL;
	long nconns = 1, secs = 10, alive;
	struct sockaddr_in sin;
	struct epoll_event evs[256];
	struct rusage ru;
	int64_t t0, t_end, deadline;
	int opt;

	while ((opt = getopt(argc, argv, "a:c:n:t:d:e:m:r:f:p:o:")) != -1) {
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
		case 'd':
			depth = num_arg(optarg, 1, DEPTH_MAX);
			break;
		case 'e':
			expect = optarg;
			break;
		case 'm':
			map = optarg;
			break;
		case 'r':
			rnd = (uint64_t)num_arg(optarg, 1, 0x7fffffffL);
			break;
		case 'f':
			file = optarg;
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
	expect_len = strlen(expect);
	if (addr == NULL || (optind >= argc && file == NULL) || total == 0)
		usage();

	if (loopback_addr("smload", addr, &sin) != 0)
		return 2;

	/* Requests, framed once. */
	for (int k = optind; k < argc; k++)
		add_req(map, argv[k], strlen(argv[k]));
	if (file != NULL)
		add_file(map, file);
	if (nreqs == 0) {
		fprintf(stderr, "smload: no domains\n");
		return 2;
	}
	lat = xalloc((size_t)total * sizeof(*lat));
	conns = xalloc((size_t)nconns * sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("smload: epoll_create1");
		return 2;
	}

	/* Connect everything first (non-blocking), then start the clock. */
	for (long i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];
		struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)i};
		int one = 1;

		c->out_cap = (size_t)depth * REQ_MAX;
		c->out = xalloc(c->out_cap);
		c->sent = xalloc((size_t)depth * sizeof(*c->sent));
		c->ri = xalloc((size_t)depth * sizeof(*c->ri));
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
				conns[i].st = ST_UP;
				set_events(i, EPOLLIN);
				up++;
			}
		}
	}

	t0 = now_ns();
	deadline = t0 + (int64_t)secs * 1000000000;
	for (long i = 0; i < nconns; i++)
		conn_fill(i);
	alive = nconns;
	while (done < total && alive > 0) {
		int64_t now = now_ns(), left = deadline - now;
		int n;

		if (left <= 0)
			break;
		for (long i = 0; pace_ns > 0 && i < nconns; i++) {
			if (!conns[i].paused || conns[i].st == ST_DEAD)
				continue;
			if (conns[i].resume_at <= now) {
				conns[i].paused = 0;
				conn_fill(i);
			} else if (conns[i].resume_at - now < left) {
				left = conns[i].resume_at - now;
			}
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
			if ((evs[k].events & EPOLLOUT) && c->want_out)
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
		       "p99_us=%.0f p999_us=%.0f max_us=%.0f client_cpu_s=%.2f\n",
		       done, errors, s, s > 0 ? (double)done / s : 0.0, pct(0.50), pct(0.90),
		       pct(0.99), pct(0.999), done ? (double)lat[done - 1] : 0.0, cpu);
	}
	return errors == 0 && done > 0 ? 0 : 1;
}
