// SPDX-License-Identifier: MIT
/*
 * fault.c - layer fault: the fault paths (the fs/dax.c analogue): grab the
 * entry covering the page locked (a 2 MiB one where it fits, else 4 KiB),
 * find or allocate its block or extent through the store, and install
 * (mm/install.h) a zero page or the blocks while the entry is still locked;
 * a 2 MiB fault may map ahead (mm/map_ahead.h) the 2 MiB entries that
 * follow.
 *
 * May call: base, index, store, mm; never delivery or api.
 *
 * Locks: a fault holds inode.invalidate_lock shared for its whole run, so
 * truncate and punch (exclusive) never see it half done; then the entry
 * lock of its page (map-ahead: the next entries too, in index order, with
 * GRAB_NOWAIT, so it never waits while holding one). Under entry locks it
 * may take maps_lock (zapping stale zero pages) and store.lock (lookup,
 * allocation).
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

#include "fault/fault.h"
#include "index/entry_lock.h"
#include "mm/install.h"
#include "mm/map_ahead.h"
#include "store/store.h"

#define PMD_PAGES ENTRY_PMD_PAGES

static void count(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* The result of a failed fault step: -EAGAIN is a zap refused for lack of
 * VMAs (make room and retry), -ENOMEM a lack of index memory. */
static enum fault_result result_of(int64_t err)
{
	return err == -EAGAIN ? FAULT_NO_VMA : err == -ENOMEM ? FAULT_OOM : FAULT_SIGBUS;
}

/* The result of a failed install (mmap): ENOMEM is the VMA budget's. */
static enum fault_result install_failed(int err)
{
	return err == -ENOMEM ? FAULT_NO_VMA : FAULT_SIGBUS;
}

/* Leave the entry at index as it is after a failure: an EMPTY entry made
 * for this fault is removed (its waiters all woken), anything else
 * unlocked. */
static void fault_drop_entry(struct inode *ino, uint64_t index, uint64_t entry)
{
	if (entry_is_empty(entry))
		entry_delete_locked(&ino->pi, index);
	else
		entry_unlock(&ino->pi, index);
}

/* A 2 MiB hole entry that 4 KiB pages must replace (the kernel's PMD
 * downgrade): zap its zero pages in every mapping, delete it, wake all.
 * Return: 0, or -EAGAIN if its zero pages could not be zapped (out of
 * VMAs): the entry stays, unlocked.
 * Context: the entry locked; it is gone or unlocked on return. */
static int fault_pmd_downgrade(struct inode *ino, uint64_t base)
{
	int ret = inode_zap_range(ino, base, base + PMD_PAGES - 1, NULL);

	if (ret)
		entry_unlock(&ino->pi, base);
	else
		entry_delete_locked(&ino->pi, base);
	return ret;
}

/* The locked entry covering index for a 4 KiB fault or pwrite. A 2 MiB
 * hole entry is downgraded first when the page may get a block (write);
 * a 2 MiB block entry is returned as is.
 * Return: as entry_grab() (0: no index memory), or 0 with *no_vma set if
 * a downgrade could not zap its zero pages. */
static uint64_t grab_pte_entry(struct inode *ino, uint64_t index, bool write, bool *no_vma)
{
	*no_vma = false;
	for (;;) {
		uint64_t entry = entry_grab(&ino->pi, index, 0);

		if (!write || !entry_is_pmd(entry) || !entry_is_zero(entry))
			return entry;
		if (fault_pmd_downgrade(ino, entry_index(index, entry))) {
			*no_vma = true;
			return 0;
		}
	}
}

/*
 * The block of a page whose 4 KiB entry is EMPTY or ZERO: ask the store,
 * and allocate as how says (a write). A ZERO entry being replaced may be mapped as
 * the zero page in other mappings: zap it there first, or they would keep
 * reading zeros after the write (the kernel's stale-zero-page fix); should
 * that fail, nothing is allocated.
 * Return: block, 0 for a hole (STORE_LOOKUP), -errno (-EAGAIN: the zero page
 * could not be zapped, out of VMAs); *allocated says whether the block is
 * new. Context: entry locked; on success it is a BLOCK entry, still locked.
 */
