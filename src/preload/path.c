// SPDX-License-Identifier: MIT
/*
 * path.c - layer preload: the calls on paths that name store files and
 * directories: stat and its forms (stat, lstat, fstatat, statx), access,
 * unlink, rmdir, rename, truncate, mkdir; each answers what the kernel
 * answers for the same tree (the errno of a missing or file component, a
 * trailing '/' on a file, the root, which cannot be removed or renamed).
 *
 * May call: the public API of udax.h, libc, core.c, rw.c (fstat).
 * Locks: none of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "preload/shim.h"

/* stat of a udax path (where from shim_path_where). Return: 0 or -errno. */
static int udax_stat_path(int where, const char *name, struct stat *st)
{
	struct udax_store *s;
	struct udax_stat us;
	int ret;

	if (where < 0)
		return where;
	ret = shim_store(&s);
	if (ret)
		return ret;
	if (where == SHIM_ROOT) {
		shim_stat_dir(st, "");
		return 0;
	}
	ret = udax_stat(s, name, &us);
	if (!ret && us.type == UDAX_TYPE_DIR)
		shim_stat_dir(st, name);
	else if (!ret && where == SHIM_ENTRY_DIR)
		ret = -ENOTDIR;
	else if (!ret)
		shim_stat_fill(st, name, us.size, us.blocks);
	return ret;
}

/* fstatat with every case: "" with AT_EMPTY_PATH is the descriptor. */
static int stat_at(int dirfd, const char *path, struct stat *st, int flags)
{
	char name[SHIM_PATH_SIZE];
	int where, ret;

	if ((flags & AT_EMPTY_PATH) && path && !*path && shim_fd_is_udax(dirfd))
		return fstat(dirfd, st);
	where = shim_path_where(dirfd, path, name);
	if (where == SHIM_HOST)
		return shim_real()->fstatat(dirfd, path, st, flags);
	ret = udax_stat_path(where, name, st);
	return ret ? shim_fail(ret) : 0;
}

SHIM_EXPORT int stat(const char *path, struct stat *st)
{
	return stat_at(AT_FDCWD, path, st, 0);
}

SHIM_EXPORT int stat64(const char *path, struct stat64 *st)
{
	return stat_at(AT_FDCWD, path, (struct stat *)st, 0);
}

SHIM_EXPORT int lstat(const char *path, struct stat *st)
{
	return stat_at(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

SHIM_EXPORT int lstat64(const char *path, struct stat64 *st)
{
	return stat_at(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW);
}

SHIM_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return stat_at(dirfd, path, st, flags);
}

SHIM_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return stat_at(dirfd, path, (struct stat *)st, flags);
}

static struct statx_timestamp stx_time(struct timespec t)
{
	return (struct statx_timestamp){ .tv_sec = t.tv_sec, .tv_nsec = (uint32_t)t.tv_nsec };
}

SHIM_EXPORT int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
	char name[SHIM_PATH_SIZE];
	struct stat st;
	int where = SHIM_ENTRY, ret;

	if (!((flags & AT_EMPTY_PATH) && !*path && shim_fd_is_udax(dirfd))) {
		where = shim_path_where(dirfd, path, name);
		if (where == SHIM_HOST)
			return shim_real()->statx(dirfd, path, flags, mask, stx);
		ret = udax_stat_path(where, name, &st);
	} else {
		ret = fstat(dirfd, &st) ? -errno : 0;
	}
	if (ret)
		return shim_fail(ret);
	memset(stx, 0, sizeof(*stx));
	stx->stx_mask = STATX_BASIC_STATS;
	stx->stx_blksize = (uint32_t)st.st_blksize;
	stx->stx_nlink = (uint32_t)st.st_nlink;
	stx->stx_uid = st.st_uid;
	stx->stx_gid = st.st_gid;
	stx->stx_mode = (uint16_t)st.st_mode;
	stx->stx_ino = st.st_ino;
	stx->stx_size = (uint64_t)st.st_size;
	stx->stx_blocks = (uint64_t)st.st_blocks;
	stx->stx_atime = stx_time(st.st_atim);
	stx->stx_mtime = stx_time(st.st_mtim);
	stx->stx_ctime = stx_time(st.st_ctim);
	stx->stx_dev_major = major(st.st_dev);
	stx->stx_dev_minor = minor(st.st_dev);
	return 0;
}

/* Store files are rw-r--r-- and the owner's: only X_OK is refused. */
SHIM_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	char name[SHIM_PATH_SIZE];
	int where = shim_path_where(dirfd, path, name), ret;
	struct stat st;

	if (where == SHIM_HOST)
		return shim_real()->faccessat(dirfd, path, mode, flags);
	if (mode & ~(R_OK | W_OK | X_OK))
		return shim_fail(-EINVAL);
	ret = udax_stat_path(where, name, &st);
	if (!ret && (mode & X_OK) && S_ISREG(st.st_mode))
		ret = -EACCES;
	return ret ? shim_fail(ret) : 0;
}

SHIM_EXPORT int access(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, 0);
}

SHIM_EXPORT int euidaccess(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, AT_EACCESS);
}

