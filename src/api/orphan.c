// SPDX-License-Identifier: MIT
/*
 * orphan.c - layer api: files removed while open, the kernel's orphans.
 * udax_unlink() of a file that a handle or mapping uses, in this process
 * or in another of a shared store, and udax_rename() over one, move its
 * entry into the store's directory ORPHAN_DIR (in the root, made on
 * demand; udax_readdir() never lists it and no path may name it), under
 * its slot number: its blocks stay for those using it, its name is free.
 * It is removed when nobody uses it any more:
 * - by the last process to let it go (inode_put(): its last handle or
 *   mapping of the file, with no live process of the store holding it);
 * - at the next open of the store, for those left by processes that died
 *   or exited holding them, or by a crash (ext4's orphan list, replayed
 *   at mount, does the same).
 * Removed blocks are released by the next checkpoint, as an unlink's.
 *
 * May call: store, mm (file_share). Locks: inodes_lock, then store.lock,
 * as udax_unlink().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/handles.h"
#include "mm/file_share.h"

/* The orphans' directory's slot, made if make. Context: store.lock held.
 * Return: the slot, or -errno (-ENOENT: none, -ENOSPC: no slot left). */
static int orphan_dir(struct store *st, bool make)
{
	int slot = __store_child_find(st, STORE_PARENT_ROOT, ORPHAN_DIR);

	if (slot >= 0 && st->file[slot].type != STORE_TYPE_DIR)
		return -ENOENT;	/* an older store's file of that name: left alone */
	if (slot == -ENOENT && make)
		slot = __store_file_create(st, STORE_PARENT_ROOT, ORPHAN_DIR, STORE_TYPE_DIR);
	return slot;
}

/* Whether slot is an orphan: in the orphans' directory (parent), named
 * after its slot (never a file an older udax let a program put there).
 * Context: store.lock held. */
static bool orphan_named(struct store *st, int slot, uint32_t parent)
{
	char name[16];

	snprintf(name, sizeof(name), "%d", slot);
	return st->file[slot].in_use && st->file[slot].parent == parent &&
	       st->file[slot].type == STORE_TYPE_FILE && !strcmp(st->file[slot].name, name);
}

bool __orphan_busy(struct udax_store *s, int slot)
{
	return s->inode[slot] || (s->share && file_share_open_elsewhere(s->share, (uint32_t)slot));
}

int __orphan_adopt(struct udax_store *s, int slot)
{
	char name[16];
	int dir = orphan_dir(s->st, true);

	if (dir < 0)
		return detail_set(-EBUSY, "the file is open or mapped, and the store has no file "
				  "slot left to keep it until it is closed");
	snprintf(name, sizeof(name), "%d", slot);
	__store_file_rename(s->st, slot, -1, store_parent_of_slot(dir), name);
	return 0;
}

void __orphan_let_go(struct udax_store *s, int slot)
{
	int dir;

	if (s->st->rdonly)
		return;
	store_lock(s->st);
	/* every last close comes here: the file's own parent says whether it
	 * is an orphan, without looking the directory up by name */
	dir = (int)s->st->file[slot].parent - 1;
	if (s->st->file[slot].parent != STORE_PARENT_ROOT && s->st->file[dir].in_use &&
	    s->st->file[dir].parent == STORE_PARENT_ROOT &&
	    s->st->file[dir].type == STORE_TYPE_DIR && !strcmp(s->st->file[dir].name, ORPHAN_DIR) &&
	    orphan_named(s->st, slot, store_parent_of_slot(dir)) && !__orphan_busy(s, slot)) {
		__store_file_remove(s->st, slot);
		if (s->share)
			file_share_forget(s->share, (uint32_t)slot);
	}
	store_unlock(s->st);
}

int orphans_reap(struct udax_store *s)
{
	uint32_t parent;
	int dir, reaped = 0;

	if (s->st->rdonly)
		return 0;
	mutex_lock(&s->inodes_lock);
	store_lock(s->st);
	dir = orphan_dir(s->st, false);
	parent = dir >= 0 ? store_parent_of_slot(dir) : 0;
	for (uint32_t i = 0; dir >= 0 && i < s->st->files_max; i++) {
		if (!orphan_named(s->st, (int)i, parent) || __orphan_busy(s, (int)i))
			continue;
		__store_file_remove(s->st, (int)i);
		if (s->share)
			file_share_forget(s->share, i);
		reaped++;
	}
	store_unlock(s->st);
	mutex_unlock(&s->inodes_lock);
	return reaped ? store_checkpoint(s->st) : 0;
}
