#!/usr/bin/env bash
# The Debian packages, installed and used: given the folder where
# dpkg-buildpackage wrote the .debs, install them with dpkg, then
#
#   - run the installed tpoold (in the foreground, outside systemd, on a
#     private socket, with the installed example plugins and a job store)
#     and drive it with the installed tpctl: the plugins, an echo job, a
#     sha256 job, a failing job, a sleeping job cancelled while it runs;
#     stop it by its pid;
#   - build and run programs against the -dev packages as their users
#     would, with pkg-config: the libtp example shipped in libtp-dev
#     (libtp), a client of the running daemon (tpclient), a plugin
#     (tpool-plugin), which a second tpoold then runs;
#   - check the units as installed (systemd-analyze verify, which needs no
#     running systemd) and that installing enabled tpoold.socket;
#
# and purge the packages, leaving the machine as it was.  Run as root on
# Debian 12:
#
#   bash tests/debian/smoke.sh DEBDIR
#
# scripts/test.sh runs it on the packages it builds ("Debian packages").
set -euo pipefail

pkgs=(libtp0 libtp-dev libtpclient0 libtpclient-dev tpool-plugin-dev tpoold)

die() { echo "smoke: FAIL: $*" >&2; exit 1; }
say() { echo "smoke: $*"; }

