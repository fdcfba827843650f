/* SPDX-License-Identifier: MIT */
/*
 * discover: runs the discovery machines of one destination against the resolver and the
 * fetcher. Effectful (E); it holds no protocol rule: sts.c says which MTA-STS step comes next
 * (TXT, policy host addresses, fetch) and classifies each result, dane.c does the same for the
 * MX set and TLSA. The two parts run side by side, their DNS queries share one table of slots,
 * and one deadline ends both: a part still running then is aborted by its own machine (which
 * turns what is in flight into a failure), so every discovery ends within
 * DISCOVER_DEADLINE_MAX s. It logs each part's outcome; storing and answering are lookup.c's.
 * With a shared cache (env.shared) the MTA-STS part first reads the fleet's record (shared.c,
 * bounded by shared_cache_timeout; no answer = go on with the local one) and publishes the
 * policy it fetches; with leases, a fetch first takes the domain's lease, and a node that
 * finds it taken reads the record every SHARED_POLL_MS until the holder's policy is there
 * (sts_adopt) or the lease ran out (then it fetches). A discovery a client waits for
 * (discover_lease_wait()) stops waiting sooner, so a dead or stuck holder, or a lease key
 * planted by anyone who can write to Redis, delays an answer by that cap at most. A lease this
 * node holds is freed when the part ends and when the discovery is freed before that. The DNS
 * part never touches Redis.
 */
#include "discover.h"

#include <event2/event.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "resolver.h"
#include "shared.h"
#include "sharedrec.h"
#include "xalloc.h"

#define DISCOVER_QUERIES_MAX (DANE_INFLIGHT_MAX + STS_INFLIGHT_MAX)

/* One DNS query in flight, of either machine. */
struct discover_q {
	struct discover *d;
	struct resolver_query *q;
	unsigned token;
	enum discover_part part;
};

struct discover {
	struct discover_env env;
	struct socketmap_dest dest;
	discover_cb *cb;
	void *arg;
	unsigned started, running; /* enum discover_part bits */
	int64_t t0, deadline;      /* start; when the guard fires */
	struct event *guard;
	struct discover_q q[DISCOVER_QUERIES_MAX];
	struct sts_eval *sts;   /* while the MTA-STS part runs */
	struct fetch *f;        /* its fetch in flight */
	struct dane_eval *dane; /* while the DNS part runs */
	struct sts_params prm;  /* the MTA-STS part's settings */
	struct shared_get *sg;  /* the fleet's record read first, a lease asked, or a poll */
	struct cacherec *local; /* while read first: the local record it will be merged into */
	struct sts_fetch fq;    /* the fetch held back while a lease is asked or waited on */
	struct event *poll;     /* next read of the record while another node holds the lease */
	int64_t wait_t0;        /* ms (monotonic): when the wait on another node's lease began */
	unsigned wait_max;      /* ms: the longest wait on another node's lease (UINT_MAX: all) */
	int leased;             /* this node holds the domain's lease: free it when done */
	struct discover_result out;
};

static void discover_on_dns(void *arg, const uint8_t *msg, size_t len, const char *why);
static void discover_on_fetch(void *arg, const struct sts_response *r);

static void
discover_send(struct discover *d, enum discover_part part, const char *name, uint16_t type,
              unsigned token)
{
	struct discover_q *slot = NULL;

	for (unsigned i = 0; i < DISCOVER_QUERIES_MAX && slot == NULL; i++)
		if (d->q[i].q == NULL)
			slot = &d->q[i];
	/* The machines keep at most DANE_INFLIGHT_MAX and STS_INFLIGHT_MAX queries in flight. */
	INVARIANT(slot != NULL);
	slot->d = d;
	slot->part = part;
	slot->token = token;
	slot->q = resolver_raw_start(d->env.res, name, type, discover_on_dns, slot);
	METRICS_INC(d->env.metrics, dns_sent);
}

