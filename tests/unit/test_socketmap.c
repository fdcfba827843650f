/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for socketmap.c: netstring decode (every error, caps at max and max + 1, every
 * prefix incomplete, pipelining, garbage), request split, reply encode (cap, NO_SPACE, empty OK)
 * and key classification. Table rows become one cmocka test each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "socketmap.h"

/* A literal with its exact length, so embedded NULs count. */
#define S(s) s, sizeof(s) - 1
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- decode ---- */

struct decode_case {
	const char *name;
	const char *in;
	size_t len;
	size_t max;
	enum socketmap_err want;
	const char *payload; /* when OK */
	size_t payload_len;
	size_t consumed;
};

#define RQ SOCKETMAP_REQUEST_MAX
#define RP SOCKETMAP_REPLY_MAX

static struct decode_case decode_cases[] = {
    {"decode empty payload", S("0:,"), RQ, SOCKETMAP_OK, S(""), 3},
    {"decode simple", S("5:hello,"), RQ, SOCKETMAP_OK, S("hello"), 8},
    {"decode trailing bytes left", S("5:hello,6:"), RQ, SOCKETMAP_OK, S("hello"), 8},
    {"decode payload with separators", S("5:a:b,c,"), RQ, SOCKETMAP_OK, S("a:b,c"), 8},
    {"decode payload with NUL", S("3:\0\0\0,"), RQ, SOCKETMAP_OK, S("\0\0\0"), 6},
    {"decode request", S("19:postfix example.com,"), RQ, SOCKETMAP_OK, S("postfix example.com"),
     23},
    {"decode nothing", S(""), RQ, SOCKETMAP_INCOMPLETE, NULL, 0, 0},
    {"decode digits only", S("12"), RQ, SOCKETMAP_INCOMPLETE, NULL, 0, 0},
    {"decode zero only", S("0"), RQ, SOCKETMAP_INCOMPLETE, NULL, 0, 0},
    {"decode no payload yet", S("5:"), RQ, SOCKETMAP_INCOMPLETE, NULL, 0, 0},
    {"decode no comma yet", S("5:hello"), RQ, SOCKETMAP_INCOMPLETE, NULL, 0, 0},
    {"decode max digits waiting", S("10000"), RQ, SOCKETMAP_INCOMPLETE, NULL, 0, 0},
    {"decode empty length", S(":hello,"), RQ, SOCKETMAP_BAD_LENGTH, NULL, 0, 0},
    {"decode letter", S("a:,"), RQ, SOCKETMAP_BAD_LENGTH, NULL, 0, 0},
    {"decode minus", S("-1:x,"), RQ, SOCKETMAP_BAD_LENGTH, NULL, 0, 0},
    {"decode plus", S("+1:x,"), RQ, SOCKETMAP_BAD_LENGTH, NULL, 0, 0},
    {"decode leading space", S(" 1:x,"), RQ, SOCKETMAP_BAD_LENGTH, NULL, 0, 0},
    {"decode leading NUL", S("\0"), RQ, SOCKETMAP_BAD_LENGTH, NULL, 0, 0},
    {"decode leading zero", S("05:hello,"), RQ, SOCKETMAP_BAD_LENGTH, NULL, 0, 0},
    {"decode double zero", S("00:,"), RQ, SOCKETMAP_BAD_LENGTH, NULL, 0, 0},
    {"decode leading zero no colon", S("01"), RQ, SOCKETMAP_BAD_LENGTH, NULL, 0, 0},
    {"decode http", S("GET / HTTP/1.0\r\n"), RQ, SOCKETMAP_BAD_LENGTH, NULL, 0, 0},
    {"decode semicolon", S("5;hello,"), RQ, SOCKETMAP_BAD_SEPARATOR, NULL, 0, 0},
    {"decode space after length", S("5 :hello,"), RQ, SOCKETMAP_BAD_SEPARATOR, NULL, 0, 0},
    {"decode zero then letter", S("0x"), RQ, SOCKETMAP_BAD_SEPARATOR, NULL, 0, 0},
    {"decode wrong terminator", S("5:hello;"), RQ, SOCKETMAP_BAD_TERMINATOR, NULL, 0, 0},
    {"decode payload longer", S("5:hello world,"), RQ, SOCKETMAP_BAD_TERMINATOR, NULL, 0, 0},
    {"decode empty no comma", S("0:x"), RQ, SOCKETMAP_BAD_TERMINATOR, NULL, 0, 0},
    {"decode NUL terminator", S("1:a\0"), RQ, SOCKETMAP_BAD_TERMINATOR, NULL, 0, 0},
    {"decode over request cap", S("10001:"), RQ, SOCKETMAP_TOO_LONG, NULL, 0, 0},
    {"decode over cap no colon", S("10001"), RQ, SOCKETMAP_TOO_LONG, NULL, 0, 0},
    {"decode six digits", S("100000"), RQ, SOCKETMAP_TOO_LONG, NULL, 0, 0},
    {"decode seven digits", S("1234567"), RQ, SOCKETMAP_TOO_LONG, NULL, 0, 0},
    {"decode seven digits reply cap", S("1000000"), RP, SOCKETMAP_TOO_LONG, NULL, 0, 0},
    {"decode six digits reply cap", S("100000"), RP, SOCKETMAP_INCOMPLETE, NULL, 0, 0},
    {"decode over reply cap", S("100001"), RP, SOCKETMAP_TOO_LONG, NULL, 0, 0},
    {"decode overflow digits", S("99999999999999999999999999999:"), RQ, SOCKETMAP_TOO_LONG, NULL, 0,
     0},
    {"decode overflow digits huge max", S("99999999999999999999999999999:"), SIZE_MAX,
     SOCKETMAP_TOO_LONG, NULL, 0, 0},
    {"decode max zero ok", S("0:,"), 0, SOCKETMAP_OK, S(""), 3},
    {"decode max zero over", S("1:a,"), 0, SOCKETMAP_TOO_LONG, NULL, 0, 0},
    {"decode small max at cap", S("5:hello,"), 5, SOCKETMAP_OK, S("hello"), 8},
    {"decode small max over", S("6:hello!,"), 5, SOCKETMAP_TOO_LONG, NULL, 0, 0},
    {"decode huge max incomplete", S("9999999999999999999:"), SIZE_MAX, SOCKETMAP_INCOMPLETE, NULL,
     0, 0},
};

