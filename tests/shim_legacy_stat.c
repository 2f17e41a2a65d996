// SPDX-License-Identifier: MIT
/*
 * shim_legacy_stat: the stat calls of binaries built against glibc before
 * 2.33 (__xstat, __lxstat, __fxstat, __fxstatat and their 64 forms, with
 * a version number) on a store file under `udax run` answer as stat,
 * lstat, fstat and fstatat do: the file's size and type, not those of the
 * shim's placeholder descriptor (/dev/null) or ENOENT from a host path;
 * on a host file as the kernel; a version glibc refuses: EINVAL. (Debian's
 * liblmdb0 sizes files with __fxstat: mdb_copy of a store environment
 * wrote past its map.) x86-64 only (the versions differ elsewhere).
 * Exit 0 pass, 1 fail, 77 skip.
 */
#include <fcntl.h>

#include "shim_lib.h"

#if !defined(__x86_64__)
int main(void)
{
	puts("SKIP: the legacy stat versions are checked on x86-64 only");
	return 77;
}
#else
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);

#define VER 1	/* _STAT_VER_LINUX: what x86-64 binaries pass */

static void same(const char *what, const struct stat *got, const struct stat *want)
{
	SHIM_CHECK(got->st_size == want->st_size && got->st_mode == want->st_mode &&
		   got->st_blocks == want->st_blocks && got->st_ino == want->st_ino &&
		   got->st_dev == want->st_dev,
		   "%s: size %lld mode %o blocks %lld, stat says size %lld mode %o blocks %lld", what,
		   (long long)got->st_size, got->st_mode, (long long)got->st_blocks,
		   (long long)want->st_size, want->st_mode, (long long)want->st_blocks);
}

int main(int argc, char **argv)
{
	static char buf[3 * 4096 + 123];
	struct stat want, st;
	struct stat64 st64;
	int fd;

	shim_start(argc, argv, 60);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)shim_rand();
	for (int side = 0; side < 2; side++) {
		const char *path = shim_path(side, "f");
		size_t len = sizeof(buf) - shim_rand() % 4096;

		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		SHIM_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
		SHIM_CHECK(write(fd, buf, len) == (ssize_t)len, "write: %s", strerror(errno));
		SHIM_CHECK(fstat(fd, &want) == 0 && want.st_size == (off_t)len, "fstat %s", path);
		SHIM_CHECK(__fxstat(VER, fd, &st) == 0, "__fxstat %s: %s", path, strerror(errno));
		same("__fxstat", &st, &want);
		SHIM_CHECK(__fxstat64(VER, fd, &st64) == 0, "__fxstat64: %s", strerror(errno));
		same("__fxstat64", (struct stat *)&st64, &want);
		SHIM_CHECK(__fxstat(0, fd, &st) == 0, "__fxstat version 0: %s", strerror(errno));
		same("__fxstat version 0", &st, &want);
		SHIM_CHECK(__xstat(VER, path, &st) == 0, "__xstat %s: %s", path, strerror(errno));
		same("__xstat", &st, &want);
		SHIM_CHECK(__xstat64(VER, path, &st64) == 0, "__xstat64: %s", strerror(errno));
		same("__xstat64", (struct stat *)&st64, &want);
		SHIM_CHECK(__lxstat(VER, path, &st) == 0, "__lxstat: %s", strerror(errno));
		same("__lxstat", &st, &want);
		SHIM_CHECK(__lxstat64(VER, path, &st64) == 0, "__lxstat64: %s", strerror(errno));
		same("__lxstat64", (struct stat *)&st64, &want);
		SHIM_CHECK(__fxstatat(VER, AT_FDCWD, path, &st, 0) == 0, "__fxstatat: %s",
			   strerror(errno));
		same("__fxstatat", &st, &want);
		SHIM_CHECK(__fxstatat64(VER, AT_FDCWD, path, &st64, AT_SYMLINK_NOFOLLOW) == 0,
			   "__fxstatat64: %s", strerror(errno));
		same("__fxstatat64", (struct stat *)&st64, &want);
		SHIM_CHECK(__fxstatat(VER, fd, "", &st, AT_EMPTY_PATH) == 0,
			   "__fxstatat AT_EMPTY_PATH: %s", strerror(errno));
		same("__fxstatat AT_EMPTY_PATH", &st, &want);
		errno = 0;
		SHIM_CHECK(__fxstat(7, fd, &st) == -1 && errno == EINVAL,
			   "__fxstat version 7 on %s: errno %d, not EINVAL", path, errno);
		SHIM_CHECK(__xstat(7, path, &st) == -1 && errno == EINVAL,
			   "__xstat version 7 on %s: errno %d, not EINVAL", path, errno);
		SHIM_CHECK(__xstat(VER, shim_path(side, "none"), &st) == -1 && errno == ENOENT,
			   "__xstat of a missing file: errno %d", errno);
		SHIM_CHECK(close(fd) == 0, "close");
	}
	puts("shim_legacy_stat: __xstat, __lxstat, __fxstat, __fxstatat (and 64) as stat, on a "
	     "store file and a host twin");
	return 0;
}
#endif
