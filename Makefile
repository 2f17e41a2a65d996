# udax - see README.md. Targets: all (default), check, check-asan,
# check-tsan, check-inject, check-fuzz, fuzz, install, uninstall, demo,
# bench, bench-xproc, bench-store-shared, bench-entry-share, bench-shared-faults,
# bench-store-open, bench-fork,
# clean. install and uninstall take DESTDIR (a staging root) and the
# directories below, e.g. for Debian multiarch:
#   make install PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu
# One version, the header's UDAX_VERSION (udax_version() returns it at run time).
VERSION := $(shell sed -n 's/^#define UDAX_VERSION "\(.*\)"$$/\1/p' include/udax.h)
SONAME := libudax.so.0
CC ?= cc
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BUILD ?= build
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 $(WARN) $(CFLAGS) -Iinclude -pthread
# The library's files include each other by layer: "base/lock.h".
LIB_CFLAGS := $(ALL_CFLAGS) -Isrc -fPIC -fvisibility=hidden
# -z now: every symbol bound at load, so that no lazy binding (the dynamic
# linker's resolver, ~2.5 KiB of stack on AVX-512 machines) ever runs in
# the fault handler, which may be on an application's small sigaltstack.
LDLIBS := -pthread -Wl,-z,now

LIB_SRC := $(filter-out src/preload/%,$(wildcard src/*/*.c))
LIB_HDR := $(filter-out src/preload/%,$(wildcard src/*/*.h))
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/src/%.o)
# The preload shim (udax run): its own objects over a copy of the library's
# whose libc calls are renamed to the shim's pass-throughs, so that udax's
# own syscalls never enter the calls the shim interposes.
PRELOAD_SRC := $(wildcard src/preload/*.c)
PRELOAD_OBJ := $(PRELOAD_SRC:src/%.c=$(BUILD)/src/%.o)
PRELOAD_LIB_OBJ := $(LIB_OBJ:$(BUILD)/src/%.o=$(BUILD)/preload-lib/%.o)
TEST_SRC := $(wildcard tests/*.c)
TEST_HELPERS := tests/test_util.c
TEST_PROGS := $(filter-out $(BUILD)/tests/test_util,$(TEST_SRC:tests/%.c=$(BUILD)/tests/%))
TEST_SCRIPTS := $(patsubst tests/%.sh,$(BUILD)/tests/%,$(filter-out tests/run.sh,$(wildcard tests/*.sh)))
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
MAN3 := $(wildcard man/*.3)
MAN1 := $(wildcard man/*.1)

all: $(BUILD)/libudax.a $(BUILD)/libudax.so $(BUILD)/libudax-preload.so $(BUILD)/udax \
	$(EXAMPLES) $(TEST_PROGS) $(TEST_SCRIPTS)

$(BUILD)/src/%.o: src/%.c $(LIB_HDR) include/udax.h
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(BUILD)/libudax.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libudax.so: $(LIB_OBJ) src/libudax.map
	$(CC) -shared -Wl,--version-script=src/libudax.map -Wl,-soname,$(SONAME) \
		$(ALL_CFLAGS) $(LIB_OBJ) -o $@ $(LDLIBS)

$(PRELOAD_OBJ): $(wildcard src/preload/*.h)

$(BUILD)/preload-lib/%.o: $(BUILD)/src/%.o src/preload/libc_redirect.syms
	@mkdir -p $(dir $@)
	objcopy --redefine-syms=src/preload/libc_redirect.syms $< $@

# It exports the calls it interposes (SHIM_EXPORT: default visibility in
# its own objects), not the udax_* calls of its copy of the library.
$(BUILD)/preload.map: $(PRELOAD_OBJ)
	{ echo '{ global:'; readelf -sW $(PRELOAD_OBJ) | \
		awk '$$5 == "GLOBAL" && $$6 == "DEFAULT" && $$7 != "UND" { print "\t" $$8 ";" }' | \
		sort -u; echo 'local: *; };'; } > $@

$(BUILD)/libudax-preload.so: $(PRELOAD_OBJ) $(PRELOAD_LIB_OBJ) $(BUILD)/preload.map
	$(CC) -shared -Wl,--version-script=$(BUILD)/preload.map $(ALL_CFLAGS) $(PRELOAD_OBJ) \
		$(PRELOAD_LIB_OBJ) -o $@ $(LDLIBS) -ldl

CLI_SRC := $(wildcard tools/*.c)
$(BUILD)/udax: $(CLI_SRC) $(wildcard tools/*.h) include/udax.h $(BUILD)/libudax.a
	$(CC) $(ALL_CFLAGS) $(CLI_SRC) $(BUILD)/libudax.a -o $@ $(LDLIBS)

# The examples see only the public header, as a program of the user's would
# (tests/examples_run.sh runs them).
$(BUILD)/examples/%: examples/%.c include/udax.h $(BUILD)/libudax.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(BUILD)/libudax.a -o $@ $(LDLIBS)

# The shim's tests are ordinary POSIX programs: no udax.h, no libudax (they
# run themselves under `udax run`).
$(BUILD)/tests/shim_%: tests/shim_%.c tests/shim_lib.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE $< -o $@ $(LDLIBS)

# shim_lmdb and shim_lmdb_processes run liblmdb: linked with it where lmdb.h is there (Debian
# liblmdb-dev), else built as a program that skips.
HAVE_LMDB := $(shell printf '\043include <lmdb.h>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo 1)
$(BUILD)/tests/shim_lmdb $(BUILD)/tests/shim_lmdb_processes: $(BUILD)/tests/%: tests/%.c tests/shim_lib.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE $(if $(HAVE_LMDB),-DHAVE_LMDB) $< -o $@ \
		$(if $(HAVE_LMDB),-llmdb) $(LDLIBS)

# Tests link the static library; unit tests of internals also see src/.
$(BUILD)/tests/%: tests/%.c $(TEST_HELPERS) $(wildcard tests/*.h) $(BUILD)/libudax.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -Isrc $< $(TEST_HELPERS) $(BUILD)/libudax.a -o $@ $(LDLIBS)

$(BUILD)/tests/dirs_match_host_twin $(BUILD)/tests/dirs_kill9_tree_durable: tests/dir_twin.h

$(BUILD)/tests/%: tests/%.sh
	@mkdir -p $(dir $@)
	install -m 755 $< $@

check: all
	UDAX_TEST_CC="$(CC) $(CFLAGS)" tests/run.sh $(BUILD)

# Sanitizer builds of the whole suite (ASan+UBSan) and of the concurrency
# tests (TSan) in their own build directories.
# handle_sigbus=0: a test checks the death by SIGBUS of a process that has
# no handler, which ASan's own handler would turn into an error exit.
check-asan:
	ASAN_OPTIONS=handle_sigbus=0 $(MAKE) BUILD=build-asan CC=clang \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
		check

TSAN_TESTS := entry_lock_wakeups seed_race_read_write readers_writer_hole \
	delivery_sigsegv_fallback enospc_sigbus holetest_punch_truncate \
	invalidate_wakes_all_waiters dirty_tracking_writeback pmd_pte_conflicts \
	map_ahead_adapts \
	pmd_faults_aligned_extents pwrite_runs_read_back pwrite_same_page_never_enospc \
	xproc_shootdown_acked xproc_rwlock_threads store_two_handles_one_process
check-tsan:
	$(MAKE) BUILD=build-tsan CC=clang CFLAGS="-O1 -g -fsanitize=thread" all
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
		tests/run.sh build-tsan $(TSAN_TESTS)

# The fault-injection build: the whole suite with injection compiled in;
# injected_errors arms it (and skips in other builds).
check-inject:
	$(MAKE) BUILD=build-inject CFLAGS="-O1 -g -DUDAX_FAULT_INJECT" check

# The store fuzzer (tests/fuzz/store_fuzz.c): libFuzzer, clang, ASan+UBSan.
# check-fuzz replays the checked-in corpus (seconds). fuzz runs it for
# FUZZ_SECONDS with FUZZ_JOBS processes, new inputs going to
# build-fuzz/corpus; fuzz-merge adds those that cover more to
# tests/fuzz/corpus; fuzz-seeds rewrites the seed-* inputs; fuzz-cov prints
# the line coverage of the store's files over the corpus.
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -std=c11 $(WARN) -O1 -g -fno-omit-frame-pointer -Iinclude -Isrc -pthread
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_DEPS := tests/fuzz/store_fuzz.c $(LIB_SRC) $(LIB_HDR) include/udax.h

$(FUZZ_BUILD)/store_fuzz: $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(FUZZ_SAN) tests/fuzz/store_fuzz.c $(LIB_SRC) -o $@ $(LDLIBS)

$(FUZZ_BUILD)/store_fuzz_cov: $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping \
		tests/fuzz/store_fuzz.c $(LIB_SRC) -o $@ $(LDLIBS)

check-fuzz: $(FUZZ_BUILD)/store_fuzz
	$(FUZZ_BUILD)/store_fuzz -runs=0 tests/fuzz/corpus

fuzz: $(FUZZ_BUILD)/store_fuzz
	@mkdir -p $(FUZZ_BUILD)/corpus
	cd $(FUZZ_BUILD) && ./store_fuzz -max_total_time=$(FUZZ_SECONDS) -jobs=$(FUZZ_JOBS) \
		-workers=$(FUZZ_JOBS) -max_len=8192 -print_final_stats=1 \
		corpus $(CURDIR)/tests/fuzz/corpus

fuzz-merge: $(FUZZ_BUILD)/store_fuzz
	$(FUZZ_BUILD)/store_fuzz -merge=1 -use_counters=0 -use_value_profile=0 tests/fuzz/corpus \
		$(FUZZ_BUILD)/corpus

fuzz-seeds: $(FUZZ_BUILD)/store_fuzz
	UDAX_FUZZ_SEEDS=tests/fuzz/corpus $(FUZZ_BUILD)/store_fuzz

fuzz-cov: $(FUZZ_BUILD)/store_fuzz_cov
	LLVM_PROFILE_FILE=$(FUZZ_BUILD)/cov.profraw $(FUZZ_BUILD)/store_fuzz_cov -runs=0 \
		tests/fuzz/corpus
	llvm-profdata-14 merge -sparse $(FUZZ_BUILD)/cov.profraw -o $(FUZZ_BUILD)/cov.profdata
	llvm-cov-14 report $(FUZZ_BUILD)/store_fuzz_cov -instr-profile=$(FUZZ_BUILD)/cov.profdata \
		src/store/store_disk.c src/store/store_check.c src/store/store_format.c

# The shared library is installed under its full version with the soname
# link (what programs load) and the development link (what -ludax finds).
# udax.pc names the directories given here; under PREFIX as ${prefix}/...
PC_SUBST := -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	-e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	-e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|'
$(BUILD)/udax.pc: udax.pc.in FORCE
	@mkdir -p $(dir $@)
	sed $(PC_SUBST) udax.pc.in > $@

install: $(BUILD)/libudax.a $(BUILD)/libudax.so $(BUILD)/libudax-preload.so $(BUILD)/udax \
	$(BUILD)/udax.pc
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man1
	install -m 644 include/udax.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(BUILD)/libudax.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libudax.so $(DESTDIR)$(LIBDIR)/libudax.so.$(VERSION)
	install -m 755 $(BUILD)/libudax-preload.so $(DESTDIR)$(LIBDIR)/
	ln -sfn libudax.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sfn libudax.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libudax.so
	install -m 644 $(BUILD)/udax.pc $(DESTDIR)$(PKGCONFIGDIR)/
	install -m 755 $(BUILD)/udax $(DESTDIR)$(BINDIR)/
	install -m 644 $(MAN3) $(DESTDIR)$(MANDIR)/man3/
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/

# Removes what install put there (not the directories, which may be shared).
uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/udax.h $(DESTDIR)$(LIBDIR)/libudax.a \
		$(DESTDIR)$(LIBDIR)/libudax.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
		$(DESTDIR)$(LIBDIR)/libudax.so $(DESTDIR)$(LIBDIR)/libudax-preload.so \
		$(DESTDIR)$(PKGCONFIGDIR)/udax.pc \
		$(DESTDIR)$(BINDIR)/udax
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1)))

demo: $(BUILD)/udax
	$(BUILD)/udax demo

# udax bench beside kernel_sparse and fsync_cost (and the kernel anchors when
# UDAX_ANCHORS names their directory); not a test. bench/matrix.sh: the matrix.
bench: $(BUILD)/libudax.a
	bench/run.sh

# bench/xproc_shootdown.c: what a page's shootdown in N processes costs by
# each mechanism a cross-process udax could use and by udax's own (src/xproc),
# beside the kernel's msync (docs/DESIGN.md, Several processes); not a test.
bench-xproc: $(BUILD)/libudax.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -Isrc bench/xproc_shootdown.c $(BUILD)/libudax.a \
		-o $(BUILD)/bench/xproc_shootdown $(LDLIBS)
	$(BUILD)/bench/xproc_shootdown 7 2000

# bench/store_shared.c: the store calls a fault makes (block lookup and
# allocation) on a store shared by processes (issue 14, stage 2) beside the
# same store loaded by one process; not a test.
bench-entry-share: $(BUILD)/libudax.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -Isrc bench/entry_share.c $(BUILD)/libudax.a \
		-o $(BUILD)/bench/entry_share $(LDLIBS)
	$(BUILD)/bench/entry_share 7 2000000

bench-store-shared: $(BUILD)/libudax.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -Isrc bench/store_shared.c $(BUILD)/libudax.a \
		-o $(BUILD)/bench/store_shared $(LDLIBS)
	$(BUILD)/bench/store_shared 7 2000000

# bench/shared_faults.c: a fault with the store opened shared by processes
# (issue 14, stage 3), after another process mapped the page, and two
# processes on disjoint halves, beside one process alone; not a test.
bench-shared-faults: $(BUILD)/libudax.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -Isrc bench/shared_faults.c $(BUILD)/libudax.a \
		-o $(BUILD)/bench/shared_faults $(LDLIBS)
	$(BUILD)/bench/shared_faults 7

# bench/store_open.c: what an open + close of a store costs in each way a
# process can open it (exclusive, shared alone or beside a member); not a
# test.
bench-store-open: $(BUILD)/libudax.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE bench/store_open.c $(BUILD)/libudax.a \
		-o $(BUILD)/bench/store_open $(LDLIBS)
	$(BUILD)/bench/store_open 7 200

# bench/fork_child.c: what a fork() of a process with a udax mapping of a
# shared store costs (the child joins and faults in again), beside the
# kernel's MAP_SHARED mapping; not a test.
bench-fork: $(BUILD)/libudax.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE bench/fork_child.c $(BUILD)/libudax.a \
		-o $(BUILD)/bench/fork_child $(LDLIBS)
	$(BUILD)/bench/fork_child 7 20

clean:
	rm -rf build build-asan build-tsan build-inject $(FUZZ_BUILD)

.PHONY: all check check-asan check-tsan check-inject check-fuzz fuzz fuzz-merge fuzz-seeds \
	fuzz-cov install uninstall demo bench bench-xproc bench-store-shared bench-entry-share \
	bench-shared-faults bench-store-open bench-fork \
	clean FORCE
FORCE:
