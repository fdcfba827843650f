/* SPDX-License-Identifier: MIT */
/*
 * lookup: the per-destination state machine. Effectful (E); the only module that knows
 * resolver, fetch and cache. Owns every in-flight lookup (one per destination key, in a hash
 * table), its DNS/fetch handles and its waiters. A lookup has two parts that run side by side:
 *   MTA-STS: cache -> TXT -> address -> fetch (RFC 8461 s3, s5.1 via cacherec.c);
 *   DNS: the MX set and DANE state of the destination (RFC 7672, dane.c drives the queries).
 * Hot path: when the cache settles both (valid policy or remembered "no policy", and an
 * unexpired DNS record where the zone needs one) the answer is given synchronously from LMDB
 * reads; a due TXT re-check then runs in the background. Otherwise the request waits on the
 * destination's lookup; concurrent requests share it. Destinations sharing a policy domain
 * ("example.com", "example.com:2525") are separate lookups and may discover that policy at
 * the same time; both results are valid and the later write wins. The answer is decide.c's.
 * Every lookup has a deadline below Postfix's 100 s socketmap timeout. A waiter holds its
 * request's cfg (its zone lives there), a lookup the cfg of the request that started it.
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

#define LOOKUP_BUCKETS 1024             /* power of two */
#define LOOKUP_TEXT_MAX 65536           /* 64 patterns of 253 bytes, thrice with 3.10 attributes */
#define LOOKUP_DEADLINE_MAX 90          /* seconds; Postfix gives up after 100 */
#define LOOKUP_KEY_MAX (DNAME_MAX + 32) /* "dane/[host]:port" */

enum lookup_stage { STAGE_TXT, STAGE_ADDR, STAGE_FETCH };

/* A part is IDLE when the cache settled it (or the zone does not need it). */
enum lookup_part { PART_IDLE = 0, PART_RUNNING, PART_DONE };

struct lookup_waiter {
	TAILQ_ENTRY(lookup_waiter) link;
	struct lookup *lk;
	struct cfg *cfg; /* a reference: the request's configuration, where zone lives */
	const struct cfg_zone *zone;
	lookup_cb *cb;
	void *arg;
};

/* One DNS query of the DNS part in flight. */
struct lookup_dnsq {
	struct lookup *lk;
	struct resolver_query *q;
	unsigned token;
};

struct lookup {
	LIST_ENTRY(lookup) hlink;
	struct lookups *ls;
	struct cfg *cfg;            /* a reference: the starting request's configuration */
	char key[LOOKUP_KEY_MAX];   /* dane_key(): "dane/" + the destination */
	struct socketmap_dest dest; /* policy domain, port, brackets */
	struct event *guard;
	int64_t t0, deadline; /* start; when the guard fires */
	TAILQ_HEAD(, lookup_waiter) waiters;
	/* MTA-STS part */
	enum lookup_part sts;
	enum lookup_stage stage;
	enum decide_disc disc;
	int sts_write;
	struct cacherec rec;
	struct stsrecord txt;
	struct resolver_query *q;
	struct fetch *f;
	/* DNS part */
	enum lookup_part dns;
	int have_dns; /* drec holds a record usable now */
	struct danerec drec;
	struct dane_eval *dane; /* while the DNS part runs */
	struct lookup_dnsq dq[DANE_INFLIGHT_MAX];
};

struct lookups {
	struct event_base *base;
	struct resolver *res;
	struct fetcher *fetch;
	struct cache *cache;
	unsigned n;
	LIST_HEAD(, lookup) buckets[LOOKUP_BUCKETS];
};

static void lookup_maybe_finish(struct lookup *lk);

static unsigned
lookup_hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h & (LOOKUP_BUCKETS - 1);
}

static struct lookup *
lookup_find(struct lookups *ls, const char *key)
{
	struct lookup *lk;

	LIST_FOREACH(lk, &ls->buckets[lookup_hash(key)], hlink)
	if (strcmp(lk->key, key) == 0)
		return lk;
	return NULL;
}

struct lookups *
lookups_new(struct event_base *base, struct resolver *res, struct fetcher *fetch,
            struct cache *cache)
{
	struct lookups *ls = xcalloc(1, sizeof(*ls));

