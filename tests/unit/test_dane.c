/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dane.c. A small in-process "world" (a record table, names answered SERVFAIL
 * or not at all, owner suffixes whose answers carry no AD bit) answers every query the
 * evaluation asks for with a real wire-format DNS message, so dane.c is exercised through
 * dnsmsg.c exactly as the daemon drives it. Cases cover every state (ALL, SOME, NONE, INSECURE,
 * ERROR), implicit and null MX, CNAMEs, bracketed hosts and ports, TTLs, caps, hostile
 * answers, and the cache record encoding.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dane.h"
#include "dnsmsg.h"
#include "dnspkt.h"
#include "dnsworld.h"

#define NOW 1000000
#define H32 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Drive an evaluation to its end; lifo answers the newest query first. */
static void
run(struct world *w, const char *name, unsigned port, int bracketed, int trust_ad, int lifo,
    struct danerec *out)
{
	static struct dane_eval e;
	struct dane_query pending[DANE_INFLIGHT_MAX + 1];
	unsigned npend = 0;
	struct pkt k;

	dane_init(&e, name, port, bracketed, trust_ad);
	w->queries = 0;
	w->max_inflight = 0;
	for (int guard = 0; guard < 1000; guard++) {
		struct dane_query q;
		while (dane_next(&e, &q)) {
			assert_true(npend < DANE_INFLIGHT_MAX);
			pending[npend++] = q;
		}
		if (npend > w->max_inflight)
			w->max_inflight = npend;
		if (npend == 0)
			break;
		if (lifo) {
			q = pending[--npend];
		} else {
			q = pending[0];
			memmove(pending, pending + 1, --npend * sizeof(pending[0]));
		}
		switch (world_reply(w, q.name, q.type, &k)) {
		case WORLD_SILENT:
			dane_fail(&e, q.token, "timeout");
			break;
		case WORLD_SERVFAIL:
			dane_fail(&e, q.token, "SERVFAIL");
			break;
		case WORLD_ANSWER:
			dane_answer(&e, q.token, k.b, k.n);
			break;
		}
	}
	assert_true(dane_done(&e));
	dane_result(&e, NOW, out);
}

/* ---- the worlds ---- */

