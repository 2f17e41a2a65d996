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
#define RECOUNT_ROOM (VMAS_PER_INSTALL * INSTALLS_PER_RECOUNT)

static _Atomic uint64_t budget;		/* 0 until vma_budget_init() */
static _Atomic uint64_t estimate;	/* last real count + charges since */
/* The VMAs assumed to be the application's when they cannot be counted:
 * a quarter of the limit, or the most a real count found right after an
 * eviction (when udax itself held about one VMA per mapping). */
static _Atomic uint64_t assumed_base;
/* This thread's next charge succeeds whatever the estimate. */
static __thread bool granted __attribute__((tls_model("initial-exec")));

void vma_budget_init(void)
{
	uint64_t limit, real;

	if (atomic_load_explicit(&budget, memory_order_relaxed))
		return;
	limit = compat_vma_limit();
	atomic_store_explicit(&assumed_base, limit / 4, memory_order_relaxed);
	atomic_store_explicit(&estimate, compat_vma_count(&real) ? real : limit / 4,
			      memory_order_relaxed);
	atomic_store_explicit(&budget, limit - limit / 8, memory_order_relaxed);
}

void vma_budget_grant_once(void)
{
	granted = true;
}

bool vma_budget_charge(void)
{
	uint64_t limit = atomic_load_explicit(&budget, memory_order_relaxed), real;
	bool grant = granted;

	granted = false;
	if (atomic_fetch_add_explicit(&estimate, VMAS_PER_INSTALL, memory_order_relaxed) +
	    VMAS_PER_INSTALL < limit || grant)
		return true;
	/* Uncountable: the estimate stands, and it reached the budget. */
	if (!compat_vma_count(&real))
		return false;
	atomic_store_explicit(&estimate, real, memory_order_relaxed);
	return real + RECOUNT_ROOM < limit;
}

void vma_budget_recount(uint64_t mappings)
{
	uint64_t base = atomic_load_explicit(&assumed_base, memory_order_relaxed), real;

	if (compat_vma_count(&real)) {
		while (real > base && !atomic_compare_exchange_weak_explicit(
			&assumed_base, &base, real, memory_order_relaxed, memory_order_relaxed))
			;
	} else {
		real = base + mappings;
	}
	atomic_store_explicit(&estimate, real, memory_order_relaxed);
}
