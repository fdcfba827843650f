/* SPDX-License-Identifier: MIT */
/*
 * lookup: requests for a destination's policy. Effectful (E); it knows the cache and the
 * discovery driver (discover.c), and holds no protocol rule: sts.c, dane.c and decide.c do.
 * Here is the registry of lookups in flight (one per destination key, in a hash table) and
 * their waiters. Hot path: when the cache settles the answer (decide_needs_dns() says whether
 * the DNS record is needed too) it is given synchronously from LMDB reads, and a due TXT
 * re-check of a cached policy (RFC 8461 s5.1) starts in the background. Otherwise the request
 * waits on the destination's lookup, which runs the parts the cache did not settle; their
 * results are stored, then every waiter is answered by its own zone of the configuration it
 * came with. Destinations sharing a policy domain ("example.com", "example.com:2525") are
 * separate lookups; both results are valid and the later write wins.
 */
#include "lookup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "answer.h"
#include "cache.h"
#include "discover.h"
#include "log.h"
#include "metrics.h"
#include "refresh.h"
#include "sharedrec.h"
#include "xalloc.h"

#define LOOKUP_BUCKETS 1024             /* power of two */
#define LOOKUP_KEY_MAX (DNAME_MAX + 32) /* "dane/[host]:port" */

struct lookup_waiter {
	TAILQ_ENTRY(lookup_waiter) link;
	struct lookup *lk;
	struct cfg *cfg; /* the configuration of the request; zone lives in it */
	const struct cfg_zone *zone;
	lookup_cb *cb;
	void *arg;
};

struct lookup {
	LIST_ENTRY(lookup) hlink;
	struct lookups *ls;
	struct cfg *cfg;            /* settings of the request that started it */
	char key[LOOKUP_KEY_MAX];   /* dane_key(): "dane/" + the destination */
	struct socketmap_dest dest; /* policy domain, port, brackets */
	TAILQ_HEAD(, lookup_waiter) waiters;
	struct discover *d;  /* the parts the cache did not settle */
	struct cacherec rec; /* MTA-STS state: from the cache, or what discovery learnt */
	enum decide_disc disc;
	int have_dns; /* drec holds a record usable now */
	struct danerec drec;
};

struct lookups {
	struct discover_env env; /* env.metrics: the counters, or NULL */
	struct cache *cache;
	unsigned n;
	/* The reply text of an answer, kept from one answer to the next so that a cached answer
	 * allocates nothing; text_busy: in use (an answer given from inside another one's
	 * callback, which does not happen today, takes a buffer of its own). */
	struct strbuf text;
	int text_busy;
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

	ls->env.base = base;
	ls->env.res = res;
	ls->env.fetch = fetch;
	ls->cache = cache;
	strbuf_init(&ls->text, ANSWER_TEXT_MAX);
	for (unsigned i = 0; i < LOOKUP_BUCKETS; i++)
		LIST_INIT(&ls->buckets[i]);
	return ls;
}

void
lookups_set_metrics(struct lookups *ls, struct metrics *m)
{
	ls->env.metrics = m;
}

void
lookups_set_shared(struct lookups *ls, struct shared *sh)
{
	ls->env.shared = sh;
}

/* A cache read of a request, counted by record kind and result. */
static enum cache_res
lookup_counted(struct lookups *ls, enum metrics_record kind, enum cache_res r)
{
	enum metrics_cache c = r == CACHE_HIT    ? METRICS_CACHE_HIT
	                       : r == CACHE_MISS ? METRICS_CACHE_MISS
	                                         : METRICS_CACHE_ERROR;

	METRICS_INC(ls->env.metrics, cache[kind][c]);
	return r;
}

