// SPDX-License-Identifier: MIT
/*
 * file_share.c - layer mm: the shared files of a store several processes
 * share (file_share.h), and an inode's lock over either kind of store.
 *
 * Locks: openers changes under store.lock, mappers under the member's own
 * inode's maps_lock, but for the attach of a slot's new member, which
 * clears only its own slot's bits (no other member writes them).
 * size_known: store.lock.
 *
 * May call: base, xproc, index.
 */
#include <errno.h>

#include "mm/file_share.h"

/* Where the shared files start after the page indexes of files_max. */
static uint64_t files_offset(uint32_t files_max)
{
	return (index_share_bytes(files_max) + 63) & ~63ull;
}

uint64_t file_share_bytes(uint32_t files_max)
{
	if (!index_share_bytes(files_max))
		return 0;
	return files_offset(files_max) + (uint64_t)files_max * sizeof(struct file_shared);
}

void file_share_attach(struct file_share *fs, struct xproc_region *r, void *mem,
		       uint32_t files_max, const struct radix_space *space)
{
	uint64_t mine = 1ull << xproc_self(r);

	fs->region = r;
	fs->files_max = files_max;
	fs->file = (struct file_shared *)((char *)mem + files_offset(files_max));
	index_share_attach(&fs->index, r, mem, files_max, space);
	for (uint32_t i = 0; i < files_max; i++) {
		atomic_fetch_and_explicit(&fs->file[i].openers, ~mine, memory_order_relaxed);
		atomic_fetch_and_explicit(&fs->file[i].mappers, ~mine, memory_order_relaxed);
	}
}

void file_share_open(struct file_share *fs, uint32_t slot)
{
	atomic_fetch_or_explicit(&fs->file[slot].openers, 1ull << xproc_self(fs->region),
				 memory_order_relaxed);
}

void file_share_close(struct file_share *fs, uint32_t slot)
{
	atomic_fetch_and_explicit(&fs->file[slot].openers, ~(1ull << xproc_self(fs->region)),
				  memory_order_relaxed);
}

bool file_share_open_elsewhere(const struct file_share *fs, uint32_t slot)
{
	uint64_t openers = atomic_load_explicit(&fs->file[slot].openers, memory_order_relaxed);

	return openers & xproc_peers(fs->region);
}

void file_share_mapped(struct file_share *fs, uint32_t slot, bool mapped)
{
	uint64_t mine = 1ull << xproc_self(fs->region);

	/* The faults that follow take the entry lock or invalidate_lock a
	 * requester holds when it reads the mask: they order the bit before
	 * its read. */
	if (mapped)
		atomic_fetch_or_explicit(&fs->file[slot].mappers, mine, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&fs->file[slot].mappers, ~mine, memory_order_relaxed);
}

uint64_t file_share_mappers(const struct file_share *fs, uint32_t slot)
{
	return atomic_load_explicit(&fs->file[slot].mappers, memory_order_acquire) &
	       ~(1ull << xproc_self(fs->region));
}

void file_share_forget(struct file_share *fs, uint32_t slot)
{
	atomic_store_explicit(&fs->file[slot].state.size_known, 0, memory_order_release);
}

void file_rwlock_init(struct file_rwlock *l, struct xproc_rwlock *shared,
		      const struct xproc_region *r)
{
	rwlock_init(&l->own);
	l->shared = shared;
	l->region = r;
}

int file_read_lock(struct file_rwlock *l)
{
	if (!l->shared) {
		rwlock_read_lock(&l->own);
		return 0;
	}
	return xproc_read_lock(l->region, l->shared) ? -EUCLEAN : 0;
}

void file_read_unlock(struct file_rwlock *l)
{
	if (l->shared)
		xproc_read_unlock(l->region, l->shared);
	else
		rwlock_read_unlock(&l->own);
}

void file_write_lock(struct file_rwlock *l)
{
	/* RECOVERED needs no repair (file_share.h); -EBADF is a fork child,
	 * which the library refuses before any lock. */
	if (l->shared)
		(void)xproc_write_lock(l->region, l->shared);
	else
		rwlock_write_lock(&l->own);
}

void file_write_unlock(struct file_rwlock *l)
{
	if (l->shared)
		xproc_write_unlock(l->region, l->shared);
	else
		rwlock_write_unlock(&l->own);
}
