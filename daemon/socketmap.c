/* SPDX-License-Identifier: MIT */
/*
 * socketmap: Postfix socketmap protocol codec. Pure (P): no I/O, no globals.
 * Netstrings "<len>:<payload>," (djb netstrings, as Postfix socketmap_table(5) uses them),
 * request split "name key", reply text "<status> <data>", and key classification: "[host]",
 * "[host]:port", "host:port", ".parent" and IP literals (RFC 8461 s3.4: the policy domain is the
 * next-hop domain, without port or brackets).
 * Hosts with bytes >= 0x80 are U-labels: libidn2 maps them to A-labels (RFC 5891 s5 lookup, UTS #46
 * non-transitional, as Postfix >= 3.2 does) before dname_normalize(); pure-ASCII keys skip libidn2.
 * Limits: request payload SOCKETMAP_REQUEST_MAX, reply payload SOCKETMAP_REPLY_MAX (both Postfix's
 * caps), map name SOCKETMAP_NAME_MAX, key DNAME_MAX + 10 bytes of input.
 * Socket reads, deadlines and what to answer live in server.c / lookup.c / decide.c.
 */
#include "socketmap.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

#define SOCKETMAP_PORT_DIGITS 5 /* "65535" */
/* Longest key we classify: a name plus brackets and a port fits easily. */
#define SOCKETMAP_KEY_MAX (DNAME_MAX + 10)

/*
 * libidn2 flags for U-label keys.
 * - IDN2_NONTRANSITIONAL: UTS #46 non-transitional mapping (IDNA2008 lookup). Transitional
 *   processing would send "strasse.example" for "straße.example", a different name that may have
 *   another owner, so we would apply (or miss) someone else's policy. Postfix >= 3.2 maps the same
 *   way (enable_idna2003_compatibility = no), so our policy domain is the one Postfix connects to.
 *   The mapping also case-folds ("BÜCHER" -> "bücher"), as in the ASCII path.
 * - IDN2_NFC_INPUT: NFC first, so composed and decomposed forms of a name are one policy domain.
 * - Not IDN2_USE_STD3_ASCII_RULES: libidn2 2.3.3 then *deletes* disallowed ASCII such as "_" (it
 *   maps "_bücher" to "xn--bcher-kva", another domain). Without it such bytes survive into the
 *   A-label and dname_normalize() rejects them (its LDH check is the STD3 rule, done safely).
 * - Not IDN2_ALLOW_UNASSIGNED (RFC 5891 s5.4: unassigned code points are not looked up), and not
 *   IDN2_NO_ALABEL_ROUNDTRIP: the round-trip check is what rejects a mapped ':' or space.
 */
#define SOCKETMAP_IDN2_FLAGS (IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL)

static int
sm_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

enum socketmap_err
socketmap_decode(const char *p, size_t len, size_t max, const char **payload, size_t *payload_len,
                 size_t *consumed)
{
	unsigned long long v;
	size_t ndig = 0, rest;

	if (len == 0)
		return SOCKETMAP_INCOMPLETE;
	if (!sm_is_digit(p[0]))
		return SOCKETMAP_BAD_LENGTH; /* non-digit, or ':' with an empty length */
	while (ndig < len && sm_is_digit(p[ndig]))
		ndig++;
	/* "0" alone is the only length that may start with a zero (netstring canonical form). */
	if (p[0] == '0' && ndig > 1)
		return SOCKETMAP_BAD_LENGTH;
	/*
	 * Checked on every call, also before the ':' arrived: the digits seen so far already
	 * passing max is final. This bounds how long we wait for a ':' to the digits of max, so a
	 * peer cannot keep us reading digits forever.
	 */
	if (parse_uint(p, ndig, 0, max, &v) != 0)
		return SOCKETMAP_TOO_LONG;
	if (ndig == len)
		return SOCKETMAP_INCOMPLETE;
	if (p[ndig] != ':')
		return SOCKETMAP_BAD_SEPARATOR;
	/* Bytes after the ':'; compared by subtraction so v near SIZE_MAX cannot wrap. */
	rest = len - ndig - 1;
	if (rest <= v)
		return SOCKETMAP_INCOMPLETE; /* need the payload and the ',' */
	if (p[ndig + 1 + v] != ',')
		return SOCKETMAP_BAD_TERMINATOR;
	*payload = p + ndig + 1;
	*payload_len = (size_t)v;
	*consumed = ndig + 1 + (size_t)v + 1;
	return SOCKETMAP_OK;
}

