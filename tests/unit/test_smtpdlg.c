/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for smtpdlg.c: the probe's SMTP dialogue fed byte strings as a server would send
 * them (whole, byte by byte, split anywhere), EHLO keyword extraction, and hostile servers:
 * overlong lines, missing line ends, 1000 EHLO lines, a greeting that never ends, codes that
 * change within a reply, data sent out of turn (the STARTTLS injection). Caps and errors, never
 * a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtpdlg.h"

#define EHLO_OK                                                                                    \
	"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n"

/* Feed s whole; return the event, with *used. */
static enum smtpdlg_ev
feed(struct smtpdlg *d, const char *s, size_t *used)
{
	return smtpdlg_input(d, s, strlen(s), used);
}

/* Feed s one byte at a time: every byte but the last must give SMTPDLG_EV_MORE. */
static enum smtpdlg_ev
feed_bytes(struct smtpdlg *d, const char *s)
{
	size_t n = strlen(s), used;

	for (size_t i = 0; i + 1 < n; i++) {
		assert_int_equal(smtpdlg_input(d, s + i, 1, &used), SMTPDLG_EV_MORE);
		assert_int_equal(used, 1);
	}
	return smtpdlg_input(d, s + n - 1, 1, &used);
}

static void
test_full(void **state)
{
	struct smtpdlg d;
	size_t used;

	(void)state;
	smtpdlg_init(&d, "checker.test");
	assert_int_equal(feed(&d, "220 mx.test ESMTP\r\n", &used), SMTPDLG_EV_SEND);
	assert_int_equal(used, 19);
	assert_string_equal(d.out, "EHLO checker.test\r\n");
	assert_string_equal(d.banner, "220 mx.test ESMTP");
	assert_int_equal(feed(&d, EHLO_OK, &used), SMTPDLG_EV_SEND);
	assert_int_equal(used, strlen(EHLO_OK));
	assert_true(d.starttls);
	assert_int_equal(d.n_ext, 4);
	assert_string_equal(d.out, "STARTTLS\r\n");
	assert_int_equal(feed(&d, "220 2.0.0 Ready to start TLS\r\n", &used), SMTPDLG_EV_TLS);
	assert_int_equal(d.st, SMTPDLG_TLS);
	assert_int_equal(smtpdlg_tls_up(&d), SMTPDLG_EV_SEND);
	assert_string_equal(d.out, "QUIT\r\n");
	assert_int_equal(feed(&d, "221 2.0.0 Bye\r\n", &used), SMTPDLG_EV_DONE);
	assert_true(d.tls_up);
	assert_int_equal(feed(&d, "x", &used), SMTPDLG_EV_DONE); /* over: no more input */
	assert_int_equal(used, 0);
}

static void
test_bytewise(void **state)
{
	struct smtpdlg d;

	(void)state;
	smtpdlg_init(&d, "c.test");
	assert_int_equal(feed_bytes(&d, "220-first\r\n220-second\r\n220 last\r\n"),
	                 SMTPDLG_EV_SEND);
	assert_string_equal(d.banner, "220-first");
	/* bare LF ends lines too; a keyword in lower case; "250" alone is a last line */
	assert_int_equal(feed_bytes(&d, "250-mx\n250-starttls\n250\n"), SMTPDLG_EV_SEND);
	assert_true(d.starttls);
	assert_string_equal(d.out, "STARTTLS\r\n");
}

static void
test_no_starttls(void **state)
{
	struct smtpdlg d;
	size_t used;

	(void)state;
	smtpdlg_init(&d, "c.test");
	assert_int_equal(feed(&d, "220 x\r\n", &used), SMTPDLG_EV_SEND);
	/* STARTTLSX and a STARTTLS in the greeting line are not the keyword */
	assert_int_equal(
	    feed(&d, "250-STARTTLS greets you\r\n250-STARTTLSX\r\n250 SIZE\r\n", &used),
	    SMTPDLG_EV_SEND);
	assert_false(d.starttls);
	assert_string_equal(d.out, "QUIT\r\n");
	assert_int_equal(d.st, SMTPDLG_QUIT);
	/* the server may just close after QUIT */
	assert_int_equal(smtpdlg_eof(&d), SMTPDLG_EV_DONE);
}

