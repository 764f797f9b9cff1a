#!/bin/sh
# units.sh -- check tpoold.service, tpoold.socket and tpoold-metrics.socket
# with systemd-analyze:
# `verify` must pass (the service pointed at the daemon built here, since
# the installed path does not exist yet), the service must keep peer uids
# apart (no PrivateUsers=) and keep a state directory, and `security
# --offline` must rate the service's exposure at most 2.0 (its figure is
# printed to the test's log).  Skipped (77) only when systemd-analyze is absent or its
# security verb lacks --offline (systemd < 250).
set -eu

command -v systemd-analyze >/dev/null 2>&1 || { echo "no systemd-analyze: skipped"; exit 77; }
srcdir=${srcdir:-.}
service=systemd/tpoold.service
test -f "$service" || { echo "FAIL: $service was not built"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
sed "s|^ExecStart=[^ ]*|ExecStart=$(pwd)/daemon/tpoold|" "$service" >"$tmp/tpoold.service"
cp "$srcdir/systemd/tpoold.socket" "$tmp/tpoold.socket"
cp "$srcdir/systemd/tpoold-metrics.socket" "$tmp/tpoold-metrics.socket"

# What the units promise.
grep -q '^Type=notify$' "$tmp/tpoold.service"
grep -q '^ListenStream=/run/tpool/tpoold.sock$' "$tmp/tpoold.socket"
grep -q "^ExecStart=$(pwd)/daemon/tpoold --plugin-dir=/.* --state-dir=/var/lib/tpool$" "$tmp/tpoold.service"
grep -q '^StateDirectory=tpool$' "$tmp/tpoold.service"
grep -q '^WatchdogSec=' "$tmp/tpoold.service"
# The metrics socket: loopback, named as tpoold looks for it, and let
# through the service's address filter.
grep -q '^ListenStream=127.0.0.1:' "$tmp/tpoold-metrics.socket"
grep -q '^FileDescriptorName=metrics$' "$tmp/tpoold-metrics.socket"
grep -q '^IPAddressAllow=localhost$' "$tmp/tpoold.service"
# tpoold tells users apart by their uids: in a private user namespace
# every other user reads as the overflow uid (and tpoold refuses them).
if grep -q '^PrivateUsers=' "$tmp/tpoold.service"; then
	echo "FAIL: tpoold.service sets PrivateUsers= (users would fold into one uid)"
	exit 1
fi
if grep -q '@[a-z]*@' "$tmp/tpoold.service"; then
	echo "FAIL: unsubstituted @variable@ in tpoold.service"
	exit 1
fi

echo "systemd-analyze verify:"
systemd-analyze verify --man=no "$tmp/tpoold.service" "$tmp/tpoold.socket" \
    "$tmp/tpoold-metrics.socket"

# --offline appeared in systemd 250; without it the score cannot be taken
# from a unit file here, and only then is this part skipped.
if ! systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
	echo "systemd-analyze security has no --offline: the exposure check is skipped"
	exit 77
fi
out=$(systemd-analyze security --offline=yes --no-pager "$tmp/tpoold.service" 2>&1) || {
	echo "FAIL: systemd-analyze security --offline failed:"
	echo "$out"
	exit 1
}
echo "$out" | grep -v '✓' || true
level=$(echo "$out" | sed -n 's/.*Overall exposure level for tpoold.service: \([0-9.]*\).*/\1/p')
echo "systemd-analyze security: exposure $level"
test -n "$level" || { echo "FAIL: no exposure level in the output"; exit 1; }
awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || { echo "FAIL: exposure $level > 2.0"; exit 1; }
echo "ok"
