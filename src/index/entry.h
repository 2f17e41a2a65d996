/* SPDX-License-Identifier: MIT */
/*
 * entry.h - the value stored for each page index of a file's page index.
 *
 *   bit  63 ........... 16  15 ..... 8  7..4      3      2      1      0
 *        block number       holder      reserved  EMPTY  ZERO   PMD    LOCKED
 *
 * A slot holding 0 has no entry. Every stored entry is non-zero: EMPTY and
 * ZERO entries have their kind bit, block entries a block number > 0 (block
 * 0 of a store is its superblock and never maps file data; 48 bits of
 * block number address 1 EiB of 4 KiB blocks). The holder is set with
 * LOCKED in a page index processes share: the locking member's region
 * slot + 1, so that a waiter can tell whether it died (entry_share.c); it
 * is 0 in a private index and in every unlocked entry.
 *
 * Kinds and transitions (the function doing each, all in fault.c unless
 * noted; "|L" = LOCKED bit set, held by one thread):
 *
 *   none --entry_grab()--> EMPTY|L            (entry_lock.c)
 *   EMPTY|L --read of a hole--> ZERO|L         fault_map_hole()
 *   EMPTY|L or ZERO|L --block found/allocated--> BLOCK|L  fault_find_block()
 *   X|L --entry_unlock()--> X                  (entry_lock.c, wakes one)
 *   EMPTY|L --error--> none                    entry_delete_locked() (wakes all)
 *   X --invalidate (truncate/punch/unlink)--> none
 *                                              entry_invalidate() (wakes all)
 *
 * PMD marks a 2 MiB entry (a multi-order entry): it lives in the slot of
 * its 2 MiB-aligned index, covers the 512 indices from there, and the other
 * 511 slots stay empty (no 4 KiB entry can exist beside it: entry_grab()
 * checks under tree_lock). A lookup of any index first looks at the aligned
 * slot. The entry is locked, tagged and counted as one; waiters on it key
 * on the aligned index. Its kinds and transitions are those above with the
 * PMD bit kept, plus:
 *
 *   ZERO|PMD|L --4 KiB write fault (downgrade)--> none   fault.c
 *
 * Only helpers below read or build entries.
 *
 * Layer: index. May call: base.
 */
#ifndef UDAX_ENTRY_H
#define UDAX_ENTRY_H

#include <stdbool.h>
#include <stdint.h>

#define ENTRY_LOCKED	((uint64_t)1 << 0)
#define ENTRY_PMD	((uint64_t)1 << 1)
#define ENTRY_ZERO	((uint64_t)1 << 2)
#define ENTRY_EMPTY	((uint64_t)1 << 3)
/* Returned by entry_grab() instead of an entry, never stored: a 2 MiB entry
 * cannot be had here (4 KiB entries in its range), or, without waiting, the
 * entry is locked. */
#define ENTRY_CONFLICT	((uint64_t)1 << 4)
#define ENTRY_HOLDER_SHIFT 8
#define ENTRY_HOLDER_MASK ((uint64_t)0xff << ENTRY_HOLDER_SHIFT)
#define ENTRY_BLOCK_SHIFT 16

#define ENTRY_PMD_ORDER 9	/* 512 pages of 4 KiB */
#define ENTRY_PMD_PAGES ((uint64_t)1 << ENTRY_PMD_ORDER)

static inline bool entry_is_locked(uint64_t e) { return e & ENTRY_LOCKED; }
static inline bool entry_is_zero(uint64_t e) { return e & ENTRY_ZERO; }
static inline bool entry_is_empty(uint64_t e) { return e & ENTRY_EMPTY; }
static inline bool entry_is_pmd(uint64_t e) { return e & ENTRY_PMD; }

static inline bool entry_is_block(uint64_t e)
{
	return e && !(e & (ENTRY_ZERO | ENTRY_EMPTY));
}

static inline uint64_t entry_block(uint64_t e)
{
	return e >> ENTRY_BLOCK_SHIFT;
}

static inline uint64_t entry_make_block(uint64_t block)
{
	return block << ENTRY_BLOCK_SHIFT;
}

static inline uint64_t entry_make_zero(void) { return ENTRY_ZERO; }
static inline uint64_t entry_make_empty(void) { return ENTRY_EMPTY; }

/* The entry without its lock (the LOCKED bit and the holder). */
static inline uint64_t entry_unlocked(uint64_t e)
{
	return e & ~(ENTRY_LOCKED | ENTRY_HOLDER_MASK);
}

/* The region slot + 1 of the member holding a locked shared entry, 0 for
 * an entry locked in a private index (or not locked). */
static inline unsigned entry_holder(uint64_t e)
{
	return (unsigned)((e & ENTRY_HOLDER_MASK) >> ENTRY_HOLDER_SHIFT);
}

/* Two entries are the same one if they differ at most in their lock. */
static inline bool entry_same(uint64_t a, uint64_t b)
{
	return entry_unlocked(a) == entry_unlocked(b);
}

static inline unsigned entry_order(uint64_t e)
{
	return entry_is_pmd(e) ? ENTRY_PMD_ORDER : 0;
}

static inline uint64_t entry_pages(uint64_t e)
{
	return (uint64_t)1 << entry_order(e);
}

/* The index an entry covering index lives at (its first index). */
static inline uint64_t entry_index(uint64_t index, uint64_t e)
{
	return index & ~(entry_pages(e) - 1);
}

#endif /* UDAX_ENTRY_H */
