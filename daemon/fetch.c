/* SPDX-License-Identifier: MIT */
/*
 * fetch: capped HTTPS GET of MTA-STS policies with the libcurl multi interface on the libevent
 * loop. Effectful (E). At most FETCH_RUNNING_MAX run at once, the others wait in order (their
 * caller's deadline still counts). Owns the multi handle, one event per curl socket
 * (CURLMOPT_SOCKETFUNCTION, kept with curl_multi_assign) and one timer (CURLMOPT_TIMERFUNCTION).
 * RFC 8461 s3.3 on the transport: HTTPS only, no redirects followed, body capped at
 * STSPOLICY_MAX_BYTES and headers at FETCH_HEADERS_MAX (each aborted as soon as it is passed,
 * so a hostile host costs the same whatever libcurl's own caps), bounded total time, PKIX
 * validation of mta-sts.<domain> with SNI, TLS >= 1.2; proxies from the environment, cookies and
 * HTTP caches are not used. The addresses come from sts.c's lookups, formatted here for
 * CURLOPT_RESOLVE, so curl never resolves. It hands back status, media type and body (struct
 * sts_response); judging them (200 only, text/plain, the policy itself) is sts.c's job.
 * For mta-stsctl check only, fetch_start_tls() also records the handshake (struct sts_tls)
 * through OpenSSL callbacks that observe and never change the verdict, and fetch_start_plain()
 * fetches the same URL over plain HTTP on port 80 (to report what it serves); that mode is
 * compiled only with FETCH_PLAIN_HTTP, which mta-stsctl's build defines and mta-stsd's does not.
 */
#include "fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <event2/event.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
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
	struct event *trim; /* after a burst of fetches: give the freed heap back (fetch_on_trim) */
	char *ca_file;
	X509_STORE *store; /* the trust anchors, loaded at the first TLS context, then shared */
	long timeout_ms;
	LIST_HEAD(, fetch) active; /* every live handle, so fetch_free() can release them */
	TAILQ_HEAD(, fetch) queue; /* waiting for one of the FETCH_RUNNING_MAX places */
	unsigned running;          /* started (scheduled or in the multi handle) */
};

struct fetch {
	LIST_ENTRY(fetch) link;
	struct fetcher *f;
	CURL *easy;
	struct curl_slist *resolve;
	fetch_cb *cb;
	void *arg;
	struct event *start_ev; /* pending start; NULL once added to the multi handle */
	TAILQ_ENTRY(fetch) qlink;
	int state; /* FETCH_QUEUED, FETCH_STARTED */
	char *body;
	size_t len;
	int too_big;
	size_t hlen; /* response header bytes so far, 1xx responses included */
	int headers_too_big;
	char errbuf[CURL_ERROR_SIZE];
	struct sts_tls *tls; /* fetch_start_tls(): the caller's storage, else NULL */
#ifdef FETCH_PLAIN_HTTP
	fetch_plain_cb *plain_cb; /* fetch_start_plain(): called instead of cb */
#endif
};

/* Our cap on the response headers of a fetch, all responses (1xx too) together: a policy
 * host needs a few hundred bytes; 32 KiB leaves room for a CDN's and keeps what a hostile
 * host can make us hold independent of libcurl's version (300 KB since 8.3, none before). */
#define FETCH_HEADERS_MAX 32768

/* Fetches running at once; more wait their turn in order. A TLS handshake holds about 100 kB
 * (more with a hostile peer): this bounds the memory of a burst of first contacts, far above
 * what a burst needs to keep the loop busy (each fetch mostly waits on the network). */
#define FETCH_RUNNING_MAX 128
enum { FETCH_QUEUED = 1, FETCH_STARTED };

/* SSL_CTX ex_data slot holding the struct fetch (fetch_start_tls() only). */
static int fetch_ex_index = -1;

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

/* The trust anchors: ca_file, else libcurl's own default bundle and directory. Loaded once:
 * curl would otherwise parse the whole bundle for each fetch (a new SSL_CTX per connection),
 * about 25 ms of CPU per fetch with Debian's bundle. Loaded when first needed, not at start:
 * start-up stays fast, and -t and the start-up checks (envcheck.c) have vetted ca_file. */
