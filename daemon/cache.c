/* SPDX-License-Identifier: MIT */
/*
 * cache: the LMDB policy cache, one record per policy domain (cacherec.c encodes it).
 * Effectful (E). Reads reuse one read-only transaction handle (mdb_txn_reset/renew), so a cached
 * answer costs no allocation and no write; each write (or batch) is a transaction committed
 * before the answer that depends on it leaves, so the cache survives restarts and kill -9.
 * MDB_NOMETASYNC: a commit flushes the data pages but leaves the meta page to the next commit
 * (or the kernel): one flush per commit instead of two; a system crash may undo the last
 * transaction, and never breaks the environment's integrity. MDB_MAP_FULL grows the map (doubling,
 * up to CACHE_MAP_MAX) and retries; MDB_MAP_RESIZED (grown by another process) adopts the new size.
 * Stale reader slots of dead processes are cleared at open. DANE records (dane.c) share the
 * database under dane_key() keys, each right after its domain's record. TOFU rules live in
 * cacherec.c. A failed write (disk full) is logged once per outage, not per request (log_outage_*),
 * and its end once.
 */
#include "cache.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dname.h"
#include "log.h"
#include "refresh.h"
#include "xalloc.h"

/* 16 GiB (1 GiB with a 32-bit size_t): beyond that something is wrong */
#define CACHE_MAP_MAX ((size_t)1 << (sizeof(size_t) > 4 ? 34 : 30))
#define CACHE_DUE_KEY_MAX (12 + CACHE_KEY_MAX)
#define CACHE_COUNTS_KEY "meta/counts" /* uint64_t[CACHE_KIND_N], host byte order */

struct cache {
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *rtxn; /* reset between reads; NULL when it must be recreated */
	int rlive;     /* rtxn is renewed (a snapshot is open), not yet reset */
	int held;      /* cache_hold() .. cache_release(): reads share rtxn's snapshot */
	MDB_txn *wtxn; /* cache_batch_begin() .. _end(): writes and reads go through it */
	int wfail;     /* the LMDB error of a failed write of the batch: aborted at the end */
	int wrote;     /* the batch holds a write */
	struct log_outage wout; /* failing writes: logged once per outage */
	size_t mapsize;
	int readonly;
};

static size_t cache_due_key(uint8_t out[CACHE_DUE_KEY_MAX], int64_t due, const char *domain);

/* One pass over an environment written before the counts and the index of due times existed
 * (or whose counts are damaged), by the first writer that opens it: count the policy records
 * by kind, and index every policy record that has no due time (at 1: the scheduler looks at
 * it at once and files it properly) and every DNS record (at its refresh_dns_due()). Index
 * keys are written between cursor passes of CACHE_MIGRATE_CHUNK records, never under an open
 * cursor. */
#define CACHE_MIGRATE_CHUNK 256
#define CACHE_MIGRATE_DUE 1 /* index time of the records migrated: looked at first */

