/* SPDX-License-Identifier: MIT */
/*
 * metrics: the daemon's counters and their Prometheus text exposition (format 0.0.4). Pure
 * (P): no I/O, no clock (start time and latencies are given), no globals. It owns struct
 * metrics, a block of plain integers that the effectful modules increment on the event loop
 * (METRICS_INC, metrics_answer, metrics_dns: a few adds and compares, no allocation, so the
 * cached-answer path stays cheap) and metrics_render() turns into text. Label values are
 * escaped as the format asks (\\ \" \n); the latency histogram keeps per-bucket counts and
 * renders them cumulative. Zone labels take at most METRICS_ZONES_MAX slots, then "(other)":
 * the series count stays bounded whatever reloads bring. Serving the text over HTTP is
 * metrics_http.c's; what is counted where is decided by the modules that count.
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Histogram bounds: microseconds for counting, the spelling for the le label. */
static const struct {
	uint64_t us;
	const char *le;
} metrics_buckets[METRICS_LATENCY_BUCKETS] = {
    {500, "0.0005"}, {1000, "0.001"},  {5000, "0.005"},  {10000, "0.01"},
    {50000, "0.05"}, {100000, "0.1"},  {500000, "0.5"},  {1000000, "1"},
    {5000000, "5"},  {10000000, "10"}, {30000000, "30"}, {90000000, "90"},
};

static const char *const metrics_status_names[METRICS_STATUS_N] = {"ok", "notfound", "temp", "perm",
                                                                   "timeout"};
static const char *const metrics_source_names[METRICS_SOURCE_N] = {"cache", "fetch", "dns",
                                                                   "local"};
static const char *const metrics_record_names[METRICS_RECORD_N] = {"policy", "dane"};
static const char *const metrics_domain_names[METRICS_DOMAIN_KINDS] = {"none", "testing", "enforce",
                                                                       "no-policy"};
static const char *const metrics_cache_names[METRICS_CACHE_N] = {"hit", "miss", "error"};
static const char *const metrics_dns_names[METRICS_DNS_N] = {"noerror",     "nxdomain", "servfail",
                                                             "other-rcode", "timeout",  "failed"};
static const char *const metrics_refresh_names[METRICS_REFRESH_N] = {"refreshed", "failed",
                                                                     "deleted"};
static const char *const metrics_shared_names[METRICS_SHARED_N] = {
    "get-hit",      "get-miss",       "skipped",        "published", "kept",
    "received",     "rejected",       "timeout",        "error",     "lease-taken",
    "lease-waited", "connect-failed", "unauthenticated"};

struct metrics *
metrics_new(int64_t start_time, const char *version)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	size_t n = strlen(version);

	m->start_time = start_time;
	if (n > METRICS_VERSION_MAX)
		n = METRICS_VERSION_MAX;
	memcpy(m->version, version, n);
	m->version[n] = '\0';
	return m;
}

void
metrics_free(struct metrics *m)
{
	free(m);
}

/* The row of a zone label: its slot, a new slot, or the "(other)" row once all are taken. */
static unsigned
metrics_zone_row(struct metrics *m, const char *zone)
{
	size_t n;

	for (unsigned i = 0; i < m->n_zones; i++)
		if (strcmp(m->zone[i], zone) == 0)
			return i;
	n = strlen(zone);
	if (m->n_zones == METRICS_ZONES_MAX || n > CFG_ZONE_NAME_MAX)
		return METRICS_ZONES_MAX;
	memcpy(m->zone[m->n_zones], zone, n + 1);
	return m->n_zones++;
}

static enum metrics_status
metrics_status_of(const char *s)
{
	switch (s[0]) {
	case 'O':
		return METRICS_STATUS_OK;
	case 'N':
		return METRICS_STATUS_NOTFOUND;
	case 'P':
		return METRICS_STATUS_PERM;
	case 'T':
		/* "TEMP" or "TIMEOUT" */
		return s[1] == 'I' ? METRICS_STATUS_TIMEOUT : METRICS_STATUS_TEMP;
	default:
		return METRICS_STATUS_TEMP;
	}
}

