/* SPDX-License-Identifier: MIT */
/*
 * shared: the fleet's shared policy cache on Redis, through hiredis's libevent adapter on the
 * daemon's one loop (no thread, no blocking call). Effectful (E); the value format, key names,
 * merge rule and the compare-and-set script are sharedrec.c's, applying a record to LMDB is
 * lookup.c's. Two connections: one for GET and the EVAL that publishes, one SUBSCRIBEd to
 * SHAREDREC_CHANNEL (a subscribed connection can run nothing else). Each does AUTH (from
 * shared_cache_password_file) and SELECT, gets SHARED_CONNECT_MIN_MS or the call timeout for
 * it, and after any failure is reopened with a back-off of SHARED_BACKOFF_MIN_MS doubling to
 * SHARED_BACKOFF_MAX_MS. Every call has a deadline (shared_cache_timeout): then the caller
 * goes on as if Redis had no answer; until a reply comes again no read or lease is asked (a
 * lookup waits out one deadline at most), and SHARED_TIMEOUTS_MAX timeouts in a row drop the
 * link.
 * Fetch leases (shared_cache_lease): SET NX PX on SHAREDREC_LEASE_PREFIX + domain; waiting on
 * another node's lease is discover.c's (it polls the record).
 * Up/down changes are logged once each; every outcome is counted (metrics shared[]).
 * Authentication: every value written carries HMAC-SHA256 of its body under the fleet key
 * (shared_cache_key_file, never the Redis password), so whoever can SET or PUBLISH in Redis
 * without the key (another tenant, a network attacker on redis://) cannot make a node apply
 * anything. A value read or received is checked (CRYPTO_memcmp) before any byte of its body
 * is decoded; without the right trailer it is ignored, counted and logged. Then it is
 * refused whole unless sharedrec_decode() accepts it. Lease keys carry no value to trust: a
 * planted one only delays, as long as the waiter's cap (discover.c) allows.
 */
#include "shared.h"

#include <errno.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "sharedrec.h"
#include "xalloc.h"

struct shared_conn {
	struct shared *sh;
	const char *name; /* "commands" or "announcements", for the log */
	int is_sub;
	redisAsyncContext *ac; /* NULL while not connected (or connecting) */
	int ready;             /* handshake done: usable */
	unsigned handshake;    /* replies to AUTH/SELECT still expected */
	unsigned backoff_ms;   /* next wait before reconnecting */
	struct event *retry;   /* reconnect timer */
	struct event *guard;   /* deadline of connecting and the handshake */
};

enum shared_kind { SHARED_GET = 0, SHARED_PUBLISH, SHARED_LEASE, SHARED_POLL, SHARED_RELEASE };

/* One call in flight. It lives until hiredis hands back its reply (or NULL when the link
 * goes), even after its deadline or a cancel, so hiredis never holds a dangling pointer. */
struct shared_get {
	struct shared *sh;
	enum shared_kind kind;
	struct event *timer;
	shared_get_cb *cb;    /* SHARED_GET */
	shared_lease_cb *lcb; /* SHARED_LEASE, SHARED_POLL */
	void *arg;
	int done; /* the caller has its answer (or cancelled): the reply is only counted */
	char domain[DNAME_MAX + 1];
};

struct shared {
	struct event_base *base;
	struct sharedrec_url url;
	struct shared_secret secret;
	struct shared_fleet_key key;
	struct timeval timeout;
	unsigned lease_ms; /* 0: no leases */
	char token[33];    /* this node's leases hold it (random, hex) */
	struct metrics *m;
	struct shared_conn cmd, sub;
	int state;                   /* what was logged last: -1 nothing yet, 0 down, 1 up */
	unsigned timeouts;           /* calls timed out in a row */
	struct shared_get *expiring; /* shared_on_deadline()'s call, until a reply frees it */
	char why[200];               /* the last failure */
	shared_recv_cb *on_rec;
	void *on_rec_arg;
};

static void shared_connect(struct shared_conn *c);

/* ---- password file ---- */

