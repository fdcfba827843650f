#!/bin/sh
# Install what building and running mta-stsd need on Debian 12, nothing else: the compiler and
# autotools, and the libraries it links (libevent with libevent_openssl, both in libevent-dev,
# libcurl with OpenSSL, c-ares, OpenSSL, LMDB, libinih, jansson, libidn2, libsystemd) with the
# CA bundle. It installs no service and never starts, stops or reconfigures one. The test suite's extra packages: tests/install-deps.sh.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
	build-essential autoconf automake libtool pkg-config \
	libevent-dev libcurl4-openssl-dev libc-ares-dev libssl-dev liblmdb-dev \
	libinih-dev libjansson-dev libidn2-dev libsystemd-dev libhiredis-dev ca-certificates >/dev/null
