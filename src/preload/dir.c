// SPDX-License-Identifier: MIT
/*
 * dir.c - layer preload: directories of the store as programs see them:
 * directory streams (opendir, fdopendir, readdir, readdir64, closedir,
 * rewinddir, telldir, seekdir, dirfd) over udax_readdir2(), and a working
 * directory inside the store (chdir, fchdir, getcwd), which the kernel
 * cannot hold (core.c keeps it): relative paths then start from it
 * (fd.c), and getcwd answers it.
 *
 * A stream of a store directory is a struct shim_dir handed out as a DIR
 * pointer; the streams are kept in a list, so that a DIR of the host's
 * (glibc's) goes to glibc untouched. A stream lists "." and "..", then the
 * entries (the hidden names of unlinked files left out), and owns a
 * directory descriptor (fd.c), which dirfd() returns and closedir()
 * closes.
 *
 * May call: the public API of udax.h, libc, core.c, fd.c.
 * Locks: dirs_lock (the list of streams; nothing taken under it). A stream
 * is used by one thread at a time, as POSIX asks of readdir.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload/shim.h"

_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64),
	       "readdir and readdir64 share one entry");

struct shim_dir {
	int fd;			/* its directory descriptor */
	char *path;		/* the directory's path in the store */
	uint64_t cookie;	/* udax_readdir2()'s */
	long pos;		/* entries returned since the start */
	struct dirent64 ent;	/* what readdir returns */
	struct shim_dir *next;
};

static pthread_mutex_t dirs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_dir *dirs;


/* Whether d is one of the shim's streams. */
static bool dir_is_ours(DIR *d)
{
	bool ours = false;

	pthread_mutex_lock(&dirs_lock);
	for (struct shim_dir *sd = dirs; sd && !ours; sd = sd->next)
		ours = (DIR *)sd == d;
	pthread_mutex_unlock(&dirs_lock);
	return ours;
}

/* A stream over the store directory descriptor fd, which it owns.
 * Return: it, or NULL with errno. */
static DIR *stream_open(int fd)
{
	struct shim_dir *sd = calloc(1, sizeof(*sd));
	char path[SHIM_PATH_SIZE];
	int ret = shim_dir_path(fd, path);

	if (!ret && (!sd || !(sd->path = strdup(path))))
		ret = -ENOMEM;
	if (ret) {
		free(sd);
		errno = -ret;
		return NULL;
	}
	sd->fd = fd;
	pthread_mutex_lock(&dirs_lock);
	sd->next = dirs;
	dirs = sd;
	pthread_mutex_unlock(&dirs_lock);
	return (DIR *)sd;
}

