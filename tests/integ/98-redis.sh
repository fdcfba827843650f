#!/bin/bash
# SPDX-License-Identifier: MIT
# A fleet's shared cache on a real Redis (issue 11): two daemons, A over TCP (database 2,
# AUTH with a password) and B over the unix socket (same database, AUTH as an ACL user with
# only the rights README lists), each with its own LMDB. A policy fetched by A is answered by
# B without a fetch (nginx's log shows one request); a new id B learns reaches A's local
# cache by pub/sub; an older, a corrupt, an oversized and a foreign value planted in Redis,
# or announced on the channel, never replaces a good local record; Redis frozen or stopped:
# both keep answering from LMDB at once, with no TEMP, and a new domain is fetched locally;
# Redis back: both reconnect; a node with a wrong password is refused, says so, and serves on
# its own. Redis killed, restarted empty or from its files, and slow: 98-redis-faults.sh.
# The fleet key (shared_cache_key_file, lib.sh gives every node $T/fleet.key): a node with
# another key (D) neither takes the fleet's value nor has its own (a later fetch of a
# downgraded policy) taken by A or B; the same value as a correctly formed format-1 value (no
# HMAC) or with its HMAC cut off, set and announced, changes nothing either; without a key
# file the daemon does not start and -t fails.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

for t in redis-server redis-cli; do
	command -v $t >/dev/null 2>&1 || skip_all "$t not installed (tests/install-deps.sh)"
done

plan 64

PASS=fleet-secret-$$
KEY=mta-stsd:v1:policy:fleet1.test
RSOCK=$T/redis.sock
mkdir -p "$T/redis"
printf '%s\n' "$PASS" >"$T/a.pass"
printf 'mta-stsd %s-b\n' "$PASS" >"$T/b.pass"
chmod 600 "$T/a.pass" "$T/b.pass"

_redis_pid=""
redis_start() {
	redis-server --port 6379 --bind 127.0.0.1 --unixsocket "$RSOCK" --unixsocketperm 700 \
		--save "" --appendonly no --requirepass "$PASS" --dir "$T/redis" \
		--logfile "$T/redis.log" --daemonize no </dev/null >/dev/null 2>&1 &
	_redis_pid=$!
	bg_track "$_redis_pid"
	wait_until 10 eval '[ "$(rcli PING 2>/dev/null)" = PONG ]' || bail "redis-server does not answer"
}
redis_stop() {
	kill -TERM "$_redis_pid" 2>/dev/null
	timeout 10 tail --pid="$_redis_pid" -f /dev/null
}
rcli() { timeout 5 redis-cli -h 127.0.0.1 -p 6379 -a "$PASS" --no-auth-warning -n 2 "$@"; }
# fetches KEYWORD: policy fetches of mta-sts.KEYWORD so far (nginx's access log)
fetches() { grep -c "\"mta-sts\.$1\"\$" "$WEB_DIR/logs/access.log" 2>/dev/null; }
# logged NODE_LOG PATTERN: a line of that daemon's log matches
logged() { grep -q -- "$2" "$1"; }

sts_domain fleet1.test 1
sts_domain fleet2.test 1
sts_domain fleet3.test 1
sts_domain fleet4.test 1
dns_rr "fleet1.test. 300 IN MX 20 mx2.fleet1.test."
dns_start
web_start
redis_start
# B's ACL user: exactly the rights README's "Fleets" section lists (the script's commands too)
acl_user() {
	rcli ACL SETUSER mta-stsd on ">$PASS-b" '~mta-stsd:v1:*' '&mta-stsd:v1:*' \
		+select +get +eval +set +expireat +publish +exists +del +subscribe >/dev/null
}
acl_user

# A: TCP, database 2, password; B: unix socket, database 2, ACL user. Generous timeout: under
# valgrind a 50 ms deadline could pass before a loopback answer is read.
stsd_node a 8461
stsd_config daemon.shared_cache=redis://127.0.0.1:6379/2 \
	daemon.shared_cache_password_file="$T/a.pass" daemon.shared_cache_timeout=1000
stsd_start || bail "node A did not start"
LOG_A=$STSD_LOG
ok "A connects to Redis (AUTH, SELECT, SUBSCRIBE)" wait_until 20 logged "$LOG_A" shared-cache-up

# ---- a policy fetched by A is answered by B, which joins later, without a fetch
expect fleet1.test "$(secure_for mail.fleet1.test)" "A: policy fetched"
ok "A published it: the key is in Redis, expiring with the policy" \
	wait_until 10 eval '[ "$(rcli EXISTS $KEY)" = 1 ]'
