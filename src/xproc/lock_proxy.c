// SPDX-License-Identifier: MIT
/*
 * lock_proxy.c - a store file's lock proxy: an empty tmpfs file, one per
 * file slot, in a directory beside the store's region file
 * (udax-DEV-INO.locks/SLOT), on which the kernel keeps the file's record
 * locks (fcntl F_SETLK, OFD locks) and flock(2) locks for every process
 * of the store. Their owners, conflicts, deadlock detection, l_pid, the
 * release at close and at death are then fs/locks.c's, across processes.
 *
 * A slot names one file for as long as any process has it open (it is
 * reused only after), and a lock lives on an open description of its
 * proxy, which its holder keeps only while it has the file open: a reused
 * slot's proxy carries no lock of the file before.
 *
 * Trust: the directory and the files carry the store's permission bits
 * (for the directory, x where r or w) and group, so that whoever may
 * write the store may make them and whoever may read it may lock for
 * reading; one made by anyone else (not this user, the store's owner,
 * root or, for a group-writable store, its group) is refused: a stranger
 * could hold its locks forever.
 *
 * Removal: the last member of the store's region removes the directory
 * under the region's SETUP lock (region.c), when nobody can hold a proxy.
 *
 * The directory calls are system calls, not libc's: under `udax run` the
 * shim interposes mkdir, unlinkat and the directory streams.
 *
 * Layer: xproc. May call: base, region_file.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/compat.h"
#include "xproc/region_layout.h"

/* Why a reader (a store opened read-only) finds no proxy. */
#define NO_MAKER " (only a process that opened the store for writing makes it, and none " \
	"has locked the file yet)"

/* The directory's mode for a store of mode m: its r and w bits, with x
 * where either is (to reach the proxies, or to make them). */
static mode_t dir_mode(mode_t m)
{
	return (m & 0666) | ((m & 0444) >> 2) | ((m & 0222) >> 1);
}

/* Whether an existing proxy or directory (fd, of want's type and mode) may
 * be trusted; one wider than want is narrowed by its owner, else refused. */
static int proxy_check(int fd, const struct stat *store, mode_t type, mode_t want,
		       const char *what, char *why, size_t why_len)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -errno;
	if ((st.st_mode & S_IFMT) != type || (type == S_IFREG && st.st_nlink > 1)) {
		snprintf(why, why_len, "%s is not a plain %s", what,
			 type == S_IFDIR ? "directory" : "file");
		return -EACCES;
	}
	if (!xproc_owner_may_write(&st, store)) {
		snprintf(why, why_len, "%s belongs to user %u, who may not write the store",
			 what, (unsigned)st.st_uid);
		return -EACCES;
	}
	if ((st.st_mode & 0777 & ~want) && (st.st_uid != geteuid() || fchmod(fd, want) != 0)) {
		snprintf(why, why_len, "%s's permissions %03o are wider than the store's %03o",
			 what, (unsigned)(st.st_mode & 0777), (unsigned)(store->st_mode & 0777));
		return -EACCES;
	}
	return 0;
}

/* Give a made file or directory its mode (the umask narrowed it) and the
 * store's group (and owner, for root). */
static void proxy_own(int fd, const struct stat *store, mode_t want)
{
	(void)fchmod(fd, want);
	if (geteuid() == 0)
		(void)fchown(fd, store->st_uid, store->st_gid);
	else if (store->st_gid != getegid())
		(void)fchown(fd, (uid_t)-1, store->st_gid);
}

/* The proxies' directory at dir, made if missing (by a maker). Return: a
 * descriptor of it, or -errno with the reason in why. */
static int proxy_dir_open(const char *dir, const struct stat *store, bool maker, char *why,
			  size_t why_len)
{
	mode_t want = dir_mode(store->st_mode);
	bool made = maker && syscall(SYS_mkdirat, AT_FDCWD, dir, want) == 0;
	int fd, ret;

	if (maker && !made && errno != EEXIST) {
		ret = -errno;
		snprintf(why, why_len, "cannot make the lock directory %s: %s", dir,
			 strerror(errno));
		return ret == -EACCES ? -ENOLCK : ret;
	}
	fd = compat_open_backing(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (fd < 0) {
		snprintf(why, why_len, "cannot open the lock directory %s: %s%s", dir,
			 strerror(-fd), fd == -ENOENT ? NO_MAKER : "");
		return fd == -ELOOP || fd == -ENOTDIR ? -EACCES : fd == -ENOENT ? -ENOLCK : fd;
	}
	if (made)
		proxy_own(fd, store, want);
	ret = proxy_check(fd, store, S_IFDIR, want, "the lock directory", why, why_len);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Open a proxy file where open() puts it (the lowest free number): never
 * moved aside as compat_open_backing() moves the library's descriptors,
 * because moving is a close, and any close of a descriptor of the proxy
 * drops every POSIX lock the process holds on it. Return: fd or -errno. */
static int proxy_file_open(const char *path, int flags, mode_t mode)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);

	return fd < 0 ? -errno : fd;
}

int xproc_lock_proxy_open(int store_fd, uint32_t slot, bool writable, char *why,
			  size_t why_len)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	int acc = fcntl(store_fd, F_GETFL);
	bool maker = acc >= 0 && (acc & O_ACCMODE) == O_RDWR;
	struct stat store;
	mode_t want;
	int dfd, fd, ret;

	if (fstat(store_fd, &store) != 0)
		return -errno;
	want = store.st_mode & 0666;
	ret = xproc_store_file_path(&store, "locks", dir, sizeof(dir), why, why_len);
	if (ret)
		return ret;
	dfd = proxy_dir_open(dir, &store, maker, why, why_len);
	if (dfd < 0)
		return dfd;
	close(dfd);
	snprintf(path, sizeof(path), "%s/%u", dir, (unsigned)slot);
	fd = proxy_file_open(path, (writable ? O_RDWR : O_RDONLY), 0);
	if (fd == -ENOENT && maker) {
		fd = proxy_file_open(path, (writable ? O_RDWR : O_RDONLY) | O_CREAT, want);
		if (fd >= 0)
			proxy_own(fd, &store, want);
	}
	if (fd < 0) {
		snprintf(why, why_len, "cannot open the lock file %s: %s%s", path, strerror(-fd),
			 fd == -ENOENT ? NO_MAKER : "");
		return fd == -ELOOP ? -EACCES : fd == -ENOENT ? -ENOLCK : fd;
	}
	ret = proxy_check(fd, &store, S_IFREG, want, "the lock file", why, why_len);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

void xproc_lock_proxies_remove_path(const char *dir)
{
	char buf[4096];
	long n;
	int fd = compat_open_backing(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);

	if (fd < 0)
		return;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (long at = 0; at < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + at);

			if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
				(void)syscall(SYS_unlinkat, fd, d->d_name, 0);
			at += d->d_reclen;
		}
	close(fd);
	(void)syscall(SYS_unlinkat, AT_FDCWD, dir, AT_REMOVEDIR);
}

void xproc_lock_proxies_remove(int store_fd)
{
	char dir[PATH_MAX], why[8];
	struct stat store;

	if (fstat(store_fd, &store) == 0 &&
	    xproc_store_file_path(&store, "locks", dir, sizeof(dir), why, sizeof(why)) == 0)
		xproc_lock_proxies_remove_path(dir);
}
