/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_CACHEREC_H
#define MTASTSD_CACHEREC_H

#include <stddef.h>
#include <stdint.h>

#include "stspolicy.h"
#include "stsrecord.h"

/** Encoding version byte (3: queried and due; 2: fail_until; 1 and 2 are still read). */
#define CACHEREC_VERSION 3
/** RFC 8461 s5.1: wait at least 5 minutes before refetching a policy id that failed. */
#define CACHEREC_RETRY_AFTER 300
#define CACHEREC_MAX_BYTES 20000 /**< upper bound of an encoded record */

/** Everything the cache knows about one policy domain (RFC 8461 s5, s5.1, s10). */
struct cacherec {
	int has_policy;                       /**< 1 if policy/id/fetched/expires are set */
	struct stspolicy policy;              /**< last valid policy fetched */
	char id[STSRECORD_ID_MAX + 1];        /**< TXT id the policy was fetched for */
	int64_t fetched;                      /**< time of the last successful fetch */
	int64_t expires;                      /**< fetched + max_age */
	int64_t checked;                      /**< time of the last TXT check */
	int64_t failed;                       /**< time of the last failed fetch, 0 if none */
	char failed_id[STSRECORD_ID_MAX + 1]; /**< TXT id whose fetch failed */
	int64_t none_until;                   /**< "no policy" remembered until then (0: not) */
	int64_t fail_until; /**< a failed TXT lookup remembered until then (0: not) */
	int64_t queried;    /**< last time a request needed the record (refresh_active) */
	int64_t due;        /**< when the refresh scheduler looks at it again (0: not scheduled) */
};

/** What the cache lets the daemon answer without any network I/O. */
enum cacherec_view {
	CACHEREC_VIEW_UNKNOWN = 0, /**< discover in the foreground */
	CACHEREC_VIEW_POLICY,      /**< a valid, unexpired policy applies */
	CACHEREC_VIEW_NO_POLICY,   /**< "no policy" is still remembered */
	CACHEREC_VIEW_TXT_FAILED,  /**< a failed TXT lookup is still remembered */
};

/** Encoding errors. */
enum cacherec_err {
	CACHEREC_OK = 0,
	CACHEREC_NO_SPACE,    /**< output buffer too small */
	CACHEREC_BAD_VERSION, /**< unknown version byte */
	CACHEREC_CORRUPT,     /**< truncated or inconsistent bytes */
};

/** Set a record to "nothing known". @param r caller storage */
void cacherec_init(struct cacherec *r);

/**
 * Encode a record (versioned, little-endian, self-delimiting fields).
 * @param r record @param out buffer @param outsz its size @param outlen bytes written
 * @return CACHEREC_OK or CACHEREC_NO_SPACE
 */
enum cacherec_err cacherec_encode(const struct cacherec *r, uint8_t *out, size_t outsz,
                                  size_t *outlen);

/**
 * Decode a record; every field is validated (ids, mx patterns, max_age range), so a damaged
 * record is rejected rather than applied. On success every field is set, the mx slots past
 * n_mx to the empty string (the bytes after a string's NUL are left as they were); on failure
 * r is cleared as cacherec_init() does.
 * @param p bytes @param len length @param r result (caller storage)
 * @return CACHEREC_OK, CACHEREC_BAD_VERSION or CACHEREC_CORRUPT
 */
enum cacherec_err cacherec_decode(const uint8_t *p, size_t len, struct cacherec *r);

/** @param r record @param now current time @return what may be answered from it alone */
enum cacherec_view cacherec_view(const struct cacherec *r, int64_t now);

/**
 * @param r record with a valid policy @param now time @param txt_recheck seconds between checks
 * @return 1 if the TXT record should be re-checked in the background
 */
int cacherec_recheck_due(const struct cacherec *r, int64_t now, unsigned txt_recheck);

/**
 * RFC 8461 s5.1: is id in the back-off of a failed fetch (it failed less than
 * CACHEREC_RETRY_AFTER seconds ago)? Only that id is held back; a new one is fetched at once.
 * @param r record @param id TXT id @param now time @return 1 while it must not be fetched
 */
int cacherec_in_backoff(const struct cacherec *r, const char *id, int64_t now);

/**
 * Decide whether a policy fetch should follow a TXT answer carrying id.
 * True when nothing valid is cached, the id changed, the policy expired, or the policy is
 * older than refresh seconds; false while id is in its failure back-off (CACHEREC_RETRY_AFTER).
 * @param r record @param id TXT id just seen @param now time @param refresh proactive refresh age
 * @return 1 to fetch, 0 not to
 */
int cacherec_fetch_wanted(const struct cacherec *r, const char *id, int64_t now, unsigned refresh);

/**
 * Record that the TXT record was checked (it showed an STSv1 record, or the check failed while a
 * valid policy is cached), so the next background check waits txt_recheck seconds.
 * @param r record @param now time
 */
void cacherec_on_txt(struct cacherec *r, int64_t now);

/**
 * Record that no policy can be applied now: none published (no TXT / not exactly one STSv1
 * record), or the published id is in its fetch back-off. A cached policy is kept untouched
 * (RFC 8461 s5.1, TOFU); otherwise "no policy" is remembered for remember s.
 * @param r record @param now time @param remember seconds
 */
void cacherec_on_no_policy(struct cacherec *r, int64_t now, unsigned remember);

/**
 * Record a failed TXT lookup (SERVFAIL, timeout): never "no policy". A valid cached policy is
 * kept and the failure counts as a check; otherwise the failure is remembered for remember s,
 * so that a burst of queries for the domain costs one lookup, not one each.
 * @param r record @param now time @param remember seconds
 */
void cacherec_on_txt_fail(struct cacherec *r, int64_t now, unsigned remember);

/**
 * Record a successfully fetched valid policy: it replaces the cached one (mode none too);
 * expiry counts from now.
 * @param r record @param p policy @param id TXT id it was fetched for @param now time
 */
void cacherec_on_fetch_ok(struct cacherec *r, const struct stspolicy *p, const char *id,
                          int64_t now);

/**
 * Record a failed fetch or invalid policy for id; the cached policy is kept; with nothing
 * valid cached, "no policy" is remembered for remember s.
 * @param r record @param id TXT id @param now time @param remember seconds
 */
void cacherec_on_fetch_fail(struct cacherec *r, const char *id, int64_t now, unsigned remember);

/**
 * Merge the stored record into one about to be written over it: if the stored one holds a
 * policy fetched later, it replaces r whole (a slower discovery never undoes a newer fetch);
 * the later of the two request times is kept either way.
 * @param r record to write (updated) @param stored record read back from the cache
 */
void cacherec_merge(struct cacherec *r, const struct cacherec *stored);

/** @param err code @return static text */
const char *cacherec_strerror(enum cacherec_err err);

#endif
