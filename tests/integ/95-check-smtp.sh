#!/bin/bash
# SPDX-License-Identifier: MIT
# mta-stsctl check, dimension 6 (MX STARTTLS): real Postfix MX instances on port 25 in the test
# namespace, with a good certificate (the fully correct domain scores 100), an expired one, one
# for another name, one expiring in 5 days, one from a CA the checker does not trust, and one
# without STARTTLS (smtpd_tls_security_level = none), and one whose greeting does not come
# within the host's deadline; an MX host where nothing listens and one without an address. Each code of the dimension is produced; the no-STARTTLS failure is
# critical under enforce and a warning under testing; --no-smtp skips the dimension; the probe
# never sends MAIL FROM (the MX's own session statistics say so).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

for t in postfix jq; do
	command -v $t >/dev/null 2>&1 || skip_all "$t not installed"
done
plan 30

# dom DOMAIN MODE IP: policy "mx: mail.DOMAIN" in MODE, MX mail.DOMAIN at IP (none: no A),
# a TLS-RPT record: only dimension 6 can find fault.
dom() {
	local d=$1 mode=$2 ip=$3
	sts_domain "$d" 1 --policy "$(printf 'version: STSv1\nmode: %s\nmx: mail.%s\nmax_age: 604800\n' "$mode" "$d")"
	dns_rr "_smtp._tls.$d. 300 IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@$d\""
	[ "$ip" = none ] || dns_a "mail.$d" "$ip"
}
dom good.test enforce 127.0.0.60
dom expired.test enforce 127.0.0.61
dom wrong.test enforce 127.0.0.62
dom notls.test enforce 127.0.0.63
dom testing.test testing 127.0.0.63
dom expiring.test enforce 127.0.0.64
dom untrusted.test enforce 127.0.0.65
dom down.test enforce 127.0.0.69
dom noaddr.test enforce none
dom silent.test enforce 127.0.0.67
# two.test: two MX hosts, both good, probed side by side: mail.good.test (good.test's MX)
# and mx2.two.test
sts_domain two.test 1 --mx mail.good.test \
	--policy "$(printf 'version: STSv1\nmode: enforce\nmx: mail.good.test\nmx: mx2.two.test\nmax_age: 604800\n')"
dns_rr "_smtp._tls.two.test. 300 IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@two.test\""
dns_rr "two.test. 300 IN MX 20 mx2.two.test."
dns_a mx2.two.test 127.0.0.66
dns_start
web_start
stsd_config

good=$(cert_issue good mail.good.test)
pf_mx_start good 127.0.0.60 "$good"
pf_mx_start expired 127.0.0.61 "$(cert_issue expired mail.expired.test)"
pf_mx_start wrong 127.0.0.62 "$(cert_issue wrongname mail.wrong.test)"
pf_mx_start notls 127.0.0.63 "$good" smtpd_tls_security_level=none
pf_mx_start expiring 127.0.0.64 "$(cert_issue expiring mail.expiring.test)"
pf_mx_start untrusted 127.0.0.65 "$(cert_issue untrusted mail.untrusted.test)"
pf_mx_start two 127.0.0.66 "$(cert_issue good mx2.two.test)"
# a greeting that does not come: the client restriction (evaluated at connect time without
# smtpd_delay_reject) sleeps before the banner
pf_mx_start silent 127.0.0.67 "$good" smtpd_delay_reject=no "smtpd_client_restrictions=sleep 30"

# chk DOMAIN [ARGS]: output in $out, status in $rc, JSON in $json (second run)
chk() {
	local d=$1
	shift
	out=$(timeout 60 "$STSCTL" -c "$STSD_CONF" check --timeout 15 "$@" "$d" 2>"$T/chk.err")
	rc=$?
	json=$(timeout 60 "$STSCTL" -c "$STSD_CONF" check --json --timeout 15 "$@" "$d" 2>>"$T/chk.err")
}
codes() { jq -r '[.dimensions[].findings[] | .code + ":" + .severity] | sort | join(" ")' <<<"$json" 2>&1; }
d6() { jq -r '[.dimensions[5].findings[] | .code + ":" + .severity] | join(" ")' <<<"$json" 2>&1; }
msg6() { jq -r '.dimensions[5].findings[0].message' <<<"$json" 2>&1; }

