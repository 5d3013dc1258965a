# doppel — the only build entry.
#
#   make            build the daemons into build/
#   make check      install missing test packages, build with ASan+UBSan, run every suite
#   make demo       install missing lab packages, build, show a live replay in a lab
#   make deps       install the Debian packages that building and running need
#                   (no server: the test and demo ones come with check and demo)
#   make deps-package  ... and what dpkg-buildpackage needs
#   make fuzz       run the libFuzzer harnesses (FUZZ_SECONDS each, default 60)
#   make fuzz-long  a fuzz campaign: FUZZ_RUNS executions each (10 million)
#   make soak       faults, a SYN flood and a 30-minute soak, long (not in CI)
#   make install    PREFIX=/usr/local DESTDIR=
#   make dkms       register, build and install the module with DKMS
#   make kmod       build kmod/doppel.ko against KDIR

VERSION   := 0.1.0
PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
BINDIR    ?= $(PREFIX)/bin
DATADIR   ?= $(PREFIX)/share
MANDIR    ?= $(DATADIR)/man
# A system prefix (/usr, /usr/local) puts the configuration in /etc and the
# units where systemd looks; any other PREFIX keeps every file under it
# (scripts/install-extra.sh then creates no user and touches no /run).
ifneq ($(filter /usr /usr/ /usr/local /usr/local/,$(PREFIX)),)
SYSCONFDIR ?= /etc
UNITDIR   ?= /lib/systemd/system
else
SYSCONFDIR ?= $(PREFIX)/etc
UNITDIR   ?= $(PREFIX)/lib/systemd/system
endif
DESTDIR   ?=

BUILD     ?= build
CC        ?= cc
PKGS      := libpcap libnetfilter_queue libmnl libssl libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)
# The engine's protocol modules (copy/engine/auth*.c) hash with libcrypto.
CRYPTO_LIBS := $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)
# doppel-copy's credentials: SASLprep of SCRAM passwords (copy/copy_saslprep.c).
IDN_LIBS := $(shell pkg-config --libs libidn 2>/dev/null || echo -lidn)

WARN      := -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter
ifeq ($(CI),true)
WARN      += -Werror
endif
ifeq ($(SAN),1)
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT       := -O1
else
SANFLAGS  :=
OPT       := -O2
endif
CFLAGS    ?= $(OPT) -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) $(SANFLAGS) -D_GNU_SOURCE \
	-DDOPPEL_VERSION=\"$(VERSION)\" -I. $(PKG_CFLAGS)
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)