	ls->base = base;
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

/* Does this zone need the destination's DNS record to answer, given what the cache says about
 * its policy? DANE always (when the AD bit is trusted); the MX set only for enforced policies
 * (mx_check), or while discovery may still find one. */
static int
lookup_need_dns(const struct cfg *cfg, const struct cfg_zone *zone, const struct cacherec *rec,
                int64_t now)
{
	const struct stspolicy *p = &rec->policy;

	if (zone->dane && cfg->dnssec)
		return 1;
	if (!zone->mx_check)
		return 0;
	switch (cacherec_view(rec, now)) {
	case CACHEREC_VIEW_NO_POLICY:
		return 0;
	case CACHEREC_VIEW_POLICY:
		return p->mode == STSPOLICY_MODE_ENFORCE ||
		       (p->mode == STSPOLICY_MODE_TESTING && zone->testing == CFG_TESTING_ENFORCE);
	case CACHEREC_VIEW_UNKNOWN:
		break;
	}
	return 1;
}

/* Decide for one zone and hand the reply to cb. */
static void
lookup_answer(const struct cacherec *rec, enum decide_disc disc, const struct danerec *dns,
              const char *source, const struct cfg_zone *zone, const char *domain, lookup_cb *cb,
              void *arg)
{
	struct decide_input in = {rec,
	                          disc,
	                          disc == DECIDE_DISC_FETCHED ? &rec->policy : NULL,
	                          dns != NULL ? dns->state : DANE_INSECURE,
	                          dns,
	                          domain};
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
	r.dns = dns;
	log_debug(LOG_CAT_DECIDE, "domain=%s zone=%s source=%s dane=%s reply=\"%s %s\" why=\"%s\"",
	          domain, zone->name, source, dns != NULL ? dane_state_name(dns->state) : "-",
	          r.status, text, r.why);
	cb(arg, &r);
}

/* ---- teardown ---- */

static void
lookup_dns_cancel(struct lookup *lk)
{
	for (unsigned i = 0; i < DANE_INFLIGHT_MAX; i++) {
		resolver_cancel(lk->dq[i].q);
		lk->dq[i].q = NULL;
	}
	free(lk->dane);
	lk->dane = NULL;
}

/* Unlink from the table and release handles; waiters are the caller's business. */
static void
lookup_detach(struct lookup *lk)
{
	resolver_cancel(lk->q);
	lk->q = NULL;
	fetch_cancel(lk->f);
	lk->f = NULL;
	lookup_dns_cancel(lk);
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
		cfg_unref(w->cfg);
		free(w);
	}
	cfg_unref(lk->cfg);
	free(lk);
}

/* Once no part runs: persist what was learnt, answer every waiter, free the lookup. It leaves
 * the table before any waiter runs, so a request made from a callback starts afresh from the
 * cache just written. */
static void
lookup_maybe_finish(struct lookup *lk)
{
	struct lookups *ls = lk->ls;
	struct lookup_waiter *w;
	const char *source = lk->disc == DECIDE_DISC_FETCHED ? "fetch" : "dns";

	if (lk->sts == PART_RUNNING || lk->dns == PART_RUNNING)
		return;
	if (ls->cache != NULL && lk->sts == PART_DONE && lk->sts_write)
		cache_put(ls->cache, lk->dest.domain, &lk->rec);
	if (ls->cache != NULL && lk->dns == PART_DONE)
		cache_put_dane(ls->cache, lk->key, &lk->drec);
	lookup_detach(lk);
	while ((w = TAILQ_FIRST(&lk->waiters)) != NULL) {
		TAILQ_REMOVE(&lk->waiters, w, link);
		lookup_answer(&lk->rec, lk->disc, lk->have_dns ? &lk->drec : NULL, source, w->zone,
		              lk->dest.domain, w->cb, w->arg);
		cfg_unref(w->cfg);
		free(w);
	}
	cfg_unref(lk->cfg);
	free(lk);
}

/* ---- MTA-STS part ---- */

static void
lookup_sts_done(struct lookup *lk, enum decide_disc disc, int write)
{
	lk->disc = disc;
	lk->sts_write = write;
	lk->sts = PART_DONE;
	lookup_maybe_finish(lk); /* lk may be freed */
}

static void
lookup_fetch_failed(struct lookup *lk, const char *why)
{
	char esc[512];

	log_warn("domain=%s stage=fetch id=%s err=\"%s\"%s", lk->dest.domain, lk->txt.id,
	         log_escape(why, strlen(why), esc, sizeof(esc)),
	         cacherec_view(&lk->rec, (int64_t)time(NULL)) == CACHEREC_VIEW_POLICY
	             ? " action=keep-cached"
	             : "");
	cacherec_on_fetch_fail(&lk->rec, lk->txt.id, (int64_t)time(NULL), lk->cfg->txt_recheck);
	lookup_sts_done(lk, DECIDE_DISC_FETCH_FAILED, 1);
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
	log_info("domain=%s event=%s id=%s mode=%s max_age=%u mx_patterns=%u", lk->dest.domain,
	         changed ? "policy-learned" : "policy-refreshed", lk->txt.id,
	         stspolicy_mode_name(pol.mode), (unsigned)pol.max_age, pol.n_mx);
	lookup_sts_done(lk, DECIDE_DISC_FETCHED, 1);
}

