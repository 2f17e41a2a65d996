// SPDX-License-Identifier: MIT
/*
 * read_write.c - layer fault: the read/write path (the kernel's
 * dax_iomap_rw): udax_pread, udax_pwrite and udax_fallocate on an open file.
 *
 * Data moves with pread(2)/pwrite(2) on the store file, so it is coherent
 * with mappings, which map the same page cache. A hole read copies zeros; a
 * hole written gets its block through the fault path (fault.h), under its
 * entry lock, so a page is never allocated twice. A buffer that is itself
 * an unpopulated udax mapping makes the syscall fail with EFAULT
 * (userfaultfd in SIGBUS mode does not serve kernel accesses): its pages
 * are then faulted in through the fault path, and the call is retried. No
 * udax lock is held while application memory is touched.
 *
 * May call: base, index, store, mm (the registry, eviction), fault.c.
 * Locks: inode.io_lock shared for the whole call (truncate and punch, which
 * take it exclusive, free no block under a read or write in flight);
 * store.lock to extend the file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "base/compat.h"
#include "fault/fault.h"
#include "fault/read_write.h"
#include "index/entry_lock.h"
#include "mm/vma_registry.h"
#include "store/store.h"

#define PREFAULT_RETRIES 8

/* Fault in every page of [buf, buf+len) through fault_page(), for a
 * syscall that failed with EFAULT on a udax-mapped buffer.
 * Return: 0, or -EFAULT if a page is not in a udax mapping that allows the
 * access, or its fault failed. */
static int user_buffer_fault_in(const void *buf, size_t len, bool write)
{
	uintptr_t page = (uintptr_t)buf & ~(uintptr_t)(PAGE_SIZE_4K - 1);

	for (; page < (uintptr_t)buf + len; page += PAGE_SIZE_4K) {
		struct udax_vma *vma = vma_get((const void *)page);
		enum fault_result ret;

		if (!vma)
			return -EFAULT;
		if (write && !(vma->prot & PROT_WRITE)) {
			vma_put(vma);
			return -EFAULT;
		}
		ret = fault_page(vma, vma->pgoff + (page - (uintptr_t)vma->addr) / PAGE_SIZE_4K,
				 write);
		vma_put(vma);
		if (ret != FAULT_OK && ret != FAULT_REMAPPED)
			return -EFAULT;
	}
	return 0;
}

/* pread/pwrite on the store file; a udax-mapped buffer that makes the
 * kernel fail with EFAULT is faulted in and the rest retried.
 * Return: 0 or -errno. */
static int store_io_prefaulting(int fd, void *buf, size_t len, uint64_t off, bool to_store)
{
	unsigned retries = 0;

	for (;;) {
		size_t done;
		int ret = compat_io_full(fd, buf, len, off, to_store, &done);

		buf = (char *)buf + done;
		len -= done;
		off += done;
		if (ret != -EFAULT || retries++ == PREFAULT_RETRIES ||
		    user_buffer_fault_in(buf, len, !to_store) != 0)
			return ret == -ENODATA ? -EIO : ret;
	}
}

/* An allocation through the fault path (fault_pwrite_block() or
 * fault_alloc_extent()) that is refused because a stale zero page could
 * not be zapped (out of VMAs) empties every mapping and is tried once
 * more. Return: as the call, with -ENOMEM for a second refusal.
 * Context: io_lock held (it orders before the eviction's locks). */
static int64_t alloc_making_room(struct inode *ino, uint64_t index, bool extent, bool stream)
{
	for (int tries = 0;; tries++) {
		int64_t ret = extent ? fault_alloc_extent(ino, index)
				     : fault_pwrite_block(ino, index, stream);

		if (ret != -EAGAIN)
			return ret;
		if (tries)
			return -ENOMEM;
		vma_evict_all();
	}
}

