/* SPDX-License-Identifier: MIT */
/*
 * lookup: the driver of one destination's lookup. Effectful (E); the only module that knows
 * resolver, fetch and cache. It holds no protocol rule: the MTA-STS machine (sts.c), the DNS
 * machine (dane.c) and the decision (decide.c, answer.c) do; here is the registry of lookups
 * in flight (one per destination key, in a hash table), their waiters, deadlines and I/O.
 * Hot path: when the cache settles the answer (decide_needs_dns() says whether the DNS record
 * is needed too) it is given synchronously from LMDB reads, and a due TXT re-check of a cached
 * policy (RFC 8461 s5.1) starts in the background. Otherwise the request waits on the
 * destination's lookup, which runs the parts the cache did not settle side by side; their
 * queries share one table of slots; the results are stored, then every waiter is answered by
 * its own zone of the configuration it came with. Destinations sharing a policy domain
 * ("example.com", "example.com:2525") are separate lookups; both results are valid and the
 * later write wins. Every lookup ends before LOOKUP_DEADLINE_MAX, below Postfix's 100 s.
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
#include "fetch.h"
#include "log.h"
#include "resolver.h"
#include "sts.h"
#include "xalloc.h"

#define LOOKUP_BUCKETS 1024             /* power of two */
#define LOOKUP_DEADLINE_MAX 90          /* seconds; Postfix gives up after 100 */
#define LOOKUP_KEY_MAX (DNAME_MAX + 32) /* "dane/[host]:port" */
#define LOOKUP_QUERIES_MAX (DANE_INFLIGHT_MAX + STS_INFLIGHT_MAX)

/* A part is IDLE when the cache settled it (or the zone does not need it). */
enum lookup_part { PART_IDLE = 0, PART_RUNNING, PART_DONE };

struct lookup_waiter {
	TAILQ_ENTRY(lookup_waiter) link;
	struct lookup *lk;
	struct cfg *cfg; /* the configuration of the request; zone lives in it */
	const struct cfg_zone *zone;
	lookup_cb *cb;
	void *arg;
};

/* One DNS query in flight, of either machine. */
struct lookup_q {
	struct lookup *lk;
	struct resolver_query *q;
	unsigned token;
	int sts; /* 1: sts.c asked for it, 0: dane.c */
};

struct lookup {
	LIST_ENTRY(lookup) hlink;
	struct lookups *ls;
	struct cfg *cfg;            /* settings of the request that started it */
	char key[LOOKUP_KEY_MAX];   /* dane_key(): "dane/" + the destination */
	struct socketmap_dest dest; /* policy domain, port, brackets */
	struct event *guard;
	int64_t t0, deadline; /* start; when the guard fires */
	TAILQ_HEAD(, lookup_waiter) waiters;
	struct lookup_q q[LOOKUP_QUERIES_MAX];
	/* MTA-STS part */
	enum lookup_part sts_part;
	struct cacherec rec; /* what answers: from the cache, then from the machine */
	enum decide_disc disc;
	int sts_write;
	struct sts_eval *sts; /* while running */
	struct fetch *f;
	/* DNS part */
	enum lookup_part dns_part;
	int have_dns; /* drec holds a record usable now */
	struct danerec drec;
	struct dane_eval *dane; /* while running */
};

struct lookups {
	struct event_base *base;
	struct resolver *res;
	struct fetcher *fetch;
	struct cache *cache;
	unsigned n;
	LIST_HEAD(, lookup) buckets[LOOKUP_BUCKETS];
};

static void lookup_on_dns(void *arg, const uint8_t *msg, size_t len, const char *why);

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
	struct lookup_result r = {NULL, NULL, 0, NULL, source, rec, disc, dns};
	struct strbuf text;

	strbuf_init(&text, ANSWER_TEXT_MAX);
	answer_reply(&in, zone, (int64_t)time(NULL), &text, &r.status, &r.why);
	r.text = text.data != NULL ? text.data : "";
	r.len = text.len;
	log_debug(LOG_CAT_DECIDE, "domain=%s zone=%s source=%s dane=%s reply=\"%s %s\" why=\"%s\"",
	          domain, zone->name, source, dns != NULL ? dane_state_name(dns->state) : "-",
	          r.status, r.text, r.why);
	cb(arg, &r);
	strbuf_fini(&text);
}

