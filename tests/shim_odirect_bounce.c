// SPDX-License-Identifier: MIT
/*
 * shim_odirect_bounce: under `udax run`, data moved between a udax mapping
 * or file and a host file opened O_DIRECT works as between the caller's
 * own aligned pages and that file: write() and pwrite() from a udax
 * mapping, read() into one (the shim's bounce buffer, which must be
 * page-aligned: O_DIRECT refuses others with EINVAL), sendfile and
 * copy_file_range from a store file (the shim's copy buffer). mdb_copy
 * writes its environment's map to an O_DIRECT file this way. Skips where
 * the host directory refuses O_DIRECT (tmpfs). Exit 0 pass, 1 fail, 77 skip.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>

#include "shim_lib.h"

#define LEN (3u << 20)		/* 3 MiB: several bounce chunks */

int main(int argc, char **argv)
{
	char *want, *got, *m, *w;
	int fd, host;
	ssize_t n;

	shim_start(argc, argv, 60);
	want = aligned_alloc(4096, LEN);
	got = aligned_alloc(4096, LEN);
	SHIM_CHECK(want && got, "aligned_alloc");
	for (size_t i = 0; i < LEN; i += 8) {
		uint64_t v = shim_rand();

		memcpy(want + i, &v, 8);
	}
	fd = open(shim_path(1, "src"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	SHIM_CHECK(fd >= 0, "open: %s", strerror(errno));
	SHIM_CHECK(pwrite(fd, want, LEN, 0) == LEN, "pwrite: %s", strerror(errno));
	host = open(shim_path(0, "direct"), O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (host < 0 && errno == EINVAL) {
		puts("SKIP: the host directory refuses O_DIRECT");
		return 77;
	}
	SHIM_CHECK(host >= 0, "open O_DIRECT: %s", strerror(errno));
	m = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	SHIM_CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));

	/* from the mapping: write (3 chunks), then pwrite of its last MiB */
	n = write(host, m, LEN);
	SHIM_CHECK(n == LEN, "write from a udax mapping to an O_DIRECT file: %zd, %s", n,
		   strerror(errno));
	n = pwrite(host, m + (2u << 20), 1u << 20, 4096);
	SHIM_CHECK(n == 1 << 20, "pwrite from a udax mapping: %zd, %s", n, strerror(errno));
	memmove(want + 4096, want + (2u << 20), 1u << 20);
	n = pread(host, got, LEN, 0);
	SHIM_CHECK(n == LEN && !memcmp(got, want, LEN), "the O_DIRECT file: %zd bytes, %s", n,
		   n == LEN ? "different" : strerror(errno));

	/* into a writable udax mapping: read from the O_DIRECT file */
	SHIM_CHECK(ftruncate(fd, LEN) == 0, "ftruncate");
	w = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	SHIM_CHECK(w != MAP_FAILED, "mmap: %s", strerror(errno));
	SHIM_CHECK(lseek(host, 0, SEEK_SET) == 0, "lseek");
	n = read(host, w, LEN);
	SHIM_CHECK(n == LEN && !memcmp(w, want, LEN), "read from an O_DIRECT file into a udax "
		   "mapping: %zd, %s", n, n == LEN ? "different" : strerror(errno));
	SHIM_CHECK(munmap(w, LEN) == 0 && munmap(m, LEN) == 0, "munmap: %s", strerror(errno));

	/* the copy calls, store file to O_DIRECT file */
	{
		off_t in_off = 0, out_off = 0;

		SHIM_CHECK(ftruncate(host, 0) == 0, "ftruncate host");
		n = copy_file_range(fd, &in_off, host, &out_off, LEN, 0);
		SHIM_CHECK(n == LEN, "copy_file_range to an O_DIRECT file: %zd, %s", n,
			   strerror(errno));
		in_off = 0;
		SHIM_CHECK(lseek(host, LEN, SEEK_SET) == LEN, "lseek");
		n = sendfile(host, fd, &in_off, LEN);
		SHIM_CHECK(n == LEN, "sendfile to an O_DIRECT file: %zd, %s", n, strerror(errno));
		for (int half = 0; half < 2; half++) {
			n = pread(host, got, LEN, (off_t)half * LEN);
			SHIM_CHECK(n == LEN && !memcmp(got, want, LEN), "copy %d: %zd bytes", half, n);
		}
	}
	SHIM_CHECK(close(host) == 0 && close(fd) == 0, "close");
	free(want);
	free(got);
	puts("shim_odirect_bounce: a udax mapping or file to and from an O_DIRECT host file");
	return 0;
}
