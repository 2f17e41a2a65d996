// SPDX-License-Identifier: MIT
/*
 * fd.c - layer preload: udax descriptors. The descriptor table (kernel
 * descriptor -> shim_ofd), the ofds (of files, and of store directories:
 * a path, for *at calls, fdopendir, fchdir and fstat; every other call on
 * them fails with EBADF), what a path names from a descriptor (or the
 * working directory), open and its variants, close, dup,
 * and fcntl (flags, duplication; record locks are locks.c's).
 *
 * May call: the public API of udax.h, libc, core.c, locks.c, offsets.c.
 * Locks: fd_lock (rwlock) over the table: read to take a reference, write
 * to change an entry; nothing else is taken under it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload/shim.h"

#define FD_CHUNK 4096u
#define FD_CHUNKS 256u			/* descriptors below 1 Mi */
/* What F_GETFL shows and F_SETFL may change. */
#define SHOWN_FLAGS (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT | \
		     O_NOATIME | O_ASYNC)
#define SETFL_FLAGS (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_ASYNC)
/* The kernel's O_LARGEFILE, which F_GETFL shows on 64-bit (glibc's is 0). */
#define KERNEL_O_LARGEFILE 0100000

typedef _Atomic(struct shim_ofd *) ofd_slot;

static _Atomic(ofd_slot *) fd_chunks[FD_CHUNKS];
static pthread_rwlock_t fd_lock = PTHREAD_RWLOCK_INITIALIZER;

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

static pthread_mutex_t reopen_lock = PTHREAD_MUTEX_INITIALIZER;

/* In a fork child: every file ofd is the parent's, to open again on first
 * use (shim_ofd_get()), and this process counts among the users of its
 * offset (once per ofd, however many descriptors name it); one of its own
 * is the child's copy (offset_private). Context: fd_lock held or remade. */
static void ofds_inherited(void)
{
	static unsigned fork_generation;

	fork_generation++;
	for (unsigned c = 0; c < FD_CHUNKS; c++) {
		ofd_slot *chunk = atomic_load(&fd_chunks[c]);

		for (unsigned i = 0; chunk && i < FD_CHUNK; i++) {
			struct shim_ofd *ofd = atomic_load(&chunk[i]);

			if (!ofd || !ofd->file || ofd->forks_seen == fork_generation)
				continue;
			ofd->forks_seen = fork_generation;
			atomic_store(&ofd->inherited, true);
			ofd->offset_private = !shim_pos_shared(ofd->pos);
			shim_pos_get(ofd->pos);
		}
	}
}

void shim_ofd_release_all(void)
{
	for (unsigned c = 0; c < FD_CHUNKS; c++) {
		ofd_slot *chunk = atomic_load(&fd_chunks[c]);

		for (unsigned i = 0; chunk && i < FD_CHUNK; i++) {
			struct shim_ofd *ofd = atomic_load(&chunk[i]);

			if (ofd && ofd->file && !atomic_exchange(&ofd->released, true))
				shim_pos_put(ofd->pos);
		}
	}
}

void shim_fd_fork(int phase)
{
	shim_pos_fork(phase);	/* a leaf: held with none of these */
	if (phase == 0) {
		pthread_mutex_lock(&reopen_lock);
		pthread_rwlock_wrlock(&fd_lock);
	} else if (phase == 1) {
		pthread_rwlock_unlock(&fd_lock);
		pthread_mutex_unlock(&reopen_lock);
	} else {
		pthread_rwlock_init(&fd_lock, NULL);
		pthread_mutex_init(&reopen_lock, NULL);
		ofds_inherited();
	}
}

uint64_t shim_file_id(struct udax_file *file)
{
	uint64_t id;

	return udax_file_id(file, &id) ? 0 : id;
}

/* Open an inherited ofd's file again, in this process's store, by its
 * name now: -ESTALE if that is another file now (renamed or removed by
 * another process since the fork). Return: 0 or -errno. */
static int ofd_reopen(struct shim_ofd *ofd)
{
	char name[SHIM_PATH_SIZE];
	struct udax_store *s;
	struct udax_file *file;
	int ret = 0;

	pthread_mutex_lock(&reopen_lock);
	if (atomic_load(&ofd->inherited)) {
		shim_node_name(ofd->node, name);
		ret = shim_store(&s);
		if (!ret)
			ret = udax_open(s, name, (atomic_load(&ofd->flags) & O_ACCMODE) ==
					O_RDONLY ? O_RDONLY : O_RDWR, &file);
		if (!ret && shim_file_id(file) != ofd->file_id) {
			udax_close(file);
			ret = -ESTALE;
		}
		if (!ret) {
			ofd->file = file;
			atomic_store(&ofd->inherited, false);
		}
	}
	pthread_mutex_unlock(&reopen_lock);
	return ret;
}