SHIM_EXPORT int eaccess(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, AT_EACCESS);
}

SHIM_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
	char name[SHIM_PATH_SIZE];
	int where = shim_path_where(dirfd, path, name), ret;
	struct udax_store *s;

	if (where == SHIM_HOST)
		return shim_real()->unlinkat(dirfd, path, flags);
	if (where < 0)
		return shim_fail(where);
	ret = shim_store(&s);
	if (!ret && where == SHIM_ROOT)
		ret = flags & AT_REMOVEDIR ? -EBUSY : -EISDIR;
	else if (!ret && (flags & AT_REMOVEDIR))
		ret = udax_rmdir(s, name);
	else if (!ret && where == SHIM_ENTRY_DIR)	/* "f/": a directory or nothing */
		ret = shim_entry_type(where, name) == UDAX_TYPE_DIR ? -EISDIR :
		      shim_entry_type(where, name);
	else if (!ret)
		ret = shim_node_unlink(s, name);
	return ret ? shim_fail(ret) : 0;
}

SHIM_EXPORT int unlink(const char *path)
{
	return unlinkat(AT_FDCWD, path, 0);
}

SHIM_EXPORT int rmdir(const char *path)
{
	return unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

/* rename with a trailing '/' on either name: 0 if from is a directory,
 * else -ENOTDIR (a file) or -ENOENT (nothing), as the kernel answers. */
static int rename_dirs_only(const char *from)
{
	int type = shim_entry_type(SHIM_ENTRY, from);

	if (type < 0)
		return type;
	return type == UDAX_TYPE_DIR ? 0 : -ENOTDIR;
}

SHIM_EXPORT int renameat2(int oldfd, const char *oldpath, int newfd, const char *newpath,
			  unsigned flags)
{
	char from[SHIM_PATH_SIZE], to[SHIM_PATH_SIZE];
	int a = shim_path_where(oldfd, oldpath, from), b = shim_path_where(newfd, newpath, to);
	struct udax_store *s;
	struct udax_stat st;
	int ret;

	if (a == SHIM_HOST && b == SHIM_HOST)
		return shim_real()->renameat2(oldfd, oldpath, newfd, newpath, flags);
	if (a < 0 || b < 0)
		return shim_fail(a < 0 ? a : b);
	if (a == SHIM_HOST || b == SHIM_HOST)
		return shim_fail(-EXDEV);
	ret = shim_store(&s);
	if (!ret && (a == SHIM_ROOT || b == SHIM_ROOT))
		ret = -EBUSY;
	else if (!ret && (a == SHIM_ENTRY_DIR || b == SHIM_ENTRY_DIR))
		/* "d/": only a directory may be renamed, or renamed to */
		ret = rename_dirs_only(from);
	if (!ret && (flags & ~RENAME_NOREPLACE))
		ret = flags & RENAME_EXCHANGE ? -EOPNOTSUPP : -EINVAL;
	else if (!ret && (flags & RENAME_NOREPLACE) && !udax_stat(s, to, &st))
		ret = -EEXIST;
	if (!ret)
		ret = shim_node_rename(s, from, to);
	return ret ? shim_fail(ret) : 0;
}

SHIM_EXPORT int renameat(int oldfd, const char *oldpath, int newfd, const char *newpath)
{
	return renameat2(oldfd, oldpath, newfd, newpath, 0);
}

SHIM_EXPORT int rename(const char *oldpath, const char *newpath)
{
	return renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

SHIM_EXPORT int truncate(const char *path, off_t len)
{
	char name[SHIM_PATH_SIZE];
	int where = shim_path_where(AT_FDCWD, path, name), ret, err;
	struct udax_store *s;
	struct udax_file *f;

	if (where == SHIM_HOST)
		return shim_real()->truncate(path, len);
	if (where < 0)
		return shim_fail(where);
	ret = shim_store(&s);
	if (!ret && where != SHIM_ENTRY)
		ret = shim_entry_type(where, name) == UDAX_TYPE_DIR ? -EISDIR :
		      shim_entry_type(where, name);
	else if (!ret && len < 0)
		ret = -EINVAL;
	else if (!ret)
		ret = udax_open(s, name, O_RDWR, &f);
	if (!ret) {
		ret = udax_truncate(f, (uint64_t)len);
		err = udax_close(f);
		ret = ret ? ret : err;
	}
	return ret ? shim_fail(ret) : 0;
}

SHIM_EXPORT int truncate64(const char *path, off64_t len)
{
	return truncate(path, len);
}

SHIM_EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
	char name[SHIM_PATH_SIZE];
	int where = shim_path_where(dirfd, path, name), ret;
	struct udax_store *s;

	if (where == SHIM_HOST)
		return shim_real()->mkdirat(dirfd, path, mode);
	if (where < 0)
		return shim_fail(where);
	ret = shim_store(&s);
	if (!ret && where == SHIM_ROOT)
		ret = -EEXIST;
	else if (!ret)
		ret = udax_mkdir(s, name, mode);
	return ret ? shim_fail(ret) : 0;
}

SHIM_EXPORT int mkdir(const char *path, mode_t mode)
{
	return mkdirat(AT_FDCWD, path, mode);
}
