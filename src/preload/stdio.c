// SPDX-License-Identifier: MIT
/*
 * stdio.c - layer preload: stdio streams on store files. glibc's fopen and
 * fdopen reach the kernel without the interposed open/read/write, so a
 * stream of a udax path or descriptor is a fopencookie() stream whose
 * read, write, seek and close are the shim's. freopen onto a udax path is
 * refused (EOPNOTSUPP): the stream it reuses reads its descriptor inside
 * glibc.
 *
 * May call: libc, core.c, fd.c.
 * Locks: none of its own (the stream's lock is glibc's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>

#include "preload/shim.h"

/* The open(2) flags of an fopen mode ("r", "w+", "ae", "rb+x", ...).
 * Return: the flags, or -EINVAL. */
static int mode_flags(const char *mode)
{
	int flags;

	switch (mode[0]) {
	case 'r': flags = O_RDONLY; break;
	case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
	case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
	default: return -EINVAL;
	}
	for (const char *c = mode + 1; *c && *c != ','; c++) {
		switch (*c) {
		case '+': flags = (flags & ~O_ACCMODE) | O_RDWR; break;
		case 'x': flags |= O_EXCL; break;
		case 'e': flags |= O_CLOEXEC; break;
		default: break;	/* b, m, c: nothing to do */
		}
	}
	return flags;
}

static ssize_t cookie_read(void *cookie, char *buf, size_t len)
{
	struct iovec v = { buf, len };

	return shim_read_any((int)(intptr_t)cookie, &v, 1, -1, 0);
}

static ssize_t cookie_write(void *cookie, const char *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };
	ssize_t n = shim_write_any((int)(intptr_t)cookie, &v, 1, -1, 0);

	return n < 0 ? 0 : n;	/* fopencookie: 0 is the error */
}

static int cookie_seek(void *cookie, off64_t *off, int whence)
{
	off_t at = shim_lseek_any((int)(intptr_t)cookie, *off, whence);

	if (at < 0)
		return -1;
	*off = at;
	return 0;
}

static int cookie_close(void *cookie)
{
	return shim_close_any((int)(intptr_t)cookie);
}

static const cookie_io_functions_t cookie_io = {
	.read = cookie_read,
	.write = cookie_write,
	.seek = cookie_seek,
	.close = cookie_close,
};

/* A stream over the udax descriptor fd (closed with it). Return: the
 * stream, or NULL with errno. */
static FILE *stream_open(int fd, const char *mode)
{
	FILE *f = fopencookie((void *)(intptr_t)fd, mode, cookie_io);

	if (!f) {
		int err = errno;

		shim_close_any(fd);
		errno = err;
	}
	return f;
}

static FILE *fopen_any(const char *path, const char *mode)
{
	char name[SHIM_PATH_SIZE];
	int flags, fd;

	if (shim_path_where(AT_FDCWD, path, name) == SHIM_HOST)
		return shim_real()->fopen(path, mode);
	flags = mode_flags(mode);
	if (flags < 0) {
		errno = -flags;
		return NULL;
	}
	fd = shim_open_any(AT_FDCWD, path, flags, 0666);
	return fd < 0 ? NULL : stream_open(fd, mode);
}

SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	return fopen_any(path, mode);
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return fopen_any(path, mode);
}

SHIM_EXPORT FILE *fdopen(int fd, const char *mode)
{
	int flags, want, had;

	if (!shim_fd_is_udax(fd))
		return shim_real()->fdopen(fd, mode);
	flags = mode_flags(mode);
	had = fcntl(fd, F_GETFL);
	if (flags < 0 || had < 0) {
		errno = flags < 0 ? -flags : errno;
		return NULL;
	}
	want = flags & O_ACCMODE;
	if ((want == O_RDWR && (had & O_ACCMODE) != O_RDWR) ||
	    (want != O_RDWR && (had & O_ACCMODE) != O_RDWR && (had & O_ACCMODE) != want)) {
		errno = EINVAL;
		return NULL;
	}
	if ((flags & O_APPEND) && !(had & O_APPEND))	/* as glibc's fdopen */
		fcntl(fd, F_SETFL, had | O_APPEND);
	return fopencookie((void *)(intptr_t)fd, mode, cookie_io);
}

static FILE *freopen_any(const char *path, const char *mode, FILE *stream)
{
	char name[SHIM_PATH_SIZE];

	if (!path || shim_path_where(AT_FDCWD, path, name) == SHIM_HOST)
		return shim_real()->freopen(path, mode, stream);
	errno = EOPNOTSUPP;
	return NULL;
}

SHIM_EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
	return freopen_any(path, mode, stream);
}

SHIM_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
	return freopen_any(path, mode, stream);
}
