// SPDX-License-Identifier: MIT
/*
 * shim_posix_twin: an ordinary POSIX program (no udax.h) run under
 * `udax run` makes every call the preload shim intercepts on a store file
 * and on its host twin, and requires the same results: return values,
 * errnos, bytes read, file contents and sizes. A seeded random sequence of
 * reads, writes (plain, positional, vector), seeks, truncates,
 * fallocates, dups with shared offsets and O_APPEND switches runs on both,
 * the contents compared as it goes; then the path calls (stat forms,
 * access, rename, unlink of an open file, truncate), stdio, mappings,
 * copies and locks, SEEK_DATA and SEEK_HOLE of a sparse file.
 * Exit 0 pass, 1 fail (with the seed).
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/uio.h>

#include "shim_lib.h"

#define FILE_MAX (3 << 20)
#define OPS 3000

static char *buf[2], *data;


/* As TWIN for calls returning a descriptor (numbers differ): into fd[]. */
#define TWIN_FD(fd, expr)						\
	do {								\
		for (int s = 0; s < 2; s++) {				\
			errno = 0;					\
			(fd)[s] = (expr);				\
			e_fd[s] = (fd)[s] < 0 ? errno : 0;		\
		}							\
		if (((fd)[0] < 0) != ((fd)[1] < 0) || e_fd[0] != e_fd[1]) \
			SHIM_FAIL("%s: host %d (%s), udax %d (%s)", #expr, (fd)[0], \
				  strerror(e_fd[0]), (fd)[1], strerror(e_fd[1])); \
	} while (0)

static int e_fd[2];

/* The whole contents of both files (by name) must be equal. */
static void same_contents(const char *name, const char *when)
{
	ssize_t n[2];

	for (int s = 0; s < 2; s++) {
		int fd = open(shim_path(s, name), O_RDONLY);

		SHIM_CHECK(fd >= 0, "%s: open %s: %s", when, shim_path(s, name), strerror(errno));
		n[s] = 0;
		for (ssize_t k; (k = read(fd, buf[s] + n[s], FILE_MAX + 4096 - (size_t)n[s])) > 0; )
			n[s] += k;
		close(fd);
	}
	if (n[0] != n[1])
		SHIM_FAIL("%s: %s has %zd bytes on the host, %zd in the store", when, name, n[0],
			  n[1]);
	for (ssize_t i = 0; i < n[0]; i++)
		if (buf[0][i] != buf[1][i])
			SHIM_FAIL("%s: %s differs at byte %zd: host %d, udax %d", when, name, i,
				  buf[0][i], buf[1][i]);
}

static uint64_t pick(uint64_t max)
{
	return shim_rand() % (max + 1);
}

/* Whether the host file system does fallocate mode (tmpfs: not all). */
static bool host_falloc(int mode)
{
	int fd = open(shim_path(0, "probe"), O_RDWR | O_CREAT, 0644);
	bool ok = fd >= 0 && ftruncate(fd, 8192) == 0 && fallocate(fd, mode, 0, 4096) == 0;

	close(fd);
	unlink(shim_path(0, "probe"));
	return ok;
}

/* The random part: one file opened through two descriptors of one open
 * (dup) and a third of its own, on both sides. */
