#!/bin/bash
# SPDX-License-Identifier: MIT
# Cache and trust-on-first-use (RFC 8461 s3.3, s5.1): a cached unexpired policy survives DNS
# and HTTPS trouble; only a newly fetched valid policy (even mode none) replaces it; an expired
# one is not applied; a newly published policy is picked up; the cache survives a restart.
# Domains are prepared together and share one wait, to keep the script short.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 18

for d in a b c e f; do sts_domain "tofu-$d.test" 1; done
sts_domain tofu-d.test 1 --policy $'version: STSv1\nmode: enforce\nmx: mail.tofu-d.test\nmax_age: 3'
dns_rr "tofu-f.test. 300 IN MX 20 mx2.tofu-f.test."
dns_rr "late.test. 300 IN MX 10 mail.late.test."
dns_a mta-sts.late.test 127.0.0.2
web_domain late.test
dns_start
web_start
stsd_config daemon.txt_recheck=1
stsd_start || bail "mta-stsd did not start"

for d in a b c d e f; do
	expect "tofu-$d.test" "$(secure_for "mail.tofu-$d.test")" "tofu-$d: policy learned"
done
expect late.test NOTFOUND "late: no TXT yet"

# (a) TXT removed
dns_rm _mta-sts.tofu-a.test.
# (b) new id, but the policy host is unreachable
dns_rm _mta-sts.tofu-b.test.
sts_txt tofu-b.test 2
dns_rm mta-sts.tofu-b.test.
dns_a mta-sts.tofu-b.test 127.0.0.66
# (c) new id with a valid mode none policy
web_set_policy tofu-c.test $'version: STSv1\nmode: none\nmax_age: 86400'
dns_rm _mta-sts.tofu-c.test.
sts_txt tofu-c.test 2
# (d) max_age 3, TXT removed
dns_rm _mta-sts.tofu-d.test.
# (f) new id with a different mx
web_set_policy tofu-f.test "$(enforce_policy mx2.tofu-f.test)"
dns_rm _mta-sts.tofu-f.test.
sts_txt tofu-f.test 2
# late: policy published now
sts_txt late.test 1
t0=$(now_ms)
# one query each to trigger the (background) recheck, then let txt_recheck pass
for d in tofu-a tofu-b tofu-c tofu-f late; do q $d.test >/dev/null; done
sleep 4

expect tofu-a.test "$(secure_for mail.tofu-a.test)" "(a) TXT removed: cached policy still applied"
expect tofu-b.test "$(secure_for mail.tofu-b.test)" "(b) new id but fetch fails: old policy still applied"
expect_within 3 tofu-c.test NOTFOUND "(c) new id, valid mode none fetched: fallback"
expect tofu-d.test NOTFOUND "(d) max_age 3 expired after 4 s, TXT gone: fallback"
expect_within 3 tofu-f.test "$(secure_for mx2.tofu-f.test)" "(f) new id, new mx: new policy applied"
expect_within 3 late.test "$(secure_for mail.late.test)" "newly published policy picked up"
diag "checks done $(($(now_ms) - t0)) ms after the changes"

# restart keeps the cache, even after kill -9: stop everything that could re-teach the policy
killed=$_stsd_pid
_stsd_pid=""
kill -KILL "$killed"
wait "$killed" 2>/dev/null
ok "daemon killed with SIGKILL" bash -c "! kill -0 $killed 2>/dev/null"
web_stop
dns_rm _mta-sts.tofu-e.test.
stsd_start || bail "mta-stsd did not restart"
expect tofu-e.test "$(secure_for mail.tofu-e.test)" "after restart, no TXT, no HTTPS: cached policy applied"
# DNS itself fails (resolver down): the cached policy still applies, and the failed re-check
# counts as a check, so queries within txt_recheck do not each trigger a new TXT query.
dns_stop
sleep 1.2
expect tofu-e.test "$(secure_for mail.tofu-e.test)" "resolver down: cached policy applied"
sleep 0.5
expect tofu-e.test "$(secure_for mail.tofu-e.test)" "resolver down, second query: still the cached policy"
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
