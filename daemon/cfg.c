/* SPDX-License-Identifier: MIT */
/*
 * cfg: the INI configuration (libinih) -> struct cfg, with defaults, validation and [default]
 * inherited by named zones. Pure (P): parses text the caller read, no I/O, no globals besides
 * the constant default text. A struct cfg is an immutable heap object owning its strings, with
 * a reference count (cfg_ref/cfg_unref; the last unref frees). Our own line reader feeds libinih:
 * it counts lines, strips leading blanks (no accidental continuation lines), rejects over-long
 * lines instead of letting libinih split them, reads section headers itself (libinih cuts them
 * at 49 bytes). The first error stops parsing: "line N: [section] key: reason".
 * One table of keys (cfg_keys[]: name = member, section kind, value type) drives parsing, "set
 * more than once" and inheritance: listen is repeatable (the first replaces the default list,
 * CFG_LISTEN_MAX), every other key once per section; at most CFG_ZONE_MAX zones; a named zone
 * takes what it does not set from [default] as it ends up, wherever [default] appears;
 * fetch_timeout + 2 * dns_timeout < 90 s, so a reply beats Postfix's 100 s timeout.
 * cfg_listen_parse() is the one parser of listen values (here, server.c binding, mta-stsctl
 * connecting). cfg_keep_restart(): [daemon] keys marked restart in the table keep the running
 * value across a reload.
 */
#include "cfg.h"

#include <arpa/inet.h>
#include <ini.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "dane.h"
#include "sharedrec.h"
#include "xalloc.h"

#define CFG_DEF_LISTEN "inet:127.0.0.1:8461"
#define CFG_DEF_CACHE_DIR "/var/lib/mta-stsd"
#define CFG_PATH_MAX 4095      /* PATH_MAX - 1 */
#define CFG_ACCOUNT_MAX 32     /* user / group name length (useradd's limit) */
#define CFG_DNS_SERVERS_MAX 16 /* our cap on dns_servers entries */
#define CFG_DEADLINE_BUDGET 90 /* seconds; Postfix waits <= 100 s for a socketmap reply */

const char cfg_default_text[] =
    "# mta-stsd built-in configuration: used when " CFG_DEFAULT_PATH " does not exist.\n"
    "# Every setting not listed here takes its documented default.\n"
    "[daemon]\n"
    "listen = inet:127.0.0.1:8461\n"
    "cache_dir = /var/lib/mta-stsd\n"
    "\n"
    "[default]\n"
    "fallback = NOTFOUND\n"
    "testing = ignore\n";

enum cfg_section_kind {
	SEC_NONE = 0, /* before any [section] */
	SEC_DAEMON,
	SEC_DEFAULT,
	SEC_ZONE,
};

enum cfg_value_type {
	V_LISTEN,  /* repeatable; the list in struct cfg */
	V_MODE,    /* octal file mode, unsigned */
	V_ACCOUNT, /* user or group name, char * */
	V_PATH,    /* absolute path, char * */
	V_SERVERS, /* dns_servers list, char * */
	V_METRICS, /* an inet listen value, char * (NULL: off) */
	V_SHARED,  /* a shared_cache URL, char * (NULL: off) */
	V_UINT,    /* decimal in [min, max], unsigned */
	V_CHOICE,  /* one word of choices[], stored as an int-sized member (int, unsigned, enum) */
};

struct cfg_choice {
	const char *word;
	int value;
};

static const struct cfg_choice cfg_fallback_words[] = {
    {"NOTFOUND", CFG_FALLBACK_NOTFOUND}, {"notfound", CFG_FALLBACK_NOTFOUND},
    {"may", CFG_FALLBACK_MAY},           {"encrypt", CFG_FALLBACK_ENCRYPT},
    {"dane", CFG_FALLBACK_DANE},         {NULL, 0},
};
static const struct cfg_choice cfg_testing_words[] = {
    {"ignore", CFG_TESTING_IGNORE}, {"enforce", CFG_TESTING_ENFORCE}, {NULL, 0}};
static const struct cfg_choice cfg_partial_words[] = {
    {"dane-only", CFG_DANE_PARTIAL_DANE_ONLY}, {"dane", CFG_DANE_PARTIAL_DANE}, {NULL, 0}};
static const struct cfg_choice cfg_bool_words[] = {{"yes", 1}, {"no", 0}, {NULL, 0}};

/* Every key of the language. A key belongs to [daemon] (SEC_DAEMON, member of struct cfg) or to
 * the zone sections (SEC_ZONE: [default] and the named ones, member of struct cfg_zone). Its
 * index is its bit in the "set in this section" masks. */
struct cfg_key {
	const char *name;
	enum cfg_section_kind section; /* SEC_DAEMON or SEC_ZONE */
	enum cfg_value_type type;
	size_t off;                       /* of the member (none for V_LISTEN) */
	unsigned min, max;                /* V_UINT, V_MODE */
	const struct cfg_choice *choices; /* V_CHOICE */
	const char *expect;               /* V_CHOICE: the message for any other word */
	int restart;                      /* [daemon]: a running daemon cannot apply a change */
};

