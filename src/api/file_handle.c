// SPDX-License-Identifier: MIT
/*
 * file_handle.c - layer api: file handles: udax_open/close/unlink/rename,
 * and the argument checks of pread/pwrite/fallocate/truncate/punch-hole/
 * fsync, whose work is done by the fault layer (fault/read_write.c,
 * fault/truncate.c, fault/writeback.c). Names are paths "a/b/c" of the
 * store's tree (store/store_tree.c). Each failure leaves its reason
 * (detail.c).
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

#define OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC)


/* Return -ENOSPC saying whether the store or its host ran out. */
static int no_space(struct store *st)
{
	uint64_t free_blocks, total;

	store_lock(st);
	free_blocks = st->m->blocks_free;
	total = st->data_blocks;
	store_unlock(st);
	if (!free_blocks)
		return detail_set(-ENOSPC, "the store is full: all its %llu blocks are allocated",
				  (unsigned long long)total);
	return detail_set(-ENOSPC, "the host file system holding the store is full; the "
			  "store still has %llu of its %llu blocks free",
			  (unsigned long long)free_blocks, (unsigned long long)total);
}

/* Return 0, or -EINVAL (NULL handle) or -EBADF (read-only handle). */
static int writable_check(const struct udax_file *f)
{
	if (!f)
		return detail_set(-EINVAL, "the file handle is NULL");
	if (!f->writable)
		return detail_set(-EBADF, "the file was opened O_RDONLY");
	return 0;
}

/* Return 0, or -EFBIG if [off, off+len) reaches past the largest file. */
static int range_check(uint64_t off, uint64_t len)
{
	if (off > UDAX_FILE_MAX_BYTES || len > UDAX_FILE_MAX_BYTES - off)
		return detail_set(-EFBIG, "the range ends past 64 TiB, the largest file size");
	return 0;
}

int file_open(struct udax_store *s, const char *name, int flags, struct udax_file **out)
{
	int acc = flags & O_ACCMODE;
	struct udax_file *f;
	const char *leaf;
	uint32_t parent;
	int slot, ret;

	if (!s || !out)
		return detail_set(-EINVAL, "%s is NULL", s ? "out" : "the store handle");
	ret = path_check(name);
	if (ret)
		return ret;
	if ((acc != O_RDONLY && acc != O_RDWR) || (flags & ~OPEN_FLAGS))
		return detail_set(-EINVAL, "flags 0x%x: O_RDONLY or O_RDWR, optionally with "
				  "O_CREAT, O_EXCL, O_TRUNC, O_CLOEXEC", (unsigned)flags);
	if (s->st->rdonly && (acc == O_RDWR || (flags & (O_CREAT | O_TRUNC))))
		return detail_set(-EROFS, "the store was opened read-only (UDAX_STORE_RDONLY)");
	if ((flags & O_TRUNC) && acc != O_RDWR)
		return detail_set(-EACCES, "O_TRUNC needs O_RDWR");
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	/* Held from the lookup to the inode: no unlink comes between. */
	mutex_lock(&s->inodes_lock);
	store_lock(s->st);
	ret = __store_parent_find(s->st, name, &parent, &leaf);
	slot = ret ? ret : __store_child_find(s->st, parent, leaf);
	if (slot >= 0 && (flags & O_CREAT) && (flags & O_EXCL))
		slot = -EEXIST;
	else if (slot >= 0 && s->st->file[slot].type == STORE_TYPE_DIR)
		slot = -EISDIR;
	else if (slot == -ENOENT && !ret && (flags & O_CREAT))
		slot = __store_file_create(s->st, parent, leaf, STORE_TYPE_FILE);
	if (slot >= 0 && s->share)
		file_share_open(s->share, (uint32_t)slot);
	store_unlock(s->st);
	f->inode = slot >= 0 ? __inode_get(s, slot) : NULL;
	mutex_unlock(&s->inodes_lock);
	if (slot < 0) {
		free(f);
		if (ret)
			return path_lookup_failed(ret);
		if (slot == -ENOENT)
			return detail_set(slot, "no file of that name (O_CREAT creates it)");
		if (slot == -EEXIST)
			return detail_set(slot, "a file or directory of that name exists "
					  "(O_CREAT|O_EXCL)");
		if (slot == -EISDIR)
			return detail_set(slot, "that name is a directory");
		if (slot == -ENOSPC)
			return detail_set(slot, "the store's file table is full (%u files and "
					  "directories)", s->st->files_max);
		return slot;
	}
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
		return detail_set(-EINVAL, "the file handle is NULL");
	ret = inode_fsync_if_dirty(f->inode);
	inode_put(f->inode);
	free(f);
	return checkpoint_failed(ret);
}

