/* SPDX-License-Identifier: MIT */
/*
 * The socketmap request path as the server runs it on bytes from a client: netstrings read
 * one after another from the buffer, each payload split into name and key, each key classified.
 */
#include <string.h>

#include "fuzz.h"
#include "socketmap.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t len = size;

	while (len > 0) {
		const char *pl, *name, *key;
		size_t pl_len, consumed, name_len, key_len;
		enum socketmap_err e =
		    socketmap_decode(p, len, SOCKETMAP_REQUEST_MAX, &pl, &pl_len, &consumed);
		if (e != SOCKETMAP_OK)
			break;
		/* The payload lies inside what was consumed, framed by "<digits>:" and ",". */
		FUZZ_CHECK(consumed <= len && consumed >= pl_len + 3);
		FUZZ_CHECK(pl > p && pl + pl_len < p + consumed);
		FUZZ_CHECK(pl_len <= SOCKETMAP_REQUEST_MAX && p[consumed - 1] == ',');
		if (socketmap_split(pl, pl_len, &name, &name_len, &key, &key_len) == SOCKETMAP_OK) {
			struct socketmap_dest d;
			FUZZ_CHECK(name_len >= 1 && name_len <= SOCKETMAP_NAME_MAX && key_len >= 1);
			FUZZ_CHECK(name >= pl && key + key_len <= pl + pl_len);
			if (socketmap_classify(key, key_len, &d) == SOCKETMAP_KEY_DOMAIN) {
				struct socketmap_dest d2;
				size_t n = strlen(d.domain);
				/* A normalised domain is classified again as itself. */
				FUZZ_CHECK(n > 0 && n <= DNAME_MAX);
				FUZZ_CHECK(socketmap_classify(d.domain, n, &d2) ==
				           SOCKETMAP_KEY_DOMAIN);
				FUZZ_CHECK(strcmp(d.domain, d2.domain) == 0 && d2.port == 0);
			}
		}
		/* An encoded reply of the payload decodes back to the same bytes. */
		if (pl_len > 0) {
			static char out[SOCKETMAP_REPLY_MAX + 32];
			size_t outlen, c2, pl2_len;
			const char *pl2;
			if (socketmap_encode("OK", pl, pl_len, out, sizeof(out), &outlen) ==
			    SOCKETMAP_OK) {
				FUZZ_CHECK(socketmap_decode(out, outlen, SOCKETMAP_REPLY_MAX, &pl2,
				                            &pl2_len, &c2) == SOCKETMAP_OK);
				FUZZ_CHECK(c2 == outlen && pl2_len == pl_len + 3);
				FUZZ_CHECK(memcmp(pl2, "OK ", 3) == 0 &&
				           memcmp(pl2 + 3, pl, pl_len) == 0);
			}
		}
		p += consumed;
		len -= consumed;
	}
	return 0;
}
