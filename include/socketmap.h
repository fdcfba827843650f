/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_SOCKETMAP_H
#define MTASTSD_SOCKETMAP_H

#include <stddef.h>

#include "dname.h"

#define SOCKETMAP_REQUEST_MAX 10000 /**< Postfix's cap on a request payload */
#define SOCKETMAP_REPLY_MAX 100000  /**< Postfix's cap on a reply payload */
#define SOCKETMAP_NAME_MAX 63       /**< our cap on a socketmap name */

/** Netstring codec results. */
enum socketmap_err {
	SOCKETMAP_OK = 0,
	SOCKETMAP_INCOMPLETE,     /**< need more bytes (not an error yet) */
	SOCKETMAP_BAD_LENGTH,     /**< length prefix empty, not digits, or leading zero */
	SOCKETMAP_TOO_LONG,       /**< payload over the cap */
	SOCKETMAP_BAD_SEPARATOR,  /**< no ':' after the length */
	SOCKETMAP_BAD_TERMINATOR, /**< no ',' after the payload */
	SOCKETMAP_BAD_REQUEST,    /**< payload is not "name key" */
	SOCKETMAP_NO_SPACE,       /**< output buffer too small */
};

/**
 * Decode one netstring from the start of a buffer.
 * @param p bytes received so far @param len their count
 * @param max largest payload accepted (SOCKETMAP_REQUEST_MAX for requests)
 * @param payload set to the payload inside p (borrowed from p)
 * @param payload_len payload length
 * @param consumed total bytes of the netstring, to drain
 * @return SOCKETMAP_OK, SOCKETMAP_INCOMPLETE, or a fatal framing error
 */
enum socketmap_err socketmap_decode(const char *p, size_t len, size_t max, const char **payload,
                                    size_t *payload_len, size_t *consumed);

/**
 * Split a request payload "name key" at the first space. The name must be 1..SOCKETMAP_NAME_MAX
 * bytes of [A-Za-z0-9_.-]; the key must be non-empty.
 * @return SOCKETMAP_OK or SOCKETMAP_BAD_REQUEST; name/key borrowed from p
 */
enum socketmap_err socketmap_split(const char *p, size_t len, const char **name, size_t *name_len,
                                   const char **key, size_t *key_len);

/**
 * Encode a reply "<status> <data>" as a netstring.
 * @param status "OK", "NOTFOUND", "TEMP", "TIMEOUT" or "PERM"
 * @param data reply text (may be empty except for OK) @param data_len its length
 * @param out caller buffer @param outsz its size @param outlen bytes written
 * @return SOCKETMAP_OK, SOCKETMAP_TOO_LONG (payload over SOCKETMAP_REPLY_MAX, or OK with empty
 *         data), or SOCKETMAP_NO_SPACE
 */
enum socketmap_err socketmap_encode(const char *status, const char *data, size_t data_len,
                                    char *out, size_t outsz, size_t *outlen);

/** What kind of key Postfix sent. */
enum socketmap_key {
	SOCKETMAP_KEY_DOMAIN, /**< a domain (or smart host name) to look up */
	SOCKETMAP_KEY_PARENT, /**< ".example.com": parent-domain probe, NOTFOUND at once */
	SOCKETMAP_KEY_IP, /**< IP literal ("[192.0.2.1]", "192.0.2.1", "[ipv6:...]"): NOTFOUND */
	SOCKETMAP_KEY_INVALID, /**< not a valid name: NOTFOUND */
};

/** The destination a key names (set for SOCKETMAP_KEY_DOMAIN only). */
struct socketmap_dest {
	char domain[DNAME_MAX + 1]; /**< policy domain: the host of "[host]:port", normalised */
	unsigned port;              /**< port of the key, 0 when it has none (SMTP: 25) */
	int bracketed;              /**< "[host]" form: Postfix does no MX lookup (RFC 5321 s5.1) */
};

/**
 * Classify and normalise a key: "[host]", "[host]:port" and "host:port" name the policy domain
 * "host" (RFC 8461 s3.4); it is lower-cased, trailing dot stripped, validated by
 * dname_normalize(). The port and the brackets are kept apart, for DANE (RFC 7672 s2.2.3).
 * A host with bytes >= 0x80 is taken as UTF-8 U-labels and converted to A-labels with libidn2
 * (IDNA2008 lookup, UTS #46 non-transitional: "BÜCHER.example" -> "xn--bcher-kva.example")
 * before that validation; invalid UTF-8, disallowed code points, an A-label over 63 octets or a
 * name over DNAME_MAX octets after conversion make the key SOCKETMAP_KEY_INVALID. Pure-ASCII
 * keys never reach libidn2 ("xn--" labels are taken as they are). Nothing is left allocated.
 * @param key bytes (not NUL-terminated; a NUL inside makes the key invalid)
 * @param len length; keys over DNAME_MAX + 10 bytes are SOCKETMAP_KEY_INVALID
 * @param out caller storage, filled only for SOCKETMAP_KEY_DOMAIN
 * @return the key class
 */
enum socketmap_key socketmap_classify(const char *key, size_t len, struct socketmap_dest *out);

/** @param err code @return static text */
const char *socketmap_strerror(enum socketmap_err err);

#endif
