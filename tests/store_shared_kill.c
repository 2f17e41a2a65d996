// SPDX-License-Identifier: MIT
/*
 * store_shared_kill: processes with a store open shared (issue 14, stage
 * 3) are killed with SIGKILL at seeded instants, 200 times, while they
 * fault, write, sync, truncate and punch files that two surviving
 * processes use at the same time. A victim may die holding an entry lock,
 * a file's io_lock or invalidate_lock (truncate, punch, a first open),
 * store.lock, or in the middle of a shootdown it posted or was sent.
 *  - The survivors never wait past a bound for anything a victim held
 *    (each of their calls is timed; 3 s is thirty liveness periods), and
 *    each kill waits for both survivors to make progress again.
 *  - Each survivor owns pages of the common file "k" that nobody else
 *    writes; at the end every one holds the survivor's last write, through
 *    its mapping and through pread (the store's map).
 *  - Victims and survivors share the scratch file "t": truncated between
 *    T_MIN and T_MAX, punched, written by pwrite and through mappings of
 *    its first T_MIN bytes; a victim's writes into "k" go to pages of its
 *    own (a third share).
 *  - After everyone left, the store checks clean.
 * Seeded (each process's operations and each kill's instant).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_shared_test.h"
#include "test_util.h"

#define SURVIVORS 2
#define KILLS 200
#define OWN_PAGES 64u
#define K_PAGES (OWN_PAGES * (SURVIVORS + 1))	/* the last share: victims' */
#define T_MIN (1u << 20)
#define T_MAX (4u << 20)
#define SLOW_NS 3000000000ull

struct board {
	_Atomic uint32_t stop;
	_Atomic uint32_t prepared;
	_Atomic uint64_t progress[SURVIVORS];
	_Atomic uint64_t slowest_ns;
	_Atomic uint32_t slowest_op;
	uint64_t last[SURVIVORS][OWN_PAGES];	/* a survivor's last write per page */
};

static struct board *board;
static const char *path;

struct worker {
	struct udax_store *s;
	struct udax_file *k, *t;
	volatile uint64_t *kmap;
	volatile uint64_t *tmap;
	uint64_t rng;
	int who;	/* survivor number, or -1 for a victim */
	uint64_t seq;
};

static void worker_open(struct worker *w, int who, uint64_t seed)
{
	void *addr;

	w->who = who;
	w->rng = seed;
	w->s = store_shared_test_open(path);
	CHECK_EQ(udax_open(w->s, "k", O_RDWR, &w->k), 0);
	CHECK_EQ(udax_open(w->s, "t", O_RDWR, &w->t), 0);
	CHECK_EQ(udax_mmap(w->k, 0, (size_t)K_PAGES * 4096, PROT_READ | PROT_WRITE, &addr), 0);
	w->kmap = addr;
	CHECK_EQ(udax_mmap2(w->t, 0, T_MIN, PROT_READ | PROT_WRITE, UDAX_MAP_PTE, &addr), 0);
	w->tmap = addr;
}

/* One seeded operation. Return: which (for a message). */
static unsigned worker_step(struct worker *w)
{
	uint64_t r = test_rand(&w->rng), share = w->who < 0 ? SURVIVORS : (unsigned)w->who;
	uint64_t page = share * OWN_PAGES + r % OWN_PAGES, off = (r >> 20) % T_MAX;
	static char buf[8192];
	int ret;

	unsigned op = (unsigned)((r >> 8) % 8);

	switch (op) {
	case 0:
	case 1:
	case 2:		/* a write through the mapping of k */
		w->kmap[page * 512] = ++w->seq;
		if (w->who >= 0)
			board->last[w->who][page % OWN_PAGES] = w->seq;
		break;
	case 3:		/* writeback of k: write-protects everyone's pages */
		CHECK_EQ(udax_fsync(w->k), 0);
		break;
	case 4:		/* truncate t within [T_MIN, T_MAX] */
		CHECK_EQ(udax_truncate(w->t, T_MIN + off % (T_MAX - T_MIN)), 0);
		break;
	case 5:		/* punch t: unmaps the range everywhere */
		CHECK_EQ(udax_punch_hole(w->t, off & ~4095ull, 3 * 4096), 0);
		break;
	case 6:		/* pwrite into t (holes: zero pages replaced everywhere) */
		memset(buf, (int)r, sizeof(buf));
		ret = (int)udax_pwrite(w->t, buf, sizeof(buf), off % (T_MAX - sizeof(buf)));
		CHECK_EQ(ret, (int)sizeof(buf));
		break;
	default:	/* read then write a page of t's mapped head */
		w->tmap[(off % T_MIN) / 8 & ~7ull] += w->tmap[(off % T_MIN) / 8 & ~7ull] + 1;
		break;
	}
	return op;
}