static void random_ops(void)
{
	bool zero_ok = host_falloc(FALLOC_FL_ZERO_RANGE);
	int a[2], b[2], c[2];
	char *rd[2];

	TWIN_FD(a, open(shim_path(s, "r"), O_RDWR | O_CREAT | O_EXCL, 0644));
	TWIN_FD(b, dup(a[s]));
	TWIN_FD(c, openat(AT_FDCWD, shim_path(s, "r"), O_RDWR));
	for (int s = 0; s < 2; s++)
		rd[s] = buf[s];
	for (int op = 0; op < OPS; op++) {
		uint64_t off = pick(FILE_MAX - 65536), len = pick(pick(1) ? 300 : 65536);
		uint64_t size = pick(FILE_MAX);
		off_t seek = (off_t)off - (off_t)pick(1) * FILE_MAX;
		int fd[2] = { a[0], a[1] }, which = (int)pick(2), whence = (int)pick(2);
		int keep = (int)pick(1) * FALLOC_FL_KEEP_SIZE, vector = (int)pick(1);
		struct iovec v[2][3];

		if (which) {
			fd[0] = which == 1 ? b[0] : c[0];
			fd[1] = which == 1 ? b[1] : c[1];
		}
		for (uint64_t i = 0; i < len; i++)
			data[i] = (char)shim_rand();
		switch (pick(17)) {
		case 0: case 1:
			TWIN(pwrite(fd[s], data, len, (off_t)off));
			break;
		case 2: case 3:
			TWIN(write(fd[s], data, len));
			break;
		case 4:
			TWIN(pread(fd[s], rd[s], len, (off_t)off));
			SHIM_CHECK(!memcmp(rd[0], rd[1], len), "op %d: pread bytes differ", op);
			break;
		case 5:
			TWIN(read(fd[s], rd[s], len));
			SHIM_CHECK(!memcmp(rd[0], rd[1], len), "op %d: read bytes differ", op);
			break;
		case 6:
			TWIN(lseek(fd[s], seek, whence));
			break;
		case 7:
			TWIN(ftruncate(fd[s], (off_t)size));
			break;
		case 8:
			for (int s = 0; s < 2; s++) {
				v[s][0] = (struct iovec){ data, len / 3 };
				v[s][1] = (struct iovec){ data + len / 3, 0 };
				v[s][2] = (struct iovec){ data + len / 3, len - len / 3 };
			}
			if (vector)
				TWIN(writev(fd[s], v[s], 3));
			else
				TWIN(pwritev(fd[s], v[s], 3, (off_t)off));
			break;
		case 9:
			for (int s = 0; s < 2; s++) {
				v[s][0] = (struct iovec){ rd[s], len / 2 };
				v[s][1] = (struct iovec){ rd[s] + len / 2, len - len / 2 };
			}
			if (vector)
				TWIN(readv(fd[s], v[s], 2));
			else
				TWIN(preadv(fd[s], v[s], 2, (off_t)off));
			SHIM_CHECK(!memcmp(rd[0], rd[1], len), "op %d: readv bytes differ", op);
			break;
		case 10:
			TWIN(fallocate(fd[s], 0, (off_t)off, (off_t)len + 1));
			break;
		case 11:
			TWIN(fallocate(fd[s], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
				       (off_t)len + 1));
			break;
		case 12:
			TWIN(fallocate(fd[s], FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len + 1));
			break;
		case 13:
			if (zero_ok)
				TWIN(fallocate(fd[s], FALLOC_FL_ZERO_RANGE | keep, (off_t)off,
					       (off_t)len + 1));
			break;
		case 14:	/* O_APPEND on the shared open, then off again */
			TWIN(fcntl(a[s], F_SETFL, O_APPEND));
			TWIN(fcntl(b[s], F_GETFL));
			TWIN(write(b[s], data, len));
			TWIN(lseek(a[s], 0, SEEK_CUR));
			TWIN(pwrite(a[s], data, len / 2, (off_t)off));	/* appends too */
			TWIN(fcntl(a[s], F_SETFL, 0));
			break;
		case 15:
			TWIN(fsync(fd[s]));
			TWIN(fdatasync(fd[s]));
			break;
		case 16:
			TWIN(lseek(fd[s], 0, SEEK_CUR));
			break;
		default:
			TWIN(lseek(c[s], (off_t)off, SEEK_SET));
			TWIN(lseek(a[s], 0, SEEK_END));
			break;
		}
		if (op % 500 == 0)
			same_contents("r", "random ops");
	}
	same_contents("r", "random ops, end");
	TWIN(close(a[s]));
	TWIN(close(b[s]));
	TWIN(close(c[s]));
	TWIN(close(a[s]));	/* EBADF */
}

/* open's flags and access modes. */
/* Offsets asked SEEK_DATA and SEEK_HOLE of a sparse file: in, at the end
 * of and past a run of data, in holes, the last byte. */
static const off_t sparse_offs[] = { 0, 100, 4096, 5000, 2 << 20, (8 << 20) - 1,
				     (8 << 20) + 50, (8 << 20) + 4096, (16 << 20) - 1 };

