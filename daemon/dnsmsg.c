/* SPDX-License-Identifier: MIT */
/*
 * dnsmsg: a bounded reader of DNS responses and a builder of queries (RFC 1035 s4, RFC 6891
 * OPT, RFC 6840 s5.7 AD bit, RFC 6698 TLSA, RFC 7672 s3.1 usable TLSA, RFC 2308 negative TTL,
 * TXT strings), and the classification of a response to its question (CNAME chain in the
 * answer, DATA / NODATA / NXDOMAIN / FAIL, TTLs), shared by the DANE and MTA-STS machines.
 * Pure (P). c-ares 1.18 in Debian 12 has no generic record parser, so DANE needs its own.
 * Every read is bounds-checked against the message; names follow at most DNSMSG_JUMPS_MAX
 * compression pointers, each pointing strictly backwards, so loops are impossible; at most
 * DNSMSG_RR_MAX records are read. Label bytes outside 0x21-0x7e (and '.' or '\\') are refused
 * rather than escaped: no name we act on needs them. Whether to trust the AD bit is the
 * caller's decision (only from a configured validating resolver on loopback).
 */
#include "dnsmsg.h"

#include <string.h>

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

enum dnsmsg_err
dnsmsg_name(const struct dnsmsg *m, size_t off, char out[DNAME_MAX + 2], size_t *end)
{
	size_t o = 0, pos = off, limit = off; /* a pointer must point before the current label */
	unsigned jumps = 0;
	int jumped = 0;

	for (;;) {
		uint8_t c;
		if (pos >= m->len)
			return DNSMSG_TRUNCATED;
		c = m->p[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t target;
			if (pos + 1 >= m->len)
				return DNSMSG_TRUNCATED;
			target = ((size_t)(c & 0x3f) << 8) | m->p[pos + 1];
			if (++jumps > DNSMSG_JUMPS_MAX || target >= limit)
				return DNSMSG_BAD_NAME;
			if (!jumped && end != NULL)
				*end = pos + 2;
			jumped = 1;
			limit = target;
			pos = target;
			continue;
		}
		if (c & 0xc0)
			return DNSMSG_BAD_NAME; /* 0x40/0x80: extended label types, obsolete */
		if (c == 0) {
			if (!jumped && end != NULL)
				*end = pos + 1;
			out[o] = '\0';
			return DNSMSG_OK;
		}
		if (pos + 1 + c > m->len)
			return DNSMSG_TRUNCATED;
		if (o + (o ? 1 : 0) + c > DNAME_MAX)
			return DNSMSG_BAD_NAME;
		if (o)
			out[o++] = '.';
		for (unsigned i = 0; i < c; i++) {
			uint8_t b = m->p[pos + 1 + i];
			if (b < 0x21 || b > 0x7e || b == '.' || b == '\\')
				return DNSMSG_BAD_NAME;
			out[o++] = (char)(b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b);
		}
		pos += 1 + (size_t)c;
	}
}

/* Skip a name without decoding it (question section). */
static enum dnsmsg_err
dnsmsg_skip_name(const struct dnsmsg *m, size_t off, size_t *end)
{
	char tmp[DNAME_MAX + 2];
	return dnsmsg_name(m, off, tmp, end);
}

enum dnsmsg_err
dnsmsg_parse(const uint8_t *p, size_t len, struct dnsmsg *m)
{
	size_t off = 12;
	enum dnsmsg_err e;

	memset(m, 0, sizeof(*m));
	m->p = p;
	m->len = len;
	if (len < 12)
		return DNSMSG_TRUNCATED;
	if (len > DNSMSG_MAX)
		return DNSMSG_BAD_HEADER;
	if (!(p[2] & 0x80) || ((p[2] >> 3) & 0x0f) != 0)
		return DNSMSG_BAD_HEADER; /* not a response, or not a standard query */
	m->id = rd16(p);
	m->tc = (p[2] & 0x02) != 0;
	m->ad = (p[3] & 0x20) != 0;
	m->rcode = p[3] & 0x0f;
	for (int i = 0; i < 4; i++)
		m->counts[i] = rd16(p + 4 + 2 * i);
	if (m->counts[0] > 1)
		return DNSMSG_BAD_HEADER;
	if ((size_t)m->counts[1] + m->counts[2] + m->counts[3] > DNSMSG_RR_MAX)
		return DNSMSG_TOO_MANY;
	for (unsigned q = 0; q < m->counts[0]; q++) {
		if ((e = dnsmsg_skip_name(m, off, &off)) != DNSMSG_OK)
			return e;
		if (off + 4 > len)
			return DNSMSG_TRUNCATED;
		off += 4;
	}
	m->rr_start = off;
	return DNSMSG_OK;
}

