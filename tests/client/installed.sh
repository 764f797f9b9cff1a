#!/bin/sh
# installed.sh -- the client library as a user of it gets it: install the
# build into a temporary DESTDIR, compile tests/client/installed-echo.c
# with nothing but `pkg-config --cflags --libs tpclient` of that install
# (PKG_CONFIG_SYSROOT_DIR, and no path into the source or build tree), run
# it against the build's tpoold on a temporary socket, with the installed
# echo plugin, and check that it ran against the installed libtpclient.so.
# The variables come from tests/client/local.mk (AM_TESTS_ENVIRONMENT).
set -eu

: "${TP_MAKE:?}" "${TP_LIBDIR:?}" "${TP_PLUGINDIR:?}" "${TP_BUILDDIR:?}"
srcdir=${srcdir:-.}
command -v "${PKG_CONFIG:-pkg-config}" >/dev/null 2>&1 || { echo "no pkg-config: skipped"; exit 77; }

tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
root=$tmp/root

# The make running make check hands its jobserver to this script, which
# cannot use it: the nested install runs on its own.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $TP_MAKE -s -C "$TP_BUILDDIR" install DESTDIR="$root" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; echo "FAIL: make install DESTDIR=$root"; exit 1; }

# pkg-config sees the DESTDIR install first, then the system's (for
# libprotobuf-c); the sysroot makes the .pc's paths point into DESTDIR.
sys=$(${PKG_CONFIG:-pkg-config} --variable pc_path pkg-config 2>/dev/null || true)
PKG_CONFIG_LIBDIR="$root$TP_LIBDIR/pkgconfig${sys:+:$sys}"
PKG_CONFIG_PATH=
PKG_CONFIG_SYSROOT_DIR=$root
export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
flags=$(${PKG_CONFIG:-pkg-config} --cflags --libs tpclient)
echo "pkg-config --cflags --libs tpclient: $flags"
# The sanitizers' builds link the program as they built the library.
cp "$srcdir/tests/client/installed-echo.c" "$tmp/echo.c"
(cd "$tmp" && ${CC:-cc} ${TP_SAN_CFLAGS:-} -Wall -Wextra -Werror -o echo echo.c $flags ${TP_SAN_LDFLAGS:-}) ||
	{ echo "FAIL: the client does not build against the installed library"; exit 1; }
unset PKG_CONFIG_LIBDIR PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

LD_LIBRARY_PATH="$root$TP_LIBDIR"
export LD_LIBRARY_PATH
lib=$(ldd "$tmp/echo" | sed -n 's/.*libtpclient\.so\.[0-9]* => \([^ ]*\).*/\1/p')
case $lib in
"$root$TP_LIBDIR"/libtpclient.so.*) echo "libtpclient: $lib" ;;
*) echo "FAIL: the client loads libtpclient from '$lib', not from the install"; exit 1 ;;
esac

# tpoold refuses plugin folders and plugins that others may write.
mkdir -m 0755 "$tmp/plugins"
cp "$root$TP_PLUGINDIR/echo.so" "$tmp/plugins/"
chmod 0644 "$tmp/plugins/echo.so"
sock=$tmp/tpoold.sock
env -u LD_LIBRARY_PATH "$TP_BUILDDIR/daemon/tpoold" -s "$sock" -p "$tmp/plugins" >"$tmp/tpoold.log" 2>&1 &
pid=$!
n=0
while [ ! -S "$sock" ]; do
	n=$((n + 1))
	if [ $n -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		cat "$tmp/tpoold.log"; echo "FAIL: tpoold did not listen on $sock"; exit 1
	fi
	sleep 0.1
done
TPOOL_SOCKET=$sock timeout 30 "$tmp/echo" "hello, installed" ||
	{ cat "$tmp/tpoold.log"; echo "FAIL: the echo job through the installed library"; exit 1; }
echo "ok"
