// SPDX-License-Identifier: MIT
/*
 * store_shared_files: processes that open one store shared (issue 14,
 * stage 3: udax_store_open) share each file's page index, size
 * and locks, as threads of one process do.
 *  1. Write faults race across processes: three processes write their own
 *     tag into every page of one file through their own mappings, in the
 *     same seeded order at the same time, so that first writes of a page
 *     meet. Each page gets one block, zeroed once, before any tag: every
 *     page ends with all three tags and nothing else, and the file has as
 *     many blocks as pages (a block allocated twice, or zeroed after a
 *     tag was written, fails this).
 *  2. pwrite across processes: each appends its records to one file at
 *     once; each sees the file's one size and every record.
 *  3. A file open and mapped in another process can be unlinked (and a
 *     file renamed over its name): its name goes at once, its data stays
 *     for that process, which reads it through its mapping and handle;
 *     once that process is killed, the next open of the store frees its
 *     blocks; a file made in its place starts with no page of the old
 *     one (its page index made anew).
 *  4. A process that has a file open but maps none of it is not asked to
 *     unmap anything: stopped (SIGSTOP), it does not hold up another
 *     process's punch of that file (found by the review: every opener was
 *     asked, and the punch waited until the process was continued).
 *  5. fork() of a process with the store open shared and a file mapped:
 *     the child's inherited handles are refused (-EBADF); the child opens
 *     the store itself, reads through its own mapping what the parent
 *     wrote through its, and writes back; the parent, whose mapping stayed
 *     as it was, sees the child's write (the plain build only: a
 *     sanitizer's child of a process with threads must not start threads,
 *     xproc_test.h).
 * Fork children are the members (none before the test's own join, for
 * ASan); afterwards the test reads everything back through a fresh open.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_shared_test.h"
#include "test_util.h"

#define PROCS 3
#define RACE_PAGES 8192u		/* 32 MiB: 2 MiB and 4 KiB entries */
#define RECORD 512u
#define RECORDS_EACH 2000u
#define OLD_PAGES 8u

struct board {
	_Atomic uint32_t opened;	/* phase 1: members with the file open */
	_Atomic uint32_t sized;		/* phase 1: the file has its size */
	_Atomic uint32_t written;	/* phase 1: members done writing */
	_Atomic uint32_t appended;	/* phase 2: members done appending */
	_Atomic uint32_t old_ready;	/* phase 3: the opener has written */
	_Atomic uint32_t unlinked;	/* phase 3: the remover unlinked it */
	_Atomic uint32_t still_read;	/* phase 3: the opener read it after */
	_Atomic uint32_t opener_gone;	/* phase 3: the opener was killed */
	_Atomic uint32_t idle_open;	/* phase 4: the idle opener is ready */
	_Atomic uint32_t idle_stopped;	/* phase 4: and stopped */
	_Atomic uint32_t punch_done;	/* phase 4 */
};

static struct board *board;
static const char *path;

static uint64_t tag_of(unsigned me, uint64_t page)
{
	return (uint64_t)(me + 1) << 56 | page;
}

