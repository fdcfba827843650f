#!/bin/bash
# SPDX-License-Identifier: MIT
# Group commit: what lookups learn is written in one transaction (one disk flush) for all the
# lookups that finish about the same time, and no answer leaves before its record is
# committed. A finished lookup waits in the table for that commit: a request meanwhile joins
# it, or, when it needs what the lookup did not learn, commits at once and starts afresh.
#   d1..d100.burst.test  enforce "mail.burst.test", asked at once over 50 connections, then
#                        asked again after kill -9 with nginx stopped: from the cache alone
#   re.test              enforce "*.re.test", MX mx.re.test; learnt through zone "nocheck"
#                        (mx_check = no: no MX record needed), re-checked every second; zone
#                        "postfix" (mx_check) then needs the MX set the re-check did not learn
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"
. "${0%/*}/../fault/lib-fault.sh"

plan 8

bulk_domains burst.test 100 "$(enforce_policy mail.burst.test)"
sts_domain re.test 1 --no-mx --policy "$(enforce_policy "*.re.test")"
dns_rr "re.test. 300 IN MX 10 mx.re.test."
dns_start
web_start
smload_build
stsd_config daemon.metrics=$STSD_METRICS daemon.txt_recheck=1 nocheck.mx_check=no
stsd_start || bail "mta-stsd did not start"

mapfile -t doms <"$T/bulk-burst.test.domains"
sm_load "$T/burst" 50 60 "OK secure match=mail.burst.test" "${doms[@]}"
like "$(cat "$T/burst.sum")" "requests=100 errors=0 *" "100 first contacts at once: all secure"
commits=$(stsd_metric mta_stsd_cache_commits_total)
lookups=$(stsd_metric mta_stsd_cache_committed_results_total)
diag "$lookups lookups stored in $commits transactions"
is "$lookups" 100 "every lookup's record stored"
ok "lookups finishing together share a transaction (fewer commits than lookups)" \
	[ "${commits:-100}" -lt 100 ]

# Killed right after the last answer, nothing fetchable any more: every answer given is kept.
stsd_kill9
web_stop
stsd_start || bail "mta-stsd did not start again"
sm_load "$T/again" 50 60 "OK secure match=mail.burst.test" "${doms[@]}"
like "$(cat "$T/again.sum")" "requests=100 errors=0 *" \
	"after kill -9, with nginx stopped: all 100 still secure, from the cache"
web_start

# A re-check learns the policy only; the next request needs the MX set too.
expect re.test "OK secure match=.re.test servername=hostname" \
	"zone nocheck: secure for the policy's own pattern, no MX record needed" nocheck
sleep 1.2
expect re.test "OK secure match=.re.test servername=hostname" \
	"zone nocheck again: from the cache, a TXT re-check starts" nocheck
expect re.test "$(secure_for mx.re.test)" \
	"zone postfix right after: the MX set looked up, not the re-check's record alone"
ok "daemon still running" stsd_alive
