// SPDX-License-Identifier: MIT
/*
 * fsync_cost: time to make N dirty pages durable: udax_fsync of a mapping
 * of a 64 GiB sparse udax file, against the kernel's msync(MS_SYNC) of a
 * plain MAP_SHARED mapping of the same store file (a region of free blocks
 * at its end, same page stride), for N = 1 and N = 10^4 (pages already
 * allocated: overwrites). The udax mapping is UDAX_MAP_PTE: 4 KiB dirty
 * tracking like the kernel's default mmap (a 2 MiB mapping dirties, and
 * writes back, 2 MiB at a time, as kernel DAX's PMD entries do). Prints one row per (who, N, run):
 *   fsync WHO N microseconds
 * usage: fsync_cost DIR RUNS
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "udax.h"

#define PG 4096ull
#define MANY 10000ull
#define SPARSE (64ull << 30)
#define STORE_BYTES (1ull << 30)
#define KERNEL_SPAN (MANY * 7 * PG)	/* the last 273 MiB of the store file */

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static void dirty(char *map, uint64_t n, int round)
{
	for (uint64_t i = 0; i < n; i++)
		map[i * PG * 7 + (uint64_t)round] = (char)round;	/* every 7th page */
}

int main(int argc, char **argv)
{
	static const uint64_t counts[] = { 1, MANY };
	struct udax_store *s;
	struct udax_file *f;
	char path[4096];
	char *umap, *kmap;
	int runs, fd, ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s DIR RUNS\n", argv[0]);
		return 2;
	}
	runs = atoi(argv[2]);
	snprintf(path, sizeof(path), "%s/fsync-store.udax", argv[1]);
	unlink(path);
	if ((ret = udax_store_create(path, STORE_BYTES, 0)) || (ret = udax_store_open(path, UDAX_STORE_EXCLUSIVE, &s)) ||
	    (ret = udax_open(s, "f", O_RDWR | O_CREAT, &f)) || (ret = udax_truncate(f, SPARSE)) ||
	    (ret = udax_mmap(f, 0, SPARSE, PROT_READ | PROT_WRITE | UDAX_MAP_PTE, (void **)&umap))) {
		fprintf(stderr, "fsync_cost: udax: %s\n", strerror(-ret));
		return 1;
	}
	/* The kernel side maps the end of the same store file: blocks the udax
	 * file (allocated from the start) never gets. */
	fd = open(path, O_RDWR);
	if (fd < 0 || fallocate(fd, 0, (off_t)(STORE_BYTES - KERNEL_SPAN), (off_t)KERNEL_SPAN)) {
		perror("fsync_cost: store file");
		return 1;
	}
	kmap = mmap(NULL, KERNEL_SPAN, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    (off_t)(STORE_BYTES - KERNEL_SPAN));
	/* Allocate and sync everything once: later rounds are overwrites. */
	dirty(umap, MANY, 0);
	dirty(kmap, MANY, 0);
	udax_fsync(f);
	msync(kmap, KERNEL_SPAN, MS_SYNC);
	for (int r = 1; r <= runs; r++) {
		for (int c = 0; c < 2; c++) {
			double t0;

			dirty(kmap, counts[c], r);
			t0 = now_us();
			msync(kmap, KERNEL_SPAN, MS_SYNC);
			printf("fsync kernel-msync %llu %.0f\n", (unsigned long long)counts[c],
			       now_us() - t0);
			dirty(umap, counts[c], r);
			t0 = now_us();
			udax_fsync(f);
			printf("fsync udax %llu %.0f\n", (unsigned long long)counts[c], now_us() - t0);
		}
	}
	munmap(kmap, KERNEL_SPAN);
	close(fd);
	udax_munmap(umap, SPARSE);
	udax_close(f);
	udax_store_close(s);
	unlink(path);
	return 0;
}
