// SPDX-License-Identifier: MIT
/*
 * entry_lock.c - entries of a page index locked like pages, with hashed
 * wait queues keyed by (page index, index): the "dax: New fault locking"
 * design.
 *
 * Locks:
 *  - page_index.tree_lock (a mutex) protects the radix tree and the
 *    ENTRY_LOCKED bit of every entry in it.
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
 * woken waiter that does not take the lock passes the wake-up on.
 *
 * Layer: index. May call: base (the radix tree, futexes).
 */
#include <assert.h>
#include <stddef.h>

#include "index/entry_lock.h"

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

static void entry_wake(const struct page_index *pi, uint64_t index,
		       uint64_t entry, enum wake_mode mode)
{
	uint64_t key = wait_index(index, entry);
	struct wait_bucket *b = bucket_of(pi, key);
	struct entry_waiter **link;

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
 * Sleep until the locked entry at index is unlocked, replaced or deleted.
 * Context: tree_lock held on entry and on return (dropped while sleeping).
 */
static void queue_and_sleep(struct page_index *pi, uint64_t index, uint64_t entry)
{
	struct entry_waiter w = { .pi = pi, .index = wait_index(index, entry) };
	struct wait_bucket *b = bucket_of(pi, w.index);
	struct entry_waiter **link;

	atomic_init(&w.woken, 0);
	spin_lock(&b->lock);
	link = &b->head;
	while (*link)
		link = &(*link)->next;
	*link = &w;
	atomic_fetch_add_explicit(&b->waiters, 1, memory_order_relaxed);
	spin_unlock(&b->lock);
	mutex_unlock(&pi->tree_lock);

	atomic_fetch_add_explicit(&pi->lock_waits, 1, memory_order_relaxed);
	/* acquire pairs with the release store in entry_wake() */
	while (!atomic_load_explicit(&w.woken, memory_order_acquire))
		futex_wait(&w.woken, 0);
	mutex_lock(&pi->tree_lock);
}

/*
 * The slot of the entry covering index: the 2 MiB-aligned slot if it holds
 * a PMD entry, else index's own (NULL if its leaf node does not exist).
 * *at is the index of that slot. Context: tree_lock held.
 */
static uint64_t *covering_slot(struct page_index *pi, uint64_t index, uint64_t *at)
{
	uint64_t base = index & ~(ENTRY_PMD_PAGES - 1);
	uint64_t *slot = radix_lookup_slot(pi->space, &pi->tree, base);

	if (slot && entry_is_pmd(*slot)) {
		*at = base;
		return slot;
	}
	*at = index;
	return index == base ? slot : radix_lookup_slot(pi->space, &pi->tree, index);
}

/*
 * Return the unlocked entry covering index, its slot and index (*at),
 * sleeping while it is locked.
 * Context: tree_lock held on entry and on return.
 */
static uint64_t get_unlocked_entry(struct page_index *pi, uint64_t index,
				   uint64_t **slotp, uint64_t *at)
{
	for (;;) {
		uint64_t *slot = covering_slot(pi, index, at);
		uint64_t entry = slot ? *slot : 0;

		if (!entry_is_locked(entry)) {
			*slotp = slot;
			return entry;
		}
		queue_and_sleep(pi, *at, entry);
	}
}

/* Whether any entry lies in [first, last]. Context: tree_lock held. */
static bool range_has_entries(struct page_index *pi, uint64_t first, uint64_t last)
{
	uint64_t at = first;

	return radix_next(pi->space, &pi->tree, &at) && at <= last;
}

void page_index_init(struct page_index *pi)
{
	mutex_init(&pi->tree_lock);
	pi->tree.root = 0;
	pi->tree.height = 0;
	pi->space = &radix_process_space;
	atomic_init(&pi->lock_waits, 0);
	atomic_init(&pi->dirty, 0);
}

void page_index_destroy(struct page_index *pi)
{
	radix_destroy(pi->space, &pi->tree);
}

uint64_t entry_grab(struct page_index *pi, uint64_t index, unsigned flags)
{
	struct radix_preload pl = { .count = 0 };
	bool pmd = flags & GRAB_PMD;
	uint64_t *slot, at, entry;

	assert((!pmd || index % ENTRY_PMD_PAGES == 0) && "unaligned 2 MiB entry");
	mutex_lock(&pi->tree_lock);
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
			queue_and_sleep(pi, at, entry);
			continue;
		}
		if (entry) {
			*slot = entry | ENTRY_LOCKED;
			entry |= ENTRY_LOCKED;
			break;
		}
		/* "Fix pmd vs pte conflict detection": an empty aligned slot
		 * is no conflict; only 4 KiB entries in the range are. */
		if (pmd && range_has_entries(pi, index + 1, index + ENTRY_PMD_PAGES - 1)) {
			entry = ENTRY_CONFLICT;
			break;
		}
		/* The reviewer's point: allocate only when a node is missing,
		 * not whenever the slot is empty. */
		if (!slot)
			slot = radix_insert_slot(pi->space, &pi->tree, index, &pl);
		if (slot) {
			entry = entry_make_empty() | (pmd ? ENTRY_PMD : 0) | ENTRY_LOCKED;
			radix_slot_store(&pi->tree, index, slot, entry);
			break;
		}
		unsigned need = radix_nodes_needed(pi->space, &pi->tree, index);

		mutex_unlock(&pi->tree_lock);
		if (radix_preload_fill(pi->space, &pl, need) != 0) {
			radix_preload_drain(pi->space, &pl);
			return 0;
		}
		mutex_lock(&pi->tree_lock);
	}
	mutex_unlock(&pi->tree_lock);
	radix_preload_drain(pi->space, &pl);
	return entry;
}

