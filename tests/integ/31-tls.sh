#!/bin/bash
# SPDX-License-Identifier: MIT
# PKIX validation of mta-sts.<domain> (RFC 8461 s3.3): untrusted CA, wrong name, expired
# certificate -> the fallback; the same policy with a good certificate is applied. The CA
# bundle is read once, and again after SIGHUP: an authority removed from it is no longer
# trusted, one added is.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 10

sts_domain good.test 1
sts_domain untrusted.test 1 --cert untrusted
sts_domain wrongname.test 1 --cert wrongname
sts_domain expired.test 1 --cert expired
dns_start
web_start
cp "$CA_FILE" "$T/bundle.pem"
stsd_config postfix.fallback=may daemon.ca_file="$T/bundle.pem"
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

# The bundle now holds only the other CA; SIGHUP.
sts_domain later.test 1
sts_domain other.test 1 --cert untrusted
web_reload
cp "$PKI/ca2/ca.pem" "$T/bundle.pem"
before=$(grep -c "event=reload result=" "$STSD_LOG")
kill -HUP "$_stsd_pid"
wait_until 20 eval '[ "$(grep -c "event=reload result=" "$STSD_LOG")" -gt '"$before"' ]'
expect later.test "OK may" "after SIGHUP: the CA removed from the bundle is trusted no more"
expect other.test "$(secure_for mail.other.test)" "after SIGHUP: the CA added to it is"
expect good.test "$(secure_for mail.good.test)" "a cached policy stays (trust on first use)"
ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
