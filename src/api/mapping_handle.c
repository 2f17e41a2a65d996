// SPDX-License-Identifier: MIT
/*
 * mapping_handle.c - layer api: udax_mmap2() (and udax_mmap()), udax_munmap(),
 * udax_msync():
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

/* Return 0, or -EINVAL saying which argument of udax_mmap2() is wrong. */
static int mapping_args_check(struct udax_file *f, uint64_t off, size_t len, int prot,
			      int flags, void **addr)
{
	if (!f || !addr)
		return detail_set(-EINVAL, "%s is NULL", f ? "addr" : "the file handle");
	if (!len)
		return detail_set(-EINVAL, "len is 0");
	if (off % PAGE_SIZE_4K)
		return detail_set(-EINVAL, "off is not a multiple of 4096");
	if (prot != PROT_READ && prot != (PROT_READ | PROT_WRITE))
		return detail_set(-EINVAL, "prot 0x%x: PROT_READ or PROT_READ|PROT_WRITE",
				  (unsigned)prot);
	if (flags & ~(UDAX_MAP_SYNC | UDAX_MAP_PTE | UDAX_MAP_DONTFORK))
		return detail_set(-EINVAL, "flags 0x%x: 0, or UDAX_MAP_SYNC, UDAX_MAP_PTE and "
				  "UDAX_MAP_DONTFORK or'ed", (unsigned)flags);
	if (len > UDAX_FILE_MAX_BYTES || off > UDAX_FILE_MAX_BYTES - len)
		return detail_set(-EINVAL, "the range ends past 64 TiB, the largest file size");
	return 0;
}

int mapping_create(struct udax_file *f, uint64_t off, size_t len, int prot, int flags,
		   void **addr)
{
	struct udax_vma *vma;
	struct inode *ino;
	int ret = mapping_args_check(f, off, len, prot, flags, addr);

	if (ret)
		return ret;
	if ((prot & PROT_WRITE) && !f->writable)
		return f->inode->st->rdonly ?
			detail_set(-EROFS, "the store was opened read-only (UDAX_STORE_RDONLY)") :
			detail_set(-EACCES, "PROT_WRITE of a file opened O_RDONLY");
	len = (len + PAGE_SIZE_4K - 1) & ~(size_t)(PAGE_SIZE_4K - 1);
	vma = calloc(1, sizeof(*vma));
	if (!vma)
		return -ENOMEM;
	ret = missing_range_reserve(len, prot, (void **)&vma->addr);
	if (ret) {
		free(vma);
		return ret == -ENOMEM ? detail_set(ret, "no address space for %zu bytes "
						   "(RLIMIT_AS or vm.max_map_count)", len) : ret;
	}
	ino = f->inode;
	vma->len = len;
	vma->pgoff = off / PAGE_SIZE_4K;
	vma->prot = prot;
	vma->sync = flags & UDAX_MAP_SYNC;
	vma->pte_only = flags & UDAX_MAP_PTE;
	vma->dontfork = flags & UDAX_MAP_DONTFORK;
	vma->inode = inode_get(ino->handle, ino->slot);
	map_ahead_init(&vma->ahead);
	vma_register(vma);
	*addr = vma->addr;
	return 0;
}

int mapping_remove(void *addr, size_t len)
{
	struct udax_vma *vma = vma_unregister(addr, len);
	struct udax_store *inherited;
	struct inode *ino;
	int ret, closed;

	if (!vma)
		return detail_set(-EINVAL, "no udax mapping at addr of len bytes (a whole mapping, "
				  "as udax_mmap2() returned it)");
	ino = vma->inode;
	/* Read before the put: once the file is closed, another thread may
	 * close an application's store. */
	inherited = ino->handle->inherited ? ino->handle : NULL;
	ret = inode_fsync_if_dirty(ino);
	inode_put(ino);
	free(vma);
	if (!inherited)
		return ret;
	closed = mapping_inherited_gone(inherited);
	return ret ? ret : closed;
}

int mapping_sync(void *addr, size_t len, int flags)
{
	struct udax_vma *vma;
	int ret;

	if (!addr || (uintptr_t)addr % PAGE_SIZE_4K)
		return detail_set(-EINVAL, "addr is not a multiple of 4096");
	if ((flags & ~(MS_SYNC | MS_ASYNC | MS_INVALIDATE)) ||
	    ((flags & MS_SYNC) && (flags & MS_ASYNC)))
		return detail_set(-EINVAL, "flags 0x%x: MS_SYNC or MS_ASYNC, optionally with "
				  "MS_INVALIDATE", (unsigned)flags);
	vma = vma_get(addr);
	if (vma && (char *)addr + len > vma->addr + vma->len) {
		vma_put(vma);
		vma = NULL;
	}
	if (!vma)	/* -ENOMEM as msync(2): not a mapped range */
		return detail_set(-ENOMEM, "[addr, addr + len) is not inside one udax mapping");
	ret = flags & MS_SYNC ? inode_fsync(vma->inode) : 0;
	vma_put(vma);
	return ret;
}