void
dnsmsg_iter_init(const struct dnsmsg *m, struct dnsmsg_iter *it)
{
	it->off = m->rr_start;
	it->index = 0;
}

enum dnsmsg_err
dnsmsg_next(const struct dnsmsg *m, struct dnsmsg_iter *it, struct dnsmsg_rr *rr)
{
	unsigned an = m->counts[1], ns = m->counts[2], ar = m->counts[3];
	size_t off;
	enum dnsmsg_err e;

	if (it->index >= an + ns + ar)
		return DNSMSG_END;
	rr->section = it->index < an        ? DNSMSG_SEC_AN
	              : it->index < an + ns ? DNSMSG_SEC_NS
	                                    : DNSMSG_SEC_AR;
	if ((e = dnsmsg_name(m, it->off, rr->owner, &off)) != DNSMSG_OK)
		return e;
	if (off + 10 > m->len)
		return DNSMSG_TRUNCATED;
	rr->type = rd16(m->p + off);
	rr->rclass = rd16(m->p + off + 2);
	rr->ttl = rd32(m->p + off + 4);
	rr->rdlen = rd16(m->p + off + 8);
	rr->rdoff = off + 10;
	if (rr->rdoff + rr->rdlen > m->len)
		return DNSMSG_TRUNCATED;
	/* RFC 2181 s8: a TTL with the top bit set counts as zero. */
	if (rr->ttl & 0x80000000u)
		rr->ttl = 0;
	it->off = rr->rdoff + rr->rdlen;
	it->index++;
	return DNSMSG_OK;
}

/* A name that must fill the rdata exactly (CNAME, MX exchange). */
static enum dnsmsg_err
dnsmsg_rdata_name(const struct dnsmsg *m, size_t off, size_t rdend, char out[DNAME_MAX + 2])
{
	size_t end;
	enum dnsmsg_err e;

	if (off >= rdend)
		return DNSMSG_BAD_RDATA;
	if ((e = dnsmsg_name(m, off, out, &end)) != DNSMSG_OK)
		return e;
	return end == rdend ? DNSMSG_OK : DNSMSG_BAD_RDATA;
}

enum dnsmsg_err
dnsmsg_rr_mx(const struct dnsmsg *m, const struct dnsmsg_rr *rr, uint16_t *pref,
             char host[DNAME_MAX + 2])
{
	if (rr->type != DNSMSG_MX || rr->rdlen < 3)
		return DNSMSG_BAD_RDATA;
	*pref = rd16(m->p + rr->rdoff);
	return dnsmsg_rdata_name(m, rr->rdoff + 2, rr->rdoff + rr->rdlen, host);
}

enum dnsmsg_err
dnsmsg_rr_cname(const struct dnsmsg *m, const struct dnsmsg_rr *rr, char target[DNAME_MAX + 2])
{
	if (rr->type != DNSMSG_CNAME)
		return DNSMSG_BAD_RDATA;
	return dnsmsg_rdata_name(m, rr->rdoff, rr->rdoff + rr->rdlen, target);
}

enum dnsmsg_err
dnsmsg_rr_soa_minimum(const struct dnsmsg *m, const struct dnsmsg_rr *rr, uint32_t *minimum)
{
	size_t off = rr->rdoff, end = rr->rdoff + rr->rdlen;
	enum dnsmsg_err e;

	if (rr->type != DNSMSG_SOA)
		return DNSMSG_BAD_RDATA;
	/* MNAME and RNAME, then five 32-bit fields; MINIMUM is the last. */
	for (int i = 0; i < 2; i++)
		if ((e = dnsmsg_skip_name(m, off, &off)) != DNSMSG_OK)
			return e;
	if (off + 20 != end)
		return DNSMSG_BAD_RDATA;
	*minimum = rd32(m->p + off + 16);
	return DNSMSG_OK;
}