static const struct zrr base_rrs[] = {
    /* all.test: both MX hosts have TLSA */
    {"all.test", DNSMSG_MX, 3600, "10 mx1.all.test"},
    {"all.test", DNSMSG_MX, 3600, "20 mx2.all.test"},
    {"mx1.all.test", DNSMSG_A, 3600, "192.0.2.1"},
    {"mx2.all.test", DNSMSG_A, 3600, "192.0.2.2"},
    {"mx2.all.test", DNSMSG_AAAA, 3600, "2001:db8::2"},
    {"_25._tcp.mx1.all.test", DNSMSG_TLSA, 120, "3 1 1 " H32},
    {"_25._tcp.mx2.all.test", DNSMSG_TLSA, 3600, "2 0 2 " H32 H32},
    /* some.test: only mx1 */
    {"some.test", DNSMSG_MX, 3600, "10 mx1.some.test"},
    {"some.test", DNSMSG_MX, 3600, "20 mx2.some.test"},
    {"mx1.some.test", DNSMSG_A, 3600, "192.0.2.1"},
    {"mx2.some.test", DNSMSG_A, 3600, "192.0.2.2"},
    {"_25._tcp.mx1.some.test", DNSMSG_TLSA, 3600, "3 1 1 " H32},
    /* none.test: signed, no TLSA */
    {"none.test", DNSMSG_MX, 3600, "10 mx.none.test"},
    {"mx.none.test", DNSMSG_A, 3600, "192.0.2.1"},
    /* unusable.test: TLSA that SMTP may not use, and a bad digest length */
    {"unusable.test", DNSMSG_MX, 3600, "10 mx1.unusable.test"},
    {"unusable.test", DNSMSG_MX, 3600, "10 mx2.unusable.test"},
    {"mx1.unusable.test", DNSMSG_A, 3600, "192.0.2.1"},
    {"mx2.unusable.test", DNSMSG_A, 3600, "192.0.2.2"},
    {"_25._tcp.mx1.unusable.test", DNSMSG_TLSA, 3600, "1 1 1 " H32},
    {"_25._tcp.mx2.unusable.test", DNSMSG_TLSA, 3600, "3 1 1 0123"},
    /* null.test: RFC 7505 */
    {"null.test", DNSMSG_MX, 3600, "0 ."},
    /* implicit.test: no MX, the domain itself with TLSA */
    {"implicit.test", DNSMSG_A, 3600, "192.0.2.7"},
    {"_25._tcp.implicit.test", DNSMSG_TLSA, 3600, "3 1 1 " H32},
    /* alias.test: CNAME to all.test */
    {"alias.test", DNSMSG_CNAME, 300, "all.test"},
    /* cnhost.test: MX host is a CNAME; TLSA at the expanded name */
    {"cnhost.test", DNSMSG_MX, 3600, "10 mx.cnhost.test"},
    {"mx.cnhost.test", DNSMSG_CNAME, 3600, "real.cnhost.test"},
    {"real.cnhost.test", DNSMSG_A, 3600, "192.0.2.9"},
    {"_25._tcp.real.cnhost.test", DNSMSG_TLSA, 3600, "3 1 1 " H32},
    /* cnorig.test: MX host is a CNAME; TLSA only at the original name */
    {"cnorig.test", DNSMSG_MX, 3600, "10 mx.cnorig.test"},
    {"mx.cnorig.test", DNSMSG_CNAME, 3600, "real.cnorig.test"},
    {"real.cnorig.test", DNSMSG_A, 3600, "192.0.2.9"},
    {"_25._tcp.mx.cnorig.test", DNSMSG_TLSA, 3600, "3 1 1 " H32},
    /* noaddr.test: mx2 has no address at all: not counted */
    {"noaddr.test", DNSMSG_MX, 3600, "10 mx1.noaddr.test"},
    {"noaddr.test", DNSMSG_MX, 3600, "20 mx2.noaddr.test"},
    {"mx1.noaddr.test", DNSMSG_A, 3600, "192.0.2.1"},
    {"_25._tcp.mx1.noaddr.test", DNSMSG_TLSA, 3600, "3 1 1 " H32},
    /* mixed.test: mx2 lives in an unsigned zone */
    {"mixed.test", DNSMSG_MX, 3600, "10 mx1.mixed.test"},
    {"mixed.test", DNSMSG_MX, 3600, "20 mx2.unsigned.test"},
    {"mx1.mixed.test", DNSMSG_A, 3600, "192.0.2.1"},
    {"mx2.unsigned.test", DNSMSG_A, 3600, "192.0.2.2"},
    {"_25._tcp.mx1.mixed.test", DNSMSG_TLSA, 3600, "3 1 1 " H32},
    {"_25._tcp.mx2.unsigned.test", DNSMSG_TLSA, 3600, "3 1 1 " H32},
    /* badname.test: one exchange is not a host name */
    {"badname.test", DNSMSG_MX, 3600, "10 mx1.badname.test"},
    {"badname.test", DNSMSG_MX, 3600, "20 mx_2.badname.test"},
    {"mx1.badname.test", DNSMSG_A, 3600, "192.0.2.1"},
    {"_25._tcp.mx1.badname.test", DNSMSG_TLSA, 3600, "3 1 1 " H32},
    /* dup.test: the same exchange twice */
    {"dup.test", DNSMSG_MX, 3600, "20 mx.dup.test"},
    {"dup.test", DNSMSG_MX, 3600, "10 mx.dup.test"},
    {"mx.dup.test", DNSMSG_A, 0, "192.0.2.1"},
    {"_587._tcp.mx.dup.test", DNSMSG_TLSA, 3600, "3 1 1 " H32},
    /* fail.test: host address and TLSA failures */
    {"afail.test", DNSMSG_MX, 3600, "10 mx.afail.test"},
    {"tfail.test", DNSMSG_MX, 3600, "10 mx.tfail.test"},
    {"mx.tfail.test", DNSMSG_A, 3600, "192.0.2.1"},
    {"junk.test", DNSMSG_MX, 3600, "10 mx.junk.test"},
    {"mx.junk.test", DNSMSG_A, 3600, "192.0.2.1"},
    /* cnbad.test: the domain is a CNAME to a name that is no host name, without MX */
    {"cnbad.test", DNSMSG_CNAME, 300, "x!y.cnbad2.test"},
    {"x!y.cnbad2.test", DNSMSG_A, 300, "192.0.2.1"},
    {NULL, 0, 0, NULL},
};

static struct world *
world(void)
{
	static struct world w;

	memset(&w, 0, sizeof(w));
	w.rrs = base_rrs;
	w.insecure[0] = "unsigned.test";
	return &w;
}

/* ---- tests ---- */

struct case_ {
	const char *name;
	const char *dest;
	unsigned port;
	int bracketed, trust_ad;
	enum dane_state want;
	unsigned n_hosts, n_tlsa;
	const char *host0, *host1;
};

