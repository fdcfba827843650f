/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_CACHE_H
#define MTASTSD_CACHE_H

#include "cacherec.h"
#include "dane.h"

struct cache;

#define CACHE_MAP_DEFAULT (64UL << 20) /**< initial map: 64 MiB, ~200k typical records */

/** Longest key: a "host#dane[]:port" DNS record key (dane_key()); domains are shorter. */
#define CACHE_KEY_MAX (DNAME_MAX + 32)

/** Kinds of policy records counted by the cache: the policy's mode, or none cached. */
enum cache_kind {
	CACHE_KIND_MODE_NONE = 0,    /**< policy in mode none (STSPOLICY_MODE_NONE) */
	CACHE_KIND_MODE_TESTING = 1, /**< policy in mode testing */
	CACHE_KIND_MODE_ENFORCE = 2, /**< policy in mode enforce */
	CACHE_KIND_NO_POLICY = 3,    /**< a record without a policy (remembered no-policy) */
	CACHE_KIND_N
};

/** Outcome of a cache read. */
enum cache_res {
	CACHE_HIT = 0, /**< record decoded */
	CACHE_MISS,    /**< no record (or an undecodable one, which is logged) */
	CACHE_ERR,     /**< LMDB failure */
};

/**
 * Open (creating if needed, mode 0700) the LMDB environment in dir.
 * @param dir directory @param readonly 1 to open for reading only (mta-stsctl)
 * @param mapsize initial map size (CACHE_MAP_DEFAULT); a larger existing file wins
 * @param err message on failure @param errsz its size
 * @return cache, caller frees with cache_close(); NULL on failure
 */
struct cache *cache_open(const char *dir, int readonly, size_t mapsize, char *err, size_t errsz);

/** @param mb [daemon] cache_map_mb @return that many MiB in bytes, clamped to what size_t and
 * the cache's ceiling allow (a 32-bit size_t cannot hold 16384 MiB) */
size_t cache_map_bytes(unsigned mb);

/** Close. @param c cache or NULL */
void cache_close(struct cache *c);

/**
 * Read the record of a policy domain in one read transaction (no write, no allocation).
 * @param c cache @param domain normalised domain @param out caller storage
 * @return CACHE_HIT, CACHE_MISS or CACHE_ERR
 */
enum cache_res cache_get(struct cache *c, const char *domain, struct cacherec *out);

/**
 * Start a batch: until cache_batch_end(), every write (cache_put, cache_put_dane, cache_del,
 * cache_unindex) goes into one transaction, and reads see what it wrote. One commit (one
 * fsync) for many writes: the refresh scheduler's tick. Not with cache_walk()/cache_due().
 * @param c cache (no batch open) @return 0, or -1 (logged)
 */
int cache_batch_begin(struct cache *c);

/**
 * Commit the batch. If a write of it failed, or the commit does, nothing of it is stored
 * (LMDB's all or nothing), and a full map is grown for the next try.
 * @param c cache with a batch open @return 0 committed, -1 nothing stored (logged, unless
 *         the map was full and has grown: write again)
 */
int cache_batch_end(struct cache *c);

/**
 * Write the record of a policy domain in its own committed transaction, growing the map
 * when it is full. Its index entry follows rec->due (none when 0).
 * @param c cache @param domain normalised domain @param rec record
 * @return 0 on success, -1 on failure (logged)
 */
int cache_put(struct cache *c, const char *domain, const struct cacherec *rec);

/**
 * Let the reads that follow (cache_get(), cache_get_dane()) share one snapshot until
 * cache_release(): one transaction renewal for the records of one answer instead of one each,
 * and both read as of the same moment. Not around writes, cache_due() or cache_walk().
 * @param c cache
 */
void cache_hold(struct cache *c);

/** End cache_hold(): the snapshot is let go. @param c cache */
void cache_release(struct cache *c);

/**
 * Read the DNS (DANE) record stored under key (dane_key()), as cache_get().
 * @param c cache @param key dane_key() key @param out caller storage
 * @return CACHE_HIT, CACHE_MISS or CACHE_ERR
 */
enum cache_res cache_get_dane(struct cache *c, const char *key, struct danerec *out);

/**
 * Write the DNS (DANE) record under key, as cache_put(); its index entry is at
 * refresh_dns_due(), when the scheduler deletes it unless it was rewritten.
 * @param c cache @param key dane_key() key @param rec record
 * @return 0 on success, -1 on failure (logged)
 */
int cache_put_dane(struct cache *c, const char *key, const struct danerec *rec);

/**
 * Delete a domain's record, or a DNS record (dane_key() key), and its index entry.
 * @param c cache @param domain domain or DNS record key
 * @return 1 deleted, 0 absent, -1 error
 */
int cache_del(struct cache *c, const char *domain);

/**
 * The policy records by kind (valid or expired alike), kept exact by every write in its own
 * transaction (counted once by the first writer that opens an environment without counts).
 * @param c cache @param out counts by enum cache_kind
 * @return 0, or -1 when they cannot be read (read-only open of an environment without them)
 */
int cache_counts(struct cache *c, uint64_t out[CACHE_KIND_N]);

/**
 * Remove one index entry that no longer matches a record (its record is gone, or carries
 * another due time). @param c cache @param due the entry's time @param domain its domain
 * @return 1 removed, 0 absent, -1 error
 */
int cache_unindex(struct cache *c, int64_t due, const char *domain);

/**
 * Visit the index of due times in order: every entry due at or before until, at most max.
 * cache_put() keeps one entry per record whose due member is set (and removes the old one in
 * the same transaction), so the next due records are found without reading the others.
 * @param c cache @param until last due time wanted @param max most entries to visit
 * @param fn called per entry with the domain or DNS record key (at most CACHE_KEY_MAX bytes,
 *        borrowed for the call) and its due time; it may
 *        not write to the cache; a non-zero return stops the walk
 * @param arg its argument
 * @param next set to the due time of the first entry not visited, 0 if there is none
 * @return 0, or -1 on LMDB failure
 */
int cache_due(struct cache *c, int64_t until, unsigned max,
              int (*fn)(void *arg, const char *domain, int64_t due), void *arg, int64_t *next);

/**
 * Visit every policy record in key order (damaged ones skipped), each with the DNS record of
 * its domain's default destination (dane_key(domain, 0, 0)), both read in one read
 * transaction: a consistent snapshot, however the daemon writes meanwhile.
 * @param c cache
 * @param fn called per record with the domain, the record and the DNS record (NULL when there
 *        is none or it is damaged), all borrowed for the call; it may not use the cache; a
 *        non-zero return stops the walk
 * @param arg its argument
 * @return 0, or -1 on LMDB failure
 */
int cache_walk(struct cache *c,
               int (*fn)(void *arg, const char *domain, const struct cacherec *rec,
                         const struct danerec *dns),
               void *arg);

/**
 * Delete a domain's record and its index entry, as cache_del(), only if cond accepts the record
 * as it is at that moment: it is read and tested in the write transaction, so a record another
 * process rewrote since the caller looked at it is judged afresh. A damaged record is kept.
 * @param c cache opened for writing @param domain domain
 * @param cond called once with the domain and the record (borrowed for the call); it may not
 *        use the cache; non-zero to delete
 * @param arg its argument
 * @return 1 deleted, 0 absent or kept, -1 error (logged)
 */
int cache_del_if(struct cache *c, const char *domain,
                 int (*cond)(void *arg, const char *domain, const struct cacherec *rec), void *arg);

#endif
