#!/bin/bash
# SPDX-License-Identifier: MIT
# systemd integration, without systemd: the sd_notify protocol against a datagram socket this
# test listens on (NOTIFY_SOCKET), and socket activation through systemd-socket-activate.
# READY=1 comes once the daemon answers (the listener queries it the moment READY arrives);
# RELOADING=1 (with MONOTONIC_USEC) then READY=1 around each SIGHUP reload, a rejected one
# too; STOPPING=1 at SIGTERM. A SIGHUP during start-up is held and then reloads, instead of
# killing the daemon. Passed sockets (inet and unix) serve the listen values with their
# address, the other listen values are bound as usual, an unmatched passed socket stops the
# start with a message. The shipped unit's systemd-analyze exposure stays at 2.0 or lower.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

PY=$(command -v python3) || skip_all "python3 missing (the notify socket listener)"
command -v systemd-socket-activate >/dev/null || skip_all "systemd-socket-activate missing (package systemd)"
plan 25

dns_start
pki_init
stsd_config daemon.txt_recheck=3600

# notify_listen: a NOTIFY_SOCKET at $NOTIFY_SOCK; every datagram becomes one line of
# $NOTIFY_LOG ("\n" shown as "|"). When a datagram holds READY=1 the listener first asks the
# daemon (inet, $STSD_HOST:$STSD_PORT) for nopolicy.test and appends " answer=<reply>", so
# the line proves the daemon answered at the moment it said it was ready.
NOTIFY_SOCK=$T/notify.sock
NOTIFY_LOG=$T/notify.log
notify_listen() {
	cat >"$T/notify.py" <<-'EOF'
		import socket, sys
		path, out, host, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
		s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		s.bind(path)
		req = b"postfix nopolicy.test"
		with open(out, "a", buffering=1) as f:
		    while True:
		        msg = s.recv(65536).decode("utf-8", "replace")
		        line = msg.replace("\n", "|")
		        if "READY=1" in msg.split("\n"):
		            try:
		                c = socket.create_connection((host, port), timeout=5)
		                c.settimeout(10)
		                c.sendall(b"%d:%s," % (len(req), req))
		                line += " answer=" + c.recv(200).decode("utf-8", "replace")
		                c.close()
		            except Exception as e:
		                line += " answer=ERR " + str(e)
		        f.write(line + "\n")
	EOF
	: >"$NOTIFY_LOG"
	"$PY" "$T/notify.py" "$NOTIFY_SOCK" "$NOTIFY_LOG" "$STSD_HOST" "$STSD_PORT" </dev/null >"$T/notify.err" 2>&1 &
	bg_track $!
	wait_until 10 test -S "$NOTIFY_SOCK" || bail "notify listener did not start: $(cat "$T/notify.err")"
}
# notify_line N: the Nth message received (waits up to 20 s for it).
notify_line() {
	wait_until 20 _notify_has "$1"
	sed -n "$1p" "$NOTIFY_LOG"
}
_notify_has() { [ "$(wc -l <"$NOTIFY_LOG")" -ge "$1" ]; }

# --- sd_notify
notify_listen
NOTIFY_SOCKET=$NOTIFY_SOCK stsd_start || bail "mta-stsd did not start"
like "$(notify_line 1)" "READY=1|STATUS=serving answer=9:NOTFOUND ," \
	"READY=1 first; the daemon answers the moment it arrives"
sleep 1
is "$(wc -l <"$NOTIFY_LOG")" 1 "... and nothing else while it serves"