static int
cache_count_init(struct cache *c, MDB_txn *txn)
{
	MDB_val k = {sizeof(CACHE_COUNTS_KEY) - 1, (void *)CACHE_COUNTS_KEY}, key, val, ik;
	static char names[CACHE_MIGRATE_CHUNK][CACHE_KEY_MAX + 1], from[CACHE_KEY_MAX + 1];
	static int64_t dues[CACHE_MIGRATE_CHUNK];
	static struct cacherec r;
	static struct danerec d;
	uint64_t n[CACHE_KIND_N] = {0};
	uint8_t ikey[CACHE_DUE_KEY_MAX];
	MDB_cursor *cur;
	unsigned got;
	int rc;

	rc = mdb_get(txn, c->dbi, &k, &val);
	if (rc == 0 && val.mv_size == sizeof(n))
		return 0;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	from[0] = '\0';
	do {
		if ((rc = mdb_cursor_open(txn, c->dbi, &cur)) != 0)
			return rc;
		key.mv_size = strlen(from);
		key.mv_data = from;
		got = 0;
		for (rc = mdb_cursor_get(cur, &key, &val, from[0] ? MDB_SET_RANGE : MDB_FIRST);
		     rc == 0 && got < CACHE_MIGRATE_CHUNK;
		     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
			int dns = dane_key_is(key.mv_data, key.mv_size);
			int64_t due = 0;

			if (key.mv_size > CACHE_KEY_MAX ||
			    (key.mv_size == strlen(from) &&
			     memcmp(key.mv_data, from, key.mv_size) == 0))
				continue; /* not ours, or the last one of the previous pass */
			if (dns && danerec_decode(val.mv_data, val.mv_size, &d) == DANEREC_OK) {
				due = refresh_dns_due(&d);
			} else if (!dns && memchr(key.mv_data, '/', key.mv_size) == NULL &&
			           cacherec_decode(val.mv_data, val.mv_size, &r) == CACHEREC_OK) {
				n[r.has_policy ? (int)r.policy.mode : CACHE_KIND_NO_POLICY]++;
				due = r.due == 0 ? CACHE_MIGRATE_DUE : 0;
			}
			memcpy(from, key.mv_data, key.mv_size);
			from[key.mv_size] = '\0';
			if (due != 0) {
				memcpy(names[got], from, key.mv_size + 1);
				dues[got++] = due;
			}
		}
		mdb_cursor_close(cur);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
		for (unsigned i = 0; i < got; i++) {
			ik.mv_size = cache_due_key(ikey, dues[i], names[i]);
			ik.mv_data = ikey;
			val.mv_size = 0;
			val.mv_data = NULL;
			if ((rc = mdb_put(txn, c->dbi, &ik, &val, 0)) != 0)
				return rc;
		}
	} while (got == CACHE_MIGRATE_CHUNK);
	val.mv_size = sizeof(n);
	val.mv_data = n;
	return mdb_put(txn, c->dbi, &k, &val, 0);
}

size_t
cache_map_bytes(unsigned mb)
{
	return mb > CACHE_MAP_MAX >> 20 ? CACHE_MAP_MAX : (size_t)mb << 20;
}

struct cache *
cache_open(const char *dir, int readonly, size_t mapsize, char *err, size_t errsz)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	char data[4096];
	struct stat st;
	MDB_txn *txn;
	int rc, dead = 0, exists;

	if (!readonly && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errsz, "cache_dir %s: %s", dir, strerror(errno));
		free(c);
		return NULL;
	}
	c->readonly = readonly;
	c->mapsize = mapsize < CACHE_MAP_MAX ? mapsize : CACHE_MAP_MAX;
	/* An environment that exists keeps the map size stored in it, the size it had grown to:
	 * given ours, LMDB would take it raised only to the data's size, a full map, which the
	 * first write after every restart would have to grow again. */
	exists = snprintf(data, sizeof(data), "%s/data.mdb", dir) < (int)sizeof(data) &&
	         stat(data, &st) == 0 && st.st_size > 0;
	if ((rc = mdb_env_create(&c->env)) != 0 ||
	    (!exists && (rc = mdb_env_set_mapsize(c->env, c->mapsize)) != 0) ||
	    (rc = mdb_env_set_maxreaders(c->env, 126)) != 0 ||
	    (rc = mdb_env_open(c->env, dir,
	                       MDB_NOTLS | MDB_NOMETASYNC | (readonly ? MDB_RDONLY : 0), 0600)) !=
	        0) {
		snprintf(err, errsz, "cache %s: %s", dir, mdb_strerror(rc));
		mdb_env_close(c->env);
		free(c);
		return NULL;
	}
	/* The larger of the stored size (grown by an earlier run) and ours. */
	{
		MDB_envinfo info;
		if (mdb_env_info(c->env, &info) == 0 &&
		    (info.me_mapsize >= c->mapsize || readonly ||
		     mdb_env_set_mapsize(c->env, c->mapsize) != 0))
			c->mapsize = info.me_mapsize;
	}
	mdb_reader_check(c->env, &dead);
	if ((rc = mdb_txn_begin(c->env, NULL, readonly ? MDB_RDONLY : 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &c->dbi)) != 0 ||
	    (!readonly && (rc = cache_count_init(c, txn)) != 0) ||
	    (rc = mdb_txn_commit(txn)) != 0) {
		snprintf(err, errsz, "cache %s: %s", dir, mdb_strerror(rc));
		mdb_env_close(c->env);
		free(c);
		return NULL;
	}
	return c;
}

