/* SPDX-License-Identifier: MIT */
/*
 * _mta-sts TXT records: the input as one record (stsrecord_parse), then cut at NUL bytes into
 * several records (stsrecord_select), as a TXT RRset arrives.
 */
#include <string.h>

#include "fuzz.h"
#include "stsrecord.h"

static void
check_id(const struct stsrecord *r)
{
	size_t n = strlen(r->id);
	FUZZ_CHECK(n >= 1 && n <= STSRECORD_ID_MAX);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((r->id[i] >= 'a' && r->id[i] <= 'z') ||
		           (r->id[i] >= 'A' && r->id[i] <= 'Z') ||
		           (r->id[i] >= '0' && r->id[i] <= '9'));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stsrecord r, r2;
	struct stsrecord_txt recs[STSRECORD_RECORDS_MAX + 2];
	const char *p = (const char *)data;
	size_t n = 0, start = 0;
	enum stsrecord_err e;

	e = stsrecord_parse(p, size, &r);
	if (e == STSRECORD_OK) {
		check_id(&r);
		/* Exactly one record selects the same id. */
		recs[0].p = p;
		recs[0].len = size;
		FUZZ_CHECK(stsrecord_select(recs, 1, &r2) == STSRECORD_OK);
		FUZZ_CHECK(strcmp(r.id, r2.id) == 0);
	}
	FUZZ_CHECK(stsrecord_strerror(e) != NULL);

	for (size_t i = 0; i <= size && n < sizeof(recs) / sizeof(recs[0]); i++)
		if (i == size || p[i] == '\0') {
			recs[n].p = p + start;
			recs[n].len = i - start;
			n++;
			start = i + 1;
		}
	e = stsrecord_select(recs, n, &r2);
	if (e == STSRECORD_OK)
		check_id(&r2);
	FUZZ_CHECK(stsrecord_strerror(e) != NULL);
	return 0;
}
