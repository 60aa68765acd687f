# pystack: build, test, demo, install.
#
#   make            build $(BUILD)/pystack
#   make static     build-static/pystack: one static binary, every library inside
#   make test       unit tests, then integration tests against every Python found
#   make check      make test, then the same under AddressSanitizer and UBSan (CI)
#   make fuzz       fuzz with clang's libFuzzer for FUZZ_TIME seconds (120) in all,
#                   shared equally by the targets of FUZZ_TARGET ("readers core"):
#                   readers, the CPython readers from tests/fuzz/seeds; core, the
#                   core-file reader from tests/fuzz/seeds-core (FUZZ_ARGS= more options)
#   make demo       start a hung Python program, dump it, stop it
#   make bench      measure dump, watch and core on this machine (BENCH_PYTHON=,
#                   BENCH_RUNS=, AUSTIN=; BENCH_ONLY=core, tasks or static: only those rows;
#                   BENCH_COREDIR= where the cores go, default $TMPDIR or /tmp)
#   make deps       install missing Debian packages (as root)
#   make offsets    regenerate src/offsets/ from the installed CPython headers
#   make printable  regenerate src/unicode_printable.h (PYTHON_NEWEST=python3.15)
#   make dist       pystack-VERSION.tar.gz from HEAD (DIST_OUT= names another file)
#   make install    PREFIX=/usr/local DESTDIR= (BASH_COMPLETION_DIR=, ZSH_COMPLETION_DIR=)
#   make deb        the Debian package, built by dpkg-buildpackage in a copy under build-deb/
#
# V=1 shows the commands; WERROR=1 makes warnings errors;
# SANITIZE=address,undefined builds into build-san/.

# The version, in one place: VERSION (the package and the tarball take it from here).
VERSION     := $(shell cat VERSION)
PREFIX      ?= /usr/local
BUILD       ?= build$(if $(SANITIZE),-san)
CC          ?= cc
PYTHON_TEST ?= $(firstword $(wildcard /usr/bin/python3) python3)
PYTHON_NEWEST ?= python3
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 120
FUZZ_TARGET ?= readers core
FUZZ_ARGS   ?=

PKGS        := libelf
# Headers only: libdw and libunwind are loaded at run time, for native frames.
DL_PKGS     := libdw libunwind-ptrace
WARN        := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
               -Wold-style-definition -Wundef -Wwrite-strings -Wimplicit-fallthrough=5 -Wvla \
               $(if $(WERROR),-Werror)
PS_CPPFLAGS := -D_GNU_SOURCE -DPYSTACK_VERSION='"$(VERSION)"' -Iinclude -Isrc \
               $(shell pkg-config --cflags $(PKGS) $(DL_PKGS) 2>/dev/null)
PS_CFLAGS   := -std=gnu11 -g -O2 $(WARN) \
               $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all)
PS_LDFLAGS  := $(if $(SANITIZE),-fsanitize=$(SANITIZE))
# libelf (and the zlib it needs) linked in when its archive is installed: two
# shared objects fewer to load at every start (STATIC_ELF=0 to link them shared).
STATIC_ELF  ?= $(if $(and $(wildcard $(shell $(CC) -print-file-name=libelf.a)),\
                          $(wildcard $(shell $(CC) -print-file-name=libz.a))),1,0)
ELF_STATIC  := -Wl,-Bstatic -lelf -lz -Wl,-Bdynamic
ELF_SHARED  := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lelf)
PS_LDLIBS   := $(if $(filter 1,$(STATIC_ELF)),$(ELF_STATIC),$(ELF_SHARED))
# make static: one statically linked binary with every library inside, for
# hosts and containers that have none (README, Install).  dlib_static.c
# stands for dlib.c: the libraries are linked in, never loaded.  Link
# warnings are errors, so that nothing reaching glibc's NSS or dlopen() (the
# parts of a static glibc that need its shared libraries at run time)
# gets in.  libdw's debuginfod client would dlopen() libdebuginfod:
# debuginfod_static.c takes its place.
STATIC_BUILD := build-static
ifeq ($(LINK),static)
PS_LDFLAGS  += -static -Wl,--fatal-warnings -Wl,--strip-debug
PS_LDLIBS   := -Wl,--start-group -ldw -lelf -lbz2 -llzma -lzstd -lz -llz4 \
               -lunwind-ptrace -lunwind-x86_64 -lunwind -lsupc++ -Wl,--end-group -pthread
