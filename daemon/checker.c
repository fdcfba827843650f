/* SPDX-License-Identifier: MIT */
/*
 * checker: the effectful half of `mta-stsctl check`. Effectful (E), linked into mta-stsctl
 * only. It holds no rule: it sends the raw DNS queries (TXT _mta-sts, TXT _smtp._tls, A and
 * AAAA mta-sts) through the daemon's resolver, fetches the policy through the daemon's fetcher
 * (https only, no redirects, 64 KiB cap), resolves the MX set and DANE state with the daemon's
 * DNS machine (discover_dns(): dane.c, the AD bit trusted as [daemon] dnssec says), reads the
 * daemon's cache read-only, all on one event loop under one deadline (--timeout), and hands
 * the raw results to checkrule.c. It fetches the policy whatever the TXT record says, so a
 * broken record does not hide a broken policy; the fetch's own handshake (fetch_start_tls())
 * serves dimension 4, and the same URL over plain HTTP on port 80 (fetch_start_plain(),
 * mta-stsctl's build only) shows whether port 80 serves a copy. Once the MX set is known,
 * smtpprobe.c probes each MX host's STARTTLS (dimension 6; not with --no-smtp) and, with
 * dnssec = yes, the checker reads each host's TLSA records (dimension 8). Last, the daemon's
 * decision (decide.c, answer.c) runs on what was found. If no DNS lookup at all got an
 * answer, the check could not run (exit 3).
 */
#include "checker.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cache.h"
#include "discover.h"
#include "dnsmsg.h"
#include "fetch.h"
#include "resolver.h"
#include "smtpprobe.h"
#include "socketmap.h"
#include "xalloc.h"

enum { Q_STS = 0, Q_TLSRPT, Q_A, Q_AAAA, Q_N };

struct checker;

/* One raw query and what came back. */
struct chk_q {
	struct checker *c;
	struct resolver_query *q; /* in flight */
	int done;
	uint8_t *msg; /* owned copy of the answer, or NULL */
	size_t len;
	const char *why; /* static failure text when msg is NULL */
};

struct checker {
	const struct checker_params *p;
	char domain[DNAME_MAX + 1];
	struct event_base *base;
	struct resolver *res;
	struct fetcher *fetcher;
	struct discover *disc;
	struct chk_q q[Q_N];
	struct fetch *f; /* in flight */
	int fetch_state; /* 0 not started, 1 running, 2 done, 3 not possible (no address) */
	const char *addr_why;
	struct sts_addr addrs[STS_ADDRS_MAX];
	unsigned n_addrs;
	/* the fetch result, owned copies */
	struct sts_response resp;
	char *resp_error, *resp_ctype, *resp_body;
	struct sts_tls tls; /* the fetch's handshake (dimension 4) */
	int fetch_cut;      /* the deadline cancelled the fetch: tls is incomplete */
	/* plain HTTP on port 80 (dimension 2, information), owned copies */
	struct fetch *hf; /* in flight */
	int http_state;   /* as fetch_state */
	struct sts_response http;
	char *http_error, *http_body, *http_loc;
	struct event *guard;
	int timed_out;
	time_t started;          /* when the check began (for the probe's share of --timeout) */
	struct smtpprobe *probe; /* dimension 6, started once the MX set is known */
	int probe_tried;
	char probe_why[CHECKRULE_MSG_MAX]; /* why it was not started */
	struct chk_q tlsa[DANE_HOSTS_MAX]; /* dimension 8: TLSA of each MX host */
	unsigned n_tlsa;                   /* queries sent (hosts, in the MX set's order) */
};

static void checker_settle(struct checker *c);

static void
checker_on_fetch(void *arg, const struct sts_response *r)
{
	struct checker *c = arg;

	c->f = NULL;
	c->fetch_state = 2;
	c->resp = *r;
	c->resp_error = r->error != NULL ? xstrndup(r->error, strlen(r->error)) : NULL;
	c->resp_ctype = r->ctype != NULL ? xstrndup(r->ctype, strlen(r->ctype)) : NULL;
	c->resp_body = xmalloc(r->len + 1);
	memcpy(c->resp_body, r->body, r->len);
	c->resp.error = c->resp_error;
	c->resp.ctype = c->resp_ctype;
	c->resp.body = c->resp_body;
	checker_settle(c);
}

