/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for cfg.c: the embedded default text, every key with good and bad values (exact
 * error messages with line numbers), section names, syntax errors, over-long lines, the
 * listener and zone caps at the cap and one over, [default] inheritance in either order,
 * cfg_zone_find(), the reference count (run under valgrind by make check-valgrind), what a
 * reload keeps (cfg_keep_restart); the key table
 * (every key in its own and in the other section kind, once and twice, inherited); the listen
 * parser at its edges (ports 0/1/65535/65536, address forms, unix path at 107 and 108 bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "cfg.h"

typedef void check_fn(const struct cfg *c);

struct cfg_case {
	const char *name;
	const char *text;
	const char *err; /* NULL: must parse */
	check_fn *check; /* optional, on success */
};

static void
check_defaults(const struct cfg *c)
{
	assert_int_equal(c->n_listen, 1);
	assert_string_equal(c->listen[0], "inet:127.0.0.1:8461");
	assert_null(c->listen[1]);
	assert_int_equal(c->socket_mode, 0660);
	assert_null(c->socket_group);
	assert_null(c->user);
	assert_string_equal(c->cache_dir, "/var/lib/mta-stsd");
	assert_int_equal(c->cache_map_mb, 64);
	assert_null(c->dns_servers);
	assert_null(c->ca_file);
	assert_int_equal(c->fetch_timeout, 20);
	assert_int_equal(c->dns_timeout, 5);
	assert_int_equal(c->txt_recheck, 300);
	assert_int_equal(c->dns_stale, 600);
	assert_int_equal(c->refresh, 86400);
	assert_int_equal(c->max_connections, 1000);
	assert_int_equal(c->max_lookups, 4096);
	assert_int_equal(c->n_zones, 0);
	assert_string_equal(c->default_zone.name, "default");
	assert_int_equal(c->default_zone.fallback, CFG_FALLBACK_NOTFOUND);
	assert_int_equal(c->default_zone.testing, CFG_TESTING_IGNORE);
	/* DANE needs a validating resolver and Postfix's dnssec support: off until asked for. */
	assert_int_equal(c->dnssec, 0);
	assert_null(c->metrics);      /* no HTTP endpoint unless asked for */
	assert_null(c->shared_cache); /* no fleet cache unless asked for: today's behaviour */
	assert_null(c->shared_cache_password_file);
	assert_int_equal(c->shared_cache_timeout, 50);
	assert_int_equal(c->shared_cache_lease, 1);
	assert_null(c->shared_cache_key_file);
	assert_int_equal(c->shared_cache_lease_wait, 2000);
	assert_int_equal(c->default_zone.dane, 1);
	assert_int_equal(c->default_zone.dane_partial, CFG_DANE_PARTIAL_DANE_ONLY);
	assert_int_equal(c->default_zone.mx_check, 1);
	assert_int_equal(c->default_zone.tlsrpt, 0); /* Postfix <= 3.9 defers on it: opt-in */
}

/* Every zone key set in [default]; [a] inherits all, [b] overrides all. */
static void
check_dane_keys(const struct cfg *c)
{
	assert_int_equal(c->dnssec, 1);
	assert_int_equal(c->n_zones, 2);
	assert_int_equal(c->zones[0].dane, 0);
	assert_int_equal(c->zones[0].dane_partial, CFG_DANE_PARTIAL_DANE);
	assert_int_equal(c->zones[0].mx_check, 0);
	assert_int_equal(c->zones[0].tlsrpt, 1);
	assert_int_equal(c->zones[1].dane, 1);
	assert_int_equal(c->zones[1].dane_partial, CFG_DANE_PARTIAL_DANE_ONLY);
	assert_int_equal(c->zones[1].mx_check, 1);
	assert_int_equal(c->zones[1].tlsrpt, 0);
}

static void
check_dnssec_no(const struct cfg *c)
{
	assert_int_equal(c->dnssec, 0);
}

static void
check_metrics_v4(const struct cfg *c)
{
	assert_string_equal(c->metrics, "inet:127.0.0.1:9461");
}

static void
check_shared_tcp(const struct cfg *c)
{
	assert_string_equal(c->shared_cache, "redis://127.0.0.1:6380/2");
	assert_string_equal(c->shared_cache_password_file, "/etc/mta-stsd/redis.pass");
	assert_string_equal(c->shared_cache_key_file, "/etc/mta-stsd/fleet.key");
	assert_int_equal(c->shared_cache_timeout, 200);
	assert_int_equal(c->shared_cache_lease_wait, 0);
}

static void
check_shared_unix(const struct cfg *c)
{
	assert_string_equal(c->shared_cache, "redis+unix:/run/redis/redis.sock?db=1");
	assert_null(c->shared_cache_password_file);
	assert_int_equal(c->shared_cache_timeout, 50);
}

static void
check_metrics_v6(const struct cfg *c)
{
	assert_string_equal(c->metrics, "inet:[::1]:9461");
	assert_string_equal(c->listen[0], "inet:[::1]:8461");
}

static void
check_listen_replaced(const struct cfg *c)
{
	assert_int_equal(c->n_listen, 3);
	assert_string_equal(c->listen[0], "unix:/var/spool/postfix/private/mta-sts");
	assert_string_equal(c->listen[1], "inet:[::1]:8461");
	assert_string_equal(c->listen[2], "inet:0.0.0.0:1");
}

static void
check_listen_v6_max_port(const struct cfg *c)
{
	assert_int_equal(c->n_listen, 1);
	assert_string_equal(c->listen[0], "inet:[2001:db8::1]:65535");
}

static void
check_mode_0600(const struct cfg *c)
{
	assert_int_equal(c->socket_mode, 0600);
}

static void
check_mode_0(const struct cfg *c)
{
	assert_int_equal(c->socket_mode, 0);
}

static void
check_mode_777(const struct cfg *c)
{
	assert_int_equal(c->socket_mode, 0777);
}

static void
check_accounts(const struct cfg *c)
{
	assert_string_equal(c->user, "_mta-sts");
	assert_string_equal(c->socket_group, "postfix");
}

static void
check_paths(const struct cfg *c)
{
	assert_string_equal(c->cache_dir, "/srv/mta sts/cache");
	assert_string_equal(c->ca_file, "/etc/ssl/certs/ca-certificates.crt");
}

static void
check_servers(const struct cfg *c)
{
	assert_string_equal(c->dns_servers, "127.0.0.1,[::1]:5353,10.0.0.1:53,::1,[fe80::1]");
}

static void
check_uint_min(const struct cfg *c)
{
	assert_int_equal(c->fetch_timeout, 1);
	assert_int_equal(c->dns_timeout, 1);
	assert_int_equal(c->txt_recheck, 1);
	assert_int_equal(c->refresh, 60);
	assert_int_equal(c->max_connections, 1);
	assert_int_equal(c->max_lookups, 1);
	assert_int_equal(c->cache_map_mb, 1);
}

static void
check_uint_max(const struct cfg *c)
{
	assert_int_equal(c->fetch_timeout, 60);
	assert_int_equal(c->dns_timeout, 14);
	assert_int_equal(c->txt_recheck, 86400);
	assert_int_equal(c->refresh, 31557600);
	assert_int_equal(c->max_connections, 100000);
	assert_int_equal(c->max_lookups, 100000);
	assert_int_equal(c->cache_map_mb, 16384);
}

static void
check_dns_max(const struct cfg *c)
{
	assert_int_equal(c->fetch_timeout, 1);
	assert_int_equal(c->dns_timeout, 30);
}

static void
check_zone_explicit(const struct cfg *c)
{
	assert_int_equal(c->n_zones, 1);
	assert_string_equal(c->zones[0].name, "postfix");
	assert_int_equal(c->zones[0].fallback, CFG_FALLBACK_MAY);
	assert_int_equal(c->zones[0].testing, CFG_TESTING_ENFORCE);
	assert_int_equal(c->default_zone.fallback, CFG_FALLBACK_NOTFOUND);
	assert_int_equal(c->default_zone.testing, CFG_TESTING_IGNORE);
}

/* [postfix] written before [default]: it still inherits what it did not set. */
static void
check_inherit_late_default(const struct cfg *c)
{
	assert_int_equal(c->n_zones, 2);
	assert_string_equal(c->zones[0].name, "postfix");
	assert_int_equal(c->zones[0].fallback, CFG_FALLBACK_ENCRYPT); /* own */
	assert_int_equal(c->zones[0].testing, CFG_TESTING_ENFORCE);   /* inherited */
	assert_string_equal(c->zones[1].name, "relay");
	assert_int_equal(c->zones[1].fallback, CFG_FALLBACK_DANE); /* inherited */
	assert_int_equal(c->zones[1].testing, CFG_TESTING_IGNORE); /* own */
	assert_int_equal(c->default_zone.fallback, CFG_FALLBACK_DANE);
	assert_int_equal(c->default_zone.testing, CFG_TESTING_ENFORCE);
}

static void
check_inherit_early_default(const struct cfg *c)
{
	assert_int_equal(c->n_zones, 1);
	assert_int_equal(c->zones[0].fallback, CFG_FALLBACK_MAY);
	assert_int_equal(c->zones[0].testing, CFG_TESTING_IGNORE);
}

static void
check_notfound_lower(const struct cfg *c)
{
	assert_int_equal(c->default_zone.fallback, CFG_FALLBACK_NOTFOUND);
	assert_int_equal(c->n_zones, 1);
	assert_int_equal(c->zones[0].fallback, CFG_FALLBACK_NOTFOUND);
}

static void
check_empty_zone(const struct cfg *c)
{
	assert_int_equal(c->n_zones, 1);
	assert_string_equal(c->zones[0].name, "a.b_c-D9");
	assert_int_equal(c->zones[0].fallback, CFG_FALLBACK_MAY);
}

static void
check_reopened_sections(const struct cfg *c)
{
	assert_int_equal(c->n_zones, 1);
	assert_int_equal(c->zones[0].fallback, CFG_FALLBACK_MAY);
	assert_int_equal(c->zones[0].testing, CFG_TESTING_ENFORCE);
	assert_string_equal(c->user, "mta");
	assert_int_equal(c->n_listen, 2);
}

static void
check_syntax_variants(const struct cfg *c)
{
	assert_string_equal(c->user, "mta");
	assert_string_equal(c->socket_group, "postfix");
	assert_int_equal(c->fetch_timeout, 10);
	assert_int_equal(c->dns_timeout, 3);
	assert_int_equal(c->n_zones, 1);
	assert_int_equal(c->zones[0].fallback, CFG_FALLBACK_ENCRYPT);
}

static const struct cfg_case cases[] = {
    /* ---- accepted ---- */
    {"empty text", "", NULL, check_defaults},
    {"only comments", "# nothing\n; here\n\n", NULL, check_defaults},
    {"listen replaces default",
     "[daemon]\nlisten = unix:/var/spool/postfix/private/mta-sts\nlisten = inet:[::1]:8461\n"
     "listen = inet:0.0.0.0:1\n",
     NULL, check_listen_replaced},
    {"listen v6 port 65535", "[daemon]\nlisten = inet:[2001:db8::1]:65535\n", NULL,
     check_listen_v6_max_port},
    {"socket_mode 0600", "[daemon]\nsocket_mode = 0600\n", NULL, check_mode_0600},
    {"socket_mode 0", "[daemon]\nsocket_mode = 0\n", NULL, check_mode_0},
    {"socket_mode 777", "[daemon]\nsocket_mode = 777\n", NULL, check_mode_777},
    {"user and group", "[daemon]\nuser = _mta-sts\nsocket_group = postfix\n", NULL, check_accounts},
    {"paths",
     "[daemon]\ncache_dir = /srv/mta sts/cache\nca_file = /etc/ssl/certs/ca-certificates.crt\n",
     NULL, check_paths},
    {"dns_servers list",
     "[daemon]\ndns_servers = 127.0.0.1, [::1]:5353 ,10.0.0.1:53,::1,\t[fe80::1]\n", NULL,
     check_servers},
    {"numbers at minimum",
     "[daemon]\nfetch_timeout = 1\ndns_timeout = 1\ntxt_recheck = 1\nrefresh = 60\n"
     "max_connections = 1\nmax_lookups = 1\ncache_map_mb = 1\n",
     NULL, check_uint_min},
    {"numbers at maximum",
     "[daemon]\nfetch_timeout = 60\ndns_timeout = 14\ntxt_recheck = 86400\n"
     "refresh = 31557600\nmax_connections = 100000\nmax_lookups = 100000\n"
     "cache_map_mb = 16384\n",
     NULL, check_uint_max},
    {"dns_timeout 30", "[daemon]\nfetch_timeout = 1\ndns_timeout = 30\n", NULL, check_dns_max},
    {"zone explicit", "[postfix]\nfallback = may\ntesting = enforce\n", NULL, check_zone_explicit},
    {"dane keys",
     "[daemon]\ndnssec = yes\n[a]\n[b]\ndane = yes\ndane_partial = dane-only\nmx_check = yes\n"
     "tlsrpt = no\n[default]\ndane = no\ndane_partial = dane\nmx_check = no\ntlsrpt = yes\n",
     NULL, check_dane_keys},
    {"dnssec no", "[daemon]\ndnssec = no\n", NULL, check_dnssec_no},
    {"dnssec bad", "[daemon]\ndnssec = on\n", "line 2: [daemon] dnssec: expected yes or no", NULL},
    {"dnssec twice", "[daemon]\ndnssec = no\ndnssec = yes\n",
     "line 3: [daemon] dnssec: set more than once", NULL},
    /* ---- metrics: an inet address, never a socketmap listener's ---- */
    {"metrics v4", "[daemon]\nmetrics = inet:127.0.0.1:9461\n", NULL, check_metrics_v4},
    {"metrics v6, listen after", "[daemon]\nmetrics = inet:[::1]:9461\nlisten = inet:[::1]:8461\n",
     NULL, check_metrics_v6},
    {"metrics unix", "[daemon]\nmetrics = unix:/run/m\n",
     "line 2: [daemon] metrics: expected inet:HOST:PORT (no unix: socket for metrics)", NULL},
    {"metrics scheme", "[daemon]\nmetrics = http://127.0.0.1:9461/\n",
     "line 2: [daemon] metrics: expected inet:HOST:PORT", NULL},
    {"metrics port 0", "[daemon]\nmetrics = inet:127.0.0.1:0\n",
     "line 2: [daemon] metrics: expected inet:IPV4:PORT or inet:[IPV6]:PORT, port 1..65535", NULL},
    {"metrics host name", "[daemon]\nmetrics = inet:localhost:9461\n",
     "line 2: [daemon] metrics: expected inet:IPV4:PORT or inet:[IPV6]:PORT, port 1..65535", NULL},
    {"metrics empty", "[daemon]\nmetrics =\n", "line 2: [daemon] metrics: empty value", NULL},
    {"metrics twice", "[daemon]\nmetrics = inet:127.0.0.1:1\nmetrics = inet:127.0.0.1:2\n",
     "line 3: [daemon] metrics: set more than once", NULL},
    {"metrics on the default listener", "[daemon]\nmetrics = inet:127.0.0.1:8461\n",
     "[daemon] metrics inet:127.0.0.1:8461 is also a listen address", NULL},
    {"metrics on a listener, other spelling, listen after",
     "[daemon]\nmetrics = inet:[::1]:08461\nlisten = unix:/s\nlisten = inet:[0::1]:8461\n",
     "[daemon] metrics inet:[::1]:08461 is also a listen address", NULL},
    {"txt_recheck longer than refresh_active",
     "[daemon]\ntxt_recheck = 7200\nrefresh_active = 3600\n",
     "[daemon] txt_recheck 7200 is longer than refresh_active 3600", NULL},
    {"txt_recheck equal to refresh_active", "[daemon]\ntxt_recheck = 3600\nrefresh_active = 3600\n",
     NULL, NULL},
    /* ---- shared_cache: a Redis URL with an address literal, its password file, timeout ---- */
    {"shared_cache tcp",
     "[daemon]\nshared_cache = redis://127.0.0.1:6380/2\n"
     "shared_cache_password_file = /etc/mta-stsd/redis.pass\nshared_cache_timeout = 200\n"
     "shared_cache_key_file = /etc/mta-stsd/fleet.key\nshared_cache_lease_wait = 0\n",
     NULL, check_shared_tcp},
    {"shared_cache unix", "[daemon]\nshared_cache = redis+unix:/run/redis/redis.sock?db=1\n", NULL,
     check_shared_unix},
    {"shared_cache host name", "[daemon]\nshared_cache = redis://redis.example.com\n",
     "line 2: [daemon] shared_cache: HOST must be an IPv4 address or a bracketed IPv6 address "
     "(a name would need a blocking lookup)",
     NULL},
    {"shared_cache password in URL", "[daemon]\nshared_cache = redis://:pw@127.0.0.1\n",
     "line 2: [daemon] shared_cache: no user or password in the URL: use "
     "shared_cache_password_file",
     NULL},
    {"shared_cache scheme", "[daemon]\nshared_cache = rediss://127.0.0.1\n",
     "line 2: [daemon] shared_cache: expected redis://HOST[:PORT][/DB] or "
     "redis+unix:/PATH[?db=N]",
     NULL},
    {"shared_cache db", "[daemon]\nshared_cache = redis://127.0.0.1/x\n",
     "line 2: [daemon] shared_cache: expected a database number 0..65535", NULL},
    {"shared_cache relative socket", "[daemon]\nshared_cache = redis+unix:redis.sock\n",
     "line 2: [daemon] shared_cache: expected an absolute socket path of at most 107 bytes", NULL},
    {"shared_cache_password_file relative", "[daemon]\nshared_cache_password_file = pw\n",
     "line 2: [daemon] shared_cache_password_file: path must be absolute", NULL},
    {"shared_cache_timeout 0", "[daemon]\nshared_cache_timeout = 0\n",
     "line 2: [daemon] shared_cache_timeout: expected a number 1..1000", NULL},
    {"shared_cache_lease maybe", "[daemon]\nshared_cache_lease = maybe\n",
     "line 2: [daemon] shared_cache_lease: expected yes or no", NULL},
    {"shared_cache_timeout 1001", "[daemon]\nshared_cache_timeout = 1001\n",
     "line 2: [daemon] shared_cache_timeout: expected a number 1..1000", NULL},
    {"shared_cache_key_file relative", "[daemon]\nshared_cache_key_file = fleet.key\n",
     "line 2: [daemon] shared_cache_key_file: path must be absolute", NULL},
    {"shared_cache_lease_wait 60001", "[daemon]\nshared_cache_lease_wait = 60001\n",
     "line 2: [daemon] shared_cache_lease_wait: expected a number 0..60000", NULL},
    {"shared_cache in a zone", "[postfix]\nshared_cache = redis://127.0.0.1\n",
     "line 2: [postfix] shared_cache: unknown key", NULL},
    {"metrics in a zone", "[postfix]\nmetrics = inet:127.0.0.1:9461\n",
     "line 2: [postfix] metrics: unknown key", NULL},
    {"dane bad", "[postfix]\ndane = Yes\n", "line 2: [postfix] dane: expected yes or no", NULL},
    {"dane twice", "[postfix]\ndane = no\ndane = no\n",
     "line 3: [postfix] dane: set more than once", NULL},
    {"dane_partial bad", "[default]\ndane_partial = secure\n",
     "line 2: [default] dane_partial: expected dane-only or dane", NULL},
    {"mx_check bad", "[postfix]\nmx_check = 1\n", "line 2: [postfix] mx_check: expected yes or no",
     NULL},
    {"tlsrpt bad", "[postfix]\ntlsrpt = true\n", "line 2: [postfix] tlsrpt: expected yes or no",
     NULL},
    {"inherit from later default",
     "[postfix]\nfallback = encrypt\n[relay]\ntesting = ignore\n"
     "[default]\nfallback = dane\ntesting = enforce\n",
     NULL, check_inherit_late_default},
    {"inherit from earlier default", "[default]\nfallback = may\n[postfix]\n", NULL,
     check_inherit_early_default},
    {"notfound lower case", "[default]\nfallback = notfound\n[x]\nfallback = NOTFOUND\n", NULL,
     check_notfound_lower},
    {"empty zone section", "[a.b_c-D9]\n[default]\nfallback = may\n", NULL, check_empty_zone},
    {"sections reopened",
     "[postfix]\nfallback = may\n[daemon]\nlisten = unix:/a\n[postfix]\ntesting = enforce\n"
     "[daemon]\nuser = mta\nlisten = unix:/b\n",
     NULL, check_reopened_sections},
    {"syntax variants",
     "\xEF\xBB\xBF# BOM, CRLF, indentation, inline comments, colon form\r\n"
     "  [daemon]  ; main\r\n"
     "user = mta ; the account\r\n"
     "\tsocket_group = postfix\r\n"
     "fetch_timeout: 10\r\n"
     "   dns_timeout=3\r\n"
     "[postfix] # zone\r\n"
     "fallback = encrypt",
     NULL, check_syntax_variants},

    /* ---- structure ---- */
    {"key outside section", "# c\nuser = x\n", "line 2: user: not inside a [section]", NULL},
    {"syntax error", "[daemon]\n# ok\njunk line\n",
     "line 3: syntax error: expected [section], key = value, or a comment", NULL},
    {"syntax error before key error", "[daemon]\njunk\nuser = -x\n",
     "line 2: syntax error: expected [section], key = value, or a comment", NULL},
    {"section without bracket", "[daemon]\n[postfix\nfallback = may\n",
     "line 2: [postfix]: section header without ']'", NULL},
    {"empty section name", "[]\n", "line 1: []: empty section name", NULL},
    {"section name space", "[post fix]\n",
     "line 1: [post fix]: section name: only letters, digits, '_', '.' and '-'", NULL},
    {"section name slash", "[a/b]\n",
     "line 1: [a/b]: section name: only letters, digits, '_', '.' and '-'", NULL},
    {"text after section", "[postfix] junk\n", "line 1: [postfix]: text after the section header",
     NULL},
    {"section name 64 bytes",
     "[daemon]\n\n[a123456789b123456789c123456789d123456789e123456789f123456789abcd]\n",
     "line 3: [a123456789b123456789c123456789d123456789e123456789f123456789abc]: section name "
     "longer than 63 bytes",
     NULL},
    {"unknown daemon key", "[daemon]\ndane = yes\n", "line 2: [daemon] dane: unknown key", NULL},
    {"key case matters", "[daemon]\nUser = mta\n", "line 2: [daemon] User: unknown key", NULL},
    {"unknown zone key", "[postfix]\ndnssec = yes\n", "line 2: [postfix] dnssec: unknown key",
     NULL},
    {"unknown default key", "[default]\nlisten = unix:/x\n",
     "line 2: [default] listen: unknown key", NULL},
    {"empty value", "[daemon]\nuser =\n", "line 2: [daemon] user: empty value", NULL},

    /* ---- listen ---- */
    {"listen scheme", "[daemon]\nlisten = tcp:127.0.0.1:25\n",
     "line 2: [daemon] listen: expected inet:HOST:PORT or unix:/PATH", NULL},
    {"listen port 0", "[daemon]\nlisten = inet:127.0.0.1:0\n",
     "line 2: [daemon] listen: expected inet:IPV4:PORT or inet:[IPV6]:PORT, port 1..65535", NULL},
    {"listen port 65536", "[daemon]\nlisten = inet:127.0.0.1:65536\n",
     "line 2: [daemon] listen: expected inet:IPV4:PORT or inet:[IPV6]:PORT, port 1..65535", NULL},
    {"listen no port", "[daemon]\nlisten = inet:127.0.0.1\n",
     "line 2: [daemon] listen: expected inet:IPV4:PORT or inet:[IPV6]:PORT, port 1..65535", NULL},
    {"listen empty port", "[daemon]\nlisten = inet:127.0.0.1:\n",
     "line 2: [daemon] listen: expected inet:IPV4:PORT or inet:[IPV6]:PORT, port 1..65535", NULL},
    {"listen host name", "[daemon]\nlisten = inet:localhost:8461\n",
     "line 2: [daemon] listen: expected inet:IPV4:PORT or inet:[IPV6]:PORT, port 1..65535", NULL},
    {"listen bare v6", "[daemon]\nlisten = inet:::1:8461\n",
     "line 2: [daemon] listen: expected inet:IPV4:PORT or inet:[IPV6]:PORT, port 1..65535", NULL},
    {"listen v6 no port", "[daemon]\nlisten = inet:[::1]\n",
     "line 2: [daemon] listen: expected inet:IPV4:PORT or inet:[IPV6]:PORT, port 1..65535", NULL},
    {"listen v4 in brackets", "[daemon]\nlisten = inet:[127.0.0.1]:8461\n",
     "line 2: [daemon] listen: expected inet:IPV4:PORT or inet:[IPV6]:PORT, port 1..65535", NULL},
    {"listen port sign", "[daemon]\nlisten = inet:127.0.0.1:+25\n",
     "line 2: [daemon] listen: expected inet:IPV4:PORT or inet:[IPV6]:PORT, port 1..65535", NULL},
    {"listen unix relative", "[daemon]\nlisten = unix:run/s\n",
     "line 2: [daemon] listen: unix: path must be absolute", NULL},
    {"listen unix empty", "[daemon]\nlisten = unix:\n",
     "line 2: [daemon] listen: unix: path must be absolute", NULL},
    {"listen unix 107 ok",
     "[daemon]\nlisten = unix:/123456789012345678901234567890123456789012345678901234567890"
     "1234567890123456789012345678901234567890123456\n",
     NULL, NULL},
    {"listen unix 108",
     "[daemon]\nlisten = unix:/123456789012345678901234567890123456789012345678901234567890"
     "12345678901234567890123456789012345678901234567\n",
     "line 2: [daemon] listen: unix: path longer than 107 bytes", NULL},
    {"listen twice", "[daemon]\nlisten = unix:/a\nlisten = unix:/a\n",
     "line 3: [daemon] listen: listener given twice", NULL},
    {"listen twice, other spelling",
     "[daemon]\nlisten = inet:127.0.0.1:8461\nlisten = inet:127.0.0.1:08461\n",
     "line 3: [daemon] listen: listener given twice", NULL},
    {"listen twice, v6 spelling", "[daemon]\nlisten = inet:[::1]:25\nlisten = inet:[0::1]:25\n",
     "line 3: [daemon] listen: listener given twice", NULL},
    {"listen same port, v4 and v6", "[daemon]\nlisten = inet:0.0.0.0:25\nlisten = inet:[::]:25\n",
     NULL, NULL},
    {"listen unix control char", "[daemon]\nlisten = unix:/a\x01b\n",
     "line 2: [daemon] listen: control character in path", NULL},

    /* ---- other [daemon] keys ---- */
    {"socket_mode 8", "[daemon]\nsocket_mode = 0680\n",
     "line 2: [daemon] socket_mode: expected an octal mode 0..0777", NULL},
    {"socket_mode 1000", "[daemon]\nsocket_mode = 1000\n",
     "line 2: [daemon] socket_mode: expected an octal mode 0..0777", NULL},
    {"socket_mode 5 digits", "[daemon]\nsocket_mode = 00660\n",
     "line 2: [daemon] socket_mode: expected an octal mode 0..0777", NULL},
    {"socket_mode letters", "[daemon]\nsocket_mode = rw\n",
     "line 2: [daemon] socket_mode: expected an octal mode 0..0777", NULL},
    {"socket_mode twice", "[daemon]\nsocket_mode = 0600\nsocket_mode = 0600\n",
     "line 3: [daemon] socket_mode: set more than once", NULL},
    {"user bad char", "[daemon]\nuser = mta sts\n",
     "line 2: [daemon] user: only letters, digits, '_', '.' and '-' allowed", NULL},
    {"user leading hyphen", "[daemon]\nuser = -mta\n",
     "line 2: [daemon] user: must not start with '-'", NULL},
    {"user 33 bytes", "[daemon]\nuser = abcdefghijklmnopqrstuvwxyz0123456\n",
     "line 2: [daemon] user: longer than 32 bytes", NULL},
    {"user 32 bytes", "[daemon]\nuser = abcdefghijklmnopqrstuvwxyz012345\n", NULL, NULL},
    {"user twice", "[daemon]\nuser = a\nuser = a\n", "line 3: [daemon] user: set more than once",
     NULL},
    {"socket_group bad", "[daemon]\nsocket_group = post:fix\n",
     "line 2: [daemon] socket_group: only letters, digits, '_', '.' and '-' allowed", NULL},
    {"cache_dir relative", "[daemon]\ncache_dir = var/lib/mta-stsd\n",
     "line 2: [daemon] cache_dir: path must be absolute", NULL},
    {"cache_dir twice", "[daemon]\ncache_dir = /a\ncache_dir = /b\n",
     "line 3: [daemon] cache_dir: set more than once", NULL},
    {"ca_file relative", "[daemon]\nca_file = ca.pem\n",
     "line 2: [daemon] ca_file: path must be absolute", NULL},
    {"dns_servers empty entry", "[daemon]\ndns_servers = 1.2.3.4,,5.6.7.8\n",
     "line 2: [daemon] dns_servers: empty entry", NULL},
    {"dns_servers trailing comma", "[daemon]\ndns_servers = 1.2.3.4,\n",
     "line 2: [daemon] dns_servers: empty entry", NULL},
    {"dns_servers name", "[daemon]\ndns_servers = dns.example\n",
     "line 2: [daemon] dns_servers: expected IPv4[:port], IPv6 or [IPv6][:port], comma-separated",
     NULL},
    {"dns_servers port 0", "[daemon]\ndns_servers = 1.2.3.4:0\n",
     "line 2: [daemon] dns_servers: expected IPv4[:port], IPv6 or [IPv6][:port], comma-separated",
     NULL},
    {"dns_servers port big", "[daemon]\ndns_servers = [::1]:65536\n",
     "line 2: [daemon] dns_servers: expected IPv4[:port], IPv6 or [IPv6][:port], comma-separated",
     NULL},
    {"dns_servers open bracket", "[daemon]\ndns_servers = [::1\n",
     "line 2: [daemon] dns_servers: expected IPv4[:port], IPv6 or [IPv6][:port], comma-separated",
     NULL},
    {"dns_servers bad v4", "[daemon]\ndns_servers = 1.2.3.256\n",
     "line 2: [daemon] dns_servers: expected IPv4[:port], IPv6 or [IPv6][:port], comma-separated",
     NULL},
    {"dns_servers 16",
     "[daemon]\ndns_servers = 1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6,"
     "7.7.7.7,8.8.8.8,9.9.9.9,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8\n",
     NULL, NULL},
    {"dns_servers 17",
     "[daemon]\ndns_servers = 1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6,"
     "7.7.7.7,8.8.8.8,9.9.9.9,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9\n",
     "line 2: [daemon] dns_servers: more than 16 servers", NULL},
    {"fetch_timeout 0", "[daemon]\nfetch_timeout = 0\n",
     "line 2: [daemon] fetch_timeout: expected a number 1..60", NULL},
    {"fetch_timeout 61", "[daemon]\nfetch_timeout = 61\n",
     "line 2: [daemon] fetch_timeout: expected a number 1..60", NULL},
    {"dns_timeout 31", "[daemon]\ndns_timeout = 31\n",
     "line 2: [daemon] dns_timeout: expected a number 1..30", NULL},
    {"txt_recheck 0", "[daemon]\ntxt_recheck = 0\n",
     "line 2: [daemon] txt_recheck: expected a number 1..86400", NULL},
    {"txt_recheck 86401", "[daemon]\ntxt_recheck = 86401\n",
     "line 2: [daemon] txt_recheck: expected a number 1..86400", NULL},
    {"refresh 59", "[daemon]\nrefresh = 59\n",
     "line 2: [daemon] refresh: expected a number 60..31557600", NULL},
    {"refresh 31557601", "[daemon]\nrefresh = 31557601\n",
     "line 2: [daemon] refresh: expected a number 60..31557600", NULL},
    {"max_connections 0", "[daemon]\nmax_connections = 0\n",
     "line 2: [daemon] max_connections: expected a number 1..100000", NULL},
    {"max_connections 100001", "[daemon]\nmax_connections = 100001\n",
     "line 2: [daemon] max_connections: expected a number 1..100000", NULL},
    {"cache_map_mb 0", "[daemon]\ncache_map_mb = 0\n",
     "line 2: [daemon] cache_map_mb: expected a number 1..16384", NULL},
    {"cache_map_mb 16385", "[daemon]\ncache_map_mb = 16385\n",
     "line 2: [daemon] cache_map_mb: expected a number 1..16384", NULL},
    {"max_lookups 0", "[daemon]\nmax_lookups = 0\n",
     "line 2: [daemon] max_lookups: expected a number 1..100000", NULL},
    {"max_lookups 100001", "[daemon]\nmax_lookups = 100001\n",
     "line 2: [daemon] max_lookups: expected a number 1..100000", NULL},
    {"number with sign", "[daemon]\nmax_lookups = +5\n",
     "line 2: [daemon] max_lookups: expected a number 1..100000", NULL},
    {"number with unit", "[daemon]\nrefresh = 60s\n",
     "line 2: [daemon] refresh: expected a number 60..31557600", NULL},
    {"number huge", "[daemon]\nrefresh = 99999999999999999999999999\n",
     "line 2: [daemon] refresh: expected a number 60..31557600", NULL},
    {"number twice", "[daemon]\nrefresh = 60\n\nrefresh = 60\n",
     "line 4: [daemon] refresh: set more than once", NULL},
    {"deadline budget 90", "[daemon]\nfetch_timeout = 60\ndns_timeout = 15\n",
     "[daemon] fetch_timeout (60) + 2 * dns_timeout (15) must be below 90 seconds", NULL},
    {"deadline budget 89", "[daemon]\nfetch_timeout = 59\ndns_timeout = 15\n", NULL, NULL},

    /* ---- zones ---- */
    {"fallback wrong case", "[postfix]\nfallback = NotFound\n",
     "line 2: [postfix] fallback: expected NOTFOUND, may, encrypt or dane", NULL},
    {"fallback secure", "[default]\nfallback = secure\n",
     "line 2: [default] fallback: expected NOTFOUND, may, encrypt or dane", NULL},
    {"fallback MAY", "[default]\nfallback = MAY\n",
     "line 2: [default] fallback: expected NOTFOUND, may, encrypt or dane", NULL},
    {"testing bad", "[postfix]\ntesting = yes\n",
     "line 2: [postfix] testing: expected ignore or enforce", NULL},
    {"zone key twice", "[postfix]\nfallback = may\n[other]\n[postfix]\nfallback = may\n",
     "line 5: [postfix] fallback: set more than once", NULL},
    {"default key twice", "[default]\ntesting = ignore\ntesting = enforce\n",
     "line 3: [default] testing: set more than once", NULL},
};

/* cfg_parse() with a status: 0 and *c set, or -1 and *c NULL. */
static int
parse(const char *text, struct cfg **c, char *err, size_t errsz)
{
	*c = cfg_parse(text, err, errsz);
	return *c != NULL ? 0 : -1;
}

static void
test_case(void **state)
{
	const struct cfg_case *t = *state;
	struct cfg *c;
	char err[512];
	int rc;

	memset(err, 'Z', sizeof(err));
	rc = parse(t->text, &c, err, sizeof(err));
	if (t->err == NULL) {
		if (rc != 0)
			fail_msg("unexpected error: %s", err);
		assert_string_equal(err, "");
		if (t->check != NULL)
			t->check(c);
	} else {
		assert_int_equal(rc, -1);
		assert_string_equal(err, t->err);
	}
	if (t->err != NULL)
		assert_null(c);
	cfg_unref(c);
}

/* The embedded default: parses, equals the built-in defaults, has exactly the agreed body. */
static void
test_default_text(void **state)
{
	static const char body[] =
	    "[daemon]\nlisten = inet:127.0.0.1:8461\n"
	    "cache_dir = /var/lib/mta-stsd\n\n[default]\nfallback = NOTFOUND\n"
	    "testing = ignore\n";
	const char *p = cfg_default_text;
	size_t tl = strlen(cfg_default_text), bl = strlen(body);
	struct cfg *c;
	char err[256];

	(void)state;
	assert_true(tl > bl);
	/* comment header lines only, then the body to the end */
	assert_memory_equal(cfg_default_text + tl - bl, body, bl);
	while (p < cfg_default_text + tl - bl) {
		const char *nl = strchr(p, '\n');

		assert_true(p[0] == '#');
		assert_non_null(nl);
		p = nl + 1;
	}
	assert_ptr_equal(p, cfg_default_text + tl - bl);
	assert_int_equal(parse(cfg_default_text, &c, err, sizeof(err)), 0);
	check_defaults(c);
	cfg_unref(c);
}

/* Build "[daemon]\n" + n listen lines. */
static void
listen_text(char *buf, size_t sz, unsigned n)
{
	size_t len = (size_t)snprintf(buf, sz, "[daemon]\n");

	for (unsigned i = 0; i < n; i++)
		len +=
		    (size_t)snprintf(buf + len, sz - len, "listen = inet:127.0.0.1:%u\n", 8000 + i);
	assert_true(len < sz);
}

static void
test_listen_cap(void **state)
{
	char text[4096], err[256];
	struct cfg *c;

	(void)state;
	listen_text(text, sizeof(text), CFG_LISTEN_MAX);
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c->n_listen, CFG_LISTEN_MAX);
	assert_string_equal(c->listen[CFG_LISTEN_MAX - 1], "inet:127.0.0.1:8015");
	cfg_unref(c);

	listen_text(text, sizeof(text), CFG_LISTEN_MAX + 1);
	assert_int_equal(parse(text, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "line 18: [daemon] listen: more than 16 listeners");
	cfg_unref(c);
}

static void
zone_text(char *buf, size_t sz, unsigned n)
{
	size_t len = 0;

	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sz - len, "[zone%u]\nfallback = may\n", i);
	len += (size_t)snprintf(buf + len, sz - len, "[default]\ntesting = enforce\n");
	assert_true(len < sz);
}

