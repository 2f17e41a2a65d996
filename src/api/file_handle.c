// SPDX-License-Identifier: MIT
/*
 * file_handle.c - layer api: file handles: udax_open/close/unlink/rename,
 * fstat, and the argument checks of pread/pwrite/fallocate/truncate/
 * punch-hole/fsync, whose work is done by the fault layer
 * (fault/read_write.c, fault/truncate.c, fault/writeback.c).
 *
 * May call: base, store, mm (the inode), fault, inode_table.c.
 * Locks: udax_store.inodes_lock then store.lock for unlink and rename (no
 * file of the name may be open); store.lock to find or create a name;
 * inode.maps_lock to count mappings. The checkpoint of unlink and rename
 * runs with nothing held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api/handles.h"
#include "fault/read_write.h"
#include "fault/truncate.h"
#include "fault/writeback.h"

static bool name_valid(const char *name)
{
	size_t len = name ? strnlen(name, STORE_NAME_MAX + 1) : 0;

	return len >= 1 && len <= STORE_NAME_MAX && !memchr(name, '/', len);
}

int file_open(struct udax_store *s, const char *name, int flags, struct udax_file **out)
{
	int acc = flags & O_ACCMODE;
	struct udax_file *f;
	int slot, ret;

	if (!s || !out || !name_valid(name) || (acc != O_RDONLY && acc != O_RDWR) ||
	    (flags & ~(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC)))
		return -EINVAL;
	if (s->st->rdonly && (acc == O_RDWR || (flags & (O_CREAT | O_TRUNC))))
		return -EROFS;
	if ((flags & O_TRUNC) && acc != O_RDWR)
		return -EACCES;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	mutex_lock(&s->st->lock);
	slot = __store_file_find(s->st, name);
	if (slot >= 0 && (flags & O_CREAT) && (flags & O_EXCL))
		slot = -EEXIST;
	else if (slot == -ENOENT && (flags & O_CREAT))
		slot = __store_file_create(s->st, name);
	mutex_unlock(&s->st->lock);
	if (slot < 0) {
		free(f);
		return slot;
	}
	f->inode = inode_get(s, slot);
	f->writable = acc == O_RDWR;
	if (!f->inode) {
		free(f);
		return -ENOMEM;
	}
	if (flags & O_TRUNC) {
		ret = file_truncate(f, 0);
		if (ret) {
			file_close(f);
			return ret;
		}
	}
	*out = f;
	return 0;
}

int file_close(struct udax_file *f)
{
	int ret;

	if (!f)
		return -EINVAL;
	ret = inode_fsync_if_dirty(f->inode);
	inode_put(f->inode);
	free(f);
	return ret;
}

int file_unlink(struct udax_store *s, const char *name)
{
	int slot, ret = 0;

	if (!s || !name_valid(name))
		return -EINVAL;
	if (s->st->rdonly)
		return -EROFS;
	mutex_lock(&s->inodes_lock);
	mutex_lock(&s->st->lock);
	slot = __store_file_find(s->st, name);
	if (slot < 0)
		ret = slot;
	else if (s->inode[slot])
		ret = -EBUSY;
	else
		__store_file_remove(s->st, slot);
	mutex_unlock(&s->st->lock);
	mutex_unlock(&s->inodes_lock);
	/* Freed blocks become allocatable once no checkpoint names them. */
	return ret ? ret : store_checkpoint(s->st);
}

int file_rename(struct udax_store *s, const char *oldname, const char *newname)
{
	int slot, victim, ret = 0;

	if (!s || !name_valid(oldname) || !name_valid(newname))
		return -EINVAL;
	if (s->st->rdonly)
		return -EROFS;
	mutex_lock(&s->inodes_lock);
	mutex_lock(&s->st->lock);
	slot = __store_file_find(s->st, oldname);
	victim = __store_file_find(s->st, newname);
	if (slot < 0) {
		ret = slot;
	} else if (slot == victim) {
		ret = 1;	/* the same name: nothing to do */
	} else if (victim >= 0 && s->inode[victim]) {
		ret = -EBUSY;
	} else {
		/* An open handle names a slot, not a name: it follows. */
		if (victim >= 0)
			__store_file_remove(s->st, victim);
		strcpy(s->st->file[slot].name, newname);
		__store_meta_changed(s->st);
	}
	mutex_unlock(&s->st->lock);
	mutex_unlock(&s->inodes_lock);
	/* One checkpoint writes the whole file table: a crash leaves the old
	 * table or the new one. The replaced file's blocks are freed by it. */
	if (ret)
		return ret < 0 ? ret : 0;
	return store_checkpoint(s->st);
}