/* Key name = member name (the style rule), made so by the macros. */
/* clang-format off */
#define DKEY(n, t, lo, hi, r) {#n, SEC_DAEMON, t, offsetof(struct cfg, n), lo, hi, NULL, NULL, r}
#define DCHOICE(n, w, e, r) {#n, SEC_DAEMON, V_CHOICE, offsetof(struct cfg, n), 0, 0, w, e, r}
#define ZCHOICE(n, w, e) {#n, SEC_ZONE, V_CHOICE, offsetof(struct cfg_zone, n), 0, 0, w, e, 0}
/* clang-format on */
#define RESTART 1 /* only a restart applies it: listeners, privileges, cache, resolver, fetcher */
#define RELOAD 0  /* read per request or lookup: a reload applies it */

static const struct cfg_key cfg_keys[] = {
    {"listen", SEC_DAEMON, V_LISTEN, 0, 0, 0, NULL, NULL, RESTART},
    DKEY(socket_mode, V_MODE, 0, 0777, RESTART),
    DKEY(socket_group, V_ACCOUNT, 0, 0, RESTART),
    DKEY(user, V_ACCOUNT, 0, 0, RESTART),
    DKEY(cache_dir, V_PATH, 0, 0, RESTART),
    DKEY(cache_map_mb, V_UINT, 1, 16384, RESTART),
    DKEY(dns_servers, V_SERVERS, 0, 0, RESTART),
    DKEY(ca_file, V_PATH, 0, 0, RESTART),
    DKEY(fetch_timeout, V_UINT, 1, 60, RESTART),
    DKEY(dns_timeout, V_UINT, 1, 30, RESTART),
    DKEY(txt_recheck, V_UINT, 1, 86400, RELOAD),
    DKEY(dns_stale, V_UINT, 0, DANE_STALE_MAX, RELOAD),
    DKEY(refresh, V_UINT, 60, 31557600, RELOAD),
    DKEY(refresh_active, V_UINT, 3600, 31557600, RELOAD),
    DKEY(max_connections, V_UINT, 1, 100000, RELOAD),
    DKEY(max_lookups, V_UINT, 1, 100000, RELOAD),
    DCHOICE(dnssec, cfg_bool_words, "expected yes or no", RESTART),
    DKEY(metrics, V_METRICS, 0, 0, RESTART),
    DKEY(shared_cache, V_SHARED, 0, 0, RESTART),
    DKEY(shared_cache_password_file, V_PATH, 0, 0, RESTART),
    DKEY(shared_cache_key_file, V_PATH, 0, 0, RESTART),
    DKEY(shared_cache_timeout, V_UINT, 1, 1000, RESTART),
    DCHOICE(shared_cache_lease, cfg_bool_words, "expected yes or no", RESTART),
    DKEY(shared_cache_lease_wait, V_UINT, 0, 60000, RELOAD),
    ZCHOICE(fallback, cfg_fallback_words, "expected NOTFOUND, may, encrypt or dane"),
    ZCHOICE(testing, cfg_testing_words, "expected ignore or enforce"),
    ZCHOICE(dane, cfg_bool_words, "expected yes or no"),
    ZCHOICE(dane_partial, cfg_partial_words, "expected dane-only or dane"),
    ZCHOICE(mx_check, cfg_bool_words, "expected yes or no"),
    ZCHOICE(tlsrpt, cfg_bool_words, "expected yes or no"),
};

#define CFG_NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))
_Static_assert(CFG_NKEYS <= CFG_KEYS_MAX, "CFG_KEYS_MAX bounds the keys");
typedef uint32_t cfg_keyset; /* bit i: cfg_keys[i] set in this section */
_Static_assert(CFG_NKEYS <= 32, "cfg_keyset holds one bit per key");
/* V_CHOICE members are written as an int: every such member must be int-sized. */
_Static_assert(sizeof(enum cfg_fallback) == sizeof(int) &&
                   sizeof(enum cfg_testing) == sizeof(int) &&
                   sizeof(enum cfg_dane_partial) == sizeof(int) && sizeof(unsigned) == sizeof(int),
               "V_CHOICE members are int-sized");

/* Parse state; also the libinih reader's stream. */
struct cfg_parser {
	struct cfg *c;
	const char *text;
	size_t pos;
	unsigned lineno;
	enum cfg_section_kind kind;
	char section[CFG_ZONE_NAME_MAX + 1];
	struct cfg_zone *zone; /* current zone: a named one or default_zone */
	cfg_keyset *set;       /* keys set in the current section */
	cfg_keyset zset[CFG_ZONE_MAX];
	cfg_keyset default_set;
	cfg_keyset daemon_set;
	int failed;
	unsigned err_line;
	char *err;
	size_t errsz;
};

