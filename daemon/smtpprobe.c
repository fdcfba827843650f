/* SPDX-License-Identifier: MIT */
/*
 * smtpprobe: the STARTTLS probe of `mta-stsctl check` (dimension 6). Effectful (E), linked
 * into mta-stsctl only. For each MX host: A then AAAA through the daemon's resolver (read by
 * sts_addr_read()), a TCP connection to port 25 (the next address when one refuses), the
 * dialogue of smtpdlg.c (greeting, EHLO, STARTTLS, QUIT: never MAIL FROM) on a libevent
 * bufferevent, and after "220" to STARTTLS a TLS client (bufferevent_openssl filter over the
 * same connection, SNI = the MX host) whose handshake completes whatever the certificate:
 * OpenSSL still verifies the chain against the CA file and keeps the result, which is
 * reported, with the leaf's DNS names (subjectAltName dNSNames, else the CN), its notAfter,
 * the protocol version and, for DANE (dimension 8), the presented chain's certificates and
 * keys (DER, SHA2-256, SHA2-512). It judges nothing: checkrule_smtp() and checkrule_dane()
 * do. Limits: SMTPPROBE_PARALLEL hosts at once, SMTPPROBE_HOST_TIMEOUT per host (address
 * lookup included), SMTPPROBE_READ_MAX bytes buffered, CHECKRULE_CERT_NAMES_MAX names and
 * CHECKRULE_CHAIN_MAX certificates kept.
 */
#include "smtpprobe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnsmsg.h"
#include "smtpdlg.h"
#include "sts.h"
#include "xalloc.h"

enum host_state { H_WAITING = 0, H_RESOLVING, H_TALKING, H_DONE };

struct probe_host {
	struct smtpprobe *p;
	struct checkrule_smtp *out;
	enum host_state st;
	struct resolver_query *q4, *q6;
	int done4, done6;
	struct sts_addr v4[STS_ADDRS_MAX], v6[STS_ADDRS_MAX];
	unsigned n4, n6;
	const char *addr_why;
	struct sts_addr addrs[2 * STS_ADDRS_MAX];
	unsigned n_addrs, next;
	struct bufferevent *bev; /* the plain one, or the TLS filter that owns it */
	int tls;                 /* bev is the TLS filter */
	int connecting;          /* inside bufferevent_socket_connect(): its return decides */
	struct smtpdlg dlg;
	struct event *timer;
};

struct smtpprobe {
	struct event_base *base;
	struct resolver *res;
	SSL_CTX *ctx;
	unsigned n, active, finished, timeout;
	struct probe_host *h;
	struct checkrule_smtp *out;
	char helo[256];
	smtpprobe_done_cb *done;
	void *arg;
	struct event *kick; /* zero timer: completion is never synchronous */
};

static void host_start(struct probe_host *h);
static void host_connect(struct probe_host *h);

