// SPDX-License-Identifier: MIT
/*
 * dir_handle.c - layer api: the directories of a store: udax_mkdir and
 * udax_rmdir. The tree itself is the store's (store/store_tree.c).
 *
 * Both calls change the file table and checkpoint before they return, as
 * udax_unlink and udax_rename do: a crash leaves the directory made (or
 * removed) or not, never half.
 *
 * May call: base, store, detail.c.
 * Locks: store.lock around the lookup and the change; the checkpoint runs
 * with nothing held.
 */
#include <errno.h>

#include "api/handles.h"

/* Return 0, or the error that refuses a change of s by a path call. */
static int change_check(struct udax_store *s, const char *path)
{
	if (!s)
		return detail_set(-EINVAL, "the store handle is NULL");
	if (path_check(path))
		return -EINVAL;
	if (s->st->rdonly)
		return detail_set(-EROFS, "the store was opened read-only (UDAX_STORE_RDONLY)");
	return 0;
}

int dir_make(struct udax_store *s, const char *path, mode_t mode)
{
	const char *leaf;
	uint32_t parent;
	int ret = change_check(s, path), slot;

	(void)mode;	/* store entries have no permission bits */
	if (ret)
		return ret;
	store_lock(s->st);
	ret = __store_parent_find(s->st, path, &parent, &leaf);
	slot = ret ? ret : __store_child_find(s->st, parent, leaf);
	if (ret)
		ret = path_lookup_failed(ret);
	else if (slot >= 0)
		ret = detail_set(-EEXIST, "a %s of that name exists",
				 s->st->file[slot].type == STORE_TYPE_DIR ? "directory" : "file");
	else if ((slot = __store_file_create(s->st, parent, leaf, STORE_TYPE_DIR)) < 0)
		ret = detail_set(slot, "the store's file table is full (%u files and "
				 "directories)", s->st->files_max);
	store_unlock(s->st);
	return ret ? ret : checkpoint_failed(store_checkpoint(s->st));
}

int dir_remove(struct udax_store *s, const char *path)
{
	const char *leaf;
	uint32_t parent;
	int ret = change_check(s, path), slot;

	if (ret)
		return ret;
	store_lock(s->st);
	ret = __store_parent_find(s->st, path, &parent, &leaf);
	slot = ret ? ret : __store_child_find(s->st, parent, leaf);
	if (ret)
		ret = path_lookup_failed(ret);
	else if (slot < 0)
		ret = detail_set(slot, "no directory of that name");
	else if (s->st->file[slot].type != STORE_TYPE_DIR)
		ret = detail_set(-ENOTDIR, "that name is a file (udax_unlink removes it)");
	else if (!__store_dir_empty(s->st, slot))
		ret = detail_set(-ENOTEMPTY, "the directory is not empty");
	else
		__store_file_remove(s->st, slot);
	store_unlock(s->st);
	return ret ? ret : checkpoint_failed(store_checkpoint(s->st));
}