static void open_flags(void)
{
	int fd[2], g[2];
	char c[2];

	TWIN_FD(fd, open(shim_path(s, "missing"), O_RDONLY));
	TWIN_FD(fd, open64(shim_path(s, "o"), O_WRONLY | O_CREAT | O_TRUNC, 0644));
	TWIN(write(fd[s], "hello", 5));
	TWIN(read(fd[s], c, 1));		/* EBADF: write-only */
	TWIN(fcntl(fd[s], F_GETFL));
	TWIN(close(fd[s]));
	TWIN_FD(fd, open(shim_path(s, "o"), O_CREAT | O_EXCL | O_RDWR, 0644));	/* EEXIST */
	TWIN_FD(fd, open(shim_path(s, "o"), O_RDONLY | O_DIRECTORY));		/* ENOTDIR */
	TWIN_FD(fd, open(shim_path(s, "o"), O_RDONLY));
	TWIN(write(fd[s], "x", 1));		/* EBADF: read-only */
	TWIN(ftruncate(fd[s], 0));		/* EINVAL: read-only */
	TWIN(fallocate(fd[s], 0, 0, 10));	/* EBADF */
	TWIN(fcntl(fd[s], F_GETFL));
	TWIN(read(fd[s], c, 2));
	TWIN(close(fd[s]));
	TWIN_FD(fd, open(shim_path(s, "o"), O_WRONLY | O_APPEND));
	TWIN(lseek(fd[s], 0, SEEK_SET));
	TWIN(write(fd[s], " world", 6));
	TWIN(lseek(fd[s], 0, SEEK_CUR));
	TWIN(fcntl(fd[s], F_GETFL));
	TWIN(close(fd[s]));
	TWIN_FD(fd, creat(shim_path(s, "o2"), 0644));
	TWIN(write(fd[s], "abc", 3));
	TWIN(close(fd[s]));
	TWIN_FD(fd, open(shim_path(s, "o2"), O_RDWR | O_TRUNC));
	TWIN(lseek(fd[s], 0, SEEK_END));
	TWIN(lseek(fd[s], -1, SEEK_SET));	/* EINVAL */
	TWIN(lseek(fd[s], 0, 99));		/* EINVAL */
	TWIN(write(fd[s], "0123456789", 10));
	TWIN(lseek(fd[s], 3, SEEK_DATA));
	TWIN(lseek(fd[s], 3, SEEK_HOLE));
	TWIN(lseek(fd[s], 10, SEEK_DATA));	/* ENXIO */
	TWIN(lseek(fd[s], 11, SEEK_HOLE));	/* ENXIO */
	/* a sparse file: a page of data, 100 bytes at 8 MiB, 16 MiB long */
	TWIN_FD(g, open(shim_path(s, "sparse"), O_CREAT | O_RDWR, 0644));
	TWIN(pwrite(g[s], data, 4096, 0));
	TWIN(pwrite(g[s], data, 100, 8 << 20));
	TWIN(ftruncate(g[s], 16 << 20));
	for (unsigned i = 0; i < sizeof(sparse_offs) / sizeof(sparse_offs[0]); i++) {
		TWIN(lseek(g[s], sparse_offs[i], SEEK_DATA));
		TWIN(lseek(g[s], sparse_offs[i], SEEK_HOLE));
	}
	TWIN(close(g[s]));
	TWIN(pread(fd[s], c, 1, -1));		/* EINVAL */
	TWIN(pwrite(fd[s], c, 1, -5));		/* EINVAL */
	/* dup2/dup3 onto a host descriptor; F_DUPFD; close-on-exec */
	TWIN_FD(g, open("/dev/null", O_RDONLY));
	TWIN(dup2(fd[s], g[s]) == g[s]);
	TWIN(lseek(g[s], 4, SEEK_SET));
	TWIN(lseek(fd[s], 0, SEEK_CUR));	/* shared offset: 4 */
	TWIN(dup3(fd[s], g[s], O_CLOEXEC) == g[s]);
	TWIN(fcntl(g[s], F_GETFD));
	TWIN(fcntl(fd[s], F_GETFD));
	TWIN(close(g[s]));
	TWIN_FD(g, fcntl(fd[s], F_DUPFD_CLOEXEC, 100));
	TWIN(g[s] >= 100);
	TWIN(fcntl(g[s], F_GETFD));
	TWIN(read(g[s], c, 2));
	TWIN(memcmp(c, "45", 2));
	TWIN(close(g[s]));
	/* fcntl commands the kernel refuses for a regular file, and one it
	 * does not know, with the kernel's errno */
	TWIN(fcntl(fd[s], 12345));
	TWIN(fcntl(fd[s], F_GET_SEALS));
	TWIN(fcntl(fd[s], F_ADD_SEALS, F_SEAL_SEAL));
	TWIN(fcntl(fd[s], F_GETPIPE_SZ));
	TWIN(fcntl(fd[s], F_SETPIPE_SZ, 65536));
	TWIN(fcntl(fd[s], F_NOTIFY, DN_MODIFY));
	TWIN(close(fd[s]));
	same_contents("o", "open flags");
	same_contents("o2", "open flags");
}

