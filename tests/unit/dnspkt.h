/* SPDX-License-Identifier: MIT */
/*
 * Test helper shared by test_dnsmsg.c and test_dane.c: a DNS message built by hand, field by
 * field, in wire form. Include after <cmocka.h> (it asserts that the buffer is not overrun).
 */
#ifndef MTASTSD_TEST_DNSPKT_H
#define MTASTSD_TEST_DNSPKT_H

#include <stdint.h>
#include <string.h>

/** A packet under construction. */
struct pkt {
	uint8_t b[8192]; /**< bytes */
	size_t n;        /**< bytes used */
};

static inline void
put(struct pkt *k, const void *p, size_t n)
{
	assert_true(k->n + n <= sizeof(k->b));
	memcpy(k->b + k->n, p, n);
	k->n += n;
}

static inline void
put16(struct pkt *k, unsigned v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(k, x, 2);
}

static inline void
put32(struct pkt *k, uint32_t v)
{
	put16(k, v >> 16);
	put16(k, v & 0xffff);
}

/* An uncompressed name in wire form ("" is the root). */
static inline void
put_name(struct pkt *k, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		uint8_t lb = (uint8_t)l;
		put(k, &lb, 1);
		put(k, name, l);
		name += l + (dot ? 1 : 0);
	}
	put(k, "", 1);
}

#endif