static void
test_zone_cap(void **state)
{
	char text[8192], err[256];
	struct cfg *c;

	(void)state;
	zone_text(text, sizeof(text), CFG_ZONE_MAX);
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c->n_zones, CFG_ZONE_MAX);
	for (unsigned i = 0; i < CFG_ZONE_MAX; i++) {
		assert_int_equal(c->zones[i].fallback, CFG_FALLBACK_MAY);
		assert_int_equal(c->zones[i].testing, CFG_TESTING_ENFORCE);
	}
	assert_string_equal(c->zones[31].name, "zone31");
	cfg_unref(c);

	zone_text(text, sizeof(text), CFG_ZONE_MAX + 1);
	assert_int_equal(parse(text, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "line 65: [zone32]: more than 32 socketmap sections");
	cfg_unref(c);
}

/* 63-byte zone name ok; lines up to libinih's limit ok, longer rejected, not split. */
static void
test_long_names_and_lines(void **state)
{
	char text[1024], name[CFG_ZONE_NAME_MAX + 1], err[256];
	struct cfg *c;
	size_t n;

	(void)state;
	memset(name, 'z', CFG_ZONE_NAME_MAX);
	name[CFG_ZONE_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "[%s]\nfallback = dane\n", name);
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c->n_zones, 1);
	assert_string_equal(c->zones[0].name, name);
	assert_int_equal(cfg_zone_find(c, name, CFG_ZONE_NAME_MAX)->fallback, CFG_FALLBACK_DANE);
	cfg_unref(c);

	/* A 150-byte cache_dir line is fine. */
	n = (size_t)snprintf(text, sizeof(text), "[daemon]\ncache_dir = /");
	memset(text + n, 'd', 150 - 13);
	memcpy(text + n + 150 - 13, "\n", 2);
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(strlen(c->cache_dir), 150 - 12);
	cfg_unref(c);

	/* A 600-byte line is an error on that line, not a second line made of its tail. */
	n = (size_t)snprintf(text, sizeof(text), "[daemon]\n# x\ncache_dir = /");
	memset(text + n, 'd', 600);
	memcpy(text + n + 600, "\nuser = x\n", 11);
	assert_int_equal(parse(text, &c, err, sizeof(err)), -1);
	assert_true(strncmp(err, "line 3: line too long: more than ", 33) == 0);
	cfg_unref(c);
}

