/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dnsmsg.c with hand-built packets: header flags (AD on/off, TC, rcode),
 * compressed names, MX/CNAME/SOA/TLSA rdata, TLSA usability, the query builder, and hostile
 * input: every truncation of a valid message, compression loops and forward pointers, oversized
 * counts, labels and names over their caps, rdata that does not fit its type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dnsmsg.h"
#include "dnspkt.h"

static void
header(struct pkt *k, unsigned flags, unsigned rcode, int ad, unsigned qd, unsigned an, unsigned ns,
       unsigned ar)
{
	k->n = 0;
	put16(k, 0x1234);
	put16(k, flags | (ad ? 0x20 : 0) | rcode);
	put16(k, qd);
	put16(k, an);
	put16(k, ns);
	put16(k, ar);
}

static void
rr_head(struct pkt *k, const char *owner, unsigned type, uint32_t ttl, unsigned rdlen)
{
	put_name(k, owner);
	put16(k, type);
	put16(k, 1);
	put32(k, ttl);
	put16(k, rdlen);
}

/* example.com MX response: question, two MX answers (one compressed), AD set. */
static void
build_mx(struct pkt *k, int ad)
{
	header(k, 0x8180, 0, ad, 1, 2, 0, 0);
	put_name(k, "Example.COM"); /* offset 12 */
	put16(k, DNSMSG_MX);
	put16(k, 1);
	/* answer 1: owner pointer to 12, MX 10 mail.example.com (mail + pointer to 12) */
	put16(k, 0xc00c);
	put16(k, DNSMSG_MX);
	put16(k, 1);
	put32(k, 3600);
	put16(k, 2 + 1 + 4 + 2);
	put16(k, 10);
	put(k, "\x04mail", 5);
	put16(k, 0xc00c);
	/* answer 2: uncompressed */
	rr_head(k, "example.com", DNSMSG_MX, 0x80000001u, 2 + 17);
	put16(k, 20);
	put_name(k, "mx2.example.com");
}

static void
test_mx(void **state)
{
	struct pkt k;
	struct dnsmsg m;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	char host[DNAME_MAX + 2];
	uint16_t pref;

	(void)state;
	build_mx(&k, 1);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	assert_int_equal(m.ad, 1);
	assert_int_equal(m.rcode, 0);
	assert_int_equal(m.id, 0x1234);
	dnsmsg_iter_init(&m, &it);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_OK);
	assert_string_equal(rr.owner, "example.com");
	assert_int_equal(rr.section, DNSMSG_SEC_AN);
	assert_int_equal(rr.ttl, 3600);
	assert_int_equal(dnsmsg_rr_mx(&m, &rr, &pref, host), DNSMSG_OK);
	assert_int_equal(pref, 10);
	assert_string_equal(host, "mail.example.com");
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_OK);
	assert_int_equal(rr.ttl, 0); /* RFC 2181 s8: top bit set counts as 0 */
	assert_int_equal(dnsmsg_rr_mx(&m, &rr, &pref, host), DNSMSG_OK);
	assert_string_equal(host, "mx2.example.com");
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_END);
	/* wrong accessor for the type */
	assert_int_equal(dnsmsg_rr_cname(&m, &rr, host), DNSMSG_BAD_RDATA);

	build_mx(&k, 0);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	assert_int_equal(m.ad, 0);
}

/* Every proper prefix of a valid message fails cleanly somewhere, never reads past it. */
static void
test_truncations(void **state)
{
	struct pkt k;
	struct dnsmsg m;

	(void)state;
	build_mx(&k, 1);
	for (size_t n = 0; n < k.n; n++) {
		struct dnsmsg_iter it;
		struct dnsmsg_rr rr;
		enum dnsmsg_err e = dnsmsg_parse(k.b, n, &m);
		unsigned got = 0;
		if (e != DNSMSG_OK)
			continue;
		dnsmsg_iter_init(&m, &it);
		while ((e = dnsmsg_next(&m, &it, &rr)) == DNSMSG_OK)
			got++;
		assert_int_not_equal(e, DNSMSG_END); /* a cut message can't look complete */
		assert_true(got < 2);
	}
}

