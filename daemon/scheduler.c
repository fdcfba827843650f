/* SPDX-License-Identifier: MIT */
/*
 * scheduler: proactive refresh (RFC 8461 s5.1, s10). Effectful (E); it holds no rule: when a
 * record is due and what is due (refresh, reschedule, delete) is refresh.c's; the refresh
 * itself is the MTA-STS machine (sts.c) run by discover.c, asked to refetch whatever the id.
 * The next due records come from the cache's index of due times (cache_due()), so a tick
 * reads a handful of keys, never the whole cache; DNS records are deleted when they come due
 * (refresh_dns_due()) unless rewritten meanwhile. A refresh never replaces a valid policy
 * with a failure (sts.c keeps it), never overwrites a policy fetched meanwhile by a request
 * (the later fetch wins), and stores the record with its next due time. A failed refresh of
 * an enforced policy is a warning with the days left: an operator must act before it expires.
 */
#include "scheduler.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "cfg.h"
#include "discover.h"
#include "log.h"
#include "metrics.h"
#include "refresh.h"
#include "xalloc.h"

/* Due entries handled per tick, in one cache transaction (one fsync): a backlog after a long
 * stop (DNS records to delete, say) drains at this many a second. */
#define SCHEDULER_BATCH 256
/* After a cache write failed (disk full, map at its cap): look again this much later. */
#define SCHEDULER_PAUSE 60

struct scheduler_job {
	struct scheduler *s;
	struct discover *d; /* NULL: slot free */
	struct cfg *cfg;    /* the settings it started with */
	char domain[DNAME_MAX + 1];
	int64_t started;
	struct cacherec before;
};

struct scheduler {
	struct discover_env env; /* env.metrics: the counters, or NULL */
	struct cache *cache;
	struct cfg *cfg;
	struct event *tick;
	int64_t paused_until; /* a cache write failed: no work before then */
	struct scheduler_job jobs[SCHEDULER_INFLIGHT_MAX];
};

struct scheduler_due {
	unsigned n;
	struct {
		char domain[CACHE_KEY_MAX + 1]; /* or a DNS record key */
		int64_t due;
	} e[SCHEDULER_BATCH];
};

static void
scheduler_arm(struct scheduler *s, int64_t secs)
{
	struct timeval tv = {0, 0};

	if (secs > SCHEDULER_TICK_MAX)
		secs = SCHEDULER_TICK_MAX;
	tv.tv_sec = (time_t)(secs > 0 ? secs : 0);
	evtimer_add(s->tick, &tv);
}

/* Store the outcome of a refresh with its next due time. */
static void
scheduler_finish(struct scheduler_job *j)
{
	struct scheduler *s = j->s;
	const struct discover_result *out = discover_result(j->d);
	struct refresh_params p = refresh_params_of(j->cfg);
	int64_t now = (int64_t)time(NULL);
	static struct cacherec rec, cur;

	rec = out->rec;
	/* The attempt counts as a check whatever it found: the back-off runs from it. */
	if (rec.checked < j->started)
		rec.checked = j->started;
	if (cache_get(s->cache, j->domain, &cur) == CACHE_HIT)
		cacherec_merge(&rec, &cur); /* a request may have fetched meanwhile */
	rec.due = refresh_due(&rec, &p, refresh_seed(j->domain), now);
	if (cache_put(s->cache, j->domain, &rec) != 0)
		s->paused_until =
		    now + SCHEDULER_PAUSE; /* else the stale due time refreshes again */
	/* Refreshed: this attempt fetched (a request's fetch merged in meanwhile does not count).
	 */
	METRICS_INC(s->env.metrics,
	            refreshes[out->rec.fetched > j->before.fetched ? METRICS_REFRESH_REFRESHED
	                                                           : METRICS_REFRESH_FAILED]);
	if (rec.fetched <= j->before.fetched && j->before.has_policy &&
	    j->before.policy.mode == STSPOLICY_MODE_ENFORCE) {
		/* One line per attempt; attempts are REFRESH_BACKOFF_MIN apart at least. */
		log_warn_rl("domain", j->domain, "refresh-failed",
		            "mode=enforce id=%s expires_in_days=%.1f next_attempt_in=%llds",
		            j->before.id, (double)(j->before.expires - now) / 86400.0,
		            (long long)(rec.due - now));
	}
	discover_free(j->d); /* allowed from its callback */
	j->d = NULL;
	cfg_unref(j->cfg);
	j->cfg = NULL;
}

