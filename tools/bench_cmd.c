// SPDX-License-Identifier: MIT
/*
 * bench_cmd.c - `udax bench`: udax's side of the benchmark suite. Each
 * workload is measured the way the kernel anchors (bench/run.sh)
 * measure theirs (one byte touched per 4 KiB page, the same random
 * permutation), and printed as one line per figure:
 *
 *   WORKLOAD udax VALUE UNIT
 *
 * bench/run.sh runs it several times beside the anchors and aggregates
 * (min/median/max, ratios, CSV, plot). Workloads:
 *   seq-read seq-write rand-write  first touch of a file of MIB whose blocks
 *       were allocated (udax_fallocate: like the anchors' fallocate) and
 *       whose page cache was warmed by one read pass (the anchors'
 *       MAP_POPULATE); pages/s
 *   alloc-write    first writes into a sparse file of MIB; pages/s
 *   sparse-read    random 4 KiB reads of 1% of the pages of an allocated
 *                  16 GiB file, cold; microseconds per page touched
 *   fault-4k       single 4 KiB faults (UDAX_MAP_PTE, no map-ahead), reads
 *                  of the warm file; microseconds per fault
 *   threads        4 KiB faults from 1, then 2 threads on disjoint halves;
 *                  pages/s
 *   index          bytes of udax index per page touched with 4 KiB and with
 *                  2 MiB entries (page index and block map)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "udax.h"

#define PG 4096ull
#define SPARSE_READ_BYTES (16ull << 30)
#define SPARSE_READ_PERCENT 1

struct bench {
	struct udax_store *s;
	uint64_t size, pages;
	size_t *perm;		/* the anchors' permutation of the pages */
};

static void __attribute__((noreturn)) bench_fail(const char *what, int err)
{
	fail(what, err);
	exit(1);
}

/* The anchors' shuffle: srand(1), Fisher-Yates with rand(). */
static size_t *anchor_permutation(uint64_t n)
{
	size_t *perm = malloc(n * sizeof(*perm));

	if (!perm)
		bench_fail("permutation", -ENOMEM);
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	srand(1);
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)rand() % (i + 1), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	return perm;
}

static char *map_file(struct udax_file *f, uint64_t size, int prot)
{
	void *map;
	int ret = udax_mmap(f, 0, size, prot, &map);

	if (ret)
		bench_fail("mmap", ret);
	return map;
}

/* Touch one byte of each of n pages (in order, or as perm says).
 * Return: seconds. */
static double touch(char *map, uint64_t n, const size_t *perm, bool write)
{
	volatile char sink = 0;
	double t0 = now_seconds();

	for (uint64_t i = 0; i < n; i++) {
		uint64_t page = perm ? perm[i] : i;

		if (write)
			map[page * PG] = 1;
		else
			sink += map[page * PG];
	}
	(void)sink;
	return now_seconds() - t0;
}

/* A file of b->size with blocks and a warm page cache, as the anchors
 * prepare theirs (ftruncate 0, fallocate, one read pass). */
static struct udax_file *dense_file(struct bench *b)
{
	struct udax_file *f;
	char *map;
	int ret;

	if ((ret = udax_open(b->s, "dense", O_RDWR | O_CREAT, &f)) ||
	    (ret = udax_truncate(f, 0)) || (ret = udax_fallocate(f, 0, b->size)))
		bench_fail("dense file", ret);
	map = map_file(f, b->size, PROT_READ);
	touch(map, b->pages, NULL, false);
	udax_munmap(map, b->size);
	return f;
}

static void first_touch(struct bench *b, const char *name, bool write, bool random)
{
	struct udax_file *f = dense_file(b);
	char *map = map_file(f, b->size, PROT_READ | PROT_WRITE);
	double secs = touch(map, b->pages, random ? b->perm : NULL, write);

	printf("%s udax %.0f pages/s\n", name, (double)b->pages / secs);
	udax_munmap(map, b->size);
	udax_close(f);
}

static void alloc_write(struct bench *b)
{
	struct udax_file *f;
	double secs;
	char *map;
	int ret;

	if ((ret = udax_open(b->s, "sparse", O_RDWR | O_CREAT | O_TRUNC, &f)) ||
	    (ret = udax_truncate(f, b->size)))
		bench_fail("sparse file", ret);
	map = map_file(f, b->size, PROT_READ | PROT_WRITE);
	secs = touch(map, b->pages, NULL, true);
	printf("alloc-write udax %.0f pages/s\n", (double)b->pages / secs);
	udax_munmap(map, b->size);
	udax_close(f);
	udax_unlink(b->s, "sparse");
}

