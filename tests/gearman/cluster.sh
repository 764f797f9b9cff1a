#!/bin/bash
# cluster.sh -- tpoold as a Gearman worker, against a real gearmand:
# a gearmand on a free loopback port (killed by its PID at the end) and
# three tpoold instances (each its own socket) serving it.  Checked:
#   - the stock `gearman` client (Debian's gearman-tools) runs plugins
#     (echo, sha256 of "abc"), and a failing job fails with its message;
#   - tpctl --gearman submit: --wait (the result, progress), background
#     (a job handle), a failure's exit status;
#   - jobs spread over all three instances (each took some);
#   - a tpoold killed (SIGKILL) while it runs a Gearman job: gearmand gives
#     the job to another instance, and the client gets one result;
#   - gearmand killed and started again on its port: the workers reconnect
#     and serve without a tpoold restart;
#   - a tpoold whose gearmand cannot be reached at start serves local
#     clients, reports the failures in stats, metrics and its log, and
#     connects once gearmand is there;
#   - SIGHUP after a plugin is removed: its function is no longer
#     registered (gearadmin --status).
# Run from the build folder (make check).  With $TPOOL_TEST_WRAPPER
# (make check-daemon-valgrind), each tpoold runs under it (a leak or an
# error makes the daemon exit non-zero, which fails its clean stop).
set -eu
SECONDS=0
note() { echo "   [$SECONDS s] $*"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
command -v gearmand >/dev/null 2>&1 || fail "gearmand is not installed (apt-get install gearman-job-server)"
command -v gearman >/dev/null 2>&1 || fail "gearman is not installed (apt-get install gearman-tools)"
command -v gearadmin >/dev/null 2>&1 || fail "gearadmin is not installed (apt-get install gearman-tools)"

top=$(pwd)
tpoold=$top/daemon/tpoold
tpctl=$top/client/tpctl
[ -x "$tpoold" ] && [ -x "$tpctl" ] || fail "build tpoold and tpctl first"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tpool-gearman.XXXXXX")
gpid=
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	[ -n "$gpid" ] && kill -TERM "$gpid" 2>/dev/null || true
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	[ -n "$gpid" ] && wait "$gpid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# Wait up to $1 seconds for the command after it to succeed.
until_ok() {
	local t=$1 i=0; shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le $((t * 10)) ] || return 1
		sleep 0.1
	done
}

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_gearmand() {	# start_gearmand PORT
	gearmand --listen=127.0.0.1 --port="$1" --threads=1 \
	    --log-file="$tmp/gearmand.log" --verbose=ERROR &
	gpid=$!
	until_ok 10 gearadmin -h 127.0.0.1 -p "$1" --status ||
	    fail "gearmand did not start on port $1"
}

# --- the options' checks
set +e
out=$("$tpoold" -s "$tmp/x.sock" --gearman-pool bogus --check-config 2>&1); rc=$?
set -e
[ $rc -ne 0 ] && echo "$out" | grep -q "not unbound or percpu" ||
	fail "--gearman-pool bogus: exit $rc, '$out'"
set +e
out=$("$tpoold" -s "$tmp/x.sock" --plugin echo:gearman-priority=200 --check-config 2>&1); rc=$?
set -e
[ $rc -ne 0 ] && echo "$out" | grep -q "is not a priority" ||
	fail "--plugin echo:gearman-priority=200: exit $rc, '$out'"
echo "ok: bad --gearman-pool and gearman-priority values are refused ($SECONDS s)"

port=$(free_port)
start_gearmand "$port"
G=127.0.0.1:$port

# The plugins, copied so that one can be taken away (the SIGHUP case).
mkdir -p "$tmp/plugins"
cp "$top"/plugins/.libs/echo.so "$top"/plugins/.libs/sha256.so \
    "$top"/plugins/.libs/sleep.so "$top"/plugins/.libs/fail.so "$tmp/plugins/"
chmod 755 "$tmp/plugins"

