/* SPDX-License-Identifier: MIT */
/*
 * vma_budget.h - keep the process's kernel VMAs under vm.max_map_count.
 *
 * Each install (mmap MAP_FIXED of store blocks or of the zero page) may add
 * up to two VMAs (blocks not contiguous with their neighbours in the store
 * split the missing range around them). The budget is 7/8 of
 * vm.max_map_count, the rest left to the application and to the splits the
 * kernel allows just above its limit; when a count finds the application
 * itself near that, udax may still use 1/16 of the limit beside it while
 * 1/32 stays free (vma_budget.c). vma_budget_charge() counts 2 per
 * install; when the estimate reaches the budget it counts the real VMAs
 * (/proc/self/maps) and refuses the install only if they really reached it
 * (within 256 installs' worth, so that recounts stay rare). When they
 * cannot be counted, the estimate stands: reaching the budget refuses.
 * Delivery then empties every udax mapping (one VMA each) and retries the
 * access: the pages fault back in as they are used. This must happen below
 * the kernel's own limit: there, even the mmap that would empty a mapping
 * is refused.
 *
 * Locks: none; the estimate is one atomic counter.
 *
 * Layer: mm. May call: base.
 */
#ifndef UDAX_VMA_BUDGET_H
#define UDAX_VMA_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

/* Read the limit (once per process; later calls do nothing). */
void vma_budget_init(void);
/* Charge one install. Return: false if the budget is spent (evict first). */
bool vma_budget_charge(void);
/* Recount after the mappings were emptied (mappings: how many udax
 * mappings there are, one VMA each now). When the VMAs cannot be counted
 * (no /proc, no free descriptor), the application is assumed to hold a
 * quarter of the limit, or the most a real count ever found right after an
 * eviction. */
void vma_budget_recount(uint64_t mappings);
/* Let this thread's next charge succeed over the budget (within the 1/8
 * the budget keeps from the kernel's limit): the retry of a page whose
 * refused install emptied the mappings. Other threads may use up the room
 * the eviction made before it gets there; without this, a thread that
 * faults slower than another could be refused for ever. */
void vma_budget_grant_once(void);

#endif /* UDAX_VMA_BUDGET_H */