static void
test_zone_find(void **state)
{
	static const char text[] = "[postfix]\nfallback = may\n[postfix-310]\nfallback = dane\n"
	                           "[default]\nfallback = encrypt\n";
	struct cfg *c;
	char err[256];
	const char key[] = "postfix-310 example.com";

	(void)state;
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_ptr_equal(cfg_zone_find(c, "postfix", 7), &c->zones[0]);
	assert_ptr_equal(cfg_zone_find(c, key, 11), &c->zones[1]); /* not NUL-terminated */
	assert_ptr_equal(cfg_zone_find(c, key, 7), &c->zones[0]);  /* "postfix" prefix */
	assert_ptr_equal(cfg_zone_find(c, "postfi", 6), &c->default_zone);
	assert_ptr_equal(cfg_zone_find(c, "Postfix", 7), &c->default_zone);
	assert_ptr_equal(cfg_zone_find(c, "other", 5), &c->default_zone);
	assert_ptr_equal(cfg_zone_find(c, "", 0), &c->default_zone);
	assert_ptr_equal(cfg_zone_find(c, "default", 7), &c->default_zone);
	assert_int_equal(cfg_zone_find(c, "other", 5)->fallback, CFG_FALLBACK_ENCRYPT);
	cfg_unref(c);
}

static void
test_fallback_name(void **state)
{
	(void)state;
	assert_string_equal(cfg_fallback_name(CFG_FALLBACK_NOTFOUND), "NOTFOUND");
	assert_string_equal(cfg_fallback_name(CFG_FALLBACK_MAY), "may");
	assert_string_equal(cfg_fallback_name(CFG_FALLBACK_ENCRYPT), "encrypt");
	assert_string_equal(cfg_fallback_name(CFG_FALLBACK_DANE), "dane");
	assert_string_equal(cfg_fallback_name((enum cfg_fallback)9), "unknown");
}

