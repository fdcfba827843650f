#!/bin/bash
# SPDX-License-Identifier: MIT
# End to end: real Postfix (smtp_dns_support_level = dnssec, smtp_tls_policy_maps pointing at
# mta-stsd) delivers to real Postfix MX hosts with STARTTLS, through the validating unbound.
# An enforced MTA-STS policy with a good certificate delivers ("Verified TLS connection
# established"); a certificate for another name defers; a TLSA record that does not match the
# MX key defers even though the certificate would satisfy the MTA-STS policy (RFC 8461 s2),
# and one that matches delivers by DANE.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

for t in postfix sendmail postqueue; do
	command -v $t >/dev/null 2>&1 || skip_all "$t not installed (package postfix)"
done
dnssec_require
plan 13

# sec_dest DOMAIN IP: enforce policy "mx: mx.DOMAIN", MX mx.DOMAIN at IP, all signed.
sec_dest() {
	sec_rr "_mta-sts.$1. 300 IN TXT \"v=STSv1; id=1;\""
	sec_rr "mta-sts.$1. 300 IN A $WEB_IP"
	web_domain "$1" --policy "$(enforce_policy "mx.$1")"
	sec_rr "$1. 300 IN MX 10 mx.$1."
	sec_rr "mx.$1. 300 IN A $2"
}

sec_dest good.sec 127.0.0.50
sec_dest wrong.sec 127.0.0.51
sec_dest tlsabad.sec 127.0.0.52
sec_dest tlsagood.sec 127.0.0.53
good=$(cert_issue good mx.good.sec)
wrong=$(cert_issue wrongname mx.wrong.sec)
tlsabad=$(cert_issue good mx.tlsabad.sec)
tlsagood=$(cert_issue good mx.tlsagood.sec)
# A TLSA record for another key (that of mx.good.sec's certificate): not this MX's key.
sec_rr "_25._tcp.mx.tlsabad.sec. 300 IN TLSA $(tlsa_of "$good")"
sec_rr "_25._tcp.mx.tlsagood.sec. 300 IN TLSA $(tlsa_of "$tlsagood")"
dnssec_start
web_start
stsd_config daemon.dnssec=yes
stsd_start || bail "mta-stsd did not start"

# What the daemon tells Postfix, for the record.
expect good.sec "$(secure_for mx.good.sec)" "policy lookup: secure, exact MX name"
expect tlsabad.sec 'OK dane-only' "policy lookup: TLSA published, so dane-only, not secure"

pf_mx_start good 127.0.0.50 "$good"
pf_mx_start wrong 127.0.0.51 "$wrong"
pf_mx_start tlsabad 127.0.0.52 "$tlsabad"
pf_mx_start tlsagood 127.0.0.53 "$tlsagood"
pf_client_start

r=$(pf_wait "$(pf_send user@good.sec)" 30)
like "$r" $'sent\n*' "enforce + good certificate: delivered"
like "$r" "*Verified TLS connection established to mx.good.sec*" "... over verified TLS"
ok "... and the MX holds it" pf_mx_received good user@good.sec

r=$(pf_wait "$(pf_send user@wrong.sec)" 30)
like "$r" $'deferred\n*' "enforce + certificate for another name: deferred"
like "$r" "*certificate verification failed*" "... because verification failed"
pf_mx_received wrong user@wrong.sec
ok "... and the MX got nothing" test $? != 0

r=$(pf_wait "$(pf_send user@tlsabad.sec)" 30)
like "$r" $'deferred\n*' "TLSA not matching the MX key, MTA-STS would pass: deferred"
like "$r" "*no matching DANE TLSA records*" "... because no TLSA record matches"

r=$(pf_wait "$(pf_send user@tlsagood.sec)" 30)
like "$r" $'sent\n*Verified TLS connection established to mx.tlsagood.sec*' \
	"enforce + matching TLSA: delivered by DANE, verified"
ok "... and the MX holds it" pf_mx_received tlsagood user@tlsagood.sec

pf_stop_all
stsd_stop
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" test $? = 0
