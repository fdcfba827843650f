/* SPDX-License-Identifier: MIT */
/*
 * lookup: the per-domain state machine cache -> TXT -> address -> fetch -> decide -> reply.
 * Effectful (E); the only module that knows resolver, fetch and cache. Owns every in-flight
 * lookup (one per domain, in a hash table) and its DNS/fetch handles and waiters.
 * Hot path: a cache hit that settles the answer (valid policy, or remembered "no policy") is
 * answered synchronously from one LMDB read; a due TXT re-check then runs in the background.
 * Otherwise the request waits on the domain's lookup; concurrent requests share it.
 * RFC 8461 s3 (discovery), s5.1 (TOFU and refresh) via cacherec.c; the answer is decide.c's.
 * Every lookup has a deadline below Postfix's 100 s socketmap timeout.
 */
#include "lookup.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "answer.h"
#include "cache.h"
#include "dname.h"
#include "fetch.h"
#include "log.h"
#include "resolver.h"
#include "stspolicy.h"
#include "stsrecord.h"
#include "xalloc.h"

#define LOOKUP_BUCKETS 1024    /* power of two */
#define LOOKUP_TEXT_MAX 65536  /* 64 patterns of 253 bytes, thrice with 3.10 attributes */
#define LOOKUP_DEADLINE_MAX 90 /* seconds; Postfix gives up after 100 */

enum lookup_stage { STAGE_TXT, STAGE_ADDR, STAGE_FETCH };

struct lookup_waiter {
	TAILQ_ENTRY(lookup_waiter) link;
	struct lookup *lk;
	const struct cfg_zone *zone;
	lookup_cb *cb;
	void *arg;
};

struct lookup {
	LIST_ENTRY(lookup) hlink;
	struct lookups *ls;
	char domain[DNAME_MAX + 1];
	enum lookup_stage stage;
	enum decide_disc disc;
	struct cacherec rec;
	struct stsrecord txt;
	struct resolver_query *q;
	struct fetch *f;
	struct event *guard;
	TAILQ_HEAD(, lookup_waiter) waiters;
};

struct lookups {
	struct event_base *base;
	const struct cfg *cfg;
	struct resolver *res;
	struct fetcher *fetch;
	struct cache *cache;
	unsigned n;
	LIST_HEAD(, lookup) buckets[LOOKUP_BUCKETS];
};

static unsigned
lookup_hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h & (LOOKUP_BUCKETS - 1);
}

static struct lookup *
lookup_find(struct lookups *ls, const char *domain)
{
	struct lookup *lk;

	LIST_FOREACH(lk, &ls->buckets[lookup_hash(domain)], hlink)
	if (strcmp(lk->domain, domain) == 0)
		return lk;
	return NULL;
}

struct lookups *
lookups_new(struct event_base *base, const struct cfg *cfg, struct resolver *res,
            struct fetcher *fetch, struct cache *cache)
{
	struct lookups *ls = xcalloc(1, sizeof(*ls));

	ls->base = base;
	ls->cfg = cfg;
	ls->res = res;
	ls->fetch = fetch;
	ls->cache = cache;
	for (unsigned i = 0; i < LOOKUP_BUCKETS; i++)
		LIST_INIT(&ls->buckets[i]);
	return ls;
}

unsigned
lookups_in_flight(const struct lookups *ls)
{
	return ls->n;
}

