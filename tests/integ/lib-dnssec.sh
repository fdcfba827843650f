# SPDX-License-Identifier: MIT
# lib-dnssec.sh - DNSSEC part of the integration harness; sourced at the end of lib.sh.
#
# knotd, authoritative on 127.0.0.1@5300, signs (automatically, fresh ECDSA P-256 keys made
# at start, NSEC) two zones:
#   sec.        secure: its DNSKEY is unbound's trust anchor, so answers carry the AD bit,
#               NXDOMAIN and NODATA included (NSEC proofs).
#   bogus.sec.  delegated from sec. with a DS that matches none of its keys: every name at or
#               under it validates as bogus, so unbound answers SERVFAIL (+cd shows the data).
# and unbound (lib.sh, 127.0.0.1:53) gets the trust anchor plus stub zones for sec.,
# bogus.sec. and fail. -> 127.0.0.1@5300. knotd does not serve fail., answers REFUSED, so
# every name under fail. is SERVFAIL. Zone test. (local-data) stays as it is: insecure, no AD.
#
# API (names are absolute, with the trailing dot, as for dns_rr):
#   dnssec_require           call before `plan`: skip (or, under CI, fail) when knotd/knotc
#                            are missing. dnssec_start bails instead.
#   sec_rr 'NAME TTL IN TYPE RDATA'
#                            add a record to sec. (e.g. 'mx1.all.sec. 300 IN A 127.0.0.21',
#                            '_25._tcp.mx1.all.sec. 300 IN TLSA 3 1 1 ab12...', TXT with
#                            quoted character-strings). Before dnssec_start it goes into the
#                            zone file; afterwards through knotc (knotd re-signs), unbound's
#                            cache for sec. is flushed and the call waits (bounded) until unbound
#                            answers NAME TYPE with knotd's data and AD. 1 if it did not.
#   sec_rm NAME              remove every record of NAME from sec. (same runtime rules: waits
#                            until unbound no longer answers any of its former types).
#   bogus_rr 'NAME TTL IN TYPE RDATA'
#                            the same for zone bogus.sec. (after start it waits with +cd).
#   tlsa_of CERTPREFIX       print "3 1 1 <sha256 hex of the SubjectPublicKeyInfo>" of
#                            CERTPREFIX.crt (a cert_issue result): DANE-EE SPKI SHA2-256 rdata.
#   dnssec_start             start knotd (once) and make unbound validating with the anchor and
#                            stubs: use it instead of dns_start (it calls dns_start, or restarts
#                            a running unbound; records added to test. with dns_rr after
#                            dns_start are then lost: call dnssec_start first). Tests that only
#                            use test. call dns_start as before and need nothing from here.
#                            Takes well under a second.
# Files: $DNSSEC_DIR (knot.conf, knot.log, zones/, db/ with the KASP keys, sec.anchor).

DNSSEC_DIR=$T/dnssec
DNSSEC_ADDR=127.0.0.1
DNSSEC_PORT=5300
_knot_conf=$DNSSEC_DIR/knot.conf
_knot_pid=""

# dnssec_require: skip_all unless the authoritative server's tools are installed.
dnssec_require() {
	local t need=""
	for t in knotd knotc sha256sum; do
		command -v "$t" >/dev/null 2>&1 || need="$need $t"
	done
	[ -z "$need" ] || skip_all "missing tools for the DNSSEC harness:$need (package knot)"
}

# _dnssec_init: directories, knotd's config and the two base zones (idempotent).
_dnssec_init() {
	[ -d "$DNSSEC_DIR" ] && return 0
	mkdir -p "$DNSSEC_DIR/zones" "$DNSSEC_DIR/db"
	cat >"$_knot_conf" <<-EOF
		server:
		    rundir: "$DNSSEC_DIR"
		    listen: $DNSSEC_ADDR@$DNSSEC_PORT
		log:
		  - target: stderr
		    any: info
		database:
		    storage: "$DNSSEC_DIR/db"
		control:
		    listen: "$DNSSEC_DIR/knot.sock"
		policy:
		  - id: integ
		    algorithm: ecdsap256sha256
		    single-type-signing: on
		    nsec3: off
		    cds-cdnskey-publish: none
		template:
		  - id: default
		    storage: "$DNSSEC_DIR/zones"
		    file: "%s.zone"
		    dnssec-signing: on
		    dnssec-policy: integ
		    zonefile-sync: -1
		    journal-content: changes
		zone:
		  - domain: sec.
		  - domain: bogus.sec.
	EOF
	# SOA minimum 60: negative answers (and their NSEC records) live 60 s.
	cat >"$DNSSEC_DIR/zones/sec.zone" <<-EOF
		sec. 300 IN SOA ns.sec. hostmaster.sec. 1 3600 600 86400 60
		sec. 300 IN NS ns.sec.
		ns.sec. 300 IN A $DNSSEC_ADDR
		bogus.sec. 300 IN NS ns.bogus.sec.
		ns.bogus.sec. 300 IN A $DNSSEC_ADDR
		bogus.sec. 300 IN DS 4242 13 2 $(printf 'bogus DS %s' "$T" | sha256sum | cut -c1-64)
	EOF
	cat >"$DNSSEC_DIR/zones/bogus.sec.zone" <<-EOF
		bogus.sec. 300 IN SOA ns.bogus.sec. hostmaster.sec. 1 3600 600 86400 60
		bogus.sec. 300 IN NS ns.bogus.sec.
		ns.bogus.sec. 300 IN A $DNSSEC_ADDR
	EOF
}

