# client/: the client library (libtpclient, used by tpctl, the daemon's
# tests and the benchmarks) and tpctl itself.

noinst_LTLIBRARIES += client/libtpclient.la
client_libtpclient_la_SOURCES = client/tpclient.c client/tpclient.h
client_libtpclient_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
client_libtpclient_la_LIBADD = proto/libtpproto.la $(PROTOBUF_C_LIBS)

bin_PROGRAMS += client/tpctl
client_tpctl_SOURCES = \
	client/tpctl.c \
	client/ctl.h \
	client/ctl-util.c \
	client/ctl-submit.c \
	client/ctl-cancel.c \
	client/ctl-status.c \
	client/ctl-watch.c \
	client/ctl-plugins.c \
	client/ctl-stats.c \
	client/ctl-top.c
client_tpctl_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
client_tpctl_LDADD = client/libtpclient.la

dist_man_MANS += docs/man/tpctl.1

# The wire format, for people writing other clients.
dist_doc_DATA += docs/protocol.md
