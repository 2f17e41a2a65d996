// SPDX-License-Identifier: MIT
/*
 * import - copy a host file into a udax store, then check the copy by
 * mapping it.
 *
 *   import STORE HOSTFILE NAME
 *
 * STORE must exist (`udax create STORE 64M`). The host file is read in
 * 1 MiB chunks and written with udax_pwrite() into a new file NAME of the
 * store (replacing one of that name), made durable with udax_fsync(), then
 * read back through a read-only udax_mmap2() and compared with the host
 * file. Prints one line and exits 0 if the copy is byte-exact, else prints
 * the error and exits 1. Build: cc -std=c11 import.c -ludax
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <udax.h>

#define CHUNK (1 << 20)

/* Read up to len bytes of fd at off, retrying short reads. Returns the
 * bytes read (fewer only at end of file) or a negative errno. */
static ssize_t host_read(int fd, char *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Copy the host file into f. Returns the bytes copied or a negative errno. */
static int64_t file_import(struct udax_file *f, int fd, char *buf)
{
	uint64_t off = 0;

	for (;;) {
		ssize_t n = host_read(fd, buf, CHUNK, (off_t)off);

		if (n <= 0)
			return n < 0 ? n : (int64_t)off;
		/* udax_pwrite writes all of it or fails (-ENOSPC: store full). */
		for (ssize_t done = 0; done < n;) {
			ssize_t w = udax_pwrite(f, buf + done, (size_t)(n - done),
						off + (uint64_t)done);

			if (w < 0)
				return w;
			done += w;
		}
		off += (uint64_t)n;
	}
}

/* Compare the first size bytes of the host file with the mapping. Returns
 * 0 if equal, 1 if not, or a negative errno. */
static int file_compare(const char *map, uint64_t size, int fd, char *buf)
{
	for (uint64_t off = 0; off < size; off += CHUNK) {
		size_t len = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
		ssize_t n = host_read(fd, buf, len, (off_t)off);

		if (n < 0)
			return (int)n;
		if ((size_t)n != len || memcmp(map + off, buf, len)) {
			fprintf(stderr, "import: bytes differ in [%llu, %llu)\n",
				(unsigned long long)off, (unsigned long long)(off + len));
			return 1;
		}
	}
	return 0;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "import: %s: %s\n", what, strerror(-err));
	return 1;
}

int main(int argc, char **argv)
{
	struct udax_file_stat st;
	struct udax_store *store;
	struct udax_file *file;
	int64_t size;
	void *map = NULL;
	char *buf;
	int fd, ret;

	if (argc != 4) {
		fprintf(stderr, "usage: import STORE HOSTFILE NAME\n");
		return 2;
	}
	buf = malloc(CHUNK);
	if (!buf)
		return fail("malloc", -ENOMEM);
	fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		return fail(argv[2], -errno);
	ret = udax_store_open(argv[1], 0, &store);
	if (ret) {
		/* A failed udax call says why in udax_strerror_detail(). */
		const char *detail = udax_strerror_detail();

		fprintf(stderr, "import: %s: %s\n", argv[1], *detail ? detail : strerror(-ret));
		return 1;
	}
	ret = udax_open(store, argv[3], O_RDWR | O_CREAT | O_TRUNC, &file);
	if (ret)
		return fail(argv[3], ret);
	size = file_import(file, fd, buf);
	if (size < 0)
		return fail("copy", (int)size);
	ret = udax_fsync(file);		/* data and block map durable */
	if (ret)
		return fail("udax_fsync", ret);

	/* Check: the store's idea of the size, then every byte via a mapping. */
	ret = udax_fstat(file, &st);
	if (ret)
		return fail("udax_fstat", ret);
	if (st.size != (uint64_t)size) {
		fprintf(stderr, "import: %s has %llu bytes, expected %lld\n", argv[3],
			(unsigned long long)st.size, (long long)size);
		return 1;
	}
	if (size) {		/* a mapping cannot be empty */
		ret = udax_mmap2(file, 0, (size_t)size, PROT_READ, 0, &map);
		if (ret)
			return fail("udax_mmap2", ret);
		ret = file_compare(map, (uint64_t)size, fd, buf);
		if (ret < 0)
			return fail(argv[2], ret);
		if (ret)
			return 1;
		ret = udax_munmap(map, (size_t)size);
		if (ret)
			return fail("udax_munmap", ret);
	}
	ret = udax_close(file);
	if (!ret)
		ret = udax_store_close(store);
	if (ret)
		return fail("close", ret);
	close(fd);
	free(buf);
	printf("import: %s -> %s: %lld bytes in %llu blocks, verified through a mapping\n",
	       argv[2], argv[3], (long long)size, (unsigned long long)st.blocks);
	return 0;
}