static void
test_header_flags(void **state)
{
	struct pkt k;
	struct dnsmsg m;

	(void)state;
	header(&k, 0x8180, 3, 0, 0, 0, 0, 0);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	assert_int_equal(m.rcode, 3);
	header(&k, 0x8182 & ~0x0f, 2, 0, 0, 0, 0, 0);
	k.b[2] |= 0x02; /* TC */
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	assert_int_equal(m.tc, 1);
	assert_int_equal(m.rcode, 2);
	header(&k, 0x0100, 0, 0, 0, 0, 0, 0); /* a query, not a response */
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_BAD_HEADER);
	header(&k, 0x8000 | (2 << 11), 0, 0, 0, 0, 0, 0); /* opcode STATUS */
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_BAD_HEADER);
	header(&k, 0x8180, 0, 0, 2, 0, 0, 0); /* two questions */
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_BAD_HEADER);
	assert_int_equal(dnsmsg_parse(k.b, 11, &m), DNSMSG_TRUNCATED);
	/* record counts: exactly the cap is accepted up front, one more is refused */
	header(&k, 0x8180, 0, 0, 0, DNSMSG_RR_MAX, 0, 0);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	header(&k, 0x8180, 0, 0, 0, DNSMSG_RR_MAX, 0, 1);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_TOO_MANY);
	header(&k, 0x8180, 0, 0, 0, 0xffff, 0xffff, 0xffff);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_TOO_MANY);
}

static void
test_hostile_names(void **state)
{
	struct pkt k;
	struct dnsmsg m;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;

	(void)state;
	/* pointer to itself */
	header(&k, 0x8180, 0, 0, 0, 1, 0, 0);
	put16(&k, 0xc00c);
	put16(&k, 1);
	put16(&k, 1);
	put32(&k, 1);
	put16(&k, 0);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	dnsmsg_iter_init(&m, &it);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_BAD_NAME);
	/* two-step loop: label then pointer back to itself */
	header(&k, 0x8180, 0, 0, 0, 1, 0, 0);
	put(&k,
	    "\x01"
	    "a",
	    2);
	put16(&k, 0xc00c);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	dnsmsg_iter_init(&m, &it);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_BAD_NAME);
	/* forward pointer */
	header(&k, 0x8180, 0, 0, 0, 1, 0, 0);
	put16(&k, 0xc020);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	dnsmsg_iter_init(&m, &it);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_BAD_NAME);
	/* extended label type 0x40 */
	header(&k, 0x8180, 0, 0, 0, 1, 0, 0);
	put(&k, "\x41x", 2);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	dnsmsg_iter_init(&m, &it);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_BAD_NAME);
	/* label with a dot or a control byte in it */
	header(&k, 0x8180, 0, 0, 0, 1, 0, 0);
	put(&k,
	    "\x03"
	    "a.b\x00",
	    5);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	dnsmsg_iter_init(&m, &it);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_BAD_NAME);
}

