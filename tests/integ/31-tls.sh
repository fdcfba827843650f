#!/bin/bash
# SPDX-License-Identifier: MIT
# PKIX validation of mta-sts.<domain> (RFC 8461 s3.3): untrusted CA, wrong name, expired
# certificate -> the fallback; the same policy with a good certificate is applied.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 7

sts_domain good.test 1
sts_domain untrusted.test 1 --cert untrusted
sts_domain wrongname.test 1 --cert wrongname
sts_domain expired.test 1 --cert expired
dns_start
web_start
stsd_config postfix.fallback=may
stsd_start || bail "mta-stsd did not start"

expect good.test "$(secure_for mail.good.test)" "good certificate: secure"
expect untrusted.test "OK may" "certificate from an untrusted CA: fallback"
expect wrongname.test "OK may" "certificate for another name: fallback"
expect expired.test "OK may" "expired certificate: fallback"
# the certificate is fixed: the new id is fetched at once (it did not fail before)
web_domain untrusted.test --cert good
web_reload
dns_rm _mta-sts.untrusted.test.
sts_txt untrusted.test 2
expect_within 5 untrusted.test "$(secure_for mail.untrusted.test)" "after the certificate is fixed and a new id published: secure"
ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
