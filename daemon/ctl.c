/* SPDX-License-Identifier: MIT */
/*
 * mta-stsctl: the operator's command line. Effectful (E).
 *   query DOMAIN            ask the running daemon over its socketmap listener, like postmap -q
 *   query --direct DOMAIN   run discovery, fetch and decision in-process (no daemon, no cache)
 *   query --why DOMAIN      the daemon's answer, then the same decision rebuilt from its cache
 *   cache list | show DOMAIN | purge DOMAIN | purge --expired   read or edit the LMDB cache
 *   generate --domain D --mode M --mx P... --max-age N   the records and policy to publish
 * --json prints JSON (jansson). -h/--help, also after a command, prints usage on stdout and
 * exits 0. Exit status follows postmap: 0 found, 1 not found, 2 temporary failure or error.
 * The daemon's address (first listen value, or -s) is read by cfg_listen_parse(), the parser
 * the daemon binds with; the configuration file by cfgfile.c, the daemon's reader. The cache
 * is read through cache.c beside the running daemon (LMDB: many readers, one writer at a
 * time); what a record means comes from cacherec_view() and decide.c, never re-derived here.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "cache.h"
#include "cfg.h"
#include "cfgfile.h"
#include "checker.h"
#include "dane.h"
#include "decide.h"
#include "dname.h"
#include "fetch.h"
#include "log.h"
#include "lookup.h"
#include "resolver.h"
#include "socketmap.h"
#include "stsgen.h"
#include "strbuf.h"
#include "stspolicy.h"
#include "xalloc.h"

#define CTL_TIMEOUT_S 100 /* as long as Postfix would wait */

struct ctl {
	struct cfg *cfg;
	const char *listen; /* -s override */
	const char *name;   /* socketmap name, default "postfix" */
	int json;
};

/* -h/--help: the text on stdout, exit 0; a usage error: the same text on stderr, exit 2 (as
 * postmap's "temporary failure or error"). */
static _Noreturn void
usage(int status)
{
	fprintf(
	    status == 0 ? stdout : stderr,
	    "usage: mta-stsctl [-c FILE] [-n NAME] [-s inet:HOST:PORT|unix:PATH] [--json] "
	    "COMMAND ...\n"
	    "       mta-stsctl -h | --help\n"
	    "commands:\n"
	    "  query [--direct] [--json] DOMAIN  what the daemon answers Postfix for DOMAIN\n"
	    "  query --why [--json] DOMAIN       ... and why, from the daemon's cache\n"
	    "  cache list [--json]               the cached policy domains, one a line\n"
	    "  cache show [--json] DOMAIN        everything cached for DOMAIN\n"
	    "  cache purge DOMAIN | --expired    delete records (drops TOFU: see cache --help)\n"
	    "  generate --domain D --mode M --mx P... --max-age N [--rua URI]... [--id ID]\n"
	    "                                    the TXT records and policy file to publish\n"
	    "  check [--json] [--no-smtp] [--timeout S] DOMAIN  check DOMAIN's MTA-STS setup\n"
	    "options:\n"
	    "  -c FILE     configuration (default %s)\n"
	    "  -n NAME     socketmap name, selects the [NAME] section (default postfix)\n"
	    "  -s ADDRESS  the daemon's listener (default: the first listen value)\n"
	    "  --json      print JSON\n"
	    "  -h, --help  print this text\n"
	    "exit status: 0 found, 1 not found, 2 temporary failure or error\n"
	    "'mta-stsctl COMMAND --help' describes COMMAND (query, cache, generate); see\n"
	    "mta-stsctl(1).\n",
	    CFG_DEFAULT_PATH);
	exit(status);
}

static _Noreturn void
query_usage(int status)
{
	fputs("usage: mta-stsctl [-c FILE] [-n NAME] [-s ADDRESS] [--json] query [--direct] "
	      "[--json] DOMAIN\n"
	      "       mta-stsctl [-c FILE] [-n NAME] [-s ADDRESS] [--json] query --why [--json] "
	      "DOMAIN\n"
	      "       mta-stsctl query -h | --help\n"
	      "Print the answer for DOMAIN of the running daemon, as postmap -q would.\n"
	      "  --direct    no daemon: run discovery, fetch and decision in this process (no\n"
	      "              cache) and print the policy, the DANE state and why\n"
	      "  --why       then explain it from the daemon's cache (read-only): the policy, the\n"
	      "              DNS record, the zone's settings, the decision rebuilt from them and\n"
	      "              whether it agrees with the daemon's answer\n"
	      "  --json      print one JSON object\n"
	      "  -h, --help  print this text\n"
	      "exit status: 0 found (OK), 1 not found (NOTFOUND), 2 temporary failure or error\n",
	      status == 0 ? stdout : stderr);
	exit(status);
}

/* The cache commands' usage: all of them (sub NULL) or one. */
static _Noreturn void
cache_usage(const char *sub, int status)
{
	FILE *f = status == 0 ? stdout : stderr;
	int all = sub == NULL;

	fputs("usage:", f);
	if (all || strcmp(sub, "list") == 0)
		fputs(" mta-stsctl [-c FILE] [--json] cache list [--json]\n      ", f);
	if (all || strcmp(sub, "show") == 0)
		fputs(" mta-stsctl [-c FILE] [--json] cache show [--json] DOMAIN\n      ", f);
	if (all || strcmp(sub, "purge") == 0)
		fputs(" mta-stsctl [-c FILE] [--json] cache purge [--json] DOMAIN | --expired\n    "
		      "  ",
		      f);
	fprintf(f, " mta-stsctl cache %s%s-h | --help\n", all ? "[list|show|purge]" : sub, " ");
	fputs(
	    "Read or edit the daemon's cache (cache_dir) directly; the daemon may run meanwhile.\n",
	    f);
	if (all || strcmp(sub, "list") == 0)
		fputs(
		    "  list         one line per policy domain: mode, id, fetched, expires, last\n"
		    "               queried, next due, DNS state, and the state (valid, expired,\n"
		    "               no-policy until T, txt-failed until T, unknown); times in "
		    "UTC\n",
		    f);
	if (all || strcmp(sub, "show") == 0)
		fputs("  show         every field of DOMAIN's record and its DNS record\n", f);
	if (all || strcmp(sub, "purge") == 0)
		fputs("  purge        delete DOMAIN's record and its DNS record\n"
		      "  --expired    instead, delete every record that holds nothing valid any\n"
		      "               more (policy expired, no outcome remembered)\n"
		      "               Warning: purging a domain removes its trust-on-first-use\n"
		      "               protection (RFC 8461 s10) until its policy is fetched again: "
		      "an\n"
		      "               attacker who suppresses the TXT record meanwhile downgrades "
		      "it.\n",
		      f);
	fputs("  --json       print JSON\n"
	      "  -h, --help   print this text\n",
	      f);
	fputs(all || strcmp(sub, "list") != 0
	          ? "exit status: 0 done, 1 DOMAIN not cached, 2 error\n"
	          : "exit status: 0 done, 2 error\n",
	      f);
	exit(status);
}

static int
exit_code(const char *status)
{
	if (strcmp(status, "OK") == 0)
		return 0;
	if (strcmp(status, "NOTFOUND") == 0)
		return 1;
	return 2;
}

static void
print_reply(const struct ctl *ctl, const char *domain, const char *status, const char *text,
            size_t len, json_t *extra)
{
	if (ctl->json) {
		json_t *o = extra ? extra : json_object();
		json_object_set_new(o, "domain", json_string(domain));
		json_object_set_new(o, "status", json_string(status));
		json_object_set_new(o, "reply", json_stringn(text, len));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
		return;
	}
	printf("%s%s%.*s\n", status, len ? " " : "", (int)len, text);
}

