#!/bin/bash
# SPDX-License-Identifier: MIT
# DANE precedence (RFC 8461 s2, RFC 7672) with real AD bits: knotd signs sec., unbound
# validates. Every column of the decision table is reached through DNS, not through a mock:
# ALL, SOME, NONE (signed, no TLSA), INSECURE (test.), ERROR (bogus child zone, SERVFAIL);
# zone knobs dane, dane_partial, mx_check, tlsrpt; bracketed hosts; dnssec = no.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

dnssec_require
plan 28

# sec_sts DOMAIN ID POLICY: an MTA-STS domain inside the signed zone.
sec_sts() {
	sec_rr "_mta-sts.$1. 300 IN TXT \"v=STSv1; id=$2;\""
	sec_rr "mta-sts.$1. 300 IN A $WEB_IP"
	web_domain "$1" --policy "$3"
}

# sec_mx DOMAIN PREF HOST [tlsa]: MX record, address and, with "tlsa", a TLSA record.
sec_mx() {
	local c
	sec_rr "$1. 300 IN MX $2 $3."
	sec_rr "$3. 300 IN A 127.0.0.40"
	if [ "${4:-}" = tlsa ]; then
		c=$(cert_issue good "$3")
		sec_rr "_25._tcp.$3. 300 IN TLSA $(tlsa_of "$c")"
	fi
}

enf() { enforce_policy "$@"; }

# all.sec: TLSA on both MX hosts, enforce policy
sec_sts all.sec 1 "$(enf mx1.all.sec mx2.all.sec)"
sec_mx all.sec 10 mx1.all.sec tlsa
sec_mx all.sec 20 mx2.all.sec tlsa
# some.sec: TLSA on one of two
sec_sts some.sec 1 "$(enf '*.some.sec')"
sec_mx some.sec 10 mx1.some.sec tlsa
sec_mx some.sec 20 mx2.some.sec
# notlsa.sec: signed, no TLSA; wildcard policy, one MX too deep for it
sec_sts notlsa.sec 1 "$(enf '*.notlsa.sec')"
sec_mx notlsa.sec 10 mx.notlsa.sec
sec_mx notlsa.sec 20 a.b.notlsa.sec
# nopolicy.sec: DANE only
sec_mx nopolicy.sec 10 mx.nopolicy.sec tlsa
# testing.sec: testing policy and DANE
sec_sts testing.sec 1 $'version: STSv1\nmode: testing\nmx: mx.testing.sec\nmax_age: 86400'
sec_mx testing.sec 10 mx.testing.sec tlsa
# badmx.sec: signed MX, but the host lives in a zone that fails validation
sec_sts badmx.sec 1 "$(enf mx.bogus.sec)"
sec_rr 'badmx.sec. 300 IN MX 10 mx.bogus.sec.'
bogus_rr 'mx.bogus.sec. 300 IN A 127.0.0.41'
# failmx.sec: the host's zone is unreachable (SERVFAIL)
sec_sts failmx.sec 1 "$(enf mx.fail)"
sec_rr 'failmx.sec. 300 IN MX 10 mx.fail.'
sec_rr 'nopolfail.sec. 300 IN MX 10 mx.fail.'
# unsigned.test: enforce policy in the insecure zone
sts_domain unsigned.test 1 --policy "$(enf mail.unsigned.test)"
dns_rr 'unsigned.test. 300 IN MX 10 mail.unsigned.test.'

dnssec_start
web_start
stsd_config daemon.dnssec=yes \
	partial.fallback=NOTFOUND partial.dane_partial=dane \
	nodane.fallback=NOTFOUND nodane.dane=no \
	nomx.fallback=NOTFOUND nomx.mx_check=no \
	rpt.fallback=NOTFOUND rpt.tlsrpt=yes
stsd_start || bail "mta-stsd did not start"

expect all.sec 'OK dane-only' "enforce + TLSA on every MX host: dane-only (DANE wins)"
expect some.sec 'OK dane-only' "enforce + TLSA on some MX hosts: dane-only"
expect some.sec 'OK dane' "... dane with dane_partial = dane" partial
expect notlsa.sec "$(secure_for mx.notlsa.sec)" \
	"signed without TLSA + enforce: secure, exact MX name (a.b.notlsa.sec is two labels deep)"
