// SPDX-License-Identifier: MIT
/*
 * xproc_peer_death_bounded: members of a region killed with SIGKILL at
 * seeded points hold nobody up past the liveness bound, and the others go
 * on. 200 victims in turn join the region the parent and a witness share,
 * and die: idle (killed by the parent), inside their agent's apply
 * callback (they kill themselves there, never acknowledging), at a random
 * instant of their join, while posting shootdowns of their own, or after
 * forking a child that outlives them (the child must not keep the dead
 * member alive). After each death the parent posts a shootdown to every
 * slot the victim could hold and to the witness: it returns (bounded by
 * the watchdog; the slowest is printed and must stay under 5 s, 50 times
 * the liveness period), the
 * witness has applied every parent request exactly once, dead slots are
 * free for the next victim (200 victims, 64 slots) and joining still works.
 * Then 20 members stuck inside one shootdown are killed at once: it
 * returns within a second (one liveness period, not one per member).
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xproc_test.h"

#define VICTIMS 200
#define PARENT_FILE 1
#define VICTIM_FILE 2

enum death { IDLE, IN_APPLY, MID_JOIN, MID_POST, AFTER_FORK, DEATHS };

struct shared {
	_Atomic uint64_t witness_applied;	/* the parent's requests only */
	_Atomic uint32_t witness_slot;
	_Atomic int32_t victim_slot;
	_Atomic uint32_t apply_enters;
};

static struct shared *sh;
static const char *store;
static uint64_t victim_no;	/* in a victim: its number */
static int store_fd;

static int witness_apply(void *ctx, const struct xproc_request *req)
{
	(void)ctx;
	if (req->file == PARENT_FILE)
		atomic_fetch_add(&sh->witness_applied, 1);
	return 0;
}

/* Dies inside the parent's request to this victim (its number in first);
 * a request left in its slot's cells by an earlier victim (the slot's
 * new member applies those too, harmlessly) is ignored. */
static int dying_apply(void *ctx, const struct xproc_request *req)
{
	(void)ctx;
	if (req->file != PARENT_FILE || req->first != victim_no)
		return 0;
	atomic_fetch_add(&sh->apply_enters, 1);
	kill(getpid(), SIGKILL);
	return 0;
}
static struct xproc_region *join_or_die(xproc_apply_fn apply)
{
	return xproc_test_join(store_fd, store, NULL, apply, NULL);
}

/* The witness: a member that lives through all the deaths. */
static void witness_main(int ready, int done)
{
	struct xproc_region *r = join_or_die(witness_apply);
	char c;

	atomic_store(&sh->witness_slot, xproc_self(r));
	CHECK(write(ready, "w", 1) == 1);
	CHECK(read(done, &c, 1) == 0);
	xproc_leave(r);
	_exit(0);
}

