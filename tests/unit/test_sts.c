/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for sts.c: MTA-STS discovery driven against an in-process world, DNS in wire
 * format (dnsworld.h) and a table of policy hosts standing for HTTPS, exactly as discover.c
 * drives it. Covers every trust-on-first-use sequence of RFC 8461 s5.1 (first discovery, TXT
 * removed, id changed with the host down, mode none, expiry, back-off after a failed fetch,
 * refresh, re-check times), how long "no policy" and failures are remembered (TTLs), the
 * fetch rules of s3.3 (status, media type, body), address lookups, and hostile answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dnspkt.h"
#include "dnsworld.h"
#include "sts.h"

#define T0 1700000000
#define DAY 86400
#define GOOD "version: STSv1\nmode: enforce\nmx: mail.a.test\nmax_age: 86400\n"

/* A policy host: what fetching https://mta-sts.<domain>/... gives. */
struct site {
	const char *domain;
	const char *error; /* transport failure, or NULL */
	long status;
	const char *ctype;
	const char *body;
};

struct web {
	const struct site *sites; /* ends with domain NULL */
	unsigned fetches;
	struct sts_addr first; /* first address of the last fetch */
	unsigned n_addrs;
};

static const struct zrr rrs[] = {
    {"_mta-sts.a.test", DNSMSG_TXT, 300, "v=STSv1; id=1;"},
    {"mta-sts.a.test", DNSMSG_A, 300, "192.0.2.1"},
    {"mta-sts.a.test", DNSMSG_AAAA, 300, "2001:db8::1"},
    /* split into strings, id 2 */
    {"_mta-sts.split.test", DNSMSG_TXT, 300, "v=STS|v1; id|=2;"},
    {"mta-sts.split.test", DNSMSG_A, 300, "192.0.2.2"},
    /* only other TXT records, TTL 40 */
    {"_mta-sts.spf.test", DNSMSG_TXT, 40, "v=spf1 -all"},
    /* a TXT TTL of 0 */
    {"_mta-sts.zero.test", DNSMSG_TXT, 0, "unrelated"},
    /* two STSv1 records */
    {"_mta-sts.two.test", DNSMSG_TXT, 300, "v=STSv1; id=1;"},
    {"_mta-sts.two.test", DNSMSG_TXT, 300, "v=STSv1; id=2;"},
    /* an STSv1 record that does not parse, beside an unrelated one */
    {"_mta-sts.bad.test", DNSMSG_TXT, 300, "v=STSv1; id=a-b;"},
    {"_mta-sts.bad.test", DNSMSG_TXT, 300, "hello"},
    /* the TXT name is a CNAME */
    {"_mta-sts.cn.test", DNSMSG_CNAME, 300, "_mta-sts.a.test"},
    {"mta-sts.cn.test", DNSMSG_A, 300, "192.0.2.3"},
    /* IPv6 only policy host */
    {"_mta-sts.six.test", DNSMSG_TXT, 300, "v=STSv1; id=6;"},
    {"mta-sts.six.test", DNSMSG_AAAA, 300, "2001:db8::6"},
    /* policy host without any address */
    {"_mta-sts.noaddr.test", DNSMSG_TXT, 300, "v=STSv1; id=1;"},
    {"mta-sts.noaddr.test", DNSMSG_TXT, 300, "x"},
    /* A fails, AAAA answers */
    {"_mta-sts.afail.test", DNSMSG_TXT, 300, "v=STSv1; id=1;"},
    {"mta-sts.afail.test", DNSMSG_AAAA, 300, "2001:db8::7"},
    /* many addresses: only STS_ADDRS_MAX go to the fetch, IPv4 first */
    {"_mta-sts.many.test", DNSMSG_TXT, 300, "v=STSv1; id=1;"},
    {"mta-sts.many.test", DNSMSG_AAAA, 300, "2001:db8::1"},
    {"mta-sts.many.test", DNSMSG_A, 300, "192.0.2.1"},
    {"mta-sts.many.test", DNSMSG_A, 300, "192.0.2.2"},
    {"mta-sts.many.test", DNSMSG_A, 300, "192.0.2.3"},
    {"mta-sts.many.test", DNSMSG_A, 300, "192.0.2.4"},
    {"mta-sts.many.test", DNSMSG_A, 300, "192.0.2.5"},
    {"mta-sts.many.test", DNSMSG_A, 300, "192.0.2.6"},
    {"mta-sts.many.test", DNSMSG_A, 300, "192.0.2.7"},
    {"mta-sts.many.test", DNSMSG_A, 300, "192.0.2.8"},
    {"mta-sts.many.test", DNSMSG_A, 300, "192.0.2.9"},
    {NULL, 0, 0, NULL},
};

