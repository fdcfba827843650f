#!/bin/bash
# SPDX-License-Identifier: MIT
# _mta-sts TXT record discovery (RFC 8461 s3.1): exactly one v=STSv1 record, id syntax,
# character-strings concatenated, other TXT records ignored.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 12

# _txt DOMAIN 'RDATA': TXT record with raw rdata, plus A, MX and policy for the domain
_txt() {
	dns_rr "_mta-sts.$1. 300 IN TXT $2"
	dns_rr "$1. 300 IN MX 10 mail.$1."
	dns_a "mta-sts.$1" 127.0.0.2
	web_domain "$1"
}
_txt split.test '"v=STSv1;" " id=split1;"'
_txt split3.test '"v=STS" "v1; i" "d=abc123"'
_txt two.test '"v=STSv1; id=1;"'
dns_rr '_mta-sts.two.test. 300 IN TXT "v=STSv1; id=2;"'
_txt mixed.test '"v=STSv1; id=20240101;"'
dns_rr '_mta-sts.mixed.test. 300 IN TXT "some-site-verification=abc"'
dns_rr '_mta-sts.mixed.test. 300 IN TXT "v=spf1 -all"'
_txt id32.test "\"v=STSv1; id=$(printf 'a%.0s' {1..32});\""
_txt id33.test "\"v=STSv1; id=$(printf 'a%.0s' {1..33});\""
_txt dashid.test '"v=STSv1; id=abc-def;"'
_txt noid.test '"v=STSv1;"'
_txt emptyid.test '"v=STSv1; id=;"'
_txt ext.test '"v=STSv1; id=1; ext=value"'
_txt v2.test '"v=STSv2; id=1;"'
dns_start
web_start
stsd_start || bail "mta-stsd did not start"

expect split.test "$(secure_for mail.split.test)" "TXT split in two character-strings"
expect split3.test "$(secure_for mail.split3.test)" "TXT split inside tokens, three strings"
expect two.test NOTFOUND "two STSv1 records: no policy"
expect mixed.test "$(secure_for mail.mixed.test)" "one STSv1 among unrelated TXT records"
expect id32.test "$(secure_for mail.id32.test)" "32-character id accepted"
expect id33.test NOTFOUND "33-character id: no policy"
expect dashid.test NOTFOUND "id with '-': no policy"
expect noid.test NOTFOUND "record without id: no policy"
expect emptyid.test NOTFOUND "empty id: no policy"
expect ext.test "$(secure_for mail.ext.test)" "extension field ignored"
expect v2.test NOTFOUND "v=STSv2 is not an STS record"
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