static int
sm_is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || sm_is_digit(c) || c == '_' ||
	       c == '.' || c == '-';
}

enum socketmap_err
socketmap_split(const char *p, size_t len, const char **name, size_t *name_len, const char **key,
                size_t *key_len)
{
	const char *sp = memchr(p, ' ', len);
	size_t nlen, klen;

	if (sp == NULL)
		return SOCKETMAP_BAD_REQUEST;
	nlen = (size_t)(sp - p);
	if (nlen == 0 || nlen > SOCKETMAP_NAME_MAX)
		return SOCKETMAP_BAD_REQUEST;
	for (size_t i = 0; i < nlen; i++)
		if (!sm_is_name_char(p[i]))
			return SOCKETMAP_BAD_REQUEST;
	klen = len - nlen - 1;
	if (klen == 0)
		return SOCKETMAP_BAD_REQUEST;
	/* A NUL or control byte in the key would truncate or corrupt logs and cache keys. */
	for (size_t i = nlen + 1; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c == 0x7f)
			return SOCKETMAP_BAD_REQUEST;
	}
	*name = p;
	*name_len = nlen;
	*key = sp + 1;
	*key_len = klen;
	return SOCKETMAP_OK;
}

enum socketmap_err
socketmap_encode(const char *status, const char *data, size_t data_len, char *out, size_t outsz,
                 size_t *outlen)
{
	size_t slen = strlen(status), plen, total, n;
	char prefix[STRBUF_U64_DIGITS + 1];

	/* Callers pass one of our constant status words; anything else is a programming error. */
	INVARIANT(strcmp(status, "OK") == 0 || strcmp(status, "NOTFOUND") == 0 ||
	          strcmp(status, "TEMP") == 0 || strcmp(status, "TIMEOUT") == 0 ||
	          strcmp(status, "PERM") == 0);
	/*
	 * Empty-OK check: "OK " would tell Postfix a policy was found with no text; we never send
	 * that, so it is refused like an oversized reply (the header's contract).
	 */
	if (data_len == 0 && strcmp(status, "OK") == 0)
		return SOCKETMAP_TOO_LONG;
	/* Reply cap (Postfix's): checked by subtraction so a huge data_len cannot wrap. */
	if (data_len > SOCKETMAP_REPLY_MAX - slen - 1)
		return SOCKETMAP_TOO_LONG;
	plen = slen + 1 + data_len;
	/* The length prefix by hand rather than snprintf(): this runs for every reply. */
	n = strbuf_utoa(plen, prefix);
	prefix[n++] = ':';
	total = n + plen + 1;
	if (outsz < total)
		return SOCKETMAP_NO_SPACE;
	/* Not NUL-terminated: a netstring is counted bytes; *outlen says how many to send. */
	memcpy(out, prefix, n);
	memcpy(out + n, status, slen);
	out[n + slen] = ' ';
	if (data_len > 0)
		memcpy(out + n + slen + 1, data, data_len);
	out[total - 1] = ',';
	*outlen = total;
	return SOCKETMAP_OK;
}

/* Is p[0..len) an IPv4 dotted quad or an IPv6 address? inet_pton is pure but wants a NUL. */
static int
sm_is_ip(const char *p, size_t len, int af)
{
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char addr[sizeof(struct in6_addr)];

	if (len == 0 || len >= sizeof(buf) || memchr(p, '\0', len) != NULL)
		return 0;
	/* Dotted decimal (the only form inet_pton() takes for AF_INET, POSIX) starts with a
	 * digit: a name that does not is no address, without the copy and the call. */
	if (af == AF_INET && !sm_is_digit(p[0]))
		return 0;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return inet_pton(af, buf, addr) == 1;
}

