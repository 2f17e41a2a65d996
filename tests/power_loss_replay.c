// SPDX-License-Identifier: MIT
/*
 * power_loss_replay: writer threads keep writing counters into pages
 * of a mapping (allocating new pages as they go) while another thread loops
 * udax_msync(MS_SYNC), growing the file before each so that every msync
 * also writes a metadata checkpoint. The store's I/O ops are swapped
 * for recording ones: every metadata write and every flush is logged. At
 * every flush point a crash image is built: the metadata as of that flush
 * (the log replayed up to it) plus the data blocks; and the image of a
 * power loss just before it: the previous flush's state plus a random
 * subset of the writes between the two, some torn at a 512-byte sector.
 * Each image must pass the store check and open, and every page must hold
 * at least the value that was written before the msync that covers it
 * began (the last completed msync for images taken in the middle of one).
 * Run four times: the syncing call is udax_msync(MS_SYNC) (the store open
 * UDAX_STORE_EXCLUSIVE), udax_fsync, then udax_close of a second handle
 * that wrote the file (the store open shared); then (issue 14, stage
 * 3) with the writers in another process, both processes with the store
 * open shared, udax_close of a second handle that wrote nothing: it syncs
 * only if the file has dirty pages, which after the first sync it has only
 * if each sync write-protected the writers' mapping in their process too
 * (without it, the flush points stop coming). >= 1,000 flush points each
 * (400 in the last mode), 0 lost writes.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store_shared_test.h"
#include "test_util.h"
#include "udax.h"

#define PG 4096
#define STORE_BYTES (8ull << 20)
#define WRITERS 2
#define PAGES_PER_WRITER 24
#define PAGES (WRITERS * PAGES_PER_WRITER)
#define MIN_FLUSH_POINTS 1000
/* In the other process's mode, whose calls cost a shootdown each: CI time. */
#define MIN_FLUSH_POINTS_OTHER 400
#define MAX_MSYNCS 2000

struct logged_write {
	uint64_t off;
	uint32_t len;
	uint8_t *data;
};

static struct {
	pthread_mutex_t lock;
	struct logged_write *w;
	size_t count, cap;
	size_t *flush;		/* log length at each flush */
	size_t flushes, flush_cap;
} rec = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* What the writers and the syncer share (across processes in the last
 * mode: MAP_SHARED). */
struct board {
	_Atomic uint64_t published[PAGES];
	_Atomic int stop;
	_Atomic int active_pages;	/* pages in use per writer, grows */
	_Atomic uint32_t ready, go;	/* the writers' process and the syncer */
};

static char *map;
static struct board *board;

static int rec_write(struct store *s, const void *buf, size_t len, uint64_t off)
{
	pthread_mutex_lock(&rec.lock);
	if (rec.count == rec.cap) {
		rec.cap = rec.cap ? 2 * rec.cap : 256;
		rec.w = realloc(rec.w, rec.cap * sizeof(*rec.w));
	}
	rec.w[rec.count].off = off;
	rec.w[rec.count].len = (uint32_t)len;
	rec.w[rec.count].data = malloc(len);
	memcpy(rec.w[rec.count].data, buf, len);
	rec.count++;
	pthread_mutex_unlock(&rec.lock);
	return store_io_default.write(s, buf, len, off);
}

static int rec_sync(struct store *s)
{
	int ret = store_io_default.sync(s);

	pthread_mutex_lock(&rec.lock);
	if (rec.flushes == rec.flush_cap) {
		rec.flush_cap = rec.flush_cap ? 2 * rec.flush_cap : 256;
		rec.flush = realloc(rec.flush, rec.flush_cap * sizeof(*rec.flush));
	}
	rec.flush[rec.flushes++] = rec.count;
	pthread_mutex_unlock(&rec.lock);
	return ret;
}

static const struct store_io_ops recording_ops = {
	.write = rec_write,
	.sync = rec_sync,
	.zero = NULL,		/* filled from the defaults in main() */
	.discard = NULL,
	.cache_large = NULL,
};

static void *writer(void *arg)
{
	uint64_t id = (uintptr_t)arg, rng = test_seed + id, value[PAGES_PER_WRITER] = { 0 };

	while (!atomic_load(&board->stop)) {
		uint64_t k = test_rand(&rng) % (uint64_t)atomic_load(&board->active_pages);
		uint64_t p = id * PAGES_PER_WRITER + k;

		__atomic_store_n((uint64_t *)(map + p * PG) + 1, ++value[k], __ATOMIC_RELAXED);
		atomic_store_explicit(&board->published[p], value[k], memory_order_release);
		if (value[k] % 256 == 0)
			sched_yield();	/* leave the msync thread a CPU */
	}
	return NULL;
}

/* Apply a logged write to an image, whole or torn after `keep` bytes. */
static void apply(uint8_t *image, const struct logged_write *w, size_t keep)
{
	memcpy(image + w->off, w->data, keep < w->len ? keep : w->len);
}