/* Cancel the queries of the given parts (ended, or made moot by an early end). */
static void
discover_cancel(struct discover *d, unsigned parts)
{
	for (unsigned i = 0; i < DISCOVER_QUERIES_MAX; i++) {
		struct discover_q *s = &d->q[i];

		if (s->q != NULL && (s->part & parts) != 0) {
			resolver_cancel(s->q);
			s->q = NULL;
		}
	}
	if ((parts & DISCOVER_STS) != 0) {
		fetch_cancel(d->f);
		d->f = NULL;
		shared_get_cancel(d->sg);
		d->sg = NULL;
		free(d->local);
		d->local = NULL;
		if (d->poll != NULL)
			evtimer_del(d->poll);
	}
}

/* ---- MTA-STS part ---- */

static void
discover_sts_log(const struct discover *d, const struct sts_eval *e)
{
	const struct cacherec *r = &e->rec;
	char esc[STS_WHY_MAX * 4];

	log_escape(e->why, strlen(e->why), esc, sizeof(esc)); /* may hold peer bytes */
	if (e->event == STS_EV_LEARNED || e->event == STS_EV_CHANGED ||
	    e->event == STS_EV_REFRESHED)
		log_info("domain=%s event=%s id=%s mode=%s max_age=%u mx_patterns=%u%s%s",
		         d->dest.domain, sts_event_name(e->event), r->id,
		         stspolicy_mode_name(r->policy.mode), (unsigned)r->policy.max_age,
		         r->policy.n_mx, e->event == STS_EV_CHANGED ? " prev_id=" : "",
		         e->event == STS_EV_CHANGED ? e->prev_id : "");
	else if (e->event == STS_EV_TXT_FAILED || e->event == STS_EV_BAD_RECORD ||
	         e->event == STS_EV_FETCH_FAILED)
		log_warn_rl("domain", d->dest.domain, sts_event_name(e->event),
		            "id=%s err=\"%s\"%s", e->txt.id[0] ? e->txt.id : "-", esc,
		            cacherec_view(r, (int64_t)time(NULL)) == CACHEREC_VIEW_POLICY
		                ? " action=keep-cached"
		                : "");
	else
		log_debug(LOG_CAT_DNS, "domain=%s event=%s why=\"%s\"", d->dest.domain,
		          sts_event_name(e->event), esc);
}

static void discover_on_lease(void *arg, const struct cacherec *peer, int got);

/* The fetch sts.c asks for: with leases, the domain's lease first (f's pointers stay valid
 * while the evaluation lives). */
static void
discover_fetch(struct discover *d, const struct sts_fetch *f)
{
	d->fq = *f;
	if (d->env.shared != NULL && (d->sg = shared_lease_start(d->env.shared, d->dest.domain,
	                                                         discover_on_lease, d)) != NULL)
		return;
	d->f = fetch_start(d->env.fetch, &d->fq, discover_on_fetch, d);
}

/* Start what sts.c asks for; once it is done, take its outcome. */
static void
discover_sts_pump(struct discover *d)
{
	struct sts_query q;
	struct sts_fetch f;
	enum sts_action act;

	while ((act = sts_next(d->sts, &q, &f)) != STS_ACT_NONE) {
		if (act == STS_ACT_QUERY)
			discover_send(d, DISCOVER_STS, q.name, q.type, q.token);
		else
			discover_fetch(d, &f);
	}
	if (!sts_done(d->sts))
		return;
	discover_sts_log(d, d->sts);
	/* Only a policy fetched here goes to the fleet: what came from it is already there. */
	if (d->sts->fetched == STS_FETCH_OK && d->env.shared != NULL)
		shared_publish(d->env.shared, d->dest.domain, &d->sts->rec);
	if (d->leased) /* after the publication on the same link: waiters see one or the other */
		shared_lease_release(d->env.shared, d->dest.domain);
	d->leased = 0;
	METRICS_INC(d->env.metrics, sts_events[d->sts->event]);
	if (d->sts->fetched != STS_FETCH_NONE)
		METRICS_INC(d->env.metrics, fetches[d->sts->fetched]);
	discover_cancel(d, DISCOVER_STS);
	d->out.rec = d->sts->rec;
	d->out.disc = d->sts->disc;
	d->out.sts_write = d->sts->write;
	free(d->sts);
	d->sts = NULL;
	d->running &= ~(unsigned)DISCOVER_STS;
}

