/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_SERVER_H
#define MTASTSD_SERVER_H

#include <stddef.h>

#include "cfg.h"

struct event_base;
struct lookups;
struct server;
struct metrics;

/**
 * Bind every listener of cfg (call before dropping privileges); cfg becomes the current
 * configuration. Its listeners, socket_mode and socket_group are used here, once: a later
 * configuration does not rebind.
 * @param base loop
 * @param cfg configuration (the server takes its own reference)
 * @param err message on failure @param errsz its size
 * @return server, caller frees with server_free(); NULL on failure
 */
struct server *server_new(struct event_base *base, struct cfg *cfg, char *err, size_t errsz);

/**
 * Start serving requests with the lookup engine.
 * @param s server @param ls engine (borrowed)
 * @param m counters of replies (by zone, status, source, latency) and connections
 *          (borrowed: must outlive the server), or NULL
 */
void server_start(struct server *s, struct lookups *ls, struct metrics *m);

/**
 * Make cfg the current configuration (a reload): requests parsed from now on use it and its
 * max_connections applies to the next accept; requests already parsed keep theirs.
 * @param s server
 * @param cfg configuration (the server takes its own reference and drops the old one's)
 */
void server_set_cfg(struct server *s, struct cfg *cfg);

/**
 * Close listeners and connections (pending waits are cancelled, every configuration
 * reference is dropped). @param s server or NULL
 */
void server_free(struct server *s);

#endif