/* Write [0, len) of the image over the image file, check it, load it, and
 * check every page (read through the loaded block map, without the
 * checkpoint a udax_store_close() would write into the image). */
static void check_image(const char *label, size_t flush, const uint8_t *image, size_t len,
			const uint64_t *required)
{
	const char *path = test_path("image");
	struct store_error why;
	struct store *st;
	int slot, fd = open(path, O_RDWR | O_CREAT, 0644);

	CHECK(fd >= 0 && pwrite(fd, image, len, 0) == (ssize_t)len);
	CHECK(store_check_path(path, 0, &why) == 0, "%s image at flush %zu: %s", label, flush,
	      why.text);
	CHECK(store_load(path, 0, &st, &why) == 0, "%s image at flush %zu: %s", label,
	      flush,
	      why.text);
	slot = __store_file_find(st, "f");
	CHECK(slot >= 0, "%s image at flush %zu: file missing", label, flush);
	for (uint64_t p = 0; p < PAGES; p++) {
		int64_t block = store_get_block(st, slot, p, STORE_LOOKUP);
		uint64_t v = 0;

		CHECK(block >= 0);
		if (block)
			CHECK(pread(fd, &v, 8, (off_t)(store_block_offset((uint64_t)block) + 8)) == 8);
		CHECK(v >= required[p], "%s image at flush %zu: page %llu holds %llu, a completed "
		      "call covered %llu", label, flush, (unsigned long long)p,
		      (unsigned long long)v, (unsigned long long)required[p]);
	}
	store_unload(st);
	close(fd);
}

enum sync_mode { SYNC_MSYNC, SYNC_FSYNC, SYNC_CLOSE, SYNC_OTHER_PROCESS, SYNC_MODES };
static const char *const mode_name[SYNC_MODES] = { "msync", "fsync", "close",
						   "close, writers in another process" };

/* The call under test; with SYNC_CLOSE a second handle writes one byte
 * (so that the file has dirty pages of its own) and is closed; with
 * SYNC_OTHER_PROCESS one is opened and closed, having written nothing. */
static void sync_call(enum sync_mode mode, struct udax_store *s, struct udax_file *f)
{
	struct udax_file *g;

	switch (mode) {
	case SYNC_MSYNC:
		CHECK_EQ(udax_msync(map, PAGES * PG, MS_SYNC), 0);
		break;
	case SYNC_FSYNC:
		CHECK_EQ(udax_fsync(f), 0);
		break;
	case SYNC_OTHER_PROCESS:
		CHECK_EQ(udax_open(s, "f", O_RDWR, &g), 0);
		CHECK_EQ(udax_close(g), 0);
		break;
	default:
		CHECK_EQ(udax_open(s, "f", O_RDWR, &g), 0);
		CHECK_EQ(udax_pwrite(g, "c", 1, PAGES * PG), 1);
		CHECK_EQ(udax_close(g), 0);
		break;
	}
}

/* The file "f" of the store, sized and synced, mapped at map. */
static void file_make(struct udax_store *s, struct udax_file **f)
{
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, f), 0);
	CHECK_EQ(udax_truncate(*f, PAGES * PG), 0);
	CHECK_EQ(udax_fsync(*f), 0);
	CHECK_EQ(udax_mmap(*f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);
}

static void writers_run(void)
{
	pthread_t t[WRITERS];

	for (uintptr_t i = 0; i < WRITERS; i++)
		CHECK(pthread_create(&t[i], NULL, writer, (void *)i) == 0);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(t[i], NULL);
}

/* SYNC_OTHER_PROCESS: the writers' process (forked before the test opens
 * anything: it opens the store shared itself). */
