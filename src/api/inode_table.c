// SPDX-License-Identifier: MIT
/*
 * inode_table.c - layer api: the open files of a store handle, one inode
 * per file slot, shared by the handles and mappings of that file.
 *
 * May call: base, index (the page index), store, mm (the shared files).
 * Locks: udax_store.inodes_lock protects the table and inode.refs, and
 * apply_lock (under it) the table's entries for the agent; store.lock
 * for the file's size as the store has it; a shared file's first opener
 * holds its io_lock exclusive (under inodes_lock) to make it anew.
 */
#include <stdlib.h>

#include "api/handles.h"
#include "mm/install.h"

/* Make the shared state of ino's file anew if it was removed (or the
 * region made) since its last opener: no entry of the earlier file may
 * stay in the page index (its blocks are freed), and the size is the
 * store's. Other members' first opens wait on io_lock; invalidate_lock
 * is held too, as for any invalidation, though nobody maps the file yet
 * (removal needs no opener, and no first open has finished since). Context:
 * inodes_lock held; ino counted among the file's openers. */
static void shared_first_open(struct inode *ino)
{
	struct file_state *state = ino->state;
	uint64_t index = 0, entry;

	if (atomic_load_explicit(&state->size_known, memory_order_acquire))
		return;
	file_write_lock(&ino->io_lock);
	if (atomic_load_explicit(&state->size_known, memory_order_acquire))
		goto out_unlock;
	file_write_lock(&ino->invalidate_lock);
	while ((entry = entry_next(&ino->pi, &index))) {
		entry_invalidate(&ino->pi, index, entry);
		if (++index == 0)
			break;
	}
	file_write_unlock(&ino->invalidate_lock);
	store_lock(ino->st);
	atomic_store_explicit(&state->size, ino->st->file[ino->slot].size, memory_order_relaxed);
	store_unlock(ino->st);
	atomic_store_explicit(&state->write_end, 0, memory_order_relaxed);
	atomic_store_explicit(&state->unsynced_writes, 0, memory_order_relaxed);
	atomic_store_explicit(&state->made, compat_random64(), memory_order_relaxed);
	atomic_store_explicit(&state->size_known, 1, memory_order_release);
out_unlock:
	file_write_unlock(&ino->io_lock);
}

/* Give ino its page index, state and locks: its own, or the region's. */
static void inode_state_init(struct udax_store *s, struct inode *ino)
{
	struct file_share *fs = s->share;
	struct file_shared *shared;

	if (!fs) {
		ino->state = &ino->own_state;
		file_rwlock_init(&ino->io_lock, NULL, NULL);
		file_rwlock_init(&ino->invalidate_lock, NULL, NULL);
		page_index_init(&ino->pi);
		store_lock(s->st);
		atomic_init(&ino->own_state.size, s->st->file[ino->slot].size);
		store_unlock(s->st);
		return;
	}
	shared = &fs->file[ino->slot];
	ino->share = fs;
	ino->state = &shared->state;
	file_rwlock_init(&ino->io_lock, &shared->io_lock, fs->region);
	file_rwlock_init(&ino->invalidate_lock, &shared->invalidate_lock, fs->region);
	page_index_init_shared(&ino->pi, &fs->index, (uint32_t)ino->slot);
	shared_first_open(ino);
	ino->made = atomic_load_explicit(&shared->state.made, memory_order_relaxed);
}

struct inode *__inode_get(struct udax_store *s, int slot)
{
	struct inode *ino = s->inode[slot];

	if (ino) {
		ino->refs++;
		return ino;
	}
	ino = calloc(1, sizeof(*ino));
	if (!ino) {
		if (s->share)
			file_share_close(s->share, (uint32_t)slot);
		return NULL;
	}
	ino->st = s->st;
	ino->slot = slot;
	ino->handle = s;
	ino->refs = 1;
	mutex_init(&ino->maps_lock);
	inode_state_init(s, ino);
	mutex_lock(&s->apply_lock);
	s->inode[slot] = ino;
	mutex_unlock(&s->apply_lock);
	return ino;
}

struct inode *inode_get(struct udax_store *s, int slot)
{
	struct inode *ino;

	mutex_lock(&s->inodes_lock);
	ino = __inode_get(s, slot);
	mutex_unlock(&s->inodes_lock);
	return ino;
}

void inode_put(struct inode *ino)
{
	struct udax_store *s = ino->handle;
	bool last;

	mutex_lock(&s->inodes_lock);
	last = --ino->refs == 0;
	if (last) {
		mutex_lock(&s->apply_lock);
		s->inode[ino->slot] = NULL;
		mutex_unlock(&s->apply_lock);
		inode_counters_retire(ino);
		if (s->share)
			file_share_close(s->share, (uint32_t)ino->slot);
		__orphan_let_go(s, ino->slot);
	}
	mutex_unlock(&s->inodes_lock);
	if (!last)
		return;
	if (!s->share)
		page_index_destroy(&ino->pi);
	free(ino);
}

int inode_table_apply(void *ctx, const struct xproc_request *req)
{
	struct udax_store *s = ctx;
	struct inode *ino = NULL;
	int ret = 0;

	mutex_lock(&s->apply_lock);
	/* Before the handle is made (the agent starts at the join) nothing
	 * of this process is mapped. */
	if (s->inode && req->file < s->st->files_max)
		ino = s->inode[req->file];
	if (ino)
		ret = inode_apply_request(ino, req);
	mutex_unlock(&s->apply_lock);
	return ret;
}
