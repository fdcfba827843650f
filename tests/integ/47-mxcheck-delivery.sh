#!/bin/bash
# SPDX-License-Identifier: MIT
# End to end: mx_check (RFC 8461 s4.1, "*." is exactly one label) with real Postfix delivering
# to real Postfix MX hosts over STARTTLS, every MX certificate valid for its own name.
#   deep.test    policy *.mx.deep.test, only MX a.b.mx.deep.test (two labels below): TEMP,
#                Postfix defers and the MX gets nothing, however often Postfix retries.
#   one.test     policy *.mx.one.test, MX good.mx.one.test: delivered, verified.
#   mixed.test   policy *.mx.mixed.test, MX 10 a.b.mx.mixed.test (excluded, preferred),
#                MX 20 ok.mx.mixed.test: Postfix cannot verify the excluded host, so the
#                message goes to ok.mx only.
# Then, documenting the weaker mode (expected and asserted, not a failure): the client switched
# to a socketmap name whose zone has mx_check = no gets "secure match=.mx.deep.test", which
# Postfix <= 3.9 takes as any depth, and the very message deferred above is delivered to the
# host the policy excludes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

for t in postfix sendmail postqueue postsuper; do
	command -v $t >/dev/null 2>&1 || skip_all "$t not installed (package postfix)"
done
plan 26

# wild_dest DOMAIN MXHOST IP: enforce policy "mx: *.mx.DOMAIN", MX 10 MXHOST at IP.
wild_dest() {
	sts_domain "$1" 1 --mx "$2" --policy "$(enforce_policy "*.mx.$1")"
	dns_a "$2" "$3"
}

wild_dest deep.test a.b.mx.deep.test 127.0.0.60
wild_dest one.test good.mx.one.test 127.0.0.61
wild_dest mixed.test a.b.mx.mixed.test 127.0.0.62
dns_rr "mixed.test. 300 IN MX 20 ok.mx.mixed.test."
dns_a ok.mx.mixed.test 127.0.0.63
# Certificates from the trusted test CA, each valid for its host's own name.
deep=$(cert_issue good a.b.mx.deep.test)
one=$(cert_issue good good.mx.one.test)
mixab=$(cert_issue good a.b.mx.mixed.test)
mixok=$(cert_issue good ok.mx.mixed.test)
dns_start
web_start
stsd_config nocheck.mx_check=no
stsd_start || bail "mta-stsd did not start"

# What the daemon tells Postfix (zone "postfix": mx_check = yes, the default).
expect deep.test 'TEMP *allows no MX host*' \
	"deep.test (only MX two labels below *.mx): TEMP, not match=.mx.deep.test"
expect one.test "$(secure_for good.mx.one.test)" "one.test: secure, the allowed MX host exactly"
expect mixed.test "$(secure_for ok.mx.mixed.test)" \
	"mixed.test: secure, only the allowed MX host (a.b.mx.mixed.test left out)"

pf_mx_start deep 127.0.0.60 "$deep"
pf_mx_start one 127.0.0.61 "$one"
pf_mx_start mixab 127.0.0.62 "$mixab"
pf_mx_start mixok 127.0.0.63 "$mixok"
pf_client_start

# (1) the only MX is excluded by the policy: deferred, nothing reaches it.
deep_id=$(pf_send user@deep.test)
r=$(pf_wait "$deep_id" 30)
like "$r" $'deferred\n*' "deep.test: deferred (MX a.b.mx.deep.test excluded by *.mx.deep.test)"
diag "Postfix on deep.test:" "$r"
like "$r" "*temporary error: enforced MTA-STS policy allows no MX host*TLS policy lookup for deep.test/a.b.mx.deep.test*status=deferred (client TLS configuration problem)*" \
	"... because the TLS policy lookup said TEMP (Postfix: client TLS configuration problem)"
unlike "$r" "*TLS connection established*" "... without a TLS session to the excluded host"
pf_mx_received deep user@deep.test
ok "... and a.b.mx.deep.test got nothing" test $? != 0

# (2) the MX is one label below the wildcard: delivered, verified.
r=$(pf_wait "$(pf_send user@one.test)" 30)
like "$r" $'sent\n*' "one.test: delivered (MX good.mx.one.test allowed by *.mx.one.test)"
like "$r" "*Verified TLS connection established to good.mx.one.test*" "... over verified TLS"
ok "... and good.mx.one.test holds it" pf_mx_received one user@one.test

# (3) the preferred MX is excluded, the second one allowed: only the allowed one gets it.
r=$(pf_wait "$(pf_send user@mixed.test)" 30)
diag "Postfix on mixed.test:" "$r"
like "$r" $'sent\n*' "mixed.test: delivered"
like "$r" "*Verified TLS connection established to ok.mx.mixed.test*" \
	"... over verified TLS to ok.mx.mixed.test (the allowed MX 20)"
unlike "$r" "*Verified TLS connection established to a.b.mx.mixed.test*" \
	"... a.b.mx.mixed.test (the excluded, preferred MX 10) was not verified"
like "$r" "*to a.b.mx.mixed.test*Server certificate not verified*" \
	"... Postfix tried it first, then gave up on it: Server certificate not verified"
ok "... ok.mx.mixed.test holds it" pf_mx_received mixok user@mixed.test
pf_mx_received mixab user@mixed.test
ok "... a.b.mx.mixed.test got nothing" test $? != 0
grep -qE "disconnect from .* mail=" "$(pf_mx_log mixab)"
ok "... not even a MAIL command (Postfix quit after STARTTLS)" test $? != 0

# (1) again, after the deliveries above took their time: Postfix kept retrying, still deferred.
pf_flush
_deep_deferred() {
	n=$(grep -cE "]: $deep_id: to=<user@deep.test>,.* status=deferred " "$(pf_log)")
	[ "$n" -ge 3 ]
}
wait_until 20 _deep_deferred
ok "deep.test: still deferred after $n attempts" test "$n" -ge 3
n=$(grep -cE "]: $deep_id: to=<user@deep.test>,.* status=sent " "$(pf_log)")
is "$n" 0 "... never sent"
pf_mx_received deep user@deep.test
ok "... and a.b.mx.deep.test still got nothing" test $? != 0
# (its log has one connection: pf_mx_start's readiness probe, which says nothing)
grep -qE "disconnect from .* ehlo=" "$(pf_mx_log deep)"
ok "... Postfix never opened an SMTP session with it (the lookup precedes the connection)" \
	test $? != 0

# (4) Documenting what mx_check = no leaves open (expected outcome, asserted): the zone
# [nocheck] answers the policy's pattern, which Postfix <= 3.9 matches at any depth.
expect deep.test "$(secure_for .mx.deep.test)" \
	"mx_check = no (weaker mode): deep.test answered with the pattern match=.mx.deep.test" nocheck
pf_client_set smtp_tls_policy_maps=socketmap:inet:127.0.0.1:8461:nocheck
pf_flush
r=$(pf_wait "$deep_id" 30 sent)
diag "Postfix on deep.test with mx_check = no:" "$r"
like "$r" $'sent\n*' \
	"mx_check = no (weaker mode): the deferred deep.test message is delivered to the excluded host"
like "$r" "*Verified TLS connection established to a.b.mx.deep.test*" \
	"... Postfix verified a.b.mx.deep.test against match=.mx.deep.test"
ok "... a.b.mx.deep.test now holds it" pf_mx_received deep user@deep.test

pf_stop_all
stsd_stop
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" test $? = 0