sed -i '/^\[postfix\]/,/^\[/ s/^fallback = .*/fallback = may/' "$STSD_CONF"
kill -HUP "$_stsd_pid"
reloading=$(notify_line 2)
like "$reloading" "RELOADING=1|STATUS=reloading|MONOTONIC_USEC=[0-9]*" "SIGHUP: RELOADING=1 with MONOTONIC_USEC"
# CLOCK_MONOTONIC, like /proc/uptime (in 10 ms steps), counts from boot (it differs by
# suspended time only)
usec=${reloading##*MONOTONIC_USEC=}
up=$(awk '{ printf "%.0f", $1 * 1000000 }' /proc/uptime)
d=$((up - usec))
if [ -n "$usec" ] && [ "${d#-}" -lt 60000000 ]; then pass "... MONOTONIC_USEC is the monotonic clock now ($usec)"; else fail "... MONOTONIC_USEC is the monotonic clock now" "usec=$usec uptime_usec=$up"; fi
like "$(notify_line 3)" "READY=1|STATUS=serving answer=*" "then READY=1 again, the daemon answering"
expect_within 5 nopolicy2.test "OK may" "the reload applied (new fallback)"

cp "$STSD_CONF" "$T/good.conf"
printf '[daemon\n' >"$STSD_CONF"
kill -HUP "$_stsd_pid"
like "$(notify_line 4)" "RELOADING=1*" "a rejected reload: RELOADING=1 ..."
like "$(notify_line 5)" "READY=1|STATUS=serving answer=*" "... then READY=1: the running configuration serves on"
ok "the rejection was logged" grep -q 'event=reload result=rejected' "$STSD_LOG"
cp "$T/good.conf" "$STSD_CONF"

ok "SIGTERM: exit 0 (no sanitizer or valgrind report)" stsd_stop
like "$(notify_line 6)" "STOPPING=1*" "SIGTERM: STOPPING=1"

# --- a SIGHUP during start-up is held, then reloads
# The daemon reads its configuration from a FIFO, so it waits at a known point of start-up
# (opening it) with SIGHUP already blocked; no wrapper: a wrapper handles signals itself.
mkfifo "$T/conf.fifo"
"$STSD" -f -c "$T/conf.fifo" >>"$STSD_LOG" 2>&1 </dev/null &
early=$!
bg_track "$early"
hup_blocked() { # bit 0 of SigBlk is signal 1, SIGHUP
	local m
	m=$(awk '$1 == "SigBlk:" { print $2 }' "/proc/$early/status" 2>/dev/null)
	[ -n "$m" ] && (((0x$m & 1) == 1))
}
ok "while starting, SIGHUP is blocked" wait_until 10 hup_blocked
kill -HUP "$early"
sleep 0.3
ok "a SIGHUP during start-up does not kill it" kill -0 "$early"
timeout 10 bash -c 'cat "$1" >"$2"' feed "$STSD_CONF" "$T/conf.fifo" # start-up reads it
# Listening means start-up has read the whole file: only then feed the reload, else both
# copies would reach the first read.
wait_until 10 eval '(exec 3<>"/dev/tcp/$STSD_HOST/$STSD_PORT") 2>/dev/null' || diag "not listening"
timeout 10 bash -c 'cat "$1" >"$2"' feed "$STSD_CONF" "$T/conf.fifo" # the held reload reads it
ok "the held SIGHUP reloads once the daemon serves" wait_until 10 grep -q 'event=reload result=ok source="'"$T/conf.fifo" "$STSD_LOG"
is "$(q nopolicy3.test)" "OK may" "the daemon answers after it"
kill -TERM "$early"
timeout 10 tail --pid="$early" -f /dev/null
wait "$early"
is "$?" 0 "it stops with status 0"

# --- socket activation
# Passed: inet:127.0.0.1:8461 and the unix socket; bound by the daemon: inet:127.0.0.1:8462.
SA_SOCK=$T/sa.sock
stsd_config daemon.listen="$SM_ADDR"
sed -i "/^listen = /a listen = unix:$SA_SOCK\nlisten = inet:127.0.0.1:8462" "$STSD_CONF"
: >"$NOTIFY_LOG"
mark=$(wc -l <"$STSD_LOG")
# systemd-socket-activate passes only LISTEN_*, PATH, HOME and TERM, and -E variables.
# shellcheck disable=SC2086
_stsd_spawn systemd-socket-activate -l "$STSD_HOST:$STSD_PORT" -l "$SA_SOCK" \
	-E NOTIFY_SOCKET="$NOTIFY_SOCK" ${MTASTSD_WRAPPER:-} "$STSD" -f -c "$STSD_CONF" ||
	bail "mta-stsd did not start under systemd-socket-activate"
like "$(notify_line 1)" "READY=1|STATUS=serving answer=9:NOTFOUND ," "socket-activated: READY=1, answering"
new_log() { tail -n +$((mark + 1)) "$STSD_LOG"; }
is "$(new_log | grep -o 'event=listen listen=[^ ]* source=socket-activation fd=[0-9]*' | tr '\n' ' ')" \
	"event=listen listen=$SM_ADDR source=socket-activation fd=3 event=listen listen=unix:$SA_SOCK source=socket-activation fd=4 " \
	"each passed socket serves the listen value with its address"
is "$(q nopolicy.test)" NOTFOUND "postmap over the passed inet socket"
got=$(timeout 30 postmap -c "$PFDIR" -q nopolicy.test "socketmap:unix:$SA_SOCK:postfix" 2>&1; echo "rc=$?")
is "$got" "rc=1" "postmap over the passed unix socket (NOTFOUND)"
got=$(timeout 30 postmap -c "$PFDIR" -q nopolicy.test "socketmap:inet:127.0.0.1:8462:postfix" 2>&1; echo "rc=$?")
is "$got" "rc=1" "the listen value nothing was passed for is bound by the daemon"
out=$(timeout 20 "$STSCTL" -c "$STSD_CONF" query nopolicy.test 2>&1)
like "$? $out" "[01] *NOTFOUND*" "mta-stsctl query through the passed socket (status 1: no policy)"
ok "socket-activated daemon: SIGTERM, exit 0" stsd_stop

# A passed socket no listen value names: refused at start, with the address.
stsd_config daemon.listen="$SM_ADDR"
mark=$(wc -l <"$STSD_LOG")
systemd-socket-activate -l 127.0.0.1:9461 "$STSD" -f -c "$STSD_CONF" >>"$STSD_LOG" 2>&1 </dev/null &
sa=$!
bg_track "$sa"
# it execs the daemon on the first connection
wait_until 10 eval '(exec 3<>/dev/tcp/127.0.0.1/9461) 2>/dev/null' || diag "nothing listens on 9461"
timeout 10 tail --pid="$sa" -f /dev/null
wait "$sa"
rc=$?
like "$rc $(new_log | grep 'mta-stsd: ' | tail -n 1)" \
	"1 mta-stsd: socket activation: passed socket inet:127.0.0.1:9461 (descriptor 3) matches no listen value" \
	"a passed socket that matches no listen value: exit 1, named"

# --- the shipped unit
if systemd-analyze security --offline=true --help >/dev/null 2>&1; then
	out=$(timeout 60 systemd-analyze security --offline=true "$top_srcdir/packaging/mta-stsd.service" 2>&1)
	level=$(sed -n 's/.*Overall exposure level for mta-stsd.service: \([0-9.]*\).*/\1/p' <<<"$out")
	diag "systemd-analyze security --offline=true: exposure $level"
	if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
		pass "packaging/mta-stsd.service: exposure $level <= 2.0"
	else
		fail "packaging/mta-stsd.service: exposure <= 2.0" "$(tail -n 20 <<<"$out")"
	fi
else
	pass "# SKIP systemd-analyze without --offline"
fi
