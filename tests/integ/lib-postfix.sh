# SPDX-License-Identifier: MIT
# lib-postfix.sh - real Postfix instances for end-to-end delivery tests (sourced by lib.sh).
#
# A sending Postfix ("client") that uses mta-stsd as smtp_tls_policy_maps, and receiving
# Postfix MX instances offering STARTTLS with test certificates, each with its own
# config_directory, queue_directory and data_directory under $PF_DIR ($T/pf), its own
# master.cf (no chroot) and its own log file (maillog_file through postlogd).
#
#   pf_mx_start NAME IP CERTPREFIX [PARAM=VALUE...]
#                                    receiving MTA on IP:25 (IP in 127.0.0.0/8), STARTTLS
#                                    with CERTPREFIX.crt/.key (from cert_issue); accepts any
#                                    recipient and keeps the message in its hold queue; the
#                                    arguments override main.cf (smtpd_tls_security_level=none).
#   pf_client_start [PARAM=VALUE...] the sending Postfix; the arguments override main.cf
#                                    (postconf -e syntax), e.g. smtp_tls_policy_maps=...
#   pf_send RCPT [SENDER]            submit one message; prints its client queue ID.
#   pf_wait ID|RCPT SECS [STATUS]    wait for its delivery status; prints "sent", "deferred"
#                                    or "bounced", then the relevant client log lines.
#   pf_log / pf_mx_log NAME          log file paths.
#   pf_mx_received NAME RCPT         the MX accepted a message for RCPT.
#   pf_client_set PARAM=VALUE...     change the client's main.cf and reload it.
#   pf_flush                         retry deferred mail now (postqueue -f).
#   pf_backdate FILE...              mtime 10 s back (see below).
#   pf_stop NAME / pf_stop_all       stop instances ("client" or an MX NAME).
#
# Every Postfix daemon runs in a mount namespace of its own (unshare --mount, private
# propagation), created below the test's, where $PF_DIR/resolv.conf ("nameserver 127.0.0.1",
# "options trust-ad") is bind-mounted over /etc/resolv.conf: the smtp client resolves through
# the test's unbound with the AD bit kept (smtp_dns_support_level = dnssec; Postfix 3.7 was
# seen doing DANE without trust-ad as well), and the host's /etc is never written (the bind
# mount is refused unless that namespace is a new one). Nothing else under /etc is needed:
# smtp_host_lookup = dns, smtpd_peername_lookup = no, explicit myhostname.
# The master processes are bg_track'ed, so they are stopped at exit even without pf_stop_all.
# Postfix re-reads configuration/table files changed within the last second (up to ~2 s of
# 0.3 s sleeps): the functions here backdate what they write; tests backdate their own
# texthash: tables etc. with pf_backdate.
#
# Client defaults: myhostname client.test, mydestination empty (no local delivery; mail for
# client.test, i.e. bounces to the sender, is discarded), inet_protocols ipv4, smtp_host_lookup
# dns, smtp_dns_support_level dnssec, dnssec_probe empty (no root NS query), smtp_tls_CAfile
# $CA_FILE, smtp_tls_security_level may, smtp_tls_loglevel 1, smtp_tls_policy_maps
# socketmap:inet:127.0.0.1:8461:postfix, no connection caching (every message gets its own
# TLS handshake and log line), 1-2 s backoff, no throttling of a destination after failed
# deliveries (default_destination_concurrency_failed_cohort_limit = 1000: otherwise, a second
# of failures later, qmgr defers mail for it with "delivery temporarily suspended").

PF_DIR=$T/pf
PF_CLIENT=$PF_DIR/client

# _pf_resolv: the resolv.conf the Postfix daemons see.
_pf_resolv() {
	[ -s "$PF_DIR/resolv.conf" ] && return 0
	mkdir -p "$PF_DIR"
	printf '%s\n' "nameserver 127.0.0.1" "options trust-ad attempts:2 timeout:2" \
		>"$PF_DIR/resolv.conf"
}

# _pf_nsrun CMD...: run CMD in a new private mount namespace with our resolv.conf mounted
# over /etc/resolv.conf. Status 97 (and nothing mounted) when the namespace is not new.
_pf_nsrun() {
	local here
	_pf_resolv
	here=$(readlink /proc/self/ns/mnt) || return 97
	# shellcheck disable=SC2016
	timeout 30 unshare --mount --propagation private -- bash -c '
		[ "$(readlink /proc/self/ns/mnt)" != "$1" ] || {
			echo "not in a private mount namespace: will not mount over /etc/resolv.conf" >&2
			exit 97
		}
		mount --bind "$2" /etc/resolv.conf || exit 98
		shift 2
		exec "$@"' pf_nsrun "$here" "$PF_DIR/resolv.conf" "$@"
}

