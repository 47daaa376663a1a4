# clusterpack: one plain GNU Makefile.
#   make            build libclusterpack (static + shared) and cpk
#   make deps       install build and test dependencies (apt, as root)
#   make check      deps, then every test (normal build and ASan/UBSan build);
#                   T='tests/t2000-ldap.sh ...' runs only those, in the normal build
#   make check-fresh the README's commands in fresh Debian 12 and 13 roots (as CI);
#                   SUITE=bookworm|trixie runs `make check` in that one only
#   make demo       render the example and run jobs on a local Slurm
#   make fuzz       build and run the fuzzers (description parser, resume
#                   journal), FUZZ_TIME=600 seconds EACH
#   make install    PREFIX=/usr/local DESTDIR=
# V=1 shows the commands.  Local overrides go in config.mak.

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
INCDIR    ?= $(PREFIX)/include
MANDIR    ?= $(PREFIX)/share/man
PKGLIBDIR ?= $(LIBDIR)/clusterpack
SYSCONFDIR ?= /etc
# Slurm's plugin directory (Debian: /usr/lib/<triplet>/slurm-wlm).
SLURM_PLUGINDIR ?= $(shell d=$$($(PKG_CONFIG) --variable=libdir slurm 2>/dev/null); \
  if [ -n "$$d" ]; then echo $$d/slurm; else echo /usr/lib/$$($(CC) -dumpmachine 2>/dev/null)/slurm-wlm; fi)

CC        ?= cc
PKG_CONFIG ?= pkg-config
B         ?= build
SAN       ?=

-include config.mak

# The libraries' flags are read when make reads this file.  Targets that
# install them first (demo, check) therefore build in a second make, started
# after `deps`; everything that compiles checks first that they are there
# (pkgcheck), so a missing library is an error that says what to do, never a
# silent link without it.
PKGS      := yaml-0.1 libssh ldap lber libcrypto libxcrypt
DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# libslurm (libslurm-dev, `cpk node list`) has no pkg-config file in Debian
# 12: it is found by its header (pkgcheck) and linked by name.
SLURM_LIBS ?= -lslurm
DEP_LIBS  := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) $(SLURM_LIBS)

WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Wno-unused-parameter
HARDEN    := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIC
ifeq ($(SAN),thread)
OPT       := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
HARDEN    := -fPIC
SANLD     := -fsanitize=thread
else ifneq ($(SAN),)
OPT       := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined
HARDEN    := -fPIC
SANLD     := -fsanitize=address,undefined
else
OPT       := -O2 -g
endif
ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE $(OPT) $(WARN) $(HARDEN) -Iinclude -Ilib/util \
             -DCPK_VERSION='"$(VERSION)"' -DCPK_PKGLIBDIR='"$(PKGLIBDIR)"' \
             -DCPK_SYSCONFDIR='"$(SYSCONFDIR)"' $(DEP_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANLD) -pthread -Wl,-z,relro,-z,now $(LDFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS  := $(sort $(wildcard lib/*/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(B)/%.o)
CLI_SRCS  := $(sort $(wildcard tools/*.c))
CLI_OBJS  := $(CLI_SRCS:%.c=$(B)/%.o)
PLUGIN_SRCS := $(sort $(wildcard plugins/*.c))
PLUGIN_OBJS := $(PLUGIN_SRCS:%.c=$(B)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/*_test.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%_test.c=$(B)/tests/%.t)
# Test programs the shell tests drive (they need a daemon the test starts).
# Each tests/progs/*.c is a program; tests/progs/lib/*.c, their shared code,
# is an archive each links (so a program takes only the parts it uses).
PROG_SRCS := $(sort $(wildcard tests/progs/*.c))
PROG_BINS := $(PROG_SRCS:tests/progs/%.c=$(B)/tests/progs/%)
PROGLIB_SRCS := $(sort $(wildcard tests/progs/lib/*.c))
PROGLIB_OBJS := $(PROGLIB_SRCS:%.c=$(B)/%.o)
PROGLIB   := $(B)/tests/progs/libprogs.a
# Test programs that link libslurm (libslurm-dev), to compare cpk with Slurm:
# built where slurm/slurm.h is; the tests that run them say when it is not.
SLURM_HDR := $(wildcard /usr/include/slurm/slurm.h)
SLURM_PROG_SRCS := $(sort $(wildcard tests/slurm/*.c))
SLURM_PROG_BINS := $(if $(SLURM_HDR),$(SLURM_PROG_SRCS:tests/slurm/%.c=$(B)/tests/slurm/%))
MAN_INS   := $(wildcard docs/man/*.in)
MANS      := $(MAN_INS:docs/man/%.in=$(B)/man/%)

STATIC    := $(B)/libclusterpack.a
SONAME    := libclusterpack.so.0
SHARED    := $(B)/$(SONAME)
CPK       := $(B)/cpk
PLUGIN    := $(B)/cpk_stage.so

.SECONDARY:
.PHONY: all deps check check-fresh test test-unit test-san test-tsan demo fuzz fuzz-build install \
        bench-transfer bench-stage clean bench man pkgcheck
all: $(STATIC) $(SHARED) $(CPK) $(PLUGIN) man

pkgcheck:
	@$(PKG_CONFIG) --exists $(PKGS) 2>/dev/null || { \
	  echo "make: the build needs $(PKGS) (found with $(PKG_CONFIG)), which are not all installed:" >&2; \
	  echo "make: run 'make deps' as root first (or 'make demo' / 'make check', which do)" >&2; exit 1; }
	@echo '#include <slurm/slurm.h>' | $(CC) $(CFLAGS) -E -x c - >/dev/null 2>&1 || { \
	  echo "make: the build needs libslurm's headers (slurm/slurm.h, Debian package libslurm-dev):" >&2; \
	  echo "make: run 'make deps' as root first" >&2; exit 1; }

$(B)/%.o: %.c | pkgcheck
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(STATIC): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(SHARED): $(LIB_OBJS) lib/libclusterpack.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libclusterpack.map \
	  $(ALL_LDFLAGS) -o $@ $(LIB_OBJS) $(DEP_LIBS)
	$(Q)ln -sf $(SONAME) $(B)/libclusterpack.so

$(CPK): $(CLI_OBJS) $(STATIC)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(STATIC) $(DEP_LIBS)

# The SPANK plugin links the library's PIC objects it needs statically (from
# the archive: only lib/stage and lib/util), so slurmstepd loads no
# libclusterpack.so and needs no rpath; its version script exports only the
# SPANK symbols.  The transfers run in the exec'd `cpk stage`, not in it.
$(PLUGIN): $(PLUGIN_OBJS) $(STATIC) plugins/cpk_stage.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,--version-script=plugins/cpk_stage.map $(ALL_LDFLAGS) \
	  -o $@ $(PLUGIN_OBJS) $(STATIC)

$(B)/tests/%.t: $(B)/tests/unit/%_test.o $(STATIC)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(STATIC) $(DEP_LIBS)

$(B)/tests/progs/%: $(B)/tests/progs/%.o $(PROGLIB) $(STATIC)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(PROGLIB) $(STATIC) $(DEP_LIBS)

$(B)/tests/slurm/%: $(B)/tests/slurm/%.o $(STATIC)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(STATIC) $(DEP_LIBS)

$(B)/tests/slurm/%.o: tests/slurm/%.c | pkgcheck
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(PROGLIB): $(PROGLIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(B)/tests/progs/lib/%.o: tests/progs/lib/%.c | pkgcheck
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -Itests/progs/lib -c -o $@ $<

$(B)/tests/progs/%.o: tests/progs/%.c | pkgcheck
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -Itests/progs/lib -c -o $@ $<

$(B)/tests/unit/%_test.o: tests/unit/%_test.c | pkgcheck
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -c -o $@ $<

man: $(MANS)
$(B)/schema.roff: $(CPK)
	$(Q)$(CPK) schema > $@.tmp && mv $@.tmp $@
$(B)/man/cluster.yaml.5: $(B)/schema.roff
$(B)/man/%: docs/man/%.in Makefile
	@mkdir -p $(dir $@)
	$(Q)sed -e 's/@VERSION@/$(VERSION)/g' -e '/^@SCHEMA@$$/{r $(B)/schema.roff' -e 'd;}' \
	  -e "s/@DATE@/$$(date -u -d @$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || date +%s)} +%Y-%m-%d)/g" \
	  -e 's|@PKGLIBDIR@|$(PKGLIBDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< > $@

deps:
	$(Q)sh tests/rig/deps.sh

# The tests: unit programs and shell tests, all TAP, run by prove.  The second
# pass repeats the unit and CLI tests with AddressSanitizer/UBSan.
# T=... (shell tests by path, unit tests by source or binary path) runs only those.
TESTS_SH := $(sort $(wildcard tests/t[0-9]*.sh))
T_UNIT   := $(foreach t,$(T),$(if $(filter %_test.c,$t),$(t:tests/unit/%_test.c=$(B)/tests/%.t),$(filter %.t,$t)))
T_SH     := $(filter %.sh,$(T))
T_OTHER  := $(filter-out %.sh %.t %_test.c,$(T))
ifneq ($(T_OTHER),)
$(error T names $(T_OTHER): give tests/tNNNN-*.sh or tests/unit/*_test.c paths)
endif
RUN_UNIT := $(if $(T),$(T_UNIT),$(UNIT_BINS))
RUN_SH   := $(if $(T),$(T_SH),$(TESTS_SH))
# the same for test-san and test-tsan
SAN_UNIT := $(if $(T),$(patsubst $(B)/tests/%,build-san/tests/%,$(T_UNIT)),$(UNIT_SRCS:tests/unit/%_test.c=build-san/tests/%.t))
SAN_SH   := $(if $(T),$(T_SH:%=./%),$(filter ./tests/t0% ./tests/t1% ./tests/t2% ./tests/t3% ./tests/t4% ./tests/t5%,$(TESTS_SH:%=./%)))
TSAN_SH  := $(if $(T),$(T_SH:%=./%),$(filter-out ./tests/t3103%,$(filter ./tests/t31%,$(TESTS_SH:%=./%))))
test: all $(RUN_UNIT) $(PROG_BINS) $(SLURM_PROG_BINS)
	$(Q)CPK=$(abspath $(CPK)) CPK_BUILD=$(abspath $(B)) \
	  prove -e '' $(PROVE_FLAGS) $(RUN_UNIT:%=./%) $(RUN_SH:%=./%)

# The helper cpk under ASan for t5xxx too; slurmstepd loads a plain
# build's cpk_stage.so (CPK_PLUGIN), as it cannot load an ASan one.
test-san:
	$(Q)$(MAKE) --no-print-directory B=build-san SAN=1 all $(UNIT_SRCS:tests/unit/%_test.c=build-san/tests/%.t) \
	  $(PROG_SRCS:tests/progs/%.c=build-san/tests/progs/%) \
	  $(if $(SLURM_HDR),$(SLURM_PROG_SRCS:tests/slurm/%.c=build-san/tests/slurm/%))
	$(Q)$(MAKE) --no-print-directory build/cpk_stage.so
	$(Q)CPK=$(abspath build-san/cpk) CPK_BUILD=$(abspath build-san) CPK_SAN=1 \
	  CPK_PLUGIN=$(abspath build/cpk_stage.so) \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  prove -e '' $(PROVE_FLAGS) $(SAN_UNIT:%=./%) $(SAN_SH)

# The transfer engine's threads (several per SSH session) under
# ThreadSanitizer: the copy tests but the 1 GiB one.
test-tsan:
	$(Q)$(MAKE) --no-print-directory B=build-tsan SAN=thread all \
	  $(PROG_SRCS:tests/progs/%.c=build-tsan/tests/progs/%)
	$(Q)CPK=$(abspath build-tsan/cpk) CPK_BUILD=$(abspath build-tsan) CPK_SAN=1 \
	  TSAN_OPTIONS=halt_on_error=1 \
	  prove -e '' $(PROVE_FLAGS) $(TSAN_SH)

check: deps
	$(Q)$(MAKE) --no-print-directory test
ifeq ($(T),)
	$(Q)$(MAKE) --no-print-directory test-san
	$(Q)$(MAKE) --no-print-directory test-tsan
endif

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)sh tests/rig/demo.sh $(abspath $(CPK))

# What CI runs (.ci/run): a new machine's first `make demo` and `make check`
# in a fresh Debian 12 root, and `make check` in a fresh Debian 13 root.
check-fresh:
ifeq ($(SUITE),)
	$(Q)bash tests/rig/fresh-root.sh --suite bookworm 'make demo && make check'
	$(Q)bash tests/rig/fresh-root.sh --suite trixie 'make check'
else
	$(Q)bash tests/rig/fresh-root.sh --suite $(SUITE) 'make check'
endif

# libFuzzer targets (clang): the description parser and the resume journal
# reader, run one after the other, each for FUZZ_TIME seconds.
FUZZ_TIME ?= 600
FUZZ_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -DCPK_VERSION='"$(VERSION)"' -DCPK_PKGLIBDIR='"$(PKGLIBDIR)"' -DCPK_SYSCONFDIR='"$(SYSCONFDIR)"' -g -O1 -fsanitize=fuzzer,address,undefined \
               -Iinclude -Ilib/util $(DEP_CFLAGS)
FUZZERS   := build-fuzz/fuzz_model build-fuzz/fuzz_journal
fuzz-build: $(FUZZERS)
build-fuzz/fuzz_%: fuzz/fuzz_%.c $(LIB_SRCS)
	@mkdir -p build-fuzz
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRCS) $(DEP_LIBS)
fuzz: fuzz-build
	$(Q)mkdir -p build-fuzz/corpus build-fuzz/corpus-journal
	$(Q)cp examples/*.yaml tests/data/bad/*.yaml build-fuzz/corpus/ 2>/dev/null || true
	$(Q)cp fuzz/journal/* build-fuzz/corpus-journal/
	$(Q)./build-fuzz/fuzz_model -max_total_time=$(FUZZ_TIME) -max_len=8192 \
	  -timeout=10 -rss_limit_mb=2048 -artifact_prefix=build-fuzz/ -dict=fuzz/yaml.dict build-fuzz/corpus
	$(Q)./build-fuzz/fuzz_journal -max_total_time=$(FUZZ_TIME) -max_len=4096 \
	  -timeout=10 -rss_limit_mb=512 -artifact_prefix=build-fuzz/journal- \
	  -dict=fuzz/journal.dict build-fuzz/corpus-journal

$(B)/bench/relay: bench/relay.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

# The transfer benchmark takes an hour or so (RTT 0, 20 and 100 ms, two sshd
# setups; a slow baseline is stopped after TIMEOUT=300 s a row).
bench-transfer: all $(B)/bench/relay
	$(Q)bash bench/transfer.sh $(abspath $(CPK)) $(abspath $(B)/bench/relay)

# The staging benchmark (issue 12): a job's --stage-in/--stage-out of 1 GiB
# at RTT 50 ms against a bare cpk copy (root; about a minute).
bench-stage: all $(B)/bench/relay
	$(Q)bash bench/stage.sh $(abspath $(CPK)) $(abspath $(PLUGIN)) $(abspath $(B)/bench/relay)

bench: all $(PROG_BINS)
	$(Q)sh bench/render.sh $(abspath $(CPK))
	$(Q)CPK_BUILD=$(abspath $(B)) sh bench/ldap-lib.sh
	$(Q)sh bench/ldap.sh $(abspath $(CPK))

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/cpk \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(CPK) $(DESTDIR)$(BINDIR)/cpk
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libclusterpack.a
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libclusterpack.so
	install -m 644 include/cpk/*.h $(DESTDIR)$(INCDIR)/cpk/
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCDIR)' '' \
	  'Name: libclusterpack' 'Description: clusterpack core library' \
	  'Version: $(VERSION)' 'Requires.private: $(PKGS)' \
	  'Libs: -L$${libdir} -lclusterpack' 'Libs.private: $(SLURM_LIBS)' 'Cflags: -I$${includedir}' \
	  > $(DESTDIR)$(LIBDIR)/pkgconfig/libclusterpack.pc
	for m in $(MANS); do s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
	  install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	install -d $(DESTDIR)$(SLURM_PLUGINDIR)
	install -m 755 $(PLUGIN) $(DESTDIR)$(SLURM_PLUGINDIR)/cpk_stage.so
	install -d $(DESTDIR)$(PKGLIBDIR)
	ln -sf $(SLURM_PLUGINDIR)/cpk_stage.so $(DESTDIR)$(PKGLIBDIR)/cpk_stage.so

clean:
	rm -rf build build-san build-tsan build-fuzz

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(PLUGIN_OBJS:.o=.d) $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%.d) \
  $(SLURM_PROG_SRCS:tests/slurm/%.c=$(B)/tests/slurm/%.d) \
  $(PROG_SRCS:tests/progs/%.c=$(B)/tests/progs/%.d) $(PROGLIB_OBJS:.o=.d)
