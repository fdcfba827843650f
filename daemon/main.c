/* SPDX-License-Identifier: MIT */
/*
 * mta-stsd: options, configuration, daemon mode, listeners, privilege drop, signals, the loop.
 * Effectful (E). Order matters: read the configuration -> detach (without -f: fork with a pipe;
 * the invoking command waits for "ready" or the start-up error and exits 0 or 1; the child
 * takes a new session, "/" and /dev/null) -> bind listeners (may need root) -> open the -p pid
 * file -> drop privileges -> check cache_dir, ca_file, socket_group as the service user
 * (envcheck.c, also behind -t) -> open the cache (its files belong to that user) -> resolver,
 * fetcher, lookups, the fleet's shared cache if set (its password file is read before the
 * drop; its connections open in the background) -> write the pid -> report ready -> serve. Root
 * without `user`: one warning. Nothing is opened before the fork: LMDB forbids using an environment
 * across fork(). SIGTERM/SIGINT stop cleanly (the pid file is removed). SIGHUP reopens logs and
 * reloads: a new immutable configuration is swapped in (work in flight keeps its own); [daemon]
 * keys only a restart applies keep their running value, each change logged (cfg_keep_restart). A
 * file read at start that is missing at reload keeps the running configuration (only a daemon
 * started on the built-in text may load a file that appears).
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache.h"
#include "cfg.h"
#include "cfgfile.h"
#include "dnsmsg.h"
#include "envcheck.h"
#include "fetch.h"
#include "log.h"
#include "lookup.h"
#include "metrics.h"
#include "metrics_http.h"
#include "resolver.h"
#include "scheduler.h"
#include "server.h"
#include "shared.h"
#include "sysd.h"
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

/* -h/--help: on stdout, exit 0; a usage error: on stderr, exit 2. */
static _Noreturn void
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	        "usage: mta-stsd [-c FILE] [-f] [-p FILE] [-t] [-v] [-V] [-h]\n"
	        "  -c FILE     configuration (default %s; built-in defaults if absent)\n"
	        "  -f          stay in the foreground, log to stderr\n"
	        "  -p FILE     write the pid to FILE once ready; removed at exit\n"
	        "  -t          check the configuration and exit\n"
	        "  -v          debug logging (all categories)\n"
	        "  -V          print the version and exit\n"
	        "  -h, --help  print this text and exit; see mta-stsd(8), mta-stsd.conf(5)\n",
	        CFG_DEFAULT_PATH);
	exit(status);
}

/* path made absolute against the current directory (the detached daemon works in "/");
 * caller frees. Symlinks are left alone: a reload follows them anew. */
static char *
abs_path(const char *path)
{
	char cwd[4096];
	size_t n;
	char *out;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrndup(path, strlen(path));
	n = strlen(cwd) + 1 + strlen(path) + 1;
	out = xmalloc(n);
	INVARIANT(snprintf(out, n, "%s/%s", cwd, path) == (int)(n - 1));
	return out;
}

/* ---- daemon mode ---- */

/*
 * Detach before anything is opened (LMDB forbids using an environment across fork(); POSIX
 * locks, LMDB's among them, are not inherited), yet let start-up errors reach the invoking
 * shell: fork with a pipe. The parent waits for one word from the child, "+" once ready or
 * "-message" on failure, and returns the exit status (prints the message); the child returns
 * -1 with *notify the pipe's write end, in a new session, in "/", stdio on /dev/null.
 */