endif

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2);
endif

SRCS        := $(wildcard src/*.c)
LIB_SRCS    := $(filter-out src/main.c src/rmem_fake.c $(if $(filter static,$(LINK)),\
                  src/dlib.c,src/dlib_static.c src/debuginfod_static.c),$(SRCS))
LIB_OBJS    := $(LIB_SRCS:src/%.c=$(BUILD)/%.o)
BIN         := $(BUILD)/pystack
UNIT_SRCS   := $(wildcard tests/unit/*.c)
UNIT_BIN    := $(BUILD)/unit-tests
TEST_OBJS   := $(BUILD)/rmem_fake.o $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%.o) \
               $(BUILD)/fuzz/fuzz_readers.o
# The fuzz targets, over the fake reader and over the core reader: replayed
# from their seeds by make unit, fuzzed by make fuzz (clang, libFuzzer, ASan
# and UBSan, in build-fuzz/).
REPLAY_BIN  := $(BUILD)/fuzz-replay
REPLAY_OBJS := $(BUILD)/fuzz/replay.o $(BUILD)/fuzz/fuzz_readers.o $(BUILD)/fuzz/fuzz_core.o \
               $(BUILD)/rmem_fake.o
FUZZ_BUILD  := build-fuzz
FUZZ_LIB    := $(LIB_SRCS:src/%.c=$(FUZZ_BUILD)/%.o)
FUZZ_OBJS_readers := $(FUZZ_BUILD)/fuzz/fuzz_readers.o $(FUZZ_BUILD)/rmem_fake.o $(FUZZ_LIB)
FUZZ_OBJS_core    := $(FUZZ_BUILD)/fuzz/fuzz_core.o $(FUZZ_LIB)
# Each target's seeds and committed crashes (replayed by make unit too).
FUZZ_SEEDS_readers := tests/fuzz/seeds tests/fuzz/crashes
FUZZ_SEEDS_core    := tests/fuzz/seeds-core tests/fuzz/crashes-core
FUZZ_SAN    := address,undefined
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -fno-omit-frame-pointer \
               -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -fno-sanitize-recover=all
FUZZ_RUN    := -timeout=5 -rss_limit_mb=2048 -print_final_stats=1

.PHONY: all static test check unit integration fuzz demo bench deps install uninstall clean dist offsets printable deb

all: $(BIN)

static:
	$(Q)$(MAKE) --no-print-directory BUILD=$(STATIC_BUILD) LINK=static SANITIZE= $(STATIC_BUILD)/pystack

$(BUILD) $(BUILD)/unit $(BUILD)/fuzz $(FUZZ_BUILD) $(FUZZ_BUILD)/fuzz:
	$(Q)mkdir -p $@

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(PS_CPPFLAGS) $(CPPFLAGS) $(PS_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/unit/%.o: tests/unit/%.c | $(BUILD)/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(PS_CPPFLAGS) -Itests/fuzz $(CPPFLAGS) $(PS_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/fuzz/%.o: tests/fuzz/%.c | $(BUILD)/fuzz
	$(call msg,CC,$@)
	$(Q)$(CC) $(PS_CPPFLAGS) -Itests/fuzz $(CPPFLAGS) $(PS_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/%.o: src/%.c | $(FUZZ_BUILD)
	$(call msg,CC,$@)
	$(Q)$(FUZZ_CC) $(PS_CPPFLAGS) $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/fuzz/%.o: tests/fuzz/%.c | $(FUZZ_BUILD)/fuzz
	$(call msg,CC,$@)
	$(Q)$(FUZZ_CC) $(PS_CPPFLAGS) -Itests/fuzz $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(BIN): $(BUILD)/main.o $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(PS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PS_LDLIBS) $(LDLIBS)

$(UNIT_BIN): $(TEST_OBJS) $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(PS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PS_LDLIBS) $(LDLIBS)

$(REPLAY_BIN): $(REPLAY_OBJS) $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(PS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PS_LDLIBS) $(LDLIBS)

# The core reader's target has its libFuzzer entry point only here: in the
# replay, fuzz_readers.o has the one entry point a program may have.
$(FUZZ_BUILD)/fuzz/fuzz_core.o: FUZZ_CFLAGS += -DFUZZ_CORE_MAIN

$(FUZZ_BUILD)/fuzz_readers: $(FUZZ_OBJS_readers)
$(FUZZ_BUILD)/fuzz_core: $(FUZZ_OBJS_core)
$(FUZZ_BUILD)/fuzz_%:
	$(call msg,LD,$@)
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $^ $(PS_LDLIBS)

-include $(wildcard $(BUILD)/*.d $(BUILD)/unit/*.d $(BUILD)/fuzz/*.d)
-include $(wildcard $(FUZZ_BUILD)/*.d $(FUZZ_BUILD)/fuzz/*.d)

deps:
	$(Q)tools/deps.sh

unit: $(UNIT_BIN) $(REPLAY_BIN)
	$(Q)$(UNIT_BIN)
	$(Q)$(REPLAY_BIN)

# New inputs go to build-fuzz/corpus-TARGET, findings to build-fuzz/artifacts/
# (named TARGET-crash-..., TARGET-leak-...): copy one to the target's crashes
# directory once fixed, so that make unit keeps it fixed.
# (At least a second each: libFuzzer takes -max_total_time=0 as no limit.)
FUZZ_EACH    = $(shell n=$$(( $(FUZZ_TIME) / $(words $(FUZZ_TARGET)) )); echo $$(( n > 0 ? n : 1 )))
fuzz:
	$(if $(filter-out readers core,$(FUZZ_TARGET)),$(error FUZZ_TARGET: readers, core or both, not "$(FUZZ_TARGET)"))
	$(Q)tools/deps.sh fuzz
	$(Q)$(MAKE) --no-print-directory $(FUZZ_TARGET:%=$(FUZZ_BUILD)/fuzz_%)
	$(Q)mkdir -p $(FUZZ_TARGET:%=$(FUZZ_BUILD)/corpus-%) $(FUZZ_BUILD)/artifacts
	$(Q)$(foreach t,$(FUZZ_TARGET),$(FUZZ_BUILD)/fuzz_$(t) -max_total_time=$(FUZZ_EACH) \
		$(FUZZ_RUN) -artifact_prefix=$(FUZZ_BUILD)/artifacts/$(t)- $(FUZZ_ARGS) \
		$(FUZZ_BUILD)/corpus-$(t) $(wildcard $(FUZZ_SEEDS_$(t))) &&) true

# Two workers (pytest-xdist, installed by make deps): the tests mostly wait on
# interpreters starting and settling.  TEST_JOBS=1 runs them one at a time.
TEST_JOBS   ?= 2
# TESTS= runs some of them (files or directories).
TESTS       ?= tests/integration
# The ordinary pass also builds the static binary, for tests/integration/test_static.py.
integration: $(BIN) $(UNIT_BIN) $(if $(SANITIZE),,static)
	$(Q)PYSTACK=$(abspath $(BIN)) PYSTACK_UNIT=$(abspath $(UNIT_BIN)) \
		PYSTACK_STATIC=$(abspath $(STATIC_BUILD)/pystack) \
		$(PYTHON_TEST) -m pytest -q -rs -p no:cacheprovider \
		$(if $(filter-out 1,$(TEST_JOBS)),-n $(TEST_JOBS)) $(TESTS) $(PYTEST_ARGS)

test: deps
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory integration

# Everything, then again under AddressSanitizer and UBSan (what CI runs): the
# unit tests and fuzz replay whole, the integration tests on a sample of the
# interpreters (tests/integration/pythons.py, PYSTACK_TEST_SAMPLE), leaving
# out the tests of speed, the long races and the packaging (marked timing,
# soak, packaging).
check: deps
	$(Q)$(MAKE) --no-print-directory test
	$(Q)PYSTACK_TEST_SAMPLE=1 $(MAKE) --no-print-directory SANITIZE=address,undefined \
		PYTEST_ARGS='-m "not timing and not soak and not packaging" $(PYTEST_ARGS)' test

demo: deps
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(Q)tools/demo.sh $(BIN)

bench: $(BIN) $(BUILD)/bench-launch static
	$(Q)$(PYTHON_TEST) tools/bench.py $(BIN) $(BUILD)/bench-launch --static $(STATIC_BUILD)/pystack \
		$(if $(BENCH_PYTHON),--python $(BENCH_PYTHON)) $(if $(BENCH_RUNS),--runs $(BENCH_RUNS)) \
		$(if $(BENCH_ONLY),--only $(BENCH_ONLY))

$(BUILD)/bench-launch: tools/bench/launch.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(PS_CFLAGS) $(CFLAGS) -o $@ $<

offsets:
	$(Q)tools/gen_offsets.sh

printable:
	$(Q)$(PYTHON_NEWEST) tools/gen_printable.py > src/unicode_printable.h

BASH_COMPLETION_DIR ?= $(PREFIX)/share/bash-completion/completions
ZSH_COMPLETION_DIR  ?= $(PREFIX)/share/zsh/site-functions
install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/pystack
	install -D -m 0644 man/pystack.1 $(DESTDIR)$(PREFIX)/share/man/man1/pystack.1
	install -D -m 0644 completion/pystack.bash $(DESTDIR)$(BASH_COMPLETION_DIR)/pystack
	install -D -m 0644 completion/_pystack $(DESTDIR)$(ZSH_COMPLETION_DIR)/_pystack

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/pystack $(DESTDIR)$(PREFIX)/share/man/man1/pystack.1 \
		$(DESTDIR)$(BASH_COMPLETION_DIR)/pystack $(DESTDIR)$(ZSH_COMPLETION_DIR)/_pystack

# The Debian package (debian/), built in a copy of the tree: dpkg-buildpackage
# writes its results next to the source directory, so into build-deb/ and
# nowhere else.  The copy holds the working tree's files that git tracks or
# would track (so uncommitted edits are packaged, as make install would
# install them; outside git, as from the tarball, every file but the build
# directories), and a debian/changelog written from VERSION, dated by the
# last commit (else now), signed by debian/control's Maintainer: the version has one
# place.  The inner build gets none of this make's variables or flags; add
# compiler flags the Debian way (DEB_CFLAGS_APPEND=...).
DEB_DIR     := build-deb/pystack-$(VERSION)
deb:
	$(Q)rm -rf build-deb && mkdir -p $(DEB_DIR)
	$(Q){ git ls-files -z --cached --others --exclude-standard 2>/dev/null || \
	  find . \( -path './build*' -o -path './pystack-*.tar.gz' \) -prune -o \
		\( -type f -o -type l \) -print0; } | \
		tar --null -T - --ignore-failed-read -cf - | tar -xf - -C $(DEB_DIR)
	$(Q){ printf 'pystack (%s) unstable; urgency=medium\n\n' '$(VERSION)'; \
	  printf '  * Version %s; the changes are in the git history.\n\n' '$(VERSION)'; \
	  printf ' -- %s  %s\n' "$$(sed -n 's/^Maintainer: //p' debian/control)" \
		"$$(LC_ALL=C date -u -R -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s))"; \
	} > $(DEB_DIR)/debian/changelog
	$(Q)cd $(DEB_DIR) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CFLAGS -u CPPFLAGS \
		-u LDFLAGS -u LDLIBS dpkg-buildpackage -us -uc -b -Jauto
	$(Q)ls build-deb/*.deb

# The release tarball: the committed tree at HEAD, in pystack-VERSION/; it
# builds and tests without git (tests/integration/test_dist.py builds it).
DIST_OUT    ?= pystack-$(VERSION).tar.gz
dist:
	$(Q)git rev-parse --verify -q HEAD >/dev/null 2>&1 || \
		{ echo "make dist: needs a git checkout (it packs the committed tree)" >&2; exit 1; }
	$(Q)git archive --format=tar.gz --prefix=pystack-$(VERSION)/ -o $(DIST_OUT) HEAD
	$(call msg,DIST,$(DIST_OUT))

clean:
	rm -rf build build-san build-static build-deb $(FUZZ_BUILD)