static void
checker_on_http(void *arg, const struct sts_response *r, const char *location)
{
	struct checker *c = arg;

	c->hf = NULL;
	c->http_state = 2;
	c->http = *r;
	c->http_error = r->error != NULL ? xstrndup(r->error, strlen(r->error)) : NULL;
	c->http_loc = location != NULL ? xstrndup(location, strlen(location)) : NULL;
	c->http_body = xmalloc(r->len + 1);
	memcpy(c->http_body, r->body, r->len);
	c->http.error = c->http_error;
	c->http.ctype = NULL; /* not judged */
	c->http.body = c->http_body;
	checker_settle(c);
}

/* Both address answers are in: fetch from what they gave, IPv4 first (as sts.c does). */
static void
checker_start_fetch(struct checker *c)
{
	char host[DNAME_MAX + 16];
	struct sts_addr v6[STS_ADDRS_MAX];
	unsigned n6 = 0;
	const char *why = NULL;
	struct sts_fetch req;

	(void)snprintf(host, sizeof(host), "mta-sts.%s", c->domain);
	if (c->q[Q_A].msg != NULL)
		c->n_addrs = sts_addr_read(host, 0, c->q[Q_A].msg, c->q[Q_A].len, c->addrs,
		                           STS_ADDRS_MAX, &why);
	else
		why = c->q[Q_A].why;
	c->addr_why = why;
	if (c->q[Q_AAAA].msg != NULL)
		n6 = sts_addr_read(host, 1, c->q[Q_AAAA].msg, c->q[Q_AAAA].len, v6, STS_ADDRS_MAX,
		                   &why);
	else
		why = c->q[Q_AAAA].why;
	if (c->addr_why == NULL)
		c->addr_why = why;
	for (unsigned i = 0; i < n6 && c->n_addrs < STS_ADDRS_MAX; i++)
		c->addrs[c->n_addrs++] = v6[i];
	if (c->n_addrs == 0) {
		c->fetch_state = 3;
		c->http_state = 3;
		return;
	}
	req.domain = c->domain;
	req.addrs = c->addrs;
	req.n_addrs = c->n_addrs;
	c->fetch_state = 1;
	c->f = fetch_start_tls(c->fetcher, &req, &c->tls, checker_on_fetch, c);
	/* Port 80 at the same addresses, side by side, on a shorter clock: an answer is only
	 * information, and a firewall that drops port 80 must not hold the check up. */
	c->http_state = 1;
	c->hf = fetch_start_plain(c->fetcher, &req,
	                          c->p->timeout < CHECKER_HTTP_TIMEOUT ? c->p->timeout
	                                                               : CHECKER_HTTP_TIMEOUT,
	                          checker_on_http, c);
}

static void
checker_on_dns(void *arg, const uint8_t *msg, size_t len, const char *why)
{
	struct chk_q *s = arg;
	struct checker *c = s->c;

	s->q = NULL;
	s->done = 1;
	if (msg != NULL) {
		s->msg = xmalloc(len);
		memcpy(s->msg, msg, len);
		s->len = len;
	} else {
		s->why = why;
	}
	if ((s == &c->q[Q_A] || s == &c->q[Q_AAAA]) && c->q[Q_A].done && c->q[Q_AAAA].done)
		checker_start_fetch(c);
	checker_settle(c);
}

static void
checker_on_probe(void *arg)
{
	checker_settle(arg);
}

/* The MX set is known: probe the STARTTLS of its hosts (dimension 6), unless --no-smtp. */
static void
checker_start_probe(struct checker *c)
{
	const struct danerec *d = &discover_result(c->disc)->drec;
	time_t spent = time(NULL) - c->started;
	/* A host's deadline ends a second before the check's, so a silent server is reported
	 * as such ("greeting: no answer within N s"), not as cut by --timeout. */
	unsigned left = spent >= 0 && (time_t)c->p->timeout > spent + 1
	                    ? c->p->timeout - (unsigned)spent - 1
	                    : 1;
	unsigned per_host = left < SMTPPROBE_HOST_TIMEOUT ? left : SMTPPROBE_HOST_TIMEOUT;
	char err[256];

	c->probe_tried = 1;
	if (c->p->no_smtp) {
		(void)snprintf(c->probe_why, sizeof(c->probe_why), "skipped (--no-smtp)");
		return;
	}
	if (!d->mx_known || d->n_hosts == 0) {
		(void)snprintf(c->probe_why, sizeof(c->probe_why), "no MX host to probe (%s)",
		               d->mx_known ? "null MX or no such domain" : "the MX lookup failed");
		return;
	}
	c->probe = smtpprobe_start(c->base, c->res, c->p->cfg->ca_file, d->hosts,
	                           d->n_hosts < DANE_HOSTS_MAX ? d->n_hosts : DANE_HOSTS_MAX,
	                           per_host, checker_on_probe, c, err, sizeof(err));
	if (c->probe == NULL)
		(void)snprintf(c->probe_why, sizeof(c->probe_why), "probe not started: %s", err);
}

