/* SPDX-License-Identifier: MIT */
/*
 * smabuse: abusive socketmap clients for tests/fault/20-client-abuse.sh (not a test itself).
 *
 *   smabuse -a 127.x.y.z:PORT MODE ARGS...
 *
 *   flood N RAMP_MS HOLD_MS      open N connections spread evenly over RAMP_MS, send nothing,
 *                                keep them until HOLD_MS after the start; prints
 *                                "connected=N closed=N open=N failed=N" (closed: by the server)
 *   slowloris N MS REQUEST       N connections each send REQUEST one byte every MS, then wait
 *                                10 s for the reply; one line per connection (see below)
 *   bigprefix                    send "1000000000:" then up to 64 MiB of 'x' until the server
 *                                closes; prints "EOF sent=BYTES ms=MS" or "HANG sent=BYTES"
 *   random N BYTES               N connections each send BYTES from /dev/urandom, then wait 5 s
 *                                for the close; prints "closed=N hang=N"
 *   halfclose full|partial REQUEST   send REQUEST (partial: all but its last 2 bytes), then
 *                                shutdown(SHUT_WR); replies until EOF, one line each
 *   noread N HOLD_MS REQUEST     N connections write REQUEST back to back and never read; a
 *                                connection stops writing once a write has been blocked for
 *                                2 s (the server stopped reading) or after 256 MiB; all stay
 *                                open until HOLD_MS; prints "blocked=N sent_max=BYTES"
 *
 * Reply lines: "REPLY <payload>", "EOF" (closed before a reply), "HANG" (nothing in time),
 * "BADREPLY". Loopback (127.0.0.0/8) only. Exit 0 when the run happened, 2 on usage/setup.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../bench/loopback.h"

#define CONNS_MAX 10000

static struct sockaddr_in sin_srv;

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
usage(void)
{
	fprintf(stderr, "usage: smabuse -a 127.x.y.z:PORT flood|slowloris|bigprefix|random|"
	                "halfclose|noread ARGS...\n");
	exit(2);
}

static long
num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		usage();
	return v;
}

/* A blocking connection (connect bounded by the kernel's SYN retries; loopback answers). */
static int
dial(int nonblock)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0) {
		perror("smabuse: socket");
		exit(2);
	}
	if (connect(fd, (struct sockaddr *)&sin_srv, sizeof(sin_srv)) != 0 &&
	    !(nonblock && errno == EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait up to ms for fd to be readable; 1 readable, 0 timeout. */
static int
wait_in(int fd, int64_t ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;

	if (ms < 0)
		ms = 0;
	do
		n = poll(&p, 1, (int)ms);
	while (n < 0 && errno == EINTR);
	return n > 0;
}

/* Read one netstring reply within ms and print it as a reply line. 1 when a reply came. */
static int
read_reply(int fd, int64_t ms)
{
	char buf[4096];
	size_t have = 0;
	int64_t until = now_ms() + ms;

	for (;;) {
		char *colon = memchr(buf, ':', have);
		ssize_t r;

		if (colon != NULL) {
			size_t len = 0, hl = (size_t)(colon - buf);
			for (size_t i = 0; i < hl; i++) {
				if (buf[i] < '0' || buf[i] > '9' || hl > 5) {
					printf("BADREPLY\n");
					return 0;
				}
				len = len * 10 + (size_t)(buf[i] - '0');
			}
			if (len + hl + 2 > sizeof(buf)) {
				printf("BADREPLY\n");
				return 0;
			}
			if (have >= hl + len + 2) {
				if (buf[hl + 1 + len] != ',') {
					printf("BADREPLY\n");
					return 0;
				}
				printf("REPLY %.*s\n", (int)len, colon + 1);
				/* the callers send one request at a time: more is wrong */
				if (have > hl + len + 2) {
					printf("BADREPLY (extra bytes)\n");
					return 0;
				}
				return 1;
			}
		} else if (have > 6) {
			printf("BADREPLY\n");
			return 0;
		}
		if (!wait_in(fd, until - now_ms())) {
			printf("HANG\n");
			return 0;
		}
		r = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET)) {
			printf("EOF\n");
			return 0;
		}
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			printf("EOF\n");
			return 0;
		}
		have += (size_t)r;
	}
}

/* Wait up to ms for the server to close fd, discarding what it sends. 1 closed. */
static int
wait_close(int fd, int64_t ms)
{
	char buf[4096];
	int64_t until = now_ms() + ms;

	for (;;) {
		ssize_t r;

		if (!wait_in(fd, until - now_ms()))
			return 0;
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
			return 1;
	}
}

