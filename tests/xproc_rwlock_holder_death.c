// SPDX-License-Identifier: MIT
/*
 * xproc_rwlock_holder_death: a reader-writer lock processes share
 * (xproc_rwlock) excludes writers from everyone and lets readers in
 * together, across processes and threads, and a member killed holding it,
 * shared or exclusive, holds nobody up for longer than a bounded recovery.
 *
 * Two survivors (two threads each) take the lock shared or exclusive at
 * random. First a reader is killed holding it, nobody taking its slot:
 * the survivors' writers still get in. Then victims take it too and are
 * killed 200 times: every
 * fourth victim parks holding the lock exclusive, every fourth parks
 * holding it shared (a writer must then find the dead reader), the others
 * are killed at a random instant. Each holder marks what it holds in a
 * table; a writer entering finds no live holder's mark, a reader no live
 * writer's (a victim's mark counts only while the victim lives: an OFD
 * lock each victim holds on a byte of its own). A waiter that took the
 * lock after a writer died inside is told so (a writer marks its change
 * half done while inside, and only a writer told to repair may find the
 * mark); readers are never told. The slowest acquisition is bounded,
 * readers did overlap, and writers got in while readers kept coming.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include "xproc_test.h"

#define SURVIVORS 2
#define THREADS 2
#define HOLDERS (SURVIVORS * THREADS)
#define VICTIMS 2
#define KILLS 200
/* Waits include live parked victims (up to 300 ms each, the parent's
 * schedule) besides the recoveries (100 ms each). */
#define BOUND_MS 5000
/* Survivors' threads, then victim serials: 1 (the first reader), then 2
 * up to 1 + VICTIMS + KILLS. */
#define TAGS (HOLDERS + 2 + VICTIMS + KILLS)

enum mark { NONE, READING, WRITING };

struct shared {
	struct xproc_rwlock lock;	/* lives in the region in udax; here any shared memory */
	_Atomic uint32_t mark[TAGS];
	_Atomic uint32_t dirty;		/* a writer's change half done */
	_Atomic uint32_t survivors_in, kills_done, done;
	_Atomic uint32_t victim_ready[VICTIMS], victim_parked[VICTIMS], victim_ops[VICTIMS];
	_Atomic uint64_t reads, writes, overlaps, recovered, slowest_ns;
};

static struct shared *sh;
static const char *store;
static int store_fd, lives_fd;

/* Whether the holder of tag is alive: survivors always are; victim serial
 * v holds byte v of "lives" while it lives. */
static bool holder_alive(uint32_t tag)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1 };

	if (tag < HOLDERS)
		return true;
	fl.l_start = tag - HOLDERS;
	CHECK_EQ(fcntl(lives_fd, F_OFD_GETLK, &fl), 0);
	return fl.l_type != F_UNLCK;
}

/* A holder in: no other holder's mark excludes it but a dead victim's (a
 * mark nobody can change any more). A victim killed a moment ago may look
 * alive still (its descriptors are closed after its region slot): its
 * mark must stay as it is until it is seen dead. */
static void enter(uint32_t tag, enum mark want)
{
	for (uint32_t t = 0; t < TAGS; t++) {
		uint32_t m = atomic_load(&sh->mark[t]);
		uint64_t t0 = xproc_test_now_ns();

		if (t == tag || m == NONE || (want == READING && m == READING)) {
			if (t < HOLDERS && t != tag && m == READING)
				atomic_fetch_add(&sh->overlaps, 1);
			continue;
		}
		CHECK(t >= HOLDERS, "survivor %u entered %s while survivor %u is %s", tag,
		      want == WRITING ? "writing" : "reading", t,
		      m == WRITING ? "writing" : "reading");
		while (holder_alive(t)) {
			CHECK(atomic_load(&sh->mark[t]) == m && xproc_test_now_ns() - t0 < BOUND_MS * 1000000ull,
			      "holder %u entered %s while victim %u, alive, was %s", tag,
			      want == WRITING ? "writing" : "reading", t - HOLDERS,
			      m == WRITING ? "writing" : "reading");
			sched_yield();
		}
		CHECK_EQ(atomic_load(&sh->mark[t]), m);
	}
	atomic_store(&sh->mark[tag], want);
}

static void leave(uint32_t tag)
{
	atomic_store(&sh->mark[tag], NONE);
}

