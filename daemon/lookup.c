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
 *
 * Group commit: what a lookup learnt is written together with what the lookups finishing about
 * the same time learnt, in one transaction (one disk flush; about 0.7 ms each, and the loop
 * waits for it). A finished lookup stays in the table, "committing", until that commit, and
 * its waiters are answered after it: no answer rests on a record a kill -9 could take back.
 * A request meanwhile joins it, or, when it needs what the lookup did not learn, commits at
 * once and starts afresh. With a client waiting the commit runs on the loop's next pass (the
 * completions already due join it); with background work only (TXT re-checks, renewals of
 * stale DNS records: the cache still answers from the records they replace) within
 * LOOKUP_COMMIT_IDLE_MS. A stop commits what is pending.
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
#include "discover.h"
#include "log.h"
#include "metrics.h"
#include "refresh.h"
#include "sharedrec.h"
#include "xalloc.h"

#define LOOKUP_BUCKETS 1024             /* power of two */
#define LOOKUP_KEY_MAX (DNAME_MAX + 32) /* "host#dane[]:port" */
#define LOOKUP_COMMIT_IDLE_MS 200       /* longest wait of background results for a commit */
#define LOOKUP_NEWS_MAX 1024            /* fleet announcements queued: past it, commit at once */

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
	char key[LOOKUP_KEY_MAX];   /* dane_key() of the destination */
	struct socketmap_dest dest; /* policy domain, port, brackets */
	TAILQ_HEAD(, lookup_waiter) waiters;
	struct discover *d;  /* the parts the cache did not settle; NULL once finished */
	struct cacherec rec; /* MTA-STS state: from the cache, or what discovery learnt */
	enum decide_disc disc;
	int have_dns; /* drec holds a record usable now */
	struct danerec drec;
	unsigned ran;   /* DISCOVER_STS, DISCOVER_DNS: the parts that ran */
	int store_sts;  /* rec is to be written */
	int committing; /* finished; in ls->pending until the next commit */
	TAILQ_ENTRY(lookup) plink;
};

/* An announcement of another node (lookups_shared_apply()) waiting for the next commit: the
 * record encoded, a few hundred bytes rather than a 16 kB struct cacherec. */
struct lookup_news {
	STAILQ_ENTRY(lookup_news) link;
	struct refresh_params p; /* of the settings it arrived under */
	int applied;             /* it changed the stored record (as written last) */
	char domain[DNAME_MAX + 1];
	size_t len;
	uint8_t val[];
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
	TAILQ_HEAD(, lookup) pending; /* committing, in the order they finished */
	STAILQ_HEAD(, lookup_news) news;
	unsigned n_news;
	struct event *commit_ev; /* runs lookups_commit() */
	int commit_soon;         /* commit_ev is due on the loop's next pass */
};

static void lookups_on_commit(evutil_socket_t fd, short what, void *arg);

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
	TAILQ_INIT(&ls->pending);
	STAILQ_INIT(&ls->news);
	ls->commit_ev = evtimer_new(base, lookups_on_commit, ls);
	INVARIANT(ls->commit_ev != NULL);
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
	if (lk->committing) {
		TAILQ_REMOVE(&lk->ls->pending, lk, plink);
		lk->committing = 0;
	}
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

/* Answer every waiter from what the lookup holds, then free it. It has left the table, so a
 * request made from a callback starts afresh from the cache. */
static void
lookup_answer_all(struct lookups *ls, struct lookup *lk)
{
	struct lookup_waiter *w;
	int64_t now = (int64_t)time(NULL);

	while ((w = TAILQ_FIRST(&lk->waiters)) != NULL) {
		lookup_answer(ls, &lk->rec, lk->disc, lk->have_dns ? &lk->drec : NULL,
		              lk->disc == DECIDE_DISC_FETCHED ? "fetch" : "dns", w->zone,
		              lk->dest.domain, now, w->cb, w->arg);
		lookup_waiter_free(w);
	}
	lookup_free(lk);
}

static void
lookup_store_learnt(struct lookups *ls, struct lookup *lk)
{
	if (lk->store_sts)
		lookup_store(ls, lk);
	if ((lk->ran & DISCOVER_DNS) != 0)
		lookup_store_dns(ls, lk);
}

