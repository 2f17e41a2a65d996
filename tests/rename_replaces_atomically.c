// SPDX-License-Identifier: MIT
/*
 * rename_replaces_atomically: udax_rename moves a file to a new name like
 * rename(2): it replaces an existing target (whose blocks return to the
 * store), keeps handles of the renamed file working, refuses a missing
 * source (-ENOENT), and is atomic and durable (an open target's handles
 * keep its data: store_two_handles_one_process). Its
 * writes to the store file are recorded; at every flush point the crash
 * image (the metadata written up to it), and the image of a power loss
 * before it (a random subset of the writes since, some torn at a sector),
 * must pass the store check and hold either the old names or the new ones,
 * each file with its full contents; the image of the last flush, which
 * udax_rename waits for, holds the new names.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "api/handles.h"
#include "test_util.h"
#include "udax.h"

#define STORE_BYTES (8ull << 20)
#define ROUNDS 12
#define MAX_FILE (600u << 10)

struct logged_write {
	uint64_t off;
	uint32_t len;
	uint8_t *data;
};

static struct {
	struct logged_write w[64];
	size_t count;
	size_t flush[16];	/* log length at each flush */
	size_t flushes;
} rec;

static int rec_write(struct store *s, const void *buf, size_t len, uint64_t off)
{
	CHECK(rec.count < 64);
	rec.w[rec.count].off = off;
	rec.w[rec.count].len = (uint32_t)len;
	rec.w[rec.count].data = malloc(len);
	memcpy(rec.w[rec.count].data, buf, len);
	rec.count++;
	return store_io_default.write(s, buf, len, off);
}

static int rec_sync(struct store *s)
{
	CHECK(rec.flushes < 16);
	rec.flush[rec.flushes++] = rec.count;
	return store_io_default.sync(s);
}

/* Contents of a file version: size and bytes from a seed. */
struct version {
	size_t size;
	uint64_t seed;
};

static void fill(uint8_t *buf, const struct version *v)
{
	uint64_t r = v->seed;

	for (size_t i = 0; i < v->size; i++)
		buf[i] = (uint8_t)test_rand(&r);
}

static void put_file(struct udax_store *s, const char *name, const struct version *v)
{
	uint8_t *buf = malloc(v->size);
	struct udax_file *f;

	fill(buf, v);
	CHECK_EQ(udax_open(s, name, O_RDWR | O_CREAT | O_TRUNC, &f), 0);
	CHECK_EQ(udax_pwrite(f, buf, v->size, 0), (ssize_t)v->size);
	CHECK_EQ(udax_fsync(f), 0);
	CHECK_EQ(udax_close(f), 0);
	free(buf);
}

/* Whether name holds exactly version v in the open store s (-ENOENT: it
 * does not exist). */
static int file_matches(struct udax_store *s, const char *name, const struct version *v)
{
	static uint8_t want[MAX_FILE], got[MAX_FILE + 1];
	struct udax_file *f;
	ssize_t n;
	int ret = udax_open(s, name, O_RDONLY, &f);

	if (ret)
		return ret;
	n = udax_pread(f, got, sizeof(got), 0);
	CHECK_EQ(udax_close(f), 0);
	fill(want, v);
	return n == (ssize_t)v->size && memcmp(got, want, v->size) == 0;
}

static uint64_t store_files(struct udax_store *s)
{
	struct udax_store_stat st;

	CHECK_EQ(udax_store_stat(s, &st), 0);
	return st.files;
}

/* Write image's metadata (everything before the data area) over the image
 * file, whose data area holds the data as before the rename, and check
 * it: "keep" intact, and a and b as before (old) or b holding a's
 * contents (new). Return: whether it showed the new names. */
static bool check_image(const uint8_t *image, uint64_t meta_bytes, const struct version *a,
			const struct version *b, const struct version *keep, size_t at)
{
	const char *path = test_path("image");
	struct udax_store *s;
	int fd = open(path, O_WRONLY);
	bool renamed;

	CHECK(fd >= 0);
	CHECK(pwrite(fd, image, meta_bytes, 0) == (ssize_t)meta_bytes);
	close(fd);
	CHECK(udax_store_check(path, 0) == 0, "image at write %zu: %s", at,
	      udax_strerror_detail());
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(file_matches(s, "keep", keep), 1);
	renamed = file_matches(s, "a", a) == -ENOENT;
	if (renamed) {
		CHECK(file_matches(s, "b", a) == 1, "image at write %zu: b is not a's data", at);
		CHECK_EQ(store_files(s), 2);
	} else {
		CHECK(file_matches(s, "a", a) == 1, "image at write %zu: a damaged", at);
		CHECK(file_matches(s, "b", b) == 1, "image at write %zu: b damaged", at);
		CHECK_EQ(store_files(s), 3);
	}
	CHECK_EQ(udax_store_close(s), 0);
	return renamed;
}

static void apply(uint8_t *image, const struct logged_write *w, uint32_t len)
{
	memcpy(image + w->off, w->data, len);
}