static X509_STORE *
fetch_load_store(const char *ca_file)
{
	X509_STORE *st = X509_STORE_new();
	char *file = (char *)ca_file, *dir = NULL;
	CURL *probe = NULL;
	int ok;

	INVARIANT(st != NULL);
	if (file == NULL) {
		probe = curl_easy_init();
		INVARIANT(probe != NULL);
		(void)curl_easy_getinfo(probe, CURLINFO_CAINFO, &file);
		(void)curl_easy_getinfo(probe, CURLINFO_CAPATH, &dir);
	}
	ok = (file != NULL || dir != NULL) &&
	     (file == NULL || X509_STORE_load_file(st, file) == 1) &&
	     (dir == NULL || X509_STORE_load_path(st, dir) == 1);
	/* As curl sets on its own store: an intermediate in the bundle may anchor a chain. */
	X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
	if (!ok) {
		X509_STORE_free(st);
		st = NULL;
	}
	if (probe != NULL)
		curl_easy_cleanup(probe);
	return st;
}

/* A TLS handshake allocates a few hundred kB in small pieces (a context, the peer's chain);
 * 64 at once leave a heap of tens of MB that glibc keeps, fragmented, once they are freed.
 * A second after the last fetch of a burst ends, return the free pages to the system. */
static void
fetch_on_trim(evutil_socket_t fd, short what, void *arg)
{
	struct fetcher *f = arg;

	(void)fd;
	(void)what;
	if (!LIST_EMPTY(&f->active))
		return; /* busy again: the end of this burst arms it anew */
#ifdef __GLIBC__
	malloc_trim(0);
#endif
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
	f->ca_file = ca_file ? xstrndup(ca_file, strlen(ca_file)) : NULL;
	f->timer = evtimer_new(base, fetch_on_timer, f);
	f->trim = evtimer_new(base, fetch_on_trim, f);
	INVARIANT(f->timer != NULL && f->trim != NULL);
	f->timeout_ms = (long)timeout_s * 1000;
	LIST_INIT(&f->active);
	TAILQ_INIT(&f->queue);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, fetch_socket_cb);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, fetch_timer_cb);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	return f;
}

/* Give h one of the places: its start runs from the loop. */
static void
fetch_schedule(struct fetch *h)
{
	static const struct timeval zero = {0, 0};

	h->state = FETCH_STARTED;
	h->f->running++;
	evtimer_add(h->start_ev, &zero);
}

static void
fetch_release(struct fetch *h)
{
	struct fetcher *f = h->f;
	struct fetch *next;

	LIST_REMOVE(h, link);
	if (h->state == FETCH_QUEUED) {
		TAILQ_REMOVE(&f->queue, h, qlink);
	} else if (h->state == FETCH_STARTED) {
		f->running--;
		if ((next = TAILQ_FIRST(&f->queue)) != NULL) {
			TAILQ_REMOVE(&f->queue, next, qlink);
			fetch_schedule(next);
		}
	}
	if (h->start_ev != NULL)
		event_free(h->start_ev);
	if (h->easy != NULL) {
		struct curl_tlssessioninfo *ti = NULL;

		/* A TLS-recording handle: its SSL_CTX points at h. A connection that outlives the
		 * handle (curl >= 8.9 shuts connections down in the background) must not call into
		 * freed memory: detach it first. */
		if (h->tls != NULL &&
		    curl_easy_getinfo(h->easy, CURLINFO_TLS_SSL_PTR, &ti) == CURLE_OK &&
		    ti != NULL && ti->backend == CURLSSLBACKEND_OPENSSL && ti->internals != NULL) {
			SSL_CTX *ctx = SSL_get_SSL_CTX((SSL *)ti->internals);

			SSL_set_msg_callback((SSL *)ti->internals, NULL);
			if (ctx != NULL) {
				SSL_CTX_set_msg_callback(ctx, NULL);
				(void)SSL_CTX_set_ex_data(ctx, fetch_ex_index, NULL);
			}
		}
		curl_multi_remove_handle(h->f->multi, h->easy);
		curl_easy_cleanup(h->easy);
	}
	curl_slist_free_all(h->resolve);
	free(h->body);
	if (LIST_EMPTY(&f->active) && !evtimer_pending(f->trim, NULL)) {
		static const struct timeval second = {1, 0};

		evtimer_add(f->trim, &second);
	}
	free(h);
}