static const struct site good_sites[] = {
    {"a.test", NULL, 200, "text/plain", GOOD},
    {"split.test", NULL, 200, "text/plain; charset=utf-8", GOOD},
    {"cn.test", NULL, 200, "TEXT/PLAIN", GOOD},
    {"six.test", NULL, 200, "text/plain", GOOD},
    {"afail.test", NULL, 200, "text/plain", GOOD},
    {"many.test", NULL, 200, "text/plain", GOOD},
    {NULL, NULL, 0, NULL, NULL},
};

static struct world *
world(void)
{
	static struct world w;

	memset(&w, 0, sizeof(w));
	w.rrs = rrs;
	return &w;
}

static const struct sts_params prm = {300, DAY};
static const struct sts_params p60 = {300, 60};

static const struct site *
site_of(const struct web *web, const char *domain)
{
	for (const struct site *s = web->sites; s->domain != NULL; s++)
		if (strcmp(s->domain, domain) == 0)
			return s;
	return NULL;
}

/* Run one discovery to its end at time now, starting from rec (updated in place). */
static void
run(struct world *w, struct web *web, const char *domain, struct cacherec *rec,
    const struct sts_params *p, int64_t now, struct sts_eval *e)
{
	struct sts_query pending[4];
	unsigned npend = 0;
	struct pkt k;

	sts_init(e, domain, rec, p, now);
	w->queries = 0;
	for (int guard = 0; guard < 100; guard++) {
		struct sts_query q;
		struct sts_fetch f;
		enum sts_action act;

		while ((act = sts_next(e, &q, &f)) != STS_ACT_NONE) {
			if (act == STS_ACT_QUERY) {
				assert_true(npend < 4);
				pending[npend++] = q;
				continue;
			}
			/* fetch: answered at once from the site table */
			const struct site *s = site_of(web, f.domain);
			struct sts_response r = {
			    "Could not connect to server", 0, NULL, NULL, 0, STS_FETCH_CONNECT};

			assert_true(f.n_addrs >= 1 && f.n_addrs <= STS_ADDRS_MAX);
			web->fetches++;
			web->first = f.addrs[0];
			web->n_addrs = f.n_addrs;
			if (s != NULL)
				r = (struct sts_response){s->error,
				                          s->status,
				                          s->ctype,
				                          s->body,
				                          s->body ? strlen(s->body) : 0,
				                          STS_FETCH_NONE};
			sts_fetched(e, &r, now);
		}
		if (npend == 0)
			break;
		q = pending[--npend]; /* newest first: order must not matter */
		switch (world_reply(w, q.name, q.type, &k)) {
		case WORLD_SILENT:
			sts_fail(e, q.token, "timeout", now);
			break;
		case WORLD_SERVFAIL:
			sts_fail(e, q.token, "SERVFAIL", now);
			break;
		case WORLD_ANSWER:
			sts_answer(e, q.token, k.b, k.n, now);
			break;
		}
	}
	assert_true(sts_done(e));
	assert_true(e->write);
	*rec = e->rec;
}

/* Drive a discovery up to the fetch it asks for (the world answers the queries); then offer
 * peer instead. Returns what sts_adopt() said; the evaluation is left as it is. */
static int
run_to_fetch(struct world *w, const char *domain, const struct cacherec *rec,
             const struct sts_params *p, const struct cacherec *peer, int64_t now,
             struct sts_eval *e)
{
	struct sts_query pending[4];
	unsigned npend = 0;
	struct pkt k;

	sts_init(e, domain, rec, p, now);
	for (int guard = 0; guard < 100; guard++) {
		struct sts_query q;
		struct sts_fetch f;
		enum sts_action act;

		while ((act = sts_next(e, &q, &f)) != STS_ACT_NONE) {
			if (act == STS_ACT_FETCH)
				return sts_adopt(e, peer, now);
			assert_true(npend < 4);
			pending[npend++] = q;
		}
		assert_true(npend > 0);
		q = pending[--npend];
		assert_int_equal(world_reply(w, q.name, q.type, &k), WORLD_ANSWER);
		sts_answer(e, q.token, k.b, k.n, now);
	}
	fail_msg("no fetch asked for");
	return -1;
}

/* A policy the fleet fetched for the TXT id seen stands in for this node's fetch; anything
 * else (another id, an older or equal fetch, expired, no policy) leaves the fetch to do. */
