#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Grafana dashboard against the metrics the daemon exports, run by make check (TAP).
# tests/data/metrics/render.ref is the exact exposition metrics_render() writes for a known
# set of counts (tests/unit/test_metrics checks it byte for byte), so it names every metric,
# label and label value the daemon can export. The dashboard (packaging/grafana-mta-stsd.json)
# may only use those: every mta_stsd_* name it mentions is a sample name of the exposition,
# every label matcher key="value" in its queries (instance aside: Prometheus adds it) is a
# label pair of the exposition, every "by (...)" label is a label of the exposition. It is
# valid JSON (python3 or jq, whichever is installed). tests/integ/88-metrics.sh checks the
# names against a live scrape too.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
export LC_ALL=C
src=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
dash=$src/packaging/grafana-mta-stsd.json
ref=$src/tests/data/metrics/render.ref
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() {
	n=$((n + 1)); echo "not ok $n - $1"; shift
	[ $# -eq 0 ] || printf '%s\n' "$@" | sed 's/^/# /'
}
echo "1..5"

if command -v python3 >/dev/null 2>&1; then
	if out=$(python3 -m json.tool "$dash" 2>&1 >/dev/null); then ok "dashboard is valid JSON (python3)"
	else bad "dashboard is valid JSON (python3)" "$out"; fi
elif command -v jq >/dev/null 2>&1; then
	if out=$(jq empty "$dash" 2>&1); then ok "dashboard is valid JSON (jq)"
	else bad "dashboard is valid JSON (jq)" "$out"; fi
else
	echo "ok $((n += 1)) # SKIP no python3 or jq to parse JSON"
fi

# the queries, one per line
exprs=$(grep -o '"expr": "[^"\\]*\(\\.[^"\\]*\)*"' "$dash" | sed 's/^"expr": "//; s/"$//; s/\\"/"/g')
nexpr=$(grep -c . <<<"$exprs")
if [ "$nexpr" -ge 10 ]; then ok "dashboard has $nexpr queries"
else bad "dashboard has queries" "found only $nexpr: this reader broke"; fi

# sample names and label pairs of the exposition
samples=$(grep -v '^#' "$ref" | sed 's/[{ ].*//' | sort -u)
pairs=$(grep -v '^#' "$ref" | grep -o '[a-z_]*="[^"]*"' | sort -u)
labels=$(sed 's/=.*//' <<<"$pairs" | sort -u)

names=$(grep -o 'mta_stsd_[a-z_]*' "$dash" | sort -u)
missing=$(comm -23 <(echo "$names") <(echo "$samples"))
if [ -n "$names" ] && [ -z "$missing" ]; then
	ok "every metric of the dashboard is exported ($(wc -l <<<"$names") names)"
else
	bad "every metric of the dashboard is exported" "not in $ref:" $missing
fi

used=$(grep -o '[a-z_]*="[^"$]*"' <<<"$exprs" | grep -v '^instance=' | sort -u)
missing=$(comm -23 <(echo "$used") <(echo "$pairs"))
if [ -z "$missing" ]; then ok "every label matcher of the dashboard exists ($(grep -c . <<<"$used") pairs)"
else bad "every label matcher of the dashboard exists" "not in $ref:" $missing; fi

by=$(grep -o 'by ([a-z_, ]*)' <<<"$exprs" | sed 's/^by (//; s/)$//' | tr ', ' '\n\n' | sed '/^$/d' | sort -u)
missing=$(comm -23 <(echo "$by") <(echo "$labels"))
if [ -n "$by" ] && [ -z "$missing" ]; then ok "every 'by' label of the dashboard exists ($(echo $by))"
else bad "every 'by' label of the dashboard exists" "not a label in $ref:" $missing; fi
exit 0
