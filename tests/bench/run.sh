#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test): cached-answer throughput and latency of mta-stsd over loopback, in the
# integration tests' private network namespace (tests/integ/lib.sh: real unbound + nginx with a
# test CA; the policy is learned once, then every answer comes from the cache). For each load
# (1, 8, 64 connections) smload sends Postfix-style requests, one in flight per connection, and
# we record rate, latency percentiles, the daemon's CPU time per request and its memory. When
# postfix-mta-sts-resolver (Debian package, the Python peer) is installed, the same loads run
# against it too and a comparison table is printed.
#
# Usage (as root): bash tests/bench/run.sh
# Environment:
#   MTASTSD_BENCH_BUILD  build dir holding mta-stsd (default: $top_builddir, else /tmp/b1);
#                        built there with make when the binary is missing or BENCH_MAKE=1
#   BENCH_REQUESTS       requests per load (default 200000)
#   BENCH_SECONDS        time limit per load (default 20)
#   BENCH_CONNS          loads, as connection counts (default "1 8 64")
#   BENCH_PEER=0         skip the peer even if installed
#   KEEP=1               keep the temp dir (daemon logs, peer log)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
bench_dir=$(cd "${0%/*}" && pwd)

if [ -z "${MTASTSD_INTEG_INNS:-}" ]; then
	# Still outside the namespace: pick and (if needed) build the daemon, and make sure the
	# peer's packaged system service is not running (it would compete for the CPU).
	top_builddir=${MTASTSD_BENCH_BUILD:-${top_builddir:-/tmp/b1}}
	if [ ! -x "$top_builddir/mta-stsd" ] || [ -n "${BENCH_MAKE:-}" ]; then
		[ -f "$top_builddir/Makefile" ] || { echo "no build in $top_builddir (set MTASTSD_BENCH_BUILD)" >&2; exit 1; }
		make -C "$top_builddir" -j2 mta-stsd >&2 || { echo "make -C $top_builddir failed" >&2; exit 1; }
	fi
	export top_builddir
	if [ "$(id -u)" = 0 ] && [ "${BENCH_PEER:-1}" != 0 ]; then
		if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 &&
			systemctl is-active --quiet postfix-mta-sts-resolver 2>/dev/null; then
			echo "# stopping the postfix-mta-sts-resolver system service" >&2
			systemctl stop postfix-mta-sts-resolver
		fi
		for p in $(pgrep -x mta-sts-daemon); do
			grep -qa mta-stsd-integ "/proc/$p/cmdline" 2>/dev/null && continue # another bench run
			echo "# killing mta-sts-daemon pid $p running outside the benchmark: $(tr '\0' ' ' <"/proc/$p/cmdline")" >&2
			kill -TERM "$p"
			timeout 5 tail --pid="$p" -f /dev/null || kill -KILL "$p"
		done
	fi
fi

# shellcheck source=tests/integ/lib.sh
. "$bench_dir/../integ/lib.sh"

SMLOAD=$T/smload
gcc -O2 -std=c11 -Wall -Wextra -Werror "$bench_dir/smload.c" -o "$SMLOAD" || bail "cannot build smload"
TOTAL=${BENCH_REQUESTS:-200000}
SECS=${BENCH_SECONDS:-20}
CONNS=${BENCH_CONNS:-1 8 64}
DOMAIN=bench.test
WANT="OK secure"
PEER_PORT=8462
HZ=$(getconf CLK_TCK)

sts_domain "$DOMAIN" 1 --policy "$(enforce_policy "mail.$DOMAIN" "*.mx.$DOMAIN")"
dns_start
web_start
# txt_recheck 300 (the packaged default); the peer gets the same cache_grace below.
stsd_config daemon.txt_recheck=300
stsd_start || bail "mta-stsd did not start"

# cpu_ticks PID: utime + stime (all threads) from /proc/PID/stat.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# mem_kb PID FIELD: VmRSS / VmHWM in kB.
mem_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# kv LINE KEY: value of KEY=... in smload's output line.
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1"; }
# raw_reply PORT: one raw request/reply on a fresh connection (lib.sh's sm_raw).
raw_reply() { (STSD_PORT=$1 sm_raw -w 15 '%s' "$(netstring "postfix $DOMAIN")"); }

declare -A R=()
# run_load NAME PID PORT CONNS: one smload run; results into R[NAME:CONNS:key].
run_load() {
	local name=$1 pid=$2 port=$3 n=$4 c0 c1 out rc k
	c0=$(cpu_ticks "$pid")
	out=$(timeout $((SECS + 30)) "$SMLOAD" -a "127.0.0.1:$port" -c "$n" -n "$TOTAL" -t "$SECS" \
		-e "$WANT" "$DOMAIN" 2>"$T/smload.err")
	rc=$?
	c1=$(cpu_ticks "$pid")
	[ $rc = 0 ] || echo "# smload rc=$rc: $(head -n 3 "$T/smload.err" | tr '\n' ' ')"
	for k in requests errors seconds rate p50_us p90_us p99_us max_us client_cpu_s; do
		R[$name:$n:$k]=$(kv "$out" $k)
	done
	R[$name:$n:cpu]=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v r="${R[$name:$n:requests]:-0}" \
		'BEGIN {if (r > 0) printf "%.1f", t / hz * 1e6 / r; else print "-"}')
	R[$name:$n:rss]=$(mem_kb "$pid" VmRSS)
	R[$name:$n:hwm]=$(mem_kb "$pid" VmHWM)
	printf '%-8s conns=%-3s %s cpu_us_per_req=%s rss_kb=%s hwm_kb=%s\n' "$name" "$n" "${out:-(no output)}" \
		"${R[$name:$n:cpu]}" "${R[$name:$n:rss]}" "${R[$name:$n:hwm]}"
}

