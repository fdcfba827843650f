/* SPDX-License-Identifier: MIT */
/*
 * metrics_http: the Prometheus endpoint, GET /metrics over plain HTTP with libevent's evhttp
 * on the daemon's one loop. Effectful (E). Owns the evhttp server and its listener (bound from
 * a cfg_listen_parse() address, inet only). Each request is answered at once from the
 * counters (metrics_render(), pure): 200 with text/plain; version=0.0.4 for GET /metrics, 404
 * for any other path, 405 for any other method. Caps: METRICS_HTTP_HEADERS_MAX of headers,
 * METRICS_HTTP_BODY_MAX of body (evhttp refuses more), METRICS_HTTP_TIMEOUT s per idle or
 * slow connection. Replies go out through evhttp's buffers, so a slow or stuck scraper
 * never blocks the loop the socketmap connections share. No authentication: the
 * configuration documents binding to loopback. What is counted is metrics.c's business.
 */
#include "metrics_http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "log.h"
#include "metrics.h"
#include "xalloc.h"

struct metrics_http {
	struct evhttp *http;
	const struct metrics *m;
	struct strbuf text; /* reused between scrapes: steady state allocates nothing here */
	metrics_http_scrape_cb *on_scrape;
	void *on_scrape_arg;
};

static void
metrics_http_plain(struct evhttp_request *req, int code, const char *reason, const char *body)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);

	evhttp_add_header(hdr, "Content-Type", "text/plain; charset=utf-8");
	if (code == 405)
		evhttp_add_header(hdr, "Allow", "GET");
	evbuffer_add(out, body, strlen(body));
	evhttp_send_reply(req, code, reason, NULL);
}

static void
metrics_http_on_request(struct evhttp_request *req, void *arg)
{
	struct metrics_http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct evkeyvalq *hdr;

	if (path == NULL || strcmp(path, "/metrics") != 0) {
		metrics_http_plain(req, 404, "Not Found", "not found: try /metrics\n");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		metrics_http_plain(req, 405, "Method Not Allowed", "method not allowed: use GET\n");
		return;
	}
	if (h->on_scrape != NULL)
		h->on_scrape(h->on_scrape_arg);
	strbuf_reset(&h->text);
	if (metrics_render(h->m, &h->text) != 0) {
		/* Cannot happen below the cap (bounded series); never serve a cut exposition. */
		log_err("stage=metrics err=\"exposition over %d bytes\"", METRICS_RENDER_MAX);
		metrics_http_plain(req, 500, "Internal Server Error", "exposition too large\n");
		return;
	}
	hdr = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdr, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evbuffer_add(evhttp_request_get_output_buffer(req), h->text.data, h->text.len);
	evhttp_send_reply(req, 200, "OK", NULL);
}

struct metrics_http *
metrics_http_new(struct event_base *base, const char *addr, const struct metrics *m, char *err,
                 size_t errsz)
{
	struct metrics_http *h;
	struct evconnlistener *lev;
	struct cfg_listen l;
	enum cfg_listen_err e = cfg_listen_parse(addr, &l);

	if (e != CFG_LISTEN_OK || l.kind != CFG_LISTEN_INET) {
		snprintf(err, errsz, "metrics %s: %s", addr,
		         e != CFG_LISTEN_OK ? cfg_listen_strerror(e) : "not an inet address");
		return NULL;
	}
	lev = evconnlistener_new_bind(
	    base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 16,
	    (const struct sockaddr *)&l.addr, (int)l.addrlen);
	if (lev == NULL) {
		snprintf(err, errsz, "metrics %s: %s", addr, strerror(errno));
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	h->m = m;
	strbuf_init(&h->text, METRICS_RENDER_MAX);
	h->http = evhttp_new(base);
	INVARIANT(h->http != NULL);
	/* Every method reaches the callback, which answers 405 (evhttp alone would say 501). */
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                        EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                                        EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(h->http, METRICS_HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(h->http, METRICS_HTTP_BODY_MAX);
	evhttp_set_timeout(h->http, METRICS_HTTP_TIMEOUT);
	evhttp_set_gencb(h->http, metrics_http_on_request, h);
	/* From here the evhttp owns the listener (LEV_OPT_CLOSE_ON_FREE: evhttp_free closes it). */
	if (evhttp_bind_listener(h->http, lev) == NULL) {
		snprintf(err, errsz, "metrics %s: cannot attach the listener", addr);
		evconnlistener_free(lev);
		metrics_http_free(h);
		return NULL;
	}
	log_info("stage=metrics event=listen address=%s path=/metrics", addr);
	return h;
}

void
metrics_http_on_scrape(struct metrics_http *h, metrics_http_scrape_cb *cb, void *arg)
{
	h->on_scrape = cb;
	h->on_scrape_arg = arg;
}

void
metrics_http_free(struct metrics_http *h)
{
	if (h == NULL)
		return;
	evhttp_free(h->http);
	strbuf_fini(&h->text);
	free(h);
}
