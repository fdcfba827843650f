#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test; `make bench`): mta-stsd against the machine's ceiling (a fixed-reply
# libevent server, tests/bench/ceiling.c) and against postfix-mta-sts-resolver (the Python
# peer, Debian package; in-memory and sqlite caches), in the integration tests' private network
# namespace (tests/integ/lib.sh: real unbound, nginx with a test CA), in BENCH_ROUNDS rounds
# whose order of servers rotates; the table gives the median of the rounds. What it measures
# (issue 10 items 7 and 9; the table names each target and whether it is met):
#   start   exec to accepting connections, and to the first answer (empty cache)
#   cold    BENCH_DOMAINS (2000) MTA-STS domains discovered over 64 connections, each asked
#           once (real DNS: TXT, A, MX with a short TTL; nginx with one certificate for all
#           mta-sts. names): time to answer all, server CPU per domain, non-OK replies; RSS
#   hot     cached answers, BENCH_LOADS shapes CONNSxDEPTH (depth = requests in flight per
#           connection) over one key and over random keys among the 2000 (whose MX records
#           expire meanwhile): rate, p50/p99/p99.9 latency, server CPU per answer
#   stop    SIGTERM to exit with the 2000 cached; then start again on that cache
#   scale   BENCH_SCALE (1,000,000) policies written by tests/bench/fillcache through the
#           daemon's own cache code: start-up, RSS, and the hot loads on random keys among them
#
# Usage (as root): bash tests/bench/run.sh      (or `make bench` in a build directory)
# Environment:
#   MTASTSD_BENCH_BUILD  build dir holding mta-stsd (default: $top_builddir, else /tmp/b1); the
#                        helpers (smload ceiling fillcache startwatch) are made there; mta-stsd
#                        too when it is missing or BENCH_MAKE=1
#   BENCH_ROUNDS         rounds (default 3)
#   BENCH_SECONDS        seconds per hot load (default 5)
#   BENCH_REQUESTS       most requests per hot load (default 10000000)
#   BENCH_LOADS          hot load shapes (default "1x1 16x1 64x8")
#   BENCH_DOMAINS        domains of the cold discovery (default 2000)
#   BENCH_DNS_TTL        TTL of their MX records, s (default 20)
#   BENCH_CERT_NAMES     names per certificate (default: all in one, as issue 10 asks; with
#                        2000 names it is 67 KB, which every fetch transfers and verifies)
#   BENCH_SCALE          policies of the scale run (default 1000000; 0 skips it)
#   BENCH_PEER=0         skip the peer even if installed
#   BENCH_PIN=0          do not pin the servers to CPU 0 and smload to CPU 1
#   KEEP=1               keep the temp dir (logs, raw results in $T/raw.txt)
# Output: one line per measurement as it runs ("# rN SERVER ..."), then a markdown table.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
bench_dir=$(cd "${0%/*}" && pwd)

if [ -z "${MTASTSD_INTEG_INNS:-}" ]; then
	# Still outside the namespace: make the helpers (and the daemon if needed), and make sure
	# the peer's packaged system service is not running (it would compete for the CPU).
	top_builddir=${MTASTSD_BENCH_BUILD:-${top_builddir:-/tmp/b1}}
	[ -f "$top_builddir/Makefile" ] || { echo "no build in $top_builddir (set MTASTSD_BENCH_BUILD)" >&2; exit 1; }
	targets="tests/bench/smload tests/bench/ceiling tests/bench/fillcache tests/bench/startwatch"
	if [ ! -x "$top_builddir/mta-stsd" ] || [ -n "${BENCH_MAKE:-}" ]; then
		targets="mta-stsd $targets"
	fi
	# shellcheck disable=SC2086
	make -C "$top_builddir" -s -j2 $targets >&2 || { echo "make -C $top_builddir $targets failed" >&2; exit 1; }
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