# start_tpoold NAME GEARMAN-SERVERS [OPTIONS]
start_tpoold() {
	local name=$1 servers=$2; shift 2
	# shellcheck disable=SC2086 # the wrapper is words
	${TPOOL_TEST_WRAPPER:+"$top/libtool" --mode=execute $TPOOL_TEST_WRAPPER} \
	    "$tpoold" -s "$tmp/$name.sock" -p "$tmp/plugins" --gearman "$servers" \
	    --gearman-jobs 1 "$@" >"$tmp/$name.log" 2>&1 &
	pids+=($!)
	eval "pid_$name=\$!"
	until_ok 60 "$tpctl" -s "$tmp/$name.sock" stats ||
	    { cat "$tmp/$name.log"; fail "tpoold $name did not start"; }
}
stat_of() {	# stat_of NAME FIELD: a field of the gearman stats (JSON)
	"$tpctl" -s "$tmp/$1.sock" --json stats |
	    sed -n "s/.*\"gearman\":{[^}]*\"$2\":\([0-9]*\).*/\1/p"
}
connected() { [ "$(stat_of "$1" connected)" = "$(stat_of "$1" slots)" ]; }

# Each slot is a connection to the daemon: slots that would take every
# connection of --max-connections stop the start.
set +e
out=$(timeout 30 "$tpoold" -s "$tmp/x.sock" -p "$tmp/plugins" --gearman "$G" \
    --gearman-jobs 4 --max-connections 4 2>&1); rc=$?
set -e
[ $rc -ne 0 ] && echo "$out" | grep -q "would take every connection of --max-connections" ||
	fail "--gearman-jobs 4 --max-connections 4: exit $rc, '$out'"
echo "ok: slots that would take every connection stop the start ($SECONDS s)"

# A daemon that is not root: its slots connect as its own user, which
# --max-connections-per-user does not count (3 slots, a limit of 2).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
    nobody=$(id -u nobody 2>/dev/null); then
	# The build tree may be where nobody cannot reach (a clone under
	# /root, a mktemp -d): a copy of the daemon and of libtp, beside its
	# socket.  Not under the test wrapper (valgrind's files are root's).
	mkdir "$tmp/nobody"
	if [ -x "$top/daemon/.libs/tpoold" ]; then
		cp "$top/daemon/.libs/tpoold" "$top"/libtp/.libs/libtp.so* "$tmp/nobody/"
	else
		cp "$tpoold" "$tmp/nobody/"
	fi
	chown nobody "$tmp/nobody"
	chmod 711 "$tmp"
	setpriv --reuid="$nobody" --regid="$(id -g nobody)" --clear-groups -- \
	    env LD_LIBRARY_PATH="$tmp/nobody" "$tmp/nobody/tpoold" \
	    -s "$tmp/nobody/n.sock" -p "$tmp/plugins" --gearman "$G" \
	    --gearman-jobs 3 --max-connections-per-user 2 >"$tmp/n.log" 2>&1 &
	npid=$!
	pids+=("$npid")
	until_ok 60 "$tpctl" -s "$tmp/nobody/n.sock" stats ||
	    { cat "$tmp/n.log"; fail "tpoold as nobody did not start"; }
	until_ok 20 connected nobody/n ||
	    { cat "$tmp/n.log"; "$tpctl" -s "$tmp/nobody/n.sock" stats; fail "not every slot of tpoold as nobody connected"; }
	grep -q "max-connections-per-user" "$tmp/n.log" &&
	    { cat "$tmp/n.log"; fail "a slot of tpoold as nobody was refused"; }
	kill -TERM "$npid"
	wait "$npid" || { cat "$tmp/n.log"; fail "tpoold as nobody did not stop cleanly"; }
	echo "ok: a daemon that is not root serves 3 slots over a limit of 2 connections per user ($SECONDS s)"
else
	echo "skipped: a daemon that is not root (needs root, setpriv and a user nobody)"
fi

# sha256 on a per-CPU pool at priority 5; sleep limited to 3 s.
for n in a b c; do
	start_tpoold "$n" "$G" --plugin sha256:gearman-pool=percpu,gearman-priority=5 \
	    --plugin sleep:job-timeout=3s
done
for n in a b c; do
	until_ok 20 connected "$n" || fail "tpoold $n did not connect to gearmand"
done
until_ok 10 sh -c "gearadmin -h 127.0.0.1 -p $port --status | grep -q '^tpool.echo	.*	3\$'" ||
	{ gearadmin -h 127.0.0.1 -p "$port" --status; fail "tpool.echo is not registered by three workers"; }
