// SPDX-License-Identifier: MIT
/*
 * meta.c - layer preload: what a store file does not have. Store files
 * have no modes, owners, times or extended attributes: chmod, chown,
 * utimensat with a time and the xattr calls on a udax path or descriptor
 * fail with EOPNOTSUPP (never reaching the placeholder descriptor or a
 * host path); utimensat asking for "now" only (touch) does nothing;
 * statfs reports the store's own figures.
 *
 * May call: the public API of udax.h, libc, core.c, fd.c.
 * Locks: none.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include "preload/shim.h"

#define UDAX_MAGIC 0x75646178	/* "udax", statfs f_type */

/* The next definition of name (resolved once per call site). */
#define NEXT(type, name)						\
	({								\
		static __typeof__((type)0) fn_;			\
		if (!fn_)						\
			fn_ = (type)dlsym(RTLD_NEXT, name);		\
		fn_;							\
	})

/* Whether path (from dirfd) is under the root. */
static bool path_is_udax(int dirfd, const char *path)
{
	char name[SHIM_PATH_SIZE];

	return shim_path_where(dirfd, path, name) != SHIM_HOST;
}

/* Whether path (from dirfd) is under the root, or with a NULL path (as
 * futimens passes it to the kernel) whether dirfd is a udax descriptor. */
static bool path_or_fd_is_udax(int dirfd, const char *path)
{
	return path ? path_is_udax(dirfd, path) : shim_fd_is_udax(dirfd);
}

SHIM_EXPORT int fchmod(int fd, mode_t mode)
{
	if (shim_fd_is_udax(fd))
		return shim_fail(-EOPNOTSUPP);
	return NEXT(int (*)(int, mode_t), "fchmod")(fd, mode);
}

SHIM_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	if (path_is_udax(dirfd, path))
		return shim_fail(-EOPNOTSUPP);
	return NEXT(int (*)(int, const char *, mode_t, int), "fchmodat")(dirfd, path, mode, flags);
}

SHIM_EXPORT int chmod(const char *path, mode_t mode)
{
	return fchmodat(AT_FDCWD, path, mode, 0);
}

SHIM_EXPORT int fchown(int fd, uid_t uid, gid_t gid)
{
	if (shim_fd_is_udax(fd))
		return shim_fail(-EOPNOTSUPP);
	return NEXT(int (*)(int, uid_t, gid_t), "fchown")(fd, uid, gid);
}

SHIM_EXPORT int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	if (path_is_udax(dirfd, path))
		return shim_fail(-EOPNOTSUPP);
	return NEXT(int (*)(int, const char *, uid_t, gid_t, int), "fchownat")(dirfd, path, uid,
									       gid, flags);
}

SHIM_EXPORT int chown(const char *path, uid_t uid, gid_t gid)
{
	return fchownat(AT_FDCWD, path, uid, gid, 0);
}

SHIM_EXPORT int lchown(const char *path, uid_t uid, gid_t gid)
{
	return fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}

/* Whether times asks for no time but "now" (NULL, UTIME_NOW, UTIME_OMIT):
 * store entries have no times, and touch(1) asks for that. */
static bool times_now(const struct timespec *times)
{
	return !times || ((times[0].tv_nsec == UTIME_NOW || times[0].tv_nsec == UTIME_OMIT) &&
			  (times[1].tv_nsec == UTIME_NOW || times[1].tv_nsec == UTIME_OMIT));
}

/* A time change on a udax path or descriptor: 0 if it asks for "now" only
 * (on an entry that exists), else -EOPNOTSUPP. Return: as utimensat. */
static int udax_times(int dirfd, const char *path, bool now, int flags)
{
	struct stat st;

	if (!now)
		return shim_fail(-EOPNOTSUPP);
	if (!path)
		return 0;
	return fstatat(dirfd, path, &st, flags & AT_EMPTY_PATH);
}

SHIM_EXPORT int utimensat(int dirfd, const char *path, const struct timespec times[2],
			  int flags)
{
	if (path_or_fd_is_udax(dirfd, path))
		return udax_times(dirfd, path, times_now(times), flags);
	return NEXT(int (*)(int, const char *, const struct timespec *, int), "utimensat")(
		dirfd, path, times, flags);
}

SHIM_EXPORT int futimens(int fd, const struct timespec times[2])
{
	if (shim_fd_is_udax(fd))
		return udax_times(fd, NULL, times_now(times), 0);
	return NEXT(int (*)(int, const struct timespec *), "futimens")(fd, times);
}

SHIM_EXPORT int utimes(const char *path, const struct timeval times[2])
{
	if (path_is_udax(AT_FDCWD, path))
		return udax_times(AT_FDCWD, path, !times, 0);
	return NEXT(int (*)(const char *, const struct timeval *), "utimes")(path, times);
}

SHIM_EXPORT int utime(const char *path, const struct utimbuf *times)
{
	if (path_is_udax(AT_FDCWD, path))
		return udax_times(AT_FDCWD, path, !times, 0);
	return NEXT(int (*)(const char *, const struct utimbuf *), "utime")(path, times);
}

