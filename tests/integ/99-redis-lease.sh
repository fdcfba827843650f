#!/bin/bash
# SPDX-License-Identifier: MIT
# Fleet-wide singleflight through the shared cache's fetch lease (issue 11): three daemons
# sharing one Redis get 300 first queries for a new domain at once (100 each, 50 clients in
# parallel): with shared_cache_lease = yes one node fetches and the others take its record
# (nginx's log: one request); with no, each node fetches at most once. A lease holder whose
# fetch fails frees the lease, so the others do not sit out the lease: every answer is the
# fallback, promptly, and nothing is TEMP. A lease nobody will release (a dead or stuck holder,
# or a key planted in Redis) delays a first answer by shared_cache_lease_wait (2 s) at most,
# not by the lease's length (fetch_timeout + 1 s = 6 s here); no lease key is left behind.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

for t in redis-server redis-cli; do
	command -v $t >/dev/null 2>&1 || skip_all "$t not installed (tests/install-deps.sh)"
done

plan 18

redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no --dir "$T" \
	--logfile "$T/redis.log" --daemonize no </dev/null >/dev/null 2>&1 &
bg_track $!
wait_until 10 eval '[ "$(timeout 5 redis-cli -h 127.0.0.1 PING 2>/dev/null)" = PONG ]' ||
	bail "redis-server does not answer"

sts_domain lease1.test 1
sts_domain lease2.test 1
sts_domain lease3.test 1
sts_domain broken.test 1 --status 500
dns_start
web_start

fetches() { grep -c "\"mta-sts\.$1\"\$" "$WEB_DIR/logs/access.log" 2>/dev/null; }

# start_fleet yes|no: three nodes on ports 8461..8463, fresh caches
start_fleet() {
	local n
	for n in 1 2 3; do
		stsd_node "n$n" $((8460 + n))
		rm -rf "$T/cache-n$n"
		mkdir -p "$T/cache-n$n"
		STSD_METRICS=inet:127.0.0.1:$((9460 + n))
		stsd_config daemon.shared_cache=redis://127.0.0.1:6379 daemon.shared_cache_timeout=1000 \
			daemon.shared_cache_lease="$1" daemon.metrics="$STSD_METRICS"
		stsd_start || bail "node $n did not start"
		wait_until 20 grep -q shared-cache-up "$STSD_LOG" || bail "node $n: no Redis"
	done
}
stop_fleet() {
	local n bad=0
	for n in 1 2 3; do
		stsd_node "n$n"
		stsd_stop || bad=1
	done
	return $bad
}

# burst DOMAIN: 300 queries, node by node in turn, 50 in parallel; prints "status answer"
burst() {
	local i
	for i in $(seq 1 100); do
		printf 'inet:127.0.0.1:%s %s\n' 8461 "$1" 8462 "$1" 8463 "$1"
	done >"$T/keys"
	export PFDIR
	timeout 60 xargs -P 50 -n 2 bash -c '
		out=$(timeout 30 postmap -c "$PFDIR" -q "$2" "socketmap:$1:postfix" 2>&1)
		echo "$? $out"' _ <"$T/keys"
}

start_fleet yes
t0=$(now_ms)
burst lease1.test >"$T/r1"
diag "300 queries over 3 nodes in $(($(now_ms) - t0)) ms"
is "$(wc -l <"$T/r1")" 300 "lease: 300 answers"
is "$(grep -c -x -F "0 secure match=mail.lease1.test servername=hostname" "$T/r1")" 300 \
	"lease: every answer the policy" || diag "$(sort "$T/r1" | uniq -c | head -n 5)"
is "$(fetches lease1.test)" 1 "lease: one fetch for the fleet (nginx access log)"
# each node learnt it: the holder by its fetch, the others from its record (waiting on the
# lease, or already announced into their cache by pub/sub)
ok "lease: every node learnt the policy" test "$(grep -l -E \
	'domain=lease1.test event=policy-(learned|from-fleet)' "$T"/mta-stsd-n*.log | wc -l)" = 3
# shared_cache_events_total SERIES-EVENT: summed over the three nodes
events() {
	local n sum=0 v
	for n in 1 2 3; do
		STSD_METRICS=inet:127.0.0.1:$((9460 + n))
		v=$(stsd_metric "mta_stsd_shared_cache_events_total{event=\"$1\"}") || v=0
		sum=$((sum + v))
	done
	echo $sum
}
# A node whose request comes after the holder published and freed the lease takes a lease of
# its own, and finds the holder's record in the same reply: no second fetch (above).
taken=$(events lease-taken)
ok "lease: taken ($taken times: once, or again only by a node that then found the record)" \
	test "$taken" -ge 1 -a "$taken" -le 3
diag "nodes that waited on the lease: $(events lease-waited)"

# the holder's fetch fails: it frees the lease, the others fetch at once (and fail too)
t0=$(now_ms)
burst broken.test >"$T/r3"
t1=$(now_ms)
is "$(grep -c -x -F "1 " "$T/r3")" 300 "failed fetch under a lease: every answer the fallback" ||
	diag "$(sort "$T/r3" | uniq -c | head -n 5)"
ok "  ... without waiting out the lease ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 6000
n=$(fetches broken.test)
ok "  ... each node tried at most once ($n)" test "$n" -ge 1 -a "$n" -le 3

# a lease held by nobody alive: the first answer waits the cap, then the node fetches itself
timeout 5 redis-cli -h 127.0.0.1 SET mta-stsd:v1:lease:lease3.test 1 PX 60000 >/dev/null
stsd_node n1
t0=$(now_ms)
expect lease3.test "$(secure_for mail.lease3.test)" "planted lease: the first answer is the policy"
t1=$(now_ms)
ok "  ... after waiting on the lease up to the 2000 ms cap ($((t1 - t0)) ms)" \
	test $((t1 - t0)) -ge 1800 -a $((t1 - t0)) -lt 3500
is "$(fetches lease3.test)" 1 "  ... fetched by the node itself"
timeout 5 redis-cli -h 127.0.0.1 DEL mta-stsd:v1:lease:lease3.test >/dev/null
ok "lease: all nodes exit 0 (no sanitizer or valgrind report)" stop_fleet
is "$(timeout 5 redis-cli -h 127.0.0.1 --scan --pattern 'mta-stsd:v1:lease:*' | wc -l)" 0 \
	"lease: no lease key is left behind"

start_fleet no
burst lease2.test >"$T/r2"
is "$(wc -l <"$T/r2")" 300 "no lease: 300 answers"
is "$(grep -c -x -F "0 secure match=mail.lease2.test servername=hostname" "$T/r2")" 300 \
	"no lease: every answer the policy" || diag "$(sort "$T/r2" | uniq -c | head -n 5)"
n=$(fetches lease2.test)
ok "no lease: at most one fetch per node ($n)" test "$n" -ge 1 -a "$n" -le 3
is "$(timeout 5 redis-cli -h 127.0.0.1 --scan --pattern 'mta-stsd:v1:lease:*' | wc -l)" 0 \
	"no lease key is left behind"
ok "no lease: all nodes exit 0 (no sanitizer or valgrind report)" stop_fleet