static void
lookup_reply_temp(const char *domain, const char *why, lookup_cb *cb, void *arg)
{
	struct lookup_result r = {"TEMP",  why,  strlen(why),         why,
	                          "local", NULL, DECIDE_DISC_NOT_RUN, NULL};

	log_warn("domain=%s stage=lookup err=\"%s\"", domain, why);
	cb(arg, &r);
}

/* ---- queries and teardown ---- */

static void
lookup_send(struct lookup *lk, int sts, const char *name, uint16_t type, unsigned token)
{
	struct lookup_q *slot = NULL;

	for (unsigned i = 0; i < LOOKUP_QUERIES_MAX && slot == NULL; i++)
		if (lk->q[i].q == NULL)
			slot = &lk->q[i];
	/* The machines keep at most DANE_INFLIGHT_MAX and STS_INFLIGHT_MAX queries in flight. */
	INVARIANT(slot != NULL);
	slot->lk = lk;
	slot->sts = sts;
	slot->token = token;
	slot->q = resolver_raw_start(lk->ls->res, name, type, lookup_on_dns, slot);
}

/* Cancel the queries of one machine (it has ended, or is told to by its abort). */
static void
lookup_cancel_queries(struct lookup *lk, int sts)
{
	for (unsigned i = 0; i < LOOKUP_QUERIES_MAX; i++) {
		struct lookup_q *s = &lk->q[i];

		if (s->q == NULL || s->sts != sts)
			continue;
		resolver_cancel(s->q);
		s->q = NULL;
	}
}

/* Unlink from the table and release handles (once); waiters are the caller's business. */
static void
lookup_detach(struct lookup *lk)
{
	if (lk->ls == NULL)
		return;
	lookup_cancel_queries(lk, 1);
	lookup_cancel_queries(lk, 0);
	fetch_cancel(lk->f);
	lk->f = NULL;
	free(lk->sts);
	lk->sts = NULL;
	free(lk->dane);
	lk->dane = NULL;
	event_free(lk->guard);
	lk->guard = NULL;
	LIST_REMOVE(lk, hlink);
	lk->ls->n--;
	lk->ls = NULL;
}

static void
lookup_waiter_free(struct lookup_waiter *w)
{
	TAILQ_REMOVE(&w->lk->waiters, w, link);
	cfg_unref(w->cfg);
	free(w);
}

static void
lookup_free(struct lookup *lk)
{
	lookup_detach(lk);
	while (!TAILQ_EMPTY(&lk->waiters))
		lookup_waiter_free(TAILQ_FIRST(&lk->waiters));
	cfg_unref(lk->cfg);
	free(lk);
}

/* Once no part runs: store what was learnt, answer every waiter, free the lookup. It leaves
 * the table before any waiter runs, so a request made from a callback starts afresh from the
 * cache just written. */
static void
lookup_maybe_finish(struct lookup *lk)
{
	struct lookups *ls = lk->ls;
	struct lookup_waiter *w;
	const char *source = lk->disc == DECIDE_DISC_FETCHED ? "fetch" : "dns";

	if (lk->sts_part == PART_RUNNING || lk->dns_part == PART_RUNNING)
		return;
	if (ls->cache != NULL && lk->sts_part == PART_DONE && lk->sts_write)
		cache_put(ls->cache, lk->dest.domain, &lk->rec);
	if (ls->cache != NULL && lk->dns_part == PART_DONE)
		cache_put_dane(ls->cache, lk->key, &lk->drec);
	lookup_detach(lk);
	while ((w = TAILQ_FIRST(&lk->waiters)) != NULL) {
		lookup_answer(&lk->rec, lk->disc, lk->have_dns ? &lk->drec : NULL, source, w->zone,
		              lk->dest.domain, w->cb, w->arg);
		lookup_waiter_free(w);
	}
	lookup_free(lk);
}

/* ---- MTA-STS part: sts.c says what to do ---- */

static void
lookup_sts_log(const struct lookup *lk, const struct sts_eval *e)
{
	const struct cacherec *r = &e->rec;
	char esc[STS_WHY_MAX * 4];

	log_escape(e->why, strlen(e->why), esc, sizeof(esc)); /* may hold peer bytes */
	if (e->event == STS_EV_LEARNED || e->event == STS_EV_REFRESHED)
		log_info("domain=%s event=%s id=%s mode=%s max_age=%u mx_patterns=%u",
		         lk->dest.domain, sts_event_name(e->event), r->id,
		         stspolicy_mode_name(r->policy.mode), (unsigned)r->policy.max_age,
		         r->policy.n_mx);
	else if (e->event == STS_EV_TXT_FAILED || e->event == STS_EV_BAD_RECORD ||
	         e->event == STS_EV_FETCH_FAILED)
		log_warn("domain=%s event=%s id=%s err=\"%s\"%s", lk->dest.domain,
		         sts_event_name(e->event), e->txt.id[0] ? e->txt.id : "-", esc,
		         cacherec_view(r, (int64_t)time(NULL)) == CACHEREC_VIEW_POLICY
		             ? " action=keep-cached"
		             : "");
	else
		log_debug(LOG_CAT_DNS, "domain=%s event=%s why=\"%s\"", lk->dest.domain,
		          sts_event_name(e->event), esc);
}

