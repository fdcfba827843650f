/* SPDX-License-Identifier: MIT */
/*
 * sharedrec: the value a policy has in the fleet's shared cache (Redis), its key, the merge of
 * a peer's record into the local one, and the shared_cache URL. Pure (P): no I/O, no clock
 * (now is a parameter), no globals besides constant text.
 * Value: "MSR", version byte, domain length byte, the domain, the cache record bytes of
 * cacherec_encode() (together: the body, decoded by the same bounded cacherec_decode() as LMDB
 * records), then the trailer: SHAREDREC_MAC_LEN bytes of HMAC-SHA256 of the body under the
 * fleet's key, which shared.c computes and checks (no crypto here) before any decoding. Only what
 * a fetch established is shared (policy, id, fetched, expires); a node's checks, failures and
 * schedule stay its own, on writing and again on reading. A value is refused whole unless it
 * is ours, for the key's domain, holds an unexpired policy and was not fetched in the future
 * (SHAREDREC_SKEW_MAX). Merging is cacherec_merge(): the later fetch wins (RFC 8461 s5.1).
 * The Lua compare-and-set script lives here because it reads this layout. Connecting, reading,
 * publishing and subscribing are shared.c's; writing to LMDB is lookup.c's.
 */
#include "sharedrec.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "xalloc.h"

#define SHAREDREC_HDR (SHAREDREC_MAGIC_LEN + 1) /* magic + version */

/* Keys 1: the domain's key. ARGV: value, its fetch time, its expiry time, the channel, the
 * latest fetch time believable (now + SHAREDREC_SKEW_MAX). The stored fetch time sits after
 * the header (bytes 1-4), the domain length (byte 5 = n), the domain (6 .. 5+n), the
 * record's version and flags bytes (6+n, 7+n): bytes 8+n .. 15+n (1-based Lua offsets),
 * little-endian; a whole value also holds the SHAREDREC_MAC_LEN = 32 byte trailer, so one
 * shorter than n + 15 + 32 is not of this format. Lua cannot check the trailer: whatever is
 * not of this format (a planted string, another type, version 1), or claims a fetch beyond
 * ARGV[5] (planted: no node's clock is that far ahead), is overwritten; an equal or later
 * fetch is kept. */
_Static_assert(SHAREDREC_MAC_LEN == 32, "the compare-and-set script counts a 32-byte trailer");
const char sharedrec_cas_script[] =
    "local cur = redis.pcall('GET', KEYS[1])\n"
    "if type(cur) == 'string' and #cur >= 5 and "
    "string.sub(cur, 1, 4) == string.sub(ARGV[1], 1, 4) then\n"
    "  local n = string.byte(cur, 5)\n"
    "  if #cur >= n + 15 + 32 then\n"
    "    local t = 0\n"
    "    for i = n + 15, n + 8, -1 do t = t * 256 + string.byte(cur, i) end\n"
    "    if t >= tonumber(ARGV[2]) and t <= tonumber(ARGV[5]) then return 0 end\n"
    "  end\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1])\n"
    "redis.call('EXPIREAT', KEYS[1], ARGV[3])\n"
    "redis.call('PUBLISH', ARGV[4], ARGV[1])\n"
    "return 1\n";

const char sharedrec_lease_script[] =
    "local v = redis.pcall('GET', KEYS[1])\n"
    "if type(v) ~= 'string' then v = false end\n"
    "local got = redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[1])\n"
    "return {v, got and 1 or 0}\n";

