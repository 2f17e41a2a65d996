// SPDX-License-Identifier: MIT
/*
 * file_stat.c - layer api: a file's figures: udax_fstat() of an open file
 * (its size and this process's fault counters) and udax_stat() by name
 * (what the store's block map says: size, blocks, extents, 2 MiB extents;
 * of a directory, its type and zeros).
 *
 * May call: base, store, mm (the inode's counters).
 * Locks: udax_store.inodes_lock, held across udax_stat()'s walk so that
 * the slot keeps its file (unlink and rename take it first); store.lock,
 * taken per run of the walk (store_map_run()), so that faults of the file
 * wait at most one run's lookups; inode.maps_lock to count mappings.
 */
#include <errno.h>

#include "api/handles.h"

#define FILE_MAX_BLOCKS (UDAX_FILE_MAX_BYTES / STORE_BLOCK_SIZE)

/* The whole, aligned groups of a run of n blocks from file block fblock
 * at store block block: groups that one 2 MiB fault maps. */
static uint64_t run_groups(uint64_t fblock, uint64_t block, uint64_t n)
{
	uint64_t first = (fblock + STORE_GROUP_BLOCKS - 1) / STORE_GROUP_BLOCKS * STORE_GROUP_BLOCKS;

	if (fblock % STORE_GROUP_BLOCKS != block % STORE_GROUP_BLOCKS || fblock + n < first)
		return 0;
	return (fblock + n - first) / STORE_GROUP_BLOCKS;
}

/* Count the extents and 2 MiB extents of file slot's block map.
 * Context: the caller holds udax_store.inodes_lock (the slot keeps its
 * file); takes store.lock per run. */
static void file_layout(struct store *st, int slot, struct udax_stat *out)
{
	uint64_t fblock = 0, run;

	while (fblock < FILE_MAX_BLOCKS) {
		int64_t block = store_map_run(st, slot, fblock, FILE_MAX_BLOCKS - fblock, &run);

		if (block > 0) {
			out->extents++;
			out->extents_2mib += run_groups(fblock, (uint64_t)block, run);
		}
		fblock += run;
	}
}

int file_stat_name(struct udax_store *s, const char *name, struct udax_stat *st)
{
	struct udax_stat out = { .size = 0 };
	struct inode *ino;
	const char *leaf;
	uint32_t parent;
	int slot, ret;

	if (!s || !st)
		return detail_set(-EINVAL, "%s is NULL", s ? "st" : "the store handle");
	if (path_check(name))
		return -EINVAL;
	mutex_lock(&s->inodes_lock);
	mutex_lock(&s->st->lock);
	ret = __store_parent_find(s->st, name, &parent, &leaf);
	slot = ret ? ret : __store_child_find(s->st, parent, leaf);
	if (slot >= 0) {
		out.size = s->st->file[slot].size;
		out.blocks = s->st->file[slot].blocks;
		out.type = s->st->file[slot].type == STORE_TYPE_DIR ? UDAX_TYPE_DIR :
									UDAX_TYPE_FILE;
	}
	mutex_unlock(&s->st->lock);
	if (slot < 0) {
		mutex_unlock(&s->inodes_lock);
		return ret ? path_lookup_failed(ret) :
			     detail_set(slot, "no file or directory of that name");
	}
	ino = s->inode[slot];
	if (ino) {	/* open here: its size may be ahead of the store's */
		out.size = atomic_load_explicit(&ino->size, memory_order_acquire);
		out.users = ino->refs;
	}
	file_layout(s->st, slot, &out);
	mutex_unlock(&s->inodes_lock);
	*st = out;	/* st may be a udax mapping: written with no lock held */
	return 0;
}

int file_fstat(struct udax_file *f, struct udax_file_stat *st)
{
	struct udax_file_stat out = { .size = 0 };
	struct inode *ino;
	struct store *s;

	if (!f || !st)
		return detail_set(-EINVAL, "%s is NULL", f ? "st" : "the file handle");
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