/* The MX set is signed (the DANE state is not INSECURE): read each host's TLSA records for
 * dimension 8, at the name Postfix asks first for a host that is not a CNAME (RFC 7672
 * s2.2.2). Not without dnssec = yes: unvalidated TLSA records mean nothing. */
static void
checker_start_tlsa(struct checker *c)
{
	const struct danerec *d = &discover_result(c->disc)->drec;
	char name[DNAME_MAX + 16];

	if (!c->p->cfg->dnssec || !d->mx_known || d->state == DANE_INSECURE)
		return;
	for (unsigned i = 0; i < d->n_hosts && i < DANE_HOSTS_MAX; i++) {
		struct chk_q *s = &c->tlsa[c->n_tlsa++];

		s->c = c;
		if (snprintf(name, sizeof(name), "_25._tcp.%s", d->hosts[i]) > DNAME_MAX) {
			s->done = 1;
			s->why = "TLSA query name too long";
			continue;
		}
		s->q = resolver_raw_start(c->res, name, DNSMSG_TLSA, checker_on_dns, s);
	}
}

static void
checker_on_discover(void *arg)
{
	struct checker *c = arg;

	if (!c->probe_tried && discover_running(c->disc) == 0) {
		checker_start_probe(c);
		checker_start_tlsa(c);
	}
	checker_settle(c);
}

/* Everything ended: leave the loop. */
static void
checker_settle(struct checker *c)
{
	for (int i = 0; i < Q_N; i++)
		if (!c->q[i].done)
			return;
	if (c->fetch_state == 0 || c->fetch_state == 1 || c->http_state == 0 || c->http_state == 1)
		return;
	if (discover_running(c->disc) != 0 || smtpprobe_running(c->probe))
		return;
	for (unsigned i = 0; i < c->n_tlsa; i++)
		if (!c->tlsa[i].done)
			return;
	event_base_loopbreak(c->base);
}

/* The deadline: what is still in flight has failed. */
static void
checker_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct checker *c = arg;

	(void)fd;
	(void)what;
	c->timed_out = 1;
	for (int i = 0; i < Q_N; i++) {
		if (c->q[i].done)
			continue;
		resolver_cancel(c->q[i].q);
		c->q[i].q = NULL;
		c->q[i].done = 1;
		c->q[i].why = "no answer within the check's --timeout";
	}
	for (unsigned i = 0; i < c->n_tlsa; i++) {
		if (c->tlsa[i].done)
			continue;
		resolver_cancel(c->tlsa[i].q);
		c->tlsa[i].q = NULL;
		c->tlsa[i].done = 1;
		c->tlsa[i].why = "no answer within the check's --timeout";
	}
	if (c->fetch_state == 0) { /* the addresses never came */
		c->fetch_state = 3;
		c->http_state = 3;
		c->addr_why = "no address answer within the check's --timeout";
	}
	if (c->fetch_state == 1) {
		fetch_cancel(c->f);
		c->f = NULL;
		c->fetch_state = 2;
		c->fetch_cut = 1;
		memset(&c->resp, 0, sizeof(c->resp));
		c->resp.error = "no response within the check's --timeout";
		c->resp.fail = STS_FETCH_TIMEOUT;
		c->resp.body = "";
	}
	if (c->http_state == 1) {
		fetch_cancel(c->hf);
		c->hf = NULL;
		c->http_state = 2;
		memset(&c->http, 0, sizeof(c->http));
		c->http.error = "no response within the check's --timeout";
		c->http.fail = STS_FETCH_TIMEOUT;
		c->http.body = "";
	}
	event_base_loopbreak(c->base);
}

/* Dimension 9: the daemon's cache, read-only. Both LMDB files must exist: LMDB would
 * otherwise create them, owned by whoever runs the check (as ctl.c's cache commands). */
