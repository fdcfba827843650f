/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_SHAREDREC_H
#define MTASTSD_SHAREDREC_H

#include <stddef.h>
#include <stdint.h>

#include "cacherec.h"
#include "dname.h"

/** First bytes of every value: "MSR" then the format version. */
#define SHAREDREC_MAGIC "MSR"
#define SHAREDREC_MAGIC_LEN 3 /**< bytes of SHAREDREC_MAGIC */
/** The one format this build writes and reads. 2: the body is followed by an HMAC-SHA256
 * trailer under the fleet's key (version 1 had none and is refused). */
#define SHAREDREC_VERSION 2
/** Header (magic, version), domain length byte, domain, then a cacherec record. */
#define SHAREDREC_BODY_MAX (SHAREDREC_MAGIC_LEN + 1 + 1 + DNAME_MAX + CACHEREC_MAX_BYTES)
/** Bytes of the trailer: HMAC-SHA256 of the body under the fleet key (computed by shared.c). */
#define SHAREDREC_MAC_LEN 32
/** A whole value: body and trailer. */
#define SHAREDREC_MAX_BYTES (SHAREDREC_BODY_MAX + SHAREDREC_MAC_LEN)
/** A peer's fetch time may be this many seconds ahead of our clock (skew between nodes,
 * which NTP keeps far below a second); further ahead is refused on reading, and the
 * compare-and-set overwrites such a stored value. The bound is also how long a value planted
 * with a near-future fetch time (by anyone who can write to Redis) can hold back the fleet's
 * publications of a domain: 60 s rather than minutes. */
#define SHAREDREC_SKEW_MAX 60
/** Namespace of every key: several fleets (or formats) can share one Redis. */
#define SHAREDREC_KEY_PREFIX "mta-stsd:v1:policy:"
/** Namespace of the fetch leases (one node fetches a domain while the others wait). */
#define SHAREDREC_LEASE_PREFIX "mta-stsd:v1:lease:"
/** The pub/sub channel on which every publication is announced (payload: the value). */
#define SHAREDREC_CHANNEL "mta-stsd:v1:policy"
/** Room for a key: prefix + a domain + NUL. */
#define SHAREDREC_KEY_MAX (sizeof(SHAREDREC_KEY_PREFIX) + DNAME_MAX)
#define SHAREDREC_HOST_MAX 45  /**< an IPv6 address in text (INET6_ADDRSTRLEN - 1) */
#define SHAREDREC_PATH_MAX 107 /**< unix socket path bytes (sun_path - 1) */
#define SHAREDREC_DB_MAX 65535 /**< highest database number accepted */
#define SHAREDREC_PORT_DEFAULT 6379

/** Why a value was refused, or could not be written. */
enum sharedrec_err {
	SHAREDREC_OK = 0,
	SHAREDREC_NO_SPACE,     /**< output buffer too small */
	SHAREDREC_NOT_OURS,     /**< the magic is missing: not written by mta-stsd */
	SHAREDREC_BAD_VERSION,  /**< a format this build does not know */
	SHAREDREC_TOO_LARGE,    /**< over SHAREDREC_MAX_BYTES */
	SHAREDREC_CORRUPT,      /**< truncated, or the record inside does not decode */
	SHAREDREC_BAD_DOMAIN,   /**< the domain inside is not a normalised name */
	SHAREDREC_WRONG_DOMAIN, /**< the value is for another domain than its key says */
	SHAREDREC_NO_POLICY,    /**< the record holds no policy: nothing to share */
	SHAREDREC_FUTURE,       /**< fetched more than SHAREDREC_SKEW_MAX s in the future */
	SHAREDREC_EXPIRED,      /**< the policy has expired: nothing to apply */
	SHAREDREC_BAD_MAC,      /**< no trailer, or one that is not the body's HMAC under our key */
};

/** Where the shared cache lives (the shared_cache setting, parsed). */
struct sharedrec_url {
	int is_unix;                       /**< 1: unix socket at path; 0: TCP to host:port */
	char host[SHAREDREC_HOST_MAX + 1]; /**< IP address literal (no brackets) */
	unsigned port;                     /**< TCP port */
	char path[SHAREDREC_PATH_MAX + 1]; /**< absolute socket path */
	unsigned db;                       /**< database number for SELECT */
};

/** Why a shared_cache value was refused (sharedrec_url_strerror() gives the text). */
enum sharedrec_url_err {
	SHAREDREC_URL_OK = 0,
	SHAREDREC_URL_SCHEME,   /**< neither redis:// nor redis+unix: */
	SHAREDREC_URL_USERINFO, /**< user or password in the URL */
	SHAREDREC_URL_HOST,     /**< not an IPv4 address or a bracketed IPv6 address */
	SHAREDREC_URL_PORT,     /**< not 1..65535 */
	SHAREDREC_URL_DB,       /**< not a number 0..SHAREDREC_DB_MAX */
	SHAREDREC_URL_PATH,     /**< unix path empty, relative, too long or with control bytes */
	SHAREDREC_URL_QUERY,    /**< anything after the path but ?db=N */
};

/**
 * The Redis key of a policy domain: SHAREDREC_KEY_PREFIX + domain.
 * @param domain normalised policy domain (at most DNAME_MAX bytes)
 * @param out buffer of SHAREDREC_KEY_MAX bytes @param outsz its size
 * @return SHAREDREC_OK, SHAREDREC_BAD_DOMAIN (too long) or SHAREDREC_NO_SPACE
 */
