/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_SYSD_H
#define MTASTSD_SYSD_H

#include <stddef.h>

/** What the daemon tells the service manager (systemd's sd_notify protocol). */
enum sysd_state {
	SYSD_READY =
	    0, /**< serving: listeners bound, cache open ("READY=1"); also after a reload */
	SYSD_RELOADING, /**< a SIGHUP reload starts ("RELOADING=1" with MONOTONIC_USEC) */
	SYSD_STOPPING,  /**< SIGTERM/SIGINT: stopping ("STOPPING=1") */
};

/**
 * Tell the service manager about a state change. Without NOTIFY_SOCKET in the environment (not
 * started by systemd as Type=notify), or in a build without libsystemd, nothing happens; a
 * failed send is not an error (the daemon serves either way).
 * @param st the new state
 */
void sysd_notify(enum sysd_state st);

/**
 * Show a line of text as the service's status ("STATUS=...", systemctl status), e.g. why the
 * start failed. Same conditions as sysd_notify().
 * @param text status text (NUL-terminated; a newline in it ends it)
 */
void sysd_notify_status(const char *text);

/**
 * Take the listening sockets passed by socket activation (LISTEN_PID/LISTEN_FDS, from
 * SD_LISTEN_FDS_START on), and unset those variables. Each must be a listening stream socket.
 * Call it before forking (LISTEN_PID names the process systemd started).
 * @param fds filled with the descriptors (the caller owns them from now on)
 * @param max size of fds
 * @param err message on failure @param errsz its size
 * @return the number of sockets (0: none passed), or -1: a passed descriptor is no listening
 *         stream socket, more than max were passed, or sockets were passed to a build without
 *         libsystemd
 */
int sysd_listen_fds(int *fds, unsigned max, char *err, size_t errsz);

#endif