static void
test_decode_case(void **state)
{
	const struct decode_case *c = *state;
	const char *pl = (const char *)1;
	size_t pl_len = 7777, consumed = 8888;

	assert_int_equal(socketmap_decode(c->in, c->len, c->max, &pl, &pl_len, &consumed), c->want);
	if (c->want == SOCKETMAP_OK) {
		assert_int_equal(pl_len, c->payload_len);
		assert_memory_equal(pl, c->payload, c->payload_len);
		assert_ptr_equal(pl, c->in + (c->consumed - c->payload_len - 1));
		assert_int_equal(consumed, c->consumed);
	} else {
		/* Outputs are only written on success. */
		assert_ptr_equal(pl, (const char *)1);
		assert_int_equal(pl_len, 7777);
		assert_int_equal(consumed, 8888);
	}
}

/* Build "<n>:" + n bytes of fill + ","; caller frees. */
static char *
make_netstring(size_t n, char fill, size_t *len)
{
	char *p = malloc(n + 32);
	int k;

	assert_non_null(p);
	k = snprintf(p, 32, "%zu:", n);
	assert_true(k > 0 && k < 32);
	memset(p + k, fill, n);
	p[(size_t)k + n] = ',';
	*len = (size_t)k + n + 1;
	return p;
}

static void
test_decode_request_cap(void **state)
{
	const char *pl;
	size_t len, pl_len, consumed;
	char *ns;

	(void)state;
	ns = make_netstring(SOCKETMAP_REQUEST_MAX, 'a', &len);
	assert_int_equal(len, 5 + 1 + SOCKETMAP_REQUEST_MAX + 1);
	assert_int_equal(socketmap_decode(ns, len, SOCKETMAP_REQUEST_MAX, &pl, &pl_len, &consumed),
	                 SOCKETMAP_OK);
	assert_int_equal(pl_len, SOCKETMAP_REQUEST_MAX);
	assert_ptr_equal(pl, ns + 6);
	assert_int_equal(consumed, len);
	/* Every strict prefix of the cap-sized netstring is only incomplete. */
	for (size_t i = 0; i < len; i++)
		assert_int_equal(
		    socketmap_decode(ns, i, SOCKETMAP_REQUEST_MAX, &pl, &pl_len, &consumed),
		    SOCKETMAP_INCOMPLETE);
	free(ns);

	ns = make_netstring(SOCKETMAP_REQUEST_MAX + 1, 'a', &len);
	assert_int_equal(socketmap_decode(ns, len, SOCKETMAP_REQUEST_MAX, &pl, &pl_len, &consumed),
	                 SOCKETMAP_TOO_LONG);
	/* Refused as soon as the length digits are in, without waiting for the payload. */
	assert_int_equal(socketmap_decode(ns, 5, SOCKETMAP_REQUEST_MAX, &pl, &pl_len, &consumed),
	                 SOCKETMAP_TOO_LONG);
	assert_int_equal(socketmap_decode(ns, 4, SOCKETMAP_REQUEST_MAX, &pl, &pl_len, &consumed),
	                 SOCKETMAP_INCOMPLETE);
	free(ns);
}