ttl=$(rcli TTL "$KEY")
ok "the key expires within max_age (ttl=$ttl)" test "${ttl:-0}" -gt 86000 -a "${ttl:-0}" -le 86400
rcli --raw GET "$KEY" | head -c -1 >"$T/old.val"
stsd_node b 8462
stsd_config daemon.shared_cache="redis+unix:$RSOCK?db=2" \
	daemon.shared_cache_password_file="$T/b.pass" daemon.shared_cache_timeout=1000 \
	daemon.metrics=inet:127.0.0.1:9462
stsd_start || bail "node B did not start"
LOG_B=$STSD_LOG
ok "B connects over the unix socket as an ACL user" wait_until 20 logged "$LOG_B" shared-cache-up
expect fleet1.test "$(secure_for mail.fleet1.test)" "B: same answer"
is "$(fetches fleet1.test)" 1 "one policy fetch for two nodes (nginx access log)"
ok "B read the fleet's record on its local miss" \
	logged "$LOG_B" "domain=fleet1.test event=policy-from-fleet id=1 mode=enforce max_age=86400 source=read"

# ---- announcements arriving together are stored in one transaction: B is stopped while A
# learns two domains, so both announcements wait in B's socket
b_metric() { STSD_METRICS=inet:127.0.0.1:9462 stsd_metric "$1"; }
c0=$(b_metric mta_stsd_cache_commits_total) r0=$(b_metric mta_stsd_cache_committed_results_total)
kill -STOP "$_stsd_pid"
stsd_node a
expect fleet2.test "$(secure_for mail.fleet2.test)" "A: fleet2.test fetched"
expect fleet3.test "$(secure_for mail.fleet3.test)" "A: fleet3.test fetched"
wait_until 10 eval '[ "$(rcli EXISTS mta-stsd:v1:policy:fleet3.test)" = 1 ]'
stsd_node b
kill -CONT "$_stsd_pid"
ok "B stored both announcements" wait_until 10 eval \
	'logged "$LOG_B" "domain=fleet2.test event=policy-from-fleet id=1 .*source=announcement" &&
	logged "$LOG_B" "domain=fleet3.test event=policy-from-fleet id=1 .*source=announcement"'
is "$(($(b_metric mta_stsd_cache_commits_total) - c0)) $(($(b_metric mta_stsd_cache_committed_results_total) - r0))" \
	"1 2" "in one transaction (commits, results stored)"

# ---- a new id learned by B reaches A's local cache
web_set_policy fleet1.test "$(enforce_policy mx2.fleet1.test)"
dns_rm _mta-sts.fleet1.test.
sts_txt fleet1.test 2
sleep 1.1 # txt_recheck = 1: the next query re-checks the TXT record in the background
q fleet1.test >/dev/null
ok "B fetched id 2 in the background" wait_until 10 eval '[ "$(fetches fleet1.test)" = 2 ]'
ok "A received it by pub/sub and stored it" \
	wait_until 10 logged "$LOG_A" "domain=fleet1.test event=policy-from-fleet id=2"
stsd_node a
expect fleet1.test "$(secure_for mx2.fleet1.test)" "A answers the new policy from its own cache"
sleep 1.2 # A's own re-check finds id 2 with the fleet's fetch: nothing to fetch
q fleet1.test >/dev/null
sleep 1
is "$(fetches fleet1.test)" 2 "A never fetched id 2 itself"

# ---- bad values never replace a good local record
# the id 1 record (older fetch), garbage, a value for another domain, each in the key and on
# the channel, and one over the size limit; then queries make the nodes read the key (TXT
# re-checks)
rcli --raw GET "$KEY" | head -c -1 >"$T/new.val" # id 2, as B published it
rcli -x SET "$KEY" <"$T/old.val" >/dev/null
rcli -x PUBLISH mta-stsd:v1:policy <"$T/old.val" >/dev/null
sleep 1.1
stsd_node a
expect fleet1.test "$(secure_for mx2.fleet1.test)" "A: an older record in Redis is not taken"
# one byte over SHAREDREC_MAX_BYTES (3 magic + 1 version + 1 + DNAME_MAX 253 + CACHEREC_MAX_BYTES
# 20000 + the 32-byte HMAC), with our magic and version: refused for its size before anything
# is checked or decoded
{ printf 'MSR\002'; head -c $((20290 + 1 - 4)) /dev/zero | tr '\0' x; } | rcli -x SET "$KEY" >/dev/null
is "$(rcli STRLEN "$KEY")" 20291 "an oversized value is planted"
sleep 1.1
stsd_node b
expect fleet1.test "$(secure_for mx2.fleet1.test)" "B: oversized value in Redis, good local record kept"
ok "B logged the oversized value and ignored it" \
	wait_until 5 logged "$LOG_B" 'domain=fleet1.test event=shared-value-rejected err="value too large"'