void
cache_close(struct cache *c)
{
	if (c == NULL)
		return;
	if (c->wtxn != NULL)
		mdb_txn_abort(c->wtxn); /* a batch never ended: nothing of it is stored */
	if (c->rtxn != NULL)
		mdb_txn_abort(c->rtxn);
	mdb_env_close(c->env);
	free(c);
}

/* Drop the read handle so the map can be resized or re-read. */
static void
cache_drop_reader(struct cache *c)
{
	if (c->rtxn != NULL) {
		mdb_txn_abort(c->rtxn);
		c->rtxn = NULL;
	}
	c->rlive = 0;
}

static int
cache_begin_read(struct cache *c)
{
	int rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->rtxn != NULL)
			rc = mdb_txn_renew(c->rtxn);
		else
			rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &c->rtxn);
		if (rc != MDB_MAP_RESIZED)
			return rc;
		/* Another process grew the map: adopt its size and try once more. */
		cache_drop_reader(c);
		mdb_env_set_mapsize(c->env, 0);
	}
	return rc;
}

/* The snapshot of cache_read(): the one a hold keeps open, else a renewed one. */
static int
cache_read_open(struct cache *c)
{
	int rc;

	if (c->rlive)
		return 0;
	if ((rc = cache_begin_read(c)) == 0)
		c->rlive = 1;
	return rc;
}

/* End the snapshot of a read, unless a hold keeps it for the next one. */
static void
cache_read_close(struct cache *c)
{
	if (c->rlive && !c->held) {
		mdb_txn_reset(c->rtxn);
		c->rlive = 0;
	}
}

/* The caller of cache_read() has decoded what it got. */
static void
cache_read_done(struct cache *c)
{
	if (c->wtxn == NULL)
		cache_read_close(c);
}

void
cache_hold(struct cache *c)
{
	c->held = 1;
}

void
cache_release(struct cache *c)
{
	c->held = 0;
	cache_read_close(c);
}

/* Look key up; on CACHE_HIT the read transaction stays open for the caller to decode val and
 * then cache_read_done(). */
static enum cache_res
cache_read(struct cache *c, const char *key, MDB_val *val)
{
	MDB_val k = {strlen(key), (void *)key};
	int rc;

	if (c->wtxn != NULL) { /* in a batch: read what it wrote so far */
		rc = mdb_get(c->wtxn, c->dbi, &k, val);
		return rc == 0 ? CACHE_HIT : rc == MDB_NOTFOUND ? CACHE_MISS : CACHE_ERR;
	}

	if ((rc = cache_read_open(c)) != 0) {
		log_err("stage=cache op=read key=%s err=\"%s\"", key, mdb_strerror(rc));
		cache_drop_reader(c);
		return CACHE_ERR;
	}
	rc = mdb_get(c->rtxn, c->dbi, &k, val);
	if (rc == 0)
		return CACHE_HIT;
	cache_read_close(c);
	if (rc == MDB_NOTFOUND)
		return CACHE_MISS;
	log_err("stage=cache op=read key=%s err=\"%s\"", key, mdb_strerror(rc));
	return CACHE_ERR;
}

enum cache_res
cache_get(struct cache *c, const char *domain, struct cacherec *out)
{
	MDB_val val;
	enum cacherec_err derr;
	enum cache_res res = cache_read(c, domain, &val);

	if (res != CACHE_HIT)
		return res;
	derr = cacherec_decode(val.mv_data, val.mv_size, out);
	cache_read_done(c);
	if (derr != CACHEREC_OK) {
		/* A damaged record is never applied; the next successful fetch overwrites it. */
		log_warn_rl("domain", domain, "cache-decode-failed", "err=\"%s\"",
		            cacherec_strerror(derr));
		return CACHE_MISS;
	}
	return CACHE_HIT;
}

enum cache_res
cache_get_dane(struct cache *c, const char *key, struct danerec *out)
{
	MDB_val val;
	enum danerec_err derr;
	enum cache_res res = cache_read(c, key, &val);

	if (res != CACHE_HIT)
		return res;
	derr = danerec_decode(val.mv_data, val.mv_size, out);
	cache_read_done(c);
	if (derr != DANEREC_OK) {
		/* Not applied: the DNS state is simply looked up again. */
		log_warn_rl("key", key, "cache-decode-failed", "err=\"damaged DANE record\"");
		return CACHE_MISS;
	}
	return CACHE_HIT;
}