static int
mode_flood(long n, long ramp_ms, long hold_ms)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int *fds = calloc((size_t)n, sizeof(*fds));
	long connected = 0, closed = 0, failed = 0, opened = 0;
	int64_t t0 = now_ms();
	struct epoll_event evs[256];

	if (ep < 0 || fds == NULL) {
		perror("smabuse: setup");
		return 2;
	}
	for (;;) {
		int64_t now = now_ms(), next, wait;
		int k;

		/* open the ones due by now */
		while (opened < n && (ramp_ms == 0 || (now - t0) * n >= opened * ramp_ms)) {
			struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP,
			                         .data.u64 = (uint64_t)opened};
			int fd = dial(1);

			fds[opened] = fd;
			if (fd < 0)
				failed++;
			else if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
				perror("smabuse: epoll_ctl");
				return 2;
			}
			opened++;
		}
		if (now - t0 >= hold_ms)
			break;
		next = opened < n ? t0 + (opened * ramp_ms) / n : t0 + hold_ms;
		wait = next - now;
		if (wait < 1)
			wait = 1;
		if (wait > 100)
			wait = 100;
		k = epoll_wait(ep, evs, 256, (int)wait);
		for (int j = 0; j < k; j++) {
			long i = (long)evs[j].data.u64;
			int fd = fds[i];
			int err = 0;
			socklen_t el = sizeof(err);
			char b[64];

			if (fd < 0)
				continue;
			if (evs[j].events & EPOLLOUT) {
				struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
				                         .data.u64 = (uint64_t)i};
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err != 0) {
					failed++;
					close(fd);
					fds[i] = -1;
					continue;
				}
				connected++;
				epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
			}
			if (evs[j].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				ssize_t r = recv(fd, b, sizeof(b), MSG_DONTWAIT);
				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
					closed++;
					close(fd);
					fds[i] = -1;
				}
			}
		}
	}
	printf("connected=%ld closed=%ld open=%ld failed=%ld\n", connected, closed,
	       connected - closed, failed);
	return 0;
}

static int
mode_slowloris(long n, long ms, const char *req)
{
	size_t len = strlen(req);
	int *fds = calloc((size_t)n, sizeof(*fds));

	if (fds == NULL)
		return 2;
	for (long i = 0; i < n; i++)
		fds[i] = dial(0);
	for (size_t b = 0; b < len; b++) {
		for (long i = 0; i < n; i++)
			if (fds[i] >= 0 && send(fds[i], req + b, 1, MSG_NOSIGNAL) != 1) {
				close(fds[i]);
				fds[i] = -2; /* closed by the server while trickling */
			}
		if (b + 1 < len)
			usleep((useconds_t)ms * 1000);
	}
	for (long i = 0; i < n; i++) {
		if (fds[i] == -1)
			printf("CONNFAIL\n");
		else if (fds[i] == -2)
			printf("EOF\n");
		else {
			read_reply(fds[i], 10000);
			close(fds[i]);
		}
	}
	return 0;
}

static int
mode_bigprefix(void)
{
	static char chunk[65536];
	int fd = dial(0);
	size_t sent = 0;
	int64_t t0 = now_ms();
	const char *prefix = "1000000000:";

	if (fd < 0) {
		printf("CONNFAIL\n");
		return 0;
	}
	memset(chunk, 'x', sizeof(chunk));
	if (send(fd, prefix, strlen(prefix), MSG_NOSIGNAL) < 0) {
		printf("EOF sent=0 ms=%lld\n", (long long)(now_ms() - t0));
		return 0;
	}
	sent = strlen(prefix);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (sent < 64u * 1024 * 1024 && now_ms() - t0 < 10000) {
		struct pollfd p = {.fd = fd, .events = POLLOUT | POLLIN};
		ssize_t w;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			char b[256];
			ssize_t r = recv(fd, b, sizeof(b), 0);
			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				printf("EOF sent=%zu ms=%lld\n", sent, (long long)(now_ms() - t0));
				return 0;
			}
		}
		w = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);
		if (w > 0)
			sent += (size_t)w;
		else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			printf("EOF sent=%zu ms=%lld\n", sent, (long long)(now_ms() - t0));
			return 0;
		}
	}
	printf("HANG sent=%zu\n", sent);
	return 0;
}

static int
mode_random(long n, long bytes)
{
	int rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	char *buf = malloc((size_t)bytes);
	long closed = 0, hang = 0;
	int *fds = calloc((size_t)n, sizeof(*fds));

	if (rnd < 0 || buf == NULL || fds == NULL) {
		perror("smabuse: random setup");
		return 2;
	}
	for (long i = 0; i < n; i++) {
		size_t off = 0;

		if (read(rnd, buf, (size_t)bytes) != bytes) {
			perror("smabuse: /dev/urandom");
			return 2;
		}
		fds[i] = dial(0);
		if (fds[i] < 0) {
			hang++;
			continue;
		}
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		/* as much as the server takes: it may close long before all is sent */
		while (off < (size_t)bytes) {
			ssize_t w = send(fds[i], buf + off, (size_t)bytes - off, MSG_NOSIGNAL);
			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno == EAGAIN) {
				struct pollfd p = {.fd = fds[i], .events = POLLOUT};
				if (poll(&p, 1, 1000) <= 0)
					break;
			} else if (w < 0 && errno != EINTR)
				break;
		}
	}
	for (long i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (wait_close(fds[i], 5000))
			closed++;
		else
			hang++;
		close(fds[i]);
	}
	printf("closed=%ld hang=%ld\n", closed, hang);
	return 0;
}

