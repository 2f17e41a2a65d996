// SPDX-License-Identifier: MIT
/*
 * rw.c - layer preload: the data calls on descriptors: read/write and
 * their vector and positional forms, lseek, fstat, ftruncate, fsync. On a
 * udax descriptor they are udax_pread/udax_pwrite at the ofd's offset
 * (O_APPEND and O_DSYNC as the kernel). A host descriptor goes to the
 * kernel, unless its buffer lies in a udax mapping: the kernel cannot fault
 * those pages in (userfaultfd in SIGBUS mode serves user accesses only), so
 * the data goes through a bounce buffer that the shim copies in user space.
 *
 * May call: the public API of udax.h, libc, core.c, fd.c, maps.c, offsets.c.
 * Locks: ofd.pos_lock across a read or write that uses the offset (the
 * kernel's f_pos_lock). An O_APPEND write is one udax_append(), atomic
 * across the processes of the store.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload/shim.h"

#define MAX_RW ((size_t)0x7ffff000)	/* the kernel's MAX_RW_COUNT */
#define BOUNCE_MAX ((size_t)1 << 20)

/* Return: the bytes of iov (at most MAX_RW), or -EINVAL for a bad vector. */
static ssize_t iov_total(const struct iovec *iov, int cnt)
{
	size_t total = 0;

	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	for (int i = 0; i < cnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - total)
			return -EINVAL;
		total += iov[i].iov_len;
	}
	return (ssize_t)(total < MAX_RW ? total : MAX_RW);
}

