# tests/proto: Check runners for the framing codec with protobuf-c
# (test_frame), for the hand-written packer against protobuf-c's
# (test_fastpack), for the peek at received messages against protobuf-c's
# unpack (test_peek), for the name rule and escape of proto/utf8.c
# (test_utf8), for the client library against a fake server over a
# socketpair (test_client) and for tpctl against a fake daemon (test_tpctl).
# None needs the daemon; the fakes speak through tests/util/fakewire.

check_PROGRAMS += tests/proto/test_frame
tests_proto_test_frame_SOURCES = tests/proto/test_frame.c
tests_proto_test_frame_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_proto_test_frame_LDFLAGS = $(AM_LDFLAGS) -no-install
tests_proto_test_frame_LDADD = proto/libtpproto.la $(PROTOBUF_C_LIBS) $(CHECK_LIBS)
TESTS += tests/proto/test_frame

check_PROGRAMS += tests/proto/test_fastpack
tests_proto_test_fastpack_SOURCES = tests/proto/test_fastpack.c
tests_proto_test_fastpack_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_proto_test_fastpack_LDFLAGS = $(AM_LDFLAGS) -no-install
tests_proto_test_fastpack_LDADD = proto/libtpproto.la $(PROTOBUF_C_LIBS) $(CHECK_LIBS)
TESTS += tests/proto/test_fastpack

check_PROGRAMS += tests/proto/test_peek
tests_proto_test_peek_SOURCES = tests/proto/test_peek.c
tests_proto_test_peek_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_proto_test_peek_LDFLAGS = $(AM_LDFLAGS) -no-install
tests_proto_test_peek_LDADD = proto/libtpproto.la $(PROTOBUF_C_LIBS) $(CHECK_LIBS)
TESTS += tests/proto/test_peek

check_PROGRAMS += tests/proto/test_utf8
tests_proto_test_utf8_SOURCES = tests/proto/test_utf8.c
tests_proto_test_utf8_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_proto_test_utf8_LDFLAGS = $(AM_LDFLAGS) -no-install
tests_proto_test_utf8_LDADD = proto/libtpproto.la $(PROTOBUF_C_LIBS) $(CHECK_LIBS)
TESTS += tests/proto/test_utf8

check_PROGRAMS += tests/proto/test_client
tests_proto_test_client_SOURCES = tests/proto/test_client.c
tests_proto_test_client_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_proto_test_client_LDFLAGS = $(AM_LDFLAGS) -no-install
tests_proto_test_client_LDADD = tests/util/libtestutil.la \
	client/libtpclient.la proto/libtpproto.la \
	$(PROTOBUF_C_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
TESTS += tests/proto/test_client

# tpctl against a fake daemon: formats, exit codes.  It runs the built
# client/tpctl, named here.
check_PROGRAMS += tests/proto/test_tpctl
tests_proto_test_tpctl_SOURCES = tests/proto/test_tpctl.c
tests_proto_test_tpctl_CPPFLAGS = $(AM_CPPFLAGS) \
	-DTPCTL_PATH='"$(abs_top_builddir)/client/tpctl$(EXEEXT)"'
tests_proto_test_tpctl_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_proto_test_tpctl_LDFLAGS = $(AM_LDFLAGS) -no-install
tests_proto_test_tpctl_LDADD = tests/util/libtestutil.la proto/libtpproto.la \
	$(PROTOBUF_C_LIBS) \
	$(CHECK_LIBS) $(PTHREAD_LIBS)
EXTRA_tests_proto_test_tpctl_DEPENDENCIES = client/tpctl$(EXEEXT)
TESTS += tests/proto/test_tpctl