static void
test_adopt(void **state)
{
	struct cacherec rec, peer, old;
	struct stspolicy pol;
	struct sts_eval e;

	(void)state;
	assert_int_equal(stspolicy_parse(GOOD, strlen(GOOD), &pol), STSPOLICY_OK);
	/* nothing cached: learned from the fleet */
	cacherec_init(&rec);
	rec.queried = T0 - 5;
	cacherec_init(&peer);
	cacherec_on_fetch_ok(&peer, &pol, "1", T0 - 2);
	assert_int_equal(run_to_fetch(world(), "a.test", &rec, &prm, &peer, T0, &e), 1);
	assert_true(sts_done(&e) && e.write);
	assert_int_equal(e.disc, DECIDE_DISC_FETCHED);
	assert_int_equal(e.event, STS_EV_LEARNED);
	assert_int_equal(e.fetched, STS_FETCH_NONE); /* not fetched here: not published again */
	assert_int_equal(e.rec.fetched, T0 - 2);
	assert_int_equal(e.rec.expires, T0 - 2 + DAY); /* the peer's expiry, not extended */
	assert_int_equal(e.rec.checked, T0);
	assert_int_equal(e.rec.queried, T0 - 5);
	assert_int_equal(sts_next(&e, NULL, NULL), STS_ACT_NONE);
	/* id 0 cached, the fleet has id 1: changed */
	cacherec_init(&old);
	cacherec_on_fetch_ok(&old, &pol, "0", T0 - DAY / 2);
	assert_int_equal(run_to_fetch(world(), "a.test", &old, &prm, &peer, T0, &e), 1);
	assert_int_equal(e.event, STS_EV_CHANGED);
	assert_string_equal(e.prev_id, "0");
	assert_string_equal(e.rec.id, "1");
	/* another id than the TXT record's */
	cacherec_init(&peer);
	cacherec_on_fetch_ok(&peer, &pol, "2", T0 - 2);
	assert_int_equal(run_to_fetch(world(), "a.test", &rec, &prm, &peer, T0, &e), 0);
	assert_false(sts_done(&e));
	/* expired, and no policy */
	cacherec_init(&peer);
	cacherec_on_fetch_ok(&peer, &pol, "1", T0 - DAY);
	assert_int_equal(run_to_fetch(world(), "a.test", &rec, &prm, &peer, T0, &e), 0);
	cacherec_init(&peer);
	assert_int_equal(run_to_fetch(world(), "a.test", &rec, &prm, &peer, T0, &e), 0);
	/* same id cached and due for refresh (refresh 60 s): an equal fetch is no refresh, a
	 * later one is */
	cacherec_init(&old);
	cacherec_on_fetch_ok(&old, &pol, "1", T0 - 100);
	peer = old;
	assert_int_equal(run_to_fetch(world(), "a.test", &old, &p60, &peer, T0, &e), 0);
	cacherec_on_fetch_ok(&peer, &pol, "1", T0 - 10);
	assert_int_equal(run_to_fetch(world(), "a.test", &old, &p60, &peer, T0, &e), 1);
	assert_int_equal(e.event, STS_EV_REFRESHED);
	assert_int_equal(e.rec.fetched, T0 - 10);
	/* not while no fetch is asked for, nor after the end */
	sts_init(&e, "a.test", &old, &prm, T0);
	assert_int_equal(sts_adopt(&e, &peer, T0), 0);
	assert_false(sts_done(&e));
}

/* ---- first discovery ---- */

static void
test_first_discovery(void **state)
{
	struct world *w = world();
	struct web web = {good_sites, 0, {0, {0}}, 0};
	struct cacherec rec;
	struct sts_eval e;

	(void)state;
	cacherec_init(&rec);
	run(w, &web, "a.test", &rec, &prm, T0, &e);
	assert_int_equal(e.disc, DECIDE_DISC_FETCHED);
	assert_int_equal(e.event, STS_EV_LEARNED);
	assert_int_equal(e.fetched, STS_FETCH_OK);
	assert_int_equal(web.fetches, 1);
	assert_int_equal(web.first.family, 4); /* IPv4 first */
	assert_int_equal(web.n_addrs, 2);
	assert_true(world_asked(w, "_mta-sts.a.test/16"));
	assert_true(world_asked(w, "mta-sts.a.test/1"));
	assert_true(world_asked(w, "mta-sts.a.test/28"));
	assert_int_equal(w->queries, 3);
	assert_true(rec.has_policy);
	assert_string_equal(rec.id, "1");
	assert_int_equal(rec.fetched, T0);
	assert_int_equal(rec.expires, T0 + DAY);
	assert_int_equal(rec.checked, T0);
	assert_int_equal(cacherec_view(&rec, T0 + 1), CACHEREC_VIEW_POLICY);
	assert_string_equal(sts_event_name(e.event), "policy-learned");
}

/* Strings of one record joined; a CNAME at _mta-sts followed; only AAAA; A failing. */
static void
test_txt_and_address_forms(void **state)
{
	static const char *const doms[] = {"split.test", "cn.test", "six.test", "afail.test"};
	struct world *w = world();
	struct cacherec rec;
	struct sts_eval e;

	(void)state;
	w->servfail[0] = "mta-sts.afail.test/1";
	for (size_t i = 0; i < sizeof(doms) / sizeof(doms[0]); i++) {
		struct web web = {good_sites, 0, {0, {0}}, 0};

		cacherec_init(&rec);
		run(w, &web, doms[i], &rec, &prm, T0, &e);
		if (e.disc != DECIDE_DISC_FETCHED)
			fail_msg("%s: %s (%s)", doms[i], sts_event_name(e.event), e.why);
		assert_int_equal(web.fetches, 1);
	}
	assert_string_equal(rec.id, "1"); /* afail.test */
	/* only AAAA: the fetch gets the IPv6 address */
	{
		struct web web = {good_sites, 0, {0, {0}}, 0};
		cacherec_init(&rec);
		run(w, &web, "six.test", &rec, &prm, T0, &e);
		assert_int_equal(web.first.family, 6);
		assert_int_equal(web.n_addrs, 1);
	}
	/* ten addresses: STS_ADDRS_MAX, IPv4 first */
	{
		struct web web = {good_sites, 0, {0, {0}}, 0};
		cacherec_init(&rec);
		run(w, &web, "many.test", &rec, &prm, T0, &e);
		assert_int_equal(web.n_addrs, STS_ADDRS_MAX);
		assert_int_equal(web.first.family, 4);
	}
}