echo "ok: three tpoold instances registered with gearmand on port $port ($SECONDS s)"

# --- the stock gearman client
out=$(printf hello | timeout 20 gearman -h 127.0.0.1 -p "$port" -f tpool.echo)
[ "$out" = hello ] || fail "gearman -f tpool.echo gave '$out'"
out=$(printf abc | timeout 20 gearman -h 127.0.0.1 -p "$port" -f tpool.sha256)
[ "$out" = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad ] ||
	fail "gearman -f tpool.sha256 gave '$out'"
set +e
out=$(printf boom | timeout 20 gearman -h 127.0.0.1 -p "$port" -f tpool.fail 2>/dev/null)
rc=$?
set -e
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "a failing job through gearman exited $rc"
case $out in *boom*) ;; *) fail "a failed job's message did not come back: '$out'";; esac
found=
for n in a b c; do
	if "$tpctl" -s "$tmp/$n.sock" status | grep -E -q 'sha256 +gearman H:[^ ]+ +cpu [0-9]+ +5 '; then found=$n; fi
done
[ -n "$found" ] || { for n in a b c; do "$tpctl" -s "$tmp/$n.sock" status; done; fail "the sha256 job did not run on a per-CPU pool at priority 5"; }
set +e
out=$(printf 6000 | timeout 20 gearman -h 127.0.0.1 -p "$port" -f tpool.sleep 2>/dev/null)
rc=$?
set -e
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "a job past its time limit exited $rc through gearman"
case $out in *"timed out"*) ;; *) fail "a timed-out job's message did not come back: '$out'";; esac
echo "ok: the gearman client runs echo and sha256 (per-CPU pool, priority 5, as configured); a failure and a time limit come back as failures ($SECONDS s)"

# --- tpctl --gearman
out=$(timeout 20 "$tpctl" --gearman "$G" submit --wait echo "through tpctl")
[ "$out" = "through tpctl" ] || fail "tpctl --gearman submit --wait gave '$out'"
out=$(timeout 20 "$tpctl" --gearman "$G" --json submit --wait sleep 300)
[ "$out" = '{"state":"JOB_SUCCEEDED","result":"slept 300 ms"}' ] ||
	fail "tpctl --gearman --json submit --wait sleep gave '$out'"
handle=$(timeout 20 "$tpctl" --gearman "$G" submit echo background)
case $handle in H:*) ;; *) fail "a background submit printed '$handle'";; esac
set +e
timeout 20 "$tpctl" --gearman "$G" submit --wait fail boom 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "tpctl --gearman submit --wait fail exited $rc"
grep -q boom "$tmp/err" || fail "tpctl did not show the failure: $(cat "$tmp/err")"
set +e
"$tpctl" --gearman "$G" status 2>/dev/null; rc=$?
set -e
[ $rc -eq 2 ] || fail "tpctl --gearman status exited $rc (a usage error expected)"
echo "ok: tpctl --gearman submit (waited, JSON, background, failed) ($SECONDS s)"

# --- jobs spread over all three (one job at a time each)
for i in $(seq 1 12); do
	printf 150 | gearman -h 127.0.0.1 -p "$port" -f tpool.sleep -b >/dev/null
done
until_ok 30 sh -c "[ \$(gearadmin -h 127.0.0.1 -p $port --status | awk '\$1 == \"tpool.sleep\" { print \$2 }') = 0 ]" ||
	fail "the background jobs did not all run"
for n in a b c; do
	done_n=$(stat_of "$n" completed)
	[ "${done_n:-0}" -ge 2 ] || fail "tpoold $n completed only ${done_n:-0} Gearman jobs: not spread"
	echo "   tpoold $n: $done_n Gearman jobs completed"
done
"$tpctl" -s "$tmp/a.sock" status | grep -q "gearman H:" ||
	fail "tpctl status does not name a Gearman job's origin"
echo "ok: jobs spread over the three instances, named by their Gearman handle ($SECONDS s)"

# --- a host killed while it runs a Gearman job
timeout 60 "$tpctl" --gearman "$G" submit --wait sleep 2000 >"$tmp/killed.out" 2>"$tmp/killed.err" &
client=$!
victim=
for _ in $(seq 1 100); do
	for n in a b c; do
		if [ "$(stat_of "$n" running)" = 1 ]; then victim=$n; break 2; fi
	done
	sleep 0.1