static void
lookup_on_addr(void *arg, enum resolver_status st, const char *addrs, const char *why)
{
	struct lookup *lk = arg;
	char msg[320];

	lk->q = NULL;
	if (st != RESOLVER_OK) {
		snprintf(msg, sizeof(msg), "mta-sts.%.200s address: %s", lk->dest.domain, why);
		lookup_fetch_failed(lk, msg);
		return;
	}
	log_debug(LOG_CAT_FETCH, "domain=%s stage=fetch addrs=%s", lk->dest.domain, addrs);
	lk->stage = STAGE_FETCH;
	lk->f = fetch_start(lk->ls->fetch, lk->dest.domain, addrs, lookup_on_fetch, lk);
}

/* A temporary DNS failure is not "no policy": the policy, if any, stays as it is. With a valid
 * policy cached the failed check still counts, so a DNS outage does not turn every query for
 * the domain into a new TXT query. */
static void
lookup_txt_failed(struct lookup *lk, const char *why)
{
	int64_t now = (int64_t)time(NULL);
	int have_policy = cacherec_view(&lk->rec, now) == CACHEREC_VIEW_POLICY;

	log_warn("domain=%s stage=txt err=\"%s\"", lk->dest.domain, why);
	if (have_policy)
		cacherec_on_txt(&lk->rec, now);
	lookup_sts_done(lk, DECIDE_DISC_TXT_FAILED, have_policy);
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
			log_warn("domain=%s stage=txt err=\"%s\"", lk->dest.domain,
			         stsrecord_strerror(serr));
		log_debug(LOG_CAT_DNS, "domain=%s stage=txt result=no-policy why=\"%s\"",
		          lk->dest.domain, st == RESOLVER_OK ? stsrecord_strerror(serr) : why);
		cacherec_on_no_policy(&lk->rec, now, lk->cfg->txt_recheck);
		lookup_sts_done(lk, DECIDE_DISC_NO_POLICY, 1);
		return;
	}
	log_debug(LOG_CAT_DNS, "domain=%s stage=txt id=%s", lk->dest.domain, lk->txt.id);
	cacherec_on_txt(&lk->rec, now);
	if (!cacherec_fetch_wanted(&lk->rec, lk->txt.id, now, lk->cfg->refresh)) {
		/* Same id and fresh, or this id failed less than 5 minutes ago (RFC 8461 s5.1). */
		lookup_sts_done(lk,
		                cacherec_view(&lk->rec, now) == CACHEREC_VIEW_POLICY
		                    ? DECIDE_DISC_NOT_RUN
		                    : DECIDE_DISC_FETCH_FAILED,
		                1);
		return;
	}
	lk->stage = STAGE_ADDR;
	snprintf(name, sizeof(name), "mta-sts.%s", lk->dest.domain);
	lk->q = resolver_addr_start(ls->res, name, lookup_on_addr, lk);
}

static void lookup_arm(struct lookup *lk, unsigned budget);

static void
lookup_sts_start(struct lookup *lk)
{
	const struct cfg *cfg = lk->cfg;
	char name[DNAME_MAX + 16];

	lk->sts = PART_RUNNING;
	/* TXT, then A and AAAA of mta-sts.<domain>, then the fetch. */
	lookup_arm(lk, 3 * cfg->dns_timeout + cfg->fetch_timeout + 2);
	lk->stage = STAGE_TXT;
	snprintf(name, sizeof(name), "_mta-sts.%s", lk->dest.domain);
	lk->q = resolver_txt_start(lk->ls->res, name, lookup_on_txt, lk);
}

/* ---- DNS part ---- */

static void lookup_on_dns(void *arg, const uint8_t *msg, size_t len, const char *why);

/* Send what dane.c asks for. Returns 1 when the part has just completed (the caller then
 * finishes the lookup if nothing else runs). */
