#!/bin/bash
# SPDX-License-Identifier: MIT
# mta-stsctl cache list|show|purge and query --why against a running daemon: LMDB lets the CLI
# read (and, for purge, write) beside it. Domains: enforce.test (enforce), testing.test
# (testing), nopol.test (no TXT record; "no policy" remembered 300 s), short.test (enforce,
# max_age 2: expired 2 s after its fetch, and kept by the daemon, since it was asked for
# within refresh_active), fresh.test (first asked for through query --why). The [postfix]
# zone has mx_check, so every domain gets a DNS record beside its policy record.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

command -v jq >/dev/null 2>&1 || skip_all "jq not found (tests/install-deps.sh installs it)"

plan 62

sts_domain enforce.test 1
sts_domain testing.test 7 --policy "$(printf 'version: STSv1\nmode: testing\nmx: mail.testing.test\nmax_age: 86400\n')"
sts_domain short.test 1 --policy "$(printf 'version: STSv1\nmode: enforce\nmx: mail.short.test\nmax_age: 2\n')"
sts_domain fresh.test 3
# nopol.test: no TXT record; NXDOMAIN with a negative TTL of 300 s (SOA MINIMUM)
dns_zone nopol.test
dns_rr "nopol.test. 3600 IN SOA ns.nopol.test. host.nopol.test. 1 3600 600 86400 300"
dns_rr "nopol.test. 300 IN MX 10 mail.nopol.test."
dns_start
web_start
stsd_config daemon.txt_recheck=300 postfix.mx_check=yes
stsd_start || bail "mta-stsd did not start"

ctl() { timeout 20 "$STSCTL" -c "$STSD_CONF" "$@"; }
fetches() { grep -c "GET /.well-known/mta-sts.txt.*\"mta-sts.$1\"" "$WEB_DIR/logs/access.log"; }
ISO='[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'

expect enforce.test "$(secure_for mail.enforce.test)" "enforce.test learned"
expect testing.test NOTFOUND "testing.test learned (testing: fallback)"
expect nopol.test NOTFOUND "nopol.test: no policy, remembered"
expect short.test "$(secure_for mail.short.test)" "short.test learned (max_age 2)"
t_short=$(date +%s)

# ---- cache list (text): a header, one line per domain
out=$(ctl cache list 2>&1)
rc=$?
diag "cache list:" "$out"
is "$rc" 0 "cache list exits 0 while the daemon runs"
like "$(head -n 1 <<<"$out")" "DOMAIN*MODE*ID*FETCHED*EXPIRES*QUERIED*DUE*DNS*STATE" "cache list: header line"
is "$(tail -n +2 <<<"$out" | awk '{print $1}' | sort | tr '\n' ' ')" \
	"enforce.test nopol.test short.test testing.test " "cache list: one line per policy domain, no DNS record or due/ key"
line=$(grep '^enforce\.test ' <<<"$out")
like "$line" "enforce.test *enforce *1 *$ISO *$ISO *$ISO *$ISO *insecure *valid" \
	"cache list: enforce.test: mode, id, fetched, expires, queried, due, DNS state, valid"
like "$(grep '^testing\.test ' <<<"$out")" "testing.test *testing *7 *$ISO *$ISO *$ISO *$ISO *insecure *valid" \
	"cache list: testing.test: mode testing, id 7"
like "$(grep '^nopol\.test ' <<<"$out")" "nopol.test *- *- *- *- *$ISO *$ISO *insecure *no-policy until $ISO" \
	"cache list: nopol.test: no policy, with the time it is remembered until"

# ---- cache list --json
json=$(ctl --json cache list 2>&1)
is "$?" 0 "cache list --json exits 0"
is "$(jq -r 'length' <<<"$json" 2>&1)" 4 "cache list --json: an array of the 4 domains"
is "$(jq -r '.[] | select(.domain == "enforce.test") | [.mode, .id, .state, .dns.state, .dns.valid] | join(",")' <<<"$json" 2>&1)" \
	"enforce,1,valid,insecure,true" "cache list --json: enforce.test mode, id, state, DNS state"
is "$(jq -r --arg re "^$ISO\$" \
	'[.[] | select(.domain == "enforce.test") | .fetched, .expires, .queried, .due | test($re)] | all' <<<"$json" 2>&1)" \
	true "cache list --json: times are ISO 8601 UTC"
is "$(jq -r '.[] | select(.domain == "nopol.test") | [.state, (.mode == null), (.until != null)] | map(tostring) | join(",")' <<<"$json" 2>&1)" \
	"no-policy,true,true" "cache list --json: nopol.test: state no-policy, no mode, an until"
is "$(ctl cache list --json | jq -c 'map(.domain)' 2>&1)" \
	'["enforce.test","nopol.test","short.test","testing.test"]' "--json after the command works too"

