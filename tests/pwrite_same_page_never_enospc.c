// SPDX-License-Identifier: MIT
/*
 * pwrite_same_page_never_enospc: two threads udax_pwrite the two halves of
 * the same hole page at the same moment (a barrier before each pair), over
 * random pages of an almost empty store. Both writes always succeed whole
 * (never -ENOSPC or short: the page found to be a hole by one writer may be
 * filled by the other before it takes the window's lock), and every byte
 * reads back as its writer wrote it.
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define PAGES (64 * 512ull)
#define ROUNDS 3000

static struct udax_file *f;
static pthread_barrier_t barrier;

static void *writer(void *arg)
{
	long half = (long)arg;
	uint64_t rng = test_seed;	/* both threads draw the same pages */
	char buf[PG / 2];

	memset(buf, 'a' + (int)half, sizeof(buf));
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t off = test_rand(&rng) % PAGES * PG + (uint64_t)half * sizeof(buf);
		ssize_t n;

		pthread_barrier_wait(&barrier);
		n = udax_pwrite(f, buf, sizeof(buf), off);
		CHECK(n == (ssize_t)sizeof(buf), "round %d, half %ld at %llu: %zd", i, half,
		      (unsigned long long)off, n);
	}
	return NULL;
}

int main(void)
{
	static char page[PG];
	struct udax_store *s;
	pthread_t t[2];
	uint64_t rng;

	test_init("pwrite_same_page_never_enospc", 120);
	CHECK_EQ(udax_store_create(test_path("store"), 1ull << 30, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(pthread_barrier_init(&barrier, NULL, 2), 0);
	for (long i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, writer, (void *)i), 0);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	rng = test_seed;
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t p = test_rand(&rng) % PAGES;

		CHECK_EQ(udax_pread(f, page, PG, p * PG), (ssize_t)PG);
		CHECK(page[0] == 'a' && page[PG / 2 - 1] == 'a' && page[PG / 2] == 'b' &&
		      page[PG - 1] == 'b', "page %llu", (unsigned long long)p);
	}
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_check(test_path("store"), 0), 0);
	test_pass();
}
