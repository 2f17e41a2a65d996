// SPDX-License-Identifier: MIT
/*
 * api_invalid_args: every public call refuses bad arguments with a negative
 * errno (never an abort), says why in udax_strerror_detail(), and a refused
 * call changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

/* call fails with err, and udax_strerror_detail() says something. */
#define CHECK_ERR(call, err)                                                  \
	do {                                                                  \
		CHECK_EQ(call, err);                                          \
		CHECK(udax_strerror_detail()[0], "no detail after %s", #call); \
	} while (0)

int main(void)
{
	struct udax_store_stat ss;
	struct udax_file_stat fs;
	struct udax_store *s;
	struct udax_file *f, *ro;
	char name[300], buf[16];
	uint64_t cookie = 0;
	void *map;

	test_init("api_invalid_args", 60);
	CHECK_ERR(udax_store_create(NULL, 8ull << 20, 0), -EINVAL);
	CHECK_ERR(udax_store_create(test_path("s"), 8ull << 20, 1), -EINVAL);
	CHECK_ERR(udax_store_create(test_path("s"), 8ull << 20, UDAX_STORE_RDONLY), -EINVAL);
	CHECK_ERR(udax_store_create(test_path("s"), 1ull << 20, 0), -EINVAL);	/* too small */
	CHECK_ERR(udax_store_create(test_path("s"), 1ull << 50, 0), -EINVAL);	/* too big */
	CHECK_ERR(udax_store_create(test_path("nodir/s"), 8ull << 20, 0), -ENOENT);
	CHECK_EQ(udax_store_create(test_path("s"), 8ull << 20, 0), 0);
	CHECK_ERR(udax_store_open(NULL, 0, &s), -EINVAL);
	CHECK_ERR(udax_store_open(test_path("s"), 0, NULL), -EINVAL);
	CHECK_ERR(udax_store_open(test_path("s"), 7, &s), -EINVAL);
	CHECK_ERR(udax_store_open(test_path("s"), UDAX_STORE_PREALLOC, &s), -EINVAL);
	CHECK_EQ(udax_store_open(test_path("s"), 0, &s), 0);
	CHECK_ERR(udax_store_stat(NULL, &ss), -EINVAL);
	CHECK_ERR(udax_store_stat(s, NULL), -EINVAL);

	memset(name, 'n', sizeof(name));
	name[256] = '\0';
	CHECK_ERR(udax_open(s, name, O_RDWR | O_CREAT, &f), -EINVAL);	/* 256 bytes */
	name[255] = '\0';
	CHECK_EQ(udax_open(s, name, O_RDWR | O_CREAT, &f), 0);		/* 255 is fine */
	CHECK_EQ(udax_close(f), 0);
	CHECK_ERR(udax_open(s, "", O_RDWR | O_CREAT, &f), -EINVAL);
	CHECK_ERR(udax_open(s, "/a", O_RDWR | O_CREAT, &f), -EINVAL);
	CHECK_ERR(udax_open(s, "a/", O_RDWR | O_CREAT, &f), -EINVAL);
	CHECK_ERR(udax_open(s, "a/../b", O_RDWR | O_CREAT, &f), -EINVAL);
	CHECK_ERR(udax_open(s, "a/b", O_RDWR | O_CREAT, &f), -ENOENT);
	CHECK_ERR(udax_open(s, NULL, O_RDWR, &f), -EINVAL);
	CHECK_ERR(udax_open(NULL, "x", O_RDWR, &f), -EINVAL);
	CHECK_ERR(udax_open(s, "x", O_RDWR, NULL), -EINVAL);
	CHECK_ERR(udax_open(s, "x", O_WRONLY | O_CREAT, &f), -EINVAL);
	CHECK_ERR(udax_open(s, "x", O_RDWR | O_APPEND, &f), -EINVAL);
	CHECK_ERR(udax_open(s, "x", O_RDWR, &f), -ENOENT);
	CHECK_ERR(udax_open(s, "x", O_RDONLY | O_TRUNC, &f), -EACCES);
	CHECK_EQ(udax_open(s, "x", O_RDWR | O_CREAT | O_EXCL, &f), 0);
	CHECK_ERR(udax_open(s, "x", O_RDWR | O_CREAT | O_EXCL, &ro), -EEXIST);
	CHECK_EQ(udax_open(s, "x", O_RDONLY, &ro), 0);
	CHECK_EQ(udax_pwrite(f, "abc", 3, 0), 3);

	CHECK_ERR(udax_pwrite(ro, "abc", 3, 0), -EBADF);
	CHECK_ERR(udax_truncate(ro, 0), -EBADF);
	CHECK_ERR(udax_punch_hole(ro, 0, 1), -EBADF);
	CHECK_ERR(udax_mmap(ro, 0, 4096, PROT_READ | PROT_WRITE, &map), -EACCES);
	CHECK_ERR(udax_pread(NULL, buf, 1, 0), -EINVAL);
	CHECK_ERR(udax_pread(f, NULL, 1, 0), -EINVAL);
	CHECK_ERR(udax_pwrite(f, NULL, 1, 0), -EINVAL);
	CHECK_ERR(udax_pwrite(f, "a", 1, UINT64_MAX - 1), -EFBIG);
	CHECK_ERR(udax_truncate(f, UINT64_MAX), -EFBIG);
	CHECK_ERR(udax_punch_hole(f, UINT64_MAX, 2), -EINVAL);
	CHECK_ERR(udax_fallocate(NULL, 0, 1), -EINVAL);
	CHECK_ERR(udax_fallocate(f, 0, 0), -EINVAL);
	CHECK_ERR(udax_fallocate(ro, 0, 1), -EBADF);
	CHECK_ERR(udax_fallocate(f, UINT64_MAX - 1, 2), -EFBIG);
	CHECK_EQ(udax_pread(f, buf, sizeof(buf), 1000), 0);	/* past EOF */
	CHECK_ERR(udax_mmap(f, 1, 4096, PROT_READ, &map), -EINVAL);
	CHECK_ERR(udax_mmap(f, 0, 0, PROT_READ, &map), -EINVAL);
	CHECK_ERR(udax_mmap(f, 0, 4096, PROT_EXEC, &map), -EINVAL);
	CHECK_ERR(udax_mmap(f, 0, 4096, PROT_WRITE, &map), -EINVAL);
	CHECK_ERR(udax_mmap(f, 0, 4096, PROT_READ, NULL), -EINVAL);
	CHECK_ERR(udax_mmap(NULL, 0, 4096, PROT_READ, &map), -EINVAL);
	CHECK_ERR(udax_munmap(buf, 4096), -EINVAL);		/* not a udax mapping */
	CHECK_ERR(udax_msync(NULL, 4096, MS_SYNC), -EINVAL);
	CHECK_ERR(udax_msync((void *)(uintptr_t)4096, 4096, MS_SYNC), -ENOMEM);
	CHECK_ERR(udax_fstat(NULL, &fs), -EINVAL);
	CHECK_ERR(udax_fstat(f, NULL), -EINVAL);
	CHECK_ERR(udax_fsync(NULL), -EINVAL);
	CHECK_ERR(udax_close(NULL), -EINVAL);
	CHECK_ERR(udax_readdir(s, &cookie, buf, sizeof(buf)), -EINVAL);	/* too small */
	CHECK_ERR(udax_readdir(NULL, &cookie, name, sizeof(name)), -EINVAL);
	CHECK_ERR(udax_unlink(s, ".udax-unlinked/1"), -EINVAL);	/* udax's own */
	CHECK_ERR(udax_append(NULL, "a", 1, NULL), -EINVAL);
	CHECK_ERR(udax_append(f, NULL, 1, NULL), -EINVAL);
	CHECK_ERR(udax_append(ro, "a", 1, NULL), -EBADF);
	CHECK_ERR(udax_lock_fd(NULL), -EINVAL);
	CHECK_ERR(udax_file_id(f, NULL), -EINVAL);
	CHECK_ERR(udax_open(s, ".udax-unlinked", O_RDWR | O_CREAT, &ro), -EINVAL);
	CHECK_ERR(udax_unlink(s, "nope"), -ENOENT);
	CHECK_ERR(udax_unlink(s, ""), -EINVAL);
	CHECK_ERR(udax_rename(NULL, "x", "y"), -EINVAL);
	CHECK_ERR(udax_rename(s, NULL, "y"), -EINVAL);
	CHECK_ERR(udax_rename(s, "x", NULL), -EINVAL);
	CHECK_ERR(udax_rename(s, "", "y"), -EINVAL);
	CHECK_ERR(udax_rename(s, "x", "a//b"), -EINVAL);
	name[255] = 'n';
	CHECK_ERR(udax_rename(s, "x", name), -EINVAL);		/* 256 bytes */
	name[255] = '\0';
	CHECK_ERR(udax_rename(s, "nope", "y"), -ENOENT);
	CHECK_EQ(udax_rename(s, "x", "x"), 0);
	CHECK_ERR(udax_store_close(s), -EBUSY);	/* files still open */

	/* Nothing above changed the file. */
	CHECK_EQ(udax_fstat(f, &fs), 0);
	CHECK_EQ(fs.size, 3);
	CHECK_EQ(udax_pread(ro, buf, sizeof(buf), 0), 3);
	CHECK(memcmp(buf, "abc", 3) == 0);
	CHECK_EQ(udax_close(ro), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_ERR(udax_store_close(NULL), -EINVAL);
	test_pass();
}
