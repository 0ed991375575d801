# wsgi-cgi: run a Python WSGI application as a CGI program.
# GNU make.  `make` builds, `make check` runs every test, `make deps`
# installs (Debian) what building and testing need.

VERSION =	1.0.0

PREFIX ?=	/usr/local
BINDIR ?=	$(PREFIX)/bin
MANDIR ?=	$(PREFIX)/share/man
DESTDIR ?=

CC ?=		cc
CFLAGS ?=	-O2 -g
PKG_CONFIG ?=	pkg-config
PYTHON_PC ?=	python3-embed

# The Python to embed: pkg-config's python3-embed, or PYTHON_CONFIG=...
ifdef PYTHON_CONFIG
PY_CFLAGS :=	$(shell $(PYTHON_CONFIG) --includes)
PY_LIBS :=	$(shell $(PYTHON_CONFIG) --ldflags --embed)
PY_PREFIX :=	$(shell $(PYTHON_CONFIG) --prefix)
PY_EXEC_PREFIX := $(shell $(PYTHON_CONFIG) --exec-prefix)
PY_VERSION :=	$(patsubst -lpython%,%,$(filter -lpython%,$(PY_LIBS)))
else
PY_CFLAGS :=	$(shell $(PKG_CONFIG) --cflags $(PYTHON_PC))
PY_LIBS :=	$(shell $(PKG_CONFIG) --libs $(PYTHON_PC))
PY_PREFIX :=	$(shell $(PKG_CONFIG) --variable=prefix $(PYTHON_PC))
PY_EXEC_PREFIX := $(shell $(PKG_CONFIG) --variable=exec_prefix $(PYTHON_PC))
PY_VERSION :=	$(shell $(PKG_CONFIG) --modversion $(PYTHON_PC))
endif
PYTHON_EXE ?=	$(PY_EXEC_PREFIX)/bin/python$(PY_VERSION)

# LIBPYTHON=static (the default where Debian's libpython3.X-dev ships the
# archive) links libpython into a non-PIE binary, as /usr/bin/python3.X
# is: about a fifth fewer instructions per request and less memory than
# the shared library, whose relocations are paid on every start.  Rebuild
# after a Python security update.  LIBPYTHON=shared links the .so.
LIBPYTHON ?=	static
ifdef PYTHON_CONFIG
PY_ARCHIVE :=	$(shell $(PYTHON_CONFIG) --configdir)/libpython$(PY_VERSION).a
else
PY_ARCHIVE :=	$(shell $(PKG_CONFIG) --variable=libdir $(PYTHON_PC))/libpython$(PY_VERSION).a
endif
ifeq ($(LIBPYTHON)$(wildcard $(PY_ARCHIVE)),static$(PY_ARCHIVE))
# The archive's built-in modules need what the interpreter was linked with.
PY_MODLIBS =	$(sort $(shell $(PYTHON_EXE) -c 'import sysconfig as s; \
		print(s.get_config_var("MODLIBS"), s.get_config_var("LIBS"))'))
PY_PIE =	-fno-pie
PIE_LINK =	-no-pie
PY_LINK =	$(PIE_LINK) -Wl,--export-dynamic $(PY_ARCHIVE) $(PY_MODLIBS) \
		-lm -lpthread
else
PY_LINK =	$(PY_LIBS)
PY_PIE =
PIE_LINK =
endif

WARN =		-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion \
		-Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
		-Wvla
ifeq ($(WERROR),1)
WARN +=		-Werror
endif
# Fortified libc calls, as Debian builds packages: their warnings (an
# unused result) fail a WERROR build here, not first in dpkg-buildpackage.
CPPFLAGS ?=	-D_FORTIFY_SOURCE=2
DEFS =		-D_GNU_SOURCE -DWSGI_CGI_VERSION='"$(VERSION)"' \
		-DPYTHON_EXE='"$(PYTHON_EXE)"' -DPYTHON_PREFIX='"$(PY_PREFIX)"'
override CFLAGS += -std=c11 $(WARN) $(DEFS) \
		$(patsubst -I%,-isystem %,$(PY_CFLAGS))
PROG_CFLAGS =	$(PY_PIE)
ASAN_FLAGS =	-fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer -O1 -g -DWSGI_CGI_SANITIZE

