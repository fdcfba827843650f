#!/bin/bash
# SPDX-License-Identifier: MIT
# mta-stsctl generate: what it prints is what a domain publishes. The zone-file lines go into
# the test's DNS as printed, the policy file is served by nginx byte for byte, and the running
# daemon learns them: postmap gets "secure match=" for the generated patterns. Domains:
# gen.test (text output, enforce, a wildcard pattern, TLS-RPT), json.test (--json, enforce;
# later a second policy with a new id replaces the first), none.test (mode none, no --mx).
# Refused values: exit 2, the option and value named on stderr, nothing on stdout.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

command -v jq >/dev/null 2>&1 || skip_all "jq not found (tests/install-deps.sh installs it)"

plan 23

gen() { timeout 10 "$STSCTL" generate "$@"; }

# ---- gen.test: the text output, pasted as an operator would
t0=$(date -u +%Y%m%dT%H%M%SZ)
out=$(gen --domain Gen.test --mode enforce --mx mail.gen.test --mx '*.mx.gen.test' \
	--max-age 86400 --rua mailto:tlsrpt@gen.test --rua https://reports.gen.test/tlsrpt)
rc=$?
t1=$(date -u +%Y%m%dT%H%M%SZ)
is "$rc" 0 "generate (text) exits 0"
txt=$(grep '^_mta-sts\.' <<<"$out")
rpt=$(grep '^_smtp\._tls\.' <<<"$out")
id=$(sed -n 's/.*id=\([A-Za-z0-9]*\);.*/\1/p' <<<"$txt")
if [[ $txt == '_mta-sts.gen.test. 3600 IN TXT "v=STSv1; id='*';"' ]] && [ ${#id} = 16 ] &&
	[[ ! $id < $t0 ]] && [[ ! $id > $t1 ]]; then
	pass "TXT line: _mta-sts.gen.test. 3600 IN TXT, id = the UTC time of the run ($id)"
else
	fail "TXT line: _mta-sts.gen.test. 3600 IN TXT, id = the UTC time of the run" "line: $txt" "id: $id, run between $t0 and $t1"
fi
is "$rpt" '_smtp._tls.gen.test. 3600 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@gen.test,https://reports.gen.test/tlsrpt"' \
	"TLS-RPT line: both URIs, comma-separated"
# The policy file: the lines after the "# with status 200" comment, up to the next comment.
awk '/^# with status 200/ { on = 1; next } on && /^#/ { exit } on' <<<"$out" >"$T/gen.policy"
want=$(printf 'version: STSv1\r\nmode: enforce\r\nmx: mail.gen.test\r\nmx: *.mx.gen.test\r\nmax_age: 86400\r\n_')
got=$(cat "$T/gen.policy"; echo _)
if [ "$got" = "$want" ] && [[ $out == *"# https://mta-sts.gen.test/.well-known/mta-sts.txt"* ]]; then
	pass "policy file: 5 lines, each ending CRLF; served at https://mta-sts.gen.test/.well-known/mta-sts.txt"
else
	fail "policy file: 5 lines ending CRLF, and its URL" "$(od -c "$T/gen.policy" | head -n 8)" "$out"
fi
dns_rr "$txt"
dns_rr "$rpt"
dns_a mta-sts.gen.test "$WEB_IP"
dns_rr "gen.test. 300 IN MX 10 mail.gen.test."
dns_rr "gen.test. 300 IN MX 20 a.mx.gen.test."
web_domain gen.test --policy-file "$T/gen.policy"

# ---- json.test: --json, the zone line and the policy text taken with jq
j=$(gen --json --domain json.test --mode enforce --mx mail.json.test --max-age 604800 --id 1)
rc=$?
if [ $rc = 0 ] && [ "$(jq -r '.records.tlsrpt' <<<"$j")" = null ] &&
	[ "$(jq -r '.policy.url' <<<"$j")" = https://mta-sts.json.test/.well-known/mta-sts.txt ] &&
	[ "$(jq -r '.records.mta_sts.text' <<<"$j")" = "v=STSv1; id=1;" ] &&
	[ "$(jq -r '.policy.mx | join(",")' <<<"$j")" = mail.json.test ]; then
	pass "generate --json: one object (records.mta_sts, records.tlsrpt null, policy url, mx)"
else
	fail "generate --json: one object" "rc=$rc" "$j"
fi
dns_rr "$(jq -r .records.mta_sts.zone <<<"$j")"
jq -j .policy.text <<<"$j" >"$T/json.policy"
dns_a mta-sts.json.test "$WEB_IP"
dns_rr "json.test. 300 IN MX 10 mail.json.test."
dns_rr "json.test. 300 IN MX 20 mail2.json.test."
web_domain json.test --policy-file "$T/json.policy"

# ---- none.test: mode none needs no --mx
out=$(gen --domain none.test --mode none --max-age 86400 2>&1)
rc=$?
if [ $rc = 0 ] && [[ $out != *"mx:"* ]]; then pass "generate --mode none without --mx exits 0, no mx line"
else fail "generate --mode none without --mx exits 0" "rc=$rc" "$out"; fi
dns_rr "$(grep '^_mta-sts\.' <<<"$out")"
awk '/^# with status 200/ { on = 1; next } on && /^#/ { exit } on' <<<"$out" >"$T/none.policy"
dns_a mta-sts.none.test "$WEB_IP"
dns_rr "none.test. 300 IN MX 10 mail.none.test."
web_domain none.test --policy-file "$T/none.policy"

dns_start
web_start
stsd_config
stsd_start || bail "mta-stsd did not start"

# ---- what was printed works
is "$(dig_short _smtp._tls.gen.test TXT)" '"v=TLSRPTv1; rua=mailto:tlsrpt@gen.test,https://reports.gen.test/tlsrpt"' \
	"the TLS-RPT line, published as printed, resolves to the record"
expect gen.test "$(secure_for mail.gen.test:a.mx.gen.test)" \
	"gen.test: the daemon learns the generated policy (text output), wildcard included"
expect json.test "$(secure_for mail.json.test)" \
	"json.test: the daemon learns the generated policy (--json output)"
expect none.test NOTFOUND "none.test: a generated mode none policy gives the fallback"
out=$(timeout 20 "$STSCTL" -c "$STSD_CONF" query --direct none.test 2>&1)
like "$out" "*policy: id=20*mode=none max_age=86400 mx=*" \
	"none.test: query --direct shows the generated mode none policy was fetched and valid"

# ---- a policy change: generate again (new id), publish, and the daemon takes it
j=$(gen --json --domain json.test --mode enforce --mx mail2.json.test --max-age 604800 --id 2)
jq -j .policy.text <<<"$j" >"$WEB_DIR/www/json.test/.well-known/mta-sts.txt"
dns_rm _mta-sts.json.test.
dns_rr "$(jq -r .records.mta_sts.zone <<<"$j")"
expect_within 5 json.test "$(secure_for mail2.json.test)" \
	"json.test: a regenerated policy with a new id replaces the cached one"

# ---- refused values: exit 2, nothing on stdout, stderr names the option and value
_bad() { # _bad DESC STDERR-GLOB ARGS...
	local desc=$1 pat=$2 out err rc
	shift 2
	out=$(gen "$@" 2>"$T/gen.err")
	rc=$?
	err=$(cat "$T/gen.err")
	# shellcheck disable=SC2053
	if [ $rc = 2 ] && [ -z "$out" ] && [[ $err == $pat ]]; then
		pass "$desc: exit 2, $(head -n 1 <<<"$err")"
	else
		fail "$desc" "rc=$rc (want 2)" "stdout: $out" "stderr: $err"
	fi
}
OK=(--domain gen.test --max-age 86400)
_bad "unknown mode" "mta-stsctl: generate: --mode 'strict': mode must be enforce, testing or none" \
	"${OK[@]}" --mode strict --mx mail.gen.test
_bad "'*' inside a pattern" "mta-stsctl: generate: --mx 'a.\*.gen.test': *first label*" \
	"${OK[@]}" --mode enforce --mx a.\*.gen.test
_bad "'*' glued to a label" "mta-stsctl: generate: --mx '\*gen.test': *first label*" \
	"${OK[@]}" --mode enforce --mx '*gen.test'
_bad "enforce without --mx" "mta-stsctl: generate: --mx: at least one mx pattern is needed unless the mode is none" \
	"${OK[@]}" --mode enforce
_bad "max_age over 31557600" "mta-stsctl: generate: --max-age '31557601': *0 to 31557600" \
	--domain gen.test --mode testing --mx mail.gen.test --max-age 31557601
_bad "a domain that does not normalise" "mta-stsctl: generate: --domain 'bad_domain.test': not a valid domain name: *" \
	--domain bad_domain.test --mode testing --mx mail.gen.test --max-age 86400
_bad "an id of 33 characters" "mta-stsctl: generate: --id '0123456789abcdef0123456789ABCDEFx': *longer than 32 characters" \
	"${OK[@]}" --mode testing --mx mail.gen.test --id 0123456789abcdef0123456789ABCDEFx
_bad "an http: report URI" "mta-stsctl: generate: --rua 'http://reports.gen.test/': *not a mailto: or https: URI*" \
	"${OK[@]}" --mode testing --mx mail.gen.test --rua http://reports.gen.test/
_bad "no --max-age" "mta-stsctl: generate: --max-age is required*usage: mta-stsctl generate*" \
	--domain gen.test --mode testing --mx mail.gen.test
out=$(gen --help 2>"$T/gen.err")
rc=$?
if [ $rc = 0 ] && [[ $out == "usage: mta-stsctl generate --domain DOMAIN"*"--max-age SECONDS"* ]] && [ ! -s "$T/gen.err" ]; then
	pass "generate --help: usage on stdout, exit 0"
else
	fail "generate --help: usage on stdout, exit 0" "rc=$rc" "$out"
fi

ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
