#!/bin/bash
# SPDX-License-Identifier: MIT
# mta-stsctl check, dimension 8 (DANE) with real AD bits (knotd signs sec., unbound validates)
# and real Postfix MX hosts: TLSA records computed here with openssl from the certificates the
# MX hosts serve match (DANE-EE 3 1 1 of the key, DANE-TA 2 0 1 of the CA the host sends),
# do not match, exist on one of two MX hosts, or are PKIX-only; an MX host in a bogus zone;
# an unsigned domain; and dnssec = no, which hides DANE. Each code of the dimension is
# produced, and dimension 9 shows the daemon's own decision (table row, column, reply).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

for t in postfix jq openssl; do
	command -v $t >/dev/null 2>&1 || skip_all "$t not installed"
done
dnssec_require
plan 28

# spki311 CERTPREFIX: "3 1 1 <SHA2-256 of the SubjectPublicKeyInfo>", computed here.
spki311() {
	echo "3 1 1 $(openssl x509 -in "$1.crt" -noout -pubkey | openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -r | cut -c1-64)"
}
# cert201 PEMFILE: "2 0 1 <SHA2-256 of the whole certificate>" (DER).
cert201() {
	echo "2 0 1 $(openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r | cut -c1-64)"
}

# sec_dom DOMAIN: an enforce policy for mail.DOMAIN and a TLS-RPT record, in the signed zone.
sec_dom() {
	sec_rr "_mta-sts.$1. 300 IN TXT \"v=STSv1; id=1;\""
	sec_rr "mta-sts.$1. 300 IN A $WEB_IP"
	sec_rr "_smtp._tls.$1. 300 IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@$1\""
	web_domain "$1" --policy "$(enforce_policy "${2:-mail.$1}" ${3:+"$3"})"
}
# sec_host NAME IP [TLSA-RDATA]: an MX host's address and, optionally, its TLSA record.
sec_host() {
	sec_rr "$1. 300 IN A $2"
	[ -z "${3:-}" ] || sec_rr "_25._tcp.$1. 300 IN TLSA $3"
}

match=$(cert_issue good mail.match.sec)
mismatch=$(cert_issue good mail.mismatch.sec)
other=$(cert_issue good other.mismatch.sec) # a key the MX host does not have
mx1=$(cert_issue good mx1.partial.sec)
mx2=$(cert_issue good mx2.partial.sec)
ta=$(cert_issue good mail.ta.sec)
# mail.ta.sec sends its CA above its own certificate, as DANE-TA needs (RFC 7671 s5.2.2)
cat "$ta.crt" "$CA_FILE" >"$T/ta-chain.crt"
cp "$ta.key" "$T/ta-chain.key"

# match.sec: DANE-EE 3 1 1 of the MX host's key
sec_dom match.sec
sec_rr 'match.sec. 300 IN MX 10 mail.match.sec.'
sec_host mail.match.sec 127.0.0.80 "$(spki311 "$match")"
# mismatch.sec: 3 1 1 of another key
sec_dom mismatch.sec
sec_rr 'mismatch.sec. 300 IN MX 10 mail.mismatch.sec.'
sec_host mail.mismatch.sec 127.0.0.81 "$(spki311 "$other")"
# partial.sec: two MX hosts, TLSA on the first only
sec_dom partial.sec mx1.partial.sec mx2.partial.sec
sec_rr 'partial.sec. 300 IN MX 10 mx1.partial.sec.'
sec_rr 'partial.sec. 300 IN MX 20 mx2.partial.sec.'
sec_host mx1.partial.sec 127.0.0.82 "$(spki311 "$mx1")"
sec_host mx2.partial.sec 127.0.0.83
# ta.sec: DANE-TA 2 0 1 of the CA certificate the host sends
sec_dom ta.sec
sec_rr 'ta.sec. 300 IN MX 10 mail.ta.sec.'
sec_host mail.ta.sec 127.0.0.84 "$(cert201 "$CA_FILE")"
# pkix.sec: only PKIX-EE (usage 1), which SMTP senders ignore; served by match.sec's MX host
sec_dom pkix.sec
sec_rr 'pkix.sec. 300 IN MX 10 mail.pkix.sec.'
sec_host mail.pkix.sec 127.0.0.80 "1 1 1 $(spki311 "$match" | cut -d' ' -f4)"
# bogusmx.sec: signed MX, the host's zone fails validation
sec_dom bogusmx.sec mx.bogus.sec
sec_rr 'bogusmx.sec. 300 IN MX 10 mx.bogus.sec.'
bogus_rr 'mx.bogus.sec. 300 IN A 127.0.0.80'
# unsigned.test: the insecure zone
sts_domain unsigned.test 1 --policy "$(enforce_policy mail.unsigned.test)"
dns_rr 'unsigned.test. 300 IN MX 10 mail.unsigned.test.'
dns_a mail.unsigned.test 127.0.0.80

dnssec_start
web_start
stsd_config daemon.dnssec=yes
sed 's/^dnssec *=.*/dnssec = no/' "$STSD_CONF" >"$T/nodnssec.conf"
grep -q '^dnssec = no' "$T/nodnssec.conf" || bail "no dnssec line in $STSD_CONF"

pf_mx_start match 127.0.0.80 "$match"
pf_mx_start mismatch 127.0.0.81 "$mismatch"
pf_mx_start mx1 127.0.0.82 "$mx1"
pf_mx_start mx2 127.0.0.83 "$mx2"
pf_mx_start ta 127.0.0.84 "$T/ta-chain"

