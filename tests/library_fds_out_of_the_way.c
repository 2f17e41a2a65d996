// SPDX-License-Identifier: MIT
/*
 * library_fds_out_of_the_way: udax's own descriptors (the store's backing
 * file, the userfaultfd, the zero memfd) sit at half the soft
 * RLIMIT_NOFILE or above, so a program that dup2()s onto the small numbers
 * of its choosing, as a shell's `exec 3<FILE` does, never clobbers them:
 * after /dev/null is dup2()ed onto every free-looking descriptor 3..63
 * that the program did not open, faults (hole read, first write), pread,
 * pwrite and fsync still work, and the data is there after a reopen.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define MIB (1ull << 20)

int main(void)
{
	struct udax_store *s;
	struct udax_file *f;
	char *map, buf[16];
	int null_fd;

	test_init("library_fds_out_of_the_way", 60);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(null_fd >= 0);
	CHECK_EQ(udax_store_create(test_path("s"), 64 * MIB, 0), 0);
	CHECK_EQ(udax_store_open(test_path("s"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, 8 * MIB), 0);
	CHECK_EQ(udax_mmap2(f, 0, 8 * MIB, PROT_READ | PROT_WRITE, 0, (void **)&map), 0);
	CHECK_EQ(map[0], 0);				/* a hole: the zero page */
	CHECK_EQ(udax_pread(f, buf, 4, 3 * MIB), 4);	/* the zero memfd */

	/* What a shell does with `exec N<FILE` for every small N. */
	for (int fd = 3; fd < 64; fd++)
		if (fd != null_fd)
			CHECK_EQ(dup2(null_fd, fd), fd);

	map[5 * MIB] = 'w';				/* a first write: allocates */
	CHECK_EQ(udax_pwrite(f, "pwrite", 6, 7 * MIB), 6);
	CHECK_EQ(udax_pread(f, buf, 6, 7 * MIB), 6);
	CHECK(!memcmp(buf, "pwrite", 6));
	CHECK_EQ(udax_pread(f, buf, 1, 5 * MIB), 1);
	CHECK_EQ(buf[0], 'w');
	CHECK_EQ(udax_fsync(f), 0);
	CHECK_EQ(udax_munmap(map, 8 * MIB), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	for (int fd = 3; fd < 64; fd++)
		if (fd != null_fd)
			close(fd);

	CHECK_EQ(udax_store_open(test_path("s"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDONLY, &f), 0);
	CHECK_EQ(udax_pread(f, buf, 6, 7 * MIB), 6);
	CHECK(!memcmp(buf, "pwrite", 6));
	CHECK_EQ(udax_pread(f, buf, 1, 5 * MIB), 1);
	CHECK_EQ(buf[0], 'w');
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