stsd_node a
rcli SET "$KEY" "MSR$(printf '\001')garbage" >/dev/null
rcli PUBLISH mta-stsd:v1:policy "not a record" >/dev/null
sleep 1.1
q fleet1.test >/dev/null
ok "A logged the corrupt value and ignored it" \
	wait_until 5 logged "$LOG_A" "domain=fleet1.test event=shared-value-rejected"
ok "B logged the corrupt announcement and ignored it" \
	wait_until 5 logged "$LOG_B" "event=shared-value-rejected"
expect fleet1.test "$(secure_for mx2.fleet1.test)" "A: corrupt value in Redis, good local record kept"
stsd_node b
expect fleet1.test "$(secure_for mx2.fleet1.test)" "B: good local record kept"
is "$(fetches fleet1.test)" 2 "no fetch caused by any of it"

# ---- values without the fleet key's HMAC are never applied
# D has a key of its own, and the policy host now serves a downgrade (mode testing) for id 2:
# D fetches it (Redis holds garbage) and publishes it, a later fetch than A's and B's; neither
# may take it, from the channel or from the key.
web_set_policy fleet1.test "$(sts_policy testing 86400 mx2.fleet1.test)"
(umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$T/d.key")
stsd_node d 8464
stsd_config daemon.shared_cache=redis://127.0.0.1:6379/2 daemon.shared_cache_password_file="$T/a.pass" \
	daemon.shared_cache_timeout=1000 daemon.shared_cache_key_file="$T/d.key" \
	daemon.metrics=inet:127.0.0.1:9464 # settings carry over from node to node: a port of its own
stsd_start || bail "node D did not start"
LOG_D=$STSD_LOG
ok "D connects to Redis" wait_until 20 logged "$LOG_D" shared-cache-up
expect fleet1.test NOTFOUND "D answers the policy it fetched (mode testing: the fallback)"
is "$(fetches fleet1.test)" 3 "D fetched the policy itself"
ok "D wrote its fetch to Redis (compare-and-set over the garbage)" \
	wait_until 10 eval '[ "$(rcli --raw GET "$KEY" | head -c 3)" = MSR ] && [ "$(rcli STRLEN "$KEY")" -gt 40 ]'
rcli --raw GET "$KEY" | head -c -1 >"$T/d.val"
ok "A ignored D's announcement (logged)" wait_until 10 logged "$LOG_A" \
	'event=shared-value-unauthenticated err="missing or wrong authentication tag'
ok "B ignored D's announcement (logged)" wait_until 10 logged "$LOG_B" \
	'event=shared-value-unauthenticated err="missing or wrong authentication tag'
sleep 1.1 # txt_recheck: the next queries make A and B read D's value from the key
stsd_node a
q fleet1.test >/dev/null
stsd_node b
q fleet1.test >/dev/null
sleep 1
stsd_node a
expect fleet1.test "$(secure_for mx2.fleet1.test)" "A: D's downgrade (announced, in Redis) not taken"
stsd_node b
expect fleet1.test "$(secure_for mx2.fleet1.test)" "B: D's downgrade (announced, in Redis) not taken"
ok "A read D's value from the key and ignored it (logged)" logged "$LOG_A" \
	'domain=fleet1.test event=shared-value-unauthenticated err="missing or wrong authentication tag'
# ... nor does D take the fleet's: A fetches a new domain and publishes it, D fetches it again
stsd_node a
expect fleet4.test "$(secure_for mail.fleet4.test)" "A: fleet4.test fetched"
ok "A published it" wait_until 10 eval '[ "$(rcli EXISTS mta-stsd:v1:policy:fleet4.test)" = 1 ]'
stsd_node d
expect fleet4.test "$(secure_for mail.fleet4.test)" "D answers fleet4.test"
is "$(fetches fleet4.test)" 2 "  ... from its own fetch: the fleet's value is not D's"
ok "D ignored the fleet's value (another key), and logged why" logged "$LOG_D" \
	'domain=fleet4.test event=shared-value-unauthenticated err="missing or wrong authentication tag'
# The same downgrade as a correctly formed format-1 value (what a node wrote before the fleet
# key: no trailer, version 1) and as format 2 with its trailer cut off: set and announced.
{ head -c 3 "$T/d.val"; printf '\001'; tail -c +5 "$T/d.val" | head -c -32; } >"$T/v1.val"
head -c -32 "$T/d.val" >"$T/nomac.val"
for v in v1 nomac; do
	rcli -x SET "$KEY" <"$T/$v.val" >/dev/null
	rcli -x PUBLISH mta-stsd:v1:policy <"$T/$v.val" >/dev/null
	sleep 1.1
	stsd_node a
	q fleet1.test >/dev/null
	stsd_node b
	q fleet1.test >/dev/null
	sleep 0.5
	stsd_node a
	expect fleet1.test "$(secure_for mx2.fleet1.test)" "A: $v value set and announced, policy kept"
	stsd_node b
	expect fleet1.test "$(secure_for mx2.fleet1.test)" "B: $v value set and announced, policy kept"
done
is "$(fetches fleet1.test)" 3 "A and B fetched nothing because of any of it"
# A value claiming a fetch 30 days ahead (Lua cannot check its HMAC) does not hold back the
# fleet's publications: A's next fetch of fleet4.test overwrites it.
le64() { local i; for i in 0 1 2 3 4 5 6 7; do printf "\\$(printf %03o $((($1 >> (8 * i)) & 255)))"; done; }
K4=mta-stsd:v1:policy:fleet4.test
rcli --raw GET "$K4" | head -c -1 >"$T/a4.val"
n=$(head -c 5 "$T/a4.val" | tail -c 1 | od -An -tu1 | tr -d ' ')
{ head -c $((n + 7)) "$T/a4.val"; le64 $(($(date +%s) + 30 * 86400)); tail -c +$((n + 16)) "$T/a4.val"; } >"$T/future.val"
rcli -x SET "$K4" <"$T/future.val" >/dev/null
dns_rm _mta-sts.fleet4.test.
sts_txt fleet4.test 2
sleep 1.1
stsd_node a
q fleet4.test >/dev/null
ok "A fetched fleet4.test id 2 in the background" wait_until 10 eval '[ "$(fetches fleet4.test)" = 3 ]'
ok "  ... and its publication replaced the far-future value" wait_until 10 eval \
	'[ "$(rcli --raw GET "$K4" | head -c -1 | cmp -s - "$T/future.val"; echo $?)" = 1 ] && [ "$(rcli STRLEN "$K4")" -gt 40 ]'
stsd_node d
ok "D exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
web_set_policy fleet1.test "$(enforce_policy mx2.fleet1.test)"
# No key file: refused by -t and at start, with the reason.
stsd_node e 8465
stsd_config daemon.shared_cache_key_file= daemon.metrics=inet:127.0.0.1:9465
out=$("$STSD" -t -c "$STSD_CONF" 2>&1)
rc=$?
ok "-t fails without shared_cache_key_file (rc=$rc)" test $rc = 1
like "$out" "*shared_cache needs shared_cache_key_file*" "  ... and says why"
out=$(timeout 20 "$STSD" -f -c "$STSD_CONF" 2>&1)
rc=$?
ok "the daemon does not start without it (rc=$rc)" test $rc = 1
like "$out" "*shared_cache needs shared_cache_key_file*" "  ... and says why"
stsd_config daemon.shared_cache_key_file="$T/fleet.key"

# ---- Redis frozen, then stopped: LMDB keeps answering at once, nothing is TEMP
kill -STOP "$_redis_pid"
stsd_node a
t0=$(now_ms)
expect fleet1.test "$(secure_for mx2.fleet1.test)" "Redis frozen: A answers from LMDB"
t1=$(now_ms)
ok "  ... without waiting for Redis ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 1000
expect fleet2.test "$(secure_for mail.fleet2.test)" "Redis frozen: a new domain is fetched locally"
kill -CONT "$_redis_pid"
redis_stop
stsd_node b
ok "B noticed Redis went down (logged once)" \
	wait_until 10 eval '[ "$(grep -c shared-cache-down "$LOG_B")" = 1 ]'
expect fleet1.test "$(secure_for mx2.fleet1.test)" "Redis stopped: B answers from LMDB"
expect fleet3.test "$(secure_for mail.fleet3.test)" "Redis stopped: B fetches a new domain itself"
is "$(fetches fleet3.test)" 1 "  ... once"

# ---- Redis back (empty: no persistence): both reconnect with their back-off
redis_start
acl_user
ok "both nodes reconnect" wait_until 40 eval \
	'[ "$(grep -c shared-cache-up "$LOG_A")" = 2 ] && [ "$(grep -c shared-cache-up "$LOG_B")" = 2 ]'

# ---- a node with a wrong password: refused by Redis, logged, and serves from its own cache
printf 'wrong-%s\n' "$PASS" >"$T/c.pass"
stsd_node c 8463
stsd_config daemon.shared_cache=redis://127.0.0.1:6379/2 daemon.shared_cache_password_file="$T/c.pass" \
	daemon.metrics=inet:127.0.0.1:9463
stsd_start || bail "node C did not start"
ok "C: AUTH refused, logged as down" wait_until 10 logged "$STSD_LOG" 'shared-cache-down err="[a-z]*: WRONGPASS'
expect fleet1.test "$(secure_for mx2.fleet1.test)" "C answers anyway (its own fetch)"
ok "C exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop

stsd_node a
ok "A exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
stsd_node b
ok "B exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