static void lookup_on_fetch(void *arg, const struct sts_response *r);

/* Start what sts.c asks for; once it is done, take its outcome. */
static void
lookup_sts_pump(struct lookup *lk)
{
	struct sts_query q;
	struct sts_fetch f;
	enum sts_action act;

	while ((act = sts_next(lk->sts, &q, &f)) != STS_ACT_NONE) {
		if (act == STS_ACT_QUERY)
			lookup_send(lk, 1, q.name, q.type, q.token);
		else
			lk->f = fetch_start(lk->ls->fetch, &f, lookup_on_fetch, lk);
	}
	if (!sts_done(lk->sts))
		return;
	lookup_sts_log(lk, lk->sts);
	lookup_cancel_queries(lk, 1); /* made moot by an early end */
	fetch_cancel(lk->f);
	lk->f = NULL;
	lk->rec = lk->sts->rec;
	lk->disc = lk->sts->disc;
	lk->sts_write = lk->sts->write;
	free(lk->sts);
	lk->sts = NULL;
	lk->sts_part = PART_DONE;
}

static void
lookup_on_fetch(void *arg, const struct sts_response *r)
{
	struct lookup *lk = arg;

	lk->f = NULL;
	sts_fetched(lk->sts, r, (int64_t)time(NULL));
	lookup_sts_pump(lk);
	lookup_maybe_finish(lk); /* lk may be freed */
}

/* ---- DNS part: dane.c says what to do ---- */

static void
lookup_dns_pump(struct lookup *lk)
{
	struct dane_query q;

	while (dane_next(lk->dane, &q))
		lookup_send(lk, 0, q.name, q.type, q.token);
	if (!dane_done(lk->dane))
		return;
	lookup_cancel_queries(lk, 0); /* made moot by an early ERROR */
	dane_result(lk->dane, (int64_t)time(NULL), &lk->drec);
	free(lk->dane);
	lk->dane = NULL;
	lk->have_dns = 1;
	lk->dns_part = PART_DONE;
	if (lk->drec.state == DANE_ERROR)
		log_warn("destination=%s stage=dane err=\"%s\"", lk->key + 5, lk->drec.why);
	else
		log_debug(LOG_CAT_DNS,
		          "destination=%s stage=dane state=%s mx_known=%d mx_hosts=%u "
		          "tlsa_hosts=%u why=\"%s\"",
		          lk->key + 5, dane_state_name(lk->drec.state), lk->drec.mx_known,
		          lk->drec.n_hosts, lk->drec.n_tlsa, lk->drec.why);
}

static void
lookup_on_dns(void *arg, const uint8_t *msg, size_t len, const char *why)
{
	struct lookup_q *slot = arg;
	struct lookup *lk = slot->lk;
	int64_t now = (int64_t)time(NULL);

	slot->q = NULL;
	if (slot->sts) {
		if (msg != NULL)
			sts_answer(lk->sts, slot->token, msg, len, now);
		else
			sts_fail(lk->sts, slot->token, why, now);
		lookup_sts_pump(lk);
	} else {
		if (msg != NULL)
			dane_answer(lk->dane, slot->token, msg, len);
		else
			dane_fail(lk->dane, slot->token, why);
		lookup_dns_pump(lk);
	}
	lookup_maybe_finish(lk); /* lk may be freed */
}

/* ---- driving ---- */

