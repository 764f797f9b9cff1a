#!/bin/sh
# soak-check.sh -- what make check runs of the soak test: its short mode
# (about 25 s; half the clients under a sanitizer), from the top of the
# build tree.  The long mode is run by hand: tests/soak/soak -h.
# It also replaces its plugin's file while jobs of it run (--replace-plugin).
exec ./tests/soak/soak --short --replace-plugin "$@"