/* Decide for one zone and hand the reply to cb. */
static void
lookup_answer(const struct cacherec *rec, enum decide_disc disc, const char *source,
              const struct cfg_zone *zone, const char *domain, lookup_cb *cb, void *arg)
{
	struct decide_input in = {
	    rec,           disc, disc == DECIDE_DISC_FETCHED ? &rec->policy : NULL,
	    DANE_INSECURE, NULL, domain};
	struct answer a;
	struct lookup_result r;
	char text[LOOKUP_TEXT_MAX];
	size_t len = 0;

	decide(&in, zone, (int64_t)time(NULL), &a);
	r.why = a.why;
	if (answer_format(&a, &r.status, text, sizeof(text), &len) != 0) {
		/* Cannot happen with capped policies; never send a cut policy. */
		r.status = "TEMP";
		len = (size_t)snprintf(text, sizeof(text), "reply too long");
		r.why = "reply too long";
	}
	r.text = text;
	r.len = len;
	r.source = source;
	r.rec = rec;
	r.disc = disc;
	log_debug(LOG_CAT_DECIDE, "domain=%s zone=%s source=%s reply=\"%s %s\" why=\"%s\"", domain,
	          zone->name, source, r.status, text, r.why);
	cb(arg, &r);
}

/* Unlink from the table and release handles; waiters are the caller's business. */
static void
lookup_detach(struct lookup *lk)
{
	resolver_cancel(lk->q);
	lk->q = NULL;
	fetch_cancel(lk->f);
	lk->f = NULL;
	event_free(lk->guard);
	lk->guard = NULL;
	LIST_REMOVE(lk, hlink);
	lk->ls->n--;
}

static void
lookup_free(struct lookup *lk)
{
	struct lookup_waiter *w;

	lookup_detach(lk);
	while ((w = TAILQ_FIRST(&lk->waiters)) != NULL) {
		TAILQ_REMOVE(&lk->waiters, w, link);
		free(w);
	}
	free(lk);
}

/* Persist (if asked), answer every waiter, and free the lookup. It leaves the table before any
 * waiter runs, so a request made from a callback starts afresh from the cache just written. */
static void
lookup_finish(struct lookup *lk, int write)
{
	struct lookups *ls = lk->ls;
	struct lookup_waiter *w;
	const char *source = lk->disc == DECIDE_DISC_FETCHED ? "fetch" : "dns";

	if (write && ls->cache != NULL)
		cache_put(ls->cache, lk->domain, &lk->rec);
	lookup_detach(lk);
	while ((w = TAILQ_FIRST(&lk->waiters)) != NULL) {
		TAILQ_REMOVE(&lk->waiters, w, link);
		lookup_answer(&lk->rec, lk->disc, source, w->zone, lk->domain, w->cb, w->arg);
		free(w);
	}
	free(lk);
}

static void
lookup_fetch_failed(struct lookup *lk, const char *why)
{
	char esc[512];

	log_warn("domain=%s stage=fetch id=%s err=\"%s\"%s", lk->domain, lk->txt.id,
	         log_escape(why, strlen(why), esc, sizeof(esc)),
	         cacherec_view(&lk->rec, (int64_t)time(NULL)) == CACHEREC_VIEW_POLICY
	             ? " action=keep-cached"
	             : "");
	cacherec_on_fetch_fail(&lk->rec, lk->txt.id, (int64_t)time(NULL), lk->ls->cfg->txt_recheck);
	lk->disc = DECIDE_DISC_FETCH_FAILED;
	lookup_finish(lk, 1);
}

static void
lookup_on_fetch(void *arg, const char *body, size_t len, const char *why)
{
	struct lookup *lk = arg;
	struct stspolicy pol;
	enum stspolicy_err perr;
	int changed;

	lk->f = NULL;
	if (body == NULL) {
		lookup_fetch_failed(lk, why);
		return;
	}
	perr = stspolicy_parse(body, len, &pol);
	if (perr != STSPOLICY_OK) {
		char msg[128];
		snprintf(msg, sizeof(msg), "invalid policy: %s", stspolicy_strerror(perr));
		lookup_fetch_failed(lk, msg);
		return;
	}
	changed = !lk->rec.has_policy || strcmp(lk->rec.id, lk->txt.id) != 0;
	cacherec_on_fetch_ok(&lk->rec, &pol, lk->txt.id, (int64_t)time(NULL));
	log_info("domain=%s event=%s id=%s mode=%s max_age=%u mx_patterns=%u", lk->domain,
	         changed ? "policy-learned" : "policy-refreshed", lk->txt.id,
	         stspolicy_mode_name(pol.mode), (unsigned)pol.max_age, pol.n_mx);
	lk->disc = DECIDE_DISC_FETCHED;
	lookup_finish(lk, 1);
}

