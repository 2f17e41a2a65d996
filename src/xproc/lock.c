// SPDX-License-Identifier: MIT
/*
 * lock.c - locks shared by the members of a region that survive their
 * holder's death (xproc.h has the word's layout).
 *
 * States of the word: FREE (0) -> HELD (owner) -> HELD|WAITERS (a waiter
 * set bit 31 before sleeping) -> FREE (xproc_unlock: exchange with 0, wake
 * one if WAITERS was set). HELD by a dead owner -> HELD|WAITERS by the
 * waiter that saw the death (compare-and-swap from the exact word it saw
 * dead, so two waiters cannot both take it over): XPROC_LOCK_RECOVERED.
 * A woken waiter takes the lock with WAITERS set, since others may still
 * sleep; at worst one wake too many.
 * May sleep: xproc_lock. Holds no other lock.
 *
 * Layer: xproc. May call: base, peers.c.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "base/compat.h"
#include "xproc/region_layout.h"

#define LOCK_WAITERS (1u << 31)
#define LOCK_SLOT_BITS 7
#define LOCK_SLOT_MASK ((1u << LOCK_SLOT_BITS) - 1)
#define LOCK_INCARNATION_MASK (LOCK_WAITERS - 1)

static uint32_t owner_word(const struct xproc_region *r)
{
	uint32_t incarnation = atomic_load_explicit(&r->shared->peer[r->self].incarnation,
						    memory_order_relaxed);

	return (incarnation << LOCK_SLOT_BITS & LOCK_INCARNATION_MASK) | (r->self + 1);
}

bool xproc_lock_word_dead(const struct xproc_region *r, uint32_t word)
{
	unsigned slot = (word & LOCK_SLOT_MASK) - 1;

	if (slot >= XPROC_PEERS_MAX)	/* a damaged word: nobody holds it */
		return true;
	return xproc_member_gone(r, slot, (word & LOCK_INCARNATION_MASK) >> LOCK_SLOT_BITS,
				 LOCK_INCARNATION_MASK >> LOCK_SLOT_BITS);
}

int xproc_lock(const struct xproc_region *r, struct xproc_lock *l)
{
	uint32_t me, word = 0;

	if (r->forked)
		return -EBADF;
	me = owner_word(r);

	/* Acquire pairs with the release exchange in xproc_unlock(). */
	if (atomic_compare_exchange_strong_explicit(&l->word, &word, me, memory_order_acquire,
						    memory_order_relaxed))
		return XPROC_LOCK_TAKEN;
	for (;;) {
		word = atomic_load_explicit(&l->word, memory_order_relaxed);
		if (word == 0) {
			if (atomic_compare_exchange_strong_explicit(&l->word, &word,
								    me | LOCK_WAITERS,
								    memory_order_acquire,
								    memory_order_relaxed))
				return XPROC_LOCK_TAKEN;
			continue;
		}
		if (!(word & LOCK_WAITERS) &&
		    !atomic_compare_exchange_strong_explicit(&l->word, &word, word | LOCK_WAITERS,
							     memory_order_relaxed,
							     memory_order_relaxed))
			continue;
		word |= LOCK_WAITERS;
		if (futex_wait_shared(&l->word, word, XPROC_LIVENESS_MS) != 0 &&
		    xproc_lock_word_dead(r, word) &&
		    atomic_compare_exchange_strong_explicit(&l->word, &word, me | LOCK_WAITERS,
							    memory_order_acquire,
							    memory_order_relaxed))
			return XPROC_LOCK_RECOVERED;
	}
}

void xproc_unlock(const struct xproc_region *r, struct xproc_lock *l)
{
	if (r->forked)
		return;
	/* Release pairs with the acquire compare-and-swaps of xproc_lock(). */
	if (atomic_exchange_explicit(&l->word, 0, memory_order_release) & LOCK_WAITERS)
		futex_wake_shared(&l->word, 1);
}
