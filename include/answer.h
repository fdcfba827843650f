/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_ANSWER_H
#define MTASTSD_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "decide.h"
#include "socketmap.h"
#include "strbuf.h"

/** Longest reply text: Postfix's reply cap less the longest status word and its space. */
#define ANSWER_TEXT_MAX (SOCKETMAP_REPLY_MAX - (sizeof("NOTFOUND ") - 1))

/**
 * Render an answer as the socketmap status word and reply text, per Postfix's
 * smtp_tls_policy_maps syntax: SECURE becomes "secure match=P1:P2 servername=hostname", where
 * "*.example.com" is written ".example.com" and exact names stay as they are.
 * @param a answer
 * @param status set to "OK", "NOTFOUND" or "TEMP" (static)
 * @param out the text, replacing what it held (its cap bounds the text)
 * @return 0, or -1 if the text would pass out's cap (then out holds nothing usable)
 */
int answer_format(const struct answer *a, const char **status, struct strbuf *out);

/**
 * decide() then answer_format(): the reply to one request. A text over out's cap becomes
 * TEMP "reply too long", never a shortened policy.
 * @param in inputs @param zone socketmap-name settings @param now current time
 * @param out the text (cap at least 64; ANSWER_TEXT_MAX for Postfix)
 * @param status "OK", "NOTFOUND" or "TEMP" (static) @param why explanation (static)
 */
void answer_reply(const struct decide_input *in, const struct cfg_zone *zone, int64_t now,
                  struct strbuf *out, const char **status, const char **why);

#endif
