/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_SMTPPROBE_H
#define MTASTSD_SMTPPROBE_H

#include <event2/event.h>

#include "checkrule.h"
#include "resolver.h"

#define SMTPPROBE_PORT 25         /**< SMTP relay port (RFC 5321 s4.5.4.2 does not change it) */
#define SMTPPROBE_PARALLEL 4      /**< hosts probed at once */
#define SMTPPROBE_HOST_TIMEOUT 10 /**< seconds one host may take, address lookup included */
#define SMTPPROBE_READ_MAX 16384  /**< bytes buffered from a server before the dialogue */

struct smtpprobe;

/** Called once, when every host has been probed (never from smtpprobe_start()). */
typedef void smtpprobe_done_cb(void *arg);

/**
 * Start probing the STARTTLS of MX hosts: for each, its addresses (A, then AAAA) through res,
 * a TCP connection to port 25, greeting, EHLO, STARTTLS, a TLS handshake verified against
 * ca_file (or OpenSSL's default paths when NULL), QUIT. Never MAIL FROM.
 * SMTPPROBE_PARALLEL hosts at a time, each under its own deadline.
 * @param base event loop (borrowed, outlives the probe) @param res resolver (borrowed, idem)
 * @param ca_file CA bundle or NULL (copied) @param hosts host names (copied)
 * @param n count (0..DANE_HOSTS_MAX) @param timeout seconds per host (1..SMTPPROBE_HOST_TIMEOUT)
 * @param done completion callback @param arg its argument
 * @param err error text when NULL is returned @param errsz its size
 * @return the probe (free with smtpprobe_free()), or NULL when TLS cannot be set up
 */
struct smtpprobe *smtpprobe_start(struct event_base *base, struct resolver *res,
                                  const char *ca_file, const char (*hosts)[DNAME_MAX + 1],
                                  unsigned n, unsigned timeout, smtpprobe_done_cb *done, void *arg,
                                  char *err, size_t errsz);

/** @param p probe @return 1 while a host is not finished, else 0 */
int smtpprobe_running(const struct smtpprobe *p);

/**
 * The results so far, one per host in the order given; a host not finished says so.
 * @param p probe @param n count (out) @return results, borrowed until smtpprobe_free()
 */
const struct checkrule_smtp *smtpprobe_results(const struct smtpprobe *p, unsigned *n);

/** Cancel what is in flight, close connections, free. @param p probe or NULL */
void smtpprobe_free(struct smtpprobe *p);

#endif