static void
lookup_on_addr(void *arg, enum resolver_status st, const char *addrs, const char *why)
{
	struct lookup *lk = arg;
	char msg[320];

	lk->q = NULL;
	if (st != RESOLVER_OK) {
		snprintf(msg, sizeof(msg), "mta-sts.%.200s address: %s", lk->domain, why);
		lookup_fetch_failed(lk, msg);
		return;
	}
	log_debug(LOG_CAT_FETCH, "domain=%s stage=fetch addrs=%s", lk->domain, addrs);
	lk->stage = STAGE_FETCH;
	lk->f = fetch_start(lk->ls->fetch, lk->domain, addrs, lookup_on_fetch, lk);
}

/* A temporary DNS failure is not "no policy": the policy, if any, stays as it is. With a valid
 * policy cached the failed check still counts, so a DNS outage does not turn every query for
 * the domain into a new TXT query. */
static void
lookup_txt_failed(struct lookup *lk, const char *why)
{
	int64_t now = (int64_t)time(NULL);
	int have_policy = cacherec_view(&lk->rec, now) == CACHEREC_VIEW_POLICY;

	log_warn("domain=%s stage=txt err=\"%s\"", lk->domain, why);
	if (have_policy)
		cacherec_on_txt(&lk->rec, now);
	lk->disc = DECIDE_DISC_TXT_FAILED;
	lookup_finish(lk, have_policy);
}

static void
lookup_on_txt(void *arg, enum resolver_status st, const struct stsrecord_txt *recs, size_t n,
              const char *why)
{
	struct lookup *lk = arg;
	struct lookups *ls = lk->ls;
	int64_t now = (int64_t)time(NULL);
	enum stsrecord_err serr = STSRECORD_NONE;
	char name[DNAME_MAX + 16];

	lk->q = NULL;
	if (st == RESOLVER_FAIL) {
		lookup_txt_failed(lk, why);
		return;
	}
	if (st == RESOLVER_OK)
		serr = stsrecord_select(recs, n, &lk->txt);
	if (serr != STSRECORD_OK) {
		if (serr != STSRECORD_NONE)
			log_warn("domain=%s stage=txt err=\"%s\"", lk->domain,
			         stsrecord_strerror(serr));
		log_debug(LOG_CAT_DNS, "domain=%s stage=txt result=no-policy why=\"%s\"",
		          lk->domain, st == RESOLVER_OK ? stsrecord_strerror(serr) : why);
		cacherec_on_no_policy(&lk->rec, now, ls->cfg->txt_recheck);
		lk->disc = DECIDE_DISC_NO_POLICY;
		lookup_finish(lk, 1);
		return;
	}
	log_debug(LOG_CAT_DNS, "domain=%s stage=txt id=%s", lk->domain, lk->txt.id);
	cacherec_on_txt(&lk->rec, now);
	if (!cacherec_fetch_wanted(&lk->rec, lk->txt.id, now, ls->cfg->refresh)) {
		/* Same id and fresh, or this id failed less than 5 minutes ago (RFC 8461 s5.1). */
		lk->disc = cacherec_view(&lk->rec, now) == CACHEREC_VIEW_POLICY
		               ? DECIDE_DISC_NOT_RUN
		               : DECIDE_DISC_FETCH_FAILED;
		lookup_finish(lk, 1);
		return;
	}
	lk->stage = STAGE_ADDR;
	snprintf(name, sizeof(name), "mta-sts.%s", lk->domain);
	lk->q = resolver_addr_start(ls->res, name, lookup_on_addr, lk);
}

static void
lookup_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct lookup *lk = arg;

	(void)fd;
	(void)what;
	if (lk->stage == STAGE_TXT) {
		lookup_txt_failed(lk, "deadline passed");
		return;
	}
	lookup_fetch_failed(lk, "deadline passed");
}