/* One write: the value under key (val NULL: delete it) and its index entry ("due/" + due
 * time + key, so a cursor finds the next due records in time order); the old record's entry
 * is read and removed in the same transaction. A policy record carries its due time; a DNS
 * record (dane_key_is()) is due when refresh_dns_due() says. */
struct cache_op {
	const char *name; /* the domain or DNS record key (dane_key()); for logs */
	const void *key;
	size_t klen;
	const uint8_t *val;
	size_t len;
	int indexed; /* key is a policy domain or a DNS record key */
	int64_t due; /* its new due time (0: none) */
	int kind;    /* policy record: enum cache_kind of the new value, -1 when deleted */
	/* a delete only if the record decodes and cond holds, tested in the write transaction */
	int (*cond)(void *arg, const char *domain, const struct cacherec *rec);
	void *cond_arg;
};

/* "due/" + big-endian due + domain; returns the key length. */
static size_t
cache_due_key(uint8_t out[CACHE_DUE_KEY_MAX], int64_t due, const char *domain)
{
	size_t n = strlen(domain);

	INVARIANT(due > 0 && n <= CACHE_KEY_MAX);
	memcpy(out, "due/", 4);
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)((uint64_t)due >> (56 - 8 * i));
	memcpy(out + 12, domain, n);
	return 12 + n;
}

/* Move one policy record from kind from to kind to (-1: none) in the counts kept under
 * CACHE_COUNTS_KEY, in the writer's transaction. Before the counts exist (cache_open() makes
 * them) there is nothing to keep. */