# ---- cache show
out=$(ctl cache show ENFORCE.test. 2>&1)
rc=$?
diag "cache show ENFORCE.test.:" "$out"
is "$rc" 0 "cache show: exit 0 for a cached domain (name normalised as the daemon does)"
like "$out" "domain: *enforce.test*policy: *mode=enforce max_age=86400 id=1*mx: *mail.enforce.test*fetched: *$ISO*expires: *$ISO*last TXT check: *$ISO*" \
	"cache show: the policy, its times, the last TXT check"
like "$out" "*failed fetch: *-*no-policy until: *-*txt-failed until: *-*last queried: *$ISO*next due: *$ISO*" \
	"cache show: the remembered outcomes, last query, next due"
like "$out" "*dns record: *enforce.test#dane*dns state: *insecure (valid until $ISO)*mx hosts: *mail.enforce.test*" \
	"cache show: the DNS record (state, MX hosts)"
json=$(ctl --json cache show enforce.test 2>&1)
is "$(jq -c '[.domain, .record.policy.mode, .record.policy.max_age, .record.policy.mx, .record.policy.id, .dns.key, .dns.state, .dns.mx_known, .dns.mx_hosts]' <<<"$json" 2>&1)" \
	'["enforce.test","enforce",86400,["mail.enforce.test"],"1","enforce.test#dane","insecure",true,["mail.enforce.test"]]' \
	"cache show --json: policy and DNS record"
is "$(jq -c '[.record.state, .record.none_until, .record.fail_until, .record.failed_id]' <<<"$json" 2>&1)" \
	'["valid",null,null,null]' "cache show --json: unset times are null"
json=$(ctl --json cache show nopol.test 2>&1)
is "$(jq -c '[.record.state, .record.policy, (.record.none_until | type)]' <<<"$json" 2>&1)" \
	'["no-policy",null,"string"]' "cache show --json nopol.test: no policy, remembered until a time"

# error cases
out=$(ctl cache show unknown.test 2>&1)
is "$?" 1 "cache show of a domain never cached: exit 1"
like "$out" "*unknown.test: not cached*" "... saying so"
out=$(ctl cache show bad..domain 2>&1)
is "$?" 2 "cache show of an invalid name: exit 2"
like "$out" "*bad..domain: not a valid domain name: *" "... with the reason"
out=$(ctl cache show .enforce.test 2>&1)
is "$?" 2 "cache show of a parent-domain probe: exit 2"
out=$(ctl cache show 2>&1)
is "$?" 2 "cache show without a domain: usage, exit 2"
out=$(ctl cache purge enforce.test --expired 2>&1)
is "$?" 2 "cache purge with both DOMAIN and --expired: usage, exit 2"
sed "s|^cache_dir = .*|cache_dir = $T/no-such-cache|" "$STSD_CONF" >"$T/nocache.conf"
out=$(timeout 20 "$STSCTL" -c "$T/nocache.conf" cache list 2>&1)
rc=$?
is "$rc" 2 "cache list with a missing cache_dir: exit 2"
like "$out" "*no-such-cache*data.mdb*No such file*" "... naming the missing file"
timeout 20 "$STSCTL" -c "$T/nocache.conf" cache purge --expired >/dev/null 2>&1
rc=$?
if [ $rc = 2 ] && [ ! -e "$T/no-such-cache" ]; then pass "cache purge with a missing cache_dir: exit 2, nothing created"
else fail "cache purge with a missing cache_dir: exit 2, nothing created" "rc=$rc" "$(ls -la "$T/no-such-cache" 2>&1)"; fi

# ---- query --why: the daemon's answer, explained from its cache
want=$(q enforce.test)
out=$(ctl query --why enforce.test 2>&1)
rc=$?
diag "query --why enforce.test:" "$out"
is "$rc" 0 "query --why: exit status of the daemon's answer (OK: 0)"
is "reply: $(sed -n 's/^reply: *//p' <<<"$out")" "reply: ${want}" "query --why: the daemon's reply, as postmap gets it"
like "$out" "*policy: *mode=enforce max_age=86400 id=1*fetched: *$ISO*expires: *$ISO*last TXT check: *$ISO*dns state: *insecure*" \
	"query --why: policy id, mode, times, last TXT check, DNS state"
like "$out" "*zone: *\[postfix\] fallback=NOTFOUND testing=ignore dane=yes dane_partial=dane-only mx_check=yes tlsrpt=no; \[daemon\] dnssec=no*" \
	"query --why: the zone's settings"
like "$out" "*decision: *MTA-STS enforce (cached policy) x DNS insecure -> ${want}*why: *enforced MTA-STS policy*agrees: *yes*" \
	"query --why: the decision table cell, its why, agreeing with the daemon"
json=$(ctl --json query --why testing.test 2>&1)
is "$?" 1 "query --why testing.test: NOTFOUND, exit 1"
is "$(jq -c '[.status, .decision.row, .decision.column, .decision.why, .agrees, .zone.testing]' <<<"$json" 2>&1)" \
	'["NOTFOUND","testing (cached policy)","insecure","testing policy: fallback",true,"ignore"]' \
	"query --why --json: testing policy, fallback, agrees"
