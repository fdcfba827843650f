#!/bin/bash
# SPDX-License-Identifier: MIT
# Self-check of the Postfix delivery harness (lib-postfix.sh), without mta-stsd: a sending
# Postfix with a static TLS policy table delivers to receiving Postfix MX instances found
# through the test DNS, verifies their certificates as the policy demands, and pf_wait reports
# the outcome (a verification failure as "deferred" on the first attempt).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

for t in postfix sendmail postqueue; do
	command -v $t >/dev/null 2>&1 || skip_all "$t not installed (package postfix)"
done

plan 15

# good.test -> mx.good.test (certificate for its name), wrong.test and may.test ->
# mx.wrong.test (certificate for wrong-mx.wrong.test.invalid).
dns_rr 'good.test. 300 IN MX 10 mx.good.test.'
dns_a mx.good.test 127.0.0.20
dns_rr 'wrong.test. 300 IN MX 10 mx.wrong.test.'
dns_rr 'may.test. 300 IN MX 10 mx.wrong.test.'
dns_a mx.wrong.test 127.0.0.21
dns_start

pf_mx_start good 127.0.0.20 "$(cert_issue good mx.good.test)"
pf_mx_start wrong 127.0.0.21 "$(cert_issue wrongname mx.wrong.test)"
printf '%s\n' 'good.test secure match=mx.good.test' 'wrong.test secure match=mx.wrong.test' \
	'may.test may' >"$T/tls_policy"
pf_backdate "$T/tls_policy"
pf_client_start "smtp_tls_policy_maps = texthash:$T/tls_policy"

is "$(postconf -c "$PF_CLIENT/etc" -h smtp_tls_policy_maps)" "texthash:$T/tls_policy" \
	"pf_client_start applies main.cf overrides"
is "$(postconf -c "$PF_CLIENT/etc" -h smtp_dns_support_level)" dnssec "client default: dnssec"

# (a) secure, certificate matches
id=$(pf_send user@good.test)
# shellcheck disable=SC2016
ok "pf_send prints a queue ID" eval '[[ $id =~ ^[0-9A-F]{6,}$ ]]'
r=$(pf_wait "$id" 15)
like "$r" $'sent\n*' "secure match=mx.good.test, good certificate: sent"
like "$r" "*Verified TLS connection established to mx.good.test[[]127.0.0.20]:25*" \
	"client log: verified TLS to the MX"
like "$r" "*to=<user@good.test>, relay=mx.good.test[[]127.0.0.20]:25,*status=sent*" \
	"client log: status line with the relay"
ok "MX good holds the message" wait_until 5 pf_mx_received good user@good.test

# (b) secure, certificate for another name: deferred on the first attempt
t0=$(now_ms)
r=$(pf_wait "$(pf_send user@wrong.test)" 15)
like "$r" $'deferred\n*' "secure, wrong-name certificate: deferred"
like "$r" "*certificate verification failed for mx.wrong.test*" "client log: verification failure"
like "$r" "*status=deferred (Server certificate not verified)*" "client log: deferral reason"
ok "reported on the first attempt (within 5 s)" test $(($(now_ms) - t0)) -lt 5000
if pf_mx_received wrong user@wrong.test; then
	fail "MX wrong got no message"
else
	pass "MX wrong got no message"
fi

# (c) may: the same MX, certificate not checked against the name
pf_send user@may.test >/dev/null
r=$(pf_wait user@may.test 15)
like "$r" $'sent\n*' "policy may, wrong-name certificate: sent"
like "$r" "*[UT]*rusted TLS connection established to mx.wrong.test*" \
	"client log: unverified TLS (Trusted/Untrusted)"

pf_stop_all
left=""
if [ $$ = 1 ]; then # our own PID namespace: ps sees only this test's processes
	# shellcheck disable=SC2009
	left=$(ps -e -o comm= | grep -xE 'master|pickup|qmgr|smtpd|smtp|cleanup|postlogd|tlsmgr|anvil')
fi
is "$left" "" "pf_stop_all: no Postfix process left"