int
shared_secret_read(const char *path, struct shared_secret *out, char *err, size_t errsz)
{
	char line[2 * SHARED_SECRET_MAX + 3];
	FILE *fp = fopen(path, "r");
	size_t n;
	char *sp;

	memset(out, 0, sizeof(*out));
	if (fp == NULL) {
		(void)snprintf(err, errsz, "shared_cache_password_file %s: %s", path,
		               strerror(errno));
		return -1;
	}
	n = fgets(line, sizeof(line), fp) != NULL ? strlen(line) : 0;
	fclose(fp);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0) {
		(void)snprintf(err, errsz, "shared_cache_password_file %s: first line is empty",
		               path);
		return -1;
	}
	/* "USER PASSWORD" (a Redis 6 ACL user) or "PASSWORD" (the default user). */
	sp = strchr(line, ' ');
	if (sp != NULL)
		*sp = '\0';
	if (strlen(line) > SHARED_SECRET_MAX ||
	    (sp != NULL && (sp[1] == '\0' || strlen(sp + 1) > SHARED_SECRET_MAX))) {
		(void)snprintf(err, errsz,
		               "shared_cache_password_file %s: expected PASSWORD or USER PASSWORD "
		               "of at most %d bytes each",
		               path, SHARED_SECRET_MAX);
		return -1;
	}
	if (sp != NULL) {
		memcpy(out->user, line, strlen(line) + 1);
		memcpy(out->pass, sp + 1, strlen(sp + 1) + 1);
	} else {
		memcpy(out->pass, line, n + 1);
	}
	explicit_bzero(line, sizeof(line));
	return 0;
}

/* ---- fleet key ---- */