static int
detach(int *notify)
{
	int fds[2], fd;
	pid_t pid;
	char msg[1024];
	size_t have = 0;

	/* close-on-exec: nothing we start later (none today) may hold the parent waiting */
	if (pipe2(fds, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		fprintf(stderr, "mta-stsd: cannot detach: %s\n", strerror(errno));
		return 1;
	}
	if (pid > 0) {
		int st = 0;
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL); /* the waiting command stays interruptible */
		close(fds[1]);
		for (;;) {
			ssize_t r = read(fds[0], msg + have, sizeof(msg) - 1 - have);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			have += (size_t)r;
			if (have == sizeof(msg) - 1)
				break;
		}
		close(fds[0]);
		msg[have] = '\0';
		if (have > 0 && msg[0] == '+')
			return 0;
		/* The child exits right after reporting; reap it. */
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (have > 1 && msg[0] == '-')
			fprintf(stderr, "mta-stsd: %s\n", msg + 1);
		else if (WIFSIGNALED(st))
			fprintf(stderr, "mta-stsd: died during start-up (signal %d)\n",
			        WTERMSIG(st));
		else
			fprintf(stderr, "mta-stsd: exited during start-up (status %d)\n",
			        WEXITSTATUS(st));
		return 1;
	}
	close(fds[0]);
	(void)setsid(); /* cannot fail: the child of a fork is no group leader */
	if (chdir("/") != 0 || (fd = open("/dev/null", O_RDWR)) < 0 || dup2(fd, 0) < 0 ||
	    dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
		char line[256];
		int n = snprintf(line, sizeof(line), "-detach: %s", strerror(errno));

		(void)!write(fds[1], line, n > 0 ? (size_t)n : 0);
		_exit(1);
	}
	if (fd > 2)
		close(fd);
	*notify = fds[1];
	return -1;
}

/* Tell the invoking shell (through the detach pipe) that we serve, or why we could not start;
 * foreground: errors go to stderr. */
static void
report(int *notify, const char *err)
{
	if (err != NULL) {
		log_err("event=start result=failed err=\"%s\"", err);
		sysd_notify_status(err);
		if (*notify < 0)
			fprintf(stderr, "mta-stsd: %s\n", err);
	} else {
		sysd_notify(SYSD_READY); /* listeners bound, cache open */
	}
	if (*notify >= 0) {
		char line[1024];
		int n = err != NULL ? snprintf(line, sizeof(line), "-%s", err)
		                    : snprintf(line, sizeof(line), "+");

		if (n > (int)sizeof(line) - 1)
			n = (int)sizeof(line) - 1;
		/* The parent may be gone (killed): nothing to do about it, SIGPIPE is ignored. */
		(void)!write(*notify, line, n > 0 ? (size_t)n : 0);
		close(*notify);
		*notify = -1;
	}
}

/* ---- pid file ---- */

/* Open (create) the pid file while we may still write its directory: before dropping
 * privileges, after binding (an instance that cannot bind must leave a running one's pid file
 * alone, hence no O_TRUNC until we are ready). *created: we made it (remove it on failure). */
static int
pidfile_open(const char *path, int *created, char *err, size_t errsz)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);

	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		snprintf(err, errsz, "pid file %s: %s", path, strerror(errno));
	return fd;
}

