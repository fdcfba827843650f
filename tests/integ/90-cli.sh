#!/bin/bash
# SPDX-License-Identifier: MIT
# Command line: mta-stsd -t (config check), mta-stsctl query (through the daemon) and
# query --direct (no daemon: discovery + decision in the CLI, with a "why").
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 16

sts_domain enforce.test 1 --policy "$(enforce_policy mail.enforce.test '*.mx.enforce.test')"
dns_rr "enforce.test. 300 IN MX 20 a.mx.enforce.test."
dns_start
web_start
stsd_config
SEC=$(secure_for mail.enforce.test:a.mx.enforce.test)

# -t: configuration check
out=$(timeout 10 "$STSD" -t -c "$STSD_CONF" 2>&1)
is "$?" 0 "mta-stsd -t on a good config exits 0" || diag "$out"
_badconf() { # _badconf NAME TEXT: -t must fail with a message
	local f=$T/bad-$1.conf out rc
	printf '%s\n' "$2" >"$f"
	out=$(timeout 10 "$STSD" -t -c "$f" 2>&1)
	rc=$?
	if [ $rc != 0 ] && [ $rc != 124 ] && [ -n "$out" ]; then
		pass "mta-stsd -t rejects $1 (rc=$rc: $(head -n 1 <<<"$out"))"
	else
		fail "mta-stsd -t rejects $1" "rc=$rc output='$out'" "config: $2"
	fi
}
_badconf "an unknown fallback" $'[daemon]\nlisten = inet:127.0.0.1:8461\n[postfix]\nfallback = bogus'
_badconf "a non-numeric fetch_timeout" $'[daemon]\nfetch_timeout = abc'
_badconf "an unknown key" $'[daemon]\nno_such_key = 1'
_badconf "a bad listen address" $'[daemon]\nlisten = tcp:nowhere'
_badconf "a line that is not INI" $'[daemon\nlisten'
out=$(timeout 10 "$STSD" -t -c "$T/does-not-exist.conf" 2>&1)
rc=$?
if [ $rc != 0 ] && [ $rc != 124 ]; then pass "mta-stsd -t with a missing -c file fails"; else fail "mta-stsd -t with a missing -c file fails" "rc=$rc $out"; fi

stsd_start || bail "mta-stsd did not start"
out=$(timeout 20 "$STSCTL" -c "$STSD_CONF" query enforce.test 2>&1)
is "$?" 0 "mta-stsctl query exits 0"
like "$out" "*$SEC*" "mta-stsctl query prints the daemon's reply"
out=$(timeout 20 "$STSCTL" -c "$STSD_CONF" query notxt.test 2>&1)
like "$out" "*NOTFOUND*" "mta-stsctl query of a domain without policy: NOTFOUND"
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop

# --direct: no daemon running, fresh cache dir
stsd_config daemon.cache_dir="$T/cache-direct"
mkdir -p "$T/cache-direct"
out=$(timeout 20 "$STSCTL" -c "$STSD_CONF" query --direct enforce.test 2>&1)
rc=$?
diag "mta-stsctl query --direct enforce.test:" "$out"
is "$rc" 0 "query --direct exits 0 without a daemon"
like "$out" "*secure match=mail.enforce.test:a.mx.enforce.test*" "query --direct: reply line"
like "$out" "*mode*enforce*" "query --direct: prints the policy (mode)"
like "$out" "*why*" "query --direct: prints a why line"
out=$(timeout 20 "$STSCTL" -c "$STSD_CONF" query enforce.test 2>&1)
rc=$?
if [ $rc != 0 ] && [ $rc != 124 ]; then pass "query without a running daemon fails (rc=$rc)"; else fail "query without a running daemon fails" "rc=$rc $out"; fi