static int
connect_listener(const char *l, char *err, size_t errsz)
{
	struct timeval tv = {CTL_TIMEOUT_S, 0};
	struct cfg_listen addr;
	enum cfg_listen_err e = cfg_listen_parse(l, &addr);
	int fd;

	if (e != CFG_LISTEN_OK) {
		snprintf(err, errsz, "%s: %s", l, cfg_listen_strerror(e));
		return -1;
	}
	fd = socket(addr.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (const struct sockaddr *)&addr.addr, addr.addrlen) != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		fd = -1;
	}
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s (is mta-stsd running?)", l, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* The daemon's reply, split: text borrows the static receive buffer until the next call. */
struct reply {
	char status[16];
	const char *text;
	size_t len;
};

/* Ask the daemon for key over the socketmap protocol, as Postfix does. 0, or -1 (printed). */
static int
ask_daemon(const struct ctl *ctl, const char *key, struct reply *out)
{
	static char buf[SOCKETMAP_REPLY_MAX + 32];
	char req[SOCKETMAP_REQUEST_MAX + 32], err[512];
	const char *listen = ctl->listen ? ctl->listen : ctl->cfg->listen[0];
	const char *payload, *sp;
	size_t have = 0, plen, used, sl;
	int fd, n;

	n = snprintf(req, sizeof(req), "%zu:%s %s,", strlen(ctl->name) + 1 + strlen(key), ctl->name,
	             key);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		fprintf(stderr, "mta-stsctl: request too long\n");
		return -1;
	}
	if ((fd = connect_listener(listen, err, sizeof(err))) < 0) {
		fprintf(stderr, "mta-stsctl: %s\n", err);
		return -1;
	}
	if (write(fd, req, (size_t)n) != n) {
		fprintf(stderr, "mta-stsctl: write: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r;
		enum socketmap_err e =
		    socketmap_decode(buf, have, SOCKETMAP_REPLY_MAX, &payload, &plen, &used);
		if (e == SOCKETMAP_OK)
			break;
		if (e != SOCKETMAP_INCOMPLETE || have == sizeof(buf)) {
			fprintf(stderr, "mta-stsctl: bad reply: %s\n", socketmap_strerror(e));
			close(fd);
			return -1;
		}
		r = read(fd, buf + have, sizeof(buf) - have);
		if (r <= 0) {
			fprintf(stderr, "mta-stsctl: read: %s\n",
			        r == 0 ? "connection closed" : strerror(errno));
			close(fd);
			return -1;
		}
		have += (size_t)r;
	}
	close(fd);
	sp = memchr(payload, ' ', plen);
	sl = sp ? (size_t)(sp - payload) : plen;
	snprintf(out->status, sizeof(out->status), "%.*s", (int)(sl < 15 ? sl : 15), payload);
	out->text = sp ? sp + 1 : payload + plen;
	out->len = plen - (size_t)(out->text - payload);
	return 0;
}

static int
query_daemon(const struct ctl *ctl, const char *domain)
{
	struct reply r;

	if (ask_daemon(ctl, domain, &r) != 0)
		return 2;
	print_reply(ctl, domain, r.status, r.text, r.len, NULL);
	return exit_code(r.status);
}

struct direct {
	struct event_base *base;
	const struct ctl *ctl;
	const char *domain;
	int rc;
};

static const char *
disc_name(enum decide_disc d)
{
	switch (d) {
	case DECIDE_DISC_NOT_RUN:
		return "not-run";
	case DECIDE_DISC_NO_POLICY:
		return "no-policy";
	case DECIDE_DISC_TXT_FAILED:
		return "txt-lookup-failed";
	case DECIDE_DISC_FETCH_FAILED:
		return "fetch-failed";
	case DECIDE_DISC_FETCHED:
		return "fetched";
	}
	return "?";
}

static void
direct_on_result(void *arg, const struct lookup_result *r)
{
	struct direct *d = arg;
	const struct cacherec *rec = r->rec;
	json_t *o = d->ctl->json ? json_object() : NULL;

	if (o != NULL) {
		json_object_set_new(o, "discovery", json_string(disc_name(r->disc)));
		json_object_set_new(o, "why", json_string(r->why));
		if (rec != NULL && rec->has_policy) {
			json_t *p = json_object(), *mx = json_array();
			for (unsigned i = 0; i < rec->policy.n_mx; i++)
				json_array_append_new(mx, json_string(rec->policy.mx[i]));
			json_object_set_new(p, "id", json_string(rec->id));
			json_object_set_new(p, "mode",
			                    json_string(stspolicy_mode_name(rec->policy.mode)));
			json_object_set_new(p, "max_age", json_integer(rec->policy.max_age));
			json_object_set_new(p, "mx", mx);
			json_object_set_new(o, "policy", p);
		}
		if (r->dns != NULL) {
			json_t *dn = json_object(), *hosts = json_array();
			for (unsigned i = 0; i < r->dns->n_hosts; i++)
				json_array_append_new(hosts, json_string(r->dns->hosts[i]));
			json_object_set_new(dn, "state",
			                    json_string(dane_state_name(r->dns->state)));
			/* null when the MX lookup failed: unknown, not "no hosts" */
			json_object_set_new(dn, "mx_hosts", r->dns->mx_known ? hosts : json_null());
			if (!r->dns->mx_known)
				json_decref(hosts);
			json_object_set_new(dn, "tlsa_hosts", json_integer(r->dns->n_tlsa));
			json_object_set_new(dn, "why", json_string(r->dns->why));
			json_object_set_new(o, "dane", dn);
		}
	} else {
		printf("domain: %s\n", d->domain);
		printf("discovery: %s\n", disc_name(r->disc));
		if (rec != NULL && rec->has_policy) {
			printf("policy: id=%s mode=%s max_age=%u mx=", rec->id,
			       stspolicy_mode_name(rec->policy.mode),
			       (unsigned)rec->policy.max_age);
			for (unsigned i = 0; i < rec->policy.n_mx; i++)
				printf("%s%s", i ? "," : "", rec->policy.mx[i]);
			putchar('\n');
		} else {
			printf("policy: none\n");
		}
		if (r->dns != NULL) {
			printf("dane: %s (%s)\n", dane_state_name(r->dns->state), r->dns->why);
			printf("mx hosts:");
			for (unsigned i = 0; i < r->dns->n_hosts; i++)
				printf(" %s", r->dns->hosts[i]);
			printf("%s\n", !r->dns->mx_known ? " unknown (MX lookup failed)"
			               : r->dns->n_hosts ? ""
			                                 : " none");
		}
		printf("reply: ");
	}
	print_reply(d->ctl, d->domain, r->status, r->text, r->len, o);
	if (!d->ctl->json)
		printf("why: %s\n", r->why);
	d->rc = exit_code(r->status);
	event_base_loopbreak(d->base);
}

static int
query_direct(struct ctl *ctl, const struct socketmap_dest *dest)
{
	struct direct d = {NULL, ctl, dest->domain, 2};
	struct resolver *res;
	struct fetcher *fetch;
	struct lookups *ls;
	struct lookup_waiter *w;
	char err[512];

	d.base = event_base_new();
	INVARIANT(d.base != NULL);
	res = resolver_new(d.base, ctl->cfg->dns_servers, ctl->cfg->dns_timeout, err, sizeof(err));
	fetch =
	    res ? fetch_new(d.base, ctl->cfg->ca_file, ctl->cfg->fetch_timeout, err, sizeof(err))
	        : NULL;
	if (res == NULL || fetch == NULL) {
		fprintf(stderr, "mta-stsctl: %s\n", err);
		resolver_free(res);
		event_base_free(d.base);
		return 2;
	}
	ls = lookups_new(d.base, res, fetch, NULL);
	w = lookup_request(ls, ctl->cfg, cfg_zone_find(ctl->cfg, ctl->name, strlen(ctl->name)),
	                   dest, direct_on_result, &d);
	if (w != NULL)
		event_base_dispatch(d.base);
	lookups_free(ls);
	fetch_free(fetch);
	resolver_free(res);
	event_base_free(d.base);
	return d.rc;
}

/* ---- the cache, read beside the running daemon ---- */