expect notlsa.sec "$(secure_for .notlsa.sec)" "... with mx_check = no: the pattern" nomx
expect unsigned.test "$(secure_for mail.unsigned.test)" "unsigned zone + enforce: secure"
expect nopolicy.sec 'OK dane' "no MTA-STS policy, DANE published: dane"
expect nopolicy.sec NOTFOUND "... zone dane = no: fallback" nodane
expect testing.sec 'OK dane' "testing policy, DANE published: dane"
expect all.sec "$(secure_for mx1.all.sec:mx2.all.sec)" "zone dane = no: the MTA-STS policy answers" nodane
expect badmx.sec 'TEMP*' "enforce + MX host in a bogus zone: TEMP (never secure past a DANE failure)"
expect failmx.sec 'TEMP*' "enforce + MX host lookup SERVFAIL: TEMP"
expect nopolfail.sec 'OK dane' "no policy + SERVFAIL below a signed MX set: dane (Postfix decides)"
expect x.fail 'TEMP*' "TXT and MX lookups SERVFAIL, nothing cached: TEMP"
expect x.bogus.sec 'TEMP*' "bogus zone, nothing cached: TEMP"
expect '[mx1.all.sec]' 'OK dane' "bracketed host with TLSA, no policy: dane (no MX lookup)"
expect '[mx1.all.sec]:587' NOTFOUND "bracketed host on port 587: no TLSA at _587._tcp: fallback"
got=$(q notlsa.sec rpt)
is "$got" "OK secure match=mx.notlsa.sec servername=hostname policy_type=sts policy_domain=notlsa.sec mx_host_pattern=*.notlsa.sec { policy_string = version: STSv1 } { policy_string = mode: enforce } { policy_string = mx: *.notlsa.sec } { policy_string = max_age: 86400 }" \
	"tlsrpt = yes: Postfix 3.10 attributes, exact"
expect all.sec 'OK dane-only' "tlsrpt = yes: nothing extra for DANE answers" rpt

# The DNS state is cached: a second round asks no new MX/TLSA question.
n0=$(grep -c 'all.sec. MX IN' "$DNS_DIR/unbound.log")
expect all.sec 'OK dane-only' "second query: dane-only from the cache"
n1=$(grep -c 'all.sec. MX IN' "$DNS_DIR/unbound.log")
is "$n1" "$n0" "no new MX query for a cached DNS state"

# A TLSA record appears: after the cached state expires (TTL 300 here, so restart with a
# fresh cache) SOME becomes ALL.
c=$(cert_issue good mx2.some.sec)
sec_rr "_25._tcp.mx2.some.sec. 300 IN TLSA $(tlsa_of "$c")"
stsd_stop
rm -rf "$T/cache"
stsd_start || bail "restart failed"
expect some.sec 'OK dane-only' "after TLSA on the second host: ALL, still dane-only"
out=$("$STSCTL" -c "$STSD_CONF" query --direct some.sec 2>&1)
like "$out" "*dane: all (2 of 2 MX hosts have usable TLSA records)*" "mta-stsctl --direct shows the DANE state"
out=$("$STSCTL" -c "$STSD_CONF" query --why all.sec 2>&1)
like "$out" "*reply: *OK dane-only*dns state: *all (valid until *decision: *MTA-STS enforce (cached policy) x DNS all -> OK dane-only*why: *all MX hosts DANE: dane-only*agrees: *yes*" \
	"mta-stsctl query --why: the DANE column from the cached DNS record, agreeing with the daemon"
out=$("$STSCTL" -c "$STSD_CONF" -n nodane query --why nopolicy.sec 2>&1)
like "$out" "*reply: *NOTFOUND*zone: *\[nodane\] fallback=NOTFOUND*dane=no*decision: *MTA-STS none (no policy remembered) x DNS insecure -> NOTFOUND*agrees: *yes*" \
	"... and in a zone with dane = no, the DNS state is read as insecure"

# dnssec = no: the AD bit is not trusted, DANE is never claimed.
stsd_stop
stsd_config daemon.dnssec=no
stsd_start || bail "restart with dnssec = no failed"
expect all.sec "$(secure_for mx1.all.sec:mx2.all.sec)" "dnssec = no: secure with exact MX names, not dane-only"
expect nopolicy.sec NOTFOUND "dnssec = no: no policy, fallback"
stsd_stop
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" test $? = 0