/* A name of 253 characters decodes; one of 254 does not. */
static void
test_name_length(void **state)
{
	struct pkt k;
	struct dnsmsg m;
	char name[DNAME_MAX + 2], got[DNAME_MAX + 2];
	size_t end;

	(void)state;
	memset(name, 'a', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0'; /* 63.63.63.61 = 253 */
	header(&k, 0x8180, 0, 0, 0, 0, 0, 0);
	put_name(&k, name);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	assert_int_equal(dnsmsg_name(&m, 12, got, &end), DNSMSG_OK);
	assert_string_equal(got, name);
	assert_int_equal(end, k.n);
	name[253] = 'a';
	name[254] = '\0'; /* 254 */
	header(&k, 0x8180, 0, 0, 0, 0, 0, 0);
	put_name(&k, name);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	assert_int_equal(dnsmsg_name(&m, 12, got, &end), DNSMSG_BAD_NAME);
}

static void
test_cname_soa(void **state)
{
	struct pkt k;
	struct dnsmsg m;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	char target[DNAME_MAX + 2];
	uint32_t min;

	(void)state;
	header(&k, 0x8180, 3, 1, 0, 1, 1, 0);
	rr_head(&k, "alias.example", DNSMSG_CNAME, 300, 16);
	put_name(&k, "target.example");
	rr_head(&k, "example", DNSMSG_SOA, 3600, 13 + 20);
	put_name(&k, "ns.example");
	put(&k, "\x00", 1); /* RNAME: root (odd but legal) */
	put32(&k, 1);
	put32(&k, 2);
	put32(&k, 3);
	put32(&k, 4);
	put32(&k, 900);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	dnsmsg_iter_init(&m, &it);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_OK);
	assert_int_equal(dnsmsg_rr_cname(&m, &rr, target), DNSMSG_OK);
	assert_string_equal(target, "target.example");
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_OK);
	assert_int_equal(rr.section, DNSMSG_SEC_NS);
	assert_int_equal(dnsmsg_rr_soa_minimum(&m, &rr, &min), DNSMSG_OK);
	assert_int_equal(min, 900);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_END);

	/* CNAME whose name ends before its rdata does: refused */
	header(&k, 0x8180, 0, 0, 0, 1, 0, 0);
	rr_head(&k, "a.example", DNSMSG_CNAME, 1, 12);
	put_name(&k, "b.example");
	put(&k, "\x00", 1);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	dnsmsg_iter_init(&m, &it);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_OK);
	assert_int_equal(dnsmsg_rr_cname(&m, &rr, target), DNSMSG_BAD_RDATA);
	/* rdlength past the end of the message */
	header(&k, 0x8180, 0, 0, 0, 1, 0, 0);
	rr_head(&k, "a.example", DNSMSG_A, 1, 4);
	put(&k, "\x7f\x00", 2);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	dnsmsg_iter_init(&m, &it);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_TRUNCATED);
}

static void
test_tlsa(void **state)
{
	static const struct {
		uint8_t u, s, t;
		size_t len;
		int usable;
	} c[] = {
	    {3, 1, 1, 32, 1},  {2, 0, 1, 32, 1},  {3, 0, 2, 64, 1}, {3, 1, 0, 300, 1},
	    {3, 1, 0, 512, 1}, {3, 1, 0, 513, 0}, {3, 1, 0, 0, 0},  {3, 1, 1, 31, 0},
	    {3, 1, 1, 33, 0},  {3, 1, 2, 32, 0},  {0, 1, 1, 32, 0}, {1, 1, 1, 32, 0},
	    {4, 1, 1, 32, 0},  {3, 2, 1, 32, 0},  {3, 1, 3, 32, 0},
	};
	static uint8_t data[600];
	struct pkt k;
	struct dnsmsg m;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	struct dnsmsg_tlsa t;

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		header(&k, 0x8180, 0, 1, 0, 1, 0, 0);
		rr_head(&k, "_25._tcp.mx.example", DNSMSG_TLSA, 60, (unsigned)(3 + c[i].len));
		put(&k, &c[i].u, 1);
		put(&k, &c[i].s, 1);
		put(&k, &c[i].t, 1);
		put(&k, data, c[i].len);
		assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
		dnsmsg_iter_init(&m, &it);
		assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_OK);
		assert_string_equal(rr.owner, "_25._tcp.mx.example");
		if (c[i].len == 0) {
			/* 3 bytes of rdata: too short to hold any association data */
			assert_int_equal(dnsmsg_rr_tlsa(&m, &rr, &t), DNSMSG_BAD_RDATA);
			continue;
		}
		assert_int_equal(dnsmsg_rr_tlsa(&m, &rr, &t), DNSMSG_OK);
		assert_int_equal(t.len, c[i].len);
		if (dnsmsg_tlsa_usable(&t) != c[i].usable)
			fail_msg("case %zu: usage %u selector %u type %u len %zu", i, c[i].u,
			         c[i].s, c[i].t, c[i].len);
	}
}

