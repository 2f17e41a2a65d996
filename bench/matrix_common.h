/* SPDX-License-Identifier: MIT */
/*
 * matrix_common.h - what bench/matrix_udax.c and bench/matrix_kernel.c do
 * identically, so that the two sides of every cell of bench/matrix.sh run
 * the same code around their own calls: the piece pattern written by the
 * preparations, the page orders, the timed touch loop (1..N threads), the
 * database-like loop and the report of PMD-mapped file memory.
 *
 * Workloads touch every 4 KiB page of the mapping once:
 *   seq-read    one byte read per page, in order
 *   seq-write   8 bytes written per page, in order
 *   rand-read   one byte read per page, in a seeded random permutation
 *   rand-write  8 bytes written per page, in the same permutation
 * With T threads, thread t takes the t-th contiguous T-th of the order.
 * Only the touch loop is timed: from the first thread's start (after a
 * barrier of the touching threads) to the last thread's end.
 *
 * No locks: the threads touch disjoint pages and share nothing else.
 */
#ifndef MATRIX_COMMON_H
#define MATRIX_COMMON_H

#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PG 4096ull
#define MAX_THREADS 64
#define DB_WRITES 10000
#define DB_SYNC_EVERY 100

enum workload { SEQ_READ, SEQ_WRITE, RAND_READ, RAND_WRITE };

static const char *const workload_names[] = { "seq-read", "seq-write", "rand-read", "rand-write" };

static inline int workload_parse(const char *name)
{
	for (int w = SEQ_READ; w <= RAND_WRITE; w++)
		if (!strcmp(name, workload_names[w]))
			return w;
	return -1;
}

static inline int workload_writes(int w)
{
	return w == SEQ_WRITE || w == RAND_WRITE;
}

static inline double now_sec(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Exit with a message: the benchmark has no use for a half-made cell. */
static inline void __attribute__((noreturn)) die(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, strerror(err));
	exit(1);
}

/* splitmix64: the one generator of both sides (permutation and db pages). */
static inline uint64_t rand_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Piece size of a preparation "pwrite-SIZE" (SIZE as 4K, 64K, 1M...), 0 if
 * kind is not one. */
static inline uint64_t piece_parse(const char *kind)
{
	char *end;
	uint64_t n;

	if (strncmp(kind, "pwrite-", 7))
		return 0;
	n = strtoull(kind + 7, &end, 10);
	if (!strcmp(end, "K"))
		return n << 10;
	if (!strcmp(end, "M"))
		return n << 20;
	return 0;
}

/* A buffer of len non-zero bytes: what every preparation writes. */
static inline char *pattern_alloc(size_t len)
{
	char *buf = malloc(len);

	if (!buf)
		die("pattern", ENOMEM);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)((i * 131 + 7) | 1);
	return buf;
}

/* The page order of workload w over n pages: in order, or a Fisher-Yates
 * shuffle seeded with seed. */
static inline uint64_t *order_make(int w, uint64_t n, uint64_t seed)
{
	uint64_t *order = malloc(n * sizeof(*order));

	if (!order)
		die("order", ENOMEM);
	for (uint64_t i = 0; i < n; i++)
		order[i] = i;
	if (w == RAND_READ || w == RAND_WRITE)
		for (uint64_t i = n - 1; i > 0; i--) {
			uint64_t j = rand_next(&seed) % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
	return order;
}

struct toucher {
	pthread_t thread;
	pthread_barrier_t *start;
	char *map;
	const uint64_t *order;
	uint64_t n;
	int writes;
	double t0, t1;		/* this thread's start and end */
};

static inline void *toucher_run(void *arg)
{
	struct toucher *t = arg;

	pthread_barrier_wait(t->start);
	t->t0 = now_sec();
	if (t->writes)
		for (uint64_t i = 0; i < t->n; i++) {
			uint64_t page = t->order[i];

			*(volatile uint64_t *)(t->map + page * PG) = page | 1;
		}
	else
		for (uint64_t i = 0; i < t->n; i++)
			(void)*(volatile unsigned char *)(t->map + t->order[i] * PG);
	t->t1 = now_sec();
	return NULL;
}

/*
 * Touch the pages of map (size bytes) with workload w from threads threads.
 * Context: map is a fresh mapping, readable (and writable for writes).
 * Return: pages per second of the touch loop.
 */
static inline double touch(char *map, uint64_t size, int w, int threads, uint64_t seed)
{
	struct toucher t[MAX_THREADS];
	pthread_barrier_t start;
	uint64_t pages = size / PG, *order = order_make(w, pages, seed);
	double t0 = 0, t1 = 0;
	int ret;

	pthread_barrier_init(&start, NULL, (unsigned)threads);
	for (int i = 0; i < threads; i++) {
		uint64_t first = pages * (uint64_t)i / (uint64_t)threads;

		t[i] = (struct toucher){ .start = &start, .map = map, .order = order + first,
					 .n = pages * (uint64_t)(i + 1) / (uint64_t)threads - first,
					 .writes = workload_writes(w) };
		ret = pthread_create(&t[i].thread, NULL, toucher_run, &t[i]);
		if (ret)
			die("pthread_create", ret);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i].thread, NULL);
		if (i == 0 || t[i].t0 < t0)
			t0 = t[i].t0;
		if (t[i].t1 > t1)
			t1 = t[i].t1;
	}
	pthread_barrier_destroy(&start);
	free(order);
	return (double)pages / (t1 - t0);
}

/*
 * The database-like run: DB_WRITES writes of 8 bytes, each into a random
 * page of map (size bytes), with sync(ctx) after every DB_SYNC_EVERY.
 * Context: map is a fresh writable mapping.
 * Return: writes per second, syncs included.
 */
static inline double db_run(char *map, uint64_t size, uint64_t seed, void (*sync)(void *ctx),
			    void *ctx)
{
	uint64_t pages = size / PG;
	double t0 = now_sec();

	for (uint64_t i = 1; i <= DB_WRITES; i++) {
		uint64_t page = rand_next(&seed) % pages;

		*(volatile uint64_t *)(map + page * PG + (i % (PG / 8)) * 8) = i;
		if (i % DB_SYNC_EVERY == 0)
			sync(ctx);
	}
	return DB_WRITES / (now_sec() - t0);
}

/* Print on stderr how much file memory this process maps with PMDs (the
 * log of bench/matrix.sh keeps it: 2 MiB folios mapped or not). */
static inline void pmd_report(const char *side)
{
	char line[256];
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "FilePmdMapped:", 14))
			fprintf(stderr, "%s: %s", side, line);
	fclose(f);
}

#endif /* MATRIX_COMMON_H */
