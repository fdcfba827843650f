#!/bin/bash
# SPDX-License-Identifier: MIT
# Self-check of the DNSSEC harness (no mta-stsd involved): knotd signs sec. and bogus.sec.,
# unbound validates with sec.'s trust anchor: AD on sec. answers (NXDOMAIN and NODATA too),
# none on test., SERVFAIL for bogus.sec. and fail., run-time changes visible, tlsa_of right.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

dnssec_require
plan 24

# dig_ad NAME TYPE [DIGOPTS...]: "STATUS flags" (e.g. "NOERROR qr rd ra ad") then the answer
# records' data, one per line.
dig_ad() {
	local name=$1 type=$2 out
	shift 2
	out=$(dig +time=2 +tries=1 +dnssec "$@" @127.0.0.1 "$name" "$type" 2>&1)
	printf '%s %s\n' "$(sed -n 's/^;; ->>HEADER<<-.* status: \([A-Z]*\),.*/\1/p' <<<"$out")" \
		"$(sed -n 's/^;; flags: \([^;]*\);.*/\1/p' <<<"$out")"
	awk -v t="$type" '!/^;/ && NF >= 5 && $4 == t { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }' <<<"$out"
}

dns_rr 'mail.plain.test. 300 IN A 127.0.0.30'
sec_rr 'mx1.all.sec. 300 IN A 127.0.0.21'
sec_rr 'all.sec. 300 IN MX 10 mx1.all.sec.'
sec_rr '_mta-sts.all.sec. 300 IN TXT "v=STSv1;" " id=sec1;"'
sec_rr 'gone.sec. 300 IN A 127.0.0.99'
sec_rm gone.sec.
bogus_rr 'mx.bogus.sec. 300 IN A 127.0.0.22'

t0=$(now_ms)
dnssec_start
t1=$(now_ms)
diag "dnssec_start took $((t1 - t0)) ms"
ok "dnssec_start takes less than 5 s" test $((t1 - t0)) -lt 5000

r=$(dig_ad mx1.all.sec. A)
like "$r" $'NOERROR * ad\n127.0.0.21' "A record in sec.: answered with AD"
r=$(dig_ad all.sec. MX)
like "$r" $'NOERROR * ad\n10 mx1.all.sec.' "MX record in sec.: answered with AD"
r=$(dig_ad _mta-sts.all.sec. TXT)
like "$r" $'NOERROR * ad\n"v=STSv1;" " id=sec1;"' "TXT with two character-strings in sec., with AD"
like "$(dig_ad nowhere.sec. A)" "NXDOMAIN * ad" "nonexistent name in sec.: NXDOMAIN with AD"
r=$(dig_ad mx1.all.sec. AAAA)
is "$r" "$(sed -n 1p <<<"$r")" "existing name, missing type: no answer records"
like "$r" "NOERROR * ad" "existing name, missing type: NODATA with AD"
like "$(dig_ad gone.sec. A)" "NXDOMAIN * ad" "sec_rm before dnssec_start: the name is not in the zone"
r=$(dig_ad mail.plain.test. A)
like "$r" $'NOERROR *\n127.0.0.30' "test. still answers from local-data"
unlike "$r" "* ad*" "test. answer has no AD (insecure)"
like "$(dig_ad mx.bogus.sec. A)" "SERVFAIL *" "name in bogus.sec.: SERVFAIL"
like "$(dig_ad mx.bogus.sec. A +cd)" $'NOERROR *\n127.0.0.22' "... but served: with +cd the data comes (validation failed)"
grep -q 'validation failure <mx.bogus.sec. A IN>' "$DNS_DIR/unbound.log"
ok "unbound logs the validation failure for bogus.sec." test $? = 0
like "$(dig_ad mx.fail. A)" "SERVFAIL *" "name under fail.: SERVFAIL"
like "$(dig_ad sec. SOA)" $'NOERROR * ad\n*' "sec. still secure after the bogus and fail. queries"

# run-time changes
like "$(dig_ad late.all.sec. A)" "NXDOMAIN * ad" "before sec_rr: NXDOMAIN (and cached)"
t0=$(now_ms)
ok "sec_rr after start returns success" sec_rr 'late.all.sec. 60 IN A 127.0.0.23'
t1=$(now_ms)
diag "sec_rr at run time took $((t1 - t0)) ms"
like "$(dig_ad late.all.sec. A)" $'NOERROR * ad\n127.0.0.23' "record added at run time: visible with AD"
ok "sec_rm after start returns success" sec_rm late.all.sec.
like "$(dig_ad late.all.sec. A)" "NXDOMAIN * ad" "record removed at run time: NXDOMAIN with AD"

# DANE record data
c=$(cert_issue good mx1.all.sec)
want="3 1 1 $(openssl pkey -in "$c.key" -pubout -outform DER | openssl dgst -sha256 -binary | od -An -v -tx1 | tr -d ' \n')"
got=$(tlsa_of "$c")
is "$got" "$want" "tlsa_of: SHA-256 of the certificate's SPKI (computed here from the private key)"
like "$got" "3 1 1 [0-9a-f]*" "tlsa_of prints lowercase hex"
is "${#got}" $((6 + 64)) "tlsa_of: 64 hex digits"
sec_rr "_25._tcp.mx1.all.sec. 300 IN TLSA $got"
r=$(dig_ad _25._tcp.mx1.all.sec. TLSA)
# dig splits long hex data in groups and upper-cases it
r=${r,,}
like "${r//[[:space:]]/}" "noerror*ad${got//[[:space:]]/}" "TLSA added at run time: served with AD"