/* The calls on paths. */
static void path_calls(void)
{
	struct stat st[2];
	struct statx sx[2];
	int fd[2];
	char c[2][8];

	TWIN(stat(shim_path(s, "o"), &st[s]));
	TWIN(st[s].st_size);
	TWIN(S_ISREG(st[s].st_mode));
	TWIN(lstat(shim_path(s, "o"), &st[s]));
	TWIN(fstatat(AT_FDCWD, shim_path(s, "o"), &st[s], 0));
	TWIN(st[s].st_size);
	TWIN(statx(AT_FDCWD, shim_path(s, "o"), 0, STATX_BASIC_STATS, &sx[s]));
	TWIN((long)sx[s].stx_size);
	TWIN(S_ISREG(sx[s].stx_mode));
	TWIN(stat(shim_path(s, "nothing"), &st[s]));			/* ENOENT */
	TWIN(stat(shim_path(s, "o/x"), &st[s]));			/* ENOTDIR */
	TWIN(stat(shim_path(s, "nothing/x"), &st[s]));			/* ENOENT */
	TWIN(access(shim_path(s, "o"), R_OK | W_OK));
	TWIN(access(shim_path(s, "o"), X_OK));				/* EACCES */
	TWIN(faccessat(AT_FDCWD, shim_path(s, "nothing"), F_OK, 0));	/* ENOENT */
	TWIN(truncate(shim_path(s, "o"), 100000));
	TWIN(truncate(shim_path(s, "nothing"), 1));			/* ENOENT */
	TWIN(truncate(shim_path(s, "o"), -1));				/* EINVAL */
	same_contents("o", "truncate");
	TWIN(rename(shim_path(s, "o"), shim_path(s, "p")));
	TWIN(rename(shim_path(s, "o"), shim_path(s, "q")));		/* ENOENT */
	TWIN(rename(shim_path(s, "p"), shim_path(s, "o2")));		/* replaces o2 */
	TWIN(renameat(AT_FDCWD, shim_path(s, "o2"), AT_FDCWD, shim_path(s, "o2")));
	TWIN(renameat2(AT_FDCWD, shim_path(s, "o2"), AT_FDCWD, shim_path(s, "r"),
		       RENAME_NOREPLACE));					/* EEXIST */
	TWIN(stat(shim_path(s, "p"), &st[s]));				/* ENOENT */
	same_contents("o2", "rename");
	/* unlink of an open file: it lives on until closed */
	TWIN_FD(fd, open(shim_path(s, "o2"), O_RDWR));
	TWIN(unlink(shim_path(s, "o2")));
	TWIN(unlink(shim_path(s, "o2")));				/* ENOENT */
	TWIN(stat(shim_path(s, "o2"), &st[s]));				/* ENOENT */
	TWIN(fstat(fd[s], &st[s]));
	TWIN(st[s].st_nlink);
	TWIN(st[s].st_size);
	TWIN(pwrite(fd[s], "live", 4, 2));
	TWIN(pread(fd[s], c[s], 8, 0));
	TWIN(memcmp(c[0], c[1], 8));
	TWIN(close(fd[s]));
	TWIN_FD(fd, open(shim_path(s, "o2"), O_RDWR | O_CREAT, 0644));	/* a new o2 */
	TWIN(fstat(fd[s], &st[s]));
	TWIN(st[s].st_size);
	TWIN(close(fd[s]));
	TWIN(unlinkat(AT_FDCWD, shim_path(s, "o2"), 0));
	TWIN(unlinkat(AT_FDCWD, shim_path(s, "r"), AT_REMOVEDIR));	/* ENOTDIR */
	TWIN(mkdir(shim_path(s, "r"), 0755));				/* EEXIST */
	TWIN(rmdir(shim_path(s, "r")));					/* ENOTDIR */
	TWIN_FD(fd, open(shim_path(s, "r/x"), O_RDWR | O_CREAT, 0644));	/* ENOTDIR */
	TWIN_FD(fd, open(shim_path(s, "d/x"), O_RDWR | O_CREAT, 0644));	/* ENOENT */
}

