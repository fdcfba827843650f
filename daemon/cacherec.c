/* SPDX-License-Identifier: MIT */
/*
 * cacherec: the cache record of one policy domain, its byte encoding and the trust-on-first-use
 * update rules (RFC 8461 s5.1, s10). Pure (P): no I/O, no clock (now is a parameter), no globals.
 * Encoding: version byte, flags byte, six little-endian int64 times (version 1: five, without
 * fail_until), mode, max_age, n_mx, u8-length-prefixed id, failed_id and mx patterns, then
 * (version 3) the times queried and due. Versions 1 and 2 are still read, so an upgrade never
 * loses a learned policy. Decoding re-validates every field (ids, patterns via
 * dname_copy_normal, ranges, expires == fetched + max_age, no trailing bytes), so a damaged or
 * foreign record is rejected rather than applied.
 * Limits: CACHEREC_MAX_BYTES per record (the largest record is about 16.4 KB).
 * LMDB access lives in cache.c; the decision what to answer lives in decide.c.
 */
#include "cacherec.h"

#include <string.h>

#include "dname.h"
#include "xalloc.h"

#define CACHEREC_FLAG_POLICY 0x01 /* has_policy */

void
cacherec_init(struct cacherec *r)
{
	memset(r, 0, sizeof(*r));
}

/* strnlen() without relying on POSIX feature macros: length of s, at most max + 1. */
static size_t
cacherec_strlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n <= max && s[n] != '\0')
		n++;
	return n;
}

/* ---- encoding ---- */

struct cacherec_wbuf {
	uint8_t *p;
	size_t sz, len;
	int full;
};

static void
cacherec_put(struct cacherec_wbuf *w, const void *p, size_t n)
{
	if (w->full || w->sz - w->len < n) {
		w->full = 1;
		return;
	}
	memcpy(w->p + w->len, p, n);
	w->len += n;
}

static void
cacherec_put_u8(struct cacherec_wbuf *w, unsigned v)
{
	uint8_t b = (uint8_t)v;

	cacherec_put(w, &b, 1);
}

