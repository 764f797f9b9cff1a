#!/bin/sh
# soak-check.sh -- what make check runs of the soak test: its short mode
# (about 25 s; half the clients under a sanitizer), from the top of the
# build tree.  The long mode is run by hand: tests/soak/soak -h.
#
# --allow event-after-final: a known tpoold bug, reported and not yet
# fixed: a WatchReply can show the job's final state (set by its worker)
# while the loop has not delivered the job's events yet, and the watcher
# then gets JobStarted/JobFinished after it, which docs/protocol.md rules
# out ("no events follow").  The soak still prints every such violation.
# Remove the flag once tpoold's Watch answers from the loop's view.
exec ./tests/soak/soak --short --allow event-after-final "$@"
