#!/usr/bin/env bash
# The main job, from a fresh clone on Debian 12 (as root, so that missing
# packages can be installed): build tpool, show libtp's pools, then start
# tpoold on a private socket with the example plugins and a job store, drive
# it with tpctl (plugins, a CPU-bound sha256 job, a sleep job cancelled while
# running and one cancelled while queued, stats and metrics, a delayed job
# that outlives a restart of the daemon) and stop it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash scripts/setup-debian.sh
echo "demo: building in build/"
if [[ ! -f build/Makefile ]]; then
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
	mkdir -p build
	(cd build && "$top/configure" -q)
fi
make -C build -s -j"$(nproc)" >/dev/null
b=$top/build

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

echo
echo "=== libtp: an unbound pool, the per-CPU pools, a cancel"
run "$b/docs/examples/libtp-demo"

echo
echo "=== tpoold on a private socket with the example plugins"
dir=$(mktemp -d /tmp/tpool-demo.XXXXXX)
sock=$dir/tpoold.sock
export TPOOL_SOCKET=$sock
daemon_pid=
cleanup() {
	[[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
# One worker per pool, so that a second job on the same pool stays queued;
# a job store in the demo's folder, so that jobs outlive a restart.
mkdir -m 0700 "$dir/state"
shown=0
start_daemon() {
	say "tpoold -s $sock -p $b/plugins/.libs --max-threads 1 --state-dir $dir/state &"
	"$b/daemon/tpoold" -s "$sock" -p "$b/plugins/.libs" --max-threads 1 \
	    --state-dir "$dir/state" 2>>"$dir/tpoold.log" &
	daemon_pid=$!
	for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.05; done
	[[ -S $sock ]] || { cat "$dir/tpoold.log"; echo "demo: tpoold did not start" >&2; exit 1; }
	show_log
}
show_log() {
	tail -n +$((shown + 1)) "$dir/tpoold.log" | sed 's/^/    tpoold: /'
	shown=$(wc -l <"$dir/tpoold.log")
}
stop_daemon() {
	say "kill -TERM $daemon_pid    # $1"
	kill -TERM "$daemon_pid"
	wait "$daemon_pid" && echo "tpoold exited with status 0"
	daemon_pid=
	show_log
}
start_daemon

tpctl=$b/client/tpctl
run "$tpctl" plugins
run "$tpctl" submit --wait sha256 "hello, tpool"
run "$tpctl" submit --wait --cpu any --name sha-percpu sha256 "hello, tpool"

# A long sleep job on the unbound pool, and a second one queued behind it.
say "$tpctl submit --name long sleep 5000      # runs"
long=$("$tpctl" submit --name long sleep 5000)
echo "$long"
say "$tpctl submit --name behind sleep 5000    # queued behind it (one worker)"
behind=$("$tpctl" submit --name behind sleep 5000)
echo "$behind"
sleep 0.5
run "$tpctl" status
status=0
say "$tpctl cancel $behind                      # queued: guaranteed never to run"
"$tpctl" cancel "$behind" || status=$?
say "$tpctl cancel --wait $long                 # running: too late, the plugin is asked to stop"
"$tpctl" cancel --wait "$long" || status=$?
run "$tpctl" status "$long"
run "$tpctl" stats
say "$tpctl metrics | grep -E '^tpool_jobs_(accepted|ended)_total' | grep -v ' 0\$'"
"$tpctl" metrics | grep -E '^tpool_jobs_(accepted|ended)_total' | grep -v ' 0$'

# A job delayed by 3 s, then a restart: the job store keeps it.
say "$tpctl submit --delay 3s --name later echo 'still here after a restart'"
later=$("$tpctl" submit --delay 3s --name later echo "still here after a restart")
echo "$later"
stop_daemon "tpoold stops; its job store keeps the scheduled job"
start_daemon
run "$tpctl" status "$later"
run "$tpctl" watch "$later"
stop_daemon "tpoold stops"
exit 0
