# SPDX-License-Identifier: MIT
# lib-fault.sh - helpers the fault suites share, on top of tests/integ/lib.sh (source that
# first). Everything stays in the test's namespace, on loopback.
#
#   bulk_domains PARENT N POLICY     N MTA-STS domains d1.PARENT .. dN.PARENT: TXT id=1, MX
#                                    mail.PARENT, A mta-sts.dI.PARENT -> $WEB_IP; one nginx
#                                    server block serves POLICY for all of them, with one
#                                    certificate whose SAN lists every mta-sts. name. Before
#                                    dns_start and web_start. Prints nothing; the names are in
#                                    $T/bulk-PARENT.domains, one a line.
#   smload_build                     compile tests/bench/smload.c to $SMLOAD
#   cache_check [DIR]                every record of the cache (default $T/cache) decodes
#   log_count PATTERN [FROM]         lines of $STSD_LOG matching the extended regex PATTERN
#                                    (from byte offset FROM on: log_mark prints the offset now)

SMLOAD=$T/smload

# cert_issue_names OUT NAME...: a certificate of the trusted test CA whose SAN lists every
# NAME (one certificate for thousands of policy hosts: a wildcard covers one label only).
cert_issue_names() {
	local out=$PKI/$1 san
	shift
	pki_init
	san=$(printf 'DNS:%s,' "$@")
	printf '%s\n' "subjectAltName=${san%,}" "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$out.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$out.key" -out "$out.csr" -subj "/CN=$1" >"$out.log" 2>&1 &&
		openssl ca -batch -notext -config "$PKI/ca/ca.cnf" -in "$out.csr" -out "$out.crt" \
			-extfile "$out.ext" >>"$out.log" 2>&1 ||
		bail "cert_issue_names $out failed: $(tail -n 3 "$out.log")"
}

bulk_domains() {
	local parent=$1 n=$2 policy=$3 i d list=$T/bulk-$1.domains re
	_web_init
	: >"$list"
	for ((i = 1; i <= n; i++)); do
		d=d$i.$parent
		echo "$d" >>"$list"
		dns_rr "_mta-sts.$d. 300 IN TXT \"v=STSv1; id=1;\""
		dns_rr "mta-sts.$d. 300 IN A $WEB_IP"
		dns_rr "$d. 300 IN MX 10 mail.$parent."
	done
	mapfile -t _bulk_names < <(sed 's/^/mta-sts./' "$list")
	cert_issue_names "bulk-$parent" "${_bulk_names[@]}"
	unset _bulk_names
	mkdir -p "$WEB_DIR/www/bulk-$parent/.well-known"
	printf '%s\n' "$policy" >"$WEB_DIR/www/bulk-$parent/.well-known/mta-sts.txt"
	re=${parent//./\\.}
	cat >"$WEB_DIR/sites/bulk-$parent.conf" <<-EOF
		server {
		    listen $WEB_IP:443 ssl;
		    server_name ~^mta-sts\.d[0-9]+\.$re\$;
		    ssl_certificate $PKI/bulk-$parent.crt;
		    ssl_certificate_key $PKI/bulk-$parent.key;
		    root $WEB_DIR/www/bulk-$parent;
		    location = /.well-known/mta-sts.txt { }
		}
	EOF
}

smload_build() {
	[ -x "$SMLOAD" ] && return 0
	gcc -O2 -std=c11 -Wall -Wextra -Werror "$top_srcdir/tests/bench/smload.c" -o "$SMLOAD" ||
		bail "cannot build smload"
}

# cache_check [DIR]: the daemon's cache (DIR, default $T/cache; the configured cache_dir),
# read by other processes while the daemon runs: mdb_dump walks every page, and `mta-stsctl
# cache list` decodes every policy record (it skips a damaged one, so its domains must be
# exactly the policy keys mdb_dump finds). Status 0 when both agree; otherwise diagnostics and
# 1. Sets CACHE_N (policy records) and CACHE_KEYS (file: the policy keys, sorted).
cache_check() {
	local keys listed dir=${1:-$T/cache}
	CACHE_N=0
	if ! timeout 60 mdb_dump -p "$dir" >"$T/dump" 2>"$T/dump.err"; then
		diag "mdb_dump failed: $(head -n 3 "$T/dump.err")"
		return 1
	fi
	# after HEADER=END, lines alternate " key" / " value" until DATA=END
	keys=$(awk '/^HEADER=END/ { on = 1; n = 0; next } /^DATA=END/ { on = 0 }
		on { if (n++ % 2 == 0) print substr($0, 2) }' "$T/dump" | grep -v -e / -e '#' | sort)
	if ! timeout 60 "$STSCTL" -c "$STSD_CONF" cache list >"$T/list" 2>"$T/list.err"; then
		diag "mta-stsctl cache list failed: $(head -n 3 "$T/list.err")"
		return 1
	fi
	listed=$(tail -n +2 "$T/list" | awk '{ print $1 }' | sort)
	if [ "$keys" != "$listed" ]; then
		diag "policy keys and cache list differ (a record that does not decode):" \
			"$(diff <(echo "$keys") <(echo "$listed") | head -n 10)"
		return 1
	fi
	CACHE_N=$(grep -c . <<<"$keys")
	CACHE_KEYS=$T/cache.keys
	printf '%s\n' "$keys" | grep . >"$CACHE_KEYS"
	return 0
}

log_count() { tail -c +$((${2:-0} + 1)) "$STSD_LOG" | grep -cE -- "$1"; }
log_mark() { stat -c %s "$STSD_LOG"; }

# stsd_kill9: kill -9 the daemon stsd_start started, and reap it (no cleanup of its own runs).
stsd_kill9() {
	local pid=$_stsd_pid
	[ -n "$pid" ] || return 1
	_stsd_pid=""
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	echo "---- kill -9 $(date +%T.%N) ----" >>"$STSD_LOG"
}

# sm_load OUT CONNS SECS PREFIX DOMAIN...: smload (-n = number of domains, each asked once)
# with every reply logged to OUT; its summary line in OUT.sum, its stderr in OUT.err.
sm_load() {
	local out=$1 conns=$2 secs=$3 prefix=$4
	shift 4
	"$SMLOAD" -a "$STSD_HOST:$STSD_PORT" -c "$conns" -n $# -t "$secs" -e "$prefix" -o "$out" "$@" \
		>"$out.sum" 2>"$out.err"
}