/* The pages sparse-read touches: 1% of the file, seeded (the kernel's
 * side, bench/kernel_sparse.c, draws the same ones). */
static uint64_t sparse_page(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return (*state >> 17) % (SPARSE_READ_BYTES / PG);
}

static void sparse_read(struct bench *b)
{
	uint64_t n = SPARSE_READ_BYTES / PG * SPARSE_READ_PERCENT / 100, rng = 42;
	volatile char sink = 0;
	struct udax_file *f;
	double t0, secs;
	char *map;
	int ret;

	if ((ret = udax_open(b->s, "big", O_RDWR | O_CREAT | O_TRUNC, &f)) ||
	    (ret = udax_fallocate(f, 0, SPARSE_READ_BYTES)))
		bench_fail("16 GiB file", ret);
	map = map_file(f, SPARSE_READ_BYTES, PROT_READ);
	t0 = now_seconds();
	for (uint64_t i = 0; i < n; i++)
		sink += map[sparse_page(&rng) * PG];
	secs = now_seconds() - t0;
	(void)sink;
	printf("sparse-read udax %.2f us/page\n", secs * 1e6 / (double)n);
	udax_munmap(map, SPARSE_READ_BYTES);
	udax_close(f);
	udax_unlink(b->s, "big");
}

static uint64_t index_bytes(struct bench *b)
{
	struct udax_store_stat st;
	int ret = udax_store_stat(b->s, &st);

	if (ret)
		bench_fail("store stat", ret);
	return st.index_bytes;
}

/* The warm file, opened again: its page index starts empty, so 4 KiB
 * faults build 4 KiB entries (not pages of the warm pass's 2 MiB ones). */
static struct udax_file *dense_file_reopened(struct bench *b)
{
	struct udax_file *f = dense_file(b);
	int ret;

	udax_close(f);
	if ((ret = udax_open(b->s, "dense", O_RDWR, &f)))
		bench_fail("dense file", ret);
	return f;
}

static void fault_4k(struct bench *b)
{
	struct udax_file *f = dense_file_reopened(b);
	char *map = map_file(f, b->size, PROT_READ | UDAX_MAP_PTE);
	double secs = touch(map, b->pages, NULL, false);

	printf("fault-4k udax %.2f us/fault\n", secs * 1e6 / (double)b->pages);
	udax_munmap(map, b->size);
	udax_close(f);
}

struct toucher {
	char *map;
	uint64_t pages;
	pthread_t tid;
};

static void *touch_thread(void *arg)
{
	struct toucher *t = arg;

	touch(t->map, t->pages, NULL, false);
	return NULL;
}

/* 4 KiB faults of the warm file from n threads, each on its own part. */
static void threads(struct bench *b, unsigned n)
{
	struct udax_file *f = dense_file_reopened(b);
	char *map = map_file(f, b->size, PROT_READ | UDAX_MAP_PTE);
	struct toucher t[2];
	double t0 = now_seconds();

	for (unsigned i = 0; i < n; i++) {
		t[i] = (struct toucher){ .map = map + i * (b->size / n), .pages = b->pages / n };
		pthread_create(&t[i].tid, NULL, touch_thread, &t[i]);
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i].tid, NULL);
	printf("threads-%u udax %.0f pages/s\n", n, (double)b->pages / (now_seconds() - t0));
	udax_munmap(map, b->size);
	udax_close(f);
}

/* Index memory per page touched: the file's block map (made by
 * fallocate), then its page index with 4 KiB and with 2 MiB entries. */
static void index_memory(struct bench *b)
{
	uint64_t before = index_bytes(b), blocks, pte;
	struct udax_file *f = dense_file_reopened(b);
	char *map;

	blocks = index_bytes(b) - before;
	map = map_file(f, b->size, PROT_READ | UDAX_MAP_PTE);
	touch(map, b->pages, NULL, false);
	pte = index_bytes(b) - before - blocks;
	udax_munmap(map, b->size);
	udax_close(f);	/* the page index goes with the last user */
	printf("index-4k udax %.2f bytes/page\n", (double)(pte + blocks) / (double)b->pages);
	f = dense_file(b);
	map = map_file(f, b->size, PROT_READ);
	touch(map, b->pages, NULL, false);
	printf("index-2m udax %.2f bytes/page\n",
	       (double)(index_bytes(b) - before) / (double)b->pages);
	udax_munmap(map, b->size);
	udax_close(f);
}

