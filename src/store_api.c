// SPDX-License-Identifier: MIT
/*
 * store_api.c - the public store calls: create, open, close, stat, and the
 * reason text of the last failed open.
 *
 * Locks: udax_store.inodes_lock (internal.h) to check no file is open at
 * close; store.lock for the figures of udax_store_stat().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "udax.h"

static __thread struct store_error last_error;

static int fail(int err, const struct store_error *why)
{
	last_error = *why;
	return err;
}

const char *udax_strerror_detail(void)
{
	return last_error.text;
}

int udax_store_create(const char *path, uint64_t size_bytes, unsigned flags)
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

int udax_store_open(const char *path, unsigned flags, struct udax_store **out)
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
	last_error.text[0] = '\0';
	*out = s;
	return 0;
}

int udax_store_check(const char *path, unsigned flags)
{
	struct store_error why = { "" };
	int ret;

	if (!path || flags) {
		store_error_set(&why, "invalid argument");
		return fail(-EINVAL, &why);
	}
	ret = store_check_path(path, &why);
	if (ret)
		return fail(ret, &why);
	last_error.text[0] = '\0';
	return 0;
}

int udax_store_close(struct udax_store *s)
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

int udax_store_stat(struct udax_store *s, struct udax_store_stat *st)
{
	if (!s || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	mutex_lock(&s->st->lock);
	st->block_size = STORE_BLOCK_SIZE;
	st->blocks_total = s->st->data_blocks;
	st->blocks_free = s->st->blocks_free;
	st->files = s->st->files;
	st->files_max = s->st->files_max;
	mutex_unlock(&s->st->lock);
	st->delivery = delivery_mode();
	st->index_bytes = radix_nodes_in_use() * sizeof(struct radix_node);
	return 0;
}

int udax_readdir(struct udax_store *s, uint64_t *cookie, char *name, size_t size)
{
	int found = 0;

	if (!s || !cookie || !name || size < UDAX_NAME_MAX + 1)
		return -EINVAL;
	mutex_lock(&s->st->lock);
	for (; *cookie < s->st->files_max && !found; (*cookie)++) {
		const struct store_file *f = &s->st->file[*cookie];

		if (f->in_use) {
			strcpy(name, f->name);
			found = 1;
		}
	}
	mutex_unlock(&s->st->lock);
	return found;
}
