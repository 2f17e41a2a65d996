// SPDX-License-Identifier: MIT
/*
 * install.c - layer mm: installing, zapping and write-protecting pages of
 * udax mappings (see install.h).
 *
 * An install maps what the fault path decided while the entry is locked:
 *   - a block: mmap(MAP_SHARED|MAP_FIXED) of the store file at the block's
 *     offset: zero-copy, the application sees the page cache of the store;
 *   - a hole: mmap(MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, PROT_READ): the
 *     kernel's shared zero page, nothing allocated; a later write raises
 *     SIGSEGV (SEGV_ACCERR), served as a write fault.
 * Zapping (making pages missing again) maps fresh PROT_NONE memory over the
 * range, arms it (missing.h), then gives it the mapping's protection. Never
 * an unarmed accessible page: the kernel would fill it with its own zero
 * page behind udax's back (a stale read found by readers_writer_hole). An
 * access in the PROT_NONE window raises SIGSEGV, which is served like a
 * missing fault: it waits on the entry lock or invalidate lock that the
 * zapper holds, then finds the new state.
 *
 * For a store several processes share (file_share.h), "every mapping of
 * the file" is every mapping of it in every process: the calls that
 * change them here then post the same change to the file's other openers
 * (xproc_shootdown()), whose agents carry it out with
 * inode_apply_request(), and wait for each to say it is done.
 *
 * May call: base, store, index, xproc, mm/missing.c, mm/vma_budget.c.
 * Locks: inode.maps_lock while walking a file's mappings, never while
 * waiting for other processes; nothing else of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "base/compat.h"
#include "index/entry.h"
#include "mm/install.h"
#include "mm/missing.h"
#include "mm/vma_budget.h"
#include "store/store.h"

/* The value this thread's last vma_changed() left in a mapping. */
static __thread struct {
	uint64_t vma_id;
	uint64_t changes;
} my_change __attribute__((tls_model("initial-exec")));

void vma_changes_mine_forget(void)
{
	my_change.vma_id = 0;
}

bool vma_changes_mine(const struct udax_vma *vma, uint64_t *changes)
{
	if (my_change.vma_id != vma->id)
		return false;
	*changes = my_change.changes;
	return true;
}

/* Clip the pages [*first, *first + *n) of the file to those vma maps.
 * Return: whether any are left. */
static bool vma_clip(const struct udax_vma *vma, uint64_t *first, uint64_t *n)
{
	uint64_t vma_end = vma->pgoff + vma->len / PAGE_SIZE_4K;
	uint64_t end = *n > UINT64_MAX - *first ? UINT64_MAX : *first + *n;

	if (*first < vma->pgoff)
		*first = vma->pgoff;
	if (end > vma_end)
		end = vma_end;
	if (*first >= end)
		return false;
	*n = end - *first;
	return true;
}

/* Record that installed pages of vma are about to fault again (see
 * udax_vma.changes): made missing, or read-only where they may have been
 * writable. Context: under the lock that keeps faults of those pages out
 * (their entry lock, or invalidate_lock exclusive). */
static void vma_changed(struct udax_vma *vma)
{
	/* seq_cst pairs with the load in the fault handler (delivery/delivery.c) */
	my_change.changes = atomic_fetch_add_explicit(&vma->changes, 1,
						     memory_order_seq_cst) + 1;
	my_change.vma_id = vma->id;
}

