/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_FETCH_H
#define MTASTSD_FETCH_H

#include <stddef.h>

#include "sts.h"

struct event_base;
struct fetcher;
struct fetch;

/**
 * Completion of a policy fetch.
 * @param arg caller's argument
 * @param r what came back: a transport error, or status, media type and body (everything
 * borrowed for the call only); sts_fetched() judges it
 */
typedef void fetch_cb(void *arg, const struct sts_response *r);

/**
 * Create the libcurl multi handle driven by base.
 * @param base event loop (borrowed) @param ca_file CA bundle or NULL for the system default
 * @param timeout_s total time per fetch @param err message on failure @param errsz its size
 * @return fetcher, caller frees with fetch_free(); NULL on failure
 */
struct fetcher *fetch_new(struct event_base *base, const char *ca_file, unsigned timeout_s,
                          char *err, size_t errsz);

/** Destroy; pending fetches are dropped without callback. @param f fetcher or NULL */
void fetch_free(struct fetcher *f);

/**
 * Forget the loaded trust anchors (at SIGHUP): the next fetch reads the CA bundle again, so
 * a certificate authority removed from it is trusted no longer. Fetches under way keep theirs.
 * @param f fetcher
 */
void fetch_reload_anchors(struct fetcher *f);

/**
 * GET https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 s3.3) from the addresses
 * sts.c found, with SNI and certificate/host-name verification for mta-sts.<domain>. Never
 * completes synchronously.
 * @param f fetcher @param req domain and addresses (copied)
 * @param cb completion @param arg its argument
 * @return handle valid until the callback returns or fetch_cancel() is called
 */
struct fetch *fetch_start(struct fetcher *f, const struct sts_fetch *req, fetch_cb *cb, void *arg);

/**
 * fetch_start(), and also record what the TLS handshake showed (protocol version, the
 * server certificate, why verification failed) in tls before cb is called, even when the
 * certificate is rejected. Verification, the transfer and its result are exactly those of
 * fetch_start(); only mta-stsctl check asks for this, the daemon never pays for it.
 * @param f fetcher @param req domain and addresses (copied)
 * @param tls caller storage, zeroed here, written until cb is called (or fetch_cancel())
 * @param cb completion @param arg its argument
 * @return handle as for fetch_start()
 */
struct fetch *fetch_start_tls(struct fetcher *f, const struct sts_fetch *req, struct sts_tls *tls,
                              fetch_cb *cb, void *arg);

#ifdef FETCH_PLAIN_HTTP
/* Built into mta-stsctl only (its objects are compiled with -DFETCH_PLAIN_HTTP; the daemon's
 * are not): the daemon cannot even name a plain-HTTP fetch, so it never makes one. */

/**
 * Completion of a plain-HTTP fetch.
 * @param arg caller's argument @param r as for fetch_cb
 * @param location the Location header of a 3xx answer (not followed), or NULL
 */
typedef void fetch_plain_cb(void *arg, const struct sts_response *r, const char *location);

/**
 * GET http://mta-sts.<domain>/.well-known/mta-sts.txt over plain HTTP on port 80 from the
 * same addresses, for mta-stsctl check to report what port 80 serves. Never a policy source
 * (RFC 8461 s3.3 requires HTTPS). No redirect is followed; the body cap, proxy and cache
 * rules are fetch_start()'s. Never completes synchronously.
 * @param f fetcher @param req domain and addresses (copied)
 * @param timeout_s total time, at most the fetcher's own (a shorter one is used as is)
 * @param cb completion @param arg its argument
 * @return handle valid until the callback returns or fetch_cancel() is called
 */
struct fetch *fetch_start_plain(struct fetcher *f, const struct sts_fetch *req, unsigned timeout_s,
                                fetch_plain_cb *cb, void *arg);
#endif

/** Cancel: the callback will not be called. @param h handle (invalid afterwards) */
void fetch_cancel(struct fetch *h);

#endif