static const struct case_ cases[] = {
    {"all", "all.test", 0, 0, 1, DANE_ALL, 2, 2, "mx1.all.test", "mx2.all.test"},
    {"some", "some.test", 0, 0, 1, DANE_SOME, 2, 1, "mx1.some.test", "mx2.some.test"},
    {"none", "none.test", 0, 0, 1, DANE_NONE, 1, 0, "mx.none.test", NULL},
    {"unusable TLSA", "unusable.test", 0, 0, 1, DANE_NONE, 2, 0, NULL, NULL},
    {"null MX", "null.test", 0, 0, 1, DANE_NONE, 0, 0, NULL, NULL},
    {"nxdomain signed", "nosuch.test", 0, 0, 1, DANE_NONE, 0, 0, NULL, NULL},
    {"implicit MX", "implicit.test", 0, 0, 1, DANE_ALL, 1, 1, "implicit.test", NULL},
    {"CNAME domain", "alias.test", 0, 0, 1, DANE_ALL, 2, 2, "mx1.all.test", NULL},
    {"CNAME host, TLSA at target", "cnhost.test", 0, 0, 1, DANE_ALL, 1, 1, "mx.cnhost.test", NULL},
    {"CNAME host, TLSA at name", "cnorig.test", 0, 0, 1, DANE_ALL, 1, 1, NULL, NULL},
    {"host without address", "noaddr.test", 0, 0, 1, DANE_ALL, 2, 1, NULL, NULL},
    {"host in unsigned zone", "mixed.test", 0, 0, 1, DANE_SOME, 2, 1, NULL, NULL},
    {"bad exchange name", "badname.test", 0, 0, 1, DANE_SOME, 1, 1, "mx1.badname.test", NULL},
    {"duplicate exchange, port", "dup.test", 587, 0, 1, DANE_ALL, 1, 1, "mx.dup.test", NULL},
    {"unsigned MX", "x.unsigned.test", 0, 0, 1, DANE_INSECURE, 0, 0, NULL, NULL},
    {"AD not trusted", "all.test", 0, 0, 0, DANE_INSECURE, 2, 0, "mx1.all.test", NULL},
    {"bracketed", "mx1.all.test", 0, 1, 1, DANE_ALL, 1, 1, "mx1.all.test", NULL},
    {"bracketed port without TLSA", "mx1.all.test", 587, 1, 1, DANE_NONE, 1, 0, NULL, NULL},
    {"bracketed AD not trusted", "mx1.all.test", 0, 1, 0, DANE_INSECURE, 1, 0, NULL, NULL},
    {"garbage MX answer", "junk2.test", 0, 0, 1, DANE_ERROR, 0, 0, NULL, NULL},
};

static void
test_case(void **state)
{
	const struct case_ *c = *state;

	for (int lifo = 0; lifo < 2; lifo++) {
		struct world *w = world();
		struct danerec r;

		w->garbage = "junk2.test";
		run(w, c->dest, c->port, c->bracketed, c->trust_ad, lifo, &r);
		if (r.state != c->want)
			fail_msg("%s: state %s, want %s (%s)", c->name, dane_state_name(r.state),
			         dane_state_name(c->want), r.why);
		assert_int_equal(r.n_hosts, c->n_hosts);
		assert_int_equal(r.n_tlsa, c->n_tlsa);
		assert_int_equal(r.trust_ad, c->trust_ad);
		if (c->host0)
			assert_string_equal(r.hosts[0], c->host0);
		if (c->host1)
			assert_string_equal(r.hosts[1], c->host1);
		assert_true(r.why[0] != '\0');
		assert_true(r.expires >= NOW + DANE_TTL_MIN && r.expires <= NOW + DANE_TTL_MAX);
	}
}

static void
test_queries_asked(void **state)
{
	struct world *w = world();
	struct danerec r;

	(void)state;
	/* Without trust in AD only the MX set is looked up (for mx_check). */
	run(w, "all.test", 0, 0, 0, 0, &r);
	assert_int_equal(w->queries, 1);
	assert_true(world_asked(w, "all.test/15"));
	/* A bracketed host without trust: nothing at all. */
	run(w, "mx1.all.test", 0, 1, 0, 0, &r);
	assert_int_equal(w->queries, 0);
	/* Bracketed with a port: no MX, TLSA at _587._tcp. */
	run(w, "mx1.all.test", 587, 1, 1, 0, &r);
	assert_false(world_asked(w, "mx1.all.test/15"));
	assert_true(world_asked(w, "_587._tcp.mx1.all.test/52"));
	/* TLSA is never asked behind unsigned addresses (RFC 7672 s2.2.2). */
	run(w, "mixed.test", 0, 0, 1, 0, &r);
	assert_true(world_asked(w, "_25._tcp.mx1.mixed.test/52"));
	assert_false(world_asked(w, "_25._tcp.mx2.unsigned.test/52"));
	/* Expanded name first, then the original. */
	run(w, "cnorig.test", 0, 0, 1, 0, &r);
	assert_true(world_asked(w, "_25._tcp.real.cnorig.test/52"));
	assert_true(world_asked(w, "_25._tcp.mx.cnorig.test/52"));
	/* Found at the expanded name: the original is not asked. */
	run(w, "cnhost.test", 0, 0, 1, 0, &r);
	assert_false(world_asked(w, "_25._tcp.mx.cnhost.test/52"));
	/* Null MX: no host lookups. */
	run(w, "null.test", 0, 0, 1, 0, &r);
	assert_int_equal(w->queries, 1);
}