static void
scheduler_on_done(void *arg)
{
	struct scheduler_job *j = arg;

	scheduler_finish(j);
	scheduler_arm(j->s, 0); /* a slot is free */
}

static struct scheduler_job *
scheduler_job_for(struct scheduler *s, const char *domain)
{
	for (unsigned i = 0; i < SCHEDULER_INFLIGHT_MAX; i++)
		if (s->jobs[i].d != NULL && strcmp(s->jobs[i].domain, domain) == 0)
			return &s->jobs[i];
	return NULL;
}

static struct scheduler_job *
scheduler_job_free(struct scheduler *s)
{
	for (unsigned i = 0; i < SCHEDULER_INFLIGHT_MAX; i++)
		if (s->jobs[i].d == NULL)
			return &s->jobs[i];
	return NULL;
}

static void
scheduler_start(struct scheduler *s, struct scheduler_job *j, const char *domain,
                const struct cacherec *rec, int64_t now)
{
	const struct cfg *cfg = s->cfg;
	struct socketmap_dest dest;
	/* refresh 0: refetch whatever the id says (sts.c keeps the policy if that fails). */
	struct sts_params prm = {cfg->txt_recheck, 0};

	INVARIANT(strlen(domain) <= DNAME_MAX); /* scheduler_visit() made sure */
	memset(&dest, 0, sizeof(dest));
	memcpy(dest.domain, domain, strlen(domain) + 1);
	memcpy(j->domain, domain, strlen(domain) + 1);
	j->s = s;
	j->cfg = cfg_ref(s->cfg);
	j->started = now;
	j->before = *rec;
	log_debug(LOG_CAT_DNS, "domain=%s event=refresh-start id=%s expires_in=%llds", domain,
	          rec->id, (long long)(rec->expires - now));
	j->d = discover_new(&s->env, &dest, scheduler_on_done, j);
	discover_sts(j->d, rec, &prm, discover_sts_budget(cfg->dns_timeout, cfg->fetch_timeout));
	if (discover_running(j->d) == 0)
		scheduler_finish(j); /* settled at once */
}

static int
scheduler_collect(void *arg, const char *domain, int64_t due)
{
	struct scheduler_due *d = arg;

	memcpy(d->e[d->n].domain, domain, strlen(domain) + 1);
	d->e[d->n].due = due;
	d->n++;
	return 0;
}

/* A destination's DNS record came due: deleted unless it was rewritten meanwhile. */
static void
scheduler_visit_dns(struct scheduler *s, const char *key, int64_t due, int64_t now)
{
	static struct danerec rec;

	switch (cache_get_dane(s->cache, key, &rec)) {
	case CACHE_MISS:
		cache_unindex(s->cache, due, key); /* record gone or unreadable */
		return;
	case CACHE_ERR:
		return;
	case CACHE_HIT:
		break;
	}
	if (now >= refresh_dns_due(&rec))
		cache_del(s->cache, key);
	else if (refresh_dns_due(&rec) != due)
		cache_unindex(s->cache, due, key); /* stale: the record has its own entry */
}

