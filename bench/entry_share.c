// SPDX-License-Identifier: MIT
/*
 * entry_share.c - what an entry lock of a page index that processes share
 * (issue 14, stage 3: index/entry_share.c) costs, beside a private page
 * index (the single-process case): the lock and unlock every fault makes,
 *   grab     entry_grab() + entry_unlock() of random block entries of a
 *            64 Ki-page index (a 256 MiB file's), all present;
 * by one caller (a private index, then a shared one), and by two callers
 * on disjoint halves of one index (two threads for the private index, two
 * processes for the shared one: its tree lock is then one word two
 * processes take turns on, as two threads do on the private one's).
 * Usage: entry_share [RUNS [OPS]] (default 7 runs of 2,000,000). Prints
 * min/median/max ns per grab+unlock (for a pair, of the pair's total
 * throughput) and the ratios shared/private, cases interleaved run by run
 * after a warm-up run. The region lives in UDAX_REGION_DIR (default
 * /dev/shm), its store file in $TMPDIR (/var/tmp).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/compat.h"
#include "index/entry_share.h"

#define PAGES (64u << 10)
#define RUNS_MAX 31

enum kase { GRAB_PRIVATE, GRAB_SHARED, GRAB2_PRIVATE, GRAB2_SHARED, KASES };
static const char *const kase_name[KASES] = {
	"grab+unlock, private", "grab+unlock, shared",
	"grab+unlock x2, private (2 threads)", "grab+unlock x2, shared (2 processes)",
};

/* Control shared with the two worker processes of GRAB2_SHARED. */
struct control {
	_Atomic uint32_t go, ready, done;
	double ns[2];
};

static struct control *ctl;
static char path[256];
static int store_fd;
static uint64_t ops;

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "entry_share: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

struct member {
	struct xproc_region *r;
	struct radix_space space;
	struct index_share share;
	struct page_index pi;
};

static int noop(void *ctx, const struct xproc_request *req)
{
	(void)ctx;
	(void)req;
	return 0;
}

static void member_join(struct member *m)
{
	struct xproc_layout layout = {
		.user_bytes = index_share_bytes(1),
		.node_bytes = sizeof(struct radix_node),
		.arena_max = 64ull << 20,
	};
	char why[256] = "";
	int ret = xproc_join(store_fd, path, &layout, noop, NULL, &m->r, why, sizeof(why));

	if (ret)
		die(why, ret);
	m->space = xproc_arena_space(m->r);
	index_share_attach(&m->share, m->r, xproc_user_area(m->r), 1, &m->space);
	page_index_init_shared(&m->pi, &m->share, 0);
}

/* Every page a block entry. */
static void populate(struct page_index *pi)
{
	for (uint64_t i = 0; i < PAGES; i++) {
		uint64_t e = entry_grab(pi, i, 0);

		if (!e)
			die("entry_grab", -ENOMEM);
		if (entry_is_empty(e))
			entry_replace_locked(pi, i, entry_make_block(i + 1));
		entry_unlock(pi, i);
	}
}

/* ns per grab+unlock of random pages in [first, first + count). */
static double grab_loop(struct page_index *pi, uint64_t first, uint64_t count, uint64_t seed)
{
	uint64_t x = seed | 1;
	double t0 = now_ns();

	for (uint64_t n = 0; n < ops; n++) {
		uint64_t index;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		index = first + x % count;
		if (!entry_grab(pi, index, 0))
			die("entry_grab", -ENOMEM);
		entry_unlock(pi, index);
	}
	return (now_ns() - t0) / (double)ops;
}

static void worker(unsigned me)
{
	struct member m;

	member_join(&m);
	for (uint32_t run = 1;; run++) {
		atomic_fetch_add(&ctl->ready, 1);
		while (atomic_load(&ctl->go) < run)
			futex_wait_shared(&ctl->go, run - 1, 1000);
		if (atomic_load(&ctl->go) == UINT32_MAX)
			break;
		ctl->ns[me] = grab_loop(&m.pi, me * (PAGES / 2), PAGES / 2, run * 2 + me);
		atomic_fetch_add(&ctl->done, 1);
		futex_wake_shared(&ctl->done, 1);
	}
	xproc_leave(m.r);
	_exit(0);
}

struct half {
	struct page_index *pi;
	unsigned me;
	uint32_t run;
	double ns;
};

