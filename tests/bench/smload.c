/* SPDX-License-Identifier: MIT */
/*
 * smload: socketmap load generator for benchmarks (not a test). Opens CONNS connections to
 * HOST:PORT and, like Postfix, sends one netstring request per connection at a time, waiting
 * for the whole reply before the next; stops after TOTAL requests or MAX seconds. Every reply
 * must start with the expected prefix. Prints one key=value line with the rate and latency
 * percentiles. Loopback only by intent: HOST must be a 127.0.0.0/8 address.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 1024

struct conn {
	int fd;
	char buf[4096];
	size_t have;
	double sent_at;
};

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
usage(void)
{
	fprintf(stderr, "usage: smload -a 127.x.y.z:PORT -c CONNS -n TOTAL -t SECS -e PREFIX [-m "
	                "MAP] DOMAIN...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *addr = NULL, *expect = "OK", *map = "postfix";
	long conns = 1, total = 1000, secs = 10;
	static struct conn c[CONNS_MAX];
	struct pollfd pfd[CONNS_MAX];
	struct sockaddr_in sin;
	double *lat, t0, elapsed;
	long sent = 0, done = 0, errors = 0, ndom, next = 0;
	char **dom, host[64];
	int opt;

	while ((opt = getopt(argc, argv, "a:c:n:t:e:m:")) != -1) {
		switch (opt) {
		case 'a':
			addr = optarg;
			break;
		case 'c':
			conns = strtol(optarg, NULL, 10);
			break;
		case 'n':
			total = strtol(optarg, NULL, 10);
			break;
		case 't':
			secs = strtol(optarg, NULL, 10);
			break;
		case 'e':
			expect = optarg;
			break;
		case 'm':
			map = optarg;
			break;
		default:
			usage();
		}
	}
	if (addr == NULL || optind >= argc || conns < 1 || conns > CONNS_MAX || total < 1 ||
	    secs < 1 || secs > 600)
		usage();
	dom = argv + optind;
	ndom = argc - optind;
	{
		const char *colon = strrchr(addr, ':');
		if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
			usage();
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
		    (ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
			fprintf(stderr, "smload: %s is not a loopback address\n", host);
			return 2;
		}
	}
	lat = calloc((size_t)total, sizeof(double));
	if (lat == NULL)
		return 2;
	for (long i = 0; i < conns; i++) {
		int one = 1;
		c[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (c[i].fd < 0 || connect(c[i].fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
			fprintf(stderr, "smload: connect: %s\n", strerror(errno));
			return 2;
		}
		setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pfd[i].fd = c[i].fd;
		pfd[i].events = POLLIN;
	}
	t0 = now_s();
	/* Prime: one request in flight per connection. */
	for (long i = 0; i < conns && sent < total; i++, sent++) {
		char req[600];
		const char *d = dom[next++ % ndom];
		int n =
		    snprintf(req, sizeof(req), "%zu:%s %s,", strlen(map) + 1 + strlen(d), map, d);
		c[i].sent_at = now_s();
		if (write(c[i].fd, req, (size_t)n) != n)
			return 2;
	}
	while (done < sent) {
		if (now_s() - t0 > (double)secs)
			break;
		if (poll(pfd, (nfds_t)conns, 1000) < 0 && errno != EINTR)
			return 2;
		for (long i = 0; i < conns; i++) {
			char *colon;
			size_t len, hdr;
			ssize_t r;
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(c[i].fd, c[i].buf + c[i].have, sizeof(c[i].buf) - c[i].have);
			if (r <= 0) {
				fprintf(stderr, "smload: connection %ld closed\n", i);
				return 2;
			}
			c[i].have += (size_t)r;
			colon = memchr(c[i].buf, ':', c[i].have);
			if (colon == NULL)
				continue;
			len = strtoul(c[i].buf, NULL, 10);
			hdr = (size_t)(colon - c[i].buf) + 1;
			if (c[i].have < hdr + len + 1)
				continue;
			if (len < strlen(expect) || memcmp(colon + 1, expect, strlen(expect)) != 0)
				errors++;
			lat[done++] = now_s() - c[i].sent_at;
			c[i].have = 0;
			if (sent < total) {
				char req[600];
				const char *d = dom[next++ % ndom];
				int n = snprintf(req, sizeof(req), "%zu:%s %s,",
				                 strlen(map) + 1 + strlen(d), map, d);
				c[i].sent_at = now_s();
				if (write(c[i].fd, req, (size_t)n) != n)
					return 2;
				sent++;
			}
		}
	}
	elapsed = now_s() - t0;
	qsort(lat, (size_t)done, sizeof(double), cmp_double);
#define PCT(p) (done ? lat[(long)((double)(done - 1) * (p))] * 1e6 : 0.0)
	printf("requests=%ld errors=%ld seconds=%.3f rate=%.0f p50_us=%.1f p90_us=%.1f p99_us=%.1f "
	       "max_us=%.1f\n",
	       done, errors + (sent - done), elapsed, (double)done / elapsed, PCT(0.50), PCT(0.90),
	       PCT(0.99), PCT(1.0));
	free(lat);
	return errors ? 1 : 0;
}