static void
test_errors(void **state)
{
	struct world *w;
	struct danerec r;

	(void)state;
	w = world();
	w->servfail[0] = "all.test";
	run(w, "all.test", 0, 0, 1, 0, &r);
	assert_int_equal(r.state, DANE_ERROR);
	assert_int_equal(r.expires, NOW + DANE_TTL_ERROR);
	assert_non_null(strstr(r.why, "MX lookup failed"));

	w = world();
	w->silent[0] = "mx.afail.test";
	run(w, "afail.test", 0, 0, 1, 1, &r);
	assert_int_equal(r.state, DANE_ERROR);
	assert_non_null(strstr(r.why, "mx.afail.test"));

	w = world();
	w->servfail[0] = "_25._tcp.mx.tfail.test";
	run(w, "tfail.test", 0, 0, 1, 0, &r);
	assert_int_equal(r.state, DANE_ERROR);
	assert_non_null(strstr(r.why, "TLSA"));

	/* A hostile TLSA answer (compression pointer to itself) is a failure, not "no TLSA". */
	w = world();
	w->garbage = "_25._tcp.mx.junk.test";
	run(w, "junk.test", 0, 0, 1, 0, &r);
	assert_int_equal(r.state, DANE_ERROR);

	/* Without trust in AD an MX failure is no DANE failure: INSECURE, no hosts known. */
	w = world();
	w->servfail[0] = "all.test";
	run(w, "all.test", 0, 0, 0, 0, &r);
	assert_int_equal(r.state, DANE_INSECURE);
	assert_int_equal(r.n_hosts, 0);
	assert_non_null(strstr(r.why, "MX lookup failed"));

	/* The same failure without trust in AD never reaches a host lookup. */
	w = world();
	w->servfail[0] = "mx.afail.test";
	run(w, "afail.test", 0, 0, 0, 0, &r);
	assert_int_equal(r.state, DANE_INSECURE);
}

static void
test_ttl(void **state)
{
	struct world *w = world();
	struct danerec r;

	(void)state;
	/* Minimum of MX 3600, A 3600, TLSA 120. */
	run(w, "all.test", 0, 0, 1, 0, &r);
	assert_int_equal(r.expires, NOW + 120);
	/* A TTL of 0 is floored. */
	run(w, "dup.test", 587, 0, 1, 0, &r);
	assert_int_equal(r.expires, NOW + DANE_TTL_MIN);
	/* Negative answer: min(SOA TTL 300, MINIMUM 120). */
	run(w, "nosuch.test", 0, 0, 1, 0, &r);
	assert_int_equal(r.expires, NOW + 120);
}

/* 40 MX hosts in reverse preference: the 32 best are kept, in order, and at most
 * DANE_INFLIGHT_MAX queries are ever in flight. */
static void
test_many_hosts(void **state)
{
	static struct zrr rrs[2 * 40 + 1];
	static char names[40][64], mx[40][64];
	struct world *w = world();
	struct danerec r;

	(void)state;
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "mx%02d.many.test", i);
		snprintf(mx[i], sizeof(mx[i]), "%d %s", 100 - i, names[i]);
		rrs[2 * i] = (struct zrr){"many.test", DNSMSG_MX, 3600, mx[i]};
		rrs[2 * i + 1] = (struct zrr){names[i], DNSMSG_A, 3600, "192.0.2.1"};
	}
	rrs[80] = (struct zrr){NULL, 0, 0, NULL};
	w->rrs = rrs;
	run(w, "many.test", 0, 0, 1, 0, &r);
	assert_int_equal(r.state, DANE_NONE);
	assert_int_equal(r.n_hosts, DANE_HOSTS_MAX);
	assert_string_equal(r.hosts[0], "mx39.many.test");
	assert_string_equal(r.hosts[31], "mx08.many.test");
	assert_int_equal(w->max_inflight, DANE_INFLIGHT_MAX);
}

static void
test_stray_answers(void **state)
{
	struct dane_eval e;
	struct dane_query q;
	struct danerec r;
	struct pkt k;
	struct world *w = world();

	(void)state;
	dane_init(&e, "none.test", 0, 0, 1);
	/* Answers nobody asked for are ignored. */
	world_answer(w, "none.test", DNSMSG_MX, &k);
	dane_answer(&e, 0xffff, k.b, k.n);
	dane_answer(&e, 7, k.b, k.n);
	dane_fail(&e, 3, "x");
	assert_false(dane_done(&e));
	assert_true(dane_next(&e, &q));
	assert_string_equal(q.name, "none.test");
	assert_int_equal(q.type, DNSMSG_MX);
	assert_false(dane_next(&e, &q)); /* hosts wait for the MX answer */
	dane_answer(&e, 0xffff, k.b, k.n);
	dane_answer(&e, 0xffff, k.b, k.n); /* a duplicate is ignored */
	assert_true(dane_next(&e, &q));
	assert_string_equal(q.name, "mx.none.test");
	/* Failing once done: the first failure decides; later answers change nothing. */
	dane_fail(&e, q.token, "timeout");
	assert_true(dane_done(&e));
	dane_result(&e, NOW, &r);
	assert_int_equal(r.state, DANE_ERROR);
	assert_false(dane_next(&e, &q));
}