# chk DOMAIN [ARGS]: JSON in $json, status in $rc, text in $out; -c CONF before the domain
chk() {
	local d=$1 conf=$STSD_CONF
	shift
	if [ "${1:-}" = -c ]; then
		conf=$2
		shift 2
	fi
	json=$(timeout 60 "$STSCTL" -c "$conf" check --json --timeout 15 "$@" "$d" 2>"$T/chk.err")
	rc=$?
	out=$(timeout 60 "$STSCTL" -c "$conf" check --timeout 15 "$@" "$d" 2>>"$T/chk.err")
}
d8() { jq -r '[.dimensions[7].findings[] | .code + ":" + .severity] | join(" ")' <<<"$json" 2>&1; }
msg8() { jq -r '.dimensions[7].findings[0].message' <<<"$json" 2>&1; }
f8() { jq -r ".dimensions[7].facts.$1" <<<"$json" 2>&1; }
f9() { jq -r ".dimensions[8].facts.$1" <<<"$json" 2>&1; }

# ---- matching TLSA: nothing to report
chk match.sec
diag "$out"
is "$(d8)" "" "match.sec: 3 1 1 of the served key: no finding in dimension 8"
is "$(f8 state)" "all (1 of 1 MX hosts have usable TLSA records)" "... DANE state from the daemon's DNS machine"
is "$(f8 tlsa)" "mail.match.sec 1 usable TLSA, 3 1 1 matches" "... the host's TLSA summary"
is "$(f9 decision) / $(f9 reply)" \
	"zone default, nothing cached: MTA-STS row enforce, DANE column all / OK dane-only" \
	"... the daemon would answer dane-only (row enforce, column all)"
is "$(f9 reply_why)" "enforced MTA-STS policy, all MX hosts DANE: dane-only" "... with the table's why"
like "$out" "*\[8\] DANE*state: all*tlsa: mail.match.sec 1 usable TLSA, 3 1 1 matches*  ok*\[9\]*decision: *row enforce, DANE column all*reply: OK dane-only*" \
	"match.sec: the text report shows both"
is "$rc" 0 "match.sec: exit 0"
chk match.sec --no-smtp
is "$(d8),$(f8 tlsa)" ",mail.match.sec 1 usable TLSA, not compared (no certificate seen)" \
	"--no-smtp: the TLSA records are not compared, and that is no finding"

# ---- DANE-TA against the chain the host sends
chk ta.sec
is "$(d8),$(f8 tlsa)" ",mail.ta.sec 1 usable TLSA, 2 0 1 matches" \
	"ta.sec: DANE-TA 2 0 1 of the CA the host sends above its certificate matches"

# ---- mismatch: critical
chk mismatch.sec
is "$(d8)" "dane_tlsa_mismatch:critical" "mismatch.sec: 3 1 1 of another key: dane_tlsa_mismatch critical"
like "$(msg8)" "mail.mismatch.sec [[]127.0.0.81]: none of its 1 usable TLSA record matches the certificate it presents*defer*" \
	"... naming host and address, and the consequence"
is "$rc" 2 "... exit 2"
is "$(f9 reply)" "OK dane-only" "... the daemon still answers dane-only: Postfix would defer"

# ---- TLSA on one of two MX hosts
chk partial.sec
is "$(d8)" "dane_partial:warning" "partial.sec: TLSA on mx1 only: dane_partial warning"
like "$(msg8)" "usable TLSA records on 1 of 2 MX hosts, none on mx2.partial.sec*" "... naming the host without"
is "$(f8 tlsa)" "mx1.partial.sec 1 usable TLSA, 3 1 1 matches; mx2.partial.sec no TLSA" \
	"... both hosts in the TLSA summary"
is "$(f9 decision)" "zone default, nothing cached: MTA-STS row enforce, DANE column some" \
	"... the daemon reads column some"
is "$rc" 1 "... exit 1"

# ---- only PKIX usages
chk pkix.sec
is "$(d8)" "dane_tlsa_unusable:warning" "pkix.sec: only usage 1: dane_tlsa_unusable warning"
is "$(f8 state | cut -d' ' -f1)" "none" "... the daemon's state: none"

# ---- DNSSEC failure
chk bogusmx.sec
is "$(d8)" "dane_lookup_failed:warning" "bogusmx.sec: MX host in a bogus zone: dane_lookup_failed warning"
like "$(msg8)" "mx.bogus.sec: A lookup failed*" "... naming the failed lookup"
is "$(f9 reply)" "TEMP DANE validation error under enforce" "... the daemon would defer (column error)"

# ---- unsigned domain
chk unsigned.test
is "$(d8)" "dane_mx_unsigned:info" "unsigned.test: dane_mx_unsigned info"
is "$(f9 decision)" "zone default, nothing cached: MTA-STS row enforce, DANE column insecure" \
	"... column insecure"

# ---- dnssec = no: one info finding, nothing else
chk match.sec -c "$T/nodnssec.conf"
is "$(d8)" "dane_not_validated:info" "dnssec = no: dane_not_validated info only"
is "$(jq -r '.dimensions[7].facts | length' <<<"$json")" 0 "... and no DANE facts"
is "$(f9 reply)" "OK secure match=mail.match.sec servername=hostname" \
	"... the daemon, blind to DANE, answers the MTA-STS policy"
