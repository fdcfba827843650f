#!/usr/bin/env bash
# Source lint, run by make check (TAP): banned unbounded C calls anywhere in daemon/, and no
# event loop / network / database headers in pure (P) modules, whose purity the unit-test link
# already enforces for calls but not for headers.
src=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
pure="xalloc strbuf dname socketmap stsrecord stspolicy stsgen cacherec decide answer cfg dnsmsg dane metrics checkrule smtpdlg"
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; shift; printf '# %s\n' "$@"; }
echo "1..2"
hits=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets)\s*\(' "$src"/daemon/*.c | grep -v '^\s*/[*/]' || true)
if [ -z "$hits" ]; then ok "no banned calls in daemon/"; else bad "banned calls in daemon/" "$hits"; fi
hits=""
for m in $pure; do
	h=$(grep -nE '#include\s*<(event2/|curl/|ares|lmdb\.h|jansson\.h)' "$src/daemon/$m.c" 2>/dev/null || true)
	[ -z "$h" ] || hits="$hits$m.c: $h"$'\n'
done
if [ -z "$hits" ]; then ok "pure modules include no effectful library headers"; else bad "effectful headers in pure modules" "$hits"; fi
