// SPDX-License-Identifier: MIT
/*
 * store_shared_invalidate: what one process does to a file's pages reaches
 * the mappings of every other process that has the store open shared
 * (issue 14, stage 3: shootdowns from inode_zap_range() and
 * inode_protect_range()).
 *  1. The seed's race across processes: a reader and a writer make the
 *     first access of the same pages at once, in one seeded order, over
 *     ROUNDS rounds of a 64 MiB file (about 10^5 page pairs). A read that
 *     won maps the zero page; the write must replace it in the reader's
 *     mapping too. After each round the reader sees every tag (a zero
 *     page left mapped shows 0), there is one block per page, and no
 *     SIGBUS. Between rounds the writer truncates the file to 0 and back:
 *     the reader's pages must go, or the next round shows it the last
 *     round's tags. The reader maps 4 KiB pages; the writer maps 2 MiB
 *     where it can in even rounds, 4 KiB in odd ones.
 *  2. Writeback across processes: one process writes pages through its
 *     mapping, another syncs the file; the writer's next writes to those
 *     pages must fault and dirty them again (write-protected in its
 *     mapping too), so the next sync finds them.
 *  3. Punch across processes: a page punched by one process reads as
 *     zeros through the mapping of another, which had it mapped, and a
 *     write there lands in a block of the file (pread, which reads the
 *     store's map, sees it): a mapping left on the freed block would
 *     write into a block no file owns.
 *  4. A write-protect request whose block is not the page's (a request
 *     read torn, or the region written over) unmaps the page rather than
 *     map that block (found by the review): the page then shows its own
 *     file's data, never another file's.
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

#define PAGES 16384u			/* 64 MiB */
#define ROUNDS 7u
#define SYNC_PAGES 64u

struct board {
	_Atomic uint32_t mapped[ROUNDS];	/* members mapped for the round */
	_Atomic uint32_t done[ROUNDS];		/* members through the round */
	_Atomic uint32_t checked[ROUNDS];	/* the reader checked the round */
	_Atomic uint32_t sized[ROUNDS];		/* the file is sized for it */
	_Atomic uint32_t written;		/* phase 2: first writes made */
	_Atomic uint32_t synced;		/* phase 2: first sync done */
	_Atomic uint32_t rewritten;		/* phase 2: second writes made */
	_Atomic uint32_t synced_again;		/* phase 2: second sync done */
	_Atomic uint32_t written_again;		/* phase 3: writable again */
	_Atomic uint32_t punched;		/* phase 3 */
};

static struct board *board;
static const char *path;

static uint64_t tag_of(unsigned round, uint64_t page)
{
	return (uint64_t)(round + 1) << 40 | page;
}

/* Phase 1. The writer (me 0) sizes the file for each round, writes each
 * page's tag; the reader (me 1) reads each page first, then checks all. */