static void
lookup_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct lookup *lk = arg;

	(void)fd;
	(void)what;
	if (lk->dns_part == PART_RUNNING) {
		dane_abort(lk->dane, "deadline passed"); /* what is in flight failed: ERROR */
		lookup_dns_pump(lk);
		INVARIANT(lk->dns_part == PART_DONE);
	}
	if (lk->sts_part == PART_RUNNING) {
		sts_abort(lk->sts, "deadline passed", (int64_t)time(NULL));
		lookup_sts_pump(lk);
		INVARIANT(lk->sts_part == PART_DONE);
	}
	lookup_maybe_finish(lk);
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
lookup_sts_start(struct lookup *lk)
{
	const struct cfg *cfg = lk->cfg;
	struct sts_params prm = {cfg->txt_recheck, cfg->refresh};

	lk->sts = xmalloc(sizeof(*lk->sts));
	sts_init(lk->sts, lk->dest.domain, &lk->rec, &prm, (int64_t)time(NULL));
	lk->sts_part = PART_RUNNING;
	/* TXT, then A and AAAA together, then the fetch. */
	lookup_arm(lk, 2 * cfg->dns_timeout + cfg->fetch_timeout + 2);
	lookup_sts_pump(lk); /* queries leave from the resolver's zero timer */
}

static void
lookup_dns_start(struct lookup *lk)
{
	const struct cfg *cfg = lk->cfg;

	lk->dane = xmalloc(sizeof(*lk->dane));
	dane_init(lk->dane, lk->dest.domain, lk->dest.port, lk->dest.bracketed, cfg->dnssec != 0);
	lk->dns_part = PART_RUNNING;
	/* MX, addresses, TLSA, TLSA at the unexpanded name: four rounds at most. */
	lookup_arm(lk, 4 * cfg->dns_timeout + 2);
	lookup_dns_pump(lk);
}

static struct lookup *
lookup_new(struct lookups *ls, struct cfg *cfg, const char *key, const struct socketmap_dest *dest,
           const struct cacherec *rec, enum decide_disc disc)
{
	struct lookup *lk = xcalloc(1, sizeof(*lk));

	INVARIANT(strlen(key) < sizeof(lk->key));
	memcpy(lk->key, key, strlen(key) + 1);
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

/* The DNS record of the destination, if one may be used now: 1 found, 0 none, -1 error. */
static int
lookup_cached_dns(struct lookups *ls, const struct cfg *cfg, const struct socketmap_dest *dest,
                  const char *key, int64_t now, struct danerec *drec)
{
	if (dane_static(dest->domain, dest->bracketed, cfg->dnssec != 0, now, drec))
		return 1;
	if (ls->cache == NULL)
		return 0;
	switch (cache_get_dane(ls->cache, key, drec)) {
	case CACHE_HIT:
		return danerec_valid(drec, now, cfg->dnssec != 0);
	case CACHE_MISS:
		return 0;
	case CACHE_ERR:
		break;
	}
	return -1;
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
	need_dns = decide_needs_dns(&rec, zone, cfg->dnssec != 0, now);
	if (need_dns && (have_dns = lookup_cached_dns(ls, cfg, dest, key, now, &drec)) < 0) {
		lookup_reply_temp(dest->domain, "policy cache unavailable", cb, arg);
		return NULL;
	}
	if (view != CACHEREC_VIEW_UNKNOWN && (!need_dns || have_dns)) {
		lookup_answer(&rec, decide_cached_disc(view), have_dns ? &drec : NULL, "cache",
		              zone, dest->domain, cb, arg);
		if (view == CACHEREC_VIEW_POLICY &&
		    cacherec_recheck_due(&rec, now, cfg->txt_recheck) &&
		    lookup_find(ls, key) == NULL && ls->n < cfg->max_lookups) {
			/* background: RFC 8461 s5.1 re-check */
			lk = lookup_new(ls, cfg, key, dest, &rec, DECIDE_DISC_NOT_RUN);
			lookup_sts_start(lk);
			lookup_maybe_finish(lk); /* in case it settled at once */
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
		                view == CACHEREC_VIEW_UNKNOWN ? DECIDE_DISC_NOT_RUN
		                                              : decide_cached_disc(view));
	}
	/* Join: start what this request needs and the lookup does not do yet. */
	if (view == CACHEREC_VIEW_UNKNOWN && lk->sts_part == PART_IDLE) {
		lk->rec = rec;
		lookup_sts_start(lk);
	}
	if (need_dns && !lk->have_dns && lk->dns_part == PART_IDLE) {
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
	if (lk->sts_part != PART_RUNNING && lk->dns_part != PART_RUNNING) {
		/* Settled at once (no _mta-sts name possible, say): answered now. */
		lookup_maybe_finish(lk);
		return NULL;
	}
	return w;
}

void
lookup_waiter_cancel(struct lookup_waiter *w)
{
	if (w != NULL)
		lookup_waiter_free(w);
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