/* ---- the handshake record of fetch_start_tls() ---- */

/* Printable ASCII copy of at most len bytes of peer text (certificate fields). */
static void
tls_copy(char *dst, size_t dstsz, const unsigned char *src, size_t len)
{
	size_t n = len < dstsz - 1 ? len : dstsz - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[n] = '\0';
}

/* An ASN1 time as Unix time (ASN1_TIME_diff from the epoch needs no timegm()). */
static int64_t
tls_time(const ASN1_TIME *t)
{
	ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
	int day = 0, sec = 0;
	int ok = epoch != NULL && t != NULL && ASN1_TIME_diff(&day, &sec, epoch, t);

	ASN1_TIME_free(epoch);
	return ok ? (int64_t)day * 86400 + sec : 0;
}

/* A DNS name from the certificate, or 0 when it cannot be one (a NUL inside, too long). */
static int
tls_name(const ASN1_STRING *a, char out[DNAME_MAX + 1])
{
	const unsigned char *d = ASN1_STRING_get0_data(a);
	int len = ASN1_STRING_length(a);

	if (d == NULL || len <= 0 || len > DNAME_MAX || memchr(d, '\0', (size_t)len) != NULL)
		return 0;
	tls_copy(out, DNAME_MAX + 1, d, (size_t)len);
	return 1;
}

static void
tls_read_cert(struct sts_tls *t, X509 *x)
{
	X509_NAME *subj = X509_get_subject_name(x);
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int cn = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	char line[STS_TLS_TEXT_MAX];

	t->have_cert = 1;
	t->not_before = tls_time(X509_get0_notBefore(x));
	t->not_after = tls_time(X509_get0_notAfter(x));
	if (X509_NAME_oneline(subj, line, sizeof(line)) != NULL)
		tls_copy(t->subject, sizeof(t->subject), (const unsigned char *)line, strlen(line));
	if (X509_NAME_oneline(X509_get_issuer_name(x), line, sizeof(line)) != NULL)
		tls_copy(t->issuer, sizeof(t->issuer), (const unsigned char *)line, strlen(line));
	if (cn >= 0 && !tls_name(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, cn)), t->cn))
		t->cn[0] = '\0';
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_DNS)
			continue;
		t->n_names_total++;
		if (t->n_names < STS_TLS_NAMES_MAX && tls_name(g->d.dNSName, t->names[t->n_names]))
			t->n_names++;
	}
	GENERAL_NAMES_free(gens);
}

/* Called by OpenSSL for each certificate of the chain; returns OpenSSL's own verdict, so
 * verification is exactly what curl set up. The first failure is the one curl reports. */
static int
fetch_verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct fetch *h =
	    ssl != NULL ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), fetch_ex_index) : NULL;
	struct sts_tls *t = h != NULL ? h->tls : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(sctx);

	if (t == NULL)
		return ok;
	if (!t->have_cert && leaf != NULL) {
		/* The ServerHello is processed: the version is the negotiated one. */
		const char *v = SSL_get_version(ssl);

		tls_copy(t->version, sizeof(t->version), (const unsigned char *)v, strlen(v));
		tls_read_cert(t, leaf);
	}
	if (!ok && t->verify_why[0] == '\0') {
		int err = X509_STORE_CTX_get_error(sctx),
		    depth = X509_STORE_CTX_get_error_depth(sctx);

		(void)snprintf(t->verify_why, sizeof(t->verify_why), "%s%s",
		               X509_verify_cert_error_string(err),
		               depth > 0 ? " (in the chain above the server certificate)" : "");
		t->verify_dates = depth == 0 && (err == X509_V_ERR_CERT_HAS_EXPIRED ||
		                                 err == X509_V_ERR_CERT_NOT_YET_VALID);
	}
	return ok;
}

/* Every TLS message: a protocol_version alert, sent or received, means no common version. */
static void
fetch_msg_cb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
             void *arg)
{
	struct fetch *h = arg;
	const unsigned char *b = buf;

	(void)write_p;
	(void)version;
	(void)ssl;
	if (content_type == SSL3_RT_ALERT && len >= 2 && b[1] == SSL_AD_PROTOCOL_VERSION)
		h->tls->version_refused = 1;
}