[[ $# -eq 1 && -d $1 ]] || { echo "usage: $0 DEBDIR (where the .debs are)" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || die "run as root: it installs and purges packages"
debdir=$(cd "$1" && pwd)

debs=()
for p in "${pkgs[@]}"; do
	f=$(find "$debdir" -maxdepth 1 -name "${p}_*.deb" | sort | tail -n 1)
	[[ -n $f ]] || die "no ${p}_*.deb in $debdir"
	debs+=("$f")
done
# Purging at the end must not remove what someone installed before.
for p in "${pkgs[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$'; then
		die "$p is installed already; remove it first (the test purges what it installs)"
	fi
done

dir=$(mktemp -d /tmp/tpool-deb-smoke.XXXXXX)
daemon_pid=
installed=no
cleanup() {
	local rc=$?
	if [[ -n $daemon_pid ]]; then
		kill -KILL "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	if ((rc != 0)) && [[ -f $dir/tpoold.log ]]; then
		echo "--- tpoold's log" >&2
		tail -n 40 "$dir/tpoold.log" >&2
	fi
	if [[ $installed == yes ]]; then
		say "dpkg --purge ${pkgs[*]}"
		dpkg --purge "${pkgs[@]}" >"$dir/purge.log" 2>&1 || {
			cat "$dir/purge.log" >&2
			echo "smoke: FAIL: dpkg --purge" >&2
			rc=1
		}
	fi
	rm -rf "$dir"
	exit "$rc"
}
trap cleanup EXIT

say "dpkg -i ${debs[*]##*/}"
installed=yes
if ! dpkg -i "${debs[@]}" >"$dir/install.log" 2>&1; then
	cat "$dir/install.log" >&2
	# Dependencies missing: what apt-get adds for them stays installed.
	say "dpkg -i failed; apt-get install -f for the dependencies"
	DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq --no-install-recommends ||
		die "the packages do not install"
fi
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" | grep -q ' installed$' || die "$p is not installed"
done

# --- where things are --------------------------------------------------
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
unitdir=/lib/systemd/system
plugindir=$(pkg-config --variable=plugindir tpool-plugin) || die "pkg-config tpool-plugin"
[[ $plugindir == /usr/lib/$multiarch/tpool/plugins ]] ||
	die "tpool-plugin.pc names the plugin folder $plugindir, not /usr/lib/$multiarch/tpool/plugins"
for f in /usr/sbin/tpoold /usr/bin/tpctl /usr/libexec/tpool/tpoold-worker \
    "$plugindir"/{echo,sleep,fail,sha256}.so \
    "$unitdir"/{tpoold.service,tpoold.socket,tpoold-metrics.socket} \
    /usr/share/tpool/tpoold.conf.sample /usr/share/tpool/tpool.proto \
    /usr/include/libtp/threadpool.h /usr/include/tpool/{plugin.h,tpclient.h,tpool.pb-c.h,names.h} \
    /usr/share/doc/tpool/examples/libtp-demo.c /usr/share/doc/tpool/protocol.md; do
	[[ -e $f ]] || die "$f is not installed"
done
for m in man1/tpctl.1 man3/libtp.3 man3/tpclient.3 man7/tpool-plugin.7 man8/tpoold.8; do
	[[ -e /usr/share/man/$m.gz ]] || die "the man page $m is not installed"
done
[[ -e /etc/tpool/tpoold.conf ]] && die "/etc/tpool/tpoold.conf is installed; only the sample should be"
grep -q "^ExecStart=/usr/sbin/tpoold --plugin-dir=$plugindir " "$unitdir/tpoold.service" ||
	die "tpoold.service does not start /usr/sbin/tpoold with $plugindir"

# --- the units -----------------------------------------------------------
# dh_installsystemd's postinst enables tpoold.socket even where systemd is
# not running (it makes the link), and only that unit.
[[ -L /etc/systemd/system/sockets.target.wants/tpoold.socket ]] ||
	die "installing did not enable tpoold.socket"
for u in multi-user.target.wants/tpoold.service sockets.target.wants/tpoold-metrics.socket; do
	[[ -L /etc/systemd/system/$u ]] && die "installing enabled ${u#*/}; only tpoold.socket should be"
done
say "systemd-analyze verify the installed units"
systemd-analyze verify "$unitdir/tpoold.service" "$unitdir/tpoold.socket" \
    "$unitdir/tpoold-metrics.socket" >"$dir/verify.log" 2>&1 || {
	cat "$dir/verify.log" >&2
	die "systemd-analyze verify rejects the installed units"
}
if [[ -s $dir/verify.log ]]; then
	cat "$dir/verify.log" >&2
	die "systemd-analyze verify warns about the installed units"
fi

# --- the daemon ----------------------------------------------------------
sock=$dir/tpoold.sock
export TPOOL_SOCKET=$sock
start_daemon() {	# start_daemon PLUGINDIR STATEDIR
	mkdir -m 0700 "$2"
	/usr/sbin/tpoold -s "$sock" -p "$1" --state-dir "$2" \
	    --shutdown-grace 2s 2>>"$dir/tpoold.log" &
	daemon_pid=$!
	for _ in $(seq 200); do [[ -S $sock ]] && return 0; sleep 0.05; done
	die "tpoold did not create its socket $sock in 10 s"
}
stop_daemon() {
	kill -TERM "$daemon_pid"
	local rc=0
	wait "$daemon_pid" || rc=$?
	daemon_pid=
	((rc == 0)) || die "tpoold exited with status $rc on SIGTERM"
}

say "/usr/sbin/tpoold -s $sock -p $plugindir --state-dir $dir/state &"
start_daemon "$plugindir" "$dir/state"

out=$(tpctl plugins) || die "tpctl plugins"
for p in echo sleep fail sha256; do
	grep -qw "$p" <<<"$out" || die "the daemon did not load the $p plugin: $out"
done

out=$(tpctl submit --wait echo "hello, tpool") || die "tpctl submit --wait echo (exit status $?)"
[[ $out == "hello, tpool" ]] || die "echo answered '$out'"
say "echo job: $out"

want=$(printf '%s' "hello, tpool" | sha256sum | cut -d' ' -f1)
out=$(tpctl submit --wait sha256 "hello, tpool") || die "tpctl submit --wait sha256 (exit status $?)"
[[ $out == "$want" ]] || die "sha256 answered '$out', sha256sum says '$want'"
say "sha256 job: $out"

rc=0
tpctl submit --wait fail "no" >/dev/null 2>&1 || rc=$?
((rc == 1)) || die "a job of the fail plugin gave tpctl exit status $rc, not 1 (failed)"

job=$(tpctl submit sleep 60000) || die "tpctl submit sleep"
for _ in $(seq 200); do
	tpctl --json status "$job" | grep -q '"state":"running"' && break
	sleep 0.05
done
tpctl --json status "$job" | grep -q '"state":"running"' || die "the sleep job $job did not start"
out=$(tpctl --json cancel --wait "$job") || die "tpctl cancel --wait $job (exit status $?)"
{ grep -q '"result":"too-late"' <<<"$out" && grep -q '"state":"cancelled"' <<<"$out"; } ||
	die "cancelling the running sleep job said: $out"
say "sleep job cancelled while running"

# --- the -dev packages, as their users build with them -----------------
cc=${CC:-cc}
cat >"$dir/client.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <tpool/tpclient.h>

int
main(int argc, char **argv)
{
	struct tpc *c;
	Tpool__JobInfo *job;
	uint64_t id;
	int error;

	if (argc != 2)
		return 2;
	if ((error = tpc_connect(argv[1], &c)) != 0) {
		fprintf(stderr, "connect: %s\n", tpc_strerror(error));
		return 1;
	}
	(void)tpc_set_timeout(c, 10000);
	if ((error = tpc_submit(c, TPC_SUBMIT_ARGS("echo", "from C", 6), &id)) != 0 ||
	    (error = tpc_wait_job(c, id, &job, NULL, NULL)) != 0) {
		fprintf(stderr, "echo: %s\n", tpc_strerror(error));
		tpc_free(c);
		return 1;
	}
	printf("%s %.*s\n", tp_state_name(job->state), (int)job->result.len,
	    (const char *)job->result.data);
	tpool__job_info__free_unpacked(job, NULL);
	tpc_free(c);
	return 0;
}
EOF
say "cc client.c \$(pkg-config --cflags --libs tpclient)"
# shellcheck disable=SC2046
"$cc" -Wall -Wextra -Werror -o "$dir/client" "$dir/client.c" $(pkg-config --cflags --libs tpclient) ||
	die "a client does not build with pkg-config tpclient"
out=$("$dir/client" "$sock") || die "the client built on libtpclient failed"
[[ $out == "succeeded from C" ]] || die "the client built on libtpclient printed '$out'"
stop_daemon
say "tpoold stopped by its pid"

say "cc libtp-demo.c \$(pkg-config --cflags --libs libtp)"
# shellcheck disable=SC2046
"$cc" -Wall -Wextra -Werror -o "$dir/libtp-demo" /usr/share/doc/tpool/examples/libtp-demo.c \
    $(pkg-config --cflags --libs libtp) || die "libtp's example does not build with pkg-config libtp"
"$dir/libtp-demo" >"$dir/libtp-demo.out" 2>&1 || {
	cat "$dir/libtp-demo.out" >&2
	die "libtp's example, built on the installed libtp, failed"
}

mkdir -m 0755 "$dir/plugins"
cat >"$dir/upper.c" <<'EOF'
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <tpool/plugin.h>

static int
upper_run(struct tp_plugin_ctx *ctx)
{
	char *out;
	size_t i;
	int error;

	if ((out = malloc(ctx->ctx_input_len + 1)) == NULL)
		return ENOMEM;
	for (i = 0; i < ctx->ctx_input_len; i++)
		out[i] = (char)toupper(ctx->ctx_input[i]);
	error = tp_plugin_set_result(ctx, out, ctx->ctx_input_len);
	free(out);
	return error;
}

TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "upper",
	.tpp_description = "the input in upper case",
	.tpp_run = upper_run,
};
EOF
say "cc -shared upper.c \$(pkg-config --cflags tpool-plugin)"
# shellcheck disable=SC2046
"$cc" -Wall -Wextra -Werror -shared -fPIC -o "$dir/plugins/upper.so" "$dir/upper.c" \
    $(pkg-config --cflags tpool-plugin) || die "a plugin does not build with pkg-config tpool-plugin"
start_daemon "$dir/plugins" "$dir/state-upper"
out=$(tpctl submit --wait upper "shout") || die "the plugin built on tpool-plugin-dev failed (exit status $?)"
[[ $out == SHOUT ]] || die "the plugin built on tpool-plugin-dev answered '$out'"
stop_daemon
say "a plugin built on tpool-plugin-dev ran"

# --- purge -----------------------------------------------------------------
say "dpkg --purge ${pkgs[*]}"
dpkg --purge "${pkgs[@]}" >"$dir/purge.log" 2>&1 || { cat "$dir/purge.log" >&2; die "dpkg --purge"; }
installed=no
for p in "${pkgs[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$'; then
		die "$p is still installed after dpkg --purge"
	fi
done
for f in /usr/sbin/tpoold /usr/bin/tpctl /etc/systemd/system/sockets.target.wants/tpoold.socket \
    "$unitdir/tpoold.service" "$plugindir"; do
	[[ -e $f || -L $f ]] && die "$f is left after dpkg --purge"
done
say "OK: installed, tpoold ran, the -dev packages built programs, purged"
