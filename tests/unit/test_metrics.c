/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for metrics.c: the whole exposition of a small known set of counts against the
 * golden file $top_srcdir/tests/data/metrics/render.ref (every HELP/TYPE line and sample,
 * byte for byte; the Grafana dashboard check, tests/dashboard.sh, reads the metric names from
 * that same file); histogram buckets cumulative with an observation on a bound kept in that
 * bucket; label escaping; status and source words; zone slots up to METRICS_ZONES_MAX, then
 * "(other)"; DNS rcodes from the header; NULL metrics counting nothing; a cap too small to
 * hold the text is an error, never a silently cut exposition.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

#define T0 1700000000

/* The set the golden file shows. */
static struct metrics *
sample_set(void)
{
	struct metrics *m = metrics_new(T0, "1.2.3");
	static const uint8_t nx[12] = {0x12, 0x34, 0x81, 0x83};  /* rcode 3 */
	static const uint8_t ok[12] = {0x12, 0x34, 0x81, 0x80};  /* rcode 0 */
	static const uint8_t sf[12] = {0x12, 0x34, 0x81, 0x82};  /* rcode 2 */
	static const uint8_t ref[12] = {0x12, 0x34, 0x81, 0x85}; /* rcode 5 (REFUSED) */

	metrics_answer(m, "postfix", "OK", "cache", 300);          /* <= 0.0005 */
	metrics_answer(m, "postfix", "OK", "fetch", 1000);         /* on the 0.001 bound */
	metrics_answer(m, "postfix", "NOTFOUND", "dns", 2000000);  /* <= 5 */
	metrics_answer(m, "default", "TEMP", "local", 100000000);  /* +Inf */
	metrics_answer(m, METRICS_ZONE_NONE, "PERM", "local", 10); /* <= 0.0005 */
	METRICS_INC(m, cache[METRICS_RECORD_POLICY][METRICS_CACHE_HIT]);
	METRICS_INC(m, cache[METRICS_RECORD_POLICY][METRICS_CACHE_HIT]);
	METRICS_INC(m, cache[METRICS_RECORD_POLICY][METRICS_CACHE_MISS]);
	METRICS_INC(m, cache[METRICS_RECORD_DANE][METRICS_CACHE_ERROR]);
	METRICS_INC(m, sts_events[STS_EV_LEARNED]);
	METRICS_INC(m, sts_events[STS_EV_NO_POLICY]);
	METRICS_INC(m, fetches[STS_FETCH_OK]);
	METRICS_INC(m, fetches[STS_FETCH_HTTP_4XX]);
	METRICS_INC(m, fetches[STS_FETCH_TLS]);
	m->dns_sent = 7;
	metrics_dns(m, ok, sizeof(ok), 0);
	metrics_dns(m, nx, sizeof(nx), 0);
	metrics_dns(m, sf, sizeof(sf), 0);
	metrics_dns(m, ref, sizeof(ref), 0);
	metrics_dns(m, ok, 11, 0); /* header cut short */
	metrics_dns(m, NULL, 0, 1);
	metrics_dns(m, NULL, 0, 0);
	METRICS_INC(m, dane[DANE_INSECURE]);
	METRICS_INC(m, dns_stale_answers);
	METRICS_INC(m, cache_commits);
	METRICS_INC(m, cache_commits);
	METRICS_ADD(m, cache_committed_results, 7);
	METRICS_INC(m, refreshes[METRICS_REFRESH_FAILED]);
	m->connections_accepted = 4;
	m->connections_rejected = 1;
	m->connections_evicted = 5;
	METRICS_SET(m, connections_open, 2);
	m->lookups_started = 3;
	METRICS_SET(m, lookups_inflight, 1);
	m->domains[2] = 1; /* enforce */
	m->domains[3] = 2; /* no-policy */
	m->domains_known = 1;
	return m;
}

