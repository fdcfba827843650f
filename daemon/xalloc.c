/* SPDX-License-Identifier: MIT */
/*
 * xalloc: allocation that aborts on out-of-memory, the INVARIANT() failure path, and the one
 * checked integer parser. Pure (P): no I/O except the message written just before abort().
 * Every size the daemon allocates is capped by its caller, so OOM here means the host is
 * broken, not that input was large.
 */
#include "xalloc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void
xalloc_invariant_failed(const char *expr, const char *file, int line)
{
	fprintf(stderr, "mta-stsd: invariant failed: %s at %s:%d\n", expr, file, line);
	abort();
}

static _Noreturn void
oom(size_t n)
{
	fprintf(stderr, "mta-stsd: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom(n * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom(n);
	return q;
}

char *
xstrndup(const char *p, size_t n)
{
	char *q = xmalloc(n + 1);
	memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

int
parse_uint(const char *p, size_t len, unsigned long long min, unsigned long long max,
           unsigned long long *out)
{
	unsigned long long v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d;
		if (p[i] < '0' || p[i] > '9')
			return -1;
		d = (unsigned)(p[i] - '0');
		/* Stop as soon as the value passes max, so no length of digits can overflow. */
		if (v > (ULLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + d;
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}
