// SPDX-License-Identifier: MIT
/*
 * store_shared_holetest: the kernel's holetest pattern across processes
 * (issue 14, stage 3). A writer process's two threads keep writing
 * markers into random pages of its mapping of a file while another
 * process punches holes in the file and shrinks and regrows it. Writes
 * past EOF raise SIGBUS in the writer (caught, counted) and nothing else
 * fails: no crash, no hang (watchdog). Then, with the writers stopped,
 * the writer puts a final marker in every page and the other process
 * punches a range: the writer's mapping and the puncher's pread both read
 * zeros there and the markers elsewhere, the punched blocks are back in
 * the store, and truncating to 0 frees every block. A page left mapped in
 * the writer after its block was freed shows its old marker (or takes a
 * write into a block no file owns, which the counts catch).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "holetest.h"
#include "store_shared_test.h"

#define PG HOLETEST_PG
#define PAGES HOLETEST_PAGES
#define ROUNDS 75

struct board {
	_Atomic uint32_t mapped;	/* the writer's threads run */
	_Atomic uint32_t rounds_done;
	_Atomic uint32_t marked;	/* final markers written */
	_Atomic uint32_t punched;	/* the final punch is done */
	_Atomic uint32_t checked;	/* the writer checked its mapping */
	uint64_t blocks_free_before;
};

static struct board *board;
static const char *path;

static void writer(unsigned me)
{
	static struct holetest_writers w;
	struct udax_store *s;
	struct udax_file *f;
	char *map;

	(void)me;
	test_install_sigbus_catcher();
	s = store_shared_test_open(path);
	CHECK_EQ(udax_open(s, "holes", O_RDWR, &f), 0);
	CHECK_EQ(udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);
	holetest_writers_start(&w, map);
	xproc_test_raise(&board->mapped);
	xproc_test_wait(&board->rounds_done, 1);
	holetest_writers_stop(&w);
	for (uint64_t p = 0; p < PAGES; p++)
		map[p * PG] = holetest_marker(p, false);
	xproc_test_raise(&board->marked);
	xproc_test_wait(&board->punched, 1);
	for (uint64_t p = 0; p < PAGES; p++)
		CHECK(map[p * PG] == holetest_marker(p, true),
		      "page %llu: the writer's mapping shows %d, want %d", (unsigned long long)p,
		      map[p * PG], holetest_marker(p, true));
	printf("%llu writes, %llu SIGBUS past EOF, %d punch/truncate rounds in another process\n",
	       (unsigned long long)atomic_load(&w.writes),
	       (unsigned long long)atomic_load(&w.sigbuses), ROUNDS);
	fflush(stdout);	/* the child ends with _exit() */
	CHECK(test_sigbus_seen_unarmed == 0);
	CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	xproc_test_raise(&board->checked);
}

static void puncher(unsigned me)
{
	struct udax_store *s = store_shared_test_open(path);
	struct udax_store_stat after;
	struct udax_file *f;
	uint64_t rng = test_seed;

	(void)me;
	CHECK_EQ(udax_open(s, "holes", O_RDWR, &f), 0);
	xproc_test_wait(&board->mapped, 1);
	holetest_rounds(f, ROUNDS, &rng);
	xproc_test_raise(&board->rounds_done);
	xproc_test_wait(&board->marked, 1);
	holetest_final_punch(s, f, board->blocks_free_before);
	holetest_check_pread(f);
	xproc_test_raise(&board->punched);
	xproc_test_wait(&board->checked, 1);
	CHECK_EQ(udax_truncate(f, 0), 0);
	CHECK_EQ(udax_store_stat(s, &after), 0);
	CHECK_EQ(after.blocks_free, board->blocks_free_before);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

static void prepare(unsigned me)
{
	struct udax_store *s = store_shared_test_open(path);
	struct udax_store_stat before;
	struct udax_file *f;

	(void)me;
	CHECK_EQ(udax_store_stat(s, &before), 0);
	board->blocks_free_before = before.blocks_free;
	CHECK_EQ(udax_open(s, "holes", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, PAGES * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

int main(void)
{
	pid_t pid[2];

	test_init("store_shared_holetest", 240);
	path = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	CHECK_EQ(udax_store_create(path, 64ull << 20, 0), 0);
	board = xproc_test_shared(sizeof(*board));
	xproc_test_reap(xproc_test_start(prepare, 0), false);
	pid[0] = xproc_test_start(writer, 0);
	pid[1] = xproc_test_start(puncher, 0);
	xproc_test_reap_all(pid, 2);
	CHECK_EQ(udax_store_check(path, 0), 0);
	test_pass();
}