static void cfg_fail(struct cfg_parser *ps, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the first error only: "line N: [section] key: reason". A message cut short by a small
 * errsz is still a NUL-terminated message, which is all the caller needs. */
static void
cfg_fail(struct cfg_parser *ps, const char *key, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = 1;
	ps->err_line = ps->lineno;
	va_start(ap, fmt);
	(void)vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (ps->errsz == 0)
		return;
	if (key == NULL)
		(void)snprintf(ps->err, ps->errsz, "line %u: [%s]: %s", ps->lineno, ps->section,
		               reason);
	else if (ps->kind == SEC_NONE)
		(void)snprintf(ps->err, ps->errsz, "line %u: %s: %s", ps->lineno, key, reason);
	else
		(void)snprintf(ps->err, ps->errsz, "line %u: [%s] %s: %s", ps->lineno, ps->section,
		               key, reason);
}

/* ---- value checks ---- */

static int
cfg_is_ctl(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

/* An IP literal of the given family into dst (struct in_addr or in6_addr); p[0..n) need not be
 * NUL-terminated. */
static int
cfg_ip_parse(int af, const char *p, size_t n, void *dst)
{
	char buf[64];

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return inet_pton(af, buf, dst) == 1;
}

static int
cfg_ip_ok(int af, const char *p, size_t n)
{
	struct in6_addr addr;

	return cfg_ip_parse(af, p, n, &addr);
}

static int
cfg_port_parse(const char *p, size_t n, uint16_t *port)
{
	unsigned long long v;

	if (parse_uint(p, n, 1, 65535, &v) != 0)
		return 0;
	*port = (uint16_t)v;
	return 1;
}

static int
cfg_port_ok(const char *p, size_t n)
{
	uint16_t port;

	return cfg_port_parse(p, n, &port);
}

/* "HOST:PORT" of an inet listener: an IPv4 address or a bracketed IPv6 address (never a name:
 * nothing resolves names at bind time), port 1..65535. */
static int
cfg_hostport_parse(const char *p, size_t n, struct cfg_listen *out)
{
	const char *colon;
	uint16_t port;

	if (n > 0 && p[0] == '[') {
		const char *rb = memchr(p, ']', n);
		struct sockaddr_in6 sin6;

		memset(&sin6, 0, sizeof(sin6));
		if (rb == NULL || (size_t)(rb - p) + 1 >= n || rb[1] != ':' ||
		    !cfg_ip_parse(AF_INET6, p + 1, (size_t)(rb - p) - 1, &sin6.sin6_addr) ||
		    !cfg_port_parse(rb + 2, n - (size_t)(rb - p) - 2, &port))
			return 0;
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(port);
		memcpy(&out->addr, &sin6, sizeof(sin6));
		out->addrlen = sizeof(sin6);
	} else {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		colon = memchr(p, ':', n);
		if (colon == NULL ||
		    !cfg_ip_parse(AF_INET, p, (size_t)(colon - p), &sin.sin_addr) ||
		    !cfg_port_parse(colon + 1, n - (size_t)(colon - p) - 1, &port))
			return 0;
		sin.sin_family = AF_INET;
		sin.sin_port = htons(port);
		memcpy(&out->addr, &sin, sizeof(sin));
		out->addrlen = sizeof(sin);
	}
	out->kind = CFG_LISTEN_INET;
	return 1;
}

/* One dns_servers entry in c-ares's ares_set_servers_ports_csv() syntax:
 * IPv4, IPv4:port, IPv6, [IPv6], [IPv6]:port. */
static int
cfg_server_ok(const char *p, size_t n)
{
	const char *colon;

	if (n > 0 && p[0] == '[') {
		const char *rb = memchr(p, ']', n);
		size_t rest;

		if (rb == NULL || !cfg_ip_ok(AF_INET6, p + 1, (size_t)(rb - p) - 1))
			return 0;
		rest = n - (size_t)(rb - p) - 1;
		return rest == 0 || (rb[1] == ':' && cfg_port_ok(rb + 2, rest - 1));
	}
	colon = memchr(p, ':', n);
	if (colon == NULL)
		return cfg_ip_ok(AF_INET, p, n);
	if (memchr(colon + 1, ':', n - (size_t)(colon - p) - 1) != NULL)
		return cfg_ip_ok(AF_INET6, p, n); /* bare IPv6, no port */
	return cfg_ip_ok(AF_INET, p, (size_t)(colon - p)) &&
	       cfg_port_ok(colon + 1, n - (size_t)(colon - p) - 1);
}

/* Validate a dns_servers list and return it re-joined without blanks (c-ares does not skip
 * them), caller frees; NULL on error with *why set. */
static char *
cfg_servers(const char *v, const char **why)
{
	size_t len = strlen(v), out = 0, start = 0;
	unsigned count = 0;
	char *norm = xmalloc(len + 1);

	while (start <= len) {
		const char *comma = memchr(v + start, ',', len - start);
		size_t end = comma != NULL ? (size_t)(comma - v) : len, a = start, b = end;

		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (a == b) {
			*why = "empty entry";
			goto bad;
		}
		if (++count > CFG_DNS_SERVERS_MAX) {
			*why = "more than 16 servers";
			goto bad;
		}
		if (!cfg_server_ok(v + a, b - a)) {
			*why = "expected IPv4[:port], IPv6 or [IPv6][:port], comma-separated";
			goto bad;
		}
		if (out > 0)
			norm[out++] = ',';
		memcpy(norm + out, v + a, b - a);
		out += b - a;
		start = end + 1;
	}
	norm[out] = '\0';
	return norm;
bad:
	free(norm);
	return NULL;
}

_Static_assert(CFG_UNIX_PATH_MAX < sizeof(((struct sockaddr_un *)0)->sun_path),
               "a unix listener path and its NUL fit in sun_path");

enum cfg_listen_err
cfg_listen_parse(const char *value, struct cfg_listen *out)
{
	size_t n = strlen(value);

	memset(out, 0, sizeof(*out));
	if (strncmp(value, "unix:", 5) == 0) {
		const char *path = value + 5;
		struct sockaddr_un sun;

		if (path[0] != '/')
			return CFG_LISTEN_ERR_RELATIVE;
		if (n - 5 > CFG_UNIX_PATH_MAX)
			return CFG_LISTEN_ERR_LONG;
		for (size_t i = 0; path[i] != '\0'; i++)
			if (cfg_is_ctl((unsigned char)path[i]))
				return CFG_LISTEN_ERR_CONTROL;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, path, n - 5 + 1);
		memcpy(&out->addr, &sun, sizeof(sun));
		out->addrlen = sizeof(sun);
		memcpy(out->path, path, n - 5 + 1);
		out->kind = CFG_LISTEN_UNIX;
		return CFG_LISTEN_OK;
	}
	if (strncmp(value, "inet:", 5) == 0)
		return cfg_hostport_parse(value + 5, n - 5, out) ? CFG_LISTEN_OK
		                                                 : CFG_LISTEN_ERR_INET;
	return CFG_LISTEN_ERR_SCHEME;
}

const char *
cfg_listen_strerror(enum cfg_listen_err e)
{
	switch (e) {
	case CFG_LISTEN_OK:
		return "ok";
	case CFG_LISTEN_ERR_SCHEME:
		return "expected inet:HOST:PORT or unix:/PATH";
	case CFG_LISTEN_ERR_INET:
		return "expected inet:IPV4:PORT or inet:[IPV6]:PORT, port 1..65535";
	case CFG_LISTEN_ERR_RELATIVE:
		return "unix: path must be absolute";
	case CFG_LISTEN_ERR_LONG:
		return "unix: path longer than 107 bytes";
	case CFG_LISTEN_ERR_CONTROL:
		return "control character in path";
	}
	return "unknown error";
}

/* Same socket address (a listener given twice under two spellings, "8461" and "08461"). */
static int
cfg_listen_same(const struct cfg_listen *a, const struct cfg_listen *b)
{
	return a->kind == b->kind && a->addrlen == b->addrlen &&
	       memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}

static const char *
cfg_account_check(const char *v)
{
	size_t n = strlen(v);

	if (n > CFG_ACCOUNT_MAX)
		return "longer than 32 bytes";
	if (v[0] == '-')
		return "must not start with '-'";
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return "only letters, digits, '_', '.' and '-' allowed";
	}
	return NULL;
}

