// SPDX-License-Identifier: MIT
/*
 * pwrite_bad_buffer_allocates_nothing: udax_pwrite from memory the kernel
 * cannot read fails with -EFAULT and allocates nothing, as write(2) does; a
 * buffer readable for its first pages only writes those (a short count)
 * and allocates the blocks they cover, none past them. A buffer that is an
 * unfaulted udax mapping of another file is faulted in and written whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull

int main(void)
{
	struct udax_store *s;
	struct udax_file *f, *g;
	char *buf, *src;
	ssize_t n;

	test_init("pwrite_bad_buffer_allocates_nothing", 60);
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);

	/* Nothing readable. */
	CHECK_EQ(udax_pwrite(f, (void *)16, 2 * PG, 1 << 20), -EFAULT);
	CHECK_EQ(test_file_stat(f).blocks, 0);
	CHECK_EQ(test_file_stat(f).size, 0);

	/* Three readable pages, then a hole in the address space. */
	buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != MAP_FAILED);
	memset(buf, 'x', 3 * PG);
	CHECK_EQ(munmap(buf + 3 * PG, PG), 0);
	n = udax_pwrite(f, buf + 100, 4 * PG - 100, 8 << 20);
	CHECK_EQ(n, (ssize_t)(3 * PG - 100));
	CHECK_EQ(test_file_stat(f).size, (8 << 20) + 3 * PG - 100);
	CHECK_EQ(test_file_stat(f).blocks, 3);

	/* An unfaulted mapping of another file: faulted in, written whole. */
	CHECK_EQ(udax_open(s, "g", O_RDWR | O_CREAT, &g), 0);
	CHECK_EQ(udax_pwrite(g, buf, 3 * PG, 0), (ssize_t)(3 * PG));
	CHECK_EQ(udax_mmap(g, 0, 3 * PG, PROT_READ, (void **)&src), 0);
	CHECK_EQ(udax_pwrite(f, src, 3 * PG, 16 << 20), (ssize_t)(3 * PG));
	CHECK_EQ(test_file_stat(f).blocks, 6);
	CHECK_EQ(udax_pread(f, buf, 3 * PG, 16 << 20), (ssize_t)(3 * PG));
	CHECK(buf[0] == 'x' && buf[3 * PG - 1] == 'x');

	CHECK_EQ(udax_munmap(src, 3 * PG), 0);
	CHECK_EQ(munmap(buf, 3 * PG), 0);
	CHECK_EQ(udax_close(g), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_check(test_path("store"), 0), 0);
	test_pass();
}
