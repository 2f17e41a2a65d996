// SPDX-License-Identifier: MIT
/*
 * entry_lock.c - entries of a page index locked like pages, with hashed
 * wait queues keyed by (page index, index): the "dax: New fault locking"
 * design. A page index processes share (entry_share.c) keeps this file's
 * rules, with its tree lock, holds and wait buckets in the region; where
 * the two differ, a private index is described first.
 *
 * Locks:
 *  - the tree lock (page_index_data.tree_lock) protects the radix tree
 *    and the ENTRY_LOCKED bit (and holder) of every entry in it.
 *  - ENTRY_LOCKED is the entry lock itself: a sleeping lock that the holder
 *    may keep across store I/O and mmap calls.
 *  - wait_bucket.lock (a spinlock) protects the bucket's waiter list.
 * Lock order: entry lock -> tree_lock -> wait_bucket.lock. The pool lock of
 * radix.c is never taken under tree_lock.
 * May sleep: entry_grab() and entry_invalidate() (futex) while the entry is
 * held by another thread; tree_lock is dropped before sleeping.
 *
 * No missed wake-up: a waiter queues itself while holding tree_lock, after
 * seeing ENTRY_LOCKED; whoever changes the entry does so under tree_lock and
 * wakes after releasing it, so it finds the waiter queued. Waiters record
 * their key and a waker wakes only matching waiters: a shared bucket never
 * swallows a wake-up meant for another key. A wake-up is exclusive (one
 * waiter) when an entry is unlocked and broadcast when it is deleted; a
 * woken waiter that does not take the lock passes the wake-up on. (Shared:
 * every wake-up is a broadcast to the bucket, entry_share.c.)
 *
 * Shared index, death: a waiter that slept XPROC_LIVENESS_MS releases
 * the entry if its holder is gone (release_held()); attaching releases
 * what this slot's dead predecessor held (index_share_attach()).
 *
 * Layer: index. May call: base (the radix tree, futexes), xproc.
 */
#include <assert.h>
#include <stddef.h>

#include "index/entry_share.h"

#define WAIT_BUCKETS 4096	/* power of two */

struct entry_waiter {
	struct entry_waiter *next;
	const struct page_index *pi;
	uint64_t index;			/* aligned to the entry's order */
	_Atomic uint32_t woken;		/* futex word, 0 until woken */
};

struct wait_bucket {
	struct spinlock lock;
	struct entry_waiter *head;	/* FIFO, protected by lock */
	_Atomic uint32_t waiters;	/* lets a waker skip an empty bucket */
};

static struct wait_bucket wait_table[WAIT_BUCKETS];

enum wake_mode { WAKE_NEXT, WAKE_ALL };

static void tree_lock(struct page_index *pi)
{
	if (pi->share)
		share_tree_lock(pi);
	else
		mutex_lock(&pi->d->tree_lock.private_lock);
}

static void tree_unlock(struct page_index *pi)
{
	if (pi->share)
		share_tree_unlock(pi);
	else
		mutex_unlock(&pi->d->tree_lock.private_lock);
}

/* What an entry this thread locks gets: LOCKED, and its holder if shared. */
static uint64_t lock_bits(const struct page_index *pi)
{
	return pi->share ? share_lock_bits(pi) : ENTRY_LOCKED;
}

static struct wait_bucket *bucket_of(const struct page_index *pi, uint64_t index)
{
	uint64_t h = (uint64_t)(uintptr_t)pi ^ (index * 0x9e3779b97f4a7c15ull);

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return &wait_table[h & (WAIT_BUCKETS - 1)];
}

/* Waiters on an entry key on its first index, so that a 2 MiB entry has one
 * queue whatever index inside it a waiter faulted on. */
static uint64_t wait_index(uint64_t index, uint64_t entry)
{
	return index & ~(((uint64_t)1 << entry_order(entry)) - 1);
}