static int
pidfile_write(int fd, const char *path, char *err, size_t errsz)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) {
		snprintf(err, errsz, "pid file %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* At exit: remove it; a service user that may not write the directory empties it instead, so
 * no stale pid is left to signal. */
static void
pidfile_remove(int fd, const char *path)
{
	if (unlink(path) != 0) {
		log_warn("event=stop pid_file=%s err=\"%s\" action=emptied", path, strerror(errno));
		(void)!ftruncate(fd, 0);
	}
	close(fd);
}

/* A start-up step whose message names a [daemon] key: prefix the configuration's origin, as
 * parse errors are ("PATH: [daemon] KEY: ..."). Returns rc. */
static int
cfg_step(const char *origin, int rc, char *err, size_t errsz)
{
	char msg[600];

	/* A message cut to the buffer is still the message, ending early. */
	if (rc != 0 && snprintf(msg, sizeof(msg), "%s: %s", origin, err) >= 0)
		snprintf(err, errsz, "%s", msg);
	return rc;
}

#define ROOT_NOTE                                                                                  \
	"running as root: no [daemon] user is set, so the daemon keeps root although nothing "     \
	"needs it once listening; set user = mta-stsd (a system user owning cache_dir)"

/* Root, and the configuration names no user to become. */
static int
root_without_user(const struct cfg *cfg)
{
	return geteuid() == 0 && (cfg->user == NULL || cfg->user[0] == '\0');
}

struct daemon {
	struct event_base *base;
	struct cfg *cfg; /* the running configuration (a reference) */
	struct server *srv;
	struct scheduler *sched; /* proactive refresh, once the cache is open */
	struct cache *cache;
	struct metrics *met; /* NULL without [daemon] metrics */
	struct lookups *ls;
	struct fetcher *fetch;
	const char *path;
	int builtin; /* running on the built-in text (no file at the default path): a file that
	              * appears later may be loaded; once a file was read, it must stay */
};

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	sysd_notify(SYSD_STOPPING);
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
	sysd_notify(SYSD_RELOADING); /* READY=1 again once done, whatever the outcome */
	log_reopen();
	fetch_reload_anchors(d->fetch); /* the CA bundle may have changed (ca-certificates) */
	/* A file read at start (or at an earlier reload) that is now missing is an error, not a
	 * silent return to the built-in defaults: the running configuration stays. */
	if ((fresh = cfgfile_load(d->path, d->builtin, &origin, err, sizeof(err))) == NULL) {
		log_err("event=reload result=rejected err=\"%s\" action=keep-running-config", err);
		sysd_notify(SYSD_READY);
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
	if (d->sched != NULL)
		scheduler_set_cfg(d->sched, fresh);
	cfg_unref(d->cfg);
	d->cfg = fresh;
	d->builtin = origin == cfgfile_builtin_origin;
	log_info("event=reload result=ok source=\"%s\" zones=%u", origin, fresh->n_zones);
	sysd_notify(SYSD_READY);
}

/* Another node announced a record: into LMDB under the merge rule, by the running settings. */
static void
on_shared_record(void *arg, const char *domain, const struct cacherec *rec)
{
	struct daemon *d = arg;

	(void)lookups_shared_apply(d->ls, d->cfg, domain, rec);
}

_Static_assert(CACHE_KIND_N == METRICS_DOMAIN_KINDS, "one gauge series per cache kind");

/* Before a scrape: the cache's counts of domains by policy mode (kept by every write). */
static void
on_scrape(void *arg)
{
	struct daemon *d = arg;
	uint64_t n[CACHE_KIND_N];

	d->met->domains_known = cache_counts(d->cache, n) == 0;
	for (unsigned i = 0; d->met->domains_known && i < METRICS_DOMAIN_KINDS; i++)
		d->met->domains[i] = n[i];
}

static void
shared_files_free(struct shared_secret *secret, struct shared_fleet_key *key)
{
	if (secret != NULL) {
		explicit_bzero(secret, sizeof(*secret));
		free(secret);
	}
	if (key != NULL) {
		explicit_bzero(key, sizeof(*key));
		free(key);
	}
}

/* The shared cache's secrets: the Redis password file and the fleet key file, each read when
 * set (cfg.c makes the key file a must with shared_cache), by the starting user before any
 * privilege drop, at start and by -t alike. 0, or -1 with err set and nothing allocated. */
static int
shared_files_read(const struct cfg *cfg, struct shared_secret **secret,
                  struct shared_fleet_key **key, char *err, size_t errsz)
{
	struct shared_secret *s = NULL;
	struct shared_fleet_key *k = NULL;

	/* Without the fleet key anyone who can write to Redis could hand every node a policy
	 * (a downgrade of an enforced one): values are authenticated, so the key is a must. */
	if (cfg->shared_cache != NULL && cfg->shared_cache_key_file == NULL) {
		(void)snprintf(err, errsz,
		               "[daemon] shared_cache needs shared_cache_key_file: a file with the "
		               "fleet's secret key (at least %d bytes, the same on every node, not "
		               "the Redis password) that authenticates every value in Redis",
		               SHARED_FLEET_KEY_MIN);
		return -1;
	}
	if (cfg->shared_cache_password_file != NULL) {
		s = xcalloc(1, sizeof(*s));
		if (shared_secret_read(cfg->shared_cache_password_file, s, err, errsz) != 0)
			goto fail;
	}
	if (cfg->shared_cache_key_file != NULL) {
		k = xcalloc(1, sizeof(*k));
		if (shared_fleet_key_read(cfg->shared_cache_key_file, k, err, errsz) != 0 ||
		    shared_fleet_key_check(k, s, err, errsz) != 0)
			goto fail;
	}
	*secret = s;
	*key = k;
	return 0;
fail:
	shared_files_free(s, k);
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option long_opts[] = {{"help", no_argument, NULL, 'h'},
	                                          {NULL, 0, NULL, 0}};
	struct daemon d;
	const char *origin = NULL;
	int foreground = 0, check = 0, verbose = 0, opt, rc = 1, notify = -1, pid_fd = -1;
	int pid_created = 0;
	char err[600], *pid_path = NULL, *path = NULL;
	struct cache *cache = NULL;
	struct resolver *res = NULL;
	struct resolver_query *probe = NULL;
	struct fetcher *fetch = NULL;
	struct lookups *ls = NULL;
	struct metrics *met = NULL; /* [daemon] metrics set: the counters and their endpoint */
	struct metrics_http *mhttp = NULL;
	struct shared *shared = NULL;
	struct shared_secret *secret = NULL;
	struct shared_fleet_key *fkey = NULL;
	struct event *sig_term = NULL, *sig_int = NULL, *sig_hup = NULL;
	int passed[CFG_LISTEN_MAX], n_passed;
	sigset_t held;

	memset(&d, 0, sizeof(d));
	d.path = CFG_DEFAULT_PATH;
	d.builtin = 1; /* no -c: the built-in text stands in for a missing default file */
	while ((opt = getopt_long(argc, argv, "c:fhp:tvV", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.path = optarg;
			d.builtin = 0;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'p':
			pid_path = optarg;
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
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	/* The default action of SIGHUP, SIGTERM and SIGINT ends the process: until libevent's
	 * handlers are in place (just before serving) hold them blocked, so a reload or a stop
	 * asked during start-up (once the listeners accept, say) runs once we serve instead of
	 * killing us. (systemd sends no reload before READY=1.) */
	sigemptyset(&held);
	sigaddset(&held, SIGHUP);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGINT);
	sigprocmask(SIG_BLOCK, &held, NULL);
	/* The detached daemon works in "/": relative names are taken from where it started. */
	d.path = path = abs_path(d.path);
	if (pid_path != NULL)
		pid_path = abs_path(pid_path);
	if ((d.cfg = cfgfile_load(d.path, d.builtin, &origin, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mta-stsd: %s\n", err);
		goto out;
	}
	d.builtin = origin == cfgfile_builtin_origin;
	if (check) {
		/* What the file asks of this machine, as the service user will see it. */
		if (envcheck_config(d.cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "mta-stsd: %s: %s\n", origin, err);
			goto out;
		}
		/* Read as at start: by the starting user, before any privilege drop. */
		if (shared_files_read(d.cfg, &secret, &fkey, err, sizeof(err)) != 0) {
			fprintf(stderr, "mta-stsd: %s: %s\n", origin, err);
			goto out;
		}
		if (root_without_user(d.cfg))
			fprintf(stderr, "mta-stsd: %s: warning: %s\n", origin, ROOT_NOTE);
		printf("mta-stsd: configuration OK (%s): %u listener(s), %u zone section(s)\n",
		       origin, d.cfg->n_listen, d.cfg->n_zones);
		rc = 0;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Socket activation: LISTEN_PID names this process, so take the sockets before the fork
	 * (the detached child inherits the descriptors). */
	if ((n_passed = sysd_listen_fds(passed, CFG_LISTEN_MAX, err, sizeof(err))) < 0) {
		fprintf(stderr, "mta-stsd: %s\n", err);
		goto out;
	}
	/* Nothing else is open yet: the event base, listeners, cache (LMDB), resolver and fetcher
	 * are all made after the fork, in the process that uses them. */
	if (!foreground && (rc = detach(&notify)) >= 0)
		goto out; /* the parent: the child has reported */
	rc = 1;
	log_init("mta-stsd", foreground, verbose ? ~0u : 0);
	d.base = event_base_new();
	INVARIANT(d.base != NULL);
	if (d.cfg->metrics != NULL)
		met = metrics_new((int64_t)time(NULL), PACKAGE_VERSION);
	if ((d.srv = server_new(d.base, d.cfg, passed, (unsigned)n_passed, err, sizeof(err))) ==
	        NULL ||
	    (met != NULL &&
	     (mhttp = metrics_http_new(d.base, d.cfg->metrics, met, err, sizeof(err))) == NULL) ||
	    (pid_path != NULL &&
	     (pid_fd = pidfile_open(pid_path, &pid_created, err, sizeof(err))) < 0) ||
	    shared_files_read(d.cfg, &secret, &fkey, err, sizeof(err)) != 0 ||
	    cfg_step(origin, envcheck_drop_privileges(d.cfg->user, err, sizeof(err)), err,
	             sizeof(err)) != 0 ||
	    cfg_step(origin, envcheck_files(d.cfg, err, sizeof(err)), err, sizeof(err)) != 0 ||
	    (cache = cache_open(d.cfg->cache_dir, 0, cache_map_bytes(d.cfg->cache_map_mb), err,
	                        sizeof(err))) == NULL ||
	    (res = resolver_new(d.base, d.cfg->dns_servers, d.cfg->dns_timeout, err,
	                        sizeof(err))) == NULL ||
	    (fetch = fetch_new(d.base, d.cfg->ca_file, d.cfg->fetch_timeout, err, sizeof(err))) ==
	        NULL ||
	    (d.cfg->shared_cache != NULL &&
	     (shared = shared_new(d.base, d.cfg, secret, fkey, met, err, sizeof(err))) == NULL)) {
		report(&notify, err);
		goto out;
	}
	ls = lookups_new(d.base, res, fetch, cache);
	lookups_set_metrics(ls, met);
	lookups_set_shared(ls, shared);
	if (shared != NULL)
		shared_on_record(shared, on_shared_record, &d);
	d.ls = ls;
	d.fetch = fetch;
	d.cache = cache;
	d.met = met;
	if (mhttp != NULL)
		metrics_http_on_scrape(mhttp, on_scrape, &d);
	d.sched = scheduler_new(d.base, res, fetch, cache, d.cfg, met);
	scheduler_set_shared(d.sched, shared);
	server_start(d.srv, ls, met);
	sig_term = evsignal_new(d.base, SIGTERM, on_stop, &d);
	sig_int = evsignal_new(d.base, SIGINT, on_stop, &d);
	sig_hup = evsignal_new(d.base, SIGHUP, on_reload, &d);
	INVARIANT(sig_term && sig_int && sig_hup);
	evsignal_add(sig_term, NULL);
	evsignal_add(sig_int, NULL);
	evsignal_add(sig_hup, NULL);
	sigprocmask(SIG_UNBLOCK, &held, NULL); /* a signal held since start-up is handled now */
	if (pid_fd >= 0 && pidfile_write(pid_fd, pid_path, err, sizeof(err)) != 0) {
		report(&notify, err);
		goto out;
	}
	/* Before the event=start line, which stays the last line of a start. */
	if (root_without_user(d.cfg))
		log_warn("event=start user=root note=\"%s\"", ROOT_NOTE);
	log_info("event=start version=%s config=\"%s\" listeners=%u cache_dir=%s dns_servers=%s "
	         "shared_cache=%s",
	         PACKAGE_VERSION, origin, d.cfg->n_listen, d.cfg->cache_dir,
	         d.cfg->dns_servers ? d.cfg->dns_servers : "resolv.conf",
	         d.cfg->shared_cache ? d.cfg->shared_cache : "none");
	if (d.cfg->dnssec) {
		check_dns_servers(d.cfg);
		probe = resolver_raw_start(res, "", DNSMSG_SOA, on_ad_probe, &probe);
	}
	report(&notify, NULL); /* ready: the invoking command exits 0, systemd gets READY=1 */
	event_base_dispatch(d.base);
	rc = 0;
out:
	resolver_cancel(probe);
	metrics_http_free(mhttp);
	server_free(d.srv); /* cancels waiters before the lookups go */
	scheduler_free(d.sched);
	lookups_free(ls);
	shared_free(shared); /* after the discoveries, which cancelled their reads */
	shared_files_free(secret, fkey);
	fetch_free(fetch);
	resolver_free(res);
	cache_close(cache);
	metrics_free(met);
	if (sig_term)
		event_free(sig_term);
	if (sig_int)
		event_free(sig_int);
	if (sig_hup)
		event_free(sig_hup);
	if (d.base != NULL)
		event_base_free(d.base);
	if (pid_fd >= 0) {
		if (rc == 0 || pid_created)
			pidfile_remove(pid_fd, pid_path);
		else
			close(pid_fd);
	}
	cfg_unref(d.cfg);
	free(pid_path);
	free(path);
	return rc;
}