static int
cache_count_move(struct cache *c, MDB_txn *txn, int from, int to)
{
	MDB_val k = {sizeof(CACHE_COUNTS_KEY) - 1, (void *)CACHE_COUNTS_KEY}, v;
	uint64_t n[CACHE_KIND_N];
	int rc;

	if (from == to)
		return 0;
	if ((rc = mdb_get(txn, c->dbi, &k, &v)) != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;
	if (v.mv_size != sizeof(n)) /* damaged: dropped (the next open recounts), writes go on */
		return mdb_del(txn, c->dbi, &k, NULL);
	memcpy(n, v.mv_data, sizeof(n));
	if (from >= 0 && n[from] > 0)
		n[from]--;
	if (to >= 0)
		n[to]++;
	v.mv_size = sizeof(n);
	v.mv_data = n;
	return mdb_put(txn, c->dbi, &k, &v, 0);
}

static int
cache_op_apply(struct cache *c, MDB_txn *txn, const struct cache_op *op)
{
	MDB_val k = {op->klen, (void *)op->key}, v, ik;
	uint8_t ikey[CACHE_DUE_KEY_MAX];
	int rc;

	if (op->cond != NULL) {
		/* Read and test in the write transaction: LMDB has one writer at a time, so no
		 * other process (the daemon refreshing this policy, say) changes it in between. */
		static struct cacherec cur;

		if ((rc = mdb_get(txn, c->dbi, &k, &v)) != 0)
			return rc;
		if (cacherec_decode(v.mv_data, v.mv_size, &cur) != CACHEREC_OK ||
		    !op->cond(op->cond_arg, op->name, &cur))
			return MDB_NOTFOUND; /* "nothing deleted" */
	}
	if (op->indexed) {
		static struct cacherec old;
		static struct danerec old_dns;
		int64_t old_due = 0;

		rc = mdb_get(txn, c->dbi, &k, &v);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
		if (rc == 0 && dane_key_is(op->key, op->klen)) {
			if (danerec_decode(v.mv_data, v.mv_size, &old_dns) == DANEREC_OK)
				old_due = refresh_dns_due(&old_dns);
		} else {
			int old_kind = -1;

			if (rc == 0 && cacherec_decode(v.mv_data, v.mv_size, &old) == CACHEREC_OK) {
				/* A record from before the index has due 0 and, once the
				 * environment was migrated, an entry at CACHE_MIGRATE_DUE. */
				old_due = old.due != 0 ? old.due : CACHE_MIGRATE_DUE;
				old_kind =
				    old.has_policy ? (int)old.policy.mode : CACHE_KIND_NO_POLICY;
			}
			if ((rc = cache_count_move(c, txn, old_kind, op->kind)) != 0)
				return rc;
		}
		if (old_due != 0 && old_due != op->due) {
			ik.mv_size = cache_due_key(ikey, old_due, op->name);
			ik.mv_data = ikey;
			if ((rc = mdb_del(txn, c->dbi, &ik, NULL)) != 0 && rc != MDB_NOTFOUND)
				return rc;
		}
		if (op->val != NULL && op->due != 0) {
			ik.mv_size = cache_due_key(ikey, op->due, op->name);
			ik.mv_data = ikey;
			v.mv_size = 0;
			v.mv_data = NULL;
			if ((rc = mdb_put(txn, c->dbi, &ik, &v, 0)) != 0)
				return rc;
		}
	}
	if (op->val == NULL)
		return mdb_del(txn, c->dbi, &k, NULL);
	v.mv_size = op->len;
	v.mv_data = (void *)op->val;
	return mdb_put(txn, c->dbi, &k, &v, 0);
}

/* A write or a batch failed. With the disk full every request that learns something fails
 * alike, while small writes may still fit between them: one line when the failures begin,
 * none while they go on, one when writes have worked for LOG_OUTAGE_QUIET s (log_outage_*).
 * An error line per request would fill the very disk that is full, and hide the cause. */
static void
cache_write_failed(struct cache *c, const char *op, const char *key, int rc)
{
	if (log_outage_fail(&c->wout, (int64_t)time(NULL)))
		log_err("stage=cache op=%s key=%s err=\"%s\" mapsize=%zu note=\"further failed "
		        "writes are counted, not logged, until writes work again\"",
		        op, key, mdb_strerror(rc), c->mapsize);
}

/* A batch that filled a map which can still grow is no failure to report: cache_batch_end()
 * grows the map and the caller writes again. */
static int
cache_batch_can_grow(const struct cache *c, int rc)
{
	return rc == MDB_MAP_FULL && c->mapsize <= CACHE_MAP_MAX / 2;
}

static void
cache_write_worked(struct cache *c)
{
	unsigned long n;

	if (log_outage_ok(&c->wout, (int64_t)time(NULL), &n))
		log_info("stage=cache event=writes-recovered failed=%lu", n);
}

/* Run one write transaction, growing the map when full. */
static int
cache_write(struct cache *c, const struct cache_op *op)
{
	MDB_txn *txn;
	int rc;

	if (c->readonly && op->val != NULL)
		return -1;
	if (c->wtxn != NULL) { /* in a batch: committed (or aborted) by cache_batch_end() */
		if (c->wfail)
			return -1;
		rc = cache_op_apply(c, c->wtxn, op);
		if (rc == 0) {
			c->wrote = 1;
			return 1;
		}
		if (op->val == NULL && rc == MDB_NOTFOUND)
			return 0;
		c->wfail = rc; /* LMDB wants a transaction that failed a write aborted */
		if (!cache_batch_can_grow(c, rc))
			cache_write_failed(c, op->val == NULL ? "delete" : "write", op->name, rc);
		return -1;
	}
	for (int attempt = 0; attempt < 8; attempt++) {
		rc = mdb_txn_begin(c->env, NULL, 0, &txn);
		if (rc == MDB_MAP_RESIZED) {
			cache_drop_reader(c);
			mdb_env_set_mapsize(c->env, 0);
			continue;
		}
		if (rc != 0)
			break;
		rc = cache_op_apply(c, txn, op);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		if (rc != MDB_MAP_FULL)
			break;
		if (c->mapsize > CACHE_MAP_MAX / 2)
			break; /* logged below, with the map size */
		/* No transaction may be active in this process while the map is resized. */
		cache_drop_reader(c);
		c->mapsize *= 2;
		if ((rc = mdb_env_set_mapsize(c->env, c->mapsize)) != 0)
			break;
		log_info("stage=cache op=grow mapsize=%zu", c->mapsize);
		rc = MDB_MAP_FULL;
	}
	if (op->val == NULL && rc == MDB_NOTFOUND)
		return 0; /* nothing to delete, nothing committed */
	if (rc != 0) {
		cache_write_failed(c, op->val == NULL ? "delete" : "write", op->name, rc);
		return -1;
	}
	cache_write_worked(c);
	return 1;
}

int
cache_batch_begin(struct cache *c)
{
	int rc = 0;

	INVARIANT(c->wtxn == NULL);
	if (c->readonly)
		return -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((rc = mdb_txn_begin(c->env, NULL, 0, &c->wtxn)) != MDB_MAP_RESIZED)
			break;
		c->wtxn = NULL;
		cache_drop_reader(c);
		mdb_env_set_mapsize(c->env, 0);
	}
	if (rc != 0) {
		c->wtxn = NULL;
		cache_write_failed(c, "batch", "-", rc);
		return -1;
	}
	c->wfail = 0;
	c->wrote = 0;
	return 0;
}

