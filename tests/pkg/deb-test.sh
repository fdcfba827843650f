#!/bin/bash
# SPDX-License-Identifier: MIT
# The Debian package end to end, as root on Debian 12 (TAP). Run by .ci/run as a step of its
# own, not by `make check`: it installs and purges a system package.
#
# Builds the package with packaging/build-deb.sh (lintian clean), installs it with apt-get,
# checks what it put on the system, runs the installed daemon exactly as the installed unit
# says (ExecStartPre, then ExecStart, as the unit's User= or as root, the daemon then
# dropping to the configuration's user) from the installed, untouched
# /etc/mta-stsd/mta-stsd.conf, asks it through postmap about a test domain with an enforced
# MTA-STS policy, stops it, purges the package and checks that nothing of it is left.
#
# It runs inside the integration harness's network and PID namespaces (tests/integ/lib.sh:
# unbound, nginx, test CA, TAP helpers); the daemon gets a mount namespace of its own in which
# an overlay over /etc shows it /etc/resolv.conf naming the test's unbound and the test CA as
# the system CA bundle (the installed configuration leaves both to the system defaults).
# apt-get runs inside the network namespace too, so the package's dependencies must already
# be installed (tests/install-deps.sh installs them).
#
# The host is left as it was: the test refuses to run where mta-stsd is installed or its user,
# /etc/mta-stsd or /var/lib/mta-stsd exist; no service is started (a policy-rc.d refuses
# starts during the test unless one already exists and refuses them; an existing one is never
# removed or changed); the package is purged at the end even when a check fails.
# On a host that runs systemd the daemon is still started from the unit's command line, not
# through systemctl: the test domain only exists inside the namespace.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=tests/integ/lib.sh
. "${0%/*}/../integ/lib.sh"

PKG=mta-stsd
DOMAIN=pkg.test
STSD=/usr/sbin/mta-stsd # what lib.sh's _stsd_spawn checks and starts
POLICY_RCD=/usr/sbin/policy-rc.d
APT=(apt-get -o DPkg::Lock::Timeout=300 -y -q --no-install-recommends)
export DEBIAN_FRONTEND=noninteractive

_need=""
for _t in dpkg-buildpackage dpkg-query apt-get lintian setpriv getent; do
	command -v "$_t" >/dev/null 2>&1 || _need="$_need $_t"
done
[ -z "$_need" ] || skip_all "missing tools:$_need (tests/install-deps.sh installs them)"

# Never purge what someone else installed, nor delete a user or directory that was here before.
# pkg_known: dpkg has the package in any state but not-installed (installed, config-files, ...).
pkg_known() {
	local s
	s=$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null)
	[ -n "$s" ] && [[ $s != *not-installed ]]
}
if pkg_known; then
	skip_all "package $PKG is known to dpkg on this machine: the test would purge it"
fi
for _p in /etc/mta-stsd /var/lib/mta-stsd; do
	[ ! -e "$_p" ] || skip_all "$_p exists on this machine: the purge check would delete it"
done
if getent passwd mta-stsd >/dev/null || getent group mta-stsd >/dev/null; then
	skip_all "user or group mta-stsd exists on this machine: the purge would delete it"
fi
# An existing policy-rc.d stays; it must refuse starts, else the install would start the
# service on the host.
_guard=""
if [ -e "$POLICY_RCD" ]; then
	"$POLICY_RCD" mta-stsd.service start >/dev/null 2>&1
	[ $? = 101 ] || skip_all "$POLICY_RCD lets services start: the install would start mta-stsd on the host"
fi

_installed=""
# _pkg_cleanup: on exit, before lib.sh's cleanup: stop the daemon, purge what we installed,
# remove the policy-rc.d we made.
_pkg_cleanup() {
	local rc=$?
	stsd_stop >/dev/null 2>&1
	if [ -n "$_installed" ] && pkg_known; then
		echo "# purging $PKG after an early end"
		"${APT[@]}" purge "$PKG" >"$T/purge-at-exit.log" 2>&1 || sed 's/^/#   /' "$T/purge-at-exit.log"
	fi
	[ -z "$_guard" ] || rm -f "$_guard"
	(exit $rc)
	_cleanup
}
trap _pkg_cleanup EXIT

