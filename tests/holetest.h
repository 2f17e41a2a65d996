/* SPDX-License-Identifier: MIT */
/*
 * holetest.h - the kernel's holetest pattern, shared by the test that runs
 * it in one process (holetest_punch_truncate) and the one that runs it
 * across processes (store_shared_holetest): writer threads that keep
 * writing markers into random pages of a mapping (a write past EOF raises
 * SIGBUS, caught and counted), the rounds of punches and shrink-and-regrow
 * truncates that run beside them, and the final markers and punched range
 * the tests check afterwards. Call test_install_sigbus_catcher() first.
 */
#ifndef UDAX_HOLETEST_H
#define UDAX_HOLETEST_H

#include <pthread.h>
#include <stdatomic.h>

#include "test_util.h"
#include "udax.h"

#define HOLETEST_PG 4096
#define HOLETEST_PAGES 1024
#define HOLETEST_WRITERS 2
/* The final punch: pages [HOLETEST_PUNCH_FIRST, + HOLETEST_PUNCH_PAGES). */
#define HOLETEST_PUNCH_FIRST 100
#define HOLETEST_PUNCH_PAGES 50

struct holetest_writers;

struct holetest_thread {
	struct holetest_writers *w;
	uintptr_t id;			/* 1, 2: its byte of each page */
	pthread_t tid;
};

struct holetest_writers {
	char *map;			/* HOLETEST_PAGES pages, writable */
	_Atomic int stop;
	_Atomic uint64_t writes, sigbuses;
	struct holetest_thread t[HOLETEST_WRITERS];
};

static inline void *holetest_writer(void *arg)
{
	struct holetest_thread *t = arg;
	uint64_t rng = test_seed ^ t->id * 7919;

	while (!atomic_load(&t->w->stop)) {
		uint64_t p = test_rand(&rng) % HOLETEST_PAGES;

		if (test_access_sigbus(t->w->map + p * HOLETEST_PG + t->id, true, 'w'))
			atomic_fetch_add(&t->w->sigbuses, 1);
		else
			atomic_fetch_add(&t->w->writes, 1);
	}
	return NULL;
}

/* Start the writer threads on map. */
static inline void holetest_writers_start(struct holetest_writers *w, char *map)
{
	w->map = map;
	for (uintptr_t i = 0; i < HOLETEST_WRITERS; i++) {
		w->t[i] = (struct holetest_thread){ .w = w, .id = i + 1 };
		CHECK(pthread_create(&w->t[i].tid, NULL, holetest_writer, &w->t[i]) == 0);
	}
}

/* Stop and join them; they must have written. */
static inline void holetest_writers_stop(struct holetest_writers *w)
{
	atomic_store(&w->stop, 1);
	for (int i = 0; i < HOLETEST_WRITERS; i++)
		pthread_join(w->t[i].tid, NULL);
	CHECK(atomic_load(&w->writes) > 0);
}

/* rounds of: punch a random range, or (every third) shrink to a random
 * size and grow back to HOLETEST_PAGES. */
static inline void holetest_rounds(struct udax_file *f, int rounds, uint64_t *rng)
{
	const uint64_t pg = HOLETEST_PG;

	for (int round = 0; round < rounds; round++) {
		uint64_t a = test_rand(rng) % HOLETEST_PAGES, len = 1 + test_rand(rng) % 64;

		if (round % 3 == 2) {
			CHECK_EQ(udax_truncate(f, a * pg + test_rand(rng) % pg), 0);
			CHECK_EQ(udax_truncate(f, HOLETEST_PAGES * pg), 0);
		} else {
			CHECK_EQ(udax_punch_hole(f, a * pg, len * pg), 0);
		}
	}
}

/* The final marker of page p: 0 in the punched range. */
static inline char holetest_marker(uint64_t p, bool punched)
{
	if (punched && p >= HOLETEST_PUNCH_FIRST &&
	    p < HOLETEST_PUNCH_FIRST + HOLETEST_PUNCH_PAGES)
		return 0;
	return (char)(p % 250 + 1);
}

/* With every page allocated (the final markers written), punch the final
 * range through f of store s: its blocks go back to the store, whose free
 * count was blocks_free_before with no block of f allocated. */
static inline void holetest_final_punch(struct udax_store *s, struct udax_file *f,
					uint64_t blocks_free_before)
{
	struct udax_store_stat after;
	struct udax_file_stat st;

	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.blocks, HOLETEST_PAGES);
	CHECK_EQ(udax_punch_hole(f, HOLETEST_PUNCH_FIRST * HOLETEST_PG,
				 HOLETEST_PUNCH_PAGES * HOLETEST_PG), 0);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.blocks, HOLETEST_PAGES - HOLETEST_PUNCH_PAGES);
	CHECK_EQ(udax_store_stat(s, &after), 0);
	CHECK_EQ(after.blocks_free, blocks_free_before - (HOLETEST_PAGES - HOLETEST_PUNCH_PAGES));
}

/* Through f's store: every page holds its final marker, the punched ones
 * zeros throughout. */
static inline void holetest_check_pread(struct udax_file *f)
{
	static char buf[HOLETEST_PG];

	for (uint64_t p = 0; p < HOLETEST_PAGES; p++) {
		char want = holetest_marker(p, true);

		CHECK_EQ(udax_pread(f, buf, HOLETEST_PG, p * HOLETEST_PG), HOLETEST_PG);
		CHECK(buf[0] == want, "page %llu: pread shows %d, want %d", (unsigned long long)p,
		      buf[0], want);
		if (want == 0)
			for (int k = 0; k < HOLETEST_PG; k++)
				CHECK(buf[k] == 0, "punched page %llu byte %d", (unsigned long long)p, k);
	}
}

#endif /* UDAX_HOLETEST_H */