static void victim_main(enum death how, int ready, int hold)
{
	struct xproc_region *r = join_or_die(how == IN_APPLY ? dying_apply : xproc_test_noop);
	struct xproc_request req = { .op = XPROC_ZAP, .file = VICTIM_FILE, .count = 1 };
	char c;

	atomic_store(&sh->victim_slot, (int32_t)xproc_self(r));
	if (how == AFTER_FORK) {
		pid_t child = fork();

		CHECK(child >= 0);
		if (child == 0) {	/* outlives its parent, holds nothing */
			/* Its fork handler has run by now (a child that
			 * has not run yet still holds the slot's lock). */
			CHECK(write(ready, "g", 1) == 1);
			(void)read(hold, &c, 1);
			_exit(0);
		}
	}
	CHECK(write(ready, "v", 1) == 1);
	if (how == MID_POST) {
		for (;;) {
			req.first++;
			xproc_shootdown(r, xproc_peers(r), &req);
		}
	}
	(void)read(hold, &c, 1);
	_exit(0);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#define TOGETHER 20

#define TOGETHER_MARK UINT64_MAX	/* the request's first */

/* Blocks inside die_together's request until killed (a request an earlier
 * victim left in the slot's cells is applied at once). */
static int stuck_apply(void *ctx, const struct xproc_request *req)
{
	(void)ctx;
	if (req->first != TOGETHER_MARK)
		return 0;
	atomic_fetch_add(&sh->apply_enters, 1);
	for (;;)
		pause();
}

struct poster {
	struct xproc_region *r;
	uint64_t peers;
	double ended;
};

static void *post_to_stuck(void *arg)
{
	struct poster *p = arg;
	struct xproc_request req = { .op = XPROC_ZAP, .file = PARENT_FILE,
				     .first = TOGETHER_MARK, .count = 1 };

	xproc_shootdown(p->r, p->peers, &req);
	p->ended = now();
	return NULL;
}

/* TOGETHER members stuck inside one shootdown, killed at once: the
 * shootdown returns about one liveness period later, not one per member.
 * Return: how long it took after the kills. */
static double die_together(struct xproc_region *r)
{
	struct poster p = { .r = r };
	pid_t pid[TOGETHER];
	int ready[2], status;
	pthread_t t;
	double killed;
	char slot;

	CHECK(pipe(ready) == 0);
	atomic_store(&sh->apply_enters, 0);
	for (int i = 0; i < TOGETHER; i++) {
		pid[i] = fork();
		CHECK(pid[i] >= 0);
		if (pid[i] == 0) {
			struct xproc_region *m = join_or_die(stuck_apply);

			slot = (char)xproc_self(m);
			CHECK(write(ready[1], &slot, 1) == 1);
			for (;;)
				pause();
		}
		CHECK(read(ready[0], &slot, 1) == 1);
		p.peers |= 1ull << slot;
	}
	CHECK(pthread_create(&t, NULL, post_to_stuck, &p) == 0);
	while (atomic_load(&sh->apply_enters) < TOGETHER) {
		const struct timespec ms = { 0, 1000000 };

		nanosleep(&ms, NULL);
	}
	killed = now();
	for (int i = 0; i < TOGETHER; i++)
		kill(pid[i], SIGKILL);
	for (int i = 0; i < TOGETHER; i++)
		CHECK(waitpid(pid[i], &status, 0) == pid[i]);
	pthread_join(t, NULL);
	close(ready[0]);
	close(ready[1]);
	return p.ended - killed;
}

int main(void)
{
	int ready[2], done[2], hold[2], vready[2], status;
	uint64_t rng, posted = 0, witness_bit;
	unsigned count[DEATHS] = { 0 };
	struct xproc_region *r;
	double slowest = 0, slowest_dying = 0;
	pid_t witness;
	char c;

	test_init("xproc_peer_death_bounded", 240);
	if (XPROC_TEST_SANITIZED)
		test_skip("members fork members: left to the plain build (xproc_test.h)");
	rng = test_seed;
	store_fd = xproc_test_store(&store);
	sh = xproc_test_shared(sizeof(*sh));
	CHECK(pipe(ready) == 0 && pipe(done) == 0 && pipe(hold) == 0);
	witness = fork();
	CHECK(witness >= 0);
	if (witness == 0) {
		close(done[1]);
		witness_main(ready[1], done[0]);
	}
	close(done[0]);
	CHECK(read(ready[0], &c, 1) == 1, "the witness did not join");
	r = join_or_die(xproc_test_noop);
	witness_bit = 1ull << atomic_load(&sh->witness_slot);

	for (unsigned v = 0; v < VICTIMS; v++) {
		enum death how = (enum death)(test_rand(&rng) % DEATHS);
		struct xproc_request req = { .op = XPROC_WRPROTECT, .file = PARENT_FILE,
					     .first = v, .count = 1 };
		uint64_t everyone;
		pid_t pid;
		double t0;

		count[how]++;
		atomic_store(&sh->victim_slot, -1);
		/* A pipe per victim: one killed mid-join may have said
		 * "joined" or not. */
		CHECK(pipe(vready) == 0);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {	/* only the pipes it uses: no end held open */
			close(done[1]);
			close(hold[1]);
			close(vready[0]);
			close(ready[0]);
			victim_no = v;
			victim_main(how, vready[1], hold[0]);
		}
		close(vready[1]);
		if (how == MID_JOIN) {
			/* Somewhere in its start or its join. */
			for (volatile uint64_t spin = test_rand(&rng) % 200000; spin; spin--)
				;
		} else {
			CHECK(read(vready[0], &c, 1) == 1, "victim %u (death %d) did not join", v,
			      how);
			if (how == AFTER_FORK)
				CHECK(read(vready[0], &c, 1) == 1, "victim %u's child did not start", v);
		}
		if (how == MID_POST) {	/* let it post a random number of times */
			for (volatile uint64_t spin = test_rand(&rng) % 2000000; spin; spin--)
				;
		}
		/* Every slot but ours: the victim's, whatever it is, may be
		 * named by a stale mask, as a dead mapper's bit would be. */
		everyone = ~(1ull << xproc_self(r));
		if (how == IN_APPLY) {
			/* The victim dies in its apply: this shootdown waits
			 * for it until its death is seen. */
			t0 = now();
			xproc_shootdown(r, 1ull << atomic_load(&sh->victim_slot) | witness_bit, &req);
			if (now() - t0 > slowest_dying)
				slowest_dying = now() - t0;
			CHECK(atomic_load(&sh->apply_enters) > 0, "victim %u never applied", v);
			atomic_store(&sh->apply_enters, 0);
			posted++;
		} else {
			kill(pid, SIGKILL);
		}
		CHECK(waitpid(pid, &status, 0) == pid);
		close(vready[0]);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "victim %u (death %d) ended with status %#x", v, how, status);
		if (how == AFTER_FORK) {
			int32_t slot = atomic_load(&sh->victim_slot);

			CHECK(slot >= 0 && !xproc_peer_alive(r, (unsigned)slot),
			      "victim %u: its forked child keeps its slot %d alive", v, slot);
		}
		t0 = now();
		CHECK(xproc_shootdown(r, everyone, &req) == 0);
		posted++;
		if (now() - t0 > slowest)
			slowest = now() - t0;
		CHECK(atomic_load(&sh->witness_applied) == posted,
		      "after victim %u (death %d) the witness applied %llu of %llu", v, how,
		      (unsigned long long)atomic_load(&sh->witness_applied),
		      (unsigned long long)posted);
		CHECK(xproc_peers(r) == witness_bit,
		      "after victim %u (death %d) members %#llx, only the witness expected", v,
		      how, (unsigned long long)xproc_peers(r));
	}
	/* The forked children of AFTER_FORK victims end with the pipe. */
	close(hold[1]);
	close(done[1]);
	CHECK(waitpid(witness, &status, 0) == witness && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "the witness failed");
	while (wait(&status) > 0 || errno == EINTR)
		;
	double together = die_together(r);

	xproc_leave(r);
	printf("%d members dying together inside one shootdown held it %.3f s\n", TOGETHER,
	       together);
	CHECK(together < 1.0, "members dying together held a shootdown %.3f s (one liveness "
	      "period each?)", together);
	printf("deaths: idle %u, in apply %u, mid-join %u, mid-post %u, after fork %u; slowest "
	       "shootdown to a member dying in it %.3f s, after a death %.3f s\n", count[IDLE],
	       count[IN_APPLY], count[MID_JOIN], count[MID_POST], count[AFTER_FORK],
	       slowest_dying, slowest);
	CHECK(slowest_dying < 5.0 && slowest < 5.0, "a dead member held a shootdown %.3f s",
	      slowest_dying > slowest ? slowest_dying : slowest);
	test_pass();
}
