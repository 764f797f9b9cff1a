#!/usr/bin/env bash
# The whole test suite, from a fresh clone on Debian 12 (as root, so that
# missing packages can be installed):
#
#   1. plain build, warnings as errors, make check
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build, make check
#   3. ThreadSanitizer build, make check
#   4. the daemon's tests again with tpoold under valgrind memcheck
#   5. make distcheck
#
# Builds go to build-ci/ (removed first).  Ends with one line
# "tests: N passed, N failed" counting every test program of every step.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash scripts/setup-debian.sh
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
jobs=$(nproc)
rm -rf build-ci
mkdir -p build-ci
start=$(date +%s)

step() { printf '\n=== %s (%ds)\n' "$1" $(($(date +%s) - start)); }

# Show the logs of what failed, then stop.
fail() {
	echo "FAILED: $1" >&2
	find build-ci -name '*.log' -newer build-ci/.stamp -print0 2>/dev/null |
	    xargs -0 -r grep -l -E '^(FAIL|ERROR)|Failures: [1-9]|Errors: [1-9]' 2>/dev/null |
	    while read -r log; do echo "--- $log"; tail -n 60 "$log"; done >&2
	exit 1
}
touch build-ci/.stamp

build() {	# build NAME CONFIGURE-OPTIONS...
	local name=$1; shift
	mkdir -p "build-ci/$name"
	(cd "build-ci/$name" && "$top/configure" -q --enable-werror "$@" &&
	    make -s -j"$jobs" >/dev/null) || fail "build $name"
}

check() {	# check NAME [MAKE-ARGS...]
	local name=$1; shift
	(cd "build-ci/$name" && make -j"$jobs" check "$@") || fail "make check ($name)"
}

step "plain build"
build plain
check plain

step "ASan+UBSan build"
build asan --enable-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	check asan

step "TSan build"
build tsan --enable-tsan
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" check tsan

step "daemon tests, tpoold under valgrind"
(cd build-ci/plain && make -j"$jobs" check-daemon-valgrind) || fail "daemon tests under valgrind"

step "make distcheck"
(cd build-ci/plain && make -s -j"$jobs" distcheck >/dev/null) || fail "make distcheck"

step "done"
pass=$(find build-ci -name '*.trs' -exec grep -h '^:test-result: PASS' {} + | wc -l)
failed=$(find build-ci -name '*.trs' -exec grep -h -E '^:test-result: (FAIL|ERROR|XPASS)' {} + | wc -l)
echo "tests: $pass passed, $failed failed"
[[ $failed -eq 0 ]]