echo "# $("$STSD" -V) from $STSD; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# each load: $TOTAL requests or $SECS s, one domain ($DOMAIN, cached enforce policy), expect '$WANT...'"
first=$(raw_reply "$STSD_PORT")
echo "# mta-stsd answers: $first"
[[ $first == "REPLY $WANT"* ]] || bail "mta-stsd did not learn the policy: $first"
echo "# mta-stsd idle after warm-up: rss_kb=$(mem_kb "$_stsd_pid" VmRSS)"
for n in $CONNS; do
	run_load mta-stsd "$_stsd_pid" "$STSD_PORT" "$n"
done
stsd_stop >/dev/null || echo "# mta-stsd did not stop cleanly (see $STSD_LOG)"

peer=""
if [ "${BENCH_PEER:-1}" = 0 ]; then
	echo "# peer skipped (BENCH_PEER=0)"
elif ! command -v mta-sts-daemon >/dev/null 2>&1; then
	echo "# peer skipped: mta-sts-daemon not installed (apt-get install postfix-mta-sts-resolver)"
else
	# The peer resolves through /etc/resolv.conf (aiodns/c-ares, no resolver option): it runs in
	# its own mount namespace where that file points at our unbound. Its HTTPS client uses
	# Python's default SSL context, which trusts SSL_CERT_FILE (our test CA). No proxies.
	echo "nameserver 127.0.0.1" >"$T/resolv.conf"
	cat >"$T/peer.yml" <<-YML
		host: 127.0.0.1
		port: $PEER_PORT
		reuse_port: true
		cache_grace: 300
		cache:
		  type: internal
		  options:
		    cache_size: 10000
		default_zone:
		  strict_testing: false
		  timeout: 4
	YML
	# shellcheck disable=SC2016 # $1 and $2 belong to the inner sh
	env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
		-u SSL_CERT_DIR SSL_CERT_FILE="$CA_FILE" \
		unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && exec mta-sts-daemon -c "$2" -v warn' \
		peer "$T/resolv.conf" "$T/peer.yml" >"$T/peer.log" 2>&1 </dev/null &
	peer=$! # unshare and sh exec, so this is the daemon's own PID
	bg_track "$peer"
	if ! wait_until 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PEER_PORT" 2>/dev/null; then
		echo "# peer did not start: $(tail -n 5 "$T/peer.log" | tr '\n' ' ')"
		peer=""
	fi
fi
if [ -n "$peer" ]; then
	echo "# peer: postfix-mta-sts-resolver $(dpkg-query -W -f '${Version}' postfix-mta-sts-resolver 2>/dev/null), pid $peer ($(cat "/proc/$peer/comm"))"
	first=$(raw_reply "$PEER_PORT")
	echo "# peer answers: $first"
	if [[ $first == "REPLY $WANT"* ]]; then
		echo "# peer idle after warm-up: rss_kb=$(mem_kb "$peer" VmRSS)"
		for n in $CONNS; do
			run_load peer "$peer" "$PEER_PORT" "$n"
		done
	else
		echo "# peer did not learn the policy; its log:"
		tail -n 20 "$T/peer.log" | sed 's/^/#   /'
		peer=""
	fi
fi

# Final table.
echo
printf '%-5s | %9s %9s %6s | %15s %15s | %17s | %13s\n' "" "rate/s" "" "" "p50/p99 us" "" "RSS kB" "CPU us/req"
printf '%-5s | %9s %9s %6s | %15s %15s | %8s %8s | %6s %6s\n' conns mta-stsd peer ratio mta-stsd peer mta-stsd peer mta-stsd peer
for n in $CONNS; do
	s=mta-stsd:$n p=peer:$n
	ratio=-
	[ -n "${R[$p:rate]:-}" ] && ratio=$(awk -v a="${R[$s:rate]:-0}" -v b="${R[$p:rate]}" 'BEGIN {if (b > 0) printf "%.1fx", a / b; else print "-"}')
	printf '%-5s | %9s %9s %6s | %15s %15s | %8s %8s | %6s %6s\n' "$n" "${R[$s:rate]:--}" "${R[$p:rate]:--}" "$ratio" \
		"${R[$s:p50_us]:--}/${R[$s:p99_us]:--}" "${R[$p:p50_us]:--}/${R[$p:p99_us]:--}" \
		"${R[$s:rss]:--}" "${R[$p:rss]:--}" "${R[$s:cpu]:--}" "${R[$p:cpu]:--}"
done
bad=0
for k in "${!R[@]}"; do
	[[ $k == *:errors ]] && [ "${R[$k]}" != 0 ] && { echo "# $k=${R[$k]}"; bad=1; }
done
[ $bad = 0 ] && echo "# no errors, every reply started with '$WANT'"
exit $bad
