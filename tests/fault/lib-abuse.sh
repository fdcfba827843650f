# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154  # ABUSE_ASAN is read by the suites; _stsd_pid is lib.sh's
# lib-abuse.sh - shared by the hostile-server suites (30-http-abuse.sh, 31-dns-abuse.sh);
# sourced after ../integ/lib.sh.
#
#   abuse_asan      on a sanitizer build, give the daemon a 1 MB ASan quarantine: by default
#                   ASan keeps up to 256 MB of freed chunks resident (to catch late
#                   use-after-free), which would swamp the RSS figure; 1 MB still catches
#                   use of what was just freed. Call before stsd_start. Sets ABUSE_ASAN=1
#                   on such a build.
#   rss_kb FIELD    VmRSS or VmHWM of the running daemon, in kB
#   timed DOMAIN WANT DESC LIMIT_MS WHAT
#                   ask once: two TAP lines, the answer matches the glob WANT, and it came
#                   within LIMIT_MS (WHAT names the limit); the time and the domain's last
#                   log line go out as a diagnostic.

ABUSE_ASAN=""
abuse_asan() {
	if ldd "$STSD" 2>/dev/null | grep -q libasan; then
		ABUSE_ASAN=1
		export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
		diag "sanitizer build: ASAN_OPTIONS=$ASAN_OPTIONS"
	fi
}

rss_kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$_stsd_pid/status"; }

timed() {
	local d=$1 want=$2 desc=$3 limit=$4 what=$5 t0 t1 got ms
	t0=$(now_ms)
	got=$(q "$d")
	t1=$(now_ms)
	ms=$((t1 - t0))
	like "$got" "$want" "$desc"
	diag "$d: ${ms} ms; $(grep -F "domain=$d " "$STSD_LOG" | tail -n 1 | cut -c1-200)"
	if [ "$ms" -le "$limit" ]; then
		pass "... within $what ($ms ms)"
	else
		fail "... within $what ($ms ms > $limit)"
	fi
}
