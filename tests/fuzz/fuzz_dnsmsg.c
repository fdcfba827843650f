/* SPDX-License-Identifier: MIT */
/*
 * DNS responses from the resolver: the header, every record through the iterator and the
 * reader of its type, and the answer classifier for the question the message itself carries
 * (and for MX, TXT and TLSA at it).
 */
#include <string.h>

#include "dnsmsg.h"
#include "fuzz.h"

static void
read_rr(const struct dnsmsg *m, const struct dnsmsg_rr *rr)
{
	char name[DNAME_MAX + 2];
	static char txt[70000];
	size_t txtlen;
	uint16_t pref;
	uint32_t min;
	struct dnsmsg_tlsa t;

	FUZZ_CHECK(rr->rdoff <= m->len && rr->rdlen <= m->len - rr->rdoff);
	FUZZ_CHECK(strlen(rr->owner) <= DNAME_MAX);
	switch (rr->type) {
	case DNSMSG_MX:
		if (dnsmsg_rr_mx(m, rr, &pref, name) == DNSMSG_OK)
			FUZZ_CHECK(strlen(name) <= DNAME_MAX);
		break;
	case DNSMSG_CNAME:
		if (dnsmsg_rr_cname(m, rr, name) == DNSMSG_OK)
			FUZZ_CHECK(strlen(name) <= DNAME_MAX);
		break;
	case DNSMSG_SOA:
		(void)dnsmsg_rr_soa_minimum(m, rr, &min);
		break;
	case DNSMSG_TXT:
		if (dnsmsg_rr_txt(m, rr, txt, sizeof(txt), &txtlen) == DNSMSG_OK)
			FUZZ_CHECK(txtlen < sizeof(txt) && txtlen <= rr->rdlen);
		/* A buffer too small is an error, never an overrun. */
		(void)dnsmsg_rr_txt(m, rr, txt, 8, &txtlen);
		break;
	case DNSMSG_TLSA:
		if (dnsmsg_rr_tlsa(m, rr, &t) == DNSMSG_OK) {
			FUZZ_CHECK(t.data >= m->p + rr->rdoff &&
			           t.data + t.len <= m->p + rr->rdoff + rr->rdlen);
			/* The reader hands out any length; consumers rely on "usable" bounding it
			 * (full data at most DNSMSG_TLSA_DATA_MAX, digests exactly their size). */
			if (dnsmsg_tlsa_usable(&t))
				FUZZ_CHECK(t.mtype == 0 ? t.len <= DNSMSG_TLSA_DATA_MAX
				                        : t.len == (t.mtype == 1 ? 32u : 64u));
		}
		break;
	default:
		break;
	}
}

static void
classify(const uint8_t *p, size_t size, const char *qname, uint16_t qtype)
{
	struct dnsmsg_answer a;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	unsigned n = 0;
	enum dnsmsg_err e;
	enum dnsmsg_ans k = dnsmsg_answer(p, size, qname, qtype, &a);

	/* An answer other than FAIL comes from a message whose every record reads. */
	if (k != DNSMSG_ANS_FAIL) {
		dnsmsg_iter_init(&a.m, &it);
		while ((e = dnsmsg_next(&a.m, &it, &rr)) == DNSMSG_OK)
			;
		FUZZ_CHECK(e == DNSMSG_END);
	}
	switch (k) {
	case DNSMSG_ANS_DATA:
		/* DATA counts the records of the type at the chain's end: each is readable. */
		FUZZ_CHECK(a.n > 0);
		dnsmsg_iter_init(&a.m, &it);
		while (dnsmsg_next(&a.m, &it, &rr) == DNSMSG_OK)
			if (dnsmsg_answer_has(&a, &rr, qtype)) {
				n++;
				read_rr(&a.m, &rr);
			}
		FUZZ_CHECK(n == a.n);
		break;
	case DNSMSG_ANS_NODATA:
	case DNSMSG_ANS_NXDOMAIN:
		break;
	case DNSMSG_ANS_FAIL:
		FUZZ_CHECK(a.why != NULL);
		break;
	default:
		FUZZ_CHECK(0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsmsg m;
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	char qname[DNAME_MAX + 2];
	size_t end;
	unsigned n = 0;
	enum dnsmsg_err e;

	if (size > DNSMSG_MAX || dnsmsg_parse(data, size, &m) != DNSMSG_OK)
		return 0;
	dnsmsg_iter_init(&m, &it);
	while ((e = dnsmsg_next(&m, &it, &rr)) == DNSMSG_OK) {
		FUZZ_CHECK(++n <= DNSMSG_RR_MAX);
		read_rr(&m, &rr);
	}
	FUZZ_CHECK(dnsmsg_strerror(e) != NULL);

	/* The question's name (after the 12-byte header), asked with the question's type. */
	if (m.counts[0] >= 1 && dnsmsg_name(&m, 12, qname, &end) == DNSMSG_OK && end + 2 <= size) {
		uint16_t qtype = (uint16_t)(data[end] << 8 | data[end + 1]);
		FUZZ_CHECK(end > 12 && end <= size);
		classify(data, size, qname, qtype);
		classify(data, size, qname, DNSMSG_MX);
		classify(data, size, qname, DNSMSG_TXT);
		classify(data, size, qname, DNSMSG_TLSA);
	}
	return 0;
}
