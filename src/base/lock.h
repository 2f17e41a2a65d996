/* SPDX-License-Identifier: MIT */
/*
 * lock.h - the two lock primitives udax uses internally.
 *
 * Both are safe to take from the SIGBUS/SIGSEGV handler that serves faults
 * (no malloc, no pthread state): a futex mutex for sections that may wait
 * (tree, allocator, registry) and a spinlock for the few instructions a wait
 * queue bucket is held. Neither is ever held while touching application
 * memory, so a fault can never recurse into a lock its thread already holds.
 *
 * Layer: base. May call: compat.h (futexes).
 */
#ifndef UDAX_LOCK_H
#define UDAX_LOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compat.h"

/*
 * Data that processes share must survive a process killed (SIGKILL) in the
 * middle of changing it: the change is a sequence of stores, each leaving
 * something the next lock holder can repair, and death_order() between two
 * of them keeps the compiler from swapping them. The process dies, so no
 * CPU ordering is involved: what it leaves is its stores up to the kill.
 */
static inline void death_order(void)
{
	atomic_signal_fence(memory_order_seq_cst);
#ifdef UDAX_FAULT_INJECT
	compat_inject_death();	/* UDAX_INJECT=death:N dies at the Nth */
#endif
}

/* States of struct mutex.state. */
enum { MUTEX_FREE = 0, MUTEX_HELD = 1, MUTEX_CONTENDED = 2 };

struct mutex {
	_Atomic uint32_t state;
};

#define MUTEX_INIT { MUTEX_FREE }
#define MUTEX_SPINS 200	/* tries before sleeping on a contended mutex */

static inline void mutex_init(struct mutex *m)
{
	atomic_init(&m->state, MUTEX_FREE);
}

static inline void mutex_lock(struct mutex *m)
{
	uint32_t expected = MUTEX_FREE;

	/* acquire pairs with the release in mutex_unlock() */
	if (atomic_compare_exchange_strong_explicit(&m->state, &expected, MUTEX_HELD,
						    memory_order_acquire,
						    memory_order_relaxed))
		return;
	/* Sections are short: spin a little before paying for futex sleeps
	 * and wake-ups (several microseconds each in these VMs). */
	for (unsigned spins = 0; spins < MUTEX_SPINS; spins++) {
		cpu_relax();
		expected = MUTEX_FREE;
		if (atomic_load_explicit(&m->state, memory_order_relaxed) == MUTEX_FREE &&
		    atomic_compare_exchange_weak_explicit(&m->state, &expected, MUTEX_HELD,
							  memory_order_acquire,
							  memory_order_relaxed))
			return;
	}
	while (atomic_exchange_explicit(&m->state, MUTEX_CONTENDED,
					memory_order_acquire) != MUTEX_FREE)
		futex_wait(&m->state, MUTEX_CONTENDED);
}

static inline void mutex_unlock(struct mutex *m)
{
	/* release pairs with the acquire in mutex_lock() */
	if (atomic_exchange_explicit(&m->state, MUTEX_FREE, memory_order_release) ==
	    MUTEX_CONTENDED)
		futex_wake(&m->state, 1);
}

struct spinlock {
	atomic_flag flag;
};

#define SPINLOCK_INIT { ATOMIC_FLAG_INIT }

static inline void spin_lock(struct spinlock *l)
{
	/* acquire pairs with the release in spin_unlock() */
	while (atomic_flag_test_and_set_explicit(&l->flag, memory_order_acquire))
		cpu_relax();
}

static inline void spin_unlock(struct spinlock *l)
{
	atomic_flag_clear_explicit(&l->flag, memory_order_release);
}

/*
 * Reader-writer lock, writer-preferring: a waiting writer stops new readers.
 * Readers must not take it recursively (a reader that waits for a second
 * read grant behind a waiting writer would deadlock); udax never does, since
 * no lock holder touches application memory.
 */
#define RWLOCK_WRITER ((uint32_t)1 << 31)
#define RWLOCK_WRITER_WAITING ((uint32_t)1 << 30)
#define RWLOCK_READERS (RWLOCK_WRITER_WAITING - 1)

struct rwlock {
	_Atomic uint32_t state;
};

static inline void rwlock_init(struct rwlock *l)
{
	atomic_init(&l->state, 0);
}

static inline void rwlock_read_lock(struct rwlock *l)
{
	for (;;) {
		uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);

		if (s & (RWLOCK_WRITER | RWLOCK_WRITER_WAITING)) {
			futex_wait(&l->state, s);
			continue;
		}
		/* acquire pairs with the release in rwlock_write_unlock() */
		if (atomic_compare_exchange_weak_explicit(&l->state, &s, s + 1,
							  memory_order_acquire,
							  memory_order_relaxed))
			return;
	}
}

static inline void rwlock_read_unlock(struct rwlock *l)
{
	/* release pairs with the acquire in rwlock_write_lock() */
	uint32_t s = atomic_fetch_sub_explicit(&l->state, 1, memory_order_release) - 1;

	if (!(s & RWLOCK_READERS) && (s & RWLOCK_WRITER_WAITING))
		futex_wake(&l->state, INT32_MAX);
}

static inline void rwlock_write_lock(struct rwlock *l)
{
	for (;;) {
		uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);

		if (!(s & (RWLOCK_WRITER | RWLOCK_READERS))) {
			/* acquire pairs with the releases of both unlocks */
			if (atomic_compare_exchange_weak_explicit(&l->state, &s,
								  RWLOCK_WRITER,
								  memory_order_acquire,
								  memory_order_relaxed))
				return;
			continue;
		}
		if (!(s & RWLOCK_WRITER_WAITING) &&
		    !atomic_compare_exchange_weak_explicit(&l->state, &s,
							   s | RWLOCK_WRITER_WAITING,
							   memory_order_relaxed,
							   memory_order_relaxed))
			continue;
		futex_wait(&l->state, s | RWLOCK_WRITER_WAITING);
	}
}

static inline void rwlock_write_unlock(struct rwlock *l)
{
	/* release pairs with the acquires of both lock calls; waiters of
	 * either kind retry, and a still-waiting writer sets its bit again. */
	atomic_store_explicit(&l->state, 0, memory_order_release);
	futex_wake(&l->state, INT32_MAX);
}

#endif /* UDAX_LOCK_H */
