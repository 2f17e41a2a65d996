/* SPDX-License-Identifier: MIT */
/*
 * entry_share.h - page indexes several processes share (issue 14, stage
 * 3): a store's page indexes, their entry locks and wait queues in the
 * store's region, so that two processes' faults on one (file, index)
 * serialize exactly as two threads' do.
 *
 * What lives in the region (struct index_commons, zeroed when the region
 * is made, which is every index empty and every lock free):
 *  - one struct page_index_data per file number: tree lock (an
 *    xproc_lock), tree (nodes in the region's arena), counters;
 *  - hashed wait buckets: a sequence word a waiter sleeps on (a shared
 *    futex) and a count of sleepers, so a waker skips an empty bucket;
 *  - per member slot, a table of the entries it holds locked ("holds"):
 *    a cell is written before an entry is locked and cleared after it is
 *    unlocked, so what a member killed at any instant held is found in
 *    its cells.
 *
 * Death of a member holding entries: a waiter sleeps at most
 * XPROC_LIVENESS_MS at a time, then looks at the entry's holder (entry.h):
 * if that slot holds no member, the waiter releases the entry itself (an
 * EMPTY entry deleted, another unlocked) and wakes every waiter. If the
 * slot already has a new member, that member released everything its
 * predecessor held when it joined (index_share_sweep()), before it locked
 * anything: so an entry naming a live holder is that holder's. Both run
 * under the index's tree lock, whose own holder's death is repaired by its
 * taker (radix_root_repair(); every other change of the tree is one store
 * or ordered, radix.h "Death").
 *
 * Layer: index. May call: base, xproc.
 */
#ifndef UDAX_ENTRY_SHARE_H
#define UDAX_ENTRY_SHARE_H

#include <stddef.h>
#include <stdint.h>

#include "index/entry_lock.h"

/* Entries one member may hold locked at once, all threads together (a
 * fault holds one, map-ahead up to its window). */
#define INDEX_SHARE_HOLDS 1024u
/* Page indexes one share holds (file numbers 0 .. count - 1). */
#define INDEX_SHARE_MAX (1u << 20)

struct index_commons;

/* A process's view of the page indexes of one region. */
struct index_share {
	struct xproc_region *region;
	struct index_commons *commons;		/* in the region's user area */
	const struct radix_space *space;	/* the region's node arena */
	uint32_t count;
};

/* Bytes of region memory a share of count page indexes needs (8-byte
 * aligned, zero-initialized means empty). Return: 0 if count is 0 or
 * above INDEX_SHARE_MAX. */
size_t index_share_bytes(uint32_t count);

/*
 * index_share_attach - view the share of count page indexes at mem (in r's
 * user area, index_share_bytes(count) of it) whose nodes come from space;
 * then release what a dead member that had this process's slot before
 * held locked (a waiter that saw the slot empty released it already, one
 * that sees it taken relies on this). In entry_lock.c.
 * Context: right after xproc_join(), before any page index of the share
 * is used by this process; takes tree locks.
 */
void index_share_attach(struct index_share *sh, struct xproc_region *r, void *mem,
			uint32_t count, const struct radix_space *space);

/* For index_share_attach(): the view alone. */
void share_view(struct index_share *sh, struct xproc_region *r, void *mem, uint32_t count,
		const struct radix_space *space);

/* page_index_init_shared - make pi this process's handle on page index id
 * of the share (id < sh->count). No page_index_destroy(): the index
 * outlives the handle. */
void page_index_init_shared(struct page_index *pi, struct index_share *sh, uint32_t id);

/*
 * For entry_lock.c: the shared side of a page index.
 */

/* Take and release pi's tree lock (repairing its tree if its last holder
 * died). */
void share_tree_lock(struct page_index *pi);
void share_tree_unlock(struct page_index *pi);

/* The LOCKED bit and this member's holder field, for an entry it locks. */
uint64_t share_lock_bits(const struct page_index *pi);

/* Record that this member is about to lock the entry at index (the cell
 * is written before the entry is locked). Context: tree lock held.
 * Return: false if this member holds INDEX_SHARE_HOLDS entries already. */
bool share_hold(struct page_index *pi, uint64_t index);
/* The entry at index was unlocked or deleted: forget its cell. Context:
 * tree lock held, after the entry's change. */
void share_unhold(struct page_index *pi, uint64_t index);

/* Sleep until the entry at index (locked, as seen under the tree lock)
 * may have changed, for XPROC_LIVENESS_MS at most. *looked is when this
 * wait last looked at the holder's life (0 before the first sleep of a
 * wait): wake-ups for other entries of the bucket must not put that off.
 * Context: tree lock held on entry and on return (dropped while sleeping).
 * Return: true if it is time to look at the holder's life again (then
 * *looked is now). */
bool share_sleep(struct page_index *pi, uint64_t index, uint64_t *looked);

/* Whether the member holding the locked entry is gone (its slot holds no
 * member). Context: tree lock held. */
bool share_holder_dead(const struct page_index *pi, uint64_t entry);

/* The next cell of this member's slot in use from *cursor on (left by a
 * dead predecessor in the slot, when attaching): its page index and
 * index. Damaged cells are cleared on the way. Return: false when none is
 * left. */
bool share_stale_hold(struct index_share *sh, uint32_t *cursor, uint32_t *id, uint64_t *index);
/* Clear the cell share_stale_hold() named, once its entry is released (a
 * member killed before that leaves the cell for the slot's next member).
 * Context: the entry's tree lock held. */
void share_stale_hold_done(struct index_share *sh, uint32_t cursor);

/* Wake every waiter on the entry at index. Context: after the change,
 * tree lock released. */
void share_wake(struct page_index *pi, uint64_t index);

#endif /* UDAX_ENTRY_SHARE_H */
