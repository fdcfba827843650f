/* SPDX-License-Identifier: MIT */
/*
 * Tests of cache.c against a real LMDB environment in a temporary directory (an effectful
 * module, so this binary links LMDB): records round-trip, survive close and reopen, a full map
 * grows instead of failing, and a damaged record reads as a miss, never as a policy.
 */
#include <fcntl.h>
#include <lmdb.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "log.h"
#include "refresh.h"

#define SMALL_MAP (256 * 1024)
#define N_RECORDS 300 /* ~16 KiB each with 64 long mx patterns: ~5 MiB, far over SMALL_MAP */

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mta-stsd-cache-test.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	log_init("test_cache", 1, 0);
	return 0;
}

static int
teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void
make_record(struct cacherec *r, unsigned i)
{
	cacherec_init(r);
	r->has_policy = 1;
	r->policy.mode = STSPOLICY_MODE_ENFORCE;
	r->policy.max_age = 86400;
	r->policy.n_mx = STSPOLICY_MAX_MX;
	for (unsigned m = 0; m < STSPOLICY_MAX_MX; m++) {
		char *p = r->policy.mx[m];
		int n = snprintf(p, DNAME_MAX + 1, "*.mx%u-%u.", m, i);
		/* pad to a long but valid name: labels of 60 'a' */
		while (n + 61 < DNAME_MAX - 8) {
			memset(p + n, 'a', 60);
			p[n + 60] = '.';
			n += 61;
		}
		memcpy(p + n, "example", 8);
	}
	snprintf(r->id, sizeof(r->id), "id%u", i);
	r->fetched = 1000 + i;
	r->expires = r->fetched + 86400;
	r->checked = r->fetched;
}

/* Lines of the file at path that contain every one of the two strings. */
static int
count_lines(const char *path, const char *a, const char *b)
{
	char line[4096];
	int n = 0;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, a) != NULL && strstr(line, b) != NULL;
	fclose(f);
	return n;
}

/* Send the log (stderr) to a new file at path; returns the saved descriptor for
 * capture_end(). */
static int
capture_begin(const char *path)
{
	int saved, fd;

	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	return saved;
}

static void
capture_end(int saved)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

