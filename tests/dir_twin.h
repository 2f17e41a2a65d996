/* SPDX-License-Identifier: MIT */
/*
 * dir_twin.h - for the directory tests: seeded random operations on paths
 * of a small name space (components a, b, c; depth 1..3), applied to a
 * udax store and to a host directory (the twin), and a dump of either
 * tree ("path d" / "path f=tag" lines, sorted) to compare them.
 */
#ifndef UDAX_DIR_TWIN_H
#define UDAX_DIR_TWIN_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

enum twin_op { TWIN_MKDIR, TWIN_RMDIR, TWIN_RENAME, TWIN_CREATE, TWIN_UNLINK, TWIN_OPS };

static const char *const twin_op_name[] = { "mkdir", "rmdir", "rename", "create", "unlink" };

/* One operation: op on path a (and b for rename), tag the byte a new
 * file holds. */
struct twin_step {
	enum twin_op op;
	char a[16], b[16];
	char tag;
};

static void twin_path(uint64_t *rng, char *p)
{
	int depth = 1 + (int)(test_rand(rng) % 3), n = 0;

	for (int i = 0; i < depth; i++)
		n += sprintf(p + n, "%s%c", i ? "/" : "", "abc"[test_rand(rng) % 3]);
}

static struct twin_step twin_next(uint64_t *rng)
{
	struct twin_step st = { .op = (enum twin_op)(test_rand(rng) % TWIN_OPS) };

	/* mkdir and create more often than removal, so trees grow. */
	if (test_rand(rng) % 3 == 0)
		st.op = test_rand(rng) % 2 ? TWIN_MKDIR : TWIN_CREATE;
	twin_path(rng, st.a);
	twin_path(rng, st.b);
	st.tag = (char)('A' + test_rand(rng) % 26);
	return st;
}

/* Apply st to the store. Return: 0 or -errno. */
static int twin_store_apply(struct udax_store *s, const struct twin_step *st, bool sync)
{
	struct udax_file *f;
	int ret;

	switch (st->op) {
	case TWIN_MKDIR:
		return udax_mkdir(s, st->a, 0755);
	case TWIN_RMDIR:
		return udax_rmdir(s, st->a);
	case TWIN_RENAME:
		return udax_rename(s, st->a, st->b);
	case TWIN_UNLINK:
		return udax_unlink(s, st->a);
	default:
		ret = udax_open(s, st->a, O_RDWR | O_CREAT | O_TRUNC, &f);
		if (ret)
			return ret;
		CHECK_EQ(udax_pwrite(f, &st->tag, 1, 0), 1);
		if (sync)
			CHECK_EQ(udax_fsync(f), 0);
		CHECK_EQ(udax_close(f), 0);
		return 0;
	}
}

/* Apply st to the host twin under root. Return: 0 or -errno. */
static int twin_host_apply(const char *root, const struct twin_step *st)
{
	char a[512], b[512];
	int fd, ret;

	snprintf(a, sizeof(a), "%s/%s", root, st->a);
	snprintf(b, sizeof(b), "%s/%s", root, st->b);
	switch (st->op) {
	case TWIN_MKDIR:
		ret = mkdir(a, 0755);
		break;
	case TWIN_RMDIR:
		ret = rmdir(a);
		break;
	case TWIN_RENAME:
		ret = rename(a, b);
		break;
	case TWIN_UNLINK:
		ret = unlink(a);
		break;
	default:
		fd = open(a, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return -errno;
		CHECK(write(fd, &st->tag, 1) == 1);
		close(fd);
		return 0;
	}
	return ret ? -errno : 0;
}

static int twin_line_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A tree as sorted lines in one buffer. */
struct twin_tree {
	char *lines[256];
	int n;
};

static void twin_tree_add(struct twin_tree *t, const char *path, char type, char tag)
{
	char line[640];

	CHECK(t->n < 256);
	snprintf(line, sizeof(line), type == 'd' ? "%s d" : "%s f=%c", path, tag);
	t->lines[t->n++] = strdup(line);
}

static void twin_tree_free(struct twin_tree *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->lines[i]);
	t->n = 0;
}

static void twin_store_walk(struct udax_store *s, const char *dir, struct twin_tree *t)
{
	char name[UDAX_NAME_MAX + 1], path[600];
	uint64_t cookie = 0;
	unsigned type;
	int ret;

	while ((ret = udax_readdir2(s, dir, &cookie, name, sizeof(name), &type)) == 1) {
		struct udax_stat us;

		snprintf(path, sizeof(path), "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
		CHECK_EQ(udax_stat(s, path, &us), 0);
		CHECK_EQ(us.type, type);
		if (type == UDAX_TYPE_DIR) {
			twin_tree_add(t, path, 'd', 0);
			twin_store_walk(s, path, t);
		} else {
			struct udax_file *f;
			char tag = 0;

			CHECK_EQ(udax_open(s, path, O_RDONLY, &f), 0);
			CHECK_EQ(udax_pread(f, &tag, 1, 0), 1);
			CHECK_EQ(udax_close(f), 0);
			twin_tree_add(t, path, 'f', tag);
		}
	}
	CHECK_EQ(ret, 0);
}

static void twin_host_walk(const char *root, const char *dir, struct twin_tree *t)
{
	char host[1400], path[600];
	struct dirent *e;
	DIR *d;

	snprintf(host, sizeof(host), "%s%s%s", root, dir ? "/" : "", dir ? dir : "");
	d = opendir(host);
	CHECK(d, "opendir %s", host);
	while ((e = readdir(d))) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", dir ? dir : "", dir ? "/" : "", e->d_name);
		snprintf(host, sizeof(host), "%s/%s", root, path);
		CHECK(stat(host, &st) == 0);
		if (S_ISDIR(st.st_mode)) {
			twin_tree_add(t, path, 'd', 0);
			twin_host_walk(root, path, t);
		} else {
			char tag = 0;
			int fd = open(host, O_RDONLY);

			CHECK(fd >= 0 && read(fd, &tag, 1) == 1);
			close(fd);
			twin_tree_add(t, path, 'f', tag);
		}
	}
	closedir(d);
}

/* Whether the two trees are the same; the first difference is printed. */
static bool twin_tree_same(struct twin_tree *x, struct twin_tree *y)
{
	qsort(x->lines, (size_t)x->n, sizeof(char *), twin_line_cmp);
	qsort(y->lines, (size_t)y->n, sizeof(char *), twin_line_cmp);
	for (int i = 0; i < x->n || i < y->n; i++) {
		const char *a = i < x->n ? x->lines[i] : "(end)";
		const char *b = i < y->n ? y->lines[i] : "(end)";

		if (strcmp(a, b)) {
			fprintf(stderr, "trees differ at line %d: store '%s', twin '%s'\n", i, a, b);
			return false;
		}
	}
	return true;
}

/* Empty the host directory root (depth-first). */
static void twin_host_clear(const char *root, const char *dir)
{
	char host[1400], path[600];
	struct dirent *e;
	DIR *d;

	snprintf(host, sizeof(host), "%s%s%s", root, dir ? "/" : "", dir ? dir : "");
	d = opendir(host);
	CHECK(d);
	while ((e = readdir(d))) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", dir ? dir : "", dir ? "/" : "", e->d_name);
		snprintf(host, sizeof(host), "%s/%s", root, path);
		CHECK(lstat(host, &st) == 0);
		if (S_ISDIR(st.st_mode)) {
			twin_host_clear(root, path);
			CHECK(rmdir(host) == 0);
		} else {
			CHECK(unlink(host) == 0);
		}
	}
	closedir(d);
}

#endif /* UDAX_DIR_TWIN_H */