/* CURLOPT_SSL_CTX_FUNCTION: curl has configured verification with no anchors; give it the
 * shared ones, and for fetch_start_tls() add observers that keep its verdict. */
static CURLcode
fetch_ctx_cb(CURL *easy, void *sslctx, void *userptr)
{
	SSL_CTX *ctx = sslctx;
	struct fetch *h = userptr;

	(void)easy;
	if (h->f->store == NULL && (h->f->store = fetch_load_store(h->f->ca_file)) == NULL)
		return CURLE_SSL_CACERT_BADFILE; /* tried again at the next fetch */
	SSL_CTX_set1_cert_store(ctx, h->f->store);
	if (h->tls == NULL)
		return CURLE_OK;
	if (SSL_CTX_set_ex_data(ctx, fetch_ex_index, userptr) != 1)
		return CURLE_SSL_CERTPROBLEM;
	SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), fetch_verify_cb);
	SSL_CTX_set_msg_callback(ctx, fetch_msg_cb);
	SSL_CTX_set_msg_callback_arg(ctx, userptr);
	return CURLE_OK;
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
	event_free(f->trim);
	X509_STORE_free(f->store);
	free(f->ca_file);
	free(f);
}

void
fetch_reload_anchors(struct fetcher *f)
{
	X509_STORE_free(f->store); /* each TLS context holds its own reference */
	f->store = NULL;
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

static size_t
fetch_header_cb(char *ptr, size_t size, size_t nitems, void *userdata)
{
	struct fetch *h = userdata;
	size_t n = size * nitems;

	(void)ptr;
	/* A short count fails the transfer at once (CURLE_WRITE_ERROR). */
	if (n > FETCH_HEADERS_MAX - h->hlen) {
		h->headers_too_big = 1;
		return 0;
	}
	h->hlen += n;
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

/* Hand the result to the caller's callback (the plain-HTTP one with the Location). */
static void
fetch_deliver(struct fetch *h, const struct sts_response *r)
{
#ifdef FETCH_PLAIN_HTTP
	if (h->plain_cb != NULL) {
		char *loc = NULL;

		if (r->error == NULL && h->easy != NULL)
			curl_easy_getinfo(h->easy, CURLINFO_REDIRECT_URL, &loc);
		h->plain_cb(h->arg, r, loc);
		return;
	}
#endif
	h->cb(h->arg, r);
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
	} else if (h->headers_too_big) {
		snprintf(why, sizeof(why), "response headers over %d bytes", FETCH_HEADERS_MAX);
		r.error = why;
		r.fail = STS_FETCH_TOO_LARGE;
	} else if (rc == CURLE_OUT_OF_MEMORY && h->errbuf[0] == '\0') {
		/* libcurl's word also for a header line past its 100 KB line cap, which a hostile
		 * host reaches at will; say both, so the log does not read as our own trouble. */
		r.error = "out of memory in libcurl, or a response header line over its 100 KB cap";
		r.fail = STS_FETCH_ERROR;
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
	/* The callback saw OpenSSL's verdict on every certificate of the chain. Not
	 * CURLINFO_SSL_VERIFYRESULT: curl files its own host-name check there too, and the name
	 * is judged apart (checkrule_cert_names_match()). */
	if (h->tls != NULL && h->tls->have_cert)
		h->tls->verified = h->tls->verify_why[0] == '\0';
	fetch_deliver(h, &r);
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

		fetch_deliver(h, &r);
		curl_easy_cleanup(h->easy);
		h->easy = NULL;
		fetch_release(h);
	}
}

/* "+mta-sts.<domain>:PORT:a,b,[c]" for CURLOPT_RESOLVE; 0 if it does not fit. The '+' lets
 * the entry expire from the multi handle's shared DNS cache like a resolved one: without it
 * each fetched domain would stay there for the life of the daemon. */
static int
fetch_resolve_entry(const struct sts_fetch *req, int port, char *out, size_t outsz)
{
	size_t o;
	int n = snprintf(out, outsz, "+mta-sts.%s:%d:", req->domain, port);

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

/* plain: 1 only from fetch_start_plain() (a literal 0 everywhere else): http on port 80. */
static struct fetch *
fetch_begin(struct fetcher *f, const struct sts_fetch *req, int plain, struct sts_tls *tls,
            fetch_cb *cb, void *arg)
{
	struct fetch *h = xcalloc(1, sizeof(*h));
	char url[DNAME_MAX + 64], res[DNAME_MAX + 32 + STS_ADDRS_MAX * (INET6_ADDRSTRLEN + 3)];
	CURL *e;

	h->f = f;
	LIST_INSERT_HEAD(&f->active, h, link);
	h->cb = cb;
	h->arg = arg;
#ifndef FETCH_PLAIN_HTTP
	INVARIANT(!plain); /* the daemon's build: a policy is fetched over HTTPS only */
#endif
	INVARIANT(!plain || tls == NULL);
	/* Both fit by construction (a normalised domain, at most STS_ADDRS_MAX addresses). */
	INVARIANT(snprintf(url, sizeof(url), "%s://mta-sts.%s/.well-known/mta-sts.txt",
	                   plain ? "http" : "https", req->domain) < (int)sizeof(url));
	INVARIANT(fetch_resolve_entry(req, plain ? 80 : 443, res, sizeof(res)));
	h->resolve = curl_slist_append(NULL, res);
	INVARIANT(h->resolve != NULL);
	e = h->easy = curl_easy_init();
	INVARIANT(e != NULL);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, h);
	curl_easy_setopt(e, CURLOPT_RESOLVE, h->resolve);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, plain ? "http" : "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	/* No file for curl to parse at each connection: fetch_ctx_cb() sets the loaded store. */
	curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	/* Nor a store of curl's own cache (CURLOPT_CA_CACHE_TIMEOUT, curl >= 7.87), which curl
	 * 7.88 fills with the first context's store, ours, and puts back in each new context
	 * after fetch_ctx_cb(): a reloaded bundle would never be used. */
	curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, fetch_ctx_cb);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, h);
	curl_easy_setopt(e, CURLOPT_PROXY, ""); /* ignore *_proxy environment variables */
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, f->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, f->timeout_ms);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)STSPOLICY_MAX_BYTES);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fetch_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, fetch_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "mta-stsd/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	/* RFC 8461 s3.3: no HTTP caching of policies; a fresh connection per fetch is simplest. */
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	/* No session kept for resumption: each policy host is fetched once per refresh, hours
	 * apart, and for fetch_start_tls() a resumed session would show no certificate. */
	curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	if (tls != NULL) {
		memset(tls, 0, sizeof(*tls));
		h->tls = tls;
		if (fetch_ex_index < 0)
			fetch_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		INVARIANT(fetch_ex_index >= 0);
	}
	h->start_ev = evtimer_new(f->base, fetch_on_start, h);
	INVARIANT(h->start_ev != NULL);
	if (f->running < FETCH_RUNNING_MAX) {
		fetch_schedule(h);
	} else {
		h->state = FETCH_QUEUED;
		TAILQ_INSERT_TAIL(&f->queue, h, qlink);
	}
	return h;
}

