/* SPDX-License-Identifier: MIT */
/*
 * smtpdlg: the client side of the SMTP dialogue of the STARTTLS probe of `mta-stsctl check`
 * (dimension 6): greeting, EHLO, STARTTLS, QUIT, and never MAIL FROM. Pure (P): bytes in,
 * events and command lines out; the socket and TLS belong to smtpprobe.c. It reads replies
 * (RFC 5321 s4.2: "ddd-text" continuation lines, "ddd text" last line, one code per reply),
 * accepts a bare LF as line end, extracts EHLO keywords (RFC 5321 s4.1.1.1) and looks for
 * STARTTLS (RFC 3207). Limits: SMTPDLG_LINE_MAX bytes per line, SMTPDLG_REPLY_LINES_MAX lines
 * per reply; passing either fails the dialogue, so a hostile server costs bounded memory (one
 * line) and, with the caller's deadline, bounded time. A server that talks before its turn
 * fails it too: a byte after the 220 to STARTTLS would otherwise be read as if it came through
 * TLS (RFC 3207 s4.2 and CVE-2011-0411, the plaintext command injection).
 */
#include "smtpdlg.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Copy a reply's text keeping printable ASCII (it is shown to the user). */
static void
text_copy(char *dst, size_t dstsz, const char *src, size_t len)
{
	size_t n = len < dstsz - 1 ? len : dstsz - 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[n] = '\0';
}

static enum smtpdlg_ev
fail(struct smtpdlg *d, const char *what)
{
	if (d->st == SMTPDLG_FAILED)
		return SMTPDLG_EV_FAIL;
	(void)snprintf(d->why, sizeof(d->why), "%s: %s", smtpdlg_state_name(d->st), what);
	d->failed_in = d->st;
	d->st = SMTPDLG_FAILED;
	return SMTPDLG_EV_FAIL;
}

static enum smtpdlg_ev
refused(struct smtpdlg *d)
{
	char what[SMTPDLG_TEXT_MAX + 40];

	(void)snprintf(what, sizeof(what), "refused: %s", d->last);
	return fail(d, what);
}

static enum smtpdlg_ev
send_cmd(struct smtpdlg *d, enum smtpdlg_state next, const char *cmd, const char *arg)
{
	int n = snprintf(d->out, sizeof(d->out), "%s%s%s\r\n", cmd, arg[0] ? " " : "", arg);

	if (n < 0 || (size_t)n >= sizeof(d->out))
		return fail(d, "command too long");
	d->st = next;
	return SMTPDLG_EV_SEND;
}

void
smtpdlg_init(struct smtpdlg *d, const char *helo)
{
	memset(d, 0, sizeof(*d));
	text_copy(d->helo, sizeof(d->helo), helo, strlen(helo));
	d->st = SMTPDLG_BANNER;
	d->failed_in = SMTPDLG_BANNER;
}

/* An EHLO keyword line (every line after the first): is it STARTTLS? */
static void
ehlo_keyword(struct smtpdlg *d, const char *t, size_t len)
{
	size_t k = 0;

	while (k < len && t[k] != ' ')
		k++;
	if (k == 0)
		return;
	d->n_ext++;
	if (k == 8 && strncasecmp(t, "STARTTLS", 8) == 0)
		d->starttls = 1;
}

/* The reply is complete: act on it. */
static enum smtpdlg_ev
reply_done(struct smtpdlg *d)
{
	int code = d->code;

	d->lines = 0;
	switch (d->st) {
	case SMTPDLG_BANNER:
		memcpy(d->banner, d->last, sizeof(d->banner));
		if (code != 220)
			return refused(d);
		return send_cmd(d, SMTPDLG_EHLO, "EHLO", d->helo);
	case SMTPDLG_EHLO:
		if (code != 250)
			return refused(d);
		/* No STARTTLS: end politely; the caller reads starttls == 0. */
		if (!d->starttls)
			return send_cmd(d, SMTPDLG_QUIT, "QUIT", "");
		return send_cmd(d, SMTPDLG_STARTTLS, "STARTTLS", "");
	case SMTPDLG_STARTTLS:
		if (code != 220)
			return refused(d);
		d->st = SMTPDLG_TLS;
		return SMTPDLG_EV_TLS;
	case SMTPDLG_QUIT:
		d->st = SMTPDLG_DONE;
		return SMTPDLG_EV_DONE;
	case SMTPDLG_TLS:
	case SMTPDLG_DONE:
	case SMTPDLG_FAILED:
		break;
	}
	return fail(d, "a reply nothing asked for");
}