int vma_map_blocks(struct udax_vma *vma, uint64_t index, uint64_t n, uint64_t block,
		   int prot, enum install_mode how)
{
	uint64_t first = index;
	char *p;

	if (!vma_clip(vma, &first, &n))
		return 0;
	block += first - index;
	if (compat_inject(INJECT_MAP) || !vma_budget_charge())
		return -ENOMEM;
	/* Read-only over what another thread may have mapped writable. */
	if (!(prot & PROT_WRITE) && (vma->prot & PROT_WRITE))
		vma_changed(vma);
	p = mmap(vma_page_addr(vma, first), n * PAGE_SIZE_4K, prot, MAP_SHARED | MAP_FIXED,
		 vma->inode->st->fd, (off_t)store_block_offset(block));
	if (p == MAP_FAILED)
		return -errno;
	/* THP is "madvise" by default: without the hint the kernel maps the
	 * store's page cache 4 KiB at a time and fills it with small folios;
	 * with it, a cold 2 MiB is read into one folio on its first touch and
	 * mapped with one PMD. Random (plain and alone installs): the
	 * kernel's read-around (read_ahead_kb, 8 MiB here) would fill the
	 * page cache far beyond what was touched. A failing hint or populate
	 * costs speed, nothing else. */
	if (n >= ENTRY_PMD_PAGES && how >= INSTALL_ALONE)
		(void)madvise(p, n * PAGE_SIZE_4K, MADV_HUGEPAGE);
	if (n >= ENTRY_PMD_PAGES && (how == INSTALL_PLAIN || how == INSTALL_ALONE))
		(void)madvise(p, n * PAGE_SIZE_4K, MADV_RANDOM);
	if (how == INSTALL_POPULATE)
		(void)madvise(p, n * PAGE_SIZE_4K,
			      prot & PROT_WRITE ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
	return 0;
}

int vma_map_zero(struct udax_vma *vma, uint64_t index, uint64_t n)
{
	void *p;

	if (!vma_clip(vma, &index, &n))
		return 0;
	if (!vma_budget_charge())
		return -ENOMEM;
	if (vma->prot & PROT_WRITE)
		vma_changed(vma);
	p = mmap(vma_page_addr(vma, index), n * PAGE_SIZE_4K, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? -errno : 0;
}

/*
 * Replace [start, start+len) with fresh missing memory of protection prot.
 * With unmap_first, the range is unmapped first: the kernel refuses every
 * mmap while the process is past vm.max_map_count (a split at the limit
 * may take it one or two past), but munmap of whole VMAs is always allowed.
 * Another thread's mmap could take the range in between: MAP_FIXED_NOREPLACE
 * then fails rather than replace it, and the range is lost to udax.
 * Return: 0 or -errno.
 */
static int range_make_missing(char *start, size_t len, int prot, bool unmap_first)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED;

	if (unmap_first) {
		if (munmap(start, len) != 0)
			return -errno;
		flags = (flags & ~MAP_FIXED) | MAP_FIXED_NOREPLACE;
	}
	if (mmap(start, len, PROT_NONE, flags, -1, 0) == MAP_FAILED)
		return -errno;
	/* Should arming fail, the range stays PROT_NONE: still a valid
	 * missing state, served through SIGSEGV. */
	(void)missing_range_arm(start, len, prot);
	return 0;
}

/*
 * Make [first, last] missing in vma. An mmap over part of a VMA splits it,
 * which the kernel refuses at vm.max_map_count; then the whole mapping is
 * made missing instead (more than asked, never less: its pages fault back
 * in), first by mmap, then, past the limit, by munmap and mmap.
 * Return: 0, or -EAGAIN if the pages may still be mapped (out of VMAs, or
 * the range was lost). Context: inode.maps_lock held.
 */
static int vma_zap(struct udax_vma *vma, uint64_t first, uint64_t last)
{
	uint64_t n = last - first == UINT64_MAX ? UINT64_MAX : last - first + 1;
	char *start;
	size_t len;
	int ret;

	if (!vma_clip(vma, &first, &n))
		return 0;
	start = vma_page_addr(vma, first);
	len = (size_t)n * PAGE_SIZE_4K;
	vma_changed(vma);
	ret = range_make_missing(start, len, vma->prot, false);
	if (ret == -ENOMEM && len != vma->len)
		ret = range_make_missing(vma->addr, vma->len, vma->prot, false);
	if (ret == -ENOMEM)
		ret = range_make_missing(vma->addr, vma->len, vma->prot, true);
	return ret ? -EAGAIN : 0;
}

/* inode_protect_range() in this process's mappings. */
static int protect_here(struct inode *ino, uint64_t index, uint64_t n, uint64_t block)
{
	/* Large folios mapped with PMDs where the 2 MiB is cached; else the
	 * kernel's own read-around, so that a cold range written by small
	 * random writes is not read (and later written back) 2 MiB a time. */
	enum install_mode protect_mode = n >= ENTRY_PMD_PAGES && store_range_cached(ino->st, block, n)
		? INSTALL_HUGE : INSTALL_READAHEAD;
	int ret = 0;

	mutex_lock(&ino->maps_lock);
	for (struct udax_vma *vma = ino->maps; vma; vma = vma->next_in_inode) {
		if (!(vma->prot & PROT_WRITE))
			continue;
		vma_changed(vma);
		if (vma_map_blocks(vma, index, n, block, PROT_READ, protect_mode) != 0) {
			/* Cannot map it clean: make it missing, which is
			 * just as safe (the next access faults). */
			int err = vma_zap(vma, index, index + n - 1);

			ret = ret ? ret : err;
		}
	}
	mutex_unlock(&ino->maps_lock);
	return ret;
}

int vma_zap_all(struct udax_vma *vma)
{
	int ret;

	mutex_lock(&vma->inode->maps_lock);
	ret = vma_zap(vma, 0, UINT64_MAX);
	mutex_unlock(&vma->inode->maps_lock);
	return ret;
}

/* inode_zap_range() in this process's mappings. */
static int zap_here(struct inode *ino, uint64_t first, uint64_t last, const struct udax_vma *skip)
{
	int ret = 0;

	mutex_lock(&ino->maps_lock);
	for (struct udax_vma *vma = ino->maps; vma; vma = vma->next_in_inode) {
		int err = vma == skip ? 0 : vma_zap(vma, first, last);

		ret = ret ? ret : err;
	}
	mutex_unlock(&ino->maps_lock);
	return ret;
}

/* Have every other member that maps ino's file do op on pages [first,
 * first + count) (count UINT64_MAX: to the end), block as in struct
 * xproc_request. A member counts among the file's mappers from before its
 * first mapping can fault (under the entry lock or invalidate_lock that
 * the caller now holds) until its last mapping left its address space
 * (file_share_mapped()). Return: 0, or -EAGAIN if a member could not. */
static int others_too(struct inode *ino, uint32_t op, uint64_t first, uint64_t count,
		      uint64_t block)
{
	struct file_share *fs = ino->share;
	struct xproc_request req = { .op = op, .file = (uint32_t)ino->slot, .first = first,
				     .count = count, .block = block };
	uint64_t others;

	if (!fs)
		return 0;
	others = file_share_mappers(fs, (uint32_t)ino->slot);
	return others ? xproc_shootdown(fs->region, others, &req) : 0;
}

int inode_protect_range(struct inode *ino, uint64_t index, uint64_t n, uint64_t block)
{
	int here = protect_here(ino, index, n, block);
	int others = others_too(ino, XPROC_WRPROTECT, index, n, block);

	return here ? here : others;
}

int inode_zap_range(struct inode *ino, uint64_t first, uint64_t last,
		    const struct udax_vma *skip)
{
	int here = zap_here(ino, first, last, skip);
	int others = others_too(ino, XPROC_ZAP, first,
				last - first == UINT64_MAX ? UINT64_MAX : last - first + 1, 0);

	return here ? here : others;
}

/* Whether a write-protect request names exactly the block entry that its
 * requester holds locked: its pages and blocks. A request read torn (a
 * dead predecessor's pending one overwritten while the agent read it:
 * region_layout.h) or written over could mix one request's range with
 * another's block, and mapping that block would show this process another
 * file's data; the page index, which the requester cannot change while it
 * waits, says which block the pages have. */
static bool protect_request_valid(struct inode *ino, const struct xproc_request *req)
{
	uint64_t at = req->first & ~(uint64_t)(ENTRY_PMD_PAGES - 1), entry;

	entry = entry_next(&ino->pi, &at);
	if (entry && at < req->first && !entry_is_pmd(entry)) {
		at = req->first;	/* a 4 KiB entry before it: look at first */
		entry = entry_next(&ino->pi, &at);
	}
	return entry && entry_is_block(entry) && at == req->first &&
	       req->count == entry_pages(entry) && req->block == entry_block(entry);
}

int inode_apply_request(struct inode *ino, const struct xproc_request *req)
{
	uint64_t last;

	if (!req->count)
		return 0;
	last = req->count - 1 > UINT64_MAX - req->first ? UINT64_MAX
							 : req->first + req->count - 1;
	/* Anything but a write-protect that names its entry exactly
	 * unmaps: just as safe (the pages fault back in). */
	if (req->op == XPROC_WRPROTECT && protect_request_valid(ino, req))
		return protect_here(ino, req->first, req->count, req->block);
	return zap_here(ino, req->first, last, NULL);
}
