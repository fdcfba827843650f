#!/bin/bash
# SPDX-License-Identifier: MIT
# Full LMDB map and full disk (issue 10, item 6). 600 domains (d1..d600.fat.test) publish an
# enforce policy of 30 long mx patterns, so each record takes an overflow page of its own.
# (a) cache_map_mb = 1: the daemon doubles the map as often as needed (one log line each, and
#     no error) and learns every policy; restarted, it keeps the grown size and answers every
#     domain from the cache with nginx stopped.
# (b) cache_dir on a 4 MiB tmpfs (mounted in the test's own mount namespace), a filler file
#     leaving about 1 MiB: the writes start failing while the daemon learns the 600. It goes
#     on answering (what it fetched now, or what it holds), logs the failure once however many
#     writes fail, and with nginx stopped answers every stored domain "secure" and 20 others
#     with the fallback. Once the filler is gone the other 580 are learned (the 20 keep their
#     failed fetch remembered: RFC 8461 s3.3 back-off), the first write LOG_OUTAGE_QUIET s
#     after the last failure logs writes-recovered once, and after a restart the environment
#     opens, every record decodes and the 580 are answered from the cache.
: "${FAULT_HOST_MNTNS:=$(readlink /proc/self/ns/mnt)}"
export FAULT_HOST_MNTNS
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/../integ/lib.sh"
. "${0%/*}/lib-fault.sh"

command -v mdb_dump >/dev/null 2>&1 || skip_all "mdb_dump not found (lmdb-utils)"
command -v mdb_stat >/dev/null 2>&1 || skip_all "mdb_stat not found (lmdb-utils)"
command -v gcc >/dev/null 2>&1 || skip_all "gcc not found (to build smload)"
# The tmpfs must never appear outside: only in a mount namespace of the test's own.
[ "$(readlink /proc/self/ns/mnt)" != "$FAULT_HOST_MNTNS" ] ||
	skip_all "no private mount namespace (unshare --mount-proc failed)"

N=600
plan 23
t_start=$(now_ms)

# 30 patterns of about 100 bytes: a record of about 3 KiB, the reply under smload's 4 KiB
pol=$'version: STSv1\nmode: enforce\nmx: mail.fat.test'
long=$(printf 'a%.0s' {1..60})
for ((i = 1; i < 30; i++)); do pol+=$'\n'"mx: mx$i.$long.fat.test"; done
pol+=$'\nmax_age: 86400'

smload_build
bulk_domains fat.test "$N" "$pol"
dns_start
web_start
mapfile -t ALL <"$T/bulk-fat.test.domains"
WANT="OK secure match=mail.fat.test servername=hostname" # mx_check: the MX found

# learn_all TAG: ask for the 600 (32 connections); 0 when every answer is WANT...
learn_all() {
	rm -f "$T/ans.$1"
	sm_load "$T/ans.$1" 32 120 "$WANT" "${ALL[@]}" && return 0
	diag "$1: $(cat "$T/ans.$1.sum")" "$(head -n 3 "$T/ans.$1.err")"
	return 1
}

# ---- (a) a 1 MiB map grows
stsd_config daemon.cache_map_mb=1
stsd_start || bail "mta-stsd did not start"
ok "(a) 600 policies learned with cache_map_mb = 1" learn_all a1
grows=$(log_count 'level=info stage=cache op=grow mapsize=')
mapsize=$(mdb_stat -e "$T/cache" | awk '/Map size:/ { print $3 }')
diag "map grown $grows times, now $mapsize bytes"
is "$((grows > 0)) $mapsize" "1 $((1048576 << grows))" "(a) one log line per doubling of the map, from 1 MiB"
is "$(log_count 'level=err')" 0 "(a) no error logged"
ok "(a) mta-stsd exits 0 on SIGTERM" stsd_stop
web_stop
stsd_start || bail "mta-stsd did not start again"
ok "(a) restarted with the grown map: all 600 answered secure from the cache" learn_all a2
is "$(log_count 'op=grow')" "$grows" "(a) the map is not grown again after the restart"
if cache_check; then
	is "$CACHE_N" "$N" "(a) every record decodes: 600 policy records"
else
	fail "(a) every record decodes"
fi
ok "(a) mta-stsd exits 0 on SIGTERM" stsd_stop
web_start

# ---- (b) disk full
SMALL=$T/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=4m,mode=0700 mta-stsd-fault "$SMALL" || bail "cannot mount a tmpfs on $SMALL"
# leave about 1 MiB: some 200 records fit, the rest do not
dd if=/dev/zero of="$SMALL/filler" bs=1M count=3 status=none || bail "cannot write the filler"
stsd_config daemon.cache_dir="$SMALL/cache" daemon.cache_map_mb=1
from=$(log_mark)
stsd_start || bail "mta-stsd did not start on the small tmpfs"
learn_all b1
is "$(awk '$2 == "OK" && $3 == "secure"' "$T/ans.b1" | wc -l)" "$N" \
	"(b) while the disk fills, all 600 are answered secure (what was fetched)"
