/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer targets: an invariant that does not hold is a bug even without a
 * crash, so it aborts (libFuzzer saves the input as a crash-* file).
 */
#ifndef MTASTSD_FUZZ_H
#define MTASTSD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