/* stdio: fopen, fprintf, fgets, fseek, ftell, fdopen. */
static void stdio_calls(void)
{
	FILE *f[2];
	char line[2][64];
	int fd[2];

	for (int s = 0; s < 2; s++) {
		f[s] = fopen(shim_path(s, "t"), "w+");
		SHIM_CHECK(f[s], "fopen %s: %s", shim_path(s, "t"), strerror(errno));
	}
	TWIN(fprintf(f[s], "line one\nline %d\n", 2));
	TWIN(fseek(f[s], 5, SEEK_SET));
	TWIN(ftell(f[s]));
	TWIN(fgets(line[s], sizeof(line[s]), f[s]) != NULL);
	TWIN(strcmp(line[0], line[1]));
	TWIN(fclose(f[s]));
	for (int s = 0; s < 2; s++) {
		f[s] = fopen64(shim_path(s, "t"), "a");
		SHIM_CHECK(f[s], "fopen64 a: %s", strerror(errno));
	}
	TWIN(fputs("three\n", f[s]));
	TWIN(fclose(f[s]));
	TWIN(fopen(shim_path(s, "none"), "r") == NULL ? -1 : 0);	/* ENOENT */
	TWIN_FD(fd, open(shim_path(s, "t"), O_RDONLY));
	for (int s = 0; s < 2; s++) {
		f[s] = fdopen(fd[s], "r");
		SHIM_CHECK(f[s], "fdopen: %s", strerror(errno));
	}
	TWIN(fread(line[s], 1, sizeof(line[s]), f[s]));
	TWIN(memcmp(line[0], line[1], 21));
	TWIN(fclose(f[s]));
	same_contents("t", "stdio");
}

/* Mappings: MAP_SHARED written through and read back with read();
 * MAP_PRIVATE; a mapping as the buffer of read/write on host files. */
static void mapping_calls(void)
{
	size_t len = 1 << 20;
	int fd[2], h[2];
	char *m[2], *p[2];

	TWIN_FD(fd, open(shim_path(s, "m"), O_RDWR | O_CREAT, 0644));
	TWIN(ftruncate(fd[s], (off_t)len));
	for (int s = 0; s < 2; s++) {
		m[s] = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd[s], 0);
		SHIM_CHECK(m[s] != MAP_FAILED, "mmap: %s", strerror(errno));
	}
	for (int i = 0; i < 2000; i++) {
		size_t at = (size_t)pick(len - 1);

		char v = (char)shim_rand();

		m[0][at] = v;
		m[1][at] = v;
	}
	TWIN(msync(m[s], len, MS_SYNC));
	same_contents("m", "writes through a mapping");
	TWIN(pwrite(fd[s], "coherent", 8, 4096));
	TWIN(memcmp(m[s] + 4096, "coherent", 8));
	/* the mapping as a buffer of the kernel's: write to a host file, read back into it */
	TWIN_FD(h, open(shim_path(0, s ? "hu" : "hh"), O_RDWR | O_CREAT | O_TRUNC, 0644));
	TWIN(write(h[s], m[s], len));
	TWIN(pwrite(h[s], m[s] + 100, 5000, 3));
	TWIN(pread(h[s], m[s] + 8192, 100000, 1));
	TWIN(memcmp(m[s] + 8192, m[0] + 8192, 100000));
	TWIN(close(h[s]));
	TWIN(msync(m[s], len, MS_SYNC));
	same_contents("m", "mapping as a syscall buffer");
	TWIN(munmap(m[s], len));
	for (int s = 0; s < 2; s++) {
		p[s] = mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE, fd[s], 4096);
		SHIM_CHECK(p[s] != MAP_FAILED, "mmap private: %s", strerror(errno));
	}
	TWIN(memcmp(p[s], p[0], 3 * 4096));
	TWIN(munmap(p[s], 3 * 4096));
	TWIN(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd[s], 1) == MAP_FAILED ? -1 : 0);
	TWIN(close(fd[s]));
	TWIN_FD(fd, open(shim_path(s, "m"), O_RDONLY));
	TWIN(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd[s], 0) == MAP_FAILED ?
	     -1 : 0);						/* EACCES */
	TWIN(close(fd[s]));
}

