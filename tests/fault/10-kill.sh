#!/bin/bash
# SPDX-License-Identifier: MIT
# kill -9 during writes (issue 10, item 3). 2000 MTA-STS domains (d1..d2000.kill.test, max_age
# 86400) are discovered over 64 connections; 20 times, at a random moment, the daemon is killed
# with SIGKILL and started again on the same cache_dir. After each restart: it starts (the
# LMDB environment opens), every record decodes (mdb_dump walks every page; mta-stsctl cache
# list decodes every policy record), and with nginx stopped every domain it had ever answered
# "secure" still gets "secure": from the cache, since nothing could be fetched. Two of the
# rounds kill it while the proactive refresh rewrites records: 100 domains of refr.test with
# max_age 30 (refreshed about 14 s after their fetch), killed once the first refetches reached
# nginx. A round that finds the discovery already complete still kills it during writes: every
# cached answer older than txt_recheck (1 s) starts a TXT re-check that rewrites the record.
# FAULT_SEED=N replays the same kill moments.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/../integ/lib.sh"
. "${0%/*}/lib-fault.sh"

command -v mdb_dump >/dev/null 2>&1 || skip_all "mdb_dump not found (lmdb-utils)"
command -v gcc >/dev/null 2>&1 || skip_all "gcc not found (to build smload)"

N=2000
ROUNDS=20
REFRESH_ROUNDS=" 10 20 "
NR=100 # refr.test domains per refresh round
SECURE="OK secure match=mail.kill.test servername=hostname"
SECURE_R="OK secure match=mail.refr.test servername=hostname"
seed=${FAULT_SEED:-$((SRANDOM % 1000000))} # ($$ is 1: the PID namespace)
RANDOM=$seed

plan $((3 * ROUNDS + 4))
diag "FAULT_SEED=$seed"
t_start=$(now_ms)

smload_build
bulk_domains kill.test "$N" "$(enforce_policy mail.kill.test)"
bulk_domains refr.test $((2 * NR)) "$(sts_policy enforce 30 mail.refr.test)"
dns_start
web_start
mapfile -t ALL <"$T/bulk-kill.test.domains"
mapfile -t REFR <"$T/bulk-refr.test.domains"
stsd_config daemon.max_lookups=4096
stsd_start || bail "mta-stsd did not start"

: >"$T/secure.kill" # every kill.test domain answered secure so far
refr_fetches() { grep -c '"mta-sts\.d[0-9]*\.refr\.test"$' "$WEB_DIR/logs/access.log"; }

# check_set SET_FILE TAG: ask for every domain of SET_FILE (16 connections, replies in
# $T/check.TAG); 0 when each one is answered "OK secure ...".
check_set() {
	local set=$1 out=$T/check.$2 n
	shift 2
	n=$(wc -l <"$set")
	[ "$n" -gt 0 ] || return 0
	rm -f "$out"
	mapfile -t _doms <"$set"
	sm_load "$out" 16 60 "OK secure" "${_doms[@]}"
	unset _doms
	# every domain of the set with its reply, "(none)" when none came
	bad=$(awk 'NR == FNR { r[$1] = $0; next }
		!(r[$1] ~ /^[^ ]+ OK secure /) { print r[$1] != "" ? r[$1] : $1 " (none)" }' \
		"$out" "$set" | head -n 5)
	[ -z "$bad" ] && return 0
	diag "not all of $n answered secure; first others:" "$bad" "smload: $(cat "$out.sum")"
	return 1
}

for ((r = 1; r <= ROUNDS; r++)); do
	rm -f "$T/ans.$r"
	if [[ $REFRESH_ROUNDS == *" $r "* ]]; then
		# this round's refr.test domains: learn them all, then wait for their refresh
		off=0
		[ "$r" = "$ROUNDS" ] && off=$NR
		doms=("${REFR[@]:off:NR}")
		before=$(refr_fetches)
		sm_load "$T/ans.$r" 16 60 "$SECURE_R" "${doms[@]}" ||
			diag "round $r: learning refr.test: $(cat "$T/ans.$r.sum") $(head -n 2 "$T/ans.$r.err")"
		printf '%s\n' "${doms[@]}" >"$T/set.refr.$r"
		# their refresh is due 14-15 s after each fetch: wait (bounded) for the first refetch
		wait_until 40 eval '[ "$(refr_fetches)" -gt $((before + NR)) ]' ||
			diag "round $r: no refresh seen within 40 s"
		delay=$((RANDOM % 800))
		sleep "$(printf '0.%03d' "$delay")"
		what="refresh ($(($(refr_fetches) - before - NR)) refetches by the kill)"
	else
		# kill.test discovery in a new random order, killed after a random delay
		mapfile -t doms < <(shuf --random-source=<(yes "$seed.$r") -e "${ALL[@]}")
		sm_load "$T/ans.$r" 64 120 "" "${doms[@]}" &
		load=$!
		delay=$((50 + RANDOM % 2500))
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
		what="discovery"
	fi
	stsd_kill9
	[ -n "${load:-}" ] && { wait "$load"; load=""; }
	awk '$2 == "OK" && $3 == "secure" { print $1 }' "$T/ans.$r" | grep '\.kill\.test$' >>"$T/secure.kill"
	sort -u -o "$T/secure.kill" "$T/secure.kill"
	n_round=$(awk '$2 == "OK" && $3 == "secure"' "$T/ans.$r" | wc -l)
	diag "round $r: $what, kill -9 after ${delay} ms; $n_round secure answers this round, $(wc -l <"$T/secure.kill") kill.test domains so far"

	web_stop # from here on nothing can be fetched: secure answers come from the cache
	ok "round $r: mta-stsd starts again on the same cache_dir" stsd_start ||
		bail "mta-stsd does not start after kill -9 (round $r)"
	if cache_check; then
		pass "round $r: every record decodes ($CACHE_N policy records)"
	else
		fail "round $r: every record decodes"
	fi
	okc=0
	check_set "$T/secure.kill" "$r" || okc=1
	if [ -f "$T/set.refr.$r" ]; then
		check_set "$T/set.refr.$r" "refr.$r" || okc=1
	fi
	is "$okc" 0 "round $r: every domain answered secure before a kill is still secure, from the cache"
	web_start
done

is "$(log_count 'event=cache-decode-failed')" 0 "no record failed to decode in any run"
is "$(log_count 'level=err.*stage=cache')" 0 "no cache error logged in any run"
ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
diag "wall time $(($(now_ms) - t_start)) ms"
