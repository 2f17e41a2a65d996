// SPDX-License-Identifier: MIT
/*
 * writeback.c - layer fault: udax_fsync/udax_msync (and udax_close and
 * udax_munmap when the file has dirty pages): the dirty-tag writeback of
 * the kernel's dax_writeback_mapping_range, with the entry lock that "dax:
 * New fault locking" introduced for it.
 *
 * A pass first tags every DIRTY entry TOWRITE (what this pass cleans; pages
 * dirtied meanwhile wait for the next pass), then visits only TOWRITE
 * entries (a tagged walk: cost follows the dirty pages, not the file size)
 * and, for each, under its entry lock: write-protects it in every mapping,
 * clears DIRTY and TOWRITE, unlocks. Then the store file is synced (a
 * checkpoint if metadata changed, else fdatasync), which writes the data.
 * A write racing the pass either landed before the write-protect (and is in
 * the page synced after it) or faults on the protected page, waits for the
 * entry lock, and tags the page DIRTY again: no page is left dirty but
 * untagged, so no write is lost. A page that cannot be write-protected
 * (out of VMAs, even for its whole mapping) keeps its tags.
 *
 * May call: base, index, store, mm (inode_protect_range); never delivery.
 * Locks: per entry, invalidate_lock shared (truncate and punch cannot free
 * a block being protected), then the entry lock, then maps_lock inside
 * inode_protect_range(). Nothing is held across the final sync.
 */
#include <errno.h>

#include "fault/writeback.h"
#include "index/entry_lock.h"
#include "mm/install.h"
#include "store/store.h"

/* Write back the TOWRITE entry found at index (a 2 MiB one as a whole).
 * Return: 0, -ENOMEM, or -EUCLEAN (a shared store's region is damaged). */
static int writeback_entry(struct inode *ino, uint64_t index)
{
	struct page_index *pi = &ino->pi;
	uint64_t entry, at;
	int ret;

	ret = file_read_lock(&ino->invalidate_lock);
	if (ret)
		return ret;
	entry = entry_grab(pi, index, 0);
	at = entry_index(index, entry);
	if (!entry) {
		ret = -ENOMEM;
	} else if (entry_is_empty(entry)) {
		entry_delete_locked(pi, at);	/* invalidated under us */
	} else if (entry_is_block(entry) &&
		   inode_protect_range(ino, at, entry_pages(entry), entry_block(entry))) {
		/* Still writable somewhere (out of VMAs): later writes would
		 * not fault, so it stays DIRTY for the next pass. This pass's
		 * sync still writes what it holds now. */
		entry_unlock(pi, at);
	} else {
		if (entry_clear_written(pi, at))
			atomic_fetch_add_explicit(&ino->writeback_pages, entry_pages(entry),
						  memory_order_relaxed);
		entry_unlock(pi, at);
	}
	file_read_unlock(&ino->invalidate_lock);
	return ret;
}

int inode_fsync(struct inode *ino)
{
	uint64_t index = 0;
	int ret = 0;

	/* Before the sync that covers them; a pwrite after this sets it again. */
	atomic_store_explicit(&ino->state->unsynced_writes, false, memory_order_seq_cst);
	entry_tag_towrite(&ino->pi);
	while (!ret && entry_next_towrite(&ino->pi, &index)) {
		ret = writeback_entry(ino, index);
		if (++index == 0)
			break;
	}
	if (!ret)
		ret = store_sync(ino->st);
	if (ret)	/* pwrite data not known to be durable: sync it next time */
		atomic_store_explicit(&ino->state->unsynced_writes, true, memory_order_relaxed);
	return ret;
}

int inode_fsync_if_dirty(struct inode *ino)
{
	if (!page_index_dirty(&ino->pi) &&
	    !atomic_load_explicit(&ino->state->unsynced_writes, memory_order_relaxed))
		return 0;
	return inode_fsync(ino);
}