/* One round: a (fresh contents) renamed over b; every crash image checked. */
static void rename_round(struct udax_store *s, uint64_t *rng, struct version *b,
			 const struct version *keep)
{
	struct store_io_ops ops = store_io_default;
	struct version a = { 1 + test_rand(rng) % MAX_FILE, test_rand(rng) };
	uint64_t meta_bytes = s->st->data_start * STORE_BLOCK_SIZE;
	uint8_t *before = malloc(STORE_BYTES), *image = malloc(STORE_BYTES);
	size_t applied = 0;
	int fd;

	put_file(s, "a", &a);
	fd = open(test_path("store"), O_RDONLY);
	CHECK(pread(fd, before, STORE_BYTES, 0) == (ssize_t)STORE_BYTES);
	close(fd);
	fd = open(test_path("image"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(pwrite(fd, before, STORE_BYTES, 0) == (ssize_t)STORE_BYTES);
	close(fd);

	ops.write = rec_write;
	ops.sync = rec_sync;
	rec.count = rec.flushes = 0;
	s->st->io = &ops;
	CHECK_EQ(udax_rename(s, "a", "b"), 0);
	s->st->io = &store_io_default;
	CHECK(rec.flushes >= 1);

	memcpy(image, before, meta_bytes);
	CHECK(!check_image(image, meta_bytes, &a, b, keep, 0), "renamed before any write");
	for (size_t j = 0; j < rec.flushes; j++) {
		/* Power lost before flush j completed. */
		memcpy(image, before, meta_bytes);
		for (size_t k = 0; k < applied; k++)
			apply(image, &rec.w[k], rec.w[k].len);
		for (size_t k = applied; k < rec.flush[j]; k++) {
			uint64_t r = test_rand(rng) % 3;

			if (r == 1)
				apply(image, &rec.w[k], rec.w[k].len);
			else if (r == 2)
				apply(image, &rec.w[k],
				      512 * (uint32_t)(test_rand(rng) % (rec.w[k].len / 512 + 1)));
		}
		check_image(image, meta_bytes, &a, b, keep, rec.flush[j]);
		/* Flush j completed. */
		memcpy(image, before, meta_bytes);
		for (applied = 0; applied < rec.flush[j]; applied++)
			apply(image, &rec.w[applied], rec.w[applied].len);
		CHECK(check_image(image, meta_bytes, &a, b, keep, applied) ||
		      j + 1 < rec.flushes, "the rename is not durable when it returns");
	}
	for (size_t k = 0; k < rec.count; k++)
		free(rec.w[k].data);
	free(before);
	free(image);
	CHECK_EQ(file_matches(s, "b", &a), 1);
	*b = a;
}

int main(void)
{
	struct version b = { 300000, 7 }, keep = { 5000, 9 }, c = { 4096 * 40, 11 };
	struct udax_store_stat st0, st1;
	struct udax_file *f, *g;
	struct udax_store *s;
	uint64_t rng;
	char buf[8];

	test_init("rename_replaces_atomically", 120);
	rng = test_seed;
	CHECK_EQ(udax_store_create(test_path("store"), STORE_BYTES, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	put_file(s, "keep", &keep);
	put_file(s, "b", &b);

	/* Errors change nothing. */
	CHECK_EQ(udax_rename(s, "nope", "b"), -ENOENT);
	CHECK_EQ(udax_rename(s, "b", "b"), 0);
	CHECK_EQ(udax_rename(s, "nope", "nope"), -ENOENT);
	CHECK_EQ(file_matches(s, "b", &b), 1);
	CHECK_EQ(file_matches(s, "keep", &keep), 1);

	/* A renamed open file: its handle and mapping keep working. */
	put_file(s, "c", &c);
	CHECK_EQ(udax_open(s, "c", O_RDWR, &f), 0);
	CHECK_EQ(udax_rename(s, "c", "d"), 0);
	CHECK_EQ(udax_open(s, "c", O_RDONLY, &g), -ENOENT);
	CHECK_EQ(udax_pwrite(f, "new", 3, 0), 3);
	CHECK_EQ(udax_open(s, "d", O_RDONLY, &g), 0);
	CHECK_EQ(udax_pread(g, buf, 3, 0), 3);
	CHECK(memcmp(buf, "new", 3) == 0);
	CHECK_EQ(udax_close(g), 0);
	CHECK_EQ(udax_close(f), 0);

	/* Replacing frees the target's blocks (the rename checkpoints). */
	CHECK_EQ(udax_store_stat(s, &st0), 0);
	CHECK_EQ(udax_rename(s, "b", "d"), 0);
	CHECK_EQ(udax_store_stat(s, &st1), 0);
	CHECK_EQ(st1.blocks_free, st0.blocks_free + 40);
	CHECK_EQ(st1.files, st0.files - 1);
	CHECK_EQ(file_matches(s, "d", &b), 1);
	CHECK_EQ(udax_rename(s, "d", "b"), 0);

	for (int round = 0; round < ROUNDS; round++)
		rename_round(s, &rng, &b, &keep);
	CHECK_EQ(udax_store_close(s), 0);

	/* Durable: a fresh open sees the last rename. */
	CHECK_EQ(udax_store_check(test_path("store"), 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(file_matches(s, "b", &b), 1);
	CHECK_EQ(file_matches(s, "a", &b), -ENOENT);
	CHECK_EQ(file_matches(s, "keep", &keep), 1);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
