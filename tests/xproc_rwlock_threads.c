// SPDX-License-Identifier: MIT
/*
 * xproc_rwlock_threads: a reader-writer lock processes share, used by the
 * threads of one member (and so under ThreadSanitizer, which sees no other
 * process): what a writer changes under it, plain memory, is what readers
 * see after it (a reader's lock acquires the last writer's unlock), no
 * reader sees a writer's change half made, and no acquisition waits for a
 * wake-up that never comes (every holder is alive, so a wait as long as a
 * liveness period means a lost wake-up: at most two are let pass for a
 * machine too busy to run a woken thread).
 */
#include <pthread.h>

#include "xproc_test.h"

#define THREADS 4
#define OPS 20000

static struct xproc_region *r;
static struct xproc_rwlock *lock;
static uint64_t a, b;		/* plain: only under the lock */
static _Atomic uint64_t stalls, reads, writes;

static void *worker(void *arg)
{
	uint64_t rng = test_seed * 977 + (uintptr_t)arg;

	for (unsigned n = 0; n < OPS; n++) {
		bool write = test_rand(&rng) % 4 == 0;
		uint64_t t0 = xproc_test_now_ns();

		if (write) {
			CHECK_EQ(xproc_write_lock(r, lock), XPROC_LOCK_TAKEN);
		} else {
			CHECK_EQ(xproc_read_lock(r, lock), 0);
		}
		if (xproc_test_now_ns() - t0 >= XPROC_LIVENESS_MS * 1000000ull)
			atomic_fetch_add(&stalls, 1);
		if (write) {
			a++;
			for (unsigned spin = 0; spin < 50; spin++)
				cpu_relax();
			b++;
			xproc_write_unlock(r, lock);
			atomic_fetch_add(&writes, 1);
		} else {
			CHECK_EQ(a, b);
			xproc_read_unlock(r, lock);
			atomic_fetch_add(&reads, 1);
		}
	}
	return NULL;
}

int main(void)
{
	struct xproc_layout layout = { .user_bytes = sizeof(struct xproc_rwlock) };
	pthread_t t[THREADS];
	const char *store;
	int fd;

	test_init("xproc_rwlock_threads", 120);
	fd = xproc_test_store(&store);
	r = xproc_test_join(fd, store, &layout, xproc_test_noop, NULL);
	lock = xproc_user_area(r);
	for (uintptr_t k = 0; k < THREADS; k++)
		CHECK_EQ(pthread_create(&t[k], NULL, worker, (void *)k), 0);
	for (unsigned k = 0; k < THREADS; k++)
		CHECK_EQ(pthread_join(t[k], NULL), 0);
	CHECK_EQ(a, atomic_load(&writes));
	printf("%llu reads, %llu writes, %llu waits of a liveness period\n",
	       (unsigned long long)atomic_load(&reads), (unsigned long long)atomic_load(&writes),
	       (unsigned long long)atomic_load(&stalls));
	CHECK(atomic_load(&stalls) <= 2);
	xproc_leave(r);
	test_pass();
}
