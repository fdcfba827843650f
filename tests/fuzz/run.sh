#!/usr/bin/env bash
# Build the libFuzzer targets in their own tree (_fuzz/ beside the sources: a copy of the
# sources configured CC=clang --enable-fuzzing, so the normal build is never touched) and run
# each for SECONDS (default 60) from its seed corpus in tests/fuzz/<target>/. Prints, per
# target, the executions, the edge coverage (cov: of libFuzzer's last line) and the corpus
# size, then "fuzz <target>: ok" or "fuzz <target>: FAILED" (any crash, leak, timeout or
# sanitizer report). Exit status: the number of failed targets (0: all passed).
# Environment: FUZZ_TARGETS (names, default all), FUZZ_DIR (build tree, default $src/_fuzz),
# FUZZ_JOBS (make -j, default 2), FUZZ_SEED (libFuzzer's -seed; default 0, a random one: CI
# sets 1, so that its run takes the same path every time and a failure reproduces).
set -u
seconds=${1:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=${FUZZ_DIR:-$src/_fuzz}
targets=${FUZZ_TARGETS:-"socketmap stsrecord stspolicy dnsmsg dane cacherec danerec cfg smtpdlg checkrule sharedrec"}
mkdir -p "$dir/src" "$dir/corpus" "$dir/out" || exit 1

# Copy the sources (mtimes kept, so make rebuilds only what changed). In a git checkout: the
# tracked and untracked-but-not-ignored files; in a release tarball: everything but _fuzz.
(
	cd "$src" || exit 1
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -
	else
		tar --exclude=./_fuzz --exclude='*.o' --exclude='*.a' --exclude=config.status \
			--exclude=Makefile --exclude=config.h -cf - .
	fi
) | tar -C "$dir/src" -xpf - || { echo "fuzz: copying the sources failed"; exit 1; }

cd "$dir/src" || exit 1
if [ ! -x configure ]; then
	autoreconf -fi >"$dir/out/autoreconf.log" 2>&1 || { echo "fuzz: autoreconf failed"; cat "$dir/out/autoreconf.log"; exit 1; }
fi
if [ ! -f config.status ]; then
	./configure -q CC=clang --enable-fuzzing >"$dir/out/configure.log" 2>&1 ||
		{ echo "fuzz: configure CC=clang --enable-fuzzing failed"; tail -30 "$dir/out/configure.log"; exit 1; }
fi
progs=""
for t in $targets; do progs="$progs tests/fuzz/fuzz_$t"; done
# shellcheck disable=SC2086
make -j"${FUZZ_JOBS:-2}" $progs >"$dir/out/build.log" 2>&1 ||
	{ echo "fuzz: build failed"; tail -40 "$dir/out/build.log"; exit 1; }

failed=0
for t in $targets; do
	seeds=$src/tests/fuzz/$t
	corpus=$dir/corpus/$t
	log=$dir/out/$t.log
	dict=()
	d=$t
	case $t in dnsmsg | dane | checkrule) d=dns ;; esac
	[ -f "$src/tests/fuzz/$d.dict" ] && dict=(-dict="$src/tests/fuzz/$d.dict")
	mkdir -p "$corpus"
	rm -f "$dir"/out/crash-* "$dir"/out/leak-* "$dir"/out/timeout-* "$dir"/out/oom-*
	# New inputs go to the scratch corpus; the committed seeds are only read.
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"./tests/fuzz/fuzz_$t" -max_total_time="$seconds" -seed="${FUZZ_SEED:-0}" \
		-timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$dir/out/" "${dict[@]}" \
		"$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	last=$(grep -E '#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	files=$(find "$corpus" -type f | wc -l)
	printf 'fuzz %-10s %10s execs  cov: %-5s ft: %-6s corpus: %s files (+%s seeds)\n' \
		"$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$files" "$(find "$seeds" -type f 2>/dev/null | wc -l)"
	if [ "$rc" -ne 0 ] || grep -qE '^(==[0-9]+==ERROR|SUMMARY: )|runtime error:|invariant failed' "$log"; then
		failed=$((failed + 1))
		echo "fuzz $t: FAILED (exit $rc; log $log)"
		grep -E 'ERROR|runtime error|invariant failed|Test unit written|SUMMARY' "$log" | head -20
		for a in "$dir"/out/crash-* "$dir"/out/leak-* "$dir"/out/timeout-* "$dir"/out/oom-*; do
			[ -f "$a" ] && { mkdir -p "$dir/artifacts/$t"; cp "$a" "$dir/artifacts/$t/"; }
		done
	else
		echo "fuzz $t: ok"
	fi
done
exit "$failed"
