/* SPDX-License-Identifier: MIT */
/*
 * entry_lock.h - page index of one file, and entries locked like pages.
 *
 * Layer: index. May call: base, xproc.
 */
#ifndef UDAX_ENTRY_LOCK_H
#define UDAX_ENTRY_LOCK_H

#include <stdatomic.h>
#include <stdint.h>

#include "index/entry.h"
#include "base/lock.h"
#include "base/radix.h"
#include "xproc/xproc.h"

struct xproc_region;
struct index_share;

/*
 * What a file's page index holds (the kernel's address_space->i_pages):
 * in the process's memory for a private index, in a store's region for an
 * index several processes share (entry_share.c). The tree lock protects
 * tree: every read or write of a slot holds it, and it is held only for a
 * few instructions (never across I/O, mmap or a node space). It is a
 * struct mutex in a private index, a struct xproc_lock (which survives
 * its holder's death) in a shared one.
 */
struct page_index_data {
	union {
		struct mutex private_lock;
		struct xproc_lock shared_lock;
	} tree_lock;
	struct radix_tree tree;
	_Atomic uint64_t lock_waits;	/* sleeps on a locked entry */
	_Atomic uint64_t dirty;		/* pages of the entries tagged DIRTY
					 * (shared: never below the truth) */
	_Atomic uint64_t recovered;	/* shared: entries released after
					 * their holder died */
};

/* A process's handle on one page index. */
struct page_index {
	struct page_index_data *d;	/* &own, or in the region */
	const struct radix_space *space;	/* where the tree's nodes live */
	struct index_share *share;	/* NULL: a private index */
	uint32_t id;			/* shared: its number in the share */
	struct page_index_data own;
};

void page_index_init(struct page_index *pi);
/* Free the tree of a private index; no entry may be locked and nobody may
 * use pi. */
void page_index_destroy(struct page_index *pi);

static inline uint64_t page_index_dirty(const struct page_index *pi)
{
	return atomic_load_explicit(&pi->d->dirty, memory_order_relaxed);
}

static inline uint64_t page_index_lock_waits(const struct page_index *pi)
{
	return atomic_load_explicit(&pi->d->lock_waits, memory_order_relaxed);
}

static inline uint64_t page_index_recovered(const struct page_index *pi)
{
	return atomic_load_explicit(&pi->d->recovered, memory_order_relaxed);
}

/* entry_grab() flags */
#define GRAB_PMD	1u	/* a 2 MiB entry at this 2 MiB-aligned index */
#define GRAB_NOWAIT	2u	/* never sleep: a locked entry is a conflict */

/*
 * Return the entry covering index, locked by the caller: a 2 MiB entry
 * covering it if there is one (it lives at entry_index(index, entry)), else
 * index's own; an EMPTY entry (PMD with GRAB_PMD) is created if there was
 * none. Sleeps while another thread holds the entry, unless GRAB_NOWAIT.
 * With GRAB_PMD, 4 KiB entries in the 2 MiB range are a conflict, returned
 * at once without sleeping.
 * Return: the entry (with ENTRY_LOCKED); ENTRY_CONFLICT; 0 if no node
 * memory (-ENOMEM), or in a shared index this member holds
 * INDEX_SHARE_HOLDS entries already (with GRAB_NOWAIT: ENTRY_CONFLICT).
 */
uint64_t entry_grab(struct page_index *pi, uint64_t index, unsigned flags);

/* In the functions below, index is the entry's own index (its first). In a
 * page index processes share, an entry the caller turns out not to hold
 * (the region written by another process) is left alone instead of
 * asserting, as in a private one. */

/* Replace the caller's locked entry with value of the same order (kept
 * locked). */
void entry_replace_locked(struct page_index *pi, uint64_t index, uint64_t value);

/* Unlock the caller's locked entry and wake one waiter. */
void entry_unlock(struct page_index *pi, uint64_t index);

/* Delete the caller's locked entry and wake every waiter. */
void entry_delete_locked(struct page_index *pi, uint64_t index);

/*
 * Wait until the entry of index is unlocked; if it is still the entry
 * `expected` (as looked up earlier, compared with entry_same()), delete it
 * and wake every waiter. A changed or vanished entry is a normal race, not
 * an error. Return: true if deleted.
 */
bool entry_invalidate(struct page_index *pi, uint64_t index, uint64_t expected);

/* Return the first entry at an index >= *index (unlocked view, may change
 * as soon as it returns), 0 if none. A 2 MiB entry is found at its first
 * index only. */
uint64_t entry_next(struct page_index *pi, uint64_t *index);

/*
 * Dirty tags (the kernel's PAGECACHE_TAG_DIRTY/TOWRITE on DAX entries).
 * entry_mark_dirty: tag the caller's locked BLOCK entry DIRTY.
 * Return: whether it was clean before.
 */
bool entry_mark_dirty(struct page_index *pi, uint64_t index);

/* Tag every DIRTY entry TOWRITE: what one writeback pass will clean, so
 * that pages dirtied during the pass wait for the next one.
 * Return: entries tagged. */
uint64_t entry_tag_towrite(struct page_index *pi);

/* Return the first entry tagged TOWRITE at an index >= *index (unlocked
 * view), 0 if none. */
uint64_t entry_next_towrite(struct page_index *pi, uint64_t *index);

/* The caller's locked entry was written back: clear TOWRITE and DIRTY.
 * Return: whether it was tagged TOWRITE (else nothing changed). */
bool entry_clear_written(struct page_index *pi, uint64_t index);

#endif /* UDAX_ENTRY_LOCK_H */
