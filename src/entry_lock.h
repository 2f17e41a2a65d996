/* SPDX-License-Identifier: MIT */
/*
 * entry_lock.h - page index of one file, and entries locked like pages.
 */
#ifndef UDAX_ENTRY_LOCK_H
#define UDAX_ENTRY_LOCK_H

#include <stdatomic.h>
#include <stdint.h>

#include "entry.h"
#include "lock.h"
#include "radix.h"

/*
 * The page index of a file (the kernel's address_space->i_pages).
 * tree_lock protects tree: every read or write of a slot holds it, and it is
 * held only for a few instructions (never across I/O, mmap or the pool).
 */
struct page_index {
	struct mutex tree_lock;
	struct radix_tree tree;
	_Atomic uint64_t lock_waits;	/* sleeps on a locked entry */
};

void page_index_init(struct page_index *pi);
/* Free the tree; no entry may be locked and nobody may use pi. */
void page_index_destroy(struct page_index *pi);

/*
 * Return the entry of index, locked by the caller; an EMPTY entry is created
 * if the slot had none. Sleeps while another thread holds the entry.
 * Return: the entry (with ENTRY_LOCKED), or 0 if no node memory (-ENOMEM).
 */
uint64_t entry_grab(struct page_index *pi, uint64_t index);

/* Replace the caller's locked entry with value (kept locked). */
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
 * as soon as it returns), 0 if none. */
uint64_t entry_next(struct page_index *pi, uint64_t *index);

#endif /* UDAX_ENTRY_LOCK_H */
