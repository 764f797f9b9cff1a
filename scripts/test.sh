#!/usr/bin/env bash
# The whole test suite, from a fresh clone on Debian 12 (as root, so that
# missing packages can be installed):
#
#   1. plain build, warnings as errors, make check
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build, make check
#   3. ThreadSanitizer build, make check
#   3b. debug build (--enable-debug: libtp asserts the locks its functions
#      need on entry), libtp's tests
#   4. valgrind memcheck: libtp's, the protocol's and the client's test
#      programs under valgrind, then the daemon's tests and the security
#      suite with tpoold (and the in-process daemon test) under valgrind
#   5. the libFuzzer targets, each for FUZZ_SECONDS (default 25) over the
#      committed corpus (scripts/fuzz.sh; clang, ASan+UBSan)
#   6. make distcheck
#   7. the Debian packages: dpkg-buildpackage -b in the tarball of step 6
#      unpacked in build-ci/deb, lintian (errors fail), then
#      tests/debian/smoke.sh installs them, runs tpoold, tpctl and programs
#      built on the -dev packages, and purges them
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

step "debug build (libtp's lock assertions), libtp's tests"
build debug --enable-debug
check debug TESTS="$(make -s -C build-ci/plain --no-print-directory print-libtp-tests)"

step "libtp, protocol and client tests under valgrind"
vg="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
vg_tests=$(make -s -C build-ci/plain --no-print-directory print-valgrind-tests)
[[ -n $vg_tests ]] || fail "no test programs for valgrind"
(cd build-ci/plain && make -j"$jobs" check TESTS="$vg_tests" \
    LOG_COMPILER="$vg" CK_TIMEOUT_MULTIPLIER=10) || fail "tests under valgrind"

step "daemon tests, tpoold under valgrind"
(cd build-ci/plain && make -j"$jobs" check-daemon-valgrind) || fail "daemon tests under valgrind"

step "libFuzzer targets, ${FUZZ_SECONDS:-25} s each"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-25}" || fail "fuzzing"

step "make distcheck"
# The tarball's own build runs the suite but the soak tests (steps 1-3
# ran them): TESTS given to make reaches distcheck's inner make check.
dc_tests=$(make -s -C build-ci/plain --no-print-directory print-distcheck-tests)
(cd build-ci/plain && make -s -j"$jobs" distcheck TESTS="$dc_tests" >/dev/null) ||
    fail "make distcheck"

step "Debian packages"
# From the tarball make distcheck left, as a packager would; the unit tests
# already ran above (nocheck), and the debug symbols' packages are not
# needed (noautodbgsym).
tarball=build-ci/plain/tpool-$(sed -n 's/^PACKAGE_VERSION = //p' build-ci/plain/Makefile).tar.gz
[[ -f $tarball ]] || (cd build-ci/plain && make -s dist >/dev/null) || fail "make dist"
mkdir -p build-ci/deb
tar -xzf "$tarball" -C build-ci/deb
(cd build-ci/deb/tpool-* && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$jobs" \
    dpkg-buildpackage -us -uc -b >../dpkg-buildpackage.log 2>&1) ||
	{ tail -n 60 build-ci/deb/dpkg-buildpackage.log >&2; fail "dpkg-buildpackage"; }
lintian --fail-on error build-ci/deb/*.changes || fail "lintian"
bash tests/debian/smoke.sh build-ci/deb || fail "the Debian packages' smoke test"

step "done"
# Count Check's cases where a test program is a Check runner ("Checks: N,
# Failures: F, Errors: E" in its log), else the program as one test.
pass=0 failed=0
while IFS= read -r trs; do
	log=${trs%.trs}.log
	line=$(grep -h -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" 2>/dev/null | tail -n 1 || true)
	if [[ -n $line ]]; then
		read -r n f e < <(sed -E 's/^[0-9]+%: Checks: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2 \3/' <<<"$line")
		pass=$((pass + n - f - e)); failed=$((failed + f + e))
	elif grep -q '^:test-result: PASS' "$trs"; then
		pass=$((pass + 1))
	elif grep -q -E '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
		failed=$((failed + 1))
	fi
done < <(find build-ci -name '*.trs')
echo "tests: $pass passed, $failed failed"
[[ $failed -eq 0 ]]
