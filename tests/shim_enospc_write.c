// SPDX-License-Identifier: MIT
/*
 * shim_enospc_write: under `udax run`, write(2) into a store that fills up
 * answers as the kernel does on a full file system: the write that meets
 * the end of the space returns the bytes it stored (a short count), the
 * next one -1 with ENOSPC, and nothing is lost: the file's size is the
 * sum of what writes returned and reads back byte for byte, a file
 * written before keeps its bytes, an overwrite of allocated bytes still
 * works, and after the file is removed the space is there again.
 * Exit 0 pass, 1 fail.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "shim_lib.h"

#define CHUNK (3u << 20)	/* not a multiple of 2 MiB: a short write ends mid-chunk */

static void fill(char *buf, size_t len, uint64_t salt)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = (i / 8) * 0x9e3779b97f4a7c15ull ^ salt;

		memcpy(buf + i, &v, 8);
	}
}

int main(int argc, char **argv)
{
	char *buf, *got, small[4096], back[4096];
	uint64_t total = 0, chunks = 0;
	bool short_seen = false;
	struct stat st;
	ssize_t n;
	int fd, keep;

	shim_start(argc, argv, 120);
	buf = malloc(CHUNK);
	got = malloc(CHUNK);
	SHIM_CHECK(buf && got, "malloc");
	fill(small, sizeof(small), shim_seed);
	keep = open(shim_path(1, "keep"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	SHIM_CHECK(keep >= 0 && write(keep, small, sizeof(small)) == sizeof(small), "keep: %s",
		   strerror(errno));
	fd = open(shim_path(1, "fill"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	SHIM_CHECK(fd >= 0, "open: %s", strerror(errno));
	for (;;) {
		fill(buf, CHUNK, shim_seed + chunks);
		n = write(fd, buf, CHUNK);
		if (n < 0) {
			SHIM_CHECK(errno == ENOSPC, "write %llu: %s (want ENOSPC)",
				   (unsigned long long)chunks, strerror(errno));
			break;
		}
		SHIM_CHECK(!short_seen, "a write after a short one stored %zd bytes", n);
		SHIM_CHECK(n > 0, "write returned 0");
		short_seen = n < (ssize_t)CHUNK;
		total += (uint64_t)n;
		chunks++;
		SHIM_CHECK(chunks < 1024, "256 MiB store never full after %llu bytes",
			   (unsigned long long)total);
	}
	SHIM_CHECK(short_seen || total % CHUNK == 0, "no short write before ENOSPC");
	SHIM_CHECK(fsync(fd) == 0, "fsync of a full store: %s", strerror(errno));
	SHIM_CHECK(fstat(fd, &st) == 0 && (uint64_t)st.st_size == total,
		   "size %lld after writes that returned %llu bytes", (long long)st.st_size,
		   (unsigned long long)total);
	for (uint64_t c = 0, off = 0; off < total; c++, off += CHUNK) {
		size_t want = total - off < CHUNK ? (size_t)(total - off) : CHUNK;

		fill(buf, CHUNK, shim_seed + c);
		SHIM_CHECK(pread(fd, got, want, (off_t)off) == (ssize_t)want, "pread: %s",
			   strerror(errno));
		SHIM_CHECK(!memcmp(got, buf, want), "chunk %llu read back other bytes",
			   (unsigned long long)c);
	}
	SHIM_CHECK(pread(keep, back, sizeof(back), 0) == sizeof(back) &&
		   !memcmp(back, small, sizeof(small)), "the file written before changed");
	fill(small, sizeof(small), ~shim_seed);	/* an overwrite needs no new block */
	SHIM_CHECK(pwrite(keep, small, sizeof(small), 0) == sizeof(small),
		   "overwrite in a full store: %s", strerror(errno));
	SHIM_CHECK(pread(keep, back, sizeof(back), 0) == sizeof(back) &&
		   !memcmp(back, small, sizeof(small)), "the overwrite did not read back");
	close(fd);
	SHIM_CHECK(unlink(shim_path(1, "fill")) == 0, "unlink: %s", strerror(errno));
	fd = open(shim_path(1, "again"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	SHIM_CHECK(fd >= 0 && write(fd, buf, CHUNK) == CHUNK, "space not back after unlink: %s",
		   strerror(errno));
	close(fd);
	close(keep);
	free(buf);
	free(got);
	printf("PASS shim_enospc_write: %llu bytes stored until full\n", (unsigned long long)total);
	return 0;
}
