#!/bin/bash
# SPDX-License-Identifier: MIT
# Self-check of the harness (no mta-stsd involved): unbound serves the records, nginx serves
# policies with the intended certificate faults, the slow server is silent, postmap works
# with our private config. If this fails, the other integ failures are not the daemon's.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 20

sts_domain enforce.test 1
dns_rr '_mta-sts.split.test. 300 IN TXT "v=STSv1;" " id=split1;"'
sts_domain wrongname.test 1 --cert wrongname
sts_domain expired.test 1 --cert expired
sts_domain untrusted.test 1 --cert untrusted
sts_domain notfound.test 1 --status 404
sts_domain redirect.test 1 --redirect https://mta-sts.enforce.test/.well-known/mta-sts.txt
sts_domain html.test 1 --type text/html
sts_domain charset.test 1 --type 'text/plain; charset=utf-8'
head -c 65537 /dev/zero | tr '\0' x >"$T/big"
sts_domain big.test 1 --policy-file "$T/big"
dns_a mta-sts.down.test 127.0.0.66
dns_start
web_start
slow_start

is "$(dig_short _mta-sts.enforce.test TXT)" '"v=STSv1; id=1;"' "unbound serves the STS TXT record"
is "$(dig_short _mta-sts.split.test TXT)" '"v=STSv1;" " id=split1;"' "TXT split in two character-strings"
is "$(dig_short mta-sts.enforce.test A)" 127.0.0.2 "A record of mta-sts.enforce.test"
like "$(dig +time=2 +tries=1 @127.0.0.1 _mta-sts.none.test TXT)" "*status: NXDOMAIN*" "unknown name is NXDOMAIN"
sts_txt late.test 7 60
is "$(dig_short _mta-sts.late.test TXT)" '"v=STSv1; id=7;"' "record added at run time (unbound-control local_data)"
like "$(dig +time=2 +tries=1 +noall +answer @127.0.0.1 _mta-sts.late.test TXT)" "*	60	IN	TXT*" "chosen TTL is served"
dns_rm _mta-sts.late.test.
like "$(dig +time=2 +tries=1 @127.0.0.1 _mta-sts.late.test TXT)" "*status: NXDOMAIN*" "record removed at run time"

r=$(https_get enforce.test)
like "$r" $'HTTP/1.1 200 OK*Content-Type: text/plain\n*mode: enforce*mx: mail.enforce.test*' "good certificate: policy served"
r=$(https_get wrongname.test)
like "$r" "*hostname mismatch*" "wrong-name certificate rejected by a verifying client"
r=$(https_get expired.test)
like "$r" "*certificate has expired*" "expired certificate rejected"
r=$(https_get untrusted.test)
like "$r" "*unable to get local issuer certificate*" "certificate from the untrusted CA rejected"
like "$(https_get notfound.test)" "HTTP/1.1 404 *" "404 domain"
like "$(https_get redirect.test)" $'HTTP/1.1 301 *Location: https://mta-sts.enforce.test/.well-known/mta-sts.txt\n*' "redirect domain"
like "$(https_get html.test)" $'*Content-Type: text/html\n*' "text/html domain"
like "$(https_get charset.test)" $'*Content-Type: text/plain; charset=utf-8\n*' "charset domain"
like "$(https_get big.test)" $'*Content-Length: 65537\n*' "oversized body served"

# slow server: handshake verifies, then nothing within 3 s
r=$(printf 'GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: mta-sts.slow.test\r\n\r\n' |
	timeout 3 openssl s_client -connect "$SLOW_IP:443" -servername mta-sts.slow.test \
		-verify_hostname mta-sts.slow.test -verify_return_error -CAfile "$CA_FILE" -ign_eof 2>&1)
rc=$?
if [ $rc = 124 ] && [[ $r == *"Verify return code: 0 (ok)"* ]] && [[ $r != *HTTP/* ]]; then
	pass "slow server completes the handshake and never answers"
else
	fail "slow server completes the handshake and never answers" "rc=$rc" "$r"
fi

if (exec 3<>/dev/tcp/127.0.0.66/443) 2>/dev/null; then
	fail "nothing listens at the host-down address"
else
	pass "nothing listens at the host-down address"
fi

web_domain added.test
sts_txt added.test 1
dns_a mta-sts.added.test 127.0.0.2
web_reload
like "$(https_get added.test)" "HTTP/1.1 200 OK*mx: mail.added.test*" "domain added after nginx reload"

is "$(postmap -c "$PFDIR" -q k 'inline:{k=v}' 2>&1)" v "postmap runs with the private config dir"