int
shared_fleet_key_read(const char *path, struct shared_fleet_key *out, char *err, size_t errsz)
{
	unsigned char buf[SHARED_FLEET_KEY_MAX + 1];
	FILE *fp = fopen(path, "rb");
	size_t n;
	int bad;

	memset(out, 0, sizeof(*out));
	if (fp == NULL) {
		(void)snprintf(err, errsz, "shared_cache_key_file %s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), fp);
	bad = ferror(fp);
	fclose(fp);
	if (bad) {
		(void)snprintf(err, errsz, "shared_cache_key_file %s: read error", path);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	/* More than the cap cannot be a key written by hand or by openssl rand. */
	if (n > SHARED_FLEET_KEY_MAX) {
		(void)snprintf(err, errsz, "shared_cache_key_file %s: longer than %d bytes", path,
		               SHARED_FLEET_KEY_MAX);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n < SHARED_FLEET_KEY_MIN) {
		(void)snprintf(err, errsz,
		               "shared_cache_key_file %s: the fleet key must have at least %d "
		               "bytes (e.g. openssl rand -base64 48 > FILE), found %zu",
		               path, SHARED_FLEET_KEY_MIN, n);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	memcpy(out->key, buf, n);
	out->len = n;
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int
shared_fleet_key_check(const struct shared_fleet_key *key, const struct shared_secret *secret,
                       char *err, size_t errsz)
{
	if (secret != NULL && strlen(secret->pass) == key->len &&
	    CRYPTO_memcmp(secret->pass, key->key, key->len) == 0) {
		(void)snprintf(err, errsz,
		               "shared_cache_key_file holds the Redis password: the fleet key must "
		               "be a secret of its own (whoever may use Redis knows the password)");
		return -1;
	}
	return 0;
}

/* HMAC-SHA256 of a body under the fleet key. */
static void
shared_mac(const struct shared *sh, const uint8_t *p, size_t len, uint8_t out[SHAREDREC_MAC_LEN])
{
	unsigned int n = 0;

	/* Fails only without memory or without SHA-256 in libcrypto: a broken invariant. */
	INVARIANT(HMAC(EVP_sha256(), sh->key.key, (int)sh->key.len, p, len, out, &n) != NULL &&
	          n == SHAREDREC_MAC_LEN);
}

/* Check a value's size, format and trailer; on SHAREDREC_OK *bodylen is what
 * sharedrec_decode() may read. Nothing of the body is looked at before the trailer matched. */
static enum sharedrec_err
shared_open(const struct shared *sh, const uint8_t *p, size_t len, size_t *bodylen)
{
	uint8_t mac[SHAREDREC_MAC_LEN];
	enum sharedrec_err e = sharedrec_body(p, len, bodylen);

	if (e != SHAREDREC_OK)
		return e;
	shared_mac(sh, p, *bodylen, mac);
	if (CRYPTO_memcmp(mac, p + *bodylen, SHAREDREC_MAC_LEN) != 0)
		return SHAREDREC_BAD_MAC;
	return SHAREDREC_OK;
}

/* Count and log a refused value (rate-limited per subject). A bad trailer is an event of its
 * own: it says "not from this fleet" (a forgery, or a node with another key), not "broken". */
static void
shared_refused(struct shared *sh, enum sharedrec_err e, const char *keyname, const char *subject)
{
	int unauth = e == SHAREDREC_BAD_MAC;

	METRICS_INC(sh->m,
	            shared[unauth ? METRICS_SHARED_UNAUTHENTICATED : METRICS_SHARED_REJECTED]);
	log_warn_rl(keyname, subject,
	            unauth ? "shared-value-unauthenticated" : "shared-value-rejected",
	            "err=\"%s\" action=ignored", sharedrec_strerror(e));
}

/* ---- up and down ---- */

static void
shared_state(struct shared *sh)
{
	int up = sh->cmd.ready && sh->sub.ready;

	METRICS_SET(sh->m, shared_up, (uint64_t)up);
	/* At start, one link ready before the other is no news: only a failure says "down". */
	if (up == sh->state || (!up && sh->state < 0 && sh->why[0] == '\0'))
		return;
	sh->state = up;
	if (up)
		log_info("event=shared-cache-up");
	else
		log_warn("event=shared-cache-down err=\"%s\" action=local-cache-only", sh->why);
}

/* Let go of the link: a context hiredis is freeing itself (connect failure, disconnect
 * callback) is only forgotten; ours is freed (after the current callback, if inside one),
 * and every call still in flight on it gets a NULL reply. Then reconnect later. */
static void
shared_fail(struct shared_conn *c, const char *why, int free_ac)
{
	struct shared *sh = c->sh;
	redisAsyncContext *ac = c->ac;
	struct timeval tv;

	(void)snprintf(sh->why, sizeof(sh->why), "%s: %s", c->name, why);
	METRICS_INC(sh->m, shared[c->ready ? METRICS_SHARED_ERROR : METRICS_SHARED_CONNECT_FAILED]);
	c->ac = NULL;
	c->ready = 0;
	c->handshake = 0;
	if (c == &sh->cmd)
		sh->timeouts = 0;
	evtimer_del(c->guard);
	if (ac != NULL) {
		ac->data = NULL; /* its callbacks from now on are stale */
		if (free_ac)
			redisAsyncFree(ac);
	}
	shared_state(sh);
	tv.tv_sec = c->backoff_ms / 1000;
	tv.tv_usec = (c->backoff_ms % 1000) * 1000;
	evtimer_add(c->retry, &tv);
	c->backoff_ms =
	    c->backoff_ms * 2 > SHARED_BACKOFF_MAX_MS ? SHARED_BACKOFF_MAX_MS : c->backoff_ms * 2;
}

static void
shared_ready(struct shared_conn *c)
{
	c->ready = 1;
	c->backoff_ms = SHARED_BACKOFF_MIN_MS;
	evtimer_del(c->guard);
	log_debug(LOG_CAT_CACHE, "shared=%s event=ready", c->name);
	shared_state(c->sh);
}

/* The conn of a callback's context, or NULL when the context is no longer the live one. */
static struct shared_conn *
shared_conn_of(const redisAsyncContext *ac)
{
	struct shared_conn *c = ac->data;

	return c != NULL && c->ac == ac ? c : NULL;
}

static void
shared_on_connect(const redisAsyncContext *ac, int status)
{
	struct shared_conn *c = shared_conn_of(ac);

	if (c == NULL)
		return;
	if (status != REDIS_OK) {
		shared_fail(c, ac->errstr[0] ? ac->errstr : "connect failed", 0);
		return;
	}
	if (!c->is_sub && c->handshake == 0)
		shared_ready(c);
}

static void
shared_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct shared_conn *c = shared_conn_of(ac);

	if (c == NULL)
		return;
	shared_fail(
	    c, status == REDIS_OK || ac->errstr[0] == '\0' ? "connection closed" : ac->errstr, 0);
}

static void
shared_on_handshake(redisAsyncContext *ac, void *r, void *priv)
{
	struct shared_conn *c = priv;
	redisReply *rep = r;
	char esc[128];

	if (shared_conn_of(ac) != c)
		return; /* a link already let go */
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		if (rep != NULL)
			log_escape(rep->str, rep->len, esc, sizeof(esc));
		shared_fail(c, rep != NULL ? esc : "no reply to AUTH/SELECT", 1);
		return;
	}
	if (--c->handshake == 0 && !c->is_sub)
		shared_ready(c);
}

static void
shared_on_guard(evutil_socket_t fd, short what, void *arg)
{
	struct shared_conn *c = arg;

	(void)fd;
	(void)what;
	shared_fail(c, "no connection in time", 1);
}

static void
shared_on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	shared_connect(arg);
}

/* ---- announcements ---- */

static void
shared_on_message(redisAsyncContext *ac, void *r, void *priv)
{
	struct shared_conn *c = priv;
	struct shared *sh = c->sh;
	redisReply *rep = r, *kind, *body;
	struct cacherec rec;
	char dom[DNAME_MAX + 1];
	enum sharedrec_err e;
	size_t blen = 0;

	if (rep == NULL || shared_conn_of(ac) != c || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 3 || rep->element[0]->type != REDIS_REPLY_STRING)
		return;
	kind = rep->element[0];
	body = rep->element[2];
	if (strcmp(kind->str, "subscribe") == 0) {
		shared_ready(c);
		return;
	}
	if (strcmp(kind->str, "message") != 0 || body->type != REDIS_REPLY_STRING)
		return;
	if ((e = shared_open(sh, (const uint8_t *)body->str, body->len, &blen)) == SHAREDREC_OK)
		e = sharedrec_decode((const uint8_t *)body->str, blen, NULL, (int64_t)time(NULL),
		                     dom, &rec);
	if (e != SHAREDREC_OK) {
		shared_refused(sh, e, "channel", SHAREDREC_CHANNEL);
		return;
	}
	METRICS_INC(sh->m, shared[METRICS_SHARED_RECEIVED]);
	if (sh->on_rec != NULL)
		sh->on_rec(sh->on_rec_arg, dom, &rec);
}

/* ---- connecting ---- */

static void
shared_connect(struct shared_conn *c)
{
	struct shared *sh = c->sh;
	redisAsyncContext *ac;
	struct timeval tv = sh->timeout;
	char db[16];

	INVARIANT(c->ac == NULL);
	ac = sh->url.is_unix ? redisAsyncConnectUnix(sh->url.path)
	                     : redisAsyncConnect(sh->url.host, (int)sh->url.port);
	INVARIANT(ac != NULL); /* NULL only when out of memory */
	if (ac->err) {
		char why[160];

		(void)snprintf(why, sizeof(why), "%s", ac->errstr);
		redisAsyncFree(ac);
		shared_fail(c, why, 0);
		return;
	}
	ac->data = c;
	c->ac = ac;
	INVARIANT(redisLibeventAttach(ac, sh->base) == REDIS_OK);
	redisAsyncSetConnectCallback(ac, shared_on_connect);
	redisAsyncSetDisconnectCallback(ac, shared_on_disconnect);
	/* Queued now, written once connected; the replies come in this order. */
	if (sh->secret.pass[0] != '\0') {
		const char *argv[3] = {"AUTH", sh->secret.user, sh->secret.pass};
		const char **a = argv;
		int argc = 3;

		if (sh->secret.user[0] == '\0') {
			argv[1] = sh->secret.pass;
			argc = 2;
		}
		if (redisAsyncCommandArgv(ac, shared_on_handshake, c, argc, a, NULL) == REDIS_OK)
			c->handshake++;
	}
	if (!c->is_sub && sh->url.db != 0) {
		(void)snprintf(db, sizeof(db), "%u", sh->url.db);
		if (redisAsyncCommand(ac, shared_on_handshake, c, "SELECT %s", db) == REDIS_OK)
			c->handshake++;
	}
	if (c->is_sub)
		(void)redisAsyncCommand(ac, shared_on_message, c, "SUBSCRIBE %s",
		                        SHAREDREC_CHANNEL);
	if (tv.tv_sec == 0 && tv.tv_usec < SHARED_CONNECT_MIN_MS * 1000) {
		tv.tv_sec = SHARED_CONNECT_MIN_MS / 1000;
		tv.tv_usec = (SHARED_CONNECT_MIN_MS % 1000) * 1000;
	}
	evtimer_add(c->guard, &tv);
}

static void
shared_conn_init(struct shared *sh, struct shared_conn *c, const char *name, int is_sub)
{
	c->sh = sh;
	c->name = name;
	c->is_sub = is_sub;
	c->backoff_ms = SHARED_BACKOFF_MIN_MS;
	c->retry = evtimer_new(sh->base, shared_on_retry, c);
	c->guard = evtimer_new(sh->base, shared_on_guard, c);
	INVARIANT(c->retry != NULL && c->guard != NULL);
}

struct shared *
shared_new(struct event_base *base, const struct cfg *cfg, const struct shared_secret *secret,
           const struct shared_fleet_key *key, struct metrics *m, char *err, size_t errsz)
{
	struct shared *sh;
	struct sharedrec_url url;
	enum sharedrec_url_err e;

	INVARIANT(cfg->shared_cache != NULL);
	e = sharedrec_url_parse(cfg->shared_cache, strlen(cfg->shared_cache), &url);
	if (e != SHAREDREC_URL_OK) { /* cfg.c checked it; a second look costs nothing */
		(void)snprintf(err, errsz, "shared_cache %s: %s", cfg->shared_cache,
		               sharedrec_url_strerror(e));
		return NULL;
	}
	sh = xcalloc(1, sizeof(*sh));
	sh->base = base;
	sh->url = url;
	if (secret != NULL)
		sh->secret = *secret;
	INVARIANT(key != NULL && key->len >= SHARED_FLEET_KEY_MIN &&
	          key->len <= SHARED_FLEET_KEY_MAX);
	sh->key = *key;
	sh->timeout.tv_sec = cfg->shared_cache_timeout / 1000;
	sh->timeout.tv_usec = (cfg->shared_cache_timeout % 1000) * 1000;
	/* Long enough for the holder's fetch; a holder that dies frees it by expiry. */
	sh->lease_ms = cfg->shared_cache_lease ? (cfg->fetch_timeout + 1) * 1000 : 0;
	for (size_t i = 0; i + 1 < sizeof(sh->token); i += 8)
		(void)snprintf(sh->token + i, sizeof(sh->token) - i, "%08x", arc4random());
	sh->m = m;
	sh->state = -1;
	if (m != NULL)
		m->shared_on = 1;
	shared_conn_init(sh, &sh->cmd, "commands", 0);
	shared_conn_init(sh, &sh->sub, "announcements", 1);
	shared_connect(&sh->cmd);
	shared_connect(&sh->sub);
	return sh;
}

void
shared_on_record(struct shared *sh, shared_recv_cb *cb, void *arg)
{
	sh->on_rec = cb;
	sh->on_rec_arg = arg;
}

/* ---- calls ---- */

/* Hand the caller its answer once: rec for a read, got for a lease, both for a poll. */
static void
shared_answer2(struct shared_get *g, const struct cacherec *rec, int got)
{
	shared_get_cb *cb = g->cb;
	shared_lease_cb *lcb = g->lcb;

	g->done = 1;
	g->cb = NULL;
	g->lcb = NULL;
	evtimer_del(g->timer);
	if (cb != NULL)
		cb(g->arg, rec);
	if (lcb != NULL)
		lcb(g->arg, rec, got);
}

static void
shared_answer(struct shared_get *g, const struct cacherec *rec)
{
	shared_answer2(g, rec, -1);
}

/* A value reply (GET, or the first element of a poll): 1 with rec filled when usable. */
static int
shared_value(struct shared_get *g, const redisReply *rep, struct cacherec *rec)
{
	struct shared *sh = g->sh;
	char dom[DNAME_MAX + 1];
	enum sharedrec_err e;
	size_t blen = 0;

	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		METRICS_INC(sh->m, shared[METRICS_SHARED_ERROR]);
		return 0;
	}
	if (rep->type != REDIS_REPLY_STRING) {
		METRICS_INC(sh->m, shared[rep->type == REDIS_REPLY_NIL ? METRICS_SHARED_GET_MISS
		                                                       : METRICS_SHARED_REJECTED]);
		return 0;
	}
	if ((e = shared_open(sh, (const uint8_t *)rep->str, rep->len, &blen)) == SHAREDREC_OK)
		e = sharedrec_decode((const uint8_t *)rep->str, blen, g->domain,
		                     (int64_t)time(NULL), dom, rec);
	if (e != SHAREDREC_OK) {
		/* Garbage, an old, foreign or unauthenticated value: ignored, never applied. */
		shared_refused(sh, e, "domain", g->domain);
		return 0;
	}
	METRICS_INC(sh->m, shared[METRICS_SHARED_GET_HIT]);
	return 1;
}

static void
shared_on_get(struct shared_get *g, redisReply *rep)
{
	struct cacherec rec;

	shared_answer(g, shared_value(g, rep, &rec) ? &rec : NULL);
}

/* The lease and poll scripts' reply: {value or nil, lease taken / still held: 0 or 1}. */
static void
shared_on_poll(struct shared_get *g, redisReply *rep)
{
	struct cacherec rec;
	int ok = 0, held = -1;

	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[1]->type == REDIS_REPLY_INTEGER) {
		ok = shared_value(g, rep->element[0], &rec);
		held = rep->element[1]->integer == 1;
		if (g->kind == SHARED_LEASE && held == 1)
			METRICS_INC(g->sh->m, shared[METRICS_SHARED_LEASE_TAKEN]);
	} else {
		METRICS_INC(g->sh->m, shared[METRICS_SHARED_ERROR]);
	}
	shared_answer2(g, ok ? &rec : NULL, held);
}