/* Decide for one zone as of now and hand the reply to cb. */
static void
lookup_answer(struct lookups *ls, const struct cacherec *rec, enum decide_disc disc,
              const struct danerec *dns, const char *source, const struct cfg_zone *zone,
              const char *domain, int64_t now, lookup_cb *cb, void *arg)
{
	struct decide_input in = {rec,
	                          disc,
	                          disc == DECIDE_DISC_FETCHED ? &rec->policy : NULL,
	                          dns != NULL ? dns->state : DANE_INSECURE,
	                          dns,
	                          domain};
	struct lookup_result r = {NULL, NULL, 0, NULL, source, rec, disc, dns};
	struct strbuf own, *text = &ls->text;

	if (ls->text_busy) {
		strbuf_init(&own, ANSWER_TEXT_MAX);
		text = &own;
	}
	ls->text_busy++;
	answer_reply(&in, zone, now, text, &r.status, &r.why);
	r.text = text->data != NULL ? text->data : "";
	r.len = text->len;
	log_debug(LOG_CAT_DECIDE, "domain=%s zone=%s source=%s dane=%s reply=\"%s %s\" why=\"%s\"",
	          domain, zone->name, source, dns != NULL ? dane_state_name(dns->state) : "-",
	          r.status, r.text, r.why);
	cb(arg, &r);
	ls->text_busy--;
	if (text != &ls->text)
		strbuf_fini(text);
}

static void
lookup_reply_temp(const char *domain, const char *why, lookup_cb *cb, void *arg)
{
	struct lookup_result r = {"TEMP",  why,  strlen(why),         why,
	                          "local", NULL, DECIDE_DISC_NOT_RUN, NULL};

	log_warn_rl("domain", domain, "temp", "err=\"%s\"", why);
	cb(arg, &r);
}

