/* SPDX-License-Identifier: MIT */
/*
 * mta-stsd: options, configuration, listeners, privilege drop, signals and the one event loop.
 * Effectful (E). Order matters: bind listeners (may need root) -> drop privileges -> open the
 * cache (so its files belong to the service user) -> resolver, fetcher, lookups -> serve.
 * SIGTERM/SIGINT stop cleanly; SIGHUP reopens logs and reloads: a new immutable configuration
 * is swapped in (requests and lookups in flight keep theirs); zones, txt_recheck, refresh,
 * max_connections and max_lookups apply, other [daemon] keys need a restart: each that changed
 * is named in the log and keeps its running value (cfg_keep_restart). cfgfile.c reads the file;
 * one read at start that is missing or unreadable at reload keeps the running configuration
 * (only a daemon started on the built-in text, no file at the default path, may fall back).
 */

#include <errno.h>
#include <event2/event.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "cfg.h"
#include "cfgfile.h"
#include "dnsmsg.h"
#include "fetch.h"
#include "log.h"
#include "lookup.h"
#include "resolver.h"
#include "server.h"
#include "xalloc.h"

/* ---- DNSSEC probe: does the resolver set the AD bit at all? ---- */

static void
on_ad_probe(void *arg, const uint8_t *msg, size_t len, const char *why)
{
	struct resolver_query **slot = arg;
	struct dnsmsg m;

	*slot = NULL;
	if (msg == NULL || dnsmsg_parse(msg, len, &m) != DNSMSG_OK || m.rcode != 0) {
		log_warn("stage=dnssec-probe query=\". SOA\" err=\"%s\" note=\"dnssec = yes: DANE "
		         "needs a validating resolver; no answer to the probe\"",
		         msg == NULL ? why : "bad or failed answer");
		return;
	}
	if (m.ad)
		log_info("stage=dnssec-probe query=\". SOA\" result=validated note=\"the resolver "
		         "sets the AD bit\"");
	else
		log_warn("stage=dnssec-probe query=\". SOA\" result=no-ad-bit note=\"dnssec = yes, "
		         "but the resolver does not validate: no destination will be found to have "
		         "DANE. Use a validating resolver on loopback (as Postfix's "
		         "smtp_dns_support_level = dnssec needs) or set dnssec = no\"");
}

/* Warn about a dns_servers entry that is not on loopback: its AD bit crosses a network. */
static void
check_dns_servers(const struct cfg *cfg)
{
	const char *p = cfg->dns_servers;

	if (!cfg->dnssec || p == NULL)
		return;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (!(n >= 4 && strncmp(p, "127.", 4) == 0) &&
		    !(n >= 3 && strncmp(p, "::1", 3) == 0) &&
		    !(n >= 5 && strncmp(p, "[::1]", 5) == 0))
			log_warn(
			    "stage=config dns_server=%.*s note=\"dnssec = yes trusts the AD bit of "
			    "this resolver; off loopback it can be forged in transit\"",
			    (int)n, p);
		p += n + (p[n] == ',');
	}
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: mta-stsd [-c FILE] [-f] [-t] [-v] [-V]\n"
	        "  -c FILE  configuration (default %s; built-in defaults if absent)\n"
	        "  -f       stay in the foreground, log to stderr\n"
	        "  -t       check the configuration and exit\n"
	        "  -v       debug logging (all categories)\n"
	        "  -V       print the version and exit\n",
	        CFG_DEFAULT_PATH);
	exit(2);
}

static int
drop_privileges(const char *user, char *err, size_t errsz)
{
	struct passwd *pw;

	if (user == NULL || *user == '\0')
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errsz, "user %s: no such user", user);
		return -1;
	}
	if (getuid() == pw->pw_uid)
		return 0;
	if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		snprintf(err, errsz, "user %s: cannot switch: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errsz, "user %s: privileges could be regained", user);
		return -1;
	}
	return 0;
}

struct daemon {
	struct event_base *base;
	struct cfg *cfg; /* the running configuration (a reference) */
	struct server *srv;
	const char *path;
	int builtin; /* running on the built-in text (no file at the default path): a file that
	              * appears later may be loaded; once a file was read, it must stay */
};

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	log_info("event=stop signal=%d", (int)sig);
	event_base_loopexit(d->base, NULL);
}

