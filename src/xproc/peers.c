// SPDX-License-Identifier: MIT
/*
 * peers.c - the life of the region's members, told by the OFD locks on
 * their slot bytes (region_layout.h), and the lock calls region.c uses.
 *
 * Holds no lock of its own; F_OFD_GETLK only tests. Never sleeps.
 *
 * Layer: xproc. May call: base.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "xproc/region_layout.h"

int xproc_byte_lock(int fd, int cmd, short type, off_t byte)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };

	/* A wait a signal handler interrupted is waited again: a leave
	 * going on without SETUP could remove a file a joiner is setting up. */
	while (fcntl(fd, cmd, &fl) != 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

bool xproc_byte_held(int fd, off_t byte)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };

	/* An error says nothing: count it held (a refused open is safe, a
	 * reader beside a writer is not). */
	return fcntl(fd, F_OFD_GETLK, &fl) != 0 || fl.l_type != F_UNLCK;
}

int xproc_store_reader_enter(int store_fd, char *why, size_t why_len)
{
	int ret = xproc_byte_lock(store_fd, F_OFD_SETLK, F_RDLCK, XPROC_STORE_READER);

	if (ret) {
		snprintf(why, why_len, "cannot lock the store file for reading: %s",
			 strerror(-ret));
		return ret;
	}
	/* Taken, then tested, as a joiner does the other way round
	 * (region.c): of two that meet, at least one sees the other. */
	if (!xproc_byte_held(store_fd, XPROC_STORE_MEMBER))
		return 0;
	(void)xproc_byte_lock(store_fd, F_OFD_SETLK, F_UNLCK, XPROC_STORE_READER);
	snprintf(why, why_len, "the store is open by processes that share it (read-write or "
		 "read-only): a reader outside its shared region must wait until they close it");
	return -EBUSY;
}

unsigned xproc_self(const struct xproc_region *r)
{
	return r->self;
}

bool xproc_peer_alive(const struct xproc_region *r, unsigned slot)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = XPROC_LOCK_SLOT0 + slot, .l_len = 1 };

	if (r->forked || slot >= XPROC_PEERS_MAX)
		return false;
	if (slot == r->self)
		return true;
	/* An error says nothing: count the holder alive (waiting longer is
	 * safe, recovering a live member's work is not). */
	if (fcntl(r->fd, F_OFD_GETLK, &fl) != 0)
		return true;
	return fl.l_type != F_UNLCK;
}

bool xproc_member_gone(const struct xproc_region *r, unsigned slot, uint32_t incarnation,
		       uint32_t mask)
{
	uint32_t now = atomic_load_explicit(&r->shared->peer[slot].incarnation,
					    memory_order_acquire);

	return (now & mask) != (incarnation & mask) || !xproc_peer_alive(r, slot);
}

uint64_t xproc_peers(const struct xproc_region *r)
{
	uint64_t peers = 0;

	if (r->forked)
		return 0;
	for (unsigned s = 0; s < XPROC_PEERS_MAX; s++) {
		/* pid 0: never claimed, or left (a dead member's stays):
		 * spares the test of slots nobody is in. */
		if (s == r->self ||
		    !atomic_load_explicit(&r->shared->peer[s].pid, memory_order_relaxed))
			continue;
		if (xproc_peer_alive(r, s))
			peers |= 1ull << s;
	}
	return peers;
}
