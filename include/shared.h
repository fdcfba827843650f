/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_SHARED_H
#define MTASTSD_SHARED_H

#include <stddef.h>

#include "cacherec.h"
#include "cfg.h"

struct event_base;
struct metrics;
struct shared;
struct shared_get;

#define SHARED_SECRET_MAX 512       /**< bytes of the password file's first line */
#define SHARED_BACKOFF_MIN_MS 500   /**< first wait before reconnecting */
#define SHARED_BACKOFF_MAX_MS 30000 /**< longest wait before reconnecting */
#define SHARED_CONNECT_MIN_MS 1000  /**< a connection and its handshake get at least this */
#define SHARED_TIMEOUTS_MAX 3       /**< calls timed out in a row before the link is dropped */
#define SHARED_POLL_MS 100 /**< a node waiting on another's lease reads the record this often */

#define SHARED_FLEET_KEY_MIN 32   /**< bytes of secret the fleet key must have at least */
#define SHARED_FLEET_KEY_MAX 1024 /**< bytes of a fleet key file (more is refused) */

/** The fleet's key from shared_cache_key_file: every value is authenticated under it. */
struct shared_fleet_key {
	unsigned char key[SHARED_FLEET_KEY_MAX]; /**< the file's bytes, trailing newlines cut */
	size_t len; /**< SHARED_FLEET_KEY_MIN .. SHARED_FLEET_KEY_MAX once read */
};

/** The AUTH credentials from shared_cache_password_file. */
struct shared_secret {
	char user[SHARED_SECRET_MAX + 1]; /**< ACL user, "" for the default user */
	char pass[SHARED_SECRET_MAX + 1]; /**< password, "" for no AUTH */
};

/**
 * A read from the shared cache ended.
 * @param arg caller's argument
 * @param rec the domain's record (decoded, checked; borrowed for the call), or NULL when
 *            Redis had no usable answer in time (none, refused, error, timeout)
 */
typedef void shared_get_cb(void *arg, const struct cacherec *rec);

/**
 * A lease request or a poll ended.
 * @param arg caller's argument
 * @param rec the domain's record as Redis holds it now (decoded, checked; borrowed for the
 *            call), or NULL
 * @param lease lease request: 1 this node took the lease (it fetches unless rec will do),
 *              0 another node holds it (wait for its record); poll: 1 the lease is still
 *              held, 0 it is gone; either: -1 no answer in time (fetch, as without leases)
 */
typedef void shared_lease_cb(void *arg, const struct cacherec *rec, int lease);

/**
 * Another node (or this one) announced a record.
 * @param arg caller's argument @param domain its domain @param rec the record (decoded and
 *            checked; borrowed for the call)
 */
typedef void shared_recv_cb(void *arg, const char *domain, const struct cacherec *rec);

/**
 * Read shared_cache_password_file: its first line is PASSWORD, or USER PASSWORD.
 * @param path file @param out result (caller storage) @param err message @param errsz its size
 * @return 0, or -1 with err set (unreadable, empty, longer than SHARED_SECRET_MAX)
 */
int shared_secret_read(const char *path, struct shared_secret *out, char *err, size_t errsz);

/**
 * Read shared_cache_key_file: the fleet's key, the whole file but its trailing CR/LF bytes
 * (e.g. the base64 text of `openssl rand -base64 48`).
 * @param path file @param out result (caller storage; wipe with explicit_bzero())
 * @param err message @param errsz its size
 * @return 0, or -1 with err set (unreadable, shorter than SHARED_FLEET_KEY_MIN bytes, longer
 *         than SHARED_FLEET_KEY_MAX)
 */
int shared_fleet_key_read(const char *path, struct shared_fleet_key *out, char *err, size_t errsz);

/**
 * The fleet key must not be the Redis password: whoever may talk to Redis knows that one.
 * @param key fleet key @param secret AUTH credentials, or NULL
 * @param err message @param errsz its size @return 0, or -1 with err set
 */