/* "label:" padded so values line up, then the value. */
static void kv(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
kv(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("%s:%*s", label, (int)(17 - strlen(label)), "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* A time as ISO 8601 UTC, "-" for 0 (never, none). A few static buffers in turn, so that one
 * printf can show several. */
static const char *
iso(int64_t t)
{
	static char bufs[8][32];
	static unsigned next;
	char *b = bufs[next++ % 8];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(b, sizeof(bufs[0]), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "-";
	return b;
}

static json_t *
json_time(int64_t t)
{
	const char *s = iso(t);

	return strcmp(s, "-") == 0 ? json_null() : json_string(s);
}

static void
json_print(json_t *o)
{
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
}

/* What a record lets the daemon answer now, as one word, and until when (0: -). The meaning
 * is cacherec_view()'s; an expired policy and an empty record both mean "discover". */
static const char *
rec_state(const struct cacherec *r, int64_t now, int64_t *until)
{
	*until = 0;
	switch (cacherec_view(r, now)) {
	case CACHEREC_VIEW_POLICY:
		*until = r->expires;
		return "valid";
	case CACHEREC_VIEW_NO_POLICY:
		*until = r->none_until;
		return "no-policy";
	case CACHEREC_VIEW_TXT_FAILED:
		*until = r->fail_until;
		return "txt-failed";
	case CACHEREC_VIEW_UNKNOWN:
		break;
	}
	return r->has_policy ? "expired" : "unknown";
}

/* A key as given, safe for one line of output. */
static const char *
shown(const char *arg)
{
	static char buf[DNAME_MAX + 64];

	return log_escape(arg, strlen(arg), buf, sizeof(buf));
}

/* DOMAIN of a cache command, normalised as the daemon normalises a key (case, trailing dot,
 * U-labels to A-labels; "[host]:port" names that destination). 0, or -1 (printed). */
static int
ctl_domain(const char *arg, struct socketmap_dest *dest)
{
	char norm[DNAME_MAX + 1];
	enum dname_err e;

	switch (socketmap_classify(arg, strlen(arg), dest)) {
	case SOCKETMAP_KEY_DOMAIN:
		return 0;
	case SOCKETMAP_KEY_PARENT:
		fprintf(stderr, "mta-stsctl: %s: a parent-domain probe, not a domain\n",
		        shown(arg));
		break;
	case SOCKETMAP_KEY_IP:
		fprintf(stderr, "mta-stsctl: %s: an IP literal, not a domain\n", shown(arg));
		break;
	case SOCKETMAP_KEY_INVALID:
		e = dname_normalize(arg, strlen(arg), norm, NULL);
		fprintf(stderr, "mta-stsctl: %s: not a valid domain name%s%s\n", shown(arg),
		        e != DNAME_OK ? ": " : "", e != DNAME_OK ? dname_strerror(e) : "");
		break;
	}
	return -1;
}

/* Open cache_dir as the daemon made it. Both LMDB files must exist: LMDB would otherwise
 * create them (or, writing, the directory) owned by whoever runs mta-stsctl, and the daemon,
 * running as its own user, could not open them afterwards. NULL on failure (printed). */
static struct cache *
ctl_cache_open(const struct ctl *ctl, int readonly)
{
	const char *dir = ctl->cfg->cache_dir;
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	char path[4096], err[600];
	struct stat st;
	struct cache *c;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int n = snprintf(path, sizeof(path), "%s/%s", dir, files[i]);

		if (n < 0 || (size_t)n >= sizeof(path)) {
			fprintf(stderr, "mta-stsctl: cache_dir %s: name too long\n", dir);
			return NULL;
		}
		if (stat(path, &st) != 0) {
			int e = errno;

			fprintf(stderr, "mta-stsctl: cache_dir %s: %s: %s%s\n", dir, files[i],
			        strerror(e), e == ENOENT ? " (has mta-stsd run with it?)" : "");
			return NULL;
		}
	}
	if ((c = cache_open(dir, readonly, CACHE_MAP_DEFAULT, err, sizeof(err))) == NULL)
		fprintf(stderr, "mta-stsctl: %s\n", err);
	return c;
}

static json_t *
rec_json(const struct cacherec *r, int64_t now)
{
	json_t *o = json_object();
	int64_t until;
	const char *state = rec_state(r, now, &until);

	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "until", json_time(until));
	if (r->has_policy) {
		json_t *p = json_object(), *mx = json_array();

		for (unsigned i = 0; i < r->policy.n_mx; i++)
			json_array_append_new(mx, json_string(r->policy.mx[i]));
		json_object_set_new(p, "mode", json_string(stspolicy_mode_name(r->policy.mode)));
		json_object_set_new(p, "max_age", json_integer(r->policy.max_age));
		json_object_set_new(p, "mx", mx);
		json_object_set_new(p, "id", json_string(r->id));
		json_object_set_new(p, "fetched", json_time(r->fetched));
		json_object_set_new(p, "expires", json_time(r->expires));
		json_object_set_new(o, "policy", p);
	} else {
		json_object_set_new(o, "policy", json_null());
	}
	json_object_set_new(o, "checked", json_time(r->checked));
	json_object_set_new(o, "failed", json_time(r->failed));
	json_object_set_new(o, "failed_id",
	                    r->failed_id[0] ? json_string(r->failed_id) : json_null());
	json_object_set_new(o, "none_until", json_time(r->none_until));
	json_object_set_new(o, "fail_until", json_time(r->fail_until));
	json_object_set_new(o, "queried", json_time(r->queried));
	json_object_set_new(o, "due", json_time(r->due));
	return o;
}

static void
rec_print(const struct cacherec *r, int64_t now)
{
	int64_t until;
	const char *state = rec_state(r, now, &until);

	kv("state", "%s%s%s", state, until ? " until " : "", until ? iso(until) : "");
	if (r->has_policy) {
		kv("policy", "mode=%s max_age=%u id=%s", stspolicy_mode_name(r->policy.mode),
		   (unsigned)r->policy.max_age, r->id);
		for (unsigned i = 0; i < r->policy.n_mx; i++)
			kv("mx", "%s", r->policy.mx[i]);
		kv("fetched", "%s", iso(r->fetched));
		kv("expires", "%s", iso(r->expires));
	} else {
		kv("policy", "none");
	}
	kv("last TXT check", "%s", iso(r->checked));
	if (r->failed != 0)
		kv("failed fetch", "%s (id %s)", iso(r->failed),
		   r->failed_id[0] ? r->failed_id : "-");
	else
		kv("failed fetch", "-");
	kv("no-policy until", "%s", iso(r->none_until));
	kv("txt-failed until", "%s", iso(r->fail_until));
	kv("last queried", "%s", iso(r->queried));
	kv("next due", "%s", iso(r->due));
}

static json_t *
dns_json(const char *key, const struct danerec *d, int valid)
{
	json_t *o = json_object(), *hosts = json_array();

	for (unsigned i = 0; i < d->n_hosts; i++)
		json_array_append_new(hosts, json_string(d->hosts[i]));
	json_object_set_new(o, "key", json_string(key));
	json_object_set_new(o, "state", json_string(dane_state_name(d->state)));
	json_object_set_new(o, "valid", json_boolean(valid));
	json_object_set_new(o, "expires", json_time(d->expires));
	json_object_set_new(o, "trust_ad", json_boolean(d->trust_ad));
	json_object_set_new(o, "mx_known", json_boolean(d->mx_known));
	/* null when the MX lookup failed: unknown, not "no hosts" */
	json_object_set_new(o, "mx_hosts", d->mx_known ? hosts : json_null());
	if (!d->mx_known)
		json_decref(hosts);
	json_object_set_new(o, "tlsa_hosts", json_integer(d->n_tlsa));
	json_object_set_new(o, "why", json_string(d->why));
	return o;
}

static void
dns_print(const char *key, const struct danerec *d, int valid, int64_t now)
{
	kv("dns record", "%s", key);
	if (d == NULL) {
		kv("dns state", "- (none cached)");
		return;
	}
	if (valid)
		kv("dns state", "%s (valid until %s)", dane_state_name(d->state), iso(d->expires));
	else if (d->expires <= now)
		kv("dns state", "%s (stale: expired %s)", dane_state_name(d->state),
		   iso(d->expires));
	else
		kv("dns state", "%s (stale: made with dnssec = %s)", dane_state_name(d->state),
		   d->trust_ad ? "yes" : "no");
	kv("dns why", "%s", d->why);
	printf("mx hosts:         ");
	for (unsigned i = 0; i < d->n_hosts; i++)
		printf("%s%s", i ? " " : "", d->hosts[i]);
	printf("%s\n", !d->mx_known ? "unknown (MX lookup failed)" : d->n_hosts ? "" : "none");
	kv("tlsa hosts", "%u", d->n_tlsa);
}

/* cache list: one entry per record, kept in memory so that the read transaction ends before
 * anything is printed (a reader held open by a slow pipe would keep LMDB from reusing pages
 * the daemon frees meanwhile). */
struct list_ent {
	char *domain;
	const char *state; /* rec_state() */
	int64_t until;
	int has_policy;
	enum stspolicy_mode mode;
	char id[STSRECORD_ID_MAX + 1];
	int64_t fetched, expires, queried, due;
	int has_dns, dns_valid;
	enum dane_state dns;
};

struct list {
	struct list_ent *v;
	size_t n, cap;
	int64_t now;
	int trust_ad;
};

static int
list_on_record(void *arg, const char *domain, const struct cacherec *rec, const struct danerec *dns)
{
	struct list *l = arg;
	struct list_ent *e;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->domain = xstrndup(domain, strlen(domain));
	e->state = rec_state(rec, l->now, &e->until);
	e->has_policy = rec->has_policy;
	if (rec->has_policy) {
		e->mode = rec->policy.mode;
		memcpy(e->id, rec->id, sizeof(e->id));
		e->fetched = rec->fetched;
		e->expires = rec->expires;
	}
	e->queried = rec->queried;
	e->due = rec->due;
	if (dns != NULL) {
		e->has_dns = 1;
		e->dns = dns->state;
		e->dns_valid = danerec_valid(dns, l->now, l->trust_ad);
	}
	return 0;
}

static int
cmd_cache_list(struct ctl *ctl)
{
	struct list l = {NULL, 0, 0, (int64_t)time(NULL), ctl->cfg->dnssec != 0};
	struct cache *c = ctl_cache_open(ctl, 1);
	int rc, wd = 6, wi = 2;

	if (c == NULL)
		return 2;
	rc = cache_walk(c, list_on_record, &l);
	cache_close(c);
	if (rc != 0) {
		fprintf(stderr, "mta-stsctl: cache %s: read failed\n", ctl->cfg->cache_dir);
		for (size_t i = 0; i < l.n; i++)
			free(l.v[i].domain);
		free(l.v);
		return 2;
	}
	if (ctl->json) {
		json_t *a = json_array();

		for (size_t i = 0; i < l.n; i++) {
			const struct list_ent *e = &l.v[i];
			json_t *o = json_object(), *d = json_null();

			json_object_set_new(o, "domain", json_string(e->domain));
			json_object_set_new(o, "state", json_string(e->state));
			json_object_set_new(o, "until", json_time(e->until));
			json_object_set_new(o, "mode",
			                    e->has_policy
			                        ? json_string(stspolicy_mode_name(e->mode))
			                        : json_null());
			json_object_set_new(o, "id",
			                    e->has_policy ? json_string(e->id) : json_null());
			json_object_set_new(o, "fetched", json_time(e->fetched));
			json_object_set_new(o, "expires", json_time(e->expires));
			json_object_set_new(o, "queried", json_time(e->queried));
			json_object_set_new(o, "due", json_time(e->due));
			if (e->has_dns) {
				d = json_object();
				json_object_set_new(d, "state",
				                    json_string(dane_state_name(e->dns)));
				json_object_set_new(d, "valid", json_boolean(e->dns_valid));
			}
			json_object_set_new(o, "dns", d);
			json_array_append_new(a, o);
		}
		json_print(a);
	} else {
		for (size_t i = 0; i < l.n; i++) {
			int n = (int)strlen(l.v[i].domain), m = (int)strlen(l.v[i].id);
			wd = n > wd ? n : wd;
			wi = m > wi ? m : wi;
		}
		printf("%-*s %-7s %-*s %-20s %-20s %-20s %-20s %-14s %s\n", wd, "DOMAIN", "MODE",
		       wi, "ID", "FETCHED", "EXPIRES", "QUERIED", "DUE", "DNS", "STATE");
		for (size_t i = 0; i < l.n; i++) {
			const struct list_ent *e = &l.v[i];
			/* a valid policy's end is its EXPIRES column already */
			int until = e->until != 0 && strcmp(e->state, "valid") != 0;
			char dns[32];

			snprintf(dns, sizeof(dns), "%s%s",
			         e->has_dns ? dane_state_name(e->dns) : "-",
			         e->has_dns && !e->dns_valid ? ",stale" : "");
			printf("%-*s %-7s %-*s %-20s %-20s %-20s %-20s %-14s %s%s%s\n", wd,
			       e->domain, e->has_policy ? stspolicy_mode_name(e->mode) : "-", wi,
			       e->has_policy ? e->id : "-", iso(e->fetched), iso(e->expires),
			       iso(e->queried), iso(e->due), dns, e->state, until ? " until " : "",
			       until ? iso(e->until) : "");
		}
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].domain);
	free(l.v);
	return 0;
}

/* The domain's records, read in two read transactions (the daemon may write in between;
 * each record is consistent in itself). 0 read, -1 error (printed). */
static int
ctl_read(struct ctl *ctl, const struct socketmap_dest *dest, struct cacherec *rec,
         enum cache_res *hit, char *dkey, size_t dkeysz, struct danerec *dns, enum cache_res *dhit)
{
	struct cache *c = ctl_cache_open(ctl, 1);

	if (c == NULL)
		return -1;
	INVARIANT(dane_key(dest->domain, dest->port, dest->bracketed, dkey, dkeysz) == 0);
	cacherec_init(rec);
	*hit = cache_get(c, dest->domain, rec);
	*dhit = cache_get_dane(c, dkey, dns);
	cache_close(c);
	if (*hit == CACHE_ERR || *dhit == CACHE_ERR) {
		fprintf(stderr, "mta-stsctl: cache %s: read failed\n", ctl->cfg->cache_dir);
		return -1;
	}
	return 0;
}

static int
cmd_cache_show(struct ctl *ctl, const char *arg)
{
	static struct cacherec rec;
	static struct danerec dns;
	struct socketmap_dest dest;
	enum cache_res hit, dhit;
	char dkey[DANE_QNAME_MAX + 8];
	int64_t now = (int64_t)time(NULL);
	int valid;

	if (ctl_domain(arg, &dest) != 0 ||
	    ctl_read(ctl, &dest, &rec, &hit, dkey, sizeof(dkey), &dns, &dhit) != 0)
		return 2;
	if (hit == CACHE_MISS && dhit == CACHE_MISS) {
		fprintf(stderr, "mta-stsctl: %s: not cached\n", dest.domain);
		return 1;
	}
	valid = dhit == CACHE_HIT && danerec_valid(&dns, now, ctl->cfg->dnssec != 0);
	if (ctl->json) {
		json_t *o = json_object();

		json_object_set_new(o, "domain", json_string(dest.domain));
		json_object_set_new(o, "record",
		                    hit == CACHE_HIT ? rec_json(&rec, now) : json_null());
		json_object_set_new(o, "dns",
		                    dhit == CACHE_HIT ? dns_json(dkey, &dns, valid) : json_null());
		json_print(o);
		return 0;
	}
	kv("domain", "%s", dest.domain);
	if (hit == CACHE_HIT)
		rec_print(&rec, now);
	else
		kv("record", "none cached");
	dns_print(dkey, dhit == CACHE_HIT ? &dns : NULL, valid, now);
	return 0;
}

/* cache purge --expired: the domains whose record holds nothing valid, gathered during the
 * walk (no write may happen inside it) and deleted afterwards, each one only if it still
 * qualifies then (cache_del_if() reads it again in the write transaction). */
struct purge_ent {
	char *domain;
	int dns_expired; /* its DNS record exists and has expired too */
};

struct purge {
	struct purge_ent *v;
	size_t n, cap;
	int64_t now;
};

static int
purge_collect(void *arg, const char *domain, const struct cacherec *rec, const struct danerec *dns)
{
	struct purge *p = arg;

	if (cacherec_view(rec, p->now) != CACHEREC_VIEW_UNKNOWN)
		return 0;
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	p->v[p->n].domain = xstrndup(domain, strlen(domain));
	p->v[p->n].dns_expired = dns != NULL && dns->expires <= p->now;
	p->n++;
	return 0;
}

static int
purge_cond(void *arg, const char *domain, const struct cacherec *rec)
{
	(void)domain;
	return cacherec_view(rec, *(const int64_t *)arg) == CACHEREC_VIEW_UNKNOWN;
}

static void
purge_report(const struct ctl *ctl, json_t *list, const char *domain, int policy, int dns)
{
	if (ctl->json) {
		json_t *o = json_object();

		json_object_set_new(o, "domain", json_string(domain));
		json_object_set_new(o, "policy", json_boolean(policy));
		json_object_set_new(o, "dns", json_boolean(dns));
		json_array_append_new(list, o);
		return;
	}
	printf("purged %s:%s%s\n", domain, policy ? " policy record" : "",
	       dns ? (policy ? ", DNS record" : " DNS record") : "");
}

static void
purge_total(const struct ctl *ctl, json_t *list, size_t n)
{
	if (ctl->json) {
		json_t *o = json_object();

		json_object_set_new(o, "purged", list);
		json_object_set_new(o, "count", json_integer((json_int_t)n));
		json_print(o);
		return;
	}
	printf("%zu domain%s purged\n", n, n == 1 ? "" : "s");
}

static int
cmd_cache_purge(struct ctl *ctl, const char *arg)
{
	struct socketmap_dest dest;
	struct purge p = {NULL, 0, 0, (int64_t)time(NULL)};
	struct cache *c;
	json_t *list = ctl->json ? json_array() : NULL;
	char dkey[DANE_QNAME_MAX + 8];
	size_t purged = 0;
	int rc = 0;

	if (arg != NULL && ctl_domain(arg, &dest) != 0) {
		json_decref(list);
		return 2;
	}
	/* A writer beside the daemon: LMDB serialises writers, each delete is one short
	 * transaction. */
	if ((c = ctl_cache_open(ctl, 0)) == NULL) {
		json_decref(list);
		return 2;
	}
	if (arg != NULL) {
		int pr, dr;

		INVARIANT(dane_key(dest.domain, dest.port, dest.bracketed, dkey, sizeof(dkey)) ==
		          0);
		pr = cache_del(c, dest.domain);
		dr = cache_del(c, dkey);
		cache_close(c);
		if (pr < 0 || dr < 0) {
			fprintf(stderr, "mta-stsctl: cache %s: delete failed\n",
			        ctl->cfg->cache_dir);
			json_decref(list);
			return 2;
		}
		if (pr == 0 && dr == 0) {
			fprintf(stderr, "mta-stsctl: %s: not cached\n", dest.domain);
			json_decref(list);
			return 1;
		}
		purge_report(ctl, list, dest.domain, pr == 1, dr == 1);
		purge_total(ctl, list, 1);
		return 0;
	}
	if (cache_walk(c, purge_collect, &p) != 0) {
		fprintf(stderr, "mta-stsctl: cache %s: read failed\n", ctl->cfg->cache_dir);
		rc = 2;
	}
	for (size_t i = 0; i < p.n && rc == 0; i++) {
		int64_t now = (int64_t)time(NULL);
		int pr = cache_del_if(c, p.v[i].domain, purge_cond, &now), dr = 0;

		if (pr == 1 && p.v[i].dns_expired) {
			INVARIANT(dane_key(p.v[i].domain, 0, 0, dkey, sizeof(dkey)) == 0);
			dr = cache_del(c, dkey);
		}
		if (pr < 0 || dr < 0) {
			fprintf(stderr, "mta-stsctl: cache %s: delete of %s failed\n",
			        ctl->cfg->cache_dir, p.v[i].domain);
			rc = 2;
		} else if (pr == 1) {
			purge_report(ctl, list, p.v[i].domain, 1, dr == 1);
			purged++;
		}
	}
	cache_close(c);
	for (size_t i = 0; i < p.n; i++)
		free(p.v[i].domain);
	free(p.v);
	if (rc != 0) {
		json_decref(list);
		return rc;
	}
	purge_total(ctl, list, purged);
	return 0;
}

/* ---- query --why: the daemon's answer, explained from its cache ---- */

static json_t *
zone_json(const struct cfg *cfg, const struct cfg_zone *z)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(z->name));
	json_object_set_new(o, "fallback", json_string(cfg_fallback_name(z->fallback)));
	json_object_set_new(o, "testing",
	                    json_string(z->testing == CFG_TESTING_ENFORCE ? "enforce" : "ignore"));
	json_object_set_new(o, "dane", json_boolean(z->dane));
	json_object_set_new(
	    o, "dane_partial",
	    json_string(z->dane_partial == CFG_DANE_PARTIAL_DANE ? "dane" : "dane-only"));
	json_object_set_new(o, "mx_check", json_boolean(z->mx_check));
	json_object_set_new(o, "tlsrpt", json_boolean(z->tlsrpt));
	json_object_set_new(o, "dnssec", json_boolean(cfg->dnssec != 0));
	return o;
}