int file_unlink(struct udax_store *s, const char *name)
{
	const char *leaf;
	uint32_t parent;
	int slot, ret;

	if (!s)
		return detail_set(-EINVAL, "the store handle is NULL");
	ret = path_check(name);
	if (ret)
		return ret;
	if (s->st->rdonly)
		return detail_set(-EROFS, "the store was opened read-only (UDAX_STORE_RDONLY)");
	mutex_lock(&s->inodes_lock);
	store_lock(s->st);
	ret = __store_parent_find(s->st, name, &parent, &leaf);
	slot = ret ? ret : __store_child_find(s->st, parent, leaf);
	if (ret)
		ret = path_lookup_failed(ret);
	else if (slot < 0)
		ret = detail_set(slot, "no file of that name");
	else if (s->st->file[slot].type == STORE_TYPE_DIR)
		ret = detail_set(-EISDIR, "that name is a directory (udax_rmdir removes it)");
	else if (__orphan_busy(s, slot))	/* removed at its last close */
		ret = __orphan_adopt(s, slot);
	else {
		__store_file_remove(s->st, slot);
		if (s->share)
			file_share_forget(s->share, (uint32_t)slot);
	}
	store_unlock(s->st);
	mutex_unlock(&s->inodes_lock);
	/* Freed blocks become allocatable once no checkpoint names them. */
	return ret ? ret : checkpoint_failed(store_checkpoint(s->st));
}

/* Why renaming entry slot (in directory from) to the entry victim (or
 * -ENOENT) of directory to is refused, in the kernel's order; 0 if it is
 * not, 1 if there is nothing to do. Context: store.lock held. */
static int rename_refused(struct store *st, int slot, uint32_t from, int victim, uint32_t to)
{
	bool dir = st->file[slot].type == STORE_TYPE_DIR;
	bool victim_dir = victim >= 0 && st->file[victim].type == STORE_TYPE_DIR;

	if (dir && __store_dir_contains(st, slot, to))
		return detail_set(-EINVAL, "a directory cannot move into itself or its subtree");
	if (victim_dir && __store_dir_contains(st, victim, from))
		return detail_set(-ENOTEMPTY, "the new name is a directory that holds the old "
				  "name");
	if (slot == victim)
		return 1;
	if (dir && victim >= 0 && !victim_dir)
		return detail_set(-ENOTDIR, "the old name is a directory, the new name a file");
	if (!dir && victim_dir)
		return detail_set(-EISDIR, "the new name is a directory, the old name a file");
	if (victim_dir && !__store_dir_empty(st, victim))
		return detail_set(-ENOTEMPTY, "the new name is a directory that is not empty");
	return 0;
}

