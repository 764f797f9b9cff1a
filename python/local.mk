# python/: the Python client package (tpool), written from
# docs/protocol.md.  Its messages are generated from proto/tpool.proto by
# protoc (python/gen.sh) and never kept in the tree: python/tests/run.sh
# generates them into a temporary copy of the package and runs the tests
# against the build's tpoold and example plugins.  A missing protoc or
# python3-protobuf fails the test (scripts/setup-debian.sh installs them).

TESTS += python/tests/run.sh
EXTRA_DIST += python/tests/run.sh python/tests/test_client.py \
	python/pyproject.toml python/README.md python/gen.sh \
	python/tpool/__init__.py python/tpool/client.py
# The daemon and the plugins it runs are built by make check's `all`
# first.  (No rule of ours for python/tests/run.sh.log: automake would
# drop its own, which runs the test.)

# Nothing is built in python/tests, so the folder for its log is made
# before the tests run (VPATH builds, make distcheck).
check_DATA += python/tests/$(am__dirstamp)
python/tests/$(am__dirstamp):
	@$(MKDIR_P) python/tests && : > $@
DISTCLEANFILES += python/tests/$(am__dirstamp)