static size_t
slurp(const char *path, char *buf, size_t max)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	n = fread(buf, 1, max, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

/* Print the first line where two texts differ (cmocka's message alone is not enough). */
static void
assert_text(const char *got, const char *want)
{
	unsigned line = 1;
	const char *g = got, *w = want;

	if (strcmp(got, want) == 0)
		return;
	while (*g != '\0' && *g == *w) {
		if (*g == '\n') {
			line++;
			got = g + 1;
			want = w + 1;
		}
		g++;
		w++;
	}
	fail_msg("line %u differs:\n got: %.*s\nwant: %.*s", line, (int)strcspn(got, "\n"), got,
	         (int)strcspn(want, "\n"), want);
}

static void
test_golden(void **state)
{
	static char ref[METRICS_RENDER_MAX + 1];
	const char *top = getenv("top_srcdir");
	char path[1024];
	struct metrics *m = sample_set();
	struct strbuf sb;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/metrics/render.ref", top ? top : ".");
	slurp(path, ref, METRICS_RENDER_MAX);
	strbuf_init(&sb, METRICS_RENDER_MAX);
	assert_int_equal(metrics_render(m, &sb), 0);
	if (getenv("METRICS_PRINT") != NULL)
		fputs(sb.data, stdout); /* regenerate: METRICS_PRINT=1 tests/unit/test_metrics */
	assert_text(sb.data, ref);
	strbuf_fini(&sb);
	metrics_free(m);
}

/* The histogram alone, checked here by hand (not only against the golden file). */
static void
test_histogram(void **state)
{
	struct metrics *m = metrics_new(T0, "x");
	struct strbuf sb;
	const char *want = "mta_stsd_request_duration_seconds_bucket{le=\"0.0005\"} 1\n"
	                   "mta_stsd_request_duration_seconds_bucket{le=\"0.001\"} 2\n"
	                   "mta_stsd_request_duration_seconds_bucket{le=\"0.005\"} 2\n"
	                   "mta_stsd_request_duration_seconds_bucket{le=\"0.01\"} 2\n"
	                   "mta_stsd_request_duration_seconds_bucket{le=\"0.05\"} 2\n"
	                   "mta_stsd_request_duration_seconds_bucket{le=\"0.1\"} 2\n"
	                   "mta_stsd_request_duration_seconds_bucket{le=\"0.5\"} 2\n"
	                   "mta_stsd_request_duration_seconds_bucket{le=\"1\"} 2\n"
	                   "mta_stsd_request_duration_seconds_bucket{le=\"5\"} 2\n"
	                   "mta_stsd_request_duration_seconds_bucket{le=\"10\"} 2\n"
	                   "mta_stsd_request_duration_seconds_bucket{le=\"30\"} 3\n"
	                   "mta_stsd_request_duration_seconds_bucket{le=\"90\"} 4\n"
	                   "mta_stsd_request_duration_seconds_bucket{le=\"+Inf\"} 5\n"
	                   "mta_stsd_request_duration_seconds_sum 190.001002\n"
	                   "mta_stsd_request_duration_seconds_count 5\n";
	char got[2048];
	const char *p;

	(void)state;
	metrics_answer(m, "z", "OK", "cache", 500);      /* on the first bound */
	metrics_answer(m, "z", "OK", "cache", 501);      /* just over it */
	metrics_answer(m, "z", "OK", "cache", 10000001); /* just over 10 s */
	metrics_answer(m, "z", "OK", "cache", 90000000); /* on the last bound */
	metrics_answer(m, "z", "OK", "cache", 90000000); /* ... */
	m->latency[METRICS_LATENCY_BUCKETS - 1]--;       /* ... moved to +Inf by hand */
	m->latency[METRICS_LATENCY_BUCKETS]++;
	strbuf_init(&sb, METRICS_RENDER_MAX);
	assert_int_equal(metrics_render(m, &sb), 0);
	p = strstr(sb.data, "mta_stsd_request_duration_seconds_bucket{le=\"0.0005\"}");
	assert_non_null(p);
	assert_true(strlen(want) < sizeof(got));
	snprintf(got, strlen(want) + 1, "%s", p);
	assert_text(got, want);
	strbuf_fini(&sb);
	metrics_free(m);
}

/* Label values are escaped; words map to their status and source. */
static void
test_labels(void **state)
{
	struct metrics *m = metrics_new(T0, "v\"1\\2\n3");
	struct strbuf sb;

	(void)state;
	metrics_answer(m, "a\"b", "TIMEOUT", "elsewhere", 1);
	metrics_answer(m, "a\"b", "WHAT", NULL, 1); /* unknown word: TEMP */
	strbuf_init(&sb, METRICS_RENDER_MAX);
	assert_int_equal(metrics_render(m, &sb), 0);
	assert_non_null(strstr(sb.data, "mta_stsd_build_info{version=\"v\\\"1\\\\2\\n3\"} 1\n"));
	assert_non_null(
	    strstr(sb.data, "mta_stsd_answers_total{zone=\"a\\\"b\",status=\"timeout\"} 1\n"));
	assert_non_null(
	    strstr(sb.data, "mta_stsd_answers_total{zone=\"a\\\"b\",status=\"temp\"} 1\n"));
	assert_non_null(strstr(sb.data, "mta_stsd_answer_sources_total{source=\"local\"} 2\n"));
	assert_null(strstr(sb.data, "(other)"));
	strbuf_fini(&sb);
	metrics_free(m);
}

/* The cached-domains gauge appears once its counts were read, one series per kind. */
static void
test_domains(void **state)
{
	struct metrics *m = metrics_new(T0, "x");
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, METRICS_RENDER_MAX);
	assert_int_equal(metrics_render(m, &sb), 0);
	assert_null(strstr(sb.data, "mta_stsd_cached_domains"));
	m->domains[0] = 1;
	m->domains[1] = 2;
	m->domains[2] = 3;
	m->domains[3] = 4;
	m->domains_known = 1;
	strbuf_reset(&sb);
	assert_int_equal(metrics_render(m, &sb), 0);
	assert_non_null(strstr(sb.data, "# TYPE mta_stsd_cached_domains gauge\n"
	                                "mta_stsd_cached_domains{policy=\"none\"} 1\n"
	                                "mta_stsd_cached_domains{policy=\"testing\"} 2\n"
	                                "mta_stsd_cached_domains{policy=\"enforce\"} 3\n"
	                                "mta_stsd_cached_domains{policy=\"no-policy\"} 4\n"));
	strbuf_fini(&sb);
	metrics_free(m);
}