static void entry_wake(struct page_index *pi, uint64_t index,
		       uint64_t entry, enum wake_mode mode)
{
	uint64_t key = wait_index(index, entry);
	struct wait_bucket *b = bucket_of(pi, key);
	struct entry_waiter **link;

	if (pi->share) {
		share_wake(pi, key);
		return;
	}
	/* A waiter counts itself while holding tree_lock, which the waker
	 * took after it: tree_lock orders the two, relaxed is enough. */
	if (!atomic_load_explicit(&b->waiters, memory_order_relaxed))
		return;
	spin_lock(&b->lock);
	link = &b->head;
	while (*link) {
		struct entry_waiter *w = *link;

		if (w->pi != pi || w->index != key) {
			link = &w->next;
			continue;
		}
		*link = w->next;
		atomic_fetch_sub_explicit(&b->waiters, 1, memory_order_relaxed);
		/* After this store the waiter may return and free its node. */
		atomic_store_explicit(&w->woken, 1, memory_order_release);
		futex_wake(&w->woken, 1);
		if (mode == WAKE_NEXT)
			break;
	}
	spin_unlock(&b->lock);
}

/*
 * The slot of the entry covering index: the 2 MiB-aligned slot if it holds
 * a PMD entry, else index's own (NULL if its leaf node does not exist).
 * *at is the index of that slot. Context: tree_lock held.
 */
static uint64_t *covering_slot(struct page_index *pi, uint64_t index, uint64_t *at)
{
	uint64_t base = index & ~(ENTRY_PMD_PAGES - 1);
	uint64_t *slot = radix_lookup_slot(pi->space, &pi->d->tree, base);

	if (slot && entry_is_pmd(*slot)) {
		*at = base;
		return slot;
	}
	*at = index;
	return index == base ? slot : radix_lookup_slot(pi->space, &pi->d->tree, index);
}

/* Delete an entry with its tags. Context: tree_lock held. */
static void __entry_delete(struct page_index *pi, uint64_t index, struct radix_freed *fr)
{
	struct radix_tree *t = &pi->d->tree;

	if (radix_tag_get(pi->space, t, index, RADIX_TAG_DIRTY)) {
		uint64_t pages = entry_pages(radix_lookup(pi->space, t, index));

		radix_tag_clear(pi->space, t, index, RADIX_TAG_DIRTY);
		death_order();	/* the count never below the tags */
		atomic_fetch_sub_explicit(&pi->d->dirty, pages, memory_order_relaxed);
	}
	radix_delete(pi->space, t, index, fr);
}

/* Whose locked entries release_held() releases. */
enum held_by { HELD_BY_THE_DEAD, HELD_BY_MY_SLOT };

/*
 * Shared index: release the locked entry covering index if it is held by
 * `by`: a member found gone, or this process's slot (when attaching, only
 * its dead predecessor can have locked it). An EMPTY entry is deleted
 * (its fault never finished), another one unlocked (what it names is
 * whole: each change of an entry is one store).
 * Return: whether it released one (the caller wakes every waiter on *at).
 * Context: tree_lock held.
 */
static bool release_held(struct page_index *pi, uint64_t index, enum held_by by,
			 uint64_t *at, struct radix_freed *fr)
{
	uint64_t *slot = covering_slot(pi, index, at);
	uint64_t entry = slot ? *slot : 0;

	if (!entry_is_locked(entry))
		return false;
	if (by == HELD_BY_THE_DEAD ? !share_holder_dead(pi, entry)
	    : entry_holder(entry) != entry_holder(lock_bits(pi)))
		return false;
	if (entry_is_empty(entry))
		__entry_delete(pi, *at, fr);
	else
		*slot = entry_unlocked(entry);
	atomic_fetch_add_explicit(&pi->d->recovered, 1, memory_order_relaxed);
	return true;
}

/*
 * release_held(), then wake every waiter on the entry and give back the
 * nodes a deleted entry freed (the tree lock dropped meanwhile: a node
 * space is never touched under it).
 * Return: whether it released one. Context: tree_lock held on entry and
 * on return.
 */
static bool release_held_and_wake(struct page_index *pi, uint64_t index, enum held_by by)
{
	struct radix_freed fr = { 0 };
	uint64_t at;

	if (!release_held(pi, index, by, &at, &fr))
		return false;
	share_wake(pi, at);	/* takes no lock */
	if (fr.list) {
		tree_unlock(pi);
		radix_release(pi->space, &fr);
		tree_lock(pi);
	}
	return true;
}

/*
 * Sleep until the locked entry at index is unlocked, replaced or deleted
 * (shared: or its holder found dead, and the entry released; *looked is
 * share_sleep()'s, 0 before the first sleep of a wait).
 * Context: tree_lock held on entry and on return (dropped while sleeping).
 */