int file_rename(struct udax_store *s, const char *oldname, const char *newname)
{
	const char *old_leaf, *new_leaf;
	uint32_t from, to;
	int slot, victim, ret = 0;

	if (!s)
		return detail_set(-EINVAL, "the store handle is NULL");
	ret = path_check(oldname);
	if (!ret)
		ret = path_check(newname);
	if (ret)
		return ret;
	if (s->st->rdonly)
		return detail_set(-EROFS, "the store was opened read-only (UDAX_STORE_RDONLY)");
	mutex_lock(&s->inodes_lock);
	store_lock(s->st);
	ret = __store_parent_find(s->st, oldname, &from, &old_leaf);
	if (!ret)
		ret = __store_parent_find(s->st, newname, &to, &new_leaf);
	slot = ret ? ret : __store_child_find(s->st, from, old_leaf);
	victim = ret ? ret : __store_child_find(s->st, to, new_leaf);
	if (ret)
		ret = path_lookup_failed(ret);
	else if (slot < 0)
		ret = detail_set(slot, "no file or directory of the old name");
	else
		ret = rename_refused(s->st, slot, from, victim, to);
	if (!ret && victim >= 0 && __orphan_busy(s, victim)) {
		ret = __orphan_adopt(s, victim);	/* removed at its last close */
		victim = -1;
	}
	if (!ret) {
		/* An open handle names a slot, not a name: it follows; so
		 * does a directory's subtree, whose entries name its slot. */
		__store_file_rename(s->st, slot, victim, to, new_leaf);
		if (victim >= 0 && s->share)
			file_share_forget(s->share, (uint32_t)victim);
	}
	store_unlock(s->st);
	mutex_unlock(&s->inodes_lock);
	/* One checkpoint writes the whole file table: a crash leaves the old
	 * table or the new one. The replaced file's blocks are freed by it. */
	if (ret)
		return ret < 0 ? ret : 0;
	return checkpoint_failed(store_checkpoint(s->st));
}

/* Return ret, explained if it is an errno that the data path returns
 * for a reason the caller cannot see. */
static ssize_t data_path_failed(struct udax_file *f, ssize_t ret)
{
	if (ret == -ENOSPC)
		return no_space(f->inode->st);
	if (ret == -EFAULT)
		return detail_set(-EFAULT, "the buffer is not accessible memory of this process");
	return ret;
}

ssize_t file_pread(struct udax_file *f, void *buf, size_t len, uint64_t off)
{
	if (!f || (!buf && len))
		return detail_set(-EINVAL, "%s is NULL", f ? "buf" : "the file handle");
	return data_path_failed(f, inode_read(f->inode, buf, len > SSIZE_MAX ? SSIZE_MAX : len,
					      off));
}

ssize_t file_pwrite(struct udax_file *f, const void *buf, size_t len, uint64_t off)
{
	int ret = f && !buf && len ? detail_set(-EINVAL, "buf is NULL") : writable_check(f);

	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (!ret)
		ret = range_check(off, len);
	return ret ? ret : data_path_failed(f, inode_write(f->inode, buf, len, off));
}

ssize_t file_append(struct udax_file *f, const void *buf, size_t len, uint64_t *off)
{
	uint64_t at = 0;
	int ret = f && !buf && len ? detail_set(-EINVAL, "buf is NULL") : writable_check(f);
	ssize_t n;

	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (ret)
		return ret;
	n = inode_append(f->inode, buf, len, &at);
	if (n == -EFBIG)
		return detail_set(-EFBIG, "the append would end past 64 TiB, the largest file size");
	if (off)
		*off = at;
	return data_path_failed(f, n);
}

int file_fallocate(struct udax_file *f, uint64_t off, uint64_t len)
{
	int ret = f && !len ? detail_set(-EINVAL, "len is 0") : writable_check(f);

	if (!ret)
		ret = range_check(off, len);
	return ret ? ret : (int)data_path_failed(f, inode_fallocate(f->inode, off, len));
}

/* What truncate and punch answer when the range they would free stays
 * mapped (fault/truncate.c: unmap_before_free()). */
static int unmap_failed(int err)
{
	if (err == -ENOMEM)
		return detail_set(err, "the range could not be unmapped from this process's "
				  "mappings (vm.max_map_count reached, or no memory): nothing "
				  "was freed and the size is unchanged");
	return err;
}

int file_truncate(struct udax_file *f, uint64_t size)
{
	int ret = writable_check(f);

	if (!ret)
		ret = range_check(size, 0);
	return ret ? ret : unmap_failed(inode_truncate(f->inode, size));
}

int file_punch_hole(struct udax_file *f, uint64_t off, uint64_t len)
{
	int ret = f && off > UINT64_MAX - len ? detail_set(-EINVAL, "off + len overflows") :
		  writable_check(f);

	return ret ? ret : unmap_failed(inode_punch_hole(f->inode, off, len));
}

int file_fsync(struct udax_file *f)
{
	if (!f)
		return detail_set(-EINVAL, "the file handle is NULL");
	return checkpoint_failed(inode_fsync(f->inode));
}