# _dnssec_conf_unbound: unbound config lines (called by lib.sh's _dns_write_conf, after the
# local-data records); nothing until dnssec_start has made the trust anchor.
_dnssec_conf_unbound() {
	[ -s "$DNSSEC_DIR/sec.anchor" ] || return 0
	local z
	cat <<-EOF
		server:
		    trust-anchor-file: "$DNSSEC_DIR/sec.anchor"
		    val-log-level: 2
		    trust-anchor-signaling: no
	EOF
	for z in sec. bogus.sec. fail.; do
		printf 'stub-zone:\n    name: "%s"\n    stub-addr: %s@%s\n' "$z" "$DNSSEC_ADDR" "$DNSSEC_PORT"
	done
}

# _knotc ARGS...: knotc on knotd's control socket (bounded); on failure its output as diag.
_knotc() {
	local out
	out=$(timeout 10 knotc -c "$_knot_conf" -t 5 "$@" 2>&1) && return 0
	diag "knotc $*: $out"
	return 1
}

# _dnssec_zone_of NAME: the zone (sec. or bogus.sec.) NAME belongs to, as the harness sees it.
_dnssec_zone_of() {
	local n=${1,,}
	case $n in
	bogus.sec. | *.bogus.sec.) echo bogus.sec. ;;
	sec. | *.sec.) echo sec. ;;
	*) return 1 ;;
	esac
}

# _dnssec_rr ZONE 'NAME TTL IN TYPE RDATA'
_dnssec_rr() {
	local zone=$1 name ttl cls type rdata
	read -r name ttl cls type rdata <<<"$2"
	if ! [[ $ttl =~ ^[0-9]+$ ]] || [ "${cls^^}" != IN ] || [ -z "$type" ] || [ -z "$rdata" ]; then
		bail "want 'NAME TTL IN TYPE RDATA', got '$2'"
	fi
	[ "$(_dnssec_zone_of "$name")" = "$zone" ] || bail "$name is not a name of zone $zone here"
	_dnssec_init
	if [ -z "$_knot_pid" ]; then
		printf '%s %s IN %s %s\n' "$name" "$ttl" "$type" "$rdata" >>"$DNSSEC_DIR/zones/${zone}zone"
		return 0
	fi
	_knotc zone-begin "$zone" || return 1
	if ! _knotc zone-set "$zone" "$name" "$ttl" "$type" "$rdata" || ! _knotc zone-commit "$zone"; then
		_knotc zone-abort "$zone"
		return 1
	fi
	_dnssec_sync "$zone" "$name" "$type"
}

# sec_rr 'NAME TTL IN TYPE RDATA'
sec_rr() { _dnssec_rr sec. "$1"; }

# bogus_rr 'NAME TTL IN TYPE RDATA'
bogus_rr() { _dnssec_rr bogus.sec. "$1"; }

# sec_rm NAME
sec_rm() {
	local name=$1 types t
	[ "$(_dnssec_zone_of "$name")" = sec. ] || bail "sec_rm: $name is not a name of zone sec. here"
	_dnssec_init
	if [ -z "$_knot_pid" ]; then
		awk -v n="${name,,}" 'tolower($1) != n' "$DNSSEC_DIR/zones/sec.zone" >"$DNSSEC_DIR/sec.tmp" &&
			mv "$DNSSEC_DIR/sec.tmp" "$DNSSEC_DIR/zones/sec.zone"
		return
	fi
	# the types it has now ("[sec.] NAME TTL TYPE RDATA" lines; knotc prints errors on
	# stdout too), to check they are gone afterwards
	types=$(timeout 10 knotc -c "$_knot_conf" -t 5 zone-read sec. "$name" 2>/dev/null |
		awk '$1 == "[sec.]" && $4 != "RRSIG" && $4 != "NSEC" { print $4 }' | sort -u)
	[ -n "$types" ] || return 0
	_knotc zone-begin sec. || return 1
	if ! _knotc zone-unset sec. "$name" || ! _knotc zone-commit sec.; then
		_knotc zone-abort sec.
		return 1
	fi
	for t in $types; do
		_dnssec_sync sec. "$name" "$t" || return 1
	done
}

