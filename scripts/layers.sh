#!/bin/sh
# layers.sh -- check that tpoold's files call each other only downwards.
#
#   scripts/layers.sh [BUILDDIR]     (default: build)
#
# For each object of daemon/ (libtpoold's and main's), nm(1) gives the
# symbols it defines and those it uses; a use of a symbol another daemon
# file defines is an edge "this file calls (or reads) that one".  Each
# file has a rank, below: higher layers have higher ranks, and an edge
# must go from a higher rank to a strictly lower one.  So no file calls a
# file of a layer above it, no two files of one rank call each other,
# and there can be no cycle.  A lower file tells a higher one only
# through a hook it was handed (a function pointer: no symbol).  The
# drawing is in docs/architecture.md, "Layers"; keep both true.
#
# Exit 0 when every edge goes down, 1 (listing the bad edges) otherwise,
# 77 (skipped) when the objects are not built.  -v prints every edge.
set -eu

verbose=0
if [ "${1:-}" = "-v" ]; then
	verbose=1
	shift
fi
builddir=${1:-build}

# file rank   (the layers, top to bottom); LAYERS_RANKS replaces it (the
# test uses that to see the check fail).
ranks=${LAYERS_RANKS:-'
main		90
daemon		80
dispatch	70
gearman		62
req-hello	60
req-submit	60
req-cancel	60
req-status	60
req-info	60
metrics-http	58
exposition	57
req		55
validate	55
store		52
listen		50
follow		50
msg		45
conn		40
jobs		30
fairq		28
run		25
jobid		25
pools		20
plugin		20
isolate		18
safepath	15
budget		12
options		10
grant		8
metrics		6
audit		11
log		5
'}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/layers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# The object of each file: libtool's non-PIC copy or its .libs one.
: >"$tmp/objs"
echo "$ranks" | while read -r f r; do
	[ -n "$f" ] || continue
	obj=
	for o in "$builddir/daemon/libtpoold_la-$f.o" \
	    "$builddir/daemon/.libs/libtpoold_la-$f.o" \
	    "$builddir/daemon/tpoold-$f.o" "$builddir/daemon/$f.o"; do
		if [ -f "$o" ]; then
			obj=$o
			break
		fi
	done
	if [ -z "$obj" ]; then
		echo "layers.sh: no object for daemon/$f.c under $builddir" >&2
		exit 77
	fi
	echo "$f $r $obj" >>"$tmp/objs"
done || exit $?

# Who defines what: "symbol file".
while read -r f r obj; do
	nm -g --defined-only "$obj" | awk -v f="$f" 'NF >= 3 { print $3, f }'
done <"$tmp/objs" | sort >"$tmp/defs"

# Every edge: "from rank_from to rank_to symbol".
while read -r f r obj; do
	nm -u "$obj" | awk '{ print $NF }' | sort -u |
	    join - "$tmp/defs" | awk -v f="$f" '{ print f, $2, $1 }'
done <"$tmp/objs" >"$tmp/edges0"
awk 'NR == FNR { rank[$1] = $2; next }
    { print $1, rank[$1], $2, rank[$2], $3 }' "$tmp/objs" "$tmp/edges0" \
    >"$tmp/edges"

if [ "$verbose" = 1 ]; then
	awk '{ print $1 " -> " $3 "  (" $5 ")" }' "$tmp/edges"
fi
bad=$(awk '$2 <= $4 { print "  " $1 " (" $2 ") -> " $3 " (" $4 "): " $5 }' \
    "$tmp/edges")
nedges=$(awk '{ print $1, $3 }' "$tmp/edges" | sort -u | wc -l)
if [ -n "$bad" ]; then
	echo "layers.sh: calls that do not go down a layer:"
	echo "$bad"
	exit 1
fi
echo "layers.sh: $nedges file-to-file edges among $(wc -l <"$tmp/objs")" \
    "files, all downwards"
