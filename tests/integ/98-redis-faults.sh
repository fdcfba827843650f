#!/bin/bash
# SPDX-License-Identifier: MIT
# The fleet's shared cache when Redis fails (issue 11): two daemons A and B share one Redis.
#  1. Redis is killed (SIGKILL) while both nodes publish, during a burst of first queries for
#     60 domains: every answer of the burst is the policy, and during the outage each node
#     still answers every domain it knew from LMDB and fetches new ones itself, nothing TEMP;
#     each node logs the outage once. Redis comes back empty: each node logs it back once.
#  2. What "resynchronise" means here, tested: (a) nothing is pushed at reconnect: a policy a
#     node learnt during the outage reaches Redis when that node next fetches it (a new id;
#     or the refresh); (b) pub/sub works again: B takes the new id A publishes, no fetch;
#     (c) Redis restored from its files never takes a node back in time: a record older than
#     the nodes' (planted with redis-cli before the kill, so the append-only file restores it)
#     is read on the nodes' TXT re-checks (metrics: get-hit) and is not taken.
#  3. Redis frozen (SIGSTOP, longer than shared_cache_timeout) during cold lookups: each one
#     answers within shared_cache_timeout + a normal cold lookup's time + a margin (it waits
#     out one deadline, not one for its read and another for its lease); a cached answer
#     does not wait at all; once Redis thaws, a node asks it again.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"
. "${0%/*}/../fault/lib-fault.sh" # bulk_domains

for t in redis-server redis-cli; do
	command -v $t >/dev/null 2>&1 || skip_all "$t not installed (tests/install-deps.sh)"
done

plan 43

TIMEOUT=1000 # shared_cache_timeout (ms, the most allowed): room for a loopback answer under
#              valgrind, and a wait of one timeout too many stands out against the margin
MARGIN=700   # ms on top of the bound for a frozen Redis (scheduling, valgrind)
RDIR=$T/redis
mkdir -p "$RDIR"
SECURE_B="secure match=mail.burst.test servername=hostname"
SECURE_O="secure match=mail.out.test servername=hostname"
SECURE_B2="secure match=mail.burst2.test servername=hostname"
SECURE_C="secure match=mail.cold.test servername=hostname"

_redis_pid=""
# redis_start [persist]: Redis on 127.0.0.1:6379; persist: an append-only file in $RDIR,
# written before each reply (appendfsync always), read back at the next start
redis_start() {
	local p=(--save "" --appendonly no)
	[ "${1:-}" != persist ] || p=(--save "" --appendonly yes --appendfsync always)
	redis-server --port 6379 --bind 127.0.0.1 "${p[@]}" --dir "$RDIR" \
		--logfile "$T/redis.log" --daemonize no </dev/null >/dev/null 2>&1 &
	_redis_pid=$!
	bg_track "$_redis_pid"
	wait_until 10 eval '[ "$(rcli PING 2>/dev/null)" = PONG ]' || bail "redis-server does not answer"
}
redis_kill9() {
	kill -KILL "$_redis_pid"
	wait "$_redis_pid" 2>/dev/null
}
rcli() { timeout 5 redis-cli -h 127.0.0.1 -p 6379 "$@"; }
fetches() { grep -c "\"mta-sts\.$1\"\$" "$WEB_DIR/logs/access.log" 2>/dev/null; }
bulk_fetches() { grep -c "\"mta-sts\.d[0-9]*\.$1\"\$" "$WEB_DIR/logs/access.log" 2>/dev/null; }
# count NODE PATTERN: lines of the node's log matching PATTERN
count() { grep -c -- "$2" "$T/mta-stsd-$1.log"; }
# event NODE EVENT: the node's shared-cache event counter (metrics)
event() {
	local port=9461
	[ "$1" = a ] || port=9462
	STSD_METRICS=inet:127.0.0.1:$port stsd_metric "mta_stsd_shared_cache_events_total{event=\"$2\"}"
}
# ask OUT DOMAIN_FILE: every domain of the file asked of A and of B, 20 queries in parallel;
# OUT gets "NODE DOMAIN STATUS ANSWER" lines
ask() {
	local d
	while read -r d; do printf '%s\n' "a 8461 $d" "b 8462 $d"; done <"$2" >"$1.keys"
	export PFDIR
	timeout 60 xargs -P 20 -n 3 bash -c '
		out=$(timeout 30 postmap -c "$PFDIR" -q "$3" "socketmap:inet:127.0.0.1:$2:postfix" 2>&1)
		echo "$1 $3 $? ${out//$'"'\n'"'/ }"' _ <"$1.keys" >"$1"
}
# all_secure OUT WANT: every line of OUT (as ask writes them) answered WANT
all_secure() {
	local n bad
	n=$(wc -l <"$1.keys")
	bad=$(grep -v -c -F " 0 $2" "$1")
	[ "$(wc -l <"$1")" = "$n" ] && [ "$bad" = 0 ] && return 0
	diag "$(wc -l <"$1") answers of $n, $bad not '$2':" "$(grep -v -F " 0 $2" "$1" | head -n 5)"
	return 1
}
# timed NODE DOMAIN: "MS ANSWER" of one query
timed() {
	local t0 got
	stsd_node "$1"
	t0=$(now_ms)
	got=$(q "$2")
	echo "$(($(now_ms) - t0)) $got"
}