diag "tmpfs: $(df -k "$SMALL" | tail -n 1)"
errs=$(log_count 'level=err' "$from")
is "$errs" 1 "(b) the failed writes are logged once" ||
	diag "$(tail -c +$((from + 1)) "$STSD_LOG" | grep 'level=err' | head -n 5)"
# (LMDB reports a short write as an I/O error; the two records of one lookup are written in one
# transaction, op=batch)
line=$(tail -c +$((from + 1)) "$STSD_LOG" | grep 'level=err' | sed 's/ op=batch key=- / op=write key=- /')
[[ $line == *'stage=cache op=write key='*' err="Input/output error"'* ]] &&
	line=${line/Input\/output error/No space left on device}
like "$line" '*stage=cache op=write key=* err="No space left on device" mapsize=*' \
	"(b) the line says what failed and why"
ok "(b) daemon still running" stsd_alive
cache_check "$SMALL/cache" || diag "cache_check on the full disk failed"
stored=$CACHE_N
cp "$CACHE_KEYS" "$T/stored.b"
diag "$stored policies stored before the disk was full"
is "$((stored > 0 && stored < N))" 1 "(b) some policies stored, not all (the disk was full)"

# nginx stopped: the stored domains from the cache; 20 others get the fallback (and their
# failed fetch is remembered, RFC 8461 s3.3 back-off, so they are left out from here on)
web_stop
mapfile -t STORED <"$T/stored.b"
comm -23 <(printf '%s\n' "${ALL[@]}" | sort) "$T/stored.b" | head -n 20 >"$T/gone.b"
mapfile -t GONE <"$T/gone.b"
rm -f "$T/ans.b2"
sm_load "$T/ans.b2" 16 60 "" "${STORED[@]}" "${GONE[@]}"
bad=$(awk 'NR == FNR { s[$1] = 1; next }
	s[$1] ? !($2 == "OK" && $3 == "secure") : !($2 == "NOTFOUND" || $2 == "TEMP")' \
	"$T/stored.b" "$T/ans.b2" | head -n 5)
is "$(wc -l <"$T/ans.b2") ${bad:-none}" "$((stored + 20)) none" \
	"(b) nginx stopped: every stored domain secure from the cache, 20 others the fallback"
is "$(log_count 'level=err' "$from")" 1 "(b) still one error line after more failed writes"
is "$(log_count 'event=writes-recovered' "$from")" 0 "(b) no recovery logged while the disk is full"
web_start

rm -f "$SMALL/filler"
mapfile -t REST < <(comm -23 <(printf '%s\n' "${ALL[@]}" | sort) "$T/gone.b")
M=${#REST[@]}
# learn_rest TAG: every domain but the 20 answered secure
learn_rest() {
	rm -f "$T/ans.$1"
	sm_load "$T/ans.$1" 32 120 "$WANT" "${REST[@]}" && return 0
	diag "$1: $(cat "$T/ans.$1.sum")" "$(head -n 3 "$T/ans.$1.err")"
	return 1
}
ok "(b) space freed: the $M others answered secure" learn_rest b3
# The outage ends with the first write LOG_OUTAGE_QUIET (60) s after its last failure: until
# then ask every 2 s for a name without MTA-STS (remembered as such: a write).
recovered() { [ "$(log_count 'event=writes-recovered' "$from")" -gt 0 ]; }
t0=$(now_ms)
for ((i = 0; i < 45; i++)); do
	recovered && break
	sm_load "$T/ans.poke" 1 10 "" "p$i.nopolicy.test"
	sleep 2
done
diag "writes-recovered after $(($(now_ms) - t0)) ms"
is "$(log_count 'level=info stage=cache event=writes-recovered failed=[1-9][0-9]*$' "$from")" 1 \
	"(b) one writes-recovered line, with the count of failed writes"
ok "(b) mta-stsd exits 0 on SIGTERM" stsd_stop
web_stop
stsd_start || bail "mta-stsd did not start after the disk was full"
if cache_check "$SMALL/cache"; then
	is "$(comm -12 "$CACHE_KEYS" <(printf '%s\n' "${REST[@]}" | sort) | wc -l)" "$M" \
		"(b) after a restart every record decodes, the $M domains among them ($CACHE_N records)"
else
	fail "(b) after a restart every record decodes"
fi
ok "(b) and the $M are answered secure from the cache" learn_rest b4
is "$(log_count 'level=err' "$from")" 1 "(b) no other error logged"
ok "(b) mta-stsd exits 0 on SIGTERM" stsd_stop
umount "$SMALL"
diag "wall time $(($(now_ms) - t_start)) ms"