static const char *
cfg_path_check(const char *v)
{
	size_t n = strlen(v);

	if (v[0] != '/')
		return "path must be absolute";
	if (n > CFG_PATH_MAX)
		return "path too long";
	for (size_t i = 0; i < n; i++)
		if (cfg_is_ctl((unsigned char)v[i]))
			return "control character in path";
	return NULL;
}

/* Octal file mode, at most four digits ("0660", "660"), value <= 0777. */
static int
cfg_mode_parse(const char *v, unsigned *out)
{
	unsigned m = 0;
	size_t n = strlen(v);

	if (n == 0 || n > 4)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '7')
			return -1;
		m = m * 8 + (unsigned)(v[i] - '0');
	}
	if (m > 0777)
		return -1;
	*out = m;
	return 0;
}

/* ---- sections ---- */

/* Settings of a zone that sets nothing (also [default] before the file is read). */
static void
cfg_zone_defaults(struct cfg_zone *z)
{
	z->fallback = CFG_FALLBACK_NOTFOUND;
	z->testing = CFG_TESTING_IGNORE;
	z->dane = 1;
	z->dane_partial = CFG_DANE_PARTIAL_DANE_ONLY;
	z->mx_check = 1;
	z->tlsrpt = 0;
}

/* Take every zone key the zone did not set from d. */
static void
cfg_zone_inherit(struct cfg_zone *z, const struct cfg_zone *d, cfg_keyset set)
{
	for (unsigned i = 0; i < CFG_NKEYS; i++)
		if (cfg_keys[i].section == SEC_ZONE && !(set & (1u << i)))
			memcpy((char *)z + cfg_keys[i].off, (const char *)d + cfg_keys[i].off,
			       sizeof(int));
}

