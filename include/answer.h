/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_ANSWER_H
#define MTASTSD_ANSWER_H

#include <stddef.h>

#include "decide.h"

/**
 * Render an answer as the socketmap status word and reply text, per Postfix's
 * smtp_tls_policy_maps syntax: SECURE becomes "secure match=P1:P2 servername=hostname", where
 * "*.example.com" is written ".example.com" and exact names stay as they are.
 * @param a answer
 * @param status set to "OK", "NOTFOUND" or "TEMP" (static)
 * @param out caller buffer for the text @param outsz its size @param outlen text length
 * @return 0, or -1 if outsz is too small
 */
int answer_format(const struct answer *a, const char **status, char *out, size_t outsz,
                  size_t *outlen);

#endif
