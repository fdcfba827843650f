#!/bin/bash
# SPDX-License-Identifier: MIT
# Policy fetch rules (RFC 8461 s3.3): 200 only, no redirects, text/plain (parameters allowed),
# body <= 65536 bytes, unreachable host -> the fallback.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 14

sts_domain good.test 1
sts_domain notfound.test 1 --status 404
sts_domain error.test 1 --status 500
sts_domain redirect.test 1 --redirect https://mta-sts.good.test/.well-known/mta-sts.txt
sts_domain html.test 1 --type text/html
sts_domain charset.test 1 --type 'text/plain; charset=utf-8'
sts_domain octet.test 1 --type application/octet-stream

# 65537 bytes: a valid policy followed by an extension line padding it one byte over the cap
_padded() { # _padded DOMAIN SIZE: valid enforce policy padded with an extension line
	local head pad
	head=$(printf 'version: STSv1\nmode: enforce\nmx: mail.%s\nmax_age: 86400\nx-pad: ' "$1")
	pad=$(($2 - ${#head} - 1))
	{ printf '%s' "$head"; head -c "$pad" /dev/zero | tr '\0' x; printf '\n'; } >"$T/$1.policy"
}
_padded big.test 65537
_padded max.test 65536
sts_domain big.test 1 --policy-file "$T/big.test.policy"
sts_domain max.test 1 --policy-file "$T/max.test.policy"
sts_txt down.test 1
dns_a mta-sts.down.test 127.0.0.66
sts_txt noaddr.test 1
dns_start
web_start
stsd_start || bail "mta-stsd did not start"

is "$(stat -c %s "$T/big.test.policy") $(stat -c %s "$T/max.test.policy")" "65537 65536" "padded bodies have the intended sizes"
expect good.test "$(secure_for mail.good.test)" "control: good domain is secure"
expect notfound.test NOTFOUND "404: fallback"
expect error.test NOTFOUND "500: fallback"
expect redirect.test NOTFOUND "301 to a valid policy is not followed: fallback"
expect html.test NOTFOUND "Content-Type text/html: fallback"
expect octet.test NOTFOUND "Content-Type application/octet-stream: fallback"
expect charset.test "$(secure_for mail.charset.test)" "Content-Type 'text/plain; charset=utf-8' accepted"
expect big.test NOTFOUND "65537-byte body: fallback"
expect max.test "$(secure_for mail.max.test)" "65536-byte body accepted"
expect down.test NOTFOUND "nothing listening at mta-sts host: fallback"
expect noaddr.test NOTFOUND "mta-sts host has no address: fallback"
ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
