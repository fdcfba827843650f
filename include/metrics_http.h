/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_METRICS_HTTP_H
#define MTASTSD_METRICS_HTTP_H

#include <stddef.h>

struct event_base;
struct metrics;
struct metrics_http;

#define METRICS_HTTP_HEADERS_MAX 8192 /**< request line + headers, bytes (evhttp's cap) */
#define METRICS_HTTP_BODY_MAX 1024    /**< request body, bytes: a scrape sends none */
#define METRICS_HTTP_TIMEOUT 10       /**< seconds an idle or slow connection may stay */

/**
 * Serve the Prometheus exposition of m at GET /metrics on addr, on the daemon's loop (evhttp).
 * Other paths get 404, other methods 405; headers and body over the caps are refused by
 * evhttp (413/400), an idle connection closes after METRICS_HTTP_TIMEOUT s. The text is
 * rendered at each request from the counters (a few hundred lines, no cache walk) and sent
 * without waiting: a slow reader never holds up the socketmap connections.
 * @param base loop @param addr "inet:HOST:PORT" (cfg_listen_parse() form; bind before
 *        dropping privileges) @param m counters (borrowed: must outlive the server)
 * @param err message on failure @param errsz its size
 * @return server, caller frees with metrics_http_free(); NULL on failure (err filled)
 */
struct metrics_http *metrics_http_new(struct event_base *base, const char *addr,
                                      const struct metrics *m, char *err, size_t errsz);

/** Called before each exposition is rendered. @param arg its argument */
typedef void metrics_http_scrape_cb(void *arg);

/**
 * Have cb run before each exposition is rendered, to set gauges read elsewhere (the cache's
 * counts, say). @param h server @param cb callback or NULL @param arg its argument
 */
void metrics_http_on_scrape(struct metrics_http *h, metrics_http_scrape_cb *cb, void *arg);

/** Close the listener and every connection. @param h server or NULL (no-op) */
void metrics_http_free(struct metrics_http *h);

#endif
