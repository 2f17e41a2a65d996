// SPDX-License-Identifier: MIT
/*
 * rwlock.c - reader-writer locks several members share that survive any
 * member's death (xproc.h has the layout): a file's i_rwsem and
 * invalidate_lock when processes share it.
 *
 * States: a reader adds one to its slot's word (tagged with its slot's
 * incarnation; a count left by an earlier incarnation is dropped as it
 * counts itself), then looks for a writer; a writer takes `writer`, then
 * waits for each slot's count to reach 0. The two sides are Dekker's: each
 * changes its own word, a sequentially consistent fence, then reads the
 * other's, so at least one of them sees the other: a reader that sees a
 * writer backs off (uncounts itself, waking the writer if it was the last
 * of its slot) and waits for the writer by taking and dropping `writer`.
 *
 * Death: a dead reader's count is dropped by the writer waiting for it (a
 * slot with no member, or whose incarnation is not the count's), checked
 * each XPROC_LIVENESS_MS of its wait; a dead writer's `writer` is taken
 * over as any xproc_lock, and whoever takes it over (a writer, or a reader
 * waiting for the writer) is told XPROC_LOCK_RECOVERED. Every change is one
 * atomic operation.
 * May sleep: xproc_read_lock, xproc_write_lock.
 *
 * Layer: xproc. May call: base, peers.c, lock.c.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "base/compat.h"
#include "xproc/region_layout.h"

#define READERS_MASK 0xffffffffull

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "a slot's reader count is the low half of its word, waited on as a futex");

/* The futex word of a slot's count: the low half of its word. */
static _Atomic uint32_t *count_word(_Atomic uint64_t *readers)
{
	return (_Atomic uint32_t *)(void *)readers;
}

static uint64_t my_tag(const struct xproc_region *r)
{
	return (uint64_t)atomic_load_explicit(&r->shared->peer[r->self].incarnation,
					      memory_order_relaxed) << 32;
}

/* Uncount one reader of this member; wake a writer waiting for the slot to
 * drain. */
static void read_drop(const struct xproc_region *r, struct xproc_rwlock *l)
{
	_Atomic uint64_t *mine = &l->readers[r->self];
	uint64_t left = atomic_fetch_sub_explicit(mine, 1, memory_order_release) - 1;

	/* Pairs with the fence of xproc_write_lock(): it sees our count
	 * gone, or we see it and wake it. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!(left & READERS_MASK) && atomic_load_explicit(&l->writer.word, memory_order_relaxed))
		futex_wake_shared(count_word(mine), 1);
}

int xproc_read_lock(const struct xproc_region *r, struct xproc_rwlock *l)
{
	_Atomic uint64_t *mine;
	int taken = XPROC_LOCK_TAKEN;

	if (r->forked)
		return -EBADF;
	mine = &l->readers[r->self];
	for (;;) {
		uint64_t tag = my_tag(r), v = atomic_load_explicit(mine, memory_order_relaxed);
		int ret;

		/* Count ourselves; a count of an earlier incarnation of our
		 * slot is of dead readers. */
		while (!atomic_compare_exchange_weak_explicit(
			mine, &v, (v & ~READERS_MASK) == tag ? v + 1 : tag | 1,
			memory_order_acquire, memory_order_relaxed))
			;
		/* Pairs with the fence of xproc_write_lock(). */
		atomic_thread_fence(memory_order_seq_cst);
		if (!atomic_load_explicit(&l->writer.word, memory_order_relaxed))
			return taken;
		read_drop(r, l);
		ret = xproc_lock(r, &l->writer);	/* wait for the writer */
		if (ret < 0)
			return ret;
		if (ret == XPROC_LOCK_RECOVERED)
			taken = XPROC_LOCK_RECOVERED;
		xproc_unlock(r, &l->writer);
	}
}

void xproc_read_unlock(const struct xproc_region *r, struct xproc_rwlock *l)
{
	if (!r->forked)
		read_drop(r, l);
}

/* Wait until slot's readers are gone: uncounted, or dead (their count
 * dropped here). */
static void drain(const struct xproc_region *r, struct xproc_rwlock *l, unsigned slot)
{
	_Atomic uint64_t *w = &l->readers[slot];

	for (;;) {
		uint64_t v = atomic_load_explicit(w, memory_order_acquire);

		if (!(v & READERS_MASK))
			return;
		if (xproc_member_gone(r, slot, (uint32_t)(v >> 32), UINT32_MAX)) {
			atomic_compare_exchange_strong_explicit(w, &v, v & ~READERS_MASK,
								memory_order_relaxed,
								memory_order_relaxed);
			continue;
		}
		futex_wait_shared(count_word(w), (uint32_t)v, XPROC_LIVENESS_MS);
	}
}

int xproc_write_lock(const struct xproc_region *r, struct xproc_rwlock *l)
{
	int ret = xproc_lock(r, &l->writer);

	if (ret < 0)
		return ret;
	/* Pairs with the readers' fences (Dekker). */
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned slot = 0; slot < XPROC_PEERS_MAX; slot++)
		drain(r, l, slot);
	return ret;
}

void xproc_write_unlock(const struct xproc_region *r, struct xproc_rwlock *l)
{
	xproc_unlock(r, &l->writer);
}
