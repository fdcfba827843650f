#!/bin/bash
# SPDX-License-Identifier: MIT
# SIGHUP reload. 300 requests wait on a slow lookup, spread over five socketmap names, while
# a reload removes, adds and reorders the zone sections: each gets the fallback of its zone
# as it was when it arrived, later requests the new zones (the configuration is an immutable
# object; requests and lookups keep the one they started with). max_lookups and
# max_connections apply at reload; restart-only keys (dnssec, dns_timeout, cache_dir ...) are
# named in the log and keep their running value; a deleted config file keeps the running
# configuration (also for the default path, which at start may fall back to the built-in
# defaults and later load a file that appeared); files over 1 MiB are refused by both programs.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 37

sts_txt slow.test 1
dns_a mta-sts.slow.test "$SLOW_IP"
sts_domain enf.test 1 --policy "$(enforce_policy mail.enf.test)"
dns_start
web_start
slow_start

# daemon_conf [KEY=VALUE...]: a [daemon] section, our defaults overridden or extended.
daemon_conf() {
	local -A v=([listen]=$SM_ADDR [cache_dir]=$T/cache [dns_servers]=127.0.0.1
		[ca_file]=$CA_FILE [fetch_timeout]=25 [dns_timeout]=2 [txt_recheck]=3600)
	local order=(listen cache_dir dns_servers ca_file fetch_timeout dns_timeout txt_recheck) kv k
	for kv in "$@"; do
		k=${kv%%=*}
		[ -n "${v[$k]+x}" ] || order+=("$k")
		v[$k]=${kv#*=}
	done
	echo "[daemon]"
	for k in "${order[@]}"; do echo "$k = ${v[$k]}"; done
}
# Distinct fallbacks per name; every name changes its answer with the reload, and no name
# would keep its answer by reading the zone now at its old position in the list.
OLD_ZONES=$'[za]\nfallback = may\n[zb]\nfallback = encrypt\n[zc]\nfallback = dane\n[default]\nfallback = NOTFOUND'
NEW_ZONES=$'[zd]\nfallback = encrypt\n[zc]\nfallback = NOTFOUND\n[zb]\nfallback = may\n[default]\nfallback = dane'
NAMES=(za zb zc zd zz)
declare -A OLD=([za]="OK may" [zb]="OK encrypt" [zc]="OK dane" [zd]=NOTFOUND [zz]=NOTFOUND)
declare -A NEW=([za]="OK dane" [zb]="OK may" [zc]=NOTFOUND [zd]="OK encrypt" [zz]="OK dane")

# reload: SIGHUP, wait (bounded) for the next event=reload result line; print that line.
# Keeps no state in the shell: it also runs inside $(...).
reload() {
	local before
	before=$(grep -c "event=reload result=" "$STSD_LOG")
	kill -HUP "$_stsd_pid"
	wait_until 20 eval '[ "$(grep -c "event=reload result=" "$STSD_LOG")" -gt '"$before"' ]' ||
		diag "no reload result logged"
	grep "event=reload result=" "$STSD_LOG" | tail -n 1
}
# keys_since LINE_NO: the keys named by event=reload key= lines after that log line.
keys_since() {
	tail -n +"$(($1 + 1))" "$STSD_LOG" | grep -o 'event=reload key=[a-z_]*' | sed 's/.*key=//' |
		sort | tr '\n' ' '
}

{ daemon_conf; echo "$OLD_ZONES"; } >"$STSD_CONF"
stsd_start -v || bail "mta-stsd did not start"
# Remembered "no policy" (txt_recheck 3600): answered from the cache with no lookup.
for n in "${NAMES[@]}"; do q "warm-$n.test" "$n" >/dev/null; done

# 300 requests for the slow domain, 60 per name, all waiting on one lookup.
export PFDIR SM_ADDR
for ((i = 0; i < 300; i++)); do echo "${NAMES[i % 5]}"; done |
	timeout 120 xargs -P 300 -I{} bash -c '
		out=$(timeout 100 postmap -c "$PFDIR" -q slow.test "socketmap:$SM_ADDR:{}" 2>&1)
		rc=$?
		if [ $rc = 0 ]; then echo "{} OK $out"; elif [ $rc = 1 ] && [ -z "$out" ]; then
			echo "{} NOTFOUND"; else echo "{} ERR rc=$rc $out"; fi' >"$T/before" &
herd=$!
_waiting() { [ "$(grep -c 'op=request name=z[a-z] domain=slow.test' "$STSD_LOG")" -ge 300 ]; }
wait_until 60 _waiting || diag "only $(grep -c 'op=request name=z[a-z] domain=slow.test' "$STSD_LOG") requests seen"
{ daemon_conf max_lookups=1; echo "$NEW_ZONES"; } >"$STSD_CONF"
like "$(reload)" "*result=ok*zones=3*" "reload with sections removed, added and reordered"
is "$(wc -c <"$T/before")" 0 "the 300 requests were still waiting when the reload was done"

# After the reload: new zones for new requests, also those joining the slow lookup.
joiners=()
for n in "${NAMES[@]}"; do
	(echo "$n $(q slow.test "$n")" >"$T/after-$n") &
	joiners+=($!)
done
got="" want=""
for n in "${NAMES[@]}"; do
	got="$got $n=$(q "warm-$n.test" "$n")"
	want="$want $n=${NEW[$n]}"
done
is "$got" "$want" "requests after the reload get the new zones"
like "$(q fresh.test zz)" "TEMP*too many lookups*" "max_lookups applies at reload (the slow lookup holds the only slot)"

timeout 120 tail --pid=$herd -f /dev/null
for p in "${joiners[@]}"; do timeout 60 tail --pid="$p" -f /dev/null; done
for n in "${NAMES[@]}"; do
	is "$(grep -c -x -F "$n ${OLD[$n]}" "$T/before")" 60 \
		"$n: all 60 requests made before the reload got the old zone's answer (${OLD[$n]})" ||
		diag "$(grep "^$n " "$T/before" | sort | uniq -c)"
done
got="" want=""
for n in "${NAMES[@]}"; do
	got="$got $(cat "$T/after-$n")"
	want="$want $n ${NEW[$n]}"
done
is "$got" "$want" "requests joining the slow lookup after the reload get the new zones"

# Restart-only keys: named in the log, running values kept (the old cache stays in use).
expect enf.test "$(secure_for mail.enf.test)" "enf.test: policy learned into the running cache"
dns_rm _mta-sts.enf.test.
mark=$(wc -l <"$STSD_LOG")
{ daemon_conf dnssec=yes dns_timeout=3 cache_dir="$T/cache2"; echo "$NEW_ZONES"; } >"$STSD_CONF"
like "$(reload)" "*result=ok*" "reload with restart-only keys changed"
is "$(keys_since "$mark")" "cache_dir dns_timeout dnssec " "one log line names each restart-only key that changed"
like "$(grep 'event=reload key=dnssec' "$STSD_LOG" | tail -n 1)" '*note="changed; takes effect on restart"*' \
	"... saying it takes effect on restart"
expect enf.test "$(secure_for mail.enf.test)" "the running cache_dir is still used (cached policy, TXT gone)"
mark=$(wc -l <"$STSD_LOG")
reload >/dev/null
is "$(keys_since "$mark")" "cache_dir dns_timeout dnssec " "reloaded again: still named (the running values were kept)"

# Reload-applied daemon keys: max_connections.
mark=$(wc -l <"$STSD_LOG")
{ daemon_conf max_connections=1; echo "$NEW_ZONES"; } >"$STSD_CONF"
like "$(reload)" "*result=ok*" "reload with max_connections = 1"
is "$(keys_since "$mark")" "" "no key named when only reload-applied settings change"
exec 5<>"/dev/tcp/$STSD_HOST/$STSD_PORT"
netstring 'za warm-za.test' >&5
IFS= read -r -t 20 -d , reply <&5
like "$reply" "*dane" "a held connection is served"
like "$(sm_raw -w 3 '%s' "$(netstring 'za warm-za.test')")" "REPLY OK dane" \
	"max_connections applies at reload: a second connection is served ..."
IFS= read -r -t 5 -d , reply <&5
case $? in 0) reply="REPLY $reply" ;; 1) reply=EOF ;; *) reply=HANG ;; esac
is "$reply" EOF "... and the idle held one was closed to make room for it"
exec 5>&-
{ daemon_conf; echo "$NEW_ZONES"; } >"$STSD_CONF"
reload >/dev/null
expect_within 5 warm-za.test "OK dane" "room again after max_connections is raised" za