static struct lookup *
lookup_start(struct lookups *ls, const char *domain, const struct cacherec *rec)
{
	const struct cfg *cfg = ls->cfg;
	struct lookup *lk = xcalloc(1, sizeof(*lk));
	struct timeval tv = {0, 0};
	char name[DNAME_MAX + 16];
	unsigned deadline = 3 * cfg->dns_timeout + cfg->fetch_timeout + 2;

	snprintf(lk->domain, sizeof(lk->domain), "%s", domain);
	lk->ls = ls;
	lk->rec = *rec;
	lk->stage = STAGE_TXT;
	TAILQ_INIT(&lk->waiters);
	LIST_INSERT_HEAD(&ls->buckets[lookup_hash(domain)], lk, hlink);
	ls->n++;
	tv.tv_sec = deadline < LOOKUP_DEADLINE_MAX ? deadline : LOOKUP_DEADLINE_MAX;
	lk->guard = evtimer_new(ls->base, lookup_on_deadline, lk);
	INVARIANT(lk->guard != NULL);
	evtimer_add(lk->guard, &tv);
	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	lk->q = resolver_txt_start(ls->res, name, lookup_on_txt, lk);
	return lk;
}

static void
lookup_reply_temp(const struct cfg_zone *zone, const char *domain, const char *why, lookup_cb *cb,
                  void *arg)
{
	struct lookup_result r = {"TEMP",  why,  strlen(why),        why,
	                          "local", NULL, DECIDE_DISC_NOT_RUN};

	(void)zone;
	log_warn("domain=%s stage=lookup err=\"%s\"", domain, why);
	cb(arg, &r);
}

struct lookup_waiter *
lookup_request(struct lookups *ls, const struct cfg_zone *zone, const char *domain, lookup_cb *cb,
               void *arg)
{
	struct cacherec rec;
	struct lookup *lk;
	struct lookup_waiter *w;
	enum cacherec_view view;
	int64_t now = (int64_t)time(NULL);

	cacherec_init(&rec);
	if (ls->cache != NULL && cache_get(ls->cache, domain, &rec) == CACHE_ERR) {
		/* We cannot tell whether a policy protects this domain: defer, never guess. */
		lookup_reply_temp(zone, domain, "policy cache unavailable", cb, arg);
		return NULL;
	}
	view = cacherec_view(&rec, now);
	if (view != CACHEREC_VIEW_UNKNOWN) {
		lookup_answer(&rec,
		              view == CACHEREC_VIEW_POLICY ? DECIDE_DISC_NOT_RUN
		                                           : DECIDE_DISC_NO_POLICY,
		              "cache", zone, domain, cb, arg);
		if (view == CACHEREC_VIEW_POLICY &&
		    cacherec_recheck_due(&rec, now, ls->cfg->txt_recheck) &&
		    lookup_find(ls, domain) == NULL && ls->n < ls->cfg->max_lookups)
			lookup_start(ls, domain, &rec); /* background: RFC 8461 s5.1 re-check */
		return NULL;
	}
	lk = lookup_find(ls, domain);
	if (lk == NULL) {
		if (ls->n >= ls->cfg->max_lookups) {
			lookup_reply_temp(zone, domain, "too many lookups in flight", cb, arg);
			return NULL;
		}
		lk = lookup_start(ls, domain, &rec);
	}
	w = xcalloc(1, sizeof(*w));
	w->lk = lk;
	w->zone = zone;
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&lk->waiters, w, link);
	return w;
}

void
lookup_waiter_cancel(struct lookup_waiter *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(&w->lk->waiters, w, link);
	free(w);
}

void
lookups_free(struct lookups *ls)
{
	if (ls == NULL)
		return;
	for (unsigned i = 0; i < LOOKUP_BUCKETS; i++)
		while (!LIST_EMPTY(&ls->buckets[i]))
			lookup_free(LIST_FIRST(&ls->buckets[i]));
	free(ls);
}
