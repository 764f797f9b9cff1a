# daemon/: tpoold, the job daemon.  One loop thread (libevent) serves the
# socket; jobs run on libtp's pools; plugins are dlopen'ed from $(plugindir).

sbin_PROGRAMS += daemon/tpoold
daemon_tpoold_SOURCES = \
	daemon/tpoold.h \
	daemon/main.c \
	daemon/options.c \
	daemon/log.c \
	daemon/listen.c \
	daemon/conn.c \
	daemon/dispatch.c \
	daemon/req-hello.c \
	daemon/req-submit.c \
	daemon/req-cancel.c \
	daemon/req-status.c \
	daemon/req-info.c \
	daemon/jobs.c \
	daemon/run.c \
	daemon/pools.c \
	daemon/plugin.c
daemon_tpoold_CPPFLAGS = $(AM_CPPFLAGS) -DTPOOLD_PLUGIN_DIR='"$(plugindir)"'
daemon_tpoold_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SYSTEMD_CFLAGS)
daemon_tpoold_LDADD = libtp/libtp.la proto/libtpproto.la \
	$(LIBEVENT_LIBS) $(PROTOBUF_C_LIBS) $(SYSTEMD_LIBS) $(PTHREAD_LIBS) -ldl

dist_man_MANS += docs/man/tpoold.8
dist_doc_DATA += docs/architecture.md