enum dnsmsg_err
dnsmsg_rr_txt(const struct dnsmsg *m, const struct dnsmsg_rr *rr, char *out, size_t outsz,
              size_t *outlen)
{
	size_t off = rr->rdoff, end = rr->rdoff + rr->rdlen, o = 0;

	if (rr->type != DNSMSG_TXT || rr->rdlen == 0)
		return DNSMSG_BAD_RDATA;
	while (off < end) {
		size_t n = m->p[off++], take;

		if (n > end - off)
			return DNSMSG_BAD_RDATA;
		take = n < outsz - o ? n : outsz - o;
		memcpy(out + o, m->p + off, take);
		o += take;
		off += n;
	}
	*outlen = o;
	return DNSMSG_OK;
}

int
dnsmsg_answer_has(const struct dnsmsg_answer *a, const struct dnsmsg_rr *rr, uint16_t type)
{
	return rr->section == DNSMSG_SEC_AN && rr->type == type && rr->rclass == 1 &&
	       strcmp(rr->owner, a->final) == 0;
}

/* Move a->final one CNAME link along, if the answer has one for it. Returns 1 when moved, 0
 * at the end of the chain, -1 (a->why set) on a bad record. */
static int
dnsmsg_answer_step(struct dnsmsg_answer *a, uint32_t *ttl)
{
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	enum dnsmsg_err err;

	dnsmsg_iter_init(&a->m, &it);
	while ((err = dnsmsg_next(&a->m, &it, &rr)) == DNSMSG_OK) {
		char target[DNAME_MAX + 2];

		if (!dnsmsg_answer_has(a, &rr, DNSMSG_CNAME))
			continue;
		if (dnsmsg_rr_cname(&a->m, &rr, target) != DNSMSG_OK) {
			a->why = "bad CNAME record";
			return -1;
		}
		memcpy(a->final, target, sizeof(target));
		if (rr.ttl < *ttl)
			*ttl = rr.ttl;
		return 1;
	}
	if (err != DNSMSG_END) {
		a->why = dnsmsg_strerror(err);
		return -1;
	}
	return 0;
}

enum dnsmsg_ans
dnsmsg_answer(const uint8_t *msg, size_t len, const char *qname, uint16_t qtype,
              struct dnsmsg_answer *out)
{
	struct dnsmsg_iter it;
	struct dnsmsg_rr rr;
	enum dnsmsg_err err;
	uint32_t ttl = UINT32_MAX, neg = DNSMSG_NEG_TTL;
	unsigned links = 0;
	int moved;

	out->ttl = 0;
	out->n = 0;
	out->why = NULL;
	if ((err = dnsmsg_parse(msg, len, &out->m)) != DNSMSG_OK) {
		out->why = dnsmsg_strerror(err);
		return DNSMSG_ANS_FAIL;
	}
	if (out->m.tc) {
		out->why = "truncated answer";
		return DNSMSG_ANS_FAIL;
	}
	if (out->m.rcode != 0 && out->m.rcode != 3) {
		out->why = out->m.rcode == 2   ? "SERVFAIL"
		           : out->m.rcode == 5 ? "REFUSED"
		                               : "DNS error";
		return DNSMSG_ANS_FAIL;
	}
	if (strlen(qname) > DNAME_MAX) {
		out->why = "query name too long";
		return DNSMSG_ANS_FAIL;
	}
	memcpy(out->final, qname, strlen(qname) + 1);
	while (qtype != DNSMSG_CNAME && (moved = dnsmsg_answer_step(out, &ttl)) != 0) {
		if (moved < 0)
			return DNSMSG_ANS_FAIL;
		if (++links > DNSMSG_CNAME_MAX) {
			out->why = "CNAME chain too long";
			return DNSMSG_ANS_FAIL;
		}
	}
	/* The chain walk read every record, but a question for CNAME itself walks no chain: a
	 * record that does not read fails the answer here (never NODATA from a broken message). */
	dnsmsg_iter_init(&out->m, &it);
	while ((err = dnsmsg_next(&out->m, &it, &rr)) == DNSMSG_OK) {
		uint32_t minimum;

		if (dnsmsg_answer_has(out, &rr, qtype)) {
			out->n++;
			if (rr.ttl < ttl)
				ttl = rr.ttl;
		} else if (rr.section == DNSMSG_SEC_NS && rr.type == DNSMSG_SOA &&
		           dnsmsg_rr_soa_minimum(&out->m, &rr, &minimum) == DNSMSG_OK) {
			/* RFC 2308 s5: a negative answer lives min(SOA TTL, SOA MINIMUM). */
			neg = minimum < rr.ttl ? minimum : rr.ttl;
		}
	}
	if (err != DNSMSG_END) {
		out->n = 0;
		out->why = dnsmsg_strerror(err);
		return DNSMSG_ANS_FAIL;
	}
	if (out->n > 0) {
		out->ttl = ttl;
		return DNSMSG_ANS_DATA;
	}
	out->ttl = neg < ttl ? neg : ttl;
	return out->m.rcode == 3 ? DNSMSG_ANS_NXDOMAIN : DNSMSG_ANS_NODATA;
}

