/* SPDX-License-Identifier: MIT */
/*
 * mta-stsctl check's classifiers of outside bytes: the input as the TXT answer at
 * _mta-sts.<domain> and at _smtp._tls.<domain> (DNS messages), as a policy body and as one
 * TLS-RPT record; then the report is written as text and JSON.
 */
#include <string.h>

#include "checkrule.h"
#include "fuzz.h"
#include "strbuf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct checkrule_report r;
	static struct stspolicy pol;
	struct stsrecord rec;
	struct strbuf sb;
	const char *why = NULL;
	char buf[256];

	checkrule_init(&r, "example.com");
	(void)checkrule_record(&r, data, size, NULL, &rec);
	checkrule_tlsrpt(&r, data, size, NULL);
	if (size <= 65536)
		(void)checkrule_policy(&r, (const char *)data, size, &pol);
	if (size >= 10 && memcmp(data, "v=TLSRPTv1", 10) == 0) {
		int ok = checkrule_tlsrpt_valid((const char *)data, size, &why, buf, sizeof(buf));
		FUZZ_CHECK(ok == 1 || (ok == 0 && why != NULL));
	}
	FUZZ_CHECK(checkrule_score(&r) <= 100);
	strbuf_init(&sb, CHECKRULE_OUT_MAX);
	FUZZ_CHECK(checkrule_text(&r, &sb) == 0);
	strbuf_reset(&sb);
	FUZZ_CHECK(checkrule_json(&r, &sb) == 0);
	strbuf_fini(&sb);
	return 0;
}
