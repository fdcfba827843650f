#!/bin/bash
# SPDX-License-Identifier: MIT
# The service user. -t and start-up refuse, naming the key and the reason, what would only fail
# later: a user that does not exist, a cache_dir (or LMDB file in it) the user cannot write or
# create, a ca_file the user cannot read or that holds no PEM certificate (such a file used to
# start a daemon whose every fetch failed). Started as root with `user` set (no systemd), the
# daemon binds (a port below 1024 proves it bound as root), opens the cache and serves as that
# user: uid and gid in /proc/PID/status, the cache files belong to the user. As root without
# `user`, it warns once. A throwaway system user is made for the test and removed at the end.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${0%/*}/lib.sh"

command -v useradd >/dev/null && command -v userdel >/dev/null || skip_all "useradd/userdel missing"
plan 24

SVC=mtasts-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
useradd --system --user-group --no-create-home --home-dir /nonexistent \
	--shell /usr/sbin/nologin "$SVC" || bail "useradd $SVC failed"
# After lib.sh's cleanup (it stops the daemon first: userdel refuses a user with processes).
trap '_cleanup; userdel "$SVC" 2>/dev/null || userdel -f "$SVC"' EXIT
SVC_UID=$(id -u "$SVC")
SVC_GID=$(id -g "$SVC")

sts_domain pd.test 1 --policy "$(enforce_policy mail.pd.test)"
dns_start
web_start
stsd_config daemon.user="$SVC"

# check_t DESC WANT_GLOB: "mta-stsd -t" on $STSD_CONF: exit status and output.
check_t() {
	local out rc
	out=$(timeout 20 "$STSD" -t -c "$STSD_CONF" 2>&1)
	rc=$?
	like "$rc $out" "$2" "$1"
}

# --- -t: what the configuration asks of the machine
stsd_config daemon.user=no-such-user-x9
check_t "-t: a user that does not exist" "1 mta-stsd: $STSD_CONF: \[daemon\] user: no-such-user-x9: no such user"
stsd_config daemon.user="$SVC"

mkdir -p -m 0700 "$T/rootcache"
stsd_config daemon.cache_dir="$T/rootcache"
want="*\[daemon\] cache_dir: $T/rootcache: not writable by user $SVC (owner root:root, mode 0700)"
check_t "-t: a root-owned 0700 cache_dir the user cannot write" "1 $want"
out=$(timeout 20 "$STSD" -f -c "$STSD_CONF" 2>&1)
like "$? $out" "1 $want" "start-up as root refuses it too, with the same message (not an LMDB error later)"

mkdir -p -m 0755 "$T/rootparent"
stsd_config daemon.cache_dir="$T/rootparent/cache"
check_t "-t: a missing cache_dir the user cannot create" \
	"1 *\[daemon\] cache_dir: $T/rootparent/cache: does not exist, and user $SVC cannot create it in $T/rootparent (owner root:root, mode 0755)*"

install -d -o "$SVC" -g "$SVC" -m 0700 "$T/svccache"
: >"$T/svccache/data.mdb" # an earlier run as root left its files behind
chmod 0600 "$T/svccache/data.mdb"
stsd_config daemon.cache_dir="$T/svccache"
check_t "-t: an LMDB file in cache_dir left by root" \
	"1 *\[daemon\] cache_dir: $T/svccache/data.mdb: not writable by user $SVC (owner root:root, mode 0600)"
rm -f "$T/svccache/data.mdb"

install -m 0600 "$CA_FILE" "$T/ca-root-only.pem"
stsd_config daemon.ca_file="$T/ca-root-only.pem"
check_t "-t: a ca_file the user cannot read" \
	"1 *\[daemon\] ca_file: $T/ca-root-only.pem: not readable by user $SVC (owner root:root, mode 0600)"