# The config file deleted: an error, the running configuration stays.
rm -f "$STSD_CONF"
like "$(reload)" "*result=rejected*No such file*action=keep-running-config*" "reload without the -c file: rejected"
is "$(q warm-zd.test zd)" "OK encrypt" "... the running zones still answer"

# Over 1 MiB: both programs refuse the file (mta-stsctl used to cut it silently).
# big_conf SIZE: a valid configuration padded with comment lines to exactly SIZE bytes.
big_conf() {
	{ daemon_conf; echo "$NEW_ZONES"; } >"$T/big.conf"
	yes '# padding padding padding padding padding padding padding padding' |
		head -c $(($1 - $(wc -c <"$T/big.conf") - 1)) >>"$T/big.conf"
	echo >>"$T/big.conf"
}
big_conf 1048576
is "$(wc -c <"$T/big.conf")" 1048576 "a config file of exactly 1 MiB ..."
out=$(timeout 10 "$STSD" -t -c "$T/big.conf" 2>&1)
is "$?" 0 "... is accepted by mta-stsd -t" || diag "$out"
big_conf 1048577
out=$(timeout 10 "$STSD" -t -c "$T/big.conf" 2>&1)
rc=$?
like "$rc $out" "1 mta-stsd: $T/big.conf: larger than 1 MiB" "one byte more: mta-stsd refuses it at start with a clear message"
out=$(timeout 10 "$STSCTL" -c "$T/big.conf" query warm-za.test 2>&1)
rc=$?
like "$rc $out" "2 mta-stsctl: $T/big.conf: larger than 1 MiB" "mta-stsctl refuses it too"
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop

# The default path: built-in defaults while no file exists, then a file that appears is
# loaded, then its removal keeps the running configuration.
stsd_start_default || bail "mta-stsd without -c did not start"
# An answer first: the loop runs, so the start line is written and SIGHUP is handled.
is "$(q none1.test)" NOTFOUND "built-in [default] fallback"
like "$(grep 'event=start' "$STSD_LOG" | tail -n 1)" '*config="built-in defaults"*' "no file at the default path: built-in defaults"
mark=$(wc -l <"$STSD_LOG")
{ daemon_conf cache_dir="$T/cache3"; printf '[postfix]\nfallback = may\n'; } >"$STSD_ETC/mta-stsd.conf"
like "$(reload)" '*result=ok source="/etc/mta-stsd/mta-stsd.conf"*' "a file that appeared at the default path is loaded"
is "$(keys_since "$mark")" "ca_file cache_dir dns_servers dns_timeout fetch_timeout " \
	"... its restart-only keys are named"
is "$(q none2.test)" "OK may" "... and its zones apply"
rm -f "$STSD_ETC/mta-stsd.conf"
like "$(reload)" "*result=rejected*action=keep-running-config*" "the file deleted again: reload rejected"
is "$(q none3.test)" "OK may" "... the running configuration stays (not the built-in defaults)"
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