static struct cfg_zone *
cfg_zone_get(struct cfg_parser *ps, const char *name, size_t len, cfg_keyset **set)
{
	struct cfg *c = ps->c;
	struct cfg_zone *z;

	for (unsigned i = 0; i < c->n_zones; i++) {
		if (strlen(c->zones[i].name) == len && memcmp(c->zones[i].name, name, len) == 0) {
			*set = &ps->zset[i];
			return &c->zones[i];
		}
	}
	if (c->n_zones == CFG_ZONE_MAX)
		return NULL;
	z = &c->zones[c->n_zones];
	memcpy(z->name, name, len);
	z->name[len] = '\0';
	/* Values are filled from [default] after the whole file is read. */
	cfg_zone_defaults(z);
	*set = &ps->zset[c->n_zones];
	ps->zset[c->n_zones] = 0;
	c->n_zones++;
	return z;
}

/* A "[name]" line (leading blanks already gone): p[0] == '[', n bytes with the line end. */
static void
cfg_section(struct cfg_parser *ps, const char *p, size_t n)
{
	size_t e = 1, len, rest;

	while (e < n && p[e] != ']' && p[e] != '\n')
		e++;
	len = e - 1;
	/* For messages: the name as far as it fits (longer names are rejected below). */
	(void)snprintf(ps->section, sizeof(ps->section), "%.*s",
	               (int)(len < CFG_ZONE_NAME_MAX ? len : CFG_ZONE_NAME_MAX), p + 1);
	if (e >= n || p[e] != ']') {
		cfg_fail(ps, NULL, "section header without ']'");
		return;
	}
	for (rest = e + 1; rest < n; rest++) {
		if (p[rest] == ';' || p[rest] == '#')
			break;
		if (p[rest] != ' ' && p[rest] != '\t' && p[rest] != '\r' && p[rest] != '\n') {
			cfg_fail(ps, NULL, "text after the section header");
			return;
		}
	}
	if (len == 0) {
		cfg_fail(ps, NULL, "empty section name");
		return;
	}
	if (len > CFG_ZONE_NAME_MAX) {
		cfg_fail(ps, NULL, "section name longer than %d bytes", CFG_ZONE_NAME_MAX);
		return;
	}
	for (size_t i = 1; i <= len; i++) {
		char ch = p[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-')) {
			cfg_fail(ps, NULL, "section name: only letters, digits, '_', '.' and '-'");
			return;
		}
	}
	if (len == 6 && memcmp(p + 1, "daemon", 6) == 0) {
		ps->kind = SEC_DAEMON;
		ps->zone = NULL;
		ps->set = &ps->daemon_set;
	} else if (len == 7 && memcmp(p + 1, "default", 7) == 0) {
		ps->kind = SEC_DEFAULT;
		ps->zone = &ps->c->default_zone;
		ps->set = &ps->default_set;
	} else {
		ps->kind = SEC_ZONE;
		ps->zone = cfg_zone_get(ps, p + 1, len, &ps->set);
		if (ps->zone == NULL)
			cfg_fail(ps, NULL, "more than %d socketmap sections", CFG_ZONE_MAX);
	}
}

/* libinih reader: one whole line per call, so libinih's line count is ours. */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parser *ps = stream;
	const char *p = ps->text + ps->pos, *nl;
	size_t n, skip = 0;

	if (ps->failed || *p == '\0' || num < 2)
		return NULL;
	nl = strchr(p, '\n');
	n = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);
	ps->pos += n;
	ps->lineno++;
	if (ps->lineno == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		skip = 3; /* UTF-8 byte order mark */
	/* Leading blanks would turn the line into a continuation of the previous value. */
	while (skip < n && (p[skip] == ' ' || p[skip] == '\t'))
		skip++;
	p += skip;
	n -= skip;
	/* libinih would cut a longer line into pieces and parse the tail as a line of its own. */
	if (n > (size_t)num - 1) {
		ps->kind = SEC_NONE;
		cfg_fail(ps, "line too long", "more than %d bytes", num - 2);
		return NULL;
	}
	memcpy(str, p, n);
	str[n] = '\0';
	if (p[0] == '[') {
		cfg_section(ps, p, n);
		if (ps->failed)
			return NULL;
	}
	return str;
}

/* ---- keys ---- */