/* An announced record into the cache under the merge rule: the later fetch wins, and nothing
 * is extended without a fetch (sharedrec_merge()). */
static void
lookup_news_store(struct lookups *ls, struct lookup_news *n)
{
	static struct cacherec rec, peer;

	n->applied = 0;
	if (cacherec_decode(n->val, n->len, &peer) != CACHEREC_OK)
		return; /* encoded here from a decoded record: cannot happen */
	switch (cache_get(ls->cache, n->domain, &rec)) {
	case CACHE_ERR:
		return; /* unreadable here: the fleet's record waits for the next discovery */
	case CACHE_MISS:
		cacherec_init(&rec);
		break;
	case CACHE_HIT:
		break;
	}
	if (!sharedrec_merge(&rec, &peer))
		return;
	rec.due = refresh_due(&rec, &n->p, refresh_seed(n->domain), (int64_t)time(NULL));
	n->applied = cache_put(ls->cache, n->domain, &rec) == 0;
}

/* Once committed: one line for an announcement that changed the stored record (it then holds
 * the announced policy). */
static void
lookup_news_log(const struct lookup_news *n)
{
	static struct cacherec peer;

	if (n->applied && cacherec_decode(n->val, n->len, &peer) == CACHEREC_OK)
		log_info("domain=%s event=policy-from-fleet id=%s mode=%s max_age=%u "
		         "source=announcement",
		         n->domain, peer.id, stspolicy_mode_name(peer.policy.mode),
		         (unsigned)peer.policy.max_age);
}

/* Write what the committing lookups learnt and the announcements received in one transaction,
 * then answer the lookups' waiters. A transaction that cannot commit (a full map, say) stores
 * nothing; the writes then go one by one, each growing the map as it must. Answered either
 * way: a cache that cannot be written still leaves a correct answer, and the failure is logged
 * by the cache. */
static void
lookups_commit(struct lookups *ls)
{
	TAILQ_HEAD(, lookup) done = TAILQ_HEAD_INITIALIZER(done);
	struct lookup *lk;
	struct lookup_news *news;
	unsigned n = ls->n_news;
	int batch;

	evtimer_del(ls->commit_ev);
	ls->commit_soon = 0;
	if (TAILQ_EMPTY(&ls->pending) && STAILQ_EMPTY(&ls->news))
		return;
	batch = cache_batch_begin(ls->cache) == 0;
	for (int again = 0; again < 2; again++) {
		TAILQ_FOREACH(lk, &ls->pending, plink)
		lookup_store_learnt(ls, lk);
		STAILQ_FOREACH(news, &ls->news, link)
		lookup_news_store(ls, news);
		if (!batch || cache_batch_end(ls->cache) == 0)
			break;
		batch = 0;
	}
	while ((news = STAILQ_FIRST(&ls->news)) != NULL) {
		STAILQ_REMOVE_HEAD(&ls->news, link);
		lookup_news_log(news);
		free(news);
	}
	ls->n_news = 0;
	/* Answers may start lookups that finish at once: those wait for the next commit. */
	TAILQ_CONCAT(&done, &ls->pending, plink);
	while ((lk = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, lk, plink);
		lk->committing = 0;
		lookup_detach(lk);
		lookup_answer_all(ls, lk);
		n++;
	}
	METRICS_INC(ls->env.metrics, cache_commits);
	METRICS_ADD(ls->env.metrics, cache_committed_results, n);
}

static void
lookups_on_commit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	lookups_commit(arg);
}

/* soon: a client waits, commit on the loop's next pass; else within LOOKUP_COMMIT_IDLE_MS. */
static void
lookups_commit_schedule(struct lookups *ls, int soon)
{
	struct timeval tv = {0, soon ? 0 : LOOKUP_COMMIT_IDLE_MS * 1000};

	if (evtimer_pending(ls->commit_ev, NULL) && (ls->commit_soon || !soon))
		return; /* due as early already */
	ls->commit_soon = soon;
	evtimer_add(ls->commit_ev, &tv);
}

