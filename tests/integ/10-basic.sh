#!/bin/bash
# SPDX-License-Identifier: MIT
# Basic answers: enforce (match= lists the MX hosts the policy allows; mx_check = no lists
# the patterns), wildcard mx, testing (ignored / treated as enforce per zone), mode none, no
# TXT, fallback per socketmap name, key normalisation and keys answered NOTFOUND without lookup.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 32

sts_domain enforce.test 1 --policy "$(enforce_policy mail.enforce.test '*.mx.enforce.test')"
dns_rr "enforce.test. 300 IN MX 20 a.mx.enforce.test."
sts_domain wild.test 1 --policy "$(enforce_policy '*.wild.test')"
sts_domain self.test 1 --no-mx --policy "$(enforce_policy self.test)"
sts_domain testing.test 1 --policy $'version: STSv1\nmode: testing\nmx: mail.testing.test\nmax_age: 86400'
sts_domain none.test 1 --policy $'version: STSv1\nmode: none\nmax_age: 86400'
dns_a mta-sts.notxt.test 127.0.0.2
web_domain notxt.test
dns_start
web_start
stsd_config strict.fallback=NOTFOUND strict.testing=enforce may.fallback=may may.testing=ignore \
	nocheck.mx_check=no
stsd_start || bail "mta-stsd did not start"

SEC=$(secure_for mail.enforce.test:a.mx.enforce.test)
expect enforce.test "$SEC" "enforce policy, exact + wildcard mx: the MX hosts it allows"
expect enforce.test "$SEC" "same answer again (cached)"
expect enforce.test "$(secure_for mail.enforce.test:.mx.enforce.test)" \
	"mx_check = no: the patterns, wildcard as .parent" nocheck
expect wild.test "$(secure_for mail.wild.test)" "wildcard-only mx: the MX host it allows"
expect wild.test "$(secure_for .wild.test)" "wildcard-only mx, mx_check = no: .parent match" nocheck
expect testing.test NOTFOUND "mode testing, testing=ignore: fallback NOTFOUND"
expect testing.test "$(secure_for mail.testing.test)" "mode testing, zone with testing=enforce: secure" strict
expect testing.test "OK may" "mode testing, zone with fallback=may: may" may
expect none.test NOTFOUND "mode none: fallback"
expect none.test "OK may" "mode none, fallback=may" may
expect notxt.test NOTFOUND "no TXT record (policy served anyway): fallback"
expect notxt.test "OK may" "no TXT record, fallback=may" may
expect nxdomain.test NOTFOUND "domain that does not exist: fallback"
expect enforce.test "$SEC" "enforce is secure in the testing=enforce zone too" strict
expect enforce.test "$SEC" "enforce is secure in the fallback=may zone too" may
expect enforce.test "$SEC" "unknown socketmap name uses [default]" nosuchmap
expect notxt.test NOTFOUND "unknown socketmap name: [default] fallback" nosuchmap

# key forms Postfix sends
SELF=$(secure_for self.test)
expect '[self.test]:25' "$SELF" "[domain]:port key looked up as the domain, the host itself"
expect '[self.test]' "$SELF" "[domain] key"
expect self.test "$SELF" "domain without MX: its own mail host"
expect '[enforce.test]' "TEMP *" "[domain] key whose host the policy does not allow: TEMP"
expect 'enforce.test:587' "$SEC" "domain:port key"
expect 'ENFORCE.TEST.' "$SEC" "upper case + trailing dot (postmap)"
like "$(sm_raw '%s' "$(netstring 'postfix ENFORCE.TEST.')")" "REPLY ${SEC}" "upper case + trailing dot sent verbatim"
like "$(sm_raw '%s' "$(netstring 'postfix [Self.Test]:25')")" "REPLY ${SELF}" "[Mixed.Case]:25 sent verbatim"

# NOTFOUND at once
expect .enforce.test NOTFOUND ".parent key: NOTFOUND"
expect .test NOTFOUND ".tld key: NOTFOUND"
expect '[192.0.2.1]' NOTFOUND "[IPv4] literal: NOTFOUND"
expect '192.0.2.1' NOTFOUND "bare IPv4: NOTFOUND"
expect '[ipv6:2001:db8::1]:25' NOTFOUND "[ipv6:...]:25 literal: NOTFOUND"
ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