/* listen: validated, not given twice, the first line replacing the built-in list. */
static const char *
cfg_listen_add(struct cfg_parser *ps, const char *value, int first)
{
	struct cfg *c = ps->c;
	struct cfg_listen l, prev;
	enum cfg_listen_err e;

	if ((e = cfg_listen_parse(value, &l)) != CFG_LISTEN_OK)
		return cfg_listen_strerror(e);
	if (first) {
		for (unsigned i = 0; i < c->n_listen; i++) {
			free(c->listen[i]);
			c->listen[i] = NULL;
		}
		c->n_listen = 0;
	}
	for (unsigned i = 0; i < c->n_listen; i++)
		if (cfg_listen_parse(c->listen[i], &prev) == CFG_LISTEN_OK &&
		    cfg_listen_same(&l, &prev))
			return "listener given twice";
	if (c->n_listen == CFG_LISTEN_MAX)
		return "more than 16 listeners";
	c->listen[c->n_listen++] = xstrndup(value, strlen(value));
	return NULL;
}

/* One "name = value" line in the current section: find the key in the table (for this kind of
 * section), refuse a second setting, check and store the value. */
static void
cfg_key(struct cfg_parser *ps, const char *name, const char *value)
{
	enum cfg_section_kind want = ps->kind == SEC_DAEMON ? SEC_DAEMON : SEC_ZONE;
	char *base = want == SEC_DAEMON ? (char *)ps->c : (char *)ps->zone;
	const struct cfg_key *k = NULL;
	const char *why = NULL;
	cfg_keyset bit = 0;
	unsigned long long u;
	unsigned mode, uv;
	char *s = NULL;

	for (unsigned i = 0; i < CFG_NKEYS; i++) {
		if (cfg_keys[i].section == want && strcmp(cfg_keys[i].name, name) == 0) {
			k = &cfg_keys[i];
			bit = (cfg_keyset)1 << i;
			break;
		}
	}
	if (k == NULL) {
		cfg_fail(ps, name, "unknown key");
		return;
	}
	if (k->type != V_LISTEN && (*ps->set & bit) != 0) {
		cfg_fail(ps, name, "set more than once");
		return;
	}
	if (value[0] == '\0') {
		cfg_fail(ps, name, "empty value");
		return;
	}
	switch (k->type) {
	case V_LISTEN:
		why = cfg_listen_add(ps, value, (*ps->set & bit) == 0);
		break;
	case V_MODE:
		if (cfg_mode_parse(value, &mode) != 0)
			why = "expected an octal mode 0..0777";
		else
			memcpy(base + k->off, &mode, sizeof(mode));
		break;
	case V_ACCOUNT:
	case V_PATH:
		why = k->type == V_ACCOUNT ? cfg_account_check(value) : cfg_path_check(value);
		if (why == NULL)
			s = xstrndup(value, strlen(value));
		break;
	case V_SERVERS:
		s = cfg_servers(value, &why);
		break;
	case V_METRICS: {
		struct cfg_listen l;
		enum cfg_listen_err e = cfg_listen_parse(value, &l);

		/* HTTP on a unix socket would need its own mode and group: inet only. */
		if (e != CFG_LISTEN_OK)
			why = e == CFG_LISTEN_ERR_SCHEME ? "expected inet:HOST:PORT"
			                                 : cfg_listen_strerror(e);
		else if (l.kind != CFG_LISTEN_INET)
			why = "expected inet:HOST:PORT (no unix: socket for metrics)";
		else
			s = xstrndup(value, strlen(value));
		break;
	}
	case V_SHARED: {
		struct sharedrec_url url;
		enum sharedrec_url_err e = sharedrec_url_parse(value, strlen(value), &url);

		if (e != SHAREDREC_URL_OK)
			why = sharedrec_url_strerror(e);
		else
			s = xstrndup(value, strlen(value));
		break;
	}
	case V_UINT:
		if (parse_uint(value, strlen(value), k->min, k->max, &u) != 0) {
			cfg_fail(ps, name, "expected a number %u..%u", k->min, k->max);
			return;
		}
		uv = (unsigned)u;
		memcpy(base + k->off, &uv, sizeof(uv));
		break;
	case V_CHOICE: {
		const struct cfg_choice *ch;

		for (ch = k->choices; ch->word != NULL; ch++)
			if (strcmp(value, ch->word) == 0)
				break;
		if (ch->word == NULL)
			why = k->expect;
		else
			memcpy(base + k->off, &ch->value, sizeof(int));
		break;
	}
	}
	if (why != NULL) {
		cfg_fail(ps, name, "%s", why);
		return;
	}
	if (s != NULL) {
		char **slot = (char **)(void *)(base + k->off);

		free(*slot); /* a built-in default such as cache_dir */
		*slot = s;
	}
	*ps->set |= bit;
}

static int
cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parser *ps = user;

	/* libinih's section name may be truncated; the reader tracked the real one. */
	(void)section;
	if (ps->failed)
		return 0;
	switch (ps->kind) {
	case SEC_NONE:
		cfg_fail(ps, name, "not inside a [section]");
		break;
	case SEC_DAEMON:
	case SEC_DEFAULT:
	case SEC_ZONE:
		cfg_key(ps, name, value);
		break;
	}
	return !ps->failed;
}

