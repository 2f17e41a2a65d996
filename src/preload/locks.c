// SPDX-License-Identifier: MIT
/*
 * locks.c - layer preload: file locks on udax descriptors, kept by the
 * kernel on the file's lock proxy (udax_lock_fd()), so that they hold
 * across every process of the store, `udax run` programs and API users
 * alike:
 * - each ofd that locks gets a description of the proxy of its own
 *   (ofd.lock_fd), so OFD locks (F_OFD_SETLK...) and flock(2) locks are
 *   the description's, released when its last descriptor closes;
 * - POSIX record locks (F_SETLK...) are the process's on the proxy's
 *   inode, as the kernel's are on the file's; any close of a descriptor
 *   of the file releases them (fs/locks.c's locks_remove_posix): the node
 *   keeps a description of its own (node.lock_fd) to unlock them through
 *   when a descriptor closes while its ofd stays;
 * - conflicts, waits (EINTR when a handler interrupts, as the kernel's),
 *   EDEADLK, l_pid and the release at death are the kernel's.
 * Offsets are made absolute here (the proxy is empty: its SEEK_END is not
 * the file's end). Before a fork every ofd gets its proxy, so that the
 * child (and what it execs) locks the parent's description, as the
 * kernel's child does: `exec 9>FILE; flock -n 9` in a shell locks the
 * shell's description, which the flock command's exit leaves locked. Across exec the proxies of the descriptors handed over
 * stay open (exec.c), so the new program keeps the locks, as the kernel's
 * keep a description's across exec.
 *
 * May call: the public API, libc, core.c.
 * Locks: proxy_lock (a leaf mutex) while an ofd's or node's proxy is
 * opened or read; never held across a wait for a lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "preload/shim.h"

static pthread_mutex_t proxy_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic bool proxy_said;	/* a failure was said (once per process) */

/* A new proxy descriptor of ofd's file, moved out of the program's way
 * (half the soft RLIMIT_NOFILE, at most 1024, as the library's own: a
 * program dup2()s onto small numbers) when that is safe: moving is a
 * close, which drops the process's POSIX locks on the proxy, so only
 * while it has taken none on the file (the node has no proxy yet). Else it
 * stays the lowest free number. Context: proxy_lock held.
 * Return: the descriptor, or -errno. */
static int proxy_open(struct shim_ofd *ofd)
{
	int fd = udax_lock_fd(ofd->file);

	return fd < 0 || ofd->node->lock_fd >= 0 ? fd : shim_fd_aside(fd);
}

/* The proxy descriptor of ofd (and, for POSIX locks, the node's), opened on
 * first use. Return: the descriptor, or -errno. */
static int proxy_get(struct shim_ofd *ofd, bool posix)
{
	int fd;

	pthread_mutex_lock(&proxy_lock);
	fd = ofd->lock_fd;
	if (fd < 0) {
		fd = proxy_open(ofd);
		if (fd >= 0)
			ofd->lock_fd = shim_fd_keep_in_child(fd);
	}
	if (fd >= 0 && posix && ofd->node->lock_fd < 0) {
		int node_fd = proxy_open(ofd);

		if (node_fd < 0)
			fd = node_fd;
		else
			ofd->node->lock_fd = shim_fd_keep_in_child(node_fd);
	}
	pthread_mutex_unlock(&proxy_lock);
	if (fd < 0 && !atomic_exchange(&proxy_said, true))
		shim_say("udax-preload: pid %d: cannot lock a store file: %s: %s", (int)getpid(),
			 strerror(-fd), udax_strerror_detail());
	return fd;
}

/* Whether the range of fl from base is one the kernel takes (fs/locks.c's
 * flock_to_posix_lock): start >= 0, no overflow. Return: 0 or -errno. */
static int range_check(const struct flock *fl, int64_t base, int64_t *start)
{
	int64_t last;

	if (__builtin_add_overflow(base, (int64_t)fl->l_start, start))
		return -EOVERFLOW;
	if (*start < 0)
		return -EINVAL;
	if (fl->l_len > 0 && __builtin_add_overflow(*start, (int64_t)fl->l_len - 1, &last))
		return -EOVERFLOW;
	if (fl->l_len < 0 && *start + fl->l_len < 0)
		return -EINVAL;
	return 0;
}

void shim_locks_before_fork(struct shim_ofd *ofd)
{
	pthread_mutex_lock(&proxy_lock);
	if (ofd->lock_fd < 0 && ofd->file && !atomic_load(&ofd->inherited)) {
		int fd = proxy_open(ofd);

		if (fd >= 0)	/* else (a reader's store, say) as before */
			ofd->lock_fd = shim_fd_keep_in_child(fd);
	}
	pthread_mutex_unlock(&proxy_lock);
}

