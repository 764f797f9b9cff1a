# libtp/: the thread pool library (libtp.so, libtp.a), its one public
# header and its pkg-config file; and libtp-test.la, the same library
# built with its test hooks (-DTP_TESTING, libtp/tp_test.h), never
# installed, for the tests and tpoold's fault injection.

lib_LTLIBRARIES += libtp/libtp.la
libtp_libtp_la_SOURCES = \
	libtp/threadpool.h \
	libtp/tp_impl.h \
	libtp/pool.c \
	libtp/percpu.c \
	libtp/job.c \
	libtp/thread.c \
	libtp/spawn.c \
	libtp/sched.c
libtp_libtp_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
libtp_libtp_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(LIBTP_LT_VERSION) \
	-Wl,--version-script=$(srcdir)/libtp/libtp.sym
libtp_libtp_la_LIBADD = $(PTHREAD_LIBS)
EXTRA_libtp_libtp_la_DEPENDENCIES = libtp/libtp.sym

noinst_LTLIBRARIES += libtp/libtp-test.la
libtp_libtp_test_la_SOURCES = $(libtp_libtp_la_SOURCES) libtp/tp_test.h
libtp_libtp_test_la_CPPFLAGS = $(AM_CPPFLAGS) -DTP_TESTING
libtp_libtp_test_la_CFLAGS = $(AM_CFLAGS)
libtp_libtp_test_la_LIBADD = $(PTHREAD_LIBS)
EXTRA_DIST += libtp/libtp.sym libtp/libtp.pc.in

libtpincludedir = $(includedir)/libtp
libtpinclude_HEADERS = libtp/threadpool.h
pkgconfig_DATA += libtp/libtp.pc

# The example of docs/examples, built so that it stays true.
noinst_PROGRAMS += docs/examples/libtp-demo
docs_examples_libtp_demo_SOURCES = docs/examples/libtp-demo.c
docs_examples_libtp_demo_LDADD = libtp/libtp.la
docs_examples_libtp_demo_LDFLAGS = $(AM_LDFLAGS) -no-install
# ...and installed, as libtp(3) says, into $(docdir)/examples.
docexamplesdir = $(docdir)/examples
docexamples_DATA = docs/examples/libtp-demo.c

dist_man_MANS += docs/man/libtp.3