static void
on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct cfg *fresh;
	const char *origin = NULL, *changed[CFG_KEYS_MAX];
	char err[600];
	size_t n;

	(void)sig;
	(void)what;
	log_reopen();
	/* A file read at start (or at an earlier reload) that is now missing is an error, not a
	 * silent return to the built-in defaults: the running configuration stays. */
	if ((fresh = cfgfile_load(d->path, d->builtin, &origin, err, sizeof(err))) == NULL) {
		log_err("event=reload result=rejected err=\"%s\" action=keep-running-config", err);
		return;
	}
	/* What only a restart can apply keeps its running value, so the new object describes
	 * what actually runs (and the next reload names the key again). */
	n = cfg_keep_restart(fresh, d->cfg, changed, CFG_KEYS_MAX);
	for (size_t i = 0; i < n; i++)
		log_warn("event=reload key=%s note=\"changed; takes effect on restart\"",
		         changed[i]);
	/* Swap: requests and lookups in flight keep the configuration they started with. */
	server_set_cfg(d->srv, fresh);
	cfg_unref(d->cfg);
	d->cfg = fresh;
	d->builtin = origin == cfgfile_builtin_origin;
	log_info("event=reload result=ok source=\"%s\" zones=%u", origin, fresh->n_zones);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	const char *origin = NULL;
	int foreground = 0, check = 0, verbose = 0, opt, rc = 1;
	char err[600];
	struct cache *cache = NULL;
	struct resolver *res = NULL;
	struct resolver_query *probe = NULL;
	struct fetcher *fetch = NULL;
	struct lookups *ls = NULL;
	struct event *sig_term = NULL, *sig_int = NULL, *sig_hup = NULL;

	memset(&d, 0, sizeof(d));
	d.path = CFG_DEFAULT_PATH;
	d.builtin = 1; /* no -c: the built-in text stands in for a missing default file */
	while ((opt = getopt(argc, argv, "c:ftvV")) != -1) {
		switch (opt) {
		case 'c':
			d.path = optarg;
			d.builtin = 0;
			break;
		case 'f':
			foreground = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("mta-stsd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if ((d.cfg = cfgfile_load(d.path, d.builtin, &origin, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mta-stsd: %s\n", err);
		return 1;
	}
	d.builtin = origin == cfgfile_builtin_origin;
	if (check) {
		printf("mta-stsd: configuration OK (%s): %u listener(s), %u zone section(s)\n",
		       origin, d.cfg->n_listen, d.cfg->n_zones);
		cfg_unref(d.cfg);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	log_init("mta-stsd", foreground, verbose ? ~0u : 0);
	d.base = event_base_new();
	INVARIANT(d.base != NULL);
	if ((d.srv = server_new(d.base, d.cfg, err, sizeof(err))) == NULL ||
	    drop_privileges(d.cfg->user, err, sizeof(err)) != 0 ||
	    (cache = cache_open(d.cfg->cache_dir, 0, CACHE_MAP_DEFAULT, err, sizeof(err))) ==
	        NULL ||
	    (res = resolver_new(d.base, d.cfg->dns_servers, d.cfg->dns_timeout, err,
	                        sizeof(err))) == NULL ||
	    (fetch = fetch_new(d.base, d.cfg->ca_file, d.cfg->fetch_timeout, err, sizeof(err))) ==
	        NULL) {
		fprintf(stderr, "mta-stsd: %s\n", err);
		log_err("event=start result=failed err=\"%s\"", err);
		goto out;
	}
	if (!foreground) {
		if (daemon(0, 0) != 0) {
			fprintf(stderr, "mta-stsd: daemon: %s\n", strerror(errno));
			goto out;
		}
		/* libevent's backend (epoll) survives fork only after reinit. */
		event_reinit(d.base);
	}
	ls = lookups_new(d.base, res, fetch, cache);
	server_start(d.srv, ls);
	sig_term = evsignal_new(d.base, SIGTERM, on_stop, &d);
	sig_int = evsignal_new(d.base, SIGINT, on_stop, &d);
	sig_hup = evsignal_new(d.base, SIGHUP, on_reload, &d);
	INVARIANT(sig_term && sig_int && sig_hup);
	evsignal_add(sig_term, NULL);
	evsignal_add(sig_int, NULL);
	evsignal_add(sig_hup, NULL);
	log_info("event=start version=%s config=\"%s\" listeners=%u cache_dir=%s dns_servers=%s",
	         PACKAGE_VERSION, origin, d.cfg->n_listen, d.cfg->cache_dir,
	         d.cfg->dns_servers ? d.cfg->dns_servers : "resolv.conf");
	if (d.cfg->dnssec) {
		check_dns_servers(d.cfg);
		probe = resolver_raw_start(res, "", DNSMSG_SOA, on_ad_probe, &probe);
	}
	event_base_dispatch(d.base);
	rc = 0;
out:
	resolver_cancel(probe);
	server_free(d.srv); /* cancels waiters before the lookups go */
	lookups_free(ls);
	fetch_free(fetch);
	resolver_free(res);
	cache_close(cache);
	if (sig_term)
		event_free(sig_term);
	if (sig_int)
		event_free(sig_int);
	if (sig_hup)
		event_free(sig_hup);
	event_base_free(d.base);
	cfg_unref(d.cfg);
	return rc;
}
