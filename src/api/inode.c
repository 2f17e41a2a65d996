// SPDX-License-Identifier: MIT
/*
 * inode.c - open files: udax_open/close/unlink/rename, pread/pwrite, truncate,
 * punch-hole, fsync, fstat.
 *
 * Locks (order in internal.h):
 *  - udax_store.inodes_lock: the inode table and inode.refs.
 *  - inode.io_lock: pread/pwrite shared, truncate/punch exclusive (the
 *    kernel's i_rwsem): no block is freed under a read or write in flight.
 *  - inode.invalidate_lock: faults shared, truncate/punch exclusive (the
 *    kernel's invalidate_lock): truncate sees no fault half done.
 * Data moves with pread(2)/pwrite(2) on the store file, so it is coherent
 * with mappings, which map the same page cache. A buffer that is itself an
 * unpopulated udax mapping makes the syscall fail with EFAULT (userfaultfd
 * in SIGBUS mode does not serve kernel accesses): its pages are then
 * faulted in through the fault path, and the call is retried. No udax lock
 * is held while application memory is touched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/internal.h"
#include "udax.h"

#define PREFAULT_RETRIES 8

struct inode *inode_get(struct udax_store *s, int slot)
{
	struct inode *ino;

	mutex_lock(&s->inodes_lock);
	ino = s->inode[slot];
	if (ino) {
		ino->refs++;
		goto out_unlock;
	}
	ino = calloc(1, sizeof(*ino));
	if (!ino)
		goto out_unlock;
	ino->store = s;
	ino->slot = slot;
	ino->refs = 1;
	rwlock_init(&ino->io_lock);
	rwlock_init(&ino->invalidate_lock);
	page_index_init(&ino->pi);
	mutex_init(&ino->maps_lock);
	mutex_lock(&s->st->lock);
	atomic_init(&ino->size, s->st->file[slot].size);
	mutex_unlock(&s->st->lock);
	s->inode[slot] = ino;
out_unlock:
	mutex_unlock(&s->inodes_lock);
	return ino;
}

void inode_put(struct inode *ino)
{
	struct udax_store *s = ino->store;
	bool last;

	mutex_lock(&s->inodes_lock);
	last = --ino->refs == 0;
	if (last)
		s->inode[ino->slot] = NULL;
	mutex_unlock(&s->inodes_lock);
	if (last) {
		page_index_destroy(&ino->pi);
		free(ino);
	}
}

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

/* pread/pwrite on the store file; a udax-mapped buffer that makes the
 * kernel fail with EFAULT is faulted in and the rest retried.
 * Return: 0 or -errno. */
static int store_io(int fd, void *buf, size_t len, uint64_t off, bool to_store)
{
	unsigned retries = 0;

	for (;;) {
		size_t done;
		int ret = compat_io_full(fd, buf, len, off, to_store, &done);

		buf = (char *)buf + done;
		len -= done;
		off += done;
		if (ret != -EFAULT || retries++ == PREFAULT_RETRIES ||
		    vma_fault_in(buf, len, !to_store) != 0)
			return ret == -ENODATA ? -EIO : ret;
	}
}

/* An allocation through the fault path (fault_pwrite_block() or
 * fault_alloc_extent()) that is refused because a stale zero page could
 * not be zapped (out of VMAs) empties every mapping and is tried once
 * more. Return: as the call, with -ENOMEM for a second refusal.
 * Context: io_lock held (it orders before the eviction's locks). */
static int64_t alloc_making_room(struct inode *ino, uint64_t index, bool extent)
{
	for (int tries = 0;; tries++) {
		int64_t ret = extent ? fault_alloc_extent(ino, index)
				     : fault_pwrite_block(ino, index);

		if (ret != -EAGAIN)
			return ret;
		if (tries)
			return -ENOMEM;
		vma_evict_all();
	}
}

/*
 * The next piece of an I/O at pos with left bytes to go: the bytes that lie
 * in consecutive store blocks from *block, or in a run of holes (*block 0).
 * With allocate, a hole page gets its block first (one page: the run ends
 * there), or a whole aligned 2 MiB of holes its extent.
 * Return: bytes in the piece; *block < 0 on an error.
 */
