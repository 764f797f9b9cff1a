#!/bin/sh
# soak-check.sh -- what make check runs of the soak test: its short mode
# (about 25 s; half the clients under a sanitizer), which also replaces its
# plugin's file while jobs of it run (--replace-plugin); then the crash
# mode: tpoold with a job store killed with SIGKILL 12 times under load
# and started again, with the self-test of its proof (about 10 s).  The
# long modes are run by hand: tests/soak/soak -h.
./tests/soak/soak --short --replace-plugin "$@" || exit $?
exec ./tests/soak/soak --crash 12 --self-test "$@"
