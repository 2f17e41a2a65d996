// SPDX-License-Identifier: MIT
/*
 * dirty_tracking_writeback: the first write to a clean page tags it DIRTY
 * (at its write fault, the seed's dax_pfn_mkwrite); reads and udax_pwrite
 * never do (4 KiB entries: a UDAX_MAP_PTE mapping); fsync and msync(MS_SYNC) write back exactly the tagged
 * pages, under the entry lock, and write-protect them so the next write
 * faults and tags again. In a 64 GiB sparse file, fsync of one dirty page
 * visits one entry. Writers hammering pages while fsync loops lose no
 * update and leave no page written but untagged.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define FILE_BYTES (64ull << 30)
#define SPREAD 1000		/* pages spread over the file */
#define STRIDE (FILE_BYTES / PG / SPREAD)
#define HOT 64			/* pages per writer thread */
#define WRITERS 2
#define HOT_PAGE(id, k) (1 + (id) * HOT + (k))	/* between spread pages 0 and 1 */
#define FSYNCS 40

static char *map;
static struct udax_file *f;
static _Atomic int stop;

static struct udax_file_stat stat_now(void)
{
	struct udax_file_stat st;

	CHECK_EQ(udax_fstat(f, &st), 0);
	return st;
}

/* Each writer increments its own counter word in each of its pages. */
static void *writer(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	uint64_t rng = test_seed + id, *count = calloc(HOT, sizeof(*count));

	while (!atomic_load(&stop)) {
		uint64_t k = test_rand(&rng) % HOT;
		uint64_t *word = (uint64_t *)(map + HOT_PAGE(id, k) * PG) + id;

		__atomic_store_n(word, __atomic_load_n(word, __ATOMIC_RELAXED) + 1,
				 __ATOMIC_RELAXED);
		count[k]++;
	}
	return count;
}

int main(void)
{
	struct udax_file_stat a, b;
	struct udax_store *s;
	pthread_t t[WRITERS];
	uint64_t *counts[WRITERS];

	test_init("dirty_tracking_writeback", 180);
	test_install_sigbus_catcher();	/* any SIGBUS fails the test */
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "sparse", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, FILE_BYTES), 0);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ | PROT_WRITE | UDAX_MAP_PTE, (void **)&map), 0);

	/* First writes tag; fsync writes back exactly them. */
	for (uint64_t i = 0; i < SPREAD; i++)
		map[i * STRIDE * PG] = 1;
	a = stat_now();
	CHECK_EQ(a.dirty_pages, SPREAD);
	CHECK_EQ(udax_fsync(f), 0);
	b = stat_now();
	CHECK_EQ(b.dirty_pages, 0);
	CHECK_EQ(b.writeback_pages - a.writeback_pages, SPREAD);

	/* One dirty page in 64 GiB: one entry visited. */
	map[7 * STRIDE * PG + 5] = 2;
	a = stat_now();
	CHECK_EQ(a.dirty_pages, 1);
	CHECK_EQ(a.faults_write - b.faults_write, 1);	/* it was write-protected */
	CHECK_EQ(udax_fsync(f), 0);
	b = stat_now();
	CHECK_EQ(b.writeback_pages - a.writeback_pages, 1);
	CHECK_EQ(b.dirty_pages, 0);

	/* Every page was protected again: each write faults and tags. */
	for (uint64_t i = 0; i < SPREAD; i++)
		map[i * STRIDE * PG + 1] = 3;
	a = stat_now();
	CHECK_EQ(a.faults_write - b.faults_write, SPREAD);
	CHECK_EQ(a.dirty_pages, SPREAD);
	CHECK_EQ(udax_msync(map, FILE_BYTES, MS_SYNC), 0);
	CHECK_EQ(stat_now().dirty_pages, 0);

	/* Reads never dirty; nor does pwrite, as write(2) on kernel DAX: its
	 * data is in the mapping at once and written by the next fsync. */
	for (uint64_t i = 0; i < SPREAD; i++)
		CHECK_EQ(map[i * STRIDE * PG + 1], 3);
	CHECK_EQ(stat_now().dirty_pages, 0);
	CHECK_EQ(udax_pwrite(f, "pp", 2, 3 * STRIDE * PG + 100), 2);
	CHECK_EQ(stat_now().dirty_pages, 0);
	CHECK_EQ(map[3 * STRIDE * PG + 100], 'p');
	CHECK_EQ(udax_fsync(f), 0);
	CHECK_EQ(stat_now().dirty_pages, 0);
	/* A block first read through a new mapping is mapped clean. */
	{
		char *fresh;

		CHECK_EQ(udax_mmap(f, 0, 64 * PG, PROT_READ | PROT_WRITE, (void **)&fresh), 0);
		CHECK_EQ(fresh[0], 1);			/* read fault */
		CHECK_EQ(stat_now().dirty_pages, 0);
		fresh[9] = 'w';				/* must fault again */
		CHECK_EQ(stat_now().dirty_pages, 1);
		CHECK_EQ(map[9], 'w');
		CHECK_EQ(udax_munmap(fresh, 64 * PG), 0);
		CHECK_EQ(udax_fsync(f), 0);
	}

	/* Writers against an fsync loop. */
	for (uintptr_t i = 0; i < WRITERS; i++)
		CHECK(pthread_create(&t[i], NULL, writer, (void *)i) == 0);
	for (int i = 0; i < FSYNCS; i++)
		CHECK_EQ(udax_fsync(f), 0);
	atomic_store(&stop, 1);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(t[i], (void **)&counts[i]);
	for (uint64_t id = 0; id < WRITERS; id++)
		for (uint64_t k = 0; k < HOT; k++)
			CHECK_EQ(((uint64_t *)(map + HOT_PAGE(id, k) * PG))[id], counts[id][k]);
	CHECK_EQ(udax_fsync(f), 0);
	b = stat_now();
	CHECK_EQ(b.dirty_pages, 0);
	for (uint64_t p = HOT_PAGE(0, 0); p < HOT_PAGE(WRITERS, 0); p++)
		map[p * PG + 3000] = 4;
	a = stat_now();
	CHECK_EQ(a.dirty_pages, WRITERS * HOT);	/* none was left writable */
	CHECK_EQ(a.faults_write - b.faults_write, WRITERS * HOT);
	CHECK(test_sigbus_seen_unarmed == 0);

	for (int i = 0; i < WRITERS; i++)
		free(counts[i]);
	CHECK_EQ(udax_munmap(map, FILE_BYTES), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