/* The deadline: whatever is in flight fails, and the evaluation ends at once. */
static void
test_abort(void **state)
{
	struct dane_eval e;
	struct dane_query q;
	struct danerec r;
	struct pkt k;
	struct world *w = world();

	(void)state;
	/* during the MX query: the MX set is unknown */
	for (int trust = 0; trust < 2; trust++) {
		dane_init(&e, "all.test", 0, 0, trust);
		assert_true(dane_next(&e, &q));
		dane_abort(&e, "deadline passed");
		assert_true(dane_done(&e));
		assert_false(dane_next(&e, &q));
		dane_result(&e, NOW, &r);
		assert_int_equal(r.state, trust ? DANE_ERROR : DANE_INSECURE);
		assert_false(r.mx_known);
		assert_int_equal(r.expires, NOW + DANE_TTL_ERROR);
	}
	/* during the host lookups: ERROR, the MX set known */
	dane_init(&e, "all.test", 0, 0, 1);
	assert_true(dane_next(&e, &q));
	world_answer(w, q.name, q.type, &k);
	dane_answer(&e, q.token, k.b, k.n);
	assert_true(dane_next(&e, &q));
	assert_true(dane_next(&e, &q));
	dane_abort(&e, "deadline passed");
	assert_true(dane_done(&e));
	dane_result(&e, NOW, &r);
	assert_int_equal(r.state, DANE_ERROR);
	assert_true(r.mx_known);
	assert_non_null(strstr(r.why, "deadline passed"));
}

/* No evaluation is needed only for a bracketed host with the AD bit not trusted. */
static void
test_static(void **state)
{
	struct danerec r;

	(void)state;
	assert_int_equal(dane_static("mx.example.com", 0, 0, NOW, &r), 0);
	assert_int_equal(dane_static("mx.example.com", 1, 1, NOW, &r), 0);
	assert_int_equal(dane_static("mx.example.com", 1, 0, NOW, &r), 1);
	assert_int_equal(r.state, DANE_INSECURE);
	assert_int_equal(r.trust_ad, 0);
	assert_int_equal(r.n_hosts, 1);
	assert_string_equal(r.hosts[0], "mx.example.com");
	assert_true(danerec_valid(&r, NOW + DANE_TTL_MAX - 1, 0));
	assert_false(danerec_valid(&r, NOW, 1)); /* made without trust in AD */
}

/* A CNAME target reached without MX records becomes the mail host only when it is a valid
 * host name; otherwise it counts as a bad exchange, like a bad MX target, and the record the
 * evaluation produces always encodes and decodes. */
static void
test_cname_target_checked(void **state)
{
	(void)state;
	for (int trust = 0; trust < 2; trust++) {
		struct world *w = world();
		struct danerec r, back;
		uint8_t buf[DANEREC_MAX_BYTES];
		size_t len = 0;

		run(w, "cnbad.test", 0, 0, trust, 0, &r);
		assert_int_equal(r.n_hosts, 0);
		assert_true(r.mx_known);
		assert_int_equal(danerec_encode(&r, buf, sizeof(buf), &len), DANEREC_OK);
		assert_int_equal(danerec_decode(buf, len, &back), DANEREC_OK);
		assert_int_equal(back.n_hosts, 0);
	}
}

/* Whether the MX set is known travels with the record: a failed MX lookup leaves it unknown
 * (mx_check must not read "no hosts" as the answer) and is kept only DANE_TTL_ERROR seconds,
 * with or without trust in the AD bit. */
static void
test_mx_known(void **state)
{
	struct world *w;
	struct danerec r;

	(void)state;
	for (int trust = 0; trust < 2; trust++) {
		w = world();
		w->servfail[0] = "all.test";
		run(w, "all.test", 0, 0, trust, 0, &r);
		assert_false(r.mx_known);
		assert_int_equal(r.expires, NOW + DANE_TTL_ERROR);

		w = world();
		w->silent[0] = "all.test";
		run(w, "all.test", 0, 0, trust, 0, &r);
		assert_false(r.mx_known);
		assert_int_equal(r.expires, NOW + DANE_TTL_ERROR);

		w = world();
		w->garbage = "all.test";
		run(w, "all.test", 0, 0, trust, 0, &r);
		assert_false(r.mx_known);
		assert_int_equal(r.expires, NOW + DANE_TTL_ERROR);

		w = world();
		run(w, "all.test", 0, 0, trust, 0, &r);
		assert_true(r.mx_known);
		run(w, "null.test", 0, 0, trust, 0, &r);
		assert_true(r.mx_known);
		assert_int_equal(r.n_hosts, 0);
		run(w, "nosuch.test", 0, 0, trust, 0, &r);
		assert_true(r.mx_known);
		assert_int_equal(r.n_hosts, 0);
		run(w, "mx1.all.test", 0, 1, trust, 0, &r);
		assert_true(r.mx_known);
	}
	/* Host lookups failing after a known MX set keep it known (the state is ERROR). */
	w = world();
	w->servfail[0] = "mx.afail.test";
	run(w, "afail.test", 0, 0, 1, 0, &r);
	assert_int_equal(r.state, DANE_ERROR);
	assert_true(r.mx_known);
	assert_int_equal(r.n_hosts, 1);
}

/* ---- record ---- */

/* Two records say the same: every field, each host name, the why text; and the slots past
 * n_hosts of the decoded one b are empty (danerec_decode() leaves the bytes after a name's
 * NUL as they were, so the structures are not compared byte for byte). */
