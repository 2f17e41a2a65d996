// SPDX-License-Identifier: MIT
/*
 * pread_bad_buffer_efault: udax_pread into memory it cannot write returns
 * -EFAULT, as pread(2) does, for a hole as for data (the zeros of a hole
 * were stored with memset and killed the caller with SIGSEGV); a read-only
 * udax mapping is no exception; an unfaulted writable udax mapping of
 * another file is faulted in and filled.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull

int main(void)
{
	struct udax_store *s;
	struct udax_file *f, *g;
	char *ro, *rw, *gone;

	test_init("pread_bad_buffer_efault", 60);
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_pwrite(f, "data", 4, 8 * PG), 4);	/* pages 0-7: a hole */

	gone = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(gone != MAP_FAILED);
	CHECK_EQ(munmap(gone, 2 * PG), 0);
	CHECK_EQ(udax_pread(f, gone, 2 * PG, 0), -EFAULT);		/* hole */
	CHECK_EQ(udax_pread(f, gone, 4, 8 * PG), -EFAULT);		/* data */

	CHECK_EQ(udax_open(s, "g", O_RDWR | O_CREAT, &g), 0);
	CHECK_EQ(udax_truncate(g, 4 * PG), 0);
	CHECK_EQ(udax_mmap(g, 0, 4 * PG, PROT_READ, (void **)&ro), 0);
	CHECK_EQ(udax_pread(f, ro, 2 * PG, 0), -EFAULT);
	CHECK_EQ(udax_mmap(g, 0, 4 * PG, PROT_READ | PROT_WRITE, (void **)&rw), 0);
	/* rw is untouched: unfaulted. The file ends at 8 pages + 4 bytes. */
	CHECK_EQ(udax_pread(f, rw, 4 * PG, 6 * PG), (ssize_t)(2 * PG + 4));
	CHECK(rw[0] == 0 && rw[2 * PG - 1] == 0 && memcmp(rw + 2 * PG, "data", 4) == 0);

	CHECK_EQ(udax_munmap(ro, 4 * PG), 0);
	CHECK_EQ(udax_munmap(rw, 4 * PG), 0);
	CHECK_EQ(udax_close(g), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
