# Warden: the one entry point.
#
#   make                 build build/warden (and the other programs)
#   make check           build, then run every test; ends with "N passed, N failed"
#   make SANITIZE=1 check  the same under ASan+UBSan (objects in build-san/)
#   make STATIC_LIBS=1   PCRE2, Jansson, libuv, SQLite linked statically into
#                        the programs (see below)
#   make fuzz            libFuzzer harnesses (clang), FUZZ_SECONDS each
#   make bench           side-by-side benchmarks against fail2ban (bench/)
#   make format          clang-format -i; make format-check is what CI runs
#
# Every object except the program mains goes into $(BUILD)/libwarden.a; the
# programs and all tests link that one library.

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD ?= build-san
else
BUILD ?= build
endif

CC ?= cc
PKG_CONFIG ?= pkg-config
# Linked into every program. libsystemd and libnftnl are not: wardend
# loads them (src/dl_systemd.c, src/dl_nftnl.c) when a journal jail, the
# SYSTEMD-JOURNAL log target or the nftables backend needs them, so a
# daemon without those never maps them (idle RSS, bench/daemon.sh). Their
# headers are still needed; only the test drivers that call them link them.
PKGS := libpcre2-8 jansson libuv sqlite3 libmnl
DL_PKGS := libsystemd libnftnl

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla -Wimplicit-fallthrough -Wpointer-arith
OPT ?= -O2
CFLAGS ?= -g $(OPT)
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) $(DL_PKGS)) -Isrc -MMD -MP
ALL_LDLIBS := $(shell $(PKG_CONFIG) --libs $(PKGS)) -ldl -lm $(LDLIBS)
TOOL_LDLIBS := $(ALL_LDLIBS) $(shell $(PKG_CONFIG) --libs $(DL_PKGS))
ifeq ($(WERROR),1)
ALL_CFLAGS += -Werror
endif
# STATIC_LIBS=1 links PCRE2, Jansson, libuv and SQLite statically into
# warden and wardend (Debian's -dev packages ship the .a files), keeping
# only the code they use. It saved ~0.3 MB of idle RSS until wardend began
# unmapping the code its start ran (memtrim.h); now the idle RSS is the
# same either way (bench/daemon.sh's idle config: 2.6-3.0 MB static,
# 2.7-2.8 MB dynamic), and Debian's security updates of those libraries
# reach wardend only when it is rebuilt. Off by default for that reason;
# the tests always link dynamically, as ASan builds do.
STATIC_LIBS ?= 0
ifeq ($(STATIC_LIBS),1)
ifeq ($(SANITIZE),1)
$(error STATIC_LIBS=1 is for release builds: SANITIZE=1 links dynamically)
endif
PROG_LDLIBS := -Wl,--gc-sections -Wl,-Bstatic -lpcre2-8 -ljansson -luv_a \
	-lsqlite3 -Wl,-Bdynamic $(shell $(PKG_CONFIG) --libs libmnl) \
	-lpthread -ldl -lm $(LDLIBS)
else
PROG_LDLIBS := $(ALL_LDLIBS)
endif
# The programs are relinked when the link mode changes.
LINK_MODE := $(BUILD)/link-mode
$(shell mkdir -p $(BUILD) && { echo '$(PROG_LDLIBS)' | \
	cmp -s - $(LINK_MODE) || echo '$(PROG_LDLIBS)' >$(LINK_MODE); })
ifeq ($(SANITIZE),1)
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
ALL_CFLAGS += $(SAN) -O1
LDFLAGS += $(SAN)
endif

MAINS := src/warden.c src/wardend.c
LIB_SRCS := $(filter-out $(MAINS),$(wildcard src/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libwarden.a
PROGS := $(BUILD)/warden $(BUILD)/wardend

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=$(BUILD)/tests/fuzz/replay_%)
# Test-only drivers (differential tests call them); never installed.
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:%.c=$(BUILD)/%)

.SECONDARY:

.PHONY: all check unit fuzz fuzz-build bench format format-check clean install \
	install-conf

