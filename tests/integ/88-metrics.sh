#!/bin/bash
# SPDX-License-Identifier: MIT
# Prometheus metrics ([daemon] metrics): after a known set of queries every counter moved by
# exactly what they cause (one policy learned = one fetch ok, three cached answers, a
# NOTFOUND, a TEMP, a 404 policy, a parent key, a malformed request); the latency histogram
# counted each reply; only GET /metrics is served (404, 405, oversized header and body
# refused); a client holding a metrics connection idle, or half a request, does not delay
# the socketmap; the Grafana dashboard's names exist in a live scrape; an address in use
# fails the start with a message; without the key nothing listens.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 51

MHOST=127.0.0.1
MPORT=9461
sts_domain good.test 1
sts_domain gone.test 1 --status 404
dns_start
web_start
# txt_recheck 3600: no background re-check adds lookups while the counts are compared
stsd_config daemon.metrics=inet:$MHOST:$MPORT daemon.txt_recheck=3600
t_before=$(date +%s)
stsd_start || bail "mta-stsd did not start"
t_after=$(date +%s)

# http METHOD PATH [HEADER_LINE] [BODY]: one HTTP/1.0 request over bash /dev/tcp (no client
# tool needed); prints the whole response, CRs removed. Bounded by timeout.
http() {
	timeout 10 bash -c '
		exec 3<>"/dev/tcp/$1/$2" || exit 1
		printf "%s %s HTTP/1.0\r\nHost: metrics\r\n" "$3" "$4" >&3
		[ -z "$5" ] || printf "%s\r\n" "$5" >&3
		[ -z "$6" ] || printf "Content-Length: %d\r\n" "${#6}" >&3
		printf "\r\n%s" "$6" >&3
		tr -d "\r" <&3' http "$MHOST" "$MPORT" "$@" 2>/dev/null
}
# raw_http PRINTF_FORMAT [ARGS...]: send exactly these bytes, print the response (CRs
# removed). What is refused is sent without anything after the point of refusal, so the server
# has read every byte when it answers and closes (unread bytes would reset the connection and
# could destroy the reply before it is read).
raw_http() {
	timeout 10 bash -c '
		exec 3<>"/dev/tcp/$1/$2" || exit 1
		shift 2
		printf "$@" >&3
		tr -d "\r" <&3' raw_http "$MHOST" "$MPORT" "$@" 2>/dev/null
}
# status RESPONSE: the status code of a response
status() { sed -n '1s/^HTTP\/1\.[01] \([0-9]*\).*/\1/p' <<<"$1"; }
# scrape FILE: GET /metrics, body into FILE; 1 unless status 200
scrape() {
	local r
	r=$(http GET /metrics)
	[ "$(status "$r")" = 200 ] || return 1
	sed '1,/^$/d' <<<"$r" >"$1"
}
# val FILE SERIES: the value of one sample ("name" or 'name{label="v",...}'), 0 when absent
val() { awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f) print 0 }' "$1"; }
# delta SERIES: its growth from $T/m0 to $T/m1
delta() { echo $(($(val "$T/m1" "$1") - $(val "$T/m0" "$1"))); }
# sum_of FILE NAME: sum of every sample of metric NAME
sum_of() { awk -v n="$1" 'index($1, n "{") == 1 || $1 == n { s += $2 } END { print s + 0 }' "$2"; }

ok "scrape before any query: 200" scrape "$T/m0"
r=$(http GET /metrics)
like "$r" $'*Content-Type: text/plain; version=0.0.4; charset=utf-8*' "exposition content type"
is "$(val "$T/m0" "mta_stsd_build_info{version=\"$("$STSD" -V | cut -d' ' -f2)\"}")" 1 \
	"build_info carries the version mta-stsd -V prints"
st=$(val "$T/m0" mta_stsd_process_start_time_seconds)
ok "process_start_time_seconds is the start time ($st in $t_before..$t_after)" \
	test "$st" -ge "$t_before" -a "$st" -le "$t_after"

