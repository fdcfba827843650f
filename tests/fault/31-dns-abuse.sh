#!/bin/bash
# SPDX-License-Identifier: MIT
# Hostile DNS answers (issue 10 item 5): the daemon's only resolver is a responder that
# truncates (and then cuts or holds the TCP retry), sends malformed messages (counts and
# lengths past the end, compression pointer loops), 1000 TXT records, a chain of 50 CNAMEs, a
# CNAME loop, answers with a wrong id or question, empty or random datagrams, a 60 KB TXT
# record. Every lookup ends within dns_timeout plus a margin with the fallback; a domain with a
# cached enforce policy whose DNS turns hostile keeps its policy (fail closed); the daemon
# still resolves afterwards, stays up, and its RSS stays bounded.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/../integ/lib.sh"
. "${0%/*}/lib-abuse.sh"

[ -x /usr/bin/python3 ] || skip_all "python3 not found"

DNS_S=2
FETCH_S=3
MARGIN_MS=1500 # postmap, a sanitizer build
RSS_GROWTH_MAX_KB=20480
ROUNDS=3 # the fast modes run this many times, on distinct domains: leaks would add up
HOSTILE_IP=127.0.0.53
# answered at once (the daemon rejects what it reads) / only a timeout ends them
FAST=(tc badcount pastend ptrloop ptrpair txt1000 cname50 cnameloop bigtxt many bigudp)
SLOW=(tchold wrongid wrongq noq empty garbage)
MODES=("${FAST[@]}" "${SLOW[@]}")

plan $((${#FAST[@]} * ROUNDS * 2 + ${#SLOW[@]} * 2 + ${#MODES[@]} * 6 + 13))

good=(good.test late.test)
for m in "${MODES[@]}"; do good+=("fc-$m.test"); done
for d in "${good[@]}"; do web_domain "$d"; done
for m in "${MODES[@]}"; do web_domain "mx-$m.test"; done
web_domain slowudp.test
web_domain slowtcp.test
web_start
H=$T/hostile
mkdir -p "$H/ctl"
/usr/bin/python3 "${0%/*}/hostile_dns.py" "$H/pid" "$HOSTILE_IP" "$H/ctl" "$WEB_IP" \
	"$(IFS=,; echo "${good[*]}")" >"$H/server.log" 2>&1 &
bg_track $!
wait_until 10 test -s "$H/pid" || bail "hostile DNS did not start: $(tail -n 5 "$H/server.log")"
dig +time=1 +tries=1 +short @"$HOSTILE_IP" _mta-sts.good.test TXT | grep -q STSv1 ||
	bail "hostile DNS does not answer good.test: $(tail -n 5 "$H/server.log")"

stsd_config daemon.dns_servers=$HOSTILE_IP daemon.dns_timeout=$DNS_S daemon.fetch_timeout=$FETCH_S
abuse_asan
stsd_start || bail "mta-stsd did not start"
expect good.test "$(secure_for mail.good.test)" "control: good domain is secure"
rss0=$(rss_kb VmRSS)

# ---- fail closed: cache every fc- domain, then turn its DNS hostile
for m in "${MODES[@]}"; do
	got=$(q "fc-$m.test")
	[ "$got" = "$(secure_for "mail.fc-$m.test")" ] || bail "fc-$m.test not cached: $got"
done
for m in "${MODES[@]}"; do echo "$m" >"$H/ctl/fc-$m.test"; done
sleep 1.2 # txt_recheck = 1: the next query re-checks the TXT record, in the background
for m in "${MODES[@]}"; do q "fc-$m.test" >"$H/fc-$m.first"; done

# ---- each hostile answer alone
for m in "${FAST[@]}"; do
	for ((r = 1; r <= ROUNDS; r++)); do
		timed "$m-$r.test" NOTFOUND "$m (round $r): fallback" \
		"$((DNS_S * 1000 + MARGIN_MS))" "dns_timeout + margin"
	done
done
for m in "${SLOW[@]}"; do
	timed "$m.test" NOTFOUND "$m: fallback" \
		"$((DNS_S * 1000 + MARGIN_MS))" "dns_timeout + margin"
done

# ---- only the MX lookup is hostile: an enforce policy with the MX set unknown names the
# policy's own hosts. A well-formed answer is believed and fails closed: 400 MX hosts the
# policy does not allow, or a TXT record in place of the MX (NODATA: the domain is its own
# mail host, RFC 5321 s5.1, which the policy does not allow either) give a temporary failure.
for m in "${MODES[@]}"; do
	want=$(secure_for "mail.mx-$m.test")
	case $m in many | bigtxt) want="TEMP*" ;; esac
	timed "mx-$m.test" "$want" "mx-$m: enforce policy, hostile MX answer: ${want% servername*}" \
		"$((DNS_S * 1000 + MARGIN_MS))" "dns_timeout + margin"
done

# ---- only the address of the policy host is hostile (400 addresses where nothing listens:
# the fetch tries the first 8, STS_ADDRS_MAX, until fetch_timeout)
for m in "${MODES[@]}"; do
	timed "a-$m.test" NOTFOUND "a-$m: hostile address answer: fallback" \
		"$(((DNS_S + FETCH_S) * 1000 + MARGIN_MS))" "dns_timeout + fetch_timeout + margin"
done

# ---- honest answers, 1.2 s late: within dns_timeout (2 s, "both tries included", says
# mta-stsd.conf(5)), so the policy is found, over UDP and over TCP after a truncated answer
for m in slowudp slowtcp; do
	timed "$m.test" "$(secure_for "mail.$m.test")" "$m: answers 1.2 s late are still taken" \
		"$((DNS_S * 2000 + MARGIN_MS))" "2 x dns_timeout + margin"
done

# ---- fail closed, after every re-check has ended
sleep $((DNS_S + 1))
for m in "${MODES[@]}"; do
	is "$(cat "$H/fc-$m.first")" "$(secure_for "mail.fc-$m.test")" "fc-$m: cached enforce policy answered while the TXT re-check runs"
	got=$(q "fc-$m.test")
	is "$got" "$(secure_for "mail.fc-$m.test")" "fc-$m: still answered after it failed ($(grep -F "domain=fc-$m.test " "$STSD_LOG" | grep -o 'err="[^"]*"' | tail -n 1 | cut -c1-80))"
done

expect good.test "$(secure_for mail.good.test)" "control: good domain still secure"
expect late.test "$(secure_for mail.late.test)" "a new domain is still discovered after the abuse (resolver not wedged)"
if grep -q 'id=evil\|other\.test' "$STSD_LOG"; then
	fail "nothing from a hostile answer was learned" "$(grep 'id=evil\|other\.test' "$STSD_LOG" | head -n 3)"
else
	pass "nothing from a hostile answer was learned"
fi
n=$(grep -c 'event=policy-learned' "$STSD_LOG")
is "$n" $((${#MODES[@]} * 2 + 4)) "policies learned: the fc-, mx- and slow domains, good.test and late.test only"
rss1=$(rss_kb VmRSS)
hwm=$(rss_kb VmHWM)
diag "RSS: ${rss0} kB after start, ${rss1} kB after all cases, peak ${hwm} kB"
ok "RSS growth under $RSS_GROWTH_MAX_KB kB ($((rss1 - rss0)) kB)" test $((rss1 - rss0)) -lt $RSS_GROWTH_MAX_KB
ok "peak RSS growth under $RSS_GROWTH_MAX_KB kB ($((hwm - rss0)) kB)" test $((hwm - rss0)) -lt $RSS_GROWTH_MAX_KB
ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer report)" stsd_stop