# The folders are the parts (docs/architecture.md). lib/net/ is pure packet
# code; the session engine (copy/engine/) is pure too and builds as its own
# archive, so its tests can link nothing but it and lib/net/.
NET_SRC   := $(wildcard lib/net/*.c)
LIB_SRC   := $(wildcard lib/*/*.c)
ENGINE_SRC := $(wildcard copy/engine/*.c)
COPY_SRC  := $(filter-out $(ENGINE_SRC),$(wildcard copy/*.c copy/*/*.c))
ICPT_SRC  := $(wildcard intercept/*.c intercept/*/*.c)
NET_OBJ   := $(NET_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
COPY_OBJ  := $(COPY_SRC:%.c=$(BUILD)/%.o)
ICPT_OBJ  := $(ICPT_SRC:%.c=$(BUILD)/%.o)
COPY_CORE := $(filter-out $(BUILD)/copy/main.o,$(COPY_OBJ))
ICPT_CORE := $(filter-out $(BUILD)/intercept/main.o,$(ICPT_OBJ))

# Unit tests: tests/unit/test_copy_engine_*.c link only the engine and
# lib/net/ (the proof that the engine is pure), the other test_copy_*.c
# doppel-copy's objects, test_intercept_*.c doppel-intercept's, every other
# test_*.c the library only.
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TEST_HELPER_SRC := $(filter-out tests/unit/test_%,$(wildcard tests/unit/*.c))
TEST_HELPER_OBJ := $(TEST_HELPER_SRC:%.c=$(BUILD)/%.o)

BINS      := $(BUILD)/doppel-copy $(BUILD)/doppel-intercept $(BUILD)/doppel-compare-report

.PHONY: all tests check demo deps deps-package bench-deps fuzz fuzz-long fuzz-build soak install uninstall kmod dkms clean bench bench-build
all: $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libdoppel.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Reads doppel-copy's --compare-log (docs/compare.md); json-c parses it.
$(BUILD)/doppel-compare-report: $(BUILD)/copy/compare/report/report.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -ljson-c

$(BUILD)/libnet.a: $(NET_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libengine.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/doppel-copy: $(COPY_OBJ) $(BUILD)/libengine.a $(BUILD)/libdoppel.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(COPY_OBJ) $(BUILD)/libengine.a $(BUILD)/libdoppel.a $(PKG_LIBS) $(IDN_LIBS) -lm

$(BUILD)/doppel-intercept: $(ICPT_OBJ) $(BUILD)/libdoppel.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(ICPT_OBJ) $(BUILD)/libdoppel.a $(PKG_LIBS) -lm

$(BUILD)/tests/test_copy_engine_%: $(BUILD)/tests/unit/test_copy_engine_%.o $(BUILD)/libengine.a $(BUILD)/libnet.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(CRYPTO_LIBS) -lm

$(BUILD)/tests/test_copy_%: $(BUILD)/tests/unit/test_copy_%.o $(COPY_CORE) $(TEST_HELPER_OBJ) $(BUILD)/libengine.a $(BUILD)/libdoppel.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(IDN_LIBS) $(CMOCKA_LIBS) -lm

$(BUILD)/tests/test_intercept_%: $(BUILD)/tests/unit/test_intercept_%.o $(ICPT_CORE) $(TEST_HELPER_OBJ) $(BUILD)/libdoppel.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS) -lm

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(TEST_HELPER_OBJ) $(BUILD)/libdoppel.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS) -lm

tests: $(BINS) $(UNIT_BIN)

# Test tools that run the daemons' real parts (tests/nft, tests/kmod), built
# here with the same flags as everything else.
$(BUILD)/tests/nft/nfq_listen: $(BUILD)/tests/nft/nfq_listen.o $(BUILD)/intercept/source/source_nfqueue.o \
		$(BUILD)/intercept/source/nfqueue_threads.o $(BUILD)/intercept/source/handoff.o \
		$(BUILD)/intercept/source/nfqueue_msg.o $(BUILD)/intercept/source/nl_attr.o $(BUILD)/libdoppel.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/tests/kmod/kmodctl: $(BUILD)/tests/kmod/kmodctl.o $(BUILD)/intercept/source/source_kmod.o \
		$(BUILD)/intercept/source/kmod_netlink.o $(BUILD)/intercept/source/nl_attr.o $(BUILD)/libdoppel.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/tests/nft/tunnel_send: $(BUILD)/tests/nft/tunnel_send.o $(filter $(BUILD)/copy/send/%,$(COPY_OBJ)) \
		$(BUILD)/libdoppel.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/tests/kmod/hostile: $(BUILD)/tests/kmod/hostile.o $(BUILD)/libdoppel.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# Benchmark drivers (bench/*_bench.c, run by bench/run.sh): intercept_*_bench
# link doppel-intercept's objects, the others doppel-copy's. They print
# figures and are never part of `make check`.
BENCH_SRC := $(wildcard bench/*_bench.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

# The daemons' objects go in through archives, so a driver pulls in only
# what it calls (the engine, not the capture backends).
$(BUILD)/bench/copy-core.a: $(COPY_CORE) $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bench/intercept-core.a: $(ICPT_CORE)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bench/intercept_%_bench: $(BUILD)/bench/intercept_%_bench.o $(BUILD)/bench/intercept-core.a $(BUILD)/libdoppel.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/bench/%_bench: $(BUILD)/bench/%_bench.o $(BUILD)/bench/copy-core.a $(BUILD)/libdoppel.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(IDN_LIBS) -lm

bench-build: $(BENCH_BIN)

# Fuzzers are built with clang's libFuzzer, in their own tree. Each links
# lib/ and the sources its FUZZ_EXTRA_<harness> names, compiled with clang
# into build/fuzz/obj like lib/.
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BUILD := build/fuzz
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_SECONDS ?= 60
FUZZ_EXTRA_fuzz_compare := $(wildcard copy/compare/answer*.c) copy/compare/verdict.c
FUZZ_EXTRA_fuzz_nfqueue := intercept/source/nfqueue_msg.c intercept/source/nl_attr.c
FUZZ_EXTRA_fuzz_kmod := intercept/source/source_kmod.c intercept/source/kmod_netlink.c intercept/source/nl_attr.c
FUZZ_EXTRA_fuzz_pcap := $(wildcard copy/capture/*.c)
FUZZ_ARGV  := tests/fuzz/argv_input.c tests/fuzz/no_name_lookup.c
FUZZ_EXTRA_fuzz_auth := $(wildcard copy/engine/auth*.c)
FUZZ_EXTRA_fuzz_copy_options := copy/copy_options.c copy/copy_options_check.c copy/copy_option_lists.c \
	copy/compare/compare_options.c $(wildcard copy/compare/answer*.c) $(wildcard copy/engine/*.c) $(FUZZ_ARGV)
FUZZ_EXTRA_fuzz_intercept_options := $(filter-out intercept/main.c,$(ICPT_SRC)) $(FUZZ_ARGV)
FUZZ_EXTRA_OBJ := $(sort $(foreach h,$(FUZZ_SRC:tests/fuzz/%.c=%),\
	$(FUZZ_EXTRA_$(h):%.c=$(FUZZ_BUILD)/obj/%.o)))
# UBSan must stop the fuzzer at the first report, or findings scroll by.
FUZZ_SAN  := address,undefined -fno-sanitize-recover=undefined
fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD)/obj CC=clang SAN= \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,$(FUZZ_SAN)" \
		$(FUZZ_BUILD)/obj/libdoppel.a $(FUZZ_EXTRA_OBJ)
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

.SECONDEXPANSION:
# (No '%' in the second expansion: the static pattern would take it for the stem.)
$(FUZZ_BIN): $(FUZZ_BUILD)/%: tests/fuzz/%.c $$(addprefix $(FUZZ_BUILD)/obj/,$$(FUZZ_EXTRA_$$*:.c=.o)) \
		$(FUZZ_BUILD)/obj/libdoppel.a
	@echo "  FUZZ  $@"
	@mkdir -p $(FUZZ_BUILD)/obj/tests/fuzz
	@clang -std=gnu11 $(WARN) -O1 -g -fsanitize=fuzzer,$(FUZZ_SAN) -D_GNU_SOURCE \
		-I. $(PKG_CFLAGS) \
		-MMD -MP -MT $@ -MF $(FUZZ_BUILD)/obj/tests/fuzz/$*.d \
		$< $(filter %.o,$^) $(FUZZ_BUILD)/obj/libdoppel.a $(PKG_LIBS) -lm -o $@
# A campaign: every harness for FUZZ_RUNS executions (10 million) or
# FUZZ_SECONDS; FUZZ_MERGE=1 merges what adds coverage into the corpus.
fuzz-long:
	@tests/fuzz/long.sh

fuzz: fuzz-build
	@set -e; for b in $(FUZZ_BIN); do \
		n=$$(basename $$b); mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
		$$b -max_total_time=$(FUZZ_SECONDS) $(FUZZ_BUILD)/corpus/$$n tests/fuzz/corpus/$$n; \
	done

deps:
	@scripts/deps.sh

deps-package:
	@scripts/deps.sh package

check:
	@scripts/deps.sh check
	@$(MAKE) --no-print-directory BUILD=build/san SAN=1 tests
	@$(MAKE) --no-print-directory all
	@tests/run.sh

demo:
	@scripts/deps.sh demo
	@echo "building doppel ..."
	@$(MAKE) --no-print-directory -s all
	@E2E_BUILD=$(BUILD) tests/e2e/demo.sh

# Long reliability runs, not in CI (tests/soak/run.sh; docs/reliability.md).
soak: all
	@tests/soak/run.sh

bench: bench-deps all bench-build
	@BUILD=$(BUILD) bench/run.sh

bench-deps:
	@scripts/deps.sh bench

kmod:
	$(MAKE) -C kmod

dkms:
	scripts/dkms.sh install

install: all
	install -d $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BUILD)/doppel-copy $(BUILD)/doppel-intercept $(DESTDIR)$(SBINDIR)/
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BUILD)/doppel-compare-report $(DESTDIR)$(BINDIR)/
	@if [ -f scripts/install-extra.sh ]; then \
		DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" SBINDIR="$(SBINDIR)" SYSCONFDIR="$(SYSCONFDIR)" DATADIR="$(DATADIR)" \
		MANDIR="$(MANDIR)" UNITDIR="$(UNITDIR)" VERSION="$(VERSION)" scripts/install-extra.sh; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/doppel-copy $(DESTDIR)$(SBINDIR)/doppel-intercept
	rm -f $(DESTDIR)$(BINDIR)/doppel-compare-report
	@if [ -f scripts/install-extra.sh ]; then \
		DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" SBINDIR="$(SBINDIR)" SYSCONFDIR="$(SYSCONFDIR)" DATADIR="$(DATADIR)" \
		MANDIR="$(MANDIR)" UNITDIR="$(UNITDIR)" VERSION="$(VERSION)" scripts/install-extra.sh uninstall; fi

clean:
	rm -rf build
	-$(MAKE) -C kmod clean 2>/dev/null

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