/* Return: fd's slot, or NULL if fd is outside the table or its chunk was
 * never made (make it, under fd_lock written, with make). */
static ofd_slot *fd_slot(int fd, bool make)
{
	ofd_slot *chunk;

	if (fd < 0 || (unsigned)fd >= FD_CHUNK * FD_CHUNKS)
		return NULL;
	chunk = atomic_load_explicit(&fd_chunks[fd / FD_CHUNK], memory_order_acquire);
	if (!chunk && make) {
		chunk = calloc(FD_CHUNK, sizeof(*chunk));
		if (!chunk)
			return NULL;
		atomic_store_explicit(&fd_chunks[fd / FD_CHUNK], chunk, memory_order_release);
	}
	return chunk ? &chunk[fd % FD_CHUNK] : NULL;
}

bool shim_fd_is_udax(int fd)
{
	ofd_slot *slot = fd_slot(fd, false);

	return slot && atomic_load_explicit(slot, memory_order_relaxed);
}

struct shim_ofd *shim_ofd_get_any(int fd)
{
	struct shim_ofd *ofd;
	ofd_slot *slot;

	if (!shim_fd_is_udax(fd))
		return NULL;
	pthread_rwlock_rdlock(&fd_lock);
	slot = fd_slot(fd, false);
	ofd = atomic_load(slot);
	if (ofd)
		atomic_fetch_add(&ofd->refs, 1);
	pthread_rwlock_unlock(&fd_lock);
	if (ofd && atomic_load_explicit(&ofd->inherited, memory_order_acquire) &&
	    ofd_reopen(ofd)) {
		shim_ofd_put(ofd);	/* its placeholder answers: EBADF */
		return NULL;
	}
	return ofd;
}

struct shim_ofd *shim_ofd_get(int fd)
{
	struct shim_ofd *ofd = shim_ofd_get_any(fd);

	if (ofd && !ofd->file) {	/* a directory's */
		shim_ofd_put(ofd);
		return NULL;
	}
	return ofd;
}

int shim_ofd_put(struct shim_ofd *ofd)
{
	int ret = 0;

	if (atomic_fetch_sub(&ofd->refs, 1) != 1)
		return 0;
	if (!ofd->file) {
		free(ofd->dir);
	} else {
		shim_locks_ofd_gone(ofd);
		if (!atomic_load(&ofd->inherited))	/* else the parent's handle */
			ret = udax_close(ofd->file);
		shim_node_put(ofd->node);
	}
	if (ofd->pos != &ofd->own_pos && !atomic_load(&ofd->released))
		shim_pos_put(ofd->pos);
	free(ofd);
	return ret;
}

int shim_fd_install(int fd, struct shim_ofd *ofd)
{
	struct shim_ofd *old;
	ofd_slot *slot;

	pthread_rwlock_wrlock(&fd_lock);
	slot = fd_slot(fd, true);
	if (!slot) {
		pthread_rwlock_unlock(&fd_lock);
		return -EMFILE;
	}
	atomic_fetch_add(&ofd->refs, 1);
	old = atomic_exchange(slot, ofd);
	pthread_rwlock_unlock(&fd_lock);
	if (!old)
		return 0;
	shim_locks_fd_closed(old);	/* dup2 onto it closed it */
	return shim_ofd_put(old);
}

int shim_fd_forget(int fd)
{
	struct shim_ofd *old = NULL;
	ofd_slot *slot;

	pthread_rwlock_wrlock(&fd_lock);
	slot = fd_slot(fd, false);
	if (slot)
		old = atomic_exchange(slot, NULL);
	pthread_rwlock_unlock(&fd_lock);
	if (!old)
		return 0;
	shim_locks_fd_closed(old);
	return shim_ofd_put(old);
}