int shim_lock_fcntl(struct shim_ofd *ofd, int cmd, struct flock *fl, int64_t base)
{
	bool test = cmd == F_GETLK || cmd == F_OFD_GETLK;
	int acc = atomic_load(&ofd->flags) & O_ACCMODE;
	struct flock abs = *fl;
	int fd, ret;

	/* the kernel's checks, in fs/locks.c's order, up to the descriptor's
	 * access mode (the proxy's may be wider: a udax handle of an O_WRONLY
	 * descriptor reads too): F_GETLK's type, the range, the type */
	if (cmd == F_GETLK && fl->l_type != F_RDLCK && fl->l_type != F_WRLCK)
		return -EINVAL;
	ret = range_check(fl, base, &abs.l_start);
	if (ret)
		return ret;
	if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK && fl->l_type != F_UNLCK)
		return -EINVAL;
	if (!test && ((fl->l_type == F_RDLCK && acc == O_WRONLY) ||
		      (fl->l_type == F_WRLCK && acc == O_RDONLY)))
		return -EBADF;
	abs.l_whence = SEEK_SET;
	fd = proxy_get(ofd, cmd == F_SETLK || cmd == F_SETLKW);
	if (fd < 0)
		return fd;
	if (shim_real()->fcntl(fd, cmd, &abs) != 0)
		return -errno;
	if (test && abs.l_type != F_UNLCK)
		*fl = abs;
	else if (test)	/* nothing in the way: only the type changes */
		fl->l_type = F_UNLCK;
	return 0;
}

int shim_lock_flock(struct shim_ofd *ofd, int op)
{
	int fd = proxy_get(ofd, false);

	if (fd < 0)
		return fd;
	return shim_real()->flock(fd, op) ? -errno : 0;
}

void shim_locks_fd_closed(const struct shim_ofd *ofd)
{
	struct flock all = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	pthread_mutex_lock(&proxy_lock);
	if (ofd->node && ofd->node->lock_fd >= 0)
		(void)shim_real()->fcntl(ofd->node->lock_fd, F_SETLK, &all);
	pthread_mutex_unlock(&proxy_lock);
}

/* A proxy descriptor handed over at exec, or -1: kept open across it. */
static int handover_fd(int fd)
{
	if (fd >= 0)
		shim_real()->fcntl(fd, F_SETFD, 0);
	return fd;
}

void shim_locks_handover(const struct shim_ofd *ofd, int *ofd_fd, int *node_fd)
{
	pthread_mutex_lock(&proxy_lock);
	*ofd_fd = handover_fd(ofd->lock_fd);
	*node_fd = handover_fd(ofd->node->lock_fd);
	pthread_mutex_unlock(&proxy_lock);
}

void shim_locks_handover_undo(const struct shim_ofd *ofd)
{
	pthread_mutex_lock(&proxy_lock);
	if (ofd->lock_fd >= 0)
		shim_real()->fcntl(ofd->lock_fd, F_SETFD, FD_CLOEXEC);
	if (ofd->node->lock_fd >= 0)
		shim_real()->fcntl(ofd->node->lock_fd, F_SETFD, FD_CLOEXEC);
	pthread_mutex_unlock(&proxy_lock);
}

/* Take fd, a proxy descriptor the old program handed over, as the
 * library's again (close-on-exec, kept by fork children). Return: fd, or
 * -1 if it is no descriptor now. */
static int handed_take(int fd)
{
	if (fd < 0 || shim_real()->fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
		return -1;
	return shim_fd_keep_in_child(shim_fd_mark_library(fd, true));
}

void shim_locks_adopt(struct shim_ofd *ofd, int ofd_fd, int node_fd)
{
	pthread_mutex_lock(&proxy_lock);
	if (ofd->lock_fd < 0)
		ofd->lock_fd = handed_take(ofd_fd);
	if (ofd->node->lock_fd < 0)
		ofd->node->lock_fd = handed_take(node_fd);
	pthread_mutex_unlock(&proxy_lock);
}

void shim_locks_ofd_gone(struct shim_ofd *ofd)
{
	pthread_mutex_lock(&proxy_lock);
	if (ofd->lock_fd >= 0)
		shim_libc_close(ofd->lock_fd);
	ofd->lock_fd = -1;
	pthread_mutex_unlock(&proxy_lock);
}
