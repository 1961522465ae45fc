# bulkhead - environment-config compiler for Terraform mono-repos.
#
#   make          build bin/bulkhead (optimised)
#   make deps     install missing Debian packages (when root)
#   make check    ASan+UBSan build, Criterion unit tests, golden CLI cases
#   make demo     build and run on samples/acme
#   make bench    benchmarks (see bench/)

CC       ?= cc
PKGS      = yaml-0.1 libgit2 libxxhash libpcre2-8
DEB_PKGS  = libyaml-dev libgit2-dev libxxhash-dev libpcre2-dev libcriterion-dev pkg-config mandoc \
            git graphviz pre-commit python3 strace
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)

WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
CPPFLAGS += -iquote compiler -iquote stdlib -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
            -DBULKHEAD_VERSION='"$(VERSION)"'
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
BASE_CFLAGS = -std=c11 -pthread $(WARN) $(PKG_CFLAGS)

REL_CFLAGS  = $(BASE_CFLAGS) -O2 -g
SAN_CFLAGS  = $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=all -DARENA_MALLOC
# ThreadSanitizer cannot share a binary with ASan: a build of its own for
# the parallel tests.
TSAN_CFLAGS = $(BASE_CFLAGS) -O1 -g -fsanitize=thread

LIB_SRC  = $(filter-out compiler/main.c,$(wildcard compiler/*.c)) $(wildcard stdlib/*.c)
MAIN_SRC = compiler/main.c
TEST_SRC = $(wildcard tests/unit/*.c)
# Built-in templates and the init scaffold are compiled into the binary.
TEMPLATE_FILES := $(shell find templates -type f ! -name '*.sh' 2>/dev/null | LC_ALL=C sort)

REL_OBJ = $(patsubst %.c,build/rel/%.o,$(LIB_SRC)) build/rel/gen/templates.o
SAN_OBJ = $(patsubst %.c,build/san/%.o,$(LIB_SRC)) build/san/gen/templates.o

PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: all deps check unit cases bad lint integration fuzz fuzz-check demo bench clean install FORCE

all: bin/bulkhead

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (run as root or install them)"; exit 1; fi; \
	fi

build/gen/templates.c: $(TEMPLATE_FILES) templates/embed.sh
	@mkdir -p $(dir $@)
	sh templates/embed.sh $(TEMPLATE_FILES) > $@.tmp && mv $@.tmp $@

build/rel/gen/templates.o: build/gen/templates.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -c $< -o $@

build/san/gen/templates.o: build/gen/templates.c
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -c $< -o $@

# The version names the caches' formats (.bulkhead/cache): the files that
# compile it in, directly or through stat_index.h, are rebuilt when it
# changes, or a binary of a new commit would carry the old one.
build/gen/version: FORCE
	@mkdir -p $(dir $@)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
FORCE:
VERSION_SRC := $(shell grep -l -e BULKHEAD_VERSION -e '"stat_index.h"' compiler/*.c stdlib/*.c)
$(patsubst %.c,build/rel/%.o,$(VERSION_SRC)) $(patsubst %.c,build/san/%.o,$(VERSION_SRC)): build/gen/version
build/tsan/bulkhead: build/gen/version

build/rel/%.o: %.c $(wildcard compiler/*.h stdlib/*.h) | deps
	@mkdir -p $(dir $@)
	@echo "CC $<"; $(CC) $(CPPFLAGS) $(REL_CFLAGS) -c $< -o $@

build/san/%.o: %.c $(wildcard compiler/*.h stdlib/*.h) | deps
	@mkdir -p $(dir $@)
	@echo "CC (san) $<"; $(CC) $(CPPFLAGS) $(SAN_CFLAGS) -c $< -o $@

bin/bulkhead: $(REL_OBJ) build/rel/compiler/main.o
	@mkdir -p bin
	$(CC) $(REL_CFLAGS) $^ -o $@ $(PKG_LIBS) -lm

build/san/bulkhead: $(SAN_OBJ) build/san/compiler/main.o
	$(CC) $(SAN_CFLAGS) $^ -o $@ $(PKG_LIBS) -lm

build/tsan/bulkhead: $(LIB_SRC) $(MAIN_SRC) build/gen/templates.c $(wildcard compiler/*.h stdlib/*.h) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TSAN_CFLAGS) $(LIB_SRC) $(MAIN_SRC) build/gen/templates.c -o $@ $(PKG_LIBS) -lm

# Tests and tools link the archive, so they pull in only what they use.
build/san/libbulkhead.a: $(SAN_OBJ)
	rm -f $@ && ar rcs $@ $^

build/san/unit-tests: build/san/libbulkhead.a $(TEST_SRC) tests/unit/helpers.h
	$(CC) $(CPPFLAGS) $(SAN_CFLAGS) -iquote tests/unit $(TEST_SRC) build/san/libbulkhead.a -o $@ \
	  $(PKG_LIBS) $(shell pkg-config --libs criterion) -lm

build/san/evalexpr: build/san/libbulkhead.a tests/tools/evalexpr.c
	$(CC) $(CPPFLAGS) $(SAN_CFLAGS) tests/tools/evalexpr.c build/san/libbulkhead.a -o $@ $(PKG_LIBS) -lm

# Criterion counts as passed a test that leaks, or whose suite's .fini
# hits a sanitizer error after the verdict: fail on any such report.
unit: build/san/unit-tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ./build/san/unit-tests --jobs 2 \
	  >build/san/unit.log 2>&1; rc=$$?; cat build/san/unit.log; \
	  if grep -qE 'LeakSanitizer|AddressSanitizer|runtime error:' build/san/unit.log; then \
	    echo "unit: sanitizer errors reported"; exit 1; fi; exit $$rc

cases: build/san/bulkhead build/san/evalexpr
	BULKHEAD=$(CURDIR)/build/san/bulkhead sh tests/run-cases.sh tests/cases tests/bad
	EVALEXPR=$(CURDIR)/build/san/evalexpr sh tests/run-expr.sh tests/expr.test

lint:
	@out=$$(mandoc -T lint -W warning man/*.[0-9] 2>&1); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; echo "mandoc -T lint: clean"

# Tests that drive real tools: terraform, git, pre-commit, graphviz.
# Each prints a visible SKIP line when its tool cannot be had.
integration: build/san/bulkhead build/san/evalexpr bin/bulkhead build/tsan/bulkhead
	BULKHEAD=$(CURDIR)/build/san/bulkhead sh tests/terraform/run.sh
	EVALEXPR=$(CURDIR)/build/san/evalexpr sh tests/terraform/console.sh
	BULKHEAD=$(CURDIR)/build/san/bulkhead sh tests/git/run.sh
	@if [ -f tests/graph/run.sh ]; then BULKHEAD=$(CURDIR)/build/san/bulkhead sh tests/graph/run.sh; fi
	@if [ -f tests/man/run.sh ]; then BULKHEAD=$(CURDIR)/build/san/bulkhead sh tests/man/run.sh; fi
	BULKHEAD=$(CURDIR)/build/san/bulkhead sh tests/cache/run.sh
	@# The same output for any thread count, under ASan and under TSan.
	BULKHEAD=$(CURDIR)/build/san/bulkhead sh tests/parallel/run.sh
	TSAN_OPTIONS=halt_on_error=1 BULKHEAD=$(CURDIR)/build/tsan/bulkhead sh tests/parallel/run.sh
	@# Fault injection: I/O errors, read-only dirs, SIGKILL, allocation
	@# failure, concurrent builds.
	BULKHEAD=$(CURDIR)/build/san/bulkhead sh tests/fault/run.sh

# libFuzzer harnesses (clang): `make fuzz FUZZ_SECONDS=600` for a long run.
FUZZ_SECONDS ?= 120
fuzz: build/gen/templates.c
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)

fuzz-check: build/gen/templates.c
	sh tests/fuzz/run.sh 30

check: deps unit cases lint integration fuzz-check

install: bin/bulkhead
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 bin/bulkhead $(DESTDIR)$(PREFIX)/bin/bulkhead
	install -m 644 man/bulkhead.1 $(DESTDIR)$(PREFIX)/share/man/man1/bulkhead.1
	install -m 644 man/bulkhead.yaml.5 $(DESTDIR)$(PREFIX)/share/man/man5/bulkhead.yaml.5
	install -m 644 man/bulkhead-language.7 $(DESTDIR)$(PREFIX)/share/man/man7/bulkhead-language.7
	install -m 644 completion/bulkhead.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/bulkhead

demo: deps bin/bulkhead
	sh samples/demo.sh $(CURDIR)/bin/bulkhead

build/rel/bench-gen: bench/gen.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=c11 $(WARN) $< -o $@

build/rel/bench-floor: bench/floor.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=c11 -pthread $(WARN) $< -o $@

build/rel/bench-events: bench/events.c | deps
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=c11 $(WARN) $(shell pkg-config --cflags yaml-0.1) $< -o $@ $(shell pkg-config --libs yaml-0.1)

bench: deps bin/bulkhead build/rel/bench-gen build/rel/bench-floor build/rel/bench-events
	sh bench/run.sh $(CURDIR)/bin/bulkhead
	sh bench/hostile.sh $(CURDIR)/bin/bulkhead

clean:
	rm -rf bin build samples/acme/out
