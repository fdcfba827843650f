#!/bin/bash
# SPDX-License-Identifier: MIT
# Daemon behaviour around the lookups: 300 simultaneous first queries for one domain share one
# TXT query and one fetch; a unix listener beside the inet one (mode applied); SIGHUP reloads
# zone settings; at the connection cap a new client closes the connection idle the longest and
# is refused only when every connection waits for an answer, and the cap frees up again; a
# SIGTERM sent the moment the daemon accepts connections stops it cleanly.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 17

sts_domain herd.test 1 --policy "$(enforce_policy mail.herd.test)"
# slow.test's policy host never answers: its queries wait fetch_timeout (10 s) for an answer
sts_txt slow.test 1
dns_a mta-sts.slow.test "$SLOW_IP"
dns_start
web_start
slow_start
UNIX_SOCK=$T/sm.sock
# txt_recheck 3600: no background re-check while the 300 queries run. dns_timeout 9: c-ares
# retransmits after a third of it, which under valgrind would show up
# as a second TXT packet although the daemon made one query
stsd_config daemon.listen="$SM_ADDR" daemon.socket_mode=0600 daemon.fetch_timeout=10 daemon.dns_timeout=9 daemon.txt_recheck=3600
sed -i "/^listen = /a listen = unix:$UNIX_SOCK" "$STSD_CONF"
stsd_start || bail "mta-stsd did not start"

# 300 simultaneous first queries for one domain
export PFDIR SM_ADDR
seq 1 300 | timeout 60 xargs -P 300 -I{} bash -c '
	out=$(timeout 50 postmap -c "$PFDIR" -q herd.test "socketmap:$SM_ADDR:postfix" 2>&1)
	echo "$? $out"' >"$T/herd"
is "$(grep -c -x -F "0 secure match=mail.herd.test servername=hostname" "$T/herd")" 300 \
	"300 simultaneous first queries for one domain: all secure" ||
	diag "$(sort "$T/herd" | uniq -c | head -n 5)"
is "$(grep -c 'GET /.well-known/mta-sts.txt' "$WEB_DIR/logs/access.log")" 1 "one policy fetch for them all"
is "$(grep -c '_mta-sts.herd.test. TXT' "$DNS_DIR/unbound.log")" 1 "one TXT query for them all"

# unix listener
is "$(stat -c %a "$UNIX_SOCK" 2>&1)" 600 "unix socket created with socket_mode 0600"
got=$(timeout 30 postmap -c "$PFDIR" -q herd.test "socketmap:unix:$UNIX_SOCK:postfix" 2>&1)
is "$got" "secure match=mail.herd.test servername=hostname" "postmap over the unix listener"

# SIGHUP reloads zone settings
expect nopolicy.test NOTFOUND "before reload: fallback NOTFOUND"
sed -i '/^\[postfix\]/,/^\[/ s/^fallback = .*/fallback = may/' "$STSD_CONF"
kill -HUP "$_stsd_pid"
expect_within 5 nopolicy2.test "OK may" "after SIGHUP: the new fallback applies"
ok "daemon still running after SIGHUP" stsd_alive

# connection cap: two idle connections fill it, a third closes the one idle the longest; two
# waiting for an answer fill it, and a third is refused; then room again
sed -i '/^\[daemon\]/a max_connections = 2' "$STSD_CONF"
stsd_restart || bail "mta-stsd did not restart"
# one request on each held connection proves the daemon accepted and counts it; by then the
# start-up probe's connection is long closed (it matters under valgrind, where all is slow)
sleep 1
for fd in 5 6; do
	eval "exec $fd<>/dev/tcp/$STSD_HOST/$STSD_PORT"
	netstring 'postfix herd.test' >&$fd
	IFS= read -r -t 20 -d , reply <&$fd
	case $reply in *"OK secure"*) ;; *) diag "held connection $fd: '$reply'" ;; esac
done
# read_fd FD: the next reply on FD: "REPLY <payload>", EOF (closed by the daemon) or HANG.
read_fd() {
	local r
	IFS= read -r -t 5 -d , r <&"$1"
	case $? in 0) echo "REPLY ${r#*:}" ;; 1) echo EOF ;; *) echo HANG ;; esac
}
is "$(sm_raw -w 3 '%s' "$(netstring 'postfix herd.test')")" "REPLY $(secure_for mail.herd.test)" \
	"a third connection over max_connections=2 is served ..."
is "$(read_fd 5)" EOF "... the connection idle the longest was closed for it ..."
netstring 'postfix herd.test' >&6
like "$(read_fd 6)" "REPLY OK secure*" "... and the other one still answers"
is "$(grep -c 'event=evict-idle ' "$STSD_LOG")" 1 "the eviction is logged once"
exec 5>&-
# Now two connections whose request waits (slow.test's fetch hangs): the idle one (6) makes
# room for the second of them; a further client finds none idle and is refused.
exec 5<>"/dev/tcp/$STSD_HOST/$STSD_PORT"
netstring 'postfix slow.test' >&5
sleep 0.5
exec 7<>"/dev/tcp/$STSD_HOST/$STSD_PORT"
netstring 'postfix slow.test' >&7
sleep 2
is "$(sm_raw -w 3 '%s' "$(netstring 'postfix herd.test')")" EOF \
	"with both connections waiting for an answer, a third is refused"
ok "the refusal is logged" grep -q 'err="connection limit 2 reached" action=close' "$STSD_LOG"
exec 5>&- 6>&- 7>&-
expect_within 5 herd.test "$(secure_for mail.herd.test)" "after the connections close, queries are served"
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop

# Stopped as soon as it accepts (before its loop runs): the signal waits for the handler and
# the exit is clean every time, never the default action's death by SIGTERM.
stops=""
for i in 1 2 3 4 5; do
	stsd_start || bail "mta-stsd did not start"
	stsd_stop
	stops="$stops$?"
done
is "$stops" 00000 "SIGTERM right after start: a clean exit 5 times out of 5"
