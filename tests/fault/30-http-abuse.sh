#!/bin/bash
# SPDX-License-Identifier: MIT
# Hostile policy hosts (issue 10 item 5): HTTPS servers with valid certificates that trickle
# the body, send it without end, announce 100 MB, send headers (or interim 1xx responses)
# without end, hold the
# connection after the handshake, answer HTTP/0.9-style, or present a 50-certificate chain.
# Every lookup ends within fetch_timeout plus a margin, with the fallback (never a policy the
# hostile host served); a domain with a cached enforce policy keeps it (fail closed) while its
# new policy id points at a hostile host; the daemon stays up and its RSS stays bounded.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/../integ/lib.sh"
. "${0%/*}/lib-abuse.sh"

[ -x /usr/bin/python3 ] || skip_all "python3 not found"

FETCH_S=3
MARGIN_MS=2500         # DNS of the policy host, postmap, a sanitizer build
RSS_GROWTH_MAX_KB=20480
LOOKUP_MAX_KB=512 # about 110 kB measured (220 kB with ASan): curl's buffers, TLS, the body
ROUNDS=5 # the fast modes run this many times, on distinct domains: leaks would add up
BURST=${BURST:-100} # lookups at once against the hostile hosts that fill buffers fastest
read -r -a BURST_MODES <<<"${BURST_MODES:-headers endless longline continue}"
SLOW=(trickle hold)
FAST=(endless biglen headers longline continue http09)
MODES=("${SLOW[@]}" "${FAST[@]}")
declare -A IP=([trickle]=127.0.0.30 [hold]=127.0.0.31 [endless]=127.0.0.32 [biglen]=127.0.0.33
	[headers]=127.0.0.34 [longline]=127.0.0.35 [http09]=127.0.0.36 [continue]=127.0.0.37
	[good]=127.0.0.39)

