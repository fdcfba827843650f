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
 * Start the shared cache: two connections (commands; announcements) are opened in the
 * background and kept up with a back-off; nothing here waits for them.
 * @param base loop @param cfg settings (shared_cache set; read now, not kept)
 * @param secret AUTH credentials, or NULL (copied)
 * @param m counters, or NULL @param err message @param errsz its size
 * @return shared cache, caller frees with shared_free(), or NULL with err set
 */
struct shared *shared_new(struct event_base *base, const struct cfg *cfg,
                          const struct shared_secret *secret, struct metrics *m, char *err,
                          size_t errsz);

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

/** Cancel a read (cb is not called). @param g handle or NULL */
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
