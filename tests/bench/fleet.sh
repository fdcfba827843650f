#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test) of the shared cache (issue 11): in the tests' namespace, a real
# redis-server and 2000 MTA-STS domains (one nginx server block, one certificate for all the
# mta-sts. names). Node A learns the 2000 (cold, 64 connections); node B, sharing A's Redis,
# is then asked the same 2000 with an empty LMDB: its time, CPU per domain and the policy
# fetches it made (nginx's access log: the goal is none). Then the hot path: cached answers on
# B (shared_cache set) against node C (no shared_cache, the same 2000 learnt by itself),
# alternated, BENCH_ROUNDS rounds of BENCH_SECONDS each, 16 connections x 1: rate, p99, daemon
# CPU per answer. Prints a markdown table.
# Usage (as root): bash tests/bench/fleet.sh  (daemon from $top_builddir, built if missing)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
bench_dir=$(cd "${0%/*}" && pwd)
: "${top_builddir:=$(cd "$bench_dir/../.." && pwd)}"
export top_builddir
. "$bench_dir/../integ/lib.sh"
. "$bench_dir/../fault/lib-fault.sh"

N=${BENCH_DOMAINS:-2000}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-8}
HZ=$(getconf CLK_TCK)
command -v redis-server >/dev/null || bail "redis-server not installed"
ulimit -n 8192

RSOCK=$T/redis.sock
mkdir -p "$T/redis"
redis-server --port 0 --unixsocket "$RSOCK" --unixsocketperm 700 --save "" --appendonly no \
	--dir "$T/redis" --logfile "$T/redis.log" --daemonize no </dev/null >/dev/null 2>&1 &
bg_track $!
wait_until 10 eval '[ "$(redis-cli -s "$RSOCK" PING 2>/dev/null)" = PONG ]' || bail "redis"

bulk_domains fleet.test "$N" "$(enforce_policy mail.fleet.test)"
dns_start
web_start
smload_build
mapfile -t doms <"$T/bulk-fleet.test.domains"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$_stsd_pid/stat"; }
fetches() { wc -l <"$WEB_DIR/logs/access.log"; }
field() { sed -n "s/^\(.* \)\{0,1\}$1=\([0-9.]*\).*/\2/p" <<<"$2"; }

# cold NODE: ask the 2000 once over 64 connections; prints "ms cpu_us_per_domain fetches errors"
cold() {
	local f0 c0 t0 out
	f0=$(fetches)
	c0=$(cpu_ticks)
	t0=$(now_ms)
	out=$("$SMLOAD" -a "$STSD_HOST:$STSD_PORT" -c 64 -n "$N" -t 120 -e "OK secure" "${doms[@]}" 2>/dev/null)
	echo "$(($(now_ms) - t0)) $((($(cpu_ticks) - c0) * 1000000 / HZ / N)) $(($(fetches) - f0)) $(field errors "$out")"
}

stsd_config daemon.txt_recheck=3600 daemon.shared_cache="redis+unix:$RSOCK"
stsd_node a 8461
stsd_start || bail "node a"
read -r a_ms a_cpu a_f a_err < <(cold)
stsd_node b 8462
stsd_start || bail "node b"
read -r b_ms b_cpu b_f b_err < <(cold)
stsd_node c 8463
stsd_config daemon.shared_cache=
stsd_start || bail "node c"
read -r c_ms c_cpu c_f c_err < <(cold)

# hot NODE: cached answers, 16 x 1, SECS seconds; prints "rate p99_us cpu_ns_per_answer"
hot() {
	local c0 out n
	stsd_node "$1"
	c0=$(cpu_ticks)
	out=$("$SMLOAD" -a "$STSD_HOST:$STSD_PORT" -c 16 -n 5000000 -t "$SECS" -e "OK secure" "${doms[@]}" 2>/dev/null)
	n=$(field requests "$out")
	echo "$(field rate "$out") $(field p99_us "$out") $((($(cpu_ticks) - c0) * 1000000000 / HZ / n))"
}
declare -a br bp bc cr cp cc
for ((i = 0; i < ROUNDS; i++)); do
	read -r r p c < <(hot b); br+=("$r"); bp+=("$p"); bc+=("$c")
	read -r r p c < <(hot c); cr+=("$r"); cp+=("$p"); cc+=("$c")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

plan 1
cat <<-TABLE
	## Shared cache (issue 11): $N domains, $(date -u +%F), $(nproc) CPUs

	| | time | daemon CPU per domain | policy fetches | errors |
	|---|---|---|---|---|
	| node A, cold (learns from the web, publishes) | $a_ms ms | $a_cpu us | $a_f | $a_err |
	| node B, cold, A's policies in Redis | $b_ms ms | $b_cpu us | $b_f | $b_err |
	| node C, cold, no shared cache | $c_ms ms | $c_cpu us | $c_f | $c_err |

	| cached answers, 16 x 1, median of $ROUNDS x ${SECS} s | rate /s | p99 us | CPU ns per answer |
	|---|---|---|---|
	| node B, shared_cache set | $(median "${br[@]}") | $(median "${bp[@]}") | $(median "${bc[@]}") |
	| node C, shared_cache unset | $(median "${cr[@]}") | $(median "${cp[@]}") | $(median "${cc[@]}") |
	| B / C | $(awk -v a="$(median "${br[@]}")" -v b="$(median "${cr[@]}")" 'BEGIN { printf "%.3f", a / b }') | | $(awk -v a="$(median "${bc[@]}")" -v b="$(median "${cc[@]}")" 'BEGIN { printf "%.3f", a / b }') |
TABLE
ok "fleet benchmark ran" [ "$b_err" = 0 ]