static void
shared_on_publish(struct shared_get *g, redisReply *rep)
{
	struct shared *sh = g->sh;
	char esc[160];

	if (rep != NULL && rep->type == REDIS_REPLY_INTEGER) {
		METRICS_INC(
		    sh->m,
		    shared[rep->integer == 1 ? METRICS_SHARED_PUBLISHED : METRICS_SHARED_KEPT]);
		log_debug(LOG_CAT_CACHE, "domain=%s shared=%s", g->domain,
		          rep->integer == 1 ? "published" : "kept-newer");
		return;
	}
	METRICS_INC(sh->m, shared[METRICS_SHARED_ERROR]);
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR) {
		log_escape(rep->str, rep->len, esc, sizeof(esc));
		log_warn_rl("domain", g->domain, "shared-publish-failed", "err=\"%s\"", esc);
	}
}

/* A lease reply that came after its caller stopped waiting (deadline, cancelled discovery):
 * if it says this node took the lease, nobody here will fetch under it, so free it now rather
 * than make the fleet wait out its length. */
static void
shared_late_lease(struct shared_get *g, const redisReply *rep)
{
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[1]->type == REDIS_REPLY_INTEGER && rep->element[1]->integer == 1) {
		log_debug(LOG_CAT_CACHE, "domain=%s shared=lease-freed why=late-reply", g->domain);
		shared_lease_release(g->sh, g->domain);
	}
}