enum dnsmsg_err
dnsmsg_rr_tlsa(const struct dnsmsg *m, const struct dnsmsg_rr *rr, struct dnsmsg_tlsa *out)
{
	const uint8_t *p = m->p + rr->rdoff;

	if (rr->type != DNSMSG_TLSA || rr->rdlen < 4)
		return DNSMSG_BAD_RDATA;
	out->usage = p[0];
	out->selector = p[1];
	out->mtype = p[2];
	out->data = p + 3;
	out->len = (size_t)rr->rdlen - 3;
	return DNSMSG_OK;
}

int
dnsmsg_tlsa_usable(const struct dnsmsg_tlsa *t)
{
	if (t->usage != 2 && t->usage != 3)
		return 0; /* RFC 7672 s3.1.3: PKIX-TA(0) and PKIX-EE(1) are not for SMTP */
	if (t->selector > 1)
		return 0;
	switch (t->mtype) {
	case 0:
		return t->len > 0 && t->len <= DNSMSG_TLSA_DATA_MAX;
	case 1:
		return t->len == 32; /* SHA2-256 */
	case 2:
		return t->len == 64; /* SHA2-512 */
	default:
		return 0;
	}
}

enum dnsmsg_err
dnsmsg_query(const char *name, uint16_t type, uint16_t id, uint16_t udp_size, uint8_t *out,
             size_t outsz, size_t *outlen)
{
	size_t nlen = strlen(name), o = 12;
	const char *label = name;

	if (nlen > DNAME_MAX || outsz < 12 + nlen + 2 + 4 + 11)
		return nlen > DNAME_MAX ? DNSMSG_BAD_NAME : DNSMSG_NO_SPACE;
	memset(out, 0, 12);
	out[0] = (uint8_t)(id >> 8);
	out[1] = (uint8_t)id;
	out[2] = 0x01; /* RD */
	out[3] = 0x20; /* AD: RFC 6840 s5.7, ask the resolver to report validation */
	out[5] = 1;    /* QDCOUNT */
	out[11] = 1;   /* ARCOUNT: OPT */
	while (*label != '\0') {
		const char *dot = strchr(label, '.');
		size_t l = dot ? (size_t)(dot - label) : strlen(label);
		if (l == 0 || l > DNAME_LABEL_MAX)
			return DNSMSG_BAD_NAME;
		out[o++] = (uint8_t)l;
		memcpy(out + o, label, l);
		o += l;
		label += l + (dot ? 1 : 0);
		if (dot && *label == '\0')
			return DNSMSG_BAD_NAME; /* trailing dot: callers pass names without it */
	}
	out[o++] = 0;
	out[o++] = (uint8_t)(type >> 8);
	out[o++] = (uint8_t)type;
	out[o++] = 0;
	out[o++] = 1; /* class IN */
	/* OPT: root owner, type 41, class = UDP payload size, TTL 0 (no DO bit needed for AD),
	 * rdlen 0 */
	out[o++] = 0;
	out[o++] = 0;
	out[o++] = DNSMSG_OPT;
	out[o++] = (uint8_t)(udp_size >> 8);
	out[o++] = (uint8_t)udp_size;
	memset(out + o, 0, 6);
	o += 6;
	*outlen = o;
	return DNSMSG_OK;
}

const char *
dnsmsg_strerror(enum dnsmsg_err err)
{
	switch (err) {
	case DNSMSG_OK:
		return "ok";
	case DNSMSG_END:
		return "no more records";
	case DNSMSG_TRUNCATED:
		return "DNS message truncated";
	case DNSMSG_BAD_HEADER:
		return "not a DNS response to a standard query";
	case DNSMSG_BAD_NAME:
		return "bad name (compression loop, bad label or too long)";
	case DNSMSG_TOO_MANY:
		return "too many records";
	case DNSMSG_BAD_RDATA:
		return "record data does not fit its type";
	case DNSMSG_NO_SPACE:
		return "output buffer too small";
	}
	return "unknown error";
}