void shim_fd_forget_range(unsigned first, unsigned last)
{
	for (unsigned c = first / FD_CHUNK; c < FD_CHUNKS && c <= last / FD_CHUNK; c++) {
		if (!atomic_load(&fd_chunks[c]))
			continue;
		for (unsigned i = 0; i < FD_CHUNK; i++) {
			unsigned fd = c * FD_CHUNK + i;

			if (fd >= first && fd <= last && shim_fd_is_udax((int)fd))
				(void)shim_fd_forget((int)fd);
		}
	}
}

int shim_fd_next_udax(int from)
{
	for (unsigned fd = from < 0 ? 0 : (unsigned)from; fd < FD_CHUNK * FD_CHUNKS; fd++) {
		if (!atomic_load(&fd_chunks[fd / FD_CHUNK])) {
			fd |= FD_CHUNK - 1;	/* a chunk never made: none in it */
			continue;
		}
		if (shim_fd_is_udax((int)fd))
			return (int)fd;
	}
	return -1;
}

void shim_ofd_each(void (*fn)(struct shim_ofd *ofd))
{
	pthread_rwlock_rdlock(&fd_lock);
	for (unsigned c = 0; c < FD_CHUNKS; c++) {
		ofd_slot *chunk = atomic_load(&fd_chunks[c]);

		for (unsigned i = 0; chunk && i < FD_CHUNK; i++) {
			struct shim_ofd *ofd = atomic_load(&chunk[i]);

			if (ofd && ofd->file)
				fn(ofd);
		}
	}
	pthread_rwlock_unlock(&fd_lock);
}

int shim_ofd_new(struct udax_file *file, const char *name, int flags, struct shim_ofd **out)
{
	struct shim_ofd *ofd = calloc(1, sizeof(*ofd));

	if (!ofd)
		return -ENOMEM;
	ofd->node = shim_node_get(name);
	if (!ofd->node) {
		free(ofd);
		return -ENOMEM;
	}
	ofd->file = file;
	ofd->file_id = shim_file_id(file);
	atomic_init(&ofd->flags, (flags & SHOWN_FLAGS) | KERNEL_O_LARGEFILE);
	atomic_init(&ofd->refs, 1);
	ofd->pos = shim_pos_new();
	if (!ofd->pos) {	/* no table: an offset of its own */
		shim_pos_own(&ofd->own_pos, 0);
		ofd->pos = &ofd->own_pos;
	}
	ofd->lock_fd = -1;
	*out = ofd;
	return 0;
}

int shim_ofd_size(struct shim_ofd *ofd, uint64_t *size)
{
	struct udax_file_stat st;
	int ret = udax_fstat(ofd->file, &st);

	*size = st.size;
	return ret;
}

/* The directory a relative path starts from: dirfd's (AT_FDCWD: the
 * working directory, the store's or the kernel's), absolute, into base
 * (PATH_MAX bytes). Return: 0, or 1 if it is a host descriptor's (the
 * kernel resolves the path), or -errno. */