/* ---- no policy, and how long it is remembered ---- */

struct nopol_case {
	const char *name, *domain;
	unsigned recheck;
	enum sts_event ev;
	int64_t remember; /* none_until - now */
};

static const struct nopol_case nopol_cases[] = {
    /* NXDOMAIN: min(SOA TTL 300, MINIMUM 120) */
    {"no TXT (NXDOMAIN): negative TTL", "nosuch.test", 300, STS_EV_NO_POLICY, 120},
    {"no TXT: txt_recheck below the TTL", "nosuch.test", 60, STS_EV_NO_POLICY, 60},
    /* NODATA at an existing name */
    {"no TXT at an existing name", "mta-sts.a.test", 300, STS_EV_NO_POLICY, 120},
    {"only other TXT records: their TTL", "spf.test", 300, STS_EV_NO_POLICY, 40},
    {"TTL 0: floored", "zero.test", 300, STS_EV_NO_POLICY, STS_TTL_MIN},
    {"TTL 0, txt_recheck 1", "zero.test", 1, STS_EV_NO_POLICY, 1},
    {"two STSv1 records", "two.test", 300, STS_EV_BAD_RECORD, 300},
    {"STSv1 record that does not parse", "bad.test", 300, STS_EV_BAD_RECORD, 300},
};

static void
test_no_policy(void **state)
{
	const struct nopol_case *c = *state;
	struct world *w = world();
	struct web web = {good_sites, 0, {0, {0}}, 0};
	struct sts_params p = {c->recheck, DAY};
	struct cacherec rec;
	struct sts_eval e;

	cacherec_init(&rec);
	run(w, &web, c->domain, &rec, &p, T0, &e);
	assert_int_equal(e.disc, DECIDE_DISC_NO_POLICY);
	assert_int_equal(e.event, c->ev);
	assert_int_equal(web.fetches, 0);
	assert_int_equal(w->queries, 1);
	assert_int_equal(rec.none_until - T0, c->remember);
	assert_int_equal(cacherec_view(&rec, T0 + c->remember - 1), CACHEREC_VIEW_NO_POLICY);
	assert_int_equal(cacherec_view(&rec, T0 + c->remember), CACHEREC_VIEW_UNKNOWN);
}

/* A name too long for "_mta-sts." in front: no query at all. */
static void
test_long_domain(void **state)
{
	struct world *w = world();
	struct web web = {good_sites, 0, {0, {0}}, 0};
	char name[DNAME_MAX + 1];
	struct cacherec rec;
	struct sts_eval e;

	(void)state;
	memset(name, 'a', 250);
	name[63] = name[127] = name[191] = '.';
	name[250] = '\0';
	cacherec_init(&rec);
	run(w, &web, name, &rec, &prm, T0, &e);
	assert_int_equal(e.disc, DECIDE_DISC_NO_POLICY);
	assert_int_equal(w->queries, 0);
}

/* ---- failures ---- */

static void
test_txt_failures(void **state)
{
	struct web web = {good_sites, 0, {0, {0}}, 0};
	struct cacherec rec, pol;
	struct sts_eval e;
	struct world *w;

	(void)state;
	for (int how = 0; how < 3; how++) {
		/* learn a policy first (world() resets the one static world) */
		cacherec_init(&pol);
		run(world(), &web, "a.test", &pol, &prm, T0, &e);
		w = world();
		if (how == 0)
			w->servfail[0] = "_mta-sts.a.test";
		else if (how == 1)
			w->silent[0] = "_mta-sts.a.test";
		else
			w->garbage = "_mta-sts.a.test";
		/* nothing cached: the failure is remembered briefly, never as "no policy" */
		cacherec_init(&rec);
		run(w, &web, "a.test", &rec, &prm, T0, &e);
		assert_int_equal(e.disc, DECIDE_DISC_TXT_FAILED);
		assert_int_equal(e.event, STS_EV_TXT_FAILED);
		assert_int_equal(rec.fail_until, T0 + STS_FAIL_REMEMBER);
		assert_int_equal(rec.none_until, 0);
		assert_int_equal(cacherec_view(&rec, T0 + 1), CACHEREC_VIEW_TXT_FAILED);
		assert_int_equal(cacherec_view(&rec, T0 + STS_FAIL_REMEMBER),
		                 CACHEREC_VIEW_UNKNOWN);
		/* a valid policy: kept, the failed check counts as a check */
		run(w, &web, "a.test", &pol, &prm, T0 + 600, &e);
		assert_int_equal(e.disc, DECIDE_DISC_TXT_FAILED);
		assert_int_equal(pol.checked, T0 + 600);
		assert_int_equal(pol.fail_until, 0);
		assert_int_equal(cacherec_view(&pol, T0 + 601), CACHEREC_VIEW_POLICY);
	}
	/* never longer than txt_recheck */
	{
		struct sts_params p = {5, DAY};
		w = world();
		w->servfail[0] = "_mta-sts.a.test";
		cacherec_init(&rec);
		run(w, &web, "a.test", &rec, &p, T0, &e);
		assert_int_equal(rec.fail_until, T0 + 5);
	}
}