static uint64_t io_piece(struct inode *ino, uint64_t pos, uint64_t left, bool allocate,
			 int64_t *block)
{
	struct store *st = ino->store->st;
	uint64_t index = pos / PAGE_SIZE_4K, in_page = pos % PAGE_SIZE_4K;
	uint64_t pages = (in_page + left + PAGE_SIZE_4K - 1) / PAGE_SIZE_4K;
	uint64_t run, bytes;

	*block = store_map_run(st, ino->slot, index, pages, &run);
	if (*block == 0 && allocate) {
		/* A write covering a whole aligned 2 MiB of holes gets an
		 * extent, as udax_fallocate gives it: one zeroing, and 2 MiB
		 * faults later. Any other hole page gets its own block. */
		if (in_page == 0 && index % ENTRY_PMD_PAGES == 0 && pages >= ENTRY_PMD_PAGES &&
		    alloc_making_room(ino, index, true) > 0) {
			*block = store_map_run(st, ino->slot, index, pages, &run);
		} else {
			*block = alloc_making_room(ino, index, false);
			run = 1;
		}
	}
	bytes = run * PAGE_SIZE_4K - in_page;
	return bytes < left ? bytes : left;
}

ssize_t file_pread(struct udax_file *f, void *buf, size_t len, uint64_t off)
{
	struct inode *ino;
	uint64_t size, done = 0;
	int ret = 0;

	if (!f || (!buf && len))
		return -EINVAL;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	ino = f->inode;
	rwlock_read_lock(&ino->io_lock);
	size = atomic_load_explicit(&ino->size, memory_order_acquire);
	if (off >= size)
		goto out_unlock;
	if (len > size - off)
		len = (size_t)(size - off);
	while (done < len && !ret) {
		int64_t block;
		uint64_t n = io_piece(ino, off + done, len - done, false, &block);

		if (block < 0)
			ret = (int)block;
		else if (block == 0)
			memset((char *)buf + done, 0, n);
		else
			ret = store_io(ino->store->st->fd, (char *)buf + done, n,
				       store_block_offset((uint64_t)block) +
				       (off + done) % PAGE_SIZE_4K, false);
		if (!ret)
			done += n;
	}
out_unlock:
	rwlock_read_unlock(&ino->io_lock);
	return done ? (ssize_t)done : ret;
}

/* Raise the file size to at least size. Context: io_lock held. */
static void inode_extend(struct inode *ino, uint64_t size)
{
	struct store *st = ino->store->st;
	uint64_t cur = atomic_load_explicit(&ino->size, memory_order_relaxed);

	/* Concurrent writers (io_lock shared) only ever raise it. */
	while (cur < size &&
	       !atomic_compare_exchange_weak_explicit(&ino->size, &cur, size,
						      memory_order_release,
						      memory_order_relaxed))
		;
	mutex_lock(&st->lock);
	if (st->file[ino->slot].size < size) {
		st->file[ino->slot].size = size;
		__store_meta_changed(st);
	}
	mutex_unlock(&st->lock);
}

ssize_t file_pwrite(struct udax_file *f, const void *buf, size_t len, uint64_t off)
{
	struct inode *ino;
	uint64_t done = 0;
	int ret = 0;

	if (!f || (!buf && len))
		return -EINVAL;
	if (!f->writable)
		return -EBADF;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (off > UDAX_FILE_MAX_BYTES || len > UDAX_FILE_MAX_BYTES - off)
		return -EFBIG;
	ino = f->inode;
	rwlock_read_lock(&ino->io_lock);
	while (done < len && !ret) {
		int64_t block;
		uint64_t n = io_piece(ino, off + done, len - done, true, &block);

		if (block < 0)
			ret = (int)block;
		else
			ret = store_io(ino->store->st->fd, (char *)buf + done, n,
				       store_block_offset((uint64_t)block) +
				       (off + done) % PAGE_SIZE_4K, true);
		if (!ret)
			done += n;
	}
	if (done) {
		atomic_store_explicit(&ino->unsynced_writes, true, memory_order_relaxed);
		inode_extend(ino, off + done);
	}
	rwlock_read_unlock(&ino->io_lock);
	return done ? (ssize_t)done : ret;
}