static void queue_and_sleep(struct page_index *pi, uint64_t index, uint64_t entry,
			    uint64_t *looked)
{
	struct entry_waiter w = { .pi = pi, .index = wait_index(index, entry) };
	struct wait_bucket *b;
	struct entry_waiter **link;

	if (pi->share) {
		if (share_sleep(pi, w.index, looked))
			release_held_and_wake(pi, w.index, HELD_BY_THE_DEAD);
		return;
	}
	b = bucket_of(pi, w.index);
	atomic_init(&w.woken, 0);
	spin_lock(&b->lock);
	link = &b->head;
	while (*link)
		link = &(*link)->next;
	*link = &w;
	atomic_fetch_add_explicit(&b->waiters, 1, memory_order_relaxed);
	spin_unlock(&b->lock);
	tree_unlock(pi);

	atomic_fetch_add_explicit(&pi->d->lock_waits, 1, memory_order_relaxed);
	/* acquire pairs with the release store in entry_wake() */
	while (!atomic_load_explicit(&w.woken, memory_order_acquire))
		futex_wait(&w.woken, 0);
	tree_lock(pi);
}

/*
 * Return the unlocked entry covering index, its slot and index (*at),
 * sleeping while it is locked.
 * Context: tree_lock held on entry and on return.
 */
static uint64_t get_unlocked_entry(struct page_index *pi, uint64_t index,
				   uint64_t **slotp, uint64_t *at)
{
	uint64_t looked = 0;

	for (;;) {
		uint64_t *slot = covering_slot(pi, index, at);
		uint64_t entry = slot ? *slot : 0;

		if (!entry_is_locked(entry)) {
			*slotp = slot;
			return entry;
		}
		queue_and_sleep(pi, *at, entry, &looked);
	}
}

/* Whether any entry lies in [first, last]. Context: tree_lock held. */
static bool range_has_entries(struct page_index *pi, uint64_t first, uint64_t last)
{
	uint64_t at = first;

	return radix_next(pi->space, &pi->d->tree, &at) && at <= last;
}

void page_index_init(struct page_index *pi)
{
	pi->d = &pi->own;
	mutex_init(&pi->own.tree_lock.private_lock);
	pi->own.tree.root = 0;
	pi->own.tree.height = 0;
	atomic_init(&pi->own.lock_waits, 0);
	atomic_init(&pi->own.dirty, 0);
	atomic_init(&pi->own.recovered, 0);
	pi->space = &radix_process_space;
	pi->share = NULL;
	pi->id = 0;
}

void page_index_destroy(struct page_index *pi)
{
	assert(!pi->share && "a shared page index outlives its handles");
	radix_destroy(pi->space, &pi->d->tree);
}

void index_share_attach(struct index_share *sh, struct xproc_region *r, void *mem,
			uint32_t count, const struct radix_space *space)
{
	uint32_t cursor, id;
	uint64_t index;

	share_view(sh, r, mem, count, space);
	for (cursor = 0; share_stale_hold(sh, &cursor, &id, &index); cursor++) {
		struct page_index pi;

		page_index_init_shared(&pi, sh, id);
		tree_lock(&pi);
		/* Our slot is taken (by us), so HELD_BY_THE_DEAD would see a
		 * live holder: release what names our slot, which is the
		 * dead predecessor's, since we lock nothing before this.
		 * The cell goes after (a member killed here leaves it to the
		 * slot's next one: found by the review). */
		release_held_and_wake(&pi, index, HELD_BY_MY_SLOT);
		share_stale_hold_done(sh, cursor);
		tree_unlock(&pi);
	}
}

/*
 * Lock the unlocked entry at slot for this thread (shared: after writing
 * its hold cell). Return: false if this member holds too many entries.
 * Context: tree_lock held.
 */
static bool lock_entry(struct page_index *pi, uint64_t at, uint64_t *slot, uint64_t entry)
{
	if (pi->share && !share_hold(pi, at))
		return false;
	*slot = entry | lock_bits(pi);
	return true;
}

