#!/bin/bash
# SPDX-License-Identifier: MIT
# Socketmap connections under pipelining and half-close: 33 requests in one write behind a
# slow first lookup (one more than the per-connection queue holds) are all answered, in
# order, soon after the slow one; a client that shuts down its write side still gets the
# replies to what it sent, then EOF; a client that closes fully costs nothing once its
# lookup ends.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 12

# Cached domains (learned below) answer from LMDB; slow.test needs discovery and its policy
# host never answers, so its lookup ends with the fallback after fetch_timeout (3 s). A failed
# fetch holds that TXT id back for 5 minutes and is remembered as "no policy" for txt_recheck
# (1 s), so every slow case publishes a new id and lets that second pass first.
CACHED=(a.test b.test c.test d.test)
for d in "${CACHED[@]}"; do sts_domain "$d" 1; done
sts_txt slow.test 1
dns_a mta-sts.slow.test "$SLOW_IP"
dns_start
web_start
slow_start
stsd_config daemon.fetch_timeout=3
stsd_start || bail "mta-stsd did not start"
SLOW_ID=1
SLOW_REPLY="REPLY NOTFOUND " # fetch failed, nothing cached: the fallback (RFC 8461 s5)

# slow_next: publish a new TXT id for slow.test, so that its next lookup fetches again.
slow_next() {
	dns_rm "_mta-sts.slow.test." || bail "cannot remove the slow.test TXT record"
	SLOW_ID=$((SLOW_ID + 1))
	sts_txt slow.test "$SLOW_ID" || bail "cannot publish slow.test id $SLOW_ID"
	sleep 2
}

# slow_run VAR CMD...: VAR=CMD's output, plus a note when it came back in under 2 s: then
# no reply waited for the slow lookup (lost, or slow.test was not pending after all).
slow_run() {
	local t0 t1 out
	t0=$(now_ms)
	out=$("${@:2}")
	t1=$(now_ms)
	diag "slow case: done after $((t1 - t0)) ms"
	[ $((t1 - t0)) -ge 2000 ] || out+=$'\n'"(came back after $((t1 - t0)) ms, before the slow lookup could end)"
	printf -v "$1" '%s' "$out"
}

# sm_perl MODE SECS DATA: like sm_raw, through perl (bash cannot shut down one direction):
# connect, write DATA in one write, then MODE "shut" (shutdown(SHUT_WR)) or "close" (close
# at once, print "CLOSED"); with "shut" read netstring replies until EOF, each waited for
# at most SECS. Prints "REPLY <payload>" per reply, then "EOF" | "HANG" | "BADREPLY <bytes>".
sm_perl() {
	timeout $(($2 * 2 + 5)) perl -e '
		use strict;
		use warnings;
		use IO::Socket::INET;
		$| = 1;
		my ($host, $port, $mode, $wait, $data) = @ARGV;
		my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => "tcp")
		    or do { print "CONNFAIL\n"; exit 0 };
		binmode $s;
		defined syswrite($s, $data) or do { print "WRITEFAIL $!\n"; exit 0 };
		if ($mode eq "close") { close $s; print "CLOSED\n"; exit 0 }
		shutdown($s, 1) or do { print "SHUTFAIL $!\n"; exit 0 };
		my $buf = "";
		for (;;) {
			while ($buf =~ /^(\d+):/ && length($buf) >= length($1) + 2 + $1) {
				my ($hl, $len) = (length($1) + 1, $1);
				if (substr($buf, $hl + $len, 1) ne ",") { print "BADREPLY $buf\n"; exit 0 }
				print "REPLY ", substr($buf, $hl, $len), "\n";
				substr($buf, 0, $hl + $len + 1) = "";
			}
			if ($buf ne "" && $buf !~ /^\d+(:|$)/) { print "BADREPLY $buf\n"; exit 0 }
			my $rin = "";
			vec($rin, fileno($s), 1) = 1;
			if (select(my $rout = $rin, undef, undef, $wait) <= 0) { print "HANG\n"; exit 0 }
			my $n = sysread($s, my $chunk, 65536);
			if (!defined $n) { print "READERR $!\n"; exit 0 }
			if ($n == 0) { print $buf eq "" ? "EOF\n" : "BADREPLY $buf\nEOF\n"; exit 0 }
			$buf .= $chunk;
		}' "$STSD_HOST" "$STSD_PORT" "$1" "$2" "$3" 2>&1 || echo "HANG (perl status $?)"
}