done
if [ -z "$victim" ]; then
	# What each side saw, for a failure that names its cause.
	kill -0 "$client" 2>/dev/null && echo "the client still runs" ||
	    echo "the client ended: '$(cat "$tmp/killed.out")' '$(cat "$tmp/killed.err")'"
	gearadmin -h 127.0.0.1 -p "$port" --status || true
	for n in a b c; do
		echo "--- tpoold $n: $("$tpctl" -s "$tmp/$n.sock" --json stats 2>&1 |
		    grep -o '"gearman":{[^}]*}')"
		tail -20 "$tmp/$n.log"
	done
	fail "no instance took the 2 s job"
fi
eval "kill -KILL \$pid_$victim"
echo "   killed tpoold $victim while it ran the job"
wait "$client" || fail "the client of the killed host's job failed: $(cat "$tmp/killed.err")"
[ "$(cat "$tmp/killed.out")" = "slept 2000 ms" ] ||
	fail "the job of the killed host gave '$(cat "$tmp/killed.out")'"
echo "ok: gearmand gave the killed host's job to another; the client got one result ($SECONDS s)"

# --- gearmand restarted on its port
kill -TERM "$gpid"; wait "$gpid" 2>/dev/null || true; gpid=
live=
for n in a b c; do [ "$n" = "$victim" ] || live="$live $n"; done
for n in $live; do
	until_ok 20 sh -c "[ \"\$('$tpctl' -s '$tmp/$n.sock' --json stats | sed -n 's/.*\"connected\":\([0-9]*\).*/\1/p')\" = 0 ]" ||
		fail "tpoold $n did not notice gearmand's end"
done
start_gearmand "$port"
for n in $live; do
	until_ok 20 connected "$n" || fail "tpoold $n did not reconnect to gearmand"
done
out=$(timeout 20 "$tpctl" --gearman "$G" submit --wait echo again)
[ "$out" = again ] || fail "after gearmand's restart: '$out'"
echo "ok: after gearmand's restart the instances serve again ($SECONDS s)"

# --- gearmand unreachable at start
dead=$(free_port)
start_tpoold d "127.0.0.1:$dead"
out=$(timeout 20 "$tpctl" -s "$tmp/d.sock" submit --wait echo local)
[ "$out" = local ] || fail "a local submit to tpoold d gave '$out'"
until_ok 10 sh -c "[ \$('$tpctl' -s '$tmp/d.sock' --json stats | sed -n 's/.*\"connect_failures\":\([0-9]*\).*/\1/p') -ge 1 ]" ||
	fail "tpoold d's stats show no connect failure"
[ "$(stat_of d connected)" = 0 ] || fail "tpoold d counts a connected slot"
"$tpctl" -s "$tmp/d.sock" metrics | grep -q '^tpool_gearman_connect_failures_total [1-9]' ||
	fail "tpoold d's metrics show no connect failure"
grep -q "cannot reach 127.0.0.1:$dead" "$tmp/d.log" || fail "tpoold d did not log the failure"
echo "ok: an unreachable gearmand is retried and reported, local clients served ($SECONDS s)"

# --- SIGHUP drops the function of a plugin that went away
rm "$tmp/plugins/fail.so"
for n in $live; do eval "kill -HUP \$pid_$n"; done
until_ok 20 sh -c "! gearadmin -h 127.0.0.1 -p $port --status | grep -q '^tpool.fail	[0-9]*	[0-9]*	[1-9]'" ||
	{ gearadmin -h 127.0.0.1 -p "$port" --status; fail "tpool.fail is still registered after SIGHUP"; }
gearadmin -h 127.0.0.1 -p "$port" --status | grep -q '^tpool.echo	[0-9]*	[0-9]*	[1-9]' ||
	fail "tpool.echo is no longer registered after SIGHUP"
echo "ok: SIGHUP unregisters the function of a removed plugin ($SECONDS s)"

# --- a clean stop of every instance left
for n in $live d; do
	eval "p=\$pid_$n"
	kill -TERM "$p"
	wait "$p" || fail "tpoold $n exited $? on SIGTERM: $(tail -5 "$tmp/$n.log")"
done
pids=()
echo "PASS"
