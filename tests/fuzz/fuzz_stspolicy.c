/* SPDX-License-Identifier: MIT */
/* Policy bodies as fetched over HTTPS (stspolicy_parse), with what a valid policy promises. */
#include <string.h>

#include "dname.h"
#include "fuzz.h"
#include "stspolicy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct stspolicy pol;
	enum stspolicy_err e = stspolicy_parse((const char *)data, size, &pol);

	FUZZ_CHECK(stspolicy_strerror(e) != NULL);
	if (e != STSPOLICY_OK)
		return 0;
	FUZZ_CHECK(pol.mode == STSPOLICY_MODE_NONE || pol.mode == STSPOLICY_MODE_TESTING ||
	           pol.mode == STSPOLICY_MODE_ENFORCE);
	FUZZ_CHECK(pol.max_age <= STSPOLICY_MAX_AGE_MAX);
	FUZZ_CHECK(pol.n_mx <= STSPOLICY_MAX_MX);
	FUZZ_CHECK(pol.mode == STSPOLICY_MODE_NONE || pol.n_mx > 0);
	for (unsigned i = 0; i < pol.n_mx; i++) {
		const char *m = pol.mx[i];
		size_t n = strlen(m);
		FUZZ_CHECK(n > 0 && n <= DNAME_MAX && m[n - 1] != '.');
		for (size_t k = 0; k < n; k++)
			FUZZ_CHECK(!(m[k] >= 'A' && m[k] <= 'Z'));
		/* A plain pattern matches itself, a wildcard one more label, never the base. */
		if (strncmp(m, "*.", 2) == 0) {
			char host[DNAME_MAX + 8];
			if (n + 1 <= DNAME_MAX) {
				snprintf(host, sizeof(host), "a%s", m + 1);
				FUZZ_CHECK(stspolicy_mx_match(m, host) == 1);
			}
			FUZZ_CHECK(stspolicy_mx_match(m, m + 2) == 0);
		} else {
			FUZZ_CHECK(stspolicy_mx_match(m, m) == 1);
		}
	}
	return 0;
}