static void
test_query(void **state)
{
	static const uint8_t want[] = {
	    0xab, 0xcd, 0x01, 0x20, 0,   1, 0,   0,   0,    0,    0,   1,   3,   '_', '2', '5',
	    4,    '_',  't',  'c',  'p', 2, 'm', 'x', 7,    'e',  'x', 'a', 'm', 'p', 'l', 'e',
	    0,    0,    52,   0,    1,   0, 0,   41,  0x04, 0xd0, 0,   0,   0,   0,   0,   0};
	uint8_t out[600];
	size_t len;
	char name[DNAME_MAX + 2];

	(void)state;
	assert_int_equal(
	    dnsmsg_query("_25._tcp.mx.example", DNSMSG_TLSA, 0xabcd, 1232, out, sizeof(out), &len),
	    DNSMSG_OK);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(dnsmsg_query("a..b", 1, 1, 1232, out, sizeof(out), &len), DNSMSG_BAD_NAME);
	assert_int_equal(dnsmsg_query("a.b.", 1, 1, 1232, out, sizeof(out), &len), DNSMSG_BAD_NAME);
	memset(name, 'a', sizeof(name));
	name[64] = '\0'; /* one 64-byte label */
	assert_int_equal(dnsmsg_query(name, 1, 1, 1232, out, sizeof(out), &len), DNSMSG_BAD_NAME);
	name[63] = '\0';
	assert_int_equal(dnsmsg_query(name, 1, 1, 1232, out, sizeof(out), &len), DNSMSG_OK);
	assert_int_equal(dnsmsg_query(name, 1, 1, 1232, out, 12 + 63 + 2 + 4 + 11 - 1, &len),
	                 DNSMSG_NO_SPACE);
	assert_int_equal(dnsmsg_query(name, 1, 1, 1232, out, 12 + 63 + 2 + 4 + 11, &len),
	                 DNSMSG_OK);
}

/* TXT rdata: strings joined; must fill the rdata; a record longer than the buffer is cut at
 * the buffer's size (callers give one byte over their cap). */
static void
test_txt(void **state)
{
	struct pkt k;
	struct dnsmsg m;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	char out[16];
	size_t n = 99;

	(void)state;
	header(&k, 0x8180, 0, 0, 0, 4, 0, 0);
	rr_head(&k, "_mta-sts.x.test", DNSMSG_TXT, 300, 1 + 8 + 1 + 6);
	put(&k, "\x08v=STSv1;\x06 id=1;", 16);
	rr_head(&k, "_mta-sts.x.test", DNSMSG_TXT, 300, 1 + 20);
	put(&k,
	    "\x14"
	    "0123456789abcdefghij",
	    21);
	rr_head(&k, "_mta-sts.x.test", DNSMSG_TXT, 300, 3); /* string runs past the rdata */
	put(&k,
	    "\x05"
	    "ab",
	    3);
	rr_head(&k, "_mta-sts.x.test", DNSMSG_TXT, 300, 2); /* empty strings are fine */
	put(&k, "\x00\x00", 2);
	assert_int_equal(dnsmsg_parse(k.b, k.n, &m), DNSMSG_OK);
	dnsmsg_iter_init(&m, &it);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_OK);
	assert_int_equal(dnsmsg_rr_txt(&m, &rr, out, sizeof(out), &n), DNSMSG_OK);
	assert_int_equal(n, 14);
	assert_memory_equal(out, "v=STSv1; id=1;", 14);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_OK);
	assert_int_equal(dnsmsg_rr_txt(&m, &rr, out, sizeof(out), &n), DNSMSG_OK);
	assert_int_equal(n, sizeof(out));
	assert_memory_equal(out, "0123456789abcdef", 16);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_OK);
	assert_int_equal(dnsmsg_rr_txt(&m, &rr, out, sizeof(out), &n), DNSMSG_BAD_RDATA);
	assert_int_equal(dnsmsg_next(&m, &it, &rr), DNSMSG_OK);
	assert_int_equal(dnsmsg_rr_txt(&m, &rr, out, sizeof(out), &n), DNSMSG_OK);
	assert_int_equal(n, 0);
	/* Not a TXT record. */
	rr.type = DNSMSG_MX;
	assert_int_equal(dnsmsg_rr_txt(&m, &rr, out, sizeof(out), &n), DNSMSG_BAD_RDATA);
}

