/* SPDX-License-Identifier: MIT */
/*
 * fault.h - layer fault: the fault paths (fault.c, the fs/dax.c analogue).
 * They know nothing of signals or userfaultfd: delivery/ calls them for a
 * CPU fault, the read/write path for a page to allocate.
 *
 * May call: base, index, store, mm.
 */
#ifndef UDAX_FAULT_H
#define UDAX_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/address_space.h"

enum fault_result {
	FAULT_OK,	/* mapped; retry the access */
	FAULT_REMAPPED,	/* the block was already in the index; mapped again */
	FAULT_SIGBUS,	/* past EOF, ENOSPC or I/O error */
	FAULT_OOM,	/* no memory for the index */
	FAULT_NO_VMA,	/* the install was refused: VMA budget (mm/vma_budget.h) */
	FAULT_FALLBACK,	/* internal to fault.c: no 2 MiB entry, use 4 KiB */
};

/* Serve a fault at file page index of vma (a write if write): lock its
 * entry, find or allocate its block, install it (or the zero page) in vma.
 * Context: no udax lock held; may sleep on entry locks and the invalidate
 * lock. Runs in the fault handler: no malloc, no stdio. */
enum fault_result fault_page(struct udax_vma *vma, uint64_t index, bool write);

/* udax_pwrite's allocation of a hole page, under its entry lock so that a
 * page is never allocated twice (the kernel's write(2) on DAX). It leaves
 * no entry it did not find: an entry it made, or a 4 KiB ZERO entry whose
 * zero page it zaps, is deleted; a 2 MiB ZERO entry is downgraded. pwrite
 * data is not tagged DIRTY (no mapping needs write-protecting for it); the
 * inode's unsynced_writes makes close and munmap sync it. stream: the
 * writer will write the rest of the page's 2 MiB soon (STORE_ALLOCATE_STREAM).
 * Return: the store block or -errno (-EAGAIN: a zero page elsewhere could
 * not be zapped for lack of VMAs; make room and retry). */
int64_t fault_pwrite_block(struct inode *ino, uint64_t index, bool stream);

/* udax_fallocate's 2 MiB step: give the 2 MiB range from base (aligned)
 * one extent, under its 2 MiB entry lock, leaving no entry it made.
 * Return: 1 if the range is one extent now, 0 if it cannot be (4 KiB
 * entries or blocks there, no extent to allocate), -errno (-EAGAIN as for
 * fault_pwrite_block()). */
int fault_alloc_extent(struct inode *ino, uint64_t base);

#endif /* UDAX_FAULT_H */