/* One complete line (its end removed). */
static enum smtpdlg_ev
line_done(struct smtpdlg *d)
{
	const char *l = d->line;
	size_t len = d->linelen;
	char sep = len > 3 ? l[3] : ' ';
	int code;

	if (d->st == SMTPDLG_TLS || d->st == SMTPDLG_DONE)
		return fail(d, "data nothing asked for");
	if (len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' ||
	    l[2] > '9' || (sep != ' ' && sep != '-')) {
		char shown[40];

		text_copy(shown, sizeof(shown), l, len);
		return fail(d, d->lines == 0 && d->st == SMTPDLG_BANNER
		                   ? "not an SMTP greeting"
		                   : (shown[0] ? "malformed reply line" : "empty reply line"));
	}
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (d->lines == 0) {
		d->code = code;
		text_copy(d->last, sizeof(d->last), l, len);
	} else if (code != d->code) {
		return fail(d, "reply codes differ within one multi-line reply");
	}
	if (++d->lines > SMTPDLG_REPLY_LINES_MAX)
		return fail(d, "reply of more than 100 lines");
	if (d->st == SMTPDLG_EHLO && d->lines > 1 && len > 4)
		ehlo_keyword(d, l + 4, len - 4);
	if (sep == '-')
		return SMTPDLG_EV_MORE;
	return reply_done(d);
}

enum smtpdlg_ev
smtpdlg_input(struct smtpdlg *d, const char *p, size_t len, size_t *used)
{
	*used = 0;
	if (d->st == SMTPDLG_FAILED)
		return SMTPDLG_EV_FAIL;
	if (d->st == SMTPDLG_DONE)
		return SMTPDLG_EV_DONE;
	for (size_t i = 0; i < len; i++) {
		enum smtpdlg_ev ev;
		enum smtpdlg_state before;

		if (p[i] != '\n') {
			/* the cap counts the CRLF: the CR is kept until the LF comes */
			if (d->linelen + 1 >= SMTPDLG_LINE_MAX) {
				*used = i + 1;
				return fail(d, "reply line longer than 1000 bytes");
			}
			d->line[d->linelen++] = p[i];
			continue;
		}
		if (d->linelen > 0 && d->line[d->linelen - 1] == '\r')
			d->linelen--;
		before = d->st;
		ev = line_done(d);
		d->linelen = 0;
		if (ev == SMTPDLG_EV_MORE)
			continue;
		*used = i + 1;
		/* Nothing is pipelined: a server has nothing to say until our next command.
		 * After QUIT's reply, what follows does not matter. */
		if (i + 1 < len && ev != SMTPDLG_EV_DONE && ev != SMTPDLG_EV_FAIL) {
			*used = len;
			d->st = before; /* blame the reply, not the step it led to */
			return fail(d, "data after a reply, before the next command (pipelined "
			               "or injected)");
		}
		return ev;
	}
	*used = len;
	return SMTPDLG_EV_MORE;
}

enum smtpdlg_ev
smtpdlg_tls_up(struct smtpdlg *d)
{
	if (d->st != SMTPDLG_TLS)
		return fail(d, "TLS up out of turn");
	d->tls_up = 1;
	return send_cmd(d, SMTPDLG_QUIT, "QUIT", "");
}

enum smtpdlg_ev
smtpdlg_eof(struct smtpdlg *d)
{
	if (d->st == SMTPDLG_DONE || d->st == SMTPDLG_QUIT)
		return SMTPDLG_EV_DONE; /* after QUIT a close is as good as 221 */
	if (d->st == SMTPDLG_FAILED)
		return SMTPDLG_EV_FAIL;
	return fail(d, d->linelen > 0 ? "connection closed within a reply line"
	                              : "connection closed by the server");
}

const char *
smtpdlg_state_name(enum smtpdlg_state s)
{
	switch (s) {
	case SMTPDLG_BANNER:
		return "greeting";
	case SMTPDLG_EHLO:
		return "EHLO";
	case SMTPDLG_STARTTLS:
		return "STARTTLS";
	case SMTPDLG_TLS:
		return "TLS handshake";
	case SMTPDLG_QUIT:
		return "QUIT";
	case SMTPDLG_DONE:
		return "done";
	case SMTPDLG_FAILED:
		return "failed";
	}
	return "unknown";
}
