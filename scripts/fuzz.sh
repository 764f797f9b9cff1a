#!/usr/bin/env bash
# Run tpool's libFuzzer targets (tests/fuzz) for a bounded time each.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]	(default 60)
#   scripts/fuzz.sh --regen-corpus		rewrite tests/fuzz/corpus from
#						gen_corpus, then exit
#
# Builds the fuzzing configuration in build-fuzz/ (CC=clang, --enable-fuzzing:
# everything with ASan+UBSan and libFuzzer's coverage), then runs each target
# over a copy of its committed corpus and reproducers (tests/fuzz/corpus/TARGET
# and tests/fuzz/regressions/TARGET; nothing new is written into the source
# tree) with the dictionary tests/fuzz/tpool.dict, leak detection on, a 10 s
# limit per input and 2 GiB of RSS.  Prints, per target, the executions run,
# the coverage reached (libFuzzer's cov: edges and ft: features) and the
# corpus size; exits non-zero if any target found a crash, a leak, a
# timeout, an out-of-memory, a broken invariant or any sanitizer report.
# What a target found is kept under build-fuzz/tests/fuzz/artifacts/TARGET/,
# its log beside it (build-fuzz/tests/fuzz/TARGET.fuzz.log); copy a
# reproducer into tests/fuzz/regressions/TARGET/ so that it is replayed by
# every later run and by `make check` in a fuzzing build.
#
# FUZZ_TARGETS="fuzz_frame fuzz_conn" picks targets; FUZZ_JOBS sets make -j;
# FUZZ_BUILD names another build folder (an absolute path).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

all_targets="fuzz_frame fuzz_request fuzz_conn"
targets=${FUZZ_TARGETS:-$all_targets}
secs=60
regen=no
case "${1:-}" in
--regen-corpus) regen=yes ;;
-h | --help)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
'') ;;
*)
	if [[ ! $1 =~ ^[1-9][0-9]*$ ]]; then
		echo "usage: $0 [SECONDS_PER_TARGET] | --regen-corpus" >&2
		exit 2
	fi
	secs=$1
	;;
esac

build=${FUZZ_BUILD:-$top/build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc)}
[[ -x configure ]] || autoreconf -fi >/dev/null
mkdir -p "$build"
if [[ ! -f $build/Makefile ]]; then
	echo "fuzz: configuring $build (CC=clang --enable-fuzzing)"
	(cd "$build" && CC=clang "$top/configure" -q --enable-fuzzing)
fi
echo "fuzz: building"
# fuzz-build (tests/fuzz/local.mk): the targets, gen_corpus, and the
# plugins fuzz_conn loads.
if ! (cd "$build" && make -s -j"$jobs" fuzz-build >"$build/fuzz-build.log" 2>&1); then
	tail -n 40 "$build/fuzz-build.log" >&2
	echo "fuzz: build failed (build-fuzz/fuzz-build.log)" >&2
	exit 1
fi

if [[ $regen == yes ]]; then
	rm -rf "$top/tests/fuzz/corpus"
	"$build/tests/fuzz/gen_corpus" "$top/tests/fuzz/corpus"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tpool-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
status=0
total_start=$(date +%s)
printf '%-13s %12s %9s %7s %7s %7s  %s\n' target executions exec/s cov ft corpus result
for t in $targets; do
	prog=$build/tests/fuzz/$t
	if [[ ! -x $prog ]]; then
		echo "fuzz: $t was not built" >&2
		status=1
		continue
	fi
	corpus=$work/$t
	artifacts=$build/tests/fuzz/artifacts/$t
	log=$build/tests/fuzz/$t.fuzz.log
	mkdir -p "$corpus" "$artifacts"
	cp "$top/tests/fuzz/corpus/$t/"* "$corpus/"
	# The reproducers too: libFuzzer runs every seed first, so a bug that
	# came back fails at once.
	if [[ -d $top/tests/fuzz/regressions/$t ]]; then
		cp "$top/tests/fuzz/regressions/$t/"* "$corpus/"
	fi
	touch "$work/$t.stamp"
	start=$(date +%s)
	rc=0
	# -max_total_time bounds the fuzzing; the outer timeout catches a
	# target that hangs in its teardown, outside libFuzzer's watch.
	# TMPDIR: fuzz_conn's plugin folder, left behind if it crashes.
	mkdir -p "$work/tmp"
	TMPDIR=$work/tmp timeout -k 10 $((secs + 120)) "$prog" \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 \
		-print_final_stats=1 -dict="$top/tests/fuzz/tpool.dict" \
		-artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || rc=$?
	took=$(($(date +%s) - start))

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	# The last status line: "#N  DONE  cov: C ft: F corp: K/S ...".
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")

	# Anything a sanitizer or libFuzzer reports fails the run, even if
	# the exit status somehow did not say so.
	result=clean
	report='^==[0-9]+== ?ERROR: |runtime error: |^SUMMARY: |: broken: '
	if grep -q -E 'ERROR: LeakSanitizer' "$log"; then
		result="FAILED (leak)"
	elif grep -q -E 'ERROR: libFuzzer: timeout' "$log"; then
		result="FAILED (timeout)"
	elif grep -q -E 'ERROR: libFuzzer: out-of-memory' "$log"; then
		result="FAILED (out of memory)"
	elif grep -q -E 'ERROR: AddressSanitizer' "$log"; then
		result="FAILED (AddressSanitizer)"
	elif grep -q -E 'runtime error: ' "$log"; then
		result="FAILED (UndefinedBehaviorSanitizer)"
	elif grep -q -E ': broken: ' "$log"; then
		result="FAILED (invariant broken)"
	elif grep -q -E "$report" "$log"; then
		result="FAILED (crash)"
	elif ((rc != 0)); then
		result="FAILED (exit $rc)"
	fi
	printf '%-13s %12s %9s %7s %7s %7s  %s (%ds)\n' "$t" "${execs:-?}" "${rate:-?}" \
		"${cov:-?}" "${ft:-?}" "${corp:-?}" "$result" "$took"
	if [[ $result != clean ]]; then
		status=1
		echo "--- $t: the report ($log)" >&2
		# From the first line of the report on (libFuzzer's progress,
		# dictionary and input dump left out).
		sed -n -E "/$report/,\$p" "$log" | grep -v -E '^#[0-9]+|^0x|^\\' | head -n 60 >&2
		found=$(find "$artifacts" -type f -newer "$work/$t.stamp" 2>/dev/null | head -n 5)
		if [[ -n $found ]]; then
			echo "--- $t: reproducers (copy into tests/fuzz/regressions/$t/):" >&2
			echo "$found" >&2
		fi
	fi
done
echo "fuzz: $(($(date +%s) - total_start)) s for $(wc -w <<<"$targets") targets at ${secs} s each"
if ((status != 0)); then
	echo "fuzz: FAILED" >&2
fi
exit $status