static enum metrics_source
metrics_source_of(const char *s)
{
	if (s == NULL)
		return METRICS_SOURCE_LOCAL;
	if (strcmp(s, "cache") == 0)
		return METRICS_SOURCE_CACHE;
	if (strcmp(s, "fetch") == 0)
		return METRICS_SOURCE_FETCH;
	if (strcmp(s, "dns") == 0)
		return METRICS_SOURCE_DNS;
	return METRICS_SOURCE_LOCAL;
}

void
metrics_answer(struct metrics *m, const char *zone, const char *status, const char *source,
               uint64_t us)
{
	unsigned b = 0;

	if (m == NULL)
		return;
	m->answers[metrics_zone_row(m, zone)][metrics_status_of(status)]++;
	m->sources[metrics_source_of(source)]++;
	while (b < METRICS_LATENCY_BUCKETS && us > metrics_buckets[b].us)
		b++;
	m->latency[b]++; /* le is "less than or equal": us == bound stays in that bucket */
	m->latency_count++;
	m->latency_sum_us += us;
}

void
metrics_dns(struct metrics *m, const uint8_t *msg, size_t len, int timeout)
{
	enum metrics_dns o;

	if (m == NULL)
		return;
	if (msg == NULL)
		o = timeout ? METRICS_DNS_TIMEOUT : METRICS_DNS_FAILED;
	else if (len < 12)
		o = METRICS_DNS_OTHER_RCODE; /* no complete header (RFC 1035 s4.1.1) */
	else
		switch (msg[3] & 0x0f) { /* RCODE: low four bits of the fourth header byte */
		case 0:
			o = METRICS_DNS_NOERROR;
			break;
		case 2:
			o = METRICS_DNS_SERVFAIL;
			break;
		case 3:
			o = METRICS_DNS_NXDOMAIN;
			break;
		default:
			o = METRICS_DNS_OTHER_RCODE;
			break;
		}
	m->dns[o]++;
}

/* ---- rendering ---- */

/* Appends go through one accumulated status: the first failure (cap reached) sticks. */
struct out {
	struct strbuf *sb;
	int err;
};

static void
put(struct out *o, const char *s)
{
	if (o->err == 0 && strbuf_puts(o->sb, s) != 0)
		o->err = -1;
}

/* A label value, escaped: backslash, double quote and line feed (exposition format 0.0.4). */
static void
put_value(struct out *o, const char *v)
{
	for (const char *p = v; *p != '\0' && o->err == 0; p++) {
		const char *rep = NULL;
		char one[2] = {*p, '\0'};

		if (*p == '\\')
			rep = "\\\\";
		else if (*p == '"')
			rep = "\\\"";
		else if (*p == '\n')
			rep = "\\n";
		put(o, rep != NULL ? rep : one);
	}
}

static void
header(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP ");
	put(o, name);
	put(o, " ");
	put(o, help);
	put(o, "\n# TYPE ");
	put(o, name);
	put(o, " ");
	put(o, type);
	put(o, "\n");
}

static void
put_u64(struct out *o, uint64_t v)
{
	if (o->err == 0 && strbuf_printf(o->sb, "%" PRIu64 "\n", v) != 0)
		o->err = -1;
}

/* name{k1="v1",k2="v2"} value; k2 may be NULL (one label) and k1 too (no label). */
static void
sample(struct out *o, const char *name, const char *k1, const char *v1, const char *k2,
       const char *v2, uint64_t value)
{
	put(o, name);
	if (k1 != NULL) {
		put(o, "{");
		put(o, k1);
		put(o, "=\"");
		put_value(o, v1);
		put(o, "\"");
		if (k2 != NULL) {
			put(o, ",");
			put(o, k2);
			put(o, "=\"");
			put_value(o, v2);
			put(o, "\"");
		}
		put(o, "}");
	}
	put(o, " ");
	put_u64(o, value);
}

/* One counter with one label over a fixed set of values. */
static void
by_label(struct out *o, const char *name, const char *help, const char *type, const char *key,
         const char *const *names, const uint64_t *v, unsigned n)
{
	header(o, name, type, help);
	for (unsigned i = 0; i < n; i++)
		sample(o, name, key, names[i], NULL, NULL, v[i]);
}