static int64_t fault_find_block(struct inode *ino, uint64_t index, uint64_t entry,
				enum store_get how, const struct udax_vma *skip, bool *allocated)
{
	int64_t block = store_get_block(ino->st, ino->slot, index, STORE_LOOKUP);

	*allocated = false;
	if (block == 0 && how != STORE_LOOKUP) {
		if (entry_is_zero(entry) && inode_zap_range(ino, index, index, skip))
			return -EAGAIN;
		block = store_get_block(ino->st, ino->slot, index, how);
		*allocated = block > 0;
		if (*allocated)
			count(&ino->blocks_allocated, 1);
	}
	if (block <= 0)
		return block;
	entry_replace_locked(&ino->pi, index, entry_make_block((uint64_t)block));
	return block;
}

/* MAP_SYNC (the kernel's dax_finish_sync_fault): a new block's map is
 * durable before the page becomes writable. Return: whether that failed. */
static bool sync_fault_failed(struct udax_vma *vma, bool allocated)
{
	return allocated && vma->sync && store_sync(vma->inode->st) != 0;
}

/* Serve a fault with a 4 KiB entry (or one page of a 2 MiB entry).
 * Context: invalidate_lock shared. */
static enum fault_result fault_pte(struct udax_vma *vma, uint64_t index, bool write)
{
	struct inode *ino = vma->inode;
	bool newly_dirty, allocated = false, no_vma;
	enum fault_result ret;
	uint64_t entry, at;
	int64_t block;
	int err;

	entry = grab_pte_entry(ino, index, write, &no_vma);
	if (!entry)
		return no_vma ? FAULT_NO_VMA : FAULT_OOM;
	at = entry_index(index, entry);
	/* Checked under the entry lock and invalidate_lock: a truncate holds
	 * that exclusive while it unmaps and frees the pages past its new
	 * size, and sets the size last (a fault let in while it empties the
	 * mappings, at the VMA limit, is unmapped again before the free). */
	if (index >= inode_pages(ino)) {
		fault_drop_entry(ino, at, entry);
		return FAULT_SIGBUS;
	}
	if (entry_is_block(entry)) {
		block = (int64_t)(entry_block(entry) + (index - at));
	} else if (entry_is_pmd(entry)) {	/* read in a 2 MiB hole */
		block = 0;
	} else {
		block = fault_find_block(ino, index, entry, write ? STORE_ALLOCATE : STORE_LOOKUP,
					 vma, &allocated);
		if (block < 0) {
			fault_drop_entry(ino, at, entry);
			return result_of(block);
		}
		if (block == 0 && !entry_is_zero(entry))
			entry_replace_locked(&ino->pi, index, entry_make_zero());
	}
	if (block == 0) {
		/* Read of a hole: the zero page, read-only; nothing allocated. */
		count(&ino->faults_hole, 1);
		err = vma_map_zero(vma, index, 1);
		ret = err ? install_failed(err) : FAULT_OK;
		entry_unlock(&ino->pi, at);
		return ret;
	}
	if (sync_fault_failed(vma, allocated)) {
		entry_unlock(&ino->pi, at);
		return FAULT_SIGBUS;
	}
	/* The seed's dax_pfn_mkwrite: the first write to a clean page tags it
	 * DIRTY, under the entry lock, before the page becomes writable; a
	 * read maps the page read-only, clean, so its first write faults. */
	newly_dirty = write && entry_mark_dirty(&ino->pi, at);
	err = vma_map_blocks(vma, index, 1, (uint64_t)block, write ? vma->prot : PROT_READ,
			     INSTALL_PLAIN);
	ret = err ? install_failed(err)
		: entry_is_block(entry) && !newly_dirty ? FAULT_REMAPPED : FAULT_OK;
	entry_unlock(&ino->pi, at);
	return ret;
}

/*
 * Map-ahead: lock the 2 MiB entries that follow base (up to want of them)
 * whose blocks continue block contiguously, so one mmap covers them all.
 * Never sleeps (GRAB_NOWAIT), so holding several entries cannot deadlock:
 * a busy, conflicting or discontiguous unit ends the window.
 * Return: how many were locked (base + k * PMD_PAGES, k = 1..n).
 * Context: invalidate_lock shared, base's entry locked.
 */