int
cache_batch_end(struct cache *c)
{
	MDB_txn *txn = c->wtxn;
	int rc;

	INVARIANT(txn != NULL);
	c->wtxn = NULL;
	if (c->wfail != 0) {
		mdb_txn_abort(txn);
		rc = c->wfail; /* logged at the write, unless the map grows below */
	} else if ((rc = mdb_txn_commit(txn)) == 0) {
		if (c->wrote) /* an empty commit proves nothing about the disk */
			cache_write_worked(c);
		return 0;
	} else if (!cache_batch_can_grow(c, rc)) {
		cache_write_failed(c, "batch", "-", rc);
	}
	/* Nothing of the batch is stored. If the map was full, grow it for the next try. */
	if (rc == MDB_MAP_FULL && c->mapsize <= CACHE_MAP_MAX / 2) {
		cache_drop_reader(c);
		c->mapsize *= 2;
		if (mdb_env_set_mapsize(c->env, c->mapsize) == 0)
			log_info("stage=cache op=grow mapsize=%zu", c->mapsize);
	}
	return -1;
}

int
cache_put(struct cache *c, const char *domain, const struct cacherec *rec)
{
	static uint8_t buf[CACHEREC_MAX_BYTES];
	size_t len = 0;
	enum cacherec_err e = cacherec_encode(rec, buf, sizeof(buf), &len);
	struct cache_op op = {domain,
	                      domain,
	                      strlen(domain),
	                      buf,
	                      len,
	                      1,
	                      rec->due,
	                      rec->has_policy ? (int)rec->policy.mode : CACHE_KIND_NO_POLICY,
	                      NULL,
	                      NULL};

	INVARIANT(e == CACHEREC_OK); /* CACHEREC_MAX_BYTES bounds every valid record */
	return cache_write(c, &op) < 0 ? -1 : 0;
}

int
cache_put_dane(struct cache *c, const char *key, const struct danerec *rec)
{
	static uint8_t buf[DANEREC_MAX_BYTES];
	size_t len = 0;
	enum danerec_err e = danerec_encode(rec, buf, sizeof(buf), &len);
	struct cache_op op = {key, key,  strlen(key), buf, len, 1, refresh_dns_due(rec),
	                      -1,  NULL, NULL};

	INVARIANT(e == DANEREC_OK); /* DANEREC_MAX_BYTES bounds every valid record */
	return cache_write(c, &op) < 0 ? -1 : 0;
}

int
cache_del(struct cache *c, const char *domain)
{
	struct cache_op op = {domain, domain, strlen(domain), NULL, 0, 1, 0, -1, NULL, NULL};

	return cache_write(c, &op);
}

int
cache_counts(struct cache *c, uint64_t out[CACHE_KIND_N])
{
	MDB_val v;
	enum cache_res res = cache_read(c, CACHE_COUNTS_KEY, &v);

	if (res != CACHE_HIT)
		return -1;
	if (v.mv_size == sizeof(uint64_t) * CACHE_KIND_N)
		memcpy(out, v.mv_data, v.mv_size);
	cache_read_done(c);
	return v.mv_size == sizeof(uint64_t) * CACHE_KIND_N ? 0 : -1;
}

