// SPDX-License-Identifier: MIT
/*
 * close_munmap_write_back: udax_munmap and udax_close write back the file's
 * dirty pages (as udax_fsync does) and leave none dirty; with nothing
 * dirty they write nothing. The bytes are there through another handle.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096
#define PAGES 32

int main(void)
{
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *a, *b;
	char *map, c;

	test_init("close_munmap_write_back", 60);
	CHECK_EQ(udax_store_create(test_path("store"), 16ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &a), 0);
	CHECK_EQ(udax_open(s, "f", O_RDONLY, &b), 0);
	CHECK_EQ(udax_truncate(a, PAGES * PG), 0);

	CHECK_EQ(udax_mmap(a, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);
	for (int p = 0; p < PAGES; p++)
		map[p * PG] = (char)(p + 1);
	CHECK_EQ(udax_fstat(b, &st), 0);
	CHECK_EQ(st.dirty_pages, PAGES);
	CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
	CHECK_EQ(udax_fstat(b, &st), 0);
	CHECK_EQ(st.dirty_pages, 0);
	CHECK_EQ(st.writeback_pages, PAGES);

	/* Nothing dirty: munmap writes nothing back. */
	CHECK_EQ(udax_mmap(a, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);
	CHECK_EQ(map[5 * PG], 6);
	CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
	CHECK_EQ(udax_fstat(b, &st), 0);
	CHECK_EQ(st.writeback_pages, PAGES);

	/* close writes back what a mapping still alive dirtied. */
	CHECK_EQ(udax_mmap(a, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);
	map[3 * PG + 1] = 'x';
	CHECK_EQ(udax_fstat(b, &st), 0);
	CHECK_EQ(st.dirty_pages, 1);
	CHECK_EQ(udax_close(a), 0);
	CHECK_EQ(udax_fstat(b, &st), 0);
	CHECK_EQ(st.dirty_pages, 0);
	CHECK_EQ(st.writeback_pages, PAGES + 1);
	CHECK_EQ(udax_pread(b, &c, 1, 3 * PG + 1), 1);
	CHECK_EQ(c, 'x');
	CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
	CHECK_EQ(udax_close(b), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