/* The xattr calls: by path (get, list, set, remove; l* alike) and by
 * descriptor (f*). */
#define XATTR_PATH(ret, name, params, args)				\
	SHIM_EXPORT ret name params					\
	{								\
		if (path_is_udax(AT_FDCWD, path))			\
			return shim_fail(-EOPNOTSUPP);			\
		return NEXT(ret(*) params, #name) args;			\
	}
#define XATTR_FD(ret, name, params, args)				\
	SHIM_EXPORT ret name params					\
	{								\
		if (shim_fd_is_udax(fd))				\
			return shim_fail(-EOPNOTSUPP);			\
		return NEXT(ret(*) params, #name) args;			\
	}

XATTR_PATH(ssize_t, getxattr, (const char *path, const char *n, void *v, size_t s),
	   (path, n, v, s))
XATTR_PATH(ssize_t, lgetxattr, (const char *path, const char *n, void *v, size_t s),
	   (path, n, v, s))
XATTR_PATH(ssize_t, listxattr, (const char *path, char *l, size_t s), (path, l, s))
XATTR_PATH(ssize_t, llistxattr, (const char *path, char *l, size_t s), (path, l, s))
XATTR_PATH(int, setxattr, (const char *path, const char *n, const void *v, size_t s, int f),
	   (path, n, v, s, f))
XATTR_PATH(int, lsetxattr, (const char *path, const char *n, const void *v, size_t s, int f),
	   (path, n, v, s, f))
XATTR_PATH(int, removexattr, (const char *path, const char *n), (path, n))
XATTR_PATH(int, lremovexattr, (const char *path, const char *n), (path, n))
XATTR_FD(ssize_t, fgetxattr, (int fd, const char *n, void *v, size_t s), (fd, n, v, s))
XATTR_FD(ssize_t, flistxattr, (int fd, char *l, size_t s), (fd, l, s))
XATTR_FD(int, fsetxattr, (int fd, const char *n, const void *v, size_t s, int f),
	 (fd, n, v, s, f))
XATTR_FD(int, fremovexattr, (int fd, const char *n), (fd, n))

/* statfs of the store: 4 KiB blocks, its room for data and files.
 * Return: 0 or -errno. */
static int store_statfs(struct statfs *sf)
{
	struct udax_store_stat ss;
	struct udax_store *s;
	int ret = shim_store(&s);

	if (!ret)
		ret = udax_store_stat(s, &ss);
	if (ret)
		return ret;
	memset(sf, 0, sizeof(*sf));
	sf->f_type = UDAX_MAGIC;
	sf->f_bsize = (long)ss.block_size;
	sf->f_frsize = (long)ss.block_size;
	sf->f_blocks = ss.blocks_total;
	sf->f_bfree = ss.blocks_free;
	sf->f_bavail = ss.blocks_free;
	sf->f_files = ss.files_max;
	sf->f_ffree = ss.files_max - ss.files;
	sf->f_namelen = UDAX_NAME_MAX;
	return 0;
}

SHIM_EXPORT int statfs(const char *path, struct statfs *sf)
{
	int ret;

	if (!path_is_udax(AT_FDCWD, path))
		return NEXT(int (*)(const char *, struct statfs *), "statfs")(path, sf);
	ret = store_statfs(sf);
	return ret ? shim_fail(ret) : 0;
}

SHIM_EXPORT int fstatfs(int fd, struct statfs *sf)
{
	int ret;

	if (!shim_fd_is_udax(fd))
		return NEXT(int (*)(int, struct statfs *), "fstatfs")(fd, sf);
	ret = store_statfs(sf);
	return ret ? shim_fail(ret) : 0;
}

/* statvfs from statfs, as glibc fills it. */
static void vfs_fill(struct statvfs *v, const struct statfs *sf)
{
	memset(v, 0, sizeof(*v));
	v->f_bsize = (unsigned long)sf->f_bsize;
	v->f_frsize = (unsigned long)sf->f_frsize;
	v->f_blocks = sf->f_blocks;
	v->f_bfree = sf->f_bfree;
	v->f_bavail = sf->f_bavail;
	v->f_files = sf->f_files;
	v->f_ffree = sf->f_ffree;
	v->f_favail = sf->f_ffree;
	v->f_namemax = (unsigned long)sf->f_namelen;
}

SHIM_EXPORT int statvfs(const char *path, struct statvfs *v)
{
	struct statfs sf;
	int ret;

	if (!path_is_udax(AT_FDCWD, path))
		return NEXT(int (*)(const char *, struct statvfs *), "statvfs")(path, v);
	ret = store_statfs(&sf);
	if (ret)
		return shim_fail(ret);
	vfs_fill(v, &sf);
	return 0;
}

SHIM_EXPORT int fstatvfs(int fd, struct statvfs *v)
{
	struct statfs sf;
	int ret;

	if (!shim_fd_is_udax(fd))
		return NEXT(int (*)(int, struct statvfs *), "fstatvfs")(fd, v);
	ret = store_statfs(&sf);
	if (ret)
		return shim_fail(ret);
	vfs_fill(v, &sf);
	return 0;
}