/* The decision table row a cache answer stands in (design.md). */
static const char *
why_row(const struct cacherec *r, enum cacherec_view view, const struct cfg_zone *z)
{
	switch (view) {
	case CACHEREC_VIEW_POLICY:
		switch (r->policy.mode) {
		case STSPOLICY_MODE_ENFORCE:
			return "enforce (cached policy)";
		case STSPOLICY_MODE_TESTING:
			return z->testing == CFG_TESTING_ENFORCE
			           ? "testing, treated as enforce (cached policy)"
			           : "testing (cached policy)";
		case STSPOLICY_MODE_NONE:
			break;
		}
		return "none (cached policy of mode none)";
	case CACHEREC_VIEW_NO_POLICY:
		return r->has_policy ? "none (no policy remembered; the cached one expired)"
		                     : "none (no policy remembered)";
	case CACHEREC_VIEW_TXT_FAILED:
		return "TXT lookup failed, nothing cached";
	case CACHEREC_VIEW_UNKNOWN:
		break;
	}
	return "-";
}

static int
why_nodomain(const struct ctl *ctl, const char *key, enum socketmap_key kc, const struct reply *r)
{
	const char *why =
	    kc == SOCKETMAP_KEY_PARENT ? "parent-domain probe: NOTFOUND without lookup"
	    : kc == SOCKETMAP_KEY_IP   ? "IP literal: NOTFOUND without lookup"
	                               : "not a valid domain name: NOTFOUND without lookup";
	int agrees = strcmp(r->status, "NOTFOUND") == 0;

	if (ctl->json) {
		json_t *o = json_object();

		json_object_set_new(o, "domain", json_string(key));
		json_object_set_new(o, "status", json_string(r->status));
		json_object_set_new(o, "reply", json_stringn(r->text, r->len));
		json_object_set_new(o, "why", json_string(why));
		json_object_set_new(o, "agrees", json_boolean(agrees));
		json_print(o);
	} else {
		kv("domain", "%s", shown(key));
		kv("reply", "%s%s%.*s", r->status, r->len ? " " : "", (int)r->len, r->text);
		kv("why", "%s", why);
		kv("agrees", "%s", agrees ? "yes" : "no");
	}
	return exit_code(r->status);
}