ssize_t shim_ofd_read(struct shim_ofd *ofd, const struct iovec *iov, int cnt, off_t pos)
{
	ssize_t left = iov_total(iov, cnt), done = 0, n = 0;
	bool own_pos = pos < 0;
	uint64_t at;

	if (left < 0)
		return left;
	if ((atomic_load(&ofd->flags) & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (own_pos)
		shim_pos_lock(ofd->pos);
	at = own_pos ? ofd->pos->value : (uint64_t)pos;
	for (int i = 0; i < cnt && left > 0; i++) {
		size_t len = iov[i].iov_len < (size_t)left ? iov[i].iov_len : (size_t)left;

		if (!len)
			continue;
		n = udax_pread(ofd->file, iov[i].iov_base, len, at + (uint64_t)done);
		if (n < 0)
			break;
		done += n;
		left -= n;
		if ((size_t)n < len)
			break;
	}
	if (own_pos) {
		ofd->pos->value = at + (uint64_t)done;
		shim_pos_unlock(ofd->pos);
	}
	return done || n >= 0 ? done : n;
}

/* An O_APPEND write of iov (cnt parts, left bytes): one udax_append(), so
 * that no other append, in any process, lands inside it (the parts
 * gathered first when there are several). Return: bytes or -errno, *at
 * where they went. */
static ssize_t append_iov(struct shim_ofd *ofd, const struct iovec *iov, int cnt, size_t left,
			  uint64_t *at)
{
	char *buf;
	size_t got = 0;
	ssize_t n;

	if (cnt == 1)
		return udax_append(ofd->file, iov[0].iov_base, left, at);
	buf = malloc(left);
	if (!buf)
		return -ENOMEM;
	for (int i = 0; i < cnt && got < left; i++) {
		size_t len = iov[i].iov_len < left - got ? iov[i].iov_len : left - got;

		memcpy(buf + got, iov[i].iov_base, len);
		got += len;
	}
	n = udax_append(ofd->file, buf, left, at);
	free(buf);
	return n;
}

ssize_t shim_ofd_write(struct shim_ofd *ofd, const struct iovec *iov, int cnt, off_t pos,
		       bool append)
{
	ssize_t left = iov_total(iov, cnt), done = 0, n = 0;
	int flags = atomic_load(&ofd->flags);
	bool own_pos = pos < 0;
	uint64_t at = 0;

	if (left < 0)
		return left;
	if ((flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (!left)	/* the offset stays, even with O_APPEND */
		return 0;
	append = append || (flags & O_APPEND);	/* Linux: pwrite on O_APPEND appends */
	if (own_pos)
		shim_pos_lock(ofd->pos);
	if (append) {
		n = append_iov(ofd, iov, cnt, (size_t)left, &at);
		done = n > 0 ? n : 0;
	} else {
		at = own_pos ? ofd->pos->value : (uint64_t)pos;
	}
	for (int i = 0; !append && n >= 0 && i < cnt && left > 0; i++) {
		size_t len = iov[i].iov_len < (size_t)left ? iov[i].iov_len : (size_t)left;

		if (!len)
			continue;
		n = udax_pwrite(ofd->file, iov[i].iov_base, len, at + (uint64_t)done);
		if (n < 0)
			break;
		done += n;
		left -= n;
		if ((size_t)n < len)
			break;
	}
	if (done)
		atomic_store(&ofd->dirty, true);
	if (own_pos) {
		if (n >= 0 || done)
			ofd->pos->value = at + (uint64_t)done;
		shim_pos_unlock(ofd->pos);
	}
	if (done && (flags & O_DSYNC)) {
		n = udax_fsync(ofd->file);
		if (n < 0)
			return n;
	}
	return done || n >= 0 ? done : n;
}

/* A host descriptor's read into (or write from) a vector of which a part
 * lies in a udax mapping: its udax parts through a buffer of the shim
 * (bounce.c, which checks them as the kernel would), with the RWF flags
 * asked. A regular file or block device goes BOUNCE_MAX bytes of the
 * vector at a time, to the end; anything else (a pipe, a socket: a
 * datagram must go whole, and a read must not block for more) in one call.
 * Return: bytes, or -errno. */
static ssize_t host_bounce(int fd, const struct iovec *iov, int cnt, off_t pos, int rwf,
			   bool write)
{
	const struct shim_real *r = shim_real();
	ssize_t total = iov_total(iov, cnt), done = 0, n = 0;
	struct iovec *rest;	/* what is left of the vector */
	size_t first = 0;	/* its first part with bytes left */
	size_t chunk = MAX_RW;	/* a pipe, socket or device: one call, as asked */
	struct stat st;

	if (total <= 0)
		return total;
	rest = malloc((size_t)cnt * sizeof(*rest));
	if (!rest)
		return -ENOMEM;
	memcpy(rest, iov, (size_t)cnt * sizeof(*rest));
	if (r->fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		chunk = BOUNCE_MAX;	/* a file: chunk by chunk, to the end */
	while (done < total) {
		size_t want = (size_t)(total - done) < chunk ? (size_t)(total - done) : chunk;
		struct shim_bounce b;
		int ret = shim_bounce_plan(&b, rest + first, (size_t)cnt - first, want, !write);

		if (ret) {
			n = ret;
			break;
		}
		n = write ? r->pwritev2(fd, b.iov, (int)b.cnt, pos < 0 ? -1 : pos + done, rwf) :
			    r->preadv2(fd, b.iov, (int)b.cnt, pos < 0 ? -1 : pos + done, rwf);
		if (n < 0)
			n = -errno;
		else if (!write)
			shim_bounce_scatter(&b, (size_t)n);
		shim_bounce_free(&b);
		if (n <= 0)
			break;
		done += n;
		for (size_t k = (size_t)n; k && first < (size_t)cnt; ) {	/* advance */
			size_t step = rest[first].iov_len < k ? rest[first].iov_len : k;

			rest[first].iov_base = (char *)rest[first].iov_base + step;
			rest[first].iov_len -= step;
			k -= step;
			if (!rest[first].iov_len)
				first++;
		}
		if ((size_t)n < want)
			break;
	}
	free(rest);
	return done ? done : n;
}

/* Whether a host descriptor's transfer of iov needs the bounce (a vector
 * the kernel refuses goes to it as it is). */
static bool iov_bounced(const struct iovec *iov, int cnt)
{
	return cnt >= 0 && cnt <= IOV_MAX && shim_bounce_needed(iov, (size_t)cnt);
}

ssize_t shim_read_any(int fd, const struct iovec *iov, int cnt, off_t pos, int rwf)
{
	struct shim_ofd *ofd = shim_ofd_get(fd);
	ssize_t ret;

	if (shim_fd_is_library(fd) && !shim_in_vfork_child())	/* not the program's */
		return shim_fail(-EBADF);
	if (!ofd) {
		if (iov_bounced(iov, cnt)) {
			ret = host_bounce(fd, iov, cnt, pos, rwf, false);
			return ret < 0 ? shim_fail((int)ret) : ret;
		}
		if (rwf || cnt != 1)
			return shim_real()->preadv2(fd, iov, cnt, pos, rwf);
		return pos < 0 ? shim_real()->read(fd, iov[0].iov_base, iov[0].iov_len) :
			shim_real()->pread(fd, iov[0].iov_base, iov[0].iov_len, pos);
	}
	ret = pos < 0 ? shim_offset_check(ofd) : 0;
	if (!ret && (rwf & ~(RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_APPEND)))
		ret = rwf & ~(RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_APPEND | RWF_NOWAIT) ?
			-EINVAL : -EOPNOTSUPP;
	if (!ret)
		ret = shim_ofd_read(ofd, iov, cnt, pos);
	shim_ofd_put(ofd);
	return ret < 0 ? shim_fail((int)ret) : ret;
}

ssize_t shim_write_any(int fd, const struct iovec *iov, int cnt, off_t pos, int rwf)
{
	struct shim_ofd *ofd = shim_ofd_get(fd);
	ssize_t ret;

	if (shim_fd_is_library(fd) && !shim_in_vfork_child())	/* not the program's */
		return shim_fail(-EBADF);
	if (!ofd) {
		if (iov_bounced(iov, cnt)) {
			ret = host_bounce(fd, iov, cnt, pos, rwf, true);
			return ret < 0 ? shim_fail((int)ret) : ret;
		}
		if (rwf || cnt != 1)
			return shim_real()->pwritev2(fd, iov, cnt, pos, rwf);
		return pos < 0 ? shim_real()->write(fd, iov[0].iov_base, iov[0].iov_len) :
			shim_real()->pwrite(fd, iov[0].iov_base, iov[0].iov_len, pos);
	}
	ret = pos < 0 && !(rwf & RWF_APPEND) ? shim_offset_check(ofd) : 0;
	if (!ret && (rwf & ~(RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_APPEND)))
		ret = rwf & ~(RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_APPEND | RWF_NOWAIT) ?
			-EINVAL : -EOPNOTSUPP;
	if (!ret)
		ret = shim_ofd_write(ofd, iov, cnt, pos, rwf & RWF_APPEND);
	if (ret >= 0 && (rwf & (RWF_DSYNC | RWF_SYNC))) {
		int err = udax_fsync(ofd->file);

		ret = err ? err : ret;
	}
	shim_ofd_put(ofd);
	return ret < 0 ? shim_fail((int)ret) : ret;
}

/* pread/pwrite and the vector forms refuse a negative offset (-1 means
 * the file offset only for preadv2/pwritev2). */
#define CHECK_POS(pos)							\
	do {								\
		if ((pos) < 0)						\
			return shim_fail(-EINVAL);			\
	} while (0)

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	struct iovec v = { buf, len };

	return shim_read_any(fd, &v, 1, -1, 0);
}

SHIM_EXPORT ssize_t pread(int fd, void *buf, size_t len, off_t pos)
{
	struct iovec v = { buf, len };

	CHECK_POS(pos);
	return shim_read_any(fd, &v, 1, pos, 0);
}

SHIM_EXPORT ssize_t pread64(int fd, void *buf, size_t len, off64_t pos)
{
	return pread(fd, buf, len, pos);
}

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	if (!shim_fd_is_udax(fd) && !shim_fd_is_library(fd) && !iov_bounced(iov, cnt))
		return shim_real()->readv(fd, iov, cnt);
	return shim_read_any(fd, iov, cnt, -1, 0);
}

SHIM_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t pos)
{
	CHECK_POS(pos);
	return shim_read_any(fd, iov, cnt, pos, 0);
}

SHIM_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off64_t pos)
{
	return preadv(fd, iov, cnt, pos);
}

SHIM_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t pos, int flags)
{
	if (pos < -1)
		return shim_fail(-EINVAL);
	return shim_read_any(fd, iov, cnt, pos, flags);
}