static int path_base(int dirfd, char *base)
{
	char dir[SHIM_PATH_SIZE];
	int ret;

	if (dirfd == AT_FDCWD) {
		if (shim_cwd_get(dir))
			goto in_store;
		return shim_real()->getcwd(base, PATH_MAX) ? 0 : -errno;
	}
	ret = shim_dir_path(dirfd, dir);
	if (ret == -EBADF)
		return 1;
	if (ret)
		return ret;
in_store:
	if ((size_t)snprintf(base, PATH_MAX, "%s%s%s", shim_root(), *dir ? "/" : "", dir) >=
	    PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int shim_path_where(int dirfd, const char *path, char *name)
{
	char full[PATH_MAX], norm[PATH_MAX];
	const char *root = shim_root(), *rest;
	size_t n, root_len = strlen(root);
	int ret;

	if (!root_len || !path || !*path)
		return SHIM_HOST;
	if (path[0] != '/') {
		ret = path_base(dirfd, full);
		if (ret)
			return ret > 0 ? SHIM_HOST : ret;
		n = strlen(full);
		if (n + 1 + strlen(path) >= sizeof(full))
			return -ENAMETOOLONG;
		full[n] = '/';
		strcpy(full + n + 1, path);
		path = full;
	}
	if (strlen(path) >= PATH_MAX || shim_path_normalize(path, norm))
		return SHIM_HOST;	/* the kernel's ENAMETOOLONG */
	if (strncmp(norm, root, root_len) || (norm[root_len] && norm[root_len] != '/'))
		return SHIM_HOST;
	if (!norm[root_len])
		return SHIM_ROOT;
	rest = norm + root_len + 1;
	if (strlen(rest) > UDAX_PATH_MAX)
		return -ENAMETOOLONG;
	for (const char *c = rest; *c; c += n + (c[n] == '/'))
		if ((n = strcspn(c, "/")) > UDAX_NAME_MAX)
			return -ENAMETOOLONG;
	strcpy(name, rest);
	/* "root/d/" or "root/d/." asks for a directory d */
	n = strlen(path);
	if (path[n - 1] == '/' || (n >= 2 && path[n - 1] == '.' && path[n - 2] == '/'))
		return SHIM_ENTRY_DIR;
	return SHIM_ENTRY;
}

/* Told before and after a dup2 or dup3 that involves a udax descriptor
 * changes descriptor 0, 1 or 2, and after an open made a udax one of them
 * (the program closed it first) (stdio.c keeps the standard streams on
 * them: registered at load, as stdio.c lies above this file). */
static void (*std_watch)(int fd, bool done);

void shim_fd_watch_std(void (*watch)(int fd, bool done))
{
	std_watch = watch;
}

/* A new descriptor for an ofd: an O_PATH descriptor of /dev/null (a call
 * the shim does not intercept fails with EBADF). Return: it, or -errno. */
static int placeholder_open(int flags)
{
	int fd = shim_real()->open("/dev/null", O_PATH | (flags & O_CLOEXEC));

	return fd < 0 ? -errno : fd;
}

int shim_dir_open(const char *path, int flags)
{
	struct shim_ofd *ofd = calloc(1, sizeof(*ofd));
	int fd, ret;

	if (!ofd || !(ofd->dir = strdup(path))) {
		free(ofd);
		return -ENOMEM;
	}
	atomic_init(&ofd->flags, O_RDONLY | O_DIRECTORY | KERNEL_O_LARGEFILE |
				 (flags & (O_NONBLOCK | O_NOFOLLOW | O_NOATIME)));
	atomic_init(&ofd->refs, 1);
	shim_pos_own(&ofd->own_pos, 0);
	ofd->pos = &ofd->own_pos;
	ofd->lock_fd = -1;
	fd = placeholder_open(flags);
	ret = fd < 0 ? fd : shim_fd_install(fd, ofd);
	shim_ofd_put(ofd);
	if (ret && fd >= 0)
		shim_real()->close(fd);
	return ret ? ret : fd;
}

int shim_dir_path(int fd, char *path)
{
	struct shim_ofd *ofd = shim_ofd_get_any(fd);
	int ret = 0;

	if (!ofd)
		return -EBADF;
	if (ofd->file)
		ret = -ENOTDIR;
	else
		strcpy(path, ofd->dir);
	shim_ofd_put(ofd);
	return ret;
}

/* open(2) of a path under the root. Return: the descriptor, or -errno. */
static int udax_open_path(int where, const char *name, int flags)
{
	struct udax_store *s;
	struct udax_file *file;
	struct shim_ofd *ofd;
	int acc = flags & O_ACCMODE, uflags, fd, ret, type;

	if ((flags & __O_TMPFILE) == __O_TMPFILE)
		return -EOPNOTSUPP;
	if (acc == O_ACCMODE && !(flags & O_PATH))
		return -EINVAL;
	ret = shim_store(&s);
	if (ret)
		return ret;
	type = shim_entry_type(where, name);
	/* A directory opens for reading only, or O_PATH (a dirfd, as mv's). */
	if (type == UDAX_TYPE_DIR) {
		if ((acc != O_RDONLY && !(flags & O_PATH)) || (flags & O_CREAT))
			return -EISDIR;
		return shim_dir_open(where == SHIM_ROOT ? "" : name, flags);
	}
	if (flags & O_PATH)	/* of a file: not yet */
		return type < 0 ? type : -EOPNOTSUPP;
	if (type == -ENOENT && where == SHIM_ENTRY_DIR && (flags & O_CREAT))
		return -EISDIR;
	if (type < 0 && (type != -ENOENT || !(flags & O_CREAT)))
		return type;
	if (flags & O_DIRECTORY)
		return type < 0 ? -ENOENT : -ENOTDIR;
	/* O_CREAT of a file that is there creates nothing: a reader of a
	 * read-only store may open it (the kernel's EROFS needs a creation) */
	uflags = flags & (type >= 0 && !(flags & O_EXCL) ? O_TRUNC : O_CREAT | O_EXCL | O_TRUNC);
	uflags |= acc != O_RDONLY || uflags ? O_RDWR : O_RDONLY;
	ret = udax_open(s, name, uflags, &file);
	if (ret == -ENOENT && (flags & O_CREAT) && !(uflags & O_CREAT))	/* removed since */
		ret = udax_open(s, name, uflags | O_CREAT, &file);
	if (ret)
		return ret;
	fd = placeholder_open(flags);
	if (fd < 0) {
		udax_close(file);
		return fd;
	}
	ret = shim_ofd_new(file, name, flags, &ofd);
	if (ret) {
		udax_close(file);
		shim_real()->close(fd);
		return ret;
	}
	ret = shim_fd_install(fd, ofd);
	shim_ofd_put(ofd);
	if (ret) {
		shim_real()->close(fd);
		return ret;
	}
	if (fd <= STDERR_FILENO && std_watch)	/* close(1); open(...): stdout follows */
		std_watch(fd, true);
	return fd;
}

/* The descriptor that path names as the kernel's /dev/stdin, /dev/stdout,
 * /dev/stderr, /dev/fd/N and /proc/self/fd/N do, or -1. */
static int fd_path_target(const char *path)
{
	static const char *const std[3] = { "/dev/stdin", "/dev/stdout", "/dev/stderr" };
	const char *digits = NULL;
	char *end;
	long n;

	for (int fd = 0; fd < 3; fd++)
		if (!strcmp(path, std[fd]))
			return fd;
	if (!strncmp(path, "/dev/fd/", 8))
		digits = path + 8;
	else if (!strncmp(path, "/proc/self/fd/", 14))
		digits = path + 14;
	if (!digits || *digits < '0' || *digits > '9')
		return -1;
	n = strtol(digits, &end, 10);
	return *end || n > INT32_MAX ? -1 : (int)n;
}

/* open of /dev/stdout and its kin naming udax descriptor fd: a new open
 * of its file (the kernel's would reopen the placeholder, /dev/null).
 * Return: the new descriptor, or -errno. */
static int udax_reopen(int fd, int flags)
{
	struct shim_ofd *ofd = shim_ofd_get(fd);
	char name[SHIM_PATH_SIZE];
	bool gone;

	if (!ofd)
		return -ENXIO;	/* a directory's: as /dev/fd/N of one for writing */
	snprintf(name, sizeof(name), "%s", ofd->node->name);
	gone = ofd->node->unlinked;
	shim_ofd_put(ofd);
	return gone ? -ENOENT : udax_open_path(SHIM_ENTRY, name, flags);
}

int shim_open_any(int dirfd, const char *path, int flags, mode_t mode)
{
	char name[SHIM_PATH_SIZE];
	int where, target = path ? fd_path_target(path) : -1;

	if (target >= 0 && shim_fd_is_udax(target) && !shim_in_vfork_child()) {
		where = udax_reopen(target, flags);
		return where < 0 ? shim_fail(where) : where;
	}
	where = shim_path_where(dirfd, path, name);
	if (where == SHIM_HOST)
		return shim_real()->openat(dirfd, path, flags, mode);
	if (where >= 0)
		where = udax_open_path(where, name, flags);
	return where < 0 ? shim_fail(where) : where;
}

#define OPEN_MODE(flags, mode)						\
	do {								\
		va_list ap_;						\
									\
		va_start(ap_, flags);					\
		if (((flags) & O_CREAT) || ((flags) & __O_TMPFILE) == __O_TMPFILE) \
			mode = va_arg(ap_, mode_t);			\
		va_end(ap_);						\
	} while (0)

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return shim_open_any(AT_FDCWD, path, flags, mode);
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return shim_open_any(AT_FDCWD, path, flags | O_LARGEFILE, mode);
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return shim_open_any(dirfd, path, flags, mode);
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return shim_open_any(dirfd, path, flags | O_LARGEFILE, mode);
}

SHIM_EXPORT int creat(const char *path, mode_t mode)
{
	return shim_open_any(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

SHIM_EXPORT int creat64(const char *path, mode_t mode)
{
	return shim_open_any(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE, mode);
}

SHIM_EXPORT int __open_2(const char *path, int flags)
{
	return shim_open_any(AT_FDCWD, path, flags, 0);
}

SHIM_EXPORT int __open64_2(const char *path, int flags)
{
	return shim_open_any(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return shim_open_any(dirfd, path, flags, 0);
}

SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return shim_open_any(dirfd, path, flags | O_LARGEFILE, 0);
}

SHIM_EXPORT int close(int fd)
{
	return shim_close_any(fd);
}

int shim_close_any(int fd)
{
	int ret;

	if (shim_fd_is_library(fd) && !shim_in_vfork_child())	/* not the program's */
		return shim_fail(-EBADF);
	if (!shim_fd_is_udax(fd) || shim_in_vfork_child())
		return shim_real()->close(fd);
	ret = shim_fd_forget(fd);
	shim_real()->close(fd);
	return ret ? shim_fail(ret) : 0;
}

/* close_range of [first, last] but the library's descriptors in it.
 * Return: 0, or -1 with errno. */
static int close_range_around(unsigned first, unsigned last, int flags)
{
	for (unsigned from = first;;) {
		int lib = shim_fd_next_library(from);
		unsigned end = lib < 0 || (unsigned)lib > last ? last : (unsigned)lib - 1;

		if ((lib < 0 || (unsigned)lib != from) &&
		    shim_real()->close_range(from, end, flags))
			return -1;
		if (lib < 0 || (unsigned)lib >= last)
			return 0;
		from = (unsigned)lib + 1;
	}
}

SHIM_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	int ret;

	if (first > last || shim_in_vfork_child())	/* EINVAL; the parent's tables */
		return shim_real()->close_range(first, last, flags);
	ret = close_range_around(first, last, flags);
	if (ret == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
		shim_fd_forget_range(first, last);
	return ret;
}

SHIM_EXPORT void closefrom(int lowfd)
{
	if (lowfd < 0)
		lowfd = 0;
	if (shim_in_vfork_child()) {
		shim_real()->closefrom(lowfd);
		return;
	}
	if (close_range_around((unsigned)lowfd, ~0u, 0) == 0)
		shim_fd_forget_range((unsigned)lowfd, ~0u);
}

/* After the kernel made newfd a copy of fd (dup, dup2, dup3, F_DUPFD):
 * point newfd where fd points. Return: newfd, or -1 with errno. */
static int dup_done(struct shim_ofd *ofd, int newfd)
{
	int ret;

	if (newfd < 0) {
		if (ofd)
			shim_ofd_put(ofd);
		return newfd;
	}
	ret = ofd ? shim_fd_install(newfd, ofd) : shim_fd_forget(newfd);
	if (ofd)
		shim_ofd_put(ofd);
	if (ret == -EMFILE) {
		shim_real()->close(newfd);
		return shim_fail(ret);
	}
	return newfd;
}

SHIM_EXPORT int dup(int fd)
{
	struct shim_ofd *ofd = shim_ofd_get_any(fd);

	if (shim_fd_is_library(fd) && !shim_in_vfork_child())	/* not the program's */
		return shim_fail(-EBADF);
	if (!ofd)
		return shim_real()->dup(fd);
	return dup_done(ofd, shim_real()->dup(fd));
}

/* dup2 (flags -1) or dup3 of a udax descriptor, or onto one. */
static int udax_dup3(int fd, int newfd, int flags)
{
	struct shim_ofd *ofd = shim_ofd_get_any(fd);
	bool std = newfd >= 0 && newfd <= 2 && std_watch;
	int ret;

	if (std)
		std_watch(newfd, false);
	ret = dup_done(ofd, flags < 0 ? shim_real()->dup2(fd, newfd)
				       : shim_real()->dup3(fd, newfd, flags));
	if (std && ret >= 0)
		std_watch(newfd, true);
	return ret;
}

/* dup2 (flags -1) or dup3 as the program asked for it. */
static int dup_any(int fd, int newfd, int flags)
{
	bool udax = shim_fd_is_udax(fd) || shim_fd_is_udax(newfd);

	if ((!udax && !shim_fd_is_library(fd) && !shim_fd_is_library(newfd)) ||
	    shim_in_vfork_child() || (udax && fd == newfd))
		return flags < 0 ? shim_real()->dup2(fd, newfd) : shim_real()->dup3(fd, newfd, flags);
	if (shim_fd_is_library(fd))	/* not the program's */
		return shim_fail(-EBADF);
	if (shim_fd_is_library(newfd))	/* the library's, busy */
		return shim_fail(-EBUSY);
	return udax_dup3(fd, newfd, flags);
}

SHIM_EXPORT int dup2(int fd, int newfd)
{
	return dup_any(fd, newfd, -1);
}

SHIM_EXPORT int dup3(int fd, int newfd, int flags)
{
	return dup_any(fd, newfd, flags);
}

/* The offset a lock's l_whence names for ofd, into *base. Return: 0 or
 * -errno (-EINVAL: no such whence). */
static int lock_base(struct shim_ofd *ofd, const struct flock *fl, int64_t *base)
{
	uint64_t size;
	int ret = 0;

	if (!fl)
		return -EFAULT;
	switch (fl->l_whence) {
	case SEEK_SET:
		*base = 0;
		break;
	case SEEK_CUR:
		shim_pos_lock(ofd->pos);
		*base = (int64_t)ofd->pos->value;
		shim_pos_unlock(ofd->pos);
		break;
	case SEEK_END:
		ret = shim_ofd_size(ofd, &size);
		*base = (int64_t)size;
		break;
	default:
		ret = -EINVAL;
	}
	return ret;
}

/* fcntl on a udax descriptor. Return: the result, or -errno. */
static int udax_fcntl(struct shim_ofd *ofd, int fd, int cmd, void *arg)
{
	int64_t base;
	int ret;

	switch (cmd) {
	case F_GETFL:
		return atomic_load(&ofd->flags);
	case F_SETFL:
		ret = atomic_load(&ofd->flags);
		atomic_store(&ofd->flags, (ret & ~SETFL_FLAGS) | ((int)(long)arg & SETFL_FLAGS));
		return 0;
	case F_GETFD:
	case F_SETFD:
		ret = shim_real()->fcntl(fd, cmd, arg);
		return ret < 0 ? -errno : ret;
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		atomic_fetch_add(&ofd->refs, 1);
		ret = dup_done(ofd, shim_real()->fcntl(fd, cmd, arg));
		return ret < 0 ? -errno : ret;
	case F_SETLK:
	case F_SETLKW:
	case F_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
	case F_OFD_GETLK:
		if (!ofd->file)	/* a directory's: no locks there yet */
			return -EOPNOTSUPP;
		ret = lock_base(ofd, arg, &base);
		return ret ? ret : shim_lock_fcntl(ofd, cmd, arg, base);
	case F_ADD_SEALS:	/* the kernel's answers for a regular file */
	case F_GET_SEALS:
		return -EINVAL;
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ:
		return -EBADF;
	case F_NOTIFY:
		return ofd->file ? -ENOTDIR : -EOPNOTSUPP;
	case F_SETOWN:	/* owners, signals, leases, hints: not for store files */
	case F_GETOWN:
	case F_SETOWN_EX:
	case F_GETOWN_EX:
	case F_SETSIG:
	case F_GETSIG:
	case F_SETLEASE:
	case F_GETLEASE:
	case F_GET_RW_HINT:
	case F_SET_RW_HINT:
	case F_GET_FILE_RW_HINT:
	case F_SET_FILE_RW_HINT:
		return -EOPNOTSUPP;
	default:	/* a command the kernel does not know */
		return -EINVAL;
	}
}

static int fcntl_any(int fd, int cmd, void *arg)
{
	struct shim_ofd *ofd = shim_ofd_get_any(fd);
	int ret;

	if (shim_fd_is_library(fd) && !shim_in_vfork_child())	/* not the program's */
		return shim_fail(-EBADF);
	if (!ofd)
		return shim_real()->fcntl(fd, cmd, arg);
	if (shim_in_vfork_child()) {	/* the ofd stays the parent's */
		shim_ofd_put(ofd);
		return shim_real()->fcntl(fd, cmd, arg);
	}
	ret = udax_fcntl(ofd, fd, cmd, arg);
	shim_ofd_put(ofd);
	return ret < 0 ? shim_fail(ret) : ret;
}

SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_any(fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_any(fd, cmd, arg);
}


/* The calls on a udax descriptor that change the file: fd's ofd in
 * *ofd, checked writable. Return: 1 (host descriptor), 0, or -errno
 * (*ofd put already). */
int shim_ofd_for_change(int fd, struct shim_ofd **ofd, int not_writable)
{
	int ret;

	*ofd = shim_ofd_get(fd);
	if (!*ofd)
		return 1;
	ret = (atomic_load(&(*ofd)->flags) & O_ACCMODE) == O_RDONLY ? not_writable : 0;
	if (ret)
		shim_ofd_put(*ofd);
	return ret;
}
