// SPDX-License-Identifier: MIT
/*
 * store_handle.c - layer api: the store calls behind udax.h (api.c):
 * create, open, close, stat, readdir, check; each leaves its reason text
 * in detail.c.
 *
 * May call: base, store, mm (the delivery in use), delivery (installing the
 * fault handlers at the first open).
 * Locks: udax_store.inodes_lock (handles.h) to check no file is open at
 * close; store.lock for the figures of udax_store_stat().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/handles.h"
#include "delivery/delivery.h"
#include "mm/missing.h"
#include "xproc/xproc.h"
#include "udax.h"

int store_path_create(const char *path, uint64_t size_bytes, unsigned flags)
{
	struct store_error why = { "" };
	int ret;

	if (!path)
		return detail_set(-EINVAL, "the path is NULL");
	if (flags & ~UDAX_STORE_PREALLOC)
		return detail_set(-EINVAL, "flags 0x%x: only UDAX_STORE_PREALLOC is defined",
				  flags);
	ret = store_format(path, size_bytes, flags, &why);
	return detail_set(ret, "%s", why.text);
}

/* What a fork child needs to find the store again (fork.c); without
 * memory for the path, its children do not inherit its mappings. */
static void store_identity_keep(struct udax_store *s, int fd, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->path = realpath(path, NULL);
}

/*
 * The handle of the store at path (flags: 0 or UDAX_STORE_RDONLY): loaded
 * for this process alone (store_load), or, shared, for several
 * processes (store_load_shared, whose agent thread carries out the other
 * processes' requests with inode_table_apply() on this handle, from the
 * join on: the handle exists first, and its table is published under
 * apply_lock). Return: 0 and *out, or -errno with the reason (detail.c).
 */
static int handle_open(const char *path, unsigned flags, bool shared, struct udax_store **out)
{
	struct store_error why = { "" };
	const char *delivery_why = "";
	struct udax_store *s;
	struct inode **table;
	struct store *st;
	int ret;

	ret = delivery_init(&delivery_why);
	if (ret)
		return detail_set(ret, "%s", delivery_why);
	s = calloc(1, sizeof(*s));
	if (s && shared)
		s->share = calloc(1, sizeof(*s->share));
	if (!s || (shared && !s->share)) {
		free(s);
		return -ENOMEM;
	}
	mutex_init(&s->inodes_lock);
	mutex_init(&s->apply_lock);
	s->owner = getpid();
	s->flags = flags;
	ret = shared ? store_load_shared(path, flags, file_share_bytes, inode_table_apply, s, &st,
					 &why)
		     : store_load(path, flags, &st, &why);
	if (ret) {
		free(s->share);
		free(s);
		return detail_set(ret, "%s", why.text);
	}
	/* Before this process uses anything of the region's files. */
	if (shared) {
		file_share_attach(s->share, st->region, st->callers_area, st->files_max,
				  st->space);
		store_identity_keep(s, st->fd, path);
	}
	table = calloc(st->files_max, sizeof(*table));
	if (!table) {
		store_unload(st);
		free(s->path);
		free(s->share);
		free(s);
		return -ENOMEM;
	}
	mutex_lock(&s->apply_lock);
	s->st = st;
	s->inode = table;
	mutex_unlock(&s->apply_lock);
	/* Files removed while open by processes now gone (or a crash). */
	(void)orphans_reap(s);
	detail_set(0, "%s", why.text);	/* "" or: opened from the older superblock */
	*out = s;
	return 0;
}

int store_handle_open(const char *path, unsigned flags, struct udax_store **out)
{
	int ret;

	if (!path || !out)
		return detail_set(-EINVAL, "%s is NULL", path ? "out" : "the path");
	if (flags & ~(UDAX_STORE_RDONLY | UDAX_STORE_EXCLUSIVE))
		return detail_set(-EINVAL, "flags 0x%x: only UDAX_STORE_RDONLY and "
				  "UDAX_STORE_EXCLUSIVE are defined", flags);
	if (flags & UDAX_STORE_EXCLUSIVE)
		return handle_open(path, flags & UDAX_STORE_RDONLY, false, out);
	ret = handle_open(path, flags, true, out);
	/* A reader who may not write the store file (its mode, a read-only
	 * mount, an immutable file), nor so its region, or finds no room for
	 * the region, reads it alone, or beside other such readers. */
	if ((ret == -EACCES || ret == -EROFS || ret == -EPERM || ret == -ENOSPC) &&
	    (flags & UDAX_STORE_RDONLY))
		ret = handle_open(path, flags, false, out);
	return ret;
}

