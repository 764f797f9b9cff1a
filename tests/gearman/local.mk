# tests/gearman: tpoold as a Gearman worker (cluster.sh): a real gearmand
# on a free loopback port, three tpoold instances serving it, the stock
# gearman client, tpctl --gearman, a host killed mid-job, gearmand
# restarted, an unreachable gearmand, SIGHUP.

TESTS += tests/gearman/cluster.sh
EXTRA_DIST += tests/gearman/cluster.sh
# It runs the daemon, tpctl and the example plugins that make check's
# `all` builds first.
# Nothing is built in tests/gearman: its log's folder is made first.
check_DATA += tests/gearman/$(am__dirstamp)
tests/gearman/$(am__dirstamp):
	@$(MKDIR_P) tests/gearman && : > $@
DISTCLEANFILES += tests/gearman/$(am__dirstamp)
