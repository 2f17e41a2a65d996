// SPDX-License-Identifier: MIT
/*
 * store_truncated_underneath: the backing file of an open store is
 * truncated by someone else, cutting through file 'a' and past file 'b'.
 * udax_fsync() and udax_store_close() then fail with -EIO and write no new
 * superblock (they used to return 0); udax_store_open() refuses the store
 * as truncated; udax_store_check() explains it: the sizes, the files whose
 * blocks lie past the end, and that a repair extends it. The repair
 * (UDAX_CHECK_REPAIR) makes it clean: every file keeps its size, the bytes
 * before the cut read back, the lost range reads as zeros.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096
#define A_BYTES (64 * 1024)
#define B_OFF (4ull << 20)
#define B_BYTES (8 * 1024)
#define STORE_BYTES (8ull << 20)
#define DATA_START (2ull << 20)		/* of an 8 MiB store */
#define CUT (DATA_START + A_BYTES / 2)	/* 'a' lies first in the data area */

static uint8_t pattern[A_BYTES];

static void superblocks_read(const char *path, uint8_t *buf)
{
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0 && pread(fd, buf, 2 * PG, 0) == 2 * PG);
	close(fd);
}

int main(void)
{
	static uint8_t before[2 * PG], after[2 * PG], buf[A_BYTES];
	const char *path;
	struct udax_store *s;
	struct udax_file *a, *b;
	char expect[128];
	uint64_t rng;

	test_init("store_truncated_underneath", 60);
	path = test_path("store");
	rng = test_seed;
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(1 + test_rand(&rng) % 255);
	CHECK_EQ(udax_store_create(path, STORE_BYTES, 0), 0);
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(udax_open(s, "a", O_RDWR | O_CREAT, &a), 0);
	CHECK_EQ(udax_open(s, "b", O_RDWR | O_CREAT, &b), 0);
	CHECK_EQ(udax_pwrite(a, pattern, A_BYTES, 0), A_BYTES);
	CHECK_EQ(udax_pwrite(b, pattern, B_BYTES, B_OFF), B_BYTES);
	CHECK_EQ(udax_fsync(a), 0);
	CHECK_EQ(udax_fsync(b), 0);
	superblocks_read(path, before);

	CHECK(truncate(path, (off_t)CUT) == 0);
	/* A write into a block before the cut: no metadata change, so the
	 * fsync is only a flush, and must still see the damage. */
	CHECK_EQ(udax_pwrite(a, pattern + 100, 1, 100), 1);
	CHECK_EQ(udax_fsync(a), -EIO);
	CHECK_EQ(udax_pread(a, buf, PG, A_BYTES - PG), -EIO);
	CHECK_EQ(udax_close(a), -EIO);		/* its pwrite is still unsynced */
	CHECK_EQ(udax_close(b), 0);
	CHECK_EQ(udax_store_close(s), -EIO);
	superblocks_read(path, after);
	CHECK(memcmp(before, after, sizeof(before)) == 0, "a failed close wrote a superblock");

	CHECK_EQ(udax_store_open(path, 0, &s), -EUCLEAN);
	CHECK(strstr(udax_strerror_detail(), "truncated"), "%s", udax_strerror_detail());
	CHECK_EQ(udax_store_check(path, 0), -EUCLEAN);
	printf("check: %s\n", udax_strerror_detail());
	snprintf(expect, sizeof(expect), "store is truncated: %llu bytes of %llu",
		 (unsigned long long)CUT, (unsigned long long)STORE_BYTES);
	CHECK(strstr(udax_strerror_detail(), expect), "%s", udax_strerror_detail());
	CHECK(strstr(udax_strerror_detail(), "10 blocks of files 'a', 'b' lie past the end"),
	      "%s", udax_strerror_detail());
	CHECK(strstr(udax_strerror_detail(), "--repair"), "%s", udax_strerror_detail());

	CHECK_EQ(udax_store_check(path, UDAX_CHECK_REPAIR), 0);
	printf("repair: %s\n", udax_strerror_detail());
	CHECK(strstr(udax_strerror_detail(), "repaired"), "%s", udax_strerror_detail());
	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK(!strcmp(udax_strerror_detail(), ""), "%s", udax_strerror_detail());

	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(udax_open(s, "a", O_RDONLY, &a), 0);
	CHECK_EQ(udax_open(s, "b", O_RDONLY, &b), 0);
	CHECK_EQ(test_file_stat(a).size, A_BYTES);
	CHECK_EQ(test_file_stat(b).size, B_OFF + B_BYTES);
	CHECK_EQ(udax_pread(a, buf, A_BYTES, 0), A_BYTES);
	CHECK(memcmp(buf, pattern, CUT - DATA_START) == 0, "bytes before the cut changed");
	for (size_t i = CUT - DATA_START; i < A_BYTES; i++)
		CHECK(buf[i] == 0, "byte %zu past the cut reads %u", i, buf[i]);
	CHECK_EQ(udax_pread(b, buf, B_BYTES, B_OFF), B_BYTES);
	for (size_t i = 0; i < B_BYTES; i++)
		CHECK(buf[i] == 0, "b byte %zu past the cut reads %u", i, buf[i]);
	CHECK_EQ(udax_close(a), 0);
	CHECK_EQ(udax_close(b), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_check(path, 0), 0);
	test_pass();
}