static int
mode_halfclose(const char *how, const char *req)
{
	size_t len = strlen(req);
	int fd = dial(0);

	if (fd < 0) {
		printf("CONNFAIL\n");
		return 0;
	}
	if (strcmp(how, "partial") == 0)
		len = len > 2 ? len - 2 : 0;
	else if (strcmp(how, "full") != 0)
		usage();
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len || shutdown(fd, SHUT_WR) != 0) {
		printf("EOF\n");
		return 0;
	}
	while (read_reply(fd, 5000))
		;
	close(fd);
	return 0;
}

static int
mode_noread(long n, long hold_ms, const char *req)
{
	size_t len = strlen(req), chunk_n = 65536 / (len + 1) + 1, clen = chunk_n * len;
	char *chunk = malloc(clen);
	int *fds = calloc((size_t)n, sizeof(*fds));
	size_t *sent = calloc((size_t)n, sizeof(*sent));
	int64_t *blocked_since = calloc((size_t)n, sizeof(*blocked_since));
	int *done = calloc((size_t)n, sizeof(*done));
	long blocked = 0, active = n;
	size_t sent_max = 0;
	int64_t t0 = now_ms();

	if (chunk == NULL || fds == NULL || sent == NULL || blocked_since == NULL || done == NULL)
		return 2;
	for (size_t k = 0; k < chunk_n; k++)
		memcpy(chunk + k * len, req, len);
	for (long i = 0; i < n; i++) {
		fds[i] = dial(0);
		if (fds[i] < 0) {
			printf("CONNFAIL\n");
			return 0;
		}
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	}
	while (active > 0 && now_ms() - t0 < hold_ms) {
		for (long i = 0; i < n; i++) {
			ssize_t w;

			if (done[i])
				continue;
			/* whole requests only: the offset stays a multiple of len */
			w = send(fds[i], chunk + sent[i] % clen, clen - sent[i] % clen,
			         MSG_NOSIGNAL);
			if (w > 0) {
				sent[i] += (size_t)w;
				blocked_since[i] = 0;
			} else if (w < 0 && errno == EAGAIN) {
				if (blocked_since[i] == 0)
					blocked_since[i] = now_ms();
				else if (now_ms() - blocked_since[i] >= 2000) {
					done[i] = 1;
					blocked++;
					active--;
				}
			} else if (w < 0 && errno != EINTR) {
				done[i] = 1; /* closed by the server */
				active--;
			}
			if (!done[i] && sent[i] >= 256u * 1024 * 1024) {
				done[i] = 1;
				active--;
			}
		}
		usleep(10000);
	}
	for (long i = 0; i < n; i++)
		if (sent[i] > sent_max)
			sent_max = sent[i];
	printf("blocked=%ld sent_max=%zu\n", blocked, sent_max);
	fflush(stdout);
	while (now_ms() - t0 < hold_ms)
		usleep(50000);
	for (long i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *addr, *mode;

	if (argc < 4 || strcmp(argv[1], "-a") != 0)
		usage();
	addr = argv[2];
	mode = argv[3];
	if (loopback_addr("smabuse", addr, &sin_srv) != 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	argc -= 4;
	argv += 4;
	if (strcmp(mode, "flood") == 0 && argc == 3)
		return mode_flood(num(argv[0], 1, CONNS_MAX), num(argv[1], 0, 600000),
		                  num(argv[2], 0, 600000));
	if (strcmp(mode, "slowloris") == 0 && argc == 3)
		return mode_slowloris(num(argv[0], 1, 100), num(argv[1], 0, 10000), argv[2]);
	if (strcmp(mode, "bigprefix") == 0 && argc == 0)
		return mode_bigprefix();
	if (strcmp(mode, "random") == 0 && argc == 2)
		return mode_random(num(argv[0], 1, 100), num(argv[1], 1, 16 * 1024 * 1024));
	if (strcmp(mode, "halfclose") == 0 && argc == 2)
		return mode_halfclose(argv[0], argv[1]);
	if (strcmp(mode, "noread") == 0 && argc == 3)
		return mode_noread(num(argv[0], 1, 100), num(argv[1], 0, 600000), argv[2]);
	usage();
	return 2;
}
