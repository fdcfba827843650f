/* SPDX-License-Identifier: MIT */
/*
 * MTA-STS cache records as read back from LMDB (cacherec_decode). What decodes re-encodes, and
 * the canonical encoding is a fixed point: encode(decode(encode(r))) == encode(r).
 */
#include <string.h>

#include "cacherec.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cacherec r, r2;
	static uint8_t enc[CACHEREC_MAX_BYTES], enc2[CACHEREC_MAX_BYTES];
	size_t len, len2;
	enum cacherec_err e = cacherec_decode(data, size, &r);

	FUZZ_CHECK(cacherec_strerror(e) != NULL);
	if (e != CACHEREC_OK)
		return 0;
	if (r.has_policy) {
		FUZZ_CHECK(r.policy.n_mx <= STSPOLICY_MAX_MX);
		FUZZ_CHECK(r.policy.max_age <= STSPOLICY_MAX_AGE_MAX);
	}
	FUZZ_CHECK(cacherec_encode(&r, enc, sizeof(enc), &len) == CACHEREC_OK);
	FUZZ_CHECK(len <= CACHEREC_MAX_BYTES);
	FUZZ_CHECK(cacherec_decode(enc, len, &r2) == CACHEREC_OK);
	FUZZ_CHECK(cacherec_encode(&r2, enc2, sizeof(enc2), &len2) == CACHEREC_OK);
	FUZZ_CHECK(len == len2 && memcmp(enc, enc2, len) == 0);
	FUZZ_CHECK(r.has_policy == r2.has_policy && strcmp(r.id, r2.id) == 0);
	FUZZ_CHECK(r.fetched == r2.fetched && r.expires == r2.expires && r.due == r2.due);
	/* The view of a record does not change through the round trip. */
	FUZZ_CHECK(cacherec_view(&r, 1700000000) == cacherec_view(&r2, 1700000000));
	return 0;
}