static int
cmd_why(struct ctl *ctl, const char *key)
{
	static struct cacherec rec;
	static struct danerec cached, drec;
	const struct cfg_zone *zone = cfg_zone_find(ctl->cfg, ctl->name, strlen(ctl->name));
	struct socketmap_dest dest;
	struct reply r;
	struct strbuf text;
	enum socketmap_key kc;
	enum cache_res hit, dhit;
	enum cacherec_view view;
	enum danerec_use use = DANEREC_UNUSABLE;
	const char *status = NULL, *why = NULL, *reason = NULL, *note = NULL, *dane_col;
	char dkey[DANE_QNAME_MAX + 8];
	int64_t now;
	int trust = ctl->cfg->dnssec != 0, need_dns, have_dns = 0, settled, agrees = -1;
	int rc;

	/* First the daemon, so that what it learnt for this answer is in the cache we read. */
	if (ask_daemon(ctl, key, &r) != 0)
		return 2;
	rc = exit_code(r.status);
	kc = socketmap_classify(key, strlen(key), &dest);
	if (kc != SOCKETMAP_KEY_DOMAIN)
		return why_nodomain(ctl, key, kc, &r);
	if (ctl_read(ctl, &dest, &rec, &hit, dkey, sizeof(dkey), &cached, &dhit) != 0) {
		print_reply(ctl, dest.domain, r.status, r.text, r.len, NULL);
		return 2;
	}

	/* The reads and the decision of lookup_request() for a cache answer, step by step. */
	now = (int64_t)time(NULL);
	view = cacherec_view(&rec, now);
	need_dns = decide_needs_dns(&rec, zone, trust, now);
	if (need_dns) {
		if (dane_static(dest.domain, dest.bracketed, trust, now, &drec)) {
			have_dns = 1;
		} else if (dhit == CACHE_HIT &&
		           (use = danerec_usable(&cached, now, trust, ctl->cfg->dns_stale)) !=
		               DANEREC_UNUSABLE) {
			drec = cached;
			have_dns = 1;
		}
	}
	settled = view != CACHEREC_VIEW_UNKNOWN && (!need_dns || have_dns);
	dane_col = dane_state_name(zone->dane && have_dns ? drec.state : DANE_INSECURE);
	strbuf_init(&text, ANSWER_TEXT_MAX);
	if (settled) {
		struct decide_input in = {&rec,
		                          decide_cached_disc(view),
		                          NULL,
		                          have_dns ? drec.state : DANE_INSECURE,
		                          have_dns ? &drec : NULL,
		                          dest.domain};

		answer_reply(&in, zone, now, &text, &status, &why);
		agrees = strcmp(status, r.status) == 0 && text.len == r.len &&
		         (r.len == 0 || memcmp(text.data, r.text, r.len) == 0);
		if (!agrees)
			note =
			    "the daemon answered otherwise: a lookup was in flight or the record "
			    "changed between its answer and this read, or it runs another "
			    "configuration (reload it); ask again";
		else if (use >= DANEREC_STALE)
			note = "the DNS record has expired: it answers (dns_stale) while a "
			       "background lookup renews it";
	} else {
		reason =
		    view == CACHEREC_VIEW_UNKNOWN
		        ? "nothing cached settles the MTA-STS state (no record, policy expired, "
		          "nothing remembered): the daemon discovers it for each request"
		        : "the zone needs the destination's DNS record (dane or mx_check) and none "
		          "is cached that is valid or expired less than dns_stale ago: the daemon "
		          "looks it up for each request";
		note = "cannot tell from the cache alone";
	}

	if (ctl->json) {
		json_t *o = json_object(), *d = json_object();

		json_object_set_new(o, "domain", json_string(dest.domain));
		json_object_set_new(o, "status", json_string(r.status));
		json_object_set_new(o, "reply", json_stringn(r.text, r.len));
		json_object_set_new(o, "record",
		                    hit == CACHE_HIT ? rec_json(&rec, now) : json_null());
		json_object_set_new(
		    o, "dns",
		    dhit == CACHE_HIT ? dns_json(dkey, &cached, danerec_valid(&cached, now, trust))
		                      : json_null());
		json_object_set_new(o, "zone", zone_json(ctl->cfg, zone));
		json_object_set_new(d, "settled", json_boolean(settled));
		if (settled) {
			json_object_set_new(d, "row", json_string(why_row(&rec, view, zone)));
			json_object_set_new(d, "column", json_string(dane_col));
			json_object_set_new(d, "status", json_string(status));
			json_object_set_new(d, "reply",
			                    json_stringn(text.data ? text.data : "", text.len));
			json_object_set_new(d, "why", json_string(why));
		} else {
			json_object_set_new(d, "reason", json_string(reason));
		}
		json_object_set_new(o, "decision", d);
		json_object_set_new(o, "agrees", agrees < 0 ? json_null() : json_boolean(agrees));
		if (note != NULL)
			json_object_set_new(o, "note", json_string(note));
		json_print(o);
	} else {
		kv("domain", "%s", dest.domain);
		kv("reply", "%s%s%.*s", r.status, r.len ? " " : "", (int)r.len, r.text);
		if (hit == CACHE_HIT)
			rec_print(&rec, now);
		else
			kv("record", "none cached");
		dns_print(dkey, dhit == CACHE_HIT ? &cached : NULL,
		          dhit == CACHE_HIT && danerec_valid(&cached, now, trust), now);
		kv("zone",
		   "[%s] fallback=%s testing=%s dane=%s dane_partial=%s mx_check=%s tlsrpt=%s; "
		   "[daemon] dnssec=%s",
		   zone->name, cfg_fallback_name(zone->fallback),
		   zone->testing == CFG_TESTING_ENFORCE ? "enforce" : "ignore",
		   zone->dane ? "yes" : "no",
		   zone->dane_partial == CFG_DANE_PARTIAL_DANE ? "dane" : "dane-only",
		   zone->mx_check ? "yes" : "no", zone->tlsrpt ? "yes" : "no",
		   trust ? "yes" : "no");
		if (settled) {
			kv("decision", "MTA-STS %s x DNS %s -> %s%s%s", why_row(&rec, view, zone),
			   dane_col, status, text.len ? " " : "", text.data ? text.data : "");
			kv("why", "%s", why);
		} else {
			kv("decision", "- (%s)", reason);
		}
		kv("agrees", "%s%s%s",
		   agrees < 0 ? "unknown"
		   : agrees   ? "yes"
		              : "no",
		   note ? ": " : "", note ? note : "");
	}
	strbuf_fini(&text);
	return rc;
}