/* Fill buf with n zeros (a hole) through the kernel, as pread(2) would:
 * a buffer it cannot write gives -EFAULT, an unfaulted udax mapping is
 * faulted in. Without a zero source (no memfd), memset. Return: 0 or
 * -errno. */
static int read_zeros(char *buf, uint64_t n)
{
	int fd = compat_zero_fd();

	if (fd < 0) {
		memset(buf, 0, n);
		return 0;
	}
	for (uint64_t done = 0; done < n;) {
		uint64_t chunk = n - done < COMPAT_ZERO_FD_BYTES ? n - done : COMPAT_ZERO_FD_BYTES;
		int ret = store_io_prefaulting(fd, buf + done, chunk, 0, false);

		if (ret)
			return ret;
		done += chunk;
	}
	return 0;
}

/*
 * Whether a write of left bytes at pos will likely write the rest of the
 * 2 MiB around pos soon: it covers a quarter of that 2 MiB or more, or it
 * continues the previous write to the file (a sequential writer, whatever
 * its piece size; a file's first write at 0 too). Its new blocks then
 * bring their 2 MiB into the page cache as one folio (STORE_ALLOCATE_STREAM).
 */
static bool write_is_streaming(struct inode *ino, uint64_t pos, uint64_t left)
{
	uint64_t window = ENTRY_PMD_PAGES * PAGE_SIZE_4K;
	uint64_t in_window = window - pos % window;

	return (left < in_window ? left : in_window) >= window / 4 ||
	       pos == atomic_load_explicit(&ino->state->write_end, memory_order_relaxed);
}

/*
 * Write a piece of len bytes at pos whose first page is a hole, as the
 * kernel's delayed allocation would: under the 2 MiB entry lock of its
 * window (no fault or other write allocates there meanwhile), take a run
 * of blocks for the hole pages from pos on (store_reserve_run()), write
 * the data into them with zeros around it, and only then name them in
 * the file's map. No reader can see a block before its data, so the run
 * needs no zeroing pass: one pwrite(2) per run instead of a zeroing and a
 * write per 4 KiB (and each of those walks all 512 buffers of a 2 MiB
 * folio on ext4). stream: as for write_is_streaming().
 * Return: bytes written; 0 where this does not apply (4 KiB entries or a
 * 2 MiB zero page in the window; the page is no hole any more; the host is
 * full): the caller goes page by page; -EFAULT, nothing written or
 * allocated, with the bytes the kernel could read from buf first in
 * *readable (an unfaulted udax mapping, or memory not readable at all);
 * or -errno.
 * Context: io_lock shared. pwrite(2) never enters udax (an unfaulted udax
 * buffer fails with EFAULT), so the entry lock is safe to hold over it.
 */
static ssize_t pwrite_hole_run(struct inode *ino, uint64_t pos, const void *buf, uint64_t len,
			       bool stream, size_t *readable)
{
	struct store *st = ino->st;
	uint64_t index = pos / PAGE_SIZE_4K, in_page = pos % PAGE_SIZE_4K;
	uint64_t base = index & ~(uint64_t)(ENTRY_PMD_PAGES - 1), count, bytes, at;
	uint64_t pages = (in_page + len + PAGE_SIZE_4K - 1) / PAGE_SIZE_4K;
	uint64_t entry = entry_grab(&ino->pi, base, GRAB_PMD);
	int64_t block;
	size_t done;
	int ret;

	if (!entry)
		return -ENOMEM;
	if (entry == ENTRY_CONFLICT)
		return 0;
	if (!entry_is_empty(entry)) {
		entry_unlock(&ino->pi, base);
		return 0;
	}
	/* A write that fills a whole 2 MiB makes its own 2 MiB folio. */
	if (in_page == 0 && index == base && pages >= ENTRY_PMD_PAGES)
		stream = false;
	block = store_reserve_run(st, ino->slot, index, pages,
				  stream ? STORE_ALLOCATE_STREAM : STORE_ALLOCATE, &count);
	if (block <= 0) {	/* 0: another write filled the page first */
		entry_delete_locked(&ino->pi, base);
		return block;
	}
	at = store_block_offset((uint64_t)block);
	bytes = count * PAGE_SIZE_4K - in_page < len ? count * PAGE_SIZE_4K - in_page : len;
	ret = compat_io_full(st->fd, (void *)buf, bytes, at + in_page, true, &done);
	if (!ret)
		ret = compat_write_zeros(st->fd, at, in_page);
	if (!ret)
		ret = compat_write_zeros(st->fd, at + in_page + bytes,
					 count * PAGE_SIZE_4K - in_page - bytes);
	if (!ret)
		ret = store_name_run(st, ino->slot, index, (uint64_t)block, count);
	else
		store_release_run(st, (uint64_t)block, count);
	if (!ret)
		atomic_fetch_add_explicit(&ino->blocks_allocated, count, memory_order_relaxed);
	entry_delete_locked(&ino->pi, base);
	if (ret == -EFAULT)
		*readable = done;
	if (ret == -ENOSPC || ret == -EAGAIN)	/* EAGAIN: a hole filled meanwhile */
		return 0;
	return ret ? ret : (ssize_t)bytes;
}

