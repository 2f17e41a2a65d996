// SPDX-License-Identifier: MIT
/*
 * sparse_read_allocates_nothing: reading every page of a 1 GiB sparse file
 * through a mapping maps zero pages only: 0 blocks allocated in the file
 * and in the store, every byte read is zero. With 2 MiB entries every fault
 * is a 2 MiB hole fault (one per 512 pages) and a later write to one page
 * allocates one 2 MiB extent; in a UDAX_MAP_PTE mapping every page is its
 * own hole fault and the write allocates exactly one block.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define FILE_BYTES (1ull << 30)
#define PG 4096
#define PMD_PAGES 512

static void read_all_then_write_one(struct udax_store *s, const char *name, int flags)
{
	uint64_t pages_per_fault = flags & UDAX_MAP_PTE ? 1 : PMD_PAGES;
	struct udax_store_stat before, after;
	struct udax_file_stat st;
	struct udax_file *f;
	uint64_t sum = 0, rng = test_seed;
	char *map;

	CHECK_EQ(udax_store_stat(s, &before), 0);
	CHECK_EQ(udax_open(s, name, O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, FILE_BYTES), 0);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ | PROT_WRITE | flags, (void **)&map), 0);

	for (uint64_t off = 0; off < FILE_BYTES; off += PG)
		sum += (unsigned char)map[off + test_rand(&rng) % PG];
	CHECK_EQ(sum, 0);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.blocks, 0);
	CHECK_EQ(st.blocks_allocated, 0);
	CHECK_EQ(st.faults_hole, FILE_BYTES / PG / pages_per_fault);
	CHECK_EQ(st.faults_pmd, pages_per_fault == 1 ? 0 : FILE_BYTES / PG / PMD_PAGES);
	CHECK_EQ(udax_store_stat(s, &after), 0);
	CHECK_EQ(after.blocks_free, before.blocks_free);

	/* The zero page is read-only: writing upgrades it to one block, or to
	 * one 2 MiB extent; the rest of the range still reads zeros. */
	map[FILE_BYTES / 2 + 3 * PG] = 7;
	CHECK_EQ(map[FILE_BYTES / 2 + 3 * PG], 7);
	CHECK_EQ(map[FILE_BYTES / 2 + 4 * PG], 0);
	CHECK_EQ(map[FILE_BYTES / 2 + 2 * PG - 1], 0);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.blocks, pages_per_fault);

	CHECK_EQ(udax_munmap(map, FILE_BYTES), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_unlink(s, name), 0);
}

int main(void)
{
	struct udax_store *s;

	test_init("sparse_read_allocates_nothing", 240);
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	read_all_then_write_one(s, "pmd", 0);
	read_all_then_write_one(s, "pte", UDAX_MAP_PTE);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