int store_path_check(const char *path, unsigned flags)
{
	struct store_error why = { "" };
	int ret;

	if (!path)
		return detail_set(-EINVAL, "the path is NULL");
	if (flags & ~UDAX_CHECK_REPAIR)
		return detail_set(-EINVAL, "flags 0x%x: only UDAX_CHECK_REPAIR is defined", flags);
	ret = store_check_path(path, flags, &why);
	/* the problem, or a warning, or what was repaired */
	return detail_set(ret, "%s", why.text);
}

int store_handle_close(struct udax_store *s)
{
	uint32_t busy = 0;
	int ret;

	if (!s)
		return detail_set(-EINVAL, "the store handle is NULL");
	mutex_lock(&s->inodes_lock);
	for (uint32_t i = 0; i < s->st->files_max; i++)
		busy += s->inode[i] != NULL;
	mutex_unlock(&s->inodes_lock);
	if (busy)
		return detail_set(-EBUSY, "%u file%s still open or mapped: close the handles "
				  "and unmap the mappings first", busy, busy == 1 ? " is" : "s are");
	ret = s->st->rdonly ? 0 : store_checkpoint(s->st);
	if (!s->share && !s->st->rdonly)	/* alone: nobody else locks */
		xproc_lock_proxies_remove(s->st->fd);
	store_unload(s->st);
	free(s->path);
	free(s->share);
	free(s->inode);
	free(s);
	return ret;
}

int store_handle_sync(struct udax_store *s)
{
	if (!s)
		return detail_set(-EINVAL, "the store handle is NULL");
	return s->st->rdonly ? 0 : checkpoint_failed(store_checkpoint(s->st));
}

/* The caller's buffers may be udax mappings whose faults take udax locks:
 * results are built in local copies and copied out after unlocking. */
int store_handle_stat(struct udax_store *s, struct udax_store_stat *st)
{
	struct udax_store_stat out = { .block_size = STORE_BLOCK_SIZE };

	if (!s || !st)
		return detail_set(-EINVAL, "%s is NULL", s ? "st" : "the store handle");
	store_lock(s->st);
	out.blocks_total = s->st->data_blocks;
	out.blocks_free = s->st->m->blocks_free;
	out.files = s->st->m->files;
	out.files_max = s->st->files_max;
	store_unlock(s->st);
	out.delivery = missing_delivery();
	/* A shared store's indexes are in its region, counted by every
	 * process that shares it. */
	out.index_bytes = (radix_nodes_in_use() +
			   (s->st->region ? xproc_arena_nodes_in_use(s->st->region) : 0)) *
			  sizeof(struct radix_node);
	*st = out;
	return 0;
}

int store_handle_readdir(struct udax_store *s, const char *dir, uint64_t *cookie, char *name,
			 size_t size, unsigned *type)
{
	char found[STORE_NAME_MAX + 1] = "";
	uint32_t parent = STORE_PARENT_ROOT;
	unsigned found_type = 0;
	uint64_t next;
	int slot = 0;

	if (!s || !cookie || !name)
		return detail_set(-EINVAL, "%s is NULL",
				  !s ? "the store handle" : !cookie ? "cookie" : "name");
	if (size < UDAX_NAME_MAX + 1)
		return detail_set(-EINVAL, "size %zu: the name buffer needs UDAX_NAME_MAX + 1 "
				  "(256) bytes", size);
	if (dir && *dir && path_check(dir))
		return -EINVAL;
	next = *cookie;
	store_lock(s->st);
	if (dir && *dir) {
		slot = __store_file_find(s->st, dir);
		if (slot >= 0 && s->st->file[slot].type != STORE_TYPE_DIR)
			slot = -ENOTDIR;
		parent = store_parent_of_slot(slot);
	}
	for (; slot >= 0 && next < s->st->files_max && !found[0]; next++) {
		const struct store_file *f = &s->st->file[next];

		if (f->in_use && f->parent == parent &&
		    !(parent == STORE_PARENT_ROOT && !strcmp(f->name, ORPHAN_DIR))) {
			strcpy(found, f->name);
			found_type = f->type == STORE_TYPE_DIR ? UDAX_TYPE_DIR : UDAX_TYPE_FILE;
		}
	}
	store_unlock(s->st);
	if (slot < 0)
		return detail_set(slot, slot == -ENOTDIR ? "the path names a file or passes "
				  "through one, not a directory" : "no directory of that path");
	*cookie = next;
	if (!found[0])
		return 0;
	strcpy(name, found);
	if (type)
		*type = found_type;
	return 1;
}