static void set_why(struct probe_host *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_why(struct probe_host *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(h->out->why, sizeof(h->out->why), fmt, ap);
	va_end(ap);
}

/* Start waiting hosts up to the concurrency cap; report when all are finished. */
static void
probe_pump(struct smtpprobe *p)
{
	for (unsigned i = 0; i < p->n && p->active < SMTPPROBE_PARALLEL; i++)
		if (p->h[i].st == H_WAITING)
			host_start(&p->h[i]);
	if (p->finished == p->n && p->done != NULL) {
		smtpprobe_done_cb *cb = p->done;

		p->done = NULL;
		cb(p->arg); /* p may be freed by now */
	}
}

/* The host is finished: release its handles. Its result was set by the caller. */
static void
host_end(struct probe_host *h)
{
	struct smtpprobe *p = h->p;

	if (h->st == H_DONE)
		return;
	resolver_cancel(h->q4);
	resolver_cancel(h->q6);
	h->q4 = h->q6 = NULL;
	if (h->bev != NULL)
		bufferevent_free(h->bev); /* the TLS filter frees the SSL and the socket */
	h->bev = NULL;
	if (h->timer != NULL)
		event_del(h->timer);
	if (h->st != H_WAITING)
		p->active--;
	h->st = H_DONE;
	p->finished++;
}

static void
host_finish(struct probe_host *h)
{
	struct smtpprobe *p = h->p;

	host_end(h);
	probe_pump(p);
}

/* The dialogue failed or ended: set the result from where it stood. */
static void
host_result(struct probe_host *h)
{
	const struct smtpdlg *d = &h->dlg;

	if (d->tls_up) /* the certificate was read at the handshake: that is the result */
		return;
	if (d->st == SMTPDLG_DONE || d->st == SMTPDLG_QUIT) {
		if (!d->starttls)
			h->out->res = CHECKRULE_SMTP_NO_STARTTLS;
		return;
	}
	if (d->st == SMTPDLG_FAILED &&
	    (d->failed_in == SMTPDLG_STARTTLS || d->failed_in == SMTPDLG_TLS)) {
		h->out->res = CHECKRULE_SMTP_TLS_FAILED;
		set_why(h, "%s", d->why);
		return;
	}
	h->out->res = CHECKRULE_SMTP_FAILED;
	set_why(h, "%s", d->st == SMTPDLG_FAILED ? d->why : "dialogue cut short");
}

/* Copy one certificate name if it is a plausible DNS name (no NUL, printable, short). */
static void
cert_name(struct checkrule_smtp *o, const unsigned char *s, int len)
{
	if (len <= 0 || len > DNAME_MAX || memchr(s, '\0', (size_t)len) != NULL) {
		o->names_dropped++;
		return;
	}
	if (o->n_names >= CHECKRULE_CERT_NAMES_MAX) {
		o->names_dropped++;
		return;
	}
	for (int i = 0; i < len; i++)
		o->names[o->n_names][i] = (s[i] > 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	o->names[o->n_names][len] = '\0';
	o->n_names++;
}

/* DER of one certificate or key: the bytes a TLSA record matches, digested (RFC 6698 s2.1.3). */
static void
cert_digest(struct checkrule_certid *c, int sel, const unsigned char *der, int len)
{
	unsigned int n = 0;

	if (len <= 0)
		return;
	c->len[sel] = (size_t)len;
	if ((size_t)len <= CHECKRULE_DER_MAX)
		memcpy(c->der[sel], der, (size_t)len);
	(void)EVP_Digest(der, (size_t)len, c->sha256[sel], &n, EVP_sha256(), NULL);
	(void)EVP_Digest(der, (size_t)len, c->sha512[sel], &n, EVP_sha512(), NULL);
}

/* The chain as presented, leaf first (a client's SSL_get_peer_cert_chain() holds the leaf):
 * for DANE-EE against the leaf, DANE-TA against the rest. */
static void
cert_chain(struct checkrule_smtp *o, SSL *ssl)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	int n = chain != NULL ? sk_X509_num(chain) : 0;

	for (int i = 0; i < n && o->n_chain < CHECKRULE_CHAIN_MAX; i++) {
		X509 *x = sk_X509_value(chain, i);
		struct checkrule_certid *c = &o->chain[o->n_chain++];
		unsigned char *der = NULL;
		EVP_PKEY *key = X509_get0_pubkey(x);
		int len;

		memset(c, 0, sizeof(*c));
		/* DANE-TA holds only for an anchor on the leaf's own path: this one must have
		 * issued, and signed, the certificate before it (RFC 7671 s5.2.2). */
		c->issues_prev = i > 0 && key != NULL &&
		                 X509_check_issued(x, sk_X509_value(chain, i - 1)) == X509_V_OK &&
		                 X509_verify(sk_X509_value(chain, i - 1), key) == 1;
		if ((len = i2d_X509(x, &der)) > 0)
			cert_digest(c, 0, der, len);
		OPENSSL_free(der);
		der = NULL;
		if ((len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) > 0)
			cert_digest(c, 1, der, len);
		OPENSSL_free(der);
	}
}

/* The handshake is done: what the certificate says. */
static void
host_cert(struct probe_host *h, SSL *ssl)
{
	struct checkrule_smtp *o = h->out;
	X509 *cert = SSL_get1_peer_certificate(ssl);
	GENERAL_NAMES *gens;
	int days = 0, secs = 0, dns = 0;
	const char *v = SSL_get_version(ssl);

	o->res = CHECKRULE_SMTP_TLS;
	(void)snprintf(o->tls_version, sizeof(o->tls_version), "%s", v != NULL ? v : "");
	if (cert == NULL) {
		o->verify = -1;
		(void)snprintf(o->verify_why, sizeof(o->verify_why), "no certificate presented");
		return;
	}
	o->verify = SSL_get_verify_result(ssl);
	if (o->verify != X509_V_OK)
		(void)snprintf(o->verify_why, sizeof(o->verify_why), "%s",
		               X509_verify_cert_error_string(o->verify));
	/* notAfter as Unix time without timegm(): now + the difference OpenSSL computes */
	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)) == 1)
		o->not_after = (int64_t)time(NULL) + (int64_t)days * 86400 + secs;
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_DNS)
			continue;
		dns++;
		cert_name(o, ASN1_STRING_get0_data(g->d.dNSName), ASN1_STRING_length(g->d.dNSName));
	}
	GENERAL_NAMES_free(gens);
	cert_chain(o, ssl);
	if (dns == 0) { /* no dNSName: the CN, as Postfix and RFC 6125 s6.4.4 fall back to */
		X509_NAME *subj = X509_get_subject_name(cert);
		int k = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
		unsigned char *utf8 = NULL;
		int len;

		if (k >= 0 &&
		    (len = ASN1_STRING_to_UTF8(
		         &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, k)))) >= 0)
			cert_name(o, utf8, len);
		OPENSSL_free(utf8);
	}
	X509_free(cert);
}