struct fetch_case {
	const char *name;
	struct site site;
	const char *why; /* prefix of e.why */
	enum sts_fetch_result fetched;
};

static const struct fetch_case fetch_cases[] = {
    {"transport error",
     {"a.test", "SSL certificate problem: unable to get local issuer", 0, NULL, NULL},
     "SSL certificate problem",
     STS_FETCH_ERROR}, /* no class given: error */
    {"status 404",
     {"a.test", NULL, 404, "text/plain", GOOD},
     "HTTP status 404",
     STS_FETCH_HTTP_4XX},
    {"redirect refused",
     {"a.test", NULL, 301, "text/plain", GOOD},
     "HTTP status 301",
     STS_FETCH_HTTP_3XX},
    {"text/html",
     {"a.test", NULL, 200, "text/html", GOOD},
     "content type \"text/html\"",
     STS_FETCH_CONTENT_TYPE},
    {"text/plainx",
     {"a.test", NULL, 200, "text/plainx", GOOD},
     "content type",
     STS_FETCH_CONTENT_TYPE},
    {"no content type",
     {"a.test", NULL, 200, NULL, GOOD},
     "content type \"(none)\"",
     STS_FETCH_CONTENT_TYPE},
    {"invalid policy",
     {"a.test", NULL, 200, "text/plain", "version: STSv1\nmode: enforce\n"},
     "invalid policy",
     STS_FETCH_INVALID_POLICY},
    {"empty body",
     {"a.test", NULL, 200, "text/plain", ""},
     "invalid policy",
     STS_FETCH_INVALID_POLICY},
    {"status 503",
     {"a.test", NULL, 503, "text/plain", GOOD},
     "HTTP status 503",
     STS_FETCH_HTTP_5XX},
    {"status 204",
     {"a.test", NULL, 204, "text/plain", GOOD},
     "HTTP status 204",
     STS_FETCH_HTTP_OTHER},
};

/* Each fetch failure with nothing cached: fallback row, "no policy" remembered, id held back. */
static void
test_fetch_failure(void **state)
{
	const struct fetch_case *c = *state;
	struct site sites[2] = {c->site, {NULL, NULL, 0, NULL, NULL}};
	struct web web = {sites, 0, {0, {0}}, 0};
	struct world *w = world();
	struct cacherec rec;
	struct sts_eval e;

	cacherec_init(&rec);
	run(w, &web, "a.test", &rec, &prm, T0, &e);
	assert_int_equal(e.disc, DECIDE_DISC_FETCH_FAILED);
	assert_int_equal(e.event, STS_EV_FETCH_FAILED);
	if (e.fetched != c->fetched)
		fail_msg("%s: fetched %s, want %s", c->name, sts_fetch_result_name(e.fetched),
		         sts_fetch_result_name(c->fetched));
	if (strncmp(e.why, c->why, strlen(c->why)) != 0)
		fail_msg("%s: why \"%s\", want \"%s...\"", c->name, e.why, c->why);
	assert_false(rec.has_policy);
	assert_string_equal(rec.failed_id, "1");
	assert_int_equal(rec.failed, T0);
	assert_int_equal(rec.none_until, T0 + 300); /* min(txt_recheck, TXT TTL 300) */
}

/* The policy host has no address, or its lookups fail. */
static void
test_address_failures(void **state)
{
	struct web web = {good_sites, 0, {0, {0}}, 0};
	struct world *w = world();
	struct cacherec rec;
	struct sts_eval e;

	(void)state;
	cacherec_init(&rec);
	run(w, &web, "noaddr.test", &rec, &prm, T0, &e);
	assert_int_equal(e.disc, DECIDE_DISC_FETCH_FAILED);
	assert_string_equal(e.why, "mta-sts.noaddr.test: no address");
	assert_int_equal(web.fetches, 0);
	w = world();
	w->servfail[0] = "mta-sts.a.test";
	cacherec_init(&rec);
	run(w, &web, "a.test", &rec, &prm, T0, &e);
	assert_int_equal(e.disc, DECIDE_DISC_FETCH_FAILED);
	assert_string_equal(e.why, "mta-sts.a.test: SERVFAIL");
	w = world();
	w->garbage = "mta-sts.a.test";
	cacherec_init(&rec);
	run(w, &web, "a.test", &rec, &prm, T0, &e);
	assert_int_equal(e.disc, DECIDE_DISC_FETCH_FAILED);
	assert_non_null(strstr(e.why, "mta-sts.a.test: "));
	/* one family failing is enough when the other answers */
	w = world();
	w->silent[0] = "mta-sts.a.test/28";
	cacherec_init(&rec);
	run(w, &web, "a.test", &rec, &prm, T0, &e);
	assert_int_equal(e.disc, DECIDE_DISC_FETCHED);
	assert_int_equal(web.n_addrs, 1);
}

