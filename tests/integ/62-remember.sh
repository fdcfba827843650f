#!/bin/bash
# SPDX-License-Identifier: MIT
# How long discovery outcomes are remembered. "No policy" lasts no longer than the DNS answer
# behind it allows (RFC 2308 negative TTL, the TXT TTL; floored at 10 s) nor txt_recheck, so a
# policy published later is found within that time even with a long txt_recheck. A failed
# TXT lookup (resolver unreachable) is remembered briefly, so a burst of queries for one
# domain costs one DNS timeout, not one each; it is never taken for "no policy" for longer.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 11

# short.test: negative answers live min(SOA TTL 3600, MINIMUM 2) = 2 s (the daemon: 10 s).
dns_zone short.test
dns_rr "short.test. 3600 IN SOA ns.short.test. host.short.test. 1 3600 600 86400 2"
# other.test: only an unrelated TXT record, TTL 3
dns_rr '_mta-sts.other.test. 3 IN TXT "v=spf1 -all"'
dns_start
web_start
stsd_config daemon.txt_recheck=300
stsd_start || bail "mta-stsd did not start"

expect late.short.test NOTFOUND "no TXT record yet (NXDOMAIN, negative TTL 2 s)"
expect other.test NOTFOUND "only an unrelated TXT record (TTL 3 s)"
sts_domain late.short.test 1
sts_domain other.test 1
web_reload
t0=$(now_ms)
expect_within 25 late.short.test "$(secure_for mail.late.short.test)" \
	"policy published later: found once the negative TTL ran out, not after txt_recheck (300 s)"
diag "found $(($(now_ms) - t0)) ms after publication"
expect_within 25 other.test "$(secure_for mail.other.test)" \
	"STSv1 record added beside the other: found once that record's TTL ran out"
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop

# A resolver that never answers: a UDP sink on 127.0.0.1:5399 counting the queries it gets.
SINK_LOG=$T/sink.log
: >"$SINK_LOG"
perl -MIO::Socket::INET -MIO::Handle -e '
	my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:5399", Proto => "udp") or die "$!";
	open(my $f, ">>", $ARGV[0]) or die "$!";
	$f->autoflush(1);
	while (1) { my $d; defined $s->recv($d, 4096) or next; print $f length($d), "\n"; }
' "$SINK_LOG" &
bg_track $!
wait_until 5 eval "ss -uln | grep -q 127.0.0.1:5399" || bail "UDP sink did not start"
stsd_config daemon.dns_servers=127.0.0.1:5399 daemon.dns_timeout=2 daemon.txt_recheck=6
stsd_start || bail "mta-stsd did not start"
sleep 1
t1=$(now_ms)
r1=$(q down.test)
t2=$(now_ms)
n1=$(wc -l <"$SINK_LOG")
r2=$(q down.test)
t3=$(now_ms)
n2=$(wc -l <"$SINK_LOG")
diag "first query $((t2 - t1)) ms, $n1 DNS packets; second $((t3 - t2)) ms, $n2 packets in all"
is "$r1" NOTFOUND "resolver silent: the TXT lookup fails after dns_timeout, fallback"
is "$r2" NOTFOUND "second query: same answer"
is "$n2" "$n1" "... without a single new DNS query: the failure is remembered"
if [ $((t3 - t2)) -lt 1000 ]; then pass "... and without waiting for a timeout again"; else fail "... and without waiting for a timeout again" "$((t3 - t2)) ms"; fi
# Briefly only (at most txt_recheck, here 6 s): then the domain is looked up again.
sleep 7
q down.test >/dev/null
n3=$(wc -l <"$SINK_LOG")
if [ "$n3" -gt "$n2" ]; then pass "after txt_recheck the domain is looked up again ($n3 packets)"; else fail "after txt_recheck the domain is looked up again" "still $n3 packets"; fi
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