/*
 * The next piece of an I/O at pos with left bytes to go: the bytes that lie
 * in consecutive store blocks from *block, or in a run of holes (*block 0).
 * With allocate, a hole page gets its block first (one page: the run ends
 * there).
 * Return: bytes in the piece; *block < 0 on an error.
 */
static uint64_t io_piece(struct inode *ino, uint64_t pos, uint64_t left, bool allocate,
			 int64_t *block)
{
	struct store *st = ino->st;
	uint64_t index = pos / PAGE_SIZE_4K, in_page = pos % PAGE_SIZE_4K;
	uint64_t pages = (in_page + left + PAGE_SIZE_4K - 1) / PAGE_SIZE_4K;
	uint64_t run, bytes;

	*block = store_map_run(st, ino->slot, index, pages, &run);
	if (*block == 0 && allocate) {
		*block = alloc_making_room(ino, index, false, write_is_streaming(ino, pos, left));
		run = 1;
	}
	bytes = run * PAGE_SIZE_4K - in_page;
	return bytes < left ? bytes : left;
}

ssize_t inode_read(struct inode *ino, void *buf, size_t len, uint64_t off)
{
	uint64_t size, done = 0;
	int ret;

	ret = file_read_lock(&ino->io_lock);
	if (ret)
		return ret;
	size = atomic_load_explicit(&ino->state->size, memory_order_acquire);
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
			ret = read_zeros((char *)buf + done, n);
		else
			ret = store_io_prefaulting(ino->st->fd, (char *)buf + done, n,
				       store_block_offset((uint64_t)block) +
				       (off + done) % PAGE_SIZE_4K, false);
		if (!ret)
			done += n;
	}
out_unlock:
	file_read_unlock(&ino->io_lock);
	return done ? (ssize_t)done : ret;
}

/* Raise the file size to at least size. Context: io_lock held. */
static void inode_extend(struct inode *ino, uint64_t size)
{
	struct store *st = ino->st;
	uint64_t cur = atomic_load_explicit(&ino->state->size, memory_order_relaxed);

	/* Concurrent writers (io_lock shared) only ever raise it. */
	while (cur < size &&
	       !atomic_compare_exchange_weak_explicit(&ino->state->size, &cur, size,
						      memory_order_release,
						      memory_order_relaxed))
		;
	store_lock(st);
	if (st->file[ino->slot].size < size) {
		st->file[ino->slot].size = size;
		__store_meta_changed(st);
	}
	store_unlock(st);
}

/*
 * Write into holes from pos: as one run (pwrite_hole_run()), else page by
 * page. A buffer the kernel cannot read is faulted in if it is an
 * unfaulted udax mapping, and the run tried again; else only what could
 * be read is written, and nothing is allocated for the rest (as write(2)).
 * Return: bytes written, or -errno (-EFAULT: nothing could be read).
 */
