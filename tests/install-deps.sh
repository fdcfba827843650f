#!/bin/sh
# Install everything the test suite needs on Debian 12: the build dependencies
# (packaging/install-build-deps.sh), then cmocka, valgrind, clang-format, clang and
# libclang-rt-14-dev (libFuzzer for tests/fuzz/run.sh), lmdb-utils, mandoc and
# groff-base (tests/man.sh lints the man pages with both) and the
# real peers the integration tests run in their own network namespace: unbound (validating
# resolver), knot (DNSSEC-signed zones), nginx (HTTPS), Postfix (postmap and real MTAs),
# redis-server and redis-tools (the fleet's shared cache, tests/integ/98-redis.sh),
# openssl (test CA), dig, iproute2/util-linux (namespaces), jq (reads mta-stsctl's JSON);
# python3 (the sd_notify socket listener) and systemd (systemd-socket-activate,
# systemd-analyze; it is not started); and the Debian packaging tools for
# packaging/build-deb.sh and tests/pkg/deb-test.sh (debhelper, dh-autoreconf, dpkg-dev,
# fakeroot, lintian).
# The host's services are left alone: nothing already installed is stopped, disabled or
# reconfigured. A service package this script installs for the first time is not started
# (a policy-rc.d refuses it for the length of the install) and its unit is left disabled,
# so a mail host keeps its own Postfix and resolver exactly as they were.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
"$(dirname "$0")/../packaging/install-build-deps.sh"

services="unbound knot nginx postfix redis-server"
new=""
for s in $services; do
	pkg=$s
	[ "$s" = nginx ] && pkg=nginx-light
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || new="$new $s"
done
policy=/usr/sbin/policy-rc.d
guard=""
if [ -n "$new" ] && [ ! -e "$policy" ]; then
	# Debian's invoke-rc.d and deb-systemd-invoke ask this before starting a service.
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	guard=$policy
	trap '$SUDO rm -f "$guard"' EXIT
fi
# A Postfix installed here must not configure itself as a mail system.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get install -y -qq --no-install-recommends \
	libcmocka-dev lmdb-utils valgrind clang-format clang libclang-rt-14-dev mandoc groff-base \
	unbound knot nginx-light postfix redis-server redis-tools openssl dnsutils iproute2 util-linux jq \
	python3 systemd debhelper dh-autoreconf dpkg-dev fakeroot lintian >/dev/null
for s in $new; do
	$SUDO systemctl disable "$s" >/dev/null 2>&1 || true
done