/* The last OpenSSL error, or the socket's, for a failed handshake. */
static void
tls_error(struct probe_host *h)
{
	unsigned long e = bufferevent_get_openssl_error(h->bev);
	char buf[256];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
	} else {
		int err = EVUTIL_SOCKET_ERROR();

		(void)snprintf(buf, sizeof(buf), "%s",
		               err != 0 ? evutil_socket_error_to_string(err)
		                        : "connection closed during the handshake");
	}
	h->out->res = CHECKRULE_SMTP_TLS_FAILED;
	set_why(h, "TLS handshake: %s", buf);
}

static void host_on_read(struct bufferevent *bev, void *arg);
static void host_on_event(struct bufferevent *bev, short what, void *arg);

/* "220" to STARTTLS: wrap the connection in TLS. */
static int
host_starttls(struct probe_host *h)
{
	SSL *ssl = SSL_new(h->p->ctx);
	struct bufferevent *f;

	if (ssl == NULL)
		return -1;
	/* SNI: the MX host, as a sender's Postfix sends it (smtp_tls_servername) */
	(void)SSL_set_tlsext_host_name(ssl, h->out->host);
	f = bufferevent_openssl_filter_new(h->p->base, h->bev, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                   BEV_OPT_CLOSE_ON_FREE);
	/* Only an allocation fails here, and libevent has then freed ssl (and maybe the plain
	 * bufferevent) itself: abort, as on any out-of-memory, rather than free them twice. */
	INVARIANT(f != NULL);
	h->bev = f; /* owns the plain bufferevent and the SSL from now on */
	h->tls = 1;
	bufferevent_openssl_set_allow_dirty_shutdown(f, 1);
	bufferevent_setwatermark(f, EV_READ, 0, SMTPPROBE_READ_MAX);
	bufferevent_setcb(f, host_on_read, NULL, host_on_event, h);
	bufferevent_enable(f, EV_READ | EV_WRITE);
	return 0;
}

