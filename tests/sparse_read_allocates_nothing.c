// SPDX-License-Identifier: MIT
/*
 * sparse_read_allocates_nothing: reading every page of a 1 GiB sparse file
 * through a mapping maps zero pages only: 0 blocks allocated in the file
 * and in the store, every byte read is zero, every fault counted as a hole
 * fault. A later write to one of those pages allocates exactly one block.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define FILE_BYTES (1ull << 30)
#define PG 4096

int main(void)
{
	struct udax_store_stat before, after;
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *f;
	uint64_t sum = 0, rng;
	char *map;

	test_init("sparse_read_allocates_nothing", 240);
	rng = test_seed;
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_store_stat(s, &before), 0);
	CHECK_EQ(udax_open(s, "sparse", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, FILE_BYTES), 0);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ | PROT_WRITE, (void **)&map), 0);

	for (uint64_t off = 0; off < FILE_BYTES; off += PG)
		sum += (unsigned char)map[off + test_rand(&rng) % PG];
	CHECK_EQ(sum, 0);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.blocks, 0);
	CHECK_EQ(st.blocks_allocated, 0);
	CHECK_EQ(st.faults_hole, FILE_BYTES / PG);
	CHECK_EQ(udax_store_stat(s, &after), 0);
	CHECK_EQ(after.blocks_free, before.blocks_free);

	/* The zero page is read-only: writing upgrades it to one block. */
	map[FILE_BYTES / 2] = 7;
	CHECK_EQ(map[FILE_BYTES / 2], 7);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.blocks, 1);

	CHECK_EQ(udax_munmap(map, FILE_BYTES), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