# _pf_main DIR SYSLOG_NAME MYHOSTNAME: directories and the settings every instance shares.
_pf_main() {
	local d=$1
	# queue/ must exist; data/ and the queue subdirectories are made by postfix start
	mkdir -p "$d/etc" "$d/queue" || bail "cannot create $d"
	cat >"$d/etc/main.cf" <<-EOF
		compatibility_level = 3.6
		queue_directory = $d/queue
		data_directory = $d/data
		mail_owner = postfix
		setgid_group = postdrop
		syslog_name = $2
		maillog_file = $d/maillog
		maillog_file_prefixes = $T
		myhostname = $3
		mydomain = test
		myorigin = \$myhostname
		mydestination =
		local_recipient_maps =
		alias_maps =
		alias_database =
		inet_protocols = ipv4
		biff = no
		append_dot_mydomain = no
		enable_long_queue_ids = no
		smtputf8_enable = no
		queue_run_delay = 1s
		minimal_backoff_time = 1s
		maximal_backoff_time = 2s
		maximal_queue_lifetime = 1h
		bounce_queue_lifetime = 1h
	EOF
}

# _pf_master_cf [EXTRA LINE...]: a master.cf without chroot, plus the given service lines.
_pf_master_cf() {
	cat <<-'EOF'
		pickup    unix  n       -       n       60      1       pickup
		cleanup   unix  n       -       n       -       0       cleanup
		qmgr      unix  n       -       n       300     1       qmgr
		tlsmgr    unix  -       -       n       1000?   1       tlsmgr
		rewrite   unix  -       -       n       -       -       trivial-rewrite
		bounce    unix  -       -       n       -       0       bounce
		defer     unix  -       -       n       -       0       bounce
		trace     unix  -       -       n       -       0       bounce
		verify    unix  -       -       n       -       1       verify
		flush     unix  n       -       n       1000?   0       flush
		proxymap  unix  -       -       n       -       -       proxymap
		smtp      unix  -       -       n       -       -       smtp
		showq     unix  n       -       n       -       -       showq
		error     unix  -       -       n       -       -       error
		retry     unix  -       -       n       -       -       error
		discard   unix  -       -       n       -       -       discard
		anvil     unix  -       -       n       -       1       anvil
		scache    unix  -       -       n       -       1       scache
		postlog   unix-dgram n  -       n       -       1       postlogd
	EOF
	[ $# -eq 0 ] || printf '%s\n' "$@"
}

# pf_backdate FILE...: set the modification time 10 s into the past. Postfix re-reads a
# main.cf, master.cf or texthash:/inline table file that changed within the last second
# (0.3 s sleeps, up to ~2 s) before using it: backdate fresh files to skip that wait.
pf_backdate() { touch -d "@$((EPOCHSECONDS - 10))" "$@"; }

# _pf_start DIR: start the instance (in its own mount namespace), track its master.
_pf_start() {
	local d=$1 out pid
	pf_backdate "$d/etc/main.cf" "$d/etc/master.cf"
	# The postfix command writes to stderr only when it is a tty: on failure, rerun the
	# checks under script(1) to have something to show.
	out=$(_pf_nsrun postfix -c "$d/etc" start 2>&1) || {
		command -v script >/dev/null 2>&1 &&
			out="$out $(timeout 30 script -qec "postfix -c '$d/etc' check" /dev/null 2>&1)"
		bail "postfix start for $d failed: $out $(tail -n 5 "$d/maillog" 2>/dev/null)"
	}
	wait_until 10 test -s "$d/queue/pid/master.pid" || bail "no master.pid for $d"
	pid=$(awk '{ print $1; exit }' "$d/queue/pid/master.pid")
	kill -0 "$pid" 2>/dev/null ||
		bail "postfix master for $d not running: $(tail -n 5 "$d/maillog")"
	echo "$pid" >"$d/master.pid"
	bg_track "$pid"
}

# pf_mx_start NAME IP CERTPREFIX [PARAM=VALUE...]: a receiving MTA "NAME" (not "client") on IP:25
# (127.0.0.0/8 only; IP is added to lo as a /32: inet_interfaces needs it on an interface),
# STARTTLS with CERTPREFIX.crt/.key, greeting as NAME.mx.test. Every recipient is accepted
# and the message put on hold (kept in its queue): see pf_mx_received. Log: pf_mx_log NAME.
pf_mx_start() {
	local name=$1 ip=$2 cert=$3 d=$PF_DIR/mx-$1 kv
	shift 3
	[[ $name =~ ^[A-Za-z0-9_.-]+$ && $name != client ]] || bail "pf_mx_start: bad name '$name'"
	[[ $ip =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || bail "pf_mx_start: $ip is not a loopback address"
	{ [ -s "$cert.crt" ] && [ -s "$cert.key" ]; } || bail "pf_mx_start: no $cert.crt/.key"
	[ -e "$d" ] && bail "pf_mx_start: $name exists already"
	ip -4 -o addr show dev lo | grep -qF " $ip/" || ip addr add "$ip/32" dev lo ||
		bail "pf_mx_start: cannot add $ip to lo"
	_pf_main "$d" "pf-mx-$name" "$name.mx.test"
	cat >>"$d/etc/main.cf" <<-EOF
		inet_interfaces = $ip
		smtpd_banner = \$myhostname ESMTP pf-mx-$name
		smtpd_peername_lookup = no
		smtpd_tls_security_level = may
		smtpd_tls_cert_file = $cert.crt
		smtpd_tls_key_file = $cert.key
		smtpd_tls_loglevel = 1
		smtpd_tls_received_header = yes
		relay_domains = static:ALL
		smtpd_relay_restrictions = reject_unauth_destination
		smtpd_recipient_restrictions = check_recipient_access static:HOLD
		default_transport = discard:not delivered by pf-mx-$name
		relay_transport = \$default_transport
		local_transport = \$default_transport
	EOF
	for kv in "$@"; do
		postconf -c "$d/etc" -e "$kv" || bail "pf_mx_start: bad setting '$kv'"
	done
	_pf_master_cf "$ip:25      inet  n       -       n       -       -       smtpd" \
		>"$d/etc/master.cf"
	_pf_start "$d"
	wait_until 10 eval "(exec 3<>/dev/tcp/$ip/25) 2>/dev/null" ||
		bail "pf-mx-$name does not listen on $ip:25: $(tail -n 5 "$d/maillog")"
}

# pf_client_start [PARAM=VALUE...]: the sending Postfix (defaults in the header comment),
# then each argument applied with postconf -e ("smtp_tls_policy_maps = texthash:$T/pol").
pf_client_start() {
	local d=$PF_CLIENT kv
	[ -e "$d" ] && bail "pf_client_start: client exists already"
	pki_init
	_pf_main "$d" pf-client client.test
	cat >>"$d/etc/main.cf" <<-EOF
		inet_interfaces = 127.0.0.1
		transport_maps = inline:{ client.test=discard: }
		local_transport = error:5.1.1 no local delivery on pf-client
		smtp_host_lookup = dns
		smtp_address_preference = ipv4
		smtp_dns_support_level = dnssec
		dnssec_probe =
		smtp_tls_security_level = may
		smtp_tls_CAfile = $CA_FILE
		smtp_tls_loglevel = 1
		smtp_tls_policy_maps = socketmap:inet:127.0.0.1:8461:postfix
		smtp_connection_cache_on_demand = no
		default_destination_concurrency_failed_cohort_limit = 1000
		smtp_connect_timeout = 5s
		smtp_helo_timeout = 10s
		smtp_starttls_timeout = 10s
		smtp_data_done_timeout = 20s
	EOF
	for kv in "$@"; do
		postconf -c "$d/etc" -e "$kv" || bail "pf_client_start: bad setting '$kv'"
	done
	_pf_master_cf >"$d/etc/master.cf"
	: >"$d/sent"
	_pf_start "$d"
}

# pf_log: path of the client log.  pf_mx_log NAME: path of MX NAME's log.
pf_log() { echo "$PF_CLIENT/maillog"; }
pf_mx_log() { echo "$PF_DIR/mx-$1/maillog"; }

# pf_send RCPT [SENDER]: submit one message through the client's sendmail (SENDER default
# sender@client.test); print its queue ID (waited for, bounded, in the log). 1 on failure.
pf_send() {
	local rcpt=$1 from=${2:-sender@client.test} mid
	[ -f "$PF_CLIENT/master.pid" ] || { echo "pf_send: client not started" >&2; return 1; }
	mid="pf.${EPOCHREALTIME/./}.$RANDOM@client.test"
	printf '%s\n' "From: <$from>" "To: <$rcpt>" "Subject: pf_send to $rcpt" \
		"Message-ID: <$mid>" "Date: $(date -R)" "" "Test message for $rcpt." |
		timeout 20 sendmail -C "$PF_CLIENT/etc" -f "$from" -- "$rcpt" ||
		{ echo "pf_send: sendmail failed" >&2; return 1; }
	wait_until 10 _pf_mid_qid "$mid" ||
		{ echo "pf_send: message <$mid> not picked up" >&2; return 1; }
	echo "$rcpt $_pf_qid" >>"$PF_CLIENT/sent"
	echo "$_pf_qid"
}
# _pf_mid_qid MESSAGE-ID: sets _pf_qid to the queue ID cleanup logged for it.
_pf_mid_qid() {
	_pf_qid=$(grep -F "message-id=<$1>" "$PF_CLIENT/maillog" 2>/dev/null |
		sed -n 's/.*]: \([0-9A-Za-z]*\): message-id=.*/\1/p' | head -n 1)
	[ -n "$_pf_qid" ]
}

# pf_wait ID|RCPT SECS [STATUS]: wait up to SECS (whole seconds) for the message's delivery
# status (a recipient means the last pf_send to it). Without STATUS the first attempt's status counts
# (a deferral is reported at once, retries are not awaited); with STATUS (sent, deferred,
# bounced) wait for that one. Prints the status word, then the log lines of that delivery:
# what the delivering process (smtp) logged for it, e.g. "Verified TLS connection
# established to ...", "Untrusted TLS ...", "server certificate verification failed ...",
# and the "status=" line. On timeout prints "timeout" and the message's lines; status 1.
pf_wait() {
	local key=$1 secs=${2:-30} want=${3:-} id log=$PF_CLIENT/maillog
	id=$key
	if [[ $key == *@* ]]; then
		id=$(awk -v r="$key" '$1 == r { i = $2 } END { print i }' "$PF_CLIENT/sent" 2>/dev/null)
		[ -n "$id" ] || id=$(grep -F " to=<$key>," "$log" 2>/dev/null | tail -n 1 |
			sed -n 's/.*]: \([0-9A-Za-z]*\): to=<.*/\1/p')
		[ -n "$id" ] || { echo "timeout"; echo "pf_wait: no message to $key"; return 1; }
	fi
	_pf_status_n=""
	if ! wait_until "$secs" _pf_status "$id" "$want"; then
		echo timeout
		grep -F " $id: " "$log" 2>/dev/null
		return 1
	fi
	echo "$_pf_status"
	awk -v n="$_pf_status_n" '
		function tag(s,   i, f) {
			f = split(s, w, " ")
			for (i = 1; i < f; i++) if (w[i] ~ /\[[0-9]+\]:$/) return w[i]
			return ""
		}
		NR == n { t = tag($0) }
		{ l[NR] = $0 }
		END {
			# the lines this process logged since its previous delivery
			for (s = n - 1; s > 0; s--)
				if (tag(l[s]) == t && l[s] ~ / status=[a-z]+ /) break
			for (i = s + 1; i <= n; i++) if (tag(l[i]) == t) print l[i]
		}' "$log"
}
# _pf_status ID [STATUS]: sets _pf_status and _pf_status_n (line number) on a match.
_pf_status() {
	local m
	m=$(grep -n -E "]: $1: to=<[^>]*>,.* status=(${2:-sent|deferred|bounced}) " \
		"$PF_CLIENT/maillog" 2>/dev/null | head -n 1)
	[ -n "$m" ] || return 1
	_pf_status_n=${m%%:*}
	_pf_status=${m##* status=}
	_pf_status=${_pf_status%% *}
}

# pf_mx_received NAME RCPT: MX NAME accepted (and holds) a message for RCPT.
pf_mx_received() {
	timeout 10 postqueue -c "$PF_DIR/mx-$1/etc" -j 2>/dev/null | grep -qF "\"address\": \"$2\""
}

# pf_client_set PARAM=VALUE...: change the client's main.cf (postconf -e) and reload it;
# deliveries that start afterwards use the new settings.
pf_client_set() {
	local kv
	for kv in "$@"; do
		postconf -c "$PF_CLIENT/etc" -e "$kv" || bail "pf_client_set: bad setting '$kv'"
	done
	pf_backdate "$PF_CLIENT/etc/main.cf"
	timeout 20 postfix -c "$PF_CLIENT/etc" reload >/dev/null 2>&1 ||
		bail "pf_client_set: reload failed"
}

# pf_flush: ask the client to retry its deferred mail now.
pf_flush() { postqueue -c "$PF_CLIENT/etc" -f; }

# pf_stop NAME: stop instance NAME ("client" or an MX name); waits (bounded) until its
# master and every daemon it started are gone (they share the master's process group).
pf_stop() {
	local d=$PF_DIR/mx-$1 pid
	[ "$1" = client ] && d=$PF_CLIENT
	[ -f "$d/master.pid" ] || return 0
	pid=$(cat "$d/master.pid")
	rm -f "$d/master.pid"
	# what "postfix stop" does, without its 1 s polling: SIGTERM to master, which stops the rest
	kill -TERM "$pid" 2>/dev/null
	wait_until 10 _pf_gone "$pid" || kill -KILL -- "-$pid" 2>/dev/null
}
_pf_gone() { ! kill -0 -- "-$1" 2>/dev/null; }

# pf_stop_all: stop every instance (in parallel).
pf_stop_all() {
	local d n pids=()
	for d in "$PF_DIR"/client "$PF_DIR"/mx-*; do
		[ -f "$d/master.pid" ] || continue
		n=${d##*/}
		pf_stop "${n#mx-}" &
		pids+=($!)
	done
	[ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
}
