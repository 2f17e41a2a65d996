// SPDX-License-Identifier: MIT
/*
 * matrix_kernel - the kernel's side of bench/matrix.sh: a host file
 * prepared with plain pwrite/fallocate/fsync, then touched through the
 * kernel's own mmap(MAP_SHARED), as a user would do it (no madvise hints),
 * or with "huge": 2 MiB-aligned and MADV_HUGEPAGE (the kernel's best).
 * bench/matrix_udax.c is the same on a udax store; the loops are in
 * bench/matrix_common.h. Single-threaded but for the touch threads (see
 * there); no locks.
 *
 * usage:
 *   matrix_kernel prep FILE KIND MIB       replace FILE by MIB MiB written
 *       as KIND (pwrite-SIZE, SIZE as 4K, 64K, 1M, 4M...: pwrite(2) of
 *       SIZE-byte pieces of non-zero data; fallocate: fallocate(2) mode 0),
 *       then fsync; prints bytes/s of the writes and the fsync
 *   matrix_kernel run FILE WORKLOAD THREADS SEED [huge]
 *       map FILE, touch every page (matrix_common.h), print pages/s; after
 *       writes, msync (untimed) so that nothing dirty is left over
 *   matrix_kernel db FILE SEED [huge]
 *       the database-like run, msync(MS_SYNC) of the whole mapping every
 *       100 writes; prints writes/s
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "matrix_common.h"

#define HUGE (2ull << 20)

struct kmap {
	int fd;
	uint64_t size;
	char *map;		/* the file's mapping */
	void *raw;		/* what to munmap */
	size_t raw_len;
};

static int prep(const char *path, const char *kind, uint64_t size)
{
	uint64_t piece = piece_parse(kind);
	char *buf = piece ? pattern_alloc(piece) : NULL;
	double t0;
	int fd;

	if (!piece && strcmp(kind, "fallocate")) {
		fprintf(stderr, "matrix_kernel: unknown preparation %s\n", kind);
		return 2;
	}
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		die(path, errno);
	t0 = now_sec();
	if (!piece) {
		if (fallocate(fd, 0, 0, (off_t)size))
			die("fallocate", errno);
	}
	for (uint64_t off = 0; piece && off < size; off += piece)
		if (pwrite(fd, buf, piece, (off_t)off) != (ssize_t)piece)
			die("pwrite", errno);
	if (fsync(fd))
		die("fsync", errno);
	printf("%.0f\n", (double)size / (now_sec() - t0));
	close(fd);
	free(buf);
	return 0;
}

/* Map path whole: plainly, or (huge) 2 MiB-aligned with MADV_HUGEPAGE. */
static void kmap_open(struct kmap *k, const char *path, int prot, int huge)
{
	struct stat st;

	k->fd = open(path, O_RDWR);
	if (k->fd < 0 || fstat(k->fd, &st))
		die(path, errno);
	k->size = (uint64_t)st.st_size;
	if (!huge) {
		k->raw_len = k->size;
		k->raw = mmap(NULL, k->raw_len, prot, MAP_SHARED, k->fd, 0);
		if (k->raw == MAP_FAILED)
			die("mmap", errno);
		k->map = k->raw;
		return;
	}
	k->raw_len = k->size + HUGE;
	k->raw = mmap(NULL, k->raw_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0);
	if (k->raw == MAP_FAILED)
		die("mmap", errno);
	k->map = (char *)(((uintptr_t)k->raw + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	if (mmap(k->map, k->size, prot, MAP_SHARED | MAP_FIXED, k->fd, 0) == MAP_FAILED)
		die("mmap", errno);
	if (madvise(k->map, k->size, MADV_HUGEPAGE))
		die("madvise", errno);
}

static void kmap_close(struct kmap *k, int dirty)
{
	pmd_report("kernel");
	if (dirty && msync(k->map, k->size, MS_SYNC))
		die("msync", errno);
	munmap(k->raw, k->raw_len);
	close(k->fd);
}

static void kmap_sync(void *ctx)
{
	struct kmap *k = ctx;

	if (msync(k->map, k->size, MS_SYNC))
		die("msync", errno);
}

/* Whether the optional last argument asks for the kernel's best mapping:
 * 1, 0 (absent), or -1 (something else). */
static int huge_arg(int argc, char **argv, int at)
{
	if (argc == at)
		return 0;
	return argc == at + 1 && !strcmp(argv[at], "huge") ? 1 : -1;
}

static int usage(void)
{
	fputs("usage: matrix_kernel prep FILE KIND MIB\n"
	      "       matrix_kernel run FILE WORKLOAD THREADS SEED [huge]\n"
	      "       matrix_kernel db FILE SEED [huge]\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct kmap k;

	if (argc == 5 && !strcmp(argv[1], "prep"))
		return prep(argv[2], argv[3], strtoull(argv[4], NULL, 10) << 20);
	if (argc >= 6 && !strcmp(argv[1], "run")) {
		int w = workload_parse(argv[3]), threads = atoi(argv[4]), huge = huge_arg(argc, argv, 6);
		double rate;

		if (w < 0 || threads < 1 || threads > MAX_THREADS || huge < 0)
			return usage();
		kmap_open(&k, argv[2], PROT_READ | (workload_writes(w) ? PROT_WRITE : 0), huge);
		rate = touch(k.map, k.size, w, threads, strtoull(argv[5], NULL, 10));
		kmap_close(&k, workload_writes(w));
		printf("%.0f\n", rate);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "db")) {
		int huge = huge_arg(argc, argv, 4);
		double rate;

		if (huge < 0)
			return usage();
		kmap_open(&k, argv[2], PROT_READ | PROT_WRITE, huge);
		rate = db_run(k.map, k.size, strtoull(argv[3], NULL, 10), kmap_sync, &k);
		kmap_close(&k, 1);
		printf("%.0f\n", rate);
		return 0;
	}
	return usage();
}