/* Phase 1: write my tag (word me) into every page, in the common order. */
static void race_writer(unsigned me)
{
	struct udax_store *s = store_shared_test_open(path);
	uint64_t rng = test_seed, start = test_rand(&rng) % RACE_PAGES;
	struct udax_file *f;
	uint64_t *map;
	void *addr;

	CHECK_EQ(udax_open(s, "race", O_RDWR | O_CREAT, &f), 0);
	xproc_test_raise(&board->opened);
	if (me == 0) {
		xproc_test_wait(&board->opened, PROCS);
		CHECK_EQ(udax_truncate(f, (uint64_t)RACE_PAGES * 4096), 0);
		xproc_test_raise(&board->sized);
	}
	xproc_test_wait(&board->sized, 1);
	CHECK_EQ(udax_mmap(f, 0, (size_t)RACE_PAGES * 4096, PROT_READ | PROT_WRITE, &addr), 0);
	map = addr;
	for (uint64_t i = 0; i < RACE_PAGES; i++) {
		uint64_t page = (start + i) % RACE_PAGES;

		map[page * 512 + me] = tag_of(me, page);
	}
	xproc_test_raise(&board->written);
	xproc_test_wait(&board->written, PROCS);
	for (uint64_t page = 0; page < RACE_PAGES; page++)
		for (unsigned p = 0; p < PROCS; p++)
			CHECK(map[page * 512 + p] == tag_of(p, page),
			      "member %u: page %llu word %u is %#llx", me,
			      (unsigned long long)page, p, (unsigned long long)map[page * 512 + p]);
	CHECK_EQ(udax_munmap(addr, (size_t)RACE_PAGES * 4096), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

static void record_fill(char *rec, unsigned me, uint64_t k)
{
	memset(rec, (int)('a' + me), RECORD);
	memcpy(rec, &k, sizeof(k));
}

/* Phase 2: append my records (every PROCS-th) with pwrite; then read all. */
static void appender(unsigned me)
{
	struct udax_store *s = store_shared_test_open(path);
	struct udax_file_stat st;
	char rec[RECORD], got[RECORD];
	struct udax_file *f;

	CHECK_EQ(udax_open(s, "log", O_RDWR | O_CREAT, &f), 0);
	for (uint64_t n = 0; n < RECORDS_EACH; n++) {
		uint64_t k = n * PROCS + me;

		record_fill(rec, me, k);
		CHECK_EQ(udax_pwrite(f, rec, RECORD, k * RECORD), (ssize_t)RECORD);
	}
	xproc_test_raise(&board->appended);
	xproc_test_wait(&board->appended, PROCS);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK(st.size == (uint64_t)RECORDS_EACH * PROCS * RECORD, "member %u sees size %llu", me,
	      (unsigned long long)st.size);
	for (uint64_t k = 0; k < (uint64_t)RECORDS_EACH * PROCS; k++) {
		record_fill(rec, (unsigned)(k % PROCS), k);
		CHECK_EQ(udax_pread(f, got, RECORD, k * RECORD), (ssize_t)RECORD);
		CHECK(memcmp(rec, got, RECORD) == 0, "member %u: record %llu", me,
		      (unsigned long long)k);
	}
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

/* Phase 3, the opener: write the old file through a mapping, read it back
 * once another process unlinked it, then wait to be killed with it open
 * and mapped. */
static void old_opener(unsigned me)
{
	struct udax_store *s = store_shared_test_open(path);
	struct udax_file *f;
	void *addr;

	(void)me;
	CHECK_EQ(udax_open(s, "old", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, OLD_PAGES * 4096), 0);
	CHECK_EQ(udax_mmap2(f, 0, OLD_PAGES * 4096, PROT_READ | PROT_WRITE, UDAX_MAP_PTE, &addr),
		 0);
	memset(addr, 0x5a, OLD_PAGES * 4096);
	CHECK_EQ(udax_msync(addr, OLD_PAGES * 4096, MS_SYNC), 0);
	xproc_test_raise(&board->old_ready);
	xproc_test_wait(&board->unlinked, 1);
	for (unsigned i = 0; i < OLD_PAGES * 4096; i++) {
		unsigned char b;

		CHECK(((unsigned char *)addr)[i] == 0x5a, "the unlinked file's byte %u", i);
		if (i % 4096 == 0)
			CHECK(udax_pread(f, &b, 1, i) == 1 && b == 0x5a, "pread of byte %u", i);
	}
	xproc_test_raise(&board->still_read);
	for (;;)
		pause();
}

/* Phase 3, the remover: removes the old file while the opener uses it,
 * sees its blocks freed by the next open after the opener's death, and
 * makes a new file, which must not show the old pages. */
static void remover(unsigned me)
{
	static unsigned char got[4096];
	struct udax_store_stat before, after;
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *f;
	unsigned char *map;
	uint64_t cookie = 0;
	char name[UDAX_NAME_MAX + 1];
	void *addr;

	(void)me;
	xproc_test_wait(&board->old_ready, 1);
	s = store_shared_test_open(path);
	CHECK_EQ(udax_unlink(s, "old"), 0);
	CHECK_EQ(udax_open(s, "old", O_RDONLY, &f), -ENOENT);
	while (udax_readdir(s, &cookie, name, sizeof(name)) == 1)
		CHECK(strcmp(name, "old") && name[0] != '.', "listed after the unlink: %s", name);
	CHECK_EQ(udax_store_stat(s, &before), 0);
	xproc_test_raise(&board->unlinked);
	xproc_test_wait(&board->opener_gone, 1);
	CHECK_EQ(udax_store_close(s), 0);
	s = store_shared_test_open(path);	/* frees the dead opener's file */
	CHECK_EQ(udax_store_stat(s, &after), 0);
	CHECK(after.blocks_free == before.blocks_free + OLD_PAGES && after.files == before.files - 1,
	      "after the opener's death: %llu blocks free (%llu before), %llu files (%llu)",
	      (unsigned long long)after.blocks_free, (unsigned long long)before.blocks_free,
	      (unsigned long long)after.files, (unsigned long long)before.files);
	CHECK_EQ(udax_open(s, "new", O_RDWR | O_CREAT | O_EXCL, &f), 0);
	CHECK_EQ(udax_truncate(f, OLD_PAGES * 4096), 0);
	CHECK_EQ(udax_mmap2(f, 0, OLD_PAGES * 4096, PROT_READ | PROT_WRITE, UDAX_MAP_PTE, &addr),
		 0);
	map = addr;
	/* Read faults (holes: zeros), then a write into every page, which
	 * must land in blocks of the new file: the store's map, which
	 * pread reads, must have them. An entry left from the old file would
	 * map a block the new file does not own. */
	for (unsigned page = 0; page < OLD_PAGES; page++)
		for (unsigned b = 0; b < 4096; b++)
			CHECK(map[page * 4096 + b] == 0, "new file, page %u byte %u: %#x", page, b,
			      map[page * 4096 + b]);
	for (unsigned page = 0; page < OLD_PAGES; page++)
		map[page * 4096 + 100] = (unsigned char)(page + 1);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK(st.blocks == OLD_PAGES, "the new file owns %llu blocks", (unsigned long long)st.blocks);
	for (unsigned page = 0; page < OLD_PAGES; page++) {
		CHECK_EQ(udax_pread(f, got, sizeof(got), page * 4096), (ssize_t)sizeof(got));
		for (unsigned b = 0; b < 4096; b++)
			CHECK(got[b] == (b == 100 ? page + 1 : 0), "new file, page %u byte %u: %#x",
			      page, b, got[b]);
	}
	CHECK_EQ(udax_munmap(addr, OLD_PAGES * 4096), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

/* Phase 4: has the file open, maps nothing, waits to be stopped. */
static void idle_opener(unsigned me)
{
	struct udax_store *s = store_shared_test_open(path);
	struct udax_file *f;

	(void)me;
	CHECK_EQ(udax_open(s, "log", O_RDWR, &f), 0);
	xproc_test_raise(&board->idle_open);
	for (;;)
		pause();
}

/* Phase 4: punches the file the stopped process has open. */
static void idle_puncher(unsigned me)
{
	struct udax_store *s = store_shared_test_open(path);
	struct udax_file *f;
	void *addr;

	(void)me;
	CHECK_EQ(udax_open(s, "log", O_RDWR, &f), 0);
	CHECK_EQ(udax_mmap(f, 0, 4096, PROT_READ | PROT_WRITE, &addr), 0);
	xproc_test_wait(&board->idle_stopped, 1);
	CHECK_EQ(udax_punch_hole(f, 4096, 4096), 0);
	xproc_test_raise(&board->punch_done);
	CHECK_EQ(udax_munmap(addr, 4096), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

/* Phase 5, the parent: maps the file, writes, forks a child that opens
 * the store itself and writes back. */
static void forking_member(unsigned me)
{
	struct udax_store *s = store_shared_test_open(path);
	struct udax_file *f, *g;
	volatile uint64_t *map;
	void *addr;
	pid_t child;

	(void)me;
	CHECK_EQ(udax_open(s, "forked", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, 8 * 4096), 0);
	CHECK_EQ(udax_mmap(f, 0, 8 * 4096, PROT_READ | PROT_WRITE, &addr), 0);
	map = addr;
	for (unsigned page = 0; page < 8; page++)
		map[page * 512] = 100 + page;
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		struct udax_store *cs;

		CHECK_EQ(udax_open(s, "forked", O_RDWR, &g), -EBADF);
		cs = store_shared_test_open(path);
		CHECK_EQ(udax_open(cs, "forked", O_RDWR, &g), 0);
		CHECK_EQ(udax_mmap(g, 0, 8 * 4096, PROT_READ | PROT_WRITE, &addr), 0);
		for (unsigned page = 0; page < 8; page++) {
			volatile uint64_t *word = (uint64_t *)addr + page * 512;

			CHECK(*word == 100 + page, "the child reads %llu at page %u",
			      (unsigned long long)*word, page);
			*word = 200 + page;
		}
		CHECK_EQ(udax_munmap(addr, 8 * 4096), 0);
		CHECK_EQ(udax_close(g), 0);
		CHECK_EQ(udax_store_close(cs), 0);
		_exit(0);
	}
	xproc_test_reap_all(&child, 1);
	for (unsigned page = 0; page < 8; page++)
		CHECK(map[page * 512] == 200 + page, "the parent reads %llu at page %u",
		      (unsigned long long)map[page * 512], page);
	CHECK_EQ(udax_munmap(addr, 8 * 4096), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

/* After every member left: the race file through a fresh open. */
static void race_file_check(void)
{
	struct udax_store *s = store_shared_test_open(path);
	static uint64_t page_words[512];
	struct udax_file_stat st;
	struct udax_file *f;

	CHECK_EQ(udax_open(s, "race", O_RDONLY, &f), 0);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.size, (uint64_t)RACE_PAGES * 4096);
	CHECK(st.blocks == RACE_PAGES, "%llu blocks for %u pages", (unsigned long long)st.blocks,
	      RACE_PAGES);
	for (uint64_t page = 0; page < RACE_PAGES; page++) {
		CHECK_EQ(udax_pread(f, page_words, 4096, page * 4096), 4096);
		for (unsigned w = 0; w < 512; w++)
			CHECK(page_words[w] == (w < PROCS ? tag_of(w, page) : 0),
			      "page %llu word %u: %#llx", (unsigned long long)page, w,
			      (unsigned long long)page_words[w]);
	}
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

int main(void)
{
	pid_t pid[PROCS], opener, remover_pid;

	test_init("store_shared_files", 120);
	path = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	CHECK_EQ(udax_store_create(path, 256ull << 20, 0), 0);
	board = xproc_test_shared(sizeof(*board));

	for (unsigned i = 0; i < PROCS; i++)
		pid[i] = xproc_test_start(race_writer, i);
	xproc_test_reap_all(pid, PROCS);
	for (unsigned i = 0; i < PROCS; i++)
		pid[i] = xproc_test_start(appender, i);
	xproc_test_reap_all(pid, PROCS);

	opener = xproc_test_start(old_opener, 0);
	remover_pid = xproc_test_start(remover, 0);
	xproc_test_wait(&board->still_read, 1);
	CHECK_EQ(kill(opener, SIGKILL), 0);
	xproc_test_reap(opener, true);
	xproc_test_raise(&board->opener_gone);
	xproc_test_reap_all(&remover_pid, 1);

	opener = xproc_test_start(idle_opener, 0);
	xproc_test_wait(&board->idle_open, 1);
	CHECK_EQ(kill(opener, SIGSTOP), 0);
	remover_pid = xproc_test_start(idle_puncher, 0);
	xproc_test_raise(&board->idle_stopped);
	/* A bound on a hang, not a measurement: the punch takes milliseconds. */
	xproc_test_wait_a_while(&board->punch_done, 1, 10000);
	CHECK(atomic_load(&board->punch_done), "a punch waited 10 s for a stopped process that "
	      "maps nothing of the file");
	xproc_test_reap_all(&remover_pid, 1);
	CHECK_EQ(kill(opener, SIGKILL), 0);
	xproc_test_reap(opener, true);

	if (!XPROC_TEST_SANITIZED) {
		opener = xproc_test_start(forking_member, 0);
		xproc_test_reap_all(&opener, 1);
	}

	race_file_check();
	CHECK_EQ(udax_store_check(path, 0), 0);
	test_pass();
}