static void
assert_danerec_equal(const struct danerec *a, const struct danerec *b)
{
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->renew_after, b->renew_after);
	assert_int_equal(a->trust_ad, b->trust_ad);
	assert_int_equal(a->mx_known, b->mx_known);
	assert_int_equal(a->n_hosts, b->n_hosts);
	assert_int_equal(a->n_tlsa, b->n_tlsa);
	for (unsigned i = 0; i < DANE_HOSTS_MAX; i++)
		assert_string_equal(i < a->n_hosts ? a->hosts[i] : "", b->hosts[i]);
	assert_string_equal(a->why, b->why);
}

static void
sample(struct danerec *r)
{
	memset(r, 0, sizeof(*r));
	r->state = DANE_SOME;
	r->expires = NOW + 300;
	r->trust_ad = 1;
	r->mx_known = 1;
	r->n_hosts = 2;
	r->n_tlsa = 1;
	snprintf(r->hosts[0], sizeof(r->hosts[0]), "mx1.example.com");
	snprintf(r->hosts[1], sizeof(r->hosts[1]), "mx2.example.com");
	snprintf(r->why, sizeof(r->why), "1 of 2 MX hosts have usable TLSA records");
}

static void
test_record_roundtrip(void **state)
{
	struct danerec a, b;
	uint8_t buf[DANEREC_MAX_BYTES];
	size_t len = 0;

	(void)state;
	sample(&a);
	a.renew_after = NOW + 60;
	assert_int_equal(danerec_encode(&a, buf, sizeof(buf), &len), DANEREC_OK);
	assert_int_equal(danerec_decode(buf, len, &b), DANEREC_OK);
	assert_danerec_equal(&a, &b);
	assert_true(danerec_valid(&b, NOW + 299, 1));
	assert_false(danerec_valid(&b, NOW + 299, 0));
	assert_false(danerec_valid(&b, NOW + 300, 1));
	/* Every truncation is refused and leaves nothing behind. */
	for (size_t n = 0; n < len; n++) {
		assert_int_equal(danerec_decode(buf, n, &b), DANEREC_CORRUPT);
		assert_int_equal(b.n_hosts, 0);
	}
	/* Too small an output buffer. */
	assert_int_equal(danerec_encode(&a, buf, len - 1, &len), DANEREC_NO_SPACE);
	/* A full record fits the cap. */
	a.n_hosts = DANE_HOSTS_MAX;
	for (unsigned i = 0; i < DANE_HOSTS_MAX; i++) {
		memset(a.hosts[i], 'a', DNAME_MAX);
		for (int d = 63; d < DNAME_MAX; d += 64)
			a.hosts[i][d] = '.';
		a.hosts[i][DNAME_MAX] = '\0';
	}
	memset(a.why, 'w', DANE_WHY_MAX - 1);
	a.why[DANE_WHY_MAX - 1] = '\0';
	assert_int_equal(danerec_encode(&a, buf, sizeof(buf), &len), DANEREC_OK);
	assert_true(len <= DANEREC_MAX_BYTES);
	assert_int_equal(danerec_decode(buf, len, &b), DANEREC_OK);
	assert_danerec_equal(&a, &b);
}

/* The encoder never writes past a short buffer, whatever its size. */
static void
test_record_short_buffers(void **state)
{
	struct danerec a;
	uint8_t buf[DANEREC_MAX_BYTES + 64];
	size_t len = 0, got;

	(void)state;
	sample(&a);
	assert_int_equal(danerec_encode(&a, buf, sizeof(buf), &len), DANEREC_OK);
	for (size_t n = 0; n < len; n++) {
		memset(buf, 0xa5, sizeof(buf));
		got = 12345;
		assert_int_equal(danerec_encode(&a, buf, n, &got), DANEREC_NO_SPACE);
		assert_int_equal(got, 12345);
		for (size_t i = n; i < sizeof(buf); i++)
			if (buf[i] != 0xa5)
				fail_msg("outsz %zu: byte %zu written", n, i);
	}
	assert_int_equal(danerec_encode(&a, buf, len, &got), DANEREC_OK);
	assert_int_equal(got, len);
}

/* A version 2 record (written before renew_after existed) still reads, as never renewed. */
static void
test_record_v2(void **state)
{
	struct danerec a, b;
	uint8_t buf[DANEREC_MAX_BYTES], v2[DANEREC_MAX_BYTES];
	size_t len = 0;

	(void)state;
	sample(&a);
	a.renew_after = NOW + 60;
	assert_int_equal(danerec_encode(&a, buf, sizeof(buf), &len), DANEREC_OK);
	memcpy(v2, buf, 14); /* magic .. expires */
	memcpy(v2 + 14, buf + 22, len - 22);
	v2[1] = 2;
	assert_int_equal(danerec_decode(v2, len - 8, &b), DANEREC_OK);
	a.renew_after = 0;
	assert_danerec_equal(&a, &b);
	/* Nor is a version 3 record read with a version 2 header, or the reverse. */
	v2[1] = 3;
	assert_int_equal(danerec_decode(v2, len - 8, &b), DANEREC_CORRUPT);
	buf[1] = 2;
	assert_int_equal(danerec_decode(buf, len, &b), DANEREC_CORRUPT);
}

/* Serve-stale: fresh until expires, stale for dns_stale seconds after, never a failure record,
 * never one made with another trust in the AD bit; a failed renewal keeps the stale record
 * and waits DANE_TTL_ERROR before the next. */