SMLOAD=$top_builddir/tests/bench/smload
CEILING=$top_builddir/tests/bench/ceiling
FILLCACHE=$top_builddir/tests/bench/fillcache
STARTWATCH=$top_builddir/tests/bench/startwatch
for h in "$SMLOAD" "$CEILING" "$FILLCACHE" "$STARTWATCH"; do
	[ -x "$h" ] || bail "missing $h (make -C $top_builddir ${h#"$top_builddir"/})"
done
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-5}
TOTAL=${BENCH_REQUESTS:-10000000}
LOADS=${BENCH_LOADS:-1x1 16x1 64x8}
NDOM=${BENCH_DOMAINS:-2000}
DNS_TTL=${BENCH_DNS_TTL:-20}
SCALE=${BENCH_SCALE:-1000000}
CERT_NAMES=${BENCH_CERT_NAMES:-$NDOM}
DOMAIN=bench.test
WANT="OK secure"
CEILING_PORT=8463
PEER_PORT=8462
PEER_SQL_PORT=8464
HZ=$(getconf CLK_TCK)
RAW=$T/raw.txt
for v in ROUNDS SECS TOTAL NDOM DNS_TTL SCALE CERT_NAMES; do
	[[ ${!v} =~ ^[0-9]+$ ]] || bail "$v must be a number, not '${!v}'"
done
{ [ "$ROUNDS" -ge 1 ] && [ "$NDOM" -ge 1 ] && [ "$CERT_NAMES" -ge 1 ]; } ||
	bail "BENCH_ROUNDS, BENCH_DOMAINS and BENCH_CERT_NAMES must be at least 1"
for l in $LOADS; do
	[[ $l =~ ^[0-9]+x[0-9]+$ ]] || bail "BENCH_LOADS: '$l' is not CONNSxDEPTH"
done

# ---------------------------------------------------------------------------------------
# The world: bench.test (one key), NDOM cold domains cN.cold.test behind one nginx server
# block (regex server_name, one certificate naming every mta-sts.cN.cold.test, the policy
# generated by nginx from the name), DNS for all of them in unbound. With BENCH_CERT_NAMES=K
# below NDOM: groups of K domains cN.gG.cold.test, a server block and a certificate each.