static void
render_answers(struct out *o, const struct metrics *m)
{
	const char *name = "mta_stsd_answers_total";

	header(o, name, "counter", "Socketmap replies sent, by zone (socketmap name) and status.");
	for (unsigned z = 0; z <= METRICS_ZONES_MAX; z++) {
		const char *zn = z < m->n_zones ? m->zone[z] : METRICS_ZONE_OTHER;
		uint64_t any = 0;

		if (z >= m->n_zones && z < METRICS_ZONES_MAX)
			continue;
		for (unsigned s = 0; s < METRICS_STATUS_N; s++)
			any |= m->answers[z][s];
		if (z == METRICS_ZONES_MAX && any == 0)
			continue; /* "(other)" only once used */
		for (unsigned s = 0; s < METRICS_STATUS_N; s++)
			sample(o, name, "zone", zn, "status", metrics_status_names[s],
			       m->answers[z][s]);
	}
}

static void
render_latency(struct out *o, const struct metrics *m)
{
	const char *name = "mta_stsd_request_duration_seconds";
	uint64_t cum = 0;

	header(o, name, "histogram",
	       "Time from a socketmap request's arrival to its reply being sent.");
	for (unsigned b = 0; b <= METRICS_LATENCY_BUCKETS; b++) {
		cum += m->latency[b];
		sample(o, "mta_stsd_request_duration_seconds_bucket", "le",
		       b < METRICS_LATENCY_BUCKETS ? metrics_buckets[b].le : "+Inf", NULL, NULL,
		       cum);
	}
	if (o->err == 0 &&
	    strbuf_printf(o->sb, "%s_sum %" PRIu64 ".%06" PRIu64 "\n", name,
	                  m->latency_sum_us / 1000000, m->latency_sum_us % 1000000) != 0)
		o->err = -1;
	sample(o, "mta_stsd_request_duration_seconds_count", NULL, NULL, NULL, NULL,
	       m->latency_count);
}