bulk_domains burst.test 60 "$(enforce_policy mail.burst.test)"
bulk_domains burst2.test 40 "$(enforce_policy mail.burst2.test)"
bulk_domains out.test 10 "$(enforce_policy mail.out.test)"
bulk_domains cold.test 7 "$(enforce_policy mail.cold.test)"
sts_domain lrn.test 1
sts_domain pers.test 1
dns_rr "lrn.test. 300 IN MX 20 mx2.lrn.test."
dns_rr "pers.test. 300 IN MX 20 mx2.pers.test."
dns_start
web_start
redis_start

stsd_node a 8461
stsd_config daemon.shared_cache=redis://127.0.0.1:6379 daemon.shared_cache_timeout=$TIMEOUT \
	daemon.metrics=inet:127.0.0.1:9461
stsd_start || bail "node A did not start"
stsd_node b 8462
stsd_config daemon.metrics=inet:127.0.0.1:9462
stsd_start || bail "node B did not start"
ok "both nodes connect to Redis" wait_until 20 eval \
	'[ "$(count a shared-cache-up)" = 1 ] && [ "$(count b shared-cache-up)" = 1 ]'

# ---- 1. killed while both nodes publish a burst of first queries
sed -n '1,60p' "$T/bulk-burst.test.domains" >"$T/set1"
ask "$T/r1" "$T/set1" &
burst=$!
wait_until 60 eval '[ "$(bulk_fetches burst.test)" -ge 15 ]'
at_kill=$(bulk_fetches burst.test)
redis_kill9
wait $burst
total=$(bulk_fetches burst.test)
diag "policy fetches: $at_kill when Redis was killed, $total in all"
ok "Redis was killed in the middle of the burst" test "$at_kill" -lt "$total"
ok "every answer of the burst is the policy (120: 60 domains, both nodes)" all_secure "$T/r1" "$SECURE_B"
ok "  ... with at most one fetch per node and domain ($total)" test "$total" -le 120
ok "A logs the outage" wait_until 10 eval '[ "$(count a shared-cache-down)" = 1 ]'
ok "B logs the outage" wait_until 10 eval '[ "$(count b shared-cache-down)" = 1 ]'
ask "$T/r1o" "$T/set1"
ok "Redis down: each node answers all 60 from LMDB" all_secure "$T/r1o" "$SECURE_B"
ask "$T/r1n" "$T/bulk-out.test.domains"
ok "Redis down: 10 new domains get their fetched policy on each node" all_secure "$T/r1n" "$SECURE_O"
stsd_node a
expect lrn.test "$(secure_for mail.lrn.test)" "Redis down: A learns lrn.test"
stsd_node b
expect lrn.test "$(secure_for mail.lrn.test)" "Redis down: B learns lrn.test"
is "$(count a shared-cache-down) $(count b shared-cache-down)" "1 1" "the outage is logged once per node"
# a cold lookup without Redis (TXT, policy host, fetch), the slower of two: item 3's yardstick
read -r t_norm got < <(timed a d1.cold.test)
read -r t got2 < <(timed b d1.cold.test)
[ "$t" -le "$t_norm" ] || t_norm=$t
like "$got $got2" "OK $SECURE_C OK $SECURE_C" "a cold lookup without Redis takes $t_norm ms"

# ---- back, empty (and from now on with an append-only file)
redis_start persist
ok "both nodes reconnect" wait_until 40 eval \
	'[ "$(count a shared-cache-up)" = 2 ] && [ "$(count b shared-cache-up)" = 2 ]'
is "$(rcli EXISTS mta-stsd:v1:policy:lrn.test)" 0 "nothing is pushed at reconnect"
# lrn.test gets id 2: A's re-check fetches it and publishes; B takes it from the channel
web_set_policy lrn.test "$(enforce_policy mx2.lrn.test)"
dns_rm _mta-sts.lrn.test.
sts_txt lrn.test 2
sleep 1.1
stsd_node a
q lrn.test >/dev/null
ok "A fetches id 2 (its re-check)" wait_until 10 eval '[ "$(fetches lrn.test)" = 3 ]'
ok "  ... and publishes it" wait_until 10 eval '[ "$(rcli EXISTS mta-stsd:v1:policy:lrn.test)" = 1 ]'
ok "B takes id 2 from the channel" wait_until 10 grep -q \
	"domain=lrn.test event=policy-from-fleet id=2 .*source=announcement" "$T/mta-stsd-b.log"
stsd_node b
expect lrn.test "$(secure_for mx2.lrn.test)" "B answers id 2's policy"
sleep 1.1
q lrn.test >/dev/null
sleep 0.5
is "$(fetches lrn.test)" 3 "B never fetched id 2 (its re-check found it known)"

