#!/bin/bash
# SPDX-License-Identifier: MIT
# mta-stsctl check, dimension 2, for information: what plain HTTP on port 80 serves at the
# policy's URL. nginx serves four correct domains over HTTPS; on port 80 one serves the same
# file (policy_http_served, info), one a different policy (policy_http_differs, warning), one
# redirects to https:// (a fact), and on good.test's IP nothing listens on port 80 (a fact).
# Information costs nothing: good.test, same.test and redir.test score 100. The daemon never
# fetches over port 80 (its build has no plain-HTTP fetch): it learns differs.test's HTTPS
# policy, and nginx's port-80 log shows no request until the checks run.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

command -v jq >/dev/null 2>&1 || skip_all "jq not found (tests/install-deps.sh installs it)"

plan 35

policy() { sts_policy "$@"; }
# correct DOMAIN [web_domain options]: enforce for a week, TLS-RPT: nothing to report
correct() {
	local d=$1
	shift
	sts_domain "$d" 1 --policy "$(policy enforce 604800 "mail.$d")" "$@"
	dns_rr "_smtp._tls.$d. 300 IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@$d\""
}
# Port-80 domains share an IP of their own: on $WEB_IP nothing listens on port 80.
HTTP_IP=127.0.0.80
correct good.test
correct same.test --ip $HTTP_IP --http same
correct differs.test --ip $HTTP_IP --http-policy "$(policy testing 604800 mail.differs.test)"
correct redir.test --ip $HTTP_IP --http redirect
dns_start
web_start
stsd_config
LOG80=$WEB_DIR/logs/access80.log
log80() { cat "$LOG80" 2>/dev/null | grep -c "GET /.well-known/mta-sts.txt.*\"mta-sts.$1\""; }

# http80 DOMAIN IP: port 80's raw answer for the policy URL (CRs removed); 1: no connection
http80() (
	exec 3<>"/dev/tcp/$2/80" || exit 1
	printf 'GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: mta-sts.%s\r\n\r\n' "$1" >&3
	timeout 5 cat <&3 | tr -d '\r'
) 2>/dev/null

# ---- the harness: port 80 serves what web_domain says
like "$(http80 differs.test $HTTP_IP)" "HTTP/1.1 200*mode: testing*" \
	"harness: port 80 of differs.test serves the testing policy"
like "$(http80 redir.test $HTTP_IP)" \
	"HTTP/1.1 301*Location: https://mta-sts.redir.test/.well-known/mta-sts.txt*" \
	"harness: port 80 of redir.test redirects to https"
http80 good.test "$WEB_IP" >/dev/null
is "$?" 1 "harness: nothing listens on port 80 of good.test's IP"
: >"$LOG80"

# ---- the daemon fetches over HTTPS only
stsd_start || bail "mta-stsd did not start"
expect differs.test "$(secure_for mail.differs.test)" \
	"the daemon applies differs.test's HTTPS policy (enforce), not port 80's (testing)"
expect same.test "$(secure_for mail.same.test)" "the daemon learns same.test"
is "$(log80 differs.test)+$(log80 same.test)" "0+0" "the daemon sent no request to port 80"
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop

# chk DOMAIN: text report in $out (status $rc), JSON in $json
chk() {
	out=$(timeout 60 "$STSCTL" -c "$STSD_CONF" check --no-smtp --timeout 10 "$1" 2>"$T/chk.err")
	rc=$?
	json=$(timeout 60 "$STSCTL" -c "$STSD_CONF" check --no-smtp --json --timeout 10 "$1" 2>>"$T/chk.err")
}
# d2 FIELD: dimension 2's findings as "code:severity", or its plain_http fact
d2codes() { jq -r '[.dimensions[1].findings[] | .code + ":" + .severity] | join(" ")' <<<"$json" 2>&1; }
d2fact() { jq -r '.dimensions[1].facts.plain_http' <<<"$json" 2>&1; }
score() { jq -r '[.score, .exit, .counts.critical, .counts.warning] | join(",")' <<<"$json" 2>&1; }

# ---- nothing on port 80: a fact, no finding, score 100
chk good.test
diag "$out"
is "$(d2codes)" "" "good.test: nothing on port 80: no finding in dimension 2"
like "$(d2fact)" "http://mta-sts.good.test/.well-known/mta-sts.txt: not served (connect: *" \
	"good.test: the fact says port 80 refused the connection"