/* Small or absent error buffers: message cut but terminated; no write at all for size 0. */
static void
test_small_err(void **state)
{
	struct cfg *c;
	char err[16];

	(void)state;
	memset(err, 'Z', sizeof(err));
	assert_int_equal(parse("[daemon]\nbogus = 1\n", &c, err, 10), -1);
	assert_string_equal(err, "line 2: [");
	assert_int_equal(err[10], 'Z');
	cfg_unref(c);
	memset(err, 'Z', sizeof(err));
	assert_int_equal(parse("[daemon]\nbogus = 1\n", &c, err, 0), -1);
	assert_int_equal(err[0], 'Z');
	cfg_unref(c);
	assert_int_equal(parse("[daemon]\nfetch_timeout = 60\ndns_timeout = 30\n", &c, NULL, 0),
	                 -1);
	cfg_unref(c);
}

/* Settings survive strings being replaced: the default cache_dir is freed, not leaked. */
static void
test_replace_defaults(void **state)
{
	struct cfg *c;
	char err[256];

	(void)state;
	assert_int_equal(
	    parse("[daemon]\ncache_dir = /x\nlisten = unix:/s\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c->cache_dir, "/x");
	assert_int_equal(c->n_listen, 1);
	assert_string_equal(c->listen[0], "unix:/s");
	cfg_unref(c);
}

/* References: cfg_parse() hands out one; cfg_ref() adds, cfg_unref() drops, the last frees
 * (valgrind, in make check-valgrind, sees a leak or a use after free); NULL is a no-op. */
static void
test_refcount(void **state)
{
	struct cfg *c = cfg_parse("[postfix]\nfallback = may\n", NULL, 0), *c2;
	const struct cfg_zone *z;

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->refs, 1);
	assert_ptr_equal(cfg_ref(c), c);
	assert_ptr_equal(cfg_ref(c), c);
	assert_int_equal(c->refs, 3);
	z = cfg_zone_find(c, "postfix", 7);
	cfg_unref(c);
	cfg_unref(c);
	assert_int_equal(c->refs, 1);
	/* one reference left: the object and its zones are intact */
	assert_int_equal(z->fallback, CFG_FALLBACK_MAY);
	assert_string_equal(c->cache_dir, "/var/lib/mta-stsd");
	/* a second object is independent: dropping it leaves the first alone */
	c2 = cfg_parse("[postfix]\nfallback = dane\n", NULL, 0);
	assert_non_null(c2);
	assert_ptr_not_equal(c2, c);
	assert_ptr_not_equal(c2->cache_dir, c->cache_dir);
	cfg_unref(c2);
	assert_int_equal(z->fallback, CFG_FALLBACK_MAY);
	cfg_unref(c); /* the last reference: freed */
	assert_null(cfg_ref(NULL));
	cfg_unref(NULL);
	/* a failed parse hands out nothing */
	assert_null(cfg_parse("[daemon]\nbogus = 1\n", NULL, 0));
}

/* ---- cfg_keep_restart(): what a reload may change ---- */

#define RUNNING                                                                                    \
	"[daemon]\nlisten = inet:127.0.0.1:8461\nlisten = unix:/run/s\ncache_dir = /c\n"           \
	"[postfix]\nfallback = may\n"

struct restart_case {
	const char *key;
	const char *line; /* a [daemon] line changing it from RUNNING */
};

/* Every key only a restart applies, in table order. */
static const struct restart_case restart_keys[] = {
    {"listen", "listen = inet:127.0.0.1:9999"},
    {"socket_mode", "socket_mode = 0600"},
    {"socket_group", "socket_group = postfix"},
    {"user", "user = mta"},
    {"cache_dir", "cache_dir = /other"},
    {"dns_servers", "dns_servers = 127.0.0.1"},
    {"ca_file", "ca_file = /ca.pem"},
    {"fetch_timeout", "fetch_timeout = 10"},
    {"dns_timeout", "dns_timeout = 3"},
    {"dnssec", "dnssec = yes"},
    {"metrics", "metrics = inet:127.0.0.1:9461"},
    {"shared_cache", "shared_cache = redis://127.0.0.1"},
    {"shared_cache_password_file", "shared_cache_password_file = /pw"},
    {"shared_cache_key_file", "shared_cache_key_file = /k"},
    {"shared_cache_timeout", "shared_cache_timeout = 10"},
    {"shared_cache_lease", "shared_cache_lease = no"},
};

/* fresh and running agree on every restart-only setting. */
static void
assert_restart_same(const struct cfg *a, const struct cfg *b)
{
	assert_int_equal(a->n_listen, b->n_listen);
	for (unsigned i = 0; i < a->n_listen; i++)
		assert_string_equal(a->listen[i], b->listen[i]);
	assert_int_equal(a->socket_mode, b->socket_mode);
	assert_true(a->socket_group == NULL && b->socket_group == NULL);
	assert_true(a->user == NULL && b->user == NULL);
	assert_string_equal(a->cache_dir, b->cache_dir);
	assert_true(a->dns_servers == NULL && b->dns_servers == NULL);
	assert_true(a->ca_file == NULL && b->ca_file == NULL);
	assert_int_equal(a->fetch_timeout, b->fetch_timeout);
	assert_int_equal(a->dns_timeout, b->dns_timeout);
	assert_int_equal(a->dnssec, b->dnssec);
	assert_true(a->metrics == NULL && b->metrics == NULL);
	assert_true(a->shared_cache == NULL && b->shared_cache == NULL);
	assert_true(a->shared_cache_password_file == NULL && b->shared_cache_password_file == NULL);
	assert_true(a->shared_cache_key_file == NULL && b->shared_cache_key_file == NULL);
	assert_int_equal(a->shared_cache_timeout, b->shared_cache_timeout);
	assert_int_equal(a->shared_cache_lease, b->shared_cache_lease);
}

static void
test_keep_restart(void **state)
{
	struct cfg *running = cfg_parse(RUNNING, NULL, 0), *fresh;
	const char *names[CFG_KEYS_MAX];
	char text[1024];
	size_t len;

	(void)state;
	assert_non_null(running);

	/* the same file: nothing named */
	fresh = cfg_parse(RUNNING, NULL, 0);
	assert_int_equal(cfg_keep_restart(fresh, running, names, CFG_KEYS_MAX), 0);
	cfg_unref(fresh);

	/* each restart-only key alone: named, and the running value kept */
	for (size_t i = 0; i < sizeof(restart_keys) / sizeof(restart_keys[0]); i++) {
		const char *line = restart_keys[i].line;

		if (strncmp(line, "listen", 6) == 0 || strncmp(line, "cache_dir", 9) == 0) {
			/* replace the key's own lines in RUNNING */
			snprintf(text, sizeof(text),
			         "[daemon]\n%s\n%s\n[postfix]\nfallback = may\n", line,
			         line[0] == 'l'
			             ? "cache_dir = /c"
			             : "listen = inet:127.0.0.1:8461\nlisten = unix:/run/s");
		} else {
			snprintf(text, sizeof(text), "%s[daemon]\n%s\n", RUNNING, line);
		}
		fresh = cfg_parse(text, NULL, 0);
		assert_non_null(fresh);
		memset(names, 0, sizeof(names));
		if (cfg_keep_restart(fresh, running, names, CFG_KEYS_MAX) != 1)
			fail_msg("%s: not exactly one key named", line);
		assert_string_equal(names[0], restart_keys[i].key);
		assert_restart_same(fresh, running);
		assert_int_equal(fresh->refs, 1);
		cfg_unref(fresh);
	}

	/* all of them at once: every name in table order; with room for 3 names, still all kept */
	len = (size_t)snprintf(text, sizeof(text), "[daemon]\n");
	for (size_t i = 0; i < sizeof(restart_keys) / sizeof(restart_keys[0]); i++)
		len +=
		    (size_t)snprintf(text + len, sizeof(text) - len, "%s\n", restart_keys[i].line);
	assert_true(len < sizeof(text));
	fresh = cfg_parse(text, NULL, 0);
	assert_non_null(fresh);
	assert_int_equal(cfg_keep_restart(fresh, running, names, CFG_KEYS_MAX), 16);
	for (size_t i = 0; i < sizeof(restart_keys) / sizeof(restart_keys[0]); i++)
		assert_string_equal(names[i], restart_keys[i].key);
	assert_restart_same(fresh, running);
	cfg_unref(fresh);
	fresh = cfg_parse(text, NULL, 0);
	names[3] = "untouched";
	assert_int_equal(cfg_keep_restart(fresh, running, names, 3), 16);
	assert_string_equal(names[2], "socket_group");
	assert_string_equal(names[3], "untouched");
	assert_restart_same(fresh, running);
	cfg_unref(fresh);

	/* what a reload applies is left as read: zones (removed, added), the four daemon keys */
	fresh =
	    cfg_parse("[daemon]\nlisten = unix:/run/s\nlisten = inet:127.0.0.1:08461\n"
	              "cache_dir = /c\ntxt_recheck = 7\nrefresh = 70\nmax_connections = 7\n"
	              "max_lookups = 7\n[relay]\nfallback = dane\n[default]\ntesting = enforce\n",
	              NULL, 0);
	assert_non_null(fresh);
	assert_int_equal(cfg_keep_restart(fresh, running, names, CFG_KEYS_MAX), 0);
	assert_string_equal(fresh->listen[0], "unix:/run/s"); /* same set: not rewritten */
	assert_int_equal(fresh->txt_recheck, 7);
	assert_int_equal(fresh->refresh, 70);
	assert_int_equal(fresh->max_connections, 7);
	assert_int_equal(fresh->max_lookups, 7);
	assert_int_equal(fresh->n_zones, 1);
	assert_string_equal(fresh->zones[0].name, "relay");
	assert_int_equal(fresh->zones[0].fallback, CFG_FALLBACK_DANE);
	assert_int_equal(fresh->zones[0].testing, CFG_TESTING_ENFORCE);
	assert_ptr_equal(cfg_zone_find(fresh, "postfix", 7), &fresh->default_zone);
	cfg_unref(fresh);

	/* a listener less is a change */
	fresh = cfg_parse("[daemon]\nlisten = unix:/run/s\ncache_dir = /c\n", NULL, 0);
	assert_int_equal(cfg_keep_restart(fresh, running, names, CFG_KEYS_MAX), 1);
	assert_string_equal(names[0], "listen");
	assert_restart_same(fresh, running);
	cfg_unref(fresh);

	/* metrics moved or turned off: named, the running address kept (the endpoint stays) */
	{
		struct cfg *on =
		    cfg_parse(RUNNING "[daemon]\nmetrics = inet:127.0.0.1:9461\n", NULL, 0);
		const char *texts[] = {RUNNING "[daemon]\nmetrics = inet:127.0.0.1:9462\n",
		                       RUNNING};

		assert_non_null(on);
		for (size_t i = 0; i < 2; i++) {
			fresh = cfg_parse(texts[i], NULL, 0);
			assert_non_null(fresh);
			assert_int_equal(cfg_keep_restart(fresh, on, names, CFG_KEYS_MAX), 1);
			assert_string_equal(names[0], "metrics");
			assert_string_equal(fresh->metrics, "inet:127.0.0.1:9461");
			assert_ptr_not_equal(fresh->metrics, on->metrics);
			cfg_unref(fresh);
		}
		cfg_unref(on);
	}

	/* the running configuration itself was never touched */
	assert_int_equal(running->refs, 1);
	assert_string_equal(running->cache_dir, "/c");
	assert_int_equal(running->zones[0].fallback, CFG_FALLBACK_MAY);
	cfg_unref(running);
}

/* ---- cfg_listen_parse(): the one parser of listen values ---- */

struct listen_case {
	const char *value;
	enum cfg_listen_err err;
	int family;       /* on success */
	const char *addr; /* inet: inet_ntop() spelling; unix: the path */
	unsigned port;
};

static const struct listen_case listen_cases[] = {
    {"inet:127.0.0.1:8461", CFG_LISTEN_OK, AF_INET, "127.0.0.1", 8461},
    {"inet:0.0.0.0:1", CFG_LISTEN_OK, AF_INET, "0.0.0.0", 1},
    {"inet:255.255.255.255:65535", CFG_LISTEN_OK, AF_INET, "255.255.255.255", 65535},
    {"inet:127.0.0.1:00025", CFG_LISTEN_OK, AF_INET, "127.0.0.1", 25}, /* digits only */
    {"inet:[::1]:8461", CFG_LISTEN_OK, AF_INET6, "::1", 8461},
    {"inet:[2001:db8::1]:65535", CFG_LISTEN_OK, AF_INET6, "2001:db8::1", 65535},
    {"inet:[::ffff:127.0.0.1]:25", CFG_LISTEN_OK, AF_INET6, "::ffff:127.0.0.1", 25},
    {"inet:[::]:1", CFG_LISTEN_OK, AF_INET6, "::", 1},
    {"unix:/", CFG_LISTEN_OK, AF_UNIX, "/", 0},
    {"unix:/var/spool/postfix/private/mta-sts", CFG_LISTEN_OK, AF_UNIX,
     "/var/spool/postfix/private/mta-sts", 0},
    {"unix:/a b", CFG_LISTEN_OK, AF_UNIX, "/a b", 0},
    /* port */
    {"inet:127.0.0.1:0", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:127.0.0.1:65536", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:127.0.0.1:99999999999999999999999", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:127.0.0.1:", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:127.0.0.1", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:127.0.0.1:+25", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:127.0.0.1:-1", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:127.0.0.1: 25", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:127.0.0.1:25x", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:127.0.0.1:smtp", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:[::1]:", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:[::1]:0", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:[::1]:65536", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    /* host */
    {"inet:", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet::25", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:localhost:25", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:1.2.3:25", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:1.2.3.256:25", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet: 127.0.0.1:25", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:::1:25", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:[::1]", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:[::1]25", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:[::1:25", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:[]:25", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:[127.0.0.1]:25", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:[fe80::1%lo]:25", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    {"inet:[::1]:25:26", CFG_LISTEN_ERR_INET, 0, NULL, 0},
    /* unix */
    {"unix:", CFG_LISTEN_ERR_RELATIVE, 0, NULL, 0},
    {"unix:run/s", CFG_LISTEN_ERR_RELATIVE, 0, NULL, 0},
    {"unix: /s", CFG_LISTEN_ERR_RELATIVE, 0, NULL, 0},
    {"unix:/a\tb", CFG_LISTEN_ERR_CONTROL, 0, NULL, 0},
    {"unix:/a\x7f", CFG_LISTEN_ERR_CONTROL, 0, NULL, 0},
    {"unix:/a\nb", CFG_LISTEN_ERR_CONTROL, 0, NULL, 0},
    /* scheme */
    {"", CFG_LISTEN_ERR_SCHEME, 0, NULL, 0},
    {"inet", CFG_LISTEN_ERR_SCHEME, 0, NULL, 0},
    {"unix", CFG_LISTEN_ERR_SCHEME, 0, NULL, 0},
    {"INET:127.0.0.1:25", CFG_LISTEN_ERR_SCHEME, 0, NULL, 0},
    {"Unix:/s", CFG_LISTEN_ERR_SCHEME, 0, NULL, 0},
    {"tcp:127.0.0.1:25", CFG_LISTEN_ERR_SCHEME, 0, NULL, 0},
    {"/run/s", CFG_LISTEN_ERR_SCHEME, 0, NULL, 0},
    {" inet:127.0.0.1:25", CFG_LISTEN_ERR_SCHEME, 0, NULL, 0},
};

static void
test_listen_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(listen_cases) / sizeof(listen_cases[0]); i++) {
		const struct listen_case *t = &listen_cases[i];
		struct cfg_listen l;
		enum cfg_listen_err e = cfg_listen_parse(t->value, &l);
		char buf[INET6_ADDRSTRLEN];

		if (e != t->err)
			fail_msg("\"%s\": got %d (%s), want %d", t->value, (int)e,
			         cfg_listen_strerror(e), (int)t->err);
		if (e != CFG_LISTEN_OK)
			continue;
		assert_int_equal(l.addr.ss_family, t->family);
		if (t->family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&l.addr;

			assert_int_equal(l.kind, CFG_LISTEN_INET);
			assert_int_equal(l.addrlen, sizeof(struct sockaddr_in));
			assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)));
			assert_string_equal(buf, t->addr);
			assert_int_equal(ntohs(sin->sin_port), t->port);
			assert_string_equal(l.path, "");
		} else if (t->family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&l.addr;

			assert_int_equal(l.kind, CFG_LISTEN_INET);
			assert_int_equal(l.addrlen, sizeof(struct sockaddr_in6));
			assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf)));
			assert_string_equal(buf, t->addr);
			assert_int_equal(ntohs(sin6->sin6_port), t->port);
			assert_string_equal(l.path, "");
		} else {
			const struct sockaddr_un *sun = (const struct sockaddr_un *)&l.addr;

			assert_int_equal(l.kind, CFG_LISTEN_UNIX);
			assert_int_equal(l.addrlen, sizeof(struct sockaddr_un));
			assert_string_equal(sun->sun_path, t->addr);
			assert_string_equal(l.path, t->addr);
		}
	}
	assert_string_equal(cfg_listen_strerror((enum cfg_listen_err)99), "unknown error");
}