/* An answer for (qname, A): CNAME chain of links links (ttl 50 each) from qname, then either
 * an A record (ttl 200) at its end, or an SOA (TTL soa_ttl, MINIMUM 120) in authority. */
static void
build_chain(struct pkt *k, const char *qname, unsigned links, int data, unsigned rcode,
            uint32_t soa_ttl)
{
	char cur[64], next[64];

	header(k, 0x8180, rcode, 1, 1, links + (data ? 1 : 0), data ? 0 : 1, 0);
	put_name(k, qname);
	put16(k, DNSMSG_A);
	put16(k, 1);
	snprintf(cur, sizeof(cur), "%s", qname);
	for (unsigned i = 0; i < links; i++) {
		snprintf(next, sizeof(next), "c%u.chain.test", i);
		rr_head(k, cur, DNSMSG_CNAME, 50, (unsigned)strlen(next) + 2);
		put_name(k, next);
		snprintf(cur, sizeof(cur), "%s", next);
	}
	if (data) {
		rr_head(k, cur, DNSMSG_A, 200, 4);
		put(k, "\xc0\x00\x02\x01", 4);
	} else {
		rr_head(k, "chain.test", DNSMSG_SOA, soa_ttl, 22);
		put_name(k, "");
		put_name(k, "");
		put32(k, 1);
		put32(k, 2);
		put32(k, 3);
		put32(k, 4);
		put32(k, 120);
	}
}