static void writers_process(unsigned unused)
{
	struct udax_store *s = store_shared_test_open(test_path("store"));
	struct udax_file *f;

	(void)unused;
	file_make(s, &f);
	xproc_test_raise(&board->ready);
	xproc_test_wait(&board->go, 1);
	writers_run();
	CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

static void *writers_thread(void *arg)
{
	(void)arg;
	writers_run();
	return NULL;
}

static void run_mode(enum sync_mode mode)
{
	static uint64_t required[PAGES], prev_required[PAGES];
	struct store_io_ops ops = recording_ops;
	uint8_t *durable, *image;
	size_t applied = 0, flush_seen = 0, images = 0, torn = 0;
	struct udax_store *s;
	struct udax_file *f;
	size_t min_flush_points = mode == SYNC_OTHER_PROCESS ? MIN_FLUSH_POINTS_OTHER
							     : MIN_FLUSH_POINTS;
	pthread_t writers;
	pid_t other = 0;
	uint64_t rng;
	int fd, msyncs = 0;

	rng = test_seed + mode;
	memset(required, 0, sizeof(required));
	memset(prev_required, 0, sizeof(prev_required));
	unlink(test_path("store"));
	unlink(test_path("image"));
	CHECK_EQ(udax_store_create(test_path("store"), STORE_BYTES, 0), 0);
	if (mode == SYNC_OTHER_PROCESS) {
		other = xproc_test_start(writers_process, 0);
		xproc_test_wait(&board->ready, 1);
		s = store_shared_test_open(test_path("store"));
		CHECK_EQ(udax_open(s, "f", O_RDWR, &f), 0);
	} else {
		/* The first mode on a store for this process alone, the
		 * others on a shared one (the default). */
		CHECK_EQ(udax_store_open(test_path("store"),
					 mode == SYNC_MSYNC ? UDAX_STORE_EXCLUSIVE : 0, &s), 0);
		file_make(s, &f);
	}

	/* The durable image now: the store file as it is after the fsync. */
	durable = malloc(STORE_BYTES);
	image = malloc(STORE_BYTES);
	fd = open(test_path("store"), O_RDONLY);
	CHECK(pread(fd, durable, STORE_BYTES, 0) == (ssize_t)STORE_BYTES);
	ops.zero = store_io_default.zero;
	ops.discard = store_io_default.discard;
	ops.cache_large = store_io_default.cache_large;
	s->st->io = &ops;

	if (other)
		xproc_test_raise(&board->go);
	else
		CHECK(pthread_create(&writers, NULL, writers_thread, NULL) == 0);
	while (flush_seen < min_flush_points && msyncs++ < MAX_MSYNCS) {
		uint64_t data_off = s->st->data_start * STORE_BLOCK_SIZE;
		size_t last;

		if (msyncs % 10 == 0 && atomic_load(&board->active_pages) < PAGES_PER_WRITER)
			atomic_fetch_add(&board->active_pages, 1);	/* new blocks */
		CHECK_EQ(udax_truncate(f, PAGES * PG + (uint64_t)msyncs), 0);	/* new size */
		for (int p = 0; p < PAGES; p++)
			required[p] = atomic_load_explicit(&board->published[p], memory_order_acquire);
		sync_call(mode, s, f);

		/* Data as the page cache has it now (at least as new as at
		 * every flush of this msync), written once per msync. */
		CHECK(pread(fd, durable + data_off, STORE_BYTES - data_off, (off_t)data_off) ==
		      (ssize_t)(STORE_BYTES - data_off));
		check_image("flushed", flush_seen, durable, STORE_BYTES, prev_required);
		pthread_mutex_lock(&rec.lock);
		last = rec.flushes;
		pthread_mutex_unlock(&rec.lock);
		for (size_t j = flush_seen; j < last; j++) {
			bool final = j == last - 1;

			/* Power lost before flush j completed: what flush j-1
			 * made durable, plus any of the writes since, some torn.
			 * Only msyncs that had returned are owed anything. */
			memcpy(image, durable, data_off);
			for (size_t k = applied; k < rec.flush[j]; k++) {
				uint64_t r = test_rand(&rng) % 3;

				if (r == 1) {
					apply(image, &rec.w[k], rec.w[k].len);
				} else if (r == 2) {
					apply(image, &rec.w[k],
					      512 * (test_rand(&rng) % (rec.w[k].len / 512 + 1)));
					torn++;
				}
			}
			check_image("torn", j, image, data_off, prev_required);
			/* Flush j completed. */
			for (; applied < rec.flush[j]; applied++)
				apply(durable, &rec.w[applied], rec.w[applied].len);
			check_image("flushed", j, durable, data_off, final ? required : prev_required);
			images += 2;
		}
		flush_seen = last;
		memcpy(prev_required, required, sizeof(required));
	}
	atomic_store(&board->stop, 1);
	if (other)
		xproc_test_reap(other, false);
	else
		pthread_join(writers, NULL);
	CHECK(flush_seen >= min_flush_points, "only %zu flush points in %d msyncs", flush_seen,
	      msyncs);
	printf("%s: %zu flush points over %d calls, %zu crash images checked (%zu torn "
	       "writes), 0 lost writes\n", mode_name[mode], flush_seen, msyncs, images, torn);

	s->st->io = &store_io_default;
	close(fd);
	for (size_t k = 0; k < rec.count; k++)
		free(rec.w[k].data);
	free(durable);
	free(image);
	if (!other)
		CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	rec.count = rec.flushes = 0;
	memset(board, 0, sizeof(*board));
	atomic_store(&board->active_pages, 1);
}

int main(void)
{
	test_init("power_loss_replay", 600);
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	board = xproc_test_shared(sizeof(*board));
	atomic_store(&board->active_pages, 1);
	/* The other process's mode first: fork before this process opens a
	 * store (xproc_test.h). */
	run_mode(SYNC_OTHER_PROCESS);
	for (int mode = 0; mode < SYNC_OTHER_PROCESS; mode++)
		run_mode((enum sync_mode)mode);
	test_pass();
}
