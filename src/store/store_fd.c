// SPDX-License-Identifier: MIT
/*
 * store_fd.c - layer store: the descriptors of store files this process
 * holds (a loaded store's, a check's), which its fork() children close.
 *
 * A child must not keep a store file's open file description: its flock
 * and OFD lock bytes (store_open_file(), xproc.h) would outlive the
 * parent, keeping an exclusive store refused to everyone, the child's own
 * open included, and a shared one refused to exclusive openers and checks.
 * The child cannot use its parent's stores anyway (the api refuses its
 * handles); it inherits its parent's mappings by opening the store again
 * itself (api/fork.c).
 *
 * Locks: fds_lock (process-local mutex) protects the list; the library's
 * fork handler (api/fork.c) takes it before fork, so no fork happens
 * between an open and its listing.
 * A leaf: only open, fcntl and close run under it.
 *
 * Layer: store. May call: base.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/compat.h"
#include "store/store.h"
#include "store/store_disk.h"

static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;
static int *fds;
static size_t fds_count, fds_cap;

void store_fd_fork_prepare(void)
{
	pthread_mutex_lock(&fds_lock);
}

void store_fd_fork_parent(void)
{
	pthread_mutex_unlock(&fds_lock);
}

void store_fd_fork_child(void)
{
	for (size_t i = 0; i < fds_count; i++)
		close(fds[i]);
	fds_count = 0;
	pthread_mutex_unlock(&fds_lock);
}

int store_fd_open(const char *path, int flags)
{
	int fd, ret = 0;

	pthread_mutex_lock(&fds_lock);
	if (fds_count == fds_cap) {
		size_t cap = fds_cap ? 2 * fds_cap : 8;
		int *more = realloc(fds, cap * sizeof(*fds));

		if (!more)
			ret = -ENOMEM;
		else
			fds = more, fds_cap = cap;
	}
	fd = ret ? ret : compat_open_backing(path, flags, 0);
	if (fd >= 0)
		fds[fds_count++] = fd;
	pthread_mutex_unlock(&fds_lock);
	return fd;
}

void store_fd_close(int fd)
{
	pthread_mutex_lock(&fds_lock);
	for (size_t i = 0; i < fds_count; i++) {
		if (fds[i] == fd) {
			fds[i] = fds[--fds_count];
			break;
		}
	}
	close(fd);
	pthread_mutex_unlock(&fds_lock);
}