t_setup=$(now_ms)
sts_domain "$DOMAIN" 1 --policy "$(enforce_policy "mail.$DOMAIN" "*.mx.$DOMAIN")"
: >"$T/cold.list"
for ((g = 1; (g - 1) * CERT_NAMES < NDOM; g++)); do
	names=()
	grp=""
	[ "$CERT_NAMES" -lt "$NDOM" ] && grp=g$g.
	for ((i = (g - 1) * CERT_NAMES + 1; i <= g * CERT_NAMES && i <= NDOM; i++)); do
		d=c$i.${grp}cold.test
		echo "$d" >>"$T/cold.list"
		names+=("mta-sts.$d")
		printf "    local-data: '%s'\n" "_mta-sts.$d. 300 IN TXT \"v=STSv1; id=1;\"" \
			"mta-sts.$d. 300 IN A $WEB_IP" "$d. $DNS_TTL IN MX 10 mail.$d." >>"$DNS_RECORDS"
	done
	cert=$(cert_issue_names "cold$g" "${names[@]}")
	cat >"$WEB_DIR/sites/cold$g.conf" <<-EOF
		server {
		    listen $WEB_IP:443 ssl;
		    server_name ~^mta-sts\.(?<stsdom>c[0-9]+\.${grp//./\\.}cold\.test)\$;
		    ssl_certificate $cert.crt;
		    ssl_certificate_key $cert.key;
		    access_log off;
		    location = /.well-known/mta-sts.txt {
		        default_type text/plain;
		        return 200 "version: STSv1\nmode: enforce\nmx: mail.\$stsdom\nmax_age: 86400\n";
		    }
		}
	EOF
done
unset names
last=$(tail -n 1 "$T/cold.list")
dns_start
web_start
https_get "$last" | grep -q "^mx: mail.$last\$" ||
	bail "nginx does not serve the cold domains' policies: $(https_get "$last" | head -n 5)"
[ "$(dig_short "$last" MX)" = "10 mail.$last." ] || bail "unbound lacks the cold domains"
# txt_recheck 300 (the packaged default); the peer gets the same cache_grace below.
stsd_config daemon.txt_recheck=300

peer=1
if [ "${BENCH_PEER:-1}" = 0 ]; then
	peer=0
	echo "# peer skipped (BENCH_PEER=0)"
elif ! command -v mta-sts-daemon >/dev/null 2>&1; then
	peer=0
	echo "# peer skipped: mta-sts-daemon not installed (apt-get install postfix-mta-sts-resolver)"
else
	# The peer resolves through /etc/resolv.conf (aiodns/c-ares, no resolver option): it runs in
	# its own mount namespace where that file points at our unbound. Its HTTPS client uses
	# Python's default SSL context, which trusts SSL_CERT_FILE (our test CA). No proxies.
	echo "nameserver 127.0.0.1" >"$T/resolv.conf"
fi

# ---------------------------------------------------------------------------------------
# Measuring.

# cpu_ticks PID: utime + stime (all threads) from /proc/PID/stat.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# mem_kb PID FIELD: VmRSS / VmHWM in kB.
mem_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# kv LINE KEY: value of KEY=... in a helper's output line.
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1"; }
# calc EXPR: awk arithmetic, "-" when a variable is empty.
calc() { awk "BEGIN {printf \"%.${2:-1}f\", $1}"; }

declare -A V=() # V[SERVER|FIGURE|ROUND] = value
# put SERVER FIGURE VALUE (in round $r)
put() {
	V[$1|$2|$r]=$3
	echo "$r $1 $2 $3" >>"$RAW"
}

# srv_cmd SERVER: the command line of SERVER into CMD, its port into PORT.
srv_cmd() {
	case $1 in
	ceiling)
		PORT=$CEILING_PORT
		CMD=("$CEILING" -a "127.0.0.1:$PORT" -r "OK secure match=mail.$DOMAIN servername=hostname")
		;;
	mta-stsd | scale)
		PORT=$STSD_PORT
		CMD=("$STSD" -f -c "$STSD_CONF")
		;;
	peer-mem | peer-sql)
		if [ "$1" = peer-mem ]; then
			PORT=$PEER_PORT
			printf '%s\n' "type: internal" "options:" "  cache_size: $((NDOM * 4 + 1000))" >"$T/$1.cache.yml"
		else
			PORT=$PEER_SQL_PORT
			printf '%s\n' "type: sqlite" "options:" "  filename: $T/peer-cache.db" >"$T/$1.cache.yml"
		fi
		{
			printf '%s\n' "host: 127.0.0.1" "port: $PORT" "reuse_port: true" "cache_grace: 300" \
				"default_zone:" "  strict_testing: false" "  timeout: 4" "cache:"
			sed 's/^/  /' "$T/$1.cache.yml"
		} >"$T/$1.yml"
		# shellcheck disable=SC2016 # $1 and $2 belong to the inner sh
		CMD=(env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY
			-u SSL_CERT_DIR SSL_CERT_FILE="$CA_FILE"
			unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && exec mta-sts-daemon -c "$2" -v warn'
			peer "$T/resolv.conf" "$T/$1.yml")
		;;
	esac
}