static uint32_t map_ahead_grab(struct udax_vma *vma, uint64_t base, uint64_t block,
			       uint32_t want)
{
	struct inode *ino = vma->inode;
	uint64_t limit = inode_pages(ino), vma_end = vma->pgoff + vma->len / PAGE_SIZE_4K;
	uint32_t k;

	if (limit > vma_end)
		limit = vma_end;
	for (k = 1; k <= want; k++) {
		uint64_t at = base + k * PMD_PAGES, expect = block + k * PMD_PAGES, run;
		uint64_t entry;

		if (at + PMD_PAGES > limit)
			break;
		entry = entry_grab(&ino->pi, at, GRAB_PMD | GRAB_NOWAIT);
		if (!entry || entry == ENTRY_CONFLICT)
			break;
		if (entry_is_block(entry) && entry_block(entry) == expect)
			continue;
		if (entry_is_empty(entry) &&
		    store_map_run(ino->st, ino->slot, at, PMD_PAGES, &run) == (int64_t)expect &&
		    run == PMD_PAGES) {
			entry_replace_locked(&ino->pi, at, entry_make_block(expect) | ENTRY_PMD);
			continue;
		}
		fault_drop_entry(ino, at, entry);
		break;
	}
	return k - 1;
}

/*
 * How to install a lone 2 MiB extent from block, not part of a stream
 * (fault_pmd_map() says the rest), by the state of its page cache:
 *  - in the page cache whole (warm): a read maps and populates it at once
 *    (with a PMD where its folio is 2 MiB), saving the kernel fault that
 *    follows; a write gets the large-folio hint only (populating it
 *    writable would dirty every small folio of the 2 MiB: 24k against
 *    1.5k writes/s in the database-like run);
 *  - cold, never written (zeros): a read maps a page per touch (sparse
 *    reads of a fallocated file would otherwise fill memory with 2 MiB of
 *    zeros per touch: 8 against 858 us per touch); a write gets the 2 MiB
 *    folio, zero-filled, not read;
 *  - cold, with data: a read gets the 2 MiB folio in one read and nothing
 *    beyond (with MADV_RANDOM alone every page was a 4 KiB major fault:
 *    0.03M against 0.57M pages/s); a write gets the kernel's own
 *    read-around and folio sizes: a 2 MiB folio dirtied by one small write
 *    is written back whole, which cost a database-like run (random writes,
 *    fsync every 100) 10x against the kernel's smaller folios.
 * Context: runs in the fault handler (two syscalls, async-signal-safe).
 */
static enum install_mode lone_install_mode(struct store *st, uint64_t block, bool write)
{
	if (store_range_cached(st, block, PMD_PAGES))
		return write ? INSTALL_ALONE : INSTALL_POPULATE;
	if (!store_extent_has_data(st, block))
		return write ? INSTALL_ALONE : INSTALL_PLAIN;
	return write ? INSTALL_READAHEAD : INSTALL_ALONE;
}

/*
 * Map the 2 MiB block entry at base, and what map-ahead adds to it, in one
 * mmap; tag them DIRTY first on a write. Unlocks every entry it mapped.
 * Return: as fault_page(). Context: base's entry locked, a BLOCK|PMD.
 */
static enum fault_result fault_pmd_map(struct udax_vma *vma, uint64_t base, uint64_t was,
				       uint64_t block, bool write, bool allocated)
{
	struct inode *ino = vma->inode;
	struct map_ahead_window w = map_ahead_start(&vma->ahead, base / PMD_PAGES);
	uint32_t units = 1 + map_ahead_grab(vma, base, block, w.units - 1);
	enum fault_result ret = FAULT_SIGBUS;
	bool newly_dirty = false;

	if (!sync_fault_failed(vma, allocated)) {
		for (uint32_t k = 0; write && k < units; k++)
			newly_dirty |= entry_mark_dirty(&ino->pi, base + k * PMD_PAGES);
		/* A sequential stream gets large folios, and what it mapped
		 * ahead populated: on a write always, on a read only where it
		 * is all in the page cache (a cold window is left to the
		 * kernel's asynchronous read-ahead: populating read it
		 * synchronously, 0.2M against 0.5M pages/s; a warm one saves
		 * a kernel fault per 2 MiB, 45M against 56M pages/s). A
		 * fault that only confirms a stream maps its own 2 MiB with
		 * the large-folio hint. */
		enum install_mode mode = units > 1 ? (write || store_range_cached(ino->st, block,
						units * PMD_PAGES) ? INSTALL_POPULATE : INSTALL_HUGE)
			: w.hit ? INSTALL_HUGE : lone_install_mode(ino->st, block, write);
		int err = vma_map_blocks(vma, base, units * PMD_PAGES, block,
					 write ? vma->prot : PROT_READ, mode);

		ret = err ? install_failed(err)
			: entry_is_block(was) && !newly_dirty ? FAULT_REMAPPED : FAULT_OK;
	}
	for (uint32_t k = 0; k < units; k++)
		entry_unlock(&ino->pi, base + k * PMD_PAGES);
	map_ahead_done(&vma->ahead, w, base / PMD_PAGES, units);
	if (units > 1)
		count(&ino->pages_mapped_ahead, (units - 1) * PMD_PAGES);
	return ret;
}

