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
 * handles; its udax mappings became PROT_NONE, mm/vma_registry.c).
 *
 * Locks: fds_lock (process-local mutex) protects the list; pthread_atfork's
 * prepare takes it, so no fork happens between an open and its listing.
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
#include "store/store_disk.h"

static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;
static int *fds;
static size_t fds_count, fds_cap;

static void fork_prepare(void)
{
	pthread_mutex_lock(&fds_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&fds_lock);
}

static void fork_child(void)
{
	for (size_t i = 0; i < fds_count; i++)
		close(fds[i]);
	fds_count = 0;
	pthread_mutex_unlock(&fds_lock);
}

/* Before main(), so before any thread: a handler registered by a first
 * open while another thread forks is not run for that fork, and its child
 * kept the descriptor (found by the adversarial pass). */
__attribute__((constructor)) static void fork_handler_install(void)
{
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
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