static void
test_decode_every_prefix(void **state)
{
	static const char ns[] = "19:postfix example.com,";
	const char *pl;
	size_t pl_len, consumed;

	(void)state;
	for (size_t i = 0; i < sizeof(ns) - 1; i++)
		assert_int_equal(socketmap_decode(ns, i, RQ, &pl, &pl_len, &consumed),
		                 SOCKETMAP_INCOMPLETE);
	assert_int_equal(socketmap_decode(ns, sizeof(ns) - 1, RQ, &pl, &pl_len, &consumed),
	                 SOCKETMAP_OK);
	assert_int_equal(consumed, sizeof(ns) - 1);
}

static void
test_decode_pipelined(void **state)
{
	static const char buf[] = "3:abc,0:,19:postfix example.com,5:hel";
	static const struct {
		const char *payload;
		size_t len;
	} want[] = {{S("abc")}, {S("")}, {S("postfix example.com")}};
	const char *p = buf, *pl;
	size_t left = sizeof(buf) - 1, pl_len, consumed;

	(void)state;
	for (size_t i = 0; i < NELEM(want); i++) {
		assert_int_equal(socketmap_decode(p, left, RQ, &pl, &pl_len, &consumed),
		                 SOCKETMAP_OK);
		assert_int_equal(pl_len, want[i].len);
		assert_memory_equal(pl, want[i].payload, pl_len);
		assert_true(consumed <= left);
		p += consumed;
		left -= consumed;
	}
	assert_int_equal(left, 5);
	assert_int_equal(socketmap_decode(p, left, RQ, &pl, &pl_len, &consumed),
	                 SOCKETMAP_INCOMPLETE);
}

static void
test_decode_garbage(void **state)
{
	unsigned char buf[64];
	unsigned x = 12345;
	const char *pl;
	size_t pl_len, consumed;

	(void)state;
	/* Deterministic pseudo-random bytes, biased towards netstring characters. */
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(round % (int)sizeof(buf));
		enum socketmap_err e;

		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (x >> 16) % 4 == 0 ? (unsigned char)"0123456789:,"[(x >> 8) % 12]
			                            : (unsigned char)(x >> 20);
		}
		pl = NULL;
		pl_len = consumed = 0;
		e = socketmap_decode((const char *)buf, len, 20, &pl, &pl_len, &consumed);
		assert_true(e <= SOCKETMAP_BAD_TERMINATOR);
		if (e == SOCKETMAP_OK) {
			assert_true(consumed <= len);
			assert_true(pl_len <= 20);
			assert_true(pl >= (const char *)buf &&
			            pl + pl_len < (const char *)buf + len);
			assert_int_equal(buf[consumed - 1], ',');
		}
	}
}

/* ---- split ---- */

struct split_case {
	const char *name;
	const char *in;
	size_t len;
	enum socketmap_err want;
	const char *map;
	const char *key;
	size_t key_len;
};

#define NAME63 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

