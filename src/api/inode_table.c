// SPDX-License-Identifier: MIT
/*
 * inode_table.c - layer api: the open files of a store handle, one inode
 * per file slot, shared by the handles and mappings of that file.
 *
 * May call: base, index (the page index), store.
 * Locks: udax_store.inodes_lock protects the table and inode.refs; store.lock
 * for the file's size as the store has it.
 */
#include <stdlib.h>

#include "api/handles.h"

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
	ino->st = s->st;
	ino->slot = slot;
	ino->handle = s;
	ino->refs = 1;
	rwlock_init(&ino->io_lock);
	rwlock_init(&ino->invalidate_lock);
	page_index_init(&ino->pi);
	mutex_init(&ino->maps_lock);
	store_lock(s->st);
	atomic_init(&ino->size, s->st->file[slot].size);
	store_unlock(s->st);
	s->inode[slot] = ino;
out_unlock:
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
		s->inode[ino->slot] = NULL;
		inode_counters_retire(ino);
	}
	mutex_unlock(&s->inodes_lock);
	if (last) {
		page_index_destroy(&ino->pi);
		free(ino);
	}
}