/* ---- trust on first use (RFC 8461 s5.1) ---- */

/* Learn a.test's policy (id 1, max_age 1 day) at T0. */
static void
learn(struct cacherec *rec)
{
	struct web web = {good_sites, 0, {0, {0}}, 0};
	struct sts_eval e;

	cacherec_init(rec);
	run(world(), &web, "a.test", rec, &prm, T0, &e);
	assert_int_equal(e.event, STS_EV_LEARNED);
}

/* A world where a.test publishes TXT id (or nothing for NULL). */
static struct world *
world_id(const char *txt)
{
	static struct zrr alt[4];
	struct world *w = world();

	memset(alt, 0, sizeof(alt));
	if (txt != NULL)
		alt[0] = (struct zrr){"_mta-sts.a.test", DNSMSG_TXT, 300, txt};
	else
		alt[0] = (struct zrr){"mta-sts.a.test", DNSMSG_TXT, 300, "x"}; /* zone exists */
	alt[1] = (struct zrr){"mta-sts.a.test", DNSMSG_A, 300, "192.0.2.1"};
	alt[2] = (struct zrr){NULL, 0, 0, NULL};
	w->rrs = alt;
	return w;
}

static void
test_tofu_txt_removed(void **state)
{
	struct web web = {good_sites, 0, {0, {0}}, 0};
	struct cacherec rec;
	struct sts_eval e;

	(void)state;
	learn(&rec);
	run(world_id(NULL), &web, "a.test", &rec, &prm, T0 + 3600, &e);
	assert_int_equal(e.event, STS_EV_NO_POLICY);
	assert_int_equal(rec.checked, T0 + 3600);
	/* the cached policy still applies until it expires, then never */
	assert_int_equal(cacherec_view(&rec, T0 + 3601), CACHEREC_VIEW_POLICY);
	assert_int_equal(rec.expires, T0 + DAY);
	run(world_id(NULL), &web, "a.test", &rec, &prm, T0 + DAY, &e);
	assert_int_equal(cacherec_view(&rec, T0 + DAY + 1), CACHEREC_VIEW_NO_POLICY);
}

static void
test_tofu_new_id_host_down(void **state)
{
	static const struct site down[] = {{"a.test", "Connection refused", 0, NULL, NULL},
	                                   {NULL, NULL, 0, NULL, NULL}};
	struct web web = {down, 0, {0, {0}}, 0};
	struct cacherec rec;
	struct sts_eval e;

	(void)state;
	learn(&rec);
	run(world_id("v=STSv1; id=2;"), &web, "a.test", &rec, &prm, T0 + 100, &e);
	assert_int_equal(e.event, STS_EV_FETCH_FAILED);
	assert_int_equal(web.fetches, 1);
	/* old policy kept, the new id held back */
	assert_string_equal(rec.id, "1");
	assert_string_equal(rec.failed_id, "2");
	assert_int_equal(cacherec_view(&rec, T0 + 101), CACHEREC_VIEW_POLICY);
	/* within 5 minutes: no fetch, the cached policy answers */
	run(world_id("v=STSv1; id=2;"), &web, "a.test", &rec, &prm, T0 + 399, &e);
	assert_int_equal(e.event, STS_EV_BACKOFF);
	assert_int_equal(e.disc, DECIDE_DISC_NOT_RUN);
	assert_int_equal(web.fetches, 1);
	/* after: fetched again, and now the host is back */
	web.sites = good_sites;
	run(world_id("v=STSv1; id=2;"), &web, "a.test", &rec, &prm, T0 + 400, &e);
	assert_int_equal(e.event, STS_EV_CHANGED);
	assert_string_equal(e.prev_id, "1");
	assert_string_equal(sts_event_name(e.event), "policy-changed");
	assert_string_equal(rec.id, "2");
	assert_int_equal(rec.expires, T0 + 400 + DAY);
	assert_string_equal(rec.failed_id, "");
}

/* Nothing cached, fetch failed: during the back-off the fallback answers without a fetch, and
 * "no policy" is never remembered past the back-off's end. */
