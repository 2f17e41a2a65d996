// SPDX-License-Identifier: MIT
/*
 * xproc_signals_and_forks: membership of a region under signals and
 * fork(), as a program's other threads and handlers produce them.
 * - A requester whose thread gets a signal every 20 ms (a program's
 *   timer; handler without SA_RESTART) still sees a member die inside its
 *   request and returns (the liveness check ran only on a timeout).
 * - A process whose second thread forks (children that never exec) while
 *   its first joins and leaves in a loop, killed at a seeded instant 20
 *   times: its children never keep its slot, SETUP or PRESENT locks: the
 *   others see it dead and join afresh while the children live.
 * - A leave whose wait for SETUP is interrupted by signals keeps waiting
 *   (it went on without the lock and removed a file a joiner was setting
 *   up: two regions for one store).
 * - The inherited handle in a fork child fails cleanly: no peers, nobody
 *   alive, -EBADF, no crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xproc_test.h"

struct shared {
	_Atomic uint32_t alarms;
	_Atomic uint32_t started;
};

static struct shared *sh;
static const char *store;
static int store_fd;

static int dying_apply(void *ctx, const struct xproc_request *req)
{
	(void)ctx;
	(void)req;
	kill(getpid(), SIGKILL);
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
	atomic_fetch_add(&sh->alarms, 1);
}

static timer_t ticker;

/* SIGUSR1 every usec to this process (SIGALRM is the test's watchdog). */
static void alarm_every(long usec)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
	struct itimerspec it = { { 0, usec * 1000 }, { 0, usec * 1000 } };

	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	CHECK(timer_create(CLOCK_MONOTONIC, &ev, &ticker) == 0 &&
	      timer_settime(ticker, 0, &it, NULL) == 0);
}

static void alarm_stop(void)
{
	timer_delete(ticker);
}

static struct xproc_region *join_or_die(xproc_apply_fn apply)
{
	return xproc_test_join(store_fd, store, NULL, apply, NULL);
}

static void wait_for(_Atomic uint32_t *word, uint32_t at_least)
{
	const struct timespec ms = { 0, 1000000 };

	while (atomic_load(word) < at_least)
		nanosleep(&ms, NULL);
}

/* A requester interrupted every 20 ms, a target dying in its request. */
static void signals_during_shootdown(void)
{
	struct xproc_request req = { .op = XPROC_ZAP, .count = 1 };
	struct xproc_region *r = join_or_die(xproc_test_noop);
	uint32_t before;
	int status, ready[2];
	pid_t victim;
	char c;

	CHECK(pipe(ready) == 0);
	victim = fork();
	CHECK(victim >= 0);
	if (victim == 0) {
		struct xproc_region *v = join_or_die(dying_apply);

		CHECK(write(ready[1], &(char){ (char)xproc_self(v) }, 1) == 1);
		for (;;)
			pause();
	}
	CHECK(read(ready[0], &c, 1) == 1);
	alarm_every(20000);
	before = atomic_load(&sh->alarms);
	xproc_shootdown(r, 1ull << c, &req);
	CHECK(atomic_load(&sh->alarms) > before, "no signal came during the shootdown");
	alarm_stop();
	CHECK(waitpid(victim, &status, 0) == victim && WIFSIGNALED(status));
	close(ready[0]);
	close(ready[1]);
	xproc_leave(r);
}

static int hold[2];	/* the forked children wait on it, for a round */

static void *forker(void *arg)
{
	(void)arg;
	for (int n = 0; n < 300; n++) {
		pid_t child = fork();

		if (child == 0) {	/* never execs; lives until the round ends */
			char c;

			close(hold[1]);
			(void)read(hold[0], &c, 1);
			_exit(0);
		}
	}
	return NULL;
}

/* The process killed: joins and leaves while its other thread forks. */
static void joiner_forking(void)
{
	pthread_t t;

	CHECK(pthread_create(&t, NULL, forker, NULL) == 0);
	for (;;) {
		xproc_leave(join_or_die(xproc_test_noop));
		atomic_fetch_add(&sh->started, 1);
	}
}

