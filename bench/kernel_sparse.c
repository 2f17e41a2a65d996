// SPDX-License-Identifier: MIT
/*
 * kernel_sparse: the kernel's side of the two workloads the optional kernel
 * anchors (bench/run.sh) do not cover, measured as `udax bench` measures udax's:
 *   alloc-write  first writes, one byte per 4 KiB page in order, into a
 *                sparse file (ftruncate only) of MiB; pages/s
 *   sparse-read  reads of the same 1% of the pages of a 16 GiB file
 *                (fallocate, cold page cache) that udax bench draws;
 *                microseconds per page touched
 * each with the kernel's default mmap ("native") and its best configuration
 * ("native-best": 2 MiB-aligned mapping with MADV_HUGEPAGE, as
 * anchors/native_best.c). One line per figure: WORKLOAD WHO VALUE UNIT.
 * usage: kernel_sparse FILE MiB
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PG 4096ull
#define HUGE (2ull << 20)
#define SPARSE_READ_BYTES (16ull << 30)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The same pages as udax bench's sparse-read. */
static uint64_t sparse_page(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return (*state >> 17) % (SPARSE_READ_BYTES / PG);
}

/* Map fd's first size bytes shared; best: 2 MiB aligned + MADV_HUGEPAGE.
 * raw, raw_len: what to munmap. */
static char *map(int fd, uint64_t size, int best, void **raw, size_t *raw_len)
{
	char *p;

	*raw_len = size + HUGE;
	*raw = mmap(NULL, *raw_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (*raw == MAP_FAILED)
		return NULL;
	p = best ? (char *)(((uintptr_t)*raw + HUGE - 1) & ~(uintptr_t)(HUGE - 1)) : *raw;
	p = mmap(p, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (best)
		madvise(p, size, MADV_HUGEPAGE);
	return p;
}

int main(int argc, char **argv)
{
	static const char *who[] = { "native", "native-best" };
	uint64_t size, pages, reads = SPARSE_READ_BYTES / PG / 100;
	size_t raw_len;
	void *raw;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s FILE MiB\n", argv[0]);
		return 2;
	}
	size = strtoull(argv[2], NULL, 10) << 20;
	pages = size / PG;
	for (int best = 0; best < 2; best++) {
		double t0;
		char *p;

		unlink(argv[1]);
		fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)size) || !(p = map(fd, size, best, &raw, &raw_len))) {
			perror("alloc-write");
			return 1;
		}
		t0 = now();
		for (uint64_t i = 0; i < pages; i++)
			p[i * PG] = 1;
		printf("alloc-write %s %.0f pages/s\n", who[best], (double)pages / (now() - t0));
		munmap(raw, raw_len);
		close(fd);
	}
	for (int best = 0; best < 2; best++) {
		volatile char sink = 0;
		uint64_t rng = 42;
		double t0;
		char *p;

		unlink(argv[1]);
		fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || fallocate(fd, 0, 0, (off_t)SPARSE_READ_BYTES) ||
		    !(p = map(fd, SPARSE_READ_BYTES, best, &raw, &raw_len))) {
			perror("sparse-read");
			return 1;
		}
		t0 = now();
		for (uint64_t i = 0; i < reads; i++)
			sink += p[sparse_page(&rng) * PG];
		(void)sink;
		printf("sparse-read %s %.2f us/page\n", who[best], (now() - t0) * 1e6 / (double)reads);
		munmap(raw, raw_len);
		close(fd);
	}
	unlink(argv[1]);
	return 0;
}