# srv_start SERVER TAG [DOMAIN]: start SERVER through startwatch (which asks for DOMAIN once it
# accepts); sets SRV_PID, and puts TAG:acc_ms and TAG:ans_ms. 1 if it did not come up (then
# it is stopped again).
srv_start() {
	local name=$1 tag=$2 q=${3:-} out line i
	srv_cmd "$name"
	_starts=$((${_starts:-0} + 1))
	out=$T/start.$_starts.out
	"$STARTWATCH" -a "127.0.0.1:$PORT" -o "$out" -w 30 ${q:+-q "$q"} -- ${PIN_SERVER[@]+"${PIN_SERVER[@]}"} \
		"${CMD[@]}" >>"$T/$name.log" 2>&1 </dev/null &
	SRV_PID=$!
	bg_track "$SRV_PID"
	for ((i = 0; i < 3200; i++)); do
		[ -s "$out" ] && break
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.01
	done
	line=$(cat "$out" 2>/dev/null)
	echo "# r$r $name start ($tag): ${line:-no report from startwatch}"
	if ! kill -0 "$SRV_PID" 2>/dev/null || [ -z "$line" ] || [ "$(kv "$line" accept_ms)" = - ]; then
		echo "# r$r $name did not start; its log:"
		tail -n 10 "$T/$name.log" | sed 's/^/#   /'
		srv_stop "$name"
		return 1
	fi
	put "$name" "$tag:acc_ms" "$(kv "$line" accept_ms)"
	if [ -n "$q" ]; then
		if [[ ${line#*reply=} == "$WANT"* ]]; then
			put "$name" "$tag:ans_ms" "$(kv "$line" answer_ms)"
		else
			echo "# r$r $name: first answer is not '$WANT...'"
		fi
	fi
	return 0
}

# srv_stop SERVER [TAG]: SIGTERM, wait (15 s, then SIGKILL); with TAG puts TAG:term_ms.
srv_stop() {
	local name=$1 tag=${2:-} out rc
	[ -n "${SRV_PID:-}" ] || return 0
	out=$("$STARTWATCH" -k "$SRV_PID" -w 15)
	wait "$SRV_PID" 2>/dev/null
	rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 143 ] || echo "# r$r $name exit status $rc after SIGTERM ($out)"
	[ -n "$tag" ] && [ "$(kv "$out" term_ms)" != - ] && put "$name" "$tag:term_ms" "$(kv "$out" term_ms)"
	SRV_PID=""
}

# memory SERVER TAG: puts TAG:rss_kb, TAG:anon_kb and TAG:hwm_kb (VmRSS counts the pages of
# the LMDB map that were read too; RssAnon is the process's own memory).
memory() {
	put "$1" "$2:rss_kb" "$(mem_kb "$SRV_PID" VmRSS)"
	put "$1" "$2:anon_kb" "$(mem_kb "$SRV_PID" RssAnon)"
	put "$1" "$2:hwm_kb" "$(mem_kb "$SRV_PID" VmHWM)"
}

# hot SERVER KEYS LOAD: one smload run (KEYS one | 2k | 1m; LOAD CONNSxDEPTH); puts
# KEYS:LOAD:{rate,p50,p99,p999,cpu_us,errors}.
hot() {
	local name=$1 keys=$2 load=$3 c0 c1 out rc args=() f=$2:$3
	case $keys in
	one) args=("$DOMAIN") ;;
	2k) args=(-r $((r * 7919 + 1)) -f "$T/cold.list") ;;
	1m) args=(-r $((r * 7919 + 1)) -f "$T/scale.list") ;;
	esac
	c0=$(cpu_ticks "$SRV_PID")
	out=$(timeout $((SECS + 60)) ${PIN_CLIENT[@]+"${PIN_CLIENT[@]}"} "$SMLOAD" -a "127.0.0.1:$PORT" -c "${load%x*}" -d "${load#*x}" \
		-n "$TOTAL" -t "$SECS" -e "$WANT" "${args[@]}" 2>"$T/smload.err")
	rc=$?
	c1=$(cpu_ticks "$SRV_PID")
	echo "# r$r $name $keys $load: ${out:-(no output)} server_cpu_ticks=$((c1 - c0))"
	[ $rc = 0 ] || echo "# r$r smload rc=$rc: $(head -n 3 "$T/smload.err" | tr '\n' ' ')"
	[ -n "$out" ] || return 0
	put "$name" "$f:rate" "$(kv "$out" rate)"
	put "$name" "$f:p50" "$(kv "$out" p50_us)"
	put "$name" "$f:p99" "$(kv "$out" p99_us)"
	put "$name" "$f:p999" "$(kv "$out" p999_us)"
	put "$name" "$f:errors" "$(kv "$out" errors)"
	[ "$(kv "$out" requests)" -gt 0 ] &&
		put "$name" "$f:cpu_us" "$(calc "$((c1 - c0)) / $HZ * 1e6 / $(kv "$out" requests)" 2)"
}

