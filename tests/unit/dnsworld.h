/* SPDX-License-Identifier: MIT */
/*
 * Test helper shared by test_dane.c and test_sts.c: a tiny DNS "world" (a record table, names
 * answered SERVFAIL or never, owner suffixes whose answers carry no AD bit, one name answered
 * with a hostile message) that answers queries with real wire-format messages, as a
 * validating resolver would: CNAME chain, data, or a negative answer with an SOA (TTL 300,
 * MINIMUM 120). Include after <cmocka.h> and dnspkt.h.
 */
#ifndef MTASTSD_TEST_DNSWORLD_H
#define MTASTSD_TEST_DNSWORLD_H

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dname.h"
#include "dnsmsg.h"

struct zrr {
	const char *owner;
	uint16_t type;
	uint32_t ttl;
	const char *data; /* MX "10 host", A/AAAA address, CNAME target, TLSA "u s m hex",
	                     TXT character-strings separated by '|' */
};

struct world {
	const struct zrr *rrs;   /* ends with owner NULL */
	const char *servfail[4]; /* "name" or "name/type" answered SERVFAIL */
	const char *silent[4];   /* "name" or "name/type" never answered (timeout) */
	const char *insecure[4]; /* owner suffixes: answers touching them have no AD */
	const char *garbage;     /* query name answered with a hostile message */
	unsigned queries, max_inflight;
	char asked[128][320]; /* "name/type" of the first 128 queries */
};

static inline int
has_suffix(const char *name, const char *sfx)
{
	size_t n = strlen(name), s = strlen(sfx);

	return n >= s && strcmp(name + n - s, sfx) == 0 && (n == s || name[n - s - 1] == '.');
}

/* Is (name, type) in the list, given as "name" (every type) or "name/type"? */
static inline int
in_list(const char *const *list, const char *name, uint16_t type)
{
	char nt[320];

	if (snprintf(nt, sizeof(nt), "%s/%u", name, type) >= (int)sizeof(nt))
		return 0;
	for (int i = 0; i < 4 && list[i] != NULL; i++)
		if (strcmp(list[i], name) == 0 || strcmp(list[i], nt) == 0)
			return 1;
	return 0;
}

static inline int
insecure(const struct world *w, const char *owner)
{
	for (int i = 0; i < 4 && w->insecure[i] != NULL; i++)
		if (has_suffix(owner, w->insecure[i]))
			return 1;
	return 0;
}

static inline void
put_rdata(struct pkt *k, const struct zrr *r)
{
	size_t at = k->n;
	uint8_t a[16];

	put16(k, 0); /* rdlength, patched below */
	switch (r->type) {
	case DNSMSG_MX: {
		char host[300];
		unsigned pref;
		assert_int_equal(sscanf(r->data, "%u %299s", &pref, host), 2);
		put16(k, pref);
		put_name(k, strcmp(host, ".") == 0 ? "" : host);
		break;
	}
	case DNSMSG_A:
		assert_int_equal(inet_pton(AF_INET, r->data, a), 1);
		put(k, a, 4);
		break;
	case DNSMSG_AAAA:
		assert_int_equal(inet_pton(AF_INET6, r->data, a), 1);
		put(k, a, 16);
		break;
	case DNSMSG_CNAME:
		put_name(k, r->data);
		break;
	case DNSMSG_TXT:
		for (const char *p = r->data;;) {
			size_t n = strcspn(p, "|");
			uint8_t nb = (uint8_t)n;
			assert_true(n < 256);
			put(k, &nb, 1);
			put(k, p, n);
			if (p[n] == '\0')
				break;
			p += n + 1;
		}
		break;
	case DNSMSG_TLSA: {
		unsigned u, s, m;
		char hex[300];
		assert_int_equal(sscanf(r->data, "%u %u %u %299s", &u, &s, &m, hex), 4);
		uint8_t b[3] = {(uint8_t)u, (uint8_t)s, (uint8_t)m};
		put(k, b, 3);
		for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
			unsigned v;
			assert_int_equal(sscanf(hex + i, "%2x", &v), 1);
			uint8_t x = (uint8_t)v;
			put(k, &x, 1);
		}
		break;
	}
	default:
		fail_msg("type %u not supported by the test world", r->type);
	}
	k->b[at] = (uint8_t)((k->n - at - 2) >> 8);
	k->b[at + 1] = (uint8_t)(k->n - at - 2);
}