stsd_config daemon.ca_file="$T/missing.pem"
check_t "-t: a ca_file that does not exist" "1 *\[daemon\] ca_file: $T/missing.pem: No such file or directory"
printf 'this is not a certificate\n' >"$T/junk.pem"
stsd_config daemon.ca_file="$T/junk.pem"
check_t "-t: a ca_file without any PEM certificate" "1 *\[daemon\] ca_file: $T/junk.pem: not a PEM certificate bundle*"
# A good certificate followed by a damaged PEM block: OpenSSL (so libcurl) refuses the file.
{ cat "$CA_FILE"; printf -- '-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n'; } >"$T/broken.pem"
stsd_config daemon.ca_file="$T/broken.pem"
check_t "-t: a ca_file with a damaged PEM block" "1 *\[daemon\] ca_file: $T/broken.pem: not a PEM certificate bundle*"
stsd_config daemon.ca_file="$T/junk.pem"
out=$(timeout 20 "$STSD" -f -c "$STSD_CONF" 2>&1)
like "$? $out" "1 *\[daemon\] ca_file: $T/junk.pem: not a PEM certificate bundle*" \
	"start-up refuses the unusable ca_file (it used to start and fail every fetch)"
stsd_config daemon.ca_file="$CA_FILE"

out=$(timeout 20 "$STSD" -t -c "$STSD_CONF" 2>&1)
is "$? $out" "0 mta-stsd: configuration OK ($STSD_CONF): 1 listener(s), 1 zone section(s)" \
	"-t: the user's own cache_dir and a readable ca_file pass, without a warning"
stsd_config daemon.user=
out=$(timeout 20 "$STSD" -t -c "$STSD_CONF" 2>&1)
like "$? $out" "0 mta-stsd: $STSD_CONF: warning: running as root: no \[daemon\] user is set*configuration OK*" \
	"-t as root without a user: passes, with a warning"

# --- start as root, drop to the user (no systemd)
# A second listener on a port below 1024: only root may bind it, so answering there proves
# the daemon bound before dropping privileges.
stsd_config daemon.user="$SVC"
sed -i "/^listen = /a listen = inet:127.0.0.1:461" "$STSD_CONF"
stsd_start || bail "mta-stsd did not start with user = $SVC"
pid=$_stsd_pid
expect pd.test "$(secure_for mail.pd.test)" "as $SVC: policy fetched and answered"
got=$(timeout 30 postmap -c "$PFDIR" -q pd.test "socketmap:inet:127.0.0.1:461:postfix" 2>&1)
is "$got" "secure match=mail.pd.test servername=hostname" "... also on port 461, bound while root"
is "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$pid/status")" \
	"$SVC_UID $SVC_UID $SVC_UID $SVC_UID" "real, effective, saved and fs uid are the user's"
is "$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "/proc/$pid/status")" \
	"$SVC_GID $SVC_GID $SVC_GID $SVC_GID" "real, effective, saved and fs gid are the user's group"
is "$(awk '$1 == "Groups:" { $1 = ""; print }' "/proc/$pid/status" | tr -s ' ' | sed 's/^ //;s/ $//')" \
	"$(id -G "$SVC")" "supplementary groups are the user's (initgroups), root's are gone"
is "$(stat -c '%U:%G %a' "$T/svccache")" "$SVC:$SVC 700" "cache_dir belongs to the user"
is "$(stat -c '%U' "$T/svccache/data.mdb" "$T/svccache/lock.mdb" 2>&1 | tr '\n' ' ')" "$SVC $SVC " \
	"the LMDB files the daemon created belong to the user"
is "$(grep -c 'event=start user=root' "$STSD_LOG")" 0 "no root warning when a user is set"
ok "mta-stsd exits 0 on SIGTERM (no sanitizer or valgrind report)" stsd_stop

# --- root without a user: it runs, and says once that it keeps root for nothing
stsd_config daemon.user=
mark=$(wc -l <"$STSD_LOG")
stsd_start || bail "mta-stsd did not start as root without user"
expect pd.test "$(secure_for mail.pd.test)" "as root without user: still answers"
is "$(tail -n +$((mark + 1)) "$STSD_LOG" | grep -c 'level=warn event=start user=root note="running as root: no \[daemon\] user is set')" 1 \
	"one warning at start: running as root with no user set"
ok "mta-stsd exits 0 on SIGTERM" stsd_stop