SHIM_EXPORT DIR *opendir(const char *path)
{
	char name[SHIM_PATH_SIZE];
	int where = shim_path_where(AT_FDCWD, path, name), fd;
	DIR *d;

	if (where == SHIM_HOST)
		return shim_real()->opendir(path);
	fd = where < 0 ? where : shim_open_any(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return NULL;	/* errno set */
	d = stream_open(fd);
	if (!d)
		shim_close_any(fd);
	return d;
}

SHIM_EXPORT DIR *fdopendir(int fd)
{
	char path[SHIM_PATH_SIZE];
	int ret = shim_dir_path(fd, path);

	if (ret == -EBADF)
		return shim_real()->fdopendir(fd);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	return stream_open(fd);
}

/* Fill sd->ent with name (of type DT_*, inode of the store path of). */
static void entry_fill(struct shim_dir *sd, const char *name, unsigned char type,
		       const char *of)
{
	sd->ent.d_ino = shim_ino(of);
	sd->ent.d_off = ++sd->pos;
	sd->ent.d_reclen = sizeof(sd->ent);
	sd->ent.d_type = type;
	strcpy(sd->ent.d_name, name);
}

/* The next entry of sd. Return: it, or NULL at the end (errno kept) or
 * with errno set. */
static struct dirent64 *stream_next(struct shim_dir *sd)
{
	char name[UDAX_NAME_MAX + 1], of[SHIM_PATH_SIZE];
	struct udax_store *s;
	unsigned type;
	int ret;

	if (sd->pos == 0) {
		entry_fill(sd, ".", DT_DIR, sd->path);
		return &sd->ent;
	}
	if (sd->pos == 1) {
		char *slash = strrchr(sd->path, '/');

		snprintf(of, sizeof(of), "%.*s", slash ? (int)(slash - sd->path) : 0, sd->path);
		entry_fill(sd, "..", DT_DIR, of);
		return &sd->ent;
	}
	ret = shim_store(&s);
	if (!ret) {
		do
			ret = udax_readdir2(s, sd->path, &sd->cookie, name, sizeof(name), &type);
		while (ret == 1 && !*sd->path && shim_name_is_hidden(name));
	}
	if (ret == 0 || ret == -ENOENT)		/* the end, or removed meanwhile */
		return NULL;
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	snprintf(of, sizeof(of), "%s%s%s", sd->path, *sd->path ? "/" : "", name);
	entry_fill(sd, name, type == UDAX_TYPE_DIR ? DT_DIR : DT_REG, of);
	return &sd->ent;
}

SHIM_EXPORT struct dirent64 *readdir64(DIR *d)
{
	if (!dir_is_ours(d))
		return shim_real()->readdir64(d);
	return stream_next((struct shim_dir *)d);
}

SHIM_EXPORT struct dirent *readdir(DIR *d)
{
	if (!dir_is_ours(d))
		return shim_real()->readdir(d);
	return (struct dirent *)stream_next((struct shim_dir *)d);
}

SHIM_EXPORT int closedir(DIR *d)
{
	struct shim_dir *sd = (struct shim_dir *)d, **link;
	int ret;

	if (!dir_is_ours(d))
		return shim_real()->closedir(d);
	pthread_mutex_lock(&dirs_lock);
	for (link = &dirs; *link != sd; link = &(*link)->next)
		;
	*link = sd->next;
	pthread_mutex_unlock(&dirs_lock);
	ret = shim_close_any(sd->fd);
	free(sd->path);
	free(sd);
	return ret;
}

SHIM_EXPORT int dirfd(DIR *d)
{
	if (!dir_is_ours(d))
		return shim_real()->dirfd(d);
	return ((struct shim_dir *)d)->fd;
}

SHIM_EXPORT void rewinddir(DIR *d)
{
	struct shim_dir *sd = (struct shim_dir *)d;

	if (!dir_is_ours(d)) {
		shim_real()->rewinddir(d);
		return;
	}
	sd->cookie = 0;
	sd->pos = 0;
}

SHIM_EXPORT long telldir(DIR *d)
{
	if (!dir_is_ours(d))
		return shim_real()->telldir(d);
	return ((struct shim_dir *)d)->pos;
}

/* Back to the start, then forward to the pos'th entry. */
SHIM_EXPORT void seekdir(DIR *d, long pos)
{
	struct shim_dir *sd = (struct shim_dir *)d;

	if (!dir_is_ours(d)) {
		shim_real()->seekdir(d, pos);
		return;
	}
	rewinddir(d);
	while (sd->pos < pos && stream_next(sd))
		;
}

/* A relative path that leads out of the store from the working directory
 * inside it ("..") as the absolute path the kernel needs, in full
 * (PATH_MAX bytes). Return: full, or path itself if it needs none. */
static const char *host_path(const char *path, char *full)
{
	char dir[SHIM_PATH_SIZE], joined[PATH_MAX];

	if (path[0] == '/' || !shim_cwd_get(dir) ||
	    (size_t)snprintf(joined, sizeof(joined), "%s/%s/%s", shim_root(), dir, path) >=
	    sizeof(joined) || shim_path_normalize(joined, full))
		return path;
	return full;
}

SHIM_EXPORT int chdir(const char *path)
{
	char name[SHIM_PATH_SIZE], full[PATH_MAX];
	int where = shim_path_where(AT_FDCWD, path, name), type;

	if (where == SHIM_HOST) {
		if (shim_real()->chdir(host_path(path, full)) != 0)
			return -1;
		shim_cwd_set(NULL);
		return 0;
	}
	type = where < 0 ? where : shim_entry_type(where, name);
	if (type < 0)
		return shim_fail(type);
	if (type != UDAX_TYPE_DIR)
		return shim_fail(-ENOTDIR);
	shim_cwd_set(where == SHIM_ROOT ? "" : name);
	return 0;
}

SHIM_EXPORT int fchdir(int fd)
{
	char path[SHIM_PATH_SIZE];
	int ret = shim_dir_path(fd, path);

	if (ret == -EBADF) {
		if (shim_real()->fchdir(fd) != 0)
			return -1;
		shim_cwd_set(NULL);
		return 0;
	}
	if (ret)
		return shim_fail(ret);
	shim_cwd_set(path);
	return 0;
}

SHIM_EXPORT char *getcwd(char *buf, size_t size)
{
	char path[SHIM_PATH_SIZE], full[PATH_MAX];
	size_t len;

	if (!shim_cwd_get(path))
		return shim_real()->getcwd(buf, size);
	len = (size_t)snprintf(full, sizeof(full), "%s%s%s", shim_root(), *path ? "/" : "", path);
	if (!buf) {	/* glibc's extension: allocated, of size bytes if given */
		size = size ? size : len + 1;
		buf = size > len ? malloc(size) : NULL;
		if (!buf) {
			errno = size > len ? ENOMEM : ERANGE;
			return NULL;
		}
	} else if (size <= len) {
		errno = size ? ERANGE : EINVAL;
		return NULL;
	}
	memcpy(buf, full, len + 1);
	return buf;
}