/* Act on the dialogue's event. */
static void
host_act(struct probe_host *h, enum smtpdlg_ev ev)
{
	switch (ev) {
	case SMTPDLG_EV_MORE:
		return;
	case SMTPDLG_EV_SEND:
		if (bufferevent_write(h->bev, h->dlg.out, strlen(h->dlg.out)) != 0) {
			h->out->res = CHECKRULE_SMTP_FAILED;
			set_why(h, "%s: cannot send the command", smtpdlg_state_name(h->dlg.st));
			host_finish(h); /* h's handles are gone */
		}
		return;
	case SMTPDLG_EV_TLS:
		if (host_starttls(h) != 0) {
			h->out->res = CHECKRULE_SMTP_TLS_FAILED;
			set_why(h, "cannot start TLS (OpenSSL)");
			host_finish(h);
		}
		return;
	case SMTPDLG_EV_DONE:
	case SMTPDLG_EV_FAIL:
		host_result(h);
		host_finish(h);
		return;
	}
}

static void
host_on_read(struct bufferevent *bev, void *arg)
{
	struct probe_host *h = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in), used = 0;
	const unsigned char *p;
	enum smtpdlg_ev ev;

	if (len == 0)
		return;
	/* the read watermark bounds len */
	p = evbuffer_pullup(in, (ev_ssize_t)len);
	ev = smtpdlg_input(&h->dlg, (const char *)p, len, &used);
	evbuffer_drain(in, used);
	host_act(h, ev);
}

static void
host_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct probe_host *h = arg;

	(void)bev;
	if (h->connecting)
		return; /* newer libevents report an immediate failure here too: host_connect() has
		           it */
	if (what & BEV_EVENT_CONNECTED) {
		if (!h->tls) { /* TCP is up: the greeting comes */
			bufferevent_enable(h->bev, EV_READ | EV_WRITE);
			return;
		}
		/* the TLS handshake is done */
		host_cert(h, bufferevent_openssl_get_ssl(h->bev));
		host_act(h, smtpdlg_tls_up(&h->dlg));
		return;
	}
	if (!h->tls && h->dlg.st == SMTPDLG_BANNER && h->dlg.linelen == 0 &&
	    (what & BEV_EVENT_ERROR) && h->next < h->n_addrs &&
	    evbuffer_get_length(bufferevent_get_input(h->bev)) == 0) {
		/* refused or unreachable before any byte: the next address */
		bufferevent_free(h->bev);
		h->bev = NULL;
		host_connect(h);
		return;
	}
	if (h->tls && h->dlg.st == SMTPDLG_TLS) {
		tls_error(h);
		host_finish(h);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		host_act(h, smtpdlg_eof(&h->dlg));
		return;
	}
	if (h->dlg.tls_up || h->dlg.st == SMTPDLG_QUIT) { /* a reset after QUIT: fine */
		host_result(h);
		host_finish(h);
		return;
	}
	{
		int err = EVUTIL_SOCKET_ERROR();
		char what_s[120];

		(void)snprintf(what_s, sizeof(what_s), "%s",
		               err != 0 ? evutil_socket_error_to_string(err) : "connection error");
		h->out->res = CHECKRULE_SMTP_FAILED;
		if (h->dlg.st == SMTPDLG_BANNER && h->dlg.lines == 0 && h->dlg.linelen == 0)
			set_why(h, "connect to port 25: %s", what_s);
		else
			set_why(h, "%s: %s", smtpdlg_state_name(h->dlg.st), what_s);
		host_finish(h);
	}
}