# ---- the queries
SEC=$(secure_for mail.good.test)
expect good.test "$SEC" "good.test: policy learned (one fetch)"
for i in 1 2 3; do expect good.test "$SEC" "good.test again: cached answer $i"; done
expect nx.test NOTFOUND "nx.test: no TXT record, NOTFOUND"
expect gone.test NOTFOUND "gone.test: policy answers 404, NOTFOUND"
expect '[good.test]' 'TEMP *' "[good.test]: host not allowed by the policy, TEMP"
expect .good.test NOTFOUND ".good.test: parent key, NOTFOUND without lookup"
like "$(sm_raw '%s' "$(netstring 'postfix')")" 'REPLY PERM *' "malformed request: PERM"
# every connection closed (postmap and sm_raw are gone); then the second scrape
wait_until 5 eval '[ "$(scrape "$T/m1" && val "$T/m1" mta_stsd_connections_open)" = 0 ]'
ok "scrape after the queries: 200, no socketmap connection open" \
	test "$(val "$T/m1" mta_stsd_connections_open)" = 0

# ---- replies: by zone and status, by source, their latencies
A='mta_stsd_answers_total{zone='
is "$(delta "${A}\"postfix\",status=\"ok\"}") $(delta "${A}\"postfix\",status=\"notfound\"}") $(delta "${A}\"postfix\",status=\"temp\"}") $(delta "${A}\"postfix\",status=\"perm\"}")" \
	"4 3 1 0" "answers in zone postfix: 4 ok, 3 notfound, 1 temp, 0 perm"
is "$(delta "${A}\"(none)\",status=\"perm\"}")" 1 "the malformed request: perm in zone (none)"
is "$(sum_of mta_stsd_answers_total "$T/m1")" 9 "nine replies in all"
S='mta_stsd_answer_sources_total{source='
is "$(delta "${S}\"cache\"}") $(delta "${S}\"fetch\"}") $(delta "${S}\"dns\"}") $(delta "${S}\"local\"}")" \
	"4 1 2 2" "sources: 4 cache (3 + [good.test]: a [host] needs no MX lookup), 1 fetch, 2 dns (nx, gone), 2 local (parent, malformed)"
H=mta_stsd_request_duration_seconds
is "$(delta "${H}_count") $(delta "${H}_bucket{le=\"+Inf\"}")" "9 9" "latency histogram: 9 observations"
ok "latency buckets are cumulative (non-decreasing)" awk -v n="${H}_bucket" \
	'index($1, n) == 1 { if ($2 < p) exit 1; p = $2 }' "$T/m1"
ok "cached answers are fast: at least 3 replies within 5 ms" \
	test "$(val "$T/m1" "${H}_bucket{le=\"0.005\"}")" -ge 3

# ---- cache, MTA-STS outcomes, fetches, DNS, lookups, connections
C='mta_stsd_cache_reads_total{record="policy",result='
is "$(delta "${C}\"hit\"}") $(delta "${C}\"miss\"}") $(delta "${C}\"error\"}")" "4 3 0" \
	"policy cache reads: 4 hits (3 cached + [good.test]), 3 misses, no error"
O='mta_stsd_sts_outcomes_total{outcome='
is "$(delta "${O}\"policy-learned\"}") $(delta "${O}\"fetch-failed\"}") $(delta "${O}\"no-policy\"}")" \
	"1 1 1" "MTA-STS outcomes: policy-learned, fetch-failed, no-policy once each"
is "$(sum_of mta_stsd_sts_outcomes_total "$T/m1")" 3 "no other MTA-STS outcome"
F='mta_stsd_fetches_total{result='
is "$(delta "${F}\"ok\"}") $(delta "${F}\"http-4xx\"}") $(sum_of mta_stsd_fetches_total "$T/m1")" \
	"1 1 2" "fetches: one ok, one http-4xx, nothing else"
sent=$(delta mta_stsd_dns_queries_total)
ended=$(($(sum_of mta_stsd_dns_responses_total "$T/m1") - $(sum_of mta_stsd_dns_responses_total "$T/m0")))
ok "DNS: $sent queries sent (>= 7: 3 TXT, 2 x A+AAAA), $ended ended: every one" \
	test "$sent" -ge 7 -a "$sent" = "$ended"
ok "DNS: the nx.test TXT query counted as nxdomain" \
	test "$(delta 'mta_stsd_dns_responses_total{result="nxdomain"}')" -ge 1