/* ---- DNS part ---- */

static void
discover_dns_pump(struct discover *d)
{
	struct dane_query q;
	const struct danerec *r = &d->out.drec;
	char key[DNAME_MAX + 32]; /* "host#dane[]:port" */

	while (dane_next(d->dane, &q))
		discover_send(d, DISCOVER_DNS, q.name, q.type, q.token);
	if (!dane_done(d->dane))
		return;
	discover_cancel(d, DISCOVER_DNS); /* made moot by an early ERROR */
	dane_result(d->dane, (int64_t)time(NULL), &d->out.drec);
	free(d->dane);
	d->dane = NULL;
	d->running &= ~(unsigned)DISCOVER_DNS;
	METRICS_INC(d->env.metrics, dane[r->state]);
	INVARIANT(dane_key(d->dest.domain, d->dest.port, d->dest.bracketed, key, sizeof(key)) == 0);
	if (r->state == DANE_ERROR)
		log_warn_rl("destination", key + 5, "dane-error", "err=\"%s\"", r->why);
	else
		log_debug(
		    LOG_CAT_DNS,
		    "destination=%s stage=dane state=%s mx_known=%d mx_hosts=%u tlsa_hosts=%u "
		    "why=\"%s\"",
		    key + 5, dane_state_name(r->state), r->mx_known, r->n_hosts, r->n_tlsa, r->why);
}

/* ---- completions ---- */

/* After a completion: tell the owner once nothing runs any more (d may be freed). */
static void
discover_settle(struct discover *d)
{
	if (d->running == 0 && d->cb != NULL)
		d->cb(d->arg);
}

static void
discover_on_fetch(void *arg, const struct sts_response *r)
{
	struct discover *d = arg;

	d->f = NULL;
	sts_fetched(d->sts, r, (int64_t)time(NULL));
	discover_sts_pump(d);
	discover_settle(d);
}

static void
discover_on_dns(void *arg, const uint8_t *msg, size_t len, const char *why)
{
	struct discover_q *slot = arg;
	struct discover *d = slot->d;
	int64_t now = (int64_t)time(NULL);

	slot->q = NULL;
	metrics_dns(d->env.metrics, msg, len, msg == NULL && resolver_why_timeout(why));
	if (slot->part == DISCOVER_STS) {
		if (msg != NULL)
			sts_answer(d->sts, slot->token, msg, len, now);
		else
			sts_fail(d->sts, slot->token, why, now);
		discover_sts_pump(d);
	} else {
		if (msg != NULL)
			dane_answer(d->dane, slot->token, msg, len);
		else
			dane_fail(d->dane, slot->token, why);
		discover_dns_pump(d);
	}
	discover_settle(d);
}

static void discover_sts_go(struct discover *d, const struct cacherec *rec);
static void discover_arm(struct discover *d, unsigned budget);

