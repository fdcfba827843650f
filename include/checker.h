/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_CHECKER_H
#define MTASTSD_CHECKER_H

#include "cfg.h"
#include "checkrule.h"

/** Seconds a check may take unless --timeout says: above the daemon's own discovery budget with
 * the default settings (2 x dns_timeout + fetch_timeout + 2 = 32 s), so that a policy host the
 * daemon would wait for is not reported as timed out. */
#define CHECKER_TIMEOUT_DEFAULT 40
#define CHECKER_TIMEOUT_MAX 90 /**< cap on --timeout (the daemon's discovery deadline) */
/** Seconds the plain-HTTP fetch from port 80 may take (within --timeout): it is information
 * only, and a firewall that silently drops port 80 must not hold the check up. */
#define CHECKER_HTTP_TIMEOUT 5

/** How to run a check. */
struct checker_params {
	const struct cfg *cfg; /**< resolver, CA file, timeouts, cache_dir, dnssec (borrowed) */
	unsigned timeout;      /**< seconds, 1..CHECKER_TIMEOUT_MAX, for every dimension */
	int no_smtp;           /**< 1: no connection to the MX hosts (--no-smtp) */
};

/**
 * Check a domain: run every implemented dimension side by side on one event loop with the
 * daemon's resolver, fetcher, DNS machine (discover.c, dane.c) and cache reader, each under
 * the deadline, then classify the raw results with checkrule.c. Blocks until done.
 * @param p parameters (borrowed for the call) @param domain normalised domain
 * @param r report (caller storage); aborted when the check could not run
 */
void checker_run(const struct checker_params *p, const char *domain, struct checkrule_report *r);

#endif
