#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test): cached-answer throughput and latency of mta-stsd over loopback, in the
# integration tests' private network namespace (real unbound + nginx, policy learned once, then
# every answer comes from the LMDB cache). Also reports the daemon's CPU time per request and
# its memory. Optional: BENCH_PEER=1 runs the same load against postfix-mta-sts-resolver
# (Debian package, the Python peer) and prints the ratio.
# Usage (as root, from a build tree): top_builddir=$PWD top_srcdir=SRC bash SRC/tests/bench/run.sh
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/../integ/lib.sh"

SMLOAD=$T/smload
gcc -O2 -std=c11 -Wall -Wextra -Werror "${0%/*}/smload.c" -o "$SMLOAD" || bail "cannot build smload"
TOTAL=${BENCH_REQUESTS:-200000}
SECS=${BENCH_SECONDS:-20}

sts_domain bench.test 1 --policy "$(enforce_policy mail.bench.test '*.mx.bench.test')"
dns_start
web_start
stsd_config daemon.txt_recheck=86400
stsd_start || bail "mta-stsd did not start"
expect bench.test "$(secure_for mail.bench.test:.mx.bench.test)" "policy learned (cache warm)" >/dev/null

declare -A rate=() cpu=()
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
mem_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

run_load() { # NAME PID ADDR EXPECT CONNS
	local name=$1 pid=$2 addr=$3 want=$4 n=$5 c0 c1 out hz
	hz=$(getconf CLK_TCK)
	c0=$(cpu_ticks "$pid")
	out=$("$SMLOAD" -a "$addr" -c "$n" -n "$TOTAL" -t "$SECS" -e "$want" bench.test) || echo "# smload failed: $out"
	c1=$(cpu_ticks "$pid")
	req=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$out")
	cpu_us=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v r="${req:-1}" 'BEGIN {printf "%.2f", t / hz * 1e6 / r}')
	rate["$name:$n"]=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$out")
	cpu["$name:$n"]=$cpu_us
	printf '%-10s conns=%-3s %s cpu_us_per_req=%s rss_kb=%s hwm_kb=%s\n' "$name" "$n" "$out" "$cpu_us" \
		"$(mem_kb "$pid" VmRSS)" "$(mem_kb "$pid" VmHWM)"
}

echo "# mta-stsd $("$STSD" -V) cached answers, $TOTAL requests or $SECS s per load"
for n in 1 8 64; do
	run_load mta-stsd "$_stsd_pid" "$STSD_HOST:$STSD_PORT" "OK secure" "$n"
done
stsd_stop >/dev/null

[ -n "${BENCH_PEER:-}" ] || exit 0
command -v mta-sts-daemon >/dev/null || bail "BENCH_PEER set but mta-sts-daemon (postfix-mta-sts-resolver) missing"
# The peer resolves through /etc/resolv.conf: give it a private mount namespace in which that
# file points at our unbound. Its HTTPS client trusts SSL_CERT_FILE (our test CA).
echo "nameserver 127.0.0.1" >"$T/resolv.conf"
cat >"$T/peer.yml" <<-YML
	host: 127.0.0.1
	port: 8462
	reuse_port: true
	cache:
	  type: internal
	  options:
	    cache_size: 10000
	default_zone:
	  strict_testing: false
	  timeout: 4
YML
SSL_CERT_FILE=$CA_FILE unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && exec mta-sts-daemon -c "$2" -v warn' \
	peer "$T/resolv.conf" "$T/peer.yml" >"$T/peer.log" 2>&1 &
peer=$!
bg_track "$peer"
wait_until 15 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8462' 2>/dev/null || bail "peer did not start: $(tail -n 5 "$T/peer.log")"
peer_pid=$(pgrep -f "mta-sts-daemon -c $T/peer.yml" | head -n 1)
first=$(timeout 30 postmap -c "$PFDIR" -q bench.test socketmap:inet:127.0.0.1:8462:postfix 2>&1)
echo "# peer (postfix-mta-sts-resolver) answers: $first"
for n in 1 8 64; do
	run_load peer "$peer_pid" 127.0.0.1:8462 "OK secure" "$n"
done
for n in 1 8 64; do
	awk -v n="$n" -v a="${rate[mta-stsd:$n]}" -v b="${rate[peer:$n]}" -v ca="${cpu[mta-stsd:$n]}" \
		-v cb="${cpu[peer:$n]}" 'BEGIN {printf "ratio conns=%s rate mta-stsd/peer=%.2f cpu_per_req peer/mta-stsd=%.2f\n", n, a / b, cb / ca}'
done
