// SPDX-License-Identifier: MIT
/*
 * fault.c - the fault paths (the fs/dax.c analogue): grab the page's entry
 * locked, find or allocate its block through the store, and have delivery
 * install a zero page or the block while the entry is still locked.
 *
 * Locks: a fault holds inode.invalidate_lock shared for its whole run, so
 * truncate and punch (exclusive) never see it half done; then the entry
 * lock of its page. Under the entry lock it may take maps_lock (zapping
 * stale zero pages) and store.lock (lookup, allocation).
 * May sleep: on the entry lock, the invalidate lock and store.lock. Runs in
 * the SIGBUS/SIGSEGV handler: no malloc, no stdio.
 *
 * Why the seed's race cannot happen: the read fault and the write fault of
 * one page both grab the same entry, so one runs after the other. The later
 * one sees what the first left (a ZERO entry or a BLOCK entry) and upgrades
 * it or maps it; nothing is looked up outside the lock and trusted inside.
 */
#include <errno.h>
#include <sys/mman.h>

#include "internal.h"

static void count(_Atomic uint64_t *counter)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

static enum fault_result result_of(int64_t err)
{
	return err == -ENOMEM ? FAULT_OOM : FAULT_SIGBUS;
}

/* Read of a hole: remember it as a ZERO entry and map the zero page
 * read-only; nothing is allocated. Context: entry locked. */
static enum fault_result fault_map_hole(struct udax_vma *vma, uint64_t index,
					uint64_t entry)
{
	struct inode *ino = vma->inode;

	if (!entry_is_zero(entry))
		entry_replace_locked(&ino->pi, index, entry_make_zero());
	count(&ino->faults_hole);
	return vma_map_zero(vma, index) ? FAULT_OOM : FAULT_OK;
}

/*
 * The block of a page whose entry is EMPTY or ZERO: ask the store, and
 * allocate when writing. A ZERO entry being replaced may be mapped as the
 * zero page in other mappings: zap it there, or they would keep reading
 * zeros after the write (the kernel's stale-zero-page fix).
 * Return: block, 0 for a hole on a read, -errno; *allocated says whether
 * the block is new.
 * Context: entry locked; on success it is a BLOCK entry, still locked.
 */
static int64_t fault_find_block(struct inode *ino, uint64_t index, uint64_t entry,
				bool write, const struct udax_vma *skip, bool *allocated)
{
	int64_t block = store_get_block(ino->store->st, ino->slot, index, false);

	*allocated = false;
	if (block == 0 && write) {
		block = store_get_block(ino->store->st, ino->slot, index, true);
		*allocated = block > 0;
		if (*allocated)
			count(&ino->blocks_allocated);
	}
	if (block <= 0)
		return block;
	if (entry_is_zero(entry))
		inode_zap_range(ino, index, index, skip);
	entry_replace_locked(&ino->pi, index, entry_make_block((uint64_t)block));
	return block;
}

/* Leave the entry as it is after a failure: an EMPTY entry made for this
 * fault is removed (its waiters all woken), anything else unlocked. */
static void fault_drop_entry(struct inode *ino, uint64_t index, uint64_t entry)
{
	if (entry_is_empty(entry))
		entry_delete_locked(&ino->pi, index);
	else
		entry_unlock(&ino->pi, index);
}

/*
 * Serve a fault at file page index of vma.
 * Return: FAULT_OK when the page is mapped, FAULT_REMAPPED when its block
 * was already in the index and nothing changed (mapped again, and for a
 * write already dirty), FAULT_SIGBUS past EOF or on
 * ENOSPC/EIO, FAULT_OOM without memory.
 * Context: no udax lock held; takes invalidate_lock shared and the entry.
 */
enum fault_result fault_page(struct udax_vma *vma, uint64_t index, bool write)
{
	struct inode *ino = vma->inode;
	bool newly_dirty, allocated = false;
	enum fault_result ret;
	uint64_t entry;
	int64_t block;

	count(write ? &ino->faults_write : &ino->faults_read);
	rwlock_read_lock(&ino->invalidate_lock);
	entry = entry_grab(&ino->pi, index);
	if (!entry) {
		ret = FAULT_OOM;
		goto out_unlock;
	}
	/* Checked under the entry lock: truncate sets the size before it
	 * invalidates, so a fault past the new EOF never maps. */
	if (index >= inode_pages(ino)) {
		ret = FAULT_SIGBUS;
		goto out_drop;
	}
	if (entry_is_block(entry)) {
		block = (int64_t)entry_block(entry);
	} else {
		block = fault_find_block(ino, index, entry, write, vma, &allocated);
		if (block == 0) {
			ret = fault_map_hole(vma, index, entry);
			entry_unlock(&ino->pi, index);
			goto out_unlock;
		}
		if (block < 0) {
			ret = result_of(block);
			goto out_drop;
		}
	}
	/* MAP_SYNC (the kernel's dax_finish_sync_fault): the new block's map
	 * is durable before the page becomes writable. */
	if (allocated && vma->sync && store_sync(ino->store->st) != 0) {
		ret = FAULT_SIGBUS;
		entry_unlock(&ino->pi, index);
		goto out_unlock;
	}
	/* The seed's dax_pfn_mkwrite: the first write to a clean page tags it
	 * DIRTY, under the entry lock, before the page becomes writable; a
	 * read maps the page read-only, clean, so its first write faults. */
	newly_dirty = write && entry_mark_dirty(&ino->pi, index);
	ret = vma_map_block(vma, index, (uint64_t)block, write ? vma->prot : PROT_READ)
		? FAULT_OOM
		: entry_is_block(entry) && !newly_dirty ? FAULT_REMAPPED : FAULT_OK;
	entry_unlock(&ino->pi, index);
	goto out_unlock;

out_drop:
	fault_drop_entry(ino, index, entry);
out_unlock:
	rwlock_read_unlock(&ino->invalidate_lock);
	if (ret != FAULT_OK && ret != FAULT_REMAPPED)
		count(&ino->faults_sigbus);
	return ret;
}

int64_t fault_pwrite_block(struct inode *ino, uint64_t index, bool data_written)
{
	uint64_t entry = entry_grab(&ino->pi, index);
	bool allocated;
	int64_t block;

	if (!entry)
		return -ENOMEM;
	block = entry_is_block(entry) ? (int64_t)entry_block(entry)
		: fault_find_block(ino, index, entry, !data_written, NULL, &allocated);
	if (block <= 0) {	/* an error, or freed under us after the write */
		fault_drop_entry(ino, index, entry);
		return block;
	}
	if (data_written)
		entry_mark_dirty(&ino->pi, index);
	entry_unlock(&ino->pi, index);
	return block;
}
