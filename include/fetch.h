/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_FETCH_H
#define MTASTSD_FETCH_H

#include <stddef.h>

struct event_base;
struct fetcher;
struct fetch;

/**
 * Completion of a policy fetch.
 * @param arg caller's argument
 * @param body the 200 text/plain body, or NULL on failure (borrowed for the call only)
 * @param len body length
 * @param why failure text (NULL on success; borrowed for the call only)
 */
typedef void fetch_cb(void *arg, const char *body, size_t len, const char *why);

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
 * GET https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 s3.3) from addrs, with SNI and
 * certificate/host-name verification for mta-sts.<domain>. Never completes synchronously.
 * @param f fetcher @param domain policy domain (normalised)
 * @param addrs comma-separated addresses as produced by the resolver
 * @param cb completion @param arg its argument
 * @return handle valid until the callback returns or fetch_cancel() is called
 */
struct fetch *fetch_start(struct fetcher *f, const char *domain, const char *addrs, fetch_cb *cb,
                          void *arg);

/** Cancel: the callback will not be called. @param h handle (invalid afterwards) */
void fetch_cancel(struct fetch *h);

#endif