/* The unix path at its cap (107 bytes, sun_path full with its NUL) and one byte over. */
static void
test_listen_unix_cap(void **state)
{
	char value[5 + CFG_UNIX_PATH_MAX + 2];
	struct cfg_listen l;
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&l.addr;

	(void)state;
	memcpy(value, "unix:/", 6);
	memset(value + 6, 'p', CFG_UNIX_PATH_MAX - 1);
	value[5 + CFG_UNIX_PATH_MAX] = '\0';
	assert_int_equal(cfg_listen_parse(value, &l), CFG_LISTEN_OK);
	assert_int_equal(strlen(l.path), CFG_UNIX_PATH_MAX);
	assert_int_equal(sun->sun_path[CFG_UNIX_PATH_MAX], '\0');
	assert_memory_equal(sun->sun_path, value + 5, CFG_UNIX_PATH_MAX);
	value[5 + CFG_UNIX_PATH_MAX] = 'p';
	value[5 + CFG_UNIX_PATH_MAX + 1] = '\0';
	assert_int_equal(cfg_listen_parse(value, &l), CFG_LISTEN_ERR_LONG);
	assert_string_equal(cfg_listen_strerror(CFG_LISTEN_ERR_LONG),
	                    "unix: path longer than 107 bytes");
}

/* ---- the key table: every key, in its own section kind and in the other ---- */