const char sharedrec_release_script[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                                        "  return redis.call('DEL', KEYS[1])\n"
                                        "end\n"
                                        "return 0\n";

const char sharedrec_poll_script[] = "local v = redis.pcall('GET', KEYS[1])\n"
                                     "if type(v) ~= 'string' then v = false end\n"
                                     "return {v, redis.call('EXISTS', KEYS[2])}\n";

/* Keep only what a fetch established. */
static void
sharedrec_strip(struct cacherec *r)
{
	r->checked = r->fetched;
	r->failed = 0;
	r->failed_id[0] = '\0';
	r->none_until = 0;
	r->fail_until = 0;
	r->queried = 0;
	r->due = 0;
}

/* A normalised, non-empty domain of at most DNAME_MAX bytes. */
static int
sharedrec_domain_ok(const char *d, size_t n)
{
	char norm[DNAME_MAX + 1];
	size_t normlen;

	if (n == 0 || n > DNAME_MAX || dname_normalize(d, n, norm, &normlen) != DNAME_OK)
		return 0;
	return normlen == n && memcmp(norm, d, n) == 0;
}

static enum sharedrec_err
sharedrec_prefixed(const char *prefix, const char *domain, char *out, size_t outsz)
{
	size_t plen = strlen(prefix), n = strlen(domain);

	if (n == 0 || n > DNAME_MAX)
		return SHAREDREC_BAD_DOMAIN;
	if (outsz < plen + n + 1)
		return SHAREDREC_NO_SPACE;
	memcpy(out, prefix, plen);
	memcpy(out + plen, domain, n + 1);
	return SHAREDREC_OK;
}

enum sharedrec_err
sharedrec_key(const char *domain, char *out, size_t outsz)
{
	return sharedrec_prefixed(SHAREDREC_KEY_PREFIX, domain, out, outsz);
}

enum sharedrec_err
sharedrec_lease_key(const char *domain, char *out, size_t outsz)
{
	_Static_assert(sizeof(SHAREDREC_LEASE_PREFIX) <= sizeof(SHAREDREC_KEY_PREFIX),
	               "a lease key fits SHAREDREC_KEY_MAX");
	return sharedrec_prefixed(SHAREDREC_LEASE_PREFIX, domain, out, outsz);
}

enum sharedrec_err
sharedrec_encode(const char *domain, const struct cacherec *r, uint8_t *out, size_t outsz,
                 size_t *outlen)
{
	struct cacherec s = *r;
	size_t n = strlen(domain), off = SHAREDREC_HDR + 1 + n, reclen;

	if (!r->has_policy)
		return SHAREDREC_NO_POLICY;
	if (!sharedrec_domain_ok(domain, n))
		return SHAREDREC_BAD_DOMAIN;
	if (outsz < off)
		return SHAREDREC_NO_SPACE;
	memcpy(out, SHAREDREC_MAGIC, SHAREDREC_MAGIC_LEN);
	out[SHAREDREC_MAGIC_LEN] = SHAREDREC_VERSION;
	out[SHAREDREC_HDR] = (uint8_t)n;
	memcpy(out + SHAREDREC_HDR + 1, domain, n);
	sharedrec_strip(&s);
	if (cacherec_encode(&s, out + off, outsz - off, &reclen) != CACHEREC_OK)
		return SHAREDREC_NO_SPACE;
	*outlen = off + reclen;
	return SHAREDREC_OK;
}

/* The checks on the bytes before the record; the record starts at *off. */
static enum sharedrec_err
sharedrec_header(const uint8_t *p, size_t len, char domain[DNAME_MAX + 1], size_t *off)
{
	size_t n;

	if (len > SHAREDREC_BODY_MAX)
		return SHAREDREC_TOO_LARGE;
	if (len < SHAREDREC_HDR || memcmp(p, SHAREDREC_MAGIC, SHAREDREC_MAGIC_LEN) != 0)
		return SHAREDREC_NOT_OURS;
	if (p[SHAREDREC_MAGIC_LEN] != SHAREDREC_VERSION)
		return SHAREDREC_BAD_VERSION;
	if (len < SHAREDREC_HDR + 1)
		return SHAREDREC_CORRUPT;
	n = p[SHAREDREC_HDR];
	if (len - (SHAREDREC_HDR + 1) < n)
		return SHAREDREC_CORRUPT;
	if (!sharedrec_domain_ok((const char *)p + SHAREDREC_HDR + 1, n))
		return SHAREDREC_BAD_DOMAIN;
	memcpy(domain, p + SHAREDREC_HDR + 1, n);
	domain[n] = '\0';
	*off = SHAREDREC_HDR + 1 + n;
	return SHAREDREC_OK;
}

enum sharedrec_err
sharedrec_body(const uint8_t *p, size_t len, size_t *bodylen)
{
	*bodylen = 0;
	if (len > SHAREDREC_MAX_BYTES)
		return SHAREDREC_TOO_LARGE;
	if (len < SHAREDREC_HDR || memcmp(p, SHAREDREC_MAGIC, SHAREDREC_MAGIC_LEN) != 0)
		return SHAREDREC_NOT_OURS;
	if (p[SHAREDREC_MAGIC_LEN] != SHAREDREC_VERSION)
		return SHAREDREC_BAD_VERSION;
	/* The header, a domain length byte, and a whole trailer at least. */
	if (len < SHAREDREC_HDR + 1 + SHAREDREC_MAC_LEN)
		return SHAREDREC_BAD_MAC;
	*bodylen = len - SHAREDREC_MAC_LEN;
	return SHAREDREC_OK;
}

static enum sharedrec_err
sharedrec_check(const uint8_t *p, size_t len, const char *want, int64_t now,
                char domain[DNAME_MAX + 1], struct cacherec *r)
{
	enum sharedrec_err e;
	size_t off = 0;

	if ((e = sharedrec_header(p, len, domain, &off)) != SHAREDREC_OK)
		return e;
	if (want != NULL && strcmp(want, domain) != 0)
		return SHAREDREC_WRONG_DOMAIN;
	if (cacherec_decode(p + off, len - off, r) != CACHEREC_OK)
		return SHAREDREC_CORRUPT;
	if (!r->has_policy)
		return SHAREDREC_NO_POLICY;
	/* fetched >= 0 (the decoder refuses negative times): no overflow in the sum. */
	if (now < INT64_MAX - SHAREDREC_SKEW_MAX && r->fetched > now + SHAREDREC_SKEW_MAX)
		return SHAREDREC_FUTURE;
	if (r->expires <= now)
		return SHAREDREC_EXPIRED;
	sharedrec_strip(r); /* a peer's back-off or schedule is not ours to follow */
	return SHAREDREC_OK;
}

enum sharedrec_err
sharedrec_decode(const uint8_t *p, size_t len, const char *want, int64_t now,
                 char domain[DNAME_MAX + 1], struct cacherec *r)
{
	enum sharedrec_err e = sharedrec_check(p, len, want, now, domain, r);

	if (e != SHAREDREC_OK) {
		/* Never half a record: the caller sees nothing known. */
		cacherec_init(r);
		domain[0] = '\0';
	}
	return e;
}

int
sharedrec_merge(struct cacherec *local, const struct cacherec *peer)
{
	int64_t before = local->fetched;
	int had = local->has_policy;

	cacherec_merge(local, peer);
	return local->has_policy != had || local->fetched != before;
}

/* ---- shared_cache URL ---- */

static int
sharedrec_prefix(const char *s, size_t len, const char *pfx)
{
	size_t n = strlen(pfx);

	return len >= n && memcmp(s, pfx, n) == 0;
}

static enum sharedrec_url_err
sharedrec_url_tcp(const char *s, size_t len, struct sharedrec_url *u)
{
	const char *end = s + len, *h, *hend, *p;
	unsigned long long v;
	struct in6_addr a6;
	struct in_addr a4;
	size_t hlen;

	if (memchr(s, '@', len) != NULL)
		return SHAREDREC_URL_USERINFO;
	if (len > 0 && s[0] == '[') {
		h = s + 1;
		hend = memchr(h, ']', (size_t)(end - h));
		if (hend == NULL)
			return SHAREDREC_URL_HOST;
		p = hend + 1;
	} else {
		h = s;
		for (hend = s; hend < end && *hend != ':' && *hend != '/'; hend++)
			;
		p = hend;
	}
	hlen = (size_t)(hend - h);
	if (hlen == 0 || hlen > SHAREDREC_HOST_MAX)
		return SHAREDREC_URL_HOST;
	memcpy(u->host, h, hlen);
	u->host[hlen] = '\0';
	/* An address literal only: a name would cost a blocking getaddrinfo() in hiredis. */
	if (s[0] == '[' ? inet_pton(AF_INET6, u->host, &a6) != 1
	                : inet_pton(AF_INET, u->host, &a4) != 1)
		return SHAREDREC_URL_HOST;
	if (p < end && *p == ':') {
		const char *q = ++p;

		while (p < end && *p != '/')
			p++;
		if (parse_uint(q, (size_t)(p - q), 1, 65535, &v) != 0)
			return SHAREDREC_URL_PORT;
		u->port = (unsigned)v;
	}
	if (p < end) {
		if (*p != '/')
			return SHAREDREC_URL_HOST;
		p++;
		/* "redis://h/" names no database: the default one. */
		if (p < end && parse_uint(p, (size_t)(end - p), 0, SHAREDREC_DB_MAX, &v) != 0)
			return SHAREDREC_URL_DB;
		u->db = p < end ? (unsigned)v : 0;
	}
	return SHAREDREC_URL_OK;
}

static enum sharedrec_url_err
sharedrec_url_unix(const char *s, size_t len, struct sharedrec_url *u)
{
	const char *q = memchr(s, '?', len);
	size_t plen = q != NULL ? (size_t)(q - s) : len;
	unsigned long long v;

	if (plen == 0 || s[0] != '/' || plen > SHAREDREC_PATH_MAX)
		return SHAREDREC_URL_PATH;
	for (size_t i = 0; i < plen; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return SHAREDREC_URL_PATH;
	memcpy(u->path, s, plen);
	u->path[plen] = '\0';
	u->is_unix = 1;
	if (q == NULL)
		return SHAREDREC_URL_OK;
	q++;
	len -= plen + 1;
	if (!sharedrec_prefix(q, len, "db="))
		return SHAREDREC_URL_QUERY;
	if (parse_uint(q + 3, len - 3, 0, SHAREDREC_DB_MAX, &v) != 0)
		return SHAREDREC_URL_DB;
	u->db = (unsigned)v;
	return SHAREDREC_URL_OK;
}

enum sharedrec_url_err
sharedrec_url_parse(const char *s, size_t len, struct sharedrec_url *u)
{
	memset(u, 0, sizeof(*u));
	u->port = SHAREDREC_PORT_DEFAULT;
	if (sharedrec_prefix(s, len, "redis://"))
		return sharedrec_url_tcp(s + 8, len - 8, u);
	if (sharedrec_prefix(s, len, "redis+unix://"))
		return SHAREDREC_URL_PATH; /* an authority part: "redis+unix:/path" has none */
	if (sharedrec_prefix(s, len, "redis+unix:"))
		return sharedrec_url_unix(s + 11, len - 11, u);
	return SHAREDREC_URL_SCHEME;
}

const char *
sharedrec_strerror(enum sharedrec_err err)
{
	switch (err) {
	case SHAREDREC_OK:
		return "ok";
	case SHAREDREC_NO_SPACE:
		return "output buffer too small";
	case SHAREDREC_NOT_OURS:
		return "not an mta-stsd value";
	case SHAREDREC_BAD_VERSION:
		return "unknown value format version";
	case SHAREDREC_TOO_LARGE:
		return "value too large";
	case SHAREDREC_CORRUPT:
		return "truncated or inconsistent value";
	case SHAREDREC_BAD_DOMAIN:
		return "bad domain in value";
	case SHAREDREC_WRONG_DOMAIN:
		return "value is for another domain";
	case SHAREDREC_NO_POLICY:
		return "value holds no policy";
	case SHAREDREC_FUTURE:
		return "policy fetched in the future";
	case SHAREDREC_EXPIRED:
		return "policy expired";
	case SHAREDREC_BAD_MAC:
		return "missing or wrong authentication tag (not written with this fleet's key)";
	}
	return "unknown sharedrec error";
}

const char *
sharedrec_url_strerror(enum sharedrec_url_err err)
{
	switch (err) {
	case SHAREDREC_URL_OK:
		return "ok";
	case SHAREDREC_URL_SCHEME:
		return "expected redis://HOST[:PORT][/DB] or redis+unix:/PATH[?db=N]";
	case SHAREDREC_URL_USERINFO:
		return "no user or password in the URL: use shared_cache_password_file";
	case SHAREDREC_URL_HOST:
		return "HOST must be an IPv4 address or a bracketed IPv6 address (a name would "
		       "need "
		       "a blocking lookup)";
	case SHAREDREC_URL_PORT:
		return "expected a port 1..65535";
	case SHAREDREC_URL_DB:
		return "expected a database number 0..65535";
	case SHAREDREC_URL_PATH:
		return "expected an absolute socket path of at most 107 bytes";
	case SHAREDREC_URL_QUERY:
		return "only ?db=N may follow the socket path";
	}
	return "unknown shared_cache error";
}