/* Unlink from the table and release handles (once); waiters are the caller's business. */
static void
lookup_detach(struct lookup *lk)
{
	if (lk->ls == NULL)
		return;
	discover_free(lk->d);
	lk->d = NULL;
	LIST_REMOVE(lk, hlink);
	lk->ls->n--;
	METRICS_SET(lk->ls->env.metrics, lookups_inflight, lk->ls->n);
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

/* Store what the MTA-STS part learnt, after what another discovery may have stored meanwhile,
 * as asked for now (refresh_active) and indexed for the refresh scheduler. */
static void
lookup_store(struct lookups *ls, struct lookup *lk)
{
	static struct cacherec stored;
	struct refresh_params p = refresh_params_of(lk->cfg);
	int64_t now = (int64_t)time(NULL);

	if (cache_get(ls->cache, lk->dest.domain, &stored) == CACHE_HIT)
		cacherec_merge(&lk->rec, &stored);
	lk->rec.queried = now;
	lk->rec.due = refresh_due(&lk->rec, &p, refresh_seed(lk->dest.domain), now);
	cache_put(ls->cache, lk->dest.domain, &lk->rec);
}

/* Store what the DNS part learnt; a failed renewal keeps a record still served stale. */
static void
lookup_store_dns(struct lookups *ls, struct lookup *lk)
{
	static struct danerec stored, keep;
	int64_t now = (int64_t)time(NULL);
	int hit = cache_get_dane(ls->cache, lk->key, &stored) == CACHE_HIT;

	if (danerec_renewed(hit ? &stored : NULL, &lk->drec, now, lk->cfg->dnssec != 0,
	                    lk->cfg->dns_stale, &keep))
		log_warn_rl("domain", lk->dest.domain, "dns-renew-failed",
		            "err=\"%s\" action=serve-stale expired_ago=%lld", lk->drec.why,
		            (long long)(now - keep.expires));
	cache_put_dane(ls->cache, lk->key, &keep);
}

/* Both records of a lookup in one transaction: one disk flush, not two. A batch that cannot
 * commit (a full map, say) stores nothing; the writes then go one by one, each growing the
 * map as it must. */
static void
lookup_store_all(struct lookups *ls, struct lookup *lk, int sts, int dns)
{
	int batch = sts && dns && cache_batch_begin(ls->cache) == 0;

	for (int again = 0; again < 2; again++) {
		if (sts)
			lookup_store(ls, lk);
		if (dns)
			lookup_store_dns(ls, lk);
		if (!batch || cache_batch_end(ls->cache) == 0)
			return;
		batch = 0;
	}
}

/* Once no part runs: store what was learnt, answer every waiter, free the lookup. It leaves
 * the table before any waiter runs, so a request made from a callback starts afresh from the
 * cache just written. */
static void
lookup_finish(struct lookup *lk)
{
	struct lookups *ls = lk->ls;
	const struct discover_result *out = discover_result(lk->d);
	unsigned ran = discover_started(lk->d);
	struct lookup_waiter *w;
	int64_t now;

	if ((ran & DISCOVER_STS) != 0) {
		lk->rec = out->rec;
		lk->disc = out->disc;
	}
	if ((ran & DISCOVER_DNS) != 0) {
		lk->drec = out->drec;
		lk->have_dns = 1;
	}
	if (ls->cache != NULL)
		lookup_store_all(ls, lk, ran & DISCOVER_STS && out->sts_write, ran & DISCOVER_DNS);
	lookup_detach(lk);
	now = (int64_t)time(NULL);
	while ((w = TAILQ_FIRST(&lk->waiters)) != NULL) {
		lookup_answer(ls, &lk->rec, lk->disc, lk->have_dns ? &lk->drec : NULL,
		              lk->disc == DECIDE_DISC_FETCHED ? "fetch" : "dns", w->zone,
		              lk->dest.domain, now, w->cb, w->arg);
		lookup_waiter_free(w);
	}
	lookup_free(lk);
}

static void
lookup_on_discovered(void *arg)
{
	lookup_finish(arg); /* frees the discovery, which allows it from its callback */
}

/* The parts take the settings of the request that started the lookup. */
static void
lookup_sts_start(struct lookup *lk, const struct cacherec *rec)
{
	const struct cfg *cfg = lk->cfg;
	struct refresh_params p = refresh_params_of(cfg);
	/* A re-check refetches once the scheduler would: the same jittered interval. */
	struct sts_params prm = {
	    cfg->txt_recheck,
	    rec->has_policy ? refresh_age(rec, &p, refresh_seed(lk->dest.domain)) : cfg->refresh};

	discover_sts(lk->d, rec, &prm, discover_sts_budget(cfg->dns_timeout, cfg->fetch_timeout));
}

static void
lookup_dns_start(struct lookup *lk)
{
	/* MX, addresses, TLSA, TLSA at the unexpanded name: four rounds at most. */
	discover_dns(lk->d, lk->cfg->dnssec != 0, 4 * lk->cfg->dns_timeout + 2);
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
	lk->d = discover_new(&ls->env, dest, lookup_on_discovered, lk);
	TAILQ_INIT(&lk->waiters);
	LIST_INSERT_HEAD(&ls->buckets[lookup_hash(key)], lk, hlink);
	ls->n++;
	METRICS_SET(ls->env.metrics, lookups_inflight, ls->n);
	METRICS_INC(ls->env.metrics, lookups_started);
	return lk;
}

/* The DNS record of the destination and how it may be used now (danerec_usable()), or -1 when
 * the cache cannot be read. */
static int
lookup_cached_dns(struct lookups *ls, const struct cfg *cfg, const struct socketmap_dest *dest,
                  const char *key, int64_t now, struct danerec *drec)
{
	if (dane_static(dest->domain, dest->bracketed, cfg->dnssec != 0, now, drec))
		return DANEREC_FRESH;
	if (ls->cache == NULL)
		return DANEREC_UNUSABLE;
	switch (lookup_counted(ls, METRICS_RECORD_DANE, cache_get_dane(ls->cache, key, drec))) {
	case CACHE_HIT:
		return danerec_usable(drec, now, cfg->dnssec != 0, cfg->dns_stale);
	case CACHE_MISS:
		return DANEREC_UNUSABLE;
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
	int need_dns, have_dns = DANEREC_UNUSABLE, recheck, renew;
	enum cache_res res;

	INVARIANT(dane_key(dest->domain, dest->port, dest->bracketed, key, sizeof(key)) == 0);
	/* Both records from one snapshot, let go before anything is answered or written. */
	if (ls->cache != NULL)
		cache_hold(ls->cache);
	/* A hit decodes into rec (16 kB, each field set by the decoder): clear it otherwise. */
	res = ls->cache != NULL ? lookup_counted(ls, METRICS_RECORD_POLICY,
	                                         cache_get(ls->cache, dest->domain, &rec))
	                        : CACHE_MISS;
	if (res != CACHE_HIT)
		cacherec_init(&rec);
	view = cacherec_view(&rec, now);
	need_dns = res != CACHE_ERR && decide_needs_dns(&rec, zone, cfg->dnssec != 0, now);
	if (need_dns)
		have_dns = lookup_cached_dns(ls, cfg, dest, key, now, &drec);
	if (ls->cache != NULL)
		cache_release(ls->cache);
	if (res == CACHE_ERR || have_dns < 0) {
		/* We cannot tell whether a policy protects this domain: defer, never guess. */
		lookup_reply_temp(dest->domain, "policy cache unavailable", cb, arg);
		return NULL;
	}
	if (view != CACHEREC_VIEW_UNKNOWN && (!need_dns || have_dns != DANEREC_UNUSABLE)) {
		lookup_answer(ls, &rec, decide_cached_disc(view), have_dns ? &drec : NULL, "cache",
		              zone, dest->domain, now, cb, arg);
		recheck = view == CACHEREC_VIEW_POLICY &&
		          cacherec_recheck_due(&rec, now, cfg->txt_recheck);
		renew = need_dns && have_dns == DANEREC_STALE;
		if (need_dns && have_dns >= DANEREC_STALE)
			METRICS_INC(ls->env.metrics, dns_stale_answers);
		/* Background work takes at most half of max_lookups: after a DNS outage, renewals
		 * of many stale records must not leave new domains "too many lookups". */
		if ((recheck || renew) && lookup_find(ls, key) == NULL &&
		    2 * ls->n < cfg->max_lookups) {
			/* background: RFC 8461 s5.1 re-check, RFC 8767 renewal of a stale record */
			lk = lookup_new(ls, cfg, key, dest, &rec, DECIDE_DISC_NOT_RUN);
			if (recheck)
				lookup_sts_start(lk, &rec);
			if (renew)
				lookup_dns_start(lk);
			if (discover_running(lk->d) == 0)
				lookup_finish(lk); /* settled at once */
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
	if (view == CACHEREC_VIEW_UNKNOWN) {
		/* A client waits: another node's lease may hold it up only so long. */
		discover_lease_wait(lk->d, cfg->shared_cache_lease_wait);
		lookup_sts_start(lk, &rec); /* no-op if running */
	}
	if (need_dns && !lk->have_dns && (discover_started(lk->d) & DISCOVER_DNS) == 0) {
		if (have_dns == DANEREC_FRESH) {
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
	if (discover_running(lk->d) == 0) {
		/* Settled at once (no _mta-sts name possible, say): answered now. */
		lookup_finish(lk);
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

int
lookups_shared_apply(struct lookups *ls, const struct cfg *cfg, const char *domain,
                     const struct cacherec *peer)
{
	static struct cacherec rec;
	struct refresh_params p = refresh_params_of(cfg);
	int64_t now = (int64_t)time(NULL);

	if (ls->cache == NULL)
		return 0;
	switch (cache_get(ls->cache, domain, &rec)) {
	case CACHE_ERR:
		return 0; /* unreadable here: the fleet's record waits for the next discovery */
	case CACHE_MISS:
		cacherec_init(&rec);
		break;
	case CACHE_HIT:
		break;
	}
	if (!sharedrec_merge(&rec, peer))
		return 0;
	rec.due = refresh_due(&rec, &p, refresh_seed(domain), now);
	if (cache_put(ls->cache, domain, &rec) != 0)
		return 0;
	log_info("domain=%s event=policy-from-fleet id=%s mode=%s max_age=%u source=announcement",
	         domain, rec.id, stspolicy_mode_name(rec.policy.mode),
	         (unsigned)rec.policy.max_age);
	return 1;
}

void
lookups_free(struct lookups *ls)
{
	if (ls == NULL)
		return;
	for (unsigned i = 0; i < LOOKUP_BUCKETS; i++)
		while (!LIST_EMPTY(&ls->buckets[i]))
			lookup_free(LIST_FIRST(&ls->buckets[i]));
	strbuf_fini(&ls->text);
	free(ls);
}