static int
lookup_dns_pump(struct lookup *lk)
{
	struct dane_query q;

	while (dane_next(lk->dane, &q)) {
		struct lookup_dnsq *slot = NULL;

		for (unsigned i = 0; i < DANE_INFLIGHT_MAX && slot == NULL; i++)
			if (lk->dq[i].q == NULL)
				slot = &lk->dq[i];
		/* dane.c keeps at most DANE_INFLIGHT_MAX queries in flight. */
		INVARIANT(slot != NULL);
		slot->lk = lk;
		slot->token = q.token;
		slot->q = resolver_raw_start(lk->ls->res, q.name, q.type, lookup_on_dns, slot);
	}
	if (!dane_done(lk->dane))
		return 0;
	dane_result(lk->dane, (int64_t)time(NULL), &lk->drec);
	lookup_dns_cancel(lk); /* queries made moot by an early ERROR */
	lk->have_dns = 1;
	lk->dns = PART_DONE;
	if (lk->drec.state == DANE_ERROR)
		log_warn("destination=%s stage=dane err=\"%s\"", lk->key + 5, lk->drec.why);
	else
		log_debug(LOG_CAT_DNS,
		          "destination=%s stage=dane state=%s mx_hosts=%u tlsa_hosts=%u why=\"%s\"",
		          lk->key, dane_state_name(lk->drec.state), lk->drec.n_hosts,
		          lk->drec.n_tlsa, lk->drec.why);
	return 1;
}

static void
lookup_on_dns(void *arg, const uint8_t *msg, size_t len, const char *why)
{
	struct lookup_dnsq *slot = arg;
	struct lookup *lk = slot->lk;

	slot->q = NULL;
	if (msg != NULL)
		dane_answer(lk->dane, slot->token, msg, len);
	else
		dane_fail(lk->dane, slot->token, why);
	if (lookup_dns_pump(lk))
		lookup_maybe_finish(lk); /* lk may be freed */
}

static void
lookup_dns_start(struct lookup *lk)
{
	const struct cfg *cfg = lk->cfg;

	lk->dane = xmalloc(sizeof(*lk->dane));
	dane_init(lk->dane, lk->dest.domain, lk->dest.port, lk->dest.bracketed, cfg->dnssec != 0);
	lk->dns = PART_RUNNING;
	/* MX, addresses, TLSA, TLSA at the unexpanded name: four rounds at most. */
	lookup_arm(lk, 4 * cfg->dns_timeout + 2);
	/* Queries leave from the resolver's zero timer: nothing completes in here. */
	INVARIANT(lookup_dns_pump(lk) == 0);
}

/* ---- driving ---- */

static void
lookup_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct lookup *lk = arg;

	(void)fd;
	(void)what;
	if (lk->dns == PART_RUNNING) {
		/* What is still in flight fails: dane.c makes it ERROR. */
		for (unsigned i = 0; i < DANE_INFLIGHT_MAX; i++) {
			if (lk->dq[i].q == NULL)
				continue;
			resolver_cancel(lk->dq[i].q);
			lk->dq[i].q = NULL;
			dane_fail(lk->dane, lk->dq[i].token, "deadline passed");
		}
		INVARIANT(lookup_dns_pump(lk) == 1);
	}
	if (lk->sts != PART_RUNNING)
		lookup_maybe_finish(lk);
	else if (lk->stage == STAGE_TXT)
		lookup_txt_failed(lk, "deadline passed");
	else
		lookup_fetch_failed(lk, "deadline passed");
}

static struct lookup *
lookup_new(struct lookups *ls, struct cfg *cfg, const char *key, const struct socketmap_dest *dest,
           const struct cacherec *rec, enum decide_disc disc)
{
	struct lookup *lk = xcalloc(1, sizeof(*lk));

	snprintf(lk->key, sizeof(lk->key), "%s", key);
	lk->dest = *dest;
	lk->ls = ls;
	lk->cfg = cfg_ref(cfg);
	lk->rec = *rec;
	lk->disc = disc;
	lk->t0 = (int64_t)time(NULL);
	TAILQ_INIT(&lk->waiters);
	LIST_INSERT_HEAD(&ls->buckets[lookup_hash(key)], lk, hlink);
	ls->n++;
	return lk;
}

/* Give a starting part budget seconds, but never beyond LOOKUP_DEADLINE_MAX after the lookup
 * began: every waiter gets its answer before Postfix gives up (100 s). */
static void
lookup_arm(struct lookup *lk, unsigned budget)
{
	int64_t now = (int64_t)time(NULL), end = now + (int64_t)budget;
	struct timeval tv = {0, 0};

	if (end > lk->t0 + LOOKUP_DEADLINE_MAX)
		end = lk->t0 + LOOKUP_DEADLINE_MAX;
	if (lk->guard != NULL && end <= lk->deadline)
		return;
	lk->deadline = end;
	if (lk->guard == NULL) {
		lk->guard = evtimer_new(lk->ls->base, lookup_on_deadline, lk);
		INVARIANT(lk->guard != NULL);
	}
	tv.tv_sec = (time_t)(end > now ? end - now : 0);
	evtimer_add(lk->guard, &tv);
}

