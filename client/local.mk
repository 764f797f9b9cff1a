# client/: the client library (libtpclient, installed with its headers
# as <tpool/tpclient.h> and tpclient.pc; used by tpctl, the daemon's tests
# and the benchmarks) and tpctl itself.

lib_LTLIBRARIES += client/libtpclient.la
client_libtpclient_la_SOURCES = client/tpclient.c client/tpclient.h \
	client/tpc-io.c client/tpc-io.h
client_libtpclient_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
client_libtpclient_la_LIBADD = proto/libtpproto.la $(PROTOBUF_C_LIBS)
# The API of tpclient(3): tpc_*, the protocol's messages (tpool__*) and
# the names of its enums (names.h); the framing and UTF-8 helpers stay
# inside (tpctl and the tests link libtpproto for them).
client_libtpclient_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(LIBTPCLIENT_LT_VERSION) -no-undefined \
	-export-symbols-regex '^(tpc_|tpool__|tp_state_is_final$$|tp_state_name$$|tp_pool_name$$|tp_error_name$$|tp_cancel_result_name$$)'

# The same client, linked into tpoold itself (its Gearman slots are
# clients of the daemon's socket: daemon/gearman.c), so the daemon needs
# no libtpclient.so at run time.
noinst_LTLIBRARIES += client/libtpclient-in.la
client_libtpclient_in_la_SOURCES = client/tpclient.c client/tpclient.h \
	client/tpc-io.c client/tpc-io.h
client_libtpclient_in_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)

# Installed as <tpool/tpclient.h>: the header includes the messages'
# header and names.h beside it.
tpoolinclude_HEADERS += client/tpclient.h proto/names.h
nodist_tpoolinclude_HEADERS = proto/tpool.pb-c.h
pkgconfig_DATA += client/tpclient.pc

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
	client/ctl-metrics.c \
	client/ctl-top.c \
	client/ctl-gearman.c
client_tpctl_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(GEARMAN_CFLAGS)
client_tpctl_LDADD = client/libtpclient.la proto/libtpproto.la $(GEARMAN_LIBS)

dist_man_MANS += docs/man/tpctl.1 docs/man/tpclient.3

# The wire format, for people writing other clients.
dist_doc_DATA += docs/protocol.md
EXTRA_DIST += client/tpclient.pc.in