static void racer(unsigned me)
{
	struct udax_store *s = store_shared_test_open(path);
	struct udax_file *f;

	CHECK_EQ(udax_open(s, "race", O_RDWR | O_CREAT, &f), 0);
	for (unsigned round = 0; round < ROUNDS; round++) {
		uint64_t rng = test_seed + round, start = test_rand(&rng) % PAGES, sum = 0;
		int flags = me == 1 || round % 2 ? UDAX_MAP_PTE : 0;
		volatile uint64_t *map;
		void *addr;

		if (me == 0) {
			if (round)
				xproc_test_wait(&board->checked[round - 1], 1);
			CHECK_EQ(udax_truncate(f, 0), 0);
			CHECK_EQ(udax_truncate(f, (uint64_t)PAGES * 4096), 0);
			xproc_test_raise(&board->sized[round]);
		}
		xproc_test_wait(&board->sized[round], 1);
		CHECK_EQ(udax_mmap2(f, 0, (size_t)PAGES * 4096, PROT_READ | PROT_WRITE, flags,
				    &addr), 0);
		map = addr;
		xproc_test_raise(&board->mapped[round]);
		xproc_test_wait(&board->mapped[round], 2);
		for (uint64_t i = 0; i < PAGES; i++) {
			uint64_t page = (start + i) % PAGES;

			if (me == 0)
				map[page * 512] = tag_of(round, page);
			else
				sum += map[page * 512];	/* zero or the tag */
		}
		(void)sum;
		xproc_test_raise(&board->done[round]);
		xproc_test_wait(&board->done[round], 2);
		if (me == 1) {
			for (uint64_t page = 0; page < PAGES; page++)
				CHECK(map[page * 512] == tag_of(round, page),
				      "round %u: the reader sees %#llx at page %llu", round,
				      (unsigned long long)map[page * 512], (unsigned long long)page);
		} else {
			struct udax_file_stat st;

			CHECK_EQ(udax_fstat(f, &st), 0);
			CHECK(st.blocks == PAGES, "round %u: %llu blocks", round,
			      (unsigned long long)st.blocks);
		}
		CHECK_EQ(udax_munmap(addr, (size_t)PAGES * 4096), 0);
		if (me == 1)
			xproc_test_raise(&board->checked[round]);
	}
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

/* Phase 2 and 3, the writer: writes through its mapping, twice; then
 * reads the page the other process punched. */
static void sync_writer(unsigned me)
{
	struct udax_store *s = store_shared_test_open(path);
	volatile unsigned char *map;
	struct udax_file *f;
	void *addr;

	(void)me;
	CHECK_EQ(udax_open(s, "synced", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, SYNC_PAGES * 4096), 0);
	CHECK_EQ(udax_mmap2(f, 0, SYNC_PAGES * 4096, PROT_READ | PROT_WRITE, UDAX_MAP_PTE, &addr),
		 0);
	map = addr;
	for (unsigned page = 0; page < SYNC_PAGES; page++)
		map[page * 4096] = 1;
	xproc_test_raise(&board->written);
	xproc_test_wait(&board->synced, 1);
	for (unsigned page = 0; page < SYNC_PAGES; page++)
		map[page * 4096] = 2;
	xproc_test_raise(&board->rewritten);
	xproc_test_wait(&board->synced_again, 1);
	/* Writable again here when the other process punches. */
	for (unsigned page = 0; page < SYNC_PAGES; page++)
		map[page * 4096] = 2;
	xproc_test_raise(&board->written_again);
	xproc_test_wait(&board->punched, 1);
	for (unsigned page = 0; page < SYNC_PAGES; page++)
		CHECK(map[page * 4096] == (page % 2 ? 0 : 2), "page %u reads %u after the punch",
		      page, map[page * 4096]);
	for (unsigned page = 1; page < SYNC_PAGES; page += 2)
		map[page * 4096] = 3;
	for (unsigned page = 0; page < SYNC_PAGES; page++) {
		unsigned char got = 0;

		CHECK_EQ(udax_pread(f, &got, 1, page * 4096), 1);
		CHECK(got == (page % 2 ? 3 : 2), "page %u: pread %u after writing the punched pages",
		      page, got);
	}
	CHECK_EQ(udax_munmap(addr, SYNC_PAGES * 4096), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

/* Phase 2 and 3, the syncer: syncs the writer's pages; punches odd pages. */
static void syncer(unsigned me)
{
	struct udax_store *s = store_shared_test_open(path);
	struct udax_file_stat st;
	struct udax_file *f;

	(void)me;
	xproc_test_wait(&board->written, 1);
	CHECK_EQ(udax_open(s, "synced", O_RDWR, &f), 0);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK(st.dirty_pages == SYNC_PAGES, "%llu dirty pages before the sync",
	      (unsigned long long)st.dirty_pages);
	CHECK_EQ(udax_fsync(f), 0);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.dirty_pages, 0);
	xproc_test_raise(&board->synced);
	xproc_test_wait(&board->rewritten, 1);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK(st.dirty_pages == SYNC_PAGES, "%llu pages dirty again after the second writes "
	      "(write-protect lost in the writer's mapping)", (unsigned long long)st.dirty_pages);
	CHECK_EQ(udax_fsync(f), 0);
	xproc_test_raise(&board->synced_again);
	xproc_test_wait(&board->written_again, 1);
	for (unsigned page = 1; page < SYNC_PAGES; page += 2)
		CHECK_EQ(udax_punch_hole(f, page * 4096, 4096), 0);
	xproc_test_raise(&board->punched);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

/* Phase 4: a write-protect request naming file "b"'s block for page 0 of
 * file "a", carried out by this process's agent callback. */
static void wrong_block(unsigned me)
{
	struct udax_store *s = store_shared_test_open(path);
	struct xproc_request req = { .op = XPROC_WRPROTECT, .first = 0, .count = 1 };
	struct udax_file *a, *b;
	volatile char *amap;
	void *addr;

	(void)me;
	CHECK_EQ(udax_open(s, "a", O_RDWR | O_CREAT, &a), 0);
	CHECK_EQ(udax_open(s, "b", O_RDWR | O_CREAT, &b), 0);
	CHECK_EQ(udax_pwrite(b, "bbbb", 4, 0), 4);
	CHECK_EQ(udax_truncate(a, 4096), 0);
	CHECK_EQ(udax_mmap2(a, 0, 4096, PROT_READ | PROT_WRITE, UDAX_MAP_PTE, &addr), 0);
	amap = addr;
	amap[0] = 'a';
	req.file = (uint32_t)a->inode->slot;
	req.block = (uint64_t)store_get_block(s->st, b->inode->slot, 0, STORE_LOOKUP);
	CHECK(req.block > 0);
	CHECK_EQ(inode_table_apply(s, &req), 0);
	CHECK(amap[0] == 'a', "page 0 of a shows %c after a write-protect naming b's block",
	      amap[0]);
	CHECK_EQ(udax_munmap(addr, 4096), 0);
	CHECK_EQ(udax_close(a), 0);
	CHECK_EQ(udax_close(b), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

int main(void)
{
	pid_t pid[2];

	test_init("store_shared_invalidate", 120);
	path = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	CHECK_EQ(udax_store_create(path, 256ull << 20, 0), 0);
	board = xproc_test_shared(sizeof(*board));

	pid[0] = xproc_test_start(racer, 0);
	pid[1] = xproc_test_start(racer, 1);
	xproc_test_reap_all(pid, 2);
	pid[0] = xproc_test_start(sync_writer, 0);
	pid[1] = xproc_test_start(syncer, 1);
	xproc_test_reap_all(pid, 2);
	pid[0] = xproc_test_start(wrong_block, 0);
	xproc_test_reap_all(pid, 1);
	CHECK_EQ(udax_store_check(path, 0), 0);
	test_pass();
}
