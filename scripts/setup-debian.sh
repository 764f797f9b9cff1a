#!/usr/bin/env bash
# Installs the Debian 12 packages that tpool builds, tests and benchmarks
# with, when they are missing.  Run as root (or with sudo); does nothing when
# everything is there already.
set -euo pipefail

# The build; the daemon and protocol; sd_notify, socket activation and unit
# checks, the plugin workers' seccomp filter; the job store (SQLite, and
# its shell to inspect it); libcrypto (the sha256 plugin); the tests; the
# benchmark peers (GLib, libuv, beanstalkd); libFuzzer; ps; Prometheus's
# Python client, whose parser reads the metrics in a test; protoc and
# Python's protobuf, for the Python client (python/) and its test;
# libgearman, gearmand and its command-line tools (tpoold --gearman, its
# tests); the Debian packages' build and lintian.
pkgs=(
	build-essential autoconf automake libtool pkg-config
	libevent-dev libprotobuf-c-dev protobuf-c-compiler
	libsystemd-dev systemd libseccomp-dev libsqlite3-dev sqlite3
	libssl-dev
	check valgrind
	libglib2.0-dev libuv1-dev beanstalkd
	clang
	procps
	python3-prometheus-client
	protobuf-compiler python3-protobuf
	libgearman-dev gearman-job-server gearman-tools
	debhelper lintian fakeroot dpkg-dev
)
want=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want+=("$p")
done
if ((${#want[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "setup: missing Debian packages: ${want[*]}" >&2
		echo "setup: run as root, or: sudo apt-get install ${want[*]}" >&2
		exit 1
	fi
	echo "setup: installing ${want[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi
