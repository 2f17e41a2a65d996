// SPDX-License-Identifier: MIT
/*
 * store_tree.c - layer store: the file table as a tree of directories.
 * Every entry (file or directory) names its directory by parent: the root
 * (STORE_PARENT_ROOT) or a directory's slot + 1, and holds the last
 * component of its path. A rename changes one entry's parent and name, so
 * moving a directory moves its whole subtree in one change of the table,
 * which one checkpoint writes (crash-consistent as files are).
 *
 * Also here: the rule of paths, and the repair, which reattaches the
 * entries cut off from the root (store_tree_breaks(), store_disk.c) under
 * lost+found.
 *
 * May call: base, store_disk.c. Locks: the __ functions run under store.lock (store.h);
 * store_tree_breaks() works on arrays of its caller; store_tree_repair()
 * on a store loaded for the repair only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

const char *store_path_problem(const char *path)
{
	size_t len;

	if (!path)
		return "the path is NULL";
	len = strnlen(path, STORE_PATH_MAX + 1);
	if (len == 0)
		return "the path is empty (" STORE_PATH_RULE ")";
	if (len > STORE_PATH_MAX)
		return "the path is longer than 4095 bytes (" STORE_PATH_RULE ")";
	for (const char *c = path; *c;) {
		size_t n = strcspn(c, "/");

		if (n == 0)
			return "the path has an empty component (" STORE_PATH_RULE ")";
		if (n > STORE_NAME_MAX)
			return "a component of the path is longer than 255 bytes ("
			       STORE_PATH_RULE ")";
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return "the path has a '.' or '..' component (" STORE_PATH_RULE ")";
		c += n;
		if (*c == '/' && !*++c)
			return "the path ends with '/' (" STORE_PATH_RULE ")";
	}
	return NULL;
}

/* The entry called name[0..len) in directory parent. Return: slot or
 * -ENOENT. Context: store.lock held. */
static int child_find(struct store *s, uint32_t parent, const char *name, size_t len)
{
	for (uint32_t i = 0; i < s->files_max; i++) {
		const struct store_file *f = &s->file[i];

		if (f->in_use && f->parent == parent && !strncmp(f->name, name, len) &&
		    f->name[len] == '\0')
			return (int)i;
	}
	return -ENOENT;
}

int __store_child_find(struct store *s, uint32_t parent, const char *name)
{
	return child_find(s, parent, name, strlen(name));
}

int __store_parent_find(struct store *s, const char *path, uint32_t *parent,
			const char **leaf)
{
	uint32_t dir = STORE_PARENT_ROOT;
	const char *c = path;

	for (const char *slash; (slash = strchr(c, '/')); c = slash + 1) {
		int slot = child_find(s, dir, c, (size_t)(slash - c));

		if (slot < 0)
			return slot;
		if (s->file[slot].type != STORE_TYPE_DIR)
			return -ENOTDIR;
		dir = store_parent_of_slot(slot);
	}
	*parent = dir;
	*leaf = c;
	return 0;
}

int __store_file_find(struct store *s, const char *path)
{
	const char *leaf;
	uint32_t parent;
	int ret = __store_parent_find(s, path, &parent, &leaf);

	return ret ? ret : __store_child_find(s, parent, leaf);
}

int __store_file_create(struct store *s, uint32_t parent, const char *name,
			enum store_type type)
{
	for (uint32_t i = 0; i < s->files_max; i++) {
		struct store_file *f = &s->file[i];

		if (f->in_use)
			continue;
		f->type = (uint8_t)type;
		f->parent = parent;
		strcpy(f->name, name);
		f->size = 0;
		f->blocks = 0;
		f->birth = compat_random64();
		death_order();	/* a record in use is whole */
		f->in_use = true;
		s->m->files++;
		__store_meta_changed(s);
		return (int)i;
	}
	return -ENOSPC;
}

void __store_rename_finish(struct store *s)
{
	struct store_meta *m = s->m;
	uint32_t victim = m->rename_victim;
	struct store_file *f;

	if (!m->rename_slot || m->rename_slot > s->files_max)
		return;
	if (victim && victim <= s->files_max && s->file[victim - 1].in_use)
		__store_file_remove(s, (int)victim - 1);
	f = &s->file[m->rename_slot - 1];
	f->parent = m->rename_parent;
	strcpy(f->name, m->rename_name);
	__store_meta_changed(s);
	death_order();
	m->rename_slot = 0;
}

