/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_STRBUF_H
#define MTASTSD_STRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define STRBUF_U64_DIGITS 20 /**< decimal digits of the largest uint64_t */

/** Bounded growable text buffer; data is always NUL-terminated. */
struct strbuf {
	char *data; /**< owned; NULL until first append */
	size_t len; /**< bytes used, without the NUL */
	size_t cap; /**< bytes allocated */
	size_t max; /**< hard cap on len; exceeding it is an error, never a silent cut */
};

/** Initialise an empty buffer. @param sb caller storage @param max hard cap on length */
void strbuf_init(struct strbuf *sb, size_t max);
/** Release the buffer's storage. @param sb buffer (may be re-initialised after) */
void strbuf_fini(struct strbuf *sb);
/** Empty the buffer, keeping its storage. @param sb buffer */
void strbuf_reset(struct strbuf *sb);
/** Append bytes. @param sb buffer @param p bytes @param n count @return 0, or -1 if max would be
 * passed (buffer unchanged) */
int strbuf_append(struct strbuf *sb, const char *p, size_t n);
/** Append a NUL-terminated string. @param sb buffer @param s text @return as strbuf_append() */
int strbuf_puts(struct strbuf *sb, const char *s);
/** Append formatted text. @param sb buffer @param fmt printf format @return as strbuf_append() */
int strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Decimal digits of v, without snprintf() (for keys and prefixes built on every request).
 * @param v value @param out its digits, no NUL @return how many (1..STRBUF_U64_DIGITS) */
size_t strbuf_utoa(uint64_t v, char out[STRBUF_U64_DIGITS]);

#endif
