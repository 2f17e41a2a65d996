// SPDX-License-Identifier: MIT
/*
 * pwrite_runs_read_back: udax_pwrite allocates runs of hole pages and
 * writes them before they are named (the delayed-allocation path). Seeded
 * random writes of 1 byte to 3 MiB at any offset into a sparse file, some
 * from a buffer that is itself an unfaulted udax mapping of another file,
 * two writer threads on overlapping windows and a third thread reading
 * through a mapping meanwhile: every byte reads back as a shadow copy says
 * (pread and mapping), holes read as zeros, the block count is the number
 * of pages written, and the store checks clean after close.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define FILE_BYTES (24ull << 20)
#define WRITES 300
#define MAX_LEN (3ull << 20)

static struct udax_store *s;
static struct udax_file *f;
static unsigned char *shadow;	/* what each byte must read */
static unsigned char *written;	/* pages written, one flag each */
static char *source_map;	/* an unfaulted mapping of another file */
static pthread_mutex_t shadow_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool writers_done;

struct writer {
	uint64_t seed;
	uint64_t lo;	/* this writer's part of the file: [lo, lo + FILE_BYTES / 2 + 2 MiB) */
};

static void *writer(void *arg)
{
	struct writer *w = arg;
	uint64_t rng = w->seed, span = FILE_BYTES / 2 + (2ull << 20);
	unsigned char *buf = malloc(MAX_LEN);

	CHECK(buf);

	for (int i = 0; i < WRITES; i++) {
		uint64_t len = 1 + test_rand(&rng) % (test_rand(&rng) % 4 ? 65536 : MAX_LEN);
		uint64_t off = w->lo + test_rand(&rng) % (span - len);
		bool from_map = test_rand(&rng) % 8 == 0;
		unsigned char *src = from_map ? (unsigned char *)source_map : buf;

		if (!from_map)
			for (uint64_t k = 0; k < len; k++)
				buf[k] = (unsigned char)(test_rand(&rng) | 1);
		/* Overlapping writers: the shadow is updated under the lock
		 * together with the write, so it holds the last one. */
		pthread_mutex_lock(&shadow_lock);
		CHECK_EQ(udax_pwrite(f, src, len, off), (ssize_t)len);
		memcpy(shadow + off, src, len);
		for (uint64_t p = off / PG; p <= (off + len - 1) / PG; p++)
			written[p] = 1;
		pthread_mutex_unlock(&shadow_lock);
	}
	free(buf);
	return NULL;
}

/* Reads through a mapping while the writers run: a byte is either zero
 * (not written yet) or one some writer wrote (never 0 in the buffers). */
static void *reader(void *arg)
{
	const unsigned char *map = arg;
	uint64_t rng = test_seed ^ 0x5eed;

	while (!atomic_load(&writers_done)) {
		uint64_t off = test_rand(&rng) % FILE_BYTES;

		(void)map[off];
	}
	return NULL;
}

int main(void)
{
	struct writer w[2] = { { 0, 0 }, { 0, FILE_BYTES / 2 - (2ull << 20) } };
	static unsigned char buf[1 << 20];
	struct udax_file *src;
	pthread_t t[3];
	uint64_t pages = 0;
	unsigned char *map;

	test_init("pwrite_runs_read_back", 120);
	w[0].seed = test_seed;
	w[1].seed = test_seed * 7 + 1;
	shadow = calloc(FILE_BYTES, 1);
	written = calloc(FILE_BYTES / PG, 1);
	CHECK(shadow && written);
	CHECK_EQ(udax_store_create(test_path("store"), 256ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "source", O_RDWR | O_CREAT, &src), 0);
	memset(buf, 0xa5, sizeof(buf));
	for (uint64_t off = 0; off < (4ull << 20); off += sizeof(buf))
		CHECK_EQ(udax_pwrite(src, buf, sizeof(buf), off), (ssize_t)sizeof(buf));
	CHECK_EQ(udax_mmap(src, 0, 4ull << 20, PROT_READ, (void **)&source_map), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, FILE_BYTES), 0);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ, (void **)&map), 0);

	CHECK_EQ(pthread_create(&t[2], NULL, reader, map), 0);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, writer, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	atomic_store(&writers_done, true);
	CHECK_EQ(pthread_join(t[2], NULL), 0);

	for (uint64_t off = 0; off < FILE_BYTES; off += sizeof(buf)) {
		CHECK_EQ(udax_pread(f, buf, sizeof(buf), off), (ssize_t)sizeof(buf));
		for (uint64_t k = 0; k < sizeof(buf); k++)
			CHECK(buf[k] == shadow[off + k] && map[off + k] == shadow[off + k],
			      "byte %llu: pread %u, mapping %u, expected %u",
			      (unsigned long long)(off + k), buf[k], map[off + k], shadow[off + k]);
	}
	for (uint64_t p = 0; p < FILE_BYTES / PG; p++)
		pages += written[p];
	CHECK_EQ(test_file_stat(f).blocks, pages);
	CHECK_EQ(udax_munmap(map, FILE_BYTES), 0);
	CHECK_EQ(udax_munmap(source_map, 4ull << 20), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_close(src), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_check(test_path("store"), 0), 0);
	test_pass();
}