# _dnssec_answer SERVER PORT DIGOPT NAME TYPE: "flags=<header flags>" then the answer's NAME
# TYPE records without TTL, lower-cased and sorted, one per line.
_dnssec_answer() {
	local out
	out=$(dig +time=2 +tries=1 "$3" -p "$2" @"$1" +noall +comments +answer "$4" "$5" 2>&1)
	printf 'flags=%s\n' "$(sed -n 's/^;; flags: \([^;]*\);.*/\1/p' <<<"$out")"
	awk -v t="${5^^}" '!/^;/ && NF >= 4 && toupper($4) == t { $2 = ""; print tolower($0) }' <<<"$out" | sort
}

# _dnssec_synced ZONE NAME TYPE: unbound answers NAME TYPE as knotd does (with AD for sec.).
_dnssec_synced() {
	local auth res opt=+adflag
	[ "$1" = bogus.sec. ] && opt=+cd
	auth=$(_dnssec_answer "$DNSSEC_ADDR" "$DNSSEC_PORT" +norec "$2" "$3" | sed 1d)
	res=$(_dnssec_answer 127.0.0.1 53 "$opt" "$2" "$3")
	[ "$1" = bogus.sec. ] || [[ ${res%%$'\n'*} == *" ad"* ]] || return 1
	[ "$(sed 1d <<<"$res")" = "$auth" ]
}

# _dnssec_sync ZONE NAME TYPE: after a change in knotd (applied and signed when knotc
# zone-commit returns): flush unbound's cache for sec. and below, wait (bounded) until it
# answers NAME TYPE from the new data. Nothing to do while unbound is not running.
_dnssec_sync() {
	local out
	[ -n "$_dns_pid" ] || return 0
	out=$(timeout 10 unbound-control -c "$DNS_CONF" flush_zone sec. 2>&1)
	[[ $out == ok* ]] || diag "unbound-control flush_zone sec.: $out"
	wait_until 5 _dnssec_synced "$@" && return 0
	diag "DNSSEC change of $2 $3 in $1 not visible through unbound within 5 s"
	return 1
}

# tlsa_of CERTPREFIX
tlsa_of() {
	local hex
	hex=$(openssl x509 -in "$1.crt" -noout -pubkey 2>/dev/null |
		openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -c1-64)
	# the sha256 of nothing: openssl printed no key
	if [ "$hex" = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ]; then
		bail "tlsa_of: cannot read the public key of $1.crt"
	fi
	echo "3 1 1 $hex"
}

# _knot_ready: knotd runs and serves the signed zones.
_knot_ready() {
	kill -0 "$_knot_pid" 2>/dev/null || return 1
	local z
	for z in sec. bogus.sec.; do
		dig +time=1 +tries=1 +norec +short @"$DNSSEC_ADDR" -p "$DNSSEC_PORT" "$z" DNSKEY 2>/dev/null |
			grep -q '^257 3 13 ' || return 1
	done
}

# _dnssec_ready: unbound validates sec. (SOA with AD).
_dnssec_ready() {
	dig +time=1 +tries=1 +adflag @127.0.0.1 sec. SOA 2>/dev/null | grep -q '^;; flags: [^;]* ad[ ;]'
}

# dnssec_start
dnssec_start() {
	local t
	for t in knotd knotc; do
		command -v "$t" >/dev/null 2>&1 || bail "dnssec_start: $t not found (package knot)"
	done
	_dnssec_init
	if [ -z "$_knot_pid" ]; then
		timeout 10 knotc -c "$_knot_conf" zone-check >"$DNSSEC_DIR/zone-check.log" 2>&1 ||
			bail "DNSSEC zone files invalid: $(grep error "$DNSSEC_DIR/zone-check.log" | head -n 1)"
		knotd -c "$_knot_conf" >"$DNSSEC_DIR/knot.log" 2>&1 </dev/null &
		_knot_pid=$!
		bg_track "$_knot_pid"
		wait_until 10 _knot_ready || bail "knotd does not serve signed zones: $(tail -n 5 "$DNSSEC_DIR/knot.log")"
	fi
	# The trust anchor: sec.'s key-signing key(s) as knotd publishes them.
	dig +time=2 +tries=1 +norec +noall +answer @"$DNSSEC_ADDR" -p "$DNSSEC_PORT" sec. DNSKEY 2>&1 |
		awk '$4 == "DNSKEY" && $5 == 257' >"$DNSSEC_DIR/sec.anchor"
	[ -s "$DNSSEC_DIR/sec.anchor" ] || bail "no DNSKEY for the trust anchor of sec."
	if [ -n "$_dns_pid" ]; then
		dns_stop
	fi
	dns_start
	wait_until 10 _dnssec_ready ||
		bail "unbound does not validate sec.: $(grep -i 'validat\|error' "$DNS_DIR/unbound.log" | tail -n 5)"
}
