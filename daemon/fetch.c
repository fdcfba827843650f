/* SPDX-License-Identifier: MIT */
/*
 * fetch: capped HTTPS GET of MTA-STS policies with the libcurl multi interface on the libevent
 * loop. Effectful (E). Owns the multi handle, one event per curl socket (CURLMOPT_SOCKETFUNCTION,
 * kept with curl_multi_assign) and one timer (CURLMOPT_TIMERFUNCTION).
 * RFC 8461 s3.3 on the transport: HTTPS only, no redirects followed, body capped at
 * STSPOLICY_MAX_BYTES (aborted as soon as it is passed), bounded total time, PKIX validation
 * of mta-sts.<domain> with SNI, TLS >= 1.2; proxies from the environment, cookies and HTTP
 * caches are not used. The addresses come from sts.c's lookups, formatted here for
 * CURLOPT_RESOLVE, so curl never resolves. It hands back status, media type and body (struct
 * sts_response); judging them (200 only, text/plain, the policy itself) is sts.c's job.
 */
#include "fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "dname.h"
#include "stspolicy.h"
#include "xalloc.h"

struct fetcher {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	char *ca_file;
	long timeout_ms;
	LIST_HEAD(, fetch) active; /* every live handle, so fetch_free() can release them */
};

struct fetch {
	LIST_ENTRY(fetch) link;
	struct fetcher *f;
	CURL *easy;
	struct curl_slist *resolve;
	fetch_cb *cb;
	void *arg;
	struct event *start_ev; /* pending start; NULL once added to the multi handle */
	char *body;
	size_t len;
	int too_big;
	char errbuf[CURL_ERROR_SIZE];
};

struct sockctx {
	struct event *ev;
};

static void fetch_check_done(struct fetcher *f);

static void
fetch_on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct fetcher *f = arg;
	int running, action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(f->multi, fd, action, &running);
	fetch_check_done(f);
}

static void
fetch_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct fetcher *f = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	fetch_check_done(f);
}

static int
fetch_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct fetcher *f = userp;
	struct sockctx *ctx = socketp;
	short kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (ctx != NULL) {
			event_free(ctx->ev);
			free(ctx);
			curl_multi_assign(f->multi, s, NULL);
		}
		return 0;
	}
	kind = (short)(EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	               ((what & CURL_POLL_OUT) ? EV_WRITE : 0));
	if (ctx == NULL) {
		ctx = xcalloc(1, sizeof(*ctx));
		curl_multi_assign(f->multi, s, ctx);
	} else {
		event_free(ctx->ev);
	}
	ctx->ev = event_new(f->base, s, kind, fetch_on_socket, f);
	INVARIANT(ctx->ev != NULL);
	event_add(ctx->ev, NULL);
	return 0;
}

static int
fetch_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct fetcher *f = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(f->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(f->timer, &tv);
	return 0;
}

struct fetcher *
fetch_new(struct event_base *base, const char *ca_file, unsigned timeout_s, char *err, size_t errsz)
{
	struct fetcher *f;
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK) {
		snprintf(err, errsz, "curl init: %s", curl_easy_strerror(rc));
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->base = base;
	f->multi = curl_multi_init();
	if (f->multi == NULL) {
		snprintf(err, errsz, "curl multi init failed");
		free(f);
		return NULL;
	}
	f->timer = evtimer_new(base, fetch_on_timer, f);
	INVARIANT(f->timer != NULL);
	f->ca_file = ca_file ? xstrndup(ca_file, strlen(ca_file)) : NULL;
	f->timeout_ms = (long)timeout_s * 1000;
	LIST_INIT(&f->active);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, fetch_socket_cb);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, fetch_timer_cb);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	return f;
}

static void
fetch_release(struct fetch *h)
{
	LIST_REMOVE(h, link);
	if (h->start_ev != NULL)
		event_free(h->start_ev);
	if (h->easy != NULL) {
		curl_multi_remove_handle(h->f->multi, h->easy);
		curl_easy_cleanup(h->easy);
	}
	curl_slist_free_all(h->resolve);
	free(h->body);
	free(h);
}

void
fetch_free(struct fetcher *f)
{
	if (f == NULL)
		return;
	/* Owners cancel their fetches first; this is the safety net at shutdown. */
	while (!LIST_EMPTY(&f->active))
		fetch_release(LIST_FIRST(&f->active));
	curl_multi_cleanup(f->multi);
	event_free(f->timer);
	free(f->ca_file);
	free(f);
}

static size_t
fetch_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct fetch *h = userdata;
	size_t n = size * nmemb;

	/* Abort as soon as the cap is passed: returning a short count fails the transfer. */
	if (n > STSPOLICY_MAX_BYTES - h->len) {
		h->too_big = 1;
		return 0;
	}
	h->body = xrealloc(h->body, h->len + n + 1);
	memcpy(h->body + h->len, ptr, n);
	h->len += n;
	return n;
}