static void
test_refusals(void **state)
{
	struct smtpdlg d;
	size_t used;

	(void)state;
	smtpdlg_init(&d, "c.test");
	assert_int_equal(feed(&d, "554 5.3.2 go away\r\n", &used), SMTPDLG_EV_FAIL);
	assert_int_equal(d.failed_in, SMTPDLG_BANNER);
	assert_string_equal(d.why, "greeting: refused: 554 5.3.2 go away");
	assert_int_equal(feed(&d, "220 x\r\n", &used), SMTPDLG_EV_FAIL); /* failed stays failed */

	smtpdlg_init(&d, "c.test");
	assert_int_equal(feed(&d, "220 x\r\n", &used), SMTPDLG_EV_SEND);
	assert_int_equal(feed(&d, "502 no EHLO\r\n", &used), SMTPDLG_EV_FAIL);
	assert_int_equal(d.failed_in, SMTPDLG_EHLO);

	smtpdlg_init(&d, "c.test");
	assert_int_equal(feed(&d, "220 x\r\n", &used), SMTPDLG_EV_SEND);
	assert_int_equal(feed(&d, EHLO_OK, &used), SMTPDLG_EV_SEND);
	assert_int_equal(feed(&d, "454 4.7.0 TLS not available\r\n", &used), SMTPDLG_EV_FAIL);
	assert_int_equal(d.failed_in, SMTPDLG_STARTTLS);
	assert_string_equal(d.why, "STARTTLS: refused: 454 4.7.0 TLS not available");

	/* closed before the greeting, or within a line */
	smtpdlg_init(&d, "c.test");
	assert_int_equal(smtpdlg_eof(&d), SMTPDLG_EV_FAIL);
	assert_string_equal(d.why, "greeting: connection closed by the server");
	smtpdlg_init(&d, "c.test");
	assert_int_equal(feed(&d, "220 x", &used), SMTPDLG_EV_MORE);
	assert_int_equal(smtpdlg_eof(&d), SMTPDLG_EV_FAIL);
	assert_string_equal(d.why, "greeting: connection closed within a reply line");
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
	    "hello\r\n",          /* not a greeting */
	    "22\r\n",             /* too short */
	    "220x text\r\n",      /* bad separator */
	    "120 text\r\n",       /* 1yz is not an SMTP reply */
	    "2a0 text\r\n",       /* not digits */
	    "\r\n",               /* empty */
	    "220-a\r\n221 b\r\n", /* codes differ */
	    "220 a\r\n250 b\r\n", /* a second reply out of turn */
	    NULL,
	};
	struct smtpdlg d;
	size_t used;

	(void)state;
	for (int i = 0; bad[i] != NULL; i++) {
		smtpdlg_init(&d, "c.test");
		assert_int_equal(feed(&d, bad[i], &used), SMTPDLG_EV_FAIL);
		assert_int_equal(d.st, SMTPDLG_FAILED);
		assert_true(strlen(d.why) > 0);
	}
	/* a NUL or control bytes in a reply are shown as '?' */
	smtpdlg_init(&d, "c.test");
	assert_int_equal(smtpdlg_input(&d, "554 a\0b\x1b\r\n", 10, &used), SMTPDLG_EV_FAIL);
	assert_string_equal(d.why, "greeting: refused: 554 a?b?");
}

/* RFC 3207 s4.2: a byte after 220 to STARTTLS in the same read is an injection attempt. */
static void
test_injection(void **state)
{
	struct smtpdlg d;
	size_t used;

	(void)state;
	smtpdlg_init(&d, "c.test");
	assert_int_equal(feed(&d, "220 x\r\n", &used), SMTPDLG_EV_SEND);
	assert_int_equal(feed(&d, EHLO_OK, &used), SMTPDLG_EV_SEND);
	assert_int_equal(feed(&d, "220 go ahead\r\n250 injected\r\n", &used), SMTPDLG_EV_FAIL);
	assert_int_equal(d.failed_in, SMTPDLG_STARTTLS);
	assert_non_null(strstr(d.why, "data after a reply"));
	/* and in TLS state the plaintext dialogue takes no line at all */
	smtpdlg_init(&d, "c.test");
	assert_int_equal(feed(&d, "220 x\r\n", &used), SMTPDLG_EV_SEND);
	assert_int_equal(feed(&d, EHLO_OK, &used), SMTPDLG_EV_SEND);
	assert_int_equal(feed(&d, "220 go ahead\r\n", &used), SMTPDLG_EV_TLS);
	assert_int_equal(feed(&d, "250 x\r\n", &used), SMTPDLG_EV_FAIL);
	/* TLS up out of turn */
	smtpdlg_init(&d, "c.test");
	assert_int_equal(smtpdlg_tls_up(&d), SMTPDLG_EV_FAIL);
}

/* A line at the cap: 998 bytes + CRLF = SMTPDLG_LINE_MAX; one more byte is refused. */
static void
test_line_cap(void **state)
{
	struct smtpdlg d;
	char *s = malloc(SMTPDLG_LINE_MAX + 8);
	size_t used;

	(void)state;
	assert_non_null(s);
	/* 998 bytes of text + CRLF = 1000: accepted */
	memset(s, 'a', SMTPDLG_LINE_MAX);
	memcpy(s, "220 ", 4);
	memcpy(s + SMTPDLG_LINE_MAX - 2, "\r\n", 3);
	smtpdlg_init(&d, "c.test");
	assert_int_equal(feed(&d, s, &used), SMTPDLG_EV_SEND);
	/* one more byte: refused at the cap, without a line end ever coming */
	memset(s, 'a', SMTPDLG_LINE_MAX + 4);
	memcpy(s, "220 ", 4);
	memcpy(s + SMTPDLG_LINE_MAX - 1, "\r\n", 3);
	smtpdlg_init(&d, "c.test");
	assert_int_equal(feed(&d, s, &used), SMTPDLG_EV_FAIL);
	assert_string_equal(d.why, "greeting: reply line longer than 1000 bytes");
	assert_true(used <= SMTPDLG_LINE_MAX);
	/* a banner with no line end at all: fails once the cap is passed, fed byte by byte */
	smtpdlg_init(&d, "c.test");
	{
		enum smtpdlg_ev ev = SMTPDLG_EV_MORE;
		unsigned i;

		for (i = 0; i < 5000 && ev == SMTPDLG_EV_MORE; i++)
			ev = smtpdlg_input(&d, "2", 1, &used);
		assert_int_equal(ev, SMTPDLG_EV_FAIL);
		assert_true(i <= SMTPDLG_LINE_MAX);
	}
	free(s);
}