static void take(struct xproc_region *r, uint32_t tag, enum mark want)
{
	uint64_t t0 = xproc_test_now_ns(), dt;
	int ret = want == WRITING ? xproc_write_lock(r, &sh->lock) : xproc_read_lock(r, &sh->lock);

	dt = xproc_test_now_ns() - t0;
	for (uint64_t slowest = atomic_load(&sh->slowest_ns); dt > slowest;)
		if (atomic_compare_exchange_weak(&sh->slowest_ns, &slowest, dt))
			break;
	enter(tag, want);
	if (want == READING) {
		CHECK_EQ(ret, 0);
		return;
	}
	/* A writer's half-done change (dirty) is found only by a writer told
	 * to repair; a writer can also die inside after finishing it. */
	CHECK(ret == XPROC_LOCK_TAKEN || ret == XPROC_LOCK_RECOVERED, "write lock: %d", ret);
	if (ret == XPROC_LOCK_RECOVERED) {
		atomic_fetch_add(&sh->recovered, 1);
		atomic_store(&sh->dirty, 0);
	}
	CHECK_EQ(atomic_load(&sh->dirty), 0);
}

static void drop(struct xproc_region *r, uint32_t tag, enum mark held)
{
	leave(tag);
	if (held == WRITING)
		xproc_write_unlock(r, &sh->lock);
	else
		xproc_read_unlock(r, &sh->lock);
}

struct holder_arg {
	struct xproc_region *r;
	uint32_t tag;
};

static void *survivor_thread(void *arg)
{
	struct holder_arg *a = arg;
	uint64_t rng = test_seed * 31 + a->tag;

	while (!atomic_load(&sh->kills_done)) {
		uint64_t x = test_rand(&rng);
		enum mark want = x % 5 == 0 ? WRITING : READING;

		take(a->r, a->tag, want);
		atomic_fetch_add(want == WRITING ? &sh->writes : &sh->reads, 1);
		for (unsigned spin = (unsigned)(x >> 8) % 500; spin; spin--)
			cpu_relax();
		drop(a->r, a->tag, want);
	}
	return NULL;
}

static void survivor(unsigned me)
{
	struct xproc_region *r = xproc_test_join(store_fd, store, NULL, xproc_test_noop, NULL);
	struct holder_arg args[THREADS];
	pthread_t t[THREADS];

	xproc_test_raise(&sh->survivors_in);
	for (unsigned k = 0; k < THREADS; k++) {
		args[k] = (struct holder_arg){ r, me * THREADS + k };
		CHECK_EQ(pthread_create(&t[k], NULL, survivor_thread, &args[k]), 0);
	}
	for (unsigned k = 0; k < THREADS; k++)
		CHECK_EQ(pthread_join(t[k], NULL), 0);
	xproc_test_raise(&sh->done);
	if (me == 0)	/* the region lives on until every survivor is done */
		xproc_test_wait(&sh->done, SURVIVORS);
	xproc_leave(r);
}

static void victim(unsigned arg)
{
	unsigned v = arg % VICTIMS, serial = arg / VICTIMS;
	uint32_t tag = HOLDERS + serial;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = serial, .l_len = 1 };
	uint64_t rng = test_seed * 104729 + serial;
	int fd = open(test_path("lives"), O_RDWR);
	struct xproc_region *r;

	CHECK(fd >= 0 && tag < TAGS);
	CHECK_EQ(fcntl(fd, F_OFD_SETLK, &fl), 0);
	r = xproc_test_join(store_fd, store, NULL, xproc_test_noop, NULL);
	xproc_test_raise(&sh->victim_ready[v]);
	for (;;) {
		uint64_t x = test_rand(&rng);
		enum mark want = serial % 4 == 0 ? WRITING : serial % 4 == 1 ? READING
				 : x % 3 == 0 ? WRITING : READING;

		take(r, tag, want);
		if (want == WRITING)
			atomic_store(&sh->dirty, 1);
		if (serial % 4 < 2) {	/* parks holding it */
			xproc_test_raise(&sh->victim_parked[v]);
			for (;;)
				pause();
		}
		for (unsigned spin = (unsigned)(x >> 8) % 2000; spin; spin--)
			cpu_relax();
		if (want == WRITING)
			atomic_store(&sh->dirty, 0);
		drop(r, tag, want);
		xproc_test_raise(&sh->victim_ops[v]);
	}
}