static void
test_grow_and_reopen(void **state)
{
	static struct cacherec r, got;
	char err[256], domain[64];
	struct cache *c;

	(void)state;
	c = cache_open(dir, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(cache_get(c, "absent.example", &got), CACHE_MISS);
	for (unsigned i = 0; i < N_RECORDS; i++) {
		make_record(&r, i);
		snprintf(domain, sizeof(domain), "d%u.example", i);
		assert_int_equal(cache_put(c, domain, &r), 0);
	}
	cache_close(c);

	/* Reopen with the small initial size: the grown file's size wins; every record is there. */
	c = cache_open(dir, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	for (unsigned i = 0; i < N_RECORDS; i++) {
		make_record(&r, i);
		snprintf(domain, sizeof(domain), "d%u.example", i);
		assert_int_equal(cache_get(c, domain, &got), CACHE_HIT);
		assert_string_equal(got.id, r.id);
		assert_int_equal(got.expires, r.expires);
		assert_string_equal(got.policy.mx[63], r.policy.mx[63]);
	}
	/* The map keeps the size it had grown to: the next write finds room, no map full and no
	 * growth again (LMDB would take the initial size raised to the data only, a full map). */
	{
		char logpath[96];
		int saved;

		snprintf(logpath, sizeof(logpath), "%s.log", dir);
		saved = capture_begin(logpath);
		make_record(&r, N_RECORDS);
		assert_int_equal(cache_put(c, "one-more.example", &r), 0);
		capture_end(saved);
		assert_int_equal(count_lines(logpath, "op=grow", ""), 0);
		unlink(logpath);
	}
	assert_int_equal(cache_del(c, "one-more.example"), 1);
	assert_int_equal(cache_del(c, "d0.example"), 1);
	assert_int_equal(cache_del(c, "d0.example"), 0);
	assert_int_equal(cache_get(c, "d0.example", &got), CACHE_MISS);
	cache_close(c);
}

static void
test_damaged_record_is_a_miss(void **state)
{
	static struct cacherec got;
	char err[256];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {strlen("bad.example"), "bad.example"}, v = {5, "\x01xxxx"};
	struct cache *c;

	(void)state;
	/* Write garbage under a domain behind the module's back. */
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 64UL << 20), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	c = cache_open(dir, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(cache_get(c, "bad.example", &got), CACHE_MISS);
	assert_int_equal(got.has_policy, 0);
	assert_int_equal(cache_get(c, "d1.example", &got), CACHE_HIT);
	cache_close(c);
}

static int
count_walk(void *arg, const char *domain, const struct cacherec *rec, const struct danerec *dns)
{
	(void)rec;
	(void)dns;
	assert_null(strchr(domain, '/')); /* DANE records are not MTA-STS records */
	(*(unsigned *)arg)++;
	return 0;
}

struct due_seen {
	unsigned n;
	char names[8][32];
	int64_t dues[8];
};

static int
collect_due(void *arg, const char *domain, int64_t due)
{
	struct due_seen *s = arg;

	assert_true(s->n < 8);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", domain);
	s->dues[s->n++] = due;
	return 0;
}

/* DANE records live beside the MTA-STS ones: they round-trip, survive reopening, never
 * show up in the MTA-STS walk, and an MTA-STS record is never read as one (or back). */
static void
test_dane_records(void **state)
{
	static struct danerec d, got;
	static struct cacherec rec;
	unsigned before = 0, after = 0;
	struct due_seen seen;
	int64_t next = 0;
	char err[256];
	struct cache *c;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.state = DANE_ALL;
	d.expires = 1800000000;
	d.trust_ad = 1;
	d.mx_known = 1;
	d.n_hosts = 1;
	d.n_tlsa = 1;
	snprintf(d.hosts[0], sizeof(d.hosts[0]), "mx.d1.example");
	snprintf(d.why, sizeof(d.why), "1 of 1 MX hosts have usable TLSA records");
	c = cache_open(dir, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(cache_walk(c, count_walk, &before), 0);
	assert_int_equal(cache_put_dane(c, "dane/d1.example", &d), 0);
	assert_int_equal(cache_put_dane(c, "dane/[mx.d1.example]:587", &d), 0);
	cache_close(c);
	c = cache_open(dir, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(cache_get_dane(c, "dane/d1.example", &got), CACHE_HIT);
	assert_memory_equal(&got, &d, sizeof(d));
	assert_int_equal(cache_get_dane(c, "dane/[mx.d1.example]:587", &got), CACHE_HIT);
	assert_int_equal(cache_get_dane(c, "dane/d2.example", &got), CACHE_MISS);
	assert_int_equal(cache_walk(c, count_walk, &after), 0);
	assert_int_equal(after, before);
	/* Crossed reads are misses, never a wrong record. */
	assert_int_equal(cache_get_dane(c, "d1.example", &got), CACHE_MISS);
	assert_int_equal(cache_get(c, "dane/d1.example", &rec), CACHE_MISS);
	/* Both are indexed for deletion REFRESH_DNS_KEEP after they expire; a rewrite moves the
	 * entry, a delete removes it. */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(cache_due(c, INT64_MAX, 8, collect_due, &seen, &next), 0);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.dues[0], 1800000000 + REFRESH_DNS_KEEP);
	assert_int_equal(seen.dues[1], 1800000000 + REFRESH_DNS_KEEP);
	d.expires = 1700000000;
	assert_int_equal(cache_put_dane(c, "dane/d1.example", &d), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(cache_due(c, INT64_MAX, 8, collect_due, &seen, &next), 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.names[0], "dane/d1.example");
	assert_int_equal(seen.dues[0], 1700000000 + REFRESH_DNS_KEEP);
	assert_int_equal(cache_del(c, "dane/d1.example"), 1);
	assert_int_equal(cache_get_dane(c, "dane/d1.example", &got), CACHE_MISS);
	assert_int_equal(cache_del(c, "dane/[mx.d1.example]:587"), 1);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(cache_due(c, INT64_MAX, 8, collect_due, &seen, &next), 0);
	assert_int_equal(seen.n, 0);
	cache_close(c);
}

static void
put_due(struct cache *c, const char *domain, int64_t due)
{
	static struct cacherec r;

	make_record(&r, 1);
	r.due = due;
	assert_int_equal(cache_put(c, domain, &r), 0);
}

/* The index of due times: in time order, bounded by until and max, one entry per record
 * (a rewrite moves it, a delete removes it), kept across reopening, invisible to the walk. */
static void
test_due_index(void **state)
{
	struct due_seen s;
	int64_t next = -1;
	unsigned before = 0, records = 0;
	char err[256];
	struct cache *c;

	(void)state;
	c = cache_open(dir, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(cache_walk(c, count_walk, &before), 0); /* earlier tests' records */
	put_due(c, "a.example", 300);
	put_due(c, "b.example", 100);
	put_due(c, "c.example", 200);
	put_due(c, "d.example", 0); /* not scheduled */
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_due(c, 150, 10, collect_due, &s, &next), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], "b.example");
	assert_int_equal(s.dues[0], 100);
	assert_int_equal(next, 200);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_due(c, 1000, 10, collect_due, &s, &next), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.names[1], "c.example");
	assert_string_equal(s.names[2], "a.example");
	assert_int_equal(next, 0);
	/* max stops early and says what comes next */
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_due(c, 1000, 2, collect_due, &s, &next), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(next, 300);
	/* a rewrite moves the entry; due 0 removes it; a delete removes it */
	put_due(c, "a.example", 50);
	put_due(c, "c.example", 0);
	assert_int_equal(cache_del(c, "b.example"), 1);
	cache_close(c);
	c = cache_open(dir, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_due(c, 1000, 10, collect_due, &s, &next), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], "a.example");
	assert_int_equal(s.dues[0], 50);
	/* the walk sees the three records left, not the index */
	assert_int_equal(cache_walk(c, count_walk, &records), 0);
	assert_int_equal(records, before + 3);
	/* a stale entry is removed on its own; the record stays */
	assert_int_equal(cache_unindex(c, 50, "a.example"), 1);
	assert_int_equal(cache_unindex(c, 50, "a.example"), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_due(c, 1000, 10, collect_due, &s, &next), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(next, 0);
	for (const char *const *d =
	         (const char *const[]){"a.example", "c.example", "d.example", NULL};
	     *d != NULL; d++)
		assert_int_equal(cache_del(c, *d), 1);
	cache_close(c);
}

struct dns_seen {
	unsigned n, with_dns;
	char dns_of[32];
	enum dane_state state;
};

static int
collect_dns(void *arg, const char *domain, const struct cacherec *rec, const struct danerec *dns)
{
	struct dns_seen *s = arg;

	(void)rec;
	assert_null(strchr(domain, '/'));
	s->n++;
	if (dns != NULL) {
		s->with_dns++;
		snprintf(s->dns_of, sizeof(s->dns_of), "%s", domain);
		s->state = dns->state;
	}
	return 0;
}

static int
cond_fetched(void *arg, const char *domain, const struct cacherec *rec)
{
	(void)domain;
	return rec->fetched == *(const int64_t *)arg;
}

/* The walk with DNS records pairs each domain with "<domain>#dane" only (not another
 * destination's record); a conditional delete judges the record as stored, removes its index
 * entry with it, and needs a writable cache. */
static int
count_w1(void *arg, const char *domain, int64_t due)
{
	(void)due;
	if (strcmp(domain, "w1.example") == 0)
		(*(unsigned *)arg)++;
	return 0;
}

static void
test_walk_dns_and_del_if(void **state)
{
	unsigned w1_entries;
	static struct cacherec r;
	static struct danerec d;
	struct dns_seen s;
	int64_t next = 0, want;
	char err[256];
	struct cache *c, *ro;

	(void)state;
	c = cache_open(dir, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	make_record(&r, 7);
	r.due = 400;
	assert_int_equal(cache_put(c, "w1.example", &r), 0);
	make_record(&r, 8);
	assert_int_equal(cache_put(c, "w2.example", &r), 0);
	memset(&d, 0, sizeof(d));
	d.state = DANE_NONE;
	d.expires = 1800000000;
	d.mx_known = 1;
	snprintf(d.why, sizeof(d.why), "no TLSA");
	assert_int_equal(cache_put_dane(c, "w1.example#dane", &d), 0);
	d.state = DANE_ALL;
	assert_int_equal(cache_put_dane(c, "w2.example#dane:587", &d), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_walk(c, collect_dns, &s), 0);
	assert_true(s.n >= 2);
	assert_int_equal(s.with_dns, 1);
	assert_string_equal(s.dns_of, "w1.example");
	assert_int_equal(s.state, DANE_NONE);

	/* the condition sees the stored record: fetched 1007 is w1's, 1008 w2's */
	want = 1008;
	assert_int_equal(cache_del_if(c, "w1.example", cond_fetched, &want), 0);
	assert_int_equal(cache_get(c, "w1.example", &r), CACHE_HIT);
	want = 1007;
	assert_int_equal(cache_del_if(c, "w1.example", cond_fetched, &want), 1);
	assert_int_equal(cache_get(c, "w1.example", &r), CACHE_MISS);
	assert_int_equal(cache_del_if(c, "w1.example", cond_fetched, &want), 0);
	w1_entries = 0;
	assert_int_equal(cache_due(c, 1000, 100000, count_w1, &w1_entries, &next), 0);
	assert_int_equal(w1_entries, 0); /* w1's index entry went with it */
	/* a reader may not delete, and leaves the record alone (one environment per process
	 * at a time: LMDB's locks are per process) */
	cache_close(c);
	ro = cache_open(dir, 1, SMALL_MAP, err, sizeof(err));
	assert_non_null(ro);
	want = 1008;
	assert_int_equal(cache_del_if(ro, "w2.example", cond_fetched, &want), -1);
	cache_close(ro);
	c = cache_open(dir, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(cache_get(c, "w2.example", &r), CACHE_HIT);
	assert_int_equal(cache_del(c, "w2.example"), 1);
	assert_int_equal(cache_del(c, "w1.example#dane"), 1);
	assert_int_equal(cache_del(c, "w2.example#dane:587"), 1);
	cache_close(c);
}

/* Drop the counts behind the module's back (an environment from a release without them). */
static void
drop_counts(void)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {strlen("meta/counts"), "meta/counts"};

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 64UL << 20), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static int
collect_k1(void *arg, const char *domain, int64_t due)
{
	return strcmp(domain, "k1.example") == 0 ? collect_due(arg, domain, due) : 0;
}

/* Records by kind: every write moves them exactly, DNS records do not count, and an
 * environment without counts is counted once by the next writer that opens it. */
static void
test_counts(void **state)
{
	static struct cacherec r;
	static struct danerec d;
	uint64_t base[CACHE_KIND_N], n[CACHE_KIND_N];
	struct due_seen seen;
	int64_t next = 0;
	char err[256];
	struct cache *c;

	(void)state;
	c = cache_open(dir, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(cache_counts(c, base), 0); /* earlier tests' records */
	make_record(&r, 7);
	assert_int_equal(cache_put(c, "k1.example", &r), 0);
	assert_int_equal(cache_put(c, "k1.example", &r), 0); /* rewritten: still one */
	assert_int_equal(cache_counts(c, n), 0);
	assert_int_equal(n[CACHE_KIND_MODE_ENFORCE], base[CACHE_KIND_MODE_ENFORCE] + 1);
	r.policy.mode = STSPOLICY_MODE_TESTING;
	assert_int_equal(cache_put(c, "k1.example", &r), 0); /* mode changed */
	cacherec_init(&r);
	r.none_until = 1000;
	assert_int_equal(cache_put(c, "k2.example", &r), 0); /* no policy */
	memset(&d, 0, sizeof(d));
	d.expires = 1800000000;
	assert_int_equal(cache_put_dane(c, "dane/k1.example", &d), 0);
	assert_int_equal(cache_counts(c, n), 0);
	assert_int_equal(n[CACHE_KIND_MODE_ENFORCE], base[CACHE_KIND_MODE_ENFORCE]);
	assert_int_equal(n[CACHE_KIND_MODE_TESTING], base[CACHE_KIND_MODE_TESTING] + 1);
	assert_int_equal(n[CACHE_KIND_NO_POLICY], base[CACHE_KIND_NO_POLICY] + 1);
	assert_int_equal(n[CACHE_KIND_MODE_NONE], base[CACHE_KIND_MODE_NONE]);
	assert_int_equal(cache_del(c, "k2.example"), 1);
	assert_int_equal(cache_del(c, "k2.example"), 0); /* absent: nothing moves */
	assert_int_equal(cache_del(c, "dane/k1.example"), 1);
	assert_int_equal(cache_counts(c, n), 0);
	assert_int_equal(n[CACHE_KIND_NO_POLICY], base[CACHE_KIND_NO_POLICY]);
	assert_int_equal(n[CACHE_KIND_MODE_TESTING], base[CACHE_KIND_MODE_TESTING] + 1);
	cache_close(c);
	/* without counts: a read-only open cannot say; the next writer counts from scratch */
	drop_counts();
	c = cache_open(dir, 1, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(cache_counts(c, n), -1);
	cache_close(c);
	c = cache_open(dir, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(cache_counts(c, n), 0);
	assert_int_equal(n[CACHE_KIND_MODE_TESTING], base[CACHE_KIND_MODE_TESTING] + 1);
	assert_int_equal(n[CACHE_KIND_MODE_ENFORCE], base[CACHE_KIND_MODE_ENFORCE]);
	assert_int_equal(n[CACHE_KIND_NO_POLICY], base[CACHE_KIND_NO_POLICY]);
	/* the same pass indexed the record written without a due time, at 1: looked at first */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(cache_due(c, 1, 100000, collect_k1, &seen, &next), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.dues[0], 1);
	assert_int_equal(cache_del(c, "k1.example"), 1);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(cache_due(c, 1, 100000, collect_k1, &seen, &next), 0);
	assert_int_equal(seen.n, 0); /* and the delete took the entry away */
	cache_close(c);
}

/* A batch is all or nothing: its reads see its writes; when the map fills up in the middle,
 * nothing of it is stored and the map grows, so the same batch succeeds on a later try. */
static void
test_batch(void **state)
{
	static struct cacherec r, got;
	char d2[64], path[128], name[32];
	char err[256];
	struct cache *c;
	int tries = 0, rc;

	(void)state;
	snprintf(d2, sizeof(d2), "/tmp/mta-stsd-cache-batch.XXXXXX");
	assert_non_null(mkdtemp(d2));
	c = cache_open(d2, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	do {
		assert_int_equal(cache_batch_begin(c), 0);
		for (unsigned i = 0; i < 40; i++) { /* ~16 KiB each: over SMALL_MAP at first */
			make_record(&r, i);
			snprintf(name, sizeof(name), "b%u.example", i);
			if (cache_put(c, name, &r) != 0)
				break;
			assert_int_equal(cache_get(c, name, &got),
			                 CACHE_HIT); /* read its own write */
		}
		rc = cache_batch_end(c);
		if (rc != 0) /* all or nothing */
			assert_int_equal(cache_get(c, "b0.example", &got), CACHE_MISS);
	} while (rc != 0 && ++tries < 8);
	assert_int_equal(rc, 0);
	assert_true(tries >= 1); /* the first try did fill the map */
	for (unsigned i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "b%u.example", i);
		assert_int_equal(cache_get(c, name, &got), CACHE_HIT);
	}
	cache_close(c);
	snprintf(path, sizeof(path), "%s/data.mdb", d2);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", d2);
	unlink(path);
	rmdir(d2);
}

/* A full disk (here the file size limit, RLIMIT_FSIZE: LMDB's writes fail alike) makes every
 * write fail while the daemon goes on answering: the failure is logged once, not once per
 * request, and writes that work again right after it end nothing yet (the end of an outage is
 * logged LOG_OUTAGE_QUIET s after its last failure: test_log). What was stored before stays;
 * every record decodes after a reopen. */
static void
test_write_failure_logged_once(void **state)
{
	static struct cacherec r, got;
	char err[256], name[64], d2[64], logpath[96], path[128];
	struct rlimit old, lim;
	struct stat st;
	struct cache *c;
	int saved, failed = 0, stored = 0;

	(void)state;
	snprintf(d2, sizeof(d2), "/tmp/mta-stsd-cache-full.XXXXXX");
	assert_non_null(mkdtemp(d2));
	snprintf(logpath, sizeof(logpath), "%s.log", d2);
	c = cache_open(d2, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	for (unsigned i = 0; i < 4; i++, stored++) {
		make_record(&r, i);
		snprintf(name, sizeof(name), "s%u.example", i);
		assert_int_equal(cache_put(c, name, &r), 0);
	}
	snprintf(path, sizeof(path), "%s/data.mdb", d2);
	assert_int_equal(stat(path, &st), 0);

	saved = capture_begin(logpath); /* the log goes to stderr: into a file for the count */
	signal(SIGXFSZ, SIG_IGN);       /* a write past the limit fails (EFBIG) instead */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	/* 16 KiB records need new pages at the end of the file: almost all fail */
	for (unsigned i = 100; i < 140; i++) {
		make_record(&r, i);
		snprintf(name, sizeof(name), "f%u.example", i);
		if (cache_put(c, name, &r) != 0)
			failed++;
		else
			stored++;
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	make_record(&r, 200);
	assert_int_equal(cache_put(c, "after.example", &r), 0);
	stored++;
	assert_int_equal(cache_put(c, "after2.example", &r), 0);
	stored++;
	capture_end(saved);

	assert_true(failed >= 20);
	assert_int_equal(count_lines(logpath, "level=err", "stage=cache"), 1);
	assert_int_equal(count_lines(logpath, "level=", ""), 1);
	cache_close(c);

	c = cache_open(d2, 0, SMALL_MAP, err, sizeof(err));
	assert_non_null(c);
	{
		unsigned n = 0;

		assert_int_equal(cache_walk(c, count_walk, &n), 0);
		assert_int_equal(n, stored);
	}
	assert_int_equal(cache_get(c, "s0.example", &got), CACHE_HIT);
	assert_int_equal(cache_get(c, "after.example", &got), CACHE_HIT);
	cache_close(c);
	unlink(logpath);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", d2);
	unlink(path);
	rmdir(d2);
}

/* cache_map_mb in bytes, never wrapped (a 32-bit size_t) and never over the ceiling. */
static void
test_map_bytes(void **state)
{
	size_t top = cache_map_bytes(16384);

	(void)state;
	assert_int_equal(cache_map_bytes(1), (size_t)1 << 20);
	assert_int_equal(cache_map_bytes(64), (size_t)64 << 20);
	assert_true(top >= (size_t)1 << 30 && top <= SIZE_MAX / 2);
	assert_int_equal(cache_map_bytes(UINT_MAX), top);
	if (sizeof(size_t) > 4)
		assert_int_equal(top, (size_t)16384 << 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grow_and_reopen),
	    cmocka_unit_test(test_damaged_record_is_a_miss),
	    cmocka_unit_test(test_dane_records),
	    cmocka_unit_test(test_due_index),
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_batch),
	    cmocka_unit_test(test_walk_dns_and_del_if),
	    cmocka_unit_test(test_write_failure_logged_once),
	    cmocka_unit_test(test_map_bytes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
