/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_SERVER_H
#define MTASTSD_SERVER_H

#include <stddef.h>

#include "cfg.h"

struct event_base;
struct lookups;
struct server;

/**
 * Bind every configured listener (call before dropping privileges).
 * @param base loop @param cfg configuration (borrowed for the server's life)
 * @param err message on failure @param errsz its size
 * @return server, caller frees with server_free(); NULL on failure
 */
struct server *server_new(struct event_base *base, struct cfg *cfg, char *err, size_t errsz);

/** Start serving requests with the lookup engine. @param s server @param ls engine (borrowed) */
void server_start(struct server *s, struct lookups *ls);

/** Close listeners and connections (pending waits are cancelled). @param s server or NULL */
void server_free(struct server *s);

#endif