static int
is_help(const char *a)
{
	return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

enum query_mode {
	QUERY_DAEMON = 0,
	QUERY_DIRECT,
	QUERY_WHY,
};

/* query's own options and its DOMAIN, read before the configuration so that --help works
 * whatever the configuration file holds. */
static const char *
query_args(struct ctl *ctl, int argc, char **argv, enum query_mode *mode)
{
	for (; argc > 0 && argv[0][0] == '-'; argc--, argv++) {
		if (strcmp(argv[0], "--direct") == 0 && *mode != QUERY_WHY)
			*mode = QUERY_DIRECT;
		else if (strcmp(argv[0], "--why") == 0 && *mode != QUERY_DIRECT)
			*mode = QUERY_WHY;
		else if (strcmp(argv[0], "--json") == 0)
			ctl->json = 1;
		else if (is_help(argv[0]))
			query_usage(0);
		else
			query_usage(2);
	}
	if (argc != 1)
		query_usage(2);
	return argv[0];
}

static int
cmd_query(struct ctl *ctl, const char *key, enum query_mode mode)
{
	struct socketmap_dest dest;

	if (mode == QUERY_DAEMON)
		return query_daemon(ctl, key);
	if (mode == QUERY_WHY)
		return cmd_why(ctl, key);
	/* Same key rules as the daemon: [host]:port -> host, .parent and IP literals -> NOTFOUND.
	 */
	switch (socketmap_classify(key, strlen(key), &dest)) {
	case SOCKETMAP_KEY_DOMAIN:
		return query_direct(ctl, &dest);
	case SOCKETMAP_KEY_PARENT:
		fprintf(stderr,
		        "mta-stsctl: %s: parent-domain probe, answered NOTFOUND without lookup\n",
		        key);
		break;
	case SOCKETMAP_KEY_IP:
		fprintf(stderr, "mta-stsctl: %s: IP literal, answered NOTFOUND without lookup\n",
		        key);
		break;
	default:
		fprintf(stderr, "mta-stsctl: %s: not a valid domain name, answered NOTFOUND\n",
		        key);
		break;
	}
	print_reply(ctl, key, "NOTFOUND", "", 0, NULL);
	return 1;
}

/* A cache command: its name, DOMAIN, --expired. */
struct cache_cmd {
	const char *sub;
	const char *domain;
	int expired;
};

/* cache's own arguments, read before the configuration (as query_args()). */
static void
cache_args(struct ctl *ctl, int argc, char **argv, struct cache_cmd *cc)
{
	memset(cc, 0, sizeof(*cc));
	if (argc == 0)
		cache_usage(NULL, 2);
	if (is_help(argv[0]))
		cache_usage(NULL, 0);
	cc->sub = argv[0];
	if (strcmp(cc->sub, "list") != 0 && strcmp(cc->sub, "show") != 0 &&
	    strcmp(cc->sub, "purge") != 0) {
		fprintf(stderr, "mta-stsctl: unknown cache command: %s\n", shown(cc->sub));
		cache_usage(NULL, 2);
	}
	for (argc--, argv++; argc > 0; argc--, argv++) {
		if (strcmp(argv[0], "--json") == 0)
			ctl->json = 1;
		else if (is_help(argv[0]))
			cache_usage(cc->sub, 0);
		else if (strcmp(argv[0], "--expired") == 0 && strcmp(cc->sub, "purge") == 0)
			cc->expired = 1;
		else if (argv[0][0] == '-' || cc->domain != NULL || strcmp(cc->sub, "list") == 0)
			cache_usage(cc->sub, 2);
		else
			cc->domain = argv[0];
	}
	if ((strcmp(cc->sub, "show") == 0 && cc->domain == NULL) ||
	    (strcmp(cc->sub, "purge") == 0 && (cc->domain != NULL) == cc->expired))
		cache_usage(cc->sub, 2);
}

static int
cmd_cache(struct ctl *ctl, const struct cache_cmd *cc)
{
	if (strcmp(cc->sub, "list") == 0)
		return cmd_cache_list(ctl);
	if (strcmp(cc->sub, "show") == 0)
		return cmd_cache_show(ctl, cc->domain);
	return cmd_cache_purge(ctl, cc->expired ? NULL : cc->domain);
}

/* ---- generate: what a domain publishes (no daemon, no configuration) ---- */

static _Noreturn void
generate_usage(int status)
{
	fprintf(
	    status == 0 ? stdout : stderr,
	    "usage: mta-stsctl generate --domain DOMAIN --mode enforce|testing|none\n"
	    "           [--mx PATTERN]... --max-age SECONDS [--rua URI]... [--id ID] [--json]\n"
	    "       mta-stsctl generate -h | --help\n"
	    "Print the _mta-sts TXT record, the policy file and where to serve it, and with\n"
	    "--rua the _smtp._tls TLS-RPT record, as zone-file lines (TTL %d) with advice.\n"
	    "  --domain DOMAIN   the policy domain (the part after @ in addresses)\n"
	    "  --mode MODE       enforce, testing or none; start with testing\n"
	    "  --mx PATTERN      an MX host name or *.parent, once per pattern; at least one\n"
	    "                    unless the mode is none\n"
	    "  --max-age SECONDS how long senders keep the policy, 0 to 31557600; short\n"
	    "                    (86400) while testing, weeks once enforced\n"
	    "  --rua URI         TLS-RPT report address, mailto:... or https://..., repeatable\n"
	    "  --id ID           policy id, 1-32 letters and digits (default: the time now,\n"
	    "                    YYYYMMDDTHHMMSSZ in UTC); change it at every policy change\n"
	    "  --json            print one JSON object\n"
	    "  -h, --help        print this text\n"
	    "exit status: 0 done, 2 invalid argument\n",
	    STSGEN_TTL);
	exit(status);
}

static json_t *
generate_record(const char *name, const struct strbuf *txt, const struct strbuf *zone)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "type", json_string("TXT"));
	json_object_set_new(o, "ttl", json_integer(STSGEN_TTL));
	json_object_set_new(o, "text", json_stringn(txt->data, txt->len));
	json_object_set_new(o, "zone", json_stringn(zone->data, zone->len));
	return o;
}