struct key_case {
	const char *name;
	const char *value;  /* differs from the built-in default */
	const char *value2; /* zone keys: the built-in default's spelling */
	int zone;           /* 1: [default] and named zones; 0: [daemon] */
};

static const struct key_case keys[] = {
    {"listen", "inet:127.0.0.1:1", NULL, 0},
    {"socket_mode", "0600", NULL, 0},
    {"socket_group", "postfix", NULL, 0},
    {"user", "mta", NULL, 0},
    {"cache_dir", "/x", NULL, 0},
    {"dns_servers", "127.0.0.1", NULL, 0},
    {"ca_file", "/ca.pem", NULL, 0},
    {"fetch_timeout", "10", NULL, 0},
    {"dns_timeout", "3", NULL, 0},
    {"txt_recheck", "5", NULL, 0},
    {"refresh", "600", NULL, 0},
    {"max_connections", "5", NULL, 0},
    {"max_lookups", "5", NULL, 0},
    {"dnssec", "yes", NULL, 0},
    {"metrics", "inet:127.0.0.1:9461", NULL, 0},
    {"shared_cache", "redis://[::1]:6379/1", NULL, 0},
    {"shared_cache_password_file", "/pw", NULL, 0},
    {"shared_cache_key_file", "/k", NULL, 0},
    {"shared_cache_timeout", "10", NULL, 0},
    {"shared_cache_lease", "no", NULL, 0},
    {"shared_cache_lease_wait", "0", NULL, 0},
    {"fallback", "may", "NOTFOUND", 1},
    {"testing", "enforce", "ignore", 1},
    {"dane", "no", "yes", 1},
    {"dane_partial", "dane", "dane-only", 1},
    {"mx_check", "no", "yes", 1},
    {"tlsrpt", "yes", "no", 1},
};