# cold SERVER: every cold domain asked once over 64 connections; puts cold:{s,cpu_ms,nonok}.
cold() {
	local name=$1 c0 c1 out n
	c0=$(cpu_ticks "$SRV_PID")
	out=$(timeout 400 ${PIN_CLIENT[@]+"${PIN_CLIENT[@]}"} "$SMLOAD" -a "127.0.0.1:$PORT" -c 64 -n "$NDOM" -t 300 -e "$WANT" \
		-f "$T/cold.list" 2>"$T/smload.err")
	c1=$(cpu_ticks "$SRV_PID")
	echo "# r$r $name cold $NDOM domains: ${out:-(no output)} server_cpu_ticks=$((c1 - c0))"
	[ -s "$T/smload.err" ] && echo "# r$r smload: $(head -n 2 "$T/smload.err" | tr '\n' ' ')"
	[ -n "$out" ] || return 0
	n=$(kv "$out" requests)
	put "$name" cold:s "$(kv "$out" seconds)"
	put "$name" cold:cpu_ms "$(calc "$((c1 - c0)) / $HZ * 1e3 / $NDOM" 3)"
	put "$name" cold:nonok $(($(kv "$out" errors) + NDOM - n))
}

# hot_all SERVER KEYS...: every load shape over each key set.
hot_all() {
	local name=$1 keys l
	shift
	for keys in "$@"; do
		for l in $LOADS; do hot "$name" "$keys" "$l"; done
	done
}

# One server's share of a round.
round_ceiling() {
	srv_start ceiling start "$DOMAIN" || return 0
	memory ceiling start
	hot_all ceiling one 2k
	srv_stop ceiling stop
}
round_stsd() {
	rm -rf "$T/cache"
	stsd_config daemon.cache_dir="$T/cache"
	srv_start mta-stsd start "$DOMAIN" || return 0
	memory mta-stsd start
	cold mta-stsd
	memory mta-stsd cold
	sleep 2 # what stays: mta-stsd gives freed heap back a second after a burst of fetches
	memory mta-stsd settled
	hot_all mta-stsd one 2k
	memory mta-stsd hot
	srv_stop mta-stsd stop
	srv_start mta-stsd full "$DOMAIN" || return 0 # the same cache: NDOM + 1 domains
	memory mta-stsd full
	srv_stop mta-stsd
}
round_peer() {
	local name=$1
	rm -f "$T/peer-cache.db"
	srv_start "$name" start "$DOMAIN" || return 0
	memory "$name" start
	cold "$name"
	memory "$name" cold
	sleep 2
	memory "$name" settled
	hot_all "$name" one 2k
	memory "$name" hot
	srv_stop "$name" stop
	[ "$name" = peer-sql ] || return 0
	srv_start "$name" full "$DOMAIN" || return 0 # the same sqlite file
	memory "$name" full
	srv_stop "$name"
}
round_scale() {
	local out t0
	# Filled afresh each round: its records were fetched and checked just now, as the cold
	# domains' were, so no TXT re-check falls due while it is measured.
	rm -rf "$T/scale"
	t0=$(now_ms)
	out=$("$FILLCACHE" -d "$T/scale" -n "$SCALE" -l "$T/scale.list" 2>"$T/fill.err") ||
		{ echo "# r$r fillcache failed: $(tail -n 3 "$T/fill.err")"; return 0; }
	echo "# r$r fillcache: $out ($(du -sh "$T/scale" | cut -f1) on disk)"
	put scale fill_s "$(calc "($(now_ms) - $t0) / 1000" 1)"
	stsd_config daemon.cache_dir="$T/scale"
	srv_start scale start s$((SCALE / 2 + 1)).scale.test || return 0
	memory scale start
	hot_all scale 1m
	memory scale hot
	srv_stop scale stop
	stsd_config daemon.cache_dir="$T/cache"
}