# per mode: ROUNDS (fast) or 1 (slow) checks of answer and time; the chain; the fail-closed
# pairs for every mode; control, alive, RSS, stop
plan $((${#SLOW[@]} * 2 + ${#FAST[@]} * ROUNDS * 2 + 2 + ${#MODES[@]} * 2 + 13))

# issue OUT ISSUER EXT NAME...: an EC key and a certificate for OUT signed by ISSUER (a path
# prefix: ISSUER.crt/.key); EXT "ca" makes a CA, else a server certificate for the NAMEs.
issue() {
	local out=$1 issuer=$2 ext=$3 n san=""
	shift 3
	if [ "$ext" = ca ]; then
		printf '%s\n' "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" >"$out.ext"
	else
		for n in "$@"; do san="$san${san:+,}DNS:$n"; done
		printf '%s\n' "subjectAltName=$san" "basicConstraints=critical,CA:FALSE" \
			"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$out.ext"
	fi
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$out.key" \
		-out "$out.csr" -subj "/CN=${1:-$(basename "$out")}" >"$out.log" 2>&1 &&
		openssl x509 -req -in "$out.csr" -CA "$issuer.crt" -CAkey "$issuer.key" \
			-set_serial "0x$(openssl rand -hex 8)" -days 30 -extfile "$out.ext" \
			-out "$out.crt" >>"$out.log" 2>&1 || bail "issue $out: $(tail -n 3 "$out.log")"
}

# ---- names, certificates, DNS
pki_init
names=()
for m in "${SLOW[@]}"; do names+=("$m.test"); done
for m in "${FAST[@]}"; do
	for ((r = 1; r <= ROUNDS; r++)); do names+=("$m-$r.test"); done
done
for m in "${MODES[@]}"; do names+=("fc-$m.test"); done
for ((i = 1; i <= BURST; i++)); do names+=("burst-$i.test" "burst2-$i.test"); done
mkdir -p "$T/hostile"
H=$T/hostile
ln -s "$PKI/ca/ca.pem" "$H/ca.crt"
ln -s "$PKI/ca/ca.key" "$H/ca.key"
issue "$H/leaf" "$H/ca" server "${names[@]/#/mta-sts.}"

# 49 intermediate CAs one below the other, then the leaf: 50 certificates sent
prev=$H/ca
for ((i = 1; i <= 49; i++)); do
	issue "$H/int$i" "$prev" ca "mta-stsd test intermediate $i"
	prev=$H/int$i
done
issue "$H/chainleaf" "$prev" server mta-sts.chain.test
cat "$H/chainleaf.crt" >"$H/chain.pem"
for ((i = 49; i >= 1; i--)); do cat "$H/int$i.crt" >>"$H/chain.pem"; done

for m in "${SLOW[@]}"; do sts_txt "$m.test" 1; dns_a "mta-sts.$m.test" "${IP[$m]}"; done
for m in "${FAST[@]}"; do
	for ((r = 1; r <= ROUNDS; r++)); do
		sts_txt "$m-$r.test" 1
		dns_a "mta-sts.$m-$r.test" "${IP[$m]}"
	done
done
for ((i = 1; i <= BURST; i++)); do
	for b in burst burst2; do
		sts_txt "$b-$i.test" 1
		dns_a "mta-sts.$b-$i.test" "${IP[${BURST_MODES[i % ${#BURST_MODES[@]}]}]}"
	done
done
sts_txt chain.test 1
dns_a mta-sts.chain.test "${IP[good]}"
dns_rr "chain.test. 300 IN MX 10 mail.chain.test."
for m in "${MODES[@]}"; do sts_domain "fc-$m.test" 1; done
sts_domain good.test 1
dns_start
web_start

args=()
for m in "${MODES[@]}"; do args+=("$m=${IP[$m]}:$H/leaf.crt:$H/leaf.key"); done
args+=("good=${IP[good]}:$H/chain.pem:$H/chainleaf.key")
/usr/bin/python3 "${0%/*}/hostile_https.py" "$H/pid" "${args[@]}" >"$H/server.log" 2>&1 &
bg_track $!
wait_until 10 test -s "$H/pid" || bail "hostile server did not start: $(tail -n 5 "$H/server.log")"

stsd_config daemon.fetch_timeout=$FETCH_S daemon.dns_timeout=2
abuse_asan
stsd_start || bail "mta-stsd did not start"
expect good.test "$(secure_for mail.good.test)" "control: good domain is secure"
rss0=$(rss_kb VmRSS)

# ---- fail closed: cache every fc- domain, then move its policy id to a hostile host
for m in "${MODES[@]}"; do
	got=$(q "fc-$m.test")
	[ "$got" = "$(secure_for "mail.fc-$m.test")" ] || bail "fc-$m.test not cached: $got"
done
for m in "${MODES[@]}"; do
	dns_rm "_mta-sts.fc-$m.test." && sts_txt "fc-$m.test" 2 &&
		dns_rm "mta-sts.fc-$m.test." && dns_a "mta-sts.fc-$m.test" "${IP[$m]}" ||
		bail "cannot move fc-$m.test"
done
sleep 1.2 # txt_recheck = 1: the next query re-checks the TXT record and sees id 2
for m in "${MODES[@]}"; do q "fc-$m.test" >"$H/fc-$m.first"; done

# ---- each hostile host alone (the fail-closed fetches run meanwhile)
for m in "${SLOW[@]}"; do
	timed "$m.test" NOTFOUND "$m: fallback" \
		"$((FETCH_S * 1000 + MARGIN_MS))" "fetch_timeout + margin"
done
for m in "${FAST[@]}"; do
	for ((r = 1; r <= ROUNDS; r++)); do
		timed "$m-$r.test" NOTFOUND "$m (round $r): fallback" \
		"$((FETCH_S * 1000 + MARGIN_MS))" "fetch_timeout + margin"
	done
done
timed chain.test "$(secure_for mail.chain.test)" \
	"50-certificate chain to the trusted CA: accepted (OpenSSL's depth limit is 100)" \
	"$((FETCH_S * 1000 + MARGIN_MS))" "fetch_timeout + margin"

# ---- what the log says: the operator must not read a hostile host as trouble of our own
log_of() { grep -F "domain=$1 " "$STSD_LOG" | grep -o 'err="[^"]*"' | tail -n 1; }
like "$(log_of headers-1.test)" "*response headers over 32768 bytes*" \
	"headers: our own cap (not libcurl's 300 KB) ends it, and the log says so"
like "$(log_of continue-1.test)" "*response headers over 32768 bytes*" \
	"endless 1xx responses: the same cap, counted across responses"
like "$(log_of longline-1.test)" "*header line*" \
	"a header line without end: the log names it, not only libcurl's \"Out of memory\""

# ---- leaks: the sequential cases must not have left memory behind
rss1=$(rss_kb VmRSS)
hwm1=$(rss_kb VmHWM)
diag "RSS: ${rss0} kB after start, ${rss1} kB after the cases one by one, peak ${hwm1} kB"
ok "RSS growth under $RSS_GROWTH_MAX_KB kB ($((rss1 - rss0)) kB)" test $((rss1 - rss0)) -lt $RSS_GROWTH_MAX_KB
ok "peak RSS growth under $RSS_GROWTH_MAX_KB kB ($((hwm1 - rss0)) kB)" test $((hwm1 - rss0)) -lt $RSS_GROWTH_MAX_KB

# ---- bursts: BURST lookups at once, each against a host that fills curl's buffers; the
# memory of one hostile fetch is bounded, and a second burst reuses the first one's
# burst NAME: the BURST lookups of NAME-1.test ... at once; the answers in $H/NAME.out
burst() {
	local i pids=()
	for ((i = 1; i <= BURST; i++)); do
		q "$1-$i.test" >"$H/$1-$i.out" &
		pids+=($!)
	done
	wait "${pids[@]}" # each q ends within 30 s (postmap under timeout)
	cat "$H/$1"-*.out | sort | uniq -c | sed 's/^ *//' >"$H/$1.out"
}
t0=$(now_ms)
burst burst
t1=$(now_ms)
hwm_b1=$(rss_kb VmHWM)
burst burst2
hwm_b2=$(rss_kb VmHWM)
diag "burst of $BURST (${BURST_MODES[*]}): $((t1 - t0)) ms, peak RSS ${hwm1} -> ${hwm_b1} kB ($(((hwm_b1 - hwm1) / BURST)) kB per lookup), after a second burst ${hwm_b2} kB"
is "$(cat "$H/burst.out") / $(cat "$H/burst2.out")" "$BURST NOTFOUND / $BURST NOTFOUND" "bursts: every lookup ends with the fallback"
ok "burst: peak RSS under $LOOKUP_MAX_KB kB per concurrent hostile fetch ($(((hwm_b1 - hwm1) / BURST)) kB)" \
	test $(((hwm_b1 - hwm1) / BURST)) -lt $LOOKUP_MAX_KB
# a leak of what a lookup holds would make the second burst grow the peak as much again
desc="second burst: peak RSS grows under half the first burst's growth ($((hwm_b2 - hwm_b1)) kB < $(((hwm_b1 - hwm1) / 2)) kB)"
if [ -n "$ABUSE_ASAN" ]; then
	pass "$desc # SKIP ASan's allocator reuses little (measured 0.3x to 1.3x); LeakSanitizer checks leaks at exit"
else
	ok "$desc" test $((hwm_b2 - hwm_b1)) -lt $(((hwm_b1 - hwm1) / 2))
fi

# ---- fail closed, after every hostile fetch has ended
sleep $((FETCH_S + 1))
for m in "${MODES[@]}"; do
	is "$(cat "$H/fc-$m.first")" "$(secure_for "mail.fc-$m.test")" "fc-$m: cached enforce policy answered while the new id's fetch runs"
	got=$(q "fc-$m.test")
	is "$got" "$(secure_for "mail.fc-$m.test")" "fc-$m: still answered after the fetch failed ($(grep -F "domain=fc-$m.test " "$STSD_LOG" | grep -o 'err="[^"]*"' | tail -n 1 | cut -c1-80))"
done

expect good.test "$(secure_for mail.good.test)" "control: good domain still secure"
if grep -q 'evil\.invalid' "$STSD_LOG"; then
	fail "no policy from a hostile host was ever learned" "$(grep 'evil\.invalid' "$STSD_LOG" | head -n 3)"
else
	pass "no policy from a hostile host was ever learned"
fi
ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer report)" stsd_stop
