#!/bin/bash
# SPDX-License-Identifier: MIT
# A burst of first contacts: 1000 MTA-STS domains never seen, all asked at once over 500
# connections. More lookups at once than the resolver takes queries (unbound drops what is past
# num-queries-per-thread) and than the daemon runs fetches: both wait their turn in the daemon
# (resolver.c, fetch.c) instead of timing out, so every domain gets its policy on the first
# question, and the memory of the burst stays bounded and goes back once it is over.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/../integ/lib.sh"
. "${0%/*}/lib-fault.sh"
. "${0%/*}/lib-abuse.sh"

plan 6

ulimit -n 4096
bulk_domains burst.test 1000 "$(enforce_policy mail.burst.test)"
dns_start
web_start
smload_build
stsd_config daemon.txt_recheck=3600 daemon.dns_timeout=2 daemon.fetch_timeout=10
abuse_asan
stsd_start || bail "mta-stsd did not start"
rss0=$(rss_kb VmRSS)

mapfile -t doms <"$T/bulk-burst.test.domains"
t0=$(now_ms)
sm_load "$T/burst" 500 60 "OK secure match=mail.burst.test" "${doms[@]}"
t1=$(now_ms)
diag "$(cat "$T/burst.sum")" "1000 first contacts over 500 connections in $((t1 - t0)) ms"
like "$(cat "$T/burst.sum")" "requests=1000 errors=0 *" "every one of the 1000 answered secure at once"
is "$(log_count 'fetch-failed|temp|Timeout')" 0 "no DNS timeout, no failed fetch, no TEMP" ||
	diag "$(grep -E 'fetch-failed|temp|Timeout' "$STSD_LOG" | head -n 3)"
is "$(wc -l <"$WEB_DIR/logs/access.log")" 1000 "one fetch per domain"
# Peak: at most 128 fetches at once (a few hundred kB each with this 1000-name certificate);
# afterwards the freed heap goes back to the system (fetch.c trims it a second later).
hwm=$(rss_kb VmHWM)
sleep 1.5
rss1=$(rss_kb VmRSS)
diag "RSS before ${rss0} kB, peak ${hwm} kB, a second after ${rss1} kB"
bound=$((rss0 + 120 * 1024))
[ -n "$ABUSE_ASAN" ] && bound=$((bound + 200 * 1024))
ok "peak RSS bounded (under $bound kB)" [ "$hwm" -lt "$bound" ]
desc="the burst's memory goes back (under 2/3 of the peak a second later)"
if [ -n "$ABUSE_ASAN" ]; then
	# ASan's allocator keeps what it frees (malloc_trim does nothing there)
	pass "$desc # SKIP sanitizer build: its allocator returns no memory"
else
	ok "$desc" [ "$((rss1 * 3))" -lt "$((hwm * 2))" ]
fi
ok "mta-stsd exits 0 on SIGTERM" stsd_stop