all: $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# wardend's built-in default embeds the shipped sshd filter (.incbin).
$(BUILD)/src/default_conf.o: etc/warden/filter.d/sshd.conf \
    etc/warden/filter.d/common.conf

$(BUILD)/warden: $(BUILD)/src/warden.o $(LIB) $(LINK_MODE)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(LINK_MODE),$^) $(PROG_LDLIBS)

$(BUILD)/wardend: $(BUILD)/src/wardend.o $(LIB) $(LINK_MODE)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(LINK_MODE),$^) $(PROG_LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(ALL_LDLIBS)

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(TOOL_LDLIBS)

# The corpus replayer: each harness linked with a plain main() that feeds it
# every file named on the command line (no clang needed).
$(BUILD)/tests/fuzz/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o \
    $(BUILD)/tests/fuzz/replay.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(ALL_LDLIBS)

check: $(PROGS) $(UNIT_BINS) $(FUZZ_REPLAY) $(TOOL_BINS)
	@BUILD=$(BUILD) tests/run

unit: $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run unit

# libFuzzer builds use clang and their own object directory.
FUZZ_BUILD := $(BUILD)-fuzz
comma := ,
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -Isrc \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) $(DL_PKGS))
# The library once, instrumented, as an archive: a harness links only the
# objects it needs (server.o needs wardend's functions, as in LIB).
FUZZ_OBJS := $(LIB_SRCS:src/%.c=$(FUZZ_BUILD)/src/%.o)
FUZZ_LIB := $(FUZZ_BUILD)/libwarden-fuzz.a
$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(@D)
	clang $(subst fuzzer$(comma),fuzzer-no-link$(comma),$(FUZZ_CFLAGS)) \
		-MMD -MP -c -o $@ $<
$(FUZZ_LIB): $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^
fuzz-build: $(FUZZ_LIB)
	@for f in $(FUZZ_SRCS); do \
		t=$$(basename $$f .c); \
		echo "clang $$t"; \
		clang $(FUZZ_CFLAGS) -o $(FUZZ_BUILD)/$$t $$f $(FUZZ_LIB) \
			$(ALL_LDLIBS) || exit 1; \
	done
fuzz: fuzz-build
	@for f in $(FUZZ_SRCS); do \
		t=$$(basename $$f .c); n=$${t#fuzz_}; \
		mkdir -p tests/fuzz/corpus/$$n $(FUZZ_BUILD)/corpus-$$n; \
		echo "== $$t for $(FUZZ_SECONDS)s"; \
		$(FUZZ_BUILD)/$$t -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=tests/fuzz/ \
			$(FUZZ_BUILD)/corpus-$$n tests/fuzz/corpus/$$n || exit 1; \
	done

bench: $(PROGS)
	bench/regex.sh

FORMAT_FILES = $(wildcard src/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] \
	tests/tools/*.[ch] bench/*.[ch])
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
install: $(PROGS) install-conf
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/

# The shipped configuration (etc/warden) into $(SYSCONFDIR)/warden. The
# shipped files are replaced on every install, as packages do; local
# changes belong in *.local files and in files of one's own under jail.d/,
# which are never shipped and so never overwritten.
install-conf:
	cd etc/warden && find . -type d -exec install -d -m 0755 \
		'$(DESTDIR)$(SYSCONFDIR)/warden/{}' ';'
	cd etc/warden && find . -type f -exec install -m 0644 '{}' \
		'$(DESTDIR)$(SYSCONFDIR)/warden/{}' ';'

clean:
	rm -rf build build-san build-fuzz build-san-fuzz

-include $(LIB_OBJS:.o=.d) $(BUILD)/src/warden.d $(BUILD)/src/wardend.d \
	$(UNIT_SRCS:%.c=$(BUILD)/%.d) $(TOOL_SRCS:%.c=$(BUILD)/%.d) \
	$(FUZZ_SRCS:%.c=$(BUILD)/%.d) $(BUILD)/tests/fuzz/replay.d \
	$(FUZZ_OBJS:.o=.d)
