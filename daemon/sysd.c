/* SPDX-License-Identifier: MIT */
/*
 * sysd: the service manager's side channels, through libsystemd. Effectful (E).
 * Readiness (sd_notify): READY=1 once listeners are bound and the cache is open, RELOADING=1
 * (with MONOTONIC_USEC, which systemd >= 253 wants for Type=notify-reload and older ones
 * ignore) then READY=1 around a SIGHUP reload, STOPPING=1 at SIGTERM, STATUS= with the reason
 * of a failed start. Socket activation (sd_listen_fds): the passed listening sockets, checked
 * to be stream sockets that listen; server.c matches them to listen values by address.
 * Built --without-systemd, notifications are no-ops and passed sockets are refused (better
 * than binding the same addresses and failing with "Address already in use").
 */
#include "sysd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

void
sysd_notify(enum sysd_state st)
{
#ifdef HAVE_SYSTEMD
	struct timespec ts;

	switch (st) {
	case SYSD_READY:
		(void)sd_notify(0, "READY=1\nSTATUS=serving");
		break;
	case SYSD_RELOADING:
		/* systemd matches the reload it asked for against this timestamp. */
		(void)clock_gettime(CLOCK_MONOTONIC, &ts);
		(void)sd_notifyf(0, "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu",
		                 (unsigned long long)ts.tv_sec * 1000000ULL +
		                     (unsigned long long)ts.tv_nsec / 1000ULL);
		break;
	case SYSD_STOPPING:
		(void)sd_notify(0, "STOPPING=1\nSTATUS=stopping");
		break;
	}
#else
	(void)st;
#endif
}

void
sysd_notify_status(const char *text)
{
#ifdef HAVE_SYSTEMD
	(void)sd_notifyf(0, "STATUS=%s", text);
#else
	(void)text;
#endif
}

int
sysd_listen_fds(int *fds, unsigned max, char *err, size_t errsz)
{
#ifdef HAVE_SYSTEMD
	int n = sd_listen_fds(1);

	if (n < 0) {
		snprintf(err, errsz, "socket activation: LISTEN_FDS unusable: %s", strerror(-n));
		return -1;
	}
	if ((unsigned)n > max) {
		snprintf(err, errsz, "socket activation: %d sockets passed, at most %u used", n,
		         max);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			snprintf(
			    err, errsz,
			    "socket activation: passed descriptor %d is not a listening stream "
			    "socket",
			    fd);
			return -1;
		}
		fds[i] = fd;
	}
	return n;
#else
	const char *pid = getenv("LISTEN_PID");
	char self[32];

	(void)fds;
	(void)max;
	/* Sockets meant for this process (not an inherited, stale environment). */
	snprintf(self, sizeof(self), "%ld", (long)getpid());
	if (pid != NULL && strcmp(pid, self) == 0 && getenv("LISTEN_FDS") != NULL) {
		snprintf(err, errsz,
		         "socket activation: sockets passed, but mta-stsd was built "
		         "--without-systemd");
		return -1;
	}
	return 0;
#endif
}