static void
test_backoff_nothing_cached(void **state)
{
	static const struct site down[] = {{"a.test", "timeout", 0, NULL, NULL},
	                                   {NULL, NULL, 0, NULL, NULL}};
	struct web web = {down, 0, {0, {0}}, 0};
	struct sts_params p = {600, DAY};
	struct cacherec rec;
	struct sts_eval e;

	(void)state;
	cacherec_init(&rec);
	run(world(), &web, "a.test", &rec, &p, T0, &e);
	assert_int_equal(e.event, STS_EV_FETCH_FAILED);
	assert_int_equal(rec.none_until, T0 + 300); /* TXT TTL 300 < txt_recheck 600 */
	run(world(), &web, "a.test", &rec, &p, T0 + 250, &e);
	assert_int_equal(e.event, STS_EV_BACKOFF);
	assert_int_equal(e.disc, DECIDE_DISC_FETCH_FAILED);
	assert_int_equal(web.fetches, 1);
	assert_int_equal(rec.none_until, T0 + CACHEREC_RETRY_AFTER);
	/* a new id is fetched at once, back-off or not */
	run(world_id("v=STSv1; id=9;"), &web, "a.test", &rec, &p, T0 + 260, &e);
	assert_int_equal(e.event, STS_EV_FETCH_FAILED);
	assert_int_equal(web.fetches, 2);
	assert_string_equal(rec.failed_id, "9");
}

static void
test_tofu_mode_none(void **state)
{
	static const struct site none[] = {
	    {"a.test", NULL, 200, "text/plain", "version: STSv1\nmode: none\nmax_age: 600\n"},
	    {NULL, NULL, 0, NULL, NULL}};
	struct web web = {none, 0, {0, {0}}, 0};
	struct cacherec rec;
	struct sts_eval e;

	(void)state;
	learn(&rec);
	run(world_id("v=STSv1; id=3;"), &web, "a.test", &rec, &prm, T0 + 10, &e);
	assert_int_equal(e.event, STS_EV_CHANGED);
	assert_string_equal(e.prev_id, "1");
	assert_int_equal(rec.policy.mode, STSPOLICY_MODE_NONE);
	assert_int_equal(rec.expires, T0 + 610);
}

static void
test_tofu_unchanged_refresh_expiry(void **state)
{
	struct web web = {good_sites, 0, {0, {0}}, 0};
	struct sts_params p = {300, 3600};
	struct cacherec rec;
	struct sts_eval e;

	(void)state;
	learn(&rec);
	/* same id, fresh: nothing fetched, expiry not extended, the check time moves */
	run(world(), &web, "a.test", &rec, &p, T0 + 600, &e);
	assert_int_equal(e.event, STS_EV_UNCHANGED);
	assert_int_equal(e.disc, DECIDE_DISC_NOT_RUN);
	assert_int_equal(web.fetches, 0);
	assert_int_equal(rec.expires, T0 + DAY);
	assert_int_equal(rec.checked, T0 + 600);
	/* older than refresh: fetched again, expiry counted from this fetch */
	run(world(), &web, "a.test", &rec, &p, T0 + 3600, &e);
	assert_int_equal(e.event, STS_EV_REFRESHED);
	assert_int_equal(web.fetches, 1);
	assert_int_equal(rec.expires, T0 + 3600 + DAY);
	/* expired with the same id published: refetched */
	run(world(), &web, "a.test", &rec, &prm, T0 + 3600 + DAY, &e);
	assert_int_equal(e.event, STS_EV_REFRESHED);
	assert_int_equal(web.fetches, 2);
}

/* ---- driving ---- */

