// SPDX-License-Identifier: MIT
/*
 * pwrite_mmap_coherent: udax_pwrite then a mapped read, a mapped write then
 * udax_pread, and two mappings of one file, all see the same bytes; a
 * pwrite into a hole that a mapping shows as the zero page replaces it
 * there (no stale zero page); buffers that are themselves unpopulated udax
 * mappings work for pread and pwrite.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PAGES 64
#define PG 4096

int main(void)
{
	struct udax_store *s;
	struct udax_file *f, *g;
	struct udax_file_stat st;
	char buf[PG], *a, *b, *other;
	uint64_t rng;

	test_init("pwrite_mmap_coherent", 60);
	rng = test_seed;
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_open(s, "g", O_RDWR | O_CREAT, &g), 0);
	CHECK_EQ(udax_truncate(f, PAGES * PG), 0);
	CHECK_EQ(udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&a), 0);
	CHECK_EQ(udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&b), 0);

	/* pwrite, then read through both mappings */
	for (int p = 0; p < PAGES / 2; p++) {
		memset(buf, 'a' + p % 26, PG);
		buf[test_rand(&rng) % PG] = (char)p;
		CHECK_EQ(udax_pwrite(f, buf, PG, (uint64_t)p * PG), PG);
		CHECK(memcmp(a + p * PG, buf, PG) == 0, "page %d via mapping a", p);
		CHECK(memcmp(b + p * PG, buf, PG) == 0, "page %d via mapping b", p);
	}
	/* mapped write, then pread, and the other mapping */
	for (int p = PAGES / 2; p < PAGES; p++) {
		uint64_t off = test_rand(&rng) % (PG - 8);

		memcpy(a + p * PG + off, "mapped!", 8);
		CHECK_EQ(udax_pread(f, buf, PG, (uint64_t)p * PG), PG);
		CHECK(memcmp(buf + off, "mapped!", 8) == 0, "page %d via pread", p);
		CHECK(memcmp(b + p * PG + off, "mapped!", 8) == 0, "page %d via b", p);
	}
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.blocks, PAGES);
	CHECK_EQ(st.mappings, 2);

	/* stale zero page: read a hole via a mapping, pwrite it, read again */
	CHECK_EQ(udax_truncate(f, (PAGES + 4) * PG), 0);
	CHECK_EQ(udax_munmap(a, PAGES * PG), 0);
	CHECK_EQ(udax_mmap(f, 0, (PAGES + 4) * PG, PROT_READ | PROT_WRITE, (void **)&a), 0);
	CHECK_EQ(a[(PAGES + 1) * PG], 0);		/* zero page mapped */
	memset(buf, 'z', PG);
	CHECK_EQ(udax_pwrite(f, buf, PG, (PAGES + 1) * PG), PG);
	CHECK_EQ(a[(PAGES + 1) * PG], 'z');

	/* buffers in unpopulated udax mappings of another file */
	CHECK_EQ(udax_truncate(g, 8 * PG), 0);
	CHECK_EQ(udax_mmap(g, 0, 8 * PG, PROT_READ | PROT_WRITE, (void **)&other), 0);
	CHECK_EQ(udax_pread(f, other, 2 * PG, 0), 2 * PG);	/* kernel writes into it */
	CHECK(memcmp(other, a, 2 * PG) == 0);
	CHECK_EQ(udax_pwrite(f, other + 4 * PG, PG, 0), PG);	/* kernel reads a hole */
	CHECK_EQ(a[0], 0);
	CHECK_EQ(a[PG - 1], 0);

	CHECK_EQ(udax_munmap(a, (PAGES + 4) * PG), 0);
	CHECK_EQ(udax_munmap(b, PAGES * PG), 0);
	CHECK_EQ(udax_munmap(other, 8 * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_close(g), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
