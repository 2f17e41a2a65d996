// SPDX-License-Identifier: MIT
/*
 * store_handle.c - layer api: the store calls behind udax.h (api.c):
 * create, open, close, stat, readdir, check, and the reason text of the
 * last failed one.
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
#include <unistd.h>

#include "api/handles.h"
#include "delivery/delivery.h"
#include "mm/missing.h"
#include "udax.h"

static __thread struct store_error last_error;

static int fail(int err, const struct store_error *why)
{
	last_error = *why;
	return err;
}

const char *store_handle_error(void)
{
	return last_error.text;
}

int store_path_create(const char *path, uint64_t size_bytes, unsigned flags)
{
	struct store_error why = { "" };
	int ret;

	if (!path || (flags & ~UDAX_STORE_PREALLOC)) {
		store_error_set(&why, "invalid argument");
		return fail(-EINVAL, &why);
	}
	ret = store_format(path, size_bytes, flags, &why);
	return ret ? fail(ret, &why) : 0;
}

int store_handle_open(const char *path, unsigned flags, struct udax_store **out)
{
	struct store_error why = { "" };
	const char *delivery_why = "";
	struct udax_store *s;
	int ret;

	if (!path || !out || (flags & ~UDAX_STORE_RDONLY)) {
		store_error_set(&why, "invalid argument");
		return fail(-EINVAL, &why);
	}
	ret = delivery_init(&delivery_why);
	if (ret) {
		store_error_set(&why, "%s", delivery_why);
		return fail(ret, &why);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	mutex_init(&s->inodes_lock);
	s->owner = getpid();
	ret = store_load(path, flags, &s->st, &why);
	if (ret) {
		free(s);
		return fail(ret, &why);
	}
	s->inode = calloc(s->st->files_max, sizeof(*s->inode));
	if (!s->inode) {
		store_unload(s->st);
		free(s);
		return -ENOMEM;
	}
	last_error = why;	/* "" or: opened from the older superblock */
	*out = s;
	return 0;
}

int store_path_check(const char *path, unsigned flags)
{
	struct store_error why = { "" };
	int ret;

	if (!path || (flags & ~UDAX_CHECK_REPAIR)) {
		store_error_set(&why, "invalid argument");
		return fail(-EINVAL, &why);
	}
	ret = store_check_path(path, flags, &why);
	last_error = why;	/* the problem, or a warning, or what was repaired */
	return ret;
}

int store_handle_close(struct udax_store *s)
{
	bool busy = false;
	int ret;

	if (!s)
		return -EINVAL;
	mutex_lock(&s->inodes_lock);
	for (uint32_t i = 0; i < s->st->files_max && !busy; i++)
		busy = s->inode[i] != NULL;
	mutex_unlock(&s->inodes_lock);
	if (busy)
		return -EBUSY;
	ret = s->st->rdonly ? 0 : store_checkpoint(s->st);
	store_unload(s->st);
	free(s->inode);
	free(s);
	return ret;
}

/* The caller's buffers may be udax mappings whose faults take udax locks:
 * results are built in local copies and copied out after unlocking. */
int store_handle_stat(struct udax_store *s, struct udax_store_stat *st)
{
	struct udax_store_stat out = { .block_size = STORE_BLOCK_SIZE };

	if (!s || !st)
		return -EINVAL;
	mutex_lock(&s->st->lock);
	out.blocks_total = s->st->data_blocks;
	out.blocks_free = s->st->blocks_free;
	out.files = s->st->files;
	out.files_max = s->st->files_max;
	mutex_unlock(&s->st->lock);
	out.delivery = missing_delivery();
	out.index_bytes = radix_nodes_in_use() * sizeof(struct radix_node);
	*st = out;
	return 0;
}

int store_handle_readdir(struct udax_store *s, uint64_t *cookie, char *name, size_t size)
{
	char found[STORE_NAME_MAX + 1] = "";
	uint64_t next;

	if (!s || !cookie || !name || size < UDAX_NAME_MAX + 1)
		return -EINVAL;
	next = *cookie;
	mutex_lock(&s->st->lock);
	for (; next < s->st->files_max && !found[0]; next++)
		if (s->st->file[next].in_use)
			strcpy(found, s->st->file[next].name);
	mutex_unlock(&s->st->lock);
	*cookie = next;
	if (!found[0])
		return 0;
	strcpy(name, found);
	return 1;
}
