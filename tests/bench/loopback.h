/* SPDX-License-Identifier: MIT */
/*
 * loopback.h: "127.x.y.z:PORT" to a socket address, for the bench and fault tools (smload,
 * ceiling, startwatch, smabuse), which only ever talk to loopback: anything outside
 * 127.0.0.0/8 is refused. Header-only (each tool is one file, built on its own).
 */
#ifndef MTASTSD_LOOPBACK_H
#define MTASTSD_LOOPBACK_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 0, or -1 with a message naming prog on stderr. */
static int
loopback_addr(const char *prog, const char *addr, struct sockaddr_in *sin)
{
	const char *colon = strrchr(addr, ':');
	char host[64], *end;
	long port;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
		fprintf(stderr, "%s: %s: expected 127.x.y.z:PORT\n", prog, addr);
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "%s: %s: bad port\n", prog, addr);
		return -1;
	}
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
	    (ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "%s: %s is not a 127.0.0.0/8 address\n", prog, host);
		return -1;
	}
	return 0;
}

#endif
