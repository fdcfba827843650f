#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Man pages and the shipped configuration file against the code, run by make check (TAP).
#  - mandoc -T lint -W warning on each page: any message (warning, error, unsupported) fails;
#    groff -mandoc -ww -z as a second reader (it catches what mandoc forgives, e.g. an mdoc
#    macro name such as "No" inside a reference title).
#  - The key table of daemon/cfg.c (cfg_keys[], the one list the parser accepts) is read from
#    the source; a table line of an unknown shape fails rather than being skipped. The keys
#    documented in mta-stsd.conf(5) (".It Cm KEY") must be exactly those keys, and
#    packaging/mta-stsd.conf must name each one in its section ([daemon] or [default]).
#  - The shipped file parses with the built mta-stsd -t, as shipped and with every ";key ="
#    line uncommented (so each commented value is one the parser accepts).
#  - Every option letter in the getopt strings of main.c and ctl.c, and every long option of
#    ctl.c, is documented in the page of its program.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
export LC_ALL=C
src=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
bld=${top_builddir:-$src}
man=$src/packaging/man
conf=$src/packaging/mta-stsd.conf
pages="mta-stsd.8 mta-stsd.conf.5 mta-stsctl.1"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() {
	n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift
	[ $# -eq 0 ] || printf '%s\n' "$@" | sed 's/^/# /'
}
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
# missing TOOL DESC: a tool the test needs is absent: a failure under CI, a skip elsewhere.
missing() { if [ -n "${CI:-}" ]; then bad "$2" "$1 not installed (tests/install-deps.sh)"; else skip "$2: $1 not installed"; fi; }

echo "1..13"

# ---- 1-3: mandoc lint, 4-6: groff
for p in $pages; do
	if ! command -v mandoc >/dev/null 2>&1; then
		missing mandoc "mandoc -T lint -W warning $p"
		continue
	fi
	out=$(mandoc -T lint -W warning "$man/$p" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then ok "mandoc -T lint -W warning $p: no message"
	else bad "mandoc -T lint -W warning $p (rc=$rc)" "$out"; fi
done
for p in $pages; do
	if ! command -v groff >/dev/null 2>&1; then
		missing groff "groff -mandoc -ww -z $p"
		continue
	fi
	out=$(groff -mandoc -ww -z -Tutf8 "$man/$p" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then ok "groff -mandoc -ww $p: no warning"
	else bad "groff -mandoc -ww $p (rc=$rc)" "$out"; fi
done

# ---- 7: the key table of cfg.c
# Lines between "cfg_keys[] = {" and "};": DKEY(name, ...), DCHOICE(name, ...) are [daemon]
# keys, ZCHOICE(name, ...) zone keys, {"name", SEC_DAEMON|SEC_ZONE, ...} either.
table=$(awk '/cfg_keys\[\] = \{/ { on = 1; next } on && /^};/ { exit } on' "$src/daemon/cfg.c")
daemon_keys="" zone_keys="" strange=""
while IFS= read -r line; do
	[[ $line =~ ^[[:space:]]*$ ]] && continue
	if [[ $line =~ ^[[:space:]]*(DKEY|DCHOICE)\(([a-z_]+), ]]; then
		daemon_keys="$daemon_keys ${BASH_REMATCH[2]}"
	elif [[ $line =~ ^[[:space:]]*ZCHOICE\(([a-z_]+), ]]; then
		zone_keys="$zone_keys ${BASH_REMATCH[1]}"
	elif [[ $line =~ ^[[:space:]]*\{\"([a-z_]+)\",[[:space:]]*SEC_DAEMON, ]]; then
		daemon_keys="$daemon_keys ${BASH_REMATCH[1]}"
	elif [[ $line =~ ^[[:space:]]*\{\"([a-z_]+)\",[[:space:]]*SEC_ZONE, ]]; then
		zone_keys="$zone_keys ${BASH_REMATCH[1]}"
	else
		strange="$strange$line"$'\n'
	fi
done <<<"$table"
keys="$daemon_keys $zone_keys"
nkeys=$(wc -w <<<"$keys")
# The table holds 20 keys today; a parse that finds few means this reader broke, not the docs.
if [ -n "$strange" ]; then bad "cfg.c key table: every line understood" "$strange"
elif [ "$nkeys" -lt 20 ]; then bad "cfg.c key table: found only $nkeys keys" "$table"
else ok "cfg.c key table: $nkeys keys ($(wc -w <<<"$daemon_keys") [daemon], $(wc -w <<<"$zone_keys") zone)"; fi

# ---- 8: mta-stsd.conf(5) documents exactly the table's keys
documented=$(sed -n 's/^\.It Cm \([a-z_]*\).*/\1/p' "$man/mta-stsd.conf.5" | sort -u)
want=$(tr ' ' '\n' <<<"$keys" | sed '/^$/d' | sort -u)
if [ "$documented" = "$want" ]; then ok "mta-stsd.conf.5 documents every key of cfg.c, and no other"
else bad "mta-stsd.conf.5 documents every key of cfg.c, and no other" \
	"missing: $(comm -13 <(echo "$documented") <(echo "$want") | tr '\n' ' ')" \
	"unknown: $(comm -23 <(echo "$documented") <(echo "$want") | tr '\n' ' ')"; fi

# ---- 9: the shipped file names every key in its section, set or commented out (";key =")
in_section() { # in_section SECTION: the keys named in [SECTION] of the shipped file
	awk -v s="[$1]" '/^\[/ { on = ($1 == s); next }
		on && match($0, /^;?[ \t]*[a-z_]+[ \t]*=/) { k = substr($0, 1, RLENGTH - 1);
			gsub(/[; \t]/, "", k); print k }' "$conf"
}
absent=""
for k in $daemon_keys; do in_section daemon | grep -qx "$k" || absent="$absent [daemon] $k"; done
for k in $zone_keys; do in_section default | grep -qx "$k" || absent="$absent [default] $k"; done
if [ -z "$absent" ]; then ok "packaging/mta-stsd.conf names every key in its section"
else bad "packaging/mta-stsd.conf names every key in its section" "absent:$absent"; fi

# ---- 10-11: the shipped file parses, as shipped and with every key uncommented
stsd=$bld/mta-stsd
if [ ! -x "$stsd" ]; then
	bad "mta-stsd -t on packaging/mta-stsd.conf" "$stsd not built"
	bad "mta-stsd -t on packaging/mta-stsd.conf, every key uncommented" "$stsd not built"
else
	# -t also checks the environment (the user exists, cache_dir is writable by it): the
	# shipped mta-stsd user and /var/lib/mta-stsd exist only once the package is installed
	# (tests/pkg/deb-test.sh runs -t on the installed file). Here those two values become the
	# running user and a scratch directory, and the example shared_cache_password_file and
	# shared_cache_key_file (-t reads them) scratch files; every other line is the shipped one.
	tmpd=$(mktemp -d) || exit 1
	trap 'rm -rf "$tmpd"' EXIT
	echo example-password >"$tmpd/redis.pass"
	echo example-fleet-key-of-at-least-32-bytes >"$tmpd/fleet.key"
	here() {
		sed -E -e "s|^user = .*|user = $(id -un)|" -e "s|^cache_dir = .*|cache_dir = $tmpd/cache|" \
			-e "s|^shared_cache_password_file = .*|shared_cache_password_file = $tmpd/redis.pass|" \
			-e "s|^shared_cache_key_file = .*|shared_cache_key_file = $tmpd/fleet.key|"
	}
	here <"$conf" >"$tmpd/shipped.conf"
	out=$("$stsd" -t -c "$tmpd/shipped.conf" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then ok "mta-stsd -t on packaging/mta-stsd.conf"
	else bad "mta-stsd -t on packaging/mta-stsd.conf (rc=$rc)" "$out"; fi
	tmp=$tmpd/all.conf
	sed -E 's/^;[ \t]*([a-z_]+[ \t]*=)/\1/' "$conf" | here >"$tmp"
	set=$(grep -cE '^[a-z_]+[ \t]*=' "$tmp")
	out=$("$stsd" -t -c "$tmp" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ "$set" -ge "$nkeys" ]; then
		ok "mta-stsd -t on packaging/mta-stsd.conf, every key uncommented ($set lines)"
	else
		bad "mta-stsd -t on packaging/mta-stsd.conf, every key uncommented (rc=$rc, $set lines)" "$out"
	fi
fi

# ---- 12-13: every option of the programs is in their pages
# opts_of FILE: the letters of its getopt optstring and its long option names.
opts_of() {
	sed -n 's/.*getopt[_long]*(argc, argv, "[+]*\([^"]*\)".*/\1/p' "$1" | tr -d ':' | fold -w1
	grep -oE '\{"[a-z-]+", *(no|required|optional)_argument' "$1" | sed -E 's/^\{"([a-z-]+)".*/-\1/'
}
for pair in main.c:mta-stsd.8 ctl.c:mta-stsctl.1; do
	c=${pair%%:*} p=${pair#*:}
	opts=$(opts_of "$src/daemon/$c")
	undoc=""
	for o in $opts; do
		grep -qE "^\.(It|Op|Fl|Nm|Cm).*Fl $o( |$)" "$man/$p" || undoc="$undoc $o"
	done
	if [ -z "$opts" ]; then bad "options of $c in $p" "no options found in daemon/$c"
	elif [ -z "$undoc" ]; then ok "every option of $c is in $p ($(echo $opts | tr -d ' '))"
	else bad "every option of $c is in $p" "undocumented:$undoc"; fi
done
exit 0