# unit_value FILE KEY: the last KEY= value in FILE's [Service] lines (systemd: last one wins).
unit_value() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# unit_argv FILE KEY: the command of KEY= as words, without systemd's prefixes (- @ + ! :).
unit_argv() {
	local line
	line=$(unit_value "$1" "$2")
	line=${line##[-@+!:]}
	line=${line##[-@+!:]}
	echo "$line"
}

# in_pkg_ns CMD...: exec CMD (as the unit's user when it names one) in a private mount
# namespace where /etc is an overlay showing /etc/resolv.conf -> the test's unbound and the
# test CA as /etc/ssl/certs/ca-certificates.crt. Nothing under the host's /etc is written:
# changes land in $T/pkg-ovl; /etc/mta-stsd/mta-stsd.conf is the installed file, read-only.
in_pkg_ns() {
	local here
	here=$(readlink /proc/self/ns/mnt) || exit 97
	mkdir -p "$T/pkg-ovl/up" "$T/pkg-ovl/work"
	# shellcheck disable=SC2016
	exec unshare --mount --propagation private -- bash -c '
		[ "$(readlink /proc/self/ns/mnt)" != "$1" ] || exit 97
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$2/pkg-ovl/up,workdir=$2/pkg-ovl/work" /etc || exit 98
		rm -f /etc/resolv.conf && echo "nameserver 127.0.0.1" >/etc/resolv.conf || exit 98
		cat "$3" >/etc/ssl/certs/ca-certificates.crt || exit 98
		shift 3
		exec "$@"' in_pkg_ns "$here" "$T" "$CA_FILE" "${unit_user[@]}" "$@"
}

plan 32

# ---- build
version=$(sed -n 's/^AC_INIT(\[mta-stsd\], *\[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
arch=$(dpkg --print-architecture)
deb=$T/deb/${PKG}_${version}_${arch}.deb
t0=$(now_ms)
if "$top_srcdir/packaging/build-deb.sh" -o "$T/deb" >"$T/build-deb.log" 2>&1; then
	pass "packaging/build-deb.sh builds the package, lintian clean ($((($(now_ms) - t0) / 1000)) s)"
	diag "$(sed -n '/^build-deb: lintian/,$p' "$T/build-deb.log")"
else
	fail "packaging/build-deb.sh builds the package, lintian clean" "$(tail -n 40 "$T/build-deb.log")"
fi
[ -f "$deb" ] || bail "no $deb: $(ls "$T/deb" 2>&1)"
pass "package file named after configure.ac's version: ${deb##*/}"

# ---- install
if [ ! -e "$POLICY_RCD" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$POLICY_RCD" && chmod 755 "$POLICY_RCD" && _guard=$POLICY_RCD
fi
# The package never edits Postfix's configuration.
maincf_sum() { find /etc/postfix -maxdepth 1 -type f -name '*.cf' -exec sha256sum {} + 2>/dev/null | sort; }
maincf_sum >"$T/postfix-cf.before"
_installed=1
if "${APT[@]}" install "$deb" >"$T/install.log" 2>&1; then
	pass "apt-get install ./${deb##*/}"
else
	fail "apt-get install ./${deb##*/}" "$(tail -n 30 "$T/install.log")"
	bail "the package did not install"
fi
line='    smtp_tls_policy_maps = socketmap:inet:127.0.0.1:8461:postfix'
if grep -Eqs '^[[:space:]]*smtp_tls_policy_maps[[:space:]]*=.*127\.0\.0\.1:8461:' /etc/postfix/main.cf; then
	pass "postinst prints the main.cf line # SKIP this machine's main.cf already has it"
elif tr -d '\r' <"$T/install.log" | grep -qxF -- "$line"; then
	pass "postinst prints the main.cf line to add"
else
	fail "postinst prints the main.cf line to add" "$(cat "$T/install.log")"
fi

dpkg -L "$PKG" | sort >"$T/files"
listed() { grep -qxF "$1" "$T/files"; }
is "$(maincf_sum)" "$(cat "$T/postfix-cf.before")" "the install left /etc/postfix/*.cf as they were"
ok "/usr/sbin/mta-stsd and /usr/bin/mta-stsctl installed, executable" \
	eval 'listed /usr/sbin/mta-stsd && listed /usr/bin/mta-stsctl && [ -x /usr/sbin/mta-stsd ] && [ -x /usr/bin/mta-stsctl ]'
conffiles=$(dpkg-query -W -f='${Conffiles}' "$PKG")
if [[ $conffiles == *" /etc/mta-stsd/mta-stsd.conf "* ]] &&
	cmp -s /etc/mta-stsd/mta-stsd.conf "$top_srcdir/packaging/mta-stsd.conf"; then
	pass "/etc/mta-stsd/mta-stsd.conf is a conffile, packaging/mta-stsd.conf as committed"
else
	fail "/etc/mta-stsd/mta-stsd.conf is a conffile, packaging/mta-stsd.conf as committed" "conffiles: $conffiles"
fi
unit=$(grep -E '^(/usr)?/lib/systemd/system/mta-stsd\.service$' "$T/files" | head -n 1)
like "$(unit_argv "${unit:-/nonexistent}" ExecStart)" "/usr/sbin/mta-stsd *" \
	"systemd unit installed (${unit:-none}), ExecStart runs /usr/sbin/mta-stsd"
sock=$(grep -E '/lib/systemd/system/mta-stsd\.socket$' "$T/files" | head -n 1)
if [ -z "$sock" ]; then
	pass "socket unit not enabled # SKIP the package has no socket unit"
elif compgen -G "/etc/systemd/system/*.wants/mta-stsd.socket" >/dev/null; then
	fail "socket unit $sock not enabled" "$(ls -l /etc/systemd/system/*.wants/mta-stsd.socket)"
else
	pass "socket unit $sock installed, not enabled"
fi
ok "README (uncompressed: the unit and the config name it) and main.cf.snippet in /usr/share/doc/mta-stsd" \
	eval '[ -s /usr/share/doc/mta-stsd/README ] && cmp -s /usr/share/doc/mta-stsd/main.cf.snippet "$top_srcdir/postfix-conf/main.cf.snippet"'
# Manual pages: whatever the tree has under packaging/man arrives compressed under /usr/share/man.
missing="" pages=0
for m in "$top_srcdir"/packaging/man/*.[1-8]; do
	[ -e "$m" ] || continue
	pages=$((pages + 1))
	n=${m##*/}
	listed "/usr/share/man/man${n##*.}/$n.gz" || missing="$missing $n"
done
if [ "$pages" = 0 ]; then
	pass "manual pages installed # SKIP the tree has no packaging/man/*.[1-8]"
else
	is "$missing" "" "the $pages manual pages of packaging/man installed under /usr/share/man"
fi

# ---- the user and the cache directory
IFS=: read -r _ _ uid gid _ home shell <<<"$(getent passwd mta-stsd)"
if [ -n "$uid" ] && [ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] && [ "$home" = /var/lib/mta-stsd ] &&
	[ "$(getent group mta-stsd | cut -d: -f3)" = "$gid" ] && [[ $shell == */nologin ]]; then
	pass "system user mta-stsd (uid $uid), group mta-stsd, home /var/lib/mta-stsd, no login shell"
else
	fail "system user mta-stsd, group mta-stsd, home /var/lib/mta-stsd, no login shell" \
		"passwd: $(getent passwd mta-stsd)" "group: $(getent group mta-stsd)"
fi
is "$(stat -c '%a %U:%G %F' /var/lib/mta-stsd 2>&1)" "700 mta-stsd:mta-stsd directory" \
	"/var/lib/mta-stsd: 0700, owned by mta-stsd"

# ---- run it as the unit says
sts_domain "$DOMAIN" 1 --policy "$(enforce_policy "mail.$DOMAIN")"
dns_start
web_start
unit_user=()
u=$(unit_value "$unit" User)
if [ -n "$u" ]; then
	g=$(unit_value "$unit" Group)
	unit_user=(setpriv --reuid="$u" --regid="${g:-$u}" --init-groups --)
fi
read -ra pre <<<"$(unit_argv "$unit" ExecStartPre)"
read -ra start <<<"$(unit_argv "$unit" ExecStart)"
diag "from $unit:" "User=${u:-(none: root, the daemon drops to the configured user)}" \
	"ExecStartPre=${pre[*]}" "ExecStart=${start[*]}"
if [ ${#pre[@]} -eq 0 ]; then
	pass "ExecStartPre # SKIP the unit has none"
else
	out=$( (in_pkg_ns "${pre[@]}") 2>&1)
	is "$?" 0 "ExecStartPre (${pre[*]}) accepts the installed configuration${out:+: $out}"
fi
if _stsd_spawn in_pkg_ns "${start[@]}"; then
	pass "ExecStart runs the daemon from the installed config; it listens on 127.0.0.1:8461"
else
	fail "ExecStart runs the daemon from the installed config; it listens on 127.0.0.1:8461"
	bail "the installed daemon did not start"
fi
daemon_uids() { sed -n 's/^Uid:[[:space:]]*//p' "/proc/$_stsd_pid/status" 2>/dev/null | tr -s '[:space:]' ' '; }
want_uids="$uid $uid $uid $uid "
wait_until 5 eval '[ "$(daemon_uids)" = "$want_uids" ]'
is "$(daemon_uids)" "$want_uids" "the daemon runs as mta-stsd (real, effective, saved, fs uid)"
expect "$DOMAIN" "OK secure match=mail.$DOMAIN servername=hostname" \
	"postmap -q $DOMAIN socketmap:inet:127.0.0.1:8461:postfix: enforced policy, secure match="
expect "nopolicy.$DOMAIN" NOTFOUND "a domain without MTA-STS: NOTFOUND, the [postfix] fallback"
out=$(timeout 20 /usr/bin/mta-stsctl query "$DOMAIN" 2>&1)
rc=$?
like "$rc $out" "0 *secure match=mail.$DOMAIN*" "installed mta-stsctl (installed config) asks the daemon"
is "$(stat -c '%U:%G' /var/lib/mta-stsd/data.mdb 2>&1)" "mta-stsd:mta-stsd" \
	"the cache is written in /var/lib/mta-stsd, as mta-stsd"
ok "the daemon exits 0 on SIGTERM" stsd_stop

# ---- the same package again (postinst on an installed system), then removed without purge
if dpkg -i "$deb" >"$T/reinstall.log" 2>&1; then
	pass "dpkg -i the same package again (postinst run on an existing user and cache)"
else
	fail "dpkg -i the same package again (postinst run on an existing user and cache)" "$(tail -n 20 "$T/reinstall.log")"
fi
is "$(id -u mta-stsd 2>&1) $(stat -c '%a %U:%G' /var/lib/mta-stsd /var/lib/mta-stsd/data.mdb 2>&1 | tr '\n' ' ')" \
	"$uid 700 mta-stsd:mta-stsd 600 mta-stsd:mta-stsd " "same uid, directory and cache kept as they were"
if "${APT[@]}" remove "$PKG" >"$T/remove.log" 2>&1; then
	pass "apt-get remove $PKG"
else
	fail "apt-get remove $PKG" "$(tail -n 30 "$T/remove.log")"
fi
ok "remove keeps the conffile, the cache and the user, not the binaries" \
	eval '[ -f /etc/mta-stsd/mta-stsd.conf ] && [ -f /var/lib/mta-stsd/data.mdb ] && id mta-stsd >/dev/null &&
		[ ! -e /usr/sbin/mta-stsd ] && [ ! -e /usr/bin/mta-stsctl ]'

# ---- purge
if "${APT[@]}" purge "$PKG" >"$T/purge.log" 2>&1; then
	pass "apt-get purge $PKG"
else
	fail "apt-get purge $PKG" "$(tail -n 30 "$T/purge.log")"
fi
_installed=""
ok "dpkg no longer knows $PKG (nor its conffiles)" eval '! pkg_known'
left=""
while IFS= read -r f; do
	[ "$f" != /. ] || continue
	[ -e "$f" ] || [ -L "$f" ] || continue
	# a directory another package also owns (/usr/sbin, /etc, /lib) stays
	[ -d "$f" ] && dpkg-query -S "$f" >/dev/null 2>&1 && continue
	left="$left $f"
done <"$T/files"
is "$left" "" "every path dpkg -L listed is gone (directories other packages own stay)"
ok "/etc/mta-stsd is gone" eval '[ ! -e /etc/mta-stsd ]'
ok "/var/lib/mta-stsd (the cache) is gone" eval '[ ! -e /var/lib/mta-stsd ]'
is "$(getent passwd mta-stsd; getent group mta-stsd)" "" "user and group mta-stsd are gone"
is "$(find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
	-name 'mta-stsd*' 2>/dev/null)" "" "no systemd enablement link or state of mta-stsd is left"

[ "$_tap_failed" = 0 ]