/* Each line of an advice buffer as one array member. */
static void
generate_advice(json_t *arr, const struct strbuf *sb)
{
	const char *p = sb->data ? sb->data : "", *end = p + sb->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		json_array_append_new(arr, json_stringn(p, n));
		p += n + 1;
	}
}

static void
generate_json(const struct stsgen *g)
{
	json_t *o = json_object(), *rec = json_object(), *pol = json_object();
	json_t *mx = json_array(), *advice = json_array();

	json_object_set_new(o, "domain", json_string(g->domain));
	json_object_set_new(o, "id", json_string(g->id));
	json_object_set_new(o, "generated", json_string(g->generated));
	json_object_set_new(rec, "mta_sts",
	                    generate_record(g->sts_name, &g->sts_txt, &g->sts_zone));
	json_object_set_new(rec, "tlsrpt",
	                    g->tlsrpt_txt.len > 0
	                        ? generate_record(g->tlsrpt_name, &g->tlsrpt_txt, &g->tlsrpt_zone)
	                        : json_null());
	json_object_set_new(o, "records", rec);
	json_object_set_new(pol, "url", json_string(g->url.data));
	json_object_set_new(pol, "content_type", json_string("text/plain"));
	json_object_set_new(pol, "mode", json_string(stspolicy_mode_name(g->policy.mode)));
	json_object_set_new(pol, "max_age", json_integer(g->policy.max_age));
	for (unsigned i = 0; i < g->policy.n_mx; i++)
		json_array_append_new(mx, json_string(g->policy.mx[i]));
	json_object_set_new(pol, "mx", mx);
	json_object_set_new(pol, "text", json_stringn(g->policy_text.data, g->policy_text.len));
	json_object_set_new(o, "policy", pol);
	generate_advice(advice, &g->dns_advice);
	generate_advice(advice, &g->policy_advice);
	json_object_set_new(o, "advice", advice);
	json_print(o);
}

/* A single-valued option given twice is a usage error, not "the last one wins". */
static void
generate_once(const char **slot, const char *opt)
{
	if (*slot != NULL) {
		fprintf(stderr, "mta-stsctl: generate: --%s given twice\n", opt);
		exit(2);
	}
	*slot = optarg;
}

