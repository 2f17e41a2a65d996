// SPDX-License-Identifier: MIT
/*
 * shim_mmap_msync_read: under `udax run`, an ordinary program maps a store
 * file MAP_SHARED, writes a seeded pattern through the mapping, msyncs,
 * unmaps and reads it back with read() (and through a new read-only
 * mapping); a mapping outlives the close of its descriptor; munmap of
 * several whole mappings and the memory between them at once works.
 * Exit 0 pass, 1 fail.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "shim_lib.h"

#define LEN (8u << 20)

/* Whether every mapped page of [from, to) (at most 64 pages) is a, b (a
 * page each) or one of lo's 3 pages, from /proc/self/maps. */
static bool only_these_between(char *from, char *to, char *a, char *b, char *lo)
{
	FILE *maps = (size_t)(to - from) <= 64 * 4096 ? fopen("/proc/self/maps", "r") : NULL;
	unsigned long s, e;
	char line[512];
	bool ok = maps != NULL;

	while (ok && fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx", &s, &e) != 2)
			continue;
		for (char *p = from; ok && p < to; p += 4096)
			if ((uintptr_t)p >= s && (uintptr_t)p < e)
				ok = p == a || p == b || (p >= lo && p < lo + 3 * 4096);
	}
	if (maps)
		fclose(maps);
	return ok;
}

int main(int argc, char **argv)
{
	char *m, *r, *want, *got;
	size_t done = 0;
	ssize_t n;
	int fd;

	shim_start(argc, argv, 60);
	want = malloc(LEN);
	got = malloc(LEN);
	SHIM_CHECK(want && got, "malloc");
	for (size_t i = 0; i < LEN; i += 8) {
		uint64_t v = shim_rand();

		memcpy(want + i, &v, 8);
	}
	fd = open(shim_path(1, "map"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	SHIM_CHECK(fd >= 0, "open: %s", strerror(errno));
	SHIM_CHECK(ftruncate(fd, LEN) == 0, "ftruncate: %s", strerror(errno));
	m = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	SHIM_CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	SHIM_CHECK(close(fd) == 0, "close: %s", strerror(errno));	/* the mapping stays */
	memcpy(m, want, LEN);
	SHIM_CHECK(msync(m, LEN, MS_SYNC) == 0, "msync: %s", strerror(errno));
	SHIM_CHECK(munmap(m, LEN) == 0, "munmap: %s", strerror(errno));
	fd = open(shim_path(1, "map"), O_RDONLY);
	SHIM_CHECK(fd >= 0, "open: %s", strerror(errno));
	while (done < LEN && (n = read(fd, got + done, LEN - done)) > 0)
		done += (size_t)n;
	SHIM_CHECK(done == LEN, "read %zu of %u bytes: %s", done, LEN, strerror(errno));
	for (size_t i = 0; i < LEN; i++)
		if (got[i] != want[i])
			SHIM_FAIL("byte %zu read back %d, written %d through the mapping", i,
				  got[i], want[i]);
	r = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	SHIM_CHECK(r != MAP_FAILED, "mmap read-only: %s", strerror(errno));
	SHIM_CHECK(!memcmp(r, want, LEN), "the read-only mapping differs");
	SHIM_CHECK(munmap(r, LEN) == 0, "munmap: %s", strerror(errno));
	/* two small mappings and what lies between them: one munmap. The
	 * kernel places them; only where nothing but them and this test's own
	 * reservation lies between (never another part of the process, such
	 * as a sanitizer's allocator) is the range unmapped at once. */
	{
		char *lo = mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *a = MAP_FAILED, *b = MAP_FAILED, *from = NULL, *to = NULL;

		SHIM_CHECK(lo != MAP_FAILED, "mmap: %s", strerror(errno));
		char *kept[2 * 64];	/* pairs refused: kept until the end, so that
					   the next pair goes elsewhere */
		int nkept = 0;

		for (int tries = 0; tries < 64; tries++) {
			a = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
			b = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
			SHIM_CHECK(a != MAP_FAILED && b != MAP_FAILED, "mmap: %s", strerror(errno));
			from = a < b ? a : b;
			to = (a < b ? b : a) + 4096;
			if (only_these_between(from, to, a, b, lo))
				break;
			kept[nkept++] = a;
			kept[nkept++] = b;
			a = b = MAP_FAILED;
		}
		SHIM_CHECK(a != MAP_FAILED, "64 pairs of mappings had other memory between them");
		for (int i = 0; i < nkept; i++)
			SHIM_CHECK(munmap(kept[i], 4096) == 0, "munmap: %s", strerror(errno));
		SHIM_CHECK(!memcmp(a, want, 4096) && !memcmp(b, want + 4096, 4096), "contents");
		SHIM_CHECK(munmap(from, (size_t)(to - from)) == 0, "munmap of both: %s",
			   strerror(errno));
		if (lo < from || lo >= to)
			SHIM_CHECK(munmap(lo, 3 * 4096) == 0, "munmap: %s", strerror(errno));
	}
	SHIM_CHECK(close(fd) == 0, "close: %s", strerror(errno));
	free(want);
	free(got);
	printf("shim_mmap_msync_read: %u MiB written through a mapping read back by read()\n",
	       LEN >> 20);
	return 0;
}
