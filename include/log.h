/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_LOG_H
#define MTASTSD_LOG_H

#include <stddef.h>
#include <stdint.h>

/** At most one warning per (subject, event) in this many seconds; see log_warn_rl(). */
#define LOG_RATE_INTERVAL 60
/** Slots of the rate limiter (a hash table; a collision only lets a line through early). */
#define LOG_RATE_SLOTS 4096

/** Debug categories (bit mask). */
enum log_cat {
	LOG_CAT_SOCKETMAP = 1 << 0, /**< requests and replies */
	LOG_CAT_DNS = 1 << 1,       /**< c-ares queries */
	LOG_CAT_FETCH = 1 << 2,     /**< HTTPS fetches */
	LOG_CAT_CACHE = 1 << 3,     /**< LMDB */
	LOG_CAT_DECIDE = 1 << 4,    /**< decisions */
};

/**
 * Start logging. @param ident program name @param to_stderr 1: stderr, 0: syslog (facility mail)
 * @param debug_mask enabled log_cat bits
 */
void log_init(const char *ident, int to_stderr, unsigned debug_mask);
/** Reopen the log target (SIGHUP). */
void log_reopen(void);
/** @param mask new debug mask */
void log_set_debug(unsigned mask);
/** @param cat category @return 1 if debug logging for cat is on */
int log_debug_enabled(unsigned cat);

/** Operator must act. @param fmt printf format, key=value style */
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** One domain's trouble. @param fmt printf format */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/**
 * A warning about one subject (a domain, a destination, a client), rate-limited: at most one
 * line per LOG_RATE_INTERVAL seconds for each (subject, event); the lines held back are
 * counted, and the next one let through ends with " suppressed=N". A domain that fails again
 * and again, or a flood of bad requests, cannot drown the log.
 * Written as "KEYNAME=SUBJECT event=EVENT " followed by the formatted text.
 * @param keyname "domain", "destination" ... @param subject its value @param event event name
 * @param fmt printf format of the rest of the line
 */
void log_warn_rl(const char *keyname, const char *subject, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/**
 * The rate limiter's decision (log_warn_rl() asks it; exposed for tests).
 * @param subject subject @param event event @param now time
 * @param suppressed set to the lines held back since the last one let through
 * @return 1 to write the line, 0 to hold it back
 */
int log_rate_pass(const char *subject, const char *event, int64_t now, unsigned *suppressed);

/** An outage ends once no failure came for this many seconds; see log_outage_ok(). */
#define LOG_OUTAGE_QUIET 60

/**
 * A run of failures of one kind that every request may hit alike (cache writes on a full
 * disk): logged when it starts, counted while it lasts, logged once more when it is over.
 * Zero it to start. Successes in between (a small write that still fits) do not end it: only
 * a success LOG_OUTAGE_QUIET seconds after the last failure does, so a flapping failure
 * gives one line, not one per request.
 */
struct log_outage {
	int active;        /**< an outage is under way */
	int64_t last_fail; /**< time of its last failure */
	unsigned long n;   /**< failures since it began */
};

/**
 * A failure at now. @param o outage state @param now time
 * @return 1 when it begins an outage (the caller logs it), 0 while one lasts (counted)
 */
int log_outage_fail(struct log_outage *o, int64_t now);

/**
 * A success at now. @param o outage state @param now time
 * @param failed set, when the outage ends, to the failures it counted
 * @return 1 when it ends the outage (the caller logs that), else 0
 */
int log_outage_ok(struct log_outage *o, int64_t now, unsigned long *failed);

/** Policy learned, changed, expired; start/stop. @param fmt printf format */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Debug line, only when cat is enabled. @param cat category @param fmt printf format */
void log_debug(unsigned cat, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Make peer-supplied bytes safe for one log line: printable ASCII except '"' and '\\' kept,
 * everything else as \xNN, cut (with "...") to fit.
 * @param p bytes @param len length @param buf output @param bufsz its size (>= 4)
 * @return buf
 */
const char *log_escape(const char *p, size_t len, char *buf, size_t bufsz);

#endif