/* argv[0] is "generate". Arguments only: stsgen.c checks and builds everything. */
static int
cmd_generate(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"domain", required_argument, NULL, 'd'},
	                                     {"mode", required_argument, NULL, 'm'},
	                                     {"mx", required_argument, NULL, 'x'},
	                                     {"max-age", required_argument, NULL, 'a'},
	                                     {"rua", required_argument, NULL, 'r'},
	                                     {"id", required_argument, NULL, 'i'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char **mx = xcalloc((size_t)argc, sizeof(*mx)),
	           **rua = xcalloc((size_t)argc, sizeof(*rua));
	struct stsgen_in in = {NULL, NULL, mx, 0, NULL, rua, 0, NULL, time(NULL)};
	struct stsgen *g = xmalloc(sizeof(*g));
	struct strbuf out;
	enum stsgen_err e;
	int opt, rc = 0;

	static char prog[] = "mta-stsctl generate";

	argv[0] = prog; /* getopt's messages name it */
	optind = 0;     /* glibc: start afresh on this argv */
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			generate_once(&in.domain, "domain");
			break;
		case 'm':
			generate_once(&in.mode, "mode");
			break;
		case 'a':
			generate_once(&in.max_age, "max-age");
			break;
		case 'i':
			generate_once(&in.id, "id");
			break;
		case 'x':
			mx[in.n_mx++] = optarg;
			break;
		case 'r':
			rua[in.n_rua++] = optarg;
			break;
		case 'j':
			ctl->json = 1;
			break;
		case 'h':
			generate_usage(0);
			break;
		default:
			generate_usage(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mta-stsctl: generate: unexpected argument: %s\n",
		        shown(argv[optind]));
		generate_usage(2);
	}
	if (in.domain == NULL || in.mode == NULL || in.max_age == NULL) {
		fprintf(stderr, "mta-stsctl: generate: --%s is required\n",
		        in.domain == NULL ? "domain"
		        : in.mode == NULL ? "mode"
		                          : "max-age");
		generate_usage(2);
	}
	stsgen_init(g);
	if ((e = stsgen_make(&in, g)) != STSGEN_OK) {
		fprintf(stderr, "mta-stsctl: generate: %s%s%s%s%s%s%s%s%s\n",
		        g->bad_arg ? "--" : "", g->bad_arg ? g->bad_arg : "",
		        g->bad_value ? " '" : "", g->bad_value ? shown(g->bad_value) : "",
		        g->bad_value ? "'" : "", g->bad_arg ? ": " : "", stsgen_strerror(e),
		        g->why ? ": " : "", g->why ? g->why : "");
		rc = 2;
	} else if (ctl->json) {
		generate_json(g);
	} else {
		strbuf_init(&out, STSGEN_TEXT_MAX);
		INVARIANT(stsgen_format(g, &out) == 0);
		fwrite(out.data, 1, out.len, stdout);
		strbuf_fini(&out);
	}
	if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
		fprintf(stderr, "mta-stsctl: generate: write: %s\n", strerror(errno));
		rc = 2;
	}
	stsgen_fini(g);
	free(g);
	free(mx);
	free(rua);
	return rc;
}

/* ---- check: the domain checker (rules in checkrule.c, I/O in checker.c) ---- */

/* check's arguments, read before the configuration (as query_args()). */
struct check_cmd {
	const char *domain;
	unsigned timeout;
	int no_smtp;
};

/* A usage error of check exits 3: "the check itself could not run". */
static _Noreturn void
check_usage(int status)
{
	fprintf(
	    status == 0 ? stdout : stderr,
	    "usage: mta-stsctl [-c FILE] [--json] check [--json] [--no-smtp] [--timeout S] "
	    "DOMAIN\n"
	    "       mta-stsctl check -h | --help\n"
	    "Check DOMAIN's MTA-STS setup with the daemon's own resolver, fetcher and parsers:\n"
	    "TXT record, policy fetch, policy syntax, MX coverage, TLS-RPT record and what\n"
	    "this sender's daemon has cached; a report by dimension with a fix per finding,\n"
	    "and a score 0-100 (see mta-stsctl(1)).\n"
	    "  --json       print one JSON object\n"
	    "  --no-smtp    do not connect to the MX hosts\n"
	    "  --timeout S  seconds the whole check may take, 1-%d (default %d)\n"
	    "  -h, --help   print this text\n"
	    "exit status: 0 no warning, 1 warnings, 2 critical findings, 3 the check could not "
	    "run\n",
	    CHECKER_TIMEOUT_MAX, CHECKER_TIMEOUT_DEFAULT);
	exit(status);
}

static void
check_args(struct ctl *ctl, int argc, char **argv, struct check_cmd *cc)
{
	unsigned long long v;

	memset(cc, 0, sizeof(*cc));
	cc->timeout = CHECKER_TIMEOUT_DEFAULT;
	for (; argc > 0; argc--, argv++) {
		if (strcmp(argv[0], "--json") == 0) {
			ctl->json = 1;
		} else if (strcmp(argv[0], "--no-smtp") == 0) {
			cc->no_smtp = 1;
		} else if (strcmp(argv[0], "--timeout") == 0) {
			if (argc < 2 ||
			    parse_uint(argv[1], strlen(argv[1]), 1, CHECKER_TIMEOUT_MAX, &v) != 0) {
				fprintf(stderr,
				        "mta-stsctl: check: --timeout wants seconds, 1-%d\n",
				        CHECKER_TIMEOUT_MAX);
				check_usage(3);
			}
			cc->timeout = (unsigned)v;
			argc--, argv++;
		} else if (is_help(argv[0])) {
			check_usage(0);
		} else if (argv[0][0] == '-' || cc->domain != NULL) {
			check_usage(3);
		} else {
			cc->domain = argv[0];
		}
	}
	if (cc->domain == NULL)
		check_usage(3);
}

static int
cmd_check(struct ctl *ctl, const struct check_cmd *cc)
{
	struct checker_params p = {ctl->cfg, cc->timeout, cc->no_smtp};
	struct socketmap_dest dest;
	struct checkrule_report *r;
	struct strbuf out;
	int rc;

	if (ctl_domain(cc->domain, &dest) != 0)
		return 3;
	if (dest.bracketed || dest.port != 0) {
		fprintf(stderr, "mta-stsctl: check: %s: a policy domain, without [] or :port\n",
		        shown(cc->domain));
		return 3;
	}
	r = xmalloc(sizeof(*r));
	checker_run(&p, dest.domain, r);
	strbuf_init(&out, CHECKRULE_OUT_MAX);
	if ((ctl->json ? checkrule_json(r, &out) : checkrule_text(r, &out)) != 0) {
		fprintf(stderr, "mta-stsctl: check: report over %d bytes\n", CHECKRULE_OUT_MAX);
		rc = 3;
	} else {
		fputs(out.data, stdout);
		rc = checkrule_exit(r);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "mta-stsctl: check: write: %s\n", strerror(errno));
			rc = 3;
		}
	}
	strbuf_fini(&out);
	free(r);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct ctl ctl;
	struct cache_cmd cc;
	struct check_cmd ck = {NULL, 0, 0};
	const char *path = CFG_DEFAULT_PATH;
	const char *origin, *key = NULL, *cmd;
	enum query_mode mode = QUERY_DAEMON;
	int explicit_path = 0, opt, rc;
	char msg[600];

	memset(&ctl, 0, sizeof(ctl));
	ctl.name = "postfix";
	log_init("mta-stsctl", 1, 0);
	while ((opt = getopt_long(argc, argv, "+c:hs:n:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			explicit_path = 1;
			break;
		case 's':
			ctl.listen = optarg;
			break;
		case 'n':
			ctl.name = optarg;
			break;
		case 'j':
			ctl.json = 1;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind >= argc)
		usage(2);
	cmd = argv[optind];
	if (strcmp(cmd, "query") == 0) {
		key = query_args(&ctl, argc - optind - 1, argv + optind + 1, &mode);
	} else if (strcmp(cmd, "cache") == 0) {
		cache_args(&ctl, argc - optind - 1, argv + optind + 1, &cc);
	} else if (strcmp(cmd, "generate") == 0) {
		return cmd_generate(&ctl, argc - optind, argv + optind); /* no configuration */
	} else if (strcmp(cmd, "check") == 0) {
		check_args(&ctl, argc - optind - 1, argv + optind + 1, &ck);
	} else {
		fprintf(stderr, "mta-stsctl: unknown command: %s\n", cmd);
		usage(2);
	}
	if ((ctl.cfg = cfgfile_load(path, !explicit_path, &origin, msg, sizeof(msg))) == NULL) {
		fprintf(stderr, "mta-stsctl: %s\n", msg);
		return ck.domain != NULL ? 3 : 2;
	}
	rc = ck.domain != NULL ? cmd_check(&ctl, &ck)
	     : key != NULL     ? cmd_query(&ctl, key, mode)
	                       : cmd_cache(&ctl, &cc);
	cfg_unref(ctl.cfg);
	return rc;
}
