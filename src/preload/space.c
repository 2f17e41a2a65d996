// SPDX-License-Identifier: MIT
/*
 * space.c - layer preload: the other calls on descriptors. fallocate
 * (mode 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE; EOPNOTSUPP for
 * the rest), posix_fallocate, posix_fadvise (accepted), sendfile,
 * copy_file_range and splice with a udax end (emulated by a copy), flock
 * (locks.c), and the refused one: ioctl (ENOTTY for terminal requests, else
 * EOPNOTSUPP: FICLONE's callers copy instead).
 *
 * May call: the public API of udax.h, libc, core.c, fd.c, rw.c, locks.c.
 * Locks: none of its own (rw.c's through shim_ofd_read/shim_ofd_write).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "preload/shim.h"

#define BOUNCE_MAX ((size_t)1 << 20)
#define PAGE 4096ull

/* Zero [off, end) of the file: whole pages punched, partial ones written.
 * Return: 0 or -errno. */
static int zero_range(struct udax_file *file, uint64_t off, uint64_t end)
{
	static const char zeros[PAGE];
	uint64_t head = (off + PAGE - 1) & ~(PAGE - 1), tail = end & ~(PAGE - 1);
	ssize_t n;

	if (head >= tail) {	/* within one page, or two partial ones */
		for (; off < end; off += (uint64_t)n) {
			uint64_t k = end - off < PAGE - off % PAGE ? end - off : PAGE - off % PAGE;

			n = udax_pwrite(file, zeros, k, off);
			if (n < 0)
				return (int)n;
		}
		return 0;
	}
	if (off < head && (n = udax_pwrite(file, zeros, head - off, off)) < 0)
		return (int)n;
	if (tail < end && (n = udax_pwrite(file, zeros, end - tail, tail)) < 0)
		return (int)n;
	return udax_punch_hole(file, head, tail - head);
}

/* fallocate on a udax file. Return: 0 or -errno. */
static int udax_fallocate_mode(struct shim_ofd *ofd, int mode, off_t off, off_t len)
{
	uint64_t size, end;
	int ret;

	if (off < 0 || len <= 0)
		return -EINVAL;
	if (__builtin_add_overflow((uint64_t)off, (uint64_t)len, &end) || end > INT64_MAX)
		return -EFBIG;
	ret = shim_ofd_size(ofd, &size);
	if (ret)
		return ret;
	switch (mode) {
	case 0:
		return udax_fallocate(ofd->file, (uint64_t)off, (uint64_t)len);
	case FALLOC_FL_KEEP_SIZE:	/* blocks past EOF: none (nothing reads them) */
		if ((uint64_t)off >= size)
			return 0;
		return udax_fallocate(ofd->file, (uint64_t)off,
				      (end < size ? end : size) - (uint64_t)off);
	case FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_ZERO_RANGE:
		if ((uint64_t)off < size)
			ret = zero_range(ofd->file, (uint64_t)off, end < size ? end : size);
		if (!ret && mode == FALLOC_FL_ZERO_RANGE && end > size)
			ret = udax_truncate(ofd->file, end);
		return ret;
	case FALLOC_FL_PUNCH_HOLE:
		return -EINVAL;	/* PUNCH_HOLE needs KEEP_SIZE */
	default:
		return -EOPNOTSUPP;
	}
}

SHIM_EXPORT int fallocate(int fd, int mode, off_t off, off_t len)
{
	struct shim_ofd *ofd;
	int ret = shim_ofd_for_change(fd, &ofd, -EBADF);

	if (ret == 1)
		return shim_real()->fallocate(fd, mode, off, len);
	if (ret)
		return shim_fail(ret);
	ret = udax_fallocate_mode(ofd, mode, off, len);
	if (!ret)
		atomic_store(&ofd->dirty, true);
	shim_ofd_put(ofd);
	return ret ? shim_fail(ret) : 0;
}

SHIM_EXPORT int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	return fallocate(fd, mode, off, len);
}

/* posix_fallocate returns the error number, errno untouched. */
SHIM_EXPORT int posix_fallocate(int fd, off_t off, off_t len)
{
	struct shim_ofd *ofd;
	int ret = shim_ofd_for_change(fd, &ofd, -EBADF);

	if (ret == 1)
		return shim_real()->posix_fallocate(fd, off, len);
	if (ret)
		return -ret;
	ret = udax_fallocate_mode(ofd, 0, off, len);
	if (!ret)
		atomic_store(&ofd->dirty, true);
	shim_ofd_put(ofd);
	return -ret;
}

SHIM_EXPORT int posix_fallocate64(int fd, off64_t off, off64_t len)
{
	return posix_fallocate(fd, off, len);
}

/* Advice changes nothing a udax file does: accepted when valid. */
SHIM_EXPORT int posix_fadvise(int fd, off_t off, off_t len, int advice)
{
	if (!shim_fd_is_udax(fd))
		return shim_real()->posix_fadvise(fd, off, len, advice);
	if (len < 0 || advice < POSIX_FADV_NORMAL || advice > POSIX_FADV_NOREUSE)
		return EINVAL;
	return 0;
}

