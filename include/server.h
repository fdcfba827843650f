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
 * Set up every listener of cfg (call before dropping privileges); cfg becomes the current
 * configuration. Its listeners, socket_mode and socket_group are used here, once: a later
 * configuration does not rebind. A listen value whose address one of the passed sockets
 * (socket activation) has is served on that socket, as it is (its mode and group are the
 * service manager's); every other one is bound here. A passed socket that matches no listen
 * value is an error.
 * @param base loop
 * @param cfg configuration (the server takes its own reference)
 * @param passed listening sockets from the service manager (sysd_listen_fds()); the server
 *        takes ownership of all of them, on failure too (those not yet in use are closed)
 * @param n_passed their number (0: none)
 * @param err message on failure @param errsz its size
 * @return server, caller frees with server_free(); NULL on failure
 */
struct server *server_new(struct event_base *base, struct cfg *cfg, const int *passed,
                          unsigned n_passed, char *err, size_t errsz);

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