/* sendfile, copy_file_range, locks, advice. */
static void other_calls(void)
{
	int in[2], out[2];
	off_t off[2];
	struct flock fl[2];

	TWIN_FD(in, open(shim_path(s, "m"), O_RDONLY));
	TWIN_FD(out, open(shim_path(s, "c"), O_RDWR | O_CREAT | O_TRUNC, 0644));
	TWIN(sendfile(out[s], in[s], NULL, 300000));
	for (int s = 0; s < 2; s++)
		off[s] = 5000;
	TWIN(sendfile(out[s], in[s], &off[s], 70000));
	TWIN(off[s]);
	TWIN(lseek(in[s], 0, SEEK_CUR));
	TWIN(copy_file_range(in[s], NULL, out[s], NULL, 12345, 0));
	TWIN(posix_fadvise(out[s], 0, 0, POSIX_FADV_SEQUENTIAL));
	TWIN(posix_fallocate(out[s], 1 << 20, 4096));
	for (int s = 0; s < 2; s++)
		fl[s] = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 10 };
	TWIN(fcntl(out[s], F_SETLK, &fl[s]));
	TWIN(fcntl(out[s], F_GETLK, &fl[s]));
	TWIN(fl[s].l_type);
	for (int s = 0; s < 2; s++)
		fl[s].l_type = F_WRLCK;
	TWIN(fcntl(in[s], F_SETLKW, &fl[s]));		/* EBADF: read-only */
	TWIN(close(in[s]));
	TWIN(close(out[s]));
	same_contents("c", "copies");
}

int main(int argc, char **argv)
{
	int fd;

	shim_start(argc, argv, 120);
	for (int s = 0; s < 2; s++) {
		buf[s] = malloc(FILE_MAX + 4096);
		SHIM_CHECK(buf[s], "malloc");
	}
	data = malloc(65536);
	SHIM_CHECK(data, "malloc");
	random_ops();
	open_flags();
	path_calls();
	stdio_calls();
	mapping_calls();
	other_calls();
	/* what only a udax file refuses */
	fd = open(shim_path(1, "r"), O_RDWR);
	SHIM_CHECK(fd >= 0, "open: %s", strerror(errno));
	SHIM_CHECK(ioctl(fd, FICLONE, 0) < 0 && errno == EOPNOTSUPP, "ioctl FICLONE: %s",
		   strerror(errno));
	{
		char *m = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);

		SHIM_CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
		SHIM_CHECK(munmap(m, 4096) < 0 && errno == EOPNOTSUPP, "partial munmap: %s",
			   strerror(errno));
		SHIM_CHECK(mprotect(m, 4096, PROT_READ) < 0 && errno == EOPNOTSUPP, "mprotect");
		SHIM_CHECK(munmap(m, 8192) == 0, "munmap: %s", strerror(errno));
	}
	SHIM_CHECK(rename(shim_path(1, "r"), shim_path(0, "r2")) < 0 && errno == EXDEV,
		   "rename out of the store: %s", strerror(errno));
	close(fd);
	printf("shim_posix_twin: %d random ops and every intercepted call agree with the host "
	       "(seed %llu)\n", OPS, (unsigned long long)shim_seed);
	return 0;
}