# ---- the fully correct domain, with a real STARTTLS MX: 100
chk good.test
diag "$out"
is "$rc" 0 "good.test: exit 0"
like "$out" "*score: 100/100 (0 critical, 0 warning, * info)*" "good.test: score 100 with the STARTTLS probe"
is "$(jq -r '[.dimensions[5] | .checked, (.findings | length)] | join(",")' <<<"$json")" "true,0" \
	"good.test: dimension 6 checked, no finding"
like "$(jq -r '.dimensions[5].facts.probed' <<<"$json")" "mail.good.test TLSv1.[23], certificate until 20*Z" \
	"good.test: the probe's fact: host, TLS version, certificate end"
like "$out" "*\[6\] MX STARTTLS*probed: mail.good.test TLSv1*" "good.test: the text report shows the probe"
# the MX saw EHLO, STARTTLS, EHLO-less QUIT: never MAIL (Postfix's session statistics)
ok "the probe never sends MAIL FROM (the MX logs ehlo, starttls, quit only)" \
	wait_until 5 grep -q "disconnect from .* ehlo=1 starttls=1 quit=1 commands=3" "$(pf_mx_log good)"
ok "... and no mail= in any of the MX's sessions" eval "! grep -q ' mail=' '$(pf_mx_log good)'"

# ---- each code
chk notls.test
is "$(d6)" "mx_no_starttls:critical" "notls.test (enforce, STARTTLS off): mx_no_starttls critical"
like "$(msg6)" "mail.notls.test [[]127.0.0.63] does not offer STARTTLS*" "... naming host and address"
is "$rc" 2 "... exit 2"
chk testing.test
is "$(d6)" "mx_no_starttls:warning" "testing.test (testing, same MX): mx_no_starttls is a warning"
is "$rc" 1 "... exit 1"
chk notls.test --no-smtp
is "$(jq -r '[.dimensions[5] | .checked, .findings[0].code] | join(",")' <<<"$json")" "false,not_checked" \
	"--no-smtp: dimension 6 not checked, no mx_no_starttls"
is "$rc" 0 "--no-smtp: notls.test exits 0"
chk expired.test
is "$(d6)" "mx_cert_invalid:critical" "expired.test: mx_cert_invalid critical"
like "$(msg6)" "*certificate verification failed: certificate has expired*" "... with X509's reason"
chk untrusted.test
is "$(d6)" "mx_cert_invalid:critical" "untrusted.test: mx_cert_invalid critical"
like "$(msg6)" "*certificate verification failed: unable to get local issuer certificate*" \
	"... with X509's reason"
chk wrong.test
is "$(d6)" "mx_cert_name_mismatch:critical" "wrong.test: mx_cert_name_mismatch critical"
like "$(msg6)" "*names [(]wrong-mail.wrong.test.invalid[)] match no name the policy allows [(]mail.wrong.test[)]" \
	"... naming the certificate's names and the policy's"
chk expiring.test
is "$(d6)" "mx_cert_expiring:warning" "expiring.test: mx_cert_expiring warning"
like "$(msg6)" "*certificate expires in [45] days*" "... in 5 days"
chk down.test
is "$(d6)" "mx_smtp_failed:warning" "down.test (nothing listens): mx_smtp_failed warning"
like "$(msg6)" "mail.down.test [[]127.0.0.69]: connect to port 25: Connection refused" "... connection refused"
chk noaddr.test
like "$(d6) $(msg6)" "mx_smtp_failed:warning mail.noaddr.test: no address*" \
	"noaddr.test (MX without address): mx_smtp_failed"
chk two.test
is "$(d6),$(jq -r .score <<<"$json")" ",100" "two.test: two good MX hosts: nothing in dimension 6, score 100"
like "$(jq -r '.dimensions[5].facts.probed' <<<"$json")" "mail.good.test TLSv1*; mx2.two.test TLSv1*" \
	"... both probed, in preference order"
t0=$(now_ms)
out=$(timeout 60 "$STSCTL" -c "$STSD_CONF" check --json --timeout 5 silent.test 2>&1)
t1=$(now_ms)
json=$out
is "$(d6)" "mx_smtp_failed:warning" "silent.test (no greeting): mx_smtp_failed warning"
like "$(msg6)" "mail.silent.test [[]127.0.0.67]: greeting: no answer within [1-4] s" \
	"... the host's deadline ends before the check's, naming the step"
ok "--timeout 5 bounds the probe: $((t1 - t0)) ms" test $((t1 - t0)) -lt 7000
