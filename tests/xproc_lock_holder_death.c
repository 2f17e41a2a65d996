// SPDX-License-Identifier: MIT
/*
 * xproc_lock_holder_death: a lock shared by the members of a region stays
 * a lock when its holders die. Three worker processes take it in turns and
 * check the section it protects (a flag "inside" and two counters a, b
 * that a holder leaves equal), while the parent kills a worker with
 * SIGKILL at a seeded instant 200 times and starts another: the lock is
 * never held by two at once (the flag), a taker told RECOVERED finds at
 * most the dead holder's half-done section (and repairs it), a taker told
 * TAKEN always finds it whole, and the workers go on after every death
 * (watchdog). One holder kills itself inside the section first, so at
 * least one recovery is certain.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xproc_test.h"

#define WORKERS 3
#define KILLS 200

struct shared {
	struct xproc_lock lock;
	_Atomic uint32_t inside;	/* 1 while a holder is in the section */
	_Atomic uint64_t a, b;		/* a holder makes a = b + 1, then b = a */
	_Atomic uint64_t sections;	/* whole sections done */
	_Atomic uint64_t recoveries;
	_Atomic uint32_t broken;	/* a worker saw the lock fail */
	char why[200];
};

static struct shared *sh;
static const char *store;
static int store_fd;

static void spin(uint64_t *rng, unsigned max)
{
	for (volatile unsigned n = (unsigned)(test_rand(rng) % max); n; n--)
		;
}

static void worker(uint64_t seed, bool die_inside)
{
	struct xproc_region *r = xproc_test_join(store_fd, store, NULL, xproc_test_noop, NULL);
	uint64_t rng = seed;

	for (;;) {
		int taken = xproc_lock(r, &sh->lock);
		uint32_t was_inside = atomic_load(&sh->inside);

		if (taken == XPROC_LOCK_RECOVERED) {
			/* The dead holder's section, half done or whole. */
			if (atomic_load(&sh->a) != atomic_load(&sh->b) && !was_inside)
				atomic_store(&sh->broken, 1);
			atomic_store(&sh->b, atomic_load(&sh->a));
			atomic_store(&sh->inside, 0);
			atomic_fetch_add(&sh->recoveries, 1);
		} else if (was_inside || atomic_load(&sh->a) != atomic_load(&sh->b)) {
			atomic_store(&sh->broken, 2);	/* two holders */
		}
		atomic_store(&sh->inside, 1);
		atomic_store(&sh->a, atomic_load(&sh->b) + 1);
		if (die_inside)
			kill(getpid(), SIGKILL);
		spin(&rng, 2000);
		atomic_store(&sh->b, atomic_load(&sh->a));
		atomic_store(&sh->inside, 0);
		atomic_fetch_add(&sh->sections, 1);
		xproc_unlock(r, &sh->lock);
		spin(&rng, 6000);
	}
}

static pid_t start_worker(uint64_t seed, bool die_inside)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		worker(seed, die_inside);
	return pid;
}

/* Wait (the watchdog bounds it) until `more` sections beyond `from`. */
static void wait_progress(uint64_t from, uint64_t more, unsigned kill_no)
{
	const struct timespec ms = { 0, 1000000 };

	while (atomic_load(&sh->sections) < from + more) {
		CHECK(!atomic_load(&sh->broken), "kill %u: the lock failed (%u)", kill_no,
		      atomic_load(&sh->broken));
		nanosleep(&ms, NULL);
	}
}

int main(void)
{
	pid_t pid[WORKERS];
	uint64_t rng;
	int status;

	test_init("xproc_lock_holder_death", 240);
	rng = test_seed;
	store_fd = xproc_test_store(&store);
	sh = xproc_test_shared(sizeof(*sh));

	/* A holder dies inside the section before anyone else runs. */
	pid[0] = start_worker(test_rand(&rng), true);
	CHECK(waitpid(pid[0], &status, 0) == pid[0] && WIFSIGNALED(status));
	CHECK(atomic_load(&sh->inside) == 1, "the first holder died outside the section");
	for (int i = 0; i < WORKERS; i++)
		pid[i] = start_worker(test_rand(&rng), false);
	wait_progress(0, 1, 0);
	CHECK(atomic_load(&sh->recoveries) == 1, "the dead first holder's lock: %llu recoveries",
	      (unsigned long long)atomic_load(&sh->recoveries));

	for (unsigned k = 1; k <= KILLS; k++) {
		int w = (int)(test_rand(&rng) % WORKERS);
		uint64_t done;

		spin(&rng, 200000);
		kill(pid[w], SIGKILL);
		CHECK(waitpid(pid[w], &status, 0) == pid[w]);
		done = atomic_load(&sh->sections);
		pid[w] = start_worker(test_rand(&rng), false);
		wait_progress(done, WORKERS, k);
	}
	for (int i = 0; i < WORKERS; i++) {
		kill(pid[i], SIGKILL);
		CHECK(waitpid(pid[i], &status, 0) == pid[i]);
	}
	CHECK(!atomic_load(&sh->broken), "the lock failed (%u)", atomic_load(&sh->broken));
	printf("%llu sections, %llu taken over from a dead holder\n",
	       (unsigned long long)atomic_load(&sh->sections),
	       (unsigned long long)atomic_load(&sh->recoveries));
	test_pass();
}