void __store_file_rename(struct store *s, int slot, int victim, uint32_t parent,
			 const char *name)
{
	struct store_meta *m = s->m;

	strcpy(m->rename_name, name);
	m->rename_parent = parent;
	m->rename_victim = victim >= 0 ? (uint32_t)victim + 1 : 0;
	death_order();	/* the intent is whole before it counts */
	m->rename_slot = (uint32_t)slot + 1;
	death_order();
	__store_rename_finish(s);
}

bool __store_dir_empty(struct store *s, int slot)
{
	uint32_t me = store_parent_of_slot(slot);

	for (uint32_t i = 0; i < s->files_max; i++)
		if (s->file[i].in_use && s->file[i].parent == me)
			return false;
	return true;
}

bool __store_dir_contains(struct store *s, int dir, uint32_t parent)
{
	/* The tree has no cycle (checked at load), so the walk ends at the
	 * root; the bound only guards against a bug. */
	for (uint32_t steps = 0; parent != STORE_PARENT_ROOT && steps <= s->files_max; steps++) {
		if (parent == store_parent_of_slot(dir))
			return true;
		parent = s->file[parent - 1].parent;
	}
	return false;
}

/* A parent no entry has (a cut-off entry during the repair). */
#define PARENT_NOWHERE UINT32_MAX

/* Whether directory parent holds an entry called name other than slot. */
static bool name_taken(struct store *s, uint32_t parent, const char *name, uint32_t slot)
{
	for (uint32_t i = 0; i < s->files_max; i++)
		if (i != slot && s->file[i].in_use && s->file[i].parent == parent &&
		    !strcmp(s->file[i].name, name))
			return true;
	return false;
}

/* The directory lost+found of the root, made if need be (a file of that
 * name makes it "lost+found.N"). Return: its parent id, or -errno. */
static int64_t lost_found(struct store *s)
{
	char name[32];

	for (unsigned k = 0; k < 1000; k++) {
		int slot;

		snprintf(name, sizeof(name), k ? STORE_LOST_FOUND ".%u" : STORE_LOST_FOUND, k);
		slot = __store_child_find(s, STORE_PARENT_ROOT, name);
		if (slot >= 0 && s->file[slot].type == STORE_TYPE_DIR)
			return store_parent_of_slot(slot);
		if (slot >= 0)
			continue;
		slot = __store_file_create(s, STORE_PARENT_ROOT, name, STORE_TYPE_DIR);
		return slot < 0 ? (int64_t)slot : (int64_t)store_parent_of_slot(slot);
	}
	return -EEXIST;
}

int store_tree_repair(struct store *s)
{
	uint32_t n = s->files_max, *parent = calloc(n, sizeof(*parent));
	uint32_t *broken = calloc(n, sizeof(*broken)), count;
	uint8_t *kind = calloc(n, 1);
	struct store_error why;
	int ret = 0;

	if (!parent || !broken || !kind) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (uint32_t i = 0; i < n; i++) {
		kind[i] = s->file[i].in_use ? 1 + s->file[i].type : 0;
		parent[i] = s->file[i].parent;
	}
	count = store_tree_breaks(n, kind, parent, broken, &why);
	if (count == UINT32_MAX) {
		ret = -ENOMEM;
		goto out_free;
	}
	/* Nowhere while lost+found is looked up: a cut-off directory of
	 * that name must not be taken for it. */
	for (uint32_t k = 0; k < count; k++)
		s->file[broken[k]].parent = PARENT_NOWHERE;
	for (uint32_t k = 0; k < count; k++) {
		struct store_file *f = &s->file[broken[k]];
		int64_t lf = lost_found(s);

		/* A full table has no room for lost+found: the root then. */
		f->parent = lf < 0 ? STORE_PARENT_ROOT : (uint32_t)lf;
		snprintf(f->name, sizeof(f->name), "#%u", broken[k]);
		for (unsigned dup = 1; name_taken(s, f->parent, f->name, broken[k]); dup++)
			snprintf(f->name, sizeof(f->name), "#%u.%u", broken[k], dup);
	}
	__store_meta_changed(s);
	if (!ret)
		ret = (int)count;
out_free:
	free(parent);
	free(broken);
	free(kind);
	return ret;
}