/* Connect to the next address. */
static void
host_connect(struct probe_host *h)
{
	const struct sts_addr *a = &h->addrs[h->next++];
	struct sockaddr_storage ss;
	socklen_t sl;
	int rc;

	memset(&ss, 0, sizeof(ss));
	if (a->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(SMTPPROBE_PORT);
		memcpy(&s6->sin6_addr, a->bytes, 16);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(SMTPPROBE_PORT);
		memcpy(&s4->sin_addr, a->bytes, 4);
		sl = sizeof(*s4);
	}
	if (inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->bytes, h->out->addr,
	              sizeof(h->out->addr)) == NULL)
		h->out->addr[0] = '\0';
	smtpdlg_init(&h->dlg, h->p->helo);
	h->bev = bufferevent_socket_new(h->p->base, -1, BEV_OPT_CLOSE_ON_FREE);
	INVARIANT(h->bev != NULL);
	bufferevent_setwatermark(h->bev, EV_READ, 0, SMTPPROBE_READ_MAX);
	bufferevent_setcb(h->bev, host_on_read, NULL, host_on_event, h);
	h->connecting = 1; /* a callback from within the connect call is this failure */
	rc = bufferevent_socket_connect(h->bev, (struct sockaddr *)&ss, (int)sl);
	h->connecting = 0;
	if (rc != 0) {
		/* failed at once (no route, no such address family): the next address, if any */
		int err = errno;

		bufferevent_free(h->bev);
		h->bev = NULL;
		if (h->next < h->n_addrs) {
			host_connect(h);
			return;
		}
		h->out->res = CHECKRULE_SMTP_FAILED;
		set_why(h, "connect to port 25: %s", strerror(err));
		host_finish(h);
	}
}

static void
host_on_dns(struct probe_host *h, int v6, const uint8_t *msg, size_t len, const char *why)
{
	char qname[DNAME_MAX + 1];

	memcpy(qname, h->out->host, sizeof(qname));
	if (v6) {
		h->q6 = NULL;
		h->done6 = 1;
	} else {
		h->q4 = NULL;
		h->done4 = 1;
	}
	if (msg != NULL) {
		const char *w = NULL;
		unsigned n =
		    sts_addr_read(qname, v6, msg, len, v6 ? h->v6 : h->v4, STS_ADDRS_MAX, &w);

		if (v6)
			h->n6 = n;
		else
			h->n4 = n;
		if (w != NULL && h->addr_why == NULL)
			h->addr_why = w;
	} else if (h->addr_why == NULL) {
		h->addr_why = why;
	}
	if (!h->done4 || !h->done6)
		return;
	/* IPv4 first, as the daemon's fetch */
	for (unsigned i = 0; i < h->n4; i++)
		h->addrs[h->n_addrs++] = h->v4[i];
	for (unsigned i = 0; i < h->n6; i++)
		h->addrs[h->n_addrs++] = h->v6[i];
	if (h->n_addrs == 0) {
		h->out->res = CHECKRULE_SMTP_FAILED;
		set_why(h, "no address: %s",
		        h->addr_why != NULL ? h->addr_why : "no A/AAAA record");
		host_finish(h);
		return;
	}
	h->st = H_TALKING;
	host_connect(h);
}

static void
host_on_a(void *arg, const uint8_t *msg, size_t len, const char *why)
{
	host_on_dns(arg, 0, msg, len, why);
}

static void
host_on_aaaa(void *arg, const uint8_t *msg, size_t len, const char *why)
{
	host_on_dns(arg, 1, msg, len, why);
}

static void
host_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct probe_host *h = arg;
	char t[32];

	(void)fd;
	(void)what;
	(void)snprintf(t, sizeof(t), "%u s", h->p->timeout);
	if (h->dlg.tls_up) {
		host_finish(h);
		return;
	}
	if (h->st == H_RESOLVING) {
		h->out->res = CHECKRULE_SMTP_FAILED;
		set_why(h, "address lookup: no answer within %s", t);
	} else if (h->dlg.st == SMTPDLG_TLS) {
		h->out->res = CHECKRULE_SMTP_TLS_FAILED;
		set_why(h, "TLS handshake: no answer within %s", t);
	} else if (h->dlg.st == SMTPDLG_QUIT) {
		host_result(h);
	} else {
		h->out->res = CHECKRULE_SMTP_FAILED;
		set_why(h, "%s: no answer within %s", smtpdlg_state_name(h->dlg.st), t);
	}
	host_finish(h);
}