SHIM_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t pos, int flags)
{
	return preadv2(fd, iov, cnt, pos, flags);
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };

	return shim_write_any(fd, &v, 1, -1, 0);
}

SHIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t len, off_t pos)
{
	struct iovec v = { (void *)buf, len };

	CHECK_POS(pos);
	return shim_write_any(fd, &v, 1, pos, 0);
}

SHIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t pos)
{
	return pwrite(fd, buf, len, pos);
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (!shim_fd_is_udax(fd) && !shim_fd_is_library(fd) && !iov_bounced(iov, cnt))
		return shim_real()->writev(fd, iov, cnt);
	return shim_write_any(fd, iov, cnt, -1, 0);
}

SHIM_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t pos)
{
	CHECK_POS(pos);
	return shim_write_any(fd, iov, cnt, pos, 0);
}

SHIM_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t pos)
{
	return pwritev(fd, iov, cnt, pos);
}

SHIM_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t pos, int flags)
{
	if (pos < -1)
		return shim_fail(-EINVAL);
	return shim_write_any(fd, iov, cnt, pos, flags);
}

SHIM_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t pos,
				int flags)
{
	return pwritev2(fd, iov, cnt, pos, flags);
}

/* lseek on a udax ofd. Return: the new offset, or -errno. */
static off_t udax_lseek(struct shim_ofd *ofd, off_t off, int whence)
{
	uint64_t size;
	off_t base;
	int ret = 0;

	shim_pos_lock(ofd->pos);
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (off_t)ofd->pos->value;
		break;
	case SEEK_END:
		ret = shim_ofd_size(ofd, &size);
		base = (off_t)size;
		break;
	case SEEK_DATA:
	case SEEK_HOLE:	/* the store's block map says where */
		base = off < 0 ? -ENXIO : (off_t)udax_seek_data(ofd->file, (uint64_t)off, whence);
		ret = base < 0 ? (int)base : 0;
		off = 0;
		break;
	default:
		ret = -EINVAL;
		break;
	}
	if (!ret && (__builtin_add_overflow(base, off, &base) || base < 0))
		ret = -EINVAL;
	if (!ret)
		ofd->pos->value = (uint64_t)base;
	shim_pos_unlock(ofd->pos);
	return ret ? ret : base;
}

