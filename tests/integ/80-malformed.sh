#!/bin/bash
# SPDX-License-Identifier: MIT
# Socketmap framing: malformed netstrings close the connection (never a hang, never a
# crash), requests at the 10000-byte cap are answered and one byte over is refused,
# pipelined and split requests work, an idle half-sent request blocks nobody.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 19

sts_domain enforce.test 1
dns_start
web_start
stsd_start || bail "mta-stsd did not start"
SEC=$(secure_for mail.enforce.test)

# _closed OUTPUT: the daemon closed the connection (at most after one reply)
_closed() { [[ $1 == EOF || $1 == $'REPLY '*$'\nEOF' ]]; }

r=$(sm_raw -n 2 'hello world\r\n')
ok "garbage: connection closed ($r)" _closed "$r"
r=$(sm_raw -n 2 '99999999999:')
ok "huge length prefix: connection closed ($r)" _closed "$r"
r=$(sm_raw -n 2 '999999999999999999999999999999:postfix a.test,')
ok "length prefix overflowing 64 bits: connection closed ($r)" _closed "$r"
r=$(sm_raw -n 2 '%s' '20:postfix enforce.testX')
ok "missing comma: connection closed ($r)" _closed "$r"
r=$(sm_raw -n 2 '%s' '020:postfix enforce.test,')
ok "leading zero in length: connection closed ($r)" _closed "$r"
r=$(sm_raw -n 2 '%s' ':postfix enforce.test,')
ok "empty length: connection closed ($r)" _closed "$r"

# cap: payload of exactly 10000 bytes is a request (key too long for a name -> NOTFOUND)
key=$(head -c $((10000 - 8)) /dev/zero | tr '\0' a)
r=$(sm_raw '%s' "$(netstring "postfix $key")")
like "$r" "REPLY NOTFOUND*" "10000-byte request (the cap): answered NOTFOUND"
r=$(sm_raw -n 2 '%s' "$(netstring "postfix ${key}a")")
ok "10001-byte request: connection closed (${r:0:60})" _closed "$r"

r=$(sm_raw '%s' "$(netstring $'postfix \xc3\xa9t\xc3\xa9.test')")
like "$r" "REPLY NOTFOUND*" "non-ASCII key: NOTFOUND"
r=$(sm_raw '%s' "$(netstring $'postfix a\x01b.test')")
# The codec refuses control bytes in a request (they would corrupt logs and cache keys): PERM.
like "$r" "REPLY PERM malformed request*" "control character in key: PERM, connection kept"
r=$(sm_raw '%s' "$(netstring 'postfix')")
unlike "$r" HANG "request without a key: no hang ($r)"
r=$(sm_raw '0:,')
unlike "$r" HANG "empty request: no hang ($r)"

# pipelined: three requests in one write, three replies in order
r=$(sm_raw -n 3 '%s' "$(netstring 'postfix enforce.test')$(netstring 'postfix .enforce.test')$(netstring 'postfix enforce.test')")
is "$r" "REPLY $SEC"$'\n'"REPLY NOTFOUND "$'\n'"REPLY $SEC" "pipelined requests answered in order"

# split: a request arriving in pieces
r=$(timeout 10 bash -c '
	exec 3<>"/dev/tcp/$1/$2" || exit 0
	printf "20:post" >&3; sleep 0.3; printf "fix enforce" >&3; sleep 0.3; printf ".test," >&3
	IFS= read -r -t 5 -d , x <&3 && echo "$x"' _ "$STSD_HOST" "$STSD_PORT")
is "$r" "${#SEC}:$SEC" "request split over three writes answered"

# a half-sent request on an idle connection does not block other clients
exec 5<>"/dev/tcp/$STSD_HOST/$STSD_PORT"
printf '20:postfix enf' >&5
expect enforce.test "$SEC" "answered while another connection holds a partial request"
exec 5>&-

expect enforce.test "$SEC" "normal query after all the garbage"
# Six bad netstrings above within a second: the log holds one line for them, not six.
is "$(grep -c 'event=bad-netstring' "$STSD_LOG")" 1 "bad netstrings logged once (rate-limited)"
ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
