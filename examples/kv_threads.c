// SPDX-License-Identifier: MIT
/*
 * kv_threads - a key-value table kept in one udax file, mapped once and
 * used by two threads at the same time.
 *
 *   kv_threads STORE      (STORE must not exist; it is created and kept)
 *
 * The file "kv" is a fixed array of 64-byte slots: an open-addressing hash
 * table (linear probing). Each thread inserts its own keys through the
 * shared mapping, then, once both are done, looks up every key of both.
 * Page faults of both threads are served by udax. At the end the table is
 * written back with udax_msync(), the store is closed and reopened
 * read-only, and every key is looked up again through a new mapping.
 *
 * A slot is claimed with a compare-and-swap on its state word (EMPTY ->
 * BUSY), filled, then published (READY, release); readers load the state
 * with acquire, so they never see a half-written key. The mapping is plain
 * shared memory: C11 atomics work on it as on any other.
 *
 * Prints one line and exits 0 if every key was found with its value, else
 * prints the error and exits 1. Build: cc -std=c11 kv_threads.c -ludax
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <udax.h>

#define SLOTS 16384			/* a 1 MiB table */
#define KEYS_PER_THREAD 4000		/* half full with both threads */
#define KEY_MAX 47

enum { SLOT_EMPTY = 0, SLOT_BUSY = 1, SLOT_READY = 2 };

struct slot {
	_Atomic uint32_t state;
	uint32_t key_len;
	_Atomic uint64_t value;
	char key[KEY_MAX + 1];
};
_Static_assert(sizeof(struct slot) == 64, "a slot is 64 bytes");

struct worker {
	struct slot *table;
	int id;
	pthread_barrier_t *barrier;
	int missing;			/* keys not found, or with a wrong value */
};

/* FNV-1a: a simple, well-spread hash of the key's bytes. */
static uint32_t key_hash(const char *key, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	return h;
}

/* The slot holding key, or NULL. Waits for a slot another thread is
 * filling (it may be this key). */
static struct slot *kv_find(struct slot *table, const char *key)
{
	size_t len = strlen(key);

	for (uint32_t n = 0, i = key_hash(key, len) % SLOTS; n < SLOTS; n++, i = (i + 1) % SLOTS) {
		struct slot *s = &table[i];
		uint32_t state;

		while ((state = atomic_load_explicit(&s->state, memory_order_acquire)) == SLOT_BUSY)
			sched_yield();
		if (state == SLOT_EMPTY)
			return NULL;
		if (s->key_len == len && !memcmp(s->key, key, len))
			return s;
	}
	return NULL;
}

/* Insert key or update its value. Returns 0, or -1 if the table is full. */
static int kv_put(struct slot *table, const char *key, uint64_t value)
{
	size_t len = strlen(key);

	for (uint32_t n = 0, i = key_hash(key, len) % SLOTS; n < SLOTS; n++, i = (i + 1) % SLOTS) {
		struct slot *s = &table[i];
		uint32_t state = SLOT_EMPTY;

		if (atomic_compare_exchange_strong(&s->state, &state, SLOT_BUSY)) {
			/* Ours: fill it, then publish it. */
			memcpy(s->key, key, len + 1);
			s->key_len = (uint32_t)len;
			atomic_store_explicit(&s->value, value, memory_order_relaxed);
			atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
			return 0;
		}
		while (state == SLOT_BUSY) {	/* another thread is filling it */
			sched_yield();
			state = atomic_load_explicit(&s->state, memory_order_acquire);
		}
		if (s->key_len == len && !memcmp(s->key, key, len)) {
			atomic_store_explicit(&s->value, value, memory_order_relaxed);
			return 0;
		}
	}
	return -1;
}

static uint64_t key_value(int thread, int i)
{
	return (uint64_t)thread << 32 | (uint64_t)i * 7919;
}

