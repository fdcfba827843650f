/* SPDX-License-Identifier: MIT */
/*
 * log: one key=value line per event, to syslog (facility mail) or to stderr in the foreground.
 * Effectful (E). Levels: err (operator must act), warn (one domain's trouble), info (policy
 * learned/changed/expired), debug per category. Peer text must go through log_escape().
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const char *log_ident = "mta-stsd";
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
