// SPDX-License-Identifier: MIT
/*
 * xstat.c - layer preload: the stat calls of programs built against glibc
 * before 2.33, which call __xstat, __lxstat, __fxstat and __fxstatat (and
 * their 64 forms) with a version number where newer ones call stat, lstat,
 * fstat and fstatat (Debian's liblmdb0 sizes its files with __fxstat:
 * without these it saw the placeholder descriptor's size, 0, and mdb_copy
 * wrote past the end of its map). On x86-64 and arm64 the structure of
 * the versions glibc accepts is struct stat, so each forwards to the
 * shim's stat call, which answers udax paths and descriptors and passes
 * the rest to the kernel; another version gets EINVAL, as from glibc.
 * Other machines keep glibc's own (their layouts differ).
 *
 * May call: path.c and rw.c (the stat calls), core.c.
 * Locks: none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "preload/shim.h"

#if defined(__x86_64__) || defined(__aarch64__)

#if defined(__x86_64__)
#define VERSION_OK(v) ((v) == 0 || (v) == 1)	/* _STAT_VER_KERNEL, _STAT_VER_LINUX */
#else
#define VERSION_OK(v) ((v) == 0)		/* _STAT_VER_KERNEL */
#endif

/* glibc 2.33 and later declare these no more (binaries still call them). */
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);

SHIM_EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	return VERSION_OK(ver) ? stat(path, st) : shim_fail(-EINVAL);
}

SHIM_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	return VERSION_OK(ver) ? stat64(path, st) : shim_fail(-EINVAL);
}

SHIM_EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	return VERSION_OK(ver) ? lstat(path, st) : shim_fail(-EINVAL);
}

SHIM_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	return VERSION_OK(ver) ? lstat64(path, st) : shim_fail(-EINVAL);
}

SHIM_EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	return VERSION_OK(ver) ? fstat(fd, st) : shim_fail(-EINVAL);
}

SHIM_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
	return VERSION_OK(ver) ? fstat64(fd, st) : shim_fail(-EINVAL);
}

SHIM_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	return VERSION_OK(ver) ? fstatat(dirfd, path, st, flags) : shim_fail(-EINVAL);
}

SHIM_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{
	return VERSION_OK(ver) ? fstatat64(dirfd, path, st, flags) : shim_fail(-EINVAL);
}

#endif
