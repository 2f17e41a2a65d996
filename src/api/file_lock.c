// SPDX-License-Identifier: MIT
/*
 * file_lock.c - layer api: udax_lock_fd(), a kernel descriptor of an open
 * file's lock proxy (xproc/lock_proxy.c), on which fcntl record locks, OFD
 * locks and flock(2) lock the udax file for every process of the store.
 *
 * May call: xproc. Locks: none (the handle keeps the file's slot).
 */
#include <errno.h>
#include <limits.h>

#include "api/handles.h"
#include "xproc/xproc.h"

int file_lock_fd(struct udax_file *f)
{
	char why[PATH_MAX + 160];
	int fd;

	if (!f)
		return detail_set(-EINVAL, "the file handle is NULL");
	fd = xproc_lock_proxy_open(f->inode->handle->st->fd, (uint32_t)f->inode->slot,
				   f->writable, why, sizeof(why));
	return fd < 0 ? detail_set(fd, "%s", why) : fd;
}
