// SPDX-License-Identifier: MIT
/*
 * entry_share.c - the shared side of page indexes (entry_share.h has the
 * design): the region's layout for them, tree locks, hold cells, wait
 * buckets.
 *
 * Locks:
 *  - page_index_data.tree_lock.shared_lock (an xproc_lock): the tree, the
 *    entries' LOCKED bits and holders, as in a private index.
 *  - a hold cell belongs to the threads of its slot's member: claimed by
 *    compare-and-swap (threads of one member holding different indexes'
 *    tree locks race for cells), cleared by a store of the claimer.
 *  - a wait bucket: atomics only. A waiter counts itself and reads the
 *    sequence under the tree lock after seeing the entry locked; a waker
 *    changes the entry under the tree lock, then (after) bumps the
 *    sequence if anyone is counted: the tree lock orders the two, so the
 *    waiter either sees the new sequence (no sleep) or is woken.
 *    Wake-ups are broadcast to the bucket (a futex word cannot pick a
 *    key); a waiter woken for another entry looks and sleeps again.
 * May sleep: share_tree_lock(), share_sleep().
 *
 * Death: a cell is whole (one 64-bit store) before its entry is locked,
 * and cleared after it is unlocked; a sleeper's count is only ever too
 * high (a dead sleeper costs wakers a futex call on its bucket).
 *
 * Layer: index. May call: base, xproc.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <time.h>

#include "index/entry_share.h"

#define SHARE_BUCKETS 1024u	/* power of two */
#define HOLD_INDEX_BITS 40	/* a cell: (id + 1) << 40 | index */
#define HOLD_INDEX_MASK (((uint64_t)1 << HOLD_INDEX_BITS) - 1)

struct share_bucket {
	_Atomic uint32_t seq;		/* futex word: bumped by every wake */
	_Atomic uint32_t sleepers;	/* too high after a sleeper's death */
};

struct index_commons {
	struct share_bucket bucket[SHARE_BUCKETS];
	_Atomic uint64_t hold[XPROC_PEERS_MAX][INDEX_SHARE_HOLDS];
	struct page_index_data index[];
};

size_t index_share_bytes(uint32_t count)
{
	if (count == 0 || count > INDEX_SHARE_MAX)
		return 0;
	return sizeof(struct index_commons) + (size_t)count * sizeof(struct page_index_data);
}

void share_view(struct index_share *sh, struct xproc_region *r, void *mem, uint32_t count,
		const struct radix_space *space)
{
	sh->region = r;
	sh->commons = mem;
	sh->space = space;
	sh->count = count;
}

void page_index_init_shared(struct page_index *pi, struct index_share *sh, uint32_t id)
{
	assert(id < sh->count && "a page index the share does not hold");
	pi->d = &sh->commons->index[id];
	pi->space = sh->space;
	pi->share = sh;
	pi->id = id;
}