static void forks_during_join_and_leave(uint64_t *rng)
{
	struct xproc_region *observer = join_or_die(xproc_test_noop);
	const struct timespec ms = { 0, 1000000 };

	for (int round = 0; round < 20; round++) {
		uint32_t from = atomic_load(&sh->started);
		struct timespec t0, t1;
		int status;
		pid_t pid;

		CHECK(pipe(hold) == 0);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0)
			joiner_forking();
		wait_for(&sh->started, from + 1 + (uint32_t)(test_rand(rng) % 20));
		for (volatile uint64_t spin = test_rand(rng) % 100000; spin; spin--)
			;
		kill(pid, SIGKILL);
		CHECK(waitpid(pid, &status, 0) == pid);
		/* Its children live on: within 10 s (they run their fork
		 * handler at once) nobody may be left alive but us. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			if (xproc_peers(observer) == 0)
				break;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			CHECK(t1.tv_sec - t0.tv_sec < 10,
			      "round %d: the killed process's forked children keep it a member", round);
			nanosleep(&ms, NULL);
		}
		xproc_leave(join_or_die(xproc_test_noop));	/* SETUP is free */
		close(hold[1]);		/* the round's children end */
		close(hold[0]);
		while (waitpid(-1, &status, WNOHANG) > 0)
			;
	}
	xproc_leave(observer);
}

/* The last member leaves while a joiner holds SETUP; its thread gets a
 * signal every 10 ms. */
static void interrupted_leave(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	char region[512];
	int ready[2], go[2], status, fd;
	struct stat st;
	pid_t leaver;
	char c;

	CHECK(fstat(store_fd, &st) == 0 && pipe(ready) == 0 && pipe(go) == 0);
	snprintf(region, sizeof(region), "%s/udax-%llx-%llx.region", test_path(""),
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	leaver = fork();
	CHECK(leaver >= 0);
	if (leaver == 0) {
		struct xproc_region *r = join_or_die(xproc_test_noop);

		CHECK(write(ready[1], "j", 1) == 1);
		CHECK(read(go[0], &c, 1) == 1);	/* SETUP is taken */
		alarm_every(10000);
		xproc_leave(r);
		_exit(0);
	}
	CHECK(read(ready[0], &c, 1) == 1);
	fd = open(region, O_RDWR);
	CHECK(fd >= 0 && fcntl(fd, F_OFD_SETLKW, &fl) == 0);
	uint32_t before = atomic_load(&sh->alarms);

	CHECK(write(go[1], "s", 1) == 1);
	while (atomic_load(&sh->alarms) < before + 5) {
		const struct timespec ms = { 0, 1000000 };

		CHECK(waitpid(leaver, &status, WNOHANG) == 0,
		      "the leave returned while another process held SETUP (interrupted)");
		nanosleep(&ms, NULL);
	}
	CHECK(access(region, F_OK) == 0, "the interrupted leave removed the region file");
	fl.l_type = F_UNLCK;
	CHECK(fcntl(fd, F_OFD_SETLK, &fl) == 0);
	CHECK(waitpid(leaver, &status, 0) == leaver && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	CHECK(access(region, F_OK) != 0, "the last member's leave left the region file");
	close(fd);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

static void forked_handle(void)
{
	struct xproc_region *r = join_or_die(xproc_test_noop);
	struct xproc_request req = { .op = XPROC_ZAP, .count = 1 };
	struct xproc_lock l = XPROC_LOCK_INIT;
	int status;
	pid_t child = fork();

	CHECK(child >= 0);
	if (child == 0) {
		CHECK(xproc_peers(r) == 0 && !xproc_peer_alive(r, xproc_self(r)));
		CHECK(xproc_shootdown(r, ~0ull, &req) == -EBADF);
		CHECK(xproc_lock(r, &l) == -EBADF);
		xproc_leave(r);
		_exit(0);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "the fork child's calls on its inherited handle");
	xproc_leave(r);
}

int main(void)
{
	uint64_t rng;

	test_init("xproc_signals_and_forks", 240);
	rng = test_seed;
	store_fd = xproc_test_store(&store);
	sh = xproc_test_shared(sizeof(*sh));
	if (XPROC_TEST_SANITIZED) {	/* members fork members (xproc_test.h) */
		printf("signals during a shootdown, forks during join and leave: left to the "
		       "plain build\n");
	} else {
		signals_during_shootdown();
		forks_during_join_and_leave(&rng);
	}
	interrupted_leave();
	forked_handle();
	test_pass();
}