static void *half_thread(void *arg)
{
	struct half *h = arg;

	h->ns = grab_loop(h->pi, h->me * (PAGES / 2), PAGES / 2, h->run * 2 + h->me);
	return NULL;
}

/* Two callers at once: ns per grab+unlock of the pair's total throughput. */
static double pair_private(struct page_index *pi, uint32_t run)
{
	struct half h[2] = { { pi, 0, run, 0 }, { pi, 1, run, 0 } };
	pthread_t t[2];
	double t0 = now_ns();

	for (int k = 0; k < 2; k++)
		pthread_create(&t[k], NULL, half_thread, &h[k]);
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	return (now_ns() - t0) / (2.0 * (double)ops);
}

static double pair_shared(uint32_t run)
{
	double t0;
	uint32_t done = atomic_load(&ctl->done), seen;

	while (atomic_load(&ctl->ready) < 2 * run)
		sched_yield();
	t0 = now_ns();
	atomic_store(&ctl->go, run);
	futex_wake_shared(&ctl->go, 2);
	while ((seen = atomic_load(&ctl->done)) < done + 2)
		futex_wait_shared(&ctl->done, seen, 1000);
	return (now_ns() - t0) / (2.0 * (double)ops);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned runs = argc > 1 ? (unsigned)atoi(argv[1]) : 7;
	double ns[KASES][RUNS_MAX], med[KASES];
	struct page_index own;
	struct member m;
	const char *tmp = getenv("TMPDIR");
	pid_t pid[2];

	ops = argc > 2 ? strtoull(argv[2], NULL, 0) : 2000000;
	if (runs < 1 || runs > RUNS_MAX || ops < 1000)
		die("usage: entry_share [RUNS (1-31) [OPS (>= 1000)]]", EINVAL);
	snprintf(path, sizeof(path), "%s/udax-entry-share-XXXXXX", tmp ? tmp : "/var/tmp");
	store_fd = mkstemp(path);
	if (store_fd < 0)
		die(path, errno);
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED)
		die("mmap", errno);
	/* The workers first, before this process has threads. */
	for (unsigned k = 0; k < 2; k++) {
		pid[k] = fork();
		if (pid[k] < 0)
			die("fork", errno);
		if (pid[k] == 0)
			worker(k);
	}
	member_join(&m);
	populate(&m.pi);
	page_index_init(&own);
	populate(&own);

	for (unsigned run = 0; run <= runs; run++) {	/* run 0: warm-up */
		double t[KASES];

		t[GRAB_PRIVATE] = grab_loop(&own, 0, PAGES, run + 11);
		t[GRAB_SHARED] = grab_loop(&m.pi, 0, PAGES, run + 11);
		t[GRAB2_PRIVATE] = pair_private(&own, run + 1);
		t[GRAB2_SHARED] = pair_shared(run + 1);
		for (int k = 0; run && k < KASES; k++)
			ns[k][run - 1] = t[k];
	}
	atomic_store(&ctl->go, UINT32_MAX);
	futex_wake_shared(&ctl->go, 2);
	for (unsigned k = 0; k < 2; k++)
		waitpid(pid[k], NULL, 0);

	printf("# %u runs of %llu grab+unlock per caller, ns per call (pairs: per call of the "
	       "pair's total throughput)\n", runs, (unsigned long long)ops);
	printf("%-40s %8s %8s %8s\n", "case", "min", "median", "max");
	for (int k = 0; k < KASES; k++) {
		qsort(ns[k], runs, sizeof(double), cmp_double);
		med[k] = ns[k][runs / 2];
		printf("%-40s %8.1f %8.1f %8.1f\n", kase_name[k], ns[k][0], med[k], ns[k][runs - 1]);
	}
	printf("ratio shared/private, one caller: %.2fx\n", med[GRAB_SHARED] / med[GRAB_PRIVATE]);
	printf("ratio shared/private, two callers: %.2fx\n", med[GRAB2_SHARED] / med[GRAB2_PRIVATE]);
	printf("two callers against one, private: %.2fx the throughput\n",
	       med[GRAB_PRIVATE] / med[GRAB2_PRIVATE]);
	printf("two callers against one, shared: %.2fx the throughput\n",
	       med[GRAB_SHARED] / med[GRAB2_SHARED]);
	xproc_leave(m.r);
	page_index_destroy(&own);
	unlink(path);
	return 0;
}
