// SPDX-License-Identifier: MIT
/*
 * shared_faults.c - what opening a store shared by processes (issue 14,
 * stage 3: udax_store_open's default) costs a fault, beside the same store
 * opened by one process alone (UDAX_STORE_EXCLUSIVE):
 *   one, private      one process faults every page of a 64 MiB file once
 *                     (read faults of 4 KiB pages, UDAX_MAP_PTE, in a
 *                     seeded random order), the store opened privately;
 *   one, shared       the same with the store opened shared, alone in it;
 *   after another     the same, while another process has every page of
 *                     the file mapped already (the "a fault on a
 *                     page another process already mapped");
 *   two, threads      two threads of one process (private store), each
 *                     faulting its own half;
 *   two, processes    two processes (shared store), each its own half.
 * The file is written by pwrite in 1 MiB pieces first (every block
 * allocated). Every case runs in fresh fork children that open the store
 * themselves; only the fault loop is timed, and the two processes of a
 * pair start it together (a barrier) and are timed from the first start
 * to the last end; a process that only holds a mapping sleeps meanwhile. Usage: shared_faults [RUNS]
 * (default 7): a warm-up run, then RUNS runs with the cases interleaved;
 * prints min/median/max ns per fault (for two: wall time per fault of
 * the pair, i.e. aggregate) and the ratios the issue sets. The store lives
 * in $TMPDIR (/var/tmp); regions in a directory beside it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/handles.h"
#include "base/compat.h"
#include "udax.h"

#define PAGES 16384u			/* 64 MiB */
#define RUNS_MAX 31

enum kase { ONE_PRIVATE, ONE_SHARED, AFTER_ANOTHER, TWO_THREADS, TWO_PROCESSES, KASES };
static const char *const kase_name[KASES] = {
	"one process, private store", "one process, shared store",
	"after another process mapped the pages", "two threads, private store (aggregate)",
	"two processes, shared store (aggregate)",
};

struct board {
	_Atomic uint32_t mapped;	/* the other process touched every page */
	_Atomic uint32_t timed;		/* the timed process is done */
	_Atomic uint32_t ready;		/* timed processes mapped, at the start line */
	double start[2], end[2];	/* per timed process: its fault loop */
};

static char path[256];
static struct board *board;

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "shared_faults: %s: %s (%s)\n", what, strerror(err < 0 ? -err : err),
		udax_strerror_detail());
	exit(1);
}

static struct udax_store *store_open(bool shared)
{
	struct udax_store *s;
	int ret = udax_store_open(path, shared ? 0 : UDAX_STORE_EXCLUSIVE, &s);

	if (ret)
		die("open the store", ret);
	return s;
}

/* Sleep until *word reaches want (a futex: a waiter takes no CPU from
 * the process being timed). */
static void wait_for(_Atomic uint32_t *word, uint32_t want)
{
	uint32_t now;

	while ((now = atomic_load(word)) < want)
		futex_wait_shared(word, now, 1000);
}

static void raise_word(_Atomic uint32_t *word)
{
	atomic_fetch_add(word, 1);
	futex_wake_shared(word, INT32_MAX);
}

struct half {
	volatile const char *map;
	unsigned part, parts;
};

/* Touch the pages of my part, in a fixed pseudo-random order. */
static void *touch(void *arg)
{
	struct half *h = arg;
	uint64_t per = PAGES / h->parts, first = per * h->part, sum = 0;

	for (uint64_t i = 0; i < per; i++)
		sum += (uint64_t)h->map[(first + (i * 7919) % per) * 4096];
	return sum == 1 ? arg : NULL;
}

/* One process's part of a case: open, map, wait until the case's other
 * timed process (if any) is mapped too, touch (timed), unmap, close.
 * hold: touch all (untimed), say so, keep it mapped (asleep) until the
 * timed process is done. */
static void member(bool shared, unsigned part, unsigned parts, unsigned threads, bool hold)
{
	struct udax_store *s = store_open(shared);
	struct half h[2];
	struct udax_file *f;
	void *addr;
	int ret;

	ret = udax_open(s, "data", O_RDONLY, &f);
	if (!ret)
		ret = udax_mmap2(f, 0, (size_t)PAGES * 4096, PROT_READ, UDAX_MAP_PTE, &addr);
	if (ret)
		die("open and map the file", ret);
	for (unsigned t = 0; t < threads; t++)
		h[t] = (struct half){ addr, part * threads + t, parts * threads };
	if (hold) {
		touch(&h[0]);
		raise_word(&board->mapped);
		wait_for(&board->timed, 1);
	} else {
		pthread_t th;

		raise_word(&board->ready);
		wait_for(&board->ready, parts);
		board->start[part] = now_ns();
		if (threads == 2)
			pthread_create(&th, NULL, touch, &h[1]);
		touch(&h[0]);
		if (threads == 2)
			pthread_join(th, NULL);
		board->end[part] = now_ns();
	}
	udax_munmap(addr, (size_t)PAGES * 4096);
	udax_close(f);
	udax_store_close(s);
}

