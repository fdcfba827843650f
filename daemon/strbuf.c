/* SPDX-License-Identifier: MIT */
/*
 * strbuf: bounded growable text buffer. Pure (P): no I/O, no globals.
 * Owns sb->data; the text is always NUL-terminated once anything was appended.
 * Storage grows geometrically (x2) but never past max + 1 bytes; an append that would pass max
 * fails with -1 and leaves the contents unchanged: passing the cap is an error, never a cut.
 */
#include "strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define STRBUF_MIN_CAP 64 /* first allocation: most of our strings are short */

void
strbuf_init(struct strbuf *sb, size_t max)
{
	sb->data = NULL;
	sb->len = 0;
	sb->cap = 0;
	sb->max = max;
}

void
strbuf_fini(struct strbuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = 0;
	sb->cap = 0;
}

void
strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->data != NULL)
		sb->data[0] = '\0';
}

/*
 * May n more bytes be appended? Written as subtractions so a huge n cannot wrap; the second test
 * keeps room for the NUL even when max is SIZE_MAX.
 */
static int
strbuf_fits(const struct strbuf *sb, size_t n)
{
	return sb->len <= sb->max && n <= sb->max - sb->len && n < SIZE_MAX - sb->len;
}

/* Make room for n more bytes plus the NUL. Caller has checked strbuf_fits(). */
static void
strbuf_reserve(struct strbuf *sb, size_t n)
{
	size_t need = sb->len + n + 1; /* cannot overflow: see strbuf_fits() */
	size_t ncap;

	if (need <= sb->cap)
		return;
	ncap = sb->cap ? sb->cap : STRBUF_MIN_CAP;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	/* Never hold more than the cap allows: max bytes of text plus the NUL. */
	if (sb->max < SIZE_MAX && ncap > sb->max + 1)
		ncap = sb->max + 1;
	INVARIANT(ncap >= need);
	sb->data = xrealloc(sb->data, ncap);
	if (sb->cap == 0)
		sb->data[0] = '\0';
	sb->cap = ncap;
}

int
strbuf_append(struct strbuf *sb, const char *p, size_t n)
{
	if (!strbuf_fits(sb, n))
		return -1;
	strbuf_reserve(sb, n);
	if (n > 0)
		memcpy(sb->data + sb->len, p, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
	return 0;
}

int
strbuf_puts(struct strbuf *sb, const char *s)
{
	return strbuf_append(sb, s, strlen(s));
}

int
strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap, ap2;
	int r, w;

	/* First pass measures, so a failing append never touches the contents. */
	va_start(ap, fmt);
	va_copy(ap2, ap);
	r = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (r < 0 || !strbuf_fits(sb, (size_t)r)) {
		va_end(ap2);
		return -1;
	}
	strbuf_reserve(sb, (size_t)r);
	w = vsnprintf(sb->data + sb->len, (size_t)r + 1, fmt, ap2);
	va_end(ap2);
	if (w != r) {
		/* The arguments changed between passes (or the libc failed): drop the partial
		 * write. */
		sb->data[sb->len] = '\0';
		return -1;
	}
	sb->len += (size_t)r;
	return 0;
}

size_t
strbuf_utoa(uint64_t v, char out[STRBUF_U64_DIGITS])
{
	char tmp[STRBUF_U64_DIGITS];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}