/*
 * Serve a fault with the 2 MiB entry covering index (the kernel's
 * dax_iomap_pmd_fault): the range must lie inside EOF and be one aligned,
 * contiguous 2 MiB extent of the store, or all holes (a read maps the zero
 * page over it; a write allocates an extent while the store has room).
 * Return: FAULT_FALLBACK where a 4 KiB fault must serve it instead (4 KiB
 * entries present, crosses EOF, extent shorter, misaligned or mixed with
 * holes, no extent to allocate), else as fault_page().
 * Context: invalidate_lock shared; the range lies inside vma, aligned.
 */
static enum fault_result fault_pmd(struct udax_vma *vma, uint64_t index, bool write)
{
	struct inode *ino = vma->inode;
	struct store *st = ino->st;
	uint64_t base = index & ~(PMD_PAGES - 1), entry, run;
	enum fault_result ret;
	bool allocated = false;
	int64_t block;
	int err;

	entry = entry_grab(&ino->pi, base, GRAB_PMD);
	if (!entry)
		return FAULT_OOM;
	if (entry == ENTRY_CONFLICT)
		return FAULT_FALLBACK;
	if (base + PMD_PAGES > inode_pages(ino))
		goto fallback;
	if (entry_is_block(entry))
		return fault_pmd_map(vma, base, entry, entry_block(entry), write, false);
	block = store_map_run(st, ino->slot, base, PMD_PAGES, &run);
	if (run < PMD_PAGES || (uint64_t)block % PMD_PAGES)
		goto fallback;
	if (block == 0 && !write) {
		count(&ino->faults_hole, 1);
		if (!entry_is_zero(entry))
			entry_replace_locked(&ino->pi, base, entry_make_zero() | ENTRY_PMD);
		err = vma_map_zero(vma, base, PMD_PAGES);
		ret = err ? install_failed(err) : FAULT_OK;
		entry_unlock(&ino->pi, base);
		return ret;
	}
	if (block == 0) {
		/* Zero pages of the hole elsewhere go first (stale zero pages). */
		if (entry_is_zero(entry) && inode_zap_range(ino, base, base + PMD_PAGES - 1, vma)) {
			entry_unlock(&ino->pi, base);
			return FAULT_NO_VMA;
		}
		block = store_alloc_extent(st, ino->slot, base);
		if (block == 0)
			goto fallback;
		if (block < 0) {
			fault_drop_entry(ino, base, entry);
			return result_of(block);
		}
		allocated = true;
		count(&ino->blocks_allocated, PMD_PAGES);
	}
	entry_replace_locked(&ino->pi, base, entry_make_block((uint64_t)block) | ENTRY_PMD);
	return fault_pmd_map(vma, base, entry, (uint64_t)block, write, allocated);

fallback:
	if (!entry_is_zero(entry))
		fault_drop_entry(ino, base, entry);
	else if (fault_pmd_downgrade(ino, base))
		return FAULT_NO_VMA;
	return FAULT_FALLBACK;
}

/* Whether the 2 MiB-aligned range around index lies inside vma at a 2 MiB
 * aligned address (the kernel's PMD alignment and VMA-bounds checks), in a
 * mapping that allows 2 MiB entries. */