/* ---- entry points ---- */

static void
cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->refs = 1;
	c->listen[0] = xstrndup(CFG_DEF_LISTEN, strlen(CFG_DEF_LISTEN));
	c->n_listen = 1;
	c->socket_mode = 0660;
	c->cache_dir = xstrndup(CFG_DEF_CACHE_DIR, strlen(CFG_DEF_CACHE_DIR));
	c->cache_map_mb = 64; /* CACHE_MAP_DEFAULT: about 200000 typical records */
	c->fetch_timeout = 20;
	c->dns_timeout = 5;
	c->txt_recheck = 300;
	c->dns_stale = 600;
	c->refresh = 86400;
	c->refresh_active = 35 * 86400;
	c->max_connections = 1000;
	c->max_lookups = 4096;
	c->shared_cache_timeout = 50;
	c->shared_cache_lease = 1;
	c->shared_cache_lease_wait = 2000;
	memcpy(c->default_zone.name, "default", sizeof("default"));
	cfg_zone_defaults(&c->default_zone);
}

/* Parse text into out, which holds the defaults. */
static int
cfg_read(struct cfg *out, const char *text, char *err, size_t errsz)
{
	struct cfg_parser ps;
	int rc;

	memset(&ps, 0, sizeof(ps));
	ps.c = out;
	ps.text = text;
	ps.err = err;
	ps.errsz = errsz;
	if (errsz > 0)
		err[0] = '\0';

	rc = ini_parse_stream(cfg_reader, &ps, cfg_handler, &ps);
	/* libinih reports its own syntax errors only by line; ours stop the reader at once, so
	 * an earlier line from libinih is a syntax error we did not see. */
	if (rc > 0 && (!ps.failed || (unsigned)rc < ps.err_line)) {
		ps.failed = 0;
		ps.lineno = (unsigned)rc;
		ps.kind = SEC_NONE;
		cfg_fail(&ps, "syntax error", "expected [section], key = value, or a comment");
		return -1;
	}
	if (rc < 0 && !ps.failed) {
		if (errsz > 0)
			(void)snprintf(err, errsz, "configuration parser error %d", rc);
		return -1;
	}
	if (ps.failed)
		return -1;

	/* Second pass: named zones inherit what they did not set from [default] as it ended up. */
	for (unsigned i = 0; i < out->n_zones; i++)
		cfg_zone_inherit(&out->zones[i], &out->default_zone, ps.zset[i]);

	/* Whatever the order of the lines: the metrics address is not a socketmap listener. */
	if (out->metrics != NULL) {
		struct cfg_listen m, l;

		INVARIANT(cfg_listen_parse(out->metrics, &m) == CFG_LISTEN_OK);
		for (unsigned i = 0; i < out->n_listen; i++) {
			if (cfg_listen_parse(out->listen[i], &l) == CFG_LISTEN_OK &&
			    cfg_listen_same(&m, &l)) {
				if (errsz > 0)
					(void)snprintf(
					    err, errsz,
					    "[daemon] metrics %s is also a listen address",
					    out->metrics);
				return -1;
			}
		}
	}
	/* A domain answered from the cache counts as asked for (queried) each time a TXT
	 * re-check writes its record, every txt_recheck: a longer txt_recheck than
	 * refresh_active would make busy domains look idle and stop their proactive refresh. */
	if (out->txt_recheck > out->refresh_active) {
		if (errsz > 0)
			(void)snprintf(err, errsz,
			               "[daemon] txt_recheck %u is longer than refresh_active %u",
			               out->txt_recheck, out->refresh_active);
		return -1;
	}
	if (out->n_listen == 0 || out->cache_dir == NULL) {
		if (errsz > 0)
			(void)snprintf(err, errsz,
			               "[daemon] needs at least one listen and a cache_dir");
		return -1;
	}
	/* Worst case of one lookup: TXT and address queries, then the fetch; it must end with an
	 * answer before Postfix gives up on the socketmap reply (100 s). */
	if (out->fetch_timeout + 2 * out->dns_timeout >= CFG_DEADLINE_BUDGET) {
		if (errsz > 0)
			(void)snprintf(err, errsz,
			               "[daemon] fetch_timeout (%u) + 2 * dns_timeout (%u) must be "
			               "below %d seconds",
			               out->fetch_timeout, out->dns_timeout, CFG_DEADLINE_BUDGET);
		return -1;
	}
	return 0;
}

static void
cfg_free(struct cfg *c)
{
	for (unsigned i = 0; i < CFG_LISTEN_MAX; i++)
		free(c->listen[i]);
	free(c->socket_group);
	free(c->user);
	free(c->cache_dir);
	free(c->dns_servers);
	free(c->ca_file);
	free(c->metrics);
	free(c->shared_cache);
	free(c->shared_cache_password_file);
	free(c->shared_cache_key_file);
	free(c);
}

