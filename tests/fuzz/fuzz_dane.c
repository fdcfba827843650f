/* SPDX-License-Identifier: MIT */
/*
 * The DANE evaluation (dane.c) fed whole answers: the first input byte picks the destination
 * form (bracketed, AD trusted, port, name), the rest is the DNS message given as the answer to
 * every query the evaluation sends, in turn, until it is done. Whatever the answers, it ends,
 * and its result is a cache record that encodes and decodes to itself.
 */
#include <string.h>

#include "dane.h"
#include "fuzz.h"

#define NOW 1700000000

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dane_eval e;
	static struct danerec r, r2;
	static uint8_t enc[DANEREC_MAX_BYTES], enc2[DANEREC_MAX_BYTES];
	static const char *const names[] = {"example.com", "mx.example.com", "a.b.example"};
	struct dane_query q;
	size_t len, len2;
	unsigned answered = 0, flags;

	if (size < 1)
		return 0;
	flags = data[0];
	data++;
	size--;
	dane_init(&e, names[(flags >> 3) % 3], (flags & 4) ? 587 : 0, flags & 1, (flags & 2) != 0);
	for (;;) {
		unsigned tokens[DANE_INFLIGHT_MAX + 1], n = 0;
		while (dane_next(&e, &q)) {
			FUZZ_CHECK(n < DANE_INFLIGHT_MAX);
			FUZZ_CHECK(strlen(q.name) < DANE_QNAME_MAX);
			tokens[n++] = q.token;
		}
		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i++) {
			dane_answer(&e, tokens[i], data, size);
			/* An unknown or repeated token is ignored. */
			dane_answer(&e, tokens[i], data, size);
		}
		answered += n;
		/* MX + hosts x (A, AAAA, TLSA, TLSA at name): bounded. */
		FUZZ_CHECK(answered <= 1 + 4 * DANE_HOSTS_MAX);
	}
	FUZZ_CHECK(dane_done(&e));
	dane_result(&e, NOW, &r);
	FUZZ_CHECK(r.state <= DANE_ERROR);
	FUZZ_CHECK(r.n_hosts <= DANE_HOSTS_MAX && r.n_tlsa <= r.n_hosts);
	FUZZ_CHECK(r.expires >= NOW);
	FUZZ_CHECK((flags & 2) || r.state == DANE_INSECURE);
	FUZZ_CHECK(danerec_valid(&r, NOW, (flags & 2) != 0));
	FUZZ_CHECK(danerec_encode(&r, enc, sizeof(enc), &len) == DANEREC_OK);
	FUZZ_CHECK(danerec_decode(enc, len, &r2) == DANEREC_OK);
	FUZZ_CHECK(danerec_encode(&r2, enc2, sizeof(enc2), &len2) == DANEREC_OK);
	FUZZ_CHECK(len == len2 && memcmp(enc, enc2, len) == 0);
	return 0;
}
