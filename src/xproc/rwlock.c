// SPDX-License-Identifier: MIT
/*
 * rwlock.c - reader-writer locks several members share that survive any
 * member's death (xproc.h has the layout): a file's i_rwsem and
 * invalidate_lock when processes share it.
 *
 * States: a reader adds one to its slot's word (tagged with its slot's
 * incarnation; a count left by an earlier incarnation is dropped as it
 * counts itself), then looks for a writer; a writer takes `writer`, waits
 * for each slot's count to reach 0, then sets `writer_inside` until it
 * unlocks. The reader's count and the writer's `writer` are Dekker's: each
 * changes its own word, a sequentially consistent fence, then reads the
 * other's, so at least one sees the other. A reader that sees a writer
 * uncounts itself (waking the writer if it was its slot's last) and sleeps
 * on `writer`'s word, counted in `readers_waiting`, until it is free, then
 * tries again; the writer's unlock wakes them all.
 *
 * Death: a dead reader's count is dropped by the writer waiting for it (a
 * slot with no member, or whose incarnation is not the count's), checked
 * each XPROC_LIVENESS_MS of its wait. A dead holder of `writer` is taken
 * over by the next writer, or by a waiting reader, which lets it go at
 * once: a writer killed inside leaves `writer_inside` set, and the next
 * writer is told XPROC_LOCK_RECOVERED; one killed in its drain, or a
 * reader killed nowhere inside, leaves nothing to repair. Every change is
 * one atomic operation.
 * May sleep: xproc_read_lock, xproc_write_lock.
 *
 * Layer: xproc. May call: base, peers.c, lock.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>

#include "base/compat.h"
#include "xproc/region_layout.h"

#define READERS_MASK 0xffffffffull
/* More readers than this in one member is damage (the region written
 * over): threads of one process cannot hold that many. */
#define READERS_SANE (1u << 30)

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

/* Sleep until `writer` is free; a dead holder's is taken over and let go
 * (what it left to repair stays marked for the next writer). */
static int wait_for_writer(const struct xproc_region *r, struct xproc_rwlock *l)
{
	for (;;) {
		uint32_t word = atomic_load_explicit(&l->writer.word, memory_order_relaxed);
		int ret;

		if (!word)
			return 0;
		atomic_fetch_add_explicit(&l->readers_waiting, 1, memory_order_seq_cst);
		ret = futex_wait_shared(&l->writer.word, word, XPROC_LIVENESS_MS);
		atomic_fetch_sub_explicit(&l->readers_waiting, 1, memory_order_relaxed);
		if (ret != -ETIMEDOUT || atomic_load_explicit(&l->writer.word,
							      memory_order_relaxed) != word ||
		    !xproc_lock_word_dead(r, word))
			continue;
		ret = xproc_lock(r, &l->writer);	/* takes it over */
		if (ret < 0)
			return ret;
		xproc_unlock(r, &l->writer);
	}
}

int xproc_read_lock(const struct xproc_region *r, struct xproc_rwlock *l)
{
	_Atomic uint64_t *mine;

	if (r->forked)
		return -EBADF;
	mine = &l->readers[r->self];
	for (;;) {
		uint64_t tag = my_tag(r), v = atomic_load_explicit(mine, memory_order_relaxed);
		int ret;

		/* Count ourselves; a count of an earlier incarnation of our
		 * slot is of dead readers. */
		do {
			if ((v & ~READERS_MASK) == tag && (v & READERS_MASK) >= READERS_SANE)
				return -EUCLEAN;
		} while (!atomic_compare_exchange_weak_explicit(
			mine, &v, (v & ~READERS_MASK) == tag ? v + 1 : tag | 1,
			memory_order_relaxed, memory_order_relaxed));
		/* Pairs with the fence of xproc_write_lock(); acquire pairs
		 * with the release of the last writer's unlock. */
		atomic_thread_fence(memory_order_seq_cst);
		if (!atomic_load_explicit(&l->writer.word, memory_order_acquire))
			return 0;
		read_drop(r, l);
		ret = wait_for_writer(r, l);
		if (ret < 0)
			return ret;
	}
}

void xproc_read_unlock(const struct xproc_region *r, struct xproc_rwlock *l)
{
	if (!r->forked)
		read_drop(r, l);
}

/* Wait until slot's readers are gone: uncounted, or dead (their count
 * dropped here), or a count no member can have (damage: dropped too). */
static void drain(const struct xproc_region *r, struct xproc_rwlock *l, unsigned slot)
{
	_Atomic uint64_t *w = &l->readers[slot];

	for (;;) {
		uint64_t v = atomic_load_explicit(w, memory_order_acquire);

		if (!(v & READERS_MASK))
			return;
		if ((v & READERS_MASK) >= READERS_SANE ||
		    xproc_member_gone(r, slot, (uint32_t)(v >> 32), UINT32_MAX)) {
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
	/* Set by a writer that died inside: only then is there damage. */
	return atomic_exchange_explicit(&l->writer_inside, 1, memory_order_acq_rel)
		? XPROC_LOCK_RECOVERED : XPROC_LOCK_TAKEN;
}

void xproc_write_unlock(const struct xproc_region *r, struct xproc_rwlock *l)
{
	if (r->forked)
		return;
	atomic_store_explicit(&l->writer_inside, 0, memory_order_release);
	xproc_unlock(r, &l->writer);
	/* Pairs with the waiters' count (Dekker again): we see it, or the
	 * waiter's futex finds the word changed. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&l->readers_waiting, memory_order_relaxed))
		futex_wake_shared(&l->writer.word, INT_MAX);
}
