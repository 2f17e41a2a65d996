// SPDX-License-Identifier: MIT
/*
 * vma_budget.c - the VMA budget (see vma_budget.h).
 */
#include <stdatomic.h>
#include <stdint.h>

#include "compat.h"
#include "vma_budget.h"

#define VMAS_PER_INSTALL 2
/* A recount that finds fewer VMAs than the budget must leave room for this
 * many installs, or it refuses now: a process hovering just under the
 * budget would otherwise read /proc/self/maps every few faults. */
#define INSTALLS_PER_RECOUNT 256

static _Atomic uint64_t budget;		/* 0 until vma_budget_init() */
static _Atomic uint64_t estimate;	/* last real count + charges since */

void vma_budget_init(void)
{
	uint64_t limit;

	if (atomic_load_explicit(&budget, memory_order_relaxed))
		return;
	limit = compat_vma_limit();
	atomic_store_explicit(&estimate, compat_vma_count(), memory_order_relaxed);
	atomic_store_explicit(&budget, limit - limit / 8, memory_order_relaxed);
}

bool vma_budget_charge(void)
{
	uint64_t limit = atomic_load_explicit(&budget, memory_order_relaxed), real;

	if (atomic_fetch_add_explicit(&estimate, VMAS_PER_INSTALL, memory_order_relaxed) +
	    VMAS_PER_INSTALL < limit)
		return true;
	real = compat_vma_count();
	atomic_store_explicit(&estimate, real, memory_order_relaxed);
	return real + VMAS_PER_INSTALL * INSTALLS_PER_RECOUNT < limit;
}

void vma_budget_recount(void)
{
	atomic_store_explicit(&estimate, compat_vma_count(), memory_order_relaxed);
}
