#!/bin/bash
# SPDX-License-Identifier: MIT
# Proactive refresh (RFC 8461 s5.1, s10): a policy asked for once is refetched before half its
# max_age has passed, with no further query, so it outlives its first max_age; a policy
# changed meanwhile is learnt by the refresh; an outage of the policy host during a refresh
# keeps the cached policy and logs a warning with the days left. Policies here have
# max_age 40, so the refresh comes 18 to 20 s after the fetch.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 18

short() { printf 'version: STSv1\nmode: enforce\nmx: %s\nmax_age: 40\n' "$1"; }
for d in a b c; do sts_domain "ref-$d.test" 1 --policy "$(short "mail.ref-$d.test")"; done
dns_rr "ref-c.test. 300 IN MX 20 mx2.ref-c.test."
dns_start
web_start
stsd_config daemon.metrics=$STSD_METRICS
stsd_start -v || bail "mta-stsd did not start"

t0=$(date +%s)
for d in a b c; do
	expect "ref-$d.test" "$(secure_for "mail.ref-$d.test")" "ref-$d: policy learned, max_age 40"
done
fetches() { grep -c "GET /.well-known/mta-sts.txt.*\"mta-sts.$1\"" "$WEB_DIR/logs/access.log"; }

# (b) the policy host becomes unreachable; (c) a new policy is published. Nobody asks.
dns_rm mta-sts.ref-b.test.
dns_a mta-sts.ref-b.test 127.0.0.66
web_set_policy ref-c.test "$(short mx2.ref-c.test)"
dns_rm _mta-sts.ref-c.test.
sts_txt ref-c.test 2

ok "ref-a: refreshed without a query" \
	wait_until 40 grep -q 'domain=ref-a.test event=policy-refreshed' "$STSD_LOG"
is "$(( $(date +%s) - t0 <= 30 ))" 1 "ref-a: ... before half its max_age was over (+10 s)"
ok "ref-c: the new policy learnt by the refresh" \
	wait_until 20 grep -q 'domain=ref-c.test event=policy-changed id=2 mode=enforce max_age=40 mx_patterns=1 prev_id=1' "$STSD_LOG"
ok "ref-b: failed refresh of an enforced policy is a warning with the time left" \
	wait_until 20 grep -q 'domain=ref-b.test event=refresh-failed mode=enforce id=1 expires_in_days=0' "$STSD_LOG"
is "$(fetches ref-a.test)" 2 "ref-a: two fetches in all (learn, refresh)"
ok "metrics: refreshes counted refreshed (ref-a, ref-c: $(stsd_metric 'mta_stsd_refreshes_total{result="refreshed"}') >= 2)" \
	test "$(stsd_metric 'mta_stsd_refreshes_total{result="refreshed"}')" -ge 2
ok "metrics: ... and failed (ref-b: $(stsd_metric 'mta_stsd_refreshes_total{result="failed"}') >= 1)" \
	test "$(stsd_metric 'mta_stsd_refreshes_total{result="failed"}')" -ge 1

# ref-a's TXT record goes: only a refreshed policy still answers after its first max_age.
dns_rm _mta-sts.ref-a.test.
sleep $((t0 + 44 - $(date +%s)))
expect ref-a.test "$(secure_for mail.ref-a.test)" "ref-a: still enforced after the first max_age"
expect ref-c.test "$(secure_for mx2.ref-c.test)" "ref-c: answered with the refreshed policy"
like "$(q ref-b.test)" "NOTFOUND" "ref-b: expired after its failed refresh (nothing left to apply)"
ok "ref-b: its expiry is logged at info, once" \
	test "$(grep -c 'level=info domain=ref-b.test event=policy-expired id=1 mode=enforce' "$STSD_LOG")" = 1
unlike "$(grep -c 'domain=ref-b.test event=refresh-failed' "$STSD_LOG")" "[2-9]" \
	"ref-b: no second attempt within the 5 min back-off"
is "$(grep -c 'domain=ref-a.test event=policy-refreshed' "$STSD_LOG")" 1 \
	"ref-a: refreshed once, not hammered"
ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
