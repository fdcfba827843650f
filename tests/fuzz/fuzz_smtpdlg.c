/* SPDX-License-Identifier: MIT */
/*
 * The SMTP probe dialogue (smtpdlg.c) fed a server's bytes: the first byte cuts the input into
 * reads of 1..16 bytes, the rest is what the server sends. The machine consumes no more than
 * it is given, ends in DONE or FAILED once it says so, and its texts stay NUL-terminated.
 */
#include <string.h>

#include "fuzz.h"
#include "smtpdlg.h"

static void
check_texts(const struct smtpdlg *d)
{
	FUZZ_CHECK(memchr(d->banner, '\0', sizeof(d->banner)) != NULL);
	FUZZ_CHECK(memchr(d->last, '\0', sizeof(d->last)) != NULL);
	FUZZ_CHECK(memchr(d->out, '\0', sizeof(d->out)) != NULL);
	FUZZ_CHECK(memchr(d->why, '\0', sizeof(d->why)) != NULL);
	FUZZ_CHECK(d->linelen <= sizeof(d->line));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtpdlg d;
	const char *p;
	size_t len, chunk;
	enum smtpdlg_ev ev = SMTPDLG_EV_MORE;

	if (size < 1)
		return 0;
	chunk = (data[0] & 15) + 1;
	p = (const char *)data + 1;
	len = size - 1;
	smtpdlg_init(&d, "probe.example");
	while (len > 0) {
		size_t n = len < chunk ? len : chunk, used = 0;
		ev = smtpdlg_input(&d, p, n, &used);
		FUZZ_CHECK(used <= n);
		check_texts(&d);
		if (ev == SMTPDLG_EV_DONE || ev == SMTPDLG_EV_FAIL) {
			FUZZ_CHECK(d.st == SMTPDLG_DONE || d.st == SMTPDLG_FAILED);
			FUZZ_CHECK(ev != SMTPDLG_EV_FAIL || d.why[0] != '\0');
			return 0;
		}
		if (ev == SMTPDLG_EV_SEND) {
			size_t o = strlen(d.out);
			FUZZ_CHECK(o >= 2 && d.out[o - 2] == '\r' && d.out[o - 1] == '\n');
		}
		if (ev == SMTPDLG_EV_TLS) {
			FUZZ_CHECK(d.st == SMTPDLG_TLS && d.starttls);
			ev = smtpdlg_tls_up(&d);
			FUZZ_CHECK(ev == SMTPDLG_EV_SEND);
		}
		p += used;
		len -= used;
		/* MORE consumes what it was given; SEND may leave bytes only to fail on them. */
		if (ev == SMTPDLG_EV_MORE)
			FUZZ_CHECK(used == n);
	}
	ev = smtpdlg_eof(&d);
	/* A close after QUIT is as good as 221: DONE, the state stays QUIT. */
	FUZZ_CHECK((ev == SMTPDLG_EV_DONE && (d.st == SMTPDLG_DONE || d.st == SMTPDLG_QUIT)) ||
	           (ev == SMTPDLG_EV_FAIL && d.st == SMTPDLG_FAILED));
	check_texts(&d);
	return 0;
}
