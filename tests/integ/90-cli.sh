#!/bin/bash
# SPDX-License-Identifier: MIT
# Command line: -h/--help of both programs and of mta-stsctl query (usage on stdout, exit 0;
# a usage error: stderr, exit 2), mta-stsd -t (config check), mta-stsctl query (through the
# daemon) and query --direct (no daemon: discovery + decision in the CLI, with a "why").
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 25

sts_domain enforce.test 1 --policy "$(enforce_policy mail.enforce.test '*.mx.enforce.test')"
dns_rr "enforce.test. 300 IN MX 20 a.mx.enforce.test."
dns_start
web_start
stsd_config
SEC=$(secure_for mail.enforce.test:a.mx.enforce.test)

# -h/--help: usage on stdout, nothing on stderr, exit 0 (no configuration needed); a usage
# error: usage on stderr, nothing on stdout, exit 2.
_cli() { # _cli WANT_RC STREAM PATTERN DESC -- CMD...: STREAM (out|err) matches, the other is empty
	local want=$1 stream=$2 pat=$3 desc=$4 rc out err
	shift 5
	out=$(timeout 10 "$@" 2>"$T/cli.err")
	rc=$?
	err=$(cat "$T/cli.err")
	if [ "$stream" = err ]; then local t=$out; out=$err; err=$t; fi
	# shellcheck disable=SC2053
	if [ $rc = "$want" ] && [[ $out == $pat ]] && [ -z "$err" ]; then
		pass "$desc"
	else
		fail "$desc" "rc=$rc (want $want)" "$stream: $out" "other stream: $err"
	fi
}
_cli 0 out "usage: mta-stsd \[-c FILE\]*-h, --help*" "mta-stsd -h: usage on stdout, exit 0" -- "$STSD" -h
_cli 0 out "usage: mta-stsd \[-c FILE\]*-h, --help*" "mta-stsd --help: usage on stdout, exit 0" -- "$STSD" --help
_cli 2 err "*usage: mta-stsd \[-c FILE\]*" "mta-stsd -x: usage on stderr, exit 2" -- "$STSD" -x
_cli 0 out "usage: mta-stsctl *COMMAND*query \[--direct\] \[--json\] DOMAIN*" \
	"mta-stsctl -h: usage on stdout, exit 0" -- "$STSCTL" -h
_cli 0 out "usage: mta-stsctl *COMMAND*query \[--direct\] \[--json\] DOMAIN*" \
	"mta-stsctl --help: usage on stdout, exit 0" -- "$STSCTL" --help
_cli 0 out "usage: mta-stsctl *query \[--direct\] \[--json\] DOMAIN*--direct*" \
	"mta-stsctl query --help: its usage on stdout, exit 0, without a configuration" \
	-- "$STSCTL" -c "$T/does-not-exist.conf" query --help
_cli 0 out "usage: mta-stsctl *query \[--direct\] \[--json\] DOMAIN*" \
	"mta-stsctl query -h: its usage on stdout, exit 0" -- "$STSCTL" query -h
_cli 2 err "usage: mta-stsctl *query \[--direct\] \[--json\] DOMAIN*" \
	"mta-stsctl query without a domain: usage on stderr, exit 2" -- "$STSCTL" query
_cli 2 err "mta-stsctl: unknown command: frob*usage: mta-stsctl*" \
	"mta-stsctl frob: unknown command on stderr, exit 2" -- "$STSCTL" frob example.com

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
