/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_XALLOC_H
#define MTASTSD_XALLOC_H

#include <stddef.h>

/** Abort with a message when a broken invariant is detected (kept in release builds). */
#define INVARIANT(x)                                                                               \
	do {                                                                                       \
		if (!(x))                                                                          \
			xalloc_invariant_failed(#x, __FILE__, __LINE__);                           \
	} while (0)

/** Report a failed invariant and abort. @param expr text @param file source @param line line */
_Noreturn void xalloc_invariant_failed(const char *expr, const char *file, int line);

/** malloc() that aborts on out-of-memory. @param n bytes @return new block, caller frees with
 * free() */
void *xmalloc(size_t n);
/** calloc() that aborts on out-of-memory. @param n count @param size member size @return zeroed
 * block */
void *xcalloc(size_t n, size_t size);
/** realloc() that aborts on out-of-memory. @param p block or NULL @param n bytes @return block */
void *xrealloc(void *p, size_t n);
/** strndup() that aborts on out-of-memory. @param p text @param n bytes @return NUL-terminated copy
 */
char *xstrndup(const char *p, size_t n);

/**
 * Parse an unsigned decimal integer, digits only, in [min, max].
 * @param p text (not NUL-terminated) @param len its length
 * @param min lowest accepted value @param max highest accepted value
 * @param out result on success
 * @return 0 on success, -1 on empty input, a non-digit, or a value out of range
 */
int parse_uint(const char *p, size_t len, unsigned long long min, unsigned long long max,
               unsigned long long *out);

#endif
