// SPDX-License-Identifier: MIT
/*
 * stdio.c - layer preload: stdio streams on store files. glibc's fopen and
 * fdopen reach the kernel without the interposed open/read/write, so a
 * stream of a udax path or descriptor is a fopencookie() stream whose
 * read, write, seek and close are the shim's. freopen onto a udax path is
 * refused (EOPNOTSUPP): the stream it reuses reads its descriptor inside
 * glibc. A program started with a udax descriptor as 0, 1 or 2 (handed
 * over by exec: `exec sort >/udax/out` in a shell) gets such a stream as
 * stdin, stdout or stderr.
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

/* A stream of the shim over udax descriptor fd, which fileno() names (as
 * glibc's own; its cookie streams say -1, and programs compare
 * fileno(stream) with 1, or fsync(fileno(stream))). glibc does no I/O on
 * the number of a cookie stream. Return: the stream, or NULL with errno. */
static FILE *cookie_stream(int fd, const char *mode)
{
	FILE *f = fopencookie((void *)(intptr_t)fd, mode, cookie_io);

	if (f)
		f->_fileno = fd;
	return f;
}

/* A stream over the udax descriptor fd (closed with it). Return: the
 * stream, or NULL with errno. */
static FILE *stream_open(int fd, const char *mode)
{
	FILE *f = cookie_stream(fd, mode);

	if (!f) {
		int err = errno;

		shim_close_any(fd);
		errno = err;
	}
	return f;
}

/* The standard streams over udax descriptors 0, 1, 2: their cookie
 * names the descriptor and whether the stream was let go (its close must
 * not close the descriptor then). */
struct std_cookie {
	int fd;
	bool let_go;
};

static struct std_cookie std_cookies[3] = { { 0, false }, { 1, false }, { 2, false } };
static FILE *std_glibc[3];	/* glibc's stream while ours stands in */
static bool std_closed[3];	/* the program closed ours: left alone */

static ssize_t std_read(void *cookie, char *buf, size_t len)
{
	return cookie_read((void *)(intptr_t)((struct std_cookie *)cookie)->fd, buf, len);
}

static ssize_t std_write(void *cookie, const char *buf, size_t len)
{
	return cookie_write((void *)(intptr_t)((struct std_cookie *)cookie)->fd, buf, len);
}

static int std_seek(void *cookie, off64_t *off, int whence)
{
	return cookie_seek((void *)(intptr_t)((struct std_cookie *)cookie)->fd, off, whence);
}

static int std_close(void *cookie)
{
	struct std_cookie *c = cookie;

	if (c->let_go)
		return 0;
	std_closed[c->fd] = true;
	return shim_close_any(c->fd);
}

static const cookie_io_functions_t std_io = {
	.read = std_read,
	.write = std_write,
	.seek = std_seek,
	.close = std_close,
};

static FILE **std_stream(int fd)
{
	return fd == 0 ? &stdin : fd == 1 ? &stdout : &stderr;
}

/* Descriptor fd (0, 1, 2) is about to change (done false: what its stream
 * holds goes to the old file) or has changed: a udax descriptor gets a
 * stream of the shim, a host one glibc's stream back. */
static void std_follow(int fd, bool done)
{
	FILE **std = std_stream(fd), *f;
	int acc;

	if (std_closed[fd])
		return;
	if (!done) {
		fflush(*std);
		return;
	}
	if (!shim_fd_is_udax(fd)) {
		if (std_glibc[fd]) {	/* ours goes, glibc's comes back */
			std_cookies[fd].let_go = true;
			fclose(*std);
			*std = std_glibc[fd];
			std_glibc[fd] = NULL;
		}
		return;
	}
	if (std_glibc[fd])
		return;		/* ours already: it names the descriptor */
	acc = fcntl(fd, F_GETFL) & O_ACCMODE;
	std_cookies[fd].let_go = false;
	f = fopencookie(&std_cookies[fd], acc == O_RDWR ? "r+" : acc == O_RDONLY ? "r" : "w",
			std_io);
	if (!f)
		return;		/* glibc's stays: EBADF on its I/O */
	f->_fileno = fd;
	if (fd == 2)
		setvbuf(f, NULL, _IONBF, 0);
	std_glibc[fd] = *std;
	*std = f;
}

void shim_std_streams(void)
{
	for (int fd = 0; fd < 3; fd++)
		std_follow(fd, true);
}

__attribute__((constructor)) static void stdio_load(void)
{
	shim_fd_watch_std(std_follow);
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
	return cookie_stream(fd, mode);
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