static struct split_case split_cases[] = {
    {"split simple", S("postfix example.com"), SOCKETMAP_OK, "postfix", S("example.com")},
    {"split key keeps spaces", S("postfix a b"), SOCKETMAP_OK, "postfix", S("a b")},
    {"split key leading space", S("postfix  x"), SOCKETMAP_OK, "postfix", S(" x")},
    {"split name chars", S("A-z_0.9 k"), SOCKETMAP_OK, "A-z_0.9", S("k")},
    {"split name 63", S(NAME63 " k"), SOCKETMAP_OK, NAME63, S("k")},
    {"split key high byte",
     S("p b\xc3\xbc"
       "cher.example"),
     SOCKETMAP_OK, "p",
     S("b\xc3\xbc"
       "cher.example")},
    {"split key tilde", S("p ~"), SOCKETMAP_OK, "p", S("~")},
    {"split name 64", S(NAME63 "a k"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split empty", S(""), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split no space", S("postfix"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split empty name", S(" example.com"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split empty key", S("postfix "), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split only space", S(" "), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split name slash", S("post/fix k"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split name colon", S("post:fix k"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split name high byte", S("p\xe9 k"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split name tab", S("post\tfix k"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split name NUL", S("post\0fix k"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split key NUL", S("postfix exa\0mple.com"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split key tab", S("postfix exa\tmple.com"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split key newline", S("postfix example.com\n"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split key CR", S("postfix example.com\r"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split key 0x1f", S("postfix \x1f"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
    {"split key DEL", S("postfix example.com\x7f"), SOCKETMAP_BAD_REQUEST, NULL, NULL, 0},
};

static void
test_split_case(void **state)
{
	const struct split_case *c = *state;
	const char *map = (const char *)1, *key = (const char *)1;
	size_t map_len = 7777, key_len = 7777;

	assert_int_equal(socketmap_split(c->in, c->len, &map, &map_len, &key, &key_len), c->want);
	if (c->want == SOCKETMAP_OK) {
		assert_ptr_equal(map, c->in);
		assert_int_equal(map_len, strlen(c->map));
		assert_memory_equal(map, c->map, map_len);
		assert_int_equal(key_len, c->key_len);
		assert_memory_equal(key, c->key, key_len);
		assert_ptr_equal(key, c->in + map_len + 1);
	} else {
		assert_ptr_equal(map, (const char *)1);
		assert_ptr_equal(key, (const char *)1);
		assert_int_equal(map_len, 7777);
		assert_int_equal(key_len, 7777);
	}
}

/* ---- encode ---- */

struct encode_case {
	const char *name;
	const char *status;
	const char *data;
	enum socketmap_err want;
	const char *out;
};

static struct encode_case encode_cases[] = {
    {"encode ok", "OK", "secure match=mx", SOCKETMAP_OK, "18:OK secure match=mx,"},
    {"encode ok one byte", "OK", "x", SOCKETMAP_OK, "4:OK x,"},
    {"encode notfound empty", "NOTFOUND", "", SOCKETMAP_OK, "9:NOTFOUND ,"},
    {"encode notfound text", "NOTFOUND", "no policy", SOCKETMAP_OK, "18:NOTFOUND no policy,"},
    {"encode temp", "TEMP", "dns timeout", SOCKETMAP_OK, "16:TEMP dns timeout,"},
    {"encode temp empty", "TEMP", "", SOCKETMAP_OK, "5:TEMP ,"},
    {"encode timeout", "TIMEOUT", "x", SOCKETMAP_OK, "9:TIMEOUT x,"},
    {"encode perm", "PERM", "bad config", SOCKETMAP_OK, "15:PERM bad config,"},
    {"encode ok empty refused", "OK", "", SOCKETMAP_TOO_LONG, NULL},
};

static void
test_encode_case(void **state)
{
	const struct encode_case *c = *state;
	char out[128];
	size_t outlen = 7777;

	memset(out, 'Z', sizeof(out));
	assert_int_equal(
	    socketmap_encode(c->status, c->data, strlen(c->data), out, sizeof(out), &outlen),
	    c->want);
	if (c->want == SOCKETMAP_OK) {
		assert_int_equal(outlen, strlen(c->out));
		assert_memory_equal(out, c->out, outlen);
		/* Not NUL-terminated: nothing past outlen is written. */
		assert_int_equal(out[outlen], 'Z');
	} else {
		assert_int_equal(outlen, 7777);
		assert_int_equal(out[0], 'Z');
	}
}

static void
test_encode_reply_cap(void **state)
{
	/* "OK " + data = SOCKETMAP_REPLY_MAX exactly, then one byte more. */
	size_t dlen = SOCKETMAP_REPLY_MAX - 3, outsz = SOCKETMAP_REPLY_MAX + 64, outlen = 0;
	size_t pl_len = 0, consumed = 0;
	char *data = malloc(dlen + 1), *out = malloc(outsz);
	const char *pl = NULL;

	(void)state;
	assert_non_null(data);
	assert_non_null(out);
	memset(data, 'd', dlen + 1);
	assert_int_equal(socketmap_encode("OK", data, dlen, out, outsz, &outlen), SOCKETMAP_OK);
	assert_int_equal(outlen, 7 + SOCKETMAP_REPLY_MAX + 1);
	assert_memory_equal(out, "100000:OK dd", 12);
	assert_int_equal(out[outlen - 1], ',');
	/* What we send, a Postfix-sized reader accepts. */
	assert_int_equal(
	    socketmap_decode(out, outlen, SOCKETMAP_REPLY_MAX, &pl, &pl_len, &consumed),
	    SOCKETMAP_OK);
	assert_int_equal(pl_len, SOCKETMAP_REPLY_MAX);
	assert_int_equal(consumed, outlen);

	outlen = 4242;
	assert_int_equal(socketmap_encode("OK", data, dlen + 1, out, outsz, &outlen),
	                 SOCKETMAP_TOO_LONG);
	assert_int_equal(outlen, 4242);
	/* Same cap for a longer status word: "NOTFOUND " + data. */
	assert_int_equal(
	    socketmap_encode("NOTFOUND", data, SOCKETMAP_REPLY_MAX - 9, out, outsz, &outlen),
	    SOCKETMAP_OK);
	assert_int_equal(
	    socketmap_encode("NOTFOUND", data, SOCKETMAP_REPLY_MAX - 8, out, outsz, &outlen),
	    SOCKETMAP_TOO_LONG);
	/* A wrapping length is refused without reading data. */
	assert_int_equal(socketmap_encode("OK", data, SIZE_MAX, out, outsz, &outlen),
	                 SOCKETMAP_TOO_LONG);
	assert_int_equal(socketmap_encode("OK", data, SIZE_MAX - 2, out, outsz, &outlen),
	                 SOCKETMAP_TOO_LONG);
	free(data);
	free(out);
}

static void
test_encode_no_space(void **state)
{
	char out[32];
	size_t outlen = 0;

	(void)state;
	/* "4:OK x," is 7 bytes. */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(socketmap_encode("OK", "x", 1, out, 6, &outlen), SOCKETMAP_NO_SPACE);
	assert_int_equal(out[0], 'Z');
	assert_int_equal(socketmap_encode("OK", "x", 1, out, 0, &outlen), SOCKETMAP_NO_SPACE);
	assert_int_equal(socketmap_encode("OK", "x", 1, out, 7, &outlen), SOCKETMAP_OK);
	assert_int_equal(outlen, 7);
	assert_memory_equal(out, "4:OK x,", 7);
	assert_int_equal(out[7], 'Z');
	/* Data with a NUL and a comma is counted, not interpreted. */
	assert_int_equal(socketmap_encode("TEMP", "a\0,", 3, out, sizeof(out), &outlen),
	                 SOCKETMAP_OK);
	assert_int_equal(outlen, 11);
	assert_memory_equal(out, "8:TEMP a\0,,", 11);
}

/* ---- classify ---- */

/* UTF-8 spellings, as macros so a hex escape never swallows the letter after it. */
#define UE "\xc3\xbc"                  /* U+00FC u with diaeresis */
#define UE_UP "\xc3\x9c"               /* U+00DC U with diaeresis */
#define SHARP_S "\xc3\x9f"             /* U+00DF sharp s: a deviation, kept (non-transitional) */
#define FINAL_SIGMA "\xcf\x82"         /* U+03C2: a deviation, kept (non-transitional) */
#define COMBINING_DIAERESIS "\xcc\x88" /* U+0308: "u" + it is NFC "\xc3\xbc" */
#define IDEO_STOP "\xe3\x80\x82"       /* U+3002 ideographic full stop: a label separator */
#define ZWJ "\xe2\x80\x8d"             /* U+200D zero width joiner: CONTEXTJ */
#define SNOWMAN "\xe2\x98\x83"         /* U+2603: DISALLOWED in IDNA2008 */
#define EMOJI "\xf0\x9f\x93\xa7"       /* U+1F4E7 e-mail symbol: DISALLOWED */
#define LONE_CONT "\x80"               /* continuation byte without a lead byte */
#define OVERLONG_LT "\xc0\xbc"         /* '<' in two bytes */
#define OVERLONG_DOT "\xe0\x80\xae"    /* '.' in three bytes: must not split labels */
#define SURROGATE "\xed\xa0\x80"       /* U+D800: not a scalar value */
#define UE_CUT "\xc3"                  /* first byte of UE only */
#define SNOWMAN_CUT "\xe2\x98"         /* two of its three bytes */
#define FW_E "\xef\xbd\x85"            /* full-width forms, mapped to ASCII by UTS #46 */
#define FW_X "\xef\xbd\x98"
#define FW_C "\xef\xbd\x83"
#define FW_O "\xef\xbd\x8f"
#define FW_M "\xef\xbd\x8d"
#define FW_DOT "\xef\xbc\x8e"
#define FW_COLON "\xef\xbc\x9a"
#define FW_1 "\xef\xbc\x91"
#define FW_2 "\xef\xbc\x92"
#define FW_5 "\xef\xbc\x95"
#define FW_9 "\xef\xbc\x99"
#define BUECHER "xn--bcher-kva.example"
#define A5 "aaaaa"
#define A50 A5 A5 A5 A5 A5 A5 A5 A5 A5 A5
/* 31 labels "ü." (2 + 1 bytes each) and their A-labels "xn--tda." (7 + 1): 248 octets. */
#define UL4 UE "." UE "." UE "." UE "."
#define UL31 UL4 UL4 UL4 UL4 UL4 UL4 UL4 UE "." UE "." UE "."
#define XL4 "xn--tda.xn--tda.xn--tda.xn--tda."
#define XL31 XL4 XL4 XL4 XL4 XL4 XL4 XL4 "xn--tda.xn--tda.xn--tda."

struct classify_case {
	const char *name;
	const char *in;
	size_t len;
	enum socketmap_key want;
	const char *domain;
	unsigned port;
	int bracketed;
};

static struct classify_case classify_cases[] = {
    {"classify domain", S("example.com"), SOCKETMAP_KEY_DOMAIN, "example.com", 0, 0},
    {"classify upper", S("Mail.EXAMPLE.com"), SOCKETMAP_KEY_DOMAIN, "mail.example.com", 0, 0},
    {"classify trailing dot", S("example.com."), SOCKETMAP_KEY_DOMAIN, "example.com", 0, 0},
    {"classify bracket", S("[example.com]"), SOCKETMAP_KEY_DOMAIN, "example.com", 0, 1},
    {"classify bracket port", S("[Mail.Example.COM.]:587"), SOCKETMAP_KEY_DOMAIN,
     "mail.example.com", 587, 1},
    {"classify bracket port max", S("[example.com]:65535"), SOCKETMAP_KEY_DOMAIN, "example.com",
     65535, 1},
    {"classify host port", S("example.com:25"), SOCKETMAP_KEY_DOMAIN, "example.com", 25, 0},
    {"classify host port 1", S("example.com:1"), SOCKETMAP_KEY_DOMAIN, "example.com", 1, 0},
    {"classify host port max", S("example.com:65535"), SOCKETMAP_KEY_DOMAIN, "example.com", 65535,
     0},
    {"classify numeric labels", S("1.2.3.4.5"), SOCKETMAP_KEY_DOMAIN, "1.2.3.4.5", 0, 0},
    {"classify parent", S(".example.com"), SOCKETMAP_KEY_PARENT, NULL, 0, 0},
    {"classify parent dot", S("."), SOCKETMAP_KEY_PARENT, NULL, 0, 0},
    {"classify parent garbage", S(".[x]:"), SOCKETMAP_KEY_PARENT, NULL, 0, 0},
    {"classify ipv4", S("192.0.2.1"), SOCKETMAP_KEY_IP, NULL, 0, 0},
    {"classify ipv4 bracket", S("[192.0.2.1]"), SOCKETMAP_KEY_IP, NULL, 0, 0},
    {"classify ipv4 bracket port", S("[192.0.2.1]:25"), SOCKETMAP_KEY_IP, NULL, 0, 0},
    {"classify ipv4 port", S("192.0.2.1:25"), SOCKETMAP_KEY_IP, NULL, 0, 0},
    {"classify ipv4 trailing dot", S("192.0.2.1."), SOCKETMAP_KEY_IP, NULL, 0, 0},
    {"classify ipv4 bracket trailing dot port", S("[1.0.11.2.]:25"), SOCKETMAP_KEY_IP, NULL, 0, 0},
    {"classify ipv6", S("2001:db8::1"), SOCKETMAP_KEY_IP, NULL, 0, 0},
    {"classify ipv6 loopback", S("::1"), SOCKETMAP_KEY_IP, NULL, 0, 0},
    {"classify ipv6 mapped", S("::ffff:192.0.2.1"), SOCKETMAP_KEY_IP, NULL, 0, 0},
    {"classify ipv6 bracket", S("[2001:db8::1]"), SOCKETMAP_KEY_IP, NULL, 0, 0},
    {"classify ipv6 prefix", S("[ipv6:2001:db8::1]"), SOCKETMAP_KEY_IP, NULL, 0, 0},
    {"classify ipv6 prefix upper port", S("[IPv6:2001:db8::1]:25"), SOCKETMAP_KEY_IP, NULL, 0, 0},
    {"classify empty", S(""), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify single label", S("localhost"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify single label port", S("localhost:25"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify underscore", S("_mta-sts.example.com"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    /* U-labels: IDNA2008 lookup, UTS #46 non-transitional (socketmap.c says why). */
    {"classify utf8", S("b" UE "cher.example"), SOCKETMAP_KEY_DOMAIN, BUECHER, 0, 0},
    {"classify utf8 bracket", S("[b" UE "cher.example]"), SOCKETMAP_KEY_DOMAIN, BUECHER, 0, 1},
    {"classify utf8 bracket port", S("[b" UE "cher.example.]:587"), SOCKETMAP_KEY_DOMAIN, BUECHER,
     587, 1},
    {"classify utf8 host port", S("b" UE "cher.example:25"), SOCKETMAP_KEY_DOMAIN, BUECHER, 25, 0},
    {"classify utf8 upper", S("B" UE_UP "CHER.EXAMPLE"), SOCKETMAP_KEY_DOMAIN, BUECHER, 0, 0},
    {"classify utf8 upper bracket port", S("[B" UE_UP "CHER.Example]:25"), SOCKETMAP_KEY_DOMAIN,
     BUECHER, 25, 1},
    {"classify utf8 trailing dot", S("b" UE "cher.example."), SOCKETMAP_KEY_DOMAIN, BUECHER, 0, 0},
    {"classify utf8 sharp s not ss", S("stra" SHARP_S "e.example"), SOCKETMAP_KEY_DOMAIN,
     "xn--strae-oqa.example", 0, 0},
    {"classify utf8 final sigma", S(FINAL_SIGMA ".example"), SOCKETMAP_KEY_DOMAIN,
     "xn--3xa.example", 0, 0},
    {"classify utf8 nfd", S("bu" COMBINING_DIAERESIS "cher.example"), SOCKETMAP_KEY_DOMAIN, BUECHER,
     0, 0},
    {"classify utf8 ideographic full stop", S("b" UE "cher" IDEO_STOP "example"),
     SOCKETMAP_KEY_DOMAIN, BUECHER, 0, 0},
    {"classify utf8 full-width ascii", S(FW_E FW_X FW_DOT FW_C FW_O FW_M), SOCKETMAP_KEY_DOMAIN,
     "ex.com", 0, 0},
    {"classify utf8 full-width ipv4", S(FW_1 FW_9 FW_2 FW_DOT "0.2.1"), SOCKETMAP_KEY_IP, NULL, 0,
     0},
    {"classify utf8 full-width ipv4 bracket", S("[" FW_1 FW_9 FW_2 FW_DOT "0.2.1]:25"),
     SOCKETMAP_KEY_IP, NULL, 0, 0},
    {"classify utf8 with A-label", S("b" UE "cher.XN--BCHER-KVA.example"), SOCKETMAP_KEY_DOMAIN,
     "xn--bcher-kva.xn--bcher-kva.example", 0, 0},
    {"classify utf8 with bad A-label", S("b" UE "cher.xn--zz.example"), SOCKETMAP_KEY_INVALID, NULL,
     0, 0},
    /* ASCII keys skip libidn2, which would refuse this punycode: it passes as before. */
    {"classify ascii A-label unchecked", S("XN--ZZ.example"), SOCKETMAP_KEY_DOMAIN,
     "xn--zz.example", 0, 0},
    {"classify utf8 label 63", S(A50 A5 UE ".example"), SOCKETMAP_KEY_DOMAIN,
     "xn--" A50 A5 "-8yf.example", 0, 0},
    {"classify utf8 label 64", S(A50 A5 "a" UE ".example"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 name 253", S(UL31 "abcde"), SOCKETMAP_KEY_DOMAIN, XL31 "abcde", 0, 0},
    {"classify utf8 name 253 bracket port", S("[" UL31 "abcde.]:25"), SOCKETMAP_KEY_DOMAIN,
     XL31 "abcde", 25, 1},
    {"classify utf8 name 254", S(UL31 "abcdef"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 name 254 bracket", S("[" UL31 "abcdef]"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 snowman", S(SNOWMAN ".example"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 emoji", S("mail" EMOJI ".example"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 emoji bracket port", S("[" EMOJI ".example]:25"), SOCKETMAP_KEY_INVALID, NULL,
     0, 0},
    {"classify utf8 zwj no context", S("a" ZWJ "b.example"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 lone continuation", S("b" LONE_CONT "cher.example"), SOCKETMAP_KEY_INVALID,
     NULL, 0, 0},
    {"classify utf8 overlong", S("b" OVERLONG_LT "cher.example"), SOCKETMAP_KEY_INVALID, NULL, 0,
     0},
    {"classify utf8 overlong dot", S("b" UE "cher" OVERLONG_DOT "example"), SOCKETMAP_KEY_INVALID,
     NULL, 0, 0},
    {"classify utf8 surrogate", S("b" SURROGATE ".example"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 truncated", S("b" UE_CUT ".example"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 truncated at end", S("example.com" SNOWMAN_CUT), SOCKETMAP_KEY_INVALID, NULL, 0,
     0},
    {"classify utf8 truncated before port", S("b" UE_CUT ":25"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify high byte end", S("example.com\x80"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 NUL", S("b" UE "cher.example\0.evil"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    /* libidn2 with STD3 rules would delete the '_' and answer for "bücher.example". */
    {"classify utf8 underscore", S("_b" UE "cher.example"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 space", S("b" UE "cher .example"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 leading hyphen", S("-b" UE "cher.example"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 hyphens 3-4", S("b" UE "--cher.example"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 empty label", S("b" UE "cher..example"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 single label", S("b" UE "cher"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 full-width port", S("b" UE "cher.example:2" FW_5), SOCKETMAP_KEY_INVALID, NULL,
     0, 0},
    {"classify utf8 full-width colon", S("b" UE "cher.example" FW_COLON "25"),
     SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 after bracket", S("[example.com]:" UE), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify utf8 parent", S("." UE ".example"), SOCKETMAP_KEY_PARENT, NULL, 0, 0},
    {"classify NUL", S("exa\0mple.com"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify NUL ip", S("192.0.2.1\0"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify space", S("exa mple.com"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify hyphen", S("-example.com"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify port zero", S("example.com:0"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify port over", S("example.com:65536"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify port six digits", S("example.com:000025"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify port empty", S("example.com:"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify port letters", S("example.com:smtp"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify two colons", S("example.com:25:25"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify colon garbage", S("a:b:c"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify leading colon", S(":25"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify no close bracket", S("[example.com"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify no close bracket port", S("[example.com:25"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify empty brackets", S("[]"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify empty brackets port", S("[]:25"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify bracket empty port", S("[example.com]:"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify bracket port zero", S("[example.com]:0"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify bracket port over", S("[example.com]:65536"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify bracket port long", S("[example.com]:123456"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify bracket junk after", S("[example.com]25"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify double close", S("[example.com]]"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify nested", S("[[example.com]]"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify bracket single label", S("[localhost]"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify close only", S("example.com]"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
    {"classify bad ipv4 port", S("192.0.2.1:99999"), SOCKETMAP_KEY_INVALID, NULL, 0, 0},
};

static void
test_classify_case(void **state)
{
	const struct classify_case *c = *state;
	struct socketmap_dest d;

	memset(&d, 'Z', sizeof(d));
	assert_int_equal(socketmap_classify(c->in, c->len, &d), c->want);
	if (c->want == SOCKETMAP_KEY_DOMAIN) {
		assert_string_equal(d.domain, c->domain);
		assert_int_equal(d.port, c->port);
		assert_int_equal(d.bracketed, c->bracketed);
	} else {
		assert_int_equal(d.domain[0], 'Z'); /* set only for DOMAIN */
	}
}

static void
test_classify_caps(void **state)
{
	char key[DNAME_MAX + 20];
	struct socketmap_dest d;
	size_t n;

	(void)state;
	/* A 253-byte name (63.63.63.61) inside "[...]:65535" is a domain. */
	key[0] = '[';
	memset(key + 1, 'a', 253);
	key[1 + 63] = key[1 + 127] = key[1 + 191] = '.';
	memcpy(key + 254, "]:65535", 7);
	n = 261;
	assert_int_equal(socketmap_classify(key, n, &d), SOCKETMAP_KEY_DOMAIN);
	assert_int_equal(strlen(d.domain), 253);
	assert_int_equal(d.port, 65535);
	assert_int_equal(socketmap_classify(key + 1, 253, &d), SOCKETMAP_KEY_DOMAIN);
	/* 254 bytes of name: invalid, bare and bracketed. */
	key[0] = 'a';
	assert_int_equal(socketmap_classify(key, 254, &d), SOCKETMAP_KEY_INVALID);
	key[0] = '[';
	memmove(key + 2, key + 1, 253 + 7);
	key[1] = 'b';
	assert_int_equal(socketmap_classify(key, 262, &d), SOCKETMAP_KEY_INVALID);

	/*
	 * The key cap is on the input bytes, U-labels included: four labels of 31 "ü" (62 bytes,
	 * 37 octets as A-labels) and an ASCII label make 263 bytes, a 163-octet A-label name.
	 */
	n = 0;
	for (int l = 0; l < 4; l++) {
		for (int i = 0; i < 31; i++) {
			memcpy(key + n, "\xc3\xbc", 2);
			n += 2;
		}
		key[n++] = '.';
	}
	memset(key + n, 'a', DNAME_MAX + 10 - n);
	assert_int_equal(socketmap_classify(key, DNAME_MAX + 10, &d), SOCKETMAP_KEY_DOMAIN);
	assert_int_equal(strlen(d.domain), 4 * 38 + 11);
	assert_memory_equal(d.domain, "xn--tda", 7);
	key[DNAME_MAX + 10] = 'a';
	assert_int_equal(socketmap_classify(key, DNAME_MAX + 11, &d), SOCKETMAP_KEY_INVALID);

	/* Key length cap DNAME_MAX + 10: a parent probe shows it is applied before anything. */
	key[0] = '.';
	memset(key + 1, 'a', sizeof(key) - 1);
	assert_int_equal(socketmap_classify(key, DNAME_MAX + 10, &d), SOCKETMAP_KEY_PARENT);
	assert_int_equal(socketmap_classify(key, DNAME_MAX + 11, &d), SOCKETMAP_KEY_INVALID);
}

/* ---- strerror ---- */

static void
test_strerror(void **state)
{
	enum socketmap_err e;

	(void)state;
	assert_string_equal(socketmap_strerror(SOCKETMAP_OK), "ok");
	for (e = SOCKETMAP_INCOMPLETE; e <= SOCKETMAP_NO_SPACE; e++) {
		assert_non_null(socketmap_strerror(e));
		assert_string_not_equal(socketmap_strerror(e), "unknown socketmap error");
		assert_string_not_equal(socketmap_strerror(e), socketmap_strerror(e - 1));
	}
	assert_string_equal(socketmap_strerror((enum socketmap_err)99), "unknown socketmap error");
}

#define NTABLE                                                                                     \
	(NELEM(decode_cases) + NELEM(split_cases) + NELEM(encode_cases) + NELEM(classify_cases))

static struct CMUnitTest tests[NTABLE + 8];

#define ADD_ROWS(table, fn)                                                                        \
	for (size_t i = 0; i < NELEM(table); i++)                                                  \
		tests[n++] = (struct CMUnitTest){                                                  \
		    .name = (table)[i].name, .test_func = (fn), .initial_state = &(table)[i]};

int
main(void)
{
	size_t n = 0;

	ADD_ROWS(decode_cases, test_decode_case);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_decode_request_cap);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_decode_every_prefix);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_decode_pipelined);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_decode_garbage);
	ADD_ROWS(split_cases, test_split_case);
	ADD_ROWS(encode_cases, test_encode_case);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_encode_reply_cap);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_encode_no_space);
	ADD_ROWS(classify_cases, test_classify_case);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_classify_caps);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_strerror);
	return cmocka_run_group_tests_name("socketmap", tests, NULL, NULL);
}
