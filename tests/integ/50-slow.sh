#!/bin/bash
# SPDX-License-Identifier: MIT
# A policy host that completes the TLS handshake and never answers: its lookup ends with
# the fallback after fetch_timeout, and meanwhile other domains are answered at once
# (one event loop, nothing blocks it).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 8

sts_domain enforce.test 1
sts_domain other.test 1
sts_txt slow.test 1
dns_a mta-sts.slow.test "$SLOW_IP"
dns_start
web_start
slow_start
stsd_config daemon.fetch_timeout=5
stsd_start || bail "mta-stsd did not start"

expect enforce.test "$(secure_for mail.enforce.test)" "control: enforce.test secure"

t0=$(now_ms)
(q slow.test >"$T/slow1.out"; now_ms >"$T/slow1.ms") &
slow1=$!
(q slow.test >"$T/slow2.out"; now_ms >"$T/slow2.ms") &
slow2=$!
sleep 0.5
t1=$(now_ms)
r=$(q other.test)
t2=$(now_ms)
diag "other.test answered in $((t2 - t1)) ms while slow.test pending"
is "$r" "$(secure_for mail.other.test)" "other domain answered while the slow fetch is pending"
if kill -0 $slow1 2>/dev/null && [ $((t2 - t1)) -lt 2000 ]; then
	pass "... in under 2 s, before the slow lookup finished"
else
	fail "... in under 2 s, before the slow lookup finished" "took $((t2 - t1)) ms; slow query finished: $(cat "$T/slow1.out" 2>/dev/null)"
fi
expect enforce.test "$(secure_for mail.enforce.test)" "cached domain answered while the slow fetch is pending"

timeout 30 tail --pid=$slow1 -f /dev/null
timeout 5 tail --pid=$slow2 -f /dev/null
diag "slow.test answered after $(($(cat "$T/slow1.ms" 2>/dev/null || echo 0) - t0)) ms (fetch_timeout=5 s)"
is "$(cat "$T/slow1.out" 2>/dev/null)" NOTFOUND "slow policy host: fallback after the timeout"
is "$(cat "$T/slow2.out" 2>/dev/null)" NOTFOUND "concurrent query for the same slow domain: fallback too"
ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
