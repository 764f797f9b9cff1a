# daemon/: tpoold, the job daemon.  One loop thread (libevent) serves the
# socket; jobs run on libtp's pools; plugins are dlopen'ed from $(plugindir).
#
# Everything but main() is the convenience library daemon/libtpoold.la, so
# tests and fuzz targets link the daemon's real decoding, validation,
# dispatch, job table and plugin loader (see "For tests and fuzzing" in
# daemon/tpoold.h).  Link it with $(TPOOLD_LIBADD).

noinst_LTLIBRARIES += daemon/libtpoold.la
daemon_libtpoold_la_SOURCES = \
	daemon/tpoold.h \
	daemon/daemon.c \
	daemon/options.c \
	daemon/log.c \
	daemon/listen.c \
	daemon/conn.c \
	daemon/dispatch.c \
	daemon/validate.c \
	daemon/req-hello.c \
	daemon/req-submit.c \
	daemon/req-cancel.c \
	daemon/req-status.c \
	daemon/req-info.c \
	daemon/jobs.c \
	daemon/run.c \
	daemon/pools.c \
	daemon/plugin.c
daemon_libtpoold_la_CPPFLAGS = $(AM_CPPFLAGS) -DTPOOLD_PLUGIN_DIR='"$(plugindir)"'
daemon_libtpoold_la_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SYSTEMD_CFLAGS)
# What a program linking libtpoold.la needs besides it.
TPOOLD_LIBADD = daemon/libtpoold.la libtp/libtp-test.la proto/libtpproto.la \
	$(LIBEVENT_LIBS) $(PROTOBUF_C_LIBS) $(SYSTEMD_LIBS) $(PTHREAD_LIBS) -ldl

sbin_PROGRAMS += daemon/tpoold
daemon_tpoold_SOURCES = daemon/main.c
daemon_tpoold_CPPFLAGS = $(AM_CPPFLAGS) -include $(top_srcdir)/libtp/tp_test.h
daemon_tpoold_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SYSTEMD_CFLAGS)
daemon_tpoold_LDADD = $(TPOOLD_LIBADD)

dist_man_MANS += docs/man/tpoold.8
dist_doc_DATA += docs/architecture.md