static ssize_t pwrite_holes(struct inode *ino, uint64_t pos, const char *buf, uint64_t len,
			    unsigned *faults_left)
{
	for (;;) {
		size_t readable = 0;
		ssize_t written = pwrite_hole_run(ino, pos, buf, len,
						  write_is_streaming(ino, pos, len), &readable);

		if (written != -EFAULT)
			return written;
		if (*faults_left && user_buffer_fault_in(buf, len, false) == 0) {
			(*faults_left)--;
			continue;
		}
		if (!readable)
			return -EFAULT;
		len = readable;
	}
}

/* inode_write()'s work. Context: io_lock held, shared or exclusive. */
static ssize_t write_locked(struct inode *ino, const void *buf, size_t len, uint64_t off)
{
	unsigned faults_left = PREFAULT_RETRIES;
	uint64_t done = 0;
	int ret = 0;

	while (done < len && !ret) {
		int64_t block;
		uint64_t n = io_piece(ino, off + done, len - done, false, &block);
		ssize_t written = 0;

		if (block == 0)
			written = pwrite_holes(ino, off + done, (const char *)buf + done,
					       len - done, &faults_left);
		if (written > 0) {
			done += (uint64_t)written;
			continue;
		}
		if (written == 0 && block == 0)	/* page by page */
			n = io_piece(ino, off + done, len - done, true, &block);
		if (written < 0)
			ret = (int)written;
		else if (block < 0)
			ret = (int)block;
		else
			ret = store_io_prefaulting(ino->st->fd, (char *)buf + done, n,
				       store_block_offset((uint64_t)block) +
				       (off + done) % PAGE_SIZE_4K, true);
		if (!ret)
			done += n;
	}
	if (done) {
		atomic_store_explicit(&ino->state->write_end, off + done, memory_order_relaxed);
		atomic_store_explicit(&ino->state->unsynced_writes, true, memory_order_relaxed);
		inode_extend(ino, off + done);
	}
	return done ? (ssize_t)done : ret;
}

ssize_t inode_write(struct inode *ino, const void *buf, size_t len, uint64_t off)
{
	ssize_t ret = file_read_lock(&ino->io_lock);

	if (ret)
		return ret;
	ret = write_locked(ino, buf, len, off);
	file_read_unlock(&ino->io_lock);
	return ret;
}

ssize_t inode_append(struct inode *ino, const void *buf, size_t len, uint64_t *off)
{
	ssize_t ret;

	/* exclusive: no other append (nor a truncate) between reading the
	 * size and extending it, in any process */
	file_write_lock(&ino->io_lock);
	*off = atomic_load_explicit(&ino->state->size, memory_order_relaxed);
	ret = *off > STORE_FILE_MAX_BYTES || len > STORE_FILE_MAX_BYTES - *off ? -EFBIG :
	      write_locked(ino, buf, len, *off);
	file_write_unlock(&ino->io_lock);
	return ret;
}

int inode_fallocate(struct inode *ino, uint64_t off, uint64_t len)
{
	uint64_t page, end;
	int ret;

	end = (off + len + PAGE_SIZE_4K - 1) / PAGE_SIZE_4K;
	ret = file_read_lock(&ino->io_lock);
	if (ret)
		return ret;
	for (page = off / PAGE_SIZE_4K; page < end && !ret;) {
		int64_t got = 0;

		if (page % ENTRY_PMD_PAGES == 0 && end - page >= ENTRY_PMD_PAGES)
			got = alloc_making_room(ino, page, true, false);
		if (got > 0) {
			page += ENTRY_PMD_PAGES;
			continue;
		}
		if (got == 0)
			got = alloc_making_room(ino, page++, false, false);
		ret = got < 0 ? (int)got : 0;
	}
	if (!ret)
		inode_extend(ino, off + len);
	file_read_unlock(&ino->io_lock);
	return ret;
}