int
cache_unindex(struct cache *c, int64_t due, const char *domain)
{
	uint8_t ikey[CACHE_DUE_KEY_MAX];
	struct cache_op op = {domain, ikey, cache_due_key(ikey, due, domain), NULL, 0, 0, 0, -1,
	                      NULL,   NULL};

	return cache_write(c, &op);
}

int
cache_due(struct cache *c, int64_t until, unsigned max,
          int (*fn)(void *arg, const char *domain, int64_t due), void *arg, int64_t *next)
{
	MDB_cursor *cur;
	MDB_val key, val;
	unsigned n = 0;
	int rc;

	*next = 0;
	INVARIANT(c->wtxn == NULL); /* a cursor walk is no batch read */
	INVARIANT(!c->rlive);       /* never under a hold: the cursor renews its own snapshot */
	if ((rc = cache_begin_read(c)) != 0 || (rc = mdb_cursor_open(c->rtxn, c->dbi, &cur)) != 0) {
		cache_drop_reader(c);
		return -1;
	}
	key.mv_size = 4;
	key.mv_data = (void *)"due/";
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		const uint8_t *p = key.mv_data;
		char domain[CACHE_KEY_MAX + 1];
		uint64_t due = 0;

		if (key.mv_size < 4 || memcmp(p, "due/", 4) != 0)
			break;
		if (key.mv_size < 13 || key.mv_size > 12 + CACHE_KEY_MAX)
			continue; /* not ours: never written by cache_due_key() */
		for (int i = 0; i < 8; i++)
			due = due << 8 | p[4 + i];
		if (due > (uint64_t)until || n >= max) {
			*next = due > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)due;
			break;
		}
		memcpy(domain, p + 12, key.mv_size - 12);
		domain[key.mv_size - 12] = '\0';
		n++;
		if (fn(arg, domain, (int64_t)due) != 0)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_reset(c->rtxn);
	return 0;
}

int
cache_walk(struct cache *c,
           int (*fn)(void *arg, const char *domain, const struct cacherec *rec,
                     const struct danerec *dns),
           void *arg)
{
	static struct cacherec rec;
	static struct danerec dns;
	MDB_cursor *cur;
	MDB_val key, val, dkey, dval;
	int rc;

	INVARIANT(c->wtxn == NULL); /* a cursor walk is no batch read */
	INVARIANT(!c->rlive);       /* never under a hold: the cursor renews its own snapshot */
	if ((rc = cache_begin_read(c)) != 0 || (rc = mdb_cursor_open(c->rtxn, c->dbi, &cur)) != 0) {
		cache_drop_reader(c);
		return -1;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		char domain[DNAME_MAX + 1], dk[DNAME_MAX + 8];
		const struct danerec *d = NULL;

		/* Policy domains only: DNS records (dane_key_is()) and index entries ("due/...")
		 * live beside them; damaged records are skipped. */
		if (key.mv_size >= sizeof(domain) ||
		    memchr(key.mv_data, '/', key.mv_size) != NULL ||
		    dane_key_is(key.mv_data, key.mv_size) ||
		    cacherec_decode(val.mv_data, val.mv_size, &rec) != CACHEREC_OK)
			continue;
		memcpy(domain, key.mv_data, key.mv_size);
		domain[key.mv_size] = '\0';
		/* Its DNS record, from the same snapshot: a get beside the cursor, no second
		 * transaction (one read transaction per thread with this environment). */
		if (dane_key(domain, 0, 0, dk, sizeof(dk)) == 0) {
			dkey.mv_size = strlen(dk);
			dkey.mv_data = dk;
			if (mdb_get(c->rtxn, c->dbi, &dkey, &dval) == 0 &&
			    danerec_decode(dval.mv_data, dval.mv_size, &dns) == DANEREC_OK)
				d = &dns;
		}
		if (fn(arg, domain, &rec, d) != 0)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_reset(c->rtxn);
	return 0;
}

int
cache_del_if(struct cache *c, const char *domain,
             int (*cond)(void *arg, const char *domain, const struct cacherec *rec), void *arg)
{
	struct cache_op op = {domain, domain, strlen(domain), NULL, 0, 1, 0, -1, cond, arg};

	return cache_write(c, &op);
}