/* The class of a transport failure, for metrics (the log keeps curl's text). */
static enum sts_fetch_result
fetch_fail_class(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return STS_FETCH_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return STS_FETCH_CONNECT;
	case CURLE_FILESIZE_EXCEEDED:
		return STS_FETCH_TOO_LARGE;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return STS_FETCH_TLS;
	default:
		return STS_FETCH_ERROR;
	}
}

static void
fetch_finish(struct fetch *h, CURLcode rc)
{
	char why[CURL_ERROR_SIZE + 64];
	struct sts_response r = {NULL, 0, NULL, h->body ? h->body : "", h->len, STS_FETCH_NONE};

	if (h->too_big) {
		snprintf(why, sizeof(why), "policy body over %d bytes", STSPOLICY_MAX_BYTES);
		r.error = why;
		r.fail = STS_FETCH_TOO_LARGE;
	} else if (rc != CURLE_OK) {
		/* curl's message, cut to the buffer: the cause is still readable. */
		(void)snprintf(why, sizeof(why), "%s%s%s", curl_easy_strerror(rc),
		               h->errbuf[0] ? ": " : "", h->errbuf);
		r.error = why;
		r.fail = fetch_fail_class(rc);
	} else {
		curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &r.status);
		curl_easy_getinfo(h->easy, CURLINFO_CONTENT_TYPE, (char **)&r.ctype);
	}
	h->cb(h->arg, &r);
	fetch_release(h); /* the handle is dead once the callback has returned */
}

static void
fetch_check_done(struct fetcher *f)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
		struct fetch *h = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&h);
		INVARIANT(h != NULL);
		fetch_finish(h, msg->data.result);
	}
}

static void
fetch_on_start(evutil_socket_t fd, short what, void *arg)
{
	struct fetch *h = arg;
	CURLMcode mrc;

	(void)fd;
	(void)what;
	event_free(h->start_ev);
	h->start_ev = NULL;
	mrc = curl_multi_add_handle(h->f->multi, h->easy);
	if (mrc != CURLM_OK) {
		struct sts_response r = {curl_multi_strerror(mrc), 0, NULL, "", 0, STS_FETCH_ERROR};

		h->cb(h->arg, &r);
		curl_easy_cleanup(h->easy);
		h->easy = NULL;
		fetch_release(h);
	}
}

/* "mta-sts.<domain>:443:a,b,[c]" for CURLOPT_RESOLVE; 0 if it does not fit. */
static int
fetch_resolve_entry(const struct sts_fetch *req, char *out, size_t outsz)
{
	size_t o;
	int n = snprintf(out, outsz, "mta-sts.%s:443:", req->domain);

	if (n < 0 || (size_t)n >= outsz)
		return 0;
	o = (size_t)n;
	for (unsigned i = 0; i < req->n_addrs; i++) {
		char a[INET6_ADDRSTRLEN];
		int v6 = req->addrs[i].family == 6;

		if (inet_ntop(v6 ? AF_INET6 : AF_INET, req->addrs[i].bytes, a, sizeof(a)) == NULL)
			return 0;
		n = snprintf(out + o, outsz - o, "%s%s%s%s", i ? "," : "", v6 ? "[" : "", a,
		             v6 ? "]" : "");
		if (n < 0 || (size_t)n >= outsz - o)
			return 0;
		o += (size_t)n;
	}
	return 1;
}

struct fetch *
fetch_start(struct fetcher *f, const struct sts_fetch *req, fetch_cb *cb, void *arg)
{
	static const struct timeval zero = {0, 0};
	struct fetch *h = xcalloc(1, sizeof(*h));
	char url[DNAME_MAX + 64], res[DNAME_MAX + 32 + STS_ADDRS_MAX * (INET6_ADDRSTRLEN + 3)];
	CURL *e;

	h->f = f;
	LIST_INSERT_HEAD(&f->active, h, link);
	h->cb = cb;
	h->arg = arg;
	/* Both fit by construction (a normalised domain, at most STS_ADDRS_MAX addresses). */
	INVARIANT(snprintf(url, sizeof(url), "https://mta-sts.%s/.well-known/mta-sts.txt",
	                   req->domain) < (int)sizeof(url));
	INVARIANT(fetch_resolve_entry(req, res, sizeof(res)));
	h->resolve = curl_slist_append(NULL, res);
	INVARIANT(h->resolve != NULL);
	e = h->easy = curl_easy_init();
	INVARIANT(e != NULL);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, h);
	curl_easy_setopt(e, CURLOPT_RESOLVE, h->resolve);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (f->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, f->ca_file);
	curl_easy_setopt(e, CURLOPT_PROXY, ""); /* ignore *_proxy environment variables */
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, f->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, f->timeout_ms);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)STSPOLICY_MAX_BYTES);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fetch_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "mta-stsd/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	/* RFC 8461 s3.3: no HTTP caching of policies; a fresh connection per fetch is simplest. */
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	h->start_ev = evtimer_new(f->base, fetch_on_start, h);
	INVARIANT(h->start_ev != NULL);
	evtimer_add(h->start_ev, &zero);
	return h;
}

void
fetch_cancel(struct fetch *h)
{
	if (h != NULL)
		fetch_release(h);
}