int file_fallocate(struct udax_file *f, uint64_t off, uint64_t len)
{
	uint64_t page, end;
	struct inode *ino;
	int ret = 0;

	if (!f || !len)
		return -EINVAL;
	if (!f->writable)
		return -EBADF;
	if (off > UDAX_FILE_MAX_BYTES || len > UDAX_FILE_MAX_BYTES - off)
		return -EFBIG;
	ino = f->inode;
	end = (off + len + PAGE_SIZE_4K - 1) / PAGE_SIZE_4K;
	rwlock_read_lock(&ino->io_lock);
	for (page = off / PAGE_SIZE_4K; page < end && !ret;) {
		int64_t got = 0;

		if (page % ENTRY_PMD_PAGES == 0 && end - page >= ENTRY_PMD_PAGES)
			got = alloc_making_room(ino, page, true);
		if (got > 0) {
			page += ENTRY_PMD_PAGES;
			continue;
		}
		if (got == 0)
			got = alloc_making_room(ino, page++, false);
		ret = got < 0 ? (int)got : 0;
	}
	if (!ret)
		inode_extend(ino, off + len);
	rwlock_read_unlock(&ino->io_lock);
	return ret;
}

/* Zero [from, to) inside one page, if it has a block. Context: io_lock and
 * invalidate_lock held exclusive. */
static int zero_partial(struct inode *ino, uint64_t from, uint64_t to)
{
	struct store *st = ino->store->st;
	int64_t block;

	if (from >= to)
		return 0;
	block = store_get_block(st, ino->slot, from / PAGE_SIZE_4K, false);
	if (block <= 0)
		return (int)block;
	return compat_write_zeros(st->fd, store_block_offset((uint64_t)block) +
				  from % PAGE_SIZE_4K, to - from);
}

/* Widen [*first, *last] to the 2 MiB entries overlapping its ends: they
 * go whole. Context: invalidate_lock held exclusive. */
static void widen_to_entries(struct inode *ino, uint64_t *first, uint64_t *last)
{
	uint64_t at = *first & ~(ENTRY_PMD_PAGES - 1), entry;

	entry = entry_next(&ino->pi, &at);
	if (entry && entry_is_pmd(entry) && at == (*first & ~(ENTRY_PMD_PAGES - 1)))
		*first = at;
	if (*last == UINT64_MAX)
		return;
	at = *last & ~(ENTRY_PMD_PAGES - 1);
	entry = entry_next(&ino->pi, &at);
	if (entry && entry_is_pmd(entry) && at == (*last & ~(ENTRY_PMD_PAGES - 1)))
		*last = at + ENTRY_PMD_PAGES - 1;
}

/*
 * Unmap pages [first, last] (widened to whole 2 MiB entries) in every
 * mapping before their blocks are freed. Should the kernel refuse (the
 * process at vm.max_map_count), every udax mapping is emptied and the
 * unmap tried once more; invalidate_lock is dropped meanwhile, so faults
 * may map pages again, and the second try unmaps those too.
 * Return: 0, or -ENOMEM if pages may still be mapped: nothing may be freed.
 * Context: io_lock and invalidate_lock held exclusive (on return too).
 */
static int unmap_before_free(struct inode *ino, uint64_t first, uint64_t last)
{
	for (int tries = 0;; tries++) {
		uint64_t from = first, to = last;

		widen_to_entries(ino, &from, &to);
		if (!inode_zap_range(ino, from, to, NULL))
			return 0;
		if (tries)
			return -ENOMEM;
		rwlock_write_unlock(&ino->invalidate_lock);
		vma_evict_all();
		rwlock_write_lock(&ino->invalidate_lock);
	}
}

/* Drop and free pages [first, last], unmapped by unmap_before_free(). A
 * 2 MiB entry overlapping the range goes whole, and the pages of it that
 * stay are found again, as 4 KiB entries, by their next fault (the
 * checkpoint that follows flushes what was written to them).
 * Context: io_lock and invalidate_lock held exclusive, so no fault or
 * write runs on the file. */