static int64_t
discover_now_ms(void)
{
	struct timespec ts;

	INVARIANT(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether to read the record again while the lease is held: the lease's length for a
 * background discovery, the cap for one a client waits for (read at each poll, so a client
 * that joins a waiting discovery shortens its wait). */
static int
discover_wait_more(const struct discover *d)
{
	unsigned limit = shared_lease_ms(d->env.shared);

	if (d->wait_max < limit)
		limit = d->wait_max;
	return discover_now_ms() - d->wait_t0 + SHARED_POLL_MS <= (int64_t)limit;
}

/* A poll while another node holds the lease: its policy for this id, or wait on while the
 * lease is held (and the lease length allows), or fetch. */
static void
discover_on_polled(void *arg, const struct cacherec *peer, int held)
{
	struct discover *d = arg;
	struct timeval tv = {0, SHARED_POLL_MS * 1000};

	d->sg = NULL;
	if (peer != NULL && sts_adopt(d->sts, peer, (int64_t)time(NULL))) {
		discover_sts_pump(d); /* done: logged, stored by the owner */
		discover_settle(d);
		return;
	}
	if (held == 1 && discover_wait_more(d)) {
		evtimer_add(d->poll, &tv);
		return;
	}
	if (held == 1)
		log_debug(LOG_CAT_CACHE, "domain=%s shared=lease-wait-over waited_ms=%" PRId64,
		          d->dest.domain, discover_now_ms() - d->wait_t0);
	/* The holder ended without this id's policy (its fetch failed), died, holds it longer
	 * than we may wait, or Redis does not answer: fetch. */
	d->f = fetch_start(d->env.fetch, &d->fq, discover_on_fetch, d);
}

static void
discover_on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct discover *d = arg;

	(void)fd;
	(void)what;
	d->sg = shared_poll_start(d->env.shared, d->dest.domain, discover_on_polled, d);
	if (d->sg == NULL) /* Redis gone meanwhile */
		d->f = fetch_start(d->env.fetch, &d->fq, discover_on_fetch, d);
}

static void
discover_on_lease(void *arg, const struct cacherec *peer, int got)
{
	struct discover *d = arg;
	unsigned ms = shared_lease_ms(d->env.shared);
	struct timeval tv = {0, SHARED_POLL_MS * 1000};

	d->sg = NULL;
	d->leased = got == 1; /* freed once this part ends, however it ends */
	if (peer != NULL && sts_adopt(d->sts, peer, (int64_t)time(NULL))) {
		/* Another node published this id's policy since our first read. */
		discover_sts_pump(d);
		discover_settle(d);
		return;
	}
	if (got != 0) { /* ours, or no answer: fetch as without a lease */
		d->f = fetch_start(d->env.fetch, &d->fq, discover_on_fetch, d);
		return;
	}
	/* Another node fetches this domain now: wait for its record up to the lease, with room
	 * left for our own fetch after it (the discovery's deadline still caps both). */
	d->wait_t0 = discover_now_ms();
	if (!discover_wait_more(d)) { /* a cap under one poll (shared_cache_lease_wait = 0) */
		d->f = fetch_start(d->env.fetch, &d->fq, discover_on_fetch, d);
		return;
	}
	shared_lease_waited(d->env.shared);
	discover_arm(d, 2 * (ms / 1000) + 1);
	if (d->poll == NULL) {
		d->poll = evtimer_new(d->env.base, discover_on_poll, d);
		INVARIANT(d->poll != NULL);
	}
	evtimer_add(d->poll, &tv);
}

/* The fleet's record came (or Redis had none in time: peer NULL). A later fetch than the
 * local one replaces it (sharedrec_merge: never an older one, never an extension); then the
 * MTA-STS part runs as always, and a matching TXT id makes a fetch unnecessary. */
static void
discover_on_shared(void *arg, const struct cacherec *peer)
{
	struct discover *d = arg;
	struct cacherec *rec = d->local;

	d->sg = NULL;
	d->local = NULL;
	if (peer != NULL && sharedrec_merge(rec, peer))
		log_info("domain=%s event=policy-from-fleet id=%s mode=%s max_age=%u source=read",
		         d->dest.domain, rec->id, stspolicy_mode_name(rec->policy.mode),
		         (unsigned)rec->policy.max_age);
	discover_sts_go(d, rec);
	free(rec);
	discover_settle(d);
}

static void
discover_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct discover *d = arg;

	(void)fd;
	(void)what;
	if (d->local != NULL) {
		/* Still waiting for Redis (its own deadline is far shorter): go on without it. */
		struct cacherec *rec = d->local;

		shared_get_cancel(d->sg);
		d->sg = NULL;
		d->local = NULL;
		discover_sts_go(d, rec);
		free(rec);
	}
	if ((d->running & DISCOVER_DNS) != 0) {
		dane_abort(d->dane, "deadline passed"); /* what is in flight failed: ERROR */
		discover_dns_pump(d);
	}
	if ((d->running & DISCOVER_STS) != 0) {
		sts_abort(d->sts, "deadline passed", (int64_t)time(NULL));
		discover_sts_pump(d);
	}
	INVARIANT(d->running == 0);
	discover_settle(d);
}

