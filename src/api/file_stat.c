// SPDX-License-Identifier: MIT
/*
 * file_stat.c - layer api: a file's figures: udax_fstat() of an open file
 * (its size and this process's fault counters), udax_store_counters() (those
 * counters summed over the store's files) and udax_stat() by name
 * (what the store's block map says: size, blocks, extents, 2 MiB extents;
 * of a directory, its type and zeros).
 *
 * May call: base, store, mm (the inode's counters).
 * Locks: udax_store.inodes_lock, held across udax_stat()'s walk so that
 * the slot keeps its file (unlink and rename take it first); store.lock,
 * taken per run of the walk (store_map_run()), so that faults of the file
 * wait at most one run's lookups; inode.maps_lock to count mappings;
 * udax_store.closed_counters under inodes_lock.
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
	store_lock(s->st);
	ret = __store_parent_find(s->st, name, &parent, &leaf);
	slot = ret ? ret : __store_child_find(s->st, parent, leaf);
	if (slot >= 0) {
		out.size = s->st->file[slot].size;
		out.blocks = s->st->file[slot].blocks;
		out.type = s->st->file[slot].type == STORE_TYPE_DIR ? UDAX_TYPE_DIR :
									UDAX_TYPE_FILE;
	}
	store_unlock(s->st);
	if (slot < 0) {
		mutex_unlock(&s->inodes_lock);
		return ret ? path_lookup_failed(ret) :
			     detail_set(slot, "no file or directory of that name");
	}
	ino = s->inode[slot];
	if (ino) {	/* open here: its size may be ahead of the store's */
		out.size = atomic_load_explicit(&ino->state->size, memory_order_acquire);
		out.users = ino->refs;
	}
	file_layout(s->st, slot, &out);
	mutex_unlock(&s->inodes_lock);
	*st = out;	/* st may be a udax mapping: written with no lock held */
	return 0;
}

/* Add the counters of ino to out (the fields udax_fstat() and
 * udax_store_counters() share; atomics, no lock). */
static void inode_counters_add(struct inode *ino, struct udax_file_stat *out)
{
#define ADD(field, counter) out->field += atomic_load_explicit(&(counter), memory_order_relaxed)
	ADD(faults_read, ino->faults_read);
	ADD(faults_write, ino->faults_write);
	ADD(faults_hole, ino->faults_hole);
	ADD(faults_pmd, ino->faults_pmd);
	ADD(faults_pmd_fallback, ino->faults_pmd_fallback);
	ADD(pages_mapped_ahead, ino->pages_mapped_ahead);
	ADD(map_evictions, ino->map_evictions);
	ADD(faults_sigbus, ino->faults_sigbus);
	ADD(lock_waits, ino->pi.d->lock_waits);
	ADD(blocks_allocated, ino->blocks_allocated);
	ADD(writeback_pages, ino->writeback_pages);
#undef ADD
}

/* Add what only an open file has (size, blocks, dirty pages, mappings).
 * Context: takes store.lock, then inode.maps_lock. */
static void inode_state_add(struct inode *ino, struct udax_file_stat *out)
{
	struct store *s = ino->st;

	out->size += atomic_load_explicit(&ino->state->size, memory_order_acquire);
	store_lock(s);
	out->blocks += s->file[ino->slot].blocks;
	store_unlock(s);
	out->dirty_pages += page_index_dirty(&ino->pi);
	mutex_lock(&ino->maps_lock);
	for (struct udax_vma *vma = ino->maps; vma; vma = vma->next_in_inode)
		out->mappings++;
	mutex_unlock(&ino->maps_lock);
}

void inode_counters_retire(struct inode *ino)
{
	inode_counters_add(ino, &ino->handle->closed_counters);
}

int file_fstat(struct udax_file *f, struct udax_file_stat *st)
{
	struct udax_file_stat out = { .size = 0 };

	if (!f || !st)
		return detail_set(-EINVAL, "%s is NULL", f ? "st" : "the file handle");
	inode_state_add(f->inode, &out);
	inode_counters_add(f->inode, &out);
	*st = out;	/* st may be a udax mapping: written with no lock held */
	return 0;
}

int file_id(struct udax_file *f, uint64_t *id)
{
	if (!f || !id)
		return detail_set(-EINVAL, "%s is NULL", f ? "id" : "the file handle");
	/* set when the entry was made, and never changed while it is: read
	 * without store.lock */
	*id = f->inode->st->file[f->inode->slot].birth;
	if (!*id)	/* made before udax 0.4 */
		*id = (uint64_t)f->inode->slot + 1;
	return 0;
}

int file_stat_store(struct udax_store *s, struct udax_file_stat *st)
{
	struct udax_file_stat out;

	if (!s || !st)
		return detail_set(-EINVAL, "%s is NULL", s ? "st" : "the store handle");
	mutex_lock(&s->inodes_lock);
	out = s->closed_counters;
	for (uint32_t slot = 0; slot < s->st->files_max; slot++) {
		if (s->inode[slot]) {
			inode_state_add(s->inode[slot], &out);
			inode_counters_add(s->inode[slot], &out);
		}
	}
	mutex_unlock(&s->inodes_lock);
	*st = out;	/* st may be a udax mapping: written with no lock held */
	return 0;
}