static void
host_start(struct probe_host *h)
{
	struct timeval tv = {(time_t)h->p->timeout, 0};

	h->st = H_RESOLVING;
	h->p->active++;
	h->timer = evtimer_new(h->p->base, host_on_deadline, h);
	INVARIANT(h->timer != NULL);
	evtimer_add(h->timer, &tv);
	h->q4 = resolver_raw_start(h->p->res, h->out->host, DNSMSG_A, host_on_a, h);
	h->q6 = resolver_raw_start(h->p->res, h->out->host, DNSMSG_AAAA, host_on_aaaa, h);
}

static void
probe_on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	probe_pump(arg);
}

/* The EHLO name: this host's name when it is a plausible domain name, else "localhost". */
static void
probe_helo(char *out, size_t outsz)
{
	char name[256];
	size_t n;

	if (gethostname(name, sizeof(name)) != 0 || (name[sizeof(name) - 1] = '\0', 0) ||
	    (n = strlen(name)) == 0 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz"
	                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n)
		(void)snprintf(out, outsz, "localhost");
	else
		(void)snprintf(out, outsz, "%s", name);
}

struct smtpprobe *
smtpprobe_start(struct event_base *base, struct resolver *res, const char *ca_file,
                const char (*hosts)[DNAME_MAX + 1], unsigned n, unsigned timeout,
                smtpprobe_done_cb *done, void *arg, char *err, size_t errsz)
{
	struct smtpprobe *p;
	struct timeval zero = {0, 0};
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		(void)snprintf(err, errsz, "OpenSSL: cannot create a TLS context");
		return NULL;
	}
	if ((ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
	                     : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
		(void)snprintf(err, errsz, "cannot load the CA file %s",
		               ca_file != NULL ? ca_file : "(OpenSSL default paths)");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* The handshake completes whatever the certificate; the chain is verified anyway and
	 * the result read with SSL_get_verify_result(): a probe reports, it does not refuse. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	p = xcalloc(1, sizeof(*p));
	p->base = base;
	p->res = res;
	p->ctx = ctx;
	p->n = n;
	p->timeout =
	    timeout == 0 || timeout > SMTPPROBE_HOST_TIMEOUT ? SMTPPROBE_HOST_TIMEOUT : timeout;
	p->done = done;
	p->arg = arg;
	probe_helo(p->helo, sizeof(p->helo));
	p->h = xcalloc(n > 0 ? n : 1, sizeof(*p->h));
	p->out = xcalloc(n > 0 ? n : 1, sizeof(*p->out));
	for (unsigned i = 0; i < n; i++) {
		p->h[i].p = p;
		p->h[i].out = &p->out[i];
		(void)snprintf(p->out[i].host, sizeof(p->out[i].host), "%s", hosts[i]);
		p->out[i].res = CHECKRULE_SMTP_FAILED;
		(void)snprintf(p->out[i].why, sizeof(p->out[i].why),
		               "not finished within the check's --timeout");
	}
	p->kick = evtimer_new(base, probe_on_kick, p);
	INVARIANT(p->kick != NULL);
	evtimer_add(p->kick, &zero);
	return p;
}

int
smtpprobe_running(const struct smtpprobe *p)
{
	return p != NULL && p->finished < p->n;
}

const struct checkrule_smtp *
smtpprobe_results(const struct smtpprobe *p, unsigned *n)
{
	*n = p->n;
	return p->out;
}

void
smtpprobe_free(struct smtpprobe *p)
{
	if (p == NULL)
		return;
	p->done = NULL;
	for (unsigned i = 0; i < p->n; i++) {
		host_end(&p->h[i]);
		if (p->h[i].timer != NULL)
			event_free(p->h[i].timer);
	}
	event_free(p->kick);
	SSL_CTX_free(p->ctx);
	free(p->h);
	free(p->out);
	free(p);
}
