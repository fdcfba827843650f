#!/bin/bash
# SPDX-License-Identifier: MIT
# mta-stsctl check, dimension 4 (certificate of mta-sts.DOMAIN): one test domain per finding
# code, each served by nginx with a certificate made by lib.sh's test PKI, read from the same
# handshake as the policy fetch: cert_expired (expired), cert_name_mismatch (wrongname),
# cert_invalid (untrusted CA), cert_expiring (5 days left), tls_version_old (an mta-sts host
# that speaks TLS 1.1 only), and a fully correct domain that still scores 100 with its
# certificate facts (TLS version, names, days left).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

command -v jq >/dev/null 2>&1 || skip_all "jq not found (tests/install-deps.sh installs it)"

plan 32

policy() { sts_policy "$@"; }
good_domain() { # good_domain DOMAIN [web_domain options]: right in every dimension but 4
	local d=$1
	shift
	sts_domain "$d" 1 --policy "$(policy enforce 604800 "mail.$d")" "$@"
	dns_rr "_smtp._tls.$d. 300 IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@$d\""
}

good_domain good.test
good_domain certexp.test --cert expired
good_domain certname.test --cert wrongname
good_domain certca.test --cert untrusted
good_domain certsoon.test --cert expiring
# TLS 1.1 only, on an address of its own (the version is settled before SNI)
good_domain certold.test --ip 127.0.0.3 --protocols TLSv1.1
dns_start
web_start
stsd_config

# chk DOMAIN: text report in $out, its status in $rc, the JSON report in $json
chk() {
	out=$(timeout 60 "$STSCTL" -c "$STSD_CONF" check --no-smtp --timeout 10 "$1" 2>"$T/chk.err")
	rc=$?
	json=$(timeout 60 "$STSCTL" -c "$STSD_CONF" check --no-smtp --json --timeout 10 "$1" 2>>"$T/chk.err")
}
# dim4: "code:severity" of dimension 4's findings, in order
dim4() { jq -r '[.dimensions[3].findings[] | .code + ":" + .severity] | join(" ")' <<<"$json" 2>&1; }
msg4() { jq -r '.dimensions[3].findings[0].message' <<<"$json" 2>&1; }
fact4() { jq -r --arg k "$1" '.dimensions[3].facts[$k]' <<<"$json" 2>&1; }

# ---- the fully correct domain: dimension 4 is checked, and the score stays 100
chk good.test
diag "$out"
is "$rc" 0 "good.test: exit 0"
like "$out" "*score: 100/100 (0 critical, 0 warning, * info)*" "good.test: score 100"
is "$(jq -r '.dimensions[3] | [.checked, (.findings | length)] | join(",")' <<<"$json")" "true,0" \
	"good.test: dimension 4 checked, no finding"
like "$(fact4 tls_version)" "TLSv1.[23]" "good.test: the negotiated TLS version is a fact"
is "$(fact4 names)" "mta-sts.good.test" "good.test: the certificate's names"
like "$(fact4 issuer)" "*mta-stsd integ test CA*" "good.test: the issuer"
like "$(fact4 days_left)" "[23][0-9]" "good.test: days left (the test CA issues for 30 days)"
like "$(fact4 not_after)" "20[0-9][0-9]-*T*Z" "good.test: not_after in UTC"
like "$out" "*\[4\] Certificate of mta-sts host*    tls_version: TLSv1.*  ok*" \
	"good.test: the text report shows the facts and ok"

# ---- expired: cert_expired (not also cert_invalid); dimension 2 still says why the fetch failed
chk certexp.test
is "$(dim4)" "cert_expired:critical" "certexp.test: cert_expired (critical), told once"
like "$(msg4)" "*expired on 2020-02-01T00:00:00Z*" "certexp.test: the date it expired"
like "$out" "*critical cert_expired: *" "certexp.test: in the text report"
like "$(jq -r '.dimensions[1].findings[0] | .code + " " + .message' <<<"$json")" \
	"policy_fetch_failed TLS: *" "certexp.test: the fetch failed on TLS (dimension 2)"
is "$rc" 2 "certexp.test: exit 2"

# ---- wrong name: the chain is fine, the name is not
chk certname.test
is "$(dim4)" "cert_name_mismatch:critical" "certname.test: cert_name_mismatch (critical) only"
like "$(msg4)" "*not valid for mta-sts.certname.test*wrong-mta-sts.certname.test.invalid*" \
	"certname.test: the name asked for and the names the certificate has"
like "$out" "*critical cert_name_mismatch: *" "certname.test: in the text report"
like "$(jq -r '.dimensions[1].findings[0] | .code + " " + .message' <<<"$json")" \
	"policy_fetch_failed TLS: *" "certname.test: the fetch still fails as the daemon's would"

# ---- untrusted CA: cert_invalid with OpenSSL's reason
chk certca.test
is "$(dim4)" "cert_invalid:critical" "certca.test: cert_invalid (critical) only"
like "$(msg4)" "*does not verify: unable to get local issuer certificate*" \
	"certca.test: the reason, as OpenSSL gives it"
like "$(fact4 issuer)" "*UNTRUSTED CA*" "certca.test: the issuer is shown although rejected"
like "$out" "*critical cert_invalid: *" "certca.test: in the text report"
like "$(jq -r '.dimensions[1].findings[0] | .code + " " + .message' <<<"$json")" \
	"policy_fetch_failed TLS: *" "certca.test: the fetch still fails as the daemon's would"

# ---- expiring in 5 days: a warning; the policy itself is fetched and fine
chk certsoon.test
is "$(dim4)" "cert_expiring:warning" "certsoon.test: cert_expiring (warning)"
like "$(msg4)" "*in [45] days (under 14)*" "certsoon.test: days left"
is "$rc" 1 "certsoon.test: warnings only: exit 1"
is "$(jq -r '.score' <<<"$json")" 90 "certsoon.test: one warning: score 90"
like "$out" "*warning  cert_expiring: *" "certsoon.test: in the text report"

# ---- TLS 1.1 only: tls_version_old, from the handshake's protocol_version alert
chk certold.test
is "$(dim4)" "tls_version_old:critical" "certold.test: tls_version_old (critical)"
like "$(msg4)" "*mta-sts.certold.test offers no TLS version senders accept*" \
	"certold.test: the message names the host"
like "$(jq -r '.dimensions[1].findings[0].message' <<<"$json")" "TLS: *" \
	"certold.test: the fetch failed on TLS (dimension 2)"
like "$out" "*critical tls_version_old: *" "certold.test: in the text report"
