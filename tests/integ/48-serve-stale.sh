#!/bin/bash
# SPDX-License-Identifier: MIT
# Serve-stale (dns_stale, after RFC 8767): a cached domain whose MX record's TTL has run out is
# answered at once from the expired record while a background lookup renews it; a failed
# renewal keeps the expired record for the bound; past the bound the daemon waits for DNS and,
# DNS being down, says TEMP. mx_check is on (the default), so every answer needs the MX set.
#   stale.test   policy enforce "*.stale.test", MX (TTL 10) mx1 then mx2, both allowed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

plan 10

MHOST=127.0.0.1 MPORT=9461
STSD_METRICS=inet:$MHOST:$MPORT
sts_domain stale.test 1 --no-mx --policy "$(enforce_policy "*.stale.test")"
dns_rr "stale.test. 10 IN MX 10 mx1.stale.test."
dns_start
web_start
stsd_config daemon.metrics=$STSD_METRICS daemon.dns_stale=600 daemon.txt_recheck=3600
stsd_start || bail "mta-stsd did not start"

expect stale.test "$(secure_for mx1.stale.test)" "learnt: secure, the MX host exactly"
# The MX record expires (TTL 10, the floor) and DNS now names another host.
sleep 11
dns_rm stale.test.
dns_rr "stale.test. 10 IN MX 10 mx2.stale.test."
expect stale.test "$(secure_for mx1.stale.test)" \
	"MX record expired: answered at once from it, not after a new MX lookup"
is "$(stsd_metric mta_stsd_dns_stale_answers_total)" 1 "counted as a stale answer"
expect_within 5 stale.test "$(secure_for mx2.stale.test)" "the background renewal is used next"

# Expired again, and DNS is down: the expired record keeps answering.
sleep 11
dns_stop
expect stale.test "$(secure_for mx2.stale.test)" "DNS down, record expired: still answered"
wait_until 15 grep -q "dns-renew-failed" "$STSD_LOG"
for _ in 1 2 3 4 5; do r=$(q stale.test); done
is "$r" "$(secure_for mx2.stale.test)" "and again after the renewal failed"
is "$(grep -c "dns-renew-failed.*action=serve-stale" "$STSD_LOG")" 1 \
	"the failed renewal logged once, and not retried at every query"
is "$(stsd_metric mta_stsd_lookups_in_flight)" 0 "no renewal left running"

# Past the bound (a reload sets it to 5 s, and 6 s pass): wait for DNS, which is down: TEMP,
# never an answer from a record that old.
before=$(grep -c "event=reload result=" "$STSD_LOG")
stsd_config daemon.dns_stale=5
kill -HUP "$_stsd_pid"
wait_until 20 eval '[ "$(grep -c "event=reload result=" "$STSD_LOG")" -gt '"$before"' ]'
sleep 6
expect stale.test "TEMP *" "past dns_stale: TEMP while DNS is down"
ok "daemon still running" stsd_alive