# Server and client on CPUs of their own (BENCH_PIN=0: wherever the scheduler puts them): a
# 1x1 round trip then always crosses CPUs, as between Postfix and a policy server, instead of
# depending on where the scheduler happened to put the two.
PIN_SERVER=()
PIN_CLIENT=()
if [ "${BENCH_PIN:-1}" != 0 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	PIN_SERVER=(taskset -c 0)
	PIN_CLIENT=(taskset -c 1)
fi
servers=(ceiling mta-stsd)
[ "$peer" = 1 ] && servers+=(peer-mem peer-sql)
[ "$SCALE" -gt 0 ] && servers+=(scale)
echo "# $("$STSD" -V) from $STSD; $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)); kernel $(uname -r)"
[ "$peer" = 1 ] && echo "# peer: postfix-mta-sts-resolver $(dpkg-query -W -f '${Version}' postfix-mta-sts-resolver 2>/dev/null)"
echo "# $ROUNDS rounds; hot loads ${SECS} s each ($LOADS); $NDOM cold domains (MX TTL ${DNS_TTL} s); scale $SCALE; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# set-up: $(($(now_ms) - t_setup)) ms; servers ${PIN_SERVER[*]:-unpinned}, client ${PIN_CLIENT[*]:-unpinned}"
t_run=$(now_ms)
for ((r = 1; r <= ROUNDS; r++)); do
	n=${#servers[@]}
	for ((k = 0; k < n; k++)); do
		s=${servers[$(((k + r - 1) % n))]}
		case $s in
		ceiling) round_ceiling ;;
		mta-stsd) round_stsd ;;
		peer-mem | peer-sql) round_peer "$s" ;;
		scale) round_scale ;;
		esac
	done
done
echo "# measured in $((($(now_ms) - t_run) / 1000)) s; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------------------
# The table: medians over the rounds.

# med SERVER FIGURE: median of the rounds' values ("" when none).
med() {
	local i vals=()
	for ((i = 1; i <= ROUNDS; i++)); do
		[ -n "${V[$1|$2|$i]:-}" ] && vals+=("${V[$1|$2|$i]}")
	done
	[ ${#vals[@]} -gt 0 ] || return 0
	printf '%s\n' "${vals[@]}" | sort -g |
		awk '{a[NR] = $1} END {
			if (NR % 2) v = a[(NR + 1) / 2]; else v = (a[NR / 2] + a[NR / 2 + 1]) / 2
			if (v >= 100 || v == int(v)) printf "%.0f\n", v; else printf "%.3g\n", v }'
}
# ratio A B: A / B with 2 decimals, "-" when either is missing.
ratio() {
	[ -n "$1" ] && [ -n "$2" ] || { echo -; return; }
	awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'
}
# show V: "-" for nothing.
show() { echo "${1:--}"; }
# verdict OK: met / missed / "-" (no figure)
verdict() {
	case $1 in
	1) echo met ;;
	0) echo "**missed**" ;;
	*) echo - ;;
	esac
}
# le A B / ge A B: 1 when A <= B (A >= B), 0 when not, empty when a figure is missing.
le() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" != - ] && [ "$2" != - ] && awk -v a="$1" -v b="$2" 'BEGIN {print (a <= b) ? 1 : 0}'; }
ge() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" != - ] && [ "$2" != - ] && awk -v a="$1" -v b="$2" 'BEGIN {print (a >= b) ? 1 : 0}'; }

