#!/bin/bash
# SPDX-License-Identifier: MIT
# Policy file syntax (RFC 8461 s3.2): invalid policies give the fallback, never a reply
# carrying injected text; caps tested at the cap and one over.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 23

P=$'version: STSv1\nmode: enforce'
sts_domain nomx.test 1 --policy "$P"$'\nmax_age: 86400'
sts_domain badage.test 1 --policy "$P"$'\nmx: mail.badage.test\nmax_age: 1d'
sts_domain negage.test 1 --policy "$P"$'\nmx: mail.negage.test\nmax_age: -5'
sts_domain bigage.test 1 --policy "$P"$'\nmx: mail.bigage.test\nmax_age: 31557601'
sts_domain maxage.test 1 --policy "$P"$'\nmx: mail.maxage.test\nmax_age: 31557600'
sts_domain noage.test 1 --policy "$P"$'\nmx: mail.noage.test'
sts_domain space.test 1 --policy "$P"$'\nmx: mail.space.test evil.test\nmax_age: 86400'
sts_domain equals.test 1 --policy "$P"$'\nmx: servername=evil.test\nmax_age: 86400'
sts_domain colon.test 1 --policy "$P"$'\nmx: mail.colon.test:.evil.test\nmax_age: 86400'
sts_domain brace.test 1 --policy "$P"$'\nmx: {evil.test}\nmax_age: 86400'
sts_domain star.test 1 --policy "$P"$'\nmx: *\nmax_age: 86400'
sts_domain version.test 1 --policy $'version: STSv2\nmode: enforce\nmx: mail.version.test\nmax_age: 86400'
sts_domain modecase.test 1 --policy $'version: STSv1\nmode: Enforce\nmx: mail.modecase.test\nmax_age: 86400'
sts_domain crlf.test 1 --policy $'version: STSv1\r\nmode: enforce\r\nmx: mail.crlf.test\r\nmax_age: 86400\r'
printf 'version: STSv1\nmode: enforce\nmx: mail.noeol.test\nmax_age: 86400' >"$T/noeol"
sts_domain noeol.test 1 --policy-file "$T/noeol"
sts_domain dupkey.test 1 --policy $'version: STSv1\nmode: enforce\nmode: none\nmx: mail.dupkey.test\nmax_age: 86400'
sts_domain extkey.test 1 --policy $'version: STSv1\nmode: enforce\nfoo-bar: anything goes\nmx: mail.extkey.test\nmax_age: 86400'
mx64=() mx65=()
for i in $(seq 1 64); do mx64+=("mx$i.many64.test"); mx65+=("mx$i.many65.test"); done
mx65+=(mx65.many65.test)
sts_domain many64.test 1 --mx mx64.many64.test --policy "$(enforce_policy "${mx64[@]}")"
sts_domain many65.test 1 --policy "$(enforce_policy "${mx65[@]}")"
dns_start
web_start
stsd_config nocheck.mx_check=no
stsd_start || bail "mta-stsd did not start"

expect nomx.test NOTFOUND "enforce without mx: fallback"
expect badage.test NOTFOUND "max_age '1d': fallback"
expect negage.test NOTFOUND "max_age '-5': fallback"
expect bigage.test NOTFOUND "max_age 31557601 (over the cap): fallback"
expect maxage.test "$(secure_for mail.maxage.test)" "max_age 31557600 (the cap): secure"
expect noage.test NOTFOUND "no max_age: fallback"
expect space.test NOTFOUND "mx with a space: fallback"
expect equals.test NOTFOUND "mx 'servername=evil.test': fallback"
expect colon.test NOTFOUND "mx with ':' (match list injection): fallback"
expect brace.test NOTFOUND "mx with braces: fallback"
expect star.test NOTFOUND "mx '*': fallback"
expect version.test NOTFOUND "version STSv2: fallback"
expect modecase.test NOTFOUND "mode 'Enforce' (case-sensitive): fallback"
expect crlf.test "$(secure_for mail.crlf.test)" "CRLF line ends accepted"
expect noeol.test "$(secure_for mail.noeol.test)" "no line end after the last line accepted"
expect dupkey.test "$(secure_for mail.dupkey.test)" "duplicate keys: first wins"
expect extkey.test "$(secure_for mail.extkey.test)" "extension key ignored"
m=$(IFS=:; echo "${mx64[*]}")
expect many64.test "$(secure_for mx64.many64.test)" "64 mx patterns (the cap): secure, the MX host"
expect many64.test "$(secure_for "$m")" "64 mx patterns, mx_check = no: all of them" nocheck
expect many65.test NOTFOUND "65 mx patterns: fallback"
bad=""
for d in space equals colon brace star; do
	r=$(q $d.test)
	[[ $r == *evil* || $r == *'{'* || $r == *'*'* ]] && bad="$bad $d:'$r'"
done
is "$bad" "" "no reply carries injected text"
ok "daemon still running" stsd_alive
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop
