/* SPDX-License-Identifier: MIT */
/*
 * file_share.h - layer mm: what the processes sharing a store share of each
 * of its files (issue 14, stage 3): the per-file half of the kernel's
 * inode and address_space. struct inode (address_space.h) is a process's
 * handle; for a store opened shared its page index, size and two locks
 * are these, in the store's region, so that every process's faults, reads,
 * writes and truncates of one file serialize as one process's threads do.
 *
 * What the region holds beside the store's metadata (file_share_bytes()):
 *
 *   [page indexes: index_share_bytes(files_max)][pad to 64]
 *   [struct file_shared  x files_max]
 *
 * A file's shared state outlives the processes that use it (the kernel's
 * inode cache): when the last one closes the file its page index keeps
 * its entries, and the next opener anywhere finds them. It is made anew
 * when the region is (every member gone) and when the file is removed:
 * the remover clears size_known under store.lock, and the file's next
 * first opener (any process) empties the page index and reads the size
 * from the store, holding io_lock exclusive.
 *
 * Death: a member's bits in openers and mappers are cleared by its slot's
 * next member when it attaches (file_share_attach()), and not counted
 * meanwhile if the slot is empty (file_share_open_elsewhere(); a
 * shootdown skips a dead slot); the locks and the page index recover as
 * xproc.h and entry_share.h say.
 *
 * Layer: mm. May call: base, xproc, index.
 */
#ifndef UDAX_MM_FILE_SHARE_H
#define UDAX_MM_FILE_SHARE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/lock.h"
#include "index/entry_share.h"
#include "xproc/xproc.h"

/* A file's state that is the file's, not one process's: in the inode of a
 * private store, in the region for a shared one. */
struct file_state {
	_Atomic uint64_t size;		/* bytes; changed under io_lock */
	_Atomic uint64_t write_end;	/* where the last pwrite ended (a hint) */
	_Atomic uint32_t unsynced_writes;	/* pwrite since the last fsync began */
	_Atomic uint32_t size_known;	/* shared: size is the file's (see above) */
	/* shared: drawn at random each time the state is made anew (with
	 * size_known), so a file removed and made again in its slot (or a
	 * region made again) is told from the one a fork child inherited */
	_Atomic uint64_t made;
};

/* One file slot's shared part (zeroed: nobody has it open, size unknown). */
struct file_shared {
	struct xproc_rwlock io_lock;
	struct xproc_rwlock invalidate_lock;
	struct file_state state;
	_Atomic uint64_t openers;	/* member slots with the file open */
	_Atomic uint64_t mappers;	/* member slots with a mapping of it */
};

/* A process's view of the shared files of one store. */
struct file_share {
	struct xproc_region *region;
	struct index_share index;
	struct file_shared *file;	/* files_max of them */
	uint32_t files_max;
};

/* Bytes of region memory the shared files of files_max file slots need
 * (a store_callers_bytes_fn). Return: 0 if files_max is 0 or too large. */
uint64_t file_share_bytes(uint32_t files_max);

/*
 * file_share_attach - view the shared files at mem (file_share_bytes() of
 * r's user area, 64-byte aligned) whose page indexes' nodes come from
 * space; then undo what a dead member that had this process's slot before
 * left: its entry locks (index_share_attach()) and its openers and mappers
 * bits.
 * Context: right after joining r, before any shared file is used by this
 * process; may sleep (tree locks).
 */
void file_share_attach(struct file_share *fs, struct xproc_region *r, void *mem,
		       uint32_t files_max, const struct radix_space *space);

/* file_share_open - count this process among slot's openers (idempotent).
 * Context: store.lock held, with the lookup of the file's name. */
void file_share_open(struct file_share *fs, uint32_t slot);
/* file_share_close - uncount this process. Context: its last inode of the
 * file goes. */
void file_share_close(struct file_share *fs, uint32_t slot);
/* file_share_open_elsewhere - whether a live member other than this process
 * has slot open. Context: store.lock held (openers change under it or by
 * their own slot's member). */
bool file_share_open_elsewhere(const struct file_share *fs, uint32_t slot);
/* file_share_mapped - count this process among slot's mappers (mapped
 * true: before its first mapping of the file can fault) or uncount it
 * (false: after its last one left the address space); the members asked
 * to unmap or write-protect the file's pages (mm/install.c). Context:
 * the inode's maps_lock held. */
void file_share_mapped(struct file_share *fs, uint32_t slot, bool mapped);
/* file_share_mappers - the other members that map slot's file. */
uint64_t file_share_mappers(const struct file_share *fs, uint32_t slot);
/* file_share_forget - the file in slot is removed: its next first opener
 * makes its state anew. Context: store.lock held; no member has it open. */
void file_share_forget(struct file_share *fs, uint32_t slot);

/*
 * An inode's reader-writer lock (io_lock, invalidate_lock): the process's
 * own for a private store, the region's for a shared one. Writers are
 * preferred; not recursive. A shared lock's writer killed inside is
 * followed by the next writer as if it had unlocked: what io_lock and
 * invalidate_lock protect is whole at every step (a truncate frees the
 * pages past its new size before it sets the size, so one killed part way
 * leaves a punched tail, never blocks past EOF; docs/DESIGN.md, "Stage 3").
 */
struct file_rwlock {
	struct rwlock own;
	struct xproc_rwlock *shared;		/* NULL: own */
	const struct xproc_region *region;
};

/* file_rwlock_init - a private lock (shared NULL) or a handle on shared. */
void file_rwlock_init(struct file_rwlock *l, struct xproc_rwlock *shared,
		      const struct xproc_region *r);
/* file_read_lock - take l shared. Context: may sleep.
 * Return: 0, or -EUCLEAN (the region's lock is damaged: not taken). */
int file_read_lock(struct file_rwlock *l) __attribute__((warn_unused_result));
void file_read_unlock(struct file_rwlock *l);
/* file_write_lock - take l exclusive. Context: may sleep. */
void file_write_lock(struct file_rwlock *l);
void file_write_unlock(struct file_rwlock *l);

#endif /* UDAX_MM_FILE_SHARE_H */
