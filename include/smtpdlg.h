/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_SMTPDLG_H
#define MTASTSD_SMTPDLG_H

#include <stddef.h>

#define SMTPDLG_LINE_MAX 1000       /**< reply line, CRLF included (RFC 5321 s4.5.3.1.5: 512) */
#define SMTPDLG_REPLY_LINES_MAX 100 /**< lines in one multi-line reply (EHLO has ~15) */
#define SMTPDLG_TEXT_MAX 160        /**< kept text of a reply's first line, NUL included */
#define SMTPDLG_OUT_MAX 300         /**< a command to send, NUL included */

/** Where the client side of the dialogue is. */
enum smtpdlg_state {
	SMTPDLG_BANNER = 0, /**< waiting for the 220 greeting */
	SMTPDLG_EHLO,       /**< EHLO sent, waiting for 250 */
	SMTPDLG_STARTTLS,   /**< STARTTLS sent, waiting for 220 */
	SMTPDLG_TLS,        /**< the caller runs the TLS handshake, then calls smtpdlg_tls_up() */
	SMTPDLG_QUIT,       /**< QUIT sent, waiting for 221 (any reply ends it) */
	SMTPDLG_DONE,       /**< the dialogue is over; see starttls / tls_up */
	SMTPDLG_FAILED,     /**< protocol error or refusal; see why */
};

/** What the caller must do after smtpdlg_input(). */
enum smtpdlg_ev {
	SMTPDLG_EV_MORE = 0, /**< nothing: read more bytes */
	SMTPDLG_EV_SEND,     /**< send out (a command line, CRLF included), then read */
	SMTPDLG_EV_TLS,      /**< start the TLS handshake now (nothing else may be read first) */
	SMTPDLG_EV_DONE,     /**< finished: close */
	SMTPDLG_EV_FAIL,     /**< failed (why says how): close */
};

/** The client side of one probe dialogue: banner, EHLO, STARTTLS, then QUIT; never MAIL. */
struct smtpdlg {
	enum smtpdlg_state st;           /**< current state */
	enum smtpdlg_state failed_in;    /**< with SMTPDLG_FAILED: the state it failed in */
	char helo[256];                  /**< name sent with EHLO */
	char line[SMTPDLG_LINE_MAX];     /**< the line being read (without its end) */
	size_t linelen;                  /**< bytes in line */
	unsigned lines;                  /**< lines of the reply being read */
	int code;                        /**< reply code of the reply being read */
	int starttls;                    /**< the EHLO reply offered STARTTLS */
	int tls_up;                      /**< the caller completed the TLS handshake */
	unsigned n_ext;                  /**< EHLO keywords seen */
	char banner[SMTPDLG_TEXT_MAX];   /**< first line of the greeting (printable ASCII) */
	char last[SMTPDLG_TEXT_MAX];     /**< first line of the last reply (printable ASCII) */
	char out[SMTPDLG_OUT_MAX];       /**< command to send with SMTPDLG_EV_SEND */
	char why[SMTPDLG_TEXT_MAX + 80]; /**< failure text with SMTPDLG_EV_FAIL */
};

/**
 * Start a dialogue (the connection is up, nothing read yet).
 * @param d caller storage @param helo the EHLO name (an LDH name; cut at 255 bytes)
 */
void smtpdlg_init(struct smtpdlg *d, const char *helo);

/**
 * Feed bytes read from the server. Bytes are consumed up to the end of the first complete
 * reply that asks for an action; *used says how many. A server that sends more than one reply
 * at a time (nothing is pipelined, RFC 2920 is not used) fails the dialogue: above all no byte
 * may follow the 220 answer to STARTTLS in the clear (RFC 3207 s4.2, plaintext injection).
 * @param d dialogue @param p bytes (borrowed) @param len count @param used consumed (out)
 * @return what to do; after SMTPDLG_EV_FAIL or SMTPDLG_EV_DONE the dialogue takes no input
 */
enum smtpdlg_ev smtpdlg_input(struct smtpdlg *d, const char *p, size_t len, size_t *used);

/**
 * The TLS handshake after STARTTLS succeeded: the probe ends with QUIT.
 * @param d dialogue in SMTPDLG_TLS @return SMTPDLG_EV_SEND (out holds QUIT)
 */
enum smtpdlg_ev smtpdlg_tls_up(struct smtpdlg *d);

/**
 * The server closed the connection. @param d dialogue
 * @return SMTPDLG_EV_DONE when that ends the dialogue normally (after QUIT), else
 * SMTPDLG_EV_FAIL with why set
 */
enum smtpdlg_ev smtpdlg_eof(struct smtpdlg *d);

/** @param s state @return its name ("banner", "EHLO", ...) for messages */
const char *smtpdlg_state_name(enum smtpdlg_state s);

#endif