HDR =		resp_private.h access_log.h board.h cgi.h metrics.h cgi_env.h conn.h fcgi.h files.h http.h http_req.h options.h params.h \
		pool.h proto.h python.h response.h room.h scgi.h script.h server.h sockets.h \
		systemd.h user.h uwsgi.h warm.h warm_backend.h warm_wire.h wsgi.h wsgi_req.h
SRC =		wsgi-cgi.c access_log.c app.c board.c cgi.c cgi_env.c conn.c fcgi.c files.c http.c \
		http_req.c metrics.c options.c params.c proto_fcgi.c proto_http.c proto_scgi.c \
		pool.c python.c resp_log.c resp_wire.c response.c room.c scgi.c \
		script.c server.c \
		sockets.c systemd.c user.c uwsgi.c \
		warm_backend.c warm_front.c warm_glue.c warm_pages.c \
		warm_watch.c warm_wire.c wsgi.c wsgi_environ.c wsgi_errors.c \
		wsgi_file.c wsgi_input.c wsgi_result.c wsgi_start.c
OBJ =		$(SRC:.c=.o)
PURE_OBJ =	access_log.o board.o cgi_env.o metrics.o fcgi.o files.o http.o http_req.o options.o params.o \
		resp_log.o resp_wire.o response.o scgi.o sockets.o systemd.o user.o uwsgi.o warm_wire.o
UNIT_SRC =	tests/unit/unit.c tests/unit/cgi_env_test.c \
		tests/unit/response_test.c tests/unit/proto_test.c \
		tests/unit/http_test.c tests/unit/options_test.c \
		tests/unit/warm_wire_test.c tests/unit/files_test.c \
		tests/unit/systemd_test.c tests/unit/board_test.c \
		tests/unit/user_test.c tests/unit/access_log_test.c \
		tests/unit/metrics_test.c tests/unit/sockets_test.c
BIN =		wsgi-cgi
UNIT_BIN =	tests/unit/unit

# libFuzzer targets for the plain-C modules (clang).
FUZZ_CC ?=	clang
FUZZ_FLAGS =	-g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I.
FUZZ_TARGETS =	cgi_env response proto http options
FUZZ_BIN =	$(FUZZ_TARGETS:%=tests/fuzz/fuzz_%)
FUZZ_SECONDS ?=	60

.PHONY: all check unit bats asan fuzz lint $(LINT_STEPS:%=lint-%) bench demo \
	deb-check \
	deps install uninstall clean

all: $(BIN)

$(BIN): $(OBJ)
	$(CC) $(CFLAGS) $(PROG_CFLAGS) $(LDFLAGS) -o $@ $(OBJ) $(PY_LINK)

$(OBJ): $(HDR) Makefile

.c.o:
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PROG_CFLAGS) -c -o $@ $<

$(UNIT_BIN): $(UNIT_SRC) tests/unit/unit.h $(PURE_OBJ)
	$(CC) $(CFLAGS) $(PROG_CFLAGS) $(PIE_LINK) -I. $(LDFLAGS) -o $@ \
	    $(UNIT_SRC) $(PURE_OBJ)

# The same sources, sanitized, linked with the shared libpython; its
# sanitizer defaults and leak suppressions are built in (tests/sanitizers.c).
asan: $(BIN)-asan
$(BIN)-asan: $(SRC) $(HDR) tests/sanitizers.c tests/lsan.supp.inc
	$(CC) $(CFLAGS) $(ASAN_FLAGS) -Itests $(LDFLAGS) -o $@ $(SRC) \
	    tests/sanitizers.c $(PY_LIBS)

tests/lsan.supp.inc: tests/lsan.supp
	sed -e 's/^/"/' -e 's/$$/\\n"/' tests/lsan.supp >$@

tests/fuzz/fuzz_cgi_env: tests/fuzz/fuzz_cgi_env.c cgi_env.c http.c cgi_env.h \
	    http.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_cgi_env.c cgi_env.c http.c

tests/fuzz/fuzz_proto: tests/fuzz/fuzz_proto.c fcgi.c params.c scgi.c uwsgi.c \
	    fcgi.h params.h scgi.h uwsgi.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_proto.c fcgi.c params.c \
	    scgi.c uwsgi.c

tests/fuzz/fuzz_http: tests/fuzz/fuzz_http.c http_req.c http.c params.c \
	    http_req.h http.h params.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_http.c http_req.c http.c \
	    params.c

tests/fuzz/fuzz_options: tests/fuzz/fuzz_options.c options.c options.h \
	    server.h warm.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_options.c options.c

