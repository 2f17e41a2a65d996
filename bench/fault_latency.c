// SPDX-License-Identifier: MIT
/*
 * fault_latency: cost of one fault of each kind, and the VMAs mappings
 * cost, with the delivery mode this process gets (UDAX_DELIVERY). One byte
 * touched per page of 16,384 pages (64 MiB), warm page cache:
 *   hole-read     read of a sparse page (maps the zero page)
 *   block-read    read of an allocated page in a fresh mapping
 *   first-write   first write to a page first mapped clean by a read
 *   alloc-write   first write to a sparse page (allocates)
 *   vmas-seq      VMAs added by writing every page in order
 *   vmas-stride2  VMAs added by writing every second page of a sparse file
 * Prints rows "NAME MODE VALUE": us-* in microseconds per fault, vmas-* in
 * VMAs of the mapping.
 * usage: fault_latency DIR
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
#define PAGES 16384ul

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static int vma_count(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	int n = 0, c;

	while (maps && (c = fgetc(maps)) != EOF)
		n += c == '\n';
	if (maps)
		fclose(maps);
	return n;
}

/* Touch one byte of every stride-th page; Return: microseconds per page. */
static double touch(char *map, unsigned long stride, int write)
{
	volatile char sink = 0;
	double t0 = now_us();

	for (unsigned long p = 0; p < PAGES; p += stride) {
		if (write)
			map[p * PG] = 1;
		else
			sink += map[p * PG];
	}
	(void)sink;
	return (now_us() - t0) / (double)(PAGES / stride);
}

static char *map_file(struct udax_file *f)
{
	char *map;
	int ret = udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map);

	if (ret) {
		fprintf(stderr, "fault_latency: mmap: %s\n", strerror(-ret));
		exit(1);
	}
	return map;
}

static struct udax_file *new_file(struct udax_store *s, const char *name)
{
	struct udax_file *f;

	if (udax_open(s, name, O_RDWR | O_CREAT | O_TRUNC, &f) || udax_truncate(f, PAGES * PG))
		exit(1);
	return f;
}

int main(int argc, char **argv)
{
	const char *mode = getenv("UDAX_DELIVERY") ? getenv("UDAX_DELIVERY") : "default";
	static char zeros[1 << 20];
	struct udax_store *s;
	struct udax_file *f;
	char path[4096], *map;
	int base;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/latency-store.udax", argv[1]);
	unlink(path);
	if (udax_store_create(path, 256ul << 20, 0) || udax_store_open(path, 0, &s))
		return 1;

	f = new_file(s, "sparse");
	map = map_file(f);
	printf("us-hole-read %s %.2f\n", mode, touch(map, 1, 0));
	udax_munmap(map, PAGES * PG);
	map = map_file(f);
	printf("us-alloc-write %s %.2f\n", mode, touch(map, 1, 1));
	udax_munmap(map, PAGES * PG);
	udax_close(f);

	f = new_file(s, "full");
	for (unsigned long off = 0; off < PAGES * PG; off += sizeof(zeros))
		udax_pwrite(f, zeros, sizeof(zeros), off);
	udax_fsync(f);
	map = map_file(f);
	printf("us-block-read %s %.2f\n", mode, touch(map, 1, 0));
	printf("us-first-write %s %.2f\n", mode, touch(map, 1, 1));
	udax_munmap(map, PAGES * PG);
	base = vma_count();
	map = map_file(f);
	touch(map, 1, 1);
	printf("vmas-seq %s %d\n", mode, vma_count() - base);
	udax_munmap(map, PAGES * PG);
	udax_close(f);

	f = new_file(s, "stride");
	base = vma_count();
	map = map_file(f);
	touch(map, 2, 1);
	printf("vmas-stride2 %s %d\n", mode, vma_count() - base);
	udax_munmap(map, PAGES * PG);
	udax_close(f);
	udax_store_close(s);
	unlink(path);
	return 0;
}
