/* SPDX-License-Identifier: MIT */
/*
 * fillcache: fill an mta-stsd cache with many policies for the scale benchmark (not a test).
 *
 *   fillcache -d CACHE_DIR -n COUNT [-s SUFFIX] [-l LIST_FILE]
 *
 * Writes COUNT domains "sN.SUFFIX" (N = 1..COUNT, SUFFIX default scale.test) through the
 * project's own cache API (daemon/cache.c), as the daemon would after a discovery: each an
 * enforce policy "mx: mail.sN.SUFFIX" (max_age 86400) fetched now, with its refresh due time
 * from the built-in settings, and beside it the DNS record of its destination (MX set
 * mail.sN.SUFFIX, not DNSSEC-signed, valid for DANE_TTL_MAX), so that the daemon answers every
 * one of them from LMDB alone. Writes go in batches of BATCH records (one commit each); a
 * batch that fills the map is retried once the cache has grown it. With -l the domain names
 * are also written to LIST_FILE, one per line (for smload -f). Prints what it wrote and how
 * long it took; exit status 0, 1 on a cache failure, 2 on usage errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cfg.h"
#include "log.h"
#include "refresh.h"
#include "stspolicy.h"

#define COUNT_MAX 100000000L
#define BATCH 20000
#define TRIES 8 /* map growths one batch may need */

static void
usage(void)
{
	fprintf(stderr, "usage: fillcache -d CACHE_DIR -n COUNT [-s SUFFIX] [-l LIST_FILE]\n");
	exit(2);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The initial map size for count domains: a power of two >= 1 KiB each, >= the default. */
static size_t
map_for(long count)
{
	size_t m = CACHE_MAP_DEFAULT;

	while (m / 1024 < (size_t)count && m < ((size_t)1 << 40))
		m *= 2;
	return m;
}

/* Both records of domain i. 0, or -1 (the batch must be retried or given up). */
static int
put_one(struct cache *c, const struct refresh_params *rp, const char *suffix, long i, int64_t now)
{
	static struct cacherec rec; /* large (every mx slot): not on the stack */
	static struct danerec drec;
	struct stspolicy pol;
	char domain[DNAME_MAX + 1], text[2 * DNAME_MAX], key[CACHE_KEY_MAX + 1];
	enum stspolicy_err perr;
	int n;

	n = snprintf(domain, sizeof(domain), "s%ld.%s", i, suffix);
	if (n < 0 || (size_t)n >= sizeof(domain))
		return -1;
	n = snprintf(text, sizeof(text),
	             "version: STSv1\nmode: enforce\nmx: mail.%s\nmax_age: 86400\n", domain);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	perr = stspolicy_parse(text, (size_t)n, &pol);
	if (perr != STSPOLICY_OK) {
		fprintf(stderr, "fillcache: policy of %s: %s\n", domain, stspolicy_strerror(perr));
		return -1;
	}
	cacherec_init(&rec);
	cacherec_on_fetch_ok(&rec, &pol, "bench1", now);
	rec.queried = now;
	rec.due = refresh_due(&rec, rp, refresh_seed(domain), now);
	if (cache_put(c, domain, &rec) != 0)
		return -1;

	memset(&drec, 0, sizeof(drec));
	drec.state = DANE_INSECURE;
	drec.expires = now + DANE_TTL_MAX;
	drec.trust_ad = 0;
	drec.mx_known = 1;
	drec.n_hosts = 1;
	memcpy(drec.hosts[0], pol.mx[0], sizeof(drec.hosts[0])); /* mail.DOMAIN */
	snprintf(drec.why, sizeof(drec.why), "MX set not DNSSEC-signed (bench fill)");
	if (dane_key(domain, 0, 0, key, sizeof(key)) != 0 || cache_put_dane(c, key, &drec) != 0)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *suffix = "scale.test", *listpath = NULL;
	struct refresh_params rp;
	struct cache *c;
	struct cfg *cfg;
	FILE *list = NULL;
	char err[512], *end;
	long count = 0;
	int64_t now = (int64_t)time(NULL);
	double t0;
	int opt;

	while ((opt = getopt(argc, argv, "d:n:s:l:")) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || count < 1 || count > COUNT_MAX)
				usage();
			break;
		case 's':
			suffix = optarg;
			break;
		case 'l':
			listpath = optarg;
			break;
		default:
			usage();
		}
	}
	if (dir == NULL || count == 0 || optind != argc || strlen(suffix) > 200)
		usage();

	log_init("fillcache", 1, 0);
	cfg = cfg_parse("", err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "fillcache: built-in configuration: %s\n", err);
		return 1;
	}
	rp = refresh_params_of(cfg);
	cfg_unref(cfg);
	if (listpath != NULL && (list = fopen(listpath, "w")) == NULL) {
		fprintf(stderr, "fillcache: %s: %s\n", listpath, strerror(errno));
		return 1;
	}
	/* about 700 bytes per domain: a map that is large enough from the start (it is sparse) */
	c = cache_open(dir, 0, map_for(count), err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "fillcache: %s: %s\n", dir, err);
		return 1;
	}
	t0 = now_s();
	for (long first = 1; first <= count; first += BATCH) {
		long last = first + BATCH - 1 < count ? first + BATCH - 1 : count;
		int tries = 0, ok = 0;

		while (!ok && tries++ < TRIES) {
			long i;

			if (cache_batch_begin(c) != 0)
				break;
			for (i = first; i <= last; i++)
				if (put_one(c, &rp, suffix, i, now) != 0)
					break;
			/* nothing of a failed batch is stored: it is written again whole */
			ok = cache_batch_end(c) == 0 && i > last;
		}
		if (!ok) {
			fprintf(stderr, "fillcache: batch %ld..%ld failed\n", first, last);
			cache_close(c);
			return 1;
		}
		if (list != NULL)
			for (long i = first; i <= last; i++)
				fprintf(list, "s%ld.%s\n", i, suffix);
	}
	cache_close(c);
	if (list != NULL && fclose(list) != 0) {
		fprintf(stderr, "fillcache: writing %s failed\n", listpath);
		return 1;
	}
	printf("policies=%ld seconds=%.2f dir=%s\n", count, now_s() - t0, dir);
	return 0;
}
