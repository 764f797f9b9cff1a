#!/bin/sh
# gen.sh -- generate the protocol's messages for the Python package:
# protoc --python_out of proto/tpool.proto into OUTDIR as tpool_pb2.py
# (default: the package's folder, python/tpool, beside this script).
#
#   sh python/gen.sh [OUTDIR]
#
# PROTOC names another protoc (default: protoc on PATH).  The generated
# module is not kept in git; run this again when tpool.proto changes.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
proto=$here/../proto/tpool.proto
out=${1:-$here/tpool}
protoc=${PROTOC:-protoc}

if ! command -v "$protoc" >/dev/null 2>&1; then
	echo "gen.sh: $protoc not found: install protoc (Debian: apt-get install protobuf-compiler)" >&2
	exit 1
fi
if [ ! -r "$proto" ]; then
	echo "gen.sh: no $proto" >&2
	exit 1
fi
mkdir -p "$out"
"$protoc" -I "$(dirname "$proto")" --python_out="$out" "$proto"
echo "gen.sh: wrote $out/tpool_pb2.py"
