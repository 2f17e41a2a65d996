// SPDX-License-Identifier: MIT
/*
 * mapping_handle.c - layer api: udax_mmap(), udax_munmap(), udax_msync():
 * checking their arguments, making the mapping (address space reserved
 * missing, mm/missing.h) and registering it (mm/vma_registry.h), syncing
 * its file (fault/writeback.h).
 *
 * May call: mm, fault, inode_table.c. Locks: none of its own (the
 * registry's and the inode's, inside the calls).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "api/handles.h"
#include "fault/writeback.h"
#include "mm/missing.h"
#include "mm/vma_registry.h"

int mapping_create(struct udax_file *f, uint64_t off, size_t len, int prot, void **addr)
{
	struct udax_vma *vma;
	struct inode *ino;
	int ret;

	bool sync = prot & UDAX_MAP_SYNC, pte_only = prot & UDAX_MAP_PTE;

	prot &= ~(UDAX_MAP_SYNC | UDAX_MAP_PTE);
	if (!f || !addr || !len || off % PAGE_SIZE_4K ||
	    (prot != PROT_READ && prot != (PROT_READ | PROT_WRITE)) ||
	    len > UDAX_FILE_MAX_BYTES || off > UDAX_FILE_MAX_BYTES - len)
		return -EINVAL;
	if ((prot & PROT_WRITE) && !f->writable)
		return f->inode->st->rdonly ? -EROFS : -EACCES;
	len = (len + PAGE_SIZE_4K - 1) & ~(size_t)(PAGE_SIZE_4K - 1);
	vma = calloc(1, sizeof(*vma));
	if (!vma)
		return -ENOMEM;
	ret = missing_range_reserve(len, prot, (void **)&vma->addr);
	if (ret) {
		free(vma);
		return ret;
	}
	ino = f->inode;
	vma->len = len;
	vma->pgoff = off / PAGE_SIZE_4K;
	vma->prot = prot;
	vma->sync = sync;
	vma->pte_only = pte_only;
	vma->inode = inode_get(ino->handle, ino->slot);
	map_ahead_init(&vma->ahead);
	vma_register(vma);
	*addr = vma->addr;
	return 0;
}

int mapping_remove(void *addr, size_t len)
{
	struct udax_vma *vma = vma_unregister(addr, len);
	struct inode *ino;
	int ret;

	if (!vma)
		return -EINVAL;
	ino = vma->inode;
	ret = inode_fsync_if_dirty(ino);
	inode_put(ino);
	free(vma);
	return ret;
}

int mapping_sync(void *addr, size_t len, int flags)
{
	struct udax_vma *vma;
	int ret;

	if (!addr || (uintptr_t)addr % PAGE_SIZE_4K ||
	    (flags & ~(MS_SYNC | MS_ASYNC | MS_INVALIDATE)) ||
	    ((flags & MS_SYNC) && (flags & MS_ASYNC)))
		return -EINVAL;
	vma = vma_get(addr);
	if (!vma)
		return -ENOMEM;	/* as msync(2): not a mapped range */
	if ((char *)addr + len > vma->addr + vma->len) {
		vma_put(vma);
		return -ENOMEM;
	}
	ret = flags & MS_SYNC ? inode_fsync(vma->inode) : 0;
	vma_put(vma);
	return ret;
}
