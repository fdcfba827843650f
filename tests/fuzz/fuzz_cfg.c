/* SPDX-License-Identifier: MIT */
/*
 * The configuration file (cfg_parse): any text gives a configuration or a "line N: ..." error,
 * and a configuration is freed whole (a leak fails the run).
 */
#include <string.h>

#include "cfg.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	char *text;
	struct cfg *c;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	c = cfg_parse(text, err, sizeof(err));
	if (c == NULL) {
		FUZZ_CHECK(err[0] != '\0');
	} else {
		FUZZ_CHECK(cfg_ref(c) == c);
		cfg_unref(c);
		cfg_unref(c);
	}
	free(text);
	return 0;
}