static int
zone_eq(const struct cfg_zone *a, const struct cfg_zone *b)
{
	return a->fallback == b->fallback && a->testing == b->testing && a->dane == b->dane &&
	       a->dane_partial == b->dane_partial && a->mx_check == b->mx_check &&
	       a->tlsrpt == b->tlsrpt;
}

/* parse text; want NULL: must parse (c filled); else the exact error. */
static void
parse_want(const char *text, const char *want, struct cfg **c)
{
	char err[256];
	int rc = parse(text, c, err, sizeof(err));

	if (want == NULL) {
		if (rc != 0)
			fail_msg("\"%s\": unexpected error: %s", text, err);
	} else {
		assert_int_equal(rc, -1);
		assert_string_equal(err, want);
	}
}

/* Each key: accepted once in its section kind (and changes something), refused a second time
 * in the same section (listen excepted: repeatable), unknown in the other kind of section;
 * every zone key set in [default] is inherited by a zone that does not set it, and a zone's own
 * setting wins whichever comes first. */
static void
test_key_table(void **state)
{
	struct cfg *base, *c, *d;
	char text[512], want[256];

	(void)state;
	parse_want("", NULL, &base);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key_case *k = &keys[i];
		const char *own = k->zone ? "postfix" : "daemon",
		           *other = k->zone ? "daemon" : "postfix";

		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", own, k->name, k->value);
		parse_want(text, NULL, &c);
		if (k->zone) {
			assert_int_equal(c->n_zones, 1);
			assert_false(zone_eq(&c->zones[0], &base->default_zone));
		} else {
			/* the daemon settings differ from the defaults somewhere */
			assert_true(
			    c->n_listen != base->n_listen || c->socket_mode != base->socket_mode ||
			    c->socket_group != NULL || c->user != NULL ||
			    strcmp(c->cache_dir, base->cache_dir) != 0 || c->dns_servers != NULL ||
			    c->ca_file != NULL || c->fetch_timeout != base->fetch_timeout ||
			    c->dns_timeout != base->dns_timeout ||
			    c->txt_recheck != base->txt_recheck || c->refresh != base->refresh ||
			    c->max_connections != base->max_connections ||
			    c->max_lookups != base->max_lookups || c->dnssec != base->dnssec ||
			    c->metrics != NULL || c->shared_cache != NULL ||
			    c->shared_cache_password_file != NULL ||
			    c->shared_cache_timeout != base->shared_cache_timeout ||
			    c->shared_cache_lease != base->shared_cache_lease ||
			    c->shared_cache_key_file != NULL ||
			    c->shared_cache_lease_wait != base->shared_cache_lease_wait ||
			    strcmp(c->listen[0], base->listen[0]) != 0);
		}
		cfg_unref(c);

		snprintf(text, sizeof(text), "[%s]\n%s = %s\n%s = %s\n", own, k->name, k->value,
		         k->name, k->value);
		if (strcmp(k->name, "listen") == 0) {
			parse_want(text, "line 3: [daemon] listen: listener given twice", &c);
		} else {
			snprintf(want, sizeof(want), "line 3: [%s] %s: set more than once", own,
			         k->name);
			parse_want(text, want, &c);
		}
		cfg_unref(c);

		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", other, k->name, k->value);
		snprintf(want, sizeof(want), "line 2: [%s] %s: unknown key", other, k->name);
		parse_want(text, want, &c);
		cfg_unref(c);
		if (!k->zone)
			continue;

		snprintf(text, sizeof(text), "[default]\n%s = %s\n", k->name, k->value);
		snprintf(want, sizeof(want), "line 3: [default] %s: set more than once", k->name);
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s = %s\n", k->name,
		         k->value);
		parse_want(text, want, &c);
		cfg_unref(c);

		/* inherited, from a [default] before or after the zone */
		snprintf(text, sizeof(text), "[default]\n%s = %s\n[a]\n", k->name, k->value);
		parse_want(text, NULL, &c);
		snprintf(text, sizeof(text), "[a]\n[default]\n%s = %s\n", k->name, k->value);
		parse_want(text, NULL, &d);
		assert_false(zone_eq(&c->default_zone, &base->default_zone));
		assert_true(zone_eq(&c->zones[0], &c->default_zone));
		assert_true(zone_eq(&d->zones[0], &c->default_zone));
		assert_true(zone_eq(&d->default_zone, &c->default_zone));
		cfg_unref(c);
		cfg_unref(d);

		/* the zone's own setting (here the built-in value) wins over [default] */
		snprintf(text, sizeof(text), "[a]\n%s = %s\n[default]\n%s = %s\n", k->name,
		         k->value2, k->name, k->value);
		parse_want(text, NULL, &c);
		assert_true(zone_eq(&c->zones[0], &base->default_zone));
		assert_false(zone_eq(&c->default_zone, &base->default_zone));
		cfg_unref(c);
	}
	cfg_unref(base);
}

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static struct CMUnitTest tests[NCASES + 16];