static void
test_record_stale(void **state)
{
	struct danerec a, fail, out;
	const int64_t exp = NOW + 300;

	(void)state;
	sample(&a); /* expires NOW + 300, trust_ad */
	assert_int_equal(danerec_usable(&a, exp - 1, 1, 600), DANEREC_FRESH);
	assert_int_equal(danerec_usable(&a, exp, 1, 600), DANEREC_STALE);
	assert_int_equal(danerec_usable(&a, exp + 599, 1, 600), DANEREC_STALE);
	assert_int_equal(danerec_usable(&a, exp + 600, 1, 600), DANEREC_UNUSABLE);
	assert_int_equal(danerec_usable(&a, exp, 1, 0), DANEREC_UNUSABLE); /* off */
	assert_int_equal(danerec_usable(&a, exp, 0, 600), DANEREC_UNUSABLE);
	assert_int_equal(danerec_usable(&a, exp - 1, 0, 600), DANEREC_UNUSABLE);
	assert_int_equal(danerec_usable(&a, INT64_MAX, 1, DANE_STALE_MAX), DANEREC_UNUSABLE);

	fail = a;
	fail.state = DANE_ERROR;
	assert_int_equal(danerec_usable(&fail, exp, 1, 600), DANEREC_UNUSABLE);
	fail = a;
	fail.mx_known = 0;
	fail.n_hosts = fail.n_tlsa = 0;
	fail.state = DANE_INSECURE;
	assert_int_equal(danerec_usable(&fail, exp, 1, 600), DANEREC_UNUSABLE);

	/* A failed renewal keeps a servable record, marked so no renewal follows at once. */
	fail.expires = exp + 10 + DANE_TTL_ERROR;
	assert_int_equal(danerec_renewed(&a, &fail, exp + 10, 1, 600, &out), 1);
	assert_int_equal(out.state, DANE_SOME);
	assert_int_equal(out.expires, exp);
	assert_int_equal(out.renew_after, exp + 10 + DANE_TTL_ERROR);
	assert_int_equal(danerec_usable(&out, exp + 10, 1, 600), DANEREC_STALE_WAIT);
	assert_int_equal(danerec_usable(&out, exp + 10 + DANE_TTL_ERROR, 1, 600), DANEREC_STALE);
	/* ... but not one past its bound, nor with nothing cached: the failure stands. */
	assert_int_equal(danerec_renewed(&a, &fail, exp + 600, 1, 600, &out), 0);
	assert_int_equal(out.mx_known, 0);
	assert_int_equal(danerec_renewed(NULL, &fail, exp + 10, 1, 600, &out), 0);
	assert_int_equal(out.mx_known, 0);
	/* A successful renewal always replaces, whatever it says. */
	fail = a;
	fail.state = DANE_NONE;
	fail.expires = exp + 1000;
	assert_int_equal(danerec_renewed(&a, &fail, exp + 10, 1, 600, &out), 0);
	assert_int_equal(out.state, DANE_NONE);
	assert_int_equal(out.renew_after, 0);
}

static void
test_record_corrupt(void **state)
{
	struct danerec a, b;
	uint8_t buf[DANEREC_MAX_BYTES], bad[DANEREC_MAX_BYTES];
	size_t len = 0;

	(void)state;
	sample(&a);
	assert_int_equal(danerec_encode(&a, buf, sizeof(buf), &len), DANEREC_OK);
	struct {
		size_t off;
		uint8_t val;
	} flips[] = {
	    {0, 'X'},   /* magic */
	    {1, 1},     /* version 1: the record before the flags byte */
	    {2, 5},     /* state out of range */
	    {3, 4},     /* unknown flag */
	    {3, 1},     /* hosts although the MX set is unknown */
	    {4, 33},    /* too many hosts */
	    {5, 3},     /* more TLSA hosts than hosts */
	    {13, 0x80}, /* expires negative */
	    {21, 0x80}, /* renew_after negative */
	    {22, 200},  /* why longer than the record */
	    {23, 0x07}, /* control byte in why */
	    {1, 4},     /* a version from the future */
	};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(bad, buf, len);
		bad[flips[i].off] = flips[i].val;
		assert_int_equal(danerec_decode(bad, len, &b), DANEREC_CORRUPT);
	}
	/* A host name that is not normalised (upper case, ':') is refused. */
	memcpy(bad, buf, len);
	bad[len - 1] = 'M';
	assert_int_equal(danerec_decode(bad, len, &b), DANEREC_CORRUPT);
	bad[len - 1] = ':';
	assert_int_equal(danerec_decode(bad, len, &b), DANEREC_CORRUPT);
	/* Trailing bytes. */
	memcpy(bad, buf, len);
	bad[len] = 0;
	assert_int_equal(danerec_decode(bad, len + 1, &b), DANEREC_CORRUPT);
	/* An MTA-STS record (version byte 1) is never read as a DANE record. */
	bad[0] = 1;
	assert_int_equal(danerec_decode(bad, len, &b), DANEREC_CORRUPT);
}