/* ---- starting ---- */

/* Give a starting part budget seconds, but never beyond DISCOVER_DEADLINE_MAX after the
 * discovery began: every waiter gets its answer before Postfix gives up (100 s). */
static void
discover_arm(struct discover *d, unsigned budget)
{
	int64_t now = (int64_t)time(NULL), end = now + (int64_t)budget;
	struct timeval tv = {0, 0};

	if (end > d->t0 + DISCOVER_DEADLINE_MAX)
		end = d->t0 + DISCOVER_DEADLINE_MAX;
	if (d->guard != NULL && end <= d->deadline)
		return;
	d->deadline = end;
	if (d->guard == NULL) {
		d->guard = evtimer_new(d->env.base, discover_on_deadline, d);
		INVARIANT(d->guard != NULL);
	}
	tv.tv_sec = (time_t)(end > now ? end - now : 0);
	evtimer_add(d->guard, &tv);
}

struct discover *
discover_new(const struct discover_env *env, const struct socketmap_dest *dest, discover_cb *cb,
             void *arg)
{
	struct discover *d = xcalloc(1, sizeof(*d));

	d->env = *env;
	d->dest = *dest;
	d->cb = cb;
	d->arg = arg;
	d->t0 = (int64_t)time(NULL);
	d->wait_max = UINT_MAX;
	return d;
}

void
discover_lease_wait(struct discover *d, unsigned ms)
{
	if (ms < d->wait_max)
		d->wait_max = ms;
}

unsigned
discover_sts_budget(unsigned dns_timeout, unsigned fetch_timeout)
{
	return 2 * dns_timeout + fetch_timeout + 2;
}

static void
discover_sts_go(struct discover *d, const struct cacherec *rec)
{
	d->sts = xmalloc(sizeof(*d->sts));
	sts_init(d->sts, d->dest.domain, rec, &d->prm, (int64_t)time(NULL));
	discover_sts_pump(d); /* queries leave from the resolver's zero timer */
}

void
discover_sts(struct discover *d, const struct cacherec *rec, const struct sts_params *prm,
             unsigned budget)
{
	if ((d->started & DISCOVER_STS) != 0)
		return;
	d->started |= DISCOVER_STS;
	d->running |= DISCOVER_STS;
	d->prm = *prm;
	discover_arm(d, budget);
	if (d->env.shared != NULL) {
		d->local = xmalloc(sizeof(*d->local));
		*d->local = *rec;
		/* NULL: no connection now; the local record alone, as without a shared cache. */
		if ((d->sg = shared_get_start(d->env.shared, d->dest.domain, discover_on_shared,
		                              d)) != NULL)
			return;
		free(d->local);
		d->local = NULL;
	}
	discover_sts_go(d, rec);
}

void
discover_dns(struct discover *d, int trust_ad, unsigned budget)
{
	if ((d->started & DISCOVER_DNS) != 0)
		return;
	d->started |= DISCOVER_DNS;
	d->running |= DISCOVER_DNS;
	d->dane = xmalloc(sizeof(*d->dane));
	dane_init(d->dane, d->dest.domain, d->dest.port, d->dest.bracketed, trust_ad);
	discover_arm(d, budget);
	discover_dns_pump(d);
}

unsigned
discover_started(const struct discover *d)
{
	return d->started;
}

unsigned
discover_running(const struct discover *d)
{
	return d->running;
}

const struct discover_result *
discover_result(const struct discover *d)
{
	return &d->out;
}

void
discover_free(struct discover *d)
{
	if (d == NULL)
		return;
	/* Cancelled while holding the lease (a stop, a reload's scheduler): nobody here will
	 * publish under it, so the fleet need not wait out its length. */
	if (d->leased)
		shared_lease_release(d->env.shared, d->dest.domain);
	discover_cancel(d, DISCOVER_STS | DISCOVER_DNS);
	free(d->sts);
	free(d->dane);
	if (d->guard != NULL)
		event_free(d->guard);
	if (d->poll != NULL)
		event_free(d->poll);
	free(d);
}