# row LABEL SERVER FIGURE CEILING_FIGURE TARGET_TEXT OK: one table line. mta-stsd's figure
# comes from SERVER (mta-stsd, or scale: then the peers have no such figure); the ceiling's
# from CEILING_FIGURE ("" for none).
row() {
	local label=$1 s=$2 f=$3 cf=$4 target=$5 ok=$6 a c="" pm="" ps=""
	a=$(med "$s" "$f")
	[ -n "$cf" ] && c=$(med ceiling "$cf")
	if [ "$s" != scale ]; then
		pm=$(med peer-mem "$f")
		ps=$(med peer-sql "$f")
	fi
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$(show "$a")" "$(show "$c")" \
		"$(show "$pm")" "$(show "$ps")" "$(ratio "$a" "$c")" "$(ratio "$a" "$pm")" "$(ratio "$a" "$ps")" \
		"${target:--}" "$(verdict "$ok")"
}

table() {
	local keys l a c f two one
	echo "| figure (median of $ROUNDS) | mta-stsd | ceiling | peer mem | peer sqlite | ÷ ceiling | ÷ peer mem | ÷ peer sqlite | target (item 9) | |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	for keys in one 2k 1m; do
		s=mta-stsd
		[ "$keys" = 1m ] && s=scale
		[ "$keys" = 1m ] && [ "$SCALE" = 0 ] && continue
		for l in $LOADS; do
			f=$keys:$l
			c=$f
			[ "$keys" = 1m ] && c=2k:$l # the ceiling does not care which keys
			a=$(med "$s" "$f:rate")
			# item 9's targets: rates and CPU against the ceiling for one and 2k keys, the
			# tail latency for 2k keys, the rate for 1m keys against the rate for 2k
			case $keys:$l in
			1m:*) row "$keys $l rate/s" "$s" "$f:rate" "$c:rate" "" "" ;;
			*:64x8) row "$keys $l rate/s" "$s" "$f:rate" "$c:rate" "≥ 0.5 × ceiling" \
				"$(ge "$(ratio "$a" "$(med ceiling "$c:rate")")" 0.5)" ;;
			*:1x1 | *:16x1) row "$keys $l rate/s" "$s" "$f:rate" "$c:rate" "≥ 0.9 × ceiling" \
				"$(ge "$(ratio "$a" "$(med ceiling "$c:rate")")" 0.9)" ;;
			*) row "$keys $l rate/s" "$s" "$f:rate" "$c:rate" "" "" ;;
			esac
			if [ "$keys" = 1m ]; then
				two=$(med mta-stsd "2k:$l:rate")
				echo "| 1m $l rate ÷ 2k $l rate | $(ratio "$a" "$two") | | | | | | | ≥ 0.8 | $(verdict "$(ge "$(ratio "$a" "$two")" 0.8)") |"
			fi
			row "$keys $l p50 µs" "$s" "$f:p50" "$c:p50" "" ""
			for p in p99 p999; do
				if [ "$keys" != 2k ]; then
					row "$keys $l $p µs" "$s" "$f:$p" "$c:$p" "" ""
				else
					one=$(med "$s" "$f:$p")
					row "$keys $l $p µs" "$s" "$f:$p" "$c:$p" "≤ 1.2 × ceiling" \
						"$(le "$(ratio "$one" "$(med ceiling "$c:$p")")" 1.2)"
				fi
			done
			if [ "$l" = 64x8 ] && [ "$keys" != 1m ]; then
				row "$keys $l CPU µs/answer" "$s" "$f:cpu_us" "$c:cpu_us" "≤ 2" "$(le "$(med "$s" "$f:cpu_us")" 2)"
			else
				row "$keys $l CPU µs/answer" "$s" "$f:cpu_us" "$c:cpu_us" "" ""
			fi
			row "$keys $l wrong replies" "$s" "$f:errors" "$c:errors" "0" "$(le "$(med "$s" "$f:errors")" 0)"
		done
	done
	a=$(med mta-stsd cold:s)
	two=$(med peer-mem cold:s)
	row "cold $NDOM: seconds to answer all" mta-stsd cold:s "" "≤ peer mem ÷ 1.5" \
		"$([ -n "$two" ] && le "$a" "$(calc "$two / 1.5" 3)")"
	row "cold $NDOM: CPU ms/domain" mta-stsd cold:cpu_ms "" "≤ 1" "$(le "$(med mta-stsd cold:cpu_ms)" 1)"
	row "cold $NDOM: non-OK replies" mta-stsd cold:nonok "" "0" "$(le "$(med mta-stsd cold:nonok)" 0)"
	row "RSS kB after start" mta-stsd start:rss_kb start:rss_kb "" ""
	row "RSS kB right after the $NDOM" mta-stsd cold:rss_kb "" "" ""
	row "RSS kB 2 s after the $NDOM" mta-stsd settled:rss_kb "" "≤ 10240" "$(le "$(med mta-stsd settled:rss_kb)" 10240)"
	row "RssAnon kB 2 s after the $NDOM" mta-stsd settled:anon_kb "" "" ""
	row "HWM kB after the $NDOM" mta-stsd cold:hwm_kb "" "" ""
	row "RSS kB after the hot loads" mta-stsd hot:rss_kb "" "" ""
	row "exec → accepting, ms (empty cache)" mta-stsd start:acc_ms start:acc_ms "≤ 20" "$(le "$(med mta-stsd start:acc_ms)" 20)"
	row "exec → first answer, ms (empty cache)" mta-stsd start:ans_ms start:ans_ms "" ""
	row "exec → accepting, ms ($NDOM cached)" mta-stsd full:acc_ms "" "≤ 20" "$(le "$(med mta-stsd full:acc_ms)" 20)"
	row "exec → first answer, ms ($NDOM cached)" mta-stsd full:ans_ms "" "" ""
	row "RSS kB after start ($NDOM cached)" mta-stsd full:rss_kb "" "" ""
	row "SIGTERM → exit, ms ($NDOM cached)" mta-stsd stop:term_ms stop:term_ms "≤ 100" "$(le "$(med mta-stsd stop:term_ms)" 100)"
	if [ "$SCALE" -gt 0 ]; then
		row "scale: fillcache $SCALE, s" scale fill_s "" "" ""
		row "scale: exec → accepting, ms" scale start:acc_ms "" "< 50" "$(le "$(med scale start:acc_ms)" 49.999)"
		row "scale: exec → first answer, ms" scale start:ans_ms "" "< 50" "$(le "$(med scale start:ans_ms)" 49.999)"
		row "scale: RSS kB after start" scale start:rss_kb "" "" ""
		row "scale: RSS kB after the hot loads" scale hot:rss_kb "" "" ""
		row "scale: RssAnon kB after the hot loads" scale hot:anon_kb "" "" ""
		row "scale: SIGTERM → exit, ms" scale stop:term_ms "" "≤ 100" "$(le "$(med scale stop:term_ms)" 100)"
	fi
}

echo
table | tee "$T/table.md"
echo
echo "# ÷ columns: mta-stsd's figure divided by the other's (rates: higher is better; times: lower)."
echo "# 'one': every request for $DOMAIN; '2k': random keys among the $NDOM cold domains (MX TTL"
echo "# ${DNS_TTL} s: records expire during the loads); '1m': random keys among the $SCALE filled ones."
bad=0
for k in "${!V[@]}"; do
	case $k in
	*:errors\|* | *cold:nonok\|*) [ "${V[$k]}" != 0 ] && { echo "# $k=${V[$k]}"; [[ $k == mta-stsd* || $k == scale* ]] && bad=1; } ;;
	esac
done
[ $bad = 0 ] && echo "# mta-stsd: no wrong replies"
exit $bad
