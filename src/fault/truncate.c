// SPDX-License-Identifier: MIT
/*
 * truncate.c - layer fault: udax_ftruncate and udax_punch_hole on an open
 * file (the kernel's truncate_pagecache and dax_delete_mapping_entry path):
 * unmap the range everywhere it is mapped, drop its entries (waking every
 * waiter), and only then free its blocks.
 *
 * May call: base, index, store, mm (zap, eviction); never delivery.
 * Locks: inode.io_lock then inode.invalidate_lock, both exclusive (the
 * kernel's i_rwsem and invalidate_lock): no read, write or fault runs on
 * the file meanwhile. Unmapping takes inode.maps_lock inside
 * inode_zap_range(); an eviction (vma_evict_all()) runs with
 * invalidate_lock dropped. The checkpoint that frees the blocks for good
 * runs with nothing held.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "base/compat.h"
#include "fault/truncate.h"
#include "index/entry_lock.h"
#include "mm/install.h"
#include "mm/vma_registry.h"
#include "store/store.h"

/* Zero [from, to) inside one page, if it has a block. Context: io_lock and
 * invalidate_lock held exclusive. */
static int zero_partial(struct inode *ino, uint64_t from, uint64_t to)
{
	struct store *st = ino->st;
	int64_t block;

	if (from >= to)
		return 0;
	block = store_get_block(st, ino->slot, from / PAGE_SIZE_4K, STORE_LOOKUP);
	if (block <= 0)
		return (int)block;
	return compat_write_zeros(st->fd, store_block_offset((uint64_t)block) +
				  from % PAGE_SIZE_4K, to - from);
}

/* Widen [*first, *last] to the 2 MiB entries overlapping its ends: they
 * go whole. Context: invalidate_lock held exclusive. */
static void widen_to_entries(struct inode *ino, uint64_t *first, uint64_t *last)
{
	uint64_t at = *first & ~(ENTRY_PMD_PAGES - 1), entry;

	entry = entry_next(&ino->pi, &at);
	if (entry && entry_is_pmd(entry) && at == (*first & ~(ENTRY_PMD_PAGES - 1)))
		*first = at;
	if (*last == UINT64_MAX)
		return;
	at = *last & ~(ENTRY_PMD_PAGES - 1);
	entry = entry_next(&ino->pi, &at);
	if (entry && entry_is_pmd(entry) && at == (*last & ~(ENTRY_PMD_PAGES - 1)))
		*last = at + ENTRY_PMD_PAGES - 1;
}

/*
 * Unmap pages [first, last] (widened to whole 2 MiB entries) in every
 * mapping before their blocks are freed. Should the kernel refuse (the
 * process at vm.max_map_count), every udax mapping is emptied and the
 * unmap tried once more; invalidate_lock is dropped meanwhile, so faults
 * may map pages again, and the second try unmaps those too.
 * Return: 0, or -ENOMEM if pages may still be mapped: nothing may be freed.
 * Context: io_lock and invalidate_lock held exclusive (on return too).
 */
static int unmap_before_free(struct inode *ino, uint64_t first, uint64_t last)
{
	for (int tries = 0;; tries++) {
		uint64_t from = first, to = last;

		widen_to_entries(ino, &from, &to);
		if (!inode_zap_range(ino, from, to, NULL))
			return 0;
		if (tries)
			return -ENOMEM;
		file_write_unlock(&ino->invalidate_lock);
		vma_evict_all();
		file_write_lock(&ino->invalidate_lock);
	}
}

/* Drop and free pages [first, last], unmapped by unmap_before_free(). A
 * 2 MiB entry overlapping the range goes whole, and the pages of it that
 * stay are found again, as 4 KiB entries, by their next fault (the
 * checkpoint that follows flushes what was written to them).
 * Context: io_lock and invalidate_lock held exclusive, so no fault or
 * write runs on the file. */
static void invalidate_pages(struct inode *ino, uint64_t first, uint64_t last)
{
	uint64_t index = first & ~(ENTRY_PMD_PAGES - 1), entry;

	while ((entry = entry_next(&ino->pi, &index)) && index <= last) {
		if (index + entry_pages(entry) <= first) {
			index++;	/* a 4 KiB entry before the range */
			continue;
		}
		/* A changed entry would be a normal race, never a warning. */
		entry_invalidate(&ino->pi, index, entry);
		if (++index == 0)
			break;
	}
	store_free_range(ino->st, ino->slot, first, last);
}

/* Set the file size (the inode's and the store's). Context: io_lock. */
static void inode_size_set(struct inode *ino, uint64_t size)
{
	struct store *st = ino->st;

	atomic_store_explicit(&ino->state->size, size, memory_order_seq_cst);
	store_lock(st);
	st->file[ino->slot].size = size;
	__store_meta_changed(st);
	store_unlock(st);
}

int inode_truncate(struct inode *ino, uint64_t size)
{
	uint64_t old, first;
	int ret = 0;

	file_write_lock(&ino->io_lock);
	file_write_lock(&ino->invalidate_lock);
	old = atomic_load_explicit(&ino->state->size, memory_order_relaxed);
	first = (size + PAGE_SIZE_4K - 1) / PAGE_SIZE_4K;
	/* A smaller size is set last, once its pages are unmapped and freed:
	 * no fault or read runs meanwhile (both locks exclusive), and a
	 * truncate killed part way (a process of a shared store) leaves the
	 * file at its old size with part of its tail punched, never a size
	 * with blocks past it that a later extension would show. */
	if (size < old && unmap_before_free(ino, first, UINT64_MAX)) {
		ret = -ENOMEM;	/* nothing changed */
		goto out_unlock;
	}
	/* Bytes past the old or new EOF inside its last page (a mapping may
	 * have written there) must read as zeros inside the file. */
	ret = zero_partial(ino, size < old ? size : old,
			   ((size < old ? size : old) + PAGE_SIZE_4K - 1) &
			   ~(uint64_t)(PAGE_SIZE_4K - 1));
	if (size < old)
		invalidate_pages(ino, first, UINT64_MAX);
	inode_size_set(ino, size);
out_unlock:
	file_write_unlock(&ino->invalidate_lock);
	file_write_unlock(&ino->io_lock);
	if (!ret && size < old)
		ret = store_checkpoint(ino->st);
	return ret;
}

int inode_punch_hole(struct inode *ino, uint64_t off, uint64_t len)
{
	uint64_t end, first, last_excl, size;
	int ret = 0;

	file_write_lock(&ino->io_lock);
	file_write_lock(&ino->invalidate_lock);
	size = atomic_load_explicit(&ino->state->size, memory_order_relaxed);
	end = off + len < size ? off + len : size;
	if (off >= end)
		goto out_unlock;
	first = (off + PAGE_SIZE_4K - 1) / PAGE_SIZE_4K;
	last_excl = end / PAGE_SIZE_4K;
	if (first > last_excl) {	/* inside one page */
		ret = zero_partial(ino, off, end);
		goto out_unlock;
	}
	if (first < last_excl && unmap_before_free(ino, first, last_excl - 1)) {
		ret = -ENOMEM;	/* nothing changed */
		goto out_unlock;
	}
	ret = zero_partial(ino, off, first * PAGE_SIZE_4K);
	if (!ret)
		ret = zero_partial(ino, last_excl * PAGE_SIZE_4K, end);
	if (first < last_excl)
		invalidate_pages(ino, first, last_excl - 1);
out_unlock:
	file_write_unlock(&ino->invalidate_lock);
	file_write_unlock(&ino->io_lock);
	if (!ret && off < end)
		ret = store_checkpoint(ino->st);
	return ret;
}