static void
test_key(void **state)
{
	char k[DANE_QNAME_MAX + 8];

	(void)state;
	assert_int_equal(dane_key("example.com", 0, 0, k, sizeof(k)), 0);
	assert_string_equal(k, "example.com#dane");
	/* LMDB orders keys bytewise: right after the domain's MTA-STS record, before any longer
	 * domain ('-' and '.' are the smallest bytes a name continues with) */
	assert_true(strcmp("example.com", k) < 0);
	assert_true(strcmp(k, "example.com-mail.net") < 0);
	assert_true(strcmp(k, "example.com.au") < 0);
	assert_true(dane_key_is(k, strlen(k)));
	assert_false(dane_key_is("example.com", 11));
	assert_false(dane_key_is("due/x", 5));
	assert_true(dane_key_is("dane/example.com", 16)); /* written by earlier releases */
	assert_false(dane_key_is("dane/", 5));
	assert_int_equal(dane_key("example.com", 25, 0, k, sizeof(k)), 0);
	assert_string_equal(k, "example.com#dane");
	assert_int_equal(dane_key("example.com", 2525, 0, k, sizeof(k)), 0);
	assert_string_equal(k, "example.com#dane:2525");
	assert_int_equal(dane_key("mx.example.com", 0, 1, k, sizeof(k)), 0);
	assert_string_equal(k, "mx.example.com#dane[]:25");
	assert_int_equal(dane_key("mx.example.com", 587, 1, k, sizeof(k)), 0);
	assert_string_equal(k, "mx.example.com#dane[]:587");
	assert_true(dane_key_is(k, strlen(k)));
	assert_int_equal(dane_key("mx.example.com", 587, 1, k, 10), -1);
	assert_int_equal(dane_key("example.com", 65535, 0, k, sizeof(k)), 0);
	assert_string_equal(k, "example.com#dane:65535");
	assert_int_equal(dane_key("example.com", 1, 0, k, sizeof(k)), 0);
	assert_string_equal(k, "example.com#dane:1");
	assert_int_equal(dane_key("a.b", 4294967295u, 1, k, sizeof(k)), 0);
	assert_string_equal(k, "a.b#dane[]:4294967295");
	/* The exact size fits (NUL included); one byte less does not, nor does nothing. */
	assert_int_equal(dane_key("mx.example.com", 587, 1, k, 26), 0);
	assert_string_equal(k, "mx.example.com#dane[]:587");
	assert_int_equal(dane_key("mx.example.com", 587, 1, k, 25), -1);
	assert_int_equal(dane_key("example.com", 0, 0, k, 17), 0);
	assert_string_equal(k, "example.com#dane");
	assert_int_equal(dane_key("example.com", 0, 0, k, 16), -1);
	assert_int_equal(dane_key("example.com", 0, 0, k, 0), -1);
	assert_string_equal(dane_state_name(DANE_ALL), "all");
	assert_string_equal(dane_state_name(DANE_ERROR), "error");
	assert_string_equal(dane_state_name((enum dane_state)99), "unknown");
}

/* Found by fuzz_dane: an MX answer whose first exchange reads and whose second does not (a
 * NUL inside a label). The MX set is unknown, so the record must hold no hosts: danerec_encode()
 * refuses a record that says "unknown" and lists hosts (it aborted the daemon at the cache
 * write). */
static void
test_mx_bad_second_record(void **state)
{
	static const uint8_t msg[] = {
	    0x42, 0x42, 0x81, 0xa0, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65,
	    0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x0f, 0x00,
	    0x01, 0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x12, 0x00,
	    0x0a, 0x02, 0x6d, 0x78, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63,
	    0x6f, 0x6d, 0x00, 0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00,
	    0x08, 0x00, 0x14, 0x02, 0x00, 0x78, 0x32, 0xc0, 0x0c};
	static struct dane_eval e;
	static struct danerec r, back;
	static uint8_t enc[DANEREC_MAX_BYTES];
	struct dane_query q;
	size_t len;

	(void)state;
	dane_init(&e, "example.com", 0, 0, 1);
	assert_true(dane_next(&e, &q));
	assert_int_equal(q.type, DNSMSG_MX);
	dane_answer(&e, q.token, msg, sizeof(msg));
	assert_false(dane_next(&e, &q));
	assert_true(dane_done(&e));
	dane_result(&e, NOW, &r);
	assert_int_equal(r.state, DANE_ERROR);
	assert_int_equal(r.mx_known, 0);
	assert_int_equal(r.n_hosts, 0);
	assert_int_equal(danerec_encode(&r, enc, sizeof(enc), &len), DANEREC_OK);
	assert_int_equal(danerec_decode(enc, len, &back), DANEREC_OK);
}

int
main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 16];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tests[n++] =
		    (struct CMUnitTest){cases[i].name, test_case, NULL, NULL, (void *)&cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_queries_asked);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_errors);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ttl);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_many_hosts);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_stray_answers);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_abort);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_static);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mx_bad_second_record);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_cname_target_checked);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mx_known);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_record_roundtrip);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_record_short_buffers);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_record_corrupt);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_record_v2);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_record_stale);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_key);
	return _cmocka_run_group_tests("dane", tests, n, NULL, NULL);
}