/* Count the keys of both threads that are missing or have a wrong value. */
static int kv_count_missing(struct slot *table)
{
	char key[KEY_MAX + 1];
	int missing = 0;

	for (int t = 0; t < 2; t++) {
		for (int i = 0; i < KEYS_PER_THREAD; i++) {
			struct slot *s;

			snprintf(key, sizeof(key), "thread%d-key%d", t, i);
			s = kv_find(table, key);
			if (!s || atomic_load(&s->value) != key_value(t, i))
				missing++;
		}
	}
	return missing;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	char key[KEY_MAX + 1];

	for (int i = 0; i < KEYS_PER_THREAD; i++) {
		snprintf(key, sizeof(key), "thread%d-key%d", w->id, i);
		if (kv_put(w->table, key, key_value(w->id, i)))
			w->missing++;
	}
	pthread_barrier_wait(w->barrier);	/* both threads have inserted */
	w->missing += kv_count_missing(w->table);
	return NULL;
}

/* Unmap the table, then close kv and the store. Returns 0, or the first
 * error (what follows it is left open: the program exits). */
static int kv_close(struct udax_store *store, struct udax_file *file, struct slot *table,
		    size_t len)
{
	int ret = udax_munmap(table, len);

	if (!ret)
		ret = udax_close(file);
	if (!ret)
		ret = udax_store_close(store);
	return ret;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "kv_threads: %s: %s\n", what, strerror(-err));
	return 1;
}

int main(int argc, char **argv)
{
	const size_t len = SLOTS * sizeof(struct slot);
	struct worker workers[2];
	pthread_barrier_t barrier;
	pthread_t threads[2];
	struct udax_store *store;
	struct udax_file *file;
	struct slot *table;
	int ret, missing = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: kv_threads STORE (created; must not exist)\n");
		return 2;
	}
	ret = udax_store_create(argv[1], 16 << 20, 0);
	if (ret)
		return fail("create the store", ret);
	ret = udax_store_open(argv[1], 0, &store);
	if (ret)
		return fail("open the store", ret);
	/* A new file reads as zeros: every slot starts EMPTY. */
	ret = udax_open(store, "kv", O_RDWR | O_CREAT, &file);
	if (!ret)
		ret = udax_truncate(file, len);
	if (!ret)
		ret = udax_mmap2(file, 0, len, PROT_READ | PROT_WRITE, 0, (void **)&table);
	if (ret)
		return fail("create and map kv", ret);

	pthread_barrier_init(&barrier, NULL, 2);
	for (int t = 0; t < 2; t++) {
		workers[t] = (struct worker){ .table = table, .id = t, .barrier = &barrier };
		ret = pthread_create(&threads[t], NULL, worker_run, &workers[t]);
		if (ret)
			return fail("pthread_create", -ret);
	}
	for (int t = 0; t < 2; t++) {
		pthread_join(threads[t], NULL);
		missing += workers[t].missing;
	}
	pthread_barrier_destroy(&barrier);

	/* Write the table back to the store, then let go of everything. */
	ret = udax_msync(table, len, MS_SYNC);
	if (!ret)
		ret = kv_close(store, file, table, len);
	if (ret)
		return fail("write back and close", ret);

	/* Reopen read-only: the table is what the threads left. */
	ret = udax_store_open(argv[1], UDAX_STORE_RDONLY, &store);
	if (!ret)
		ret = udax_open(store, "kv", O_RDONLY, &file);
	if (!ret)
		ret = udax_mmap2(file, 0, len, PROT_READ, 0, (void **)&table);
	if (ret)
		return fail("reopen kv", ret);
	missing += kv_count_missing(table);
	ret = kv_close(store, file, table, len);
	if (ret)
		return fail("close", ret);

	if (missing) {
		fprintf(stderr, "kv_threads: %d lookups failed\n", missing);
		return 1;
	}
	printf("kv_threads: 2 threads put %d keys in one mapping; all found, "
	       "and again after reopening\n", 2 * KEYS_PER_THREAD);
	return 0;
}