/* Once no part runs: take what was learnt; answer every waiter and free the lookup now if
 * nothing is to be written, else queue it for the next commit. Returns 1 when it waits for
 * the commit, 0 when it is answered and gone. */
static int
lookup_finish(struct lookup *lk)
{
	struct lookups *ls = lk->ls;
	const struct discover_result *out = discover_result(lk->d);

	lk->ran = discover_started(lk->d);
	if ((lk->ran & DISCOVER_STS) != 0) {
		lk->rec = out->rec;
		lk->disc = out->disc;
		lk->store_sts = out->sts_write;
	}
	if ((lk->ran & DISCOVER_DNS) != 0) {
		lk->drec = out->drec;
		lk->have_dns = 1;
	}
	discover_free(lk->d); /* allowed from its callback */
	lk->d = NULL;
	if (ls->cache == NULL || (!lk->store_sts && (lk->ran & DISCOVER_DNS) == 0)) {
		lookup_detach(lk);
		lookup_answer_all(ls, lk);
		return 0;
	}
	lk->committing = 1;
	TAILQ_INSERT_TAIL(&ls->pending, lk, plink);
	lookups_commit_schedule(ls, !TAILQ_EMPTY(&lk->waiters));
	return 1;
}

static void
lookup_on_discovered(void *arg)
{
	(void)lookup_finish(arg);
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
				(void)lookup_finish(lk); /* settled at once */
		}
		return NULL;
	}
	lk = lookup_find(ls, key);
	if (lk != NULL && lk->committing &&
	    !((view != CACHEREC_VIEW_UNKNOWN || (lk->ran & DISCOVER_STS) != 0) &&
	      (!need_dns || lk->have_dns || have_dns == DANEREC_FRESH))) {
		/* It learnt less than this request needs: store it now, then start afresh (the
		 * table holds no committing lookup after a commit, so this happens once). */
		lookups_commit(ls);
		return lookup_request(ls, cfg, zone, dest, cb, arg);
	}
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
	if (view == CACHEREC_VIEW_UNKNOWN && !lk->committing) {
		/* A client waits: another node's lease may hold it up only so long. */
		discover_lease_wait(lk->d, cfg->shared_cache_lease_wait);
		lookup_sts_start(lk, &rec); /* no-op if running */
	}
	if (need_dns && !lk->have_dns &&
	    (lk->committing || (discover_started(lk->d) & DISCOVER_DNS) == 0)) {
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
	if (lk->committing) {
		lookups_commit_schedule(ls, 1);
		return w;
	}
	/* Settled at once (no _mta-sts name possible, say): answered now unless it stores. */
	if (discover_running(lk->d) == 0 && !lookup_finish(lk))
		return NULL;
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
	static uint8_t buf[CACHEREC_MAX_BYTES];
	size_t len = 0, dlen = strlen(domain);
	struct lookup_news *n;

	if (ls->cache == NULL || dlen > DNAME_MAX ||
	    cacherec_encode(peer, buf, sizeof(buf), &len) != CACHEREC_OK)
		return 0;
	n = xmalloc(sizeof(*n) + len);
	n->p = refresh_params_of(cfg);
	n->applied = 0;
	memcpy(n->domain, domain, dlen + 1);
	n->len = len;
	memcpy(n->val, buf, len);
	STAILQ_INSERT_TAIL(&ls->news, n, link);
	/* A burst of announcements (a peer learning many domains) shares one commit. */
	if (++ls->n_news >= LOOKUP_NEWS_MAX)
		lookups_commit(ls);
	else
		lookups_commit_schedule(ls, 0);
	return 1;
}

void
lookups_free(struct lookups *ls)
{
	if (ls == NULL)
		return;
	lookups_commit(ls); /* what finished is kept; waiters were cancelled before */
	for (unsigned i = 0; i < LOOKUP_BUCKETS; i++)
		while (!LIST_EMPTY(&ls->buckets[i]))
			lookup_free(LIST_FIRST(&ls->buckets[i]));
	event_free(ls->commit_ev);
	strbuf_fini(&ls->text);
	free(ls);
}