static void
shared_on_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct shared_get *g = priv;

	(void)ac;
	if (r != NULL) /* Redis answers again, even if too late for this caller */
		g->sh->timeouts = 0;
	if (g->done && g->kind == SHARED_LEASE)
		shared_late_lease(g, r);
	if (!g->done) {
		if (g->kind == SHARED_GET)
			shared_on_get(g, r);
		else if (g->kind == SHARED_LEASE || g->kind == SHARED_POLL)
			shared_on_poll(g, r);
		else if (g->kind == SHARED_PUBLISH)
			shared_on_publish(g, r);
	}
	if (g->sh->expiring == g)
		g->sh->expiring = NULL;
	event_free(g->timer);
	free(g);
}

static void
shared_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct shared_get *g = arg;
	struct shared *sh = g->sh;

	(void)fd;
	(void)what;
	/* Our own loop may have been busy past the deadline (a disk flush, a burst of TLS
	 * handshakes) while the reply waited in the socket: read what is there first. Its reply
	 * callback frees g, which clears sh->expiring. */
	if (sh->cmd.ac != NULL && sh->cmd.ready) {
		struct pollfd p = {sh->cmd.ac->c.fd, POLLIN, 0};

		sh->expiring = g;
		if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0)
			redisAsyncHandleRead(sh->cmd.ac);
		if (sh->expiring == NULL)
			return; /* answered in time after all */
		sh->expiring = NULL;
	}
	METRICS_INC(sh->m, shared[METRICS_SHARED_TIMEOUT]);
	shared_answer(g, NULL); /* the caller goes on as if Redis had no answer */
	/* A Redis that no longer answers in time is treated as down: its calls are let go
	 * (g among them: freed here) and the link is reopened later. */
	if (++sh->timeouts >= SHARED_TIMEOUTS_MAX && sh->cmd.ac != NULL)
		shared_fail(&sh->cmd, "calls timed out", 1);
}