is "$(score)" "100,0,0,0" "good.test: score 100, exit 0"
is "$rc" 0 "good.test: the text report's exit status is 0"

# ---- the same policy on port 80: info, score 100
chk same.test
diag "$out"
is "$(d2codes)" "policy_http_served:info" "same.test: policy_http_served (info)"
like "$out" "*  info     policy_http_served: plain HTTP on port 80 serves the policy too (the same 64 bytes)*" \
	"same.test: the text report shows it in dimension 2"
like "$(jq -r '.dimensions[1].findings[0].message' <<<"$json")" "*senders never use it (RFC 8461 s3.3 requires HTTPS)*" \
	"same.test: the message says senders use HTTPS only"
like "$(d2fact)" "http://mta-sts.same.test/.well-known/mta-sts.txt: status 200, 64 bytes" \
	"same.test: the fact: status 200 and the size"
is "$(score)" "100,0,0,0" "same.test: information costs nothing: score 100, exit 0"
is "$rc" 0 "same.test: the text report's exit status is 0"

# ---- a different policy on port 80: a warning
chk differs.test
diag "$out"
is "$(d2codes)" "policy_http_differs:warning" "differs.test: policy_http_differs (warning)"
like "$(jq -r '.dimensions[1].findings[0].message' <<<"$json")" \
	"plain HTTP on port 80 serves a different policy (67 bytes, HTTPS 67; first difference in line 2)*" \
	"differs.test: the message gives both sizes and the first differing line"
like "$out" "*  warning  policy_http_differs: *" "differs.test: the text report shows the warning"
is "$(score)" "90,1,0,1" "differs.test: one warning: score 90, exit 1"
is "$rc" 1 "differs.test: the text report's exit status is 1"
is "$(jq -r '.dimensions[2].facts.mode' <<<"$json")" "enforce" \
	"differs.test: dimension 3 judges the HTTPS policy"

# ---- a redirect to https on port 80: a fact
chk redir.test
diag "$out"
is "$(d2codes)" "" "redir.test: a redirect on port 80: no finding"
is "$(d2fact)" \
	"http://mta-sts.redir.test/.well-known/mta-sts.txt: status 301, a redirect to https://mta-sts.redir.test/.well-known/mta-sts.txt" \
	"redir.test: the fact names the redirect's target (not followed)"
is "$(score)" "100,0,0,0" "redir.test: score 100, exit 0"
like "$out" "*plain_http*status 301*" "redir.test: the text report shows the fact"

# ---- the checks asked port 80 (each twice: text and JSON); redirects are not followed
is "$(log80 same.test)+$(log80 differs.test)+$(log80 redir.test)" "2+2+2" \
	"port 80 got one request per check run"
is "$(grep -c 'GET /.well-known/mta-sts.txt.*"mta-sts.redir.test"' "$WEB_DIR/logs/access.log")" 2 \
	"redir.test: HTTPS got the check's own fetches only (the redirect was not followed)"
like "$(grep '"mta-sts.same.test"' "$LOG80" | head -n 1)" '*"mta-stsd/*' \
	"port 80 requests come from mta-stsctl (mta-stsd's user agent)"

# ---- policy_http_served without an HTTPS policy to compare: the HTTPS side fails
web_domain same.test --ip $HTTP_IP --http same --status 404
web_reload
chk same.test
is "$(d2codes)" "policy_fetch_failed:critical policy_http_served:info" \
	"HTTPS 404, port 80 a policy: policy_fetch_failed, then policy_http_served"
like "$(jq -r '.dimensions[1].findings[1].message' <<<"$json")" "*HTTPS served none to compare it with*" \
	"... which says there was nothing to compare with"

# ---- a port-80 server that never answers does not hold the check up (its 5 s clock)
SILENT_IP=127.0.0.81
python3 -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 80))
s.listen(64)  # the kernel completes connections; nobody ever reads or answers
time.sleep(300)' "$SILENT_IP" &
bg_track $!
wait_until 10 eval "(exec 3<>/dev/tcp/$SILENT_IP/80) 2>/dev/null" || bail "silent port 80 does not listen"
correct silent.test --ip $SILENT_IP
web_reload
t0=$(now_ms)
chk silent.test
t1=$(now_ms)
like "$(d2fact)" "*: not served (timeout: *" "silent.test: a port 80 that never answers: a timeout fact"
is "$(score)" "100,0,0,0" "silent.test: score 100"
ok "silent.test: both runs end within 2 x 5 s + 4 s ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 14000
