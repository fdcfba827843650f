/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_RESOLVER_H
#define MTASTSD_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct resolver;
struct resolver_query;

/**
 * Raw completion. @param arg caller's argument
 * @param msg the DNS response as received (borrowed for the call only), or NULL on failure
 * (timeout, SERVFAIL/REFUSED after every try, network error) @param len its length
 * @param why error text when msg is NULL (static)
 */
typedef void resolver_raw_cb(void *arg, const uint8_t *msg, size_t len, const char *why);

/**
 * Create a c-ares channel driven by base.
 * @param base event loop (borrowed, must outlive the resolver)
 * @param servers "ip[:port],..." or NULL for /etc/resolv.conf
 * @param timeout_s seconds per query attempt
 * @param err message on failure @param errsz its size
 * @return resolver, caller frees with resolver_free(); NULL on failure
 */
struct resolver *resolver_new(struct event_base *base, const char *servers, unsigned timeout_s,
                              char *err, size_t errsz);

/** Destroy; pending queries complete with a failure unless cancelled. @param r resolver or NULL */
void resolver_free(struct resolver *r);

/**
 * Send a query of our own making (dnsmsg_query(): RD and AD set, EDNS0, random id) for
 * (name, type) and hand back the raw answer, for dnsmsg_answer() to read: c-ares 1.18 has no
 * parser for TTLs of negative answers, MX with AD, TLSA and the like. NOERROR and NXDOMAIN
 * answers arrive as messages. Never completes synchronously.
 * @param r resolver @param name query name, no trailing dot ("" for the root) @param type RR type
 * @param cb completion @param arg its argument
 * @return handle valid until the callback returns or resolver_cancel() is called
 */
struct resolver_query *resolver_raw_start(struct resolver *r, const char *name, uint16_t type,
                                          resolver_raw_cb *cb, void *arg);

/** Cancel: the callback will not be called. @param q handle (invalid afterwards) */
void resolver_cancel(struct resolver_query *q);

/**
 * @param why the error text a completion got (or NULL)
 * @return 1 if it says the query timed out (for metrics), else 0
 */
int resolver_why_timeout(const char *why);

#endif