static void
test_stray_and_abort(void **state)
{
	struct sts_eval e;
	struct sts_query q;
	struct sts_fetch f;
	struct cacherec rec;
	struct pkt k;
	struct world *w = world();

	(void)state;
	cacherec_init(&rec);
	sts_init(&e, "a.test", &rec, &prm, T0);
	assert_int_equal(sts_next(&e, &q, &f), STS_ACT_QUERY);
	assert_string_equal(q.name, "_mta-sts.a.test");
	assert_int_equal(q.type, DNSMSG_TXT);
	assert_int_equal(sts_next(&e, &q, &f), STS_ACT_NONE); /* nothing before the TXT answer */
	world_answer(w, "_mta-sts.a.test", DNSMSG_TXT, &k);
	sts_answer(&e, 7, k.b, k.n, T0); /* unknown token */
	sts_answer(&e, 1, k.b, k.n, T0); /* a query not sent */
	sts_fail(&e, 2, "x", T0);        /* idem */
	assert_false(sts_done(&e));
	sts_answer(&e, q.token, k.b, k.n, T0);
	sts_answer(&e, q.token, k.b, k.n, T0); /* duplicate */
	assert_int_equal(sts_next(&e, &q, &f), STS_ACT_QUERY);
	assert_int_equal(sts_next(&e, &q, &f), STS_ACT_QUERY);
	assert_int_equal(sts_next(&e, &q, &f), STS_ACT_NONE);
	/* the deadline passes while the addresses are asked: a fetch failure */
	sts_abort(&e, "deadline passed", T0 + 40);
	assert_true(sts_done(&e));
	assert_int_equal(e.disc, DECIDE_DISC_FETCH_FAILED);
	assert_string_equal(e.why, "deadline passed");
	assert_string_equal(e.rec.failed_id, "1");
	assert_int_equal(e.fetched, STS_FETCH_NONE); /* no fetch had started */
	/* results after the end change nothing */
	world_answer(w, "mta-sts.a.test", DNSMSG_A, &k);
	sts_answer(&e, q.token, k.b, k.n, T0 + 41);
	assert_int_equal(e.disc, DECIDE_DISC_FETCH_FAILED);
	assert_int_equal(sts_next(&e, &q, &f), STS_ACT_NONE);
	/* before the TXT answer: a TXT failure */
	sts_init(&e, "a.test", &rec, &prm, T0);
	assert_int_equal(sts_next(&e, &q, &f), STS_ACT_QUERY);
	sts_abort(&e, "deadline passed", T0 + 5);
	assert_int_equal(e.disc, DECIDE_DISC_TXT_FAILED);
	assert_int_equal(e.rec.fail_until, T0 + 5 + STS_FAIL_REMEMBER);
	/* a fetch result nobody asked for is ignored */
	{
		struct sts_response r = {NULL, 200,          "text/plain",
		                         GOOD, strlen(GOOD), STS_FETCH_NONE};
		sts_init(&e, "a.test", &rec, &prm, T0);
		sts_fetched(&e, &r, T0);
		assert_false(sts_done(&e));
	}
	assert_string_equal(sts_event_name(STS_EV_BACKOFF), "fetch-backoff");
	assert_string_equal(sts_fetch_result_name(STS_FETCH_HTTP_4XX), "http-4xx");
	assert_string_equal(sts_fetch_result_name((enum sts_fetch_result)99), "unknown");
	assert_string_equal(sts_event_name((enum sts_event)99), "unknown");
}

/* How a fetch ended, for metrics: a transport failure keeps the fetcher's class; the deadline
 * passing while the fetch runs is a timeout. */
static void
test_fetch_classes(void **state)
{
	const struct sts_response tls = {"SSL peer certificate", 0, NULL, "", 0, STS_FETCH_TLS};
	struct sts_eval e;
	struct sts_query q, qa, qb;
	struct sts_fetch f;
	struct cacherec rec;
	struct pkt k;
	struct world *w = world();

	(void)state;
	for (int round = 0; round < 2; round++) {
		cacherec_init(&rec);
		sts_init(&e, "a.test", &rec, &prm, T0);
		assert_int_equal(sts_next(&e, &q, &f), STS_ACT_QUERY);
		world_answer(w, q.name, q.type, &k);
		sts_answer(&e, q.token, k.b, k.n, T0);
		assert_int_equal(sts_next(&e, &qa, &f), STS_ACT_QUERY);
		assert_int_equal(sts_next(&e, &qb, &f), STS_ACT_QUERY);
		world_answer(w, qa.name, qa.type, &k);
		sts_answer(&e, qa.token, k.b, k.n, T0);
		world_answer(w, qb.name, qb.type, &k);
		sts_answer(&e, qb.token, k.b, k.n, T0);
		assert_int_equal(sts_next(&e, &q, &f), STS_ACT_FETCH);
		assert_int_equal(e.fetched, STS_FETCH_NONE);
		if (round == 0)
			sts_fetched(&e, &tls, T0);
		else
			sts_abort(&e, "deadline passed", T0 + 40);
		assert_true(sts_done(&e));
		assert_int_equal(e.event, STS_EV_FETCH_FAILED);
		assert_int_equal(e.fetched, round == 0 ? STS_FETCH_TLS : STS_FETCH_TIMEOUT);
	}
}

#define N_NOPOL (sizeof(nopol_cases) / sizeof(nopol_cases[0]))
#define N_FETCH (sizeof(fetch_cases) / sizeof(fetch_cases[0]))

int
main(void)
{
	static struct CMUnitTest tests[N_NOPOL + N_FETCH + 16];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_first_discovery);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_fetch_classes);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_txt_and_address_forms);
	for (size_t i = 0; i < N_NOPOL; i++)
		tests[n++] = (struct CMUnitTest){nopol_cases[i].name, test_no_policy, NULL, NULL,
		                                 (void *)&nopol_cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_long_domain);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_txt_failures);
	for (size_t i = 0; i < N_FETCH; i++)
		tests[n++] = (struct CMUnitTest){fetch_cases[i].name, test_fetch_failure, NULL,
		                                 NULL, (void *)&fetch_cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_address_failures);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tofu_txt_removed);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tofu_new_id_host_down);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_backoff_nothing_cached);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tofu_mode_none);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tofu_unchanged_refresh_expiry);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_stray_and_abort);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_adopt);
	return _cmocka_run_group_tests("sts", tests, n, NULL, NULL);
}
