/* SPDX-License-Identifier: MIT */
/*
 * startwatch: time a socketmap server's start and stop (benchmark helper, not a test).
 *
 *   startwatch -a HOST:PORT -o OUT_FILE [-q DOMAIN] [-m MAP] [-w SECONDS] -- COMMAND [ARG...]
 *   startwatch -k PID [-w SECONDS]
 *
 * Takes the time, then becomes COMMAND (execvp: the server keeps startwatch's PID, so whoever
 * started startwatch holds the server's PID and can signal and wait for it), after leaving
 * behind a detached watcher process that tries to connect to HOST:PORT (a 127.0.0.0/8
 * address) every 200 µs until it succeeds, and, with -q, then sends the request "MAP DOMAIN"
 * (MAP default "postfix") and reads one reply netstring. Within SECONDS (default 15) it
 * writes one line to OUT_FILE (through a temporary file and rename, so a reader never sees a
 * partial line):
 *
 *   accept_ms=A answer_ms=B reply=TEXT
 *
 * A: from the moment before exec to the first accepted connection; B: to the reply's last
 * byte ("-" without -q or when it failed, and TEXT then says why). Exit status: COMMAND's
 * (startwatch itself exits 2 on usage errors or when it cannot start COMMAND).
 *
 * With -k, sends SIGTERM to PID and waits for it to end, through a pidfd (so it need not be
 * PID's parent, and a later process that reuses the number is never signalled); after SECONDS
 * (default 15) it sends SIGKILL. Prints "term_ms=T" (from the signal to the end), or
 * "term_ms=- killed"; exit status 0, 1 when PID had to be killed or cannot be signalled.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loopback.h"

#define REPLY_MAX 4096

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
usage(void)
{
	fprintf(stderr, "usage: startwatch -a 127.x.y.z:PORT -o OUT_FILE [-q DOMAIN] [-m MAP] "
	                "[-w SECONDS] -- COMMAND [ARG...]\n"
	                "       startwatch -k PID [-w SECONDS]\n");
	exit(2);
}

static void
report(const char *out, double acc, double ans, const char *text)
{
	char tmp[4096];
	FILE *f;
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	if (n < 0 || (size_t)n >= sizeof(tmp) || (f = fopen(tmp, "w")) == NULL)
		_exit(1);
	if (acc >= 0)
		fprintf(f, "accept_ms=%.2f ", acc);
	else
		fprintf(f, "accept_ms=- ");
	if (ans >= 0)
		fprintf(f, "answer_ms=%.2f ", ans);
	else
		fprintf(f, "answer_ms=- ");
	fprintf(f, "reply=%s\n", text);
	if (fclose(f) != 0 || rename(tmp, out) != 0)
		_exit(1);
	_exit(0);
}

/* The watcher: connect, ask, report. Never returns. */
static void
watch(const struct sockaddr_in *sin, const char *out, const char *req, double t0, int secs)
{
	double deadline = t0 + secs * 1e3, acc, ans;
	char buf[REPLY_MAX + 16], msg[REPLY_MAX + 64];
	struct timeval tv;
	size_t have = 0, len = 0, i;
	int fd = -1;

	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			report(out, -1, -1, "socket failed");
		if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == 0)
			break;
		close(fd);
		if (now_ms() > deadline)
			report(out, -1, -1, "not accepting in time");
		usleep(200);
	}
	acc = now_ms() - t0;
	if (req == NULL)
		report(out, acc, -1, "-");
	tv.tv_sec = (time_t)((deadline - now_ms()) / 1e3) + 1;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		report(out, acc, -1, "send failed");
	for (;;) {
		ssize_t r = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);

		if (r <= 0)
			report(out, acc, -1, r == 0 ? "closed before a reply" : "no reply in time");
		have += (size_t)r;
		for (i = 0, len = 0; i < have && buf[i] >= '0' && buf[i] <= '9' && i < 5; i++)
			len = len * 10 + (size_t)(buf[i] - '0');
		if (i < have && (buf[i] != ':' || i == 0 || len > REPLY_MAX))
			report(out, acc, -1, "malformed reply");
		if (i < have && have >= i + 1 + len + 1)
			break;
		if (have == sizeof(buf) - 1)
			report(out, acc, -1, "malformed reply");
	}
	ans = now_ms() - t0;
	if (buf[i + 1 + len] != ',')
		report(out, acc, -1, "malformed reply");
	snprintf(msg, sizeof(msg), "%.*s", (int)len, buf + i + 1);
	for (char *p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	report(out, acc, ans, msg);
}

/* -k: SIGTERM to pid, wait for its end (SIGKILL after secs). */
static int
stop(long pid, long secs)
{
	struct pollfd p;
	double t0, t1;
	int fd, n;

	fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (fd < 0) {
		fprintf(stderr, "startwatch: pidfd_open %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	t0 = now_ms();
	if (syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0) != 0) {
		fprintf(stderr, "startwatch: SIGTERM to %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	p.fd = fd;
	p.events = POLLIN;
	do
		n = poll(&p, 1, (int)(secs * 1000));
	while (n < 0 && errno == EINTR);
	t1 = now_ms();
	if (n == 1) {
		printf("term_ms=%.2f\n", t1 - t0);
		return 0;
	}
	syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	printf("term_ms=- killed\n");
	return 1;
}

int
main(int argc, char **argv)
{
	const char *addr = NULL, *out = NULL, *domain = NULL, *map = "postfix";
	struct sockaddr_in sin;
	char *req = NULL, *end;
	long secs = 15, kpid = 0;
	double t0;
	pid_t pid;
	int opt, status;

	while ((opt = getopt(argc, argv, "+a:o:q:m:w:k:")) != -1) {
		switch (opt) {
		case 'k':
			errno = 0;
			kpid = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || kpid < 2 || kpid > 0x3fffffff)
				usage();
			break;
		case 'a':
			addr = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'q':
			domain = optarg;
			break;
		case 'm':
			map = optarg;
			break;
		case 'w':
			errno = 0;
			secs = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || secs < 1 || secs > 3600)
				usage();
			break;
		default:
			usage();
		}
	}
	if (kpid != 0) {
		if (addr != NULL || out != NULL || optind != argc)
			usage();
		return stop(kpid, secs);
	}
	if (addr == NULL || out == NULL || optind >= argc)
		usage();
	if (loopback_addr("startwatch", addr, &sin) != 0)
		return 2;
	if (domain != NULL) {
		size_t plen = strlen(map) + 1 + strlen(domain);

		if (plen > 10000)
			usage();
		int n;

		req = malloc(plen + 16);
		if (req == NULL)
			return 2;
		n = snprintf(req, plen + 16, "%zu:%s %s,", plen, map, domain);
		if (n < 0 || (size_t)n >= plen + 16)
			usage();
	}
	unlink(out);

	t0 = now_ms();
	/* Double fork: the watcher is nobody's child but init's, so the server never sees it. */
	pid = fork();
	if (pid < 0) {
		perror("startwatch: fork");
		return 2;
	}
	if (pid == 0) {
		if (fork() == 0)
			watch(&sin, out, req, t0, (int)secs);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "startwatch: cannot run %s: %s\n", argv[optind], strerror(errno));
	return 2;
}