static void
cacherec_put_le(struct cacherec_wbuf *w, uint64_t v, size_t nbytes)
{
	uint8_t b[8];

	for (size_t i = 0; i < nbytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	cacherec_put(w, b, nbytes);
}

/* A string field: one length byte, then the bytes. max bounds what the record can hold. */
static void
cacherec_put_str(struct cacherec_wbuf *w, const char *s, size_t max)
{
	size_t n = cacherec_strlen(s, max);

	INVARIANT(n <= max && n <= 255);
	cacherec_put_u8(w, (unsigned)n);
	cacherec_put(w, s, n);
}

enum cacherec_err
cacherec_encode(const struct cacherec *r, uint8_t *out, size_t outsz, size_t *outlen)
{
	struct cacherec_wbuf w = {out, outsz, 0, 0};

	INVARIANT(r->policy.n_mx <= STSPOLICY_MAX_MX);
	cacherec_put_u8(&w, CACHEREC_VERSION);
	cacherec_put_u8(&w, r->has_policy ? CACHEREC_FLAG_POLICY : 0);
	cacherec_put_le(&w, (uint64_t)r->fetched, 8);
	cacherec_put_le(&w, (uint64_t)r->expires, 8);
	cacherec_put_le(&w, (uint64_t)r->checked, 8);
	cacherec_put_le(&w, (uint64_t)r->failed, 8);
	cacherec_put_le(&w, (uint64_t)r->none_until, 8);
	cacherec_put_le(&w, (uint64_t)r->fail_until, 8);
	cacherec_put_u8(&w, (unsigned)r->policy.mode);
	cacherec_put_le(&w, r->policy.max_age, 4);
	cacherec_put_u8(&w, r->policy.n_mx);
	cacherec_put_str(&w, r->id, STSRECORD_ID_MAX);
	cacherec_put_str(&w, r->failed_id, STSRECORD_ID_MAX);
	for (unsigned i = 0; i < r->policy.n_mx; i++)
		cacherec_put_str(&w, r->policy.mx[i], DNAME_MAX);
	cacherec_put_le(&w, (uint64_t)r->queried, 8);
	cacherec_put_le(&w, (uint64_t)r->due, 8);
	if (w.full)
		return CACHEREC_NO_SPACE;
	*outlen = w.len;
	return CACHEREC_OK;
}

/* ---- decoding ---- */

struct cacherec_rbuf {
	const uint8_t *p;
	size_t len, off;
	int bad;
};

static uint64_t
cacherec_get_le(struct cacherec_rbuf *rb, size_t nbytes)
{
	const uint8_t *b = rb->p + rb->off;
	uint64_t v = 0;

	if (rb->bad || rb->len - rb->off < nbytes) {
		rb->bad = 1;
		return 0;
	}
	rb->off += nbytes;
	/* The fixed widths spelt out, which compilers read as one load; any other width bytewise.
	 */
	switch (nbytes) {
	case 1:
		return b[0];
	case 4:
		return (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 |
		       (uint64_t)b[3] << 24;
	case 8:
		return (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 |
		       (uint64_t)b[3] << 24 | (uint64_t)b[4] << 32 | (uint64_t)b[5] << 40 |
		       (uint64_t)b[6] << 48 | (uint64_t)b[7] << 56;
	default:
		break;
	}
	for (size_t i = 0; i < nbytes; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

/* Two's complement back to int64_t without implementation-defined conversion. */
static int64_t
cacherec_get_i64(struct cacherec_rbuf *rb)
{
	uint64_t v = cacherec_get_le(rb, 8);

	if (v <= (uint64_t)INT64_MAX)
		return (int64_t)v;
	return -(int64_t)(~v) - 1;
}

/* A length-prefixed string of at most max bytes, left where it is: *s its first byte. */
static size_t
cacherec_get_bytes(struct cacherec_rbuf *rb, const uint8_t **s, size_t max)
{
	size_t n = (size_t)cacherec_get_le(rb, 1);

	*s = rb->p + rb->off;
	if (rb->bad || n > max || rb->len - rb->off < n) {
		rb->bad = 1;
		return 0;
	}
	rb->off += n;
	return n;
}

/* RFC 8461 s3.1: id is 1*32(ALPHA / DIGIT); an empty one means "none" here. Copied to out
 * (NUL-terminated) as each byte is checked: 0 at the first other byte. */
static int
cacherec_id_copy(char *out, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
		out[i] = (char)c;
	}
	out[n] = '\0';
	return 1;
}

/* A stored pattern must be exactly what stspolicy_parse() keeps: normalised, optional "*.".
 * Upper case or a trailing dot means it was not ours (dname_copy_normal() refuses both).
 * Copied to out (NUL-terminated) in the same pass. */
static int
cacherec_mx_copy(char out[DNAME_MAX + 1], const uint8_t *s, size_t n)
{
	size_t skip = 0;

	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		out[0] = '*';
		out[1] = '.';
		skip = 2;
	}
	return dname_copy_normal((const char *)s + skip, n - skip, out + skip);
}

static int
cacherec_decode_body(struct cacherec_rbuf *rb, unsigned version, struct cacherec *r)
{
	unsigned flags, mode, n_mx;
	uint64_t max_age;
	size_t idlen, n;
	const uint8_t *s;

	flags = (unsigned)cacherec_get_le(rb, 1);
	r->fetched = cacherec_get_i64(rb);
	r->expires = cacherec_get_i64(rb);
	r->checked = cacherec_get_i64(rb);
	r->failed = cacherec_get_i64(rb);
	r->none_until = cacherec_get_i64(rb);
	r->fail_until = version >= 2 ? cacherec_get_i64(rb) : 0;
	mode = (unsigned)cacherec_get_le(rb, 1);
	max_age = cacherec_get_le(rb, 4);
	n_mx = (unsigned)cacherec_get_le(rb, 1);
	/* Times are seconds since the epoch: a negative one is damage, and rejecting it keeps
	 * every "now - t" of the rules below free of overflow. */
	if (r->fetched < 0 || r->expires < 0 || r->checked < 0 || r->failed < 0 ||
	    r->none_until < 0 || r->fail_until < 0)
		return -1;
	if (rb->bad || (flags & ~(unsigned)CACHEREC_FLAG_POLICY) != 0 ||
	    mode > STSPOLICY_MODE_ENFORCE || max_age > STSPOLICY_MAX_AGE_MAX ||
	    n_mx > STSPOLICY_MAX_MX)
		return -1;
	r->has_policy = (flags & CACHEREC_FLAG_POLICY) != 0;
	r->policy.mode = (enum stspolicy_mode)mode;
	r->policy.max_age = (uint32_t)max_age;
	r->policy.n_mx = n_mx;

	idlen = cacherec_get_bytes(rb, &s, STSRECORD_ID_MAX);
	if (rb->bad || !cacherec_id_copy(r->id, s, idlen))
		return -1;
	n = cacherec_get_bytes(rb, &s, STSRECORD_ID_MAX);
	if (rb->bad || !cacherec_id_copy(r->failed_id, s, n))
		return -1;
	for (unsigned i = 0; i < n_mx; i++) {
		n = cacherec_get_bytes(rb, &s, DNAME_MAX);
		if (rb->bad || !cacherec_mx_copy(r->policy.mx[i], s, n))
			return -1;
	}
	for (unsigned i = n_mx; i < STSPOLICY_MAX_MX; i++)
		r->policy.mx[i][0] = '\0'; /* no pattern: the empty string */
	if (version >= 3) {
		r->queried = cacherec_get_i64(rb);
		r->due = cacherec_get_i64(rb);
	} else {
		/* Before version 3 the last check is the best trace of the last request, and
		 * nothing was scheduled. */
		r->queried = r->checked > r->fetched ? r->checked : r->fetched;
		r->due = 0;
	}
	if (rb->bad || rb->off != rb->len || r->queried < 0 || r->due < 0)
		return -1;

	if (!r->has_policy) {
		/* Nothing known about a policy: every policy field must still be in its init state.
		 */
		return (idlen == 0 && n_mx == 0 && mode == 0 && max_age == 0 && r->fetched == 0 &&
		        r->expires == 0)
		           ? 0
		           : -1;
	}
	/* RFC 8461 s3.2: mx is required unless mode is none, exactly as the parser demands. */
	if (idlen == 0 || (mode != STSPOLICY_MODE_NONE && n_mx == 0))
		return -1;
	/* RFC 8461 s5.1: expiry counts from the last successful fetch; compare without overflow. */
	if (r->fetched > INT64_MAX - (int64_t)max_age ||
	    r->expires != r->fetched + (int64_t)max_age)
		return -1;
	return 0;
}

enum cacherec_err
cacherec_decode(const uint8_t *p, size_t len, struct cacherec *r)
{
	struct cacherec_rbuf rb = {p, len, 1, 0};
	enum cacherec_err e = CACHEREC_OK;

	if (len == 0)
		e = CACHEREC_CORRUPT;
	else if (p[0] < 1 || p[0] > CACHEREC_VERSION)
		e = CACHEREC_BAD_VERSION;
	else if (len > CACHEREC_MAX_BYTES || cacherec_decode_body(&rb, p[0], r) != 0)
		e = CACHEREC_CORRUPT;
	/* The body sets every field; only a refused record is cleared as a whole (16 kB, once per
	 * damaged record rather than on every cached answer): never half a record behind, the
	 * caller sees "nothing known". */
	if (e != CACHEREC_OK)
		cacherec_init(r);
	return e;
}

/* ---- trust-on-first-use rules ---- */

/* A policy that may still be applied whatever DNS and HTTPS say now (RFC 8461 s5.1). */
static int
cacherec_policy_valid(const struct cacherec *r, int64_t now)
{
	return r->has_policy && now < r->expires;
}

enum cacherec_view
cacherec_view(const struct cacherec *r, int64_t now)
{
	if (cacherec_policy_valid(r, now))
		return CACHEREC_VIEW_POLICY;
	/* An expired policy is never applied, and does not mean "no policy" either. The latest
	 * outcome of discovery wins: each update below clears what the other one remembered. */
	if (now < r->fail_until)
		return CACHEREC_VIEW_TXT_FAILED;
	if (now < r->none_until)
		return CACHEREC_VIEW_NO_POLICY;
	return CACHEREC_VIEW_UNKNOWN;
}

int
cacherec_recheck_due(const struct cacherec *r, int64_t now, unsigned txt_recheck)
{
	return now - r->checked >= (int64_t)txt_recheck;
}

int
cacherec_in_backoff(const struct cacherec *r, const char *id, int64_t now)
{
	return r->failed_id[0] != '\0' && strcmp(r->failed_id, id) == 0 &&
	       now - r->failed < CACHEREC_RETRY_AFTER;
}

int
cacherec_fetch_wanted(const struct cacherec *r, const char *id, int64_t now, unsigned refresh)
{
	/* RFC 8461 s5.1 (wait before refetching): only the id that failed is held back, so a newly
	 * published id is still fetched at once. */
	if (cacherec_in_backoff(r, id, now))
		return 0;
	if (!cacherec_policy_valid(r, now))
		return 1;
	/* A changed id announces a new policy; a same-id refresh keeps active domains from expiring
	 * (RFC 8461 s10: proactive refresh). An unchanged id alone never extends expiry. */
	return strcmp(id, r->id) != 0 || now - r->fetched >= (int64_t)refresh;
}

void
cacherec_on_txt(struct cacherec *r, int64_t now)
{
	r->checked = now;
	r->fail_until = 0;
}

void
cacherec_on_no_policy(struct cacherec *r, int64_t now, unsigned remember)
{
	r->checked = now;
	r->fail_until = 0;
	/* RFC 8461 s5.1 / s10: removing the TXT record never drops a valid cached policy;
	 * otherwise remembering "no policy" keeps such domains off the network for a while. */
	if (!cacherec_policy_valid(r, now))
		r->none_until = now + (int64_t)remember;
}

void
cacherec_on_txt_fail(struct cacherec *r, int64_t now, unsigned remember)
{
	r->checked = now;
	/* A temporary failure is never "no policy"; with a valid policy nothing else changes. */
	if (!cacherec_policy_valid(r, now)) {
		r->none_until = 0;
		r->fail_until = now + (int64_t)remember;
	}
}

/* Copy a TXT id; ids come from stsrecord_parse(), so a longer one is a broken invariant. */
static void
cacherec_set_id(char dst[STSRECORD_ID_MAX + 1], const char *id)
{
	size_t n = cacherec_strlen(id, STSRECORD_ID_MAX);

	INVARIANT(n <= STSRECORD_ID_MAX);
	memcpy(dst, id, n);
	dst[n] = '\0';
}

void
cacherec_on_fetch_ok(struct cacherec *r, const struct stspolicy *p, const char *id, int64_t now)
{
	INVARIANT(p->n_mx <= STSPOLICY_MAX_MX && p->max_age <= STSPOLICY_MAX_AGE_MAX);
	/* Only a newly fetched valid policy replaces the cached one; a valid mode none does too. */
	r->has_policy = 1;
	r->policy = *p;
	cacherec_set_id(r->id, id);
	r->fetched = now;
	r->expires = now + (int64_t)p->max_age;
	r->checked = now;
	r->failed = 0;
	r->failed_id[0] = '\0';
	r->none_until = 0;
	r->fail_until = 0;
}

void
cacherec_on_fetch_fail(struct cacherec *r, const char *id, int64_t now, unsigned remember)
{
	r->failed = now;
	cacherec_set_id(r->failed_id, id);
	r->checked = now;
	r->fail_until = 0;
	/* RFC 8461 s5.1: a failed fetch keeps the cached policy; with nothing valid cached the
	 * domain is treated as having no policy for a while (and the fallback is answered). */
	if (!cacherec_policy_valid(r, now))
		r->none_until = now + (int64_t)remember;
}

void
cacherec_merge(struct cacherec *r, const struct cacherec *stored)
{
	int64_t queried = r->queried > stored->queried ? r->queried : stored->queried;

	/* Two discoveries of one domain overlapped: the later fetch wins, so a record is never
	 * taken back to an older policy by a slower writer (RFC 8461 s5.1). */
	if (stored->has_policy && stored->fetched > r->fetched)
		*r = *stored;
	r->queried = queried;
}

const char *
cacherec_strerror(enum cacherec_err err)
{
	switch (err) {
	case CACHEREC_OK:
		return "ok";
	case CACHEREC_NO_SPACE:
		return "output buffer too small";
	case CACHEREC_BAD_VERSION:
		return "unknown record version";
	case CACHEREC_CORRUPT:
		return "truncated or inconsistent record";
	}
	return "unknown cacherec error";
}