struct fetch *
fetch_start(struct fetcher *f, const struct sts_fetch *req, fetch_cb *cb, void *arg)
{
	return fetch_begin(f, req, 0, NULL, cb, arg);
}

struct fetch *
fetch_start_tls(struct fetcher *f, const struct sts_fetch *req, struct sts_tls *tls, fetch_cb *cb,
                void *arg)
{
	return fetch_begin(f, req, 0, tls, cb, arg);
}

#ifdef FETCH_PLAIN_HTTP
struct fetch *
fetch_start_plain(struct fetcher *f, const struct sts_fetch *req, unsigned timeout_s,
                  fetch_plain_cb *cb, void *arg)
{
	long ms = (long)timeout_s * 1000;
	struct fetch *h;

	INVARIANT(cb != NULL);
	if (ms <= 0 || ms > f->timeout_ms)
		ms = f->timeout_ms;
	/* cb NULL: fetch_deliver() calls plain_cb, set before the transfer can start (the
	 * handle joins the multi handle from the event loop, not here). */
	h = fetch_begin(f, req, 1, NULL, NULL, arg);
	h->plain_cb = cb;
	curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS, ms);
	return h;
}
#endif

void
fetch_cancel(struct fetch *h)
{
	if (h != NULL)
		fetch_release(h);
}
