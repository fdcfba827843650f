#!/bin/sh
# Install everything mta-stsd needs to build and to run its whole test suite on Debian 12.
# Build: autotools, libevent, libcurl (OpenSSL flavour), c-ares, OpenSSL, LMDB, libinih, jansson,
# cmocka, libidn2. Tests: real unbound (validating resolver), knot (DNSSEC-signed zones), nginx
# (HTTPS), Postfix (postmap as socketmap client), openssl (test CA), dig, iproute2/util-linux
# (network namespaces), valgrind.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Postfix must not ask questions nor configure itself as a mail system here.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
	build-essential autoconf automake libtool pkg-config \
	libevent-dev libcurl4-openssl-dev libc-ares-dev libssl-dev liblmdb-dev lmdb-utils \
	libinih-dev libjansson-dev libcmocka-dev libidn2-dev \
	unbound knot nginx-light postfix openssl ca-certificates dnsutils iproute2 util-linux \
	valgrind clang-format >/dev/null
# The packages' own services are not used by the tests (they start their own, in a namespace).
for s in unbound knot nginx postfix; do
	$SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true
done
