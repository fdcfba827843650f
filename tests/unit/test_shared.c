/* SPDX-License-Identifier: MIT */
/*
 * Tests of shared.c against a frozen Redis (an effectful module, so this binary links
 * libevent and hiredis): a socket that accepts connections in the kernel and answers nothing,
 * as redis-server does under SIGSTOP. A read waits out shared_cache_timeout once; after that
 * no read, lease or poll is asked (a cold lookup must not wait out a second deadline) until
 * a reply comes again, which this test then gives.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"
#include "log.h"
#include "metrics.h"
#include "shared.h"

#define TIMEOUT_MS 100 /* shared_cache_timeout */

struct got {
	int calls;
	const struct cacherec *rec;
};

static void
on_get(void *arg, const struct cacherec *rec)
{
	struct got *g = arg;

	g->calls++;
	g->rec = rec;
}

static void
on_lease(void *arg, const struct cacherec *rec, int lease)
{
	(void)lease;
	on_get(arg, rec);
}

/* Run the loop for ms milliseconds. */
static void
spin(struct event_base *base, unsigned ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* A listener on 127.0.0.1 (port chosen by the kernel) that never accepts: connections
 * complete in the kernel, requests are never read. */
static int
frozen_listener(unsigned *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Wake the frozen server: accept the connections so far and answer the one that sent GET
 * with a nil reply (the other is the SUBSCRIBEd link, left alone). 1 if answered. */
static int
thaw_get(int lfd, int fds[2])
{
	int answered = 0;

	for (int i = 0; i < 2; i++) {
		struct pollfd p = {lfd, POLLIN, 0};
		char buf[512];
		ssize_t n;

		if (poll(&p, 1, 1000) != 1)
			break;
		fds[i] = accept(lfd, NULL, NULL);
		assert_true(fds[i] >= 0);
		p.fd = fds[i];
		if (poll(&p, 1, 1000) != 1)
			continue;
		n = read(fds[i], buf, sizeof(buf) - 1);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, "GET") != NULL) {
			assert_int_equal(write(fds[i], "$-1\r\n", 5), 5);
			answered = 1;
		}
	}
	return answered;
}

static void
test_frozen_redis_one_deadline(void **state)
{
	struct event_base *base = event_base_new();
	struct metrics *m = metrics_new(0, "test");
	struct shared *sh;
	struct shared_get *g;
	struct got got = {0, NULL}, more = {0, NULL};
	struct shared_fleet_key key = {.len = SHARED_FLEET_KEY_MIN};
	struct cfg *cfg;
	char text[256], err[256];
	unsigned port;
	uint64_t skipped;
	int lfd = frozen_listener(&port), fds[2] = {-1, -1};

	(void)state;
	assert_non_null(base);
	(void)snprintf(text, sizeof(text),
	               "[daemon]\nshared_cache = redis://127.0.0.1:%u\n"
	               "shared_cache_timeout = %d\nshared_cache_lease = yes\n",
	               port, TIMEOUT_MS);
	cfg = cfg_parse(text, err, sizeof(err));
	assert_non_null(cfg);
	sh = shared_new(base, cfg, NULL, &key, m, err, sizeof(err));
	assert_non_null(sh);
	/* The command link connects (no AUTH, database 0: no handshake); until then, no call. */
	for (int i = 0; i < 100 && (g = shared_get_start(sh, "frozen.test", on_get, &got)) == NULL;
	     i++)
		spin(base, 20);
	assert_non_null(g);
	skipped = m->shared[METRICS_SHARED_SKIPPED];
	spin(base, TIMEOUT_MS / 2);
	assert_int_equal(got.calls, 0); /* waits ... */
	spin(base, TIMEOUT_MS);
	assert_int_equal(got.calls, 1); /* ... one deadline, then goes on without Redis */
	assert_null(got.rec);
	assert_int_equal(m->shared[METRICS_SHARED_TIMEOUT], 1);

	/* The same lookup's lease, another lookup's read, a waiter's poll: none is asked of
	 * a Redis that let a call time out and has said nothing since. */
	assert_null(shared_lease_start(sh, "frozen.test", on_lease, &more));
	assert_null(shared_get_start(sh, "other.test", on_get, &more));
	assert_null(shared_poll_start(sh, "other.test", on_lease, &more));
	assert_int_equal(m->shared[METRICS_SHARED_SKIPPED], skipped + 3);

	/* The late reply to the timed-out read comes: Redis is asked again. */
	assert_true(thaw_get(lfd, fds));
	spin(base, 50);
	assert_int_equal(got.calls, 1); /* its caller had its answer already */
	g = shared_get_start(sh, "other.test", on_get, &more);
	assert_non_null(g);
	shared_get_cancel(g);
	spin(base, TIMEOUT_MS * 2);
	assert_int_equal(more.calls, 0);

	shared_free(sh);
	cfg_unref(cfg);
	metrics_free(m);
	event_base_free(base);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frozen_redis_one_deadline),
	};

	log_init("test_shared", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
