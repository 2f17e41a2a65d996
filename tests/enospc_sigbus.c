// SPDX-License-Identifier: MIT
/*
 * enospc_sigbus: when the store is full, a write fault delivers SIGBUS to
 * the faulting thread only, through the handler the application installed
 * before udax_store_open(); another thread keeps faulting and the process
 * keeps running; udax_pwrite into a hole returns -ENOSPC; writes to pages
 * that have blocks still work; freeing space makes write faults work again.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096
#define FILE_PAGES 4096	/* 16 MiB: more than the store holds */

static char *map;
static _Atomic int stop;
static _Atomic uint64_t reader_touches;

/* Keeps reading holes (zero pages) while the writer runs out of space. */
static void *bystander(void *arg)
{
	uint64_t sum = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		for (uint64_t p = FILE_PAGES - 64; p < FILE_PAGES; p++)
			sum += (unsigned char)map[p * PG];
		atomic_fetch_add(&reader_touches, 1);
	}
	return (void *)(uintptr_t)sum;
}

/* Write one byte per page until SIGBUS. Return: the page that failed. */
static uint64_t write_until_sigbus(uint64_t from)
{
	volatile uint64_t p = from;

	if (sigsetjmp(test_sigbus_jmp, 1) == 0) {
		test_sigbus_armed = 1;
		for (; p < FILE_PAGES; p++)
			map[p * PG] = (char)(p | 1);
		test_sigbus_armed = 0;
		return FILE_PAGES;	/* never ran out */
	}
	return p;
}

int main(void)
{
	struct udax_store_stat ss;
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *f;
	char buf[PG];
	uint64_t failed_at, before;
	pthread_t t;
	void *sum;

	test_init("enospc_sigbus", 120);
	test_install_sigbus_catcher();
	CHECK_EQ(udax_store_create(test_path("store"), 8ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_store_stat(s, &ss), 0);
	CHECK(ss.blocks_free < FILE_PAGES - 64, "store too big for the test");
	CHECK_EQ(udax_open(s, "big", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, FILE_PAGES * PG), 0);
	CHECK_EQ(udax_mmap(f, 0, FILE_PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);
	CHECK(pthread_create(&t, NULL, bystander, NULL) == 0);

	failed_at = write_until_sigbus(0);
	CHECK_EQ(failed_at, ss.blocks_free);	/* every free block was used */
	before = atomic_load(&reader_touches);
	while (atomic_load(&reader_touches) < before + 3)
		;	/* the other thread still runs */
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.blocks, ss.blocks_free);
	CHECK(st.faults_sigbus >= 1);
	/* The failed page is still a hole; the process goes on. */
	CHECK_EQ(map[failed_at * PG + 1], 0);
	CHECK_EQ(write_until_sigbus(failed_at), failed_at);

	memset(buf, 'x', PG);
	CHECK_EQ(udax_pwrite(f, buf, PG, (failed_at + 1) * PG), -ENOSPC);
	CHECK_EQ(udax_pwrite(f, buf, PG, 0), PG);	/* has a block */
	CHECK_EQ(map[0], 'x');

	/* Free the first half, and writing works again. */
	CHECK_EQ(udax_punch_hole(f, 0, (failed_at / 2) * PG), 0);
	CHECK_EQ(map[5 * PG], 0);
	CHECK_EQ(write_until_sigbus(failed_at), failed_at + failed_at / 2);

	atomic_store(&stop, 1);
	pthread_join(t, &sum);
	CHECK(sum == NULL, "holes read as non-zero");
	CHECK(test_sigbus_seen_unarmed == 0);
	CHECK_EQ(udax_munmap(map, FILE_PAGES * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