json=$(ctl --json query --why nopol.test 2>&1)
is "$(jq -c '[.status, .record.state, .decision.why, .agrees]' <<<"$json" 2>&1)" \
	'["NOTFOUND","no-policy","no MTA-STS policy",true]' "query --why --json nopol.test: no policy remembered, agrees"
json=$(ctl --json query --why fresh.test 2>&1)
is "$(jq -c '[.status, .reply, .record.policy.id, .decision.settled, .agrees]' <<<"$json" 2>&1)" \
	'["OK","secure match=mail.fresh.test servername=hostname","3",true,true]' \
	"query --why on a domain never asked for: the daemon learns it first, the cache then explains it"
out=$(ctl query --why --direct enforce.test 2>&1)
is "$?" 2 "query --why --direct: usage error, exit 2"

# ---- cache purge DOMAIN while the daemon runs: the next query fetches the policy again
before=$(fetches enforce.test)
out=$(ctl cache purge enforce.test 2>&1)
rc=$?
diag "cache purge enforce.test:" "$out"
is "$rc" 0 "cache purge enforce.test: exit 0"
is "$out" $'purged enforce.test: policy record, DNS record\n1 domain purged' "cache purge: what was purged, and the count"
ctl cache show enforce.test >/dev/null 2>&1
is "$?" 1 "cache show after the purge: not cached"
expect enforce.test "$(secure_for mail.enforce.test)" "the next query answers as before"
# nginx logs a request once it has sent the answer: give it a moment
fetched_again() { [ "$(fetches enforce.test)" = "$((before + 1))" ]; }
ok "... after fetching the policy again (nginx access log: $before fetch before the purge)" \
	wait_until 5 fetched_again
ctl cache show enforce.test >/dev/null 2>&1
is "$?" 0 "... and the daemon cached it again"
out=$(ctl cache purge unknown.test 2>&1)
is "$?" 1 "cache purge of a domain not cached: exit 1"

# Readers and a second writer beside the daemon's writes: purge and re-learn testing.test over
# and over while listing.
(
	for i in $(seq 15); do
		ctl cache purge testing.test >/dev/null 2>&1
		q testing.test >/dev/null
	done
) &
churn=$!
bad=0 n=0
while kill -0 "$churn" 2>/dev/null; do
	out=$(ctl cache list 2>&1) || { bad=$((bad + 1)); diag "$out"; }
	grep -q '^enforce\.test ' <<<"$out" || { bad=$((bad + 1)); diag "$out"; }
	n=$((n + 1))
done
wait "$churn"
is "$bad" 0 "cache list $n times while purges and the daemon's writes run: every one complete"
expect testing.test NOTFOUND "testing.test answered after the churn"
is "$(ctl --json cache show testing.test | jq -r '.record.policy.id' 2>&1)" 7 "testing.test cached again"

# ---- cache purge --expired: only records that hold nothing valid
left=$((t_short + 3 - $(date +%s)))
[ "$left" -le 0 ] || sleep "$left"
like "$(ctl cache list | grep '^short\.test ')" "short.test *enforce *1 *$ISO *$ISO *$ISO *$ISO *insecure *expired" \
	"cache list: short.test expired (max_age 2), the daemon keeps its record"
json=$(ctl --json cache purge --expired 2>&1)
rc=$?
diag "cache purge --expired --json:" "$json"
is "$rc" 0 "cache purge --expired: exit 0"
is "$(jq -c '[.count, .purged[0].domain, .purged[0].policy]' <<<"$json" 2>&1)" '[1,"short.test",true]' \
	"cache purge --expired: short.test only (valid policies and remembered no-policy stay)"
is "$(ctl --json cache list | jq -c 'map(.domain)' 2>&1)" \
	'["enforce.test","fresh.test","nopol.test","testing.test"]' "cache list afterwards"
# mdb_dump -p (lmdb-utils) prints every key on a line of its own, bytes outside ASCII as \xx.
dump=$(mdb_dump -p "$T/cache" 2>&1)
# (DNS records have index entries of their own, "due/..DOMAIN#dane": left out here.)
pol=$(grep -v '#dane' <<<"$dump")
is "$(grep -c '^ due/.*short\.test$' <<<"$pol") $(grep -c '^ due/.*enforce\.test$' <<<"$pol")" "0 1" \
	"short.test's due/ index entry went with its record (enforce.test keeps its own)"
is "$(ctl cache purge --expired 2>&1)" "0 domains purged" "cache purge --expired again: nothing left to purge"

ok "daemon still running" stsd_alive
unlike "$(grep -c 'stage=cache.*level=err\|level=err.*stage=cache' "$STSD_LOG")" "[1-9]*" "no cache error in the daemon log"
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