ssize_t file_pread(struct udax_file *f, void *buf, size_t len, uint64_t off)
{
	if (!f || (!buf && len))
		return -EINVAL;
	return inode_read(f->inode, buf, len > SSIZE_MAX ? SSIZE_MAX : len, off);
}

ssize_t file_pwrite(struct udax_file *f, const void *buf, size_t len, uint64_t off)
{
	if (!f || (!buf && len))
		return -EINVAL;
	if (!f->writable)
		return -EBADF;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (off > UDAX_FILE_MAX_BYTES || len > UDAX_FILE_MAX_BYTES - off)
		return -EFBIG;
	return inode_write(f->inode, buf, len, off);
}

int file_fallocate(struct udax_file *f, uint64_t off, uint64_t len)
{
	if (!f || !len)
		return -EINVAL;
	if (!f->writable)
		return -EBADF;
	if (off > UDAX_FILE_MAX_BYTES || len > UDAX_FILE_MAX_BYTES - off)
		return -EFBIG;
	return inode_fallocate(f->inode, off, len);
}

int file_truncate(struct udax_file *f, uint64_t size)
{
	if (!f)
		return -EINVAL;
	if (!f->writable)
		return -EBADF;
	if (size > UDAX_FILE_MAX_BYTES)
		return -EFBIG;
	return inode_truncate(f->inode, size);
}

int file_punch_hole(struct udax_file *f, uint64_t off, uint64_t len)
{
	if (!f || off > UINT64_MAX - len)
		return -EINVAL;
	if (!f->writable)
		return -EBADF;
	return inode_punch_hole(f->inode, off, len);
}

int file_fsync(struct udax_file *f)
{
	if (!f)
		return -EINVAL;
	return inode_fsync(f->inode);
}

int file_fstat(struct udax_file *f, struct udax_file_stat *st)
{
	struct udax_file_stat out = { .size = 0 };
	struct inode *ino;
	struct store *s;

	if (!f || !st)
		return -EINVAL;
	ino = f->inode;
	s = ino->st;
	out.size = atomic_load_explicit(&ino->size, memory_order_acquire);
	mutex_lock(&s->lock);
	out.blocks = s->file[ino->slot].blocks;
	mutex_unlock(&s->lock);
	out.faults_read = atomic_load_explicit(&ino->faults_read, memory_order_relaxed);
	out.faults_write = atomic_load_explicit(&ino->faults_write, memory_order_relaxed);
	out.faults_hole = atomic_load_explicit(&ino->faults_hole, memory_order_relaxed);
	out.faults_pmd = atomic_load_explicit(&ino->faults_pmd, memory_order_relaxed);
	out.faults_pmd_fallback =
		atomic_load_explicit(&ino->faults_pmd_fallback, memory_order_relaxed);
	out.pages_mapped_ahead =
		atomic_load_explicit(&ino->pages_mapped_ahead, memory_order_relaxed);
	out.map_evictions = atomic_load_explicit(&ino->map_evictions, memory_order_relaxed);
	out.faults_sigbus = atomic_load_explicit(&ino->faults_sigbus, memory_order_relaxed);
	out.lock_waits = atomic_load_explicit(&ino->pi.lock_waits, memory_order_relaxed);
	out.blocks_allocated = atomic_load_explicit(&ino->blocks_allocated, memory_order_relaxed);
	out.dirty_pages = atomic_load_explicit(&ino->pi.dirty, memory_order_relaxed);
	out.writeback_pages = atomic_load_explicit(&ino->writeback_pages, memory_order_relaxed);
	mutex_lock(&ino->maps_lock);
	for (struct udax_vma *vma = ino->maps; vma; vma = vma->next_in_inode)
		out.mappings++;
	mutex_unlock(&ino->maps_lock);
	*st = out;	/* st may be a udax mapping: written with no lock held */
	return 0;
}
