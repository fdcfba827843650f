/* SPDX-License-Identifier: MIT */
/*
 * Values read from the fleet's shared cache or its pub/sub channel (sharedrec_body's split of
 * a whole value, sharedrec_decode of a body), and the same bytes as a shared_cache URL. A value
 * accepted holds an unexpired policy, re-encodes to bytes that decode to the same record, and
 * merging it is idempotent: taken once into an empty record, never again (no extension without a
 * fetch).
 */
#include <string.h>

#include "fuzz.h"
#include "sharedrec.h"

#define NOW 1700000000

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cacherec r, r2, local;
	static uint8_t enc[SHAREDREC_MAX_BYTES];
	char dom[DNAME_MAX + 1], dom2[DNAME_MAX + 1];
	struct sharedrec_url u;
	enum sharedrec_err e = sharedrec_decode(data, size, NULL, NOW, dom, &r);
	size_t len, body;
	enum sharedrec_err eb = sharedrec_body(data, size, &body);

	/* A body, when split off, leaves exactly a trailer behind. */
	FUZZ_CHECK(eb == SHAREDREC_OK ? body + SHAREDREC_MAC_LEN == size && body >= 5 : body == 0);
	FUZZ_CHECK(sharedrec_strerror(e) != NULL && sharedrec_strerror(eb) != NULL);
	FUZZ_CHECK(sharedrec_url_strerror(sharedrec_url_parse((const char *)data, size, &u)) !=
	           NULL);
	if (e != SHAREDREC_OK) {
		FUZZ_CHECK(!r.has_policy && dom[0] == '\0');
		return 0;
	}
	FUZZ_CHECK(r.has_policy && r.expires > NOW && r.fetched <= NOW + SHAREDREC_SKEW_MAX);
	FUZZ_CHECK(size <= SHAREDREC_BODY_MAX && strlen(dom) <= DNAME_MAX);
	FUZZ_CHECK(sharedrec_encode(dom, &r, enc, sizeof(enc), &len) == SHAREDREC_OK);
	FUZZ_CHECK(sharedrec_decode(enc, len, dom, NOW, dom2, &r2) == SHAREDREC_OK);
	FUZZ_CHECK(strcmp(dom, dom2) == 0 && strcmp(r.id, r2.id) == 0);
	FUZZ_CHECK(r.fetched == r2.fetched && r.expires == r2.expires);
	cacherec_init(&local);
	FUZZ_CHECK(sharedrec_merge(&local, &r) == 1);
	FUZZ_CHECK(sharedrec_merge(&local, &r2) == 0 && local.expires == r.expires);
	return 0;
}
