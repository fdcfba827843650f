# SPDX-License-Identifier: MIT
# lib.sh - shared harness for the mta-stsd integration tests (tests/integ/NN-*.sh).
#
# A test script starts with
#     [ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
#     . "${0%/*}/lib.sh"
# Sourcing this file re-executes the script inside fresh network + PID namespaces
# (unshare), brings `lo` up, makes a private temp dir $T (removed on exit unless KEEP=1),
# and kills every process the test started when it ends (the PID namespace guarantees it).
# Everything talks over loopback inside that namespace: the outside network is never used.
#
# Pieces (each documented where defined):
#   TAP      plan N; pass/fail/ok/is/like DESC; diag; bail; skip_all.  The exit trap prints
#            "not ok" for planned tests that never ran, so an early death is a failure.
#   PKI      pki_init; cert_issue KIND NAME   (KIND: good wrongname expired expiring untrusted);
#            cert_issue_names NAME DNSNAME... (one certificate for many names)
#   DNS      unbound on 127.0.0.1:53, zone "test." static: dns_rr, dns_rm, sts_txt, dns_a,
#            dns_start, dns_stop.  After dns_start changes go through unbound-control.
#   DNSSEC   (lib-dnssec.sh) knotd signing sec. and bogus.sec., unbound validating:
#            dnssec_require, dnssec_start, sec_rr, sec_rm, bogus_rr, tlsa_of.
#   HTTPS    nginx, one server block per domain chosen by SNI: web_domain, web_start,
#            web_reload, web_stop; slow_start (TLS handshake, then silence).
#   sts_domain  TXT + A + policy served, in one call.
#   daemon   stsd_config, stsd_start, stsd_stop, stsd_restart, stsd_alive; log in $STSD_LOG;
#            stsd_start_default (no -c: the default path, in a mount namespace of its own);
#            stsd_detach, stsd_pidfile_stop (without -f, as an operator starts it);
#            stsd_metric (one sample of GET /metrics, with daemon.metrics=$STSD_METRICS);
#            stsd_node NAME [PORT] (several daemons: which one the helpers act on).
#   client   q KEY [MAP] (through postmap -q socketmap:...), expect, expect_within,
#            sm_raw (raw netstring bytes through bash /dev/tcp).
#
# Environment: top_builddir (daemon at $top_builddir/mta-stsd, CLI $top_builddir/mta-stsctl),
# top_srcdir; CI (set: missing prerequisites fail instead of skipping); KEEP=1 keeps $T;
# MTASTSD_WRAPPER (command prefix for the daemon, e.g. "valgrind -q --error-exitcode=99");
# MTASTSD_INTEG_VERBOSE=1 echoes the daemon log at the end.
#
# Fixed addresses (private to each test's namespace, so `make -j check` is safe):
#   127.0.0.1:53 unbound, 127.0.0.1:8461 mta-stsd (:9461 its metrics, when configured),
#   127.0.0.2:443 nginx (default web IP),
#   127.0.0.9:443 the slow server, 127.0.0.66 nothing listens ("host down").

# ---------------------------------------------------------------------------------------
# Namespace entry, prerequisites, temp dir, cleanup.