static pid_t start_victim(unsigned v, unsigned serial)
{
	uint32_t ready = atomic_load(&sh->victim_ready[v]);
	pid_t pid = xproc_test_start(victim, serial * VICTIMS + v);

	xproc_test_wait(&sh->victim_ready[v], ready + 1);
	return pid;
}

int main(void)
{
	pid_t surv[SURVIVORS], vic[VICTIMS];
	unsigned serial[VICTIMS], next_serial = 0, parked_writers = 0;
	uint64_t rng;
	int fd;

	test_init("xproc_rwlock_holder_death", 120);
	rng = test_seed;
	store_fd = xproc_test_store(&store);
	sh = xproc_test_shared(sizeof(*sh));
	fd = open(test_path("lives"), O_RDWR | O_CREAT, 0600);
	CHECK(fd >= 0);
	lives_fd = fd;
	for (unsigned s = 0; s < SURVIVORS; s++)
		surv[s] = xproc_test_start(survivor, s);
	xproc_test_wait(&sh->survivors_in, SURVIVORS);

	/* A reader killed holding it, its slot left empty: the survivors'
	 * writers drop its count and get in. */
	next_serial = 2;
	vic[0] = start_victim(0, 1);
	xproc_test_wait(&sh->victim_parked[0], 1);
	atomic_store(&sh->victim_parked[0], 0);
	CHECK_EQ(kill(vic[0], SIGKILL), 0);
	xproc_test_reap(vic[0], true);
	{
		uint64_t writes = atomic_load(&sh->writes), t0 = xproc_test_now_ns();

		while (atomic_load(&sh->writes) < writes + 2) {
			CHECK(xproc_test_now_ns() - t0 < BOUND_MS * 1000000ull,
			      "no writer got in after a reader's death");
			sched_yield();
		}
	}

	for (unsigned v = 0; v < VICTIMS; v++) {
		serial[v] = next_serial++;
		vic[v] = start_victim(v, serial[v]);
	}
	for (unsigned k = 0; k < KILLS; k++) {
		unsigned v = k % VICTIMS;

		/* A parking victim is killed once it holds the lock (or,
		 * waiting behind the other victim parked, after a while);
		 * another at a random instant. */
		if (serial[v] % 4 < 2) {
			xproc_test_wait_a_while(&sh->victim_parked[v], 1, 300);
			if (atomic_exchange(&sh->victim_parked[v], 0) && serial[v] % 4 == 0)
				parked_writers++;
		} else {
			xproc_test_wait_a_while(&sh->victim_ops[v], atomic_load(&sh->victim_ops[v]) +
				     (uint32_t)(test_rand(&rng) % 20), 20);
		}
		CHECK_EQ(kill(vic[v], SIGKILL), 0);
		xproc_test_reap(vic[v], true);
		serial[v] = next_serial++;
		vic[v] = start_victim(v, serial[v]);
	}
	atomic_store(&sh->kills_done, 1);
	for (unsigned v = 0; v < VICTIMS; v++) {
		CHECK_EQ(kill(vic[v], SIGKILL), 0);
		xproc_test_reap(vic[v], true);
	}
	for (unsigned s = 0; s < SURVIVORS; s++)
		xproc_test_reap(surv[s], false);
	printf("%llu reads (%llu overlapping another survivor), %llu writes by survivors; %llu takeovers "
	       "after a writer died inside; the slowest acquisition %.1f ms\n",
	       (unsigned long long)atomic_load(&sh->reads),
	       (unsigned long long)atomic_load(&sh->overlaps),
	       (unsigned long long)atomic_load(&sh->writes),
	       (unsigned long long)atomic_load(&sh->recovered),
	       (double)atomic_load(&sh->slowest_ns) / 1e6);
	CHECK(atomic_load(&sh->overlaps) > 0);
	CHECK(atomic_load(&sh->writes) > 0);
	CHECK(parked_writers > 0 && atomic_load(&sh->recovered) >= parked_writers,
	      "%llu recoveries, %u writers killed parked inside",
	      (unsigned long long)atomic_load(&sh->recovered), parked_writers);
	CHECK(atomic_load(&sh->slowest_ns) < BOUND_MS * 1000000ull);
	test_pass();
}
