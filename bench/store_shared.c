// SPDX-License-Identifier: MIT
/*
 * store_shared.c - what sharing a store's metadata between processes
 * (issue 14, stage 2: store_load_shared) costs the calls every fault makes,
 * beside the same store loaded by one process alone (store_load):
 *   lookup   store_get_block(STORE_LOOKUP) of random pages of a 256 MiB
 *            file whose blocks all exist (the fault path's block lookup:
 *            store.lock, a radix walk);
 *   alloc    store_get_block(STORE_ALLOCATE) of fresh pages in 4 KiB
 *            blocks, then punched and checkpointed away between runs;
 * each by one process (private store, then shared store), and lookups by
 * two processes at once (two threads of one process for the private
 * store, which one process holds; two processes for the shared one: the
 * lock word is then one cache line two processes take turns on).
 * Usage: store_shared [RUNS [OPS]] (default 7 runs of 2,000,000 lookups;
 * allocations: OPS / 50). Prints min/median/max ns per call (and per call
 * of the pair, aggregate) and the ratios shared/private, the cases
 * interleaved run by run after a warm-up run. The store lives in $TMPDIR
 * (/var/tmp).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

#define FILE_PAGES (64u << 10)		/* 256 MiB */
#define ALLOC_FIRST (1u << 20)		/* fresh pages start at 4 GiB */
#define RUNS_MAX 31

enum kase { LOOKUP_PRIVATE, LOOKUP_SHARED, LOOKUP2_PRIVATE, LOOKUP2_SHARED, ALLOC_PRIVATE,
	    ALLOC_SHARED, KASES };
static const char *const kase_name[KASES] = {
	"lookup, private", "lookup, shared", "lookup x2, private (2 threads)",
	"lookup x2, shared (2 processes)", "alloc, private", "alloc, shared",
};

static char path[256];
static uint64_t ops;

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "store_shared: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static int noop(void *ctx, const struct xproc_request *req)
{
	(void)ctx;
	(void)req;
	return 0;
}

static struct store *load(bool shared)
{
	struct store_error why;
	struct store *s;
	int ret = shared ? store_load_shared(path, 0, NULL, noop, NULL, &s, &why)
			 : store_load(path, 0, &s, &why);

	if (ret) {
		fprintf(stderr, "store_shared: load: %s\n", why.text);
		exit(1);
	}
	return s;
}

struct lookups {
	struct store *s;
	uint64_t seed;
};

/* ops lookups of random pages of file 0; 0 or the page found a hole. */
static void *lookups(void *arg)
{
	struct lookups *l = arg;
	uint64_t x = l->seed | 1, sum = 0;

	for (uint64_t i = 0; i < ops; i++) {
		int64_t block;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		block = store_get_block(l->s, 0, x % FILE_PAGES, STORE_LOOKUP);
		if (block <= 0)
			die("lookup found a hole", 0);
		sum += (uint64_t)block;
	}
	return sum ? NULL : arg;
}

/* ns per call of one case, run once. */
static double run(enum kase k)
{
	bool shared = k == LOOKUP_SHARED || k == LOOKUP2_SHARED || k == ALLOC_SHARED;
	struct store *s = load(shared);
	struct lookups one = { s, 88172645463325252ull }, two = { s, 1181783497276652981ull };
	uint64_t n = k >= ALLOC_PRIVATE ? ops / 50 : ops;
	double t0, t;

	t0 = now_ns();
	if (k == LOOKUP_PRIVATE || k == LOOKUP_SHARED) {
		lookups(&one);
	} else if (k == LOOKUP2_PRIVATE) {
		pthread_t th;

		pthread_create(&th, NULL, lookups, &two);
		lookups(&one);
		pthread_join(th, NULL);
		n *= 2;
	} else if (k == LOOKUP2_SHARED) {
		pid_t child = fork();
		int status;

		if (child == 0) {
			struct store *cs = load(true);
			struct lookups other = { cs, two.seed };

			lookups(&other);
			store_unload(cs);
			_exit(0);
		}
		lookups(&one);
		waitpid(child, &status, 0);
		n *= 2;
	} else {
		for (uint64_t i = 0; i < n; i++)
			if (store_get_block(s, 0, ALLOC_FIRST + i, STORE_ALLOCATE) <= 0)
				die("alloc", 0);
	}
	t = (now_ns() - t0) / (double)n;
	if (k >= ALLOC_PRIVATE) {
		store_free_range(s, 0, ALLOC_FIRST, UINT64_MAX);
		if (store_checkpoint(s))
			die("checkpoint", 0);
	}
	store_unload(s);
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 7;
	const char *tmp = getenv("TMPDIR");
	double t[KASES][RUNS_MAX], med[KASES];
	struct store_error why;
	struct store *s;
	int ret;

	ops = argc > 2 ? strtoull(argv[2], NULL, 10) : 2000000;
	if (runs < 5 || runs > RUNS_MAX || ops < 100) {
		fprintf(stderr, "usage: store_shared [RUNS (5..%d) [OPS (>= 100)]]\n", RUNS_MAX);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/udax-bench-store-shared.%d", tmp && *tmp ? tmp : "/var/tmp",
		 (int)getpid());
	setenv("UDAX_REGION_DIR", "/dev/shm", 0);
	ret = store_format(path, 1ull << 30, 0, &why);
	if (ret)
		die(why.text, ret);
	s = load(false);
	store_lock(s);
	ret = __store_file_create(s, STORE_PARENT_ROOT, "f", STORE_TYPE_FILE);
	store_unlock(s);
	for (uint64_t p = 0; ret == 0 && p < FILE_PAGES; p++)
		if (store_get_block(s, 0, p, STORE_ALLOCATE) <= 0)
			die("fill", 0);
	if (ret || store_checkpoint(s))
		die("make the file", ret);
	store_unload(s);

	for (int k = 0; k < KASES; k++)	/* warm-up */
		run((enum kase)k);
	for (int r = 0; r < runs; r++)
		for (int k = 0; k < KASES; k++)
			t[k][r] = run((enum kase)k);
	printf("%-34s %9s %9s %9s  (ns per call, %d runs)\n", "case", "min", "median", "max", runs);
	for (int k = 0; k < KASES; k++) {
		qsort(t[k], (size_t)runs, sizeof(double), cmp_double);
		med[k] = t[k][runs / 2];
		printf("%-34s %9.1f %9.1f %9.1f\n", kase_name[k], t[k][0], med[k], t[k][runs - 1]);
	}
	printf("shared/private (medians): lookup %.2f, lookup x2 %.2f, alloc %.2f\n",
	       med[LOOKUP_SHARED] / med[LOOKUP_PRIVATE], med[LOOKUP2_SHARED] / med[LOOKUP2_PRIVATE],
	       med[ALLOC_SHARED] / med[ALLOC_PRIVATE]);
	printf("two callers at once / one (throughput, medians): private %.2fx, shared %.2fx\n",
	       med[LOOKUP_PRIVATE] / med[LOOKUP2_PRIVATE], med[LOOKUP_SHARED] / med[LOOKUP2_SHARED]);
	unlink(path);
	return 0;
}