static void
checker_cache(struct checker *c, struct checkrule_report *r, const char *published)
{
	const char *dir = c->p->cfg->cache_dir;
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	char path[4096], err[600];
	struct stat st;
	struct cache *cache;
	struct cacherec rec;
	enum cache_res hit;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int n = snprintf(path, sizeof(path), "%s/%s", dir, files[i]);

		if (n < 0 || (size_t)n >= sizeof(path)) {
			checkrule_cache(r, "cache_dir name too long", NULL, NULL, 0);
			return;
		}
		if (stat(path, &st) != 0) {
			(void)snprintf(err, sizeof(err), "cache_dir %s: %s: %s", dir, files[i],
			               strerror(errno));
			checkrule_cache(r, err, NULL, NULL, 0);
			return;
		}
	}
	if ((cache = cache_open(dir, 1, CACHE_MAP_DEFAULT, err, sizeof(err))) == NULL) {
		checkrule_cache(r, err, NULL, NULL, 0);
		return;
	}
	cacherec_init(&rec);
	hit = cache_get(cache, c->domain, &rec);
	cache_close(cache);
	if (hit == CACHE_ERR)
		checkrule_cache(r, "cache read failed", NULL, NULL, 0);
	else
		checkrule_cache(r, NULL, hit == CACHE_HIT ? &rec : NULL, published,
		                (int64_t)time(NULL));
}

/* Classify what came back, in the order of the dimensions. */
static void
checker_classify(struct checker *c, struct checkrule_report *r)
{
	const struct chk_q *q = c->q;
	struct stsrecord rec;
	struct stspolicy pol;
	struct danerec drec;
	int published, have_pol = 0;
	const struct checkrule_smtp *h = NULL;
	unsigned n_h = 0;
	struct checkrule_tlsa_ans tlsa[DANE_HOSTS_MAX];
	struct decide_input in;

	if (discover_running(c->disc) != 0) { /* cut by the deadline */
		memset(&drec, 0, sizeof(drec));
		(void)snprintf(drec.why, sizeof(drec.why), "MX lookup: no answer within --timeout");
	} else {
		drec = discover_result(c->disc)->drec;
	}
	/* Not one answer from the resolver: nothing below could be trusted. */
	if (q[Q_STS].msg == NULL && q[Q_TLSRPT].msg == NULL && q[Q_A].msg == NULL &&
	    q[Q_AAAA].msg == NULL && !drec.mx_known) {
		char why[CHECKRULE_MSG_MAX];

		(void)snprintf(why, sizeof(why),
		               "no DNS lookup got an answer (%s): is the resolver (dns_servers %s) "
		               "running, and does %s have working name servers?",
		               q[Q_STS].why != NULL ? q[Q_STS].why : "no answer",
		               c->p->cfg->dns_servers != NULL ? c->p->cfg->dns_servers
		                                              : "from /etc/resolv.conf",
		               c->domain);
		checkrule_abort(r, why);
		return;
	}
	published = checkrule_record(r, q[Q_STS].msg, q[Q_STS].len, q[Q_STS].why, &rec);
	if (checkrule_fetch(r, c->fetch_state == 2 ? &c->resp : NULL, c->addr_why)) {
		checkrule_http(r, c->http_state == 2 ? &c->http : NULL, c->http_loc, c->resp.body,
		               c->resp.len);
		have_pol = checkrule_policy(r, c->resp.body, c->resp.len, &pol);
	} else {
		checkrule_http(r, c->http_state == 2 ? &c->http : NULL, c->http_loc, NULL, 0);
		checkrule_not_checked(r, CHECKRULE_DIM_POLICY, "no policy was fetched");
	}
	if (c->fetch_cut)
		checkrule_not_checked(r, CHECKRULE_DIM_CERT,
		                      "the policy fetch did not finish within --timeout");
	else
		checkrule_cert(r, c->fetch_state == 2 ? &c->tls : NULL, (int64_t)time(NULL));
	checkrule_mx(r, have_pol ? &pol : NULL, &drec);
	if (c->probe != NULL) {
		h = smtpprobe_results(c->probe, &n_h);
		checkrule_smtp(r, have_pol ? &pol : NULL, h, n_h, (int64_t)time(NULL));
	} else {
		checkrule_not_checked(
		    r, CHECKRULE_DIM_SMTP,
		    c->p->no_smtp    ? "skipped (--no-smtp)"
		    : c->probe_tried ? c->probe_why
		                     : "not started: the MX lookup did not end within --timeout");
	}
	checkrule_tlsrpt(r, q[Q_TLSRPT].msg, q[Q_TLSRPT].len, q[Q_TLSRPT].why);
	memset(tlsa, 0, sizeof(tlsa));
	for (unsigned i = 0; i < c->n_tlsa; i++) {
		tlsa[i].msg = c->tlsa[i].msg;
		tlsa[i].len = c->tlsa[i].len;
		tlsa[i].why = c->tlsa[i].why;
	}
	checkrule_dane(r, c->p->cfg->dnssec != 0, &drec, c->n_tlsa > 0 ? tlsa : NULL, h, n_h);
	checker_cache(c, r, published ? rec.id : NULL);
	/* What this sender's daemon would answer now, with nothing cached (lookup.c's inputs). */
	memset(&in, 0, sizeof(in));
	in.disc = checkrule_disc(r, published, have_pol);
	in.fresh = in.disc == DECIDE_DISC_FETCHED ? &pol : NULL;
	in.dane = drec.state;
	in.dns = &drec;
	in.domain = c->domain;
	checkrule_decision(r, &in, &c->p->cfg->default_zone, (int64_t)time(NULL));
}