static uint64_t mix(uint32_t id, uint64_t index)
{
	uint64_t h = ((uint64_t)id << 40) ^ (index * 0x9e3779b97f4a7c15ull);

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

void share_tree_lock(struct page_index *pi)
{
	/* -EBADF (a fork child) cannot come: such a child has no handle on
	 * a share (api refuses inherited handles). */
	if (xproc_lock(pi->share->region, &pi->d->tree_lock.shared_lock) == XPROC_LOCK_RECOVERED)
		radix_root_repair(pi->space, &pi->d->tree);
}

void share_tree_unlock(struct page_index *pi)
{
	xproc_unlock(pi->share->region, &pi->d->tree_lock.shared_lock);
}

uint64_t share_lock_bits(const struct page_index *pi)
{
	return ENTRY_LOCKED | (uint64_t)(xproc_self(pi->share->region) + 1) << ENTRY_HOLDER_SHIFT;
}

static _Atomic uint64_t *own_cells(const struct index_share *sh)
{
	return sh->commons->hold[xproc_self(sh->region)];
}

static uint64_t cell_word(const struct page_index *pi, uint64_t index)
{
	assert(index <= HOLD_INDEX_MASK && "a page index past 4 PiB");
	return (uint64_t)(pi->id + 1) << HOLD_INDEX_BITS | index;
}

bool share_hold(struct page_index *pi, uint64_t index)
{
	_Atomic uint64_t *cells = own_cells(pi->share);
	uint64_t want = cell_word(pi, index);
	uint32_t start = (uint32_t)(mix(pi->id, index) % INDEX_SHARE_HOLDS);

	for (uint32_t n = 0; n < INDEX_SHARE_HOLDS; n++) {
		_Atomic uint64_t *cell = &cells[(start + n) % INDEX_SHARE_HOLDS];
		uint64_t free_cell = 0;

		/* Relaxed: the tree lock's release publishes the cell with
		 * the entry; a reader of a dead member's cells holds it. */
		if (!atomic_load_explicit(cell, memory_order_relaxed) &&
		    atomic_compare_exchange_strong_explicit(cell, &free_cell, want,
							    memory_order_relaxed,
							    memory_order_relaxed)) {
			death_order();
			return true;
		}
	}
	return false;
}

void share_unhold(struct page_index *pi, uint64_t index)
{
	_Atomic uint64_t *cells = own_cells(pi->share);
	uint64_t word = cell_word(pi, index);
	uint32_t start = (uint32_t)(mix(pi->id, index) % INDEX_SHARE_HOLDS);

	death_order();
	for (uint32_t n = 0; n < INDEX_SHARE_HOLDS; n++) {
		_Atomic uint64_t *cell = &cells[(start + n) % INDEX_SHARE_HOLDS];

		/* One thread holds an entry at a time, and its cell is
		 * cleared under the same tree lock hold as the entry: no
		 * other cell of this member names it now. */
		if (atomic_load_explicit(cell, memory_order_relaxed) == word) {
			atomic_store_explicit(cell, 0, memory_order_relaxed);
			return;
		}
	}
	/* No cell: the region was written by someone else (it is as
	 * writable as the store): nothing to forget. */
}

bool share_stale_hold(struct index_share *sh, uint32_t *cursor, uint32_t *id, uint64_t *index)
{
	_Atomic uint64_t *cells = own_cells(sh);

	for (; *cursor < INDEX_SHARE_HOLDS; (*cursor)++) {
		uint64_t word = atomic_load_explicit(&cells[*cursor], memory_order_relaxed);
		uint64_t named = word >> HOLD_INDEX_BITS;

		if (!word)
			continue;
		if (named == 0 || named > sh->count) {	/* damaged: nothing to release */
			atomic_store_explicit(&cells[*cursor], 0, memory_order_relaxed);
			continue;
		}
		*id = (uint32_t)(named - 1);
		*index = word & HOLD_INDEX_MASK;
		return true;
	}
	return false;
}

void share_stale_hold_done(struct index_share *sh, uint32_t cursor)
{
	death_order();	/* the entry released first */
	atomic_store_explicit(&own_cells(sh)[cursor], 0, memory_order_relaxed);
}

static struct share_bucket *bucket_of(const struct page_index *pi, uint64_t index)
{
	return &pi->share->commons->bucket[mix(pi->id, index) % SHARE_BUCKETS];
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);	/* vDSO: async-signal-safe */
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool share_sleep(struct page_index *pi, uint64_t index, uint64_t *looked)
{
	struct share_bucket *b = bucket_of(pi, index);
	uint32_t seq;
	uint64_t now;

	atomic_fetch_add_explicit(&b->sleepers, 1, memory_order_relaxed);
	/* The tree lock orders this read before the waker's change and
	 * bump (its acquire pairs with our release of the lock). */
	seq = atomic_load_explicit(&b->seq, memory_order_relaxed);
	share_tree_unlock(pi);
	atomic_fetch_add_explicit(&pi->d->lock_waits, 1, memory_order_relaxed);
	if (!*looked)
		*looked = now_ms();
	futex_wait_shared(&b->seq, seq, XPROC_LIVENESS_MS);
	atomic_fetch_sub_explicit(&b->sleepers, 1, memory_order_relaxed);
	share_tree_lock(pi);
	/* By the clock, not by a timeout: a bucket whose other entries keep
	 * changing wakes us again and again (found by the tests: a waiter
	 * never timed out beside a busy member, and waited for a dead
	 * holder for ever). */
	now = now_ms();
	if (now - *looked < XPROC_LIVENESS_MS)
		return false;
	*looked = now;
	return true;
}

bool share_holder_dead(const struct page_index *pi, uint64_t entry)
{
	unsigned holder = entry_holder(entry);

	/* A damaged holder field names nobody: release the entry. */
	if (holder == 0 || holder > XPROC_PEERS_MAX)
		return true;
	return !xproc_peer_alive(pi->share->region, holder - 1);
}

void share_wake(struct page_index *pi, uint64_t index)
{
	struct share_bucket *b = bucket_of(pi, index);

	if (!atomic_load_explicit(&b->sleepers, memory_order_relaxed))
		return;
	atomic_fetch_add_explicit(&b->seq, 1, memory_order_release);
	futex_wake_shared(&b->seq, INT_MAX);
}