static inline void
put_rr(struct pkt *k, const struct zrr *r)
{
	put_name(k, r->owner);
	put16(k, r->type);
	put16(k, 1);
	put32(k, r->ttl);
	put_rdata(k, r);
}

/* Answer (qname, qtype) as a validating resolver would: CNAME chain, data, or a negative
 * answer with an SOA (TTL 300, minimum 120); AD unless some owner is insecure. */
static inline void
world_answer(const struct world *w, const char *qname, uint16_t qtype, struct pkt *k)
{
	const struct zrr *an[64];
	unsigned nan = 0, rcode = 0;
	int ad = 1, exists = 0;
	char cur[300];

	snprintf(cur, sizeof(cur), "%s", qname);
	for (int links = 0; links < 10; links++) {
		const struct zrr *cn = NULL;
		for (const struct zrr *r = w->rrs; r->owner; r++)
			if (strcmp(r->owner, cur) == 0 && r->type == DNSMSG_CNAME &&
			    qtype != DNSMSG_CNAME)
				cn = r;
		if (cn == NULL)
			break;
		an[nan++] = cn;
		ad &= !insecure(w, cur);
		snprintf(cur, sizeof(cur), "%s", cn->data);
	}
	for (const struct zrr *r = w->rrs; r->owner; r++) {
		if (strcmp(r->owner, cur) != 0)
			continue;
		exists = 1;
		if (r->type == qtype && nan < 64)
			an[nan++] = r;
	}
	ad &= !insecure(w, cur);
	if (!exists)
		rcode = 3;
	k->n = 0;
	put16(k, 0x4242);
	put16(k, 0x8180 | (ad ? 0x20 : 0) | rcode);
	put16(k, 1);
	put16(k, nan);
	put16(k, (nan == 0 || an[nan - 1]->type != qtype) ? 1 : 0);
	put16(k, 0);
	put_name(k, qname);
	put16(k, qtype);
	put16(k, 1);
	for (unsigned i = 0; i < nan; i++)
		put_rr(k, an[i]);
	if (nan == 0 || an[nan - 1]->type != qtype) {
		put_name(k, "test");
		put16(k, DNSMSG_SOA);
		put16(k, 1);
		put32(k, 300);
		put16(k, 1 + 1 + 20); /* root MNAME and RNAME, five 32-bit fields */
		put_name(k, "");
		put_name(k, "");
		put32(k, 1);
		put32(k, 3600);
		put32(k, 600);
		put32(k, 86400);
		put32(k, 120);
	}
}

/* What the world does with one query. */
enum world_reply {
	WORLD_ANSWER = 0, /* k holds the response */
	WORLD_SERVFAIL,   /* the resolver gave up: SERVFAIL after its retries */
	WORLD_SILENT,     /* no answer at all: the query times out */
};

/* Answer (qname, qtype): record the question, then SERVFAIL, silence, the hostile message
 * (a compression pointer to itself) or the world's answer. */
static inline enum world_reply
world_reply(struct world *w, const char *qname, uint16_t qtype, struct pkt *k)
{
	static const uint8_t junk[] = {0x42, 0x42, 0x81, 0xa0, 0,    1, 0,  1, 0,
	                               0,    0,    0,    0xc0, 0x0c, 0, 15, 0, 1};

	if (w->queries < 128)
		snprintf(w->asked[w->queries], sizeof(w->asked[0]), "%s/%u", qname, qtype);
	w->queries++;
	if (in_list(w->silent, qname, qtype))
		return WORLD_SILENT;
	if (in_list(w->servfail, qname, qtype))
		return WORLD_SERVFAIL;
	if (w->garbage != NULL && strcmp(w->garbage, qname) == 0) {
		k->n = 0;
		put(k, junk, sizeof(junk));
		return WORLD_ANSWER;
	}
	world_answer(w, qname, qtype, k);
	return WORLD_ANSWER;
}

/* Was "name/type" asked? */
static inline int
world_asked(const struct world *w, const char *q)
{
	for (unsigned i = 0; i < w->queries && i < 128; i++)
		if (strcmp(w->asked[i], q) == 0)
			return 1;
	return 0;
}

#endif
