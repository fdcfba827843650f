/* SPDX-License-Identifier: MIT */
/*
 * log: one key=value line per event, to syslog (facility mail) or to stderr in the foreground.
 * Effectful (E). Levels: err (operator must act), warn (one domain's trouble), info (policy
 * learned/changed/expired), debug per category. Peer text must go through log_escape().
 * Warnings about one subject are rate-limited per (subject, event) by a fixed table of
 * LOG_RATE_SLOTS (no allocation; a collision only lets a line through early).
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const char *log_ident = "mta-stsd";
static struct log_rate {
	uint64_t h; /* hash of subject and event; 0: empty */
	int64_t last;
	unsigned held;
} log_rate[LOG_RATE_SLOTS];
static int log_stderr = 1;
static unsigned log_mask;

void
log_init(const char *ident, int to_stderr, unsigned debug_mask)
{
	log_ident = ident;
	log_stderr = to_stderr;
	log_mask = debug_mask;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_reopen(void)
{
	if (!log_stderr) {
		closelog();
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

void
log_set_debug(unsigned mask)
{
	log_mask = mask;
}

int
log_debug_enabled(unsigned cat)
{
	return (log_mask & cat) != 0;
}

static void
log_vwrite(int prio, const char *level, const char *fmt, va_list ap)
{
	char line[2048];

	if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
		return;
	if (log_stderr) {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		if (localtime_r(&now, &tm) == NULL ||
		    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
			ts[0] = '\0';
		fprintf(stderr, "%s %s level=%s %s\n", ts, log_ident, level, line);
	} else {
		syslog(prio, "level=%s %s", level, line);
	}
}

#define LOG_DEFINE(fn, prio, level)                                                                \
	void fn(const char *fmt, ...)                                                              \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vwrite(prio, level, fmt, ap);                                                  \
		va_end(ap);                                                                        \
	}

LOG_DEFINE(log_err, LOG_ERR, "err")
LOG_DEFINE(log_warn, LOG_WARNING, "warn")
LOG_DEFINE(log_info, LOG_INFO, "info")

static uint64_t
log_hash(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u; /* FNV-1a, 64 bits */
	return (h ^ 0xff) * 1099511628211u;                   /* separator: "ab"+"c" != "a"+"bc" */
}

int
log_rate_pass(const char *subject, const char *event, int64_t now, unsigned *suppressed)
{
	uint64_t h = log_hash(log_hash(14695981039346656037u, subject), event) | 1;
	struct log_rate *r = &log_rate[h % LOG_RATE_SLOTS];

	*suppressed = 0;
	if (r->h != h) { /* first time, or the slot held another pair */
		r->h = h;
		r->last = now;
		r->held = 0;
		return 1;
	}
	if (now - r->last < LOG_RATE_INTERVAL && now >= r->last) {
		r->held++;
		return 0;
	}
	*suppressed = r->held;
	r->last = now;
	r->held = 0;
	return 1;
}

int
log_outage_fail(struct log_outage *o, int64_t now)
{
	o->n++;
	o->last_fail = now;
	if (o->active)
		return 0;
	o->active = 1;
	return 1;
}

int
log_outage_ok(struct log_outage *o, int64_t now, unsigned long *failed)
{
	/* a clock stepped back counts as quiet time passed: never stuck in an outage */
	if (!o->active || (now - o->last_fail < LOG_OUTAGE_QUIET && now >= o->last_fail))
		return 0;
	*failed = o->n;
	o->active = 0;
	o->n = 0;
	return 1;
}

void
log_warn_rl(const char *keyname, const char *subject, const char *event, const char *fmt, ...)
{
	char rest[1536];
	unsigned held;
	va_list ap;
	int n;

	if (!log_rate_pass(subject, event, (int64_t)time(NULL), &held))
		return;
	va_start(ap, fmt);
	n = vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	if (n < 0)
		rest[0] = '\0';
	else if ((size_t)n >= sizeof(rest))
		memcpy(rest + sizeof(rest) - 4, "...", 4); /* say it was cut */
	if (held > 0)
		log_warn("%s=%s event=%s %s suppressed=%u", keyname, subject, event, rest, held);
	else
		log_warn("%s=%s event=%s %s", keyname, subject, event, rest);
}

void
log_debug(unsigned cat, const char *fmt, ...)
{
	va_list ap;

	if ((log_mask & cat) == 0)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, "debug", fmt, ap);
	va_end(ap);
}

const char *
log_escape(const char *p, size_t len, char *buf, size_t bufsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		int plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
		size_t need = plain ? 1 : 4;
		if (o + need + 4 > bufsz) { /* room for "..." and NUL */
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (plain) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}