void entry_replace_locked(struct page_index *pi, uint64_t index, uint64_t value)
{
	uint64_t *slot;

	mutex_lock(&pi->tree_lock);
	slot = radix_lookup_slot(pi->space, &pi->tree, index);
	assert(slot && entry_is_locked(*slot) && "replacing an entry the caller does not hold");
	assert(entry_order(*slot) == entry_order(value) && "an entry keeps its order");
	*slot = value | ENTRY_LOCKED;
	mutex_unlock(&pi->tree_lock);
}

void entry_unlock(struct page_index *pi, uint64_t index)
{
	uint64_t *slot;
	uint64_t entry;

	mutex_lock(&pi->tree_lock);
	slot = radix_lookup_slot(pi->space, &pi->tree, index);
	assert(slot && entry_is_locked(*slot) && "unlocking an entry the caller does not hold");
	entry = *slot & ~ENTRY_LOCKED;
	*slot = entry;
	mutex_unlock(&pi->tree_lock);
	entry_wake(pi, index, entry, WAKE_NEXT);
}

/* Delete an entry with its tags. Context: tree_lock held. */
static void __entry_delete(struct page_index *pi, uint64_t index, struct radix_freed *fr)
{
	if (radix_tag_get(pi->space, &pi->tree, index, RADIX_TAG_DIRTY))
		atomic_fetch_sub_explicit(&pi->dirty, entry_pages(radix_lookup(pi->space, &pi->tree, index)),
					  memory_order_relaxed);
	radix_delete(pi->space, &pi->tree, index, fr);
}

void entry_delete_locked(struct page_index *pi, uint64_t index)
{
	struct radix_freed fr = { 0 };
	uint64_t entry;

	mutex_lock(&pi->tree_lock);
	entry = radix_lookup(pi->space, &pi->tree, index);
	assert(entry_is_locked(entry) && "deleting an entry the caller does not hold");
	__entry_delete(pi, index, &fr);
	mutex_unlock(&pi->tree_lock);
	radix_release(pi->space, &fr);
	entry_wake(pi, index, entry, WAKE_ALL);
}

bool entry_invalidate(struct page_index *pi, uint64_t index, uint64_t expected)
{
	struct radix_freed fr = { 0 };
	uint64_t *slot, at;
	uint64_t entry;
	bool deleted = false;

	mutex_lock(&pi->tree_lock);
	entry = get_unlocked_entry(pi, index, &slot, &at);
	if (entry && at == index && entry_same(entry, expected)) {
		__entry_delete(pi, index, &fr);
		deleted = true;
	}
	mutex_unlock(&pi->tree_lock);
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

	mutex_lock(&pi->tree_lock);
	entry = radix_next(pi->space, &pi->tree, index);
	mutex_unlock(&pi->tree_lock);
	return entry;
}

bool entry_mark_dirty(struct page_index *pi, uint64_t index)
{
	uint64_t entry;
	bool was_clean;

	mutex_lock(&pi->tree_lock);
	entry = radix_lookup(pi->space, &pi->tree, index);
	assert(entry_is_block(entry) && "dirty tag on a non-block entry");
	was_clean = radix_tag_set(pi->space, &pi->tree, index, RADIX_TAG_DIRTY);
	mutex_unlock(&pi->tree_lock);
	if (was_clean)
		atomic_fetch_add_explicit(&pi->dirty, entry_pages(entry), memory_order_relaxed);
	return was_clean;
}

/* Entries tagged per tree_lock hold, so faults are not held off long. */
#define TAG_BATCH 256

uint64_t entry_tag_towrite(struct page_index *pi)
{
	uint64_t index = 0, tagged = 0;
	bool more = true;

	while (more) {
		mutex_lock(&pi->tree_lock);
		for (unsigned n = 0; n < TAG_BATCH; n++) {
			more = radix_next_tagged(pi->space, &pi->tree, &index, RADIX_TAG_DIRTY) != 0;
			if (!more)
				break;
			tagged += radix_tag_set(pi->space, &pi->tree, index, RADIX_TAG_TOWRITE);
			if (++index == 0) {
				more = false;
				break;
			}
		}
		mutex_unlock(&pi->tree_lock);
	}
	return tagged;
}

uint64_t entry_next_towrite(struct page_index *pi, uint64_t *index)
{
	uint64_t entry;

	mutex_lock(&pi->tree_lock);
	entry = radix_next_tagged(pi->space, &pi->tree, index, RADIX_TAG_TOWRITE);
	mutex_unlock(&pi->tree_lock);
	return entry;
}

bool entry_clear_written(struct page_index *pi, uint64_t index)
{
	bool was_towrite;

	mutex_lock(&pi->tree_lock);
	was_towrite = radix_tag_clear(pi->space, &pi->tree, index, RADIX_TAG_TOWRITE);
	if (was_towrite && radix_tag_clear(pi->space, &pi->tree, index, RADIX_TAG_DIRTY))
		atomic_fetch_sub_explicit(&pi->dirty, entry_pages(radix_lookup(pi->space, &pi->tree, index)),
					  memory_order_relaxed);
	mutex_unlock(&pi->tree_lock);
	return was_towrite;
}