static bool wanted(int argc, char **argv, const char *name)
{
	if (argc == 0)
		return true;
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

static const char bench_help[] =
	"Usage: udax bench [-m MIB] [-d DIR] [WORKLOAD...]\n"
	"udax's side of the benchmark suite (bench/run.sh runs it beside the kernel's\n"
	"anchors): one line 'WORKLOAD udax VALUE UNIT' per figure. Workloads:\n"
	"seq-read seq-write rand-write alloc-write sparse-read fault-4k threads index\n"
	"(default all). The store goes in a new directory under DIR (default\n"
	"/var/tmp), both removed as soon as the store is open.\n";

/* Create and open b's store in a new directory under dir, then remove
 * both names: the open store lives on until bench closes it (or exits),
 * and bench never touches a file it did not make. Return: 0, or 1 after
 * printing why. */
static int bench_store_open(struct bench *b, const char *dir)
{
	char tmp[PATH_MAX], path[PATH_MAX + 16];
	int ret;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/udax-bench-XXXXXX", dir) >= sizeof(tmp))
		return fail(dir, -ENAMETOOLONG);
	if (!mkdtemp(tmp))
		return fail(dir, -errno);
	snprintf(path, sizeof(path), "%s/bench.udax", tmp);
	/* Room for the 16 GiB file and the others, with 2 MiB extents:
	 * 7/8 of the store at most (the 4 KiB reserve). */
	ret = udax_store_create(path, (SPARSE_READ_BYTES + 4 * b->size) / 7 * 8, 0);
	/* For this process alone: one process's faults beside the kernel's
	 * (make bench-shared-faults measures what sharing a store costs). */
	if (!ret)
		ret = udax_store_open(path, UDAX_STORE_EXCLUSIVE, &b->s);
	unlink(path);	/* in the new directory: bench's own */
	rmdir(tmp);
	return ret ? fail_detail(path, ret) : 0;
}

int cmd_bench(const char *store, int argc, char **argv)
{
	struct cli_parse p = { .shorts = "m:d:", .help = bench_help,
			       .no_store = "bench creates a store of its own (-d DIR: where)" };
	static const char *known[] = { "seq-read", "seq-write", "rand-write", "alloc-write",
				       "sparse-read", "fault-4k", "threads", "index" };
	const char *dir = "/var/tmp";
	char shown[NAME_ESCAPED_SIZE(64)], msg[sizeof(shown) + 32];
	struct bench b = { .size = 256ull << 20 };
	uint64_t mib;
	int opt, ret;

	(void)store;	/* makes a store of its own */
	while ((opt = cli_getopt(argc, argv, &p)) != -1) {
		if (opt == 'd')
			dir = optarg;
		else if (number_parse(optarg, UINT64_MAX >> 21, NULL, &mib) || mib < 2 || mib % 2)
			return usage_error("-m takes a multiple of 2 (MiB), at least 2");
		else
			b.size = mib << 20;
	}
	if (p.status >= 0)
		return p.status;
	argc -= optind;
	argv += optind;
	for (int i = 0; i < argc; i++) {
		bool ok = false;

		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok |= !strcmp(argv[i], known[k]);
		if (!ok) {
			snprintf(msg, sizeof(msg), "unknown workload '%s'",
				 name_escape(argv[i], 64, shown));
			return usage_error(msg);
		}
	}
	if (bench_store_open(&b, dir))
		return 1;
	b.pages = b.size / PG;
	b.perm = anchor_permutation(b.pages);
	if (wanted(argc, argv, "seq-read"))
		first_touch(&b, "seq-read", false, false);
	if (wanted(argc, argv, "seq-write"))
		first_touch(&b, "seq-write", true, false);
	if (wanted(argc, argv, "rand-write"))
		first_touch(&b, "rand-write", true, true);
	if (wanted(argc, argv, "alloc-write"))
		alloc_write(&b);
	if (wanted(argc, argv, "fault-4k"))
		fault_4k(&b);
	if (wanted(argc, argv, "threads")) {
		threads(&b, 1);
		threads(&b, 2);
	}
	if (wanted(argc, argv, "index"))
		index_memory(&b);
	if (wanted(argc, argv, "sparse-read"))
		sparse_read(&b);
	free(b.perm);
	ret = udax_store_close(b.s);
	return ret ? fail("close", ret) : 0;
}
