#!/bin/bash
# SPDX-License-Identifier: MIT
# 300 Postfix clients, 50 at a time, over three domains, starting with an empty cache
# (concurrent first queries share one lookup per domain): every answer right.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 5

sts_domain enforce.test 1 --policy "$(enforce_policy mail.enforce.test '*.mx.enforce.test')"
dns_rr "enforce.test. 300 IN MX 20 a.mx.enforce.test."
sts_domain testing.test 1 --policy $'version: STSv1\nmode: testing\nmx: mail.testing.test\nmax_age: 86400'
dns_start
web_start
stsd_start || bail "mta-stsd did not start"

# keys: 150 x enforce.test, 100 x testing.test, 50 x notxt.test, interleaved
for i in $(seq 1 50); do printf '%s\n' enforce.test testing.test enforce.test notxt.test enforce.test testing.test; done >"$T/keys"
export PFDIR SM_ADDR
t0=$(now_ms)
timeout 50 xargs -P 50 -n 1 bash -c '
	out=$(timeout 30 postmap -c "$PFDIR" -q "$1" "socketmap:$SM_ADDR:postfix" 2>&1)
	echo "$? $1 $out"' _ <"$T/keys" >"$T/results"
rc=$?
t1=$(now_ms)
diag "300 queries (50 parallel) in $((t1 - t0)) ms"
is "$rc" 0 "all clients finished in time"
is "$(wc -l <"$T/results")" 300 "300 answers"
want_e="0 enforce.test secure match=mail.enforce.test:a.mx.enforce.test servername=hostname"
n_sec=$(grep -c -x -F "$want_e" "$T/results")
n_nf=$(grep -c -x -e "1 testing.test " -e "1 notxt.test " "$T/results")
is "$n_sec $n_nf" "150 150" "every answer right (150 secure, 150 NOTFOUND)" ||
	diag "$(grep -v -x -F -e "$want_e" -e "1 testing.test " -e "1 notxt.test " "$T/results" | sort | uniq -c | head -n 5)"
ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
