// SPDX-License-Identifier: MIT
/*
 * readers_writer_hole: three readers and one writer hit the same hole page
 * at once, repeated on many pages. Readers only ever see zeros or the
 * written value, nobody hangs (watchdog), and once the writer is done every
 * reader sees the value. Half of the pages are read through a second
 * mapping of the file, so the writer's fault must also replace the zero
 * page there (the kernel's stale-zero-page fix).
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PAGES 12000
#define READERS 3
#define PG 4096

static char *map_w, *map_r;
static _Atomic uint64_t arrivals;
static _Atomic uint64_t writes_done;
static _Atomic uint64_t bad_reads, stale_after_write;

static uint64_t stamp(uint64_t page)
{
	return page * 0x9e3779b97f4a7c15ull | 1;
}

static void rendezvous(uint64_t page)
{
	uint64_t spins = 0;

	atomic_fetch_add(&arrivals, 1);
	while (atomic_load(&arrivals) < (READERS + 1) * (page + 1))
		if (++spins % 1024 == 0)
			sched_yield();
}

static char *reader_map(uint64_t page)
{
	return page % 2 ? map_r : map_w;
}

static void *reader(void *arg)
{
	(void)arg;
	for (uint64_t p = 0; p < PAGES; p++) {
		uint64_t *word = (uint64_t *)(reader_map(p) + p * PG);
		uint64_t v;

		rendezvous(p);
		v = __atomic_load_n(word, __ATOMIC_RELAXED);
		if (v != 0 && v != stamp(p))
			atomic_fetch_add(&bad_reads, 1);
		/* Once the writer has finished this page, zeros are stale. */
		while (atomic_load(&writes_done) <= p)
			sched_yield();
		if (__atomic_load_n(word, __ATOMIC_RELAXED) != stamp(p))
			atomic_fetch_add(&stale_after_write, 1);
	}
	return NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	for (uint64_t p = 0; p < PAGES; p++) {
		rendezvous(p);
		__atomic_store_n((uint64_t *)(map_w + p * PG), stamp(p), __ATOMIC_RELAXED);
		atomic_store(&writes_done, p + 1);
	}
	return NULL;
}

int main(void)
{
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *f;
	pthread_t t[READERS + 1];

	test_init("readers_writer_hole", 240);
	test_install_sigbus_catcher();
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "hole", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, PAGES * PG), 0);
	CHECK_EQ(udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map_w), 0);
	CHECK_EQ(udax_mmap(f, 0, PAGES * PG, PROT_READ, (void **)&map_r), 0);

	for (int i = 0; i < READERS; i++)
		CHECK(pthread_create(&t[i], NULL, reader, NULL) == 0);
	CHECK(pthread_create(&t[READERS], NULL, writer, NULL) == 0);
	for (int i = 0; i <= READERS; i++)
		pthread_join(t[i], NULL);

	CHECK_EQ(atomic_load(&bad_reads), 0);
	CHECK_EQ(atomic_load(&stale_after_write), 0);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.blocks, PAGES);
	CHECK_EQ(st.faults_sigbus, 0);
	printf("%d pages, %llu hole faults, %llu lock waits\n", PAGES,
	       (unsigned long long)st.faults_hole, (unsigned long long)st.lock_waits);
	CHECK_EQ(udax_munmap(map_w, PAGES * PG), 0);
	CHECK_EQ(udax_munmap(map_r, PAGES * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
