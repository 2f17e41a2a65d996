// SPDX-License-Identifier: MIT
/*
 * fault_throughput: first-touch page-fault throughput of udax mappings,
 * measured the way ../shared/anchors/native_fault.c measures the kernel's
 * mmap: a fully allocated file with a warm page cache, one byte touched per
 * 4 KiB page, sequential read, sequential write, random write (the same
 * permutation as the anchor), then allocating writes into a sparse file.
 * usage: fault_throughput DIR MiB   -> one line per mode, pages/s
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "udax.h"

#define PG 4096ul

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double touch(char *p, size_t n, const size_t *order, int write)
{
	volatile char sink = 0;
	double t0 = now();

	for (size_t i = 0; i < n; i++) {
		size_t pg = order ? order[i] : i;

		if (write)
			p[pg * PG] = 1;
		else
			sink += p[pg * PG];
	}
	(void)sink;
	return (double)n / (now() - t0);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "fault_throughput: %s: %s\n", what, strerror(-err));
	exit(1);
}

int main(int argc, char **argv)
{
	static const char *names[] = { "seq-read", "seq-write", "rand-write", "alloc-write" };
	struct udax_store *s;
	struct udax_file *f;
	char path[4096], *buf, *map;
	size_t size, n, *perm;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s DIR MiB\n", argv[0]);
		return 2;
	}
	size = (size_t)atol(argv[2]) << 20;
	n = size / PG;
	snprintf(path, sizeof(path), "%s/bench-store.udax", argv[1]);
	unlink(path);
	if ((ret = udax_store_create(path, 2 * size + (64ul << 20), 0)) ||
	    (ret = udax_store_open(path, 0, &s)) ||
	    (ret = udax_open(s, "bench", O_RDWR | O_CREAT, &f)))
		die(path, ret);
	buf = calloc(1, 1 << 20);
	for (size_t off = 0; off < size; off += 1 << 20)
		if (udax_pwrite(f, buf, 1 << 20, off) != 1 << 20)
			die("fill", -5);
	perm = malloc(n * sizeof(*perm));
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	srand(1);
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)rand() % (i + 1), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	for (int mode = 0; mode < 4; mode++) {
		double rate;

		if (mode == 3) {	/* a sparse file: every write allocates */
			udax_close(f);
			if ((ret = udax_open(s, "sparse", O_RDWR | O_CREAT | O_TRUNC, &f)) ||
			    (ret = udax_truncate(f, size)))
				die("sparse", ret);
		}
		if ((ret = udax_mmap(f, 0, size, PROT_READ | PROT_WRITE, (void **)&map)))
			die("mmap", ret);
		rate = touch(map, n, mode == 2 ? perm : NULL, mode != 0);
		udax_munmap(map, size);
		printf("%-11s udax %10.0f pages/s\n", names[mode], rate);
	}
	udax_close(f);
	udax_store_close(s);
	unlink(path);
	free(perm);
	free(buf);
	return 0;
}