static void
test_answer(void **state)
{
	struct pkt k;
	struct dnsmsg_answer a;

	(void)state;
	/* data without and with a chain; TTL is the least along the way */
	build_chain(&k, "q.chain.test", 0, 1, 0, 0);
	assert_int_equal(dnsmsg_answer(k.b, k.n, "q.chain.test", DNSMSG_A, &a), DNSMSG_ANS_DATA);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.ttl, 200);
	assert_string_equal(a.final, "q.chain.test");
	assert_true(a.m.ad);
	build_chain(&k, "q.chain.test", 3, 1, 0, 0);
	assert_int_equal(dnsmsg_answer(k.b, k.n, "q.chain.test", DNSMSG_A, &a), DNSMSG_ANS_DATA);
	assert_string_equal(a.final, "c2.chain.test");
	assert_int_equal(a.ttl, 50);
	/* asked for CNAME itself: the chain is not followed */
	assert_int_equal(dnsmsg_answer(k.b, k.n, "q.chain.test", DNSMSG_CNAME, &a),
	                 DNSMSG_ANS_DATA);
	assert_string_equal(a.final, "q.chain.test");
	/* DNSMSG_CNAME_MAX links are followed, one more is a failure */
	build_chain(&k, "q.chain.test", DNSMSG_CNAME_MAX, 1, 0, 0);
	assert_int_equal(dnsmsg_answer(k.b, k.n, "q.chain.test", DNSMSG_A, &a), DNSMSG_ANS_DATA);
	build_chain(&k, "q.chain.test", DNSMSG_CNAME_MAX + 1, 1, 0, 0);
	assert_int_equal(dnsmsg_answer(k.b, k.n, "q.chain.test", DNSMSG_A, &a), DNSMSG_ANS_FAIL);
	assert_string_equal(a.why, "CNAME chain too long");
	/* negative answers: min(SOA TTL, MINIMUM), and the chain's TTL */
	build_chain(&k, "q.chain.test", 0, 0, 0, 300);
	assert_int_equal(dnsmsg_answer(k.b, k.n, "q.chain.test", DNSMSG_A, &a), DNSMSG_ANS_NODATA);
	assert_int_equal(a.ttl, 120);
	build_chain(&k, "q.chain.test", 0, 0, 3, 30);
	assert_int_equal(dnsmsg_answer(k.b, k.n, "q.chain.test", DNSMSG_A, &a),
	                 DNSMSG_ANS_NXDOMAIN);
	assert_int_equal(a.ttl, 30);
	build_chain(&k, "q.chain.test", 1, 0, 3, 300);
	assert_int_equal(dnsmsg_answer(k.b, k.n, "q.chain.test", DNSMSG_A, &a),
	                 DNSMSG_ANS_NXDOMAIN);
	assert_int_equal(a.ttl, 50);
	/* without an SOA: DNSMSG_NEG_TTL */
	header(&k, 0x8180, 3, 0, 1, 0, 0, 0);
	put_name(&k, "q.chain.test");
	put16(&k, DNSMSG_A);
	put16(&k, 1);
	assert_int_equal(dnsmsg_answer(k.b, k.n, "q.chain.test", DNSMSG_A, &a),
	                 DNSMSG_ANS_NXDOMAIN);
	assert_int_equal(a.ttl, DNSMSG_NEG_TTL);
	/* SERVFAIL, REFUSED, TC, garbage */
	build_chain(&k, "q.chain.test", 0, 1, 2, 0);
	assert_int_equal(dnsmsg_answer(k.b, k.n, "q.chain.test", DNSMSG_A, &a), DNSMSG_ANS_FAIL);
	assert_string_equal(a.why, "SERVFAIL");
	build_chain(&k, "q.chain.test", 0, 1, 5, 0);
	assert_int_equal(dnsmsg_answer(k.b, k.n, "q.chain.test", DNSMSG_A, &a), DNSMSG_ANS_FAIL);
	assert_string_equal(a.why, "REFUSED");
	build_chain(&k, "q.chain.test", 0, 1, 0, 0);
	k.b[2] |= 0x02;
	assert_int_equal(dnsmsg_answer(k.b, k.n, "q.chain.test", DNSMSG_A, &a), DNSMSG_ANS_FAIL);
	assert_string_equal(a.why, "truncated answer");
	/* every truncation of a chained answer is a failure, never data of the wrong name */
	build_chain(&k, "q.chain.test", 2, 1, 0, 0);
	for (size_t n = 0; n < k.n; n++)
		assert_int_equal(dnsmsg_answer(k.b, n, "q.chain.test", DNSMSG_A, &a),
		                 DNSMSG_ANS_FAIL);
	/* asked for CNAME itself (no chain walk), a record that does not read is a failure too,
	 * never NODATA (found by tests/fuzz/fuzz_dnsmsg) */
	for (size_t n = 0; n < k.n; n++)
		assert_int_equal(dnsmsg_answer(k.b, n, "q.chain.test", DNSMSG_CNAME, &a),
		                 DNSMSG_ANS_FAIL);
	header(&k, 0x8180, 0, 0, 1, 0, 1, 0);
	put_name(&k, "q.chain.test");
	put16(&k, DNSMSG_CNAME);
	put16(&k, 1);
	put16(&k, 0xc0ff); /* an authority record whose owner points past the end */
	assert_int_equal(dnsmsg_answer(k.b, k.n, "q.chain.test", DNSMSG_CNAME, &a),
	                 DNSMSG_ANS_FAIL);
	assert_non_null(a.why);
	/* a CNAME pointing back to itself ends within the cap */
	header(&k, 0x8180, 0, 0, 1, 1, 0, 0);
	put_name(&k, "loop.test");
	put16(&k, DNSMSG_A);
	put16(&k, 1);
	rr_head(&k, "loop.test", DNSMSG_CNAME, 5, 11);
	put_name(&k, "loop.test");
	assert_int_equal(dnsmsg_answer(k.b, k.n, "loop.test", DNSMSG_A, &a), DNSMSG_ANS_FAIL);
}

static void
test_strerror(void **state)
{
	(void)state;
	for (int e = DNSMSG_OK; e <= DNSMSG_NO_SPACE; e++)
		assert_string_not_equal(dnsmsg_strerror((enum dnsmsg_err)e), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mx),           cmocka_unit_test(test_truncations),
	    cmocka_unit_test(test_header_flags), cmocka_unit_test(test_hostile_names),
	    cmocka_unit_test(test_name_length),  cmocka_unit_test(test_cname_soa),
	    cmocka_unit_test(test_tlsa),         cmocka_unit_test(test_query),
	    cmocka_unit_test(test_txt),          cmocka_unit_test(test_answer),
	    cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