is "$(delta 'mta_stsd_dns_responses_total{result="timeout"}')" 0 "DNS: no timeout"
ok "DANE: every DNS part ended insecure (dnssec = no)" \
	test "$(sum_of mta_stsd_dane_results_total "$T/m1")" = "$(val "$T/m1" 'mta_stsd_dane_results_total{state="insecure"}')"
is "$(delta mta_stsd_lookups_started_total) $(val "$T/m1" mta_stsd_lookups_in_flight)" "3 0" \
	"lookups: 3 started (good, nx, gone), none in flight"
is "$(delta 'mta_stsd_connections_total{result="accepted"}')" 9 "9 socketmap connections (8 postmap, 1 raw)"
is "$(sum_of mta_stsd_refreshes_total "$T/m1")" 0 "no refresh ran"
D='mta_stsd_cached_domains{policy='
is "$(val "$T/m1" "${D}\"enforce\"}") $(val "$T/m1" "${D}\"no-policy\"}") $(sum_of mta_stsd_cached_domains "$T/m1")" \
	"1 2 3" "cached domains: good.test enforced, nx.test and gone.test without a policy"

# ---- only GET /metrics
is "$(status "$(http GET /other)")" 404 "GET /other: 404"
is "$(status "$(http GET /metrics/x)")" 404 "GET /metrics/x: 404"
is "$(status "$(http POST /metrics "" "a=b")")" 405 "POST /metrics: 405"
like "$(http DELETE /metrics)" $'*\nAllow: GET\n*' "DELETE /metrics: 405 names GET in Allow"
is "$(status "$(raw_http 'GET /metrics HTTP/1.0\r\nX-Big: %s\r\n\r\n' "$(head -c 7000 /dev/zero | tr '\0' a)")")" \
	200 "a 7000-byte header: served"
big=$(head -c 9000 /dev/zero | tr '\0' a)
is "$(status "$(raw_http 'GET /metrics HTTP/1.0\r\nX-Big: %s\r\n' "$big")")" 400 \
	"a 9000-byte header (cap 8192): refused, 400 (evhttp's answer to an oversized header)"
is "$(status "$(raw_http 'GET /metrics HTTP/1.0\r\nContent-Length: 5000\r\n\r\n')")" 413 \
	"GET announcing a 5000-byte body (cap 1024): 413"

# ---- a metrics client that holds its connection idle, or half a request, blocks nothing
exec 7<>"/dev/tcp/$MHOST/$MPORT"
exec 8<>"/dev/tcp/$MHOST/$MPORT"
printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n' >&8
t0=$(now_ms)
expect good.test "$SEC" "socketmap answers while two metrics connections hang"
ok "... at once ($(($(now_ms) - t0)) ms < 2000)" test $(($(now_ms) - t0)) -lt 2000
ok "... and a scrape on a third connection works" scrape "$T/m2"
exec 7>&- 8>&-

# ---- the dashboard uses only names the daemon exports
dash=$top_srcdir/packaging/grafana-mta-stsd.json
names=$(grep -o 'mta_stsd_[a-z_]*' "$dash" | sort -u)
missing=""
for n in $names; do grep -q "^$n[{ ]" "$T/m2" || missing="$missing $n"; done
ok "every metric of the Grafana dashboard is in a live scrape ($(wc -w <<<"$names") names)" \
	test -n "$names" -a -z "$missing" || diag "missing:$missing"

ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop

# ---- an address in use fails the start with its reason; without the key nothing listens
stsd_config daemon.metrics=inet:$WEB_IP:443
out=$(timeout 20 "$STSD" -f -c "$STSD_CONF" 2>&1)
rc=$?
is "$rc" 1 "metrics address in use (nginx): start fails, exit 1"
like "$out" "*metrics inet:$WEB_IP:443: Address already in use*" "... saying which address and why"
stsd_config daemon.metrics=
stsd_start || bail "mta-stsd did not start without metrics"
# a reply proves the daemon serves (its listener accepts before its signal handlers are set)
expect .x.test NOTFOUND "without metrics: the daemon serves"
ok "without [daemon] metrics nothing listens on $MPORT" \
	bash -c "! (exec 3<>/dev/tcp/$MHOST/$MPORT) 2>/dev/null"
ok "mta-stsd without metrics exits 0 on SIGTERM" stsd_stop