/* The shared-cache series appear only with shared_cache set: one per event, and the gauge. */
static void
test_shared(void **state)
{
	struct metrics *m = metrics_new(T0, "x");
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, METRICS_RENDER_MAX);
	assert_int_equal(metrics_render(m, &sb), 0);
	assert_null(strstr(sb.data, "shared_cache"));
	m->shared_on = 1;
	METRICS_INC(m, shared[METRICS_SHARED_GET_HIT]);
	METRICS_INC(m, shared[METRICS_SHARED_CONNECT_FAILED]);
	METRICS_INC(m, shared[METRICS_SHARED_CONNECT_FAILED]);
	METRICS_INC(m, shared[METRICS_SHARED_UNAUTHENTICATED]);
	METRICS_SET(m, shared_up, 1);
	strbuf_reset(&sb);
	assert_int_equal(metrics_render(m, &sb), 0);
	assert_non_null(strstr(sb.data,
	                       "# TYPE mta_stsd_shared_cache_events_total counter\n"
	                       "mta_stsd_shared_cache_events_total{event=\"get-hit\"} 1\n"
	                       "mta_stsd_shared_cache_events_total{event=\"get-miss\"} 0\n"));
	assert_non_null(
	    strstr(sb.data, "mta_stsd_shared_cache_events_total{event=\"connect-failed\"} 2\n"
	                    "mta_stsd_shared_cache_events_total{event=\"unauthenticated\"} 1\n"
	                    "# HELP mta_stsd_shared_cache_up 1 while the shared cache (Redis) is "
	                    "connected.\n# TYPE mta_stsd_shared_cache_up gauge\n"
	                    "mta_stsd_shared_cache_up 1\n"));
	strbuf_fini(&sb);
	metrics_free(m);
}

/* METRICS_ZONES_MAX names get their own series, further ones share "(other)". */
static void
test_zone_slots(void **state)
{
	struct metrics *m = metrics_new(T0, "x");
	struct strbuf sb;
	char name[16], line[128];

	(void)state;
	for (unsigned i = 0; i < METRICS_ZONES_MAX + 3; i++) {
		snprintf(name, sizeof(name), "z%u", i);
		metrics_answer(m, name, "OK", "cache", 1);
		metrics_answer(m, name, "OK", "cache", 1);
	}
	assert_int_equal(m->n_zones, METRICS_ZONES_MAX);
	strbuf_init(&sb, METRICS_RENDER_MAX);
	assert_int_equal(metrics_render(m, &sb), 0);
	snprintf(line, sizeof(line), "mta_stsd_answers_total{zone=\"z%u\",status=\"ok\"} 2\n",
	         METRICS_ZONES_MAX - 1);
	assert_non_null(strstr(sb.data, line));
	snprintf(line, sizeof(line), "zone=\"z%u\"", METRICS_ZONES_MAX);
	assert_null(strstr(sb.data, line));
	assert_non_null(
	    strstr(sb.data, "mta_stsd_answers_total{zone=\"(other)\",status=\"ok\"} 6\n"));
	assert_true(sb.len < METRICS_RENDER_MAX / 4); /* the cap is far off even here */
	strbuf_fini(&sb);
	metrics_free(m);
}

/* NULL counts nothing and does not crash; a cap that cannot hold the text is an error. */
static void
test_null_and_cap(void **state)
{
	struct metrics *m = sample_set();
	struct strbuf sb;

	(void)state;
	metrics_answer(NULL, "postfix", "OK", "cache", 1);
	metrics_dns(NULL, NULL, 0, 1);
	METRICS_INC((struct metrics *)NULL, dns_sent);
	METRICS_SET((struct metrics *)NULL, connections_open, 1);
	strbuf_init(&sb, 100);
	assert_int_equal(metrics_render(m, &sb), -1);
	assert_true(sb.len <= 100);
	strbuf_fini(&sb);
	metrics_free(m);
	metrics_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden),       cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_labels),       cmocka_unit_test(test_zone_slots),
	    cmocka_unit_test(test_null_and_cap), cmocka_unit_test(test_domains),
	    cmocka_unit_test(test_shared),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