uint64_t entry_grab(struct page_index *pi, uint64_t index, unsigned flags)
{
	struct radix_preload pl = { .count = 0 };
	bool pmd = flags & GRAB_PMD;
	uint64_t *slot, at, entry, looked = 0;

	assert((!pmd || index % ENTRY_PMD_PAGES == 0) && "unaligned 2 MiB entry");
	tree_lock(pi);
	for (;;) {
		slot = covering_slot(pi, index, &at);
		entry = slot ? *slot : 0;
		/* The kernel's "fix missed wakeup with PMD faults": a 2 MiB
		 * request never sleeps on a 4 KiB entry (its queue is keyed
		 * elsewhere); it falls back at once. */
		if (pmd && entry && !entry_is_pmd(entry)) {
			entry = ENTRY_CONFLICT;
			break;
		}
		if (entry_is_locked(entry)) {
			if (flags & GRAB_NOWAIT) {
				entry = ENTRY_CONFLICT;
				break;
			}
			queue_and_sleep(pi, at, entry, &looked);
			continue;
		}
		if (entry) {
			if (!lock_entry(pi, at, slot, entry)) {
				entry = flags & GRAB_NOWAIT ? ENTRY_CONFLICT : 0;
				break;
			}
			entry |= lock_bits(pi);
			break;
		}
		/* "Fix pmd vs pte conflict detection": an empty aligned slot
		 * is no conflict; only 4 KiB entries in the range are. */
		if (pmd && range_has_entries(pi, index + 1, index + ENTRY_PMD_PAGES - 1)) {
			entry = ENTRY_CONFLICT;
			break;
		}
		/* The cell before any node is made: a full table leaves no
		 * empty path behind (found by the review). */
		if (pi->share && !share_hold(pi, index)) {
			entry = flags & GRAB_NOWAIT ? ENTRY_CONFLICT : 0;
			break;
		}
		/* The reviewer's point: allocate only when a node is missing,
		 * not whenever the slot is empty. */
		if (!slot)
			slot = radix_insert_slot(pi->space, &pi->d->tree, index, &pl);
		if (slot) {
			entry = entry_make_empty() | (pmd ? ENTRY_PMD : 0) | lock_bits(pi);
			radix_slot_store(&pi->d->tree, index, slot, entry);
			break;
		}
		if (pi->share)
			share_unhold(pi, index);
		unsigned need = radix_nodes_needed(pi->space, &pi->d->tree, index);

		tree_unlock(pi);
		if (radix_preload_fill(pi->space, &pl, need) != 0) {
			radix_preload_drain(pi->space, &pl);
			return 0;
		}
		tree_lock(pi);
	}
	tree_unlock(pi);
	radix_preload_drain(pi->space, &pl);
	return entry;
}

/*
 * The slot of the caller's locked entry at index. A private index asserts
 * that the caller holds it. In a shared one the region may have been
 * written by another process (it is as writable as the store): an entry
 * this member does not hold, or of another order than `order` (-1: any),
 * is left alone (NULL), so damage never aborts a member.
 * Context: tree_lock held.
 */
static uint64_t *held_slot(struct page_index *pi, uint64_t index, int order)
{
	uint64_t *slot = radix_lookup_slot(pi->space, &pi->d->tree, index);
	bool held = slot && entry_is_locked(*slot) &&
		    entry_holder(*slot) == entry_holder(lock_bits(pi)) &&
		    (order < 0 || entry_order(*slot) == (unsigned)order);

	assert((held || pi->share) && "an entry the caller does not hold, or of another order");
	return held ? slot : NULL;
}

void entry_replace_locked(struct page_index *pi, uint64_t index, uint64_t value)
{
	uint64_t *slot;

	tree_lock(pi);
	slot = held_slot(pi, index, (int)entry_order(value));
	if (slot)
		*slot = entry_unlocked(value) | (*slot & (ENTRY_LOCKED | ENTRY_HOLDER_MASK));
	tree_unlock(pi);
}

void entry_unlock(struct page_index *pi, uint64_t index)
{
	uint64_t *slot;
	uint64_t entry = 0;

	tree_lock(pi);
	slot = held_slot(pi, index, -1);
	if (slot) {
		entry = entry_unlocked(*slot);
		*slot = entry;
	}
	if (pi->share)
		share_unhold(pi, index);
	tree_unlock(pi);
	if (entry)
		entry_wake(pi, index, entry, WAKE_NEXT);
}