int
metrics_render(const struct metrics *m, struct strbuf *sb)
{
	struct out o = {sb, 0};
	const char *sts_names[STS_EV_REFRESHED + 1], *fetch_names[STS_FETCH_N],
	    *dane_names[DANE_ERROR + 1];

	for (unsigned i = 0; i <= STS_EV_REFRESHED; i++)
		sts_names[i] = sts_event_name((enum sts_event)i);
	for (unsigned i = 0; i < STS_FETCH_N; i++)
		fetch_names[i] = sts_fetch_result_name((enum sts_fetch_result)i);
	for (unsigned i = 0; i <= DANE_ERROR; i++)
		dane_names[i] = dane_state_name((enum dane_state)i);

	header(&o, "mta_stsd_build_info", "gauge", "Version of the running mta-stsd; always 1.");
	sample(&o, "mta_stsd_build_info", "version", m->version, NULL, NULL, 1);
	header(&o, "mta_stsd_process_start_time_seconds", "gauge",
	       "Start time of the process since the Unix epoch, in seconds.");
	sample(&o, "mta_stsd_process_start_time_seconds", NULL, NULL, NULL, NULL,
	       m->start_time > 0 ? (uint64_t)m->start_time : 0);

	render_answers(&o, m);
	by_label(&o, "mta_stsd_answer_sources_total",
	         "Socketmap replies by where the answer came from.", "counter", "source",
	         metrics_source_names, m->sources, METRICS_SOURCE_N);
	render_latency(&o, m);

	header(&o, "mta_stsd_cache_reads_total", "counter",
	       "Cache reads of a request, by record kind and result.");
	for (unsigned r = 0; r < METRICS_RECORD_N; r++)
		for (unsigned c = 0; c < METRICS_CACHE_N; c++)
			sample(&o, "mta_stsd_cache_reads_total", "record", metrics_record_names[r],
			       "result", metrics_cache_names[c], m->cache[r][c]);

	/* Index 0 (running / none) is no outcome: left out. */
	by_label(&o, "mta_stsd_sts_outcomes_total",
	         "MTA-STS discoveries (requests and refreshes) by outcome.", "counter", "outcome",
	         sts_names + 1, m->sts_events + 1, STS_EV_REFRESHED);
	by_label(&o, "mta_stsd_fetches_total", "Policy fetches (HTTPS GET) by result.", "counter",
	         "result", fetch_names + 1, m->fetches + 1, STS_FETCH_N - 1);
	header(&o, "mta_stsd_dns_queries_total", "counter", "DNS queries sent.");
	sample(&o, "mta_stsd_dns_queries_total", NULL, NULL, NULL, NULL, m->dns_sent);
	by_label(&o, "mta_stsd_dns_responses_total",
	         "DNS queries ended, by rcode of the answer or why none came (cancelled queries "
	         "are not counted).",
	         "counter", "result", metrics_dns_names, m->dns, METRICS_DNS_N);
	by_label(&o, "mta_stsd_dane_results_total",
	         "DNS (MX/DANE) lookups of destinations, by DANE state found.", "counter", "state",
	         dane_names, m->dane, DANE_ERROR + 1);
	header(&o, "mta_stsd_dns_stale_answers_total", "counter",
	       "Cached answers given from an expired DNS record while it is renewed (dns_stale).");
	sample(&o, "mta_stsd_dns_stale_answers_total", NULL, NULL, NULL, NULL,
	       m->dns_stale_answers);
	header(&o, "mta_stsd_cache_commits_total", "counter",
	       "Cache transactions that stored what lookups learnt (one disk flush each).");
	sample(&o, "mta_stsd_cache_commits_total", NULL, NULL, NULL, NULL, m->cache_commits);
	header(&o, "mta_stsd_cache_committed_results_total", "counter",
	       "Lookup results and fleet announcements those transactions stored, together (group "
	       "commit).");
	sample(&o, "mta_stsd_cache_committed_results_total", NULL, NULL, NULL, NULL,
	       m->cache_committed_results);
	by_label(&o, "mta_stsd_refreshes_total", "Proactive policy refreshes by result.", "counter",
	         "result", metrics_refresh_names, m->refreshes, METRICS_REFRESH_N);

	header(&o, "mta_stsd_connections_total", "counter",
	       "Socketmap connections accepted (served), closed at once (max_connections, none "
	       "idle) or closed idle to make room for a new one (max_connections).");
	sample(&o, "mta_stsd_connections_total", "result", "accepted", NULL, NULL,
	       m->connections_accepted);
	sample(&o, "mta_stsd_connections_total", "result", "rejected", NULL, NULL,
	       m->connections_rejected);
	sample(&o, "mta_stsd_connections_total", "result", "evicted", NULL, NULL,
	       m->connections_evicted);
	header(&o, "mta_stsd_connections_open", "gauge", "Socketmap connections open now.");
	sample(&o, "mta_stsd_connections_open", NULL, NULL, NULL, NULL, m->connections_open);
	header(&o, "mta_stsd_lookups_started_total", "counter",
	       "Destination lookups started (requests the cache did not settle, TXT re-checks).");
	sample(&o, "mta_stsd_lookups_started_total", NULL, NULL, NULL, NULL, m->lookups_started);
	header(&o, "mta_stsd_lookups_in_flight", "gauge", "Destination lookups running now.");
	sample(&o, "mta_stsd_lookups_in_flight", NULL, NULL, NULL, NULL, m->lookups_inflight);
	if (m->domains_known)
		by_label(
		    &o, "mta_stsd_cached_domains",
		    "Domains in the cache, by the mode of their cached policy (valid or expired), "
		    "or no-policy.",
		    "gauge", "policy", metrics_domain_names, m->domains, METRICS_DOMAIN_KINDS);
	if (m->shared_on) {
		by_label(&o, "mta_stsd_shared_cache_events_total",
		         "Shared cache (Redis) reads, writes, announcements and failures.",
		         "counter", "event", metrics_shared_names, m->shared, METRICS_SHARED_N);
		header(&o, "mta_stsd_shared_cache_up", "gauge",
		       "1 while the shared cache (Redis) is connected.");
		sample(&o, "mta_stsd_shared_cache_up", NULL, NULL, NULL, NULL, m->shared_up);
	}
	return o.err;
}
