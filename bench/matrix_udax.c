// SPDX-License-Identifier: MIT
/*
 * matrix_udax - udax's side of bench/matrix.sh, through the public API of
 * include/udax.h only: file "f" of a store (4 times the file's size)
 * prepared with udax_pwrite/udax_fallocate/udax_fsync, then touched through
 * udax_mmap. bench/matrix_kernel.c is the same on a host file; the loops
 * are in bench/matrix_common.h. The store is opened UDAX_STORE_EXCLUSIVE:
 * one process's faults beside the kernel's (make bench-shared-faults
 * measures what sharing a store costs). Single-threaded but for the touch
 * threads (see there); no locks.
 *
 * usage:
 *   matrix_udax create STORE MIB           replace STORE by an empty store
 *       for a file of MIB MiB (for `udax put`)
 *   matrix_udax prep STORE KIND MIB        replace STORE by a store whose
 *       file "f" is MIB MiB written as KIND (pwrite-SIZE, SIZE as 4K, 64K,
 *       1M, 4M...: udax_pwrite of SIZE-byte pieces of non-zero data;
 *       fallocate: udax_fallocate), then udax_fsync; prints bytes/s of the
 *       writes and the fsync
 *   matrix_udax run STORE WORKLOAD THREADS SEED
 *       map "f", touch every page (matrix_common.h), print pages/s; after
 *       writes, udax_fsync (untimed) so that nothing dirty is left over.
 *       The file's fault counters go to stderr.
 *   matrix_udax db STORE SEED
 *       the database-like run, udax_fsync every 100 writes; prints writes/s
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "matrix_common.h"
#include "udax.h"

#define FILE_NAME "f"

struct umap {
	struct udax_store *s;
	struct udax_file *f;
	uint64_t size;
	char *map;
};

static void check(const char *what, int ret)
{
	if (ret < 0)
		die(what, -ret);
}

/* Replace the store at path by an empty one with room for size bytes. */
static void store_fresh(const char *path, uint64_t size)
{
	unlink(path);
	check(path, udax_store_create(path, 4 * size, 0));
}

static int prep(const char *path, const char *kind, uint64_t size)
{
	uint64_t piece = piece_parse(kind);
	char *buf = piece ? pattern_alloc(piece) : NULL;
	struct udax_store *s;
	struct udax_file *f;
	double t0;

	if (!piece && strcmp(kind, "fallocate")) {
		fprintf(stderr, "matrix_udax: unknown preparation %s\n", kind);
		return 2;
	}
	store_fresh(path, size);
	check(path, udax_store_open(path, UDAX_STORE_EXCLUSIVE, &s));
	check(FILE_NAME, udax_open(s, FILE_NAME, O_RDWR | O_CREAT | O_EXCL, &f));
	t0 = now_sec();
	if (!piece)
		check("udax_fallocate", udax_fallocate(f, 0, size));
	for (uint64_t off = 0; piece && off < size; off += piece) {
		ssize_t n = udax_pwrite(f, buf, piece, off);

		check("udax_pwrite", (int)n);
		if (n != (ssize_t)piece)
			die("udax_pwrite", EIO);
	}
	check("udax_fsync", udax_fsync(f));
	printf("%.0f\n", (double)size / (now_sec() - t0));
	check("udax_close", udax_close(f));
	check("udax_store_close", udax_store_close(s));
	free(buf);
	return 0;
}

static void umap_open(struct umap *u, const char *path, int prot)
{
	struct udax_file_stat st;

	check(path, udax_store_open(path, UDAX_STORE_EXCLUSIVE, &u->s));
	check(FILE_NAME, udax_open(u->s, FILE_NAME, O_RDWR, &u->f));
	check("udax_fstat", udax_fstat(u->f, &st));
	u->size = st.size;
	check("udax_mmap", udax_mmap(u->f, 0, u->size, prot, (void **)&u->map));
}

static void umap_close(struct umap *u, int dirty)
{
	struct udax_file_stat st;

	pmd_report("udax");
	check("udax_fstat", udax_fstat(u->f, &st));
	fprintf(stderr, "udax: faults read %llu write %llu pmd %llu pmd-fallback %llu "
		"mapped-ahead %llu\n", (unsigned long long)st.faults_read,
		(unsigned long long)st.faults_write, (unsigned long long)st.faults_pmd,
		(unsigned long long)st.faults_pmd_fallback,
		(unsigned long long)st.pages_mapped_ahead);
	if (dirty)
		check("udax_fsync", udax_fsync(u->f));
	check("udax_munmap", udax_munmap(u->map, u->size));
	check("udax_close", udax_close(u->f));
	check("udax_store_close", udax_store_close(u->s));
}

static void umap_sync(void *ctx)
{
	struct umap *u = ctx;

	check("udax_fsync", udax_fsync(u->f));
}

static int usage(void)
{
	fputs("usage: matrix_udax create STORE MIB\n"
	      "       matrix_udax prep STORE KIND MIB\n"
	      "       matrix_udax run STORE WORKLOAD THREADS SEED\n"
	      "       matrix_udax db STORE SEED\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct umap u;

	if (argc == 4 && !strcmp(argv[1], "create")) {
		store_fresh(argv[2], strtoull(argv[3], NULL, 10) << 20);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "prep"))
		return prep(argv[2], argv[3], strtoull(argv[4], NULL, 10) << 20);
	if (argc == 6 && !strcmp(argv[1], "run")) {
		int w = workload_parse(argv[3]), threads = atoi(argv[4]);
		double rate;

		if (w < 0 || threads < 1 || threads > MAX_THREADS)
			return usage();
		umap_open(&u, argv[2], PROT_READ | (workload_writes(w) ? PROT_WRITE : 0));
		rate = touch(u.map, u.size, w, threads, strtoull(argv[5], NULL, 10));
		umap_close(&u, workload_writes(w));
		printf("%.0f\n", rate);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "db")) {
		double rate;

		umap_open(&u, argv[2], PROT_READ | PROT_WRITE);
		rate = db_run(u.map, u.size, strtoull(argv[3], NULL, 10), umap_sync, &u);
		umap_close(&u, 1);
		printf("%.0f\n", rate);
		return 0;
	}
	return usage();
}