struct cfg *
cfg_parse(const char *text, char *err, size_t errsz)
{
	struct cfg *c = xmalloc(sizeof(*c));

	cfg_defaults(c);
	if (cfg_read(c, text, err, errsz) != 0) {
		cfg_free(c);
		return NULL;
	}
	return c;
}

struct cfg *
cfg_ref(struct cfg *c)
{
	if (c != NULL) {
		/* A count at 0 is a use after free; at UINT_MAX it would wrap to a free. */
		INVARIANT(c->refs > 0 && c->refs < UINT_MAX);
		c->refs++;
	}
	return c;
}

void
cfg_unref(struct cfg *c)
{
	if (c == NULL)
		return;
	INVARIANT(c->refs > 0);
	if (--c->refs == 0)
		cfg_free(c);
}

/* ---- reload ---- */

/* Same listeners, in any order and spelling. */
static int
cfg_listen_set_same(const struct cfg *a, const struct cfg *b)
{
	if (a->n_listen != b->n_listen)
		return 0;
	for (unsigned i = 0; i < a->n_listen; i++) {
		struct cfg_listen la, lb;
		int found = 0;

		INVARIANT(cfg_listen_parse(a->listen[i], &la) == CFG_LISTEN_OK);
		for (unsigned j = 0; j < b->n_listen && !found; j++)
			found = cfg_listen_parse(b->listen[j], &lb) == CFG_LISTEN_OK &&
			        cfg_listen_same(&la, &lb);
		if (!found)
			return 0;
	}
	return 1;
}

static int
cfg_key_same(const struct cfg_key *k, const struct cfg *a, const struct cfg *b)
{
	const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;

	switch (k->type) {
	case V_LISTEN:
		return cfg_listen_set_same(a, b);
	case V_ACCOUNT:
	case V_PATH:
	case V_SERVERS:
	case V_METRICS:
	case V_SHARED: {
		const char *sa, *sb;

		memcpy(&sa, pa, sizeof(sa));
		memcpy(&sb, pb, sizeof(sb));
		return (sa == NULL && sb == NULL) ||
		       (sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
	}
	case V_MODE:
	case V_UINT:
	case V_CHOICE:
		break;
	}
	return memcmp(pa, pb, sizeof(unsigned)) == 0;
}

/* Give dst the value src has for key k. */
static void
cfg_key_copy(const struct cfg_key *k, struct cfg *dst, const struct cfg *src)
{
	char *pd = (char *)dst + k->off;
	const char *ps = (const char *)src + k->off;

	switch (k->type) {
	case V_LISTEN:
		for (unsigned i = 0; i < CFG_LISTEN_MAX; i++) {
			free(dst->listen[i]);
			dst->listen[i] = i < src->n_listen
			                     ? xstrndup(src->listen[i], strlen(src->listen[i]))
			                     : NULL;
		}
		dst->n_listen = src->n_listen;
		return;
	case V_ACCOUNT:
	case V_PATH:
	case V_SERVERS:
	case V_METRICS:
	case V_SHARED: {
		char *sd, *ss;

		memcpy(&sd, pd, sizeof(sd));
		memcpy(&ss, ps, sizeof(ss));
		free(sd);
		sd = ss != NULL ? xstrndup(ss, strlen(ss)) : NULL;
		memcpy(pd, &sd, sizeof(sd));
		return;
	}
	case V_MODE:
	case V_UINT:
	case V_CHOICE:
		break;
	}
	memcpy(pd, ps, sizeof(unsigned));
}

size_t
cfg_keep_restart(struct cfg *fresh, const struct cfg *running, const char **changed, size_t max)
{
	size_t n = 0;

	/* Immutable once shared: only a configuration nobody else holds may change. */
	INVARIANT(fresh->refs == 1);
	for (unsigned i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if (k->section != SEC_DAEMON || !k->restart || cfg_key_same(k, fresh, running))
			continue;
		cfg_key_copy(k, fresh, running);
		if (n < max)
			changed[n] = k->name;
		n++;
	}
	return n;
}

const struct cfg_zone *
cfg_zone_find(const struct cfg *c, const char *name, size_t len)
{
	for (unsigned i = 0; i < c->n_zones; i++) {
		const char *zn = c->zones[i].name;

		if (strlen(zn) == len && memcmp(zn, name, len) == 0)
			return &c->zones[i];
	}
	return &c->default_zone;
}

const char *
cfg_fallback_name(enum cfg_fallback f)
{
	switch (f) {
	case CFG_FALLBACK_NOTFOUND:
		return "NOTFOUND";
	case CFG_FALLBACK_MAY:
		return "may";
	case CFG_FALLBACK_ENCRYPT:
		return "encrypt";
	case CFG_FALLBACK_DANE:
		return "dane";
	}
	return "unknown";
}