static void
lookup_reply_temp(const char *domain, const char *why, lookup_cb *cb, void *arg)
{
	struct lookup_result r = {"TEMP",  why,  strlen(why),         why,
	                          "local", NULL, DECIDE_DISC_NOT_RUN, NULL};

	log_warn("domain=%s stage=lookup err=\"%s\"", domain, why);
	cb(arg, &r);
}

struct lookup_waiter *
lookup_request(struct lookups *ls, struct cfg *cfg, const struct cfg_zone *zone,
               const struct socketmap_dest *dest, lookup_cb *cb, void *arg)
{
	struct cacherec rec;
	struct danerec drec;
	struct lookup *lk;
	struct lookup_waiter *w;
	enum cacherec_view view;
	char key[LOOKUP_KEY_MAX];
	int64_t now = (int64_t)time(NULL);
	int need_dns, have_dns = 0;

	INVARIANT(dane_key(dest->domain, dest->port, dest->bracketed, key, sizeof(key)) == 0);
	cacherec_init(&rec);
	if (ls->cache != NULL && cache_get(ls->cache, dest->domain, &rec) == CACHE_ERR) {
		/* We cannot tell whether a policy protects this domain: defer, never guess. */
		lookup_reply_temp(dest->domain, "policy cache unavailable", cb, arg);
		return NULL;
	}
	view = cacherec_view(&rec, now);
	need_dns = lookup_need_dns(cfg, zone, &rec, now);
	if (need_dns) {
		if (dane_static(dest->domain, dest->bracketed, cfg->dnssec != 0, now, &drec)) {
			have_dns = 1;
		} else if (ls->cache != NULL) {
			enum cache_res cr = cache_get_dane(ls->cache, key, &drec);

			if (cr == CACHE_ERR) {
				lookup_reply_temp(dest->domain, "policy cache unavailable", cb,
				                  arg);
				return NULL;
			}
			/* A record made with another dnssec setting is not reused. */
			have_dns = cr == CACHE_HIT && danerec_valid(&drec, now) &&
			           drec.trust_ad == (cfg->dnssec != 0);
		}
	}
	if (view != CACHEREC_VIEW_UNKNOWN && (!need_dns || have_dns)) {
		lookup_answer(&rec,
		              view == CACHEREC_VIEW_POLICY ? DECIDE_DISC_NOT_RUN
		                                           : DECIDE_DISC_NO_POLICY,
		              have_dns ? &drec : NULL, "cache", zone, dest->domain, cb, arg);
		if (view == CACHEREC_VIEW_POLICY &&
		    cacherec_recheck_due(&rec, now, cfg->txt_recheck) &&
		    lookup_find(ls, key) == NULL && ls->n < cfg->max_lookups) {
			/* background: RFC 8461 s5.1 re-check (cb may have dropped the caller's
			 * reference to cfg; the caller keeps cfg alive for this call) */
			lk = lookup_new(ls, cfg, key, dest, &rec, DECIDE_DISC_NOT_RUN);
			lookup_sts_start(lk);
		}
		return NULL;
	}
	lk = lookup_find(ls, key);
	if (lk == NULL) {
		if (ls->n >= cfg->max_lookups) {
			lookup_reply_temp(dest->domain, "too many lookups in flight", cb, arg);
			return NULL;
		}
		lk = lookup_new(ls, cfg, key, dest, &rec,
		                view == CACHEREC_VIEW_NO_POLICY ? DECIDE_DISC_NO_POLICY
		                                                : DECIDE_DISC_NOT_RUN);
	}
	/* Join: start what this request needs and the lookup does not do yet. */
	if (view == CACHEREC_VIEW_UNKNOWN && lk->sts == PART_IDLE) {
		lk->rec = rec;
		lookup_sts_start(lk);
	}
	if (need_dns && !lk->have_dns && lk->dns == PART_IDLE) {
		if (have_dns) {
			lk->drec = drec;
			lk->have_dns = 1;
		} else {
			lookup_dns_start(lk);
		}
	}
	w = xcalloc(1, sizeof(*w));
	w->lk = lk;
	w->cfg = cfg_ref(cfg);
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
	cfg_unref(w->cfg);
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