int shared_fleet_key_check(const struct shared_fleet_key *key, const struct shared_secret *secret,
                           char *err, size_t errsz);

/**
 * Start the shared cache: two connections (commands; announcements) are opened in the
 * background and kept up with a back-off; nothing here waits for them.
 * @param base loop @param cfg settings (shared_cache set; read now, not kept)
 * @param secret AUTH credentials, or NULL (copied)
 * @param key the fleet key (copied): values are written with its HMAC, and read or received
 *        ones without the right HMAC are ignored
 * @param m counters, or NULL @param err message @param errsz its size
 * @return shared cache, caller frees with shared_free(), or NULL with err set
 */
struct shared *shared_new(struct event_base *base, const struct cfg *cfg,
                          const struct shared_secret *secret, const struct shared_fleet_key *key,
                          struct metrics *m, char *err, size_t errsz);

/**
 * Where announced records go (pub/sub); until set they are counted and dropped.
 * @param sh shared cache @param cb callback @param arg its argument
 */
void shared_on_record(struct shared *sh, shared_recv_cb *cb, void *arg);

/**
 * Read a domain's record. cb is called once, never from this call, within
 * shared_cache_timeout.
 * @param sh shared cache @param domain normalised domain @param cb completion @param arg its
 *        argument
 * @return handle, valid until cb returns or shared_get_cancel(); NULL when Redis cannot be
 *         asked now (no connection): cb is then never called
 */
struct shared_get *shared_get_start(struct shared *sh, const char *domain, shared_get_cb *cb,
                                    void *arg);

/**
 * Read a domain's record and ask for its fetch lease (SET NX PX, shared_lease_ms() long) in
 * one step (a Lua script): one node of the fleet fetches, the others wait for its record, and
 * a record published just before is seen. cb is called once, never from this call, within
 * shared_cache_timeout.
 * @param sh shared cache @param domain normalised domain @param cb completion @param arg its
 *        argument
 * @return handle (cancel with shared_get_cancel()), or NULL when leases are off or Redis
 *         cannot be asked now: cb is then never called, and the caller fetches
 */
struct shared_get *shared_lease_start(struct shared *sh, const char *domain, shared_lease_cb *cb,
                                      void *arg);

/**
 * While another node holds the lease: read the domain's record and whether the lease is still
 * held, in one step (a Lua script). cb is called once, never from this call, within
 * shared_cache_timeout.
 * @param sh shared cache @param domain normalised domain @param cb completion @param arg its
 *        argument
 * @return handle (cancel with shared_get_cancel()), or NULL when Redis cannot be asked now
 */
struct shared_get *shared_poll_start(struct shared *sh, const char *domain, shared_lease_cb *cb,
                                     void *arg);

/**
 * The lease holder's fetch ended (published, or failed), or its discovery was cancelled: free
 * the lease at once, so nodes waiting on it stop waiting (fire and forget).
 * @param sh shared cache @param domain normalised domain
 */
void shared_lease_release(struct shared *sh, const char *domain);

/** @param sh shared cache @return lease length in ms (fetch_timeout + 1 s), 0 when off */
unsigned shared_lease_ms(const struct shared *sh);

/** Count a wait on another node's lease (metrics). @param sh shared cache */
void shared_lease_waited(struct shared *sh);

/** Cancel a read or a lease request (cb is not called). @param g handle or NULL */
void shared_get_cancel(struct shared_get *g);

/**
 * Offer a freshly fetched record to the fleet: written only if Redis holds no record fetched
 * as late (compare-and-set), then announced. Nothing waits for it; the outcome is counted.
 * @param sh shared cache @param domain normalised domain @param rec record with a policy
 */
void shared_publish(struct shared *sh, const char *domain, const struct cacherec *rec);

/** Close the connections; pending reads must have been cancelled. @param sh or NULL */
void shared_free(struct shared *sh);

#endif
