#!/bin/sh
# run.sh -- make check's driver of the Python client's tests: generate the
# messages from proto/tpool.proto with protoc into a temporary copy of the
# package (never into the source tree, which make distcheck makes
# read-only), then run python/tests/test_client.py with unittest against
# the build tree's tpoold and example plugins.
#
# Environment: TP_BUILDDIR (the build tree, from AM_TESTS_ENVIRONMENT),
# srcdir (the automake test harness's); PYTHON (default /usr/bin/python3,
# Debian's, whose python3-protobuf the messages need), PROTOC (default
# protoc).  A missing protoc or python3-protobuf fails the test:
# scripts/setup-debian.sh installs both.
set -eu

: "${TP_BUILDDIR:?TP_BUILDDIR must name the build tree}"
srcdir=${srcdir:-.}
python=${PYTHON:-/usr/bin/python3}
protoc=${PROTOC:-protoc}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
command -v "$protoc" >/dev/null 2>&1 ||
	fail "no $protoc: the Python client's messages are generated with it (apt-get install protobuf-compiler, or scripts/setup-debian.sh)"
command -v "$python" >/dev/null 2>&1 ||
	fail "no $python (apt-get install python3)"
"$python" -c 'import google.protobuf' 2>/dev/null ||
	fail "$python has no protobuf module (apt-get install python3-protobuf, or scripts/setup-debian.sh)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
mkdir "$tmp/tpool"
cp "$srcdir"/python/tpool/*.py "$tmp/tpool/"
rm -f "$tmp/tpool/tpool_pb2.py"
PROTOC=$protoc sh "$srcdir/python/gen.sh" "$tmp/tpool" >/dev/null

TPOOLD=${TPOOLD:-$TP_BUILDDIR/daemon/tpoold}
TPOOL_PLUGIN_DIR=${TPOOL_PLUGIN_DIR:-$TP_BUILDDIR/plugins/.libs}
PYTHONPATH=$tmp${PYTHONPATH:+:$PYTHONPATH}
PYTHONDONTWRITEBYTECODE=1
export TPOOLD TPOOL_PLUGIN_DIR PYTHONPATH PYTHONDONTWRITEBYTECODE
"$python" --version
cd "$srcdir/python/tests"
"$python" -m unittest -v test_client