static bool pmd_fits(const struct udax_vma *vma, uint64_t index)
{
	uint64_t base = index & ~(PMD_PAGES - 1);

	return !vma->pte_only && base >= vma->pgoff &&
	       base + PMD_PAGES <= vma->pgoff + vma->len / PAGE_SIZE_4K &&
	       (uintptr_t)vma_page_addr(vma, base) % (PMD_PAGES * PAGE_SIZE_4K) == 0;
}

/*
 * Serve a fault at file page index of vma: with a 2 MiB entry where one
 * fits, else with a 4 KiB one (counted as a fallback).
 * Return: FAULT_OK when the page is mapped, FAULT_REMAPPED when its block
 * was already in the index and nothing changed (mapped again, and for a
 * write already dirty), FAULT_SIGBUS past EOF or on ENOSPC/EIO, FAULT_OOM
 * without memory for the index, FAULT_NO_VMA when the install was refused
 * for lack of VMAs (the caller empties the mappings and retries).
 * Context: no udax lock held; takes invalidate_lock shared and the entry.
 */
enum fault_result fault_page(struct udax_vma *vma, uint64_t index, bool write)
{
	struct inode *ino = vma->inode;
	enum fault_result ret = FAULT_FALLBACK;

	count(write ? &ino->faults_write : &ino->faults_read, 1);
	if (file_read_lock(&ino->invalidate_lock)) {
		count(&ino->faults_sigbus, 1);
		return FAULT_SIGBUS;	/* a shared store's region is damaged */
	}
	if (pmd_fits(vma, index))
		ret = fault_pmd(vma, index, write);
	if (ret == FAULT_FALLBACK) {
		count(&ino->faults_pmd_fallback, 1);
		ret = fault_pte(vma, index, write);
	} else {
		count(&ino->faults_pmd, 1);
	}
	file_read_unlock(&ino->invalidate_lock);
	if (ret == FAULT_SIGBUS || ret == FAULT_OOM)
		count(&ino->faults_sigbus, 1);
	return ret;
}

int64_t fault_pwrite_block(struct inode *ino, uint64_t index, bool stream)
{
	bool allocated, no_vma;
	uint64_t entry = grab_pte_entry(ino, index, true, &no_vma), at;
	int64_t block;

	if (!entry)
		return no_vma ? -EAGAIN : -ENOMEM;
	at = entry_index(index, entry);
	if (entry_is_block(entry)) {
		entry_unlock(&ino->pi, at);
		return (int64_t)(entry_block(entry) + (index - at));
	}
	block = fault_find_block(ino, index, entry,
				 stream ? STORE_ALLOCATE_STREAM : STORE_ALLOCATE, NULL, &allocated);
	if (block < 0)
		fault_drop_entry(ino, index, entry);	/* a ZERO entry stays */
	else
		entry_delete_locked(&ino->pi, index);	/* zero pages zapped */
	return block;
}

int fault_alloc_extent(struct inode *ino, uint64_t base)
{
	uint64_t entry = entry_grab(&ino->pi, base, GRAB_PMD), run;
	int64_t block;

	if (!entry)
		return -ENOMEM;
	if (entry == ENTRY_CONFLICT)
		return 0;
	if (entry_is_block(entry)) {
		entry_unlock(&ino->pi, base);
		return 1;
	}
	block = store_map_run(ino->st, ino->slot, base, PMD_PAGES, &run);
	if (block > 0 && run == PMD_PAGES && (uint64_t)block % PMD_PAGES == 0) {
		fault_drop_entry(ino, base, entry);	/* one extent already */
		return 1;
	}
	if (block == 0 && run == PMD_PAGES) {
		/* Stale zero pages go first: should that fail, nothing changes. */
		if (entry_is_zero(entry) && inode_zap_range(ino, base, base + PMD_PAGES - 1, NULL)) {
			entry_unlock(&ino->pi, base);
			return -EAGAIN;
		}
		block = store_alloc_extent(ino->st, ino->slot, base);
		if (block > 0) {
			count(&ino->blocks_allocated, PMD_PAGES);
			entry_delete_locked(&ino->pi, base);
			return 1;
		}
	}
	if (!entry_is_zero(entry))
		fault_drop_entry(ino, base, entry);
	else if (fault_pmd_downgrade(ino, base))
		return -EAGAIN;
	return block < 0 ? (int)block : 0;
}