static struct shared_get *
shared_call(struct shared *sh, enum shared_kind kind, const char *domain, int argc,
            const char **argv, const size_t *argvlen, shared_get_cb *cb, void *arg)
{
	struct shared_get *g;
	size_t n = strlen(domain);

	/* A call someone waits for is not sent while a call has timed out with no reply
	 * since: Redis is frozen or overloaded, and a lookup that already waited out one
	 * deadline must not wait out a second one (its read, then its lease). The late reply,
	 * or the link dropped after SHARED_TIMEOUTS_MAX timeouts, ends this. Publications and
	 * lease releases still go: nobody waits for them. */
	if (!sh->cmd.ready || (sh->timeouts > 0 && (kind == SHARED_GET || kind == SHARED_LEASE ||
	                                            kind == SHARED_POLL))) {
		METRICS_INC(sh->m, shared[METRICS_SHARED_SKIPPED]);
		return NULL;
	}
	INVARIANT(n <= DNAME_MAX);
	g = xcalloc(1, sizeof(*g));
	g->sh = sh;
	g->kind = kind;
	g->cb = cb;
	g->arg = arg;
	memcpy(g->domain, domain, n + 1);
	g->timer = evtimer_new(sh->base, shared_on_deadline, g);
	INVARIANT(g->timer != NULL);
	if (redisAsyncCommandArgv(sh->cmd.ac, shared_on_reply, g, argc, argv, argvlen) !=
	    REDIS_OK) {
		/* The link is closing: as good as no connection. */
		event_free(g->timer);
		free(g);
		METRICS_INC(sh->m, shared[METRICS_SHARED_SKIPPED]);
		return NULL;
	}
	evtimer_add(g->timer, &sh->timeout);
	return g;
}