static int
sm_is_ip_any(const char *p, size_t len)
{
	return sm_is_ip(p, len, AF_INET) || sm_is_ip(p, len, AF_INET6);
}

/* ":" followed by 1..5 digits with a value 1..65535. */
static int
sm_is_port(const char *p, size_t len)
{
	unsigned long long port;

	if (len < 2 || len > 1 + SOCKETMAP_PORT_DIGITS || p[0] != ':')
		return 0;
	return parse_uint(p + 1, len - 1, 1, 65535, &port) == 0;
}

static int
sm_has_prefix_icase(const char *p, size_t len, const char *pfx)
{
	size_t n = strlen(pfx);

	if (len < n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != pfx[i])
			return 0;
	}
	return 1;
}

static int
sm_has_8bit(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

/*
 * Map a host with U-labels to its A-label form (IDNA2008 lookup, RFC 5891 s5) and normalise that
 * into dom (written only for SOCKETMAP_KEY_DOMAIN). libidn2 checks the UTF-8 (overlong forms,
 * surrogates, truncation), the code points (DISALLOWED, CONTEXTJ, bidi), hyphens and label and
 * name lengths; dname_normalize() then applies exactly the rules an ASCII key gets.
 * Every label goes through libidn2 here, an "xn--" label next to a U-label included.
 */
static enum socketmap_key
sm_idn_normalize(const char *host, size_t hlen, char dom[DNAME_MAX + 1])
{
	char in[SOCKETMAP_KEY_MAX + 1];
	uint8_t *alabel = NULL;
	enum socketmap_key k = SOCKETMAP_KEY_INVALID;
	size_t alen;
	int rc;

	/*
	 * libidn2 reads a C string: a NUL inside the key would cut the name short and make us look
	 * up a shorter name than the one Postfix asked about.
	 */
	if (hlen > SOCKETMAP_KEY_MAX || memchr(host, '\0', hlen) != NULL)
		return SOCKETMAP_KEY_INVALID;
	memcpy(in, host, hlen);
	in[hlen] = '\0';
	rc = idn2_lookup_u8((const uint8_t *)in, &alabel, SOCKETMAP_IDN2_FLAGS);
	/*
	 * Out of memory aborts, as the x* allocators do: answering NOTFOUND would silently drop a
	 * policy, which a temporary failure must never do.
	 */
	INVARIANT(rc != IDN2_MALLOC);
	if (rc == IDN2_OK && alabel != NULL) {
		alen = strlen((const char *)alabel);
		/*
		 * UTS #46 maps full-width digits and dots to ASCII: "１９２．０．２．１" is the
		 * address 192.0.2.1, classified as its ASCII spelling would be.
		 */
		if (sm_is_ip_any((const char *)alabel, alen))
			k = SOCKETMAP_KEY_IP;
		else if (dname_normalize((const char *)alabel, alen, dom, NULL) == DNAME_OK)
			k = SOCKETMAP_KEY_DOMAIN;
	}
	idn2_free(alabel); /* allocated by libidn2; NULL on error is fine */
	return k;
}

enum socketmap_key
socketmap_classify(const char *key, size_t len, struct socketmap_dest *out)
{
	const char *host = key, *port = NULL;
	size_t hlen = len, plen = 0;
	int bracketed = 0;
	unsigned long long portval = 0;
	char dom[DNAME_MAX + 1];

	/*
	 * Bound all work below, libidn2's included: the cap is on the input bytes, whatever length
	 * the A-label form has (that is checked by dname_normalize()).
	 */
	if (len > SOCKETMAP_KEY_MAX || len == 0)
		return SOCKETMAP_KEY_INVALID;
	/* Postfix probes ".example.com" for parent-domain matching; we never answer those. */
	if (key[0] == '.')
		return SOCKETMAP_KEY_PARENT;

	if (key[0] == '[') {
		const char *rb = memchr(key, ']', len);
		size_t after;

		if (rb == NULL)
			return SOCKETMAP_KEY_INVALID;
		host = key + 1;
		hlen = (size_t)(rb - host);
		after = len - (size_t)(rb - key) - 1;
		if (after != 0 && !sm_is_port(rb + 1, after))
			return SOCKETMAP_KEY_INVALID;
		bracketed = 1;
		if (after != 0) {
			port = rb + 2;
			plen = after - 1;
		}
		/* "[ipv6:...]" is Postfix's IPv6 address-literal form (RFC 5321 s4.1.3). */
		if (sm_has_prefix_icase(host, hlen, "ipv6:") || sm_is_ip_any(host, hlen))
			return SOCKETMAP_KEY_IP;
	} else {
		const char *colon = memchr(key, ':', len);

		if (sm_is_ip(key, len, AF_INET))
			return SOCKETMAP_KEY_IP;
		if (colon != NULL && sm_is_ip(key, len, AF_INET6))
			return SOCKETMAP_KEY_IP;
		/* "host:port", exactly one colon: the policy domain is the host (RFC 8461 s3.4). */
		if (colon != NULL &&
		    memchr(colon + 1, ':', len - (size_t)(colon - key) - 1) == NULL &&
		    sm_is_port(colon, len - (size_t)(colon - key))) {
			hlen = (size_t)(colon - key);
			port = colon + 1;
			plen = len - hlen - 1;
			/* "192.0.2.1:25" is still an address, not a name. */
			if (sm_is_ip(key, hlen, AF_INET))
				return SOCKETMAP_KEY_IP;
		}
	}
	/*
	 * Brackets and port were split on ASCII bytes above; UTF-8 never encodes '[', ']' or ':'
	 * inside a multi-byte sequence, so the split is the same as for an ASCII key and the port
	 * is never taken from mapped text (a full-width digit stays in the host and fails there).
	 * Pure-ASCII hosts, "xn--" labels included, do not go through libidn2: this is the hot
	 * path, and an ASCII name already is the DNS name Postfix connects to and the name the
	 * policy and its certificate are checked against, so no conversion can make it mean
	 * another domain. Rejecting an A-label that our libidn2 (and its Unicode version) finds
	 * invalid could only turn a policy into NOTFOUND, i.e. drop protection, never add any.
	 */
	if (sm_has_8bit(host, hlen)) {
		enum socketmap_key k = sm_idn_normalize(host, hlen, dom);

		if (k != SOCKETMAP_KEY_DOMAIN)
			return k;
	} else if (dname_normalize(host, hlen, dom, NULL) != DNAME_OK) {
		return SOCKETMAP_KEY_INVALID;
	}
	/* "[192.0.2.1.]" (a trailing dot) or full-width digits normalise to an address: still an
	 * address, never a policy domain (found by fuzz_socketmap). */
	if (sm_is_ip(dom, strlen(dom), AF_INET))
		return SOCKETMAP_KEY_IP;
	if (port != NULL && parse_uint(port, plen, 1, 65535, &portval) != 0)
		return SOCKETMAP_KEY_INVALID; /* sm_is_port() accepted it already */
	memcpy(out->domain, dom, sizeof(out->domain));
	out->port = (unsigned)portval;
	out->bracketed = bracketed;
	return SOCKETMAP_KEY_DOMAIN;
}

const char *
socketmap_strerror(enum socketmap_err err)
{
	switch (err) {
	case SOCKETMAP_OK:
		return "ok";
	case SOCKETMAP_INCOMPLETE:
		return "incomplete netstring";
	case SOCKETMAP_BAD_LENGTH:
		return "bad netstring length";
	case SOCKETMAP_TOO_LONG:
		return "netstring payload too long";
	case SOCKETMAP_BAD_SEPARATOR:
		return "no ':' after netstring length";
	case SOCKETMAP_BAD_TERMINATOR:
		return "no ',' after netstring payload";
	case SOCKETMAP_BAD_REQUEST:
		return "request is not \"name key\"";
	case SOCKETMAP_NO_SPACE:
		return "output buffer too small";
	}
	return "unknown socketmap error";
}