void entry_delete_locked(struct page_index *pi, uint64_t index)
{
	struct radix_freed fr = { 0 };
	uint64_t entry = 0;

	tree_lock(pi);
	if (held_slot(pi, index, -1)) {
		entry = radix_lookup(pi->space, &pi->d->tree, index);
		__entry_delete(pi, index, &fr);
	}
	if (pi->share)
		share_unhold(pi, index);
	tree_unlock(pi);
	radix_release(pi->space, &fr);
	if (entry)
		entry_wake(pi, index, entry, WAKE_ALL);
}

bool entry_invalidate(struct page_index *pi, uint64_t index, uint64_t expected)
{
	struct radix_freed fr = { 0 };
	uint64_t *slot, at;
	uint64_t entry;
	bool deleted = false;

	tree_lock(pi);
	entry = get_unlocked_entry(pi, index, &slot, &at);
	if (entry && at == index && entry_same(entry, expected)) {
		__entry_delete(pi, index, &fr);
		deleted = true;
	}
	tree_unlock(pi);
	radix_release(pi->space, &fr);
	/* Deleted: everyone must look again. Not deleted: we may have eaten
	 * an exclusive wake-up meant for a thread that wants the lock. */
	if (entry)
		entry_wake(pi, at, entry, deleted ? WAKE_ALL : WAKE_NEXT);
	return deleted;
}

uint64_t entry_next(struct page_index *pi, uint64_t *index)
{
	uint64_t entry;

	tree_lock(pi);
	entry = radix_next(pi->space, &pi->d->tree, index);
	tree_unlock(pi);
	return entry;
}

bool entry_mark_dirty(struct page_index *pi, uint64_t index)
{
	struct radix_tree *t = &pi->d->tree;
	uint64_t entry;
	bool was_clean;

	tree_lock(pi);
	entry = radix_lookup(pi->space, t, index);
	assert((entry_is_block(entry) || pi->share) && "dirty tag on a non-block entry");
	was_clean = entry_is_block(entry) && !radix_tag_get(pi->space, t, index, RADIX_TAG_DIRTY);
	if (was_clean) {
		/* Counted first: after a death the count is never below the
		 * tags (writeback skips an index whose count is 0). */
		atomic_fetch_add_explicit(&pi->d->dirty, entry_pages(entry), memory_order_relaxed);
		death_order();
		radix_tag_set(pi->space, t, index, RADIX_TAG_DIRTY);
	}
	tree_unlock(pi);
	return was_clean;
}

/* Entries tagged per tree_lock hold, so faults are not held off long. */
#define TAG_BATCH 256

uint64_t entry_tag_towrite(struct page_index *pi)
{
	struct radix_tree *t = &pi->d->tree;
	uint64_t index = 0, tagged = 0;
	bool more = true;

	while (more) {
		tree_lock(pi);
		for (unsigned n = 0; n < TAG_BATCH; n++) {
			more = radix_next_tagged(pi->space, t, &index, RADIX_TAG_DIRTY) != 0;
			if (!more)
				break;
			tagged += radix_tag_set(pi->space, t, index, RADIX_TAG_TOWRITE);
			if (++index == 0) {
				more = false;
				break;
			}
		}
		tree_unlock(pi);
	}
	return tagged;
}

uint64_t entry_next_towrite(struct page_index *pi, uint64_t *index)
{
	uint64_t entry;

	tree_lock(pi);
	entry = radix_next_tagged(pi->space, &pi->d->tree, index, RADIX_TAG_TOWRITE);
	tree_unlock(pi);
	return entry;
}

bool entry_clear_written(struct page_index *pi, uint64_t index)
{
	struct radix_tree *t = &pi->d->tree;
	bool was_towrite;

	tree_lock(pi);
	was_towrite = radix_tag_clear(pi->space, t, index, RADIX_TAG_TOWRITE);
	if (was_towrite && radix_tag_clear(pi->space, t, index, RADIX_TAG_DIRTY)) {
		death_order();	/* the count never below the tags */
		atomic_fetch_sub_explicit(&pi->d->dirty, entry_pages(radix_lookup(pi->space, t, index)),
					  memory_order_relaxed);
	}
	tree_unlock(pi);
	return was_towrite;
}