/* 1000 EHLO lines, and a greeting that never ends: the lines cap. */
static void
test_lines_cap(void **state)
{
	struct smtpdlg d;
	char line[32];
	size_t used;
	enum smtpdlg_ev ev = SMTPDLG_EV_MORE;
	unsigned i;

	(void)state;
	smtpdlg_init(&d, "c.test");
	assert_int_equal(feed(&d, "220 x\r\n", &used), SMTPDLG_EV_SEND);
	for (i = 0; i < 1000 && ev == SMTPDLG_EV_MORE; i++) {
		(void)snprintf(line, sizeof(line), "250-EXT%u\r\n", i);
		ev = feed(&d, line, &used);
	}
	assert_int_equal(ev, SMTPDLG_EV_FAIL);
	assert_int_equal(i, SMTPDLG_REPLY_LINES_MAX + 1);
	assert_string_equal(d.why, "EHLO: reply of more than 100 lines");
	/* exactly at the cap: accepted */
	smtpdlg_init(&d, "c.test");
	assert_int_equal(feed(&d, "220 x\r\n", &used), SMTPDLG_EV_SEND);
	for (i = 1; i < SMTPDLG_REPLY_LINES_MAX; i++)
		assert_int_equal(feed(&d, "250-X\r\n", &used), SMTPDLG_EV_MORE);
	assert_int_equal(feed(&d, "250 STARTTLS\r\n", &used), SMTPDLG_EV_SEND);
	assert_true(d.starttls);
	/* a greeting of endless continuation lines */
	smtpdlg_init(&d, "c.test");
	ev = SMTPDLG_EV_MORE;
	for (i = 0; i < 100000 && ev == SMTPDLG_EV_MORE; i++)
		ev = feed(&d, "220-wait\r\n", &used);
	assert_int_equal(ev, SMTPDLG_EV_FAIL);
	assert_true(i <= SMTPDLG_REPLY_LINES_MAX + 1);
}

/* Random splits of a whole good dialogue give the same result as whole reads. */
static void
test_splits(void **state)
{
	static const char *const server[] = {"220-a\r\n220 b\r\n", EHLO_OK, "220 go\r\n"};
	static const enum smtpdlg_ev want[] = {SMTPDLG_EV_SEND, SMTPDLG_EV_SEND, SMTPDLG_EV_TLS};

	(void)state;
	srand(42);
	for (int round = 0; round < 200; round++) {
		struct smtpdlg d;

		smtpdlg_init(&d, "c.test");
		for (int k = 0; k < 3; k++) {
			const char *s = server[k];
			size_t n = strlen(s), off = 0, used;
			enum smtpdlg_ev ev = SMTPDLG_EV_MORE;

			while (off < n) {
				size_t chunk = 1 + (size_t)rand() % (n - off);

				ev = smtpdlg_input(&d, s + off, chunk, &used);
				assert_int_equal(used, chunk);
				off += chunk;
				if (off < n)
					assert_int_equal(ev, SMTPDLG_EV_MORE);
			}
			assert_int_equal(ev, want[k]);
		}
	}
}

static void
test_helo(void **state)
{
	struct smtpdlg d;
	char name[400];
	size_t used;

	(void)state;
	memset(name, 'h', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	smtpdlg_init(&d, name); /* cut to fit, never overflows */
	assert_int_equal(strlen(d.helo), sizeof(d.helo) - 1);
	assert_int_equal(feed(&d, "220 x\r\n", &used), SMTPDLG_EV_SEND);
	assert_int_equal(strlen(d.out), 5 + 255 + 2);
	assert_string_equal(smtpdlg_state_name(SMTPDLG_STARTTLS), "STARTTLS");
	assert_string_equal(smtpdlg_state_name((enum smtpdlg_state)99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),        cmocka_unit_test(test_bytewise),
	    cmocka_unit_test(test_no_starttls), cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_malformed),   cmocka_unit_test(test_injection),
	    cmocka_unit_test(test_line_cap),    cmocka_unit_test(test_lines_cap),
	    cmocka_unit_test(test_splits),      cmocka_unit_test(test_helo),
	};

	return cmocka_run_group_tests_name("smtpdlg", tests, NULL, NULL);
}
