# daemon/: tpoold, the job daemon.  One loop thread (libevent) serves the
# socket; jobs run on libtp's pools; plugins are dlopen'ed from $(plugindir).
#
# Everything but main() is the convenience library daemon/libtpoold.la, so
# tests and fuzz targets link the daemon's real decoding, validation,
# dispatch, job table and plugin loader (their entry points are in
# daemon/testing.h).  Link it with $(TPOOLD_LIBADD).  The files' layers
# and the rule between them are in docs/architecture.md; scripts/layers.sh
# checks them on the objects (make check runs it).

noinst_LTLIBRARIES += daemon/libtpoold.la
daemon_libtpoold_la_SOURCES = \
	daemon/daemon.c daemon/daemon.h daemon/testing.h \
	daemon/dispatch.c daemon/dispatch.h \
	daemon/gearman.c daemon/gearman.h \
	daemon/req-hello.c daemon/req-submit.c daemon/req-cancel.c \
	daemon/req-status.c daemon/req-info.c \
	daemon/exposition.c daemon/exposition.h \
	daemon/metrics-http.c daemon/metrics-http.h \
	daemon/metrics.c daemon/metrics.h \
	daemon/audit.c daemon/audit.h \
	daemon/req.c daemon/req.h \
	daemon/validate.c daemon/validate.h \
	daemon/listen.c daemon/listen.h \
	daemon/follow.c daemon/follow.h \
	daemon/msg.c daemon/msg.h \
	daemon/conn.c daemon/conn.h \
	daemon/jobs.c daemon/jobs.h daemon/job_impl.h \
	daemon/fairq.c daemon/fairq.h \
	daemon/budget.c daemon/budget.h \
	daemon/jobid.c daemon/jobid.h \
	daemon/store.c daemon/store.h \
	daemon/run.c daemon/cpu-charge.h \
	daemon/pools.c daemon/pools.h \
	daemon/plugin.c daemon/plugin.h \
	daemon/isolate.c daemon/isolate.h daemon/isolate-wire.h \
	daemon/safepath.c daemon/safepath.h \
	daemon/options.c daemon/options.h \
	daemon/grant.c daemon/grant.h \
	daemon/log.c daemon/log.h
daemon_libtpoold_la_CPPFLAGS = $(AM_CPPFLAGS) -DTPOOLD_PLUGIN_DIR='"$(plugindir)"' \
	-DTPOOLD_CONFIG='"$(sysconfdir)/tpool/tpoold.conf"' \
	-DTPOOLD_WORKER='"$(pkglibexecdir)/tpoold-worker"'
daemon_libtpoold_la_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SYSTEMD_CFLAGS) $(SQLITE_CFLAGS) $(GEARMAN_CFLAGS)
# What a program linking libtpoold.la needs besides it: the installed
# tpoold links libtp as installed; TPOOLD_TEST_LIBADD swaps in libtp-test.la,
# libtp with its test hooks, for tests/daemon/tpoold-test.
TPOOLD_LIBS_BELOW = client/libtpclient-in.la proto/libtpproto.la \
	$(GEARMAN_LIBS) $(LIBEVENT_LIBS) $(PROTOBUF_C_LIBS) $(SYSTEMD_LIBS) $(SQLITE_LIBS) \
	$(PTHREAD_LIBS) -ldl
TPOOLD_LIBADD = daemon/libtpoold.la libtp/libtp.la $(TPOOLD_LIBS_BELOW)
TPOOLD_TEST_LIBADD = daemon/libtpoold.la libtp/libtp-test.la \
	$(TPOOLD_LIBS_BELOW)

sbin_PROGRAMS += daemon/tpoold
daemon_tpoold_SOURCES = daemon/main.c
daemon_tpoold_CPPFLAGS = $(AM_CPPFLAGS)
daemon_tpoold_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SYSTEMD_CFLAGS)
daemon_tpoold_LDADD = $(TPOOLD_LIBADD)

# The process a plugin of isolation "process" runs in (isolate.c starts
# it).  It links nothing of the daemon's: only the plugin ABI.
pkglibexec_PROGRAMS += daemon/tpoold-worker
daemon_tpoold_worker_SOURCES = daemon/worker.c daemon/isolate-wire.h \
	daemon/cpu-charge.h
daemon_tpoold_worker_CPPFLAGS = $(AM_CPPFLAGS)
daemon_tpoold_worker_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS)
daemon_tpoold_worker_LDADD = $(SECCOMP_LIBS) -ldl

dist_man_MANS += docs/man/tpoold.8
dist_doc_DATA += docs/architecture.md docs/operations.md docs/reliability.md \
	docs/scaling.md

# The annotated config file: every key with its help, commented out, as
# tpoold --config-sample prints it; installed as a sample to copy to
# $(sysconfdir)/tpool/tpoold.conf.
tpoolsampledir = $(pkgdatadir)
tpoolsample_DATA = daemon/tpoold.conf.sample
CLEANFILES += daemon/tpoold.conf.sample
daemon/tpoold.conf.sample: daemon/tpoold$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) daemon && ./daemon/tpoold --config-sample > $@.tmp && \
		mv $@.tmp $@