static pid_t start(bool shared, unsigned part, unsigned parts, unsigned threads, bool hold)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		member(shared, part, parts, threads, hold);
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("a member failed", ECHILD);
}

/* ns per fault of one case, run once: wall time from the timed processes'
 * common start (a barrier) to the last one's end, over all pages. */
static double run(enum kase k)
{
	unsigned parts = 1;
	pid_t a, b;

	memset(board, 0, sizeof(*board));
	switch (k) {
	case ONE_PRIVATE:
	case ONE_SHARED:
		reap(start(k == ONE_SHARED, 0, 1, 1, false));
		break;
	case AFTER_ANOTHER:
		b = start(true, 0, 1, 1, true);
		wait_for(&board->mapped, 1);
		reap(start(true, 0, 1, 1, false));
		raise_word(&board->timed);
		reap(b);
		break;
	case TWO_THREADS:
		reap(start(false, 0, 1, 2, false));
		break;
	case TWO_PROCESSES:
		parts = 2;
		a = start(true, 0, 2, 1, false);
		b = start(true, 1, 2, 1, false);
		reap(a);
		reap(b);
		break;
	default:
		return 0;
	}
	if (parts == 2)
		return ((board->end[0] > board->end[1] ? board->end[0] : board->end[1]) -
			(board->start[0] < board->start[1] ? board->start[0] : board->start[1])) /
		       PAGES;
	return (board->end[0] - board->start[0]) / PAGES;
}

static void prepare(void)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	static char buf[1 << 20], regions[256];
	struct udax_store *s;
	struct udax_file *f;
	pid_t pid;
	int ret;

	snprintf(path, sizeof(path), "%s/udax-shared-faults-%d.store", dir, (int)getpid());
	snprintf(regions, sizeof(regions), "%s/udax-shared-faults-%d.regions", dir, (int)getpid());
	if (mkdir(regions, 0700) && errno != EEXIST)
		die("mkdir regions", errno);
	setenv("UDAX_REGION_DIR", regions, 1);
	ret = udax_store_create(path, 256ull << 20, 0);
	if (ret)
		die("create the store", ret);
	pid = fork();	/* the parent opens nothing: its children do */
	if (pid == 0) {
		s = store_open(false);
		ret = udax_open(s, "data", O_RDWR | O_CREAT, &f);
		for (uint64_t off = 0; !ret && off < (uint64_t)PAGES * 4096; off += sizeof(buf)) {
			memset(buf, (int)(off >> 20) | 1, sizeof(buf));
			ret = udax_pwrite(f, buf, sizeof(buf), off) == sizeof(buf) ? 0 : -EIO;
		}
		if (!ret)
			ret = udax_close(f);
		if (ret)
			die("write the file", ret);
		udax_store_close(s);
		_exit(0);
	}
	reap(pid);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 7;
	double t[KASES][RUNS_MAX], med[KASES];

	if (runs < 5 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: shared_faults [RUNS: 5..%d]\n", RUNS_MAX);
		return 2;
	}
	board = mmap(NULL, sizeof(*board), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (board == MAP_FAILED)
		die("mmap", errno);
	prepare();
	for (int k = 0; k < KASES; k++)
		run(k);		/* warm-up */
	for (int r = 0; r < runs; r++)
		for (int k = 0; k < KASES; k++)
			t[k][r] = run(k);
	printf("ns per 4 KiB read fault, %u pages, %d runs (min / median / max):\n", PAGES, runs);
	for (int k = 0; k < KASES; k++) {
		qsort(t[k], (size_t)runs, sizeof(double), cmp_double);
		med[k] = t[k][runs / 2];
		printf("  %-42s %8.0f / %8.0f / %8.0f\n", kase_name[k], t[k][0], med[k],
		       t[k][runs - 1]);
	}
	printf("fault after another process mapped the page / one process alone, shared: "
	       "%.2fx (target <= 1.2x)\n", med[AFTER_ANOTHER] / med[ONE_SHARED]);
	printf("one process, shared / private: %.2fx\n", med[ONE_SHARED] / med[ONE_PRIVATE]);
	printf("two processes / one, throughput, shared: %.2fx (target >= 1.6x); "
	       "two threads / one, private: %.2fx\n", med[ONE_SHARED] / med[TWO_PROCESSES],
	       med[ONE_PRIVATE] / med[TWO_THREADS]);
	unlink(path);
	return 0;
}
