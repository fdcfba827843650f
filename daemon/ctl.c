/* SPDX-License-Identifier: MIT */
/*
 * mta-stsctl: the operator's command line. Effectful (E).
 *   query DOMAIN            ask the running daemon over its socketmap listener, like postmap -q
 *   query --direct DOMAIN   run discovery, fetch and decision in-process (no daemon, no cache)
 * and prints the reply (and with --direct the policy and why). --json prints one JSON object
 * (jansson). -h/--help, also after a command, prints usage on stdout and exits 0. Exit status
 * follows postmap: 0 found, 1 not found, 2 temporary failure or error. The daemon's address (first
 * listen value, or -s) is read by cfg_listen_parse(), the parser the daemon binds with; the
 * configuration file by cfgfile.c, the daemon's reader.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "cfgfile.h"
#include "fetch.h"
#include "lookup.h"
#include "resolver.h"
#include "socketmap.h"
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
	fprintf(status == 0 ? stdout : stderr,
	        "usage: mta-stsctl [-c FILE] [-n NAME] [-s inet:HOST:PORT|unix:PATH] [--json] "
	        "COMMAND ...\n"
	        "       mta-stsctl -h | --help\n"
	        "commands:\n"
	        "  query [--direct] [--json] DOMAIN  what the daemon answers Postfix for DOMAIN\n"
	        "options:\n"
	        "  -c FILE     configuration (default %s)\n"
	        "  -n NAME     socketmap name, selects the [NAME] section (default postfix)\n"
	        "  -s ADDRESS  the daemon's listener (default: the first listen value)\n"
	        "  --json      print one JSON object\n"
	        "  -h, --help  print this text\n"
	        "exit status: 0 found, 1 not found, 2 temporary failure or error\n"
	        "'mta-stsctl query --help' describes the command; see mta-stsctl(1).\n",
	        CFG_DEFAULT_PATH);
	exit(status);
}

static _Noreturn void
query_usage(int status)
{
	fputs("usage: mta-stsctl [-c FILE] [-n NAME] [-s ADDRESS] [--json] query [--direct] "
	      "[--json] DOMAIN\n"
	      "       mta-stsctl query -h | --help\n"
	      "Print the answer for DOMAIN of the running daemon, as postmap -q would.\n"
	      "  --direct    no daemon: run discovery, fetch and decision in this process (no\n"
	      "              cache) and print the policy, the DANE state and why\n"
	      "  --json      print one JSON object\n"
	      "  -h, --help  print this text\n"
	      "exit status: 0 found (OK), 1 not found (NOTFOUND), 2 temporary failure or error\n",
	      status == 0 ? stdout : stderr);
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

static int
query_daemon(const struct ctl *ctl, const char *domain)
{
	static char buf[SOCKETMAP_REPLY_MAX + 32];
	char req[SOCKETMAP_REQUEST_MAX + 32], err[512];
	const char *listen = ctl->listen ? ctl->listen : ctl->cfg->listen[0];
	const char *payload, *sp;
	size_t have = 0, plen, used;
	int fd, n;

	n = snprintf(req, sizeof(req), "%zu:%s %s,", strlen(ctl->name) + 1 + strlen(domain),
	             ctl->name, domain);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		fprintf(stderr, "mta-stsctl: request too long\n");
		return 2;
	}
	if ((fd = connect_listener(listen, err, sizeof(err))) < 0) {
		fprintf(stderr, "mta-stsctl: %s\n", err);
		return 2;
	}
	if (write(fd, req, (size_t)n) != n) {
		fprintf(stderr, "mta-stsctl: write: %s\n", strerror(errno));
		close(fd);
		return 2;
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
			return 2;
		}
		r = read(fd, buf + have, sizeof(buf) - have);
		if (r <= 0) {
			fprintf(stderr, "mta-stsctl: read: %s\n",
			        r == 0 ? "connection closed" : strerror(errno));
			close(fd);
			return 2;
		}
		have += (size_t)r;
	}
	close(fd);
	sp = memchr(payload, ' ', plen);
	{
		char status[16];
		size_t sl = sp ? (size_t)(sp - payload) : plen;
		const char *text = sp ? sp + 1 : payload + plen;
		snprintf(status, sizeof(status), "%.*s", (int)(sl < 15 ? sl : 15), payload);
		print_reply(ctl, domain, status, text, plen - (size_t)(text - payload), NULL);
		return exit_code(status);
	}
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

/* query's own options and its DOMAIN, read before the configuration so that --help works
 * whatever the configuration file holds. */
static const char *
query_args(struct ctl *ctl, int argc, char **argv, int *direct)
{
	for (; argc > 0 && argv[0][0] == '-'; argc--, argv++) {
		if (strcmp(argv[0], "--direct") == 0)
			*direct = 1;
		else if (strcmp(argv[0], "--json") == 0)
			ctl->json = 1;
		else if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0)
			query_usage(0);
		else
			query_usage(2);
	}
	if (argc != 1)
		query_usage(2);
	return argv[0];
}

static int
cmd_query(struct ctl *ctl, const char *key, int direct)
{
	struct socketmap_dest dest;

	if (!direct)
		return query_daemon(ctl, key);
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

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct ctl ctl;
	const char *path = CFG_DEFAULT_PATH;
	const char *origin, *key;
	int explicit_path = 0, direct = 0, opt, rc;
	char msg[600];

	memset(&ctl, 0, sizeof(ctl));
	ctl.name = "postfix";
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
	if (strcmp(argv[optind], "query") != 0) {
		fprintf(stderr, "mta-stsctl: unknown command: %s\n", argv[optind]);
		usage(2);
	}
	key = query_args(&ctl, argc - optind - 1, argv + optind + 1, &direct);
	if ((ctl.cfg = cfgfile_load(path, !explicit_path, &origin, msg, sizeof(msg))) == NULL) {
		fprintf(stderr, "mta-stsctl: %s\n", msg);
		return 2;
	}
	rc = cmd_query(&ctl, key, direct);
	cfg_unref(ctl.cfg);
	return rc;
}