SHIM_EXPORT off_t lseek(int fd, off_t off, int whence)
{
	return shim_lseek_any(fd, off, whence);
}

off_t shim_lseek_any(int fd, off_t off, int whence)
{
	struct shim_ofd *ofd = shim_ofd_get(fd);
	off_t ret;

	if (!ofd)
		return shim_real()->lseek(fd, off, whence);
	ret = shim_offset_check(ofd);
	if (!ret)
		ret = udax_lseek(ofd, off, whence);
	shim_ofd_put(ofd);
	return ret < 0 ? shim_fail((int)ret) : ret;
}

SHIM_EXPORT off64_t lseek64(int fd, off64_t off, int whence)
{
	return lseek(fd, off, whence);
}

/* fstat of a udax ofd. Return: 0 or -errno. */
static int udax_fstat_ofd(struct shim_ofd *ofd, struct stat *st)
{
	char name[SHIM_PATH_SIZE];
	struct udax_file_stat fs;
	int ret;

	if (!ofd->file) {
		shim_stat_dir(st, ofd->dir);
		return 0;
	}
	ret = udax_fstat(ofd->file, &fs);
	if (ret)
		return ret;
	shim_node_name(ofd->node, name);
	shim_stat_fill(st, name, fs.size, fs.blocks);
	return 0;
}

SHIM_EXPORT int fstat(int fd, struct stat *st)
{
	struct shim_ofd *ofd = shim_ofd_get_any(fd);
	int ret;

	if (!ofd)
		return shim_real()->fstat(fd, st);
	ret = udax_fstat_ofd(ofd, st);
	shim_ofd_put(ofd);
	return ret ? shim_fail(ret) : 0;
}

SHIM_EXPORT int fstat64(int fd, struct stat64 *st)
{
	return fstat(fd, (struct stat *)st);
}

SHIM_EXPORT int ftruncate(int fd, off_t len)
{
	struct shim_ofd *ofd;
	int ret = shim_ofd_for_change(fd, &ofd, -EINVAL);

	if (ret == 1)
		return shim_real()->ftruncate(fd, len);
	if (ret)
		return shim_fail(ret);
	ret = len < 0 ? -EINVAL : udax_truncate(ofd->file, (uint64_t)len);
	if (!ret)
		atomic_store(&ofd->dirty, true);
	shim_ofd_put(ofd);
	return ret ? shim_fail(ret) : 0;
}

SHIM_EXPORT int ftruncate64(int fd, off64_t len)
{
	return ftruncate(fd, len);
}

/* fsync, fdatasync, sync_file_range on fd. Return: as the call. */
static int sync_any(int fd, int (*host)(int fd))
{
	struct shim_ofd *ofd = shim_ofd_get(fd);
	int ret;

	if (!ofd)
		return host(fd);
	atomic_store(&ofd->dirty, false);
	ret = udax_fsync(ofd->file);
	if (ret)
		atomic_store(&ofd->dirty, true);
	shim_ofd_put(ofd);
	return ret ? shim_fail(ret) : 0;
}

SHIM_EXPORT int fsync(int fd)
{
	return sync_any(fd, shim_real()->fsync);
}

SHIM_EXPORT int fdatasync(int fd)
{
	return sync_any(fd, shim_real()->fdatasync);
}

SHIM_EXPORT int sync_file_range(int fd, off64_t off, off64_t len, unsigned flags)
{
	if (!shim_fd_is_udax(fd))
		return shim_real()->sync_file_range(fd, off, len, flags);
	if (off < 0 || len < 0 || (flags & ~(SYNC_FILE_RANGE_WAIT_BEFORE |
					     SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER)))
		return shim_fail(-EINVAL);
	return sync_any(fd, shim_real()->fsync);	/* a whole fsync: stronger */
}