static void
checker_send(struct checker *c, int i, const char *prefix, uint16_t type)
{
	char name[DNAME_MAX + 16];

	(void)snprintf(name, sizeof(name), "%s%s", prefix, c->domain);
	c->q[i].c = c;
	c->q[i].q = resolver_raw_start(c->res, name, type, checker_on_dns, &c->q[i]);
}

void
checker_run(const struct checker_params *p, const char *domain, struct checkrule_report *r)
{
	struct checker c;
	struct discover_env env;
	struct socketmap_dest dest;
	struct timeval tv = {(time_t)p->timeout, 0};
	unsigned ft = p->cfg->fetch_timeout < p->timeout ? p->cfg->fetch_timeout : p->timeout;
	char err[512];

	checkrule_init(r, domain);
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.started = time(NULL);
	INVARIANT(strlen(domain) <= DNAME_MAX); /* ctl.c normalised it */
	memcpy(c.domain, domain, strlen(domain) + 1);
	c.base = event_base_new();
	INVARIANT(c.base != NULL);
	c.res = resolver_new(c.base, p->cfg->dns_servers, p->cfg->dns_timeout, err, sizeof(err));
	c.fetcher = c.res != NULL ? fetch_new(c.base, p->cfg->ca_file, ft, err, sizeof(err)) : NULL;
	if (c.res == NULL || c.fetcher == NULL) {
		checkrule_abort(r, err);
		resolver_free(c.res);
		event_base_free(c.base);
		return;
	}
	env.base = c.base;
	env.res = c.res;
	env.fetch = c.fetcher;
	env.metrics = NULL;
	memset(&dest, 0, sizeof(dest));
	memcpy(dest.domain, c.domain, sizeof(dest.domain));
	c.disc = discover_new(&env, &dest, checker_on_discover, &c);
	checker_send(&c, Q_STS, "_mta-sts.", DNSMSG_TXT);
	checker_send(&c, Q_TLSRPT, "_smtp._tls.", DNSMSG_TXT);
	checker_send(&c, Q_A, "mta-sts.", DNSMSG_A);
	checker_send(&c, Q_AAAA, "mta-sts.", DNSMSG_AAAA);
	/* The daemon's MX machine: with dnssec = yes it also goes on to TLSA (dimension 8). */
	discover_dns(c.disc, p->cfg->dnssec != 0, p->timeout);
	c.guard = evtimer_new(c.base, checker_on_deadline, &c);
	INVARIANT(c.guard != NULL);
	evtimer_add(c.guard, &tv);
	event_base_dispatch(c.base);
	checker_classify(&c, r);
	/* teardown: cancel what the deadline left, then free */
	for (int i = 0; i < Q_N; i++) {
		resolver_cancel(c.q[i].q);
		free(c.q[i].msg);
	}
	for (unsigned i = 0; i < c.n_tlsa; i++) {
		resolver_cancel(c.tlsa[i].q);
		free(c.tlsa[i].msg);
	}
	fetch_cancel(c.f);
	fetch_cancel(c.hf);
	smtpprobe_free(c.probe);
	discover_free(c.disc);
	event_free(c.guard);
	fetch_free(c.fetcher);
	resolver_free(c.res);
	event_base_free(c.base);
	free(c.resp_error);
	free(c.resp_ctype);
	free(c.resp_body);
	free(c.http_error);
	free(c.http_body);
	free(c.http_loc);
}
