#!/bin/bash
# SPDX-License-Identifier: MIT
# Daemon mode (no -f), as an operator starts it: the command returns 0 only once the detached
# daemon answers, with its pid file written; the daemon runs in its own session with stdio on
# /dev/null and itself holds the LMDB environment (opened after the fork, never inherited);
# trust on first use works against it, also across a restart; start-up errors reach the
# invoking shell (message on stderr, non-zero status); the pid file stops it cleanly.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 22

sts_domain tofu.test 1
dns_start
web_start
stsd_config daemon.txt_recheck=1
PIDF=$T/mta-stsd.pid

# holds_lmdb_lock PID: PID holds LMDB's environment lock (POSIX lock on byte 0 of the cache's
# lock.mdb, taken by mdb_env_open()), and its reader-liveness lock, if any, sits at its own
# pid (LMDB records the pid of the process that opened the environment). POSIX locks are not
# inherited across fork(): an environment opened before daemon() loses its lock, and another
# process opening it (mdb_stat, a second instance) then re-initialises the lock table.
holds_lmdb_lock() {
	local ino locks
	ino=$(stat -c %i "$T/cache/lock.mdb" 2>/dev/null) || return 1
	locks=$(awk -v pid="$1" -v ino="$ino" '$2 == "POSIX" && $5 == pid && $6 ~ (":" ino "$") { print $7 }' /proc/locks | sort -n | tr '\n' ' ')
	case " $locks" in
	" 0 " | " 0 $1 ") return 0 ;;
	esac
	diag "locks of $1 on lock.mdb at: '$locks'"
	return 1
}

stsd_detach -p "$PIDF"
rc=$?
# Right away, no waiting: the daemon must already answer.
(exec 3<>"/dev/tcp/$STSD_HOST/$STSD_PORT") 2>/dev/null
conn=$?
is "$rc" 0 "mta-stsd without -f exits 0" || diag "$(cat "$STSD_DETACH_OUT")"
is "$conn" 0 "... only once the daemon accepts connections"
pid=$(cat "$PIDF" 2>/dev/null)
[ -n "$pid" ] && bg_track "$pid"
pid=${pid:-none}
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then pass "pid file written, naming the running daemon ($pid)"; else fail "pid file written, naming the running daemon" "pid file: '$pid'"; fi
is "$(ps -o sid= -p "$pid" 2>/dev/null | tr -d ' ')" "$pid" "the daemon leads a session of its own (setsid)"
is "$(readlink "/proc/$pid/fd/0") $(readlink "/proc/$pid/fd/1") $(readlink "/proc/$pid/fd/2")" \
	"/dev/null /dev/null /dev/null" "its stdin, stdout and stderr are /dev/null"
ok "the daemon itself holds the LMDB environment's lock (opened after the fork)" holds_lmdb_lock "$pid"
is "$(cat "$STSD_DETACH_OUT")" "" "nothing printed by a successful start"

# Trust on first use against the detached daemon.
expect tofu.test "$(secure_for mail.tofu.test)" "policy learned"
dns_rm _mta-sts.tofu.test.
q tofu.test >/dev/null # starts the background TXT re-check (txt_recheck 1)
sleep 2
expect tofu.test "$(secure_for mail.tofu.test)" "TXT record removed: the cached policy is still answered"

# Start-up errors reach the invoking shell.
stsd_detach -p "$T/second.pid"
rc=$?
like "$rc $(cat "$STSD_DETACH_OUT")" "1 mta-stsd: *inet:127.0.0.1:8461*Address already in use*" \
	"listener address in use: non-zero exit, message on stderr"
if [ ! -e "$T/second.pid" ] && [ "$(cat "$PIDF")" = "$pid" ]; then pass "... no pid file written, the running daemon's left alone"; else fail "... no pid file written, the running daemon's left alone" "$(ls -l "$T"/*.pid)"; fi
printf 'x\n' >"$T/notadir"
sed -e "s|^cache_dir = .*|cache_dir = $T/notadir/cache|" -e "s|^listen = .*|listen = inet:127.0.0.1:8462|" \
	"$STSD_CONF" >"$T/badcache.conf"
STSD_CONF_SAVED=$STSD_CONF
STSD_CONF=$T/badcache.conf
stsd_detach -p "$T/third.pid"
rc=$?
STSD_CONF=$STSD_CONF_SAVED
like "$rc $(cat "$STSD_DETACH_OUT")" "1 mta-stsd: *cache_dir: $T/notadir/cache: Not a directory*" \
	"unusable cache_dir: non-zero exit, message on stderr"
sleep 0.5
is "$(pgrep -f -- "-c $T/badcache.conf" | tr '\n' ' ')$(ls "$T/third.pid" 2>/dev/null)" "" \
	"... no process left behind, no pid file"

# Stop with the pid file, restart with the policy host down: the cache survived.
stsd_pidfile_stop "$PIDF"
is "$?" 0 "SIGTERM via the pid file: the daemon is gone, the pid file removed, no report"
web_stop
# A relative pid file name is taken from the directory mta-stsd was started in.
pushd "$T" >/dev/null || bail "cd $T"
stsd_detach -p mta-stsd.pid
rc=$?
popd >/dev/null || bail "cd -"
is "$rc" 0 "restarted without -f, relative -p name" || diag "$(cat "$STSD_DETACH_OUT")"
pid2=$(cat "$PIDF" 2>/dev/null)
[ -n "$pid2" ] && bg_track "$pid2"
expect tofu.test "$(secure_for mail.tofu.test)" "after the restart, no TXT, policy host down: cached policy answered"
ok "the restarted daemon holds the LMDB lock" holds_lmdb_lock "$pid2"
stsd_pidfile_stop "$PIDF"
is "$?" 0 "stopped via the pid file again: gone, pid file removed, no report"
ok "no daemon process left" bash -c "! kill -0 $pid2 2>/dev/null"

# -f with -p: same pid file rules in the foreground.
stsd_start -p "$T/fg.pid" || bail "mta-stsd -f -p did not start"
# -f has no "ready" report: the listener accepts (backlog) before the rest is open
wait_until 30 test -s "$T/fg.pid"
is "$(cat "$T/fg.pid" 2>/dev/null)" "$_stsd_pid" "-f -p: the pid file names the foreground daemon"
ok "mta-stsd -f exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
ok "... and removes its pid file" test ! -e "$T/fg.pid"