SHIM_EXPORT int posix_fadvise64(int fd, off64_t off, off64_t len, int advice)
{
	return posix_fadvise(fd, off, len, advice);
}

/* No ioctl acts on a udax file: terminal requests get ENOTTY (not a
 * terminal), the rest EOPNOTSUPP (FICLONE and friends: the caller copies). */
SHIM_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!shim_fd_is_udax(fd))
		return shim_real()->ioctl(fd, req, arg);
	return shim_fail(((req >> 8) & 0xff) == 'T' ? -ENOTTY : -EOPNOTSUPP);
}

SHIM_EXPORT int flock(int fd, int op)
{
	struct shim_ofd *ofd = shim_ofd_get(fd);
	int ret;

	if (!ofd)
		return shim_real()->flock(fd, op);
	ret = shim_lock_flock(ofd, op);
	shim_ofd_put(ofd);
	return ret ? shim_fail(ret) : 0;
}

/* One read for the emulated copies: fd udax or host, at *off (advanced)
 * or at the file offset. Return: bytes, or -errno. */
static ssize_t copy_read(int fd, void *buf, size_t len, off_t *off)
{
	struct iovec v = { buf, len };
	struct shim_ofd *ofd = shim_ofd_get(fd);
	ssize_t n;

	if (!ofd) {
		n = off ? shim_real()->pread(fd, buf, len, *off) : shim_real()->read(fd, buf, len);
		n = n < 0 ? -errno : n;
	} else {
		n = shim_ofd_read(ofd, &v, 1, off ? *off : -1);
		shim_ofd_put(ofd);
	}
	if (n > 0 && off)
		*off += n;
	return n;
}

/* One write, as copy_read. */
static ssize_t copy_write(int fd, const void *buf, size_t len, off_t *off)
{
	struct iovec v = { (void *)buf, len };
	struct shim_ofd *ofd = shim_ofd_get(fd);
	ssize_t n;

	if (!ofd) {
		n = off ? shim_real()->pwrite(fd, buf, len, *off) :
			shim_real()->write(fd, buf, len);
		n = n < 0 ? -errno : n;
	} else {
		n = shim_ofd_write(ofd, &v, 1, off ? *off : -1, false);
		shim_ofd_put(ofd);
	}
	if (n > 0 && off)
		*off += n;
	return n;
}

/* sendfile, copy_file_range and splice with a udax end: a copy through a
 * buffer, stopping at the end of input or a short write. Return: bytes
 * copied, or -1 with errno if none were. */
static ssize_t copy_emulated(int in, off_t *in_off, int out, off_t *out_off, size_t len)
{
	ssize_t done = 0, n = 0;
	size_t chunk = len < BOUNCE_MAX ? len : BOUNCE_MAX;
	char *buf;

	if ((in_off && *in_off < 0) || (out_off && *out_off < 0))
		return shim_fail(-EINVAL);
	if (!len)
		return 0;
	if (posix_memalign((void **)&buf, 4096, chunk))	/* an O_DIRECT end takes it */
		return shim_fail(-ENOMEM);
	while ((size_t)done < len) {
		size_t want = len - (size_t)done < chunk ? len - (size_t)done : chunk;
		ssize_t w;

		n = copy_read(in, buf, want, in_off);
		if (n <= 0)
			break;
		w = copy_write(out, buf, (size_t)n, out_off);
		if (w < 0) {
			n = w;
			break;
		}
		done += w;
		if (w < n || (size_t)n < want)
			break;
	}
	free(buf);
	return done || n >= 0 ? done : shim_fail((int)n);
}

SHIM_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t len)
{
	if (!shim_fd_is_udax(in) && !shim_fd_is_udax(out))
		return shim_real()->sendfile(out, in, off, len);
	return copy_emulated(in, off, out, NULL, len);
}

SHIM_EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t len)
{
	return sendfile(out, in, off, len);
}

SHIM_EXPORT ssize_t copy_file_range(int in, off64_t *in_off, int out, off64_t *out_off,
				    size_t len, unsigned flags)
{
	if (!shim_fd_is_udax(in) && !shim_fd_is_udax(out))
		return shim_real()->copy_file_range(in, in_off, out, out_off, len, flags);
	if (flags)
		return shim_fail(-EINVAL);
	return copy_emulated(in, in_off, out, out_off, len);
}

SHIM_EXPORT ssize_t splice(int in, off64_t *in_off, int out, off64_t *out_off, size_t len,
			   unsigned flags)
{
	if (!shim_fd_is_udax(in) && !shim_fd_is_udax(out))
		return shim_real()->splice(in, in_off, out, out_off, len, flags);
	return copy_emulated(in, in_off, out, out_off, len);
}