/*
 * packaging/mta-stsd.conf, the shipped configuration file, shows every key as a ";key = value"
 * line at its built-in default (tests/man.sh checks that every key of the table is there).
 * Uncommented, it must describe the built-in configuration exactly, but for user (set in the
 * shipped file) and the keys without a default, which show an example: socket_group,
 * dns_servers, ca_file, metrics, shared_cache and its password and key files (off by default).
 * [daemon] restart keys are compared through cfg_keep_restart(), which walks the whole key table;
 * zone keys as the whole [default] section.
 */
static void
test_shipped_conf(void **state)
{
	static char text[65536], plain[65536];
	static const char *const examples[] = {"socket_group",
	                                       "user",
	                                       "dns_servers",
	                                       "ca_file",
	                                       "metrics",
	                                       "shared_cache",
	                                       "shared_cache_password_file",
	                                       "shared_cache_key_file"};
	const char *top = getenv("top_srcdir"), *names[CFG_KEYS_MAX], *p;
	struct cfg *shipped, *all, *builtin;
	char path[1024], err[256];
	size_t n, o = 0, changed;
	int same;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/packaging/mta-stsd.conf", top ? top : ".");
	if ((fp = fopen(path, "r")) == NULL)
		fail_msg("cannot open %s", path);
	n = fread(text, 1, sizeof(text) - 1, fp);
	assert_false(ferror(fp));
	fclose(fp);
	assert_true(n < sizeof(text) - 1);
	text[n] = '\0';

	shipped = cfg_parse(text, err, sizeof(err));
	if (shipped == NULL)
		fail_msg("%s: %s", path, err);
	assert_non_null(shipped->user);
	assert_string_equal(shipped->user, "mta-stsd");
	assert_string_equal(shipped->cache_dir, "/var/lib/mta-stsd");
	cfg_unref(shipped);

	/* ";key = value" -> "key = value"; comments ("#", "; text") stay */
	for (p = text; *p != '\0';) {
		const char *nl = strchr(p, '\n'), *q = p;
		size_t len = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);

		if (*q == ';') {
			q++;
			while (*q == ' ' || *q == '\t')
				q++;
			if (!(*q >= 'a' && *q <= 'z'))
				q = p;
		}
		len -= (size_t)(q - p);
		memcpy(plain + o, q, len);
		o += len;
		p = q + len;
	}
	plain[o] = '\0';
	all = cfg_parse(plain, err, sizeof(err));
	if (all == NULL)
		fail_msg("%s uncommented: %s", path, err);
	builtin = cfg_parse(cfg_default_text, NULL, 0);
	assert_non_null(builtin);

	memset(names, 0, sizeof(names));
	changed = cfg_keep_restart(all, builtin, names, CFG_KEYS_MAX);
	same = changed == sizeof(examples) / sizeof(examples[0]);
	for (size_t i = 0; same && i < changed; i++)
		same = strcmp(names[i], examples[i]) == 0;
	if (!same) {
		for (size_t i = 0; i < changed && i < CFG_KEYS_MAX; i++)
			print_message("# differs from the built-in default: %s\n", names[i]);
		fail_msg("%s: a ;key = value line is not the built-in default", path);
	}
	assert_int_equal(all->txt_recheck, builtin->txt_recheck);
	assert_int_equal(all->refresh, builtin->refresh);
	assert_int_equal(all->max_connections, builtin->max_connections);
	assert_int_equal(all->max_lookups, builtin->max_lookups);
	assert_int_equal(all->shared_cache_lease_wait, builtin->shared_cache_lease_wait);
	assert_memory_equal(&all->default_zone, &builtin->default_zone, sizeof(struct cfg_zone));
	cfg_unref(all);
	cfg_unref(builtin);
}

int
main(void)
{
	size_t n = 0;

	for (size_t i = 0; i < NCASES; i++)
		tests[n++] = (struct CMUnitTest){.name = cases[i].name,
		                                 .test_func = test_case,
		                                 .initial_state = (void *)&cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_default_text);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_listen_cap);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_zone_cap);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_long_names_and_lines);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_zone_find);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_fallback_name);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_small_err);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_replace_defaults);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_refcount);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_key_table);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_keep_restart);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_listen_parse);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_listen_unix_cap);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_shipped_conf);
	return cmocka_run_group_tests_name("cfg", tests, NULL, NULL);
}