enum sharedrec_err sharedrec_key(const char *domain, char *out, size_t outsz);

/**
 * The Redis key of a domain's fetch lease: SHAREDREC_LEASE_PREFIX + domain.
 * @param domain normalised policy domain @param out buffer of SHAREDREC_KEY_MAX bytes
 * @param outsz its size
 * @return SHAREDREC_OK, SHAREDREC_BAD_DOMAIN (too long) or SHAREDREC_NO_SPACE
 */
enum sharedrec_err sharedrec_lease_key(const char *domain, char *out, size_t outsz);

/**
 * Encode the shareable part of a record: the policy, its id and its fetch and expiry times.
 * What only concerns this node (checks, failures, "no policy" memories, request and refresh
 * times) is left out, so no node inherits another one's back-off or schedule. This is the
 * body only: the caller appends the SHAREDREC_MAC_LEN bytes of its HMAC.
 * @param domain normalised policy domain @param r record holding a policy
 * @param out buffer (SHAREDREC_BODY_MAX is always enough) @param outsz its size
 * @param outlen bytes written
 * @return SHAREDREC_OK, SHAREDREC_NO_POLICY, SHAREDREC_BAD_DOMAIN or SHAREDREC_NO_SPACE
 */
enum sharedrec_err sharedrec_encode(const char *domain, const struct cacherec *r, uint8_t *out,
                                    size_t outsz, size_t *outlen);

/**
 * Split a value read from Redis (or announced) into its body and its trailer, checking only
 * what needs no key: the size, the magic and the version. The caller checks that the trailer
 * (the SHAREDREC_MAC_LEN bytes at p + *bodylen) is the HMAC of the body under the fleet key
 * before it gives the body to sharedrec_decode(): an unauthenticated body is never decoded.
 * @param p bytes @param len their length @param bodylen filled with the body's length
 * @return SHAREDREC_OK, SHAREDREC_TOO_LARGE, SHAREDREC_NOT_OURS, SHAREDREC_BAD_VERSION (a
 *         version 1 value, say) or SHAREDREC_BAD_MAC (too short to hold a trailer)
 */
enum sharedrec_err sharedrec_body(const uint8_t *p, size_t len, size_t *bodylen);

/**
 * Decode the body of a value (sharedrec_body(), its trailer checked) with the bounded decoder
 * of cache records (cacherec_decode()), then check that it is for the expected domain, holds
 * a policy, is not expired and was not fetched in the future. Anything else is refused whole:
 * r is left in cacherec_init() state.
 * @param p body bytes (no trailer) @param len their length @param want domain the key named, or
 * NULL (pub/sub message: any domain) @param now current time
 * @param domain filled with the domain inside (caller storage) @param r the record
 * @return SHAREDREC_OK or the reason for refusing it
 */
enum sharedrec_err sharedrec_decode(const uint8_t *p, size_t len, const char *want, int64_t now,
                                    char domain[DNAME_MAX + 1], struct cacherec *r);

/**
 * Take a peer's record into the local one by the rule of cacherec_merge(): the later fetch
 * wins, and nothing is extended without a fetch (an equal or older fetch changes nothing).
 * @param local record from the local cache (updated) @param peer record from sharedrec_decode()
 * @return 1 if local took the peer's policy, 0 if it is unchanged
 */
int sharedrec_merge(struct cacherec *local, const struct cacherec *peer);

/**
 * Parse a shared_cache value: redis://HOST[:PORT][/DB] (HOST an IPv4 address or [IPv6]; a
 * name is refused because hiredis would resolve it with a blocking call) or
 * redis+unix:/PATH[?db=N].
 * @param s text @param len its length @param u result (caller storage)
 * @return SHAREDREC_URL_OK or the reason
 */
enum sharedrec_url_err sharedrec_url_parse(const char *s, size_t len, struct sharedrec_url *u);

/** The Lua script of the compare-and-set publication (EVAL with 1 key and ARGV value, fetch
 * time, expiry time, channel, latest acceptable fetch time: now + SHAREDREC_SKEW_MAX): it
 * writes the value unless the stored one is of this format and was fetched as late or later
 * but not beyond ARGV[5] (Lua cannot check the trailer, so a stored value claiming a fetch
 * further ahead is treated as planted and overwritten), sets the key to expire with the
 * policy and publishes the value. */
extern const char sharedrec_cas_script[];

/** The Lua script of a lease request (EVAL with 2 keys: the record's, the lease's; ARGV: the
 * lease in ms, this node's token): returns the value (nil when absent or of another type) and
 * 1 if this call took the lease (SET NX PX, holding the token), 0 if another holds it. */
extern const char sharedrec_lease_script[];

/** The Lua script that frees a lease (EVAL with 1 key, the lease's; ARGV: the token): only
 * if it still holds this node's token, so a holder whose lease expired never frees the lease
 * another node took since. */
extern const char sharedrec_release_script[];

/** The Lua script of a poll (EVAL with 2 keys: the record's, the lease's): returns the value
 * (nil when absent or of another type) and whether the lease key exists (0 or 1). */
extern const char sharedrec_poll_script[];

/** @param err code @return static text */
const char *sharedrec_strerror(enum sharedrec_err err);

/** @param err code @return static text */
const char *sharedrec_url_strerror(enum sharedrec_url_err err);

#endif