struct shared_get *
shared_get_start(struct shared *sh, const char *domain, shared_get_cb *cb, void *arg)
{
	char key[SHAREDREC_KEY_MAX];
	const char *argv[2] = {"GET", key};

	if (sharedrec_key(domain, key, sizeof(key)) != SHAREDREC_OK)
		return NULL;
	return shared_call(sh, SHARED_GET, domain, 2, argv, NULL, cb, arg);
}

struct shared_get *
shared_lease_start(struct shared *sh, const char *domain, shared_lease_cb *cb, void *arg)
{
	char key[SHAREDREC_KEY_MAX], lease[SHAREDREC_KEY_MAX], ms[16];
	const char *argv[7] = {"EVAL", sharedrec_lease_script, "2", key, lease, ms, sh->token};
	struct shared_get *g;

	if (sh->lease_ms == 0 || sharedrec_key(domain, key, sizeof(key)) != SHAREDREC_OK ||
	    sharedrec_lease_key(domain, lease, sizeof(lease)) != SHAREDREC_OK)
		return NULL;
	(void)snprintf(ms, sizeof(ms), "%u", sh->lease_ms);
	g = shared_call(sh, SHARED_LEASE, domain, 7, argv, NULL, NULL, arg);
	if (g != NULL)
		g->lcb = cb;
	return g;
}