static void invalidate_pages(struct inode *ino, uint64_t first, uint64_t last)
{
	uint64_t index = first & ~(ENTRY_PMD_PAGES - 1), entry;

	while ((entry = entry_next(&ino->pi, &index)) && index <= last) {
		if (index + entry_pages(entry) <= first) {
			index++;	/* a 4 KiB entry before the range */
			continue;
		}
		/* A changed entry would be a normal race, never a warning. */
		entry_invalidate(&ino->pi, index, entry);
		if (++index == 0)
			break;
	}
	store_free_range(ino->store->st, ino->slot, first, last);
}

/* Set the file size (the inode's and the store's). Context: io_lock. */
static void inode_size_set(struct inode *ino, uint64_t size)
{
	struct store *st = ino->store->st;

	atomic_store_explicit(&ino->size, size, memory_order_seq_cst);
	mutex_lock(&st->lock);
	st->file[ino->slot].size = size;
	__store_meta_changed(st);
	mutex_unlock(&st->lock);
}

int file_truncate(struct udax_file *f, uint64_t size)
{
	struct inode *ino;
	uint64_t old, first;
	int ret = 0;

	if (!f)
		return -EINVAL;
	if (!f->writable)
		return -EBADF;
	if (size > UDAX_FILE_MAX_BYTES)
		return -EFBIG;
	ino = f->inode;
	rwlock_write_lock(&ino->io_lock);
	rwlock_write_lock(&ino->invalidate_lock);
	old = atomic_load_explicit(&ino->size, memory_order_relaxed);
	/* The new size is visible before any page is unmapped: a fault that
	 * arrives later sees it under its entry lock and raises SIGBUS. */
	inode_size_set(ino, size);
	first = (size + PAGE_SIZE_4K - 1) / PAGE_SIZE_4K;
	if (size < old && unmap_before_free(ino, first, UINT64_MAX)) {
		inode_size_set(ino, old);	/* nothing changed */
		ret = -ENOMEM;
		goto out_unlock;
	}
	/* Bytes past the old or new EOF inside its last page (a mapping may
	 * have written there) must read as zeros inside the file. */
	ret = zero_partial(ino, size < old ? size : old,
			   ((size < old ? size : old) + PAGE_SIZE_4K - 1) &
			   ~(uint64_t)(PAGE_SIZE_4K - 1));
	if (size < old)
		invalidate_pages(ino, first, UINT64_MAX);
out_unlock:
	rwlock_write_unlock(&ino->invalidate_lock);
	rwlock_write_unlock(&ino->io_lock);
	if (!ret && size < old)
		ret = store_checkpoint(ino->store->st);
	return ret;
}

int file_punch_hole(struct udax_file *f, uint64_t off, uint64_t len)
{
	uint64_t end, first, last_excl, size;
	struct inode *ino;
	int ret = 0;

	if (!f || off > UINT64_MAX - len)
		return -EINVAL;
	if (!f->writable)
		return -EBADF;
	ino = f->inode;
	rwlock_write_lock(&ino->io_lock);
	rwlock_write_lock(&ino->invalidate_lock);
	size = atomic_load_explicit(&ino->size, memory_order_relaxed);
	end = off + len < size ? off + len : size;
	if (off >= end)
		goto out_unlock;
	first = (off + PAGE_SIZE_4K - 1) / PAGE_SIZE_4K;
	last_excl = end / PAGE_SIZE_4K;
	if (first > last_excl) {	/* inside one page */
		ret = zero_partial(ino, off, end);
		goto out_unlock;
	}
	if (first < last_excl && unmap_before_free(ino, first, last_excl - 1)) {
		ret = -ENOMEM;	/* nothing changed */
		goto out_unlock;
	}
	ret = zero_partial(ino, off, first * PAGE_SIZE_4K);
	if (!ret)
		ret = zero_partial(ino, last_excl * PAGE_SIZE_4K, end);
	if (first < last_excl)
		invalidate_pages(ino, first, last_excl - 1);
out_unlock:
	rwlock_write_unlock(&ino->invalidate_lock);
	rwlock_write_unlock(&ino->io_lock);
	if (!ret && off < end)
		ret = store_checkpoint(ino->store->st);
	return ret;
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
	s = ino->store->st;
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
