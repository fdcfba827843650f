#!/usr/bin/env bash
# build-deb.sh [-o DIR]: build the Debian binary package mta-stsd_<version>_<arch>.deb from this
# source tree and check it with lintian. <version> is AC_INIT's in configure.ac, and
# packaging/debian/changelog must carry the same one. The tree is copied to a scratch directory
# (git's tracked and not-ignored files; without git, the whole tree, which must then be
# unconfigured), packaging/debian becomes debian/ there, and `dpkg-buildpackage -us -uc -b`
# builds it; the top-level debian/ never exists in the tree itself. The .deb is copied to DIR
# (default: the current directory). Fails on a build error, on a lintian error, and on a
# lintian warning that no override in packaging/debian/mta-stsd.lintian-overrides covers.
# Needs: the build dependencies (packaging/install-build-deps.sh) plus debhelper, dh-autoreconf,
# dpkg-dev, fakeroot, lintian and libcmocka-dev (all in tests/install-deps.sh).
# KEEP=1 keeps the scratch directory (its path is printed).
set -euo pipefail
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd)
out=$PWD
while getopts o: opt; do
	case $opt in
	o) out=$2 ;;
	*) echo "usage: $0 [-o DIR]" >&2; exit 2 ;;
	esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

die() { echo "build-deb: $*" >&2; exit 1; }

for t in dpkg-buildpackage dpkg-parsechangelog dpkg-architecture dh lintian; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (install: tests/install-deps.sh)"
done

version=$(sed -n 's/^AC_INIT(\[mta-stsd\], *\[\([^]]*\)\].*/\1/p' "$top/configure.ac")
[ -n "$version" ] || die "no version in AC_INIT of $top/configure.ac"
chver=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
[ "$chver" = "$version" ] ||
	die "packaging/debian/changelog is at $chver but configure.ac AC_INIT at $version: add a changelog entry"
# Build-Depends must name every package packaging/install-build-deps.sh installs (but
# build-essential, which Debian implies), so that the two never drift apart.
want=$(sed -n '/apt-get install/,/>\/dev\/null/p' "$top/packaging/install-build-deps.sh" |
	tr ' \t\\' '\n\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vx -e apt-get -e install -e build-essential)
have=$(sed -n '/^Build-Depends:/,/^[^ ]/{s/^Build-Depends://;/^[^ ]/d;p}' "$top/packaging/debian/control" |
	tr ',' '\n' | awk 'NF { print $1 }')
[ -n "$want" ] || die "no package list found in packaging/install-build-deps.sh"
missing=$(printf '%s\n' $want | grep -vxF -f <(printf '%s\n' $have) || true)
[ -z "$missing" ] ||
	die "Build-Depends in packaging/debian/control lacks what packaging/install-build-deps.sh installs:" $missing
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=mta-stsd_${version}_${arch}.deb

scratch=$(mktemp -d "${TMPDIR:-/tmp}/mta-stsd-deb.XXXXXX")
if [ -n "${KEEP:-}" ]; then
	echo "build-deb: scratch directory $scratch kept"
else
	trap 'rm -rf "$scratch"' EXIT
fi
src=$scratch/mta-stsd-$version
mkdir "$src"

if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked and new files as they are in the work tree (a deleted tracked file is left out);
	# nothing git ignores, so no build output of an in-tree build comes along.
	git -C "$top" ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$top/$f" ] && printf '%s\0' "$f"; done |
		tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
else
	[ ! -e "$top/config.status" ] || die "$top is configured and not a git tree: run make distclean first"
	tar -C "$top" --exclude=./debian --exclude='./*.deb' -cf - . | tar -C "$src" -xf -
fi
[ ! -e "$src/debian" ] || die "the tree has a top-level debian/; the packaging lives in packaging/debian"
cp -a "$top/packaging/debian" "$src/debian"

export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc)}
log=$scratch/build.log
echo "build-deb: building $deb (log: dpkg-buildpackage -us -uc -b in $src)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
	tail -n 80 "$log" >&2
	die "dpkg-buildpackage failed"
fi
[ -f "$scratch/$deb" ] || die "dpkg-buildpackage made no $deb: $(ls "$scratch")"
cp "$scratch/$deb" "$out/$deb"
echo "build-deb: $out/$deb"

# Every tag is shown, info (I:) and overridden (O:) ones too; an error (E:) or a warning (W:)
# that no override covers fails the build. (lintian's own --fail-on counts overridden tags
# once --show-overrides is given, hence the look at its output.)
echo "build-deb: lintian $deb"
lint=$(lintian --fail-on none --display-info --show-overrides "$out/$deb" 2>&1) ||
	die "lintian could not check $deb: $lint"
[ -z "$lint" ] || printf '%s\n' "$lint"
if printf '%s\n' "$lint" | grep -qE '^[EW]: '; then
	die "lintian found errors or warnings in $deb"
fi
echo "build-deb: ok $out/$deb"
