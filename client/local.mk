# client/: the client library (libtpclient, used by tpctl, the daemon's
# tests and the benchmarks) and tpctl itself.

noinst_LTLIBRARIES += client/libtpclient.la
client_libtpclient_la_SOURCES = client/tpclient.c client/tpclient.h
client_libtpclient_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
client_libtpclient_la_LIBADD = proto/libtpproto.la $(PROTOBUF_C_LIBS)
