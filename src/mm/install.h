/* SPDX-License-Identifier: MIT */
/*
 * install.h - layer mm: the page-table side of udax, what the kernel's mm
 * does for kernel DAX: install store blocks or the zero page into a
 * mapping, make pages missing again (zap) and write-protect them, in one
 * mapping or in every mapping of a file.
 *
 * May call: base, xproc (shootdowns), store (the store file and block
 * offsets), index (entry sizes), mm/missing.h, mm/vma_budget.h. Locks: inode.maps_lock, taken by
 * the calls that walk a file's mappings (under an entry lock, or by
 * truncate/punch/eviction with invalidate_lock exclusive).
 */
#ifndef UDAX_MM_INSTALL_H
#define UDAX_MM_INSTALL_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/address_space.h"

/* How vma_map_blocks() asks the kernel to back what it maps (2 MiB and
 * more; a 4 KiB install takes no hint). */
enum install_mode {
	INSTALL_PLAIN,		/* small folios, no read-around (MADV_RANDOM):
				   a touch reads about one page */
	INSTALL_READAHEAD,	/* no hint: the kernel's own read-around and
				   folio sizes, as its plain mmap gets */
	INSTALL_ALONE,		/* one large folio for each 2 MiB touched and
				   nothing beyond it (MADV_HUGEPAGE and
				   MADV_RANDOM): mapped with PMDs */
	INSTALL_HUGE,		/* THP hint (MADV_HUGEPAGE): large folios are
				   mapped with PMDs, and a cold range is
				   read 2 MiB ahead */
	INSTALL_POPULATE,	/* THP hint and fault everything in now */
};

/* Map the n file pages from index (clipped to vma) to the store blocks from
 * block, zero-copy. Return: 0 or -errno (-ENOMEM also when the VMA budget
 * refuses: vma_budget.h). Context: entries locked. */
int vma_map_blocks(struct udax_vma *vma, uint64_t index, uint64_t n, uint64_t block,
		   int prot, enum install_mode how);
/* Map the zero page read-only at the n file pages from index (clipped). */
int vma_map_zero(struct udax_vma *vma, uint64_t index, uint64_t n);
/* Make the n pages from index (blocks from block) read-only in every
 * writable mapping of the file, in this process and, for a store opened
 * shared, in every other that has the file open (file_share.h), so that
 * their next write faults (writeback); where that cannot be done they are
 * made missing.
 * Return: 0, or -EAGAIN if a mapping may still have them writable (out of
 * VMAs even for the whole mapping, here or there). Context: their entry
 * locked; may wait for other processes' agents. */
int inode_protect_range(struct inode *ino, uint64_t index, uint64_t n, uint64_t block);
/* Make [first, last] of the file missing again in every mapping but skip,
 * in this process and, for a store opened shared, in every other that has
 * the file open; where only part of a mapping cannot be zapped
 * (vm.max_map_count), the whole mapping is. Return: 0, or -EAGAIN if a
 * page of the range may still be mapped somewhere (out of VMAs: the caller
 * makes room with vma_evict_all() and retries, and must not free its block
 * meanwhile). Context: the pages' entries locked, or invalidate_lock held
 * exclusive; may wait for other processes' agents. */
int inode_zap_range(struct inode *ino, uint64_t first, uint64_t last,
		    const struct udax_vma *skip);
/* Carry out another process's request (xproc_apply_fn: zap or
 * write-protect; its fields untrusted) in this process's mappings of ino.
 * Return: 0, or -EAGAIN as the calls above. Context: the agent thread,
 * under the store handle's apply lock (api), which keeps ino alive. */
int inode_apply_request(struct inode *ino, const struct xproc_request *req);
/* Make every page of vma missing (one VMA again). Return: 0 or -EAGAIN.
 * Context: the inode's invalidate_lock held exclusive. */
int vma_zap_all(struct udax_vma *vma);

/* Forget which mapping this thread changed last (see udax_vma.changes). */
void vma_changes_mine_forget(void);
/* Whether this thread changed vma since the last forget; then *changes is
 * the value its last change left: the fault it serves made that change
 * itself (a read-only install, a zap), before its own install. */
bool vma_changes_mine(const struct udax_vma *vma, uint64_t *changes);

#endif /* UDAX_MM_INSTALL_H */