tests/fuzz/fuzz_response: tests/fuzz/fuzz_response.c response.c resp_wire.c \
	    resp_log.c http.c fcgi.c params.c response.h resp_private.h http.h \
	    fcgi.h params.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_response.c response.c \
	    resp_wire.c resp_log.c http.c fcgi.c params.c

unit: $(UNIT_BIN)
	$(UNIT_BIN)

bats: $(BIN)
	tests/run-tests --bats-only

# Every test: the unit runner, the bats suite against wsgi-cgi and again
# against wsgi-cgi-asan, a short bounded run of each fuzzer, and make lint.
check: $(BIN) $(BIN)-asan $(UNIT_BIN) $(FUZZ_BIN)
	tests/run-tests

# Each fuzzer for FUZZ_SECONDS; inputs that find new coverage are merged
# into the corpus in the tree; a crash is left as tests/fuzz/crash-*.
fuzz: $(FUZZ_BIN)
	for t in $(FUZZ_TARGETS); do \
	    rm -rf tests/fuzz/new-$$t && mkdir tests/fuzz/new-$$t && \
	    tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
		-artifact_prefix=tests/fuzz/ tests/fuzz/new-$$t \
		tests/fuzz/corpus/$$t && \
	    tests/fuzz/fuzz_$$t -merge=1 tests/fuzz/corpus/$$t \
		tests/fuzz/new-$$t && rm -rf tests/fuzz/new-$$t || exit 1; \
	done

# Timings are reported, never asserted: ratios of medians from one run.
# bench/servers.py adds the server modes against uWSGI, through lighttpd;
# bench/warm.py warm start against a C hello-world CGI program;
# bench/origin.py HTTP/1.1 against gunicorn and uWSGI's http-socket;
# bench/threads.py --threads against gunicorn gthread and uWSGI --threads;
# bench/database.py the same three, a Flask app querying PostgreSQL.
bench: $(BIN)
	$(PYTHON_EXE) bench/run.py ./$(BIN) $(BENCH_ROUNDS)
	$(PYTHON_EXE) bench/servers.py ./$(BIN) $(BENCH_SERVER_ROUNDS)
	$(PYTHON_EXE) bench/warm.py ./$(BIN) $(BENCH_WARM_ROUNDS)
	$(PYTHON_EXE) bench/origin.py ./$(BIN) $(BENCH_HTTP_ROUNDS)
	$(PYTHON_EXE) bench/threads.py ./$(BIN) $(BENCH_THREADS_ROUNDS)
	$(PYTHON_EXE) bench/database.py ./$(BIN) $(BENCH_THREADS_ROUNDS)

# The Debian package, built, linted, installed, run and purged (as root).
deb-check:
	tests/deb-check

demo: $(BIN)
	./$(BIN) examples/hello.py

# Static checks, each failing on any finding (.clang-tidy says which).
PY_ISYSTEM =	$(patsubst -I%,-isystem %,$(PY_CFLAGS))
LINT_STEPS =	cppcheck clang-tidy analyzer mandoc

lint: $(LINT_STEPS:%=lint-%)

lint-cppcheck:
	cppcheck --quiet --error-exitcode=1 \
	    --enable=warning,portability,performance --std=c11 -D_GNU_SOURCE \
	    --library=python '-DPy_STRINGIFY(x)=#x' --inline-suppr $(SRC)

lint-clang-tidy:
	clang-tidy --quiet $(SRC) -- -std=c11 -D_GNU_SOURCE $(PY_ISYSTEM)

lint-analyzer:
	for f in $(SRC); do \
	    $(CC) -std=c11 -D_GNU_SOURCE -O1 -fanalyzer -Werror $(PY_ISYSTEM) \
		-c -o /dev/null $$f || exit 1; \
	done

lint-mandoc:
	mandoc -Tlint -Wwarning man/wsgi-cgi.1

deps:
	./install-deps test

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/$(BIN)
	install -m 0644 man/wsgi-cgi.1 $(DESTDIR)$(MANDIR)/man1/wsgi-cgi.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/$(BIN) $(DESTDIR)$(MANDIR)/man1/wsgi-cgi.1

clean:
	rm -f $(BIN) $(BIN)-asan $(OBJ) $(UNIT_BIN) tests/lsan.supp.inc \
	    $(FUZZ_BIN)
	rm -rf examples/__pycache__ tests/apps/__pycache__ bench/__pycache__ \
	    bench/work
