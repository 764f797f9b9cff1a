# proto/: the wire format (tpool.proto, compiled by protoc-c at build time),
# the framing codec, the hand-written packer of the per-job messages and the
# peek that routes a received message by its bytes.
# libtpproto is linked into tpoold, tpctl's client library, the tests and
# the benchmarks.

noinst_LTLIBRARIES += proto/libtpproto.la
proto_libtpproto_la_SOURCES = proto/fastpack.c proto/fastpack.h \
	proto/frame.c proto/frame.h proto/names.c proto/names.h \
	proto/peek.c proto/peek.h \
	proto/utf8.c proto/utf8.h
nodist_proto_libtpproto_la_SOURCES = proto/tpool.pb-c.c proto/tpool.pb-c.h
proto_libtpproto_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
proto_libtpproto_la_LIBADD = $(PROTOBUF_C_LIBS)

BUILT_SOURCES += proto/tpool.pb-c.c proto/tpool.pb-c.h
CLEANFILES += proto/tpool.pb-c.c proto/tpool.pb-c.h
# The schema, installed for clients in other languages
# (pkg-config --variable=protodir tpclient).
dist_pkgdata_DATA = proto/tpool.proto

# protoc-c writes both files at once; the .h rule depends on the .c one.
proto/tpool.pb-c.c: $(srcdir)/proto/tpool.proto
	$(AM_V_GEN)$(MKDIR_P) proto && \
	$(PROTOC_C) --proto_path=$(srcdir)/proto --c_out=proto $(srcdir)/proto/tpool.proto
proto/tpool.pb-c.h: proto/tpool.pb-c.c
	@test -f $@ || { rm -f $<; $(MAKE) $(AM_MAKEFLAGS) $<; }