# ---- 2. an older record in Redis's files comes back after a kill: no node takes it
KEY=mta-stsd:v1:policy:pers.test
stsd_node a
expect pers.test "$(secure_for mail.pers.test)" "A learns pers.test id 1"
ok "  ... and publishes it" wait_until 10 eval '[ "$(rcli EXISTS $KEY)" = 1 ]'
rcli --raw GET "$KEY" | head -c -1 >"$T/old.val"
web_set_policy pers.test "$(enforce_policy mx2.pers.test)"
dns_rm _mta-sts.pers.test.
sts_txt pers.test 2
sleep 1.1
q pers.test >/dev/null
ok "B takes id 2 from A's publication" wait_until 10 grep -q \
	"domain=pers.test event=policy-from-fleet id=2 .*source=announcement" "$T/mta-stsd-b.log"
stsd_node b
expect pers.test "$(secure_for mx2.pers.test)" "B answers it (and has the MX set from now on)"
rcli -x SET "$KEY" <"$T/old.val" >/dev/null
sed -n '1,40p' "$T/bulk-burst2.test.domains" >"$T/set2"
ask "$T/r2" "$T/set2" &
burst=$!
wait_until 60 eval '[ "$(bulk_fetches burst2.test)" -ge 10 ]'
redis_kill9
wait $burst
ok "killed again during a burst: every answer the policy" all_secure "$T/r2" "$SECURE_B2"
ok "both nodes log the second outage once" wait_until 10 eval \
	'[ "$(count a shared-cache-down)" = 2 ] && [ "$(count b shared-cache-down)" = 2 ]'
ask "$T/r2o" "$T/set1"
ok "Redis down: each node answers the first 60 from LMDB" all_secure "$T/r2o" "$SECURE_B"
ask "$T/r2o2" "$T/set2"
ok "  ... and the 40 of this burst" all_secure "$T/r2o2" "$SECURE_B2"
redis_start persist
cmp -s "$T/old.val" <(rcli --raw GET "$KEY" | head -c -1)
ok "Redis restarted from its append-only file holds the older record" test $? = 0
ok "both nodes reconnect once" wait_until 40 eval \
	'[ "$(count a shared-cache-up)" = 3 ] && [ "$(count b shared-cache-up)" = 3 ]'
hits_a=$(event a get-hit) hits_b=$(event b get-hit)
diag "get-hit before the re-checks: A $hits_a, B $hits_b"
sleep 1.1
for n in a b; do
	stsd_node $n
	q pers.test >/dev/null # answered from LMDB; the TXT re-check reads the record in Redis
done
ok "both nodes' re-checks read the restored record" wait_until 10 eval \
	'[ "$(event a get-hit)" -gt "$hits_a" ] && [ "$(event b get-hit)" -gt "$hits_b" ]'
stsd_node a
expect pers.test "$(secure_for mx2.pers.test)" "A keeps id 2"
stsd_node b
expect pers.test "$(secure_for mx2.pers.test)" "B keeps id 2"
is "$(fetches pers.test)" 2 "no fetch caused by it"

# ---- 3. frozen for longer than shared_cache_timeout during cold lookups
bound=$((TIMEOUT + t_norm + MARGIN))
kill -STOP "$_redis_pid"
read -r t got < <(timed a d2.cold.test)
like "$got" "OK $SECURE_C" "Redis frozen: a cold lookup on A gets its policy"
ok "  ... in $t ms (bound $bound: timeout $TIMEOUT + $t_norm + $MARGIN)" test "$t" -le "$bound"
stsd_node b
pids=()
for d in d3 d4 d5 d6; do
	timed b $d.cold.test >"$T/cold.$d" &
	pids+=($!)
done
wait "${pids[@]}"
diag "$(cat "$T"/cold.d*)"
worst=$(sort -n "$T"/cold.d* | tail -n 1 | cut -d' ' -f1)
is "$(cat "$T"/cold.d* | grep -c -F "OK $SECURE_C")" 4 "Redis frozen: 4 parallel cold lookups on B get their policy"
ok "  ... the slowest in $worst ms (bound $bound)" test "$worst" -le "$bound"
read -r t got < <(timed a d1.cold.test)
like "$got" "OK $SECURE_C" "Redis frozen: a cached answer ..."
ok "  ... without waiting ($t ms)" test "$t" -lt "$TIMEOUT"
kill -CONT "$_redis_pid"
# A let a read and a publication time out, too few to drop its link: the late replies tell it
# Redis answers again, and its next cold lookup reads the fleet's record again
misses=$(event a get-miss)
sleep 0.5
stsd_node a
expect d7.cold.test "OK $SECURE_C" "Redis thawed: a cold lookup on A gets its policy"
ok "  ... and read Redis again (get-miss $misses -> $(event a get-miss))" \
	test "$(event a get-miss)" -gt "$misses"

stsd_node a
ok "A exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
stsd_node b
ok "B exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