export LC_ALL=C
: "${top_builddir:=$(cd "${0%/*}/../.." && pwd)}"
: "${top_srcdir:=$(cd "${0%/*}/../.." && pwd)}"
export top_builddir top_srcdir

# skip_all REASON: skip the whole script (only when CI is unset), else a failure.
skip_all() {
	if [ -n "${CI:-}" ]; then
		echo "1..1"
		echo "not ok 1 - prerequisite missing under CI: $*"
		exit 0
	fi
	echo "1..0 # SKIP $*"
	exit 0
}

# bail REASON: abort the script; the TAP driver reports an error.
bail() {
	_tap_plan=0
	echo "Bail out! $*"
	exit 0
}

if [ -z "${MTASTSD_INTEG_INNS:-}" ]; then
	[ "$(id -u)" = 0 ] || skip_all "needs root (network namespace, ports 53/443)"
	command -v unshare >/dev/null 2>&1 || skip_all "unshare not found"
	export MTASTSD_INTEG_INNS=1
	# PID namespace too when possible: the script becomes its init, so every daemon it
	# started dies with it even if the script is killed.
	if unshare --net --pid --fork --mount-proc --kill-child true 2>/dev/null; then
		exec unshare --net --pid --fork --mount-proc --kill-child bash "$0" "$@"
	elif unshare --net true 2>/dev/null; then
		exec unshare --net bash "$0" "$@"
	fi
	skip_all "cannot create a network namespace (unshare -n failed)"
fi

ip link set lo up 2>/dev/null || bail "cannot bring lo up in the namespace"

_need=""
for _t in ip unbound unbound-control unbound-checkconf nginx openssl postmap dig timeout xargs pgrep; do
	command -v "$_t" >/dev/null 2>&1 || _need="$_need $_t"
done
[ -z "$_need" ] || skip_all "missing tools:$_need"
unset _need _t

T=$(mktemp -d /tmp/mta-stsd-integ.XXXXXX) || bail "mktemp failed"
chmod 755 "$T"
export T

_tap_plan=0
_tap_n=0
_tap_failed=0
_bg_pids=()

# _cleanup: on any exit; reports tests that never ran, stops our processes, removes $T.
_cleanup() {
	local rc=$? p
	trap - EXIT INT TERM HUP
	trap '' PIPE # reader gone (e.g. | head): still clean up, quietly
	[ -z "${_sigpipe:-}" ] || exec >/dev/null 2>&1
	while [ "$_tap_plan" -gt 0 ] && [ "$_tap_n" -lt "$_tap_plan" ]; do
		_tap_n=$((_tap_n + 1))
		echo "not ok $_tap_n - not run (script ended early, rc=$rc)"
	done
	if [ "$_tap_failed" -gt 0 ] || [ -n "${MTASTSD_INTEG_VERBOSE:-}" ]; then
		[ -s "${STSD_LOG:-/nonexistent}" ] && {
			echo "# ---- last lines of $STSD_LOG"
			tail -n 40 "$STSD_LOG" | sed 's/^/#   /'
		}
	fi
	for p in "${_bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${_bg_pids[@]}"; do
		timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null
	done
	if [ -n "${KEEP:-}" ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
}
trap _cleanup EXIT
trap 'exit 1' INT TERM HUP
trap '_sigpipe=1; exit 1' PIPE

# bg_track PID: remember a background process to stop at exit.
bg_track() { _bg_pids+=("$1"); }

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; 1 on deadline.
wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# now_ms: wall clock in milliseconds.
now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# ---------------------------------------------------------------------------------------
# TAP output.

# plan N
plan() {
	_tap_plan=$1
	echo "1..$1"
}

# diag TEXT...: diagnostics, each line prefixed "# ".
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

# pass DESC / fail DESC [DIAG...]  (fail also shows the new daemon log lines; status 1)
# ok/is/like/unlike return 0 on pass, 1 on failure.
pass() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - ${1//$'\n'/ | }"
}
fail() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - ${1//$'\n'/ | }"
	shift
	[ $# -gt 0 ] && diag "$@"
	_stsd_log_new
	return 1
}

# ok DESC CMD...: pass when CMD succeeds.
ok() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc" "command failed: $*"; fi
}

# is GOT WANT DESC: string equality.
is() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "got:  '$1'" "want: '$2'"; fi
}

# like GOT GLOB DESC: bash glob match (e.g. 'TEMP*', '*secure match=*').
like() {
	# shellcheck disable=SC2053
	if [[ $1 == $2 ]]; then pass "$3"; else fail "$3" "got:  '$1'" "want (glob): '$2'"; fi
}

# unlike GOT GLOB DESC
unlike() {
	# shellcheck disable=SC2053
	if [[ $1 != $2 ]]; then pass "$3"; else fail "$3" "got:  '$1'" "must not match: '$2'"; fi
}

# ---------------------------------------------------------------------------------------
# PKI: a test CA made now, plus an untrusted second CA.
# Files: $CA_FILE (trusted CA, what mta-stsd gets as ca_file), $PKI/<name>-<kind>.{crt,key}.

PKI=$T/pki
CA_FILE=$PKI/ca/ca.pem

# _pki_ca DIR CN: make a CA with its `openssl ca` database in DIR.
_pki_ca() {
	local dir=$1 cn=$2
	mkdir -p "$dir/new"
	: >"$dir/index.txt"
	echo 1000 >"$dir/serial"
	cat >"$dir/ca.cnf" <<-EOF
		[ ca ]
		default_ca = CA_default
		[ CA_default ]
		dir = $dir
		database = $dir/index.txt
		new_certs_dir = $dir/new
		certificate = $dir/ca.pem
		private_key = $dir/ca.key
		serial = $dir/serial
		default_md = sha256
		default_days = 30
		policy = pol_any
		unique_subject = no
		copy_extensions = none
		email_in_dn = no
		[ pol_any ]
		commonName = supplied
	EOF
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" -days 30 -subj "/CN=$cn" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" >"$dir/req.log" 2>&1
}

# pki_init: create the trusted and the untrusted CA (idempotent).
pki_init() {
	[ -s "$CA_FILE" ] && return 0
	_pki_ca "$PKI/ca" "mta-stsd integ test CA" || bail "cannot create test CA"
	_pki_ca "$PKI/ca2" "mta-stsd integ UNTRUSTED CA" || bail "cannot create second CA"
}

# cert_issue KIND NAME: issue a server certificate, print the path prefix (add .crt/.key).
#   good       CN/SAN = NAME, signed by the trusted CA, valid now
#   wrongname  CN/SAN = wrong-NAME.invalid (does not match NAME)
#   expired    valid 2020-01-01 .. 2020-02-01 (openssl ca -startdate/-enddate)
#   expiring   like good, but valid for 5 days only (openssl ca -days)
#   untrusted  like good, but signed by the second CA that mta-stsd does not trust
cert_issue() {
	local kind=$1 name=$2 cadir=$PKI/ca cn=$2 dates=() out
	pki_init
	out=$PKI/$name-$kind
	if [ -s "$out.crt" ]; then
		echo "$out"
		return 0
	fi
	case $kind in
	good) ;;
	wrongname) cn=wrong-$name.invalid ;;
	expired) dates=(-startdate 20200101000000Z -enddate 20200201000000Z) ;;
	expiring) dates=(-days 5) ;;
	untrusted) cadir=$PKI/ca2 ;;
	*) bail "cert_issue: unknown kind $kind" ;;
	esac
	printf '%s\n' "subjectAltName=DNS:$cn" "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$out.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$out.key" -out "$out.csr" -subj "/CN=$cn" >"$out.log" 2>&1 &&
		openssl ca -batch -notext -config "$cadir/ca.cnf" -in "$out.csr" -out "$out.crt" \
			-extfile "$out.ext" "${dates[@]}" >>"$out.log" 2>&1 ||
		bail "cert_issue $kind $name failed: $(tail -n 3 "$out.log")"
	echo "$out"
}

# cert_issue_names NAME DNSNAME...: one good certificate (trusted CA, valid now) for every
# DNSNAME (a subjectAltName each; CN the first), e.g. one for thousands of mta-sts. names;
# prints the path prefix $PKI/NAME-names (add .crt/.key).
cert_issue_names() {
	local out=$PKI/$1-names
	shift
	pki_init
	if [ -s "$out.crt" ]; then
		echo "$out"
		return 0
	fi
	{
		printf 'subjectAltName=%s\n' "$(printf 'DNS:%s,' "$@" | sed 's/,$//')"
		printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
			"extendedKeyUsage=serverAuth"
	} >"$out.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$out.key" -out "$out.csr" -subj "/CN=$1" >"$out.log" 2>&1 &&
		openssl ca -batch -notext -config "$PKI/ca/ca.cnf" -in "$out.csr" -out "$out.crt" \
			-extfile "$out.ext" >>"$out.log" 2>&1 ||
		bail "cert_issue_names failed: $(tail -n 3 "$out.log")"
	echo "$out"
}

# ---------------------------------------------------------------------------------------
# DNS: unbound, authoritative for "test." from local-data.
# Before dns_start, records go into the config file; afterwards through unbound-control.

DNS_DIR=$T/dns
DNS_CONF=$DNS_DIR/unbound.conf
DNS_RECORDS=$DNS_DIR/records.conf
_dns_pid=""

_dns_init() {
	[ -d "$DNS_DIR" ] && return 0
	mkdir -p "$DNS_DIR"
	: >"$DNS_RECORDS"
}
# _dns_write_conf: the config, with the records collected so far in the server clause.
_dns_write_conf() {
	{
		_dns_conf_server
		cat "$DNS_RECORDS"
		_dnssec_conf_unbound
		_dns_conf_control
	} >"$DNS_CONF"
}
_dns_conf_server() {
	cat <<-EOF
		server:
		    interface: 127.0.0.1
		    port: 53
		    do-ip6: no
		    access-control: 127.0.0.0/8 allow
		    username: ""
		    chroot: ""
		    directory: "$DNS_DIR"
		    pidfile: "$DNS_DIR/unbound.pid"
		    logfile: ""
		    use-syslog: no
		    verbosity: 1
		    log-queries: yes
		    num-threads: 1
		    module-config: "validator iterator"
		    do-not-query-localhost: no
		    local-zone: "test." static
	EOF
}
_dns_conf_control() {
	cat <<-EOF
		remote-control:
		    control-enable: yes
		    control-interface: "$DNS_DIR/ctl.sock"
		    control-use-cert: no
	EOF
}

# _dns_ctl ARGS...: unbound-control; fails unless it printed "ok".
_dns_ctl() {
	local out
	out=$(timeout 10 unbound-control -c "$DNS_CONF" "$@" 2>&1)
	[ "$out" = ok ] && return 0
	diag "unbound-control $*: $out"
	return 1
}

# dns_rr 'NAME TTL IN TYPE RDATA': add one record (unbound local-data syntax; TXT rdata
# may hold several quoted character-strings: '_mta-sts.x.test. 60 IN TXT "v=STSv1;" " id=1;"').
dns_rr() {
	_dns_init
	if [ -n "$_dns_pid" ]; then
		_dns_ctl local_data "$1"
	else
		printf "    local-data: '%s'\n" "$1" >>"$DNS_RECORDS"
	fi
}

# dns_rm NAME: remove every record of NAME (must be given with its trailing dot).
dns_rm() {
	_dns_init
	if [ -n "$_dns_pid" ]; then
		_dns_ctl local_data_remove "$1"
	else
		local tmp=$DNS_RECORDS.tmp
		grep -vF "local-data: '$1 " "$DNS_RECORDS" >"$tmp"
		mv "$tmp" "$DNS_RECORDS"
	fi
}

# dns_zone NAME: a static zone of its own below test. (give it an SOA with dns_rr to control
# its negative TTL: RFC 2308 min(SOA TTL, MINIMUM)).
dns_zone() {
	_dns_init
	if [ -n "$_dns_pid" ]; then
		_dns_ctl local_zone "$1." static
	else
		printf '    local-zone: "%s." static\n' "$1" >>"$DNS_RECORDS"
	fi
}

# sts_txt DOMAIN ID [TTL]: publish "v=STSv1; id=ID;" at _mta-sts.DOMAIN (TTL default 300).
sts_txt() { dns_rr "_mta-sts.$1. ${3:-300} IN TXT \"v=STSv1; id=$2;\""; }

# dns_a NAME IP [TTL]
dns_a() { dns_rr "$1. ${3:-300} IN A $2"; }

# dns_start: start unbound, wait (bounded) until it answers.
dns_start() {
	_dns_init
	_dns_write_conf
	unbound-checkconf "$DNS_CONF" >"$DNS_DIR/checkconf.log" 2>&1 ||
		bail "unbound config invalid: $(cat "$DNS_DIR/checkconf.log")"
	unbound -d -c "$DNS_CONF" >"$DNS_DIR/unbound.log" 2>&1 </dev/null &
	_dns_pid=$!
	bg_track "$_dns_pid"
	wait_until 10 _dns_ready || bail "unbound does not answer: $(tail -n 5 "$DNS_DIR/unbound.log")"
}
_dns_ready() {
	kill -0 "$_dns_pid" 2>/dev/null || return 1
	dig +time=1 +tries=1 @127.0.0.1 -p 53 probe.test. A 2>/dev/null | grep -q 'status: NXDOMAIN' &&
		timeout 5 unbound-control -c "$DNS_CONF" status >/dev/null 2>&1
}

# dns_stop
dns_stop() {
	[ -n "$_dns_pid" ] || return 0
	kill -TERM "$_dns_pid" 2>/dev/null
	timeout 10 tail --pid="$_dns_pid" -f /dev/null
	_dns_pid=""
}

# dig_short NAME TYPE: the answer as dig +short prints it.
dig_short() { dig +time=2 +tries=1 +short @127.0.0.1 "$1" "$2" 2>&1; }

# ---------------------------------------------------------------------------------------
# HTTPS: nginx with one server block per domain, selected by SNI (mta-sts.DOMAIN).

WEB_DIR=$T/web
WEB_IP=127.0.0.2
_web_pid=""

_web_init() {
	[ -f "$WEB_DIR/nginx.conf" ] && return 0
	mkdir -p "$WEB_DIR/sites" "$WEB_DIR/www" "$WEB_DIR/tmp" "$WEB_DIR/logs"
	local c
	c=$(cert_issue good default.invalid)
	cat >"$WEB_DIR/nginx.conf" <<-EOF
		worker_processes 1;
		user root root;
		pid $WEB_DIR/nginx.pid;
		lock_file $WEB_DIR/nginx.lock;
		error_log $WEB_DIR/logs/error.log info;
		daemon off;
		events { worker_connections 512; }
		http {
		    # the combined format, then the name asked for (which policy host was fetched)
		    log_format withhost '\$remote_addr - - [\$time_local] "\$request" \$status '
		                        '\$body_bytes_sent "\$http_referer" "\$http_user_agent" "\$host"';
		    access_log $WEB_DIR/logs/access.log withhost;
		    client_body_temp_path $WEB_DIR/tmp/body;
		    proxy_temp_path $WEB_DIR/tmp/proxy;
		    fastcgi_temp_path $WEB_DIR/tmp/fastcgi;
		    uwsgi_temp_path $WEB_DIR/tmp/uwsgi;
		    scgi_temp_path $WEB_DIR/tmp/scgi;
		    types { }
		    default_type text/plain;
		    server_tokens off;
		    keepalive_timeout 5s;
		    # unknown SNI lands here: certificate for a name nobody asks for
		    server {
		        listen $WEB_IP:443 ssl default_server;
		        server_name _;
		        ssl_certificate $c.crt;
		        ssl_certificate_key $c.key;
		        return 404;
		    }
		    include $WEB_DIR/sites/*.conf;
		}
	EOF
}

# web_domain DOMAIN [options]: serve https://mta-sts.DOMAIN/.well-known/mta-sts.txt
#   --policy TEXT    body (default: enforce policy with "mx: mail.DOMAIN", max_age 86400)
#   --policy-file F  body copied from file F (exact bytes)
#   --cert KIND      good (default) | wrongname | expired | expiring | untrusted
#   --type CT        Content-Type (default text/plain), e.g. 'text/html',
#                    'text/plain; charset=utf-8'
#   --status N       answer N with no policy (nginx "return N;")
#   --redirect URL   answer 301 Location: URL
#   --ip IP          listen address (default $WEB_IP); other domains may share it
#   --protocols P    nginx ssl_protocols, e.g. TLSv1.1 (at OpenSSL security level 0, which
#                    old versions need); needs an --ip of its own: OpenSSL settles the
#                    version before SNI picks the server block
#   --http KIND      also plain HTTP on port 80 of the same IP: same (the same file) or
#                    redirect (301 to the https:// URL). nginx answers any Host on IP:80
#                    from the first port-80 block of IP: domains meant to have nothing on
#                    port 80 must not share an IP with one that has
#   --http-policy T  plain HTTP on port 80 serves body T (not the HTTPS one)
#   Port 80 logs to $WEB_DIR/logs/access80.log, so access.log counts HTTPS fetches only.
# Takes effect at web_start / web_reload.
web_domain() {
	local d=$1 policy="" pfile="" kind=good ctype=text/plain status="" redirect="" ip=$WEB_IP c action
	local protocols="" http="" http_policy="" http_root http_action=""
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--policy) policy=$2 ;;
		--policy-file) pfile=$2 ;;
		--cert) kind=$2 ;;
		--type) ctype=$2 ;;
		--status) status=$2 ;;
		--redirect) redirect=$2 ;;
		--ip) ip=$2 ;;
		--protocols) protocols="ssl_protocols $2; ssl_ciphers DEFAULT@SECLEVEL=0;" ;;
		--http) http=$2 ;;
		--http-policy) http=body http_policy=$2 ;;
		*) bail "web_domain: unknown option $1" ;;
		esac
		shift 2
	done
	_web_init
	[ -n "$policy" ] || policy=$(printf 'version: STSv1\nmode: enforce\nmx: mail.%s\nmax_age: 86400\n' "$d")
	mkdir -p "$WEB_DIR/www/$d/.well-known"
	if [ -n "$pfile" ]; then
		cp "$pfile" "$WEB_DIR/www/$d/.well-known/mta-sts.txt"
	else
		printf '%s\n' "$policy" >"$WEB_DIR/www/$d/.well-known/mta-sts.txt"
	fi
	c=$(cert_issue "$kind" "mta-sts.$d")
	action=""
	[ -n "$status" ] && action="return $status;"
	[ -n "$redirect" ] && action="return 301 $redirect;"
	cat >"$WEB_DIR/sites/$d.conf" <<-EOF
		server {
		    listen $ip:443 ssl;
		    server_name mta-sts.$d;
		    ssl_certificate $c.crt;
		    ssl_certificate_key $c.key;
		    $protocols
		    root $WEB_DIR/www/$d;
		    location = /.well-known/mta-sts.txt {
		        default_type "$ctype";
		        $action
		    }
		}
	EOF
	[ -n "$http" ] || return 0
	http_root=$WEB_DIR/www/$d
	case $http in
	same) ;;
	redirect) http_action="return 301 https://mta-sts.$d/.well-known/mta-sts.txt;" ;;
	body)
		http_root=$WEB_DIR/www80/$d
		mkdir -p "$http_root/.well-known"
		printf '%s\n' "$http_policy" >"$http_root/.well-known/mta-sts.txt"
		;;
	*) bail "web_domain: --http same|redirect, not $http" ;;
	esac
	cat >>"$WEB_DIR/sites/$d.conf" <<-EOF
		server {
		    listen $ip:80;
		    server_name mta-sts.$d;
		    access_log $WEB_DIR/logs/access80.log withhost;
		    root $http_root;
		    location = /.well-known/mta-sts.txt {
		        default_type text/plain;
		        $http_action
		    }
		}
	EOF
}

# web_rm DOMAIN: stop serving DOMAIN (after web_reload).
web_rm() { rm -f "$WEB_DIR/sites/$1.conf"; }

# web_set_policy DOMAIN TEXT: replace the served body (no reload needed).
web_set_policy() { printf '%s\n' "$2" >"$WEB_DIR/www/$1/.well-known/mta-sts.txt"; }

# web_start: start nginx in the foreground (background job), wait until it listens.
web_start() {
	_web_init
	nginx -t -p "$WEB_DIR" -c "$WEB_DIR/nginx.conf" -e "$WEB_DIR/logs/error.log" \
		>"$WEB_DIR/logs/test.log" 2>&1 || bail "nginx config invalid: $(tail -n 5 "$WEB_DIR/logs/test.log")"
	nginx -p "$WEB_DIR" -c "$WEB_DIR/nginx.conf" -e "$WEB_DIR/logs/error.log" \
		>"$WEB_DIR/logs/nginx.out" 2>&1 </dev/null &
	_web_pid=$!
	bg_track "$_web_pid"
	wait_until 10 _web_ready || bail "nginx does not listen: $(tail -n 5 "$WEB_DIR/logs/error.log")"
}
_web_ready() {
	kill -0 "$_web_pid" 2>/dev/null && [ -s "$WEB_DIR/nginx.pid" ] &&
		(exec 3<>"/dev/tcp/$WEB_IP/443") 2>/dev/null
}

# web_reload: apply web_domain/web_rm changes; waits until the new workers run.
web_reload() {
	local old
	[ -n "$_web_pid" ] || bail "web_reload: nginx not running"
	nginx -t -p "$WEB_DIR" -c "$WEB_DIR/nginx.conf" -e "$WEB_DIR/logs/error.log" \
		>"$WEB_DIR/logs/test.log" 2>&1 || bail "nginx config invalid: $(tail -n 5 "$WEB_DIR/logs/test.log")"
	old=$(pgrep -P "$_web_pid" | sort | tr '\n' ' ')
	kill -HUP "$_web_pid"
	# Reloaded once every old worker is gone: until then an old worker may still accept a
	# connection and answer with the old server blocks. Nobody holds keep-alive connections
	# here, so old workers exit promptly.
	wait_until 10 _web_reloaded "$old" || diag "nginx reload not confirmed"
}
_web_reloaded() {
	local p now
	now=$(pgrep -P "$_web_pid")
	[ -n "$now" ] || return 1
	for p in $now; do
		[[ " $1 " != *" $p "* ]] || return 1
	done
	return 0
}

# web_stop
web_stop() {
	[ -n "$_web_pid" ] || return 0
	kill -TERM "$_web_pid" 2>/dev/null
	timeout 10 tail --pid="$_web_pid" -f /dev/null
	_web_pid=""
}

# https_get DOMAIN [IP]: fetch the policy with openssl s_client, verifying against $CA_FILE
# (harness self-checks only; mta-stsd does its own fetching). Prints the HTTP response with
# CRs removed; on a TLS verification failure prints s_client's messages and returns 1.
https_get() {
	local d=$1 ip=${2:-$WEB_IP} out rc
	out=$(printf 'GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: mta-sts.%s\r\n\r\n' "$d" |
		timeout 10 openssl s_client -quiet -connect "$ip:443" -servername "mta-sts.$d" \
			-verify_hostname "mta-sts.$d" -verify_return_error -CAfile "$CA_FILE" 2>&1)
	rc=$?
	if [ $rc = 0 ]; then
		printf '%s\n' "$out" | tr -d '\r' | sed -n '/^HTTP\//,$p'
	else
		printf '%s\n' "$out"
	fi
	return $rc
}

# slow_start [IP]: a TLS server (good certificate for mta-sts.slow.test) that completes the
# handshake and then never says anything. Default IP 127.0.0.9.
SLOW_IP=127.0.0.9
slow_start() {
	local ip=${1:-$SLOW_IP} c
	c=$(cert_issue good mta-sts.slow.test)
	mkfifo "$T/slow.in"
	# hold the fifo open read-write ourselves: s_server's stdin never reaches EOF
	exec 7<>"$T/slow.in"
	openssl s_server -accept "$ip:443" -cert "$c.crt" -key "$c.key" -quiet -naccept 1000 \
		<&7 >"$T/slow.log" 2>&1 &
	bg_track $!
	wait_until 10 eval "(exec 3<>/dev/tcp/$ip/443) 2>/dev/null" || bail "slow server does not listen"
}

# sts_domain DOMAIN ID [--mx HOST | --no-mx] [web_domain options]: TXT id=ID, A mta-sts.DOMAIN
# -> web IP, the policy served, and an MX record DOMAIN -> HOST (default mail.DOMAIN, the host
# the default policy names; --no-mx: none, so DOMAIN is its own mail host). Call before or
# after dns_start (after web_start: call web_reload).
sts_domain() {
	local d=$1 id=$2 ip=$WEB_IP mx=mail.$1 i
	shift 2
	case ${1:-} in
	--mx) mx=$2; shift 2 ;;
	--no-mx) mx=""; shift ;;
	esac
	for ((i = 1; i < $#; i++)); do
		[ "${!i}" = --ip ] && { i=$((i + 1)); ip=${!i}; }
	done
	sts_txt "$d" "$id"
	dns_a "mta-sts.$d" "$ip"
	[ -z "$mx" ] || dns_rr "$d. 300 IN MX 10 $mx."
	web_domain "$d" "$@"
}

# enforce_policy MX...: an enforce policy body listing the mx patterns (max_age 86400).
enforce_policy() { sts_policy enforce 86400 "$@"; }

# sts_policy MODE MAX_AGE MX...: a policy body with these values.
sts_policy() {
	local mode=$1 age=$2
	shift 2
	printf 'version: STSv1\nmode: %s\n' "$mode"
	printf 'mx: %s\n' "$@"
	printf 'max_age: %s\n' "$age"
}

# ---------------------------------------------------------------------------------------
# mta-stsd.

STSD=$top_builddir/mta-stsd
STSCTL=$top_builddir/mta-stsctl
STSD_CONF=$T/mta-stsd.conf
STSD_LOG=$T/mta-stsd.log
STSD_HOST=127.0.0.1
STSD_PORT=8461
SM_ADDR=inet:$STSD_HOST:$STSD_PORT
_stsd_pid=""
_stsd_log_off=0
declare -A _cfg_val=()
_cfg_keys=()

# stsd_config [SECTION.KEY=VALUE ...]: (re)write $STSD_CONF from the defaults below plus
# overrides; "SECTION.KEY=" (empty) removes a key. Settings persist across calls.
stsd_config() {
	local kv k
	_cfg_defaults
	for kv in "$@"; do
		k=${kv%%=*}
		_cfg_set "$k" "${kv#*=}"
	done
	mkdir -p "$T/cache"
	_cfg_default_fleet_key
	_cfg_write >"$STSD_CONF"
}
# A daemon with shared_cache needs shared_cache_key_file: unless the test named one (or set it
# empty, to start without), every node of the test shares $T/fleet.key, made once.
_cfg_default_fleet_key() {
	[ -n "${_cfg_val[daemon.shared_cache]:-}" ] || return 0
	[ -z "${_cfg_val[daemon.shared_cache_key_file]+x}" ] || return 0
	[ -s "$T/fleet.key" ] || (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$T/fleet.key")
	_cfg_set daemon.shared_cache_key_file "$T/fleet.key"
}
_cfg_defaults() {
	[ ${#_cfg_keys[@]} -eq 0 ] || return 0
	_cfg_set daemon.listen "$SM_ADDR"
	_cfg_set daemon.cache_dir "$T/cache"
	_cfg_set daemon.dns_servers 127.0.0.1
	_cfg_set daemon.ca_file "$CA_FILE"
	_cfg_set daemon.fetch_timeout 5
	_cfg_set daemon.dns_timeout 2
	_cfg_set daemon.txt_recheck 1
	_cfg_set default.fallback NOTFOUND
	_cfg_set postfix.fallback NOTFOUND
	_cfg_set postfix.testing ignore
}

# stsd_node NAME [PORT]: several daemons in one test. Makes NAME the daemon every helper
# above and below acts on (stsd_config, stsd_start, stsd_stop, stsd_alive, q, expect, ...):
# its own $STSD_CONF and $STSD_LOG ($T/mta-stsd-NAME.*), cache_dir $T/cache-NAME and listener
# 127.0.0.1:PORT (PORT given on first use; 8461 by default). Other settings are shared, as
# stsd_config last set them. The first daemon of a test is node "" and needs no call.
declare -A _stsd_nodes=()
_stsd_node=""
stsd_node() {
	local name=$1 port=${2:-} saved
	_cfg_defaults
	_stsd_nodes[x$_stsd_node]="${_stsd_pid:--} $_stsd_log_off $STSD_PORT"
	_stsd_node=$name
	saved=${_stsd_nodes[x$name]:-"- 0 ${port:-8461}"}
	read -r _stsd_pid _stsd_log_off STSD_PORT <<<"$saved"
	[ "$_stsd_pid" != - ] || _stsd_pid=""
	[ -z "$port" ] || STSD_PORT=$port
	SM_ADDR=inet:$STSD_HOST:$STSD_PORT
	STSD_CONF=$T/mta-stsd${name:+-$name}.conf
	STSD_LOG=$T/mta-stsd${name:+-$name}.log
	mkdir -p "$T/cache${name:+-$name}"
	_cfg_set daemon.listen "$SM_ADDR"
	_cfg_set daemon.cache_dir "$T/cache${name:+-$name}"
}
_cfg_set() {
	[ -n "${_cfg_val[$1]+x}" ] || _cfg_keys+=("$1")
	_cfg_val[$1]=$2
}
_cfg_write() {
	local sections=() s k seen=" "
	for k in "${_cfg_keys[@]}"; do
		s=${k%%.*}
		case $seen in *" $s "*) ;; *)
			sections+=("$s")
			seen="$seen$s "
			;;
		esac
	done
	for s in "${sections[@]}"; do
		echo "[$s]"
		for k in "${_cfg_keys[@]}"; do
			[ "${k%%.*}" = "$s" ] && [ -n "${_cfg_val[$k]}" ] && echo "${k#*.} = ${_cfg_val[$k]}"
		done
		echo
	done
}

# stsd_start [ARGS...]: start "mta-stsd -f -c $STSD_CONF ARGS" (stderr+stdout appended to
# $STSD_LOG); wait (bounded) until it accepts connections. 1 if it did not come up.
stsd_start() {
	[ -f "$STSD_CONF" ] || stsd_config
	# shellcheck disable=SC2086
	_stsd_spawn ${MTASTSD_WRAPPER:-} "$STSD" -f -c "$STSD_CONF" "$@"
}

# stsd_start_default [ARGS...]: like stsd_start, but "mta-stsd -f ARGS" without -c, so it
# reads the default path /etc/mta-stsd/mta-stsd.conf. It runs in a private mount namespace
# of its own (an overlay over /etc, so the host's /etc is never written) where that path is
# $STSD_ETC/mta-stsd.conf (the test creates, edits and removes it from outside), and where
# /etc/resolv.conf names the test's unbound and /var/lib is $T/varlib (the built-in
# defaults' cache_dir /var/lib/mta-stsd lands there). Status 1 also when the namespace
# cannot be made.
STSD_ETC=$T/etc-mta-stsd
stsd_start_default() {
	mkdir -p "$STSD_ETC" "$T/etc-ovl/up" "$T/etc-ovl/work" "$T/varlib"
	# shellcheck disable=SC2086
	_stsd_spawn _stsd_etc_ns ${MTASTSD_WRAPPER:-} "$STSD" -f "$@"
}
# _stsd_etc_ns CMD...: exec CMD in the mount namespace described above.
_stsd_etc_ns() {
	local here
	here=$(readlink /proc/self/ns/mnt) || exit 97
	# shellcheck disable=SC2016
	exec unshare --mount --propagation private -- bash -c '
		# Never touch the host: only inside a new namespace, and only once /etc is the overlay.
		[ "$(readlink /proc/self/ns/mnt)" != "$1" ] || exit 97
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$2/etc-ovl/up,workdir=$2/etc-ovl/work" /etc || exit 98
		mkdir -p /etc/mta-stsd && mount --bind "$2/etc-mta-stsd" /etc/mta-stsd || exit 98
		rm -f /etc/resolv.conf && echo "nameserver 127.0.0.1" >/etc/resolv.conf || exit 98
		mount --bind "$2/varlib" /var/lib || exit 98
		shift 2
		exec "$@"' stsd_etc_ns "$here" "$T" "$@"
}

# _stsd_spawn CMD...: start the daemon command in the background, wait until it accepts.
_stsd_spawn() {
	[ -x "$STSD" ] || bail "daemon binary missing: $STSD"
	echo "---- start $(date +%T.%N) ----" >>"$STSD_LOG"
	"$@" >>"$STSD_LOG" 2>&1 </dev/null &
	_stsd_pid=$!
	bg_track "$_stsd_pid"
	if ! wait_until 15 _stsd_ready; then
		diag "mta-stsd did not start accepting on $SM_ADDR"
		_stsd_log_new
		return 1
	fi
	return 0
}
_stsd_ready() {
	stsd_alive && (exec 3<>"/dev/tcp/$STSD_HOST/$STSD_PORT") 2>/dev/null
}

# stsd_alive: the daemon process still runs.
stsd_alive() { [ -n "$_stsd_pid" ] && kill -0 "$_stsd_pid" 2>/dev/null; }

# stsd_stop: SIGTERM, wait up to 10 s (then SIGKILL, and status 1).
# Status 2 when the daemon had already died, 3 when it exited non-zero.
stsd_stop() {
	[ -n "$_stsd_pid" ] || return 0
	local pid=$_stsd_pid rc
	_stsd_pid=""
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
		diag "mta-stsd had already exited (status $?)"
		return 2
	fi
	kill -TERM "$pid"
	if timeout 10 tail --pid="$pid" -f /dev/null; then
		wait "$pid" 2>/dev/null
		rc=$?
		# Under ASan or valgrind (MTASTSD_WRAPPER) a leak or memory error makes this non-zero.
		[ "$rc" = 0 ] || { diag "mta-stsd exit status $rc after SIGTERM"; _stsd_log_new; return 3; }
		return 0
	fi
	kill -KILL "$pid" 2>/dev/null
	diag "mta-stsd ignored SIGTERM for 10 s"
	return 1
}

# stsd_detach [ARGS...]: start "mta-stsd -c $STSD_CONF ARGS" as an operator would, without
# -f (through $MTASTSD_WRAPPER), and wait (bounded, 60 s) for that command to return; its
# exit status is the status. Its stdout and stderr go to a new file, $STSD_DETACH_OUT. The
# detached daemon puts its stdio on /dev/null and logs to syslog; what a wrapper reports
# about it (valgrind keeps its own descriptor) still lands in that file, and ASan/UBSan
# reports go to $STSD_DETACH_OUT.asan.* / .ubsan.* (checked by stsd_pidfile_stop).
_stsd_detach_n=0
stsd_detach() {
	[ -x "$STSD" ] || bail "daemon binary missing: $STSD"
	[ -f "$STSD_CONF" ] || stsd_config
	_stsd_detach_n=$((_stsd_detach_n + 1))
	STSD_DETACH_OUT=$T/detach-$_stsd_detach_n.out
	echo "---- detached start $(date +%T.%N), output in $STSD_DETACH_OUT ----" >>"$STSD_LOG"
	# shellcheck disable=SC2086
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$STSD_DETACH_OUT.asan" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$STSD_DETACH_OUT.ubsan" \
		timeout 60 ${MTASTSD_WRAPPER:-} "$STSD" -c "$STSD_CONF" "$@" \
		>"$STSD_DETACH_OUT" 2>&1 </dev/null
}

# stsd_pidfile_stop PIDFILE [OUT]: SIGTERM the daemon PIDFILE names and wait (30 s) until it
# is gone. Status 1: no pid in the file, or the process did not go; 2: PIDFILE still there
# afterwards; 3: a valgrind or sanitizer report in OUT (default $STSD_DETACH_OUT, the output
# of the stsd_detach that started it).
stsd_pidfile_stop() {
	local f=$1 out=${2:-$STSD_DETACH_OUT} pid
	pid=$(cat "$f" 2>/dev/null)
	case $pid in "" | *[!0-9]*) diag "pid file $f: '$pid'"; return 1 ;; esac
	kill -TERM "$pid" 2>/dev/null || { diag "no process $pid"; return 1; }
	timeout 30 tail --pid="$pid" -f /dev/null || { diag "mta-stsd $pid ignored SIGTERM for 30 s"; return 1; }
	[ ! -e "$f" ] || { diag "pid file $f left behind"; return 2; }
	if grep -qE '^==[0-9]+==' "$out" 2>/dev/null || compgen -G "$out.*san.*" >/dev/null; then
		diag "report about the detached daemon:" "$(cat "$out" "$out".*san.* 2>/dev/null | head -n 30)"
		return 3
	fi
	return 0
}

# stsd_metric SERIES: the value of one sample of the daemon's Prometheus endpoint, read with
# GET /metrics over bash /dev/tcp; SERIES as exported, e.g. 'mta_stsd_refreshes_total{result="failed"}'.
# Needs stsd_config daemon.metrics=$STSD_METRICS. Prints nothing (status 1) when the endpoint
# does not answer 200 or has no such sample.
STSD_METRICS=inet:127.0.0.1:9461
stsd_metric() {
	local hp=${STSD_METRICS#inet:}
	timeout 10 bash -c '
		exec 3<>"/dev/tcp/$1/$2" || exit 1
		printf "GET /metrics HTTP/1.0\r\n\r\n" >&3
		tr -d "\r" <&3' stsd_metric "${hp%:*}" "${hp##*:}" 2>/dev/null |
		awk -v s="$1" 'NR == 1 && $2 != 200 { exit 1 } $1 == s { print $2; f = 1 } END { exit !f }'
}

# stsd_restart [ARGS...]
stsd_restart() {
	stsd_stop
	stsd_start "$@"
}

# _stsd_log_new: print as diagnostics the daemon log lines written since the last call.
_stsd_log_new() {
	[ -f "$STSD_LOG" ] || return 0
	local size
	size=$(stat -c %s "$STSD_LOG")
	if [ "$size" -gt "$_stsd_log_off" ]; then
		echo "#   daemon log:"
		tail -c +$((_stsd_log_off + 1)) "$STSD_LOG" | tail -n 25 | sed 's/^/#   | /'
	fi
	_stsd_log_off=$size
}

# ---------------------------------------------------------------------------------------
# Clients.

PFDIR=$T/postfix
mkdir -p "$PFDIR"
printf '%s\n' 'compatibility_level = 3.6' 'myhostname = client.mta-stsd.invalid' >"$PFDIR/main.cf"

# q KEY [MAP]: ask through "postmap -q KEY socketmap:$SM_ADDR:MAP" (MAP default "postfix").
# Prints one line: "OK <value>" | "NOTFOUND" | "TEMP <reason>" | "PERM <reason>" |
# "TIMEOUT <reason>" | "ERR <text>" (postmap failed otherwise, or ran over 30 s).
q() {
	# stderr file per shell process: concurrent q calls (background subshells) must not
	# read each other's errors
	local key=$1 map=${2:-postfix} out rc err errf=$T/q.err.$BASHPID
	out=$(timeout 30 postmap -c "$PFDIR" -q "$key" "socketmap:$SM_ADDR:$map" 2>"$errf")
	rc=$?
	err=$(head -n 1 "$errf")
	if [ $rc = 124 ]; then
		echo "ERR postmap timed out after 30 s"
	elif [ $rc = 0 ] && [ -n "$out" ] && [ ! -s "$errf" ]; then
		echo "OK $out"
	elif [ $rc = 1 ] && [ -z "$out" ] && [ ! -s "$errf" ]; then
		echo NOTFOUND
	elif [[ $err == *"socketmap server temporary error: "* ]]; then
		echo "TEMP ${err#*temporary error: }"
	elif [[ $err == *"socketmap server permanent error: "* ]]; then
		echo "PERM ${err#*permanent error: }"
	elif [[ $err == *"socketmap server timeout error: "* ]]; then
		echo "TIMEOUT ${err#*timeout error: }"
	else
		echo "ERR rc=$rc out='$out' $(tr '\n' ' ' <"$errf")"
	fi
	rm -f "$errf"
}

# expect KEY WANT DESC [MAP]: one TAP line; WANT is a glob on q's output.
expect() {
	local got
	got=$(q "$1" "${4:-postfix}")
	like "$got" "$2" "$3"
}

# expect_within SECS KEY WANT DESC [MAP]: poll q (every 0.2 s) until it matches, bounded.
expect_within() {
	local secs=$1 key=$2 want=$3 desc=$4 map=${5:-postfix} got i
	for ((i = 0; i <= secs * 5; i++)); do
		got=$(q "$key" "$map")
		# shellcheck disable=SC2053
		[[ $got == $want ]] && break
		sleep 0.2
	done
	like "$got" "$want" "$desc"
}

# secure_for PATTERNS: the expected OK line for an enforce policy ("a.b:.c.d").
secure_for() { echo "OK secure match=$1 servername=hostname"; }

# sm_raw [-n COUNT] [-w SECS] PRINTF_FORMAT [ARGS...]: open a fresh connection to the
# daemon, send the bytes printf produces, read up to COUNT (default 1) netstring replies,
# each waited for at most SECS (default 5). Prints one line per reply:
#   "REPLY <payload>" | "EOF" (closed by the daemon) | "HANG" (no reply in time) |
#   "BADREPLY <bytes>" (not a netstring) | "CONNFAIL".
sm_raw() {
	local count=1 wait=5
	while :; do
		case $1 in
		-n) count=$2; shift 2 ;;
		-w) wait=$2; shift 2 ;;
		*) break ;;
		esac
	done
	timeout $((count * wait + 5)) bash -c '
		count=$1 wait=$2 host=$3 port=$4; shift 4
		exec 3<>"/dev/tcp/$host/$port" || { echo CONNFAIL; exit 0; }
		printf "$@" >&3 2>/dev/null
		for ((i = 0; i < count; i++)); do
			len=""
			IFS= read -r -t "$wait" -d : len <&3
			rc=$?
			if [ $rc -gt 128 ]; then echo HANG; exit 0; fi
			if [ $rc -ne 0 ]; then
				[ -z "$len" ] && echo EOF || echo "BADREPLY $len"
				exit 0
			fi
			case $len in ""|*[!0-9]*) echo "BADREPLY $len:"; exit 0 ;; esac
			data=""
			IFS= read -r -t "$wait" -N "$((10#$len + 1))" data <&3
			if [ "${#data}" -ne "$((10#$len + 1))" ] || [ "${data: -1}" != , ]; then
				echo "BADREPLY $len:$data"; exit 0
			fi
			echo "REPLY ${data%,}"
		done
	' sm_raw "$count" "$wait" "$STSD_HOST" "$STSD_PORT" "$@" 2>/dev/null || echo HANG
}

# netstring TEXT: TEXT framed as a netstring (for sm_raw '%s' "$(netstring 'postfix a.test')").
netstring() { printf '%d:%s,' "${#1}" "$1"; }

# DNSSEC: knotd + validating unbound (dnssec_start, sec_rr, ...).
. "${BASH_SOURCE[0]%/*}/lib-dnssec.sh"
. "${BASH_SOURCE[0]%/*}/lib-postfix.sh" # real Postfix MTAs: pf_client_start, pf_send, pf_wait...
