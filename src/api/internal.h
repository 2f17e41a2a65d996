/* SPDX-License-Identifier: MIT */
/*
 * internal.h - the objects behind the public handles and how the layers
 * reach each other.
 *
 * Lock order (outermost first; a thread only takes locks further down):
 *
 *   inode.io_lock (rwlock: pread/pwrite shared, truncate/punch exclusive)
 *   vma registry lock (mutex, held for a lookup or an insert/remove, and
 *     while vma_evict_all() empties every mapping)
 *   inode.invalidate_lock (rwlock: faults shared, truncate/punch exclusive)
 *   entry lock (ENTRY_LOCKED, entry_lock.c)
 *   inode.maps_lock (mutex: the inode's list of mappings, for zapping)
 *   store.checkpoint_lock (mutex: one checkpoint at a time; taken only by
 *     fsync/truncate/punch/unlink/close with no lock above held)
 *   store.lock (store.h)
 *   page_index.tree_lock
 *   radix pool lock, wait bucket spinlocks (leaves)
 *
 * udax_store.inodes_lock protects the inode table and reference counts; it
 * is taken only by open/close/mmap/munmap, never under the locks above.
 */
#ifndef UDAX_INTERNAL_H
#define UDAX_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "index/entry_lock.h"
#include "base/lock.h"
#include "mm/map_ahead.h"
#include "store/store.h"

#define PAGE_SIZE_4K 4096u
#define PAGE_SHIFT_4K 12
#define UDAX_FILE_MAX_BYTES STORE_FILE_MAX_BYTES	/* 64 TiB */

struct inode;

struct udax_store {
	struct store *st;
	struct mutex inodes_lock;
	struct inode **inode;		/* by file slot, NULL when not open */
	pid_t owner;			/* the process that opened it */
};

/* One open file: its page index, mappings and counters. */
struct inode {
	struct udax_store *store;
	int slot;			/* store file slot */
	uint32_t refs;			/* handles + mappings; inodes_lock */

	struct rwlock io_lock;
	struct rwlock invalidate_lock;
	struct page_index pi;
	_Atomic uint64_t size;		/* bytes; changed under io_lock */
	_Atomic bool unsynced_writes;	/* pwrite since the last fsync began */

	struct mutex maps_lock;		/* protects maps list */
	struct udax_vma *maps;

	_Atomic uint64_t faults_read, faults_write, faults_hole, faults_sigbus;
	_Atomic uint64_t faults_pmd, faults_pmd_fallback, pages_mapped_ahead;
	_Atomic uint64_t blocks_allocated, writeback_pages, map_evictions;
};

struct udax_file {
	struct inode *inode;
	bool writable;
};

/*
 * One udax_mmap() mapping. addr/len/pgoff/prot/id never change. users
 * counts faults in progress in it; udax_munmap() unlinks it from the
 * registry and waits for users to drain before the address range is
 * released. changes is bumped before any of its installed pages is made
 * missing or read-only again (zap, writeback protect, eviction), under the
 * lock that keeps faults of those pages out (entry lock or invalidate_lock
 * exclusive): a thread whose page faults again with no change since it
 * served that page knows the kernel raised the fault (delivery.c).
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
	struct inode *inode;
	struct map_ahead ahead;		/* map-ahead streams (a hint, no lock) */
	uint64_t id;			/* unique in the process, never reused */
	pid_t owner;			/* the process that made it */
	_Atomic uint64_t changes;
	_Atomic uint32_t users;
};

static inline uint64_t inode_pages(struct inode *ino)
{
	uint64_t size = atomic_load_explicit(&ino->size, memory_order_acquire);

	return (size + PAGE_SIZE_4K - 1) >> PAGE_SHIFT_4K;
}

static inline char *vma_page_addr(const struct udax_vma *vma, uint64_t index)
{
	return vma->addr + ((index - vma->pgoff) << PAGE_SHIFT_4K);
}

/* The public calls, one layer below api.c (which blocks the application's
 * asynchronous signals around each and refuses inherited handles). Each
 * is documented in udax.h under its udax_ name. */
/* store_api.c */
int store_path_create(const char *path, uint64_t size_bytes, unsigned flags);
int store_path_check(const char *path, unsigned flags);
int store_handle_open(const char *path, unsigned flags, struct udax_store **out);
int store_handle_close(struct udax_store *s);
int store_handle_stat(struct udax_store *s, struct udax_store_stat *st);
int store_handle_readdir(struct udax_store *s, uint64_t *cookie, char *name, size_t size);
const char *store_handle_error(void);
/* inode.c */
int file_open(struct udax_store *s, const char *name, int flags, struct udax_file **out);
int file_close(struct udax_file *f);
int file_unlink(struct udax_store *s, const char *name);
int file_rename(struct udax_store *s, const char *oldname, const char *newname);
ssize_t file_pread(struct udax_file *f, void *buf, size_t len, uint64_t off);
ssize_t file_pwrite(struct udax_file *f, const void *buf, size_t len, uint64_t off);
int file_truncate(struct udax_file *f, uint64_t size);
int file_punch_hole(struct udax_file *f, uint64_t off, uint64_t len);
int file_fallocate(struct udax_file *f, uint64_t off, uint64_t len);
int file_fsync(struct udax_file *f);
int file_fstat(struct udax_file *f, struct udax_file_stat *st);
/* mapping.c */
int mapping_create(struct udax_file *f, uint64_t off, size_t len, int prot, void **addr);
int mapping_remove(void *addr, size_t len);
int mapping_sync(void *addr, size_t len, int flags);

/* inode.c */
struct inode *inode_get(struct udax_store *s, int slot);
void inode_put(struct inode *ino);

/* fault.c: the fs/dax.c analogue. Knows nothing of userfaultfd. */
enum fault_result {
	FAULT_OK,	/* mapped; retry the access */
	FAULT_REMAPPED,	/* the block was already in the index; mapped again */
	FAULT_SIGBUS,	/* past EOF, ENOSPC or I/O error */
	FAULT_OOM,	/* no memory for the index */
	FAULT_NO_VMA,	/* the install was refused: VMA budget (vma_budget.h) */
	FAULT_FALLBACK,	/* internal to fault.c: no 2 MiB entry, use 4 KiB */
};

enum fault_result fault_page(struct udax_vma *vma, uint64_t index, bool write);

/* udax_pwrite's allocation of a hole page, under its entry lock so that a
 * page is never allocated twice (the kernel's write(2) on DAX). It leaves
 * no entry it did not find: an entry it made, or a 4 KiB ZERO entry whose
 * zero page it zaps, is deleted; a 2 MiB ZERO entry is downgraded. pwrite
 * data is not tagged DIRTY (no mapping needs write-protecting for it); the
 * inode's unsynced_writes makes close and munmap sync it.
 * Return: the store block or -errno (-EAGAIN: a zero page elsewhere could
 * not be zapped for lack of VMAs; make room and retry). */
int64_t fault_pwrite_block(struct inode *ino, uint64_t index);

/* udax_fallocate's 2 MiB step: give the 2 MiB range from base (aligned)
 * one extent, under its 2 MiB entry lock, leaving no entry it made.
 * Return: 1 if the range is one extent now, 0 if it cannot be (4 KiB
 * entries or blocks there, no extent to allocate), -errno (-EAGAIN as for
 * fault_pwrite_block()). */
int fault_alloc_extent(struct inode *ino, uint64_t base);

/* writeback.c: write back the file's DIRTY pages and make the store
 * durable (udax_fsync, udax_msync MS_SYNC). Return: 0 or -errno. */
int inode_fsync(struct inode *ino);
/* The same if the file has DIRTY pages or pwrite data written since the
 * last fsync began, else nothing (udax_close, udax_munmap).
 * Return: 0 or -errno. */
int inode_fsync_if_dirty(struct inode *ino);

/* delivery.c: installs what the fault path decided, and zaps.
 * delivery_init: Return 0, or -errno (reason in *why) if the signal
 * handlers cannot be installed. The delivery mode is chosen by the first
 * delivery_reserve() of the process. */
int delivery_init(const char **why);
/* The delivery this process uses (UDAX_DELIVERY_NONE before any mapping). */
enum udax_delivery delivery_mode(void);
int delivery_reserve(size_t len, int prot, void **addr);
/* How vma_map_blocks() asks the kernel to back what it maps. */
enum install_mode {
	INSTALL_PLAIN,		/* small folios, no read-around (MADV_RANDOM):
				   a touch reads about one page */
	INSTALL_HUGE,		/* THP hint (MADV_HUGEPAGE): large folios are
				   mapped with PMDs, and a cold range is
				   filled 2 MiB at a time */
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
 * writable mapping of the file, so that their next write faults
 * (writeback); where that cannot be done they are made missing.
 * Return: 0, or -EAGAIN if a mapping may still have them writable (out of
 * VMAs even for the whole mapping). Context: their entry locked. */
int inode_protect_range(struct inode *ino, uint64_t index, uint64_t n, uint64_t block);
/* Make [first, last] of the file missing again in every mapping but skip;
 * where only part of a mapping cannot be zapped (vm.max_map_count), the
 * whole mapping is. Return: 0, or -EAGAIN if a page of the range may still
 * be mapped somewhere (out of VMAs: the caller makes room with
 * vma_evict_all() and retries, and must not free its block meanwhile). */
int inode_zap_range(struct inode *ino, uint64_t first, uint64_t last,
		    const struct udax_vma *skip);

/* Make every page of vma missing (one VMA again). Return: 0 or -EAGAIN.
 * Context: the inode's invalidate_lock held exclusive. */
int vma_zap_all(struct udax_vma *vma);

/* Block the application's asynchronous signals in this thread (every
 * signal but SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS, which the
 * CPU raises for the instruction that runs), keeping the mask it had in
 * *saved; restore it. The fault handler runs with the same set blocked. */
void delivery_signals_block(sigset_t *saved);
void delivery_signals_restore(const sigset_t *saved);

/* mapping.c */
/* Empty every udax mapping of the process, each under its inode's
 * invalidate_lock (exclusive): the VMA budget's last resort (delivery.c).
 * Return: the number of mappings. Context: no udax lock held. */
uint64_t vma_evict_all(void);
struct udax_vma *vma_get(const void *addr);
void vma_put(struct udax_vma *vma);
/* Fault in every page of [buf, buf+len) through fault_page(), for a
 * syscall that failed with EFAULT on a udax-mapped buffer.
 * Return: 0, or -EFAULT if a page is not in a udax mapping that allows the
 * access, or its fault failed. */
int vma_fault_in(const void *buf, size_t len, bool write);

#endif /* UDAX_INTERNAL_H */
