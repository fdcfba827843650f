/* SPDX-License-Identifier: MIT */
/*
 * DNS state records as read back from LMDB (danerec_decode): what decodes is valid (states,
 * counts, host names), re-encodes, and the canonical encoding is a fixed point.
 */
#include <string.h>

#include "dane.h"
#include "dname.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct danerec r, r2;
	static uint8_t enc[DANEREC_MAX_BYTES], enc2[DANEREC_MAX_BYTES];
	size_t len, len2;

	if (danerec_decode(data, size, &r) != DANEREC_OK)
		return 0;
	FUZZ_CHECK(r.state <= DANE_ERROR);
	FUZZ_CHECK(r.n_hosts <= DANE_HOSTS_MAX && r.n_tlsa <= r.n_hosts);
	FUZZ_CHECK(memchr(r.why, '\0', sizeof(r.why)) != NULL);
	for (unsigned i = 0; i < r.n_hosts; i++)
		FUZZ_CHECK(strlen(r.hosts[i]) > 0 && strlen(r.hosts[i]) <= DNAME_MAX);
	FUZZ_CHECK(danerec_encode(&r, enc, sizeof(enc), &len) == DANEREC_OK);
	FUZZ_CHECK(danerec_decode(enc, len, &r2) == DANEREC_OK);
	FUZZ_CHECK(danerec_encode(&r2, enc2, sizeof(enc2), &len2) == DANEREC_OK);
	FUZZ_CHECK(len == len2 && memcmp(enc, enc2, len) == 0);
	FUZZ_CHECK(r.state == r2.state && r.expires == r2.expires && r.n_hosts == r2.n_hosts);
	return 0;
}
