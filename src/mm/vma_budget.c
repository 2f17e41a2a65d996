// SPDX-License-Identifier: MIT
/*
 * vma_budget.c - the VMA budget (see vma_budget.h).
 *
 * Locks: none; every figure is one atomic word, and races between them
 * only move a recount earlier or later.
 *
 * Layer: mm. May call: base (the limit and the count of VMAs).
 */
#include <stdatomic.h>
#include <stdint.h>

#include "base/compat.h"
#include "mm/vma_budget.h"

#define VMAS_PER_INSTALL 2
/* A recount that finds fewer VMAs than the budget must leave room for this
 * many installs, or it refuses now: a process hovering just under the
 * budget would otherwise read /proc/self/maps every few faults. */
#define INSTALLS_PER_RECOUNT 256
#define RECOUNT_ROOM (VMAS_PER_INSTALL * INSTALLS_PER_RECOUNT)

static _Atomic uint64_t limit;		/* vm.max_map_count; 0 until init */
static _Atomic uint64_t budget;		/* in force: see budget_for() */
static _Atomic uint64_t estimate;	/* last real count + charges since */
/* udax's own share of the VMAs, as far as it knows: one per mapping after
 * an eviction, and VMAS_PER_INSTALL per install since (an overestimate:
 * installs next to their neighbours in the store add none). */
static _Atomic uint64_t own;
/* The VMAs assumed to be the application's when they cannot be counted:
 * a quarter of the limit, or the most a real count found right after an
 * eviction (when udax itself held about one VMA per mapping). */
static _Atomic uint64_t assumed_base;
/* This thread's next charge succeeds whatever the estimate. */
static __thread bool granted __attribute__((tls_model("initial-exec")));

/*
 * The budget for a process with real VMAs: 7/8 of the limit; but when the
 * application's own VMAs (real less udax's share) leave udax less than
 * 1/16 of the limit under that, udax may use 1/16 of the limit beside
 * them, as long as 1/32 stays free for the application's next mappings
 * and for the splits of an eviction. Without this, an application that
 * holds 58,000 of 65,530 VMAs itself made every udax fault empty every
 * mapping and count 58,000 VMAs again (43 ms per fault, measured by an
 * adversarial test; the kernel had room for 7,000 more).
 */
static uint64_t budget_for(uint64_t real)
{
	uint64_t max = atomic_load_explicit(&limit, memory_order_relaxed);
	uint64_t mine = atomic_load_explicit(&own, memory_order_relaxed);
	uint64_t app = real > mine ? real - mine : 0, base = max - max / 8;
	uint64_t beside = app + max / 16, cap = max - max / 32;

	if (beside > cap)
		beside = cap;
	return beside > base ? beside : base;
}

void vma_budget_init(void)
{
	uint64_t max, real;

	if (atomic_load_explicit(&limit, memory_order_relaxed))
		return;
	max = compat_vma_limit();
	atomic_store_explicit(&assumed_base, max / 4, memory_order_relaxed);
	atomic_store_explicit(&estimate, compat_vma_count(&real) ? real : max / 4,
			      memory_order_relaxed);
	atomic_store_explicit(&budget, max - max / 8, memory_order_relaxed);
	atomic_store_explicit(&limit, max, memory_order_relaxed);
}

void vma_budget_grant_once(void)
{
	granted = true;
}

bool vma_budget_charge(void)
{
	uint64_t in_force = atomic_load_explicit(&budget, memory_order_relaxed), real;
	bool grant = granted;

	granted = false;
	atomic_fetch_add_explicit(&own, VMAS_PER_INSTALL, memory_order_relaxed);
	if (atomic_fetch_add_explicit(&estimate, VMAS_PER_INSTALL, memory_order_relaxed) +
	    VMAS_PER_INSTALL < in_force || grant)
		return true;
	/* Uncountable: the estimate stands, and it reached the budget. */
	if (!compat_vma_count(&real))
		return false;
	atomic_store_explicit(&estimate, real, memory_order_relaxed);
	in_force = budget_for(real);
	atomic_store_explicit(&budget, in_force, memory_order_relaxed);
	return real + RECOUNT_ROOM < in_force;
}

void vma_budget_recount(uint64_t mappings)
{
	uint64_t base = atomic_load_explicit(&assumed_base, memory_order_relaxed), real;

	atomic_store_explicit(&own, mappings, memory_order_relaxed);
	if (compat_vma_count(&real)) {
		while (real > base && !atomic_compare_exchange_weak_explicit(
			&assumed_base, &base, real, memory_order_relaxed, memory_order_relaxed))
			;
		atomic_store_explicit(&budget, budget_for(real), memory_order_relaxed);
	} else {
		real = base + mappings;
	}
	atomic_store_explicit(&estimate, real, memory_order_relaxed);
}