/* Act on one due entry: 1 if it was handled, 0 if it must wait for a free slot. */
static int
scheduler_visit(struct scheduler *s, const char *domain, int64_t due, int64_t now)
{
	static struct cacherec rec;
	struct refresh_params p = refresh_params_of(s->cfg);
	uint32_t seed = refresh_seed(domain);
	struct scheduler_job *j;
	int64_t next = 0;

	if (dane_key_is(domain, strlen(domain))) {
		scheduler_visit_dns(s, domain, due, now);
		return 1;
	}
	if (strlen(domain) > DNAME_MAX) {
		cache_unindex(s->cache, due, domain); /* no policy domain is that long */
		return 1;
	}
	if (scheduler_job_for(s, domain) != NULL)
		return 1; /* its refresh reschedules it */
	switch (cache_get(s->cache, domain, &rec)) {
	case CACHE_MISS:
		cache_unindex(s->cache, due, domain); /* record gone or unreadable */
		return 1;
	case CACHE_ERR:
		return 0;
	case CACHE_HIT:
		break;
	}
	if (rec.due != due)
		cache_unindex(s->cache, due, domain); /* stale: the record has its own entry */
	switch (refresh_plan(&rec, &p, seed, now, &next)) {
	case REFRESH_LATER:
		/* refresh_plan() looks at an active domain's policy when it expires unrenewed. */
		if (rec.has_policy && due == rec.expires)
			log_info("domain=%s event=policy-expired id=%s mode=%s fetched_ago=%llds",
			         domain, rec.id, stspolicy_mode_name(rec.policy.mode),
			         (long long)(now - rec.fetched));
		/* Settings changed by a reload, or a record written without the index. */
		if (rec.due != next) {
			rec.due = next;
			cache_put(s->cache, domain, &rec);
		}
		return 1;
	case REFRESH_DELETE:
		log_info("domain=%s event=%s id=%s", domain,
		         rec.has_policy ? "expired-deleted" : "forgotten",
		         rec.has_policy ? rec.id : "-");
		cache_del(s->cache, domain);
		METRICS_INC(s->env.metrics, refreshes[METRICS_REFRESH_DELETED]);
		return 1;
	case REFRESH_NOW:
		break;
	}
	if ((j = scheduler_job_free(s)) == NULL)
		return 0;
	scheduler_start(s, j, domain, &rec, now);
	return 1;
}

static void
scheduler_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct scheduler *s = arg;
	static struct scheduler_due due;
	int64_t now = (int64_t)time(NULL), next = 0;
	int waiting = 0;

	(void)fd;
	(void)what;
	if (now < s->paused_until) {
		scheduler_arm(s, s->paused_until - now);
		return;
	}
	due.n = 0;
	if (cache_due(s->cache, now, SCHEDULER_BATCH, scheduler_collect, &due, &next) != 0 ||
	    (due.n > 0 && cache_batch_begin(s->cache) != 0)) {
		scheduler_arm(s, SCHEDULER_TICK_MAX);
		return;
	}
	for (unsigned i = 0; i < due.n; i++)
		if (!scheduler_visit(s, due.e[i].domain, due.e[i].due, now))
			waiting = 1;
	if (due.n > 0 && cache_batch_end(s->cache) != 0) {
		/* Nothing of this tick was stored: the same entries come due again. */
		s->paused_until = now + SCHEDULER_PAUSE;
		scheduler_arm(s, SCHEDULER_PAUSE);
		return;
	}
	/* More due than handled: look again once a slot frees (scheduler_on_done) or soon. */
	if (waiting || (next != 0 && next <= now))
		scheduler_arm(s, 1);
	else
		scheduler_arm(s, next != 0 ? next - now : SCHEDULER_TICK_MAX);
}

struct scheduler *
scheduler_new(struct event_base *base, struct resolver *res, struct fetcher *fetch,
              struct cache *cache, struct cfg *cfg, struct metrics *m)
{
	struct scheduler *s = xcalloc(1, sizeof(*s));

	s->env.base = base;
	s->env.res = res;
	s->env.fetch = fetch;
	s->env.metrics = m;
	s->cache = cache;
	s->cfg = cfg_ref(cfg);
	s->tick = evtimer_new(base, scheduler_on_tick, s);
	INVARIANT(s->tick != NULL);
	scheduler_arm(s, 1);
	return s;
}

void
scheduler_set_cfg(struct scheduler *s, struct cfg *cfg)
{
	struct cfg *old = s->cfg;

	s->cfg = cfg_ref(cfg);
	cfg_unref(old);
}

void
scheduler_set_shared(struct scheduler *s, struct shared *sh)
{
	s->env.shared = sh;
}

void
scheduler_free(struct scheduler *s)
{
	if (s == NULL)
		return;
	for (unsigned i = 0; i < SCHEDULER_INFLIGHT_MAX; i++) {
		discover_free(s->jobs[i].d);
		cfg_unref(s->jobs[i].cfg);
	}
	event_free(s->tick);
	cfg_unref(s->cfg);
	free(s);
}