static void survivor(unsigned me)
{
	struct worker w;

	worker_open(&w, (int)me, test_seed * 31 + me);
	while (!atomic_load(&board->stop)) {
		uint64_t t0 = xproc_test_now_ns(), took;
		unsigned op = worker_step(&w);

		took = xproc_test_now_ns() - t0;
		if (took > atomic_load(&board->slowest_ns)) {
			atomic_store(&board->slowest_ns, took);
			atomic_store(&board->slowest_op, op);
		}
		CHECK(took < SLOW_NS, "survivor %u: operation %u took %llu ms", me, op,
		      (unsigned long long)(took / 1000000));
		atomic_fetch_add(&board->progress[me], 1);
	}
	for (unsigned i = 0; i < OWN_PAGES; i++) {
		uint64_t page = me * OWN_PAGES + i, got = 0;

		CHECK(w.kmap[page * 512] == board->last[me][i], "survivor %u page %u: %llu, "
		      "last written %llu", me, i, (unsigned long long)w.kmap[page * 512],
		      (unsigned long long)board->last[me][i]);
		CHECK_EQ(udax_pread(w.k, &got, sizeof(got), page * 4096), (ssize_t)sizeof(got));
		CHECK(got == board->last[me][i], "survivor %u page %u: pread %llu, last %llu", me,
		      i, (unsigned long long)got, (unsigned long long)board->last[me][i]);
	}
	CHECK_EQ(udax_munmap((void *)w.kmap, (size_t)K_PAGES * 4096), 0);
	CHECK_EQ(udax_munmap((void *)w.tmap, T_MIN), 0);
	CHECK_EQ(udax_close(w.k), 0);
	CHECK_EQ(udax_close(w.t), 0);
	CHECK_EQ(udax_store_close(w.s), 0);
}

static void victim(unsigned n)
{
	struct worker w;

	worker_open(&w, -1, test_seed * 77 + n);
	for (;;)
		worker_step(&w);
}

static void prepare(unsigned unused)
{
	struct udax_store *s = store_shared_test_open(path);
	struct udax_file *f;

	(void)unused;
	CHECK_EQ(udax_open(s, "k", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, (uint64_t)K_PAGES * 4096), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_open(s, "t", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, T_MAX), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

/* Wait until each survivor made progress since *seen (and note where). */
static void survivors_progress(uint64_t *seen, const pid_t *pid)
{
	for (unsigned i = 0; i < SURVIVORS; i++) {
		while (atomic_load(&board->progress[i]) <= seen[i] + 2) {
			CHECK(!xproc_test_ended(pid[i]), "survivor %u ended early", i);
			sched_yield();
		}
		seen[i] = atomic_load(&board->progress[i]);
	}
}

int main(void)
{
	pid_t pid[SURVIVORS], prep;
	uint64_t seen[SURVIVORS] = { 0 }, rng;
	_Atomic uint32_t never = 0;

	test_init("store_shared_kill", 240);
	rng = test_seed;
	path = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	CHECK_EQ(udax_store_create(path, 128ull << 20, 0), 0);
	board = xproc_test_shared(sizeof(*board));
	prep = xproc_test_start(prepare, 0);
	xproc_test_reap(prep, false);

	for (unsigned i = 0; i < SURVIVORS; i++)
		pid[i] = xproc_test_start(survivor, i);
	for (unsigned k = 0; k < KILLS; k++) {
		pid_t v = xproc_test_start(victim, k);

		/* 0-20 ms: the first few within its open (joins, attaches,
		 * first opens), most among its operations. */
		xproc_test_wait_a_while(&never, 1, (unsigned)(test_rand(&rng) % 21));
		CHECK_EQ(kill(v, SIGKILL), 0);
		xproc_test_reap(v, true);
		survivors_progress(seen, pid);
	}
	atomic_store(&board->stop, 1);
	for (unsigned i = 0; i < SURVIVORS; i++)
		xproc_test_reap(pid[i], false);
	printf("slowest survivor call: %llu ms (operation %u)\n",
	       (unsigned long long)(atomic_load(&board->slowest_ns) / 1000000),
	       atomic_load(&board->slowest_op));
	CHECK_EQ(udax_store_check(path, 0), 0);
	test_pass();
}