# _sm_conns STATE: the daemon's sockets on the socketmap port in that TCP state.
_sm_conns() { ss -Htn state "$1" "( sport = :$STSD_PORT )" 2>/dev/null; }
_sm_no_close_wait() { [ -z "$(_sm_conns close-wait)" ]; }

# Learn the cached domains (policy and DNS record), and build the pipelined batch: slow.test
# first, then 32 requests cycling through the cached domains; want = the replies in order.
for d in "${CACHED[@]}"; do q "$d" >/dev/null; done
learned=0
for d in "${CACHED[@]}"; do
	[ "$(q "$d")" = "$(secure_for "mail.$d")" ] && learned=$((learned + 1))
done
is "$learned" "${#CACHED[@]}" "control: the cached domains are learned and answered secure"

batch=$(netstring 'postfix slow.test')
want=$SLOW_REPLY
for ((i = 0; i < 32; i++)); do
	d=${CACHED[i % ${#CACHED[@]}]}
	batch+=$(netstring "postfix $d")
	want+=$'\n'"REPLY OK secure match=mail.$d servername=hostname"
done

# 1. Pipelining past the queue cap (CONN_PIPELINE_MAX = 32): the 33rd request waits in the
# input buffer until the slow head is answered; it must then be read from there, not wait
# for bytes that never come (Postfix would hit its 100 s timeout, the daemon its idle one).
t0=$(now_ms)
r=$(sm_raw -n 33 -w 10 '%s' "$batch")
t1=$(now_ms)
n=$(grep -c '^REPLY' <<<"$r")
diag "33 pipelined requests: $n replies, last after $((t1 - t0)) ms"
is "$r" "$want" "33 pipelined requests behind a slow lookup: 33 replies, in order, each right"
# at least 2 s: the head really waited for discovery; under 20 s: far below the idle timeout
if [ "$n" = 33 ] && [ $((t1 - t0)) -ge 2000 ] && [ $((t1 - t0)) -lt 20000 ]; then
	pass "... the 33rd within 20 s, after the slow lookup's fetch timeout (3 s)"
else
	fail "... the 33rd within 20 s, after the slow lookup's fetch timeout (3 s)" \
		"$n replies, last after $((t1 - t0)) ms"
fi

# 2. Half-close: the client sends its request and shuts down its write side at once. The
# replies are still owed (RFC 793 half-close: the daemon's direction stays open), then EOF.
slow_next
slow_run r sm_perl shut 15 "$(netstring 'postfix slow.test')"
is "$r" "$SLOW_REPLY"$'\n'EOF "half-closed client: reply to a pending slow lookup, then EOF"
r=$(sm_perl shut 10 "$(netstring 'postfix a.test')")
is "$r" "REPLY OK secure match=mail.a.test servername=hostname"$'\n'EOF \
	"half-closed client: reply to a cached lookup, then EOF"

# several requests, then a partial one that can never complete: every complete request is
# answered in order, the fragment is dropped, then EOF
slow_next
slow_run r sm_perl shut 15 "$(netstring 'postfix slow.test')$(netstring 'postfix b.test')20:postfix c.te"
is "$r" "$SLOW_REPLY"$'\n'"REPLY OK secure match=mail.b.test servername=hostname"$'\n'EOF \
	"half-closed client with a trailing fragment: complete requests answered in order, then EOF"

# both at once: more requests than the queue holds, then the write side shut down
slow_next
slow_run r sm_perl shut 15 "$batch"
is "$r" "$want"$'\n'EOF "33 pipelined requests, then shutdown(SHUT_WR): 33 replies in order, then EOF"

# 3. Full close with lookups pending: the daemon sees the same EOF and keeps the connection
# until the answers are ready; the first reply draws a reset, writing the second fails, and
# the connection is freed (nothing leaks: see the exit status at the end).
slow_next
r=$(sm_perl close 5 "$(netstring 'postfix slow.test')$(netstring 'postfix a.test')")
is "$r" CLOSED "client closes at once with a slow lookup pending"
sleep 0.5
diag "daemon's sockets in CLOSE-WAIT while the lookup is pending: $(_sm_conns close-wait | wc -l)"
sleep 3.5 # the slow lookup ends after fetch_timeout (3 s)
if wait_until 10 _sm_no_close_wait; then
	pass "... the daemon's side of the connection is closed once the lookup ends"
else
	fail "... the daemon's side of the connection is closed once the lookup ends" "$(_sm_conns all)"
fi

expect a.test "$(secure_for mail.a.test)" "normal query afterwards"
ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