struct shared_get *
shared_poll_start(struct shared *sh, const char *domain, shared_lease_cb *cb, void *arg)
{
	char key[SHAREDREC_KEY_MAX], lease[SHAREDREC_KEY_MAX];
	const char *argv[5] = {"EVAL", sharedrec_poll_script, "2", key, lease};
	struct shared_get *g;

	if (sharedrec_key(domain, key, sizeof(key)) != SHAREDREC_OK ||
	    sharedrec_lease_key(domain, lease, sizeof(lease)) != SHAREDREC_OK)
		return NULL;
	g = shared_call(sh, SHARED_POLL, domain, 5, argv, NULL, NULL, arg);
	if (g != NULL)
		g->lcb = cb;
	return g;
}

void
shared_lease_release(struct shared *sh, const char *domain)
{
	char key[SHAREDREC_KEY_MAX];
	const char *argv[5] = {"EVAL", sharedrec_release_script, "1", key, sh->token};

	if (sharedrec_lease_key(domain, key, sizeof(key)) == SHAREDREC_OK)
		(void)shared_call(sh, SHARED_RELEASE, domain, 5, argv, NULL, NULL, NULL);
}

unsigned
shared_lease_ms(const struct shared *sh)
{
	return sh->lease_ms;
}

void
shared_lease_waited(struct shared *sh)
{
	METRICS_INC(sh->m, shared[METRICS_SHARED_LEASE_WAITED]);
}

void
shared_get_cancel(struct shared_get *g)
{
	if (g == NULL)
		return;
	g->done = 1;
	g->cb = NULL;
	g->lcb = NULL;
	evtimer_del(g->timer);
}

void
shared_publish(struct shared *sh, const char *domain, const struct cacherec *rec)
{
	static uint8_t val[SHAREDREC_MAX_BYTES];
	char key[SHAREDREC_KEY_MAX], fetched[24], expires[24], latest[24];
	const char *argv[9] = {"EVAL",  sharedrec_cas_script, "1",
	                       key,     (const char *)val,    fetched,
	                       expires, SHAREDREC_CHANNEL,    latest};
	size_t argvlen[9], vlen;
	int64_t now = (int64_t)time(NULL);

	if (sharedrec_key(domain, key, sizeof(key)) != SHAREDREC_OK ||
	    sharedrec_encode(domain, rec, val, SHAREDREC_BODY_MAX, &vlen) != SHAREDREC_OK ||
	    rec->expires <= now)
		return;
	shared_mac(sh, val, vlen, val + vlen); /* the trailer: SHAREDREC_MAX_BYTES has room */
	vlen += SHAREDREC_MAC_LEN;
	(void)snprintf(fetched, sizeof(fetched), "%" PRId64, rec->fetched);
	(void)snprintf(expires, sizeof(expires), "%" PRId64, rec->expires);
	(void)snprintf(latest, sizeof(latest), "%" PRId64, now + SHAREDREC_SKEW_MAX);
	for (unsigned i = 0; i < 9; i++)
		argvlen[i] = i == 4 ? vlen : strlen(argv[i]);
	/* hiredis copies the arguments into its output buffer: val may be reused at once. */
	(void)shared_call(sh, SHARED_PUBLISH, domain, 9, argv, argvlen, NULL, NULL);
}

static void
shared_conn_fini(struct shared_conn *c)
{
	redisAsyncContext *ac = c->ac;

	/* Lease releases of discoveries cancelled by the stop are still in the output buffer:
	 * one non-blocking write gives them a chance (a few bytes on a live link), so the fleet
	 * need not wait out this node's leases. */
	if (ac != NULL && c->ready)
		redisAsyncHandleWrite(ac);
	c->ac = NULL;
	c->ready = 0;
	if (ac != NULL) {
		ac->data = NULL;
		redisAsyncFree(ac); /* calls in flight get a NULL reply and are freed */
	}
	event_free(c->retry);
	event_free(c->guard);
}

void
shared_free(struct shared *sh)
{
	if (sh == NULL)
		return;
	shared_conn_fini(&sh->cmd);
	shared_conn_fini(&sh->sub);
	explicit_bzero(&sh->secret, sizeof(sh->secret));
	explicit_bzero(&sh->key, sizeof(sh->key));
	free(sh);
}
