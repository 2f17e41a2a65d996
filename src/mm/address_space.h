/* SPDX-License-Identifier: MIT */
/*
 * address_space.h - layer mm: the in-memory objects every layer from mm up
 * shares: an open file (struct inode: its page index, size, locks,
 * mappings and counters) and one of its mappings (struct udax_vma).
 *
 * Lock order (outermost first; a thread only takes locks further down):
 *
 * (inode.io_lock and inode.invalidate_lock are struct file_rwlock: the
 * process's own, or for a store opened shared the region's, file_share.h)
 *
 *   inode.io_lock (rwlock: pread/pwrite shared, truncate/punch exclusive;
 *     a shared file's first opener in a process, exclusive, under
 *     udax_store.inodes_lock)
 *   vma registry lock (mutex, held for a lookup or an insert/remove, and
 *     while vma_evict_all() empties every mapping: mm/vma_registry.c)
 *   inode.invalidate_lock (rwlock: faults shared, truncate/punch exclusive)
 *   entry lock (ENTRY_LOCKED, index/entry_lock.c)
 *   inode.maps_lock (mutex: the inode's list of mappings, for zapping;
 *     a shared file's mappers bit changes under it)
 *   store.checkpoint_lock (mutex: one checkpoint at a time; taken only by
 *     fsync/truncate/punch/unlink/close with no lock above held)
 *   store.lock (store/store.h)
 *   page_index.tree_lock
 *   radix pool lock, wait bucket spinlocks (leaves)
 *
 * udax_store.inodes_lock (api/handles.h) protects the inode table and
 * reference counts; it is taken only by open/close/mmap/munmap, never under
 * the locks above. udax_store.apply_lock (a store opened shared) is taken
 * under it to set or clear a table entry, and by the agent thread, which
 * takes inode.maps_lock inside it to carry out another process's unmap or
 * write-protect (mm/install.c): never an entry lock or invalidate_lock, which
 * that process may hold while it waits for the agent.
 */
#ifndef UDAX_MM_ADDRESS_SPACE_H
#define UDAX_MM_ADDRESS_SPACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/lock.h"
#include "index/entry_lock.h"
#include "mm/file_share.h"
#include "mm/map_ahead.h"

#define PAGE_SIZE_4K 4096u
#define PAGE_SHIFT_4K 12

struct store;
struct udax_store;
struct udax_vma;

/* One open file in this process: its page index, size, locks (the
 * process's own, or for a store opened shared the region's: file_share.h),
 * mappings and counters. */
struct inode {
	struct store *st;		/* the store holding the file */
	int slot;			/* its file slot there */
	struct udax_store *handle;	/* whose inode table holds it (api) */
	uint32_t refs;			/* handles + mappings; inodes_lock */

	struct file_share *share;	/* opened shared: the store's files */
	struct file_rwlock io_lock;
	struct file_rwlock invalidate_lock;
	struct page_index pi;
	struct file_state *state;	/* own_state, or the region's */
	struct file_state own_state;
	uint64_t made;			/* shared: state->made when it was opened */

	struct mutex maps_lock;		/* protects maps list */
	struct udax_vma *maps;

	_Atomic uint64_t faults_read, faults_write, faults_hole, faults_sigbus;
	_Atomic uint64_t faults_pmd, faults_pmd_fallback, pages_mapped_ahead;
	_Atomic uint64_t blocks_allocated, writeback_pages, map_evictions;
};

/*
 * One udax_mmap() mapping. addr/len/pgoff/prot/id never change. users
 * counts faults in progress in it; udax_munmap() unlinks it from the
 * registry and waits for users to drain before the address range is
 * released. changes is bumped before any of its installed pages is made
 * missing or read-only again (zap, writeback protect, eviction), under the
 * lock that keeps faults of those pages out (entry lock or invalidate_lock
 * exclusive): a thread whose page faults again with no change since it
 * served that page knows the kernel raised the fault (delivery/delivery.c).
 */
struct udax_vma {
	struct udax_vma *next;		/* registry list; registry lock */
	struct udax_vma *next_in_inode;	/* inode.maps; inode.maps_lock */
	char *addr;
	size_t len;
	uint64_t pgoff;			/* file page of addr */
	int prot;			/* PROT_READ[|PROT_WRITE] */
	bool sync;			/* UDAX_MAP_SYNC */
	bool pte_only;			/* UDAX_MAP_PTE: no 2 MiB entries */
	bool dontfork;			/* UDAX_MAP_DONTFORK: not in fork children */
	struct inode *inode;
	struct map_ahead ahead;		/* map-ahead streams (a hint, no lock) */
	uint64_t id;			/* unique in the process, never reused */
	pid_t owner;			/* the process that made it */
	_Atomic uint64_t changes;
	_Atomic uint32_t users;
};

static inline uint64_t inode_pages(struct inode *ino)
{
	uint64_t size = atomic_load_explicit(&ino->state->size, memory_order_acquire);

	return (size + PAGE_SIZE_4K - 1) >> PAGE_SHIFT_4K;
}

static inline char *vma_page_addr(const struct udax_vma *vma, uint64_t index)
{
	return vma->addr + ((index - vma->pgoff) << PAGE_SHIFT_4K);
}

#endif /* UDAX_MM_ADDRESS_SPACE_H */
